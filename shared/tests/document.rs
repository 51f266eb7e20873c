//! The customer document: every field survives a save/load, replicas that
//! edit apart merge without loss, and concurrent edits of one field are
//! listed as conflicts until a person settles them with a reason.

use std::collections::BTreeMap;

use crm_shared::codes::*;
use crm_shared::customer::*;
use crm_shared::labels::label_of;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::{ActorId, CustomerDoc, Error};

/// A card with every field of every section set, in Chinese (and an emoji).
fn full_card() -> Customer {
    let mut contacts = BTreeMap::new();
    contacts.insert(
        "k1".to_string(),
        Contact {
            name: "李建国".into(),
            primary: true,
            department: "采购部".into(),
            title: "采购经理".into(),
            phone: "021-55556666".into(),
            fax: "021-55556667".into(),
            mobile: "13800001111".into(),
            email: "li@example.cn".into(),
            wechat: "li_jianguo".into(),
            influence: "决策者".into(),
            important_dates: "生日 3月8日".into(),
            preferences: "喜欢喝茶 🍵".into(),
            accepts_mail: true,
            accepts_sms: true,
        },
    );
    contacts.insert(
        "k2".to_string(),
        Contact {
            name: "王芳".into(),
            title: "财务".into(),
            ..Default::default()
        },
    );
    let mut competitors = BTreeMap::new();
    competitors.insert("华为".to_string(), "价格偏高,服务好".to_string());
    let mut activities = BTreeMap::new();
    activities.insert(
        "v1".to_string(),
        Activity {
            at: 1_700_000_000_000,
            kind: ActivityKind::Meeting,
            by: "zhangsan".into(),
            notes: "洽谈年度合同\n第二行".into(),
            intent: Some(Intent::A),
            next_followup: Some("2026-12-01".parse().unwrap()),
        },
    );
    let mut complaints = BTreeMap::new();
    complaints.insert(
        "q1".to_string(),
        Complaint {
            at: 1_700_000_100_000,
            by: "zhangsan".into(),
            description: "交货延迟".into(),
            category: Some(ComplaintCategory::NonQuality),
            investigation: "物流原因".into(),
            remedy: "补偿运费".into(),
            execution: "已退款".into(),
            satisfied: Some(true),
            closed_at: Some(1_700_000_150_000),
            sample_returned: None,
            inspection: String::new(),
            responsible_department: String::new(),
            manager_opinion: "同意补偿".into(),
            agreed: Some(true),
            negotiation: String::new(),
            litigation: String::new(),
            steps: BTreeMap::from([(
                "opinion".to_string(),
                crm_shared::customer::StepMark {
                    by: "wang".into(),
                    at: 1_700_000_120_000,
                },
            )]),
        },
    );
    let mut violations = BTreeMap::new();
    violations.insert(
        "w1".to_string(),
        Violation {
            at: 1_700_000_200_000,
            kind: "逾期付款".into(),
            description: "超期 30 天".into(),
        },
    );
    let mut evaluations = BTreeMap::new();
    evaluations.insert(
        "e1".to_string(),
        Evaluation {
            at: 1_700_000_300_000,
            by: "wangjl".into(),
            text: "重点维护".into(),
        },
    );
    Customer {
        id: "c-001".into(),
        name: "上海华东机电有限公司".into(),
        salesperson: "zhangsan".into(),
        region: "华东".into(),
        status: Status::Inactive,
        entered_at: 1_690_000_000_000,
        valid_until: Some("2027-12-31".parse().unwrap()),
        grade: Some(Grade::B),
        score: Some(82.5),
        tier: Some(Tier::Important),
        kind: Some(CustomerKind::Factory),
        nature: Some(Nature::JointVenture),
        industry: "机械制造".into(),
        intent: Some(Intent::H),
        remarks: "老客户".into(),
        contacts,
        company: Company {
            address: "上海市浦东新区张江路1号".into(),
            website: "https://example.cn".into(),
            legal_rep: "赵总".into(),
            registered_capital: Some(5_000_000),
            business_scope: "机电设备".into(),
            products: "电机、泵".into(),
            market_coverage: "华东三省".into(),
            sales_channels: "经销商".into(),
            bank_rating: Some(BankRating::Aa),
        },
        business: Business {
            annual_sales: Some(12_000_000),
            peak_season_sales: Some(1_500_000),
            off_season_sales: Some(600_000),
            monthly_purchasing_power: Some(900_000),
            competitors,
        },
        billing: Billing {
            bank: "中国工商银行上海分行".into(),
            account_no: "6222000011112222".into(),
            tax_no: "91310000MA1FL0XX0X".into(),
            invoice_phone: "021-55558888".into(),
            requirements: "增值税专用发票".into(),
        },
        credit: Credit {
            limit: Some(800_000),
            on_time_rate: Some(96.5),
            arrears: Some(120_000),
        },
        activities,
        complaints,
        violations,
        evaluations,
        sales: BTreeMap::from([(
            "s1".to_string(),
            Sale {
                day: Some("2026-10-08".parse().unwrap()),
                product: "三相异步电机 Y2-160".into(),
                quantity: 12.5,
                amount: 86_000,
                due: Some("2026-11-08".parse().unwrap()),
                paid_on: None,
                by: "zhangsan".into(),
            },
        )]),
        credit_requests: BTreeMap::from([(
            "cr1".to_string(),
            CreditRequest {
                at: 1_700_000_400_000,
                by: "zhangsan".into(),
                current: Some(800_000),
                proposed: 1_000_000,
                reason: "旺季备货".into(),
                decisions: BTreeMap::from([(
                    "sales_manager".to_string(),
                    Decision {
                        approved: true,
                        by: "wangjl".into(),
                        at: 1_700_000_500_000,
                        comment: "同意".into(),
                    },
                )]),
            },
        )]),
        reviews: BTreeMap::from([(
            "r1".to_string(),
            Review {
                at: 1_700_000_600_000,
                by: "liqin".into(),
                tier: Some(Tier::Important),
                notes: "资料齐全".into(),
            },
        )]),
        major_changes: BTreeMap::from([(
            "m1".to_string(),
            MajorChange {
                at: 1_700_000_700_000,
                by: "zhangsan".into(),
                description: "控股股东变更".into(),
                cleared: false,
            },
        )]),
    }
}

