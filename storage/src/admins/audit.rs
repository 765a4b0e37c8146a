//! The audit log (`audit_log`): every administrative change, appended by the admin
//! operations whatever face (CLI, console, API) called them. Nothing here updates or deletes
//! a row except [`AdminStore::prune_audit`], the retention job.

use serde::Serialize;

use super::{AdminStore, AdminStoreError};

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
        // Every value is bound; only the placeholders' numbers are formatted in.
        let mut conditions = Vec::new();
        let mut binds: Vec<BindValue> = Vec::new();
        let mut push = |condition: &str, value: BindValue| {
            binds.push(value);
            conditions.push(condition.replace('?', &format!("${}", binds.len())));
        };
        if let Some(actor) = &query.actor {
            push("actor = ?", BindValue::Text(actor.clone()));
        }
        if let Some(object) = &query.object {
            push(
                "object LIKE ? ESCAPE '\\'",
                BindValue::Text(format!("%{}%", like_escape(object))),
            );
        }
        if let Some(action) = &query.action {
            push("action = ?", BindValue::Text(action.clone()));
        }
        if let Some(since) = query.since {
            push("at >= ?", BindValue::Int(since));
        }
        if let Some(until) = query.until {
            push("at <= ?", BindValue::Int(until));
        }
        if let Some(domains) = &query.domains {
            let mut placeholders = Vec::new();
            for domain in domains {
                binds.push(BindValue::Text(domain.clone()));
                placeholders.push(format!("${}", binds.len()));
            }
            if placeholders.is_empty() {
                conditions.push("1 = 0".to_string());
            } else {
                conditions.push(format!("domain IN ({})", placeholders.join(", ")));
            }
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM audit_log{filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = match b {
                BindValue::Text(t) => count.bind(t.clone()),
                BindValue::Int(i) => count.bind(*i),
            };
        }
        let total = count.fetch_one(self.db.pool()).await?;
        let list_sql = format!(
            "SELECT id, at, actor, role, source_ip, via, action, object, domain, before_state, \
                    after_state FROM audit_log{filter} ORDER BY id DESC LIMIT {} OFFSET {}",
            query.limit.clamp(1, 10_000),
            query.offset.max(0)
        );
        let mut list = sqlx::query_as::<_, AuditRow>(&list_sql);
        for b in &binds {
            list = match b {
                BindValue::Text(t) => list.bind(t.clone()),
                BindValue::Int(i) => list.bind(*i),
            };
        }
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

enum BindValue {
    Text(String),
    Int(i64),
}

/// `text` with LIKE's wildcards taken literally.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
