//! The command line in Chinese: clap's own headings, its help and version
//! flags, and its complaints about a wrong command line.
//!
//! The argument definitions (in [`crate::cli`]) carry Chinese help texts;
//! what clap adds around them (`Usage:`, `Options:`, `Print help`,
//! `error: unexpected argument …`) is English unless replaced. A
//! salesperson reads all of it, so it is replaced here, once, for every
//! command.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// What parsing the command line came to.
pub enum Parsed {
    /// A command to run.
    Run(Box<Cli>),
    /// Help or the version was asked for and has been printed.
    Shown,
    /// The command line is wrong; the message says how, in Chinese.
    Wrong(String),
}

/// The `crm` command with every text in Chinese.
pub fn command() -> Command {
    localize(Cli::command(), true)
}

/// Parses the process's arguments.
pub fn parse() -> Parsed {
    let mut matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Parsed::Shown;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return Parsed::Wrong("缺少命令".into());
        }
        Err(e) => return Parsed::Wrong(explain(&e)),
    };
    match Cli::from_arg_matches_mut(&mut matches) {
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(e) => Parsed::Wrong(explain(&e)),
    }
}

fn localize(cmd: Command, root: bool) -> Command {
    let mut template = String::from("{about-with-newline}\n用法:{usage}\n");
    if cmd.has_subcommands() {
        template.push_str("\n命令:\n{subcommands}\n");
    }
    if cmd.get_positionals().next().is_some() {
        template.push_str("\n参数:\n{positionals}\n");
    }
    template.push_str("\n选项:\n{options}{after-help}");
    let mut cmd = cmd
        .help_template(template)
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        // Value lists, defaults and variables are written into each
        // option's own Chinese text instead of clap's English brackets.
        .mut_args(|a| {
            let a = a.hide_env(true);
            if a.get_action().takes_values() {
                a.hide_possible_values(true).hide_default_value(true)
            } else {
                a
            }
        })
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("显示帮助"),
        )
        .mut_subcommands(|c| localize(c, false));
    if root {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("显示版本"),
        );
    }
    cmd
}

/// clap's complaint about a command line, in Chinese.
fn explain(e: &clap::Error) -> String {
    let context = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join("、"),
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        Some(ContextValue::StyledStrs(v)) => v
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("、"),
        _ => String::new(),
    };
    let arg = context(ContextKind::InvalidArg);
    let value = context(ContextKind::InvalidValue);
    let what = match e.kind() {
        ErrorKind::UnknownArgument => format!("没有“{arg}”这个选项"),
        ErrorKind::InvalidSubcommand => {
            format!("没有“{}”这个命令", context(ContextKind::InvalidSubcommand))
        }
        ErrorKind::MissingRequiredArgument => format!("缺少必填的 {arg}"),
        ErrorKind::MissingSubcommand => "缺少命令".into(),
        ErrorKind::InvalidValue => {
            let valid = context(ContextKind::ValidValue);
            if value.is_empty() {
                format!("{arg} 需要一个值")
            } else if valid.is_empty() {
                format!("{arg} 的值“{value}”无效")
            } else {
                format!("{arg} 的值“{value}”无效,可选:{valid}")
            }
        }
        ErrorKind::ValueValidation => {
            // Our own parsers (dates, codes) say what is wrong in Chinese;
            // std's number parsers say it in English.
            let why = match std::error::Error::source(e).map(|s| s.to_string()) {
                Some(s) if !s.is_ascii() => format!(":{s}"),
                Some(s) if s.contains("digit") || s.contains("float") => ":应为数字".into(),
                Some(_) => ":格式不对".into(),
                None => String::new(),
            };
            format!("{arg} 的值“{value}”无效{why}")
        }
        ErrorKind::ArgumentConflict => {
            format!("{arg} 不能与 {} 同时使用", context(ContextKind::PriorArg))
        }
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            format!("多余的参数“{value}”")
        }
        ErrorKind::NoEquals => format!("{arg} 的写法不对"),
        _ => "命令行有误".into(),
    };
    let hint = match context(ContextKind::SuggestedSubcommand) {
        s if !s.is_empty() => format!(";是不是要用 {s}?"),
        _ => match context(ContextKind::SuggestedArg) {
            s if !s.is_empty() => format!(";是不是要用 {s}?"),
            _ => String::new(),
        },
    };
    format!("{what}{hint}(用 crm --help 或 crm <命令> --help 查看用法)")
}
