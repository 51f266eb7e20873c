//! The history told in business language: one real document taken through
//! every kind of change a customer sees, each told as a clerk reads it —
//! names not logins, labels not codes, dates not milliseconds, money with
//! separators, and never an id or a hash.

use std::collections::BTreeMap;

use crm_shared::codes::*;
use crm_shared::customer::*;
use crm_shared::day::Moment;
use crm_shared::document::HistoryEntry;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::story::{tell, tell_all, yuan, Story};
use crm_shared::{ActorId, CustomerDoc};

const CUSTOMER: &str = "c-0193a7c2e4f5b6a7c8d9";
const MAIN: &str = "k-0193a7c2e4f5b6a7c8da";
const ZHANG: &str = "k-0193a7c2e4f5b6a7c8db";
const VISIT: &str = "0193a7c2e4f57b6a8c9d0e1f2a3b4c5d";
const SALE: &str = "s0193a7c2e4f5b6a7c8dc";
const REQUEST: &str = "cr0193a7c2e4f5b6a7c8dd";
const COMPLAINT: &str = "q0193a7c2e4f5b6a7c8de";
const REVIEW: &str = "r0193a7c2e4f5b6a7c8df";
const FLAG: &str = "m0193a7c2e4f5b6a7c8e0";
const IMPORTED: [&str; 3] = [
    "0193a7c2e4f57b6a8c9d0e1f2a3b4c60",
    "0193a7c2e4f57b6a8c9d0e1f2a3b4c61",
    "0193a7c2e4f57b6a8c9d0e1f2a3b4c62",
];

fn at(text: &str) -> Millis {
    Moment::parse(text).expect("a moment")
}

fn note(by: &str, action: Action, reason: Option<&str>) -> ChangeNote {
    ChangeNote::new(by, action).with_reason(reason)
}

fn names(login: &str) -> Option<String> {
    Some(
        match login {
            "wangf" => "王芳",
            "liming" => "李明",
            "ggm" => "刘某",
            "clerk" => "赵敏",
            _ => return None,
        }
        .to_string(),
    )
}

fn first_card() -> Customer {
    Customer {
        id: CUSTOMER.into(),
        name: "上海华联贸易有限公司".into(),
        salesperson: "wangf".into(),
        region: "华东".into(),
        grade: Some(Grade::B),
        entered_at: at("2026-11-01"),
        credit: Credit {
            limit: Some(500_000),
            ..Default::default()
        },
        contacts: BTreeMap::from([(
            MAIN.to_string(),
            Contact {
                name: "王经理".into(),
                title: "采购部长".into(),
                mobile: "13812345678".into(),
                primary: true,
                ..Default::default()
            },
        )]),
        ..Default::default()
    }
}