fn note(by: &str, action: Action, reason: Option<&str>) -> ChangeNote {
    ChangeNote::new(by, action).with_reason(reason)
}

fn actor(n: u8) -> ActorId {
    ActorId::from([n; 16])
}

const T: i64 = 1_795_000_000_000;

#[test]
fn every_archive_field_survives_save_and_load() {
    let card = full_card();
    let doc =
        CustomerDoc::create(&card, actor(1), &note("zhangsan", Action::Create, None), T).unwrap();
    let loaded = CustomerDoc::load(&doc.save(), actor(2)).unwrap();
    assert_eq!(loaded.customer().unwrap(), card);

    // An edit touching every section, stored the way the store does it:
    // the old snapshot with the new changes appended.
    let mut doc = loaded;
    let snapshot = doc.save();
    let before = doc.heads();
    let mut edited = card.clone();
    edited.name = "上海华东机电股份有限公司".into();
    edited.contacts.get_mut("k2").unwrap().mobile = "13900002222".into();
    edited.contacts.remove("k1");
    edited.company.bank_rating = None;
    edited
        .business
        .competitors
        .insert("西门子".into(), "技术强".into());
    edited.credit.on_time_rate = Some(88.0);
    edited.score = None;
    doc.update(
        &edited,
        &note("clerk", Action::Edit, Some("更正")),
        T + 1000,
    )
    .unwrap();
    let mut bytes = snapshot;
    bytes.extend(doc.save_after(&before));
    let reloaded = CustomerDoc::load(&bytes, actor(3)).unwrap();
    assert_eq!(reloaded.customer().unwrap(), edited);
}

