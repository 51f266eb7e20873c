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
use crm_shared::api::DecideRequest;
use crm_shared::codes::{ActivityKind, ComplaintCategory, ComplaintStep, Position, Role};
use crm_shared::complaint::{self, StepInput};
use crm_shared::credit::CreditStatus;
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

/// How a sync is cut, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// It runs to the end.
    No,
    /// The request never reaches the server.
    Request,
    /// The server stores the push; the answer is lost.
    Reply,
}

/// A manager at each position of the approval chain.
fn manager(p: Position) -> String {
    format!("m-{}", p.code())
}

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
    /// Bumped when head office revokes the device and it signs in again.
    device: u32,
    /// How far its clock is off true time (ms).
    skew: i64,
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
        crate::unlock(&self.dir);
        self.store = Some(Store::open(&self.dir)?);
        out
    }
}

/// Everything that must hold of the server at the end, gathered as the
/// history runs.
#[derive(Debug, Default, Clone)]
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

impl Ledger {
    /// Records `visits` of customer `id` as acknowledged by the server of
    /// this generation (the first acknowledgement of each counts).
    fn confirm<'a>(&mut self, id: &str, visits: impl Iterator<Item = &'a String>) {
        for visit in visits {
            self.confirmed
                .entry(visit.clone())
                .or_insert((id.to_string(), self.generation));
        }
    }
}

/// One history's machines.
pub struct World {
    rt: tokio::runtime::Runtime,
    root: TempDir,
    server: Option<Server>,
    servers: usize,
    /// How far the server's clock is off true time (ms).
    skew: i64,
    backup_dir: PathBuf,
    laptops: Vec<Laptop>,
    /// Every salesperson's login, laptop or not.
    salespeople: Vec<String>,
    next: u64,
    /// What the history has established so far.
    pub ledger: Ledger,
    /// Backup stores of nodes killed mid-history: left open, as a dead
    /// process leaves its files unclosed, until the history ends (when
    /// the system would have closed them; a process running histories by
    /// the thousand ran out of file descriptors).
    killed: Vec<crm_backup::store::Store>,
    /// Document states (id, heads) whose visits the ledger has taken in.
    read: std::collections::HashSet<(String, String)>,
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

/// The document of customer `id` in the server's store `db`.
fn doc_in(
    rt: &tokio::runtime::Runtime,
    db: &Db,
    id: &str,
) -> Result<Option<crm_shared::CustomerDoc>, Broken> {
    let db = db.clone();
    let id = id.to_owned();
    let stored =
        rt.block_on(db.read_with(move |conn| Ok::<_, DbError>(documents::load(conn, &id)?)))?;
    match stored {
        None => Ok(None),
        Some(s) => Ok(Some(crm_shared::CustomerDoc::load(
            &s.bytes,
            automerge::ActorId::random(),
        )?)),
    }
}

/// The first change of `ours` signed by `login` that the server's copy
/// `theirs` has lost, by its note: neither there as such nor recorded
/// again with the same time and note, and its effect not there either
/// (recording it again on `theirs` would change something). A laptop
/// must not let go of a customer holding such a change.
fn lost_changes(
    ours: &crm_shared::CustomerDoc,
    theirs: Option<crm_shared::CustomerDoc>,
    login: &str,
) -> Result<Option<String>, Broken> {
    let signed = |doc: &crm_shared::CustomerDoc| -> Vec<(i64, String)> {
        doc.automerge()
            .get_changes_meta(&[])
            .into_iter()
            .filter_map(|m| {
                let message = m.message.as_deref()?.to_string();
                let note = crm_shared::note::ChangeNote::from_message(Some(&message))?;
                (note.by == login).then_some((m.timestamp, message))
            })
            .collect()
    };
    let mine = signed(ours);
    let Some(theirs) = theirs else {
        return Ok(mine.into_iter().next().map(|(_, m)| m));
    };
    let there = signed(&theirs);
    let bytes = theirs.save();
    for (at, message) in mine.into_iter().filter(|c| !there.contains(c)) {
        let only =
            |n: Option<&crm_shared::note::ChangeNote>| n.is_some_and(|n| n.to_message() == message);
        let again = crm_shared::rebase::rebase(ours, &bytes, automerge::ActorId::random(), only)?;
        if again.rerecorded > 0 {
            return Ok(Some(format!("{message} (at {at})")));
        }
    }
    Ok(None)
}

/// Copies the directory tree `from` to `to`.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let into = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_tree(&path, &into)?;
        } else {
            std::fs::copy(&path, into)?;
        }
    }
    Ok(())
}

