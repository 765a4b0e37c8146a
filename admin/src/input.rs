//! Arguments parsed into directory types, and passwords read from stdin or a prompt.

use std::io::{BufRead, IsTerminal};

use baedal_storage::{AliasSource, ByteSize, DomainName, EmailAddress};

use crate::AdminError;

pub fn domain(s: &str) -> Result<DomainName, String> {
    DomainName::parse(s).map_err(|e| e.to_string())
}

pub fn address(s: &str) -> Result<EmailAddress, String> {
    EmailAddress::parse(s).map_err(|e| e.to_string())
}

pub fn alias_source(s: &str) -> Result<AliasSource, String> {
    AliasSource::parse(s).map_err(|e| e.to_string())
}

pub fn size(s: &str) -> Result<ByteSize, String> {
    s.parse::<ByteSize>().map_err(|e| e.to_string())
}

/// POP3 retention days; `None` = the site's setting.
#[derive(Debug, Clone, Copy)]
pub struct Retention(pub Option<i64>);

/// A number of days, or `default`.
pub fn retention(s: &str) -> Result<Retention, String> {
    if s.eq_ignore_ascii_case("default") {
        return Ok(Retention(None));
    }
    s.parse::<u32>()
        .map(|d| Retention(Some(i64::from(d))))
        .map_err(|_| format!("'{s}' is not a number of days (0 = keep) or 'default'"))
}

/// `DEST[,DEST...]`: one or more addresses separated by commas.
pub fn destinations(args: &[String]) -> Result<Vec<EmailAddress>, AdminError> {
    let list: Vec<EmailAddress> = args
        .iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| EmailAddress::parse(a).map_err(|e| AdminError::Input(e.to_string())))
        .collect::<Result<_, _>>()?;
    if list.is_empty() {
        return Err(AdminError::Input(
            "give at least one destination address".into(),
        ));
    }
    Ok(list)
}

/// Reads a new password: the first line of stdin with `--password-stdin`, otherwise a
/// prompt (twice, without echo) when stdin is a terminal.
pub fn new_password(for_whom: &str, from_stdin: bool) -> Result<String, AdminError> {
    if from_stdin {
        return read_stdin_line();
    }
    if !std::io::stdin().is_terminal() {
        return Err(AdminError::Input(
            "no password given: pipe it in with --password-stdin (or run in a terminal to be prompted)"
                .into(),
        ));
    }
    let first = rpassword::prompt_password(format!("New password for {for_whom}: "))?;
    let second = rpassword::prompt_password("Retype the password: ")?;
    if first != second {
        return Err(AdminError::Input("the two passwords differ".into()));
    }
    Ok(first)
}

/// Reads a password to check (once, no confirmation).
pub fn password(for_whom: &str, from_stdin: bool) -> Result<String, AdminError> {
    if from_stdin || !std::io::stdin().is_terminal() {
        return read_stdin_line();
    }
    Ok(rpassword::prompt_password(format!(
        "Password for {for_whom}: "
    ))?)
}

fn read_stdin_line() -> Result<String, AdminError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