#[test]
fn changes_to_the_card_need_a_reason_but_new_visits_do_not() {
    let card = full_card();
    let mut doc =
        CustomerDoc::create(&card, actor(1), &note("zhangsan", Action::Create, None), T).unwrap();
    let heads = doc.heads();

    let mut edited = card.clone();
    edited.credit.limit = Some(1);
    let err = doc
        .update(&edited, &note("zhangsan", Action::Edit, None), T)
        .unwrap_err();
    assert!(matches!(err, Error::ReasonRequired), "{err}");
    // A blank reason is no reason.
    let err = doc
        .update(&edited, &note("zhangsan", Action::Edit, Some("  ")), T)
        .unwrap_err();
    assert!(matches!(err, Error::ReasonRequired), "{err}");
    assert_eq!(doc.heads(), heads, "a refused edit commits nothing");

    let mut visited = card.clone();
    visited.activities.insert(
        "v2".into(),
        Activity {
            at: T,
            notes: "回访".into(),
            ..Default::default()
        },
    );
    doc.update(&visited, &note("zhangsan", Action::Activity, None), T)
        .unwrap();
    assert_ne!(doc.heads(), heads);

    let mut bad = visited.clone();
    bad.credit.on_time_rate = Some(120.0);
    let err = doc
        .update(&bad, &note("zhangsan", Action::Edit, Some("x")), T)
        .unwrap_err();
    assert!(err.to_string().contains("按期信用履约率"), "{err}");
    let mut bad = visited.clone();
    bad.id = "other".into();
    assert!(doc
        .update(&bad, &note("zhangsan", Action::Edit, Some("x")), T)
        .is_err());
    assert_eq!(doc.customer().unwrap(), visited);
}

