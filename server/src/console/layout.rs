//! The page shell (head, navigation, language switch, sign-out), the one
//! stylesheet, and small pieces of markup every page uses.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{html, Markup, DOCTYPE};

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

const CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;color:#1d2733;background:#f4f6f8;font-size:14px}
header{background:#1f4e79;color:#fff;display:flex;align-items:center;gap:1rem;padding:.5rem 1rem;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:.25rem .4rem;border-radius:3px}
header a.on,header a:hover{background:#2f6ea5}
header .who{margin-left:auto;display:flex;gap:.6rem;align-items:center}
header form{display:inline}
header button{background:none;border:1px solid #fff;color:#fff;padding:.2rem .6rem;cursor:pointer}
main{padding:1rem 1.5rem;max-width:1400px}
h1{font-size:1.3rem;margin:.4rem 0 1rem}
h2{font-size:1.1rem;margin:1.4rem 0 .6rem}
table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:1rem}
th,td{border:1px solid #d5dbe1;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#e9eef3;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
form.inline{display:inline}
.filters{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;gap:.2rem;font-size:.85rem}
input,select,textarea{font:inherit;padding:.3rem .4rem;border:1px solid #b8c2cc;border-radius:3px}
button{font:inherit;padding:.35rem .9rem;background:#1f4e79;color:#fff;border:0;border-radius:3px;cursor:pointer}
button.secondary{background:#6c7a89}
button.danger{background:#a33}
.error{background:#fde8e8;border:1px solid #e0a0a0;color:#7a1f1f;padding:.6rem .8rem;margin:.6rem 0}
.ok{background:#e6f4ea;border:1px solid #9fd3ad;padding:.6rem .8rem;margin:.6rem 0}
.muted{color:#6c7a89}
.card{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:.3rem 1.2rem;background:#fff;padding:.8rem;border:1px solid #d5dbe1}
.card div span{color:#6c7a89;margin-right:.4rem}
.pager{display:flex;gap:1rem;margin:.5rem 0}
form.login{max-width:360px;margin:8vh auto;background:#fff;padding:1.5rem;border:1px solid #d5dbe1;display:flex;flex-direction:column;gap:.8rem}
form.login h1{font-size:1.1rem}
.tag{display:inline-block;padding:0 .4rem;border-radius:3px;background:#e9eef3}
.tag.bad{background:#fde8e8}
"#;

/// `GET /console/style.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · " (lang.t("客户档案", "Customer archive")) }
        link rel="stylesheet" href="/console/style.css";
    }
}

/// A page with no navigation (sign-in, errors before sign-in).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head { (head(lang, title)) }
            body { main { (body) } }
        }
    }
}

/// Which pages a role sees in the navigation (each page checks again).
fn nav(s: &SignedIn) -> Vec<(&'static str, &'static str, &'static str)> {
    let l = s.lang;
    let mut v = Vec::new();
    if s.role != Role::BackupOperator && s.role != Role::Admin {
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
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head { (head(l, title)) }
            body {
                header {
                    strong { (l.t("客户档案", "Archive")) }
                    nav {
                        @for (key, label, href) in nav(s) {
                            a.on[key == current] href=(href) { (label) }
                        }
                    }
                    div.who {
                        span { (s.name) " (" (s.role.label()) @if let Some(p) = s.position { " · " (p.label()) } ")" }
                        a href="/console/password" { (l.t("修改密码", "Password")) }
                        a href="/console/lang?to=zh" { "中文" }
                        a href="/console/lang?to=en" { "EN" }
                        form method="post" action="/console/logout" {
                            (csrf(s))
                            button type="submit" { (l.t("退出", "Sign out")) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(s: &SignedIn) -> Markup {
    html! { input type="hidden" name="_csrf" value=(s.csrf()); }
}

/// A timestamp (ms) as local `YYYY-MM-DD HH:MM`; blank for none.
pub fn when(ms: Option<i64>) -> String {
    use chrono::TimeZone;
    ms.filter(|m| *m > 0)
        .and_then(|m| chrono::Local.timestamp_millis_opt(m).single())
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Money in yuan with thousands separators; blank for none.
pub fn yuan(v: Option<i64>) -> String {
    let Some(v) = v else { return String::new() };
    let s = v.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A success line after a form (`?ok=…` on the page it returned to).
pub fn flash(ok: Option<&str>) -> Markup {
    html! { @if let Some(m) = ok { div.ok role="status" { (m) } } }
}
