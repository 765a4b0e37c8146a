//! `baedal pop3 expire`: runs the POP3 retention sweep once, the one the server runs on its
//! own every `[pop3] sweep_interval`. `--now` sets the clock it reads.

use clap::Subcommand;
use serde_json::json;

use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum Pop3Command {
    /// Expunge POP3-retrieved mail whose retention has passed
    Expire {
        /// The time to sweep at, in seconds since 1970 (default: now)
        #[arg(long, value_name = "SECONDS")]
        now: Option<i64>,
    },
}

pub async fn run(cmd: Pop3Command, ctx: &AdminContext) -> Result<(), AdminError> {
    match cmd {
        Pop3Command::Expire { now } => {
            let now = now.unwrap_or_else(baedal_storage::clock::now_secs);
            let expired = ctx
                .store
                .expire_pop3_retrieved(now, ctx.pop3_retention_days)
                .await
                .map_err(|e| AdminError::Failed(e.to_string()))?;
            ctx.output.done(
                &format!("expunged {expired} retrieved message(s) past their retention"),
                &json!({ "expired": expired, "now": now }),
            );
            Ok(())
        }
    }
}