/// Two laptops hold the same customer, edit it apart, then exchange their
/// stored documents: different fields both survive; the same field edited
/// on both sides is a conflict that names both values and their authors.
#[test]
fn replicas_edited_apart_merge_and_surface_the_real_clash() {
    let card = full_card();
    let origin =
        CustomerDoc::create(&card, actor(1), &note("zhangsan", Action::Create, None), T).unwrap();
    let mut a = CustomerDoc::load(&origin.save(), actor(2)).unwrap();
    let mut b = CustomerDoc::load(&origin.save(), actor(3)).unwrap();

    let mut ca = card.clone();
    ca.company.address = "上海市徐汇区漕溪北路88号".into();
    ca.credit.limit = Some(900_000);
    ca.activities.insert(
        "va".into(),
        Activity {
            at: T,
            notes: "甲方拜访".into(),
            by: "zhangsan".into(),
            ..Default::default()
        },
    );
    a.update(
        &ca,
        &note("zhangsan", Action::Edit, Some("客户搬迁")),
        T + 1000,
    )
    .unwrap();

    let mut cb = card.clone();
    cb.billing.bank = "招商银行".into();
    cb.credit.limit = Some(700_000);
    cb.activities.insert(
        "vb".into(),
        Activity {
            at: T,
            notes: "乙方电话".into(),
            by: "clerk".into(),
            ..Default::default()
        },
    );
    b.update(
        &cb,
        &note("clerk", Action::Edit, Some("复核降额")),
        T + 2000,
    )
    .unwrap();

    let a_bytes = a.save();
    let b_bytes = b.save();
    assert!(a.merge_bytes(&b_bytes).unwrap());
    assert!(b.merge_bytes(&a_bytes).unwrap());
    // Merging again changes nothing: exchanges are idempotent.
    assert!(!a.merge_bytes(&b_bytes).unwrap());

    let ma = a.customer().unwrap();
    let mb = b.customer().unwrap();
    assert_eq!(ma, mb, "both replicas converge");
    assert_eq!(ma.company.address, "上海市徐汇区漕溪北路88号");
    assert_eq!(ma.billing.bank, "招商银行");
    assert!(ma.activities.contains_key("va") && ma.activities.contains_key("vb"));

    let conflicts = a.conflicts();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(c.path, "credit.limit");
    let mut values: Vec<(i64, String)> = c
        .values
        .iter()
        .map(|v| (v.value.as_i64().unwrap(), v.by.clone().unwrap()))
        .collect();
    assert_eq!(
        c.values[0].value.as_i64(),
        ma.credit.limit,
        "the shown value is listed first"
    );
    values.sort();
    assert_eq!(
        values,
        vec![(700_000, "clerk".into()), (900_000, "zhangsan".into())]
    );
    assert_eq!(b.conflicts().len(), 1, "the other replica lists it too");

    // Settling needs a reason; choosing the value currently shown still
    // supersedes the other one.
    let shown = c.values[0].value.clone();
    let err = a
        .resolve(
            "credit.limit",
            &shown,
            &note("clerk", Action::Resolve, None),
            T + 3000,
        )
        .unwrap_err();
    assert!(matches!(err, Error::ReasonRequired));
    a.resolve(
        "credit.limit",
        &serde_json::json!(700_000),
        &note("clerk", Action::Resolve, Some("经理确认降额")),
        T + 3000,
    )
    .unwrap();
    assert!(a.conflicts().is_empty());
    assert_eq!(a.customer().unwrap().credit.limit, Some(700_000));
    // The resolution travels: the other replica's conflict is gone after merging.
    b.merge_bytes(&a.save()).unwrap();
    assert!(b.conflicts().is_empty());
    assert_eq!(b.customer().unwrap().credit.limit, Some(700_000));

    // Settling on the value already shown still names the field in history.
    let mut c = CustomerDoc::load(&origin.save(), actor(4)).unwrap();
    let mut d = CustomerDoc::load(&origin.save(), actor(5)).unwrap();
    let mut x = card.clone();
    x.industry = "机械".into();
    c.update(&x, &note("zhangsan", Action::Edit, Some("a")), T)
        .unwrap();
    let mut y = card.clone();
    y.industry = "电气".into();
    d.update(&y, &note("clerk", Action::Edit, Some("b")), T)
        .unwrap();
    c.merge_bytes(&d.save()).unwrap();
    let shown = c.conflicts()[0].values[0].value.clone();
    c.resolve(
        "industry",
        &shown,
        &note("clerk", Action::Resolve, Some("核实")),
        T,
    )
    .unwrap();
    let last = c.history().pop().unwrap();
    assert_eq!(last.action, Some(Action::Resolve));
    assert!(
        last.fields
            .iter()
            .any(|f| f.path == "industry"
                && f.new.as_ref() == shown.as_str().map(String::from).as_ref()),
        "{last:?}"
    );

    // Values are checked on resolve as on edit.
    let err = a
        .resolve(
            "company.address",
            &serde_json::json!("x"),
            &note("clerk", Action::Resolve, Some("r")),
            T,
        )
        .unwrap_err();
    assert!(err.to_string().contains("地址"), "{err}");
}

/// The same customer id entered on two laptops independently (e.g. both
/// imported the same list) merges field by field, because every document
/// starts from the same deterministic skeleton.
#[test]
fn independent_creations_of_one_customer_merge_field_by_field() {
    let mut c1 = full_card();
    c1.contacts.clear();
    c1.contacts.insert(
        "k1".into(),
        Contact {
            name: "甲".into(),
            ..Default::default()
        },
    );
    let mut c2 = full_card();
    c2.contacts.clear();
    c2.contacts.insert(
        "k9".into(),
        Contact {
            name: "乙".into(),
            ..Default::default()
        },
    );
    c2.company.address = "北京".into();
    let mut a = CustomerDoc::create(&c1, actor(1), &note("a", Action::Import, None), T).unwrap();
    let b = CustomerDoc::create(&c2, actor(2), &note("b", Action::Import, None), T).unwrap();
    a.merge_bytes(&b.save()).unwrap();
    let m = a.customer().unwrap();
    assert!(
        m.contacts.contains_key("k1") && m.contacts.contains_key("k9"),
        "both contacts kept"
    );
    let paths: Vec<String> = a.conflicts().into_iter().map(|c| c.path).collect();
    assert_eq!(paths, vec!["company.address".to_string()]);
}

