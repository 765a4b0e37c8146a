//! `baedal auth test ADDRESS`: checks a password the way a login would, like
//! `doveadm auth test`.

use std::net::{IpAddr, Ipv6Addr};

use baedal_auth::{AuthOutcome, LoginAttempt};
use baedal_storage::EmailAddress;
use clap::Subcommand;
use serde_json::json;

use crate::{AdminContext, AdminError, input};

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Check ADDRESS's password (exit 0 when accepted, 1 when refused)
    Test {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn run(cmd: AuthCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    match cmd {
        AuthCommand::Test {
            address,
            password_stdin,
        } => {
            let password = input::password(&address.to_string(), password_stdin)?;
            let username = address.to_string();
            let attempt = LoginAttempt {
                username: &username,
                password: &password,
                ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
                protocol: "cli",
            };
            match ctx.authenticator.authenticate(attempt).await? {
                AuthOutcome::Accepted(login) => {
                    let (account, source) = (&login.user.email, login.source);
                    ctx.output.done(
                        &format!("{address}: accepted as {account} ({source})"),
                        &json!({ "address": username, "account": account, "accepted": true, "source": source }),
                    );
                    Ok(())
                }
                AuthOutcome::Rejected { reason, .. } => Err(AdminError::Failed(format!(
                    "{address}: authentication failed ({reason})"
                ))),
            }
        }
    }
}
