//! The audit log (`audit_log`): every administrative change, appended by the admin
//! operations whatever face (CLI, console, API) called them. Nothing here updates or deletes
//! a row except [`AdminStore::prune_audit`], the retention job.

use serde::Serialize;

use super::{AdminStore, AdminStoreError};
use crate::sql_filter::{BindValue, Filter};

/// One change, as it is appended.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub role: &'a str,
    pub source_ip: &'a str,
    pub via: &'a str,
    pub action: &'a str,
    pub object: &'a str,
    pub domain: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub role: String,
    pub source_ip: String,
    pub via: String,
    pub action: String,
    pub object: String,
    pub domain: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Which entries a search returns; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// A substring of the object (an address, a domain).
    pub object: Option<String>,
    pub action: Option<String>,
    /// Only entries about these domains (a domain administrator's view).
    pub domains: Option<Vec<String>>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

type AuditRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl AdminStore {
    pub async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), AdminStoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, role, source_ip, via, action, object, domain, \
                                    before_state, after_state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(entry.at)
        .bind(entry.actor)
        .bind(entry.role)
        .bind(entry.source_ip)
        .bind(entry.via)
        .bind(entry.action)
        .bind(entry.object)
        .bind(entry.domain)
        .bind(entry.before.map(|v| v.to_string()))
        .bind(entry.after.map(|v| v.to_string()))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Entries matching `query`, newest first, and how many match in all.
    pub async fn search_audit(
        &self,
        query: &AuditQuery,
    ) -> Result<(i64, Vec<AuditEntry>), AdminStoreError> {
        let mut f = Filter::default();
        if let Some(actor) = &query.actor {
            f.push("actor = ?", BindValue::Text(actor.clone()));
        }
        if let Some(object) = &query.object {
            f.contains("object", object);
        }
        if let Some(action) = &query.action {
            f.push("action = ?", BindValue::Text(action.clone()));
        }
        if let Some(since) = query.since {
            f.push("at >= ?", BindValue::Int(since));
        }
        if let Some(until) = query.until {
            f.push("at <= ?", BindValue::Int(until));
        }
        if let Some(domains) = &query.domains {
            f.one_of("domain", domains);
        }
        let filter = f.clause();
        let count_sql = format!("SELECT COUNT(*) FROM audit_log{filter}");
        let total = f
            .bind_scalar(sqlx::query_scalar::<_, i64>(&count_sql))
            .fetch_one(self.db.pool())
            .await?;
        let list_sql = format!(
            "SELECT id, at, actor, role, source_ip, via, action, object, domain, before_state, \
                    after_state FROM audit_log{filter} ORDER BY id DESC LIMIT {} OFFSET {}",
            query.limit.clamp(1, 10_000),
            query.offset.max(0)
        );
        let list = f.bind_rows(sqlx::query_as::<_, AuditRow>(&list_sql));
        let rows = list.fetch_all(self.db.pool()).await?;
        let parse = |v: Option<String>| v.and_then(|t| serde_json::from_str(&t).ok());
        let entries = rows
            .into_iter()
            .map(
                |(id, at, actor, role, source_ip, via, action, object, domain, before, after)| {
                    AuditEntry {
                        id,
                        at,
                        actor,
                        role,
                        source_ip,
                        via,
                        action,
                        object,
                        domain,
                        before: parse(before),
                        after: parse(after),
                    }
                },
            )
            .collect();
        Ok((total, entries))
    }

    /// The retention job: removes entries older than `before`.
    pub async fn prune_audit(&self, before: i64) -> Result<u64, AdminStoreError> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(before)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
