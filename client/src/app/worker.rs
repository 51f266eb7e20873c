//! Sync without thinking about it: one thread does every exchange with the
//! server (network calls block, and one sync at a time is what the store's
//! sync expects). It syncs when asked (the 同步 button, right after a change)
//! and on its own every few minutes while signed in; what it last did is
//! kept in [`Status`] for every page's status line.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_shared::codes::Position;

use crate::error::ClientError;
use crate::net::{NetError, Trust};
use crate::session;
use crate::store::Store;
use crate::sync::SyncReport;

use super::derived::Derived;
use super::warm::Warm;

/// How often to sync while the server answers; `CRM_SYNC_EVERY` (seconds)
/// overrides it.
const EVERY: Duration = Duration::from_secs(180);
/// How often to try again while it does not.
const RETRY: Duration = Duration::from_secs(30);

/// What the last syncs did, for the status line.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// A sync is running now.
    pub running: bool,
    /// Whether the server answered the last attempt (`None`: not tried yet).
    pub online: Option<bool>,
    /// How far the running sync has got, in words.
    pub progress: Option<String>,
    /// Why the last attempt failed, in words.
    pub error: Option<String>,
    /// What the last sync that completed brought, in sentences.
    pub news: Vec<String>,
    /// Set when head office revoked this laptop and its customers were
    /// removed: why, in words.
    pub wiped: Option<String>,
}

/// A first sign-in (or a new one) typed on the setup page.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The server's address.
    pub url: String,
    /// The fingerprint the person confirmed (`None` for plain http).
    pub fingerprint: Option<String>,
    /// Login name.
    pub login: String,
    /// Password.
    pub password: String,
    /// A new password, when an administrator reset the old one.
    pub new_password: Option<String>,
}

/// Why a sign-in failed.
#[derive(Debug, Clone)]
pub struct SignInRefused {
    /// In words.
    pub message: String,
    /// The administrator reset the password: a new one must be chosen.
    pub needs_new_password: bool,
}

enum Job {
    Sync,
    SignIn(
        SignIn,
        tokio::sync::oneshot::Sender<Result<(), SignInRefused>>,
    ),
}

/// The handle on the sync thread.
pub struct Worker {
    jobs: Mutex<mpsc::Sender<Job>>,
    status: Arc<Mutex<Status>>,
}

impl Worker {
    /// Starts the thread for the store in `dir`; `derived` is told when a
    /// sync brought or took away customers.
    pub fn start(dir: PathBuf, derived: Arc<Derived>, warm: Arc<Warm>) -> Worker {
        let (tx, rx) = mpsc::channel();
        let status = Arc::new(Mutex::new(Status::default()));
        let shared = status.clone();
        let every = std::env::var("CRM_SYNC_EVERY")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(EVERY);
        std::thread::Builder::new()
            .name("crm-sync".into())
            .spawn(move || run(dir, rx, shared, every, derived, warm))
            .expect("start the sync thread");
        // A sync at launch: the laptop may have been offline for days.
        let _ = tx.send(Job::Sync);
        Worker {
            jobs: Mutex::new(tx),
            status,
        }
    }

    /// Asks for a sync as soon as the thread is free.
    pub fn sync_soon(&self) {
        if let Ok(tx) = self.jobs.lock() {
            let _ = tx.send(Job::Sync);
        }
    }

    /// Signs in (then syncs); the answer comes when the server has given it.
    pub async fn sign_in(&self, s: SignIn) -> Result<(), SignInRefused> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Ok(jobs) = self.jobs.lock() {
            let _ = jobs.send(Job::SignIn(s, tx));
        }
        rx.await.unwrap_or_else(|_| {
            Err(SignInRefused {
                message: "同步线程已停止,请重新启动 crm ui".into(),
                needs_new_password: false,
            })
        })
    }

    /// What the last syncs did.
    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn run(
    dir: PathBuf,
    rx: mpsc::Receiver<Job>,
    status: Arc<Mutex<Status>>,
    every: Duration,
    derived: Arc<Derived>,
    warm: Arc<Warm>,
) {
    let mut wait = every;
    loop {
        let job = match rx.recv_timeout(wait) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        match job {
            Some(Job::SignIn(s, answer)) => {
                let result = sign_in(&dir, s);
                let ok = result.is_ok();
                let _ = answer.send(result);
                if ok {
                    update(&status, |st| st.wiped = None);
                    if sync(&dir, &status, &warm) {
                        derived.stale();
                    }
                }
            }
            Some(Job::Sync) | None => {
                // Clicks and changes that queued up meanwhile are served
                // by this one sync.
                while let Ok(Job::Sync) = rx.try_recv() {}
                if sync(&dir, &status, &warm) {
                    derived.stale();
                }
            }
        }
        let online = status
            .lock()
            .map(|s| s.online != Some(false))
            .unwrap_or(true);
        wait = if online { every } else { RETRY.min(every) };
    }
}

fn update(status: &Mutex<Status>, f: impl FnOnce(&mut Status)) {
    if let Ok(mut s) = status.lock() {
        f(&mut s);
    }
}

