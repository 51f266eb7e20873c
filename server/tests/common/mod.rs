//! A real `crm-server` on 127.0.0.1:0 with its own data directory, and a
//! client for it. Each test gets its own server; nothing leaves loopback.

#![allow(dead_code)] // each test file uses a different part

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crm_server::config::{DataDir, Limits};
use crm_server::credentials::hash_password;
use crm_server::db::{Db, NewUser};
use crm_server::{AppState, TlsConfig};
use crm_shared::api::{ErrorBody, LoginRequest, LoginResponse};
use crm_shared::codes::Role;
use crm_shared::note::{Action, ChangeNote};
use crm_shared::{ActorId, Customer, CustomerDoc};
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`.
    pub base: String,
    pub db: Db,
    pub data: DataDir,
    pub client: reqwest::Client,
    /// The server's clock: a test moves it on instead of waiting.
    pub clock: crm_server::clock::Clock,
    _dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Installs ring as rustls's process default, which reqwest (built without
/// a provider of its own) needs even for plain HTTP clients.
pub fn crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl TestServer {
    /// Plain HTTP, as with `--insecure-plain-http`.
    pub async fn plain() -> TestServer {
        TestServer::start(false, Limits::default()).await
    }

    /// Plain HTTP with custom limits.
    pub async fn plain_with(limits: Limits) -> TestServer {
        TestServer::start(false, limits).await
    }

    /// HTTPS with the generated self-signed certificate; the client trusts
    /// exactly that certificate, read from the data directory.
    pub async fn https() -> TestServer {
        TestServer::start(true, Limits::default()).await
    }

    async fn start(https: bool, limits: Limits) -> TestServer {
        crypto();
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        data.create().unwrap();
        let db = Db::open(&data.db_path()).await.unwrap();
        let tls = https.then(|| TlsConfig::self_signed(&data).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(db.clone(), limits);
        let clock = state.clock.clone();
        let task = tokio::spawn(crm_server::serve(listener, state, tls, async {
            let _ = stopped.await;
        }));
        let (base, client) = if https {
            let pem = std::fs::read(data.tls_cert_path()).unwrap();
            (format!("https://localhost:{port}"), client_trusting(&pem))
        } else {
            (
                format!("http://127.0.0.1:{port}"),
                reqwest::Client::builder().build().unwrap(),
            )
        };
        TestServer {
            base,
            db,
            data,
            client,
            clock,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Adds a user the way `crm-server user add` does.
    pub async fn add_user(&self, login: &str, role: Role, name: &str, password: &str) {
        self.db
            .insert_user(NewUser {
                login: login.into(),
                display_name: name.into(),
                role,
                password_hash: hash_password(password.into()).await.unwrap(),
                password_expires_at: None,
                position: None,
                must_change_password: false,
            })
            .await
            .unwrap();
    }

    pub async fn login(&self, login: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/login"))
            .json(&LoginRequest {
                login: login.into(),
                password: password.into(),
                device_name: format!("{login}的笔记本"),
            })
            .send()
            .await
            .unwrap()
    }

    pub async fn whoami(&self, token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/api/v1/whoami"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `login` (a salesperson with `password`) signs in from a new laptop
    /// and pushes these new cards in one sync, as `crm sync` would: each a
    /// whole saved document whose changes `login` authored. Returns the
    /// documents, for the test to change "offline" and push again.
    pub async fn push_cards(
        &self,
        login: &str,
        password: &str,
        cards: &[Customer],
    ) -> Vec<CustomerDoc> {
        let note = ChangeNote::new(login, Action::Create);
        let docs: Vec<CustomerDoc> = cards
            .iter()
            .map(|c| CustomerDoc::create(c, ActorId::random(), &note, c.entered_at).unwrap())
            .collect();
        self.push_docs(login, password, &docs).await;
        docs
    }

    /// `login` pushes these documents whole, in one sync.
    pub async fn push_docs(&self, login: &str, password: &str, docs: &[CustomerDoc]) {
        use crm_shared::sync::{heads_to_hex, Blob, DocPush, SyncRequest};
        let answer = self.login(login, password).await;
        assert_eq!(answer.status(), StatusCode::OK, "login {login}");
        let token = answer.json::<LoginResponse>().await.unwrap().token;
        let push = docs
            .iter()
            .map(|doc| DocPush {
                id: doc.card().id.clone(),
                heads: heads_to_hex(&doc.heads()),
                data: Blob(doc.save()),
                hand_over: false,
            })
            .collect();
        let answer = self
            .client
            .post(self.url("/api/v1/sync"))
            .bearer_auth(token)
            .json(&SyncRequest {
                push,
                ..Default::default()
            })
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["acked"].as_array().map(Vec::len),
            Some(docs.len()),
            "{body}"
        );
    }

    /// Runs the real `crm-server` binary on this server's data directory.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(self.data.path(), args, stdin)
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

/// A reqwest client whose only trusted root is the given PEM certificate.
pub fn client_trusting(pem: &[u8]) -> reqwest::Client {
    builder_trusting(pem).build().unwrap()
}

/// Like [`client_trusting`], but redirects are not followed: what a test
/// of the console's own answers needs.
pub fn browser_trusting(pem: &[u8]) -> reqwest::Client {
    builder_trusting(pem)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn builder_trusting(pem: &[u8]) -> reqwest::ClientBuilder {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(tls)
}

/// Runs `crm-server ARGS` with `--data-dir`, feeding `stdin` if given.
pub fn run_cli(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-server"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("CRM_PASSWORD")
        .env_remove("CRM_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        // A command refused before it reads its input (a bad argument) exits
        // first; the broken pipe is then the expected outcome, not a failure.
        match pipe.write_all(input.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Asserts an error response: status, stable code, and a body that is
/// exactly an `ErrorBody` with nothing internal in it.
pub async fn assert_error(
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
) -> ErrorBody {
    assert_eq!(response.status(), status, "status");
    let ct = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/json"));
    let body: Value = response.json().await.unwrap();
    let object = body.as_object().expect("error body is an object");
    assert_eq!(object.len(), 2, "only error and message: {body}");
    let body: ErrorBody = serde_json::from_value(body).unwrap();
    assert_eq!(body.error, code, "{body:?}");
    assert_no_internals(&body.message);
    body
}

/// Words that would betray the server's insides to a client.
pub fn assert_no_internals(text: &str) {
    let lower = text.to_lowercase();
    for word in [
        "sqlite",
        "rusqlite",
        "panick",
        "argon",
        "/tmp",
        "src/",
        ".rs",
        "thread",
        "backtrace",
        "constraint",
        "select ",
        "insert ",
    ] {
        assert!(!lower.contains(word), "{word:?} revealed in {text:?}");
    }
}

pub async fn device_count(db: &Db) -> u64 {
    db.devices().await.unwrap().len() as u64
}
