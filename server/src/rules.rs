//! Head office's business rules over the whole archive: company settings,
//! credit-limit approval, grading, warnings, complaint statistics, daily
//! reports, follow-ups and periodic review. The rules themselves live in
//! `crm_shared` (the laptop runs the same ones); this module finds the
//! cards, checks who may ask, and writes decisions and grades with the audit
//! note every protected change carries.
//!
//! Reports over every customer read the slimmed cards kept beside the list
//! rows (`customer_details.rules`), never the documents; the grade table
//! and the warnings read a page of the rows kept per customer
//! (`db::reports`), so a page costs the same at 100,000 customers. The daily report needs every contact's notes and reads
//! the salesperson's own documents.

use crm_shared::access;
use crm_shared::api::{CreditRequestView, DecideRequest, GradeApplied, ReviewRequest};
use crm_shared::codes::{Grade, Position, Role, WarningRule};
use crm_shared::credit::{self, CreditStatus};
use crm_shared::customer::{Decision, Review};
use crm_shared::day::Day;
use crm_shared::grading::{self, GradeRow};
use crm_shared::note::{Action, ChangeNote};
use crm_shared::reports::{self, ComplaintMonth, DailyReport, Planned, ReviewDue};
use crm_shared::settings::Settings;
use crm_shared::sync::VersionedSettings;
use crm_shared::warnings::{self, Warning};
use crm_shared::Customer;

use crate::archive::{commit_change, load_visible, may_read};
use crate::caller::{Caller, ServiceError};
use crate::db::documents as docs;
use crate::db::reports as reports_db;
use crate::db::{Db, DbError};

/// Whose customers a report covers: head office may name a salesperson or
/// take everyone; a salesperson always gets their own.
pub(crate) fn scope(
    caller: &Caller,
    salesperson: Option<String>,
) -> Result<Option<String>, ServiceError> {
    may_read(caller)?;
    if access::sees_all(caller.role) {
        Ok(salesperson.filter(|s| !s.trim().is_empty()))
    } else if caller.role == Role::Salesperson {
        match salesperson {
            Some(s) if s != caller.login => Err(ServiceError::Forbidden(format!(
                "业务员只能查看自己的客户,不能查看 {s} 的"
            ))),
            _ => Ok(Some(caller.login.clone())),
        }
    } else {
        Err(ServiceError::Forbidden(format!(
            "角色“{}”不能查看客户报表",
            caller.role.label()
        )))
    }
}

fn head_office(caller: &Caller, what: &str) -> Result<(), ServiceError> {
    if matches!(caller.role, Role::Clerk | Role::Manager) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "只有档案管理员或经理可以{what},您的角色是{}",
            caller.role.label()
        )))
    }
}

/// The company settings.
pub async fn settings(db: &Db, caller: &Caller) -> Result<VersionedSettings, ServiceError> {
    if caller.role == Role::BackupOperator {
        return Err(ServiceError::Forbidden("备份管理员不能查看公司设置".into()));
    }
    Ok(db.settings().await?)
}

/// Replaces the company settings (administrator or manager).
pub async fn set_settings(
    db: &Db,
    caller: &Caller,
    settings: Settings,
) -> Result<VersionedSettings, ServiceError> {
    if !matches!(caller.role, Role::Admin | Role::Manager) {
        return Err(ServiceError::Forbidden(
            "只有系统管理员或经理可以修改公司设置".into(),
        ));
    }
    settings
        .validate()
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    let version = db.set_settings(settings.clone()).await?;
    Ok(VersionedSettings { version, settings })
}

/// Credit requests the caller sees; `waiting_for`: only those whose next
/// step is this position.
pub async fn credit_requests(
    db: &Db,
    caller: Caller,
    waiting_for: Option<Position>,
) -> Result<Vec<CreditRequestView>, ServiceError> {
    let who = scope(&caller, None)?;
    db.read_with(move |conn| {
        let chain = docs::settings(conn)?.settings.credit_chain;
        let mut out = Vec::new();
        for (customer, request_id, request) in docs::credit_requests(conn, who.as_deref())? {
            let status = credit::status(&request, &chain);
            if waiting_for.is_some_and(|p| status != CreditStatus::Pending(p)) {
                continue;
            }
            let (summary, _, _) = docs::row(conn, &customer)?
                .ok_or_else(|| DbError::Corrupt(format!("客户 {customer} 缺少列表行")))?;
            out.push(CreditRequestView {
                customer,
                name: summary.name,
                salesperson: summary.salesperson,
                request_id,
                request,
                status,
            });
        }
        Ok(out)
    })
    .await
}