#[test]
fn history_names_author_reason_and_fields() {
    let card = full_card();
    let mut doc =
        CustomerDoc::create(&card, actor(1), &note("zhangsan", Action::Create, None), T).unwrap();
    let mut edited = card.clone();
    edited.credit.limit = Some(1_000_000);
    edited.remarks = "升级为重点客户".into();
    doc.update(
        &edited,
        &note("clerk", Action::Edit, Some("年度复核")),
        T + 60_000,
    )
    .unwrap();
    let mut visited = edited.clone();
    visited.activities.insert(
        "v2".into(),
        Activity {
            at: T,
            notes: "回访".into(),
            ..Default::default()
        },
    );
    doc.update(
        &visited,
        &note("zhangsan", Action::Activity, None),
        T + 120_000,
    )
    .unwrap();

    let h = CustomerDoc::load(&doc.save(), actor(9)).unwrap().history();
    assert_eq!(h.len(), 3, "skeleton is not shown: {h:?}");
    assert_eq!(h[0].by.as_deref(), Some("zhangsan"));
    assert_eq!(h[0].action, Some(Action::Create));
    assert!(h[0]
        .fields
        .iter()
        .any(|f| f.path == "name" && f.new.as_deref() == Some("上海华东机电有限公司")));

    let e = &h[1];
    assert_eq!(e.by.as_deref(), Some("clerk"));
    assert_eq!(e.reason.as_deref(), Some("年度复核"));
    assert_eq!(e.at, T + 60_000);
    let limit = e.fields.iter().find(|f| f.path == "credit.limit").unwrap();
    assert_eq!(
        (limit.old.as_deref(), limit.new.as_deref()),
        (Some("800000"), Some("1000000"))
    );
    assert!(e
        .fields
        .iter()
        .any(|f| f.path == "remarks" && f.old.as_deref() == Some("老客户")));
    assert_eq!(e.fields.len(), 2);

    assert_eq!(h[2].action, Some(Action::Activity));
    assert_eq!(h[2].reason, None);
    assert_eq!(h[2].fields.len(), 1);
    assert_eq!(h[2].fields[0].path, "activities.v2");
    assert!(h[2].fields[0].is_new_entry());
}

#[test]
fn damaged_bytes_are_refused_not_half_loaded() {
    let doc =
        CustomerDoc::create(&full_card(), actor(1), &note("z", Action::Create, None), T).unwrap();
    let bytes = doc.save();
    let err = CustomerDoc::load(&bytes[..bytes.len() / 2], actor(2)).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    assert!(CustomerDoc::load(&flipped, actor(2)).is_err());
    assert!(CustomerDoc::load(b"not a document", actor(2)).is_err());
}

/// The card is read through automerge's bulk hydrate and serde for speed;
/// autosurgeon's derived `Hydrate` is the reference mapping. They agree, on
/// a full card and after merges and edits.
#[test]
fn fast_read_path_agrees_with_autosurgeon() {
    let card = full_card();
    let mut doc =
        CustomerDoc::create(&card, actor(1), &note("z", Action::Create, None), T).unwrap();
    let mut edited = card.clone();
    edited.score = Some(70.0);
    edited.credit.on_time_rate = None;
    edited.contacts.remove("k2");
    doc.update(&edited, &note("z", Action::Edit, Some("r")), T)
        .unwrap();
    let loaded = CustomerDoc::load(&doc.save(), actor(2)).unwrap();
    let reference: Customer = autosurgeon::hydrate(loaded.automerge()).unwrap();
    assert_eq!(loaded.customer().unwrap(), reference);
    assert_eq!(reference, edited);
}

