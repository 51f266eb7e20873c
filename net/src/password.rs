//! Reading a password the way every command of this product does: one line
//! of standard input, else the environment, else a prompt without echo.

use std::io::{BufRead, IsTerminal};

/// The environment variable a password may come from.
pub const PASSWORD_ENV: &str = "CRM_PASSWORD";

/// A password: the next line of standard input (with `from_stdin`), else
/// [`PASSWORD_ENV`], else typed after `prompt` without echo when standard
/// input is a terminal. `None` when none of these gives one (or it is
/// empty): the caller says how to give it.
pub fn read(from_stdin: bool, prompt: &str) -> std::io::Result<Option<String>> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if let Ok(value) = std::env::var(PASSWORD_ENV) {
        value
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)?
    } else {
        return Ok(None);
    };
    Ok((!password.is_empty()).then_some(password))
}
