//! The machines of one history, all in this process and on this disk: the
//! server's real sync engine and storage, laptops with their real stores and
//! sync loop, and a backup node with its real store, verify and restore.
//! Only the wire is left out: a laptop's request is handed to the engine as
//! the HTTP handler would hand it, and a backup pull likewise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crm_client::net::NetError;
use crm_client::{ClientError, Store};
use crm_server::backup::BackupHub;
use crm_server::caller::{Caller, ServiceError};
use crm_server::config::DataDir;
use crm_server::db::{documents, Db, DbError, NewUser, PasswordHash};
use crm_server::sync::SyncEngine;
use crm_shared::backup::PullRequest;
use crm_shared::codes::{ActivityKind, Role};
use crm_shared::customer::{Activity, Customer};
use crm_shared::note::Action;
use tempfile::TempDir;

/// Salespeople in every history; laptop `i` starts as salesperson `i`.
pub const SALESPEOPLE: usize = 3;
/// At most this many laptops (clones add some).
const MAX_LAPTOPS: usize = 6;
/// Copies kept per laptop.
const MAX_COPIES: usize = 4;
const CLERK: &str = "clerk";

/// Something that must not happen; the history that led to it is kept by
/// the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken(pub String);

// Any error of the code under test becomes a failure of the history; the
// bound is `Error`, which `Broken` itself is not, so the impls do not clash.
impl<E: std::error::Error> From<E> for Broken {
    fn from(e: E) -> Broken {
        Broken(e.to_string())
    }
}

fn login(n: usize) -> String {
    format!("s{}", n % SALESPEOPLE)
}

fn now() -> i64 {
    crm_client::clock::now_millis()
}

struct Server {
    data: DataDir,
    db: Db,
    engine: SyncEngine,
    hub: BackupHub,
}

struct Laptop {
    user: String,
    dir: PathBuf,
    store: Option<Store>,
    copies: Vec<PathBuf>,
}

impl Laptop {
    fn store(&mut self) -> &mut Store {
        self.store
            .as_mut()
            .expect("the store is open between events")
    }

    /// Closes the store (so its file is whole on disk), runs `f`, reopens.
    fn closed<T>(&mut self, f: impl FnOnce(&Path) -> Result<T, Broken>) -> Result<T, Broken> {
        self.store = None;
        let out = f(&self.dir);
        self.store = Some(Store::open(&self.dir)?);
        out
    }
}

/// Everything that must hold of the server at the end, gathered as the
/// history runs.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Visits a laptop was told are on the server: key → (customer, the
    /// server generation that acknowledged it).
    pub confirmed: HashMap<String, (String, u32)>,
    /// Bumped by every restore of the server: what an earlier generation
    /// acknowledged may be gone with it, unless a laptop still holds it.
    pub generation: u32,
    /// Head-office requests refused with a 4xx, by message (not a failure:
    /// a person would read the message; kept for the summary).
    pub refused: Vec<String>,
}

/// One history's machines.
pub struct World {
    rt: tokio::runtime::Runtime,
    root: TempDir,
    server: Option<Server>,
    servers: usize,
    backup_dir: PathBuf,
    laptops: Vec<Laptop>,
    next: u64,
    /// What the history has established so far.
    pub ledger: Ledger,
}

/// Where temporary directories go: memory when the machine has it, so a
/// history costs CPU, not fsyncs.
fn temp_root() -> std::io::Result<TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new().prefix("crm-sim").tempdir_in(shm) {
            return Ok(dir);
        }
    }
    tempfile::Builder::new().prefix("crm-sim").tempdir()
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().expect("a file name")))?;
        }
    }
    Ok(())
}

