//! `baedal mailbox list ADDRESS`: a user's mailboxes with their message counts, like
//! `doveadm mailbox status`.

use baedal_storage::EmailAddress;
use clap::Subcommand;

use crate::output::or_dash;
use crate::{AdminContext, AdminError, input};

#[derive(Debug, Subcommand)]
pub enum MailboxCommand {
    /// List a user's mailboxes with message counts, UIDNEXT and UIDVALIDITY
    List {
        #[arg(value_parser = input::address)]
        address: EmailAddress,
    },
}

pub async fn run(cmd: MailboxCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    match cmd {
        MailboxCommand::List { address } => {
            let user = ctx.directory.require_user(&address).await?;
            let mailboxes = ctx
                .store
                .mailboxes(user.id)
                .await
                .map_err(|e| AdminError::Failed(e.to_string()))?;
            ctx.output.list(
                &mailboxes,
                &[
                    "MAILBOX",
                    "SPECIAL-USE",
                    "MESSAGES",
                    "UIDNEXT",
                    "UIDVALIDITY",
                ],
                |m| {
                    vec![
                        m.name.clone(),
                        or_dash(m.special_use.as_deref()),
                        m.messages.to_string(),
                        m.uidnext.to_string(),
                        m.uidvalidity.to_string(),
                    ]
                },
            );
        }
    }
    Ok(())
}