/// One approver's decision. The last approval of the chain sets the limit;
/// both are changes of the approver's, with the request named as the reason.
pub async fn decide(
    db: &Db,
    caller: Caller,
    position: Option<Position>,
    customer: String,
    request_id: String,
    body: DecideRequest,
    now: i64,
) -> Result<CreditRequestView, ServiceError> {
    if caller.role != Role::Manager {
        return Err(ServiceError::Forbidden(format!(
            "只有经理可以审批信用额度申请,您的角色是{}",
            caller.role.label()
        )));
    }
    if body.comment.chars().count() > 2000 {
        return Err(ServiceError::BadRequest(
            "审核意见不能超过 2000 个字符".into(),
        ));
    }
    db.write_with(move |tx| {
        let chain = docs::settings(tx)?.settings.credit_chain;
        let (mut doc, stored) = load_visible(tx, &caller, &customer)?;
        let mut card = doc.card().clone();
        let Some(req) = card.credit_requests.get_mut(&request_id) else {
            return Err(ServiceError::NotFound(format!(
                "客户 {customer} 没有编号为 {request_id} 的信用额度申请"
            )));
        };
        credit::may_decide(req, &chain, position, body.approve, &body.comment).map_err(
            |e| match e {
                credit::DecideError::CommentRequired => ServiceError::BadRequest(e.to_string()),
                _ => ServiceError::Forbidden(e.to_string()),
            },
        )?;
        let position = position.expect("may_decide checked it");
        req.decisions.insert(
            position.code().to_string(),
            Decision {
                approved: body.approve,
                by: caller.login.clone(),
                at: now,
                comment: body.comment.trim().to_string(),
            },
        );
        let status = credit::status(req, &chain);
        let (proposed, current) = (req.proposed, req.current);
        let verdict = if body.approve { "批准" } else { "驳回" };
        let mut reason = format!(
            "信用额度申请 {request_id}({} → {proposed} 元):{}{verdict}",
            current.map_or("无".to_string(), |c| c.to_string()),
            position.label()
        );
        if !body.comment.trim().is_empty() {
            reason.push_str(&format!(",意见:{}", body.comment.trim()));
        }
        if status == CreditStatus::Approved {
            card.credit.limit = Some(proposed);
            reason.push_str(&format!(";审批链全部通过,信用额度改为 {proposed} 元"));
        }
        let note = ChangeNote::new(&caller.login, Action::Decide).with_reason(Some(reason));
        let note = crate::seal::sealed(tx, &customer, note, now)?;
        doc.update(&card, &note, now)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        commit_change(tx, &customer, &doc, &stored, &caller, now)?;
        let request = doc.card().credit_requests[&request_id].clone();
        Ok(CreditRequestView {
            name: card.name.clone(),
            salesperson: card.salesperson.clone(),
            customer,
            request_id,
            request,
            status,
        })
    })
    .await
}

/// Runs `f` over the slimmed card of every customer in scope (with the
/// company settings), on all cores, keeping only what `f` returns.
async fn over_cards<T: Send + 'static>(
    db: &Db,
    who: Option<String>,
    f: impl Fn(&Customer, &Settings) -> Vec<T> + Send + Sync + 'static,
) -> Result<Vec<T>, ServiceError> {
    db.read_with(move |conn| {
        let s = docs::settings(conn)?.settings;
        Ok(docs::over_rules_cards(conn, who.as_deref(), |c| f(c, &s))?)
    })
    .await
}

