//! The sync protocol's wire types (`POST /api/v1/sync`) and the small pure
//! helpers both sides need. The protocol itself is described in
//! ARCHITECTURE.md ("Sync protocol"); in short:
//!
//! - The server numbers every accepted document update in a log (`seq`).
//!   A laptop remembers the server's `epoch` and the last `cursor` (seq) it
//!   has fully received; a normal sync sends only the cursor and the
//!   changes it made since the server last acknowledged them.
//! - A laptop that has never synced, or whose epoch no longer matches (the
//!   server was restored from a backup), sends `have`: every document it
//!   holds with its heads, and the server answers with exactly what differs
//!   and asks (`need`) for what it lacks.
//! - Everything is idempotent: applying an automerge change twice is
//!   harmless, and a laptop moves its cursor only after it has durably
//!   stored the response, so a sync cut at any byte is simply repeated.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ChangeHash;

/// Bytes carried as base64 inside JSON.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Blob)
            .map_err(|e| serde::de::Error::custom(format!("base64 无效:{e}")))
    }
}

/// Heads as hex strings, the way they travel.
pub fn heads_to_hex(heads: &[ChangeHash]) -> Vec<String> {
    let mut v: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    v.sort();
    v
}

/// Heads from hex strings; `None` if any is not a change hash.
pub fn heads_from_hex(hex: &[String]) -> Option<Vec<ChangeHash>> {
    hex.iter().map(|h| h.parse().ok()).collect()
}

/// A document and its heads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeads {
    /// Customer (document) id.
    pub id: String,
    /// Heads, hex.
    pub heads: Vec<String>,
}

/// Changes a laptop sends for one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPush {
    /// Customer (document) id.
    pub id: String,
    /// The laptop's heads once these changes are applied.
    pub heads: Vec<String>,
    /// Automerge changes (or a whole saved document for a new customer).
    pub data: Blob,
    /// `data` is this laptop's whole document of a customer whose changes
    /// clash with the server's copy, which the laptop cannot record again
    /// itself: it holds nothing the server acknowledged and may no longer
    /// see the server's copy (the customer went to someone else). The
    /// server records the sender's own changes again on its copy, as a
    /// laptop would ([`crate::rebase`]); once acknowledged, the laptop lets
    /// the customer go.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hand_over: bool,
}

/// `POST /api/v1/sync` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The server epoch the cursor belongs to; `None` on a first sync.
    #[serde(default)]
    pub epoch: Option<String>,
    /// Log position up to which this laptop has received everything.
    #[serde(default)]
    pub cursor: Option<u64>,
    /// Every document held, with heads: sent instead of a cursor on a first
    /// sync or after the server's epoch changed.
    #[serde(default)]
    pub have: Option<Vec<DocHeads>>,
    /// Local changes the server has not acknowledged.
    #[serde(default)]
    pub push: Vec<DocPush>,
    /// Version of the company settings this laptop holds; the server sends
    /// the settings when its own version differs.
    #[serde(default)]
    pub settings_version: Option<u64>,
    /// Documents to compare afresh, whatever the cursor says: the server
    /// answers for each as for a `have` listing (the changes after these
    /// heads; the whole saved document when the heads are empty). A laptop
    /// asks this for a document it could not store or that the server
    /// refused as a clash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recheck: Vec<DocHeads>,
    /// The laptop's writing actor and where its history stands (see
    /// [`Lineage`]); `None` from older laptops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// Tells the server which actor a laptop writes under and how far that
/// actor's history has reached, so that two copies of one store (restored
/// from an older copy, or cloned) are told apart before their changes clash.
///
/// The server keeps one mark per actor. A request that pushes moves it from
/// `mark` (the last one the server confirmed) to `next`; one whose `mark`
/// and `next` are both unlike the server's comes from a copy that went back
/// in time or forked, and is told to write under a fresh actor
/// ([`SyncResponse::rotate_actor`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The actor, hex.
    pub actor: String,
    /// The mark the server last confirmed for this actor (`None`: never).
    #[serde(default)]
    pub mark: Option<String>,
    /// The mark this request moves it to if it pushes (kept by the laptop
    /// until confirmed, so a repeated request carries the same one).
    pub next: String,
}

/// Why the server refused one pushed document. The others of the push are
/// stored and acknowledged all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// Its changes reuse sequence numbers of changes the server holds (the
    /// laptop's store went back in time or was copied): ask for the
    /// server's whole document (`recheck`) and record them again on it.
    Clash,
    /// The data is damaged or incomplete, or would make an invalid card.
    Invalid,
    /// The caller may not change this customer, or a change in it is
    /// signed by someone else.
    Forbidden,
    /// The server could not read its own copy of the customer.
    Server,
}

/// One pushed document the server refused; nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Customer id.
    pub id: String,
    /// Why, as a kind the laptop acts on.
    pub kind: RefusalKind,
    /// Why, in Chinese.
    pub message: String,
}

/// Company settings with the version they were saved under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionedSettings {
    /// Moves whenever head office changes a setting.
    pub version: u64,
    /// The settings.
    pub settings: crate::settings::Settings,
}

/// One document's changes from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocUpdate {
    /// Customer (document) id.
    pub id: String,
    /// The server's heads for it (what the laptop may mark as synced).
    pub heads: Vec<String>,
    /// Changes the laptop lacks, or the whole saved document.
    pub data: Blob,
    /// Present exactly when `data` is the whole saved document (a customer
    /// new to the laptop, or one whose whole document is smaller than the
    /// changes the laptop lacks): the server's projected row of it and its
    /// search text, so a laptop receiving hundreds of customers need not
    /// read every card to list them (it still verifies every document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<Row>,
}

/// A customer's projected row as the server computed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The summary.
    pub summary: crate::summary::CustomerSummary,
    /// The search text.
    pub search: String,
    /// Whether the document has open conflicts.
    pub conflicted: bool,
}

/// `POST /api/v1/sync` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The server's epoch; changes when its store is restored.
    pub epoch: String,
    /// New cursor, to send next time.
    pub cursor: u64,
    /// Documents the laptop lacks changes of.
    pub docs: Vec<DocUpdate>,
    /// Pushed documents: the server's heads after applying them.
    pub acked: Vec<DocHeads>,
    /// Documents the laptop must drop (no longer visible to this user).
    pub removed: Vec<String>,
    /// Documents the server lacks changes of: push everything after these heads.
    pub need: Vec<DocHeads>,
    /// Pushed changes the server undid (protected fields the user may not change).
    pub reverted: Vec<Reverted>,
    /// The response was cut at the size limit: sync again for the rest.
    pub more: bool,
    /// The cursor is not valid for this server (it was restored, or this is
    /// another server): send `have` instead of a cursor.
    pub resync: bool,
    /// Pushed documents the server stored but does not acknowledge yet,
    /// because its backup does not hold them yet (zero-loss mode): keep
    /// them marked unsent and push them again next time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unconfirmed: Vec<String>,
    /// The company settings, when the laptop's version is not current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<VersionedSettings>,
    /// Pushed documents refused one by one (the rest were stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// The laptop's actor has written elsewhere what this copy has not
    /// seen (see [`Lineage`]): write under a fresh actor from now on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotate_actor: bool,
}

/// A protected field whose pushed change the server undid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reverted {
    /// Customer id.
    pub id: String,
    /// Field path.
    pub path: String,
    /// Why, in Chinese.
    pub message: String,
}
