//! Baedal's Prometheus metrics: one registry for the whole process, counted into by plain
//! functions, so any crate (protocol sessions, authentication, the queue workers) records an
//! event with one call and no handle to pass around. The HTTP listener serves [`encode`] at
//! `/metrics` in the OpenMetrics text format.
//!
//! # Layout
//! - connections: [`connection_opened`] (a guard that counts the connection as open while
//!   it lives), per protocol.
//! - SMTP: [`smtp_message_accepted`], [`smtp_refused`] (by stage and enhanced status code,
//!   with a readable reason), [`smtp_transaction`] (MAIL to the final reply of the data).
//! - IMAP: [`imap_command`] (latency per command name).
//! - authentication: [`auth_attempt`] per protocol and result, [`auth_locked`],
//!   [`ldap_login`] (latency and errors of the directory).
//! - outbound queue: [`delivery`] by result, [`delivery_attempt`] (latency),
//!   [`set_queue`] (size and age, refreshed when `/metrics` is read).
//! - the host's view: [`set_backend`] (database and blob store probed when `/metrics` is
//!   read), [`set_disk`] (space of the data and spool directories, likewise),
//!   [`set_certificate_expiry`] (when the certificate in use ends).
//!
//! Label values come from fixed sets (protocol names, command names, status codes), never
//! from what a peer sends, so the number of series stays bounded.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Latency buckets in seconds, from a fast command to a large message over a slow link.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabel {
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabel {
    listener: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    listener: &'static str,
    stage: &'static str,
    status: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabel {
    command: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    protocol: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FilterLabel {
    filter: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FilterVerdictLabels {
    filter: &'static str,
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirLabel {
    dir: &'static str,
}

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

struct Metrics {
    registry: Registry,
    connections: Family<ProtocolLabel, Counter>,
    connections_open: Family<ProtocolLabel, Gauge>,
    smtp_accepted: Family<ListenerLabel, Counter>,
    smtp_refused: Family<RefusalLabels, Counter>,
    smtp_transaction: Family<ListenerLabel, Histogram, fn() -> Histogram>,
    imap_command: Family<CommandLabel, Histogram, fn() -> Histogram>,
    auth: Family<AuthLabels, Counter>,
    auth_lockouts: Family<ProtocolLabel, Counter>,
    ldap_login: Histogram,
    ldap_errors: Counter,
    deliveries: Family<ResultLabel, Counter>,
    delivery_duration: Histogram,
    filter_verdicts: Family<FilterVerdictLabels, Counter>,
    filter_scan: Family<FilterLabel, Histogram, fn() -> Histogram>,
    filter_up: Family<FilterLabel, Gauge>,
    queue_recipients: Gauge,
    queue_oldest_age: Gauge,
    backend_up: Family<BackendLabel, Gauge>,
    backend_probe: Family<BackendLabel, Gauge<f64, AtomicU64>>,
    disk_free: Family<DirLabel, Gauge>,
    disk_size: Family<DirLabel, Gauge>,
    certificate_expiry: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("baedal");
    let m = Metrics {
        registry: Registry::default(),
        connections: Family::default(),
        connections_open: Family::default(),
        smtp_accepted: Family::default(),
        smtp_refused: Family::default(),
        smtp_transaction: Family::new_with_constructor(latency),
        imap_command: Family::new_with_constructor(latency),
        auth: Family::default(),
        auth_lockouts: Family::default(),
        ldap_login: latency(),
        ldap_errors: Counter::default(),
        deliveries: Family::default(),
        delivery_duration: latency(),
        filter_verdicts: Family::default(),
        filter_scan: Family::new_with_constructor(latency),
        filter_up: Family::default(),
        queue_recipients: Gauge::default(),
        queue_oldest_age: Gauge::default(),
        backend_up: Family::default(),
        backend_probe: Family::default(),
        disk_free: Family::default(),
        disk_size: Family::default(),
        certificate_expiry: Gauge::default(),
    };
    registry.register(
        "connections",
        "Connections accepted, per protocol",
        m.connections.clone(),
    );
    registry.register(
        "connections_open",
        "Connections open now, per protocol",
        m.connections_open.clone(),
    );
    registry.register(
        "smtp_messages_accepted",
        "Messages acknowledged with 250 after their data, per listener (mx, submission)",
        m.smtp_accepted.clone(),
    );
    registry.register(
        "smtp_refusals",
        "SMTP commands refused, by stage (mail, rcpt, data, auth, ...), enhanced status code and reason",
        m.smtp_refused.clone(),
    );
    registry.register(
        "smtp_transaction_duration_seconds",
        "From an accepted MAIL FROM to the reply after the message data",
        m.smtp_transaction.clone(),
    );
    registry.register(
        "imap_command_duration_seconds",
        "From an IMAP command's last byte to its tagged reply, per command",
        m.imap_command.clone(),
    );
    registry.register(
        "auth_attempts",
        "Logins and SMTP AUTH, per protocol and result (success, failure)",
        m.auth.clone(),
    );
    registry.register(
        "auth_lockouts",
        "Logins refused unchecked because the account (from that IP) or the IP is locked out, per protocol",
        m.auth_lockouts.clone(),
    );
    registry.register(
        "ldap_login_duration_seconds",
        "One login checked against LDAP (service bind, search, bind as the user)",
        m.ldap_login.clone(),
    );
    registry.register(
        "ldap_errors",
        "LDAP login checks that failed for the directory's reasons (unreachable, timeout, an error code), not a wrong password",
        m.ldap_errors.clone(),
    );
    registry.register(
        "deliveries",
        "Outbound delivery attempts per recipient, by result (delivered, deferred, failed)",
        m.deliveries.clone(),
    );
    registry.register(
        "delivery_duration_seconds",
        "One outbound delivery attempt of one message to one domain, from connecting to the last reply",
        m.delivery_duration.clone(),
    );
    registry.register(
        "filter_verdicts",
        "Messages checked by a content filter (rspamd, clamav, attachments), by verdict (clean, spam, virus, blocked, tempfail, unscanned)",
        m.filter_verdicts.clone(),
    );
    registry.register(
        "filter_scan_duration_seconds",
        "How long one content filter took for one message",
        m.filter_scan.clone(),
    );
    registry.register(
        "filter_up",
        "1 while a content filter's daemon answered its last request, 0 after it failed",
        m.filter_up.clone(),
    );
    registry.register(
        "queue_recipients",
        "Recipients waiting in the outbound queue (queued or held)",
        m.queue_recipients.clone(),
    );
    registry.register(
        "queue_oldest_message_age_seconds",
        "Age of the oldest message in the outbound queue (0 when empty)",
        m.queue_oldest_age.clone(),
    );
    registry.register(
        "backend_up",
        "1 while the backend (database, blob_store) answered the probe made when /metrics was read, else 0",
        m.backend_up.clone(),
    );
    registry.register(
        "backend_probe_duration_seconds",
        "How long that probe took (a SELECT 1; reading a key no message has)",
        m.backend_probe.clone(),
    );
    registry.register(
        "disk_free_bytes",
        "Space the server may still use on the file system of a directory (data, spool)",
        m.disk_free.clone(),
    );
    registry.register(
        "disk_size_bytes",
        "Size of the file system of a directory (data, spool)",
        m.disk_size.clone(),
    );
    registry.register(
        "tls_certificate_expiry_timestamp_seconds",
        "When the server certificate in use expires (its notAfter, Unix time)",
        m.certificate_expiry.clone(),
    );
    // Series that exist from the start (at 0), so that rates and alerts see them before
    // the first event.
    for protocol in PROTOCOLS {
        let label = ProtocolLabel { protocol };
        let _ = m.connections.get_or_create(&label);
        let _ = m.connections_open.get_or_create(&label);
    }
    for listener in ["mx", "submission"] {
        let _ = m.smtp_accepted.get_or_create(&ListenerLabel { listener });
        let _ = m
            .smtp_transaction
            .get_or_create(&ListenerLabel { listener });
    }
    for protocol in ["smtp", "imap", "pop3"] {
        for result in ["success", "failure"] {
            let _ = m.auth.get_or_create(&AuthLabels { protocol, result });
        }
        let _ = m.auth_lockouts.get_or_create(&ProtocolLabel { protocol });
    }
    for result in ["delivered", "deferred", "failed"] {
        let _ = m.deliveries.get_or_create(&ResultLabel { result });
    }
    Metrics { registry, ..m }
});

/// The listeners, as `connection_opened` names them.
const PROTOCOLS: [&str; 9] = [
    "smtp",
    "smtps",
    "submission",
    "submissions",
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "http",
];

/// Counts a connection as open until the guard is dropped.
#[must_use = "the connection counts as open while the guard lives"]
pub struct OpenConnection {
    protocol: &'static str,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        METRICS
            .connections_open
            .get_or_create(&ProtocolLabel {
                protocol: self.protocol,
            })
            .dec();
    }
}

/// A connection accepted on a listener (`"smtp"`, `"submission"`, `"imaps"`, ...).
pub fn connection_opened(protocol: &'static str) -> OpenConnection {
    let label = ProtocolLabel { protocol };
    METRICS.connections.get_or_create(&label).inc();
    METRICS.connections_open.get_or_create(&label).inc();
    OpenConnection { protocol }
}

/// A message acknowledged after its data: `listener` is `"mx"` or `"submission"`.
pub fn smtp_message_accepted(listener: &'static str) {
    METRICS
        .smtp_accepted
        .get_or_create(&ListenerLabel { listener })
        .inc();
}

/// An SMTP command refused with a 4xx or 5xx reply. `stage` is the command (`"rcpt"`,
/// `"data"`, ...), `status` its enhanced status code (`"5.1.1"`).
pub fn smtp_refused(listener: &'static str, stage: &'static str, status: &'static str) {
    METRICS
        .smtp_refused
        .get_or_create(&RefusalLabels {
            listener,
            stage,
            status,
            reason: reason(status),
        })
        .inc();
}

/// A readable name for an enhanced status code (RFC 3463), for dashboards.
pub fn reason(status: &str) -> &'static str {
    match status {
        "5.1.1" => "unknown_user",
        "5.1.2" => "unknown_domain",
        "5.1.3" | "5.1.7" => "bad_address",
        "5.2.1" => "disabled",
        "5.2.2" | "4.2.2" => "quota",
        "5.3.4" => "too_big",
        "5.4.6" => "alias_loop",
        "4.5.3" | "5.5.3" => "too_many_recipients",
        "5.7.1" => "policy",
        "5.7.0" | "5.7.8" | "5.7.11" | "4.7.8" => "authentication",
        "5.7.23" | "5.7.25" | "5.7.26" | "5.7.27" => "sender_authentication",
        "4.3.0" | "4.3.2" => "local_error",
        "4.4.2" => "timeout",
        "4.7.0" => "limit",
        s if s.starts_with("5.5.") => "protocol",
        _ => "other",
    }
}

/// One mail transaction, from its accepted MAIL FROM to the reply after the data.
pub fn smtp_transaction(listener: &'static str, took: Duration) {
    METRICS
        .smtp_transaction
        .get_or_create(&ListenerLabel { listener })
        .observe(took.as_secs_f64());
}

/// One IMAP command (`"FETCH"`, `"SELECT"`, ...) and how long it took.
pub fn imap_command(command: &'static str, took: Duration) {
    METRICS
        .imap_command
        .get_or_create(&CommandLabel { command })
        .observe(took.as_secs_f64());
}

/// A login or SMTP AUTH: `protocol` is `"smtp"`, `"imap"` or `"pop3"`.
pub fn auth_attempt(protocol: &'static str, success: bool) {
    let result = if success { "success" } else { "failure" };
    METRICS
        .auth
        .get_or_create(&AuthLabels { protocol, result })
        .inc();
}

/// A login refused without a password check because of a lockout: `protocol` as in
/// [`auth_attempt`].
pub fn auth_locked(protocol: &'static str) {
    METRICS
        .auth_lockouts
        .get_or_create(&ProtocolLabel { protocol })
        .inc();
}

/// One login checked against LDAP: how long it took, and whether the directory answered
/// (a refused password is an answer).
pub fn ldap_login(took: Duration, answered: bool) {
    METRICS.ldap_login.observe(took.as_secs_f64());
    if !answered {
        METRICS.ldap_errors.inc();
    }
}

/// The outcome of one delivery attempt to one recipient: `"delivered"`, `"deferred"` or
/// `"failed"`.
pub fn delivery(result: &'static str) {
    METRICS
        .deliveries
        .get_or_create(&ResultLabel { result })
        .inc();
}

/// A content filter's verdict on one message: `filter` is `"rspamd"`, `"clamav"` or
/// `"attachments"`; `verdict` one of `"clean"`, `"spam"`, `"virus"`, `"blocked"`,
/// `"tempfail"` or `"unscanned"`.
pub fn filter_verdict(filter: &'static str, verdict: &'static str) {
    METRICS
        .filter_verdicts
        .get_or_create(&FilterVerdictLabels { filter, verdict })
        .inc();
}

/// One content filter's time for one message.
pub fn filter_scan(filter: &'static str, took: Duration) {
    METRICS
        .filter_scan
        .get_or_create(&FilterLabel { filter })
        .observe(took.as_secs_f64());
}

/// Whether a content filter's daemon answered its last request.
pub fn set_filter_up(filter: &'static str, up: bool) {
    METRICS
        .filter_up
        .get_or_create(&FilterLabel { filter })
        .set(i64::from(up));
}

/// One outbound delivery attempt of one message (its recipients at one domain).
pub fn delivery_attempt(took: Duration) {
    METRICS.delivery_duration.observe(took.as_secs_f64());
}

/// The queue as it is now: recipients waiting, and the oldest message's age in seconds.
pub fn set_queue(recipients: i64, oldest_age_secs: i64) {
    METRICS.queue_recipients.set(recipients);
    METRICS.queue_oldest_age.set(oldest_age_secs.max(0));
}

/// A probe of a backend (`"database"`, `"blob_store"`): whether it answered, and how long
/// it took.
pub fn set_backend(backend: &'static str, up: bool, took: Duration) {
    let label = BackendLabel { backend };
    METRICS.backend_up.get_or_create(&label).set(i64::from(up));
    METRICS
        .backend_probe
        .get_or_create(&label)
        .set(took.as_secs_f64());
}

/// The file system of a directory (`"data"`, `"spool"`): bytes still usable, and its size.
pub fn set_disk(dir: &'static str, free_bytes: u64, size_bytes: u64) {
    let label = DirLabel { dir };
    METRICS
        .disk_free
        .get_or_create(&label)
        .set(saturating_i64(free_bytes));
    METRICS
        .disk_size
        .get_or_create(&label)
        .set(saturating_i64(size_bytes));
}

/// When the certificate in use expires, in Unix seconds.
pub fn set_certificate_expiry(not_after_secs: i64) {
    METRICS.certificate_expiry.set(not_after_secs);
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The OpenMetrics text of every metric (content type [`CONTENT_TYPE`]).
pub fn encode() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &METRICS.registry);
    out
}