/// Which rows of a rule report to show: whose, which kind, and where.
#[derive(Debug, Clone)]
pub struct ReportQuery<K> {
    /// Only this salesperson's customers (head office); a salesperson
    /// always gets their own.
    pub salesperson: Option<String>,
    /// Only customers of this region.
    pub region: Option<String>,
    /// Only this grade or rule.
    pub kind: Option<K>,
    /// The report's day.
    pub day: Day,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return; `None` for all.
    pub limit: Option<usize>,
}

impl<K> ReportQuery<K> {
    /// Every row in scope on `day` (exports, the grading run's preview).
    pub fn everything(salesperson: Option<String>, day: Day) -> ReportQuery<K> {
        ReportQuery {
            salesperson,
            region: None,
            kind: None,
            day,
            offset: 0,
            limit: None,
        }
    }

    fn slice<'a>(&'a self, who: Option<&'a str>, kind: Option<&'a str>) -> reports_db::Slice<'a> {
        reports_db::Slice {
            salesperson: who,
            region: self.region.as_deref(),
            kind,
            offset: self.offset,
            limit: self.limit,
        }
    }
}

/// A page of a rule report, with counts over all of its scope.
#[derive(Debug, Clone)]
pub struct ReportPage<K, T> {
    /// Rows per grade (`None`: not graded) or rule in scope, whatever kind
    /// the page shows.
    pub per_kind: Vec<(Option<K>, u64)>,
    /// The page's rows, by customer name in pinyin order.
    pub rows: Vec<T>,
}