/// A document taken through every kind of change, one after another, a
/// minute apart; returns it with every record id it holds.
fn lived_document() -> CustomerDoc {
    let mut t = at("2026-11-01 09:00");
    let mut doc = CustomerDoc::create(
        &first_card(),
        ActorId::from([1; 16]),
        &note("wangf", Action::Create, None),
        t,
    )
    .unwrap();
    let mut step = |doc: &mut CustomerDoc,
                    by: &str,
                    action: Action,
                    reason: Option<&str>,
                    f: &dyn Fn(&mut Customer)| {
        t += 60_000;
        let mut c = doc.customer().unwrap();
        f(&mut c);
        let changes = doc.update(&c, &note(by, action, reason), t).unwrap();
        assert!(!changes.is_empty(), "{action:?} changed nothing");
    };

    step(
        &mut doc,
        "wangf",
        Action::Edit,
        Some("年度复核"),
        &|c| c.credit.limit = Some(600_000),
    );
    step(&mut doc, "wangf", Action::Contact, None, &|c| {
        c.contacts.insert(
            ZHANG.into(),
            Contact {
                name: "张伟".into(),
                title: "采购经理".into(),
                mobile: "13900001111".into(),
                ..Default::default()
            },
        );
    });
    step(
        &mut doc,
        "wangf",
        Action::Edit,
        Some("客户换号"),
        &|c| {
            c.contacts.get_mut(ZHANG).unwrap().mobile = "13900002222".into();
        },
    );
    step(&mut doc, "wangf", Action::Activity, None, &|c| {
        c.activities.insert(
            VISIT.into(),
            Activity {
                at: at("2026-12-02"),
                kind: ActivityKind::Visit,
                by: "wangf".into(),
                notes: "拜访采购经理".into(),
                intent: Some(Intent::H),
                next_followup: Some("2026-12-04".parse().unwrap()),
            },
        );
    });
    step(&mut doc, "wangf", Action::Sale, None, &|c| {
        c.sales.insert(
            SALE.into(),
            Sale {
                day: Some("2026-11-02".parse().unwrap()),
                product: "电机".into(),
                quantity: 10.0,
                amount: 50_000,
                due: Some("2026-12-02".parse().unwrap()),
                paid_on: None,
                by: "wangf".into(),
            },
        );
    });
    step(
        &mut doc,
        "wangf",
        Action::Sale,
        Some("登记付款"),
        &|c| {
            c.sales.get_mut(SALE).unwrap().paid_on = Some("2026-11-20".parse().unwrap());
        },
    );
    step(
        &mut doc,
        "wangf",
        Action::CreditRequest,
        Some("扩大采购"),
        &|c| {
            c.credit_requests.insert(
                REQUEST.into(),
                CreditRequest {
                    at: at("2026-11-03 10:00"),
                    by: "wangf".into(),
                    current: Some(600_000),
                    proposed: 800_000,
                    reason: "扩大采购".into(),
                    decisions: BTreeMap::new(),
                },
            );
        },
    );
    // As the server writes it: the decision, the limit, and a note of its own.
    let server_reason =
        format!("信用额度申请 {REQUEST}(600000 → 800000 元):集团总经理批准,意见:同意");
    step(
        &mut doc,
        "ggm",
        Action::Decide,
        Some(&server_reason),
        &|c| {
            c.credit_requests
                .get_mut(REQUEST)
                .unwrap()
                .decisions
                .insert(
                    Position::GroupGm.code().into(),
                    Decision {
                        approved: true,
                        by: "ggm".into(),
                        at: at("2026-11-04 15:30"),
                        comment: "同意".into(),
                    },
                );
            c.credit.limit = Some(800_000);
        },
    );
    step(&mut doc, "wangf", Action::Complaint, None, &|c| {
        c.complaints.insert(
            COMPLAINT.into(),
            Complaint {
                at: at("2026-11-05 14:00"),
                by: "wangf".into(),
                description: "交货延迟".into(),
                category: Some(ComplaintCategory::NonQuality),
                ..Default::default()
            },
        );
    });
    step(
        &mut doc,
        "clerk",
        Action::Complaint,
        Some("处理投诉"),
        &|c| {
            let q = c.complaints.get_mut(COMPLAINT).unwrap();
            q.investigation = "物流原因".into();
            q.remedy = "补偿运费".into();
            q.satisfied = Some(true);
            q.closed_at = Some(at("2026-11-06 16:00"));
        },
    );
    step(
        &mut doc,
        "clerk",
        Action::Review,
        Some("定期审查,客户类别:重要"),
        &|c| {
            c.reviews.insert(
                REVIEW.into(),
                Review {
                    at: at("2026-11-07 11:00"),
                    by: "clerk".into(),
                    tier: Some(Tier::Important),
                    notes: "重点维护".into(),
                },
            );
            c.tier = Some(Tier::Important);
        },
    );
    step(&mut doc, "wangf", Action::Flag, None, &|c| {
        c.major_changes.insert(
            FLAG.into(),
            MajorChange {
                at: at("2026-11-08 09:00"),
                by: "wangf".into(),
                description: "控股股东变更".into(),
                cleared: false,
            },
        );
    });
    step(
        &mut doc,
        "clerk",
        Action::Flag,
        Some("重大变化已处理"),
        &|c| {
            c.major_changes.get_mut(FLAG).unwrap().cleared = true;
        },
    );
    step(
        &mut doc,
        "clerk",
        Action::Grade,
        Some("2026-11-09 按评分规则定级:月均销售额 123456 元,等级 B → A"),
        &|c| {
            c.grade = Some(Grade::A);
            c.score = Some(82.5);
        },
    );
    step(&mut doc, "clerk", Action::Edit, Some("调岗"), &|c| {
        c.salesperson = "liming".into()
    });
    step(
        &mut doc,
        "clerk",
        Action::Edit,
        Some("客户来函"),
        &|c| {
            c.company.address = "上海市浦东新区张江路1号".into();
            c.status = Status::Inactive;
            c.business.monthly_purchasing_power = Some(1_200_000);
        },
    );
    step(
        &mut doc,
        "zhangsan",
        Action::Import,
        Some("导入 拜访记录.xlsx"),
        &|c| {
            for (i, id) in IMPORTED.iter().enumerate() {
                c.activities.insert(
                    id.to_string(),
                    Activity {
                        at: at(&format!("2026-10-0{} 10:30", i + 1)),
                        kind: ActivityKind::Visit,
                        by: "zhangsan".into(),
                        notes: format!("第 {} 次上门", i + 1),
                        ..Default::default()
                    },
                );
            }
            c.industry = "商贸".into();
        },
    );

    // Two replicas set the region apart; head office settles it.
    let mut other = CustomerDoc::load(&doc.save(), ActorId::from([2; 16])).unwrap();
    let mut c = doc.customer().unwrap();
    c.region = "华南".into();
    doc.update(&c, &note("wangf", Action::Edit, Some("搬迁")), t + 60_000)
        .unwrap();
    let mut c = other.customer().unwrap();
    c.region = "华北".into();
    other
        .update(&c, &note("clerk", Action::Edit, Some("更正")), t + 60_000)
        .unwrap();
    doc.merge_bytes(&other.save()).unwrap();
    assert_eq!(doc.conflicts().len(), 1);
    doc.resolve(
        "region",
        &serde_json::json!("华东"),
        &note("clerk", Action::Resolve, Some("经理确认")),
        t + 120_000,
    )
    .unwrap();
    doc
}

