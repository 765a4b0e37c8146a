//! The queue workers: lease due recipients, group them per message and destination
//! domain, route them (smarthost or MX), deliver with the SMTP client, record each
//! outcome, and report failures and long delays to the sender.
//!
//! Concurrency is bounded in total (`queue.workers`) and per destination domain
//! (`queue.per_domain`). A worker only leases as many recipients as it has free slots, so
//! a lease never waits behind other deliveries of the same node.

mod bounce;
mod route;

use baedal_storage::events::{self, Event, EventKind};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use baedal_protocol::dsn::{Action, DsnRecipient};
use baedal_protocol::smtp_client::{ClientSettings, Connection, RecipientResult, TlsPolicy};
use baedal_storage::clock::now_secs;
use baedal_storage::queue::{Attempt, LeasedRecipient};
use baedal_storage::{Directory, MailStore, Queue, Spool};
use mail_auth::MessageAuthenticator;
use tokio::sync::{Notify, Semaphore, watch};

use crate::config::{Config, RelayTls};
use route::{Hop, RouteError};

/// Messages leased per free delivery slot: a slot's session sends them in turn.
const MESSAGES_PER_SLOT: usize = 4;
/// How long a worker owns a leased recipient.
const LEASE_SECS: i64 = 900;
/// DNS queries wait this long for an answer.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// The settings the workers act on, resolved from the config once.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub workers: usize,
    pub per_domain: usize,
    pub retry_intervals: Vec<i64>,
    pub lifetime_secs: i64,
    pub delay_warning_secs: i64,
    pub remote_port: u16,
    pub poll_interval: Duration,
}

impl QueueSettings {
    /// When the next attempt after `attempts` failed ones is due.
    fn retry_at(&self, now: i64, attempts: i64) -> i64 {
        let i = (attempts.max(1) as usize - 1).min(self.retry_intervals.len().saturating_sub(1));
        now + self.retry_intervals.get(i).copied().unwrap_or(300)
    }
}

/// The smarthost every message goes through, when one is configured.
#[derive(Debug, Clone)]
struct Relay {
    host: String,
    port: u16,
}

