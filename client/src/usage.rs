//! The `crm` command line, in Chinese (see `crm_usage`).

use clap::{Command, CommandFactory};

use crate::cli::Cli;

pub use crm_usage::Parsed;

/// The `crm` command with every text in Chinese.
pub fn command() -> Command {
    crm_usage::localize(Cli::command())
}

/// Parses the process's arguments.
pub fn parse() -> Parsed<Cli> {
    crm_usage::parse(command())
}
