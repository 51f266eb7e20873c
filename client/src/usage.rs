//! The `crm` command line, in Chinese (see `crm_usage`).

use clap::{Command, CommandFactory};

use crate::cli::Cli;

/// The `crm` command with every text in Chinese.
pub fn command() -> Command {
    crm_usage::localize(command_unlocalized())
}

/// The `crm` command as its definitions give it, before `crm_usage`
/// replaces clap's own texts.
pub fn command_unlocalized() -> Command {
    Cli::command()
}
