//! Excel and CSV import/export through the server's own code and its
//! `crm-server sheet` / `export` commands, on a real store.

mod common;

use common::TestServer;
use crm_server::caller::Caller;
use crm_server::sheets::{export, import, table, Cell, Format, Table};
use crm_shared::codes::Role;
use crm_shared::day::Day;

/// An .xlsx the way head office types one: Chinese headers, a unit on the limit.
fn workbook(rows: &[[&str; 6]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["客户名称", "联系人", "手机", "地址", "信用额度(元)", "税号"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if let (4, Ok(n)) = (c, v.parse::<f64>()) {
                ws.write_number(r as u32 + 1, 4, n).unwrap();
            } else {
                ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

fn read(bytes: &[u8], f: Format) -> Table {
    table::read(bytes, f).unwrap()
}

fn clerk() -> Caller {
    Caller {
        login: "wang".into(),
        role: Role::Clerk,
        device_id: "test".into(),
    }
}

async fn names(srv: &TestServer) -> Vec<String> {
    let rows = crm_server::archive::list(&srv.db, clerk(), Default::default(), 0, 1000)
        .await
        .unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

#[tokio::test]
async fn an_xlsx_with_chinese_headers_is_planned_then_imported() {
    let srv = TestServer::plain().await;
    let bytes = workbook(&[
        [
            "杭州西湖龙井茶业有限公司",
            "周经理",
            "13800000001",
            "杭州市西湖区龙井路1号",
            "800000",
            "91330100MA2XXXX01",
        ],
        ["宁波北仑港务贸易", "李主任", "13900000002", "", "", ""],
    ]);
    let t = read(&bytes, Format::Xlsx);
    let plan = import::plan(&srv.db, t.clone(), "客户.xlsx".into(), "wang".into(), false)
        .await
        .unwrap();
    assert_eq!(
        (plan.creates(), plan.updates(), plan.duplicates()),
        (2, 0, 0)
    );
    assert!(names(&srv).await.is_empty(), "a plan writes nothing");

    let (_, out) = import::commit(
        &srv.db,
        t,
        "客户.xlsx".into(),
        "wang".into(),
        vec![],
        false,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.created, 2);
    let list = crm_server::archive::list(&srv.db, clerk(), Default::default(), 0, 10)
        .await
        .unwrap();
    let tea = list.iter().find(|r| r.name.starts_with("杭州")).unwrap();
    assert_eq!(tea.credit_limit, Some(800_000));
    assert_eq!(tea.contact.as_deref(), Some("周经理"));
    assert_eq!(tea.phone.as_deref(), Some("13800000001"));
    let card = crm_server::archive::card(&srv.db, clerk(), tea.id.clone())
        .await
        .unwrap();
    assert_eq!(card.customer.company.address, "杭州市西湖区龙井路1号");
    assert_eq!(card.customer.billing.tax_no, "91330100MA2XXXX01");
    let reason = card.history.last().unwrap().reason.clone().unwrap();
    assert_eq!(reason, "导入 客户.xlsx");
}

#[tokio::test]
async fn duplicates_are_listed_and_skipped_unless_chosen() {
    let srv = TestServer::plain().await;
    let first = workbook(&[[
        "苏州丝绸进出口公司",
        "陈经理",
        "13700000007",
        "",
        "",
        "913205001234567890",
    ]]);
    import::commit(
        &srv.db,
        read(&first, Format::Xlsx),
        "a.xlsx".into(),
        "wang".into(),
        vec![],
        false,
        false,
    )
    .await
    .unwrap();
    // Same phone under another name; same tax number; and a repeat inside the file.
    let second = workbook(&[
        [
            "苏州丝绸进出口有限公司",
            "陈经理",
            "13700000007",
            "",
            "",
            "",
        ],
        [
            "吴江丝绸厂",
            "王厂长",
            "13600000006",
            "",
            "",
            "913205001234567890",
        ],
        ["常熟纺织", "赵经理", "13500000005", "", "", ""],
        ["常熟纺织", "赵经理", "13500000005", "", "", ""],
        // Its phone is part of the first customer's tax number, not a number of theirs.
        ["无锡电机厂", "周经理", "1234567", "", "", ""],
    ]);
    let t = read(&second, Format::Xlsx);
    let plan = import::plan(&srv.db, t.clone(), "b.xlsx".into(), "wang".into(), false)
        .await
        .unwrap();
    let dup = |line: usize| {
        plan.rows
            .iter()
            .find(|r| r.line == line)
            .unwrap()
            .duplicates
            .clone()
    };
    assert_eq!(dup(2)[0].on, "电话");
    assert_eq!(dup(2)[0].name, "苏州丝绸进出口公司");
    assert_eq!(dup(3)[0].on, "税号");
    assert!(dup(4).is_empty());
    assert!(dup(6).is_empty(), "{:?}", dup(6));
    assert!(
        dup(5).iter().any(|d| d.customer == "第 4 行"),
        "{:?}",
        dup(5)
    );
    // The person keeps row 3 (a different factory sharing a tax number is a mistake they checked).
    let (_, out) = import::commit(
        &srv.db,
        t,
        "b.xlsx".into(),
        "wang".into(),
        vec![3],
        false,
        false,
    )
    .await
    .unwrap();
    assert_eq!((out.created, out.skipped_duplicates), (3, 2));
    let mut n = names(&srv).await;
    n.sort();
    assert_eq!(
        n,
        ["吴江丝绸厂", "常熟纺织", "无锡电机厂", "苏州丝绸进出口公司"]
    );
}

#[tokio::test]
async fn one_bad_row_imports_nothing_and_names_the_row() {
    let srv = TestServer::plain().await;
    let bytes = workbook(&[
        ["好客户", "甲", "13800000001", "", "1000", ""],
        ["坏客户", "乙", "13800000002", "", "一百万", ""],
    ]);
    let e = import::commit(
        &srv.db,
        read(&bytes, Format::Xlsx),
        "c.xlsx".into(),
        "wang".into(),
        vec![],
        false,
        false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("第 3 行") && e.contains("一百万"), "{e}");
    assert!(names(&srv).await.is_empty());
    // A sheet without a name column is refused before any row is looked at.
    let csv = "\u{feff}联系人,电话\n张三,13800000000\n";
    let e = table::read(csv.as_bytes(), Format::Csv)
        .and_then(|t| crm_server::sheets::columns::map(&t.headers).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("客户名称"), "{e}");
}

#[tokio::test]
async fn a_csv_with_bom_imports_and_exports_read_back() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    let csv = "\u{feff}客户名称,联系人,电话,区域,业务员,等级\n温州鹿城鞋业,林经理,0577-88880000,华东,zhang,B\n";
    let t = read(csv.as_bytes(), Format::Csv);
    let (_, out) = import::commit(
        &srv.db,
        t,
        "d.csv".into(),
        "wang".into(),
        vec![],
        false,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.created, 1);
    let day = Day::from_millis_local(crm_server::clock::now_ms());
    for f in [Format::Xlsx, Format::Csv] {
        let t = export::table(&srv.db, clerk(), export::Kind::Customers, None, day)
            .await
            .unwrap();
        let back = read(&table::write(&t, f, "客户列表").unwrap(), f);
        assert_eq!(back.headers[1], "客户名称");
        assert_eq!(back.rows[0][1], Cell::Text("温州鹿城鞋业".into()));
        // 业务员 by name, as people read it; an import reads it back.
        assert_eq!(back.rows[0][2].text(), "张伟");
        // Imported again, the export changes nothing: 张伟 is zhang, B级 is B.
        let again = import::plan(&srv.db, back, "again".into(), "wang".into(), false)
            .await
            .unwrap();
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert!(
            again
                .rows
                .iter()
                .all(|r| matches!(r.action, import::RowAction::Unchanged)),
            "{:?}",
            again.rows
        );
    }
    let g = export::table(&srv.db, clerk(), export::Kind::Grades, None, day)
        .await
        .unwrap();
    assert_eq!(
        g.headers,
        [
            "No",
            "客户名称",
            "业务员",
            "客户等级评分",
            "等级系数",
            "月均销售额(元)",
            "信用履约率",
            "客户等级",
            "信用额度(元)",
            "备注"
        ]
    );
    // A salesperson's export holds only their customers.
    let zhao = Caller {
        login: "zhao".into(),
        role: Role::Salesperson,
        device_id: "t".into(),
    };
    let mine = export::table(&srv.db, zhao, export::Kind::Customers, None, day)
        .await
        .unwrap();
    assert!(mine.rows.is_empty());
}

#[tokio::test]
async fn the_commands_plan_import_and_export() {
    let srv = TestServer::plain().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("客户.xlsx");
    std::fs::write(
        &file,
        workbook(&[["广州天河电子", "黄经理", "13300000003", "", "", ""]]),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = srv.cli(&["sheet", f, "--dry-run", "--as", "wang"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("新建 1 个") && text.contains("试运行"),
        "{text}"
    );
    assert!(names(&srv).await.is_empty());
    let out = srv.cli(&["sheet", f, "--as", "wang"], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(names(&srv).await, ["广州天河电子"]);

    let x = dir.path().join("out.xlsx");
    let out = srv.cli(&["export", "customers", "--out", x.to_str().unwrap()], None);
    assert!(out.status.success(), "{out:?}");
    let back = read(&std::fs::read(&x).unwrap(), Format::Xlsx);
    assert_eq!(back.rows[0][1].text(), "广州天河电子");
    let out = srv.cli(&["export", "customers", "--out", "x.pdf"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".xlsx"));
}

/// Noon of `day` (YYYY-MM-DD), local time, in ms.
fn noon(day: &str) -> i64 {
    use chrono::TimeZone;
    let d: chrono::NaiveDate = day.parse().unwrap();
    chrono::Local
        .from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
        .single()
        .unwrap()
        .timestamp_millis()
}

fn sale(amount: i64, day: &str, due: &str, paid_on: Option<&str>) -> crm_shared::customer::Sale {
    crm_shared::customer::Sale {
        day: Some(day.parse().unwrap()),
        product: "龙井茶".into(),
        quantity: 1.0,
        amount,
        due: Some(due.parse().unwrap()),
        paid_on: paid_on.map(|d| d.parse().unwrap()),
        by: "zhang".into(),
    }
}

/// Each report export, written as .xlsx and as .csv and read back, holds
/// the seeded figures: a graded customer, an overdue sale, a complaint.
#[tokio::test]
async fn grade_warning_and_complaint_exports_read_back_with_their_figures() {
    use crm_shared::codes::ComplaintCategory;
    use crm_shared::customer::Complaint;
    use crm_shared::Customer;

    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    let mut good = Customer {
        id: "c-good".into(),
        name: "杭州西湖龙井茶业".into(),
        salesperson: "zhang".into(),
        entered_at: noon("2026-05-01"),
        ..Default::default()
    };
    // 90,000 yuan in the three months before November, paid on time:
    // 30,000 a month, full sales and credit points.
    good.sales.insert(
        "s1".into(),
        sale(90_000, "2026-09-10", "2026-09-30", Some("2026-09-20")),
    );
    good.complaints.insert(
        "k1".into(),
        Complaint {
            at: noon("2026-10-15"),
            by: "zhang".into(),
            description: "包装破损".into(),
            ..Default::default()
        },
    );
    let mut late = Customer {
        id: "c-late".into(),
        name: "宁波北仑港务贸易".into(),
        salesperson: "zhang".into(),
        entered_at: noon("2026-05-01"),
        ..Default::default()
    };
    late.sales
        .insert("s1".into(), sale(5_000, "2026-10-05", "2026-10-20", None));
    srv.push_cards("zhang", "业务员的密码1", &[good, late])
        .await;
    // Head office judges the complaint (the laptop may not).
    crm_server::complaints::take_step(
        &srv.db,
        clerk(),
        None,
        ("c-good".into(), "k1".into()),
        crm_shared::codes::ComplaintStep::Judged,
        crm_shared::complaint::StepInput {
            category: Some(ComplaintCategory::Quality),
            ..Default::default()
        },
        noon("2026-10-16"),
    )
    .await
    .unwrap();

    let day: Day = "2026-11-15".parse().unwrap();
    let col = |t: &Table, header: &str| t.headers.iter().position(|h| h == header).unwrap();
    let row_of = |t: &Table, name: &str| {
        let c = col(t, "客户名称");
        t.rows
            .iter()
            .find(|r| r[c].text() == name)
            .unwrap_or_else(|| panic!("{name} not in {:?}", t.rows))
            .clone()
    };
    for f in [Format::Xlsx, Format::Csv] {
        let export = |kind| {
            let db = srv.db.clone();
            async move {
                let t = export::table(&db, clerk(), kind, None, day).await.unwrap();
                read(&table::write(&t, f, "导出").unwrap(), f)
            }
        };

        let g = export(export::Kind::Grades).await;
        let r = row_of(&g, "杭州西湖龙井茶业");
        assert_eq!(r[col(&g, "业务员")].text(), "张伟", "{f:?}");
        assert_eq!(r[col(&g, "客户等级评分")].text(), "100", "{f:?}");
        assert_eq!(r[col(&g, "月均销售额(元)")].text(), "30000", "{f:?}");
        assert_eq!(r[col(&g, "信用履约率")].text(), "100.0%", "{f:?}");
        assert_eq!(r[col(&g, "客户等级")].text(), "A级", "{f:?}");

        let w = export(export::Kind::Warnings).await;
        let r = row_of(&w, "宁波北仑港务贸易");
        assert_eq!(r[col(&w, "客户编号")].text(), "c-late", "{f:?}");
        assert_eq!(r[col(&w, "预警规则")].text(), "逾期欠款", "{f:?}");
        assert!(
            r[col(&w, "指标")].text().contains("逾期欠款 5,000 元"),
            "{f:?}: {r:?}"
        );

        let c = export(export::Kind::Complaints).await;
        assert_eq!(c.rows.len(), 1, "{f:?}: {:?}", c.rows);
        let r = &c.rows[0];
        assert_eq!(r[col(&c, "月份")].text(), "2026-10", "{f:?}");
        assert_eq!(r[col(&c, "投诉总数")].text(), "1", "{f:?}");
        assert_eq!(r[col(&c, "质量问题")].text(), "1", "{f:?}");
        assert_eq!(r[col(&c, "处理中")].text(), "1", "{f:?}");
    }
}

#[tokio::test]
async fn the_operator_decides_duplicates_row_by_row_on_the_command_line() {
    let srv = TestServer::plain().await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.xlsx");
    std::fs::write(
        &first,
        workbook(&[
            ["苏州丝绸进出口公司", "陈经理", "13700000007", "", "", ""],
            ["常熟纺织", "赵经理", "13500000005", "", "", ""],
        ]),
    )
    .unwrap();
    let out = srv.cli(&["sheet", first.to_str().unwrap(), "--as", "wang"], None);
    assert!(out.status.success(), "{out:?}");
    // Rows 2 and 3 share a phone with a customer on file; row 4 is new.
    let second = dir.path().join("b.xlsx");
    std::fs::write(
        &second,
        workbook(&[
            [
                "苏州丝绸进出口有限公司",
                "陈经理",
                "13700000007",
                "",
                "",
                "",
            ],
            ["常熟纺织二厂", "赵经理", "13500000005", "", "", ""],
            ["吴江丝绸厂", "王厂长", "13600000006", "", "", ""],
        ]),
    )
    .unwrap();
    let b = second.to_str().unwrap();
    let out = srv.cli(&["sheet", b, "--dry-run", "--as", "wang"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("第 2 行") && text.contains("第 3 行"),
        "{text}"
    );
    assert!(
        text.contains("--create-row"),
        "the dry run says how: {text}"
    );

    // A row number that is not a duplicate is refused, nothing imported.
    let out = srv.cli(&["sheet", b, "--create-row", "4", "--as", "wang"], None);
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("第 4 行不是疑似重复"), "{err}");
    assert_eq!(names(&srv).await.len(), 2);
    // Both ways at once is a usage error.
    let out = srv.cli(
        &["sheet", b, "--create-row", "3", "--create-duplicates"],
        None,
    );
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(names(&srv).await.len(), 2);

    // Row 3 is a second factory the operator checked; row 2 is the same firm.
    let out = srv.cli(&["sheet", b, "--create-row", "3", "--as", "wang"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("新建 2") && text.contains("跳过疑似重复 1"),
        "{text}"
    );
    let mut n = names(&srv).await;
    n.sort();
    assert_eq!(
        n,
        [
            "吴江丝绸厂",
            "常熟纺织",
            "常熟纺织二厂",
            "苏州丝绸进出口公司"
        ]
    );
}

/// 业务员 takes a salesperson's login or name (姓名) and stores the login;
/// a person's name no salesperson has, a login that does not exist or an
/// account that is not a salesperson is refused in the dry run, naming the
/// row, and nothing is imported.
#[tokio::test]
async fn the_salesperson_column_takes_a_login_or_a_name_and_nothing_else() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    srv.add_user("wang", Role::Clerk, "王芳", "内勤的密码12")
        .await;
    let csv = "客户名称,业务员\n嘉兴甲厂,zhang\n嘉兴乙厂,张伟\n嘉兴丙厂,张三\n嘉兴丁厂,wang\n嘉兴戊厂,zhangsan\n";
    let t = read(csv.as_bytes(), Format::Csv);
    let plan = import::plan(&srv.db, t.clone(), "s.csv".into(), "wang".into(), false)
        .await
        .unwrap();
    let errors: Vec<(usize, String)> = plan.errors.clone();
    assert_eq!(
        errors.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        [4, 5, 6],
        "{errors:?}"
    );
    assert!(
        errors[0].1.contains("张三") && errors[0].1.contains("业务员"),
        "{errors:?}"
    );
    assert!(errors[1].1.contains("档案管理员"), "{errors:?}");
    assert!(errors[2].1.contains("zhangsan"), "{errors:?}");
    assert!(import::commit(
        &srv.db,
        t,
        "s.csv".into(),
        "wang".into(),
        vec![],
        false,
        false
    )
    .await
    .is_err());
    assert!(names(&srv).await.is_empty());

    // The command's dry run says the same, row by row.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.csv");
    std::fs::write(&file, csv).unwrap();
    let out = srv.cli(
        &["sheet", file.to_str().unwrap(), "--dry-run", "--as", "wang"],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("第 4 行") && text.contains("张三"), "{text}");

    let ok = "客户名称,业务员\n嘉兴甲厂,zhang\n嘉兴乙厂,张伟\n";
    let (_, out) = import::commit(
        &srv.db,
        read(ok.as_bytes(), Format::Csv),
        "ok.csv".into(),
        "wang".into(),
        vec![],
        false,
        false,
    )
    .await
    .unwrap();
    assert_eq!(out.created, 2);
    let rows = crm_server::archive::list(&srv.db, clerk(), Default::default(), 0, 10)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.salesperson == "zhang"), "{rows:?}");
}

/// A sheet naming another salesperson for customers on file: the dry run
/// says how many would move; the import keeps them with their salesperson
/// (updating the rest) unless --reassign.
#[tokio::test]
async fn a_sheet_moves_customers_on_file_only_with_reassign() {
    let srv = TestServer::plain().await;
    srv.add_user("zhang", Role::Salesperson, "张伟", "业务员的密码1")
        .await;
    srv.add_user("li", Role::Salesperson, "李娜", "业务员的密码2")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.csv");
    std::fs::write(
        &first,
        "客户编号,客户名称,业务员\nc1,嘉兴甲厂,zhang\nc2,嘉兴乙厂,zhang\n",
    )
    .unwrap();
    let out = srv.cli(&["sheet", first.to_str().unwrap(), "--as", "wang"], None);
    assert!(out.status.success(), "{out:?}");

    let second = dir.path().join("second.csv");
    std::fs::write(
        &second,
        "客户编号,客户名称,业务员,区域\nc1,嘉兴甲厂,李娜,华东\nc2,嘉兴乙厂,zhang,华东\n",
    )
    .unwrap();
    let s = second.to_str().unwrap();
    let owner = |srv: &TestServer, id: &'static str| {
        let db = srv.db.clone();
        async move {
            crm_server::archive::card(&db, clerk(), id.into())
                .await
                .unwrap()
                .customer
        }
    };
    let out = srv.cli(&["sheet", s, "--dry-run", "--as", "wang"], None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("1 位") && text.contains("第 2 行") && text.contains("--reassign"),
        "{text}"
    );
    let out = srv.cli(&["sheet", s, "--as", "wang"], None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("未改派"), "{text}");
    let c1 = owner(&srv, "c1").await;
    assert_eq!(
        (c1.salesperson.as_str(), c1.region.as_str()),
        ("zhang", "华东")
    );

    let out = srv.cli(&["sheet", s, "--reassign", "--as", "wang"], None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("改派 1"), "{text}");
    assert_eq!(owner(&srv, "c1").await.salesperson, "li");
    assert_eq!(owner(&srv, "c2").await.salesperson, "zhang");
}

/// A new customer may come with the limit it had in the archive before; a
/// customer on file keeps the limit its approval chain gave it: a sheet
/// that changes it is refused by row, the same value passes.
#[tokio::test]
async fn a_sheet_sets_a_new_customers_limit_but_never_changes_one_on_file() {
    let srv = TestServer::plain().await;
    let sheet = |limit: &str| {
        let csv = format!("客户编号,客户名称,信用额度\nc1,嘉兴南湖电子,{limit}\n");
        table::read(csv.as_bytes(), Format::Csv).unwrap()
    };
    let commit = |t: Table| {
        import::commit(
            &srv.db,
            t,
            "额度.csv".into(),
            "wang".into(),
            vec![],
            false,
            false,
        )
    };
    commit(sheet("1000")).await.unwrap();
    let limit = || async {
        crm_server::archive::card(&srv.db, clerk(), "c1".into())
            .await
            .unwrap()
            .customer
            .credit
            .limit
    };
    assert_eq!(limit().await, Some(1000));
    let e = commit(sheet("500000")).await.unwrap_err().to_string();
    assert!(
        e.contains("第 2 行") && e.contains("信用额度变更申请"),
        "{e}"
    );
    assert_eq!(limit().await, Some(1000));
    commit(sheet("1000")).await.unwrap();
    assert_eq!(limit().await, Some(1000));
}
