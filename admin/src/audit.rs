//! `baedal audit list`: the audit log of administrative changes (append-only: there is no
//! command that deletes an entry; old ones go by `[admin] audit_retention_days`).

use baedal_storage::admins::audit::AuditQuery;
use clap::Subcommand;

use crate::ops::{self, Actor};
use crate::{AdminContext, AdminError};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The newest entries first
    List {
        /// Only this administrator's (`cli:root`, a console name)
        #[arg(long)]
        actor: Option<String>,
        /// Only changes of this object (a domain, an address)
        #[arg(long)]
        object: Option<String>,
        /// Only this action (`user.create`, `domain.update`, ...)
        #[arg(long)]
        action: Option<String>,
        /// At most this many entries
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

pub async fn run(cmd: AuditCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    let AuditCommand::List {
        actor,
        object,
        action,
        limit,
    } = cmd;
    let query = AuditQuery {
        actor,
        object,
        action,
        limit: limit.clamp(1, 10_000),
        ..AuditQuery::default()
    };
    let (_, entries) = ops::audit_log::search(ctx, &Actor::cli(), query).await?;
    ctx.output.list(
        &entries,
        &[
            "ID", "AT", "ACTOR", "ROLE", "VIA", "FROM", "ACTION", "OBJECT",
        ],
        |e| {
            vec![
                e.id.to_string(),
                ops::audit_log::timestamp(e.at, 0),
                e.actor.clone(),
                e.role.clone(),
                e.via.clone(),
                e.source_ip.clone(),
                e.action.clone(),
                e.object.clone(),
            ]
        },
    );
    Ok(())
}