pub struct Outbound {
    queue: Queue,
    directory: Directory,
    store: MailStore,
    spool: Spool,
    hostname: String,
    /// The language of the reports to each sender's domain.
    languages: baedal_protocol::language::NoticeLanguages,
    resolver: MessageAuthenticator,
    client: ClientSettings,
    relay: Option<Relay>,
    settings: QueueSettings,
    wake: Arc<Notify>,
    slots: Arc<Semaphore>,
    domains: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Outbound {
    pub fn new(
        config: &Config,
        queue: Queue,
        directory: Directory,
        store: MailStore,
        wake: Arc<Notify>,
    ) -> Result<Self> {
        let resolver = crate::resolver::resolver(config, DNS_TIMEOUT)?;
        let relay = (!config.relay.host.is_empty()).then(|| Relay {
            host: config.relay.host.clone(),
            port: config.relay.port,
        });
        let auth = (relay.is_some() && !config.relay.username.is_empty())
            .then(|| (config.relay.username.clone(), config.relay.password.clone()));
        let tls = match (&relay, config.relay.tls) {
            (None, _) | (Some(_), RelayTls::Opportunistic) => TlsPolicy::Opportunistic,
            (Some(_), RelayTls::Required) => TlsPolicy::Required,
            (Some(_), RelayTls::Implicit) => TlsPolicy::Implicit,
        };
        let settings = QueueSettings {
            workers: config.queue.workers.max(1),
            per_domain: config.queue.per_domain.max(1),
            retry_intervals: config
                .queue
                .retry_intervals
                .iter()
                .map(|&s| s.max(1) as i64)
                .collect(),
            lifetime_secs: config.queue.lifetime as i64,
            delay_warning_secs: config.queue.delay_warning as i64,
            remote_port: config.queue.remote_port,
            poll_interval: Duration::from_secs(config.queue.poll_interval.max(1)),
        };
        let spool_dir = config.spool_dir();
        Ok(Self {
            spool: Spool::new(&spool_dir, &config.hostname)?,
            client: ClientSettings {
                hostname: config.hostname.clone(),
                connect_timeout: Duration::from_secs(config.queue.connect_timeout.max(1)),
                command_timeout: Duration::from_secs(300),
                data_timeout: Duration::from_secs(600),
                tls,
                auth,
            },
            slots: Arc::new(Semaphore::new(settings.workers)),
            hostname: config.hostname.clone(),
            languages: config.notices.languages(),
            queue,
            directory,
            store,
            resolver,
            relay,
            settings,
            wake,
            domains: Mutex::new(HashMap::new()),
        })
    }

    /// Runs the workers until `stop`; deliveries under way finish first.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut running = tokio::task::JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let free = self.slots.available_permits();
            let leased = if free == 0 {
                Vec::new()
            } else {
                match self
                    .queue
                    .lease_due(now_secs(), (free * MESSAGES_PER_SLOT) as i64, LEASE_SECS)
                    .await
                {
                    Ok(leased) => leased,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the queue");
                        Vec::new()
                    }
                }
            };
            let busy = !leased.is_empty();
            for batch in batches(group(leased), self.settings.per_domain) {
                let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await else {
                    break;
                };
                let this = Arc::clone(&self);
                running.spawn(async move {
                    this.deliver_batch(batch).await;
                    drop(slot);
                });
            }
            while running.try_join_next().is_some() {}
            if busy && self.slots.available_permits() > 0 {
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = stop.changed() => {}
            }
        }
        while running.join_next().await.is_some() {}
    }

    fn domain_slots(&self, domain: &str) -> Arc<Semaphore> {
        let mut domains = self.domains.lock().unwrap_or_else(|e| e.into_inner());
        if domains.len() > 10_000 {
            domains.retain(|_, s| Arc::strong_count(s) > 1);
        }
        Arc::clone(
            domains
                .entry(domain.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_domain))),
        )
    }

    /// Messages to one domain, one after the other over one session where the remote
    /// allows: route once, then send and record each message.
    async fn deliver_batch(&self, batch: Vec<Vec<LeasedRecipient>>) {
        let Some(domain) = batch
            .first()
            .and_then(|g| g.first())
            .map(|r| r.domain.clone())
        else {
            return;
        };
        let domain_slots = self.domain_slots(&domain);
        let Ok(_domain_slot) = domain_slots.acquire().await else {
            return;
        };
        let hops = self.route(&domain).await;
        let mut connection = None;
        for group in &batch {
            let results = match &hops {
                Ok(hops) => {
                    let started = Instant::now();
                    let results = self.send_group(hops, &mut connection, group).await;
                    baedal_metrics::delivery_attempt(started.elapsed());
                    results
                }
                Err(RouteError::Permanent(e)) => {
                    vec![RecipientResult::Permanent(e.clone()); group.len()]
                }
                Err(RouteError::Temporary(e)) => {
                    vec![RecipientResult::Temporary(e.clone()); group.len()]
                }
            };
            self.record(group, results).await;
        }
        if let Some(connection) = connection {
            connection.quit().await;
        }
    }

    async fn route(&self, domain: &str) -> Result<Vec<Hop>, RouteError> {
        match &self.relay {
            Some(relay) => {
                let addresses = tokio::net::lookup_host((relay.host.as_str(), relay.port))
                    .await
                    .map_err(|e| RouteError::Temporary(format!("smarthost {}: {e}", relay.host)))?;
                Ok(addresses
                    .map(|address: SocketAddr| Hop {
                        name: relay.host.clone(),
                        address,
                    })
                    .collect())
            }
            None => route::hops(&self.resolver, domain, self.settings.remote_port).await,
        }
    }

    /// One message: over the open session if there is one, else each host in turn until
    /// one answers for the recipients (RFC 5321 §5.1: on to the next host only when this
    /// one could not be reached or failed temporarily as a whole).
    async fn send_group<'a>(
        &'a self,
        hops: &[Hop],
        connection: &mut Option<Connection<'a>>,
        group: &[LeasedRecipient],
    ) -> Vec<RecipientResult> {
        let Some(message) = group.first() else {
            return Vec::new();
        };
        let recipients: Vec<String> = group.iter().map(|r| r.recipient.clone()).collect();
        let all = |result: RecipientResult| vec![result; recipients.len()];
        if let Some(open) = connection.as_mut().filter(|c| c.is_usable()) {
            let reader = match self.queue.open(&message.blob_key).await {
                Ok(reader) => reader,
                Err(e) => return all(unreadable(e)),
            };
            match open.send(&message.sender, &recipients, reader).await {
                Ok(results) => return results,
                Err(e) if e.permanent => return all(RecipientResult::Permanent(e.message)),
                // The session broke: start over with a new one.
                Err(_) => {}
            }
        }
        *connection = None;
        let mut last = String::from("no host to try");
        for hop in hops {
            let mut open = match Connection::open(&self.client, hop.address, &hop.name).await {
                Ok(open) => open,
                Err(e) if e.permanent => return all(RecipientResult::Permanent(e.message)),
                Err(e) => {
                    tracing::info!(id = %message.message_id, host = %hop.name, address = %hop.address, error = %e.message, "host failed; next");
                    last = format!("{} [{}]: {}", hop.name, hop.address, e.message);
                    continue;
                }
            };
            let reader = match self.queue.open(&message.blob_key).await {
                Ok(reader) => reader,
                Err(e) => return all(unreadable(e)),
            };
            match open.send(&message.sender, &recipients, reader).await {
                Ok(results) => {
                    tracing::debug!(id = %message.message_id, host = %hop.name, address = %hop.address, ?results, "delivery attempt");
                    *connection = Some(open);
                    return results;
                }
                Err(e) if e.permanent => {
                    tracing::info!(id = %message.message_id, host = %hop.name, error = %e.message, "refused");
                    return all(RecipientResult::Permanent(e.message));
                }
                Err(e) => {
                    tracing::info!(id = %message.message_id, host = %hop.name, address = %hop.address, error = %e.message, "host failed; next");
                    last = format!("{} [{}]: {}", hop.name, hop.address, e.message);
                }
            }
        }
        all(RecipientResult::Temporary(last))
    }

    async fn record(&self, group: &[LeasedRecipient], results: Vec<RecipientResult>) {
        let now = now_secs();
        let attempts: Vec<Attempt> = group
            .iter()
            .zip(results)
            .map(|(leased, result)| match result {
                RecipientResult::Accepted => Attempt::Delivered,
                RecipientResult::Permanent(error) => Attempt::Failed { error },
                RecipientResult::Temporary(error) if now >= leased.expires_at => Attempt::Failed {
                    error: format!("gave up after {} attempts: {error}", leased.attempts + 1),
                },
                RecipientResult::Temporary(error) => Attempt::Deferred {
                    retry_at: self.settings.retry_at(now, leased.attempts + 1),
                    error,
                },
            })
            .collect();
        for (leased, attempt) in group.iter().zip(&attempts) {
            tracing::info!(id = %leased.message_id, rcpt = %leased.recipient, attempt = leased.attempts + 1, outcome = ?attempt, "delivery");
            let (result, error) = match attempt {
                Attempt::Delivered => ("delivered", ""),
                Attempt::Deferred { error, .. } => ("deferred", error.as_str()),
                Attempt::Failed { error } => ("failed", error.as_str()),
            };
            baedal_metrics::delivery(result);
            let kind = if result == "failed" {
                EventKind::Error
            } else {
                EventKind::Delivery
            };
            events::record(
                Event::new(kind, "queue", result)
                    .address(leased.recipient.as_str())
                    .message_id(leased.message_id.as_str())
                    .detail(error),
            );
        }
        let Some(message) = group.first() else {
            return;
        };
        let mut failed = Vec::new();
        let mut delayed = Vec::new();
        for (leased, attempt) in group.iter().zip(&attempts) {
            match attempt {
                Attempt::Failed { error } => failed.push(DsnRecipient {
                    address: leased.recipient.clone(),
                    action: Action::Failed,
                    diagnostic: error.clone(),
                }),
                Attempt::Deferred { error, .. } => delayed.push(DsnRecipient {
                    address: leased.recipient.clone(),
                    action: Action::Delayed,
                    diagnostic: error.clone(),
                }),
                Attempt::Delivered => {}
            }
        }
        // A bounce quotes the original header: the message retires after it is written.
        let reports = !failed.is_empty() && !message.sender.is_empty();
        let outcomes: Vec<(&LeasedRecipient, &Attempt)> = group.iter().zip(&attempts).collect();
        let retired = match self.queue.record(&outcomes, now, !reports).await {
            Ok(retired) => retired,
            Err(e) => {
                tracing::error!(id = %message.message_id, error = %e, "cannot record delivery outcomes");
                return;
            }
        };
        self.report(message, &failed).await;
        let warn_after = self.settings.delay_warning_secs;
        if !delayed.is_empty()
            && warn_after > 0
            && now - message.created_at >= warn_after
            && !message.delay_notified
            && !message.sender.is_empty()
            && self
                .queue
                .claim_delay_notice(&message.message_id)
                .await
                .unwrap_or(false)
        {
            self.report(message, &delayed).await;
        }
        // `record` already retired what it could unless a bounce had to quote the message.
        let retired = retired
            || reports
                && match self.queue.retire_if_done(&message.message_id).await {
                    Ok(retired) => retired,
                    Err(e) => {
                        tracing::error!(id = %message.message_id, error = %e, "cannot retire a message");
                        false
                    }
                };
        if retired {
            tracing::debug!(id = %message.message_id, "left the queue");
        }
    }
}