impl World {
    /// A server with its users, one laptop per salesperson, each with two
    /// customers of its own, synced; a backup node that has caught up.
    pub fn new() -> Result<World, Broken> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let root = temp_root()?;
        let backup_dir = root.path().join("backup");
        std::fs::create_dir_all(&backup_dir)?;
        let mut world = World {
            rt,
            server: None,
            servers: 0,
            backup_dir,
            laptops: Vec::new(),
            next: 0,
            ledger: Ledger::default(),
            root,
        };
        let data = world.new_server_dir();
        data.create()?;
        world.open_server(data)?;
        let db = world.server()?.db.clone();
        for (login, role) in (0..SALESPEOPLE)
            .map(|n| (login(n), Role::Salesperson))
            .chain([(CLERK.to_string(), Role::Clerk)])
        {
            world.rt.block_on(db.insert_user(NewUser {
                login: login.clone(),
                display_name: login,
                role,
                password_hash: PasswordHash::from_stored("unused".into()),
                password_expires_at: None,
                position: None,
            }))?;
        }
        for n in 0..SALESPEOPLE {
            let dir = world.root.path().join(format!("laptop{n}"));
            let store = Store::init(&dir, &login(n), &login(n))?;
            world.laptops.push(Laptop {
                user: login(n),
                dir,
                store: Some(store),
                copies: Vec::new(),
            });
            world.new_customer(n)?;
            world.new_customer(n)?;
            world.sync(n, false)?;
        }
        world.backup_catch_up()?;
        Ok(world)
    }

    fn new_server_dir(&mut self) -> DataDir {
        self.servers += 1;
        DataDir::new(self.root.path().join(format!("server{}", self.servers)))
    }

    fn open_server(&mut self, data: DataDir) -> Result<(), Broken> {
        let db = self.rt.block_on(Db::open(&data.db_path()))?;
        self.rt.block_on(crm_server::rules::backfill(&db))?;
        self.server = Some(Server {
            engine: SyncEngine::new(db.clone()),
            hub: BackupHub::new(false, Vec::new()),
            db,
            data,
        });
        Ok(())
    }

    fn server(&self) -> Result<&Server, Broken> {
        self.server
            .as_ref()
            .ok_or_else(|| Broken("no server is running".into()))
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    /// How many laptops there are now.
    pub fn laptops(&self) -> usize {
        self.laptops.len()
    }

    /// The customer a laptop's `pick` means, if it holds any.
    fn pick_own(&mut self, laptop: usize, pick: usize) -> Result<Option<String>, Broken> {
        let rows = self.laptops[laptop].store().list()?;
        let mut ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
        ids.sort();
        Ok((!ids.is_empty()).then(|| ids[pick % ids.len()].clone()))
    }

    /// The customer head office's `pick` means, if the server holds any.
    fn pick_any(&self, pick: usize) -> Result<Option<String>, Broken> {
        let ids = self.server_heads()?;
        let ids: Vec<&String> = ids.keys().collect();
        Ok((!ids.is_empty()).then(|| ids[pick % ids.len()].clone()))
    }

    /// Every document on the server: id → (heads in hex, salesperson).
    pub fn server_heads(
        &self,
    ) -> Result<std::collections::BTreeMap<String, (Vec<String>, String)>, Broken> {
        let db = self.server()?.db.clone();
        Ok(self.rt.block_on(db.read_with(|conn| {
            let mut out = std::collections::BTreeMap::new();
            for h in documents::visible(conn, "", true)? {
                let sp = documents::salesperson(conn, &h.id)?.unwrap_or_default();
                out.insert(h.id, (crm_shared::sync::heads_to_hex(&h.heads), sp));
            }
            Ok::<_, DbError>(out)
        }))?)
    }

    /// The server's card of customer `id`.
    pub fn server_card(&self, id: &str) -> Result<Option<Customer>, Broken> {
        let db = self.server()?.db.clone();
        let id = id.to_owned();
        let stored = self
            .rt
            .block_on(db.read_with(move |conn| Ok::<_, DbError>(documents::load(conn, &id)?)))?;
        match stored {
            None => Ok(None),
            Some(s) => {
                let doc = crm_shared::CustomerDoc::load(&s.bytes, automerge::ActorId::random())?;
                Ok(Some(doc.customer()?))
            }
        }
    }

    /// A laptop's documents: id → heads in hex.
    pub fn laptop_heads(
        &mut self,
        laptop: usize,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>, Broken> {
        Ok(self.laptops[laptop]
            .store()
            .have()?
            .into_iter()
            .map(|d| (d.id, d.heads))
            .collect())
    }

    /// A laptop's user and its cards.
    pub fn laptop_cards(&mut self, laptop: usize) -> Result<(String, Vec<Customer>), Broken> {
        let l = &mut self.laptops[laptop];
        Ok((l.user.clone(), l.store().cards()?))
    }

    /// Whether a laptop has nothing left to send and nothing set aside.
    pub fn laptop_quiet(&mut self, laptop: usize) -> Result<Option<String>, Broken> {
        let store = self.laptops[laptop].store();
        let pending = store.pending_count()?;
        let aside = store.aside()?;
        Ok(if pending == 0 && aside.is_empty() {
            None
        } else {
            Some(format!("{pending} pending, set aside: {aside:?}"))
        })
    }

    /// A laptop as a person reads it: its number and salesperson.
    fn who(&self, laptop: usize) -> String {
        format!("laptop {laptop} ({})", self.laptops[laptop].user)
    }

    /// Runs one event; returns what it did, with every index resolved to
    /// the laptop or customer it meant (for a readable shrunk history).
    pub fn apply(&mut self, event: crate::sim::Event) -> Result<String, Broken> {
        use crate::sim::Event::*;
        let n = self.laptops.len();
        let nothing = |what: String| Ok(format!("({what}: nothing to do)"));
        match event {
            LaptopEdit {
                laptop,
                pick,
                value,
            } => {
                let laptop = laptop % n;
                let Some(id) = self.pick_own(laptop, pick)? else {
                    return nothing(self.who(laptop));
                };
                let store = self.laptops[laptop].store();
                let note = store.note(Action::Edit, Some("客户告知"));
                store.change(&id, &note, |c| {
                    c.industry = format!("行业{value}");
                    Ok(())
                })?;
                Ok(format!("{} edits {id}", self.who(laptop)))
            }
            Visit { laptop, pick } => {
                let laptop = laptop % n;
                let Some(id) = self.pick_own(laptop, pick)? else {
                    return nothing(self.who(laptop));
                };
                let key = self.id("v");
                let l = &mut self.laptops[laptop];
                let by = l.user.clone();
                let store = l.store();
                let note = store.note(Action::Activity, None);
                store.change(&id, &note, |c| {
                    c.activities.insert(
                        key.clone(),
                        Activity {
                            at: now(),
                            kind: ActivityKind::Visit,
                            by,
                            notes: "拜访采购经理".into(),
                            intent: None,
                            next_followup: None,
                        },
                    );
                    Ok(())
                })?;
                Ok(format!("{} logs visit {key} on {id}", self.who(laptop)))
            }
            NewCustomer { laptop } => {
                let id = self.new_customer(laptop % n)?;
                Ok(format!("{} adds customer {id}", self.who(laptop % n)))
            }
            Contact { laptop, pick } => {
                let laptop = laptop % n;
                let Some(id) = self.pick_own(laptop, pick)? else {
                    return nothing(self.who(laptop));
                };
                let key = self.id("k");
                let store = self.laptops[laptop].store();
                let note = store.note(Action::Contact, None);
                store.change(&id, &note, |c| {
                    c.contacts.insert(
                        key.clone(),
                        crm_shared::customer::Contact {
                            name: format!("联系人{key}"),
                            ..Default::default()
                        },
                    );
                    Ok(())
                })?;
                Ok(format!("{} adds contact {key} to {id}", self.who(laptop)))
            }
            OfficeEdit { pick, value } => {
                let Some(id) = self.pick_any(pick)? else {
                    return nothing("head office".into());
                };
                let done = self.office_edit(id.clone(), "industry", format!("总部行业{value}"))?;
                Ok(format!("head office edits {id}{done}"))
            }
            Reassign { pick, to } => {
                let Some(id) = self.pick_any(pick)? else {
                    return nothing("head office".into());
                };
                let done = self.office_edit(id.clone(), "salesperson", login(to))?;
                Ok(format!("head office gives {id} to {}{done}", login(to)))
            }
            Sync { laptop } => {
                let out = self.sync(laptop % n, false)?;
                Ok(format!("{} syncs{}", self.who(laptop % n), out.said))
            }
            SyncCutMidReply { laptop } => {
                self.sync(laptop % n, true)?;
                Ok(format!(
                    "{} syncs; the answer is lost",
                    self.who(laptop % n)
                ))
            }
            CopyLaptop { laptop } => {
                let who = self.who(laptop % n);
                let l = &mut self.laptops[laptop % n];
                if l.copies.len() >= MAX_COPIES {
                    return nothing(who);
                }
                let to = l.dir.with_extension(format!("copy{}", l.copies.len()));
                l.closed(|dir| Ok(copy_dir(dir, &to)?))?;
                l.copies.push(to);
                Ok(format!(
                    "{who}'s store is copied aside as copy {}",
                    l.copies.len() - 1
                ))
            }
            RestoreLaptop { laptop, copy } => {
                let who = self.who(laptop % n);
                let l = &mut self.laptops[laptop % n];
                if l.copies.is_empty() {
                    return nothing(who);
                }
                let copy = copy % l.copies.len();
                let from = l.copies[copy].clone();
                l.closed(|dir| {
                    std::fs::remove_dir_all(dir)?;
                    Ok(copy_dir(&from, dir)?)
                })?;
                Ok(format!("{who} is put back to its copy {copy}"))
            }
            CloneLaptop { laptop } => {
                let who = self.who(laptop % n);
                if n >= MAX_LAPTOPS {
                    return nothing(who);
                }
                let to = self.root.path().join(format!("laptop{n}"));
                let l = &mut self.laptops[laptop % n];
                let user = l.user.clone();
                l.closed(|dir| Ok(copy_dir(dir, &to)?))?;
                self.laptops.push(Laptop {
                    user,
                    store: Some(Store::open(&to)?),
                    dir: to,
                    copies: Vec::new(),
                });
                Ok(format!("{who}'s disk is cloned to laptop {n}"))
            }
            ServerRestart => {
                let data = self.server.take().map(|s| s.data);
                if let Some(data) = data {
                    self.open_server(data)?;
                }
                Ok("the server restarts".into())
            }
            BackupCatchUp => {
                self.backup_catch_up()?;
                Ok("the backup node catches up".into())
            }
            RestoreServer => self.restore_server(),
        }
    }

    fn new_customer(&mut self, laptop: usize) -> Result<String, Broken> {
        let id = self.id("c-");
        let l = &mut self.laptops[laptop];
        let card = Customer {
            name: format!("客户{id}"),
            salesperson: l.user.clone(),
            region: "华东".into(),
            entered_at: now(),
            id: id.clone(),
            ..Default::default()
        };
        l.store().create(&card, true)?;
        Ok(id)
    }

    /// A clerk's edit through the console's code path; returns "" or, when
    /// refused with a 4xx, the message a person would read.
    fn office_edit(&mut self, id: String, field: &str, value: String) -> Result<String, Broken> {
        let db = self.server()?.db.clone();
        let clerk = Caller {
            login: CLERK.into(),
            role: Role::Clerk,
            device_id: "console".into(),
        };
        let done = self.rt.block_on(crm_server::archive::edit(
            &db,
            clerk,
            id,
            vec![(field.to_string(), value)],
            "总部核对".into(),
            now(),
        ));
        match done {
            Ok(_) => Ok(String::new()),
            Err(ServiceError::Db(e)) => Err(Broken(format!("head-office edit: 5xx {e}"))),
            Err(e) => {
                self.ledger.refused.push(e.to_string());
                Ok(format!(" (refused: {e})"))
            }
        }
    }

    /// One `crm sync` of laptop `i`. With `cut`, the first answer is lost
    /// after the server stored the push.
    pub fn sync(&mut self, i: usize, cut: bool) -> Result<SyncOutcome, Broken> {
        let Some(server) = self.server.as_ref() else {
            return Ok(SyncOutcome::default());
        };
        let l = &mut self.laptops[i];
        let caller = Caller {
            login: l.user.clone(),
            role: Role::Salesperson,
            device_id: format!("laptop{i}"),
        };
        let mut refused = None;
        let store = l.store.as_mut().expect("open");
        let result = crm_client::sync::run(
            store,
            |req| {
                let answer =
                    self.rt
                        .block_on(server.engine.sync(caller.clone(), req.clone(), now()));
                match answer {
                    Ok(_) if cut => Err(ClientError::Net(NetError::Interrupted {
                        url: "sim".into(),
                        reason: "cut".into(),
                    })),
                    Ok((resp, _)) => Ok(resp),
                    Err(e) => {
                        refused = Some(e.to_string());
                        Err(ClientError::Net(NetError::Interrupted {
                            url: "sim".into(),
                            reason: "refused".into(),
                        }))
                    }
                }
            },
            |_| {},
        );
        if let Some(why) = refused {
            return Err(Broken(format!(
                "the server refused laptop {i}'s sync: {why}"
            )));
        }
        let report = match result {
            Ok(r) => r,
            Err(ClientError::Net(NetError::Interrupted { .. })) if cut => {
                return Ok(SyncOutcome::default())
            }
            Err(e) => return Err(Broken(format!("laptop {i}'s sync failed: {e}"))),
        };
        let quiet = report.set_aside.is_empty() && store.pending_count()? == 0;
        if quiet {
            for card in store.cards()? {
                for key in card.activities.keys() {
                    self.ledger
                        .confirmed
                        .entry(key.clone())
                        .or_insert((card.id.clone(), self.ledger.generation));
                }
            }
        }
        let mut said = String::new();
        if report.rotated {
            said.push_str("; it writes under a fresh actor");
        }
        if !report.rebased.is_empty() {
            said.push_str(&format!("; re-records {:?}", report.rebased));
        }
        if !report.set_aside.is_empty() {
            said.push_str(&format!("; sets aside {:?}", report.set_aside));
        }
        Ok(SyncOutcome {
            moved: report.received + report.removed + report.sent,
            said,
        })
    }

    fn backup_catch_up(&mut self) -> Result<(), Broken> {
        let server = self.server()?;
        for _ in 0..1_000 {
            let mut store = crm_backup::store::Store::open(&self.backup_dir)?;
            let pos = store.position()?;
            let req = PullRequest {
                epoch: pos.epoch.clone(),
                after: pos.after,
                records_version: pos.records_version,
                access_after: Some(pos.access_after),
                wait_ms: 0,
            };
            let resp =
                self.rt
                    .block_on(crm_server::backup::pull(&server.db, &server.hub, req, now))?;
            if pos.epoch.as_deref().is_some_and(|e| e != resp.epoch) {
                store.close()?;
                crm_backup::follow::rotate(
                    &self.backup_dir,
                    pos.epoch.as_deref().unwrap_or_default(),
                )?;
                continue;
            }
            let after = store.apply(&resp, now())?;
            let done = !resp.more && after >= resp.head;
            store.close()?;
            if done {
                return Ok(());
            }
        }
        Err(Broken("the backup node never caught up".into()))
    }

    fn restore_server(&mut self) -> Result<String, Broken> {
        let upto = crm_backup::store::Store::open_existing(&self.backup_dir)?
            .position()?
            .after;
        if upto == 0 {
            return Ok("(the backup holds nothing to restore: nothing to do)".into());
        }
        self.server = None;
        let data = self.new_server_dir();
        crm_backup::restore::restore(
            &self.backup_dir,
            data.path(),
            crm_backup::restore::Point::Latest,
            false,
            |_, _| {},
        )?;
        self.open_server(data)?;
        self.ledger.generation += 1;
        Ok(format!(
            "the server is lost and restored from the backup (log entry {upto})"
        ))
    }

    /// Catches the backup node up, verifies it, and compares it with the
    /// server document by document.
    pub fn check_backup(&mut self) -> Result<(), Broken> {
        self.backup_catch_up()?;
        let report = crm_backup::verify::verify(&self.backup_dir, true, |_, _| {})?;
        if !report.ok() {
            return Err(Broken(format!("the backup does not verify: {report:?}")));
        }
        let server = self.server_heads()?;
        let store = crm_backup::store::Store::open_existing(&self.backup_dir)?;
        for (id, (heads, _)) in &server {
            let doc = store
                .doc(id)?
                .ok_or_else(|| Broken(format!("the backup lacks customer {id}")))?;
            if &crm_shared::sync::heads_to_hex(&doc.heads) != heads {
                return Err(Broken(format!(
                    "the backup's {id} differs from the server's"
                )));
            }
        }
        Ok(())
    }
}

/// What one sync did, for the quiet-down loop.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    /// Documents sent, received or removed.
    pub moved: usize,
    /// What a person would notice, for the history's description.
    pub said: String,
}
