//! `baedal auth test ADDRESS`: checks a password the way a login would, like
//! `doveadm auth test`.

use baedal_auth::{AuthOutcome, LocalAuthenticator};
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
            let authenticator = LocalAuthenticator::new(ctx.directory.clone());
            match authenticator.authenticate(&address, &password).await? {
                AuthOutcome::Accepted(source) => {
                    ctx.output.done(
                        &format!("{address}: accepted ({source})"),
                        &json!({ "address": address.to_string(), "accepted": true, "source": source }),
                    );
                    Ok(())
                }
                AuthOutcome::Rejected => Err(AdminError::Failed(format!(
                    "{address}: authentication failed"
                ))),
            }
        }
    }
}
