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
    if !from_stdin {
        return read_var(PASSWORD_ENV, prompt);
    }
    let password = stdin_line()?;
    Ok((!password.is_empty()).then_some(password))
}

/// A secret from the variable `env`, else typed after `prompt` without
/// echo when standard input is a terminal; `None` when neither gives one.
pub fn read_var(env: &str, prompt: &str) -> std::io::Result<Option<String>> {
    let secret = match std::env::var(env) {
        Ok(value) => value,
        Err(_) if std::io::stdin().is_terminal() => rpassword::prompt_password(prompt)?,
        Err(_) => return Ok(None),
    };
    Ok((!secret.is_empty()).then_some(secret))
}

/// A new password, as [`read`] gets one but from the variable `env`, and
/// typed twice at a terminal (after `prompt`, then `again`) so a slip of
/// the finger is caught before it locks someone out.
pub fn read_new(
    from_stdin: bool,
    env: &str,
    prompt: &str,
    again: &str,
) -> std::io::Result<NewPassword> {
    let password = if from_stdin {
        stdin_line()?
    } else if let Ok(value) = std::env::var(env) {
        value
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        if rpassword::prompt_password(again)? != first {
            return Ok(NewPassword::Mismatch);
        }
        first
    } else {
        return Ok(NewPassword::Missing);
    };
    Ok(match password.is_empty() {
        true => NewPassword::Missing,
        false => NewPassword::Given(password),
    })
}

/// What [`read_new`] got.
pub enum NewPassword {
    /// The new password.
    Given(String),
    /// Typed twice, differently.
    Mismatch,
    /// None was given (or it was empty); the caller says how to give one.
    Missing,
}

fn stdin_line() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
