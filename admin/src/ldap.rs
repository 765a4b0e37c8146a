//! `baedal ldap sync [--domain D] [--dry-run]`: the accounts of LDAP domains follow the
//! directory (see `baedal_auth::ldap::sync` for the rules).

use std::io::IsTerminal;

use baedal_auth::ldap::sync::{SyncError, SyncProgress, sync_domains};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum LdapCommand {
    /// Create, update and disable the users of LDAP domains from the directory
    Sync {
        /// Only this domain (it must have auth_type ldap)
        #[arg(long)]
        domain: Option<String>,
        /// Show what would change, change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

/// A progress bar on a terminal; nothing otherwise.
struct Bar(Option<ProgressBar>);

impl SyncProgress for Bar {
    fn total(&self, people: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(people as u64);
            bar.set_position(0);
        }
    }
    fn advance(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

pub async fn run(cmd: LdapCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let LdapCommand::Sync { domain, dry_run } = cmd;
    let Some(ldap) = &ctx.ldap else {
        return Err(AdminError::Failed(
            "no LDAP directory: set [ldap] url in the configuration".into(),
        ));
    };
    let bar = (!ctx.output.json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        bar
    });
    let progress = Bar(bar);
    let reports = sync_domains(ldap, &ctx.directory, domain.as_deref(), dry_run, &progress)
        .await
        .map_err(|e| match e {
            SyncError::NotLdap(_) => AdminError::Input(e.to_string()),
            e => AdminError::Failed(e.to_string()),
        })?;
    if let Some(bar) = &progress.0 {
        bar.finish_and_clear();
    }
    if domain.is_some() && reports.is_empty() {
        return Err(AdminError::Input(format!(
            "{} is not an active LDAP domain",
            domain.unwrap_or_default()
        )));
    }
    let (verb, prefix) = if dry_run {
        ("would be ", "dry run, nothing changed: ")
    } else {
        ("", "")
    };
    let mut lines = Vec::new();
    for r in &reports {
        lines.push(format!(
            "{prefix}{}: {} created, {} updated, {} disabled, {} unchanged",
            r.domain,
            r.created.len(),
            r.updated.len(),
            r.disabled.len(),
            r.unchanged
        ));
        for (what, list) in [
            ("created", &r.created),
            ("updated", &r.updated),
            ("disabled", &r.disabled),
        ] {
            for address in list {
                lines.push(format!("  {verb}{what}: {address}"));
            }
        }
    }
    if reports.is_empty() {
        lines.push("no LDAP domains".into());
    }
    ctx.output.done(&lines.join("\n"), &reports);
    Ok(())
}
