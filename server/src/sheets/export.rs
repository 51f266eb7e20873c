//! The exports head office asks for, as tables with the handbook's Chinese
//! headers: the customer list, the grade summary table (客户等级管理汇总表),
//! warnings, monthly complaint statistics, and the access audit.

use crm_shared::codes::{Grade, WarningRule};
use crm_shared::day::Day;

use super::{Cell, Table};
use crate::audit;
use crate::caller::{Caller, ServiceError};
use crate::db::access::AccessEvent;
use crate::db::{Db, ListFilter};
use crate::rules::ReportQuery;

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 客户列表.
    Customers,
    /// 客户等级管理汇总表.
    Grades,
    /// 预警.
    Warnings,
    /// 月度客诉统计.
    Complaints,
    /// 到期及逾期跟进.
    Followups,
}

impl Kind {
    /// From the name used in URLs and on the command line.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "customers" => Kind::Customers,
            "grades" => Kind::Grades,
            "warnings" => Kind::Warnings,
            "complaints" => Kind::Complaints,
            "followups" => Kind::Followups,
            _ => return None,
        })
    }

    /// Sheet name and file name stem (Chinese).
    pub fn title(self) -> &'static str {
        match self {
            Kind::Customers => "客户列表",
            Kind::Grades => "客户等级管理汇总表",
            Kind::Warnings => "预警",
            Kind::Complaints => "月度客诉统计",
            Kind::Followups => "到期及逾期跟进",
        }
    }
}

/// How a sheet names a salesperson: by name where no other account has
/// that name (an import reads it back to the same login), else by login.
struct Names(std::collections::HashMap<String, String>);

impl Names {
    async fn load(db: &Db) -> Result<Names, ServiceError> {
        let users = db.users().await?;
        let mut seen: std::collections::HashMap<&str, usize> = Default::default();
        for u in &users {
            *seen.entry(u.display_name.trim()).or_default() += 1;
        }
        Ok(Names(
            users
                .iter()
                .filter(|u| !u.display_name.trim().is_empty() && seen[u.display_name.trim()] == 1)
                .map(|u| (u.login.clone(), u.display_name.trim().to_string()))
                .collect(),
        ))
    }

    fn of(&self, login: String) -> Cell {
        self.0.get(&login).cloned().unwrap_or(login).into()
    }
}

fn headers(h: &[&str]) -> Vec<String> {
    h.iter().map(|s| s.to_string()).collect()
}

fn n<T: Into<f64>>(v: Option<T>) -> Cell {
    Cell::from(v)
}

/// The customer list's table of `rows`.
fn customer_table(rows: Vec<crm_shared::summary::CustomerSummary>, names: &Names) -> Table {
    Table {
        headers: headers(&[
            "客户编号",
            "客户名称",
            "业务员",
            "区域",
            "状态",
            "等级",
            "类别",
            "信用额度(元)",
            "联系人",
            "电话",
            "下次跟进",
        ]),
        rows: rows
            .into_iter()
            .map(|r| {
                vec![
                    r.id.into(),
                    r.name.into(),
                    names.of(r.salesperson),
                    r.region.into(),
                    r.status.label().into(),
                    r.grade.map(|g| g.label()).unwrap_or_default().into(),
                    r.tier.map(|t| t.label()).unwrap_or_default().into(),
                    n(r.credit_limit.map(|v| v as f64)),
                    r.contact.unwrap_or_default().into(),
                    r.phone.unwrap_or_default().into(),
                    r.next_followup
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                        .into(),
                ]
            })
            .collect(),
    }
}

/// The customer list's table of every customer matching `filter`, in its
/// order: what the console's list shows, on all its pages.
pub async fn customers(db: &Db, caller: Caller, filter: ListFilter) -> Result<Table, ServiceError> {
    let rows = crate::archive::list(db, caller, filter, 0, usize::MAX >> 1).await?;
    Ok(customer_table(rows, &Names::load(db).await?))
}

/// The customer list's table of the customers `ids`, in that order (a
/// bulk export of the ticked rows): all of them, or an error naming one
/// `caller` cannot see.
pub async fn chosen_customers(
    db: &Db,
    caller: Caller,
    ids: Vec<String>,
) -> Result<Table, ServiceError> {
    Ok(customer_table(
        crate::archive::summaries(db, caller, ids).await?,
        &Names::load(db).await?,
    ))
}