/// The world every history starts from, closed on disk: built once per
/// thread, and its files copied for each history. Building it (a server
/// with its users and migrations, three laptops, their first syncs, the
/// backup node's first pulls) took a third of a 60-event history.
struct Template {
    root: TempDir,
    /// Each laptop's salesperson and directory, relative to the root.
    laptops: Vec<(String, PathBuf)>,
    servers: usize,
    next: u64,
    ledger: Ledger,
}

thread_local! {
    static TEMPLATE: std::cell::RefCell<Option<std::rc::Rc<Template>>> =
        const { std::cell::RefCell::new(None) };
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
    /// Each is a copy of this thread's first such world.
    pub fn new() -> Result<World, Broken> {
        let template = match TEMPLATE.with(|t| t.borrow().clone()) {
            Some(t) => t,
            None => {
                let t = std::rc::Rc::new(World::template()?);
                TEMPLATE.with(|c| *c.borrow_mut() = Some(t.clone()));
                t
            }
        };
        World::copy_of(&template)
    }

    /// A world built from nothing, then closed, its files kept.
    fn template() -> Result<Template, Broken> {
        let mut world = World::build()?;
        world.server = None;
        for l in &mut world.laptops {
            l.store = None;
        }
        let root = temp_root()?;
        copy_tree(world.root.path(), root.path())?;
        let laptops = world
            .laptops
            .iter()
            .map(|l| {
                let rel = l
                    .dir
                    .strip_prefix(world.root.path())
                    .expect("under the root");
                (l.user.clone(), rel.to_path_buf())
            })
            .collect();
        Ok(Template {
            root,
            laptops,
            servers: world.servers,
            next: world.next,
            ledger: world.ledger.clone(),
        })
    }

    /// A world opened on a copy of `t`'s files.
    fn copy_of(t: &Template) -> Result<World, Broken> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let root = temp_root()?;
        copy_tree(t.root.path(), root.path())?;
        let mut world = World {
            rt,
            server: None,
            servers: t.servers,
            skew: 0,
            backup_dir: root.path().join("backup"),
            laptops: Vec::new(),
            salespeople: (0..SALESPEOPLE).map(login).collect(),
            next: t.next,
            ledger: t.ledger.clone(),
            killed: Vec::new(),
            read: Default::default(),
            root,
        };
        let data = DataDir::new(world.root.path().join(format!("server{}", t.servers)));
        world.open_server(data)?;
        for (user, rel) in &t.laptops {
            let dir = world.root.path().join(rel);
            crate::unlock(&dir);
            let store = Store::open(&dir)?;
            world.laptops.push(Laptop {
                user: user.clone(),
                device: 0,
                skew: 0,
                dir,
                store: Some(store),
                copies: Vec::new(),
            });
        }
        Ok(world)
    }

    fn build() -> Result<World, Broken> {
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
            skew: 0,
            backup_dir,
            laptops: Vec::new(),
            salespeople: (0..SALESPEOPLE).map(login).collect(),
            next: 0,
            ledger: Ledger::default(),
            killed: Vec::new(),
            read: Default::default(),
            root,
        };
        let data = world.new_server_dir();
        data.create()?;
        world.open_server(data)?;
        let db = world.server()?.db.clone();
        let users = (0..SALESPEOPLE)
            .map(|n| (login(n), Role::Salesperson, None))
            .chain([(CLERK.to_string(), Role::Clerk, None)])
            .chain(
                Position::ALL
                    .iter()
                    .map(|p| (manager(*p), Role::Manager, Some(*p))),
            );
        for (login, role, position) in users {
            world.add_user(&db, login, role, position)?;
        }
        for n in 0..SALESPEOPLE {
            world.new_laptop(login(n))?;
            world.new_customer(n)?;
            world.new_customer(n)?;
            world.sync(n, Cut::No)?;
        }
        world.backup_catch_up()?;
        Ok(world)
    }

    fn add_user(
        &self,
        db: &Db,
        login: String,
        role: Role,
        position: Option<Position>,
    ) -> Result<(), Broken> {
        self.rt.block_on(db.insert_user(NewUser {
            display_name: login.clone(),
            login,
            role,
            password_hash: PasswordHash::from_stored("unused".into()),
            password_expires_at: None,
            position,
            must_change_password: false,
        }))?;
        Ok(())
    }

    /// A laptop set up from nothing for `user`; returns its number.
    fn new_laptop(&mut self, user: String) -> Result<usize, Broken> {
        let n = self.laptops.len();
        let dir = self.root.path().join(format!("laptop{n}"));
        crate::unlock(&dir);
        let store = Store::init(&dir, &user, &user)?;
        self.laptops.push(Laptop {
            user,
            device: 0,
            skew: 0,
            dir,
            store: Some(store),
            copies: Vec::new(),
        });
        Ok(n)
    }

    /// The server's clock.
    fn server_now(&self) -> i64 {
        now() + self.skew
    }

    fn caller(login: &str, role: Role) -> Caller {
        Caller {
            login: login.into(),
            role,
            device_id: "console".into(),
        }
    }

    /// A head-office request's outcome as the history tells it: "" when
    /// done, the message a person would read when refused with a 4xx; a
    /// 5xx breaks the history.
    fn office<T>(&mut self, what: &str, done: Result<T, ServiceError>) -> Result<String, Broken> {
        match done {
            Ok(_) => Ok(String::new()),
            Err(ServiceError::Db(e)) => Err(Broken(format!("{what}: 5xx {e}"))),
            Err(e) => {
                self.ledger.refused.push(e.to_string());
                Ok(format!(" (refused: {e})"))
            }
        }
    }

    /// Each login's role, for judging who changed what.
    pub fn role_of(&self, login: &str) -> Option<Role> {
        if self.salespeople.iter().any(|s| s == login) {
            Some(Role::Salesperson)
        } else if login == CLERK {
            Some(Role::Clerk)
        } else if Position::ALL.iter().any(|p| manager(*p) == login) {
            Some(Role::Manager)
        } else {
            None
        }
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

    /// The server's document of customer `id`.
    pub fn server_doc(&self, id: &str) -> Result<Option<crm_shared::CustomerDoc>, Broken> {
        doc_in(&self.rt, &self.server()?.db, id)
    }

    /// The server's card of customer `id`.
    pub fn server_card(&self, id: &str) -> Result<Option<Customer>, Broken> {
        Ok(self.server_doc(id)?.map(|d| d.card().clone()))
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

    /// A salesperson's change, on laptop `laptop`, to the customer its
    /// `pick` means: `edit` gets the card, the salesperson's login and a
    /// fresh key of `prefix` (for a new visit, contact, ...), and the change
    /// is noted as `action` with its reason. Returns the customer and the
    /// key, or `None` when the laptop holds no customer (no key is used
    /// then, so that ids stay as they were drawn).
    fn laptop_change(
        &mut self,
        laptop: usize,
        pick: usize,
        prefix: Option<&str>,
        (action, reason): (Action, Option<&str>),
        edit: impl FnOnce(&mut Customer, &str, &str),
    ) -> Result<Option<(String, String)>, Broken> {
        let Some(id) = self.pick_own(laptop, pick)? else {
            return Ok(None);
        };
        let key = prefix.map(|p| self.id(p)).unwrap_or_default();
        let l = &mut self.laptops[laptop];
        let by = l.user.clone();
        let store = l.store();
        let note = store.note(action, reason);
        store.change(&id, &note, |c| {
            edit(c, &by, &key);
            Ok(())
        })?;
        Ok(Some((id, key)))
    }

    /// A laptop as a person reads it: its number and salesperson.
    fn who(&self, laptop: usize) -> String {
        format!("laptop {laptop} ({})", self.laptops[laptop].user)
    }

    /// Runs one event; returns what it did, with every index resolved to
    /// the laptop or customer it meant (for a readable shrunk history).
    /// What happens on a laptop happens by that laptop's clock.
    pub fn apply(&mut self, event: crate::sim::Event) -> Result<String, Broken> {
        let n = self.laptops.len();
        let skew = event.laptop().map_or(0, |i| self.laptops[i % n].skew);
        crm_client::clock::with_skew(skew, || self.apply_here(event))
    }

    fn apply_here(&mut self, event: crate::sim::Event) -> Result<String, Broken> {
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
                let done = self.laptop_change(
                    laptop,
                    pick,
                    None,
                    (Action::Edit, Some("客户告知")),
                    |c, _, _| c.industry = format!("行业{value}"),
                )?;
                Ok(match done {
                    Some((id, _)) => format!("{} edits {id}", self.who(laptop)),
                    None => format!("({}: nothing to do)", self.who(laptop)),
                })
            }
            Visit { laptop, pick } => {
                let laptop = laptop % n;
                let done = self.laptop_change(
                    laptop,
                    pick,
                    Some("v"),
                    (Action::Activity, None),
                    |c, by, key| {
                        c.activities.insert(
                            key.into(),
                            Activity {
                                at: now(),
                                kind: ActivityKind::Visit,
                                by: by.into(),
                                notes: "拜访采购经理".into(),
                                intent: None,
                                next_followup: None,
                            },
                        );
                    },
                )?;
                Ok(match done {
                    Some((id, key)) => format!("{} logs visit {key} on {id}", self.who(laptop)),
                    None => format!("({}: nothing to do)", self.who(laptop)),
                })
            }
            NewCustomer { laptop } => {
                let id = self.new_customer(laptop % n)?;
                Ok(format!("{} adds customer {id}", self.who(laptop % n)))
            }
            Contact { laptop, pick } => {
                let laptop = laptop % n;
                let done = self.laptop_change(
                    laptop,
                    pick,
                    Some("k"),
                    (Action::Contact, None),
                    |c, _, key| {
                        c.contacts.insert(
                            key.into(),
                            crm_shared::customer::Contact {
                                name: format!("联系人{key}"),
                                ..Default::default()
                            },
                        );
                    },
                )?;
                Ok(match done {
                    Some((id, key)) => format!("{} adds contact {key} to {id}", self.who(laptop)),
                    None => format!("({}: nothing to do)", self.who(laptop)),
                })
            }
            CreditRequest {
                laptop,
                pick,
                amount,
            } => {
                let laptop = laptop % n;
                let done = self.laptop_change(
                    laptop,
                    pick,
                    Some("cr"),
                    (Action::CreditRequest, Some("客户订货量增加")),
                    |c, by, key| {
                        let current = c.credit.limit;
                        c.credit_requests.insert(
                            key.into(),
                            crm_shared::customer::CreditRequest {
                                at: now(),
                                by: by.into(),
                                current,
                                proposed: i64::from(amount),
                                reason: "客户订货量增加".into(),
                                decisions: Default::default(),
                            },
                        );
                    },
                )?;
                Ok(match done {
                    Some((id, key)) => {
                        format!("{} asks credit {amount} for {id} ({key})", self.who(laptop))
                    }
                    None => format!("({}: nothing to do)", self.who(laptop)),
                })
            }
            Complaint { laptop, pick } => {
                let laptop = laptop % n;
                // As `crm complaint add` registers one, but under a key of
                // this history's own (`record::complaint` draws a random
                // one, which would make the order the step events pick
                // from differ from run to run).
                let done = self.laptop_change(
                    laptop,
                    pick,
                    Some("q"),
                    (Action::Complaint, None),
                    |c, by, key| {
                        let who = complaint::Handler {
                            login: by,
                            role: Role::Salesperson,
                            position: None,
                        };
                        let k = complaint::register("到货延迟", &who, now())
                            .expect("a salesperson registers a complaint");
                        c.complaints.insert(key.into(), k);
                    },
                )?;
                Ok(match done {
                    Some((id, key)) => {
                        format!("{} registers complaint {key} on {id}", self.who(laptop))
                    }
                    None => format!("({}: nothing to do)", self.who(laptop)),
                })
            }
            ComplaintStep {
                laptop,
                pick,
                office: true,
            } => self.office_complaint_step(pick, laptop),
            ComplaintStep { laptop, pick, .. } => {
                let laptop = laptop % n;
                self.laptop_complaint_step(laptop, pick)
            }
            Decide { pick, approve } => self.decide(pick, approve),
            Resolve { pick } => self.resolve(pick),
            Grade => {
                let db = self.server()?.db.clone();
                let at = self.server_now();
                let day = crm_shared::day::Day::from_millis_local(at);
                let done = self.rt.block_on(crm_server::rules::apply_grades(
                    &db,
                    Self::caller(CLERK, Role::Clerk),
                    day,
                    at,
                ));
                let said = self.office("grading", done)?;
                Ok(format!("head office runs grading{said}"))
            }
            RevokeDevice { laptop } => {
                let laptop = laptop % n;
                let l = &mut self.laptops[laptop];
                let wiped = l.store().wipe_customers()?;
                l.device += 1;
                Ok(format!(
                    "{}'s device is revoked: {wiped} customers wiped, signed in again",
                    self.who(laptop)
                ))
            }
            AddUser => {
                let login = format!("s{}", self.salespeople.len());
                let db = self.server()?.db.clone();
                self.add_user(&db, login.clone(), Role::Salesperson, None)?;
                self.salespeople.push(login.clone());
                Ok(format!("head office adds salesperson {login}"))
            }
            NewLaptop { user } => {
                if n >= MAX_LAPTOPS {
                    return nothing("a new laptop".into());
                }
                let user = self.salespeople[user % self.salespeople.len()].clone();
                let laptop = self.new_laptop(user)?;
                Ok(format!("{} is set up from nothing", self.who(laptop)))
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
                let to = self.salespeople[to % self.salespeople.len()].clone();
                let done = self.office_edit(id.clone(), "salesperson", to.clone())?;
                Ok(format!("head office gives {id} to {to}{done}"))
            }
            Sync { laptop } => {
                let out = self.sync(laptop % n, Cut::No)?;
                Ok(format!("{} syncs{}", self.who(laptop % n), out.said))
            }
            SyncCutMidReply { laptop } => {
                self.sync(laptop % n, Cut::Reply)?;
                Ok(format!(
                    "{} syncs; the answer is lost",
                    self.who(laptop % n)
                ))
            }
            SyncCutMidRequest { laptop } => {
                self.sync(laptop % n, Cut::Request)?;
                Ok(format!(
                    "{} syncs; the request is lost",
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
                    device: 0,
                    skew: 0,
                    store: Some({
                        crate::unlock(&to);
                        Store::open(&to)?
                    }),
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
            RestoreServer => self.restore_server(0),
            RestoreServerEarlier { back } => self.restore_server(back),
            ServerClock { minutes } => {
                self.skew = minutes * 60_000;
                Ok(format!("the server's clock is now {minutes} min off"))
            }
            LaptopClock { laptop, minutes } => {
                self.laptops[laptop % n].skew = minutes * 60_000;
                Ok(format!(
                    "{}'s clock is now {minutes} min off",
                    self.who(laptop % n)
                ))
            }
            BackupCut => {
                self.backup_pull_once(false)?;
                Ok("the backup node pulls; the answer is lost".into())
            }
            BackupCrash => {
                self.backup_pull_once(true)?;
                Ok("the backup node stores a pull and is killed".into())
            }
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
        let done = self.rt.block_on(crm_server::archive::edit(
            &db,
            Self::caller(CLERK, Role::Clerk),
            id,
            vec![(field.to_string(), value)],
            "总部核对".into(),
            self.server_now(),
        ));
        self.office("head-office edit", done)
    }

    /// The manager whose turn it is decides on waiting request `pick`.
    fn decide(&mut self, pick: usize, approve: bool) -> Result<String, Broken> {
        let db = self.server()?.db.clone();
        let any = Self::caller(&manager(Position::ALL[0]), Role::Manager);
        let waiting: Vec<_> = self
            .rt
            .block_on(crm_server::rules::credit_requests(&db, any, None))?
            .into_iter()
            .filter_map(|r| match r.status {
                CreditStatus::Pending(p) => Some((r.customer, r.request_id, p)),
                _ => None,
            })
            .collect();
        if waiting.is_empty() {
            return Ok("(no credit request waits: nothing to do)".into());
        }
        let (id, rid, position) = waiting[pick % waiting.len()].clone();
        let done = self.rt.block_on(crm_server::rules::decide(
            &db,
            Self::caller(&manager(position), Role::Manager),
            Some(position),
            id.clone(),
            rid.clone(),
            DecideRequest {
                approve,
                comment: if approve {
                    String::new()
                } else {
                    "额度过高".into()
                },
            },
            self.server_now(),
        ));
        let said = self.office("decision", done)?;
        let verdict = if approve { "approves" } else { "rejects" };
        Ok(format!(
            "{} {verdict} {rid} of {id}{said}",
            manager(position)
        ))
    }

    /// What a step says, whichever it is: `pick` varies the judgement,
    /// the customer's agreement and satisfaction.
    fn step_input(pick: usize) -> StepInput {
        StepInput {
            category: Some(if pick.is_multiple_of(2) {
                ComplaintCategory::Quality
            } else {
                ComplaintCategory::NonQuality
            }),
            investigation: "运输途中受潮".into(),
            remedy: "补发".into(),
            sample_returned: Some(pick.is_multiple_of(3)),
            inspection: "外箱破损".into(),
            responsible_department: "物流部".into(),
            opinion: "同意".into(),
            agreed: Some(!pick.is_multiple_of(4)),
            negotiation: "电话沟通".into(),
            execution: "已补发".into(),
            litigation: "已起诉".into(),
            satisfied: Some(!pick.is_multiple_of(5)),
        }
    }

    /// Head office takes the next step of open complaint `pick` (`variant`
    /// varies what it says), as the clerk or the manager whose step it is.
    fn office_complaint_step(&mut self, pick: usize, variant: usize) -> Result<String, Broken> {
        let db = self.server()?.db.clone();
        let clerk = Self::caller(CLERK, Role::Clerk);
        let open = crm_server::db::complaints::ComplaintFilter {
            open: Some(true),
            ..Default::default()
        };
        let (_, mut rows) = self.rt.block_on(crm_server::complaints::list(
            &db,
            clerk.clone(),
            open,
            0,
            10_000,
        ))?;
        // By name, not by time: the same history picks the same one.
        rows.sort_by(|a, b| (&a.customer_id, &a.key).cmp(&(&b.customer_id, &b.key)));
        if rows.is_empty() {
            return Ok("(no open complaint: nothing to do)".into());
        }
        let r = &rows[pick % rows.len()];
        let Some(step) = complaint::next_step(&r.complaint) else {
            return Ok("(the complaint is closed: nothing to do)".into());
        };
        let (who, role, position) = match step {
            ComplaintStep::Opinion | ComplaintStep::Litigation => (
                manager(Position::SalesManager),
                Role::Manager,
                Some(Position::SalesManager),
            ),
            _ => (CLERK.to_string(), Role::Clerk, None),
        };
        let done = self.rt.block_on(crm_server::complaints::take_step(
            &db,
            Self::caller(&who, role),
            position,
            (r.customer_id.clone(), r.key.clone()),
            step,
            Self::step_input(variant),
            self.server_now(),
        ));
        let said = self.office("complaint step", done)?;
        Ok(format!(
            "{who} takes “{}” of complaint {} on {}{said}",
            step.label(),
            r.key,
            r.customer_id
        ))
    }

    /// The laptop takes the next step of one of its open complaints. A
    /// step that is head office's is tried too: the laptop must refuse it
    /// (if it did not, the end-of-history check finds the salesperson's
    /// change to head office's part on the server).
    fn laptop_complaint_step(&mut self, laptop: usize, pick: usize) -> Result<String, Broken> {
        let who = self.who(laptop);
        let store = self.laptops[laptop].store();
        let mut waiting = Vec::new();
        for row in store.list()? {
            let card = store.get(&row.id)?;
            for (key, k) in &card.complaints {
                if let Some(step) = complaint::next_step(k) {
                    waiting.push((row.id.clone(), key.clone(), step));
                }
            }
        }
        if waiting.is_empty() {
            return Ok(format!("({who}: no open complaint)"));
        }
        waiting.sort();
        let (id, key, step) = waiting[pick % waiting.len()].clone();
        let taken =
            crm_client::record::complaint_step(store, &id, &key, step, &Self::step_input(pick));
        let said = match taken {
            Ok(()) => String::new(),
            Err(e) if !complaint::may_take(step, Role::Salesperson, None) => {
                format!(" (refused: {e})")
            }
            Err(e) => return Err(e.into()),
        };
        Ok(format!(
            "{who} takes “{}” of complaint {key} on {id}{said}",
            step.label()
        ))
    }

    /// Head office settles open conflict `pick` on its first value.
    fn resolve(&mut self, pick: usize) -> Result<String, Broken> {
        let db = self.server()?.db.clone();
        let clerk = Self::caller(CLERK, Role::Clerk);
        let open: Vec<(String, String, serde_json::Value)> = self
            .rt
            .block_on(crm_server::archive::conflicts(&db, clerk.clone()))?
            .into_iter()
            .flat_map(|c| {
                let id = c.id;
                c.conflicts.into_iter().filter_map(move |f| {
                    let v = f.values.first()?.value.clone();
                    Some((id.clone(), f.path, v))
                })
            })
            .collect();
        if open.is_empty() {
            return Ok("(no open conflict: nothing to do)".into());
        }
        let (id, path, value) = open[pick % open.len()].clone();
        let done = self.rt.block_on(crm_server::archive::resolve(
            &db,
            clerk,
            id.clone(),
            path.clone(),
            value,
            "与业务员核实".into(),
            self.server_now(),
        ));
        let said = self.office("conflict resolution", done)?;
        Ok(format!("head office settles {path} of {id}{said}"))
    }

    /// One `crm sync` of laptop `i`. With `cut`, the first answer is lost
    /// after the server stored the push.
    pub fn sync(&mut self, i: usize, cut: Cut) -> Result<SyncOutcome, Broken> {
        let Some(server) = self.server.as_ref() else {
            return Ok(SyncOutcome::default());
        };
        let skew = self.skew;
        let l = &mut self.laptops[i];
        let laptop_skew = l.skew;
        let caller = Caller {
            login: l.user.clone(),
            role: Role::Salesperson,
            device_id: format!("laptop{i}-{}", l.device),
        };
        let mut refused = None;
        let store = l.store.as_mut().expect("open");
        // Visits not yet sent: a laptop that lets go of their customer in
        // this sync (handed over, or taken away) must have got them to the
        // server first. Kept as stored bytes, loaded only for a customer
        // let go of.
        let mut unsent = Vec::new();
        for id in store.pending_ids()? {
            let bytes = store.document_bytes(&id)?;
            unsent.push((id, bytes));
        }
        let result = crm_client::clock::with_skew(laptop_skew, || {
            crm_client::sync::run(
                store,
                |req| {
                    let lost = || {
                        Err(ClientError::Net(NetError::Interrupted {
                            url: "sim".into(),
                            reason: "cut".into(),
                        }))
                    };
                    if cut == Cut::Request {
                        return lost();
                    }
                    let at = now() + skew;
                    let answer =
                        self.rt
                            .block_on(server.engine.sync(caller.clone(), req.clone(), at));
                    match answer {
                        Ok(_) if cut == Cut::Reply => lost(),
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
            )
        });
        if let Some(why) = refused {
            return Err(Broken(format!(
                "the server refused laptop {i}'s sync: {why}"
            )));
        }
        let report = match result {
            Ok(r) => r,
            Err(ClientError::Net(NetError::Interrupted { .. })) if cut != Cut::No => {
                return Ok(SyncOutcome::default())
            }
            Err(e) => return Err(Broken(format!("laptop {i}'s sync failed: {e}"))),
        };
        // What the server acknowledged: every customer not left pending.
        let pending: std::collections::HashSet<String> = store.pending_ids()?.into_iter().collect();
        let held = store.have()?;
        let user = l.user.clone();
        for (id, bytes) in unsent {
            if held.iter().all(|h| h.id != id) {
                let doc = crm_shared::CustomerDoc::load(&bytes, automerge::ActorId::random())?;
                if let Some(note) = lost_changes(&doc, doc_in(&self.rt, &server.db, &id)?, &user)? {
                    return Err(Broken(format!(
                        "laptop {i} ({user}) let go of {id} with its change {note} not on the server"
                    )));
                }
                self.ledger.confirm(&id, doc.card().activities.keys());
            }
        }
        // Only a document whose heads the ledger has not read yet is
        // loaded: the same state has the same visits on every laptop.
        for h in held.iter().filter(|h| !pending.contains(&h.id)) {
            let key = (h.id.clone(), h.heads.join(","));
            if !self.read.contains(&key) {
                let card = store.get(&h.id)?;
                self.ledger.confirm(&card.id, card.activities.keys());
                self.read.insert(key);
            }
        }
        // After a sync that ran to its end, a laptop holds no customer its
        // salesperson may not see, but for one with changes still to send.
        let db = server.db.clone();
        let login = user.clone();
        let visible: std::collections::HashSet<String> =
            self.rt
                .block_on(db.read_with(move |conn| {
                    Ok::<_, DbError>(documents::visible(conn, &login, false)?)
                }))?
                .into_iter()
                .map(|h| h.id)
                .collect();
        if let Some(c) = held
            .iter()
            .find(|c| !pending.contains(&c.id) && !visible.contains(&c.id))
        {
            return Err(Broken(format!(
                "laptop {i} ({user}) still holds {} after a whole sync, which it may not see",
                c.id
            )));
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

    /// Opens the backup node's store and makes one pull from where it
    /// stands, as `crm-backup run` does: the store, the epoch it followed,
    /// and the server's answer.
    fn backup_pull(
        &self,
    ) -> Result<
        (
            crm_backup::store::Store,
            Option<String>,
            crm_shared::backup::PullResponse,
        ),
        Broken,
    > {
        let server = self.server()?;
        let store = crm_backup::store::Store::open(&self.backup_dir)?;
        let pos = store.position()?;
        let req = pos.pull_request(0);
        let skew = self.skew;
        let resp = self.rt.block_on(crm_server::backup::pull(
            &server.db,
            &server.hub,
            req,
            move || now() + skew,
        ))?;
        Ok((store, pos.epoch, resp))
    }

    /// One pull of the backup node; with `store_it`, its answer is stored
    /// and the node then dies without closing its store (as after kill -9),
    /// else the answer is lost. A node behind a new epoch does nothing.
    fn backup_pull_once(&mut self, store_it: bool) -> Result<(), Broken> {
        let (mut store, epoch, resp) = self.backup_pull()?;
        if store_it && epoch.as_deref().is_none_or(|e| e == resp.epoch) {
            store.apply(&resp, now())?;
            // Killed: no checkpoint, no close until the history ends.
            self.killed.push(store);
        }
        Ok(())
    }

    fn backup_catch_up(&mut self) -> Result<(), Broken> {
        for _ in 0..1_000 {
            let (mut store, epoch, resp) = self.backup_pull()?;
            if let Some(old) = epoch.as_deref().filter(|e| *e != resp.epoch) {
                store.close()?;
                crm_backup::follow::rotate(&self.backup_dir, old)?;
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

    /// Rebuilds the server from the backup node: its latest point, or
    /// `back` log entries before it.
    fn restore_server(&mut self, back: u64) -> Result<String, Broken> {
        let upto = crm_backup::store::Store::open_existing(&self.backup_dir)?
            .position()?
            .after;
        if upto <= back {
            return Ok("(the backup holds nothing to restore to: nothing to do)".into());
        }
        let point = if back == 0 {
            crm_backup::restore::Point::Latest
        } else {
            crm_backup::restore::Point::Seq(upto - back)
        };
        let data = self.new_server_dir();
        match crm_backup::restore::restore(&self.backup_dir, data.path(), point, false, |_, _| {}) {
            Ok(_) => {}
            // The operator is told the earliest point there is, and the
            // old server stays.
            Err(e @ crm_backup::restore::RestoreError::TooEarly { .. }) => {
                return Ok(format!("(restore refused: {e})"));
            }
            Err(e) => return Err(e.into()),
        }
        self.server = None;
        self.open_server(data)?;
        self.ledger.generation += 1;
        Ok(format!(
            "the server is lost and restored from the backup at log entry {}",
            upto - back
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
