//! `crm`: the salesperson's command line. Parses flags, runs the command,
//! prints an error as one line. Exit codes: 0 success (also when the reader
//! of the output went away, as in `crm list | head`), 1 the command failed
//! (nothing was changed), 2 the command line itself was wrong.

use std::process::ExitCode;

fn main() -> ExitCode {
    // `crm history X | head` must end quietly with 0, like any Unix tool.
    // Printing to a closed pipe panics inside `println!`; that one panic is
    // caught here, at the edge, and is not an error: the reader has all it
    // wanted. Every other panic is reported as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_pipe(info.payload()) {
            default_hook(info);
        }
    }));
    let cli = match crm_usage::args(crm_client::usage::command_unlocalized()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match std::panic::catch_unwind(|| crm_client::cli::run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("错误:{e}");
            ExitCode::FAILURE
        }
        Err(payload) if is_closed_pipe(payload.as_ref()) => ExitCode::SUCCESS,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Whether a panic is std's "failed printing to stdout" for a pipe whose
/// reader has gone (EPIPE on Unix; ERROR_NO_DATA or ERROR_BROKEN_PIPE on
/// Windows).
fn is_closed_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    text.starts_with("failed printing to stdout")
        && ["os error 32)", "os error 232)", "os error 109)"]
            .iter()
            .any(|code| text.ends_with(code))
}
