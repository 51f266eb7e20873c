//! What the head-office console (`crm-server`) and the salesperson's app
//! (`crm ui`) share on screen: one stylesheet, one page shell, one way to
//! show a date, a sum of money, a grade or a customer's history.
//!
//! Pure markup: no HTTP, no IO. Each side serves [`style::CSS`] at its own
//! address and wraps its pages with [`shell::page`], so a salesperson who
//! has seen the console recognises the app and the other way round.

pub mod card;
pub mod format;
pub mod parts;
pub mod shell;
pub mod style;