fn sign_in(dir: &std::path::Path, s: SignIn) -> Result<(), SignInRefused> {
    let refused = |e: ClientError| SignInRefused {
        needs_new_password: matches!(e, ClientError::Net(NetError::PasswordChangeRequired)),
        message: e.to_string(),
    };
    let trust = match &s.fingerprint {
        Some(fp) => Trust::fingerprint(fp).map_err(|e| refused(e.into()))?,
        None => Trust::PlainHttp,
    };
    let device = session::device_name();
    let attempt = |password: &str| -> crate::error::Result<()> {
        if Store::file(dir).exists() {
            let mut store = Store::open(dir)?;
            session::login(
                &mut store,
                &s.url,
                trust.clone(),
                &s.login,
                password,
                &device,
            )?;
        } else {
            session::first_login(dir, &s.url, trust.clone(), &s.login, password, &device)?;
        }
        Ok(())
    };
    match (attempt(&s.password), &s.new_password) {
        (Err(ClientError::Net(NetError::PasswordChangeRequired)), Some(new)) => {
            session::change_password(&s.url, &trust, &s.login, &s.password, new)
                .map_err(refused)?;
            attempt(new).map_err(refused)
        }
        (result, _) => result.map_err(refused),
    }
}

/// One sync; whether it changed what this laptop holds.
fn sync(dir: &std::path::Path, status: &Mutex<Status>, warm: &Warm) -> bool {
    let Ok(mut store) = Store::open(dir) else {
        return false;
    };
    let Ok(Some(s)) = session::current(&store) else {
        return false;
    };
    let client = match s.client() {
        Ok(c) => c,
        Err(e) => {
            update(status, |st| st.error = Some(e.to_string()));
            return false;
        }
    };
    let mut changed = false;
    update(status, |st| {
        st.running = true;
        st.progress = Some("正在连接服务器…".into());
    });
    let before: HashSet<String> = store
        .short_ids()
        .map(|m| m.into_keys().collect())
        .unwrap_or_default();
    let since = store.last_sync_at().ok().flatten().unwrap_or(0);
    let result = crate::sync::run(
        &mut store,
        |req| Ok(client.post("/api/v1/sync", Some(s.bearer()), req)?),
        |r| {
            update(status, |st| {
                st.progress = Some(format!(
                    "已发送 {} 位,已接收 {} 位客户…",
                    r.sent, r.received
                ))
            })
        },
    );
    match result {
        Ok(report) => {
            changed = report.received > 0 || report.removed > 0;
            let news = news(&store, &report, &before, since);
            update(status, |st| {
                st.online = Some(true);
                st.error = None;
                st.news = news;
            });
        }
        Err(ClientError::Net(NetError::DeviceRevoked)) => {
            changed = true;
            // The pages' connection is closed first: some systems refuse
            // to delete a file that is open.
            warm.close();
            let n = store.destroy(dir).unwrap_or(0);
            update(status, |st| {
                st.online = Some(true);
                st.wiped = Some(format!(
                    "此电脑已被总部停用,本机 {n} 位客户的资料已全部删除。如需继续使用,请联系管理员后重新登录。"
                ));
            });
        }
        Err(e) => {
            let offline = matches!(
                e,
                ClientError::Net(NetError::Unreachable { .. } | NetError::Interrupted { .. })
            );
            update(status, |st| {
                st.online = Some(!offline);
                st.error = Some(e.to_string());
            });
        }
    }
    update(status, |st| {
        st.running = false;
        st.progress = None;
    });
    changed
}

/// What a sync brought, in sentences: customers new to this laptop, ones
/// taken away, decisions on credit requests, conflicts, changes undone.
fn news(store: &Store, r: &SyncReport, before: &HashSet<String>, since: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut new_names = Vec::new();
    let mut decisions = Vec::new();
    // Reading a card costs a few milliseconds: a first sync of thousands of
    // customers is summed up by its count, not read card by card.
    let read_each = r.received_ids.len() <= 200;
    for id in &r.received_ids {
        let fresh = !before.contains(id);
        if !read_each {
            continue;
        }
        let Ok(card) = store.get(id) else { continue };
        if fresh {
            new_names.push(card.name.clone());
        }
        for req in card.credit_requests.values() {
            let mut decided: Vec<_> = req.decisions.iter().filter(|(_, d)| d.at > since).collect();
            decided.sort_by_key(|(_, d)| d.at);
            for (position, d) in decided {
                {
                    let who = position
                        .parse::<Position>()
                        .map(|p| p.label().to_string())
                        .unwrap_or_else(|_| "总部".into());
                    decisions.push(format!(
                        "{}:信用额度申请 {} 元,{}{}{}",
                        card.name,
                        crm_web::format::yuan(Some(req.proposed)),
                        who,
                        if d.approved { "已批准" } else { "已驳回" },
                        if d.comment.is_empty() {
                            String::new()
                        } else {
                            format!("(意见:{})", d.comment)
                        }
                    ));
                }
            }
        }
    }
    let fresh_count = r
        .received_ids
        .iter()
        .filter(|id| !before.contains(*id))
        .count();
    if fresh_count > 0 {
        if new_names.is_empty() || new_names.len() > 10 {
            out.push(format!("新分配给你的客户 {fresh_count} 位"));
        } else {
            out.push(format!("新分配给你的客户:{}", new_names.join("、")));
        }
    }
    let updated = r.received - fresh_count.min(r.received);
    if updated > 0 {
        out.push(format!("{updated} 位客户有总部或他人的更新"));
    }
    if !r.removed_names.is_empty() {
        out.push(format!(
            "已转给其他业务员、从本机移除:{}",
            r.removed_names.join("、")
        ));
    }
    out.extend(decisions);
    if !r.conflicts.is_empty() {
        out.push(format!(
            "{} 位客户有冲突,需要你选定保留的值(见客户页)",
            r.conflicts.len()
        ));
    }
    if !r.reverted.is_empty() {
        out.push(format!(
            "服务器撤销了 {} 项本机无权做的修改(信用额度、等级等只能由总部按规定修改)",
            r.reverted.len()
        ));
    }
    if r.sent > 0 {
        out.push(format!("已发送 {} 位客户的修改", r.sent));
    }
    if out.is_empty() {
        out.push("没有新的变化".into());
    }
    out
}
