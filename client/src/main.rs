//! `crm`: the salesperson's command line. Parses flags, runs the command,
//! prints an error as one line. Exit codes: 0 success, 1 the command failed
//! (nothing was changed), 2 the command line itself was wrong.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `crm history X | head` must end quietly, like any Unix tool, rather
    // than panic on the closed pipe.
    #[cfg(unix)]
    // SAFETY: called before any other thread exists; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = crm_client::cli::Cli::parse();
    match crm_client::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误:{e}");
            ExitCode::FAILURE
        }
    }
}
