//! `baedal admin add|list|api-key|disable|enable|reset-totp`: the administrators of the web
//! console and the JSON API.

use baedal_storage::{AdminAccount, Role};
use clap::Subcommand;
use serde_json::json;

use crate::ops::{self, Actor};
use crate::output::yes_no;
use crate::{AdminContext, AdminError, input};

#[derive(Debug, Subcommand)]
pub enum AdminAccountCommand {
    /// Add an administrator (the first super_admin can only be added here)
    Add {
        name: String,
        /// super_admin, domain_admin, support or viewer
        #[arg(long)]
        role: Role,
        /// A domain a domain_admin manages (repeat for several)
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the administrators
    List,
    /// Print a new API key for an administrator (shown once)
    ApiKey { name: String },
    /// Refuse an administrator's logins and end their sessions
    Disable { name: String },
    /// Allow an administrator to log in again
    Enable { name: String },
    /// Forget an administrator's TOTP device: the next login enrols a new one
    ResetTotp { name: String },
}

pub async fn run(cmd: AdminAccountCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let actor = Actor::cli();
    let out = ctx.output;
    match cmd {
        AdminAccountCommand::Add {
            name,
            role,
            domains,
            password_stdin,
        } => {
            let password = input::new_password(&name, password_stdin)?;
            let account = ops::admins::add(ctx, &actor, &name, role, domains, password).await?;
            out.done(
                &format!("added administrator {} ({})", account.name, account.role),
                &account,
            );
        }
        AdminAccountCommand::List => {
            let admins = ops::admins::list(ctx, &actor).await?;
            out.list(
                &admins,
                &["NAME", "ROLE", "DOMAINS", "TOTP", "ACTIVE"],
                |a: &AdminAccount| {
                    vec![
                        a.name.clone(),
                        a.role.to_string(),
                        if a.domains.is_empty() {
                            "-".into()
                        } else {
                            a.domains.join(",")
                        },
                        yes_no(a.totp_enabled),
                        yes_no(a.is_active),
                    ]
                },
            );
        }
        AdminAccountCommand::ApiKey { name } => {
            let key = ops::admins::new_api_key(ctx, &actor, &name).await?;
            if out.json {
                println!("{}", json!({ "name": name, "api_key": key }));
            } else {
                println!("{key}");
            }
        }
        AdminAccountCommand::Disable { ref name } | AdminAccountCommand::Enable { ref name } => {
            let active = matches!(cmd, AdminAccountCommand::Enable { .. });
            let account = ops::admins::set_active(ctx, &actor, name, active).await?;
            let verb = if active { "enabled" } else { "disabled" };
            out.done(&format!("{verb} administrator {name}"), &account);
        }
        AdminAccountCommand::ResetTotp { name } => {
            ops::admins::reset_totp(ctx, &actor, &name).await?;
            out.done(
                &format!("{name} enrols a new TOTP device at the next login"),
                &json!({ "name": name, "totp_enabled": false }),
            );
        }
    }
    Ok(())
}
