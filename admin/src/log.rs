//! `baedal log search`: the authentication, delivery and error events the server recorded
//! (the same search as the console's logs page).

use baedal_storage::events::{EventKind, EventQuery};
use clap::Subcommand;

use crate::ops::{self, Actor};
use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// The newest events first
    Search {
        /// auth, delivery or error
        #[arg(long, value_parser = kind)]
        kind: Option<EventKind>,
        /// A login name or address (a substring)
        #[arg(long)]
        address: Option<String>,
        /// The client's address
        #[arg(long)]
        ip: Option<String>,
        /// A queue id
        #[arg(long)]
        message_id: Option<String>,
        /// Only events of the last N minutes
        #[arg(long, value_name = "MINUTES")]
        since_minutes: Option<i64>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

fn kind(s: &str) -> Result<EventKind, String> {
    EventKind::parse(s).ok_or_else(|| format!("'{s}': auth, delivery or error"))
}

pub async fn run(cmd: LogCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let LogCommand::Search {
        kind,
        address,
        ip,
        message_id,
        since_minutes,
        limit,
    } = cmd;
    let query = EventQuery {
        kind,
        address,
        remote_ip: ip,
        message_id,
        since: since_minutes.map(|m| baedal_storage::clock::now_secs() - m * 60),
        limit: limit.clamp(1, 10_000),
        ..EventQuery::default()
    };
    let (_, events) = ops::logs::search(ctx, &Actor::cli(), query).await?;
    ctx.output.list(
        &events,
        &[
            "AT", "KIND", "PROTO", "RESULT", "ADDRESS", "IP", "ID", "DETAIL",
        ],
        |e| {
            vec![
                ops::audit_log::timestamp(e.at, 0),
                e.kind.as_str().to_string(),
                e.protocol.clone(),
                e.result.clone(),
                e.address.clone(),
                e.remote_ip.clone(),
                e.message_id.clone(),
                e.detail.clone(),
            ]
        },
    );
    Ok(())
}