/// A merge patches the tree the card was read from instead of reading the
/// whole document again; whatever arrives (edits of a contact another
/// replica deleted, a field both changed, several merges in a row, a whole
/// saved document), the card and its conflicts must be what a full read of
/// the merged document gives. (Debug builds also compare the trees.)
#[test]
fn a_merge_reads_the_card_as_a_full_read_would() {
    let card = full_card();
    let origin =
        CustomerDoc::create(&card, actor(1), &note("zhangsan", Action::Create, None), T).unwrap();
    let base = origin.heads();
    let edit = |doc: &mut CustomerDoc, by: &str, f: &dyn Fn(&mut Customer)| {
        let mut c = doc.card().clone();
        f(&mut c);
        doc.update(&c, &note(by, Action::Edit, Some("现场核对")), T + 5000)
            .unwrap();
    };
    let mut a = CustomerDoc::load(&origin.save(), actor(2)).unwrap();
    edit(&mut a, "zhangsan", &|c| {
        c.contacts.remove("k2");
        c.contacts.get_mut("k1").unwrap().mobile = "13900002222".into();
        c.remarks = "甲:已签约".into();
        c.activities.insert(
            "va".into(),
            Activity {
                at: T,
                notes: "甲方拜访".into(),
                by: "zhangsan".into(),
                ..Default::default()
            },
        );
    });
    let mut b = CustomerDoc::load(&origin.save(), actor(3)).unwrap();
    edit(&mut b, "clerk", &|c| {
        c.contacts.get_mut("k2").unwrap().title = "财务总监".into();
        c.remarks = "乙:待回款".into();
        c.activities.clear();
        c.company.address = "杭州市西湖区文三路1号".into();
    });
    let mut b2 = b.clone();
    edit(&mut b2, "clerk", &|c| c.billing.bank = "工商银行".into());

    let full = |doc: &CustomerDoc| CustomerDoc::load(&doc.save(), actor(9)).unwrap();
    let same = |doc: &CustomerDoc| {
        let read = full(doc);
        assert_eq!(doc.card(), read.card());
        let paths = |d: &CustomerDoc| {
            d.conflicts()
                .into_iter()
                .map(|c| c.path)
                .collect::<Vec<_>>()
        };
        assert_eq!(paths(doc), paths(&read));
    };

    // Changes in two merges, one after the other, into a freshly read copy.
    let mut merged = CustomerDoc::load(&a.save(), actor(4)).unwrap();
    assert!(merged.merge_bytes(&b.save_after(&base)).unwrap());
    same(&merged);
    assert!(merged.conflicts().iter().any(|c| c.path == "remarks"));
    assert!(merged.merge_bytes(&b2.save_after(&b.heads())).unwrap());
    same(&merged);
    assert_eq!(merged.card().billing.bank, "工商银行");
    // Nothing new: still the same card.
    assert!(!merged.merge_bytes(&b2.save_after(&base)).unwrap());
    same(&merged);

    // A whole saved document merged the other way round.
    let mut other = CustomerDoc::load(&b2.save(), actor(5)).unwrap();
    other.merge_bytes(&a.save()).unwrap();
    same(&other);
    assert_eq!(other.card(), merged.card());
}

/// A document as an older `crm` wrote it, when any text was taken as a
/// phone number: customer c-old whose main contact's mobile is `mobile`.
fn written_before_the_phone_rule(mobile: &str) -> CustomerDoc {
    use automerge::transaction::{CommitOptions, Transactable};
    use automerge::{ReadDoc, ROOT};
    let mut card = Customer {
        id: "c-old".into(),
        name: "宁波老客户有限公司".into(),
        salesperson: "zhangsan".into(),
        ..Default::default()
    };
    card.contacts.insert(
        "k1".into(),
        Contact {
            name: "王经理".into(),
            primary: true,
            ..Default::default()
        },
    );
    let doc =
        CustomerDoc::create(&card, actor(1), &note("zhangsan", Action::Create, None), T).unwrap();
    let mut am = automerge::Automerge::load(&doc.save()).unwrap();
    let (_, contacts) = am.get(ROOT, "contacts").unwrap().unwrap();
    let (_, k1) = am.get(&contacts, "k1").unwrap().unwrap();
    let mut tx = am.transaction();
    tx.put(&k1, "mobile", mobile).unwrap();
    tx.commit_with(
        CommitOptions::default()
            .with_message(note("zhangsan", Action::Edit, Some("旧版本录入")).to_message())
            .with_time(T / 1000),
    );
    CustomerDoc::load(&am.save(), actor(2)).unwrap()
}