/// The content type of [`encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The registry is global: tests that count into it and read it back run one at a time.
#[cfg(test)]
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let open = connection_opened("imap");
        smtp_refused("mx", "rcpt", "5.1.1");
        auth_attempt("pop3", false);
        imap_command("FETCH", Duration::from_millis(3));
        let text = encode();
        assert!(
            text.contains("baedal_connections_total{protocol=\"imap\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("baedal_connections_open{protocol=\"imap\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("baedal_smtp_refusals_total{listener=\"mx\",stage=\"rcpt\",status=\"5.1.1\",reason=\"unknown_user\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("baedal_auth_attempts_total{protocol=\"pop3\",result=\"failure\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "baedal_imap_command_duration_seconds_bucket{le=\"0.005\",command=\"FETCH\"} 1"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
        drop(open);
        assert!(encode().contains("baedal_connections_open{protocol=\"imap\"} 0"));
    }

    #[test]
    fn probes_disks_lockouts_and_the_certificate_show_in_the_text() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        set_backend("database", false, Duration::from_millis(1500));
        set_disk("spool", 4096, u64::MAX);
        set_certificate_expiry(1_800_000_000);
        auth_locked("pop3");
        ldap_login(Duration::from_millis(2), false);
        delivery_attempt(Duration::from_millis(40));
        let text = encode();
        for line in [
            "baedal_backend_up{backend=\"database\"} 0",
            "baedal_backend_probe_duration_seconds{backend=\"database\"} 1.5",
            "baedal_disk_free_bytes{dir=\"spool\"} 4096",
            "baedal_disk_size_bytes{dir=\"spool\"} 9223372036854775807",
            "baedal_tls_certificate_expiry_timestamp_seconds 1800000000",
            "baedal_auth_lockouts_total{protocol=\"pop3\"} 1",
            "baedal_auth_lockouts_total{protocol=\"smtp\"} 0",
            "baedal_ldap_errors_total 1",
            "baedal_ldap_login_duration_seconds_bucket{le=\"0.0025\"} 1",
            "baedal_delivery_duration_seconds_bucket{le=\"0.05\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}

/// The process's counters since it started, for the admin console's dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Messages accepted by the MX listener.
    pub messages_in: u64,
    /// Messages accepted from users (submission).
    pub messages_submitted: u64,
    /// Outbound recipients delivered.
    pub delivered: u64,
    /// Outbound recipients that failed for good.
    pub delivery_failures: u64,
    /// Failed logins (every protocol).
    pub auth_failures: u64,
    /// Messages a content filter found to be spam.
    pub spam: u64,
    /// Messages a content filter found to carry a virus.
    pub virus: u64,
}

/// Reads [`Totals`] from the registry (its own text encoding: one place knows the names).
pub fn totals() -> Totals {
    let text = encode();
    let mut t = Totals::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let value = value as u64;
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let has = |l: &str| labels.contains(l);
        match name {
            "baedal_smtp_messages_accepted_total" if has("listener=\"mx\"") => {
                t.messages_in += value
            }
            "baedal_smtp_messages_accepted_total" => t.messages_submitted += value,
            "baedal_deliveries_total" if has("result=\"delivered\"") => t.delivered += value,
            "baedal_deliveries_total" if has("result=\"failed\"") => t.delivery_failures += value,
            "baedal_auth_attempts_total" if has("result=\"failure\"") => t.auth_failures += value,
            "baedal_filter_verdicts_total" if has("verdict=\"spam\"") => t.spam += value,
            "baedal_filter_verdicts_total" if has("verdict=\"virus\"") => t.virus += value,
            _ => {}
        }
    }
    t
}

#[cfg(test)]
mod totals_tests {
    use super::*;

    #[test]
    fn totals_count_what_was_recorded() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let before = totals();
        smtp_message_accepted("mx");
        smtp_message_accepted("submission");
        auth_attempt("imap", false);
        auth_attempt("imap", true);
        delivery("delivered");
        filter_verdict("rspamd", "spam");
        let after = totals();
        assert_eq!(after.messages_in, before.messages_in + 1);
        assert_eq!(after.messages_submitted, before.messages_submitted + 1);
        assert_eq!(after.auth_failures, before.auth_failures + 1);
        assert_eq!(after.delivered, before.delivered + 1);
        assert_eq!(after.spam, before.spam + 1);
        assert_eq!(after.virus, before.virus);
    }
}