impl<K: PartialEq, T> ReportPage<K, T> {
    /// Rows in scope of `kind` (all kinds: `None`).
    pub fn total(&self, kind: Option<&K>) -> u64 {
        self.per_kind
            .iter()
            .filter(|(k, _)| kind.is_none() || k.as_ref() == kind)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Today, as the reports count days.
/// Brings every kept grade row up to date for `day`, in transactions of
/// [`reports_db::REBUILD_STEP`] customers so that syncs and edits go
/// between them; returns how many rows changed (none, on most days).
pub async fn refresh_grades(db: &Db, day: Day) -> Result<usize, ServiceError> {
    let stale = db
        .read_with(move |conn| Ok::<_, ServiceError>(reports_db::grades_stale(conn, day)?))
        .await?;
    let mut done = 0;
    if !stale {
        return Ok(done);
    }
    loop {
        let n = db
            .write_with(move |tx| {
                Ok::<_, ServiceError>(reports_db::refresh_grades(
                    tx,
                    day,
                    reports_db::REBUILD_STEP,
                )?)
            })
            .await?;
        done += n;
        if n < reports_db::REBUILD_STEP {
            return Ok(done);
        }
    }
}

/// Keeps the grade rows current without anyone waiting: every customer's
/// row moves at the turn of a month (and after a restore or a long
/// stop), so this looks once a minute and brings up what no longer holds
/// before a person asks for the grade table.
pub async fn keep_grades_current(db: Db) {
    loop {
        match refresh_grades(&db, today()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "客户等级表已更新到今天"),
            Err(e) => tracing::warn!(error = %e, "更新客户等级表失败,稍后重试"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

fn today() -> Day {
    Day::from_millis_local(crate::clock::now_ms())
}

fn codes<K: std::str::FromStr>(per_kind: Vec<(Option<String>, u64)>) -> Vec<(Option<K>, u64)> {
    per_kind
        .into_iter()
        .map(|(k, n)| (k.and_then(|k| k.parse().ok()), n))
        .collect()
}

/// A page of the grade summary table (客户等级管理汇总表) as of `q.day`.
/// For today it reads the rows kept per customer (`db::reports`), first
/// bringing up to date those that no longer hold; for another day it
/// assesses every card in scope afresh.
pub async fn grade_page(
    db: &Db,
    caller: Caller,
    q: ReportQuery<Grade>,
) -> Result<ReportPage<Grade, GradeRow>, ServiceError> {
    let who = scope(&caller, q.salesperson.clone())?;
    let day = q.day;
    if day != today() {
        let region = q.region.clone();
        let all = over_cards(db, who, move |c, s| {
            if region.as_ref().is_some_and(|r| *r != c.region) {
                return vec![];
            }
            vec![GradeRow::of(c, &s.grading, day)]
        })
        .await?;
        let mut per_kind: Vec<(Option<Grade>, u64)> = Vec::new();
        for r in &all {
            match per_kind.iter_mut().find(|(g, _)| *g == r.grade) {
                Some((_, n)) => *n += 1,
                None => per_kind.push((r.grade, 1)),
            }
        }
        per_kind.sort_by_key(|(g, _)| g.map(|g| g.code()));
        let rows = all
            .into_iter()
            .filter(|r| q.kind.is_none() || r.grade == q.kind)
            .skip(q.offset)
            .take(q.limit.unwrap_or(usize::MAX))
            .collect();
        return Ok(ReportPage { per_kind, rows });
    }
    let read = move |conn: &rusqlite::Connection| {
        reports_db::grades(conn, &q.slice(who.as_deref(), q.kind.map(|g| g.code())))
    };
    // Rows are kept current by [`keep_grades_current`]; a request that
    // comes first (just after midnight, or a restart) brings them up.
    refresh_grades(db, day).await?;
    let page = db
        .read_with(move |conn| Ok::<_, ServiceError>(read(conn)?))
        .await?;
    Ok(ReportPage {
        per_kind: codes(page.per_kind),
        rows: page.rows,
    })
}

/// Writes the assessed grade and score onto every card where they differ,
/// each with an audit note giving the figures.
pub async fn apply_grades(
    db: &Db,
    caller: Caller,
    day: Day,
    now: i64,
) -> Result<GradeApplied, ServiceError> {
    head_office(&caller, "评定等级")?;
    db.write_with(move |tx| {
        let s = docs::settings(tx)?.settings;
        let mut out = GradeApplied {
            changed: Vec::new(),
            assessed: 0,
            not_graded: 0,
        };
        let assessed = docs::over_rules_cards(tx, None, |c| {
            vec![(
                c.id.clone(),
                c.grade,
                c.score,
                grading::assess(c, &s.grading, day),
            )]
        })?;
        for (id, grade, score, a) in assessed {
            let Some(a) = a else {
                out.not_graded += 1;
                continue;
            };
            out.assessed += 1;
            if grade == Some(a.grade) && score == Some(a.score) {
                continue;
            }
            let (mut doc, stored) = load_visible(tx, &caller, &id)?;
            let mut card = doc.card().clone();
            let was = card
                .grade
                .map_or("未定级".to_string(), |g| g.code().to_string());
            card.grade = Some(a.grade);
            card.score = Some(a.score);
            let reason = format!(
                "{day} 按评分规则定级:月均销售额 {:.0} 元(上期 {:.0} 元),信用履约率 {:.1}%,评分 {},等级 {} → {}",
                a.monthly_average,
                a.previous_average,
                a.on_time_rate,
                a.score,
                was,
                a.grade.code()
            );
            let note = ChangeNote::new(&caller.login, Action::Grade).with_reason(Some(reason));
            let note = crate::seal::sealed(tx, &id, note, now)?;
            doc.update(&card, &note, now)
                .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
            commit_change(tx, &id, &doc, &stored, &caller, now)?;
            out.changed.push(id);
        }
        Ok(out)
    })
    .await
}

/// A page of the warnings raised on `q.day`, read from the warning
/// schedules kept per customer (`db::reports`) and worded by
/// `warnings::check` for the page's customers only.
pub async fn warning_page(
    db: &Db,
    caller: Caller,
    q: ReportQuery<WarningRule>,
) -> Result<ReportPage<WarningRule, Warning>, ServiceError> {
    let who = scope(&caller, q.salesperson.clone())?;
    let day = q.day;
    db.read_with(move |conn| {
        let s = docs::settings(conn)?.settings;
        let slice = q.slice(who.as_deref(), q.kind.map(|r| r.code()));
        let page =
            reports_db::warnings(conn, day, &slice, |card, seqs| worded(card, &s, day, seqs))?;
        Ok(ReportPage {
            per_kind: codes(page.per_kind),
            rows: page.rows,
        })
    })
    .await
}

/// The warnings at places `seqs` of `card`'s schedule, as `check` words
/// them on `day`: the schedule's entries raised on `day` are `check`'s, in
/// order, so a card is judged once however many warnings it raises.
fn worded(card: &Customer, s: &Settings, day: Day, seqs: &[usize]) -> Vec<Warning> {
    let schedule = warnings::schedule(card, s);
    let checked = warnings::check(card, s, day);
    seqs.iter()
        .filter_map(|&seq| {
            let scheduled = schedule.get(seq).filter(|w| w.on(day))?;
            let place = schedule[..seq].iter().filter(|w| w.on(day)).count();
            let w = checked.get(place).cloned();
            if w.as_ref().map(|w| w.rule) != Some(scheduled.rule) {
                // The kept schedule and the card disagree: the row is shown
                // as the card has it now, and the mismatch logged for a
                // developer.
                tracing::error!(customer = %card.id, seq, "预警表与客户卡片不一致");
            }
            w
        })
        .collect()
}

/// Monthly complaint statistics in scope.
pub async fn complaint_stats(
    db: &Db,
    caller: Caller,
    salesperson: Option<String>,
) -> Result<Vec<ComplaintMonth>, ServiceError> {
    let who = scope(&caller, salesperson)?;
    db.read_with(move |conn| {
        Ok::<_, ServiceError>(crate::db::complaints::stats(conn, who.as_deref())?)
    })
    .await
}

/// Visits per week for the `weeks` weeks up to `today`'s, per person who
/// logged them (a salesperson: only their own): (Monday, login, how many).
pub async fn visits_per_week(
    db: &Db,
    caller: Caller,
    weeks: u32,
    today: Day,
) -> Result<Vec<(String, String, u64)>, ServiceError> {
    let who = scope(&caller, None)?;
    let from = today
        .week_start()
        .plus_days(-7 * i64::from(weeks.saturating_sub(1)));
    db.read_with(move |conn| {
        Ok::<_, ServiceError>(crate::db::activities::weekly(
            conn,
            from,
            crm_shared::codes::ActivityKind::Visit,
            who.as_deref(),
        )?)
    })
    .await
}

/// One page of the follow-ups due on `q.day` or overdue, in scope (the
/// query's region and kind do not apply): most overdue first, each with
/// its salesperson; and how many are due in all and per salesperson. It
/// reads only the page's cards, through the follow-up index.
pub async fn followups_page(
    db: &Db,
    caller: Caller,
    q: ReportQuery<()>,
) -> Result<FollowupPage, ServiceError> {
    let who = scope(&caller, q.salesperson)?;
    // SQLite's LIMIT and OFFSET are i64s.
    let limit = q.limit.unwrap_or(usize::MAX).min(i64::MAX as usize);
    let (day, offset) = (q.day, q.offset.min(i64::MAX as usize));
    let due = db
        .read_with(move |conn| {
            Ok::<_, ServiceError>(docs::due_followups(
                conn,
                who.as_deref(),
                &day.to_string(),
                offset,
                limit,
            )?)
        })
        .await?;
    let rows = due
        .cards
        .iter()
        .flat_map(|(c, summary)| {
            // The slimmed card keeps no contacts; the list summary names
            // the main one.
            reports::due_followups([c], day).into_iter().map(|p| {
                let p = Planned {
                    contact: summary.contact.clone(),
                    phone: summary.phone.clone(),
                    ..p
                };
                (c.salesperson.clone(), p)
            })
        })
        .collect();
    Ok(FollowupPage {
        total: due.total,
        by_salesperson: due.by_salesperson,
        rows,
    })
}

/// A page of [`followups_page`].
#[derive(Debug)]
pub struct FollowupPage {
    /// Customers due or overdue in all.
    pub total: u64,
    /// (salesperson login, customers due or overdue), most first.
    pub by_salesperson: Vec<(String, u64)>,
    /// The page: (salesperson login, the follow-up).
    pub rows: Vec<(String, Planned)>,
}

/// Records due for their periodic review, in scope.
pub async fn review_due(
    db: &Db,
    caller: Caller,
    salesperson: Option<String>,
    day: Day,
) -> Result<Vec<ReviewDue>, ServiceError> {
    let who = scope(&caller, salesperson)?;
    let mut due = over_cards(db, who, move |c, s| {
        reports::review_due([c], s.review_days, day)
    })
    .await?;
    due.sort_by(|a, b| b.days.cmp(&a.days).then(a.customer.cmp(&b.customer)));
    Ok(due)
}

/// The daily activity report of `salesperson` for `day`. A salesperson
/// gets their own whatever they name; head office must name one, since the
/// report is one person's day (blank counts as not named).
pub async fn daily(
    db: &Db,
    caller: Caller,
    salesperson: Option<String>,
    day: Day,
) -> Result<DailyReport, ServiceError> {
    let named = salesperson.filter(|s| !s.trim().is_empty());
    let who = scope(&caller, named)?.ok_or_else(|| {
        ServiceError::BadRequest("销售活动日报表须指定业务员(参数 salesperson,填登录名)".into())
    })?;
    db.read_with(move |conn| {
        let mut cards = Vec::new();
        for id in docs::ids_of(conn, &who)? {
            let doc = load_visible(conn, &caller, &id)?.0;
            cards.push((doc.card().clone(), doc.entered()));
        }
        Ok(reports::daily(
            cards.iter().map(|(c, e)| (c, e.as_ref())),
            &who,
            day,
        ))
    })
    .await
}

/// Marks a record reviewed, optionally setting its tier. Head office may
/// review any customer; a salesperson their own (`load_visible` refuses
/// anyone else's), exactly what `crm review mark` on the laptop records and
/// sync accepts: the review and the tier are not protected fields.
pub async fn review(
    db: &Db,
    caller: Caller,
    id: String,
    body: ReviewRequest,
    now: i64,
) -> Result<(), ServiceError> {
    if !matches!(caller.role, Role::Clerk | Role::Manager | Role::Salesperson) {
        return Err(ServiceError::Forbidden(format!(
            "只有档案管理员、经理或客户的业务员可以审查客户档案,您的角色是{}",
            caller.role.label()
        )));
    }
    if body.notes.chars().count() > 2000 {
        return Err(ServiceError::BadRequest(
            "审查意见不能超过 2000 个字符".into(),
        ));
    }
    db.write_with(move |tx| {
        let (mut doc, stored) = load_visible(tx, &caller, &id)?;
        let mut card = doc.card().clone();
        card.reviews.insert(
            format!("r{now}-{}", caller.login),
            Review {
                at: now,
                by: caller.login.clone(),
                tier: body.tier,
                notes: body.notes.trim().to_string(),
            },
        );
        if body.tier.is_some() {
            card.tier = body.tier;
        }
        let reason = match body.tier {
            Some(t) => format!("定期审查,客户类别:{}", t.label()),
            None => "定期审查".to_string(),
        };
        let note = ChangeNote::new(&caller.login, Action::Review).with_reason(Some(reason));
        let note = crate::seal::sealed(tx, &id, note, now)?;
        doc.update(&card, &note, now)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        commit_change(tx, &id, &doc, &stored, &caller, now)?;
        Ok(())
    })
    .await
}

/// Fills the slimmed card of rows written before it existed (migration 4).
/// Runs once at start; returns how many rows it filled.
pub async fn backfill(db: &Db) -> Result<usize, ServiceError> {
    db.write_with(|tx| {
        let ids = docs::without_rules(tx)?;
        let actor = crm_shared::ActorId::random();
        for id in &ids {
            let Some(stored) = docs::load(tx, id)? else {
                continue;
            };
            let doc = crm_shared::CustomerDoc::load(&stored.bytes, actor.clone())
                .map_err(|e| DbError::Corrupt(format!("客户 {id}:{e}")))?;
            docs::put_row(
                tx,
                id,
                &crate::db::Projection::of(doc.card(), doc.conflicts().len()),
            )?;
        }
        Ok(ids.len())
    })
    .await
}
