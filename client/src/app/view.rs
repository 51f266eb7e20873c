//! The shell of every page: navigation, the person, and the sync status
//! line (在线/离线, last sync, changes waiting, the 同步 button), on the
//! layout the console uses too (`crm-web`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use crm_web::format::{ago, when};
use crm_web::shell::{self, NavItem, Shell};

use super::form::TOKEN_FIELD;
use super::{App, Shared};
use crate::clock::now_millis;
use crate::error::ClientError;
use crate::session;
use crate::store::Store;

const NAV: &[NavItem] = &[
    NavItem {
        key: "today",
        label: "今日",
        href: "/today",
    },
    NavItem {
        key: "customers",
        label: "客户",
        href: "/customers",
    },
    NavItem {
        key: "new",
        label: "新建客户",
        href: "/customers/new",
    },
    NavItem {
        key: "daily",
        label: "销售日报",
        href: "/reports/daily",
    },
    NavItem {
        key: "grades",
        label: "等级预览",
        href: "/reports/grades",
    },
    NavItem {
        key: "warnings",
        label: "预警",
        href: "/reports/warnings",
    },
    NavItem {
        key: "sync",
        label: "同步",
        href: "/sync",
    },
];

fn shell<'a>(who: Markup, status: Option<Markup>, current: &'a str) -> Shell<'a> {
    Shell {
        lang: "zh-CN",
        brand: "客户档案",
        stylesheet: "/style.css",
        script: Some("/app.js"),
        nav: NAV,
        current,
        who,
        status,
    }
}

/// A page of the app: the shell around `body`.
pub fn page(app: &App, store: &Store, current: &str, title: &str, body: Markup) -> Markup {
    let who = html! { span { (store.profile().display_name) } };
    shell::page(
        &shell(who, Some(status_line(app, store)), current),
        title,
        body,
    )
}

/// A page before anyone has signed in (first run, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    shell::bare(&shell(html! {}, None, ""), title, body)
}

/// The hidden field every form carries.
pub fn token(app: &App) -> Markup {
    html! { input type="hidden" name=(TOKEN_FIELD) value=(app.guard.form_token()); }
}

/// The sync status line.
pub fn status_line(app: &App, store: &Store) -> Markup {
    let st = app.worker.status();
    let pending = store.pending_count().unwrap_or(0);
    let last = store.last_sync_at().ok().flatten();
    let signed_in = matches!(session::current(store), Ok(Some(_)));
    html! {
        div.status #status role="status" {
            @if !signed_in {
                span.offline { "未登录服务器" } a href="/setup" { "登录" }
            } @else if st.running {
                span.online { (st.progress.clone().unwrap_or_else(|| "正在同步…".into())) }
            } @else if st.online == Some(false) {
                span.offline { "离线" }
            } @else if st.online == Some(true) {
                span.online { "在线" }
            } @else {
                span.muted { "尚未连接" }
            }
            span #last-sync title=(when(last)) {
                "上次同步:" @if last.is_some() { (ago(last, now_millis())) } @else { "从未" }
            }
            span #pending { "待发送:" (pending) " 位客户" }
            @if let Ok(crm_shared::settings::OfflineLock::Open { days_left }) = crate::lock::state(store) {
                span #lock-days { "离线锁定:" (days_left) " 天内须同步" }
            }
            @if let Some(w) = &st.wiped { span.offline { (w) } }
            form method="post" action="/sync" {
                (token(app))
                button type="submit" #sync-now disabled[st.running || !signed_in] { "同步" }
            }
        }
    }
}

/// `GET /`: the first-run setup on a new laptop, else 今日.
pub async fn home(State(app): State<Shared>) -> Response {
    if Store::file(&app.dir).exists() {
        Redirect::to("/today").into_response()
    } else {
        Redirect::to("/setup").into_response()
    }
}

/// `GET /style.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        crm_web::style::CSS,
    )
}

/// `GET /app.js`.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        SCRIPT,
    )
}

/// What a page does when something it needs fails: a page saying so, in
/// words (never a library's), with the way back.
pub fn failure(e: &ClientError) -> Response {
    use axum::http::StatusCode;
    // What was asked for is wrong (4xx), or the laptop failed (5xx).
    let status = match e {
        ClientError::Domain(crm_shared::Error::Invalid { .. }) => StatusCode::BAD_REQUEST,
        ClientError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = html! {
        div.error role="alert" { (e.to_string()) }
        p { a href="/today" { "回到今日" } }
    };
    (status, bare("出错了", body)).into_response()
}

/// The page's only script: the status line refreshed every few seconds,
/// the customer list filtered as you type. Everything also works without
/// it (forms post and pages reload).
const SCRIPT: &str = r#"
(function(){
  function refresh(){
    fetch('/sync/status',{credentials:'same-origin'}).then(function(r){return r.ok?r.text():null}).then(function(html){
      if(!html)return;var s=document.getElementById('status');if(!s)return;
      var t=document.createElement('div');t.innerHTML=html;var n=t.firstElementChild;if(n){s.replaceWith(n);}
    }).catch(function(){});
  }
  setInterval(refresh,4000);
  var q=document.getElementById('q');
  if(q){
    var timer=null;
    q.addEventListener('input',function(){
      clearTimeout(timer);
      timer=setTimeout(function(){
        var f=q.form;var p=new URLSearchParams(new FormData(f));
        fetch('/customers/rows?'+p.toString(),{credentials:'same-origin'}).then(function(r){return r.text()}).then(function(html){
          var b=document.getElementById('rows');if(b){b.outerHTML=html;}
          history.replaceState(null,'','/customers?'+p.toString());
        });
      },150);
    });
  }
})();
"#;

/// Back to `path` after a form, saying `ok` there.
pub fn back(path: &str, ok: &str) -> Response {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("ok", ok)
        .finish();
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}{q}")).into_response()
}

/// The `?ok=` a page was sent back with.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    /// What was done.
    pub ok: Option<String>,
}
