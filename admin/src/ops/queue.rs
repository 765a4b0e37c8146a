//! The outbound queue: list, retry, hold, release, delete, one message or all that match a
//! filter (sender or recipient domain, age).

use baedal_storage::QueuedMessage;

use super::{Actor, Permission, audit};
use crate::{AdminContext, AdminError};

/// What queue action to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAction {
    Retry,
    Hold,
    Release,
    Delete,
}

impl QueueAction {
    fn audit_name(self) -> &'static str {
        match self {
            Self::Retry => "queue.retry",
            Self::Hold => "queue.hold",
            Self::Release => "queue.release",
            Self::Delete => "queue.delete",
        }
    }
}

/// Which queued messages a bulk action takes; every given part must match.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub sender_domain: Option<String>,
    pub recipient_domain: Option<String>,
    /// Queued at least this many seconds ago.
    pub older_than_secs: Option<i64>,
}

impl QueueFilter {
    pub fn is_empty(&self) -> bool {
        self.sender_domain.is_none()
            && self.recipient_domain.is_none()
            && self.older_than_secs.is_none()
    }

    fn matches(&self, m: &QueuedMessage, now: i64) -> bool {
        let domain_of = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        let sender_ok = self.sender_domain.as_deref().is_none_or(|d| {
            domain_of(&m.sender).as_deref() == Some(d.to_ascii_lowercase().as_str())
        });
        let rcpt_ok = self.recipient_domain.as_deref().is_none_or(|d| {
            m.recipients.iter().any(|r| {
                domain_of(&r.recipient).as_deref() == Some(d.to_ascii_lowercase().as_str())
            })
        });
        let age_ok = self.older_than_secs.is_none_or(|s| now - m.created_at >= s);
        sender_ok && rcpt_ok && age_ok
    }
}

pub async fn list(ctx: &AdminContext, actor: &Actor) -> Result<Vec<QueuedMessage>, AdminError> {
    actor.check(Permission::ManageQueue, None)?;
    Ok(ctx.queue.list().await?)
}

/// Acts on one message.
pub async fn act(
    ctx: &AdminContext,
    actor: &Actor,
    id: &str,
    action: QueueAction,
) -> Result<(), AdminError> {
    actor.check(Permission::ManageQueue, None)?;
    if ctx.queue.show(id).await?.is_none() {
        return Err(AdminError::NotFound(format!("no queued message {id}")));
    }
    let now = baedal_storage::clock::now_secs();
    match action {
        QueueAction::Retry => ctx.queue.retry(id, now).await?,
        QueueAction::Hold => ctx.queue.hold(id, now).await?,
        QueueAction::Release => ctx.queue.release(id, now).await?,
        QueueAction::Delete => ctx.queue.delete(id).await?,
    }
    audit(ctx, actor, action.audit_name(), id, "", None, None).await
}

/// Acts on every message the filter matches (a filter must say something); the ids.
pub async fn act_matching(
    ctx: &AdminContext,
    actor: &Actor,
    filter: &QueueFilter,
    action: QueueAction,
) -> Result<Vec<String>, AdminError> {
    actor.check(Permission::ManageQueue, None)?;
    if filter.is_empty() {
        return Err(AdminError::field(
            "sender_domain",
            "give message ids or a filter (sender_domain, recipient_domain, older_than_hours)",
        ));
    }
    let now = baedal_storage::clock::now_secs();
    let mut done = Vec::new();
    for m in ctx.queue.list().await? {
        if filter.matches(&m, now) {
            act(ctx, actor, &m.id, action).await?;
            done.push(m.id);
        }
    }
    Ok(done)
}