/// Everything a story says, for looking for what must not be there.
fn said(s: &Story) -> String {
    let mut all = vec![s.who.clone(), s.headline.clone()];
    all.extend(s.details.clone());
    all.extend(s.reason.clone());
    all.join("\n")
}

fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fn assert_readable(s: &Story, entry: &HistoryEntry) {
    let text = said(s);
    let mut ids = vec![
        CUSTOMER, MAIN, ZHANG, VISIT, SALE, REQUEST, COMPLAINT, REVIEW, FLAG,
    ];
    ids.extend(IMPORTED);
    for id in ids {
        assert!(!text.contains(id), "an id in {text}");
    }
    assert!(!text.contains(&entry.hash), "a hash in {text}");
    assert!(!text.contains(&entry.hash[..8]), "a hash in {text}");
    for raw in [
        "=",
        "true",
        "false",
        "group_gm",
        "non_quality",
        "important",
        "inactive",
        "visit",
        "wangf",
        "ggm",
        "clerk",
        "liming",
    ] {
        assert!(!text.contains(raw), "{raw:?} in {text}");
    }
    assert!(longest_digit_run(&text) < 13, "milliseconds in {text}");
    assert!(!s.headline.is_empty());
}

/// The story of the change with `action`, the `nth` of them.
fn story(stories: &[Story], action: Action, nth: usize) -> &Story {
    stories
        .iter()
        .filter(|s| s.action == Some(action))
        .nth(nth)
        .unwrap_or_else(|| panic!("no {nth}th {action:?} in {stories:#?}"))
}

