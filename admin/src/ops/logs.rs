//! Searching the event log (authentication, delivery and error events the server recorded):
//! the console's logs page, `GET /api/v1/logs` and `baedal log search`. A domain
//! administrator sees the events that mention their domains only.

use baedal_storage::events::{Event, EventLog, EventQuery};

use super::{Actor, Permission};
use crate::{AdminContext, AdminError};

pub async fn search(
    ctx: &AdminContext,
    actor: &Actor,
    mut query: EventQuery,
) -> Result<(i64, Vec<Event>), AdminError> {
    query.domains = actor.domain_scope(Permission::ViewLogs)?;
    if query.limit <= 0 {
        query.limit = 100;
    }
    EventLog::new(ctx.admins.database().clone())
        .search(&query)
        .await
        .map_err(|e| AdminError::Failed(format!("cannot search the event log: {e}")))
}
