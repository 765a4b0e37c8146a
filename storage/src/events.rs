//! The event log (`events`): authentication, delivery and error events the server records
//! for the console's log search and `baedal log search`. Recording never waits for the
//! database: [`record`] hands the event to one writer task per process (installed by
//! [`install`]) through a bounded queue, which inserts in batches; when the queue is full
//! the event is dropped and counted (the tracing log still has it).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::db::Database;
use crate::sql_filter::{BindValue, Filter, like_escape};

/// Events waiting for the writer at most; more are dropped.
const QUEUE: usize = 10_000;
/// Events per INSERT transaction.
const BATCH: usize = 500;
/// Longest text kept per field.
const FIELD_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Auth,
    Delivery,
    Error,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Delivery => "delivery",
            Self::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auth" => Some(Self::Auth),
            "delivery" => Some(Self::Delivery),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// One event, as recorded and as searched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub at: i64,
    pub kind: EventKind,
    pub protocol: String,
    pub address: String,
    pub remote_ip: String,
    pub message_id: String,
    pub result: String,
    pub detail: String,
}

impl Event {
    pub fn new(kind: EventKind, protocol: &str, result: &str) -> Self {
        Self {
            at: crate::clock::now_secs(),
            kind,
            protocol: protocol.to_string(),
            address: String::new(),
            remote_ip: String::new(),
            message_id: String::new(),
            result: result.to_string(),
            detail: String::new(),
        }
    }

    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    pub fn ip(mut self, ip: impl ToString) -> Self {
        self.remote_ip = ip.to_string();
        self
    }

    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = id.into();
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    fn bounded(mut self) -> Self {
        for f in [
            &mut self.protocol,
            &mut self.address,
            &mut self.remote_ip,
            &mut self.message_id,
            &mut self.result,
            &mut self.detail,
        ] {
            if f.len() > FIELD_MAX {
                let mut end = FIELD_MAX;
                while !f.is_char_boundary(end) {
                    end -= 1;
                }
                f.truncate(end);
            }
        }
        self
    }
}

static SINK: OnceLock<mpsc::Sender<Event>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Starts the writer for this process (once; later calls do nothing). Needs a tokio runtime.
pub fn install(db: Database) {
    let (tx, rx) = mpsc::channel(QUEUE);
    if SINK.set(tx).is_ok() {
        tokio::spawn(write_events(EventLog::new(db), rx));
    }
}

/// Records `event` (dropped when no writer is installed, as in the CLI, or when the queue
/// is full).
pub fn record(event: Event) {
    if let Some(tx) = SINK.get()
        && tx.try_send(event.bounded()).is_err()
    {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Events dropped because the writer could not keep up.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

async fn write_events(log: EventLog, mut rx: mpsc::Receiver<Event>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(e) = log.insert(&batch).await {
            tracing::warn!(error = %e, events = batch.len(), "cannot record events");
            // The database may be restarting: wait a little instead of spinning.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        batch.clear();
    }
}

/// Which events a search returns; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub kind: Option<EventKind>,
    /// A substring of the address (login name, sender or recipient).
    pub address: Option<String>,
    pub remote_ip: Option<String>,
    pub message_id: Option<String>,
    /// Only events whose address is in one of these domains (a domain administrator's):
    /// the login, the recipient, or the sender of `from -> rcpt`.
    pub domains: Option<Vec<String>>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

type EventRow = (i64, String, String, String, String, String, String, String);

#[derive(Debug, Clone)]
pub struct EventLog {
    db: Database,
}

impl EventLog {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub async fn insert(&self, events: &[Event]) -> Result<(), sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        for e in events {
            sqlx::query(
                "INSERT INTO events (at, kind, protocol, address, remote_ip, message_id, result, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.at)
            .bind(e.kind.as_str())
            .bind(&e.protocol)
            .bind(&e.address)
            .bind(&e.remote_ip)
            .bind(&e.message_id)
            .bind(&e.result)
            .bind(&e.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Events matching `query`, newest first, and how many match in all.
    pub async fn search(&self, query: &EventQuery) -> Result<(i64, Vec<Event>), sqlx::Error> {
        let mut f = Filter::default();
        if let Some(kind) = query.kind {
            f.push("kind = ?", BindValue::Text(kind.as_str().into()));
        }
        if let Some(a) = query.address.as_deref().filter(|a| !a.is_empty()) {
            f.contains("address", a);
        }
        if let Some(ip) = query.remote_ip.as_deref().filter(|a| !a.is_empty()) {
            f.push("remote_ip = ?", BindValue::Text(ip.into()));
        }
        if let Some(id) = query.message_id.as_deref().filter(|a| !a.is_empty()) {
            f.push("message_id = ?", BindValue::Text(id.into()));
        }
        if let Some(since) = query.since {
            f.push("at >= ?", BindValue::Int(since));
        }
        if let Some(until) = query.until {
            f.push("at <= ?", BindValue::Int(until));
        }
        if let Some(domains) = &query.domains {
            // An address of one of the domains: a login or a recipient (`…@d`), or the
            // sender of `from -> rcpt` (`…@d -> …`).
            let patterns: Vec<String> = domains
                .iter()
                .map(|d| like_escape(&d.to_lowercase()))
                .flat_map(|d| [format!("%@{d}"), format!("%@{d} -> %")])
                .collect();
            f.like_any("address", &patterns);
        }
        let clause = f.clause();
        let count_sql = format!("SELECT COUNT(*) FROM events{clause}");
        let total = f
            .bind_scalar(sqlx::query_scalar::<_, i64>(&count_sql))
            .fetch_one(self.db.pool())
            .await?;
        let sql = format!(
            "SELECT at, kind, protocol, address, remote_ip, message_id, result, detail FROM events\
             {clause} ORDER BY id DESC LIMIT {} OFFSET {}",
            query.limit.clamp(1, 10_000),
            query.offset.max(0)
        );
        let rows = f
            .bind_rows(sqlx::query_as::<_, EventRow>(&sql))
            .fetch_all(self.db.pool())
            .await?;
        Ok((
            total,
            rows.into_iter()
                .map(
                    |(at, kind, protocol, address, remote_ip, message_id, result, detail)| Event {
                        at,
                        kind: EventKind::parse(&kind).unwrap_or(EventKind::Error),
                        protocol,
                        address,
                        remote_ip,
                        message_id,
                        result,
                        detail,
                    },
                )
                .collect(),
        ))
    }

    /// The retention job: removes events older than `before`.
    pub async fn prune(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM events WHERE at < $1")
            .bind(before)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