#[test]
fn every_kind_of_change_reads_as_business_language() {
    let doc = lived_document();
    let card = doc.card();
    let history = doc.history();
    let stories = tell_all(&history, card, &names);
    assert_eq!(stories.len(), history.len());
    for (s, e) in stories.iter().zip(&history) {
        assert_eq!(s.at, e.at, "{s:?}");
    }
    for e in &history {
        assert_readable(&tell(e, card, &names), e);
    }

    let created = story(&stories, Action::Create, 0);
    assert_eq!(created.who, "王芳");
    assert_eq!(created.headline, "新建客户 上海华联贸易有限公司");
    for d in [
        "区域:华东",
        "等级:B级",
        "信用额度:500,000 元",
        "业务员:王芳",
        "建档时间:2026-11-01",
        "新增联系人 王经理(采购部长),主要联系人,手机 13812345678",
    ] {
        assert!(created.details.iter().any(|x| x == d), "{d}: {created:#?}");
    }

    let limit = story(&stories, Action::Edit, 0);
    assert_eq!(limit.headline, "信用额度 500,000 元 → 600,000 元");
    assert_eq!(limit.reason.as_deref(), Some("年度复核"));

    let contact = story(&stories, Action::Contact, 0);
    assert_eq!(contact.headline, "新增联系人 张伟(采购经理)");
    assert_eq!(contact.details, ["手机 13900001111"]);

    let phone = story(&stories, Action::Edit, 1);
    assert_eq!(
        phone.headline,
        "联系人 张伟 的手机 13900001111 → 13900002222"
    );
    assert_eq!(phone.reason.as_deref(), Some("客户换号"));

    let visit = story(&stories, Action::Activity, 0);
    assert_eq!(visit.headline, "新增拜访 2026-12-02 拜访采购经理");
    assert_eq!(
        visit.details,
        ["意向等级 H级(7天内)", "下次跟进 2026-12-04"]
    );

    let sale = story(&stories, Action::Sale, 0);
    assert_eq!(
        sale.headline,
        "记录销售 2026-11-02 电机,数量 10,金额 50,000 元"
    );
    assert_eq!(sale.details, ["应付款日 2026-12-02"]);
    let paid = story(&stories, Action::Sale, 1);
    assert_eq!(
        paid.headline,
        "2026-11-02 电机销售 50,000 元 已于 2026-11-20 付款"
    );

    let request = story(&stories, Action::CreditRequest, 0);
    assert_eq!(request.headline, "申请信用额度 600,000 元 → 800,000 元");
    assert_eq!(request.reason.as_deref(), Some("扩大采购"));
    assert!(request.details.is_empty(), "the reason is not said twice");

    let decided = story(&stories, Action::Decide, 0);
    assert_eq!(decided.who, "刘某");
    assert_eq!(decided.headline, "集团总经理 刘某 批准信用额度 800,000 元");
    assert_eq!(
        decided.details,
        ["意见:同意", "信用额度 600,000 元 → 800,000 元"]
    );
    assert_eq!(decided.reason, None, "the server's note is in the headline");

    let complaint = story(&stories, Action::Complaint, 0);
    assert_eq!(complaint.headline, "登记投诉「交货延迟」(非质量问题)");
    assert_eq!(complaint.details, ["投诉时间 2026-11-05 14:00"]);
    let handled = story(&stories, Action::Complaint, 1);
    assert_eq!(handled.who, "赵敏");
    assert_eq!(handled.headline, "处理投诉「交货延迟」");
    for d in [
        "调查:物流原因",
        "处理方案:补偿运费",
        "客户满意:是",
        "已结案(2026-11-06 16:00)",
    ] {
        assert!(handled.details.iter().any(|x| x == d), "{d}: {handled:#?}");
    }

    let review = story(&stories, Action::Review, 0);
    assert_eq!(review.headline, "定期审查,客户类别定为 重要");
    assert_eq!(review.details, ["意见:重点维护", "类别 设为 重要"]);

    let flagged = story(&stories, Action::Flag, 0);
    assert_eq!(flagged.headline, "标记重大变化:控股股东变更");
    let cleared = story(&stories, Action::Flag, 1);
    assert_eq!(cleared.headline, "重大变化「控股股东变更」已处理");

    let graded = story(&stories, Action::Grade, 0);
    assert_eq!(graded.headline, "评定等级 B级 → A级");
    assert_eq!(graded.details, ["评分 设为 82.5"]);
    assert_eq!(
        graded.reason.as_deref(),
        Some("2026-11-09 按评分规则定级:月均销售额 123,456 元,等级 B → A")
    );

    let moved = story(&stories, Action::Edit, 2);
    assert_eq!(moved.headline, "业务员 王芳 → 李明");

    let several = story(&stories, Action::Edit, 3);
    assert_eq!(several.headline, "修改 状态、地址、月采购力");
    assert_eq!(
        several.details,
        [
            "状态 活跃 → 非活跃",
            "地址 设为 上海市浦东新区张江路1号",
            "月采购力 设为 1,200,000 元",
        ]
    );

    let imported = story(&stories, Action::Import, 0);
    assert_eq!(
        imported.who, "zhangsan",
        "a login without a name stays a login"
    );
    assert_eq!(imported.headline, "导入:新增拜访 3 次,修改 行业");
    assert_eq!(imported.details.len(), 4, "{imported:#?}");
    assert!(imported
        .details
        .iter()
        .any(|d| d == "新增拜访 2026-10-01 10:30 第 1 次上门"));

    let resolved = story(&stories, Action::Resolve, 0);
    assert_eq!(resolved.headline, "解决冲突:区域 定为 华东");
    assert_eq!(resolved.reason.as_deref(), Some("经理确认"));
}

#[test]
fn stories_come_in_the_order_the_changes_were_made() {
    let doc = lived_document();
    let mut history = doc.history();
    history.reverse();
    let stories = tell_all(&history, doc.card(), &names);
    assert!(stories.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(stories[0].action, Some(Action::Create));
}

#[test]
fn a_record_gone_from_the_card_is_told_from_the_history() {
    let doc = lived_document();
    let history = doc.history();
    let mut card = doc.card().clone();
    card.activities.clear();
    card.contacts.clear();
    let visit = history
        .iter()
        .find(|e| e.action == Some(Action::Activity))
        .unwrap();
    let s = tell(visit, &card, &names);
    assert_eq!(s.headline, "新增拜访 2026-12-02 拜访采购经理");
    let phone = history
        .iter()
        .filter(|e| e.action == Some(Action::Edit))
        .nth(1)
        .unwrap();
    let s = tell(phone, &card, &names);
    assert_readable(&s, phone);
    assert!(
        s.headline.contains("手机 13900001111 → 13900002222"),
        "{s:?}"
    );
}

#[test]
fn money_has_thousands_separators() {
    assert_eq!(yuan(800_000), "800,000 元");
    assert_eq!(yuan(12_000_000), "12,000,000 元");
    assert_eq!(yuan(0), "0 元");
}
