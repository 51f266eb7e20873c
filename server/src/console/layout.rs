//! The page shell (head, navigation, sign-out), the one
//! stylesheet, and small pieces of markup every page uses.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{html, Markup};

use crm_shared::codes::Role;

use super::SignedIn;

/// `GET /console/style.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        crm_web::style::CSS,
    )
}

/// The shell around every console page.
fn shell<'a>(
    nav: &'a [crm_web::shell::NavItem<'a>],
    current: &'a str,
    who: Markup,
) -> crm_web::shell::Shell<'a> {
    crm_web::shell::Shell {
        lang: "zh-CN",
        brand: "客户档案",
        stylesheet: "/console/style.css",
        script: None,
        nav,
        current,
        who,
        status: None,
    }
}

/// A page with no navigation (sign-in, errors before sign-in).
pub fn bare(title: &str, body: Markup) -> Markup {
    crm_web::shell::bare(&shell(&[], "", html! {}), title, body)
}

/// Which pages a role sees in the navigation (each page checks again).
fn nav(s: &SignedIn) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut v = Vec::new();
    if s.role != Role::BackupOperator && s.role != Role::Admin {
        v.push(("home", "工作台", "/console/home"));
        v.push(("customers", "客户", "/console/customers"));
        v.push(("conflicts", "冲突", "/console/conflicts"));
        v.push(("credit", "信用额度审批", "/console/credit"));
        v.push(("grades", "等级汇总", "/console/grades"));
        v.push(("warnings", "预警", "/console/warnings"));
        v.push(("followups", "待跟进", "/console/followups"));
        v.push(("daily", "销售日报", "/console/daily"));
        v.push(("complaints", "客户投诉", "/console/complaints"));
    }
    if s.head_office() {
        v.push(("import", "导入", "/console/import"));
    }
    if matches!(s.role, Role::Admin | Role::Manager | Role::Clerk) {
        v.push(("devices", "设备同步", "/console/devices"));
    }
    if matches!(s.role, Role::Admin | Role::Manager | Role::BackupOperator) {
        v.push(("backup", "备份", "/console/backup"));
    }
    if s.role == Role::Admin {
        v.push(("users", "用户管理", "/console/users"));
        v.push(("settings", "公司设置", "/console/settings"));
        v.push(("security", "登录与审计", "/console/security"));
    }
    v
}

/// A signed-in page: navigation, the person, sign-out, then `body`.
pub fn page(s: &SignedIn, current: &str, title: &str, body: Markup) -> Markup {
    let links = nav(s);
    // The approver's badge: how many requests wait for them.
    let labels: Vec<String> = links
        .iter()
        .map(|(key, label, _)| match (*key, s.waiting) {
            ("credit", n) if n > 0 => format!("{label}({n})"),
            _ => label.to_string(),
        })
        .collect();
    let items: Vec<crm_web::shell::NavItem> = links
        .iter()
        .zip(&labels)
        .map(|((key, _, href), label)| crm_web::shell::NavItem { key, label, href })
        .collect();
    let who = html! {
        span { (s.name) " (" (s.role.label()) @if let Some(p) = s.position { " · " (p.label()) } ")" }
        a href="/console/password" { ("修改密码") }
        form method="post" action="/console/logout" {
            (csrf(s))
            button type="submit" { ("退出") }
        }
    };
    crm_web::shell::page(&shell(&items, current, who), title, body)
}

/// The hidden CSRF field every form carries.
pub fn csrf(s: &SignedIn) -> Markup {
    html! { input type="hidden" name="_csrf" value=(s.csrf()); }
}

pub use crm_web::format::{when, yuan};
pub use crm_web::parts::flash;