/// Phone, mobile and fax numbers typed now must look like numbers (digits,
/// +, -, spaces, parentheses, an extension); a number stored before that
/// rule still loads, still takes visits and edits of other fields, still
/// passes the check every stored card passes (sync), and can be corrected.
#[test]
fn phone_numbers_are_checked_when_typed_and_old_ones_stay_usable() {
    let base = || {
        let mut c = Customer {
            id: "c1".into(),
            name: "宁波甲有限公司".into(),
            ..Default::default()
        };
        c.contacts.insert(
            "k1".into(),
            Contact {
                name: "王经理".into(),
                primary: true,
                ..Default::default()
            },
        );
        c
    };
    let create =
        |c: &Customer| CustomerDoc::create(c, actor(1), &note("zhangsan", Action::Create, None), T);
    for good in [
        "13800001111",
        "+86 138-0000-1111",
        "(0574) 8765 4321",
        "0574-87654321 转123",
        "0574-87654321 ext. 12",
        "400-800-8888#12",
        "021-55556666 分机 8",
    ] {
        let mut c = base();
        let k = c.contacts.get_mut("k1").unwrap();
        (k.mobile, k.phone, k.fax) = (good.into(), good.into(), good.into());
        c.billing.invoice_phone = good.into();
        create(&c).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for (field, bad) in [
        ("mobile", "1380000abcd"),
        ("phone", "见名片"),
        ("fax", "0574-8765+4321"),
        ("mobile", "13800001111 转"),
        ("phone", "12"),
    ] {
        let mut c = base();
        let k = c.contacts.get_mut("k1").unwrap();
        match field {
            "mobile" => k.mobile = bad.into(),
            "phone" => k.phone = bad.into(),
            _ => k.fax = bad.into(),
        }
        let e = create(&c).unwrap_err().to_string();
        assert!(
            e.contains(&format!("联系人 {}", label_of(field))) && e.contains("电话号码"),
            "{bad}: {e}"
        );
    }
    let mut c = base();
    c.billing.invoice_phone = "财务部".into();
    let e = create(&c).unwrap_err().to_string();
    assert!(e.contains("开票电话"), "{e}");

    // Stored by an older version: still a valid stored card, and still usable.
    let mut old = written_before_the_phone_rule("见名片,王经理");
    assert_eq!(old.card().contacts["k1"].mobile, "见名片,王经理");
    crm_shared::validate::customer(old.card()).unwrap();
    let mut c = old.card().clone();
    c.activities.insert(
        "v1".into(),
        Activity {
            at: T,
            notes: "拜访".into(),
            ..Default::default()
        },
    );
    old.update(&c, &note("zhangsan", Action::Activity, None), T)
        .unwrap();
    c.remarks = "老客户".into();
    old.update(&c, &note("zhangsan", Action::Edit, Some("补充备注")), T)
        .unwrap();
    // Changing the old number means typing a new one, which is checked.
    c.contacts.get_mut("k1").unwrap().mobile = "问前台".into();
    let e = old
        .update(&c, &note("zhangsan", Action::Edit, Some("更新")), T)
        .unwrap_err()
        .to_string();
    assert!(e.contains("联系人 手机"), "{e}");
    c.contacts.get_mut("k1").unwrap().mobile = "13900002222".into();
    old.update(&c, &note("zhangsan", Action::Edit, Some("更正手机")), T)
        .unwrap();
}
