//! The page shell (head, navigation, language switch, sign-out), the one
//! stylesheet, and small pieces of markup every page uses.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{html, Markup};

use crm_shared::codes::Role;

use super::SignedIn;

/// Interface language: Chinese by default, English switchable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The text in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

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

/// The shell around every console page, in `lang`.
fn shell<'a>(
    lang: Lang,
    nav: &'a [crm_web::shell::NavItem<'a>],
    current: &'a str,
    who: Markup,
) -> crm_web::shell::Shell<'a> {
    crm_web::shell::Shell {
        lang: lang.code(),
        brand: lang.t("客户档案", "Customer archive"),
        stylesheet: "/console/style.css",
        script: None,
        nav,
        current,
        who,
        status: None,
    }
}

/// A page with no navigation (sign-in, errors before sign-in).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    crm_web::shell::bare(&shell(lang, &[], "", html! {}), title, body)
}

/// Which pages a role sees in the navigation (each page checks again).
fn nav(s: &SignedIn) -> Vec<(&'static str, &'static str, &'static str)> {
    let l = s.lang;
    let mut v = Vec::new();
    if s.role != Role::BackupOperator && s.role != Role::Admin {
        v.push(("home", l.t("工作台", "Home"), "/console/home"));
        v.push(("customers", l.t("客户", "Customers"), "/console/customers"));
        v.push(("conflicts", l.t("冲突", "Conflicts"), "/console/conflicts"));
        v.push((
            "credit",
            l.t("信用额度审批", "Credit approvals"),
            "/console/credit",
        ));
        v.push(("grades", l.t("等级汇总", "Grades"), "/console/grades"));
        v.push(("warnings", l.t("预警", "Warnings"), "/console/warnings"));
        v.push((
            "followups",
            l.t("待跟进", "Follow-ups"),
            "/console/followups",
        ));
        v.push(("daily", l.t("销售日报", "Daily reports"), "/console/daily"));
        v.push((
            "complaints",
            l.t("投诉统计", "Complaints"),
            "/console/complaints",
        ));
    }
    if s.head_office() {
        v.push(("import", l.t("导入", "Import"), "/console/import"));
    }
    if matches!(s.role, Role::Admin | Role::Manager | Role::Clerk) {
        v.push(("devices", l.t("设备同步", "Devices"), "/console/devices"));
    }
    if matches!(s.role, Role::Admin | Role::Manager | Role::BackupOperator) {
        v.push(("backup", l.t("备份", "Backup"), "/console/backup"));
    }
    if s.role == Role::Admin {
        v.push((
            "security",
            l.t("登录与审计", "Sign-ins & audit"),
            "/console/security",
        ));
    }
    v
}

/// A signed-in page: navigation, the person, sign-out, then `body`.
pub fn page(s: &SignedIn, current: &str, title: &str, body: Markup) -> Markup {
    let l = s.lang;
    let links = nav(s);
    let items: Vec<crm_web::shell::NavItem> = links
        .iter()
        .map(|(key, label, href)| crm_web::shell::NavItem { key, label, href })
        .collect();
    let who = html! {
        span { (s.name) " (" (s.role.label()) @if let Some(p) = s.position { " · " (p.label()) } ")" }
        a href="/console/password" { (l.t("修改密码", "Password")) }
        a href="/console/lang?to=zh" { "中文" }
        a href="/console/lang?to=en" { "EN" }
        form method="post" action="/console/logout" {
            (csrf(s))
            button type="submit" { (l.t("退出", "Sign out")) }
        }
    };
    crm_web::shell::page(&shell(l, &items, current, who), title, body)
}

/// The hidden CSRF field every form carries.
pub fn csrf(s: &SignedIn) -> Markup {
    html! { input type="hidden" name="_csrf" value=(s.csrf()); }
}

pub use crm_web::format::{when, yuan};
pub use crm_web::parts::flash;