/// The grade summary table's rows `q` picks (a page of it, or all), as
/// `caller` may see them; numbered from the first row of the whole table.
pub async fn grades(db: &Db, caller: Caller, q: ReportQuery<Grade>) -> Result<Table, ServiceError> {
    let first = q.offset;
    let rows = crate::rules::grade_page(db, caller, q).await?.rows;
    let names = Names::load(db).await?;
    Ok(Table {
        headers: headers(&[
            "No",
            "客户名称",
            "业务员",
            "客户等级评分",
            "等级系数",
            "月均销售额(元)",
            "信用履约率",
            "客户等级",
            "信用额度(元)",
            "备注",
        ]),
        rows: rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                vec![
                    Cell::Number((first + i + 1) as f64),
                    r.name.into(),
                    names.of(r.salesperson),
                    n(r.score),
                    n(r.coefficient),
                    n(r.monthly_average.map(f64::round)),
                    r.on_time_rate
                        .map(|x| format!("{x:.1}%"))
                        .unwrap_or_default()
                        .into(),
                    r.grade.map(|g| g.label()).unwrap_or_default().into(),
                    n(r.credit_limit.map(|v| v as f64)),
                    r.remarks.into(),
                ]
            })
            .collect(),
    })
}

/// The warnings `q` picks (a page of them, or all), as `caller` may see
/// them.
pub async fn warnings(
    db: &Db,
    caller: Caller,
    q: ReportQuery<WarningRule>,
) -> Result<Table, ServiceError> {
    let rows = crate::rules::warning_page(db, caller, q).await?.rows;
    let names = Names::load(db).await?;
    Ok(Table {
        headers: headers(&["客户编号", "客户名称", "业务员", "预警规则", "指标"]),
        rows: rows
            .into_iter()
            .map(|w| {
                vec![
                    w.customer.into(),
                    w.name.into(),
                    names.of(w.salesperson),
                    w.rule.label().into(),
                    w.figure.into(),
                ]
            })
            .collect(),
    })
}

/// The due and overdue follow-ups `q` picks (a page of them, or all), as
/// `caller` may see them: whom to call, and on which number.
pub async fn followups(db: &Db, caller: Caller, q: ReportQuery<()>) -> Result<Table, ServiceError> {
    let rows = crate::rules::followups_page(db, caller, q).await?.rows;
    let names = Names::load(db).await?;
    Ok(Table {
        headers: headers(&[
            "客户编号",
            "客户名称",
            "业务员",
            "计划跟进日期",
            "逾期天数",
            "意向等级",
            "联系人",
            "电话",
        ]),
        rows: rows
            .into_iter()
            .map(|(who, p)| {
                vec![
                    p.customer.into(),
                    p.name.into(),
                    names.of(who),
                    p.day.to_string().into(),
                    Cell::Number(p.overdue_days as f64),
                    p.intent.map(|i| i.label()).unwrap_or_default().into(),
                    p.contact.unwrap_or_default().into(),
                    p.phone.unwrap_or_default().into(),
                ]
            })
            .collect(),
    })
}

/// The export `kind` of what `caller` may see (`salesperson`: only theirs), as of `day`.
pub async fn table(
    db: &Db,
    caller: Caller,
    kind: Kind,
    salesperson: Option<String>,
    day: Day,
) -> Result<Table, ServiceError> {
    Ok(match kind {
        Kind::Customers => {
            let filter = ListFilter {
                salesperson,
                ..Default::default()
            };
            customers(db, caller, filter).await?
        }
        Kind::Grades => grades(db, caller, ReportQuery::everything(salesperson, day)).await?,
        Kind::Warnings => warnings(db, caller, ReportQuery::everything(salesperson, day)).await?,
        Kind::Followups => followups(db, caller, ReportQuery::everything(salesperson, day)).await?,
        Kind::Complaints => {
            let rows = crate::rules::complaint_stats(db, caller, salesperson).await?;
            Table {
                headers: headers(&[
                    "月份",
                    "投诉总数",
                    "质量问题",
                    "非质量问题",
                    "未判定",
                    "客户满意",
                    "客户不满意",
                    "处理中",
                ]),
                rows: rows
                    .into_iter()
                    .map(|m| {
                        vec![
                            m.month.into(),
                            Cell::Number(m.total.into()),
                            Cell::Number(m.quality.into()),
                            Cell::Number(m.non_quality.into()),
                            Cell::Number(m.unclassified.into()),
                            Cell::Number(m.satisfied.into()),
                            Cell::Number(m.unsatisfied.into()),
                            Cell::Number(m.open.into()),
                        ]
                    })
                    .collect(),
            }
        }
    })
}

/// Access audit entries as a table with Chinese headers, for export and the
/// command line.
pub fn access_log(events: &[AccessEvent]) -> Table {
    fn text(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
    let opt = |s: &Option<String>| s.as_deref().map_or(Cell::Empty, text);
    Table {
        headers: ["时间", "事件", "账号", "操作人", "来源地址", "设备", "说明"]
            .iter()
            .map(|h| h.to_string())
            .collect(),
        rows: events
            .iter()
            .map(|e| {
                vec![
                    text(&crate::clock::local_minutes(e.at)),
                    text(audit::Kind::parse(&e.kind).map_or(e.kind.as_str(), |k| k.label())),
                    text(&e.login),
                    opt(&e.by_login),
                    opt(&e.address),
                    opt(&e.device_id),
                    text(&e.detail),
                ]
            })
            .collect(),
    }
}
