//! The head-office console in a real browser: headless Chromium driven
//! through chromedriver (Debian packages `chromium` and `chromium-driver`,
//! installed by `.ci/run`), against the real server over HTTPS on loopback,
//! with a real laptop store syncing into it.
//!
//! Screenshots of every main page, the sign-in page included, are written to
//! `test-artifacts/console-screenshots/` at the workspace root (ignored by
//! git), a fixed place to collect them from; each run replaces the previous
//! run's pictures.

mod common;

use common::browser::Browser;
use fantoccini::Locator;
use serde_json::json;

use crm_client::net::Trust;
use crm_client::{session, Store};
use crm_server::config::{DataDir, Limits};
use crm_server::db::Db;
use crm_server::{AppState, TlsConfig};
use crm_shared::codes::{Position, Role};
use crm_shared::customer::{Contact, CreditRequest};
use crm_shared::day::{Day, Moment};
use crm_shared::note::Action;
use crm_shared::Customer;

const PASSWORD: &str = "控制台测试密码-2026";

/// The real server, in this process, on an ephemeral loopback port.
struct Server {
    url: String,
    fingerprint: String,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn server() -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.create().unwrap();
    let db = Db::open(&data.db_path()).await.unwrap();
    let tls = TlsConfig::self_signed(&data).unwrap();
    let fingerprint = tls.fingerprint().to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(crm_server::serve(
        listener,
        AppState::new(db.clone(), Limits::default()),
        Some(tls),
        async {
            let _ = stopped.await;
        },
    ));
    let users: [(&str, &str, Role, Option<Position>); 8] = [
        ("wang", "王芳", Role::Clerk, None),
        ("zhang", "张伟", Role::Salesperson, None),
        ("li", "李娜", Role::Salesperson, None),
        ("root", "管理员", Role::Admin, None),
        ("m1", "刘经理", Role::Manager, Some(Position::SalesManager)),
        ("m2", "陈副总", Role::Manager, Some(Position::SalesVp)),
        ("m3", "赵总经理", Role::Manager, Some(Position::SalesGm)),
        ("m4", "孙集团总", Role::Manager, Some(Position::GroupGm)),
    ];
    for (login, name, role, position) in users {
        let account = crm_server::admin::NewAccount {
            login: login.into(),
            display_name: name.into(),
            role,
            position,
            password: PASSWORD.into(),
            must_change_password: false,
        };
        crm_server::admin::user_add(&db, &crm_server::audit::Actor::command_line(), account)
            .await
            .unwrap();
    }
    // Another salesperson's customer, which 张伟 must never see. Graded E,
    // so it is on the warning list as well as the grade table.
    let file = dir.path().join("li.jsonl");
    std::fs::write(
        &file,
        r#"{"id":"c-li","name":"宁波李记海产","salesperson":"li","grade":"E"}"#,
    )
    .unwrap();
    crm_server::archive::import(&db, &file, "wang", None, false, |_| {})
        .await
        .unwrap();
    Server {
        url,
        fingerprint,
        _dir: dir,
        _stop: stop,
    }
}

/// 张伟's laptop: its own store, signed in to the server.
struct Laptop {
    _dir: tempfile::TempDir,
    store: Store,
    session: session::Session,
}

impl Laptop {
    fn new(srv_url: &str, fingerprint: &str) -> Laptop {
        let dir = tempfile::tempdir().unwrap();
        crm_tests::unlock(dir.path());
        let mut store = Store::init(dir.path(), "zhang", "张伟").unwrap();
        let session = session::login(
            &mut store,
            srv_url,
            Trust::fingerprint(fingerprint).unwrap(),
            "zhang",
            PASSWORD,
            "张伟的笔记本",
        )
        .unwrap();
        Laptop {
            _dir: dir,
            store,
            session,
        }
    }

    fn sync(&mut self) {
        let client = self.session.client().unwrap();
        let token = self.session.bearer().to_string();
        crm_client::sync::run(
            &mut self.store,
            |req| Ok(client.post("/api/v1/sync", Some(&token), req)?),
            |_| {},
        )
        .unwrap();
    }
}

/// The console's own steps in the browser.
trait Console {
    async fn sign_in(&self, login: &str);
    async fn sign_out(&self);
}

impl Console for Browser {
    async fn sign_in(&self, login: &str) {
        self.go("/console/login").await;
        self.fill("input[name=login]", login).await;
        self.fill("input[name=password]", PASSWORD).await;
        self.click("form.login button[type=submit]").await;
        let h1 = self.text("h1").await;
        assert!(
            h1.contains("工作台") || h1.contains("备份") || h1.contains("审计"),
            "{login}: {h1}"
        );
    }