/// The outcome for every recipient when the queued object cannot be read.
fn unreadable(e: impl std::fmt::Display) -> RecipientResult {
    RecipientResult::Temporary(format!("queued message unreadable: {e}"))
}

/// Groups of one domain split into at most `per_domain` batches, each batch one session
/// that sends its messages in turn.
fn batches(groups: Vec<Vec<LeasedRecipient>>, per_domain: usize) -> Vec<Vec<Vec<LeasedRecipient>>> {
    let mut by_domain: Vec<(String, Vec<Vec<LeasedRecipient>>)> = Vec::new();
    for g in groups {
        let Some(domain) = g.first().map(|r| r.domain.clone()) else {
            continue;
        };
        match by_domain.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, list)) => list.push(g),
            None => by_domain.push((domain, vec![g])),
        }
    }
    let mut batches = Vec::new();
    for (_, list) in by_domain {
        let k = per_domain.max(1).min(list.len());
        let mut split: Vec<Vec<Vec<LeasedRecipient>>> = vec![Vec::new(); k];
        for (i, g) in list.into_iter().enumerate() {
            split[i % k].push(g);
        }
        batches.extend(split);
    }
    batches
}

/// Leased recipients grouped per message and destination domain, one transaction each.
fn group(leased: Vec<LeasedRecipient>) -> Vec<Vec<LeasedRecipient>> {
    let mut groups: Vec<Vec<LeasedRecipient>> = Vec::new();
    for r in leased {
        match groups
            .iter_mut()
            .find(|g| g[0].message_id == r.message_id && g[0].domain == r.domain)
        {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leased(message: &str, domain: &str) -> LeasedRecipient {
        LeasedRecipient {
            row_id: 0,
            message_id: message.into(),
            recipient: format!("x@{domain}"),
            domain: domain.into(),
            attempts: 0,
            sender: "a@example.org".into(),
            blob_key: String::new(),
            size: 1,
            created_at: 0,
            expires_at: 1,
            delay_notified: false,
        }
    }

    #[test]
    fn messages_to_one_domain_share_at_most_per_domain_sessions() {
        let leased = vec![
            leased("m1", "a.test"),
            leased("m1", "a.test"),
            leased("m2", "a.test"),
            leased("m3", "a.test"),
            leased("m1", "b.test"),
        ];
        let groups = group(leased);
        assert_eq!(groups.len(), 4, "m1 to a.test is one transaction");
        let batches = batches(groups, 2);
        let shape: Vec<Vec<(String, usize)>> = batches
            .iter()
            .map(|b| {
                b.iter()
                    .map(|g| (g[0].message_id.clone(), g.len()))
                    .collect()
            })
            .collect();
        assert_eq!(
            shape,
            [
                vec![("m1".to_string(), 2), ("m3".to_string(), 1)],
                vec![("m2".to_string(), 1)],
                vec![("m1".to_string(), 1)],
            ]
        );
    }

    #[test]
    fn retries_follow_the_schedule_and_repeat_its_last_interval() {
        let settings = QueueSettings {
            workers: 1,
            per_domain: 1,
            retry_intervals: vec![60, 300, 900],
            lifetime_secs: 86400,
            delay_warning_secs: 0,
            remote_port: 25,
            poll_interval: Duration::from_secs(1),
        };
        assert_eq!(settings.retry_at(1000, 1), 1060);
        assert_eq!(settings.retry_at(1000, 2), 1300);
        assert_eq!(settings.retry_at(1000, 3), 1900);
        assert_eq!(settings.retry_at(1000, 9), 1900);
    }
}
