//! The command lines of `crm`, `crm-server` and `crm-backup` in Chinese:
//! clap's own headings, its help and version flags, and its complaints
//! about a wrong command line.
//!
//! Each program's argument definitions carry Chinese help texts; what clap
//! adds around them (`Usage:`, `Options:`, `Print help`, `error:
//! unexpected argument …`) is English unless replaced. Salespeople, clerks
//! and backup operators read all of it, so it is replaced here, once, for
//! every command of every program. [`password`] reads passwords the same
//! way in all three.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command, FromArgMatches};

pub mod password;

/// What parsing a command line came to.
pub enum Parsed<T> {
    /// A command to run.
    Run(Box<T>),
    /// Help or the version was asked for and has been printed.
    Shown,
    /// The command line is wrong; the message says how, in Chinese.
    Wrong(String),
}

/// `cmd` with every text clap adds in Chinese.
pub fn localize(cmd: Command) -> Command {
    localize_one(cmd, true)
}

/// Parses the process's arguments against `cmd` (already [`localize`]d).
pub fn parse<T: FromArgMatches>(cmd: Command) -> Parsed<T> {
    let program = cmd.get_name().to_string();
    let mut matches = match cmd.try_get_matches() {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Parsed::Shown;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return Parsed::Wrong("缺少命令".into());
        }
        Err(e) => return Parsed::Wrong(explain(&e, &program)),
    };
    match T::from_arg_matches_mut(&mut matches) {
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(e) => Parsed::Wrong(explain(&e, &program)),
    }
}

/// The process's arguments parsed against `cmd` (localized here). Help,
/// the version and a wrong command line (told in Chinese) are printed
/// here, and `Err` holds the exit code to end with.
pub fn args<T: FromArgMatches>(cmd: Command) -> Result<T, std::process::ExitCode> {
    match parse(localize(cmd)) {
        Parsed::Run(cli) => Ok(*cli),
        Parsed::Shown => Err(std::process::ExitCode::SUCCESS),
        Parsed::Wrong(why) => {
            eprintln!("错误:{why}");
            Err(std::process::ExitCode::from(2))
        }
    }
}

/// The English clap would show, or an argument without a Chinese help
/// text, anywhere in `cmd` and its subcommands (for tests: empty when
/// every text is Chinese).
pub fn untranslated(cmd: &mut Command) -> Vec<String> {
    cmd.build();
    let mut wrong = Vec::new();
    let path = cmd.get_name().to_string();
    walk(cmd, &path, &mut wrong);
    wrong
}

fn walk(cmd: &mut Command, path: &str, wrong: &mut Vec<String>) {
    let help = cmd.render_long_help().to_string();
    for english in [
        "Usage",
        "Options",
        "Commands",
        "Arguments",
        "Print help",
        "Print version",
        "possible values",
        "default:",
        "env:",
        "The ",
        " the ",
    ] {
        if help.contains(english) {
            wrong.push(format!("{path}: “{english}”"));
        }
    }
    for arg in cmd.get_arguments() {
        let text = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        let chinese = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        if !chinese && !arg.is_hide_set() {
            wrong.push(format!("{path} {}: {text:?}", arg.get_id()));
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        let sub = cmd.find_subcommand_mut(&name).expect("listed just above");
        walk(sub, &format!("{path} {name}"), wrong);
    }
}

fn localize_one(cmd: Command, root: bool) -> Command {
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
        .mut_subcommands(|c| localize_one(c, false));
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
fn explain(e: &clap::Error, program: &str) -> String {
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
    format!("{what}{hint}(用 {program} --help 或 {program} <命令> --help 查看用法)")
}