    async fn sign_out(&self) {
        self.click("header form button").await;
        assert!(self.body().await.contains("登录名"));
    }
}

fn customer(id: &str, name: &str, mobile: &str) -> Customer {
    let mut c = Customer {
        id: id.into(),
        name: name.into(),
        salesperson: "zhang".into(),
        region: "华东".into(),
        ..Default::default()
    };
    c.contacts.insert(
        "k1".into(),
        Contact {
            name: "周经理".into(),
            primary: true,
            mobile: mobile.into(),
            ..Default::default()
        },
    );
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_office_works_through_the_console() {
    let srv = server().await;
    let (url, fp) = (srv.url.clone(), srv.fingerprint.clone());
    // The laptop records two customers, a credit request and a complaint,
    // and syncs.
    let laptop = tokio::task::spawn_blocking(move || {
        let mut lap = Laptop::new(&url, &fp);
        lap.store
            .create(
                &customer("c-tea", "杭州西湖龙井茶业有限公司", "13800000001"),
                false,
            )
            .unwrap();
        lap.store
            .create(
                &customer("c-silk", "苏州丝绸进出口公司", "13900000002"),
                false,
            )
            .unwrap();
        let note = lap.store.note(Action::CreditRequest, Some("春茶上市备货"));
        lap.store
            .change("c-tea", &note, |c| {
                c.credit_requests.insert(
                    "cr1".into(),
                    CreditRequest {
                        at: crm_client::clock::now_millis(),
                        by: "zhang".into(),
                        current: None,
                        proposed: 800_000,
                        reason: "春茶上市备货".into(),
                        decisions: Default::default(),
                    },
                );
                Ok(())
            })
            .unwrap();
        // Two visits this week, for 工作台's visits per week.
        for notes in ["送春茶样品", "洽谈年度合同"] {
            crm_client::record::visit(
                &mut lap.store,
                "c-silk",
                crm_client::record::Visit {
                    kind: crm_shared::codes::ActivityKind::Visit,
                    notes: notes.into(),
                    intent: None,
                    next: None,
                    at: crm_client::clock::now_millis(),
                },
            )
            .unwrap();
        }
        // A customer complains; the salesperson registers it on the laptop.
        let complaint = crm_client::record::complaint(
            &mut lap.store,
            "c-tea",
            "春茶到货受潮结块,要求退换",
            crm_client::clock::now_millis(),
        )
        .unwrap();
        lap.sync();
        // Offline, the salesperson changes the address...
        let note = lap.store.note(Action::Edit, Some("客户搬迁"));
        lap.store
            .change("c-tea", &note, |c| {
                c.company.address = "杭州市上城区河坊街 8 号".into();
                Ok(())
            })
            .unwrap();
        (lap, complaint)
    })
    .await
    .unwrap();
    let (mut laptop, complaint) = laptop;
    let case = format!("/console/customers/c-tea/complaints/{complaint}");

    let b = Browser::open(&srv.url, "console-screenshots", 1400, 1000).await;

    // The clerk signs in, searches a Chinese name and opens the card.
    b.go("/console/login").await;
    b.shot("00-login").await;
    b.sign_in("wang").await;
    // 工作台 first: what needs attention, and the archive by grade.
    let attention = b.text("#attention").await;
    assert!(attention.contains("未解决的冲突"), "{attention}");
    assert!(attention.contains("未同步"), "{attention}");
    assert!(b.body().await.contains("客户等级分布"));
    // Visits per week per salesperson: 张伟's two of this week.
    let page = b.client.source().await.unwrap();
    let chart = &page[page
        .find("拜访次数(近 8 周,按业务员)")
        .expect("the visits chart")..];
    let chart = &chart[..chart.find("</figure>").unwrap()];
    assert!(
        chart.contains(">张伟</text>") && chart.contains(">2</text>"),
        "{chart}"
    );
    b.shot("01-home").await;
    // Its warning count is the warnings page's, rule by rule.
    let warned = b.text("#attention a[href='/console/warnings'] b").await;
    assert!(b.body().await.contains("预警(按规则)"));
    b.go("/console/warnings").await;
    let by_rule = b.text("#by-rule").await;
    assert!(
        by_rule.contains(&format!("全部 ({warned})")),
        "{warned} vs {by_rule}"
    );
    b.go("/console/customers").await;
    b.shot("01-customers").await;
    b.fill("input[name=q]", "西湖龙井").await;
    b.click("form.filters button[type=submit]").await;
    let table = b.text("#customers").await;
    assert!(table.contains("杭州西湖龙井茶业有限公司"), "{table}");
    assert!(!table.contains("苏州丝绸"), "{table}");
    b.click("#customers tbody a").await;
    assert_eq!(b.text("h1").await, "杭州西湖龙井茶业有限公司");
    assert!(b.text("#card").await.contains("华东"));
    b.shot("02-card").await;

    // ...while the clerk, concurrently, corrects it with a reason.
    b.fill("#edit input[name=value]", "杭州市西湖区龙井路 1 号")
        .await;
    b.fill("#edit input[name=reason]", "客户来函更正地址").await;
    b.click("#edit button[type=submit]").await;
    assert!(b.body().await.contains("已保存修改"));
    let history = b.text("table:last-of-type").await;
    assert!(history.contains("客户来函更正地址"), "{history}");
    assert!(history.contains("杭州市西湖区龙井路 1 号"), "{history}");
    b.shot("03-history").await;

    // A clerk edit without a reason is refused with a message, nothing stored.
    let status = b
        .client
        .execute(
            "const f = document.querySelector('#edit'); const d = new FormData(f); d.set('reason', ' ');
             return fetch(f.action, {method: 'POST', body: new URLSearchParams(d)}).then(r => r.status);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(400));
    // A form without the CSRF token is refused.
    let status = b
        .client
        .execute(
            "return fetch('/console/customers/c-tea/edit', {method: 'POST',
               body: new URLSearchParams({field: 'name', value: '篡改', reason: '无'})}).then(r => r.status);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));

    // The laptop syncs its concurrent address: a conflict for a person to settle.
    tokio::task::spawn_blocking(move || {
        laptop.sync();
        laptop
    })
    .await
    .unwrap();
    b.go("/console/conflicts").await;
    let page = b.body().await;
    assert!(
        page.contains("杭州西湖龙井茶业有限公司") && page.contains("地址"),
        "{page}"
    );
    b.shot("04-conflicts").await;
    let other = "form.conflict input[type=radio]:not(:checked)";
    let chosen = b.attr(other, "value").await;
    let chosen: String = serde_json::from_str(&chosen).unwrap();
    b.check(other).await;
    b.fill("form.conflict input[name=reason]", "与客户电话确认新地址")
        .await;
    b.click("form.conflict button[type=submit]").await;
    assert!(b.body().await.contains("冲突已解决"));
    // The card now holds the value the clerk kept.
    let card = b.text("#card").await;
    assert!(card.contains(&chosen), "{chosen} not on the card: {card}");
    b.go("/console/conflicts").await;
    assert!(b.body().await.contains("没有未解决的冲突"));

    // Head-office report pages render; 李娜's customer is on them, which
    // makes the salesperson's pass below mean something.
    b.go("/console/grades").await;
    assert!(b.text("#grades").await.contains("宁波李记海产"));
    b.go("/console/warnings").await;
    assert!(b.text("#warnings").await.contains("宁波李记海产"));
    // One rule at a time, counted; the table shows only that rule.
    b.click("#by-rule a[href*='rule=']").await;
    let chosen = b.text("#by-rule strong").await;
    let label = chosen.split(" (").next().unwrap_or_default().to_string();
    let shown = b.text("#warnings").await;
    assert!(
        shown.lines().skip(1).all(|row| row.contains(&label)),
        "{label}: {shown}"
    );
    assert!(b.text("#warning-count").await.contains("第 1 / 1 页"));
    // Its exports follow the filter: the page shown, or every row of it.
    for link in [
        "p.exports a[href*='.csv'][href*='page=']",
        "p.exports a[href*='.csv']:not([href*='page='])",
    ] {
        let href = b.attr(link, "href").await;
        assert!(href.contains("rule="), "{href}");
        let csv = b.fetch_text(&href).await;
        let rows: Vec<&str> = csv
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(!rows.is_empty(), "{href}: {csv}");
        assert!(rows.iter().all(|r| r.contains(&label)), "{href}: {csv}");
    }
    b.go("/console/warnings?page=abc").await;
    let refused = b.body().await;
    assert!(
        refused.contains("查询参数 page 的值不对:应为非负整数"),
        "{refused}"
    );
    b.go("/console/grades?grade=Z").await;
    let refused = b.body().await;
    assert!(refused.contains("不是有效的客户等级"), "{refused}");
    // The daily report asks head office whose day to show.
    b.go("/console/daily").await;
    assert!(b.text("#salespeople").await.contains("张伟"));
    for (path, h1, shot) in [
        ("/console/grades", "客户等级管理汇总表", "05-grades"),
        ("/console/warnings", "预警", "06-warnings"),
        ("/console/followups", "到期及逾期跟进", "07-followups"),
        (
            "/console/daily?salesperson=zhang",
            "销售活动日报表",
            "08-daily",
        ),
        ("/console/complaints", "客户投诉", "09-complaints"),
        ("/console/devices", "设备同步状态", "10-devices"),
    ] {
        b.go(path).await;
        assert_eq!(b.text("h1").await, h1, "{path}");
        b.shot(shot).await;
    }
    let devices = b.text("#devices").await;
    assert!(devices.contains("张伟的笔记本"), "{devices}");
    assert!(!devices.contains("网页控制台"), "{devices}");

    // Import an .xlsx in which one row is a customer already on file (same mobile).
    let sheet_dir = tempfile::tempdir().unwrap();
    let sheet = sheet_dir.path().join("新客户.xlsx");
    {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, row) in [
            ["客户名称", "联系人", "手机", "区域", "业务员"],
            ["温州瓯海眼镜厂", "林厂长", "13700000003", "华东", "zhang"],
            [
                "西湖龙井茶业(重复)",
                "周经理",
                "13800000001",
                "华东",
                "zhang",
            ],
        ]
        .iter()
        .enumerate()
        {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
        wb.save(&sheet).unwrap();
    }
    b.go("/console/import").await;
    b.client
        .find(Locator::Css("input[type=file]"))
        .await
        .unwrap()
        .send_keys(sheet.to_str().unwrap())
        .await
        .unwrap();
    b.click("#upload button[type=submit]").await;
    let summary = b.text("#summary").await;
    assert!(
        summary.contains("新建 1") && summary.contains("疑似重复 1"),
        "{summary}"
    );
    let plan = b.text("#plan").await;
    assert!(
        plan.contains("电话相同") && plan.contains("杭州西湖龙井茶业有限公司"),
        "{plan}"
    );
    b.shot("13-import-plan").await;
    b.click("#commit button[type=submit]").await;
    let outcome = b.text("#outcome").await;
    assert!(
        outcome.contains("新建 1") && outcome.contains("跳过疑似重复 1"),
        "{outcome}"
    );

    // Export the customer list as .xlsx through the signed-in browser and read it back.
    let bytes = b
        .client
        .execute(
            "return fetch('/console/export/customers.xlsx').then(r => r.arrayBuffer())
               .then(buf => Array.from(new Uint8Array(buf)));",
            vec![],
        )
        .await
        .unwrap();
    let bytes: Vec<u8> = serde_json::from_value(bytes).unwrap();
    let t = crm_server::sheets::table::read(&bytes, crm_server::sheets::Format::Xlsx).unwrap();
    assert_eq!(t.headers[1], "客户名称");
    let names: Vec<String> = t.rows.iter().map(|r| r[1].text()).collect();
    assert!(names.contains(&"温州瓯海眼镜厂".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("重复")), "{names:?}");

    b.sign_out().await;

    // The credit request goes through the chain; each manager sees it when it is their turn.
    for (m, shot) in [("m1", true), ("m2", false), ("m3", false), ("m4", false)] {
        b.sign_in(m).await;
        let waiting = b.text("#attention a[href='/console/credit'] b").await;
        assert_eq!(waiting, "1", "{m}");
        // The menu says so on every page.
        let menu = b.text("nav").await;
        assert!(menu.contains("信用额度审批(1)"), "{m}: {menu}");
        b.go("/console/credit").await;
        let waiting = b.text("#waiting").await;
        assert!(
            waiting.contains("杭州西湖龙井茶业有限公司"),
            "{m}: {waiting}"
        );
        if shot {
            b.shot("11-credit").await;
        }
        b.fill("#waiting input[name=comment]", "同意").await;
        b.click("#waiting button[value=true]").await;
        assert!(b.body().await.contains("已批准"), "{m}");
        b.sign_out().await;
    }
    b.sign_in("wang").await;
    b.go("/console/customers/c-tea").await;
    let card = b.text("#card").await;
    assert!(card.contains("800000"), "{card}");

    // The complaint the laptop registered is a case: the clerk finds it
    // among those waiting for a first judgement and takes the steps that
    // are the clerk's; the plan of a quality issue is refused without the
    // investigation form's fields, what was typed kept.
    b.go("/console/complaints?stage=judged").await;
    let list = b.text("#complaint-list").await;
    assert!(
        list.contains("杭州西湖龙井茶业有限公司") && list.contains("待初步判断"),
        "{list}"
    );
    assert!(b.text("#complaint-count").await.contains("共 1 件"));
    b.go("/console/complaints?stage=plan").await;
    assert!(b.text("#complaint-count").await.contains("共 0 件"));
    b.go("/console/complaints?age=abc").await;
    assert!(b.text("div.error").await.contains("不是天数"));
    b.go("/console/complaints").await;
    b.click("#complaint-list a[href*='/complaints/']").await;
    assert!(b.text("#complaint").await.contains("春茶到货受潮结块"));
    b.choose("#complaint-step select[name=category]", "quality")
        .await;
    b.click("#complaint-step button[type=submit]").await;
    assert!(b.body().await.contains("已保存"));
    b.fill("#complaint-step textarea[name=remedy]", "退换受潮批次")
        .await;
    b.fill(
        "#complaint-step textarea[name=inspection]",
        "外包装密封不严",
    )
    .await;
    b.choose("#complaint-step select[name=sample_returned]", "yes")
        .await;
    b.fill("#complaint-step input[name=responsible_department]", " ")
        .await;
    b.click("#complaint-step button[type=submit]").await;
    assert!(b.text("#complaint-step .error").await.contains("责任部门"));
    assert_eq!(
        b.value("#complaint-step textarea[name=remedy]").await,
        "退换受潮批次"
    );
    b.shot("28-complaint-refused").await;
    b.fill(
        "#complaint-step input[name=responsible_department]",
        "包装车间",
    )
    .await;
    b.click("#complaint-step button[type=submit]").await;
    // The manager's opinion is not the clerk's to sign.
    let waiting = b.text("#complaint-waiting").await;
    assert!(waiting.contains("销售管理部经理"), "{waiting}");
    b.sign_out().await;
    b.sign_in("m1").await;
    b.go(&case).await;
    b.fill(
        "#complaint-step textarea[name=opinion]",
        "同意退换,包装车间整改",
    )
    .await;
    b.click("#complaint-step button[type=submit]").await;
    b.sign_out().await;
    b.sign_in("wang").await;
    b.go(&case).await;
    b.choose("#complaint-step select[name=agreed]", "yes").await;
    b.fill("#complaint-step textarea[name=negotiation]", "客户同意退换")
        .await;
    b.click("#complaint-step button[type=submit]").await;
    b.fill("#complaint-step textarea[name=execution]", "已退换 20 箱")
        .await;
    b.click("#complaint-step button[type=submit]").await;
    b.choose("#complaint-step select[name=satisfied]", "yes")
        .await;
    b.click("#complaint-step button[type=submit]").await;
    b.click("#complaint-step button[type=submit]").await;
    let steps = b.text("#complaint-steps").await;
    for said in [
        "初步判断 · 王芳",
        "销售管理部经理签署意见 · 刘经理",
        "结案 · 王芳",
    ] {
        assert!(steps.contains(said), "{said}: {steps}");
    }
    assert!(b.text("#complaint").await.contains("已结案"));
    b.shot("29-complaint-closed").await;
    b.go("/console/complaints?status=closed").await;
    assert!(b.text("#complaint-list").await.contains("已结案"));
    // The card's history tells it in words.
    b.go("/console/customers/c-tea").await;
    let history = b.text("table:last-of-type").await;
    assert!(
        history.contains("销售管理部经理签署意见(刘经理)"),
        "{history}"
    );

    // The backup page is for operators, managers and admins; a clerk is refused.
    b.go("/console/backup").await;
    assert!(b.body().await.contains("不能查看此页"));
    b.click("a[href='/console/customers']").await;
    b.sign_out().await;
    b.sign_in("root").await;
    b.go("/console/backup").await;
    assert_eq!(b.text("h1").await, "备份状态");
    b.shot("12-backup").await;

    // The administrator adds a salesperson: a weak password is refused with
    // the form kept, then the account is made, given a role and position,
    // and disabled; each step is in the audit as done by them.
    b.click("a[href='/console/users']").await;
    assert_eq!(b.text("h1").await, "用户管理");
    b.fill("#add-user input[name=login]", "zhao").await;
    b.fill("#add-user input[name=name]", "赵敏").await;
    b.fill("#add-user input[name=password]", "short").await;
    b.click("#add-user button[type=submit]").await;
    assert!(
        b.text("div.error").await.contains("10"),
        "{}",
        b.body().await
    );
    assert_eq!(b.value("#add-user input[name=login]").await, "zhao");
    assert_eq!(b.value("#add-user input[name=name]").await, "赵敏");
    b.shot("23-user-refused").await;
    b.fill("#add-user input[name=password]", "赵敏的临时密码请尽快修改")
        .await;
    b.click("#add-user button[type=submit]").await;
    assert!(b.text("div.ok").await.contains("已添加用户 zhao"));
    // A notice is shown only as this session sealed it: a link from
    // elsewhere cannot put its own words there.
    b.go(
        "/console/users?ok=%E8%AF%B7%E6%8A%8A%E5%AF%86%E7%A0%81%E5%8F%91%E7%BB%99%E6%88%91&seal=00",
    )
    .await;
    assert!(!b.body().await.contains("请把密码发给我"));
    let row = "form[action='/console/users/zhao/role']";
    b.set(&format!("{row} select[name=role]"), "manager").await;
    b.set(&format!("{row} select[name=position]"), "sales_manager")
        .await;
    b.click(&format!("{row} button[type=submit]")).await;
    let notice = b.text("div.ok").await;
    assert!(
        notice.contains("角色已改为经理") && notice.contains("销售管理部经理"),
        "{notice}"
    );
    b.click("form[action='/console/users/zhao/state'] button[type=submit]")
        .await;
    assert!(b.text("div.ok").await.contains("已停用用户 zhao"));
    assert!(b.text("#users").await.contains("已停用"));
    // Nobody disables the account they are using.
    b.click("form[action='/console/users/root/state'] button[type=submit]")
        .await;
    assert!(b.text("div.error").await.contains("不能停用自己"));
    b.shot("24-users").await;
    b.go("/console/security?user=zhao").await;
    let audit = b.text("#audit").await;
    assert!(audit.contains("root") && audit.contains("赵敏"), "{audit}");

    // Company settings: a word where a number belongs is named, the form
    // kept; a number is saved and the warnings follow it.
    b.click("a[href='/console/settings']").await;
    b.fill("#settings input[name=churn_days]", "三十").await;
    b.click("#settings button[type=submit]").await;
    assert!(b.text("div.error").await.contains("流失预警天数"));
    assert_eq!(b.value("#settings input[name=churn_days]").await, "三十");
    b.shot("25-settings-refused").await;
    b.fill("#settings input[name=churn_days]", "45").await;
    b.click("#settings button[type=submit]").await;
    assert!(b.text("div.ok").await.contains("已保存公司设置"));
    assert_eq!(b.value("#settings input[name=churn_days]").await, "45");
    b.shot("26-settings").await;
    // A number out of range is refused by the settings' own check.
    b.fill("#settings input[name=cadence_b]", "400").await;
    b.click("#settings button[type=submit]").await;
    assert!(b.text("div.error").await.contains("跟进间隔天数"));
    assert_eq!(b.value("#settings input[name=cadence_b]").await, "400");
    b.sign_out().await;

    // A salesperson sees only their own customers, and no one else's card.
    b.sign_in("zhang").await;
    // A salesperson's 工作台 counts only their own customers, and no laptops.
    // (宁波李记海产 is on file, not theirs: the counts must agree with
    // their own list.)
    let own_total = b.text("main p.muted").await;
    assert!(!b.text("#attention").await.contains("笔记本"));
    b.shot("13b-salesperson-home").await;
    b.go("/console/customers").await;
    let count = b.text("#list-count").await;
    let n = count.split(' ').nth(1).unwrap_or_default();
    assert!(
        own_total.contains(&format!("档案共 {n} 位客户")),
        "{own_total} / {count}"
    );
    let list = b.text("#customers").await;
    assert!(list.contains("杭州西湖龙井茶业有限公司"), "{list}");
    assert!(!list.contains("宁波李记海产"), "{list}");
    b.go("/console/customers/c-li").await;
    let theirs = b.body().await;
    assert!(theirs.contains("找不到客户 c-li"), "{theirs}");
    // ...answered exactly as a customer that does not exist.
    b.go("/console/customers/c-none").await;
    assert_eq!(
        b.body().await.replace("c-none", "ID"),
        theirs.replace("c-li", "ID")
    );
    // ...nor on any report page or export.
    for path in [
        "/console/grades",
        "/console/warnings",
        "/console/followups",
        "/console/complaints",
    ] {
        b.go(path).await;
        let page = b.body().await;
        assert!(!page.contains("宁波李记海产"), "{path}: {page}");
        assert!(!page.contains("c-li"), "{path}: {page}");
    }
    b.go("/console/grades").await;
    assert!(b.text("#grades").await.contains("杭州西湖龙井茶业有限公司"));
    b.shot("14-salesperson-grades").await;
    for export in ["grades.csv", "warnings.csv", "customers.csv"] {
        let csv = b.fetch_text(&format!("/console/export/{export}")).await;
        assert!(csv.contains("客户名称"), "{export}: {csv}");
        assert!(!csv.contains("宁波李记海产"), "{export}: {csv}");
    }
    b.sign_out().await;

    // Head office gives ticked customers to someone else, from the list
    // sorted by grade; a missing reason is refused with the ticks kept.
    b.sign_in("wang").await;
    // Console sign-ins are one row per person, apart from the laptops: the
    // clerk's fourth sign-in, three sessions of them ended by signing out.
    b.go("/console/devices").await;
    let sessions = b.text("#console-sessions").await;
    let rows: Vec<&str> = sessions.lines().filter(|l| l.contains("王芳")).collect();
    assert_eq!(rows.len(), 1, "{sessions}");
    assert!(rows[0].ends_with(" 1 4"), "{sessions}");
    b.go("/console/customers").await;
    b.click("#customers th a[href*='sort=grade']").await;
    b.check("input[name=id][value=c-li]").await;
    b.choose("select[name=to]", "zhang").await;
    b.click("button[name=do][value=reassign]").await;
    assert!(b.text(".error").await.contains("必须说明原因"));
    b.shot("15-bulk-refused").await;
    b.fill("input[name=reason]", "区域调整").await;
    b.click("button[name=do][value=reassign]").await;
    assert!(b.body().await.contains("已改派 1 位客户"));
    let list = b.text("#customers").await;
    let row = list
        .lines()
        .find(|l| l.contains("宁波李记海产"))
        .unwrap_or_default();
    assert!(row.contains("张伟"), "{list}");
    assert!(b.text("#list-count").await.contains("第 1 / 1 页"));
    b.shot("16-bulk-reassigned").await;

    // 新建客户: a name already on file is shown first, then created once
    // confirmed.
    b.click("a[href='/console/customers/new']").await;
    b.fill("#new-customer input[name=name]", "宁波李记海产")
        .await;
    b.choose("#new-customer select[name=salesperson]", "li")
        .await;
    b.fill("#new-customer input[name=region]", "华东").await;
    b.click("#new-customer button[type=submit]").await;
    assert!(b.text("#duplicates").await.contains("宁波李记海产"));
    b.shot("17-new-customer-similar").await;
    b.check("#new-customer input[name=anyway]").await;
    b.click("#new-customer button[type=submit]").await;
    assert_eq!(b.text("h1").await, "宁波李记海产");
    assert!(b.body().await.contains("已新建客户"));

    // From the card: a contact added (a bad mobile refused, what was typed
    // kept), a call logged with the follow-up it plans, and the contact's
    // phone corrected in a form holding its current values.
    b.check("#contact-box summary").await;
    b.fill("#add-contact input[name=name]", "李海").await;
    b.fill("#add-contact input[name=title]", "采购经理").await;
    b.fill("#add-contact input[name=mobile]", "一三九").await;
    b.click("#add-contact button[type=submit]").await;
    assert!(b.text("#add-contact .error").await.contains("不是电话号码"));
    assert_eq!(b.value("#add-contact input[name=name]").await, "李海");
    assert_eq!(b.value("#add-contact input[name=title]").await, "采购经理");
    b.shot("18-contact-refused").await;
    b.fill("#add-contact input[name=mobile]", "139 0000 1111")
        .await;
    b.click("#add-contact button[type=submit]").await;
    assert!(b.body().await.contains("已保存联系人"));
    assert!(b.text("#contacts").await.contains("139 0000 1111"));

    let next = Day::from_millis_local(crm_server::clock::now_ms()).plus_days(14);
    b.check("#activity summary").await;
    b.choose("#log-activity select[name=kind]", "call").await;
    b.set("#log-activity input[name=next]", &next.to_string())
        .await;
    b.fill(
        "#log-activity textarea[name=notes]",
        "电话确认首批订货 200 箱",
    )
    .await;
    b.fill("#log-activity input[name=at]", "明天上午").await;
    b.click("#log-activity button[type=submit]").await;
    assert!(b
        .text("#log-activity .error")
        .await
        .contains("2026-01-01 09:30"));
    assert_eq!(
        b.value("#log-activity textarea[name=notes]").await,
        "电话确认首批订货 200 箱"
    );
    assert_eq!(
        b.value("#log-activity input[name=next]").await,
        next.to_string()
    );
    b.shot("19-activity-refused").await;
    b.fill(
        "#log-activity input[name=at]",
        &Moment::DateTime.show(crm_server::clock::now_ms()).unwrap(),
    )
    .await;
    b.click("#log-activity button[type=submit]").await;
    assert!(b.body().await.contains("下次跟进已排定"));
    let card = b.body().await;
    assert!(
        card.contains("电话确认首批订货 200 箱") && card.contains(&next.to_string()),
        "{card}"
    );

    b.click("#contacts a[href*='/contacts/']").await;
    assert_eq!(
        b.value("#edit-contact input[name=mobile]").await,
        "139 0000 1111"
    );
    assert_eq!(b.value("#edit-contact input[name=title]").await, "采购经理");
    b.fill("#edit-contact input[name=phone]", "0574-8888 6666")
        .await;
    b.fill("#edit-contact input[name=reason]", "客户告知新座机")
        .await;
    b.shot("20-contact-edit").await;
    b.click("#edit-contact button[type=submit]").await;
    assert!(b.text("#contacts").await.contains("0574-8888 6666"));
    let history = b.text("table:last-of-type").await;
    assert!(history.contains("客户告知新座机"), "{history}");
    b.shot("21-card-recorded").await;
    // The call's follow-up, seen from the day after it falls due: one
    // customer, overdue by a day, with the contact to ring.
    b.go(&format!("/console/followups?day={}", next.plus_days(1)))
        .await;
    let due = b.text("#followups").await;
    assert!(
        due.contains("宁波李记海产") && due.contains("李海"),
        "{due}"
    );
    assert!(b.text("#followup-count").await.contains("共 1 位"));
    b.shot("22-followups-due").await;
    // The call list goes out as a sheet, for that day: whom to ring, on
    // which number.
    let href = b
        .attr("p.exports a[href*='followups.csv'][href*='page=']", "href")
        .await;
    assert!(href.contains("day="), "{href}");
    let csv = b.fetch_text(&href).await;
    let lines: Vec<&str> = csv.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines[0].contains("计划跟进日期"), "{csv}");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains("宁波李记海产") && lines[1].contains("李海"),
        "{csv}"
    );

    // A lost laptop: the administrator stops it from the devices page.
    b.sign_out().await;
    b.sign_in("root").await;
    b.go("/console/devices").await;
    let stop = "#devices form[action$='/revoke'] button";
    let before = b.client.find_all(Locator::Css(stop)).await.unwrap().len();
    assert!(before > 0);
    b.click(stop).await;
    assert!(b.text("div.ok").await.contains("已停用设备"));
    let after = b.client.find_all(Locator::Css(stop)).await.unwrap().len();
    assert_eq!(after, before - 1);
    b.shot("27-device-revoked").await;
    b.sign_out().await;
    b.close().await;

    // A phone: 工作台, the list (as cards) and a card at 375 px wide, none
    // scrolling the page sideways.
    let n = Browser::open(&srv.url, "console-narrow-screenshots", 375, 800).await;
    n.sign_in("wang").await;
    let width = n
        .client
        .execute("return window.innerWidth", vec![])
        .await
        .unwrap();
    assert!(
        width.as_i64().unwrap() <= 400,
        "the window is {width} px wide"
    );
    for (path, shot) in [
        ("/console/home", "01-home"),
        ("/console/customers", "02-customers"),
        ("/console/customers/c-tea", "03-card"),
        ("/console/warnings", "04-warnings"),
        ("/console/grades", "05-grades"),
        ("/console/followups", "06-followups"),
        ("/console/credit", "07-credit"),
        ("/console/devices", "08-devices"),
        ("/console/conflicts", "09-conflicts"),
        ("/console/daily?salesperson=zhang", "10-daily"),
        ("/console/complaints", "11-complaints"),
        (case.as_str(), "11b-complaint"),
        ("/console/import", "12-import"),
        ("sign in as root", ""),
        ("/console/users", "13-users"),
        ("/console/settings", "14-settings"),
        ("/console/security", "15-security"),
        ("/console/backup", "16-backup"),
    ] {
        if shot.is_empty() {
            n.sign_out().await;
            n.sign_in("root").await;
            continue;
        }
        n.go(path).await;
        let over = n
            .client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            over.as_i64().unwrap() <= 0,
            "{path} scrolls sideways by {over} px"
        );
        n.shot(shot).await;
    }
    n.close().await;
    drop(srv);
}
