//! Domain core of the customer archive (客户档案): the archive card, its
//! automerge document, validation, history and conflicts.
//!
//! This crate does no IO. The client (`crm`) and the server (`crm-server`)
//! both depend on it and never on each other; whatever both sides must agree
//! on lives here.
//!
//! - [`customer`]: the card and its records (the document schema).
//! - [`codes`]: closed vocabularies with codes and Chinese labels.
//! - [`document`]: one customer = one automerge document; [`storage`]: how
//!   it is kept in a database (snapshot plus chunks), on every side alike.
//! - [`diff`], [`note`]: what a change touched, and who made it and why;
//!   [`story`]: the same history told in business language.
//! - [`rebase`]: changes recorded again under a fresh actor, when a copy
//!   of a store went back in time.
//! - [`edit`], [`import`], [`validate`]: getting values in, safely.
//! - [`cadence`]: when the next follow-up is due.
//! - [`pinyin`]: Chinese names sorted the way people look them up.
//! - [`settings`]: company settings the business rules run on.
//! - [`grading`], [`credit`], [`warnings`], [`reports`]: the business rules
//!   (grades, credit-limit approval, early warnings, complaint statistics,
//!   daily report, periodic review).

pub mod access;
pub mod api;
pub mod backup;
pub mod cadence;
pub mod codes;
pub mod complaint;
pub mod credit;
pub mod customer;
pub mod day;
pub mod diff;
pub mod document;
pub mod edit;
pub mod error;
pub mod grading;
pub mod hydrated;
pub mod import;
pub mod labels;
pub mod note;
pub mod pinyin;
pub mod rebase;
pub mod reports;
pub mod settings;
pub mod storage;
pub mod story;
pub mod summary;
pub mod sync;
pub mod validate;
pub mod warnings;
pub mod write;

pub use automerge::{ActorId, ChangeHash};
pub use customer::Customer;
pub use document::CustomerDoc;
pub use error::{Error, Result};
