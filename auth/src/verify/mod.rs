//! Inbound message authentication on the MX: SPF for the HELO name and the MAIL FROM
//! domain (RFC 7208), every DKIM signature (RFC 6376), the ARC chain (RFC 8617) and DMARC
//! (RFC 7489), all through mail-auth and Baedal's own resolver, with the results as one
//! Authentication-Results header field (RFC 8601) and a policy verdict ([`policy`]).
//!
//! The message is never held whole: only its header section (bounded by the spool's
//! header limit) is parsed, and the body is streamed through the DKIM/ARC body hashers.
//! Every DNS step runs against one deadline; a step that runs out gets `temperror`.

pub mod cache;
mod dmarc;
mod headers;
pub mod policy;
pub mod reputation;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use mail_auth::common::crypto::{HashAlgorithm, HashContext, HashImpl, Sha1, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::canonicalize::BodyHasher;
use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimOutput, DkimResult, DmarcOutput,
    DmarcResult, DnsError, Error, IprevResult, MX, MessageAuthenticator, Parameters, RecordSet,
    SpfOutput, SpfResult, Txt,
};
use tokio::io::AsyncReadExt;
use tokio::time::{Instant, timeout_at};

pub use cache::TtlCache;
pub use headers::{authserv_id_of, strip_results_of, with_our_results};
pub use mail_auth::IprevOutput;

/// How much of the body is read at a time while hashing.
const BODY_CHUNK: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("reading the message: {0}")]
    Io(#[from] std::io::Error),
}

/// A check's result, named as RFC 8601 §2.7 names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    None,
    TempError,
    PermError,
}

impl AuthResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
            Self::None => "none",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }

    fn of_spf(result: SpfResult) -> Self {
        match result {
            SpfResult::Pass => Self::Pass,
            SpfResult::Fail => Self::Fail,
            SpfResult::SoftFail => Self::SoftFail,
            SpfResult::Neutral => Self::Neutral,
            SpfResult::TempError => Self::TempError,
            SpfResult::PermError => Self::PermError,
            SpfResult::None => Self::None,
        }
    }

    fn of_dkim(result: &DkimResult) -> Self {
        match result {
            DkimResult::Pass => Self::Pass,
            DkimResult::Neutral(_) => Self::Neutral,
            DkimResult::Fail(_) => Self::Fail,
            DkimResult::PermError(_) => Self::PermError,
            DkimResult::TempError(_) => Self::TempError,
            DkimResult::None => Self::None,
        }
    }

    fn of_dmarc(result: &DmarcResult) -> Self {
        match result {
            DmarcResult::Pass => Self::Pass,
            DmarcResult::Fail(_) => Self::Fail,
            DmarcResult::TempError(_) => Self::TempError,
            DmarcResult::PermError(_) => Self::PermError,
            DmarcResult::None => Self::None,
        }
    }

    pub(crate) fn of_iprev(result: &IprevResult) -> Self {
        match result {
            IprevResult::Pass => Self::Pass,
            IprevResult::Fail(_) => Self::Fail,
            IprevResult::TempError(_) => Self::TempError,
            IprevResult::PermError(_) => Self::PermError,
            IprevResult::None => Self::None,
        }
    }
}

/// The author domain's DMARC policy (RFC 7489 §6.3 `p=`); `Unknown` without a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
    Unknown,
}

impl DmarcPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Quarantine => "quarantine",
            Self::Reject => "reject",
            Self::Unknown => "unknown",
        }
    }
}

/// One DKIM signature's result and its signing domain (`d=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimCheck {
    pub result: AuthResult,
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcCheck {
    pub result: AuthResult,
    pub policy: DmarcPolicy,
    /// The RFC 5322.From domain, empty when the message has none DMARC can use.
    pub domain: String,
    /// SPF or a DKIM signature passed for the From domain itself, aligned in either mode
    /// (RFC 7489 §3.1): DMARC cannot fail, whatever a failed `_dmarc` lookup would say.
    pub author_pass: bool,
}

/// Everything the checks found about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub spf_helo: AuthResult,
    pub spf_mail_from: AuthResult,
    /// The domain the MAIL FROM check was about (the HELO name for a null sender).
    pub spf_domain: String,
    pub dkim: Vec<DkimCheck>,
    pub arc: AuthResult,
    pub dmarc: DmarcCheck,
    /// The FCrDNS result, when that check is on.
    pub iprev: Option<AuthResult>,
    /// The `Authentication-Results:` header field, with its CRLF.
    pub header: String,
}

/// The SMTP envelope of the message being checked.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub client_ip: IpAddr,
    /// The EHLO/HELO name as given.
    pub helo: &'a str,
    /// The reverse-path, `""` for the null sender.
    pub mail_from: &'a str,
}

/// The inbound checker: resolver, DNS cache and our authserv-id. One per server.
pub struct Verifier {
    resolver: MessageAuthenticator,
    authserv_id: String,
    /// Our host name, for the SPF `%{r}` macro.
    hostname: String,
    timeout: Duration,
    txt: TtlCache<Box<str>, Txt>,
    mx: TtlCache<Box<str>, RecordSet<MX>>,
    ipv4: TtlCache<Box<str>, RecordSet<Ipv4Addr>>,
    ipv6: TtlCache<Box<str>, RecordSet<Ipv6Addr>>,
    ptr: TtlCache<IpAddr, RecordSet<Box<str>>>,
}

/// mail-auth's parameters with every one of our caches.
type Cached<'x, P> = Parameters<
    'x,
    P,
    TtlCache<Box<str>, Txt>,
    TtlCache<Box<str>, RecordSet<MX>>,
    TtlCache<Box<str>, RecordSet<Ipv4Addr>>,
    TtlCache<Box<str>, RecordSet<Ipv6Addr>>,
    TtlCache<IpAddr, RecordSet<Box<str>>>,
>;

impl Verifier {
    /// `timeout` bounds all DNS work for one message (or one connection check).
    pub fn new(
        resolver: MessageAuthenticator,
        authserv_id: &str,
        hostname: &str,
        timeout: Duration,
    ) -> Self {
        Self {
            resolver,
            authserv_id: authserv_id.to_string(),
            hostname: hostname.to_string(),
            timeout,
            txt: TtlCache::default(),
            mx: TtlCache::default(),
            ipv4: TtlCache::default(),
            ipv6: TtlCache::default(),
            ptr: TtlCache::default(),
        }
    }

    /// The authserv-id our Authentication-Results carry (RFC 8601 §2.5).
    pub fn authserv_id(&self) -> &str {
        &self.authserv_id
    }

    pub(crate) fn resolver(&self) -> &MessageAuthenticator {
        &self.resolver
    }

    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    pub(crate) fn cached<'x, P>(&'x self, params: P) -> Cached<'x, P> {
        Parameters::new(params)
            .with_txt_cache(&self.txt)
            .with_mx_cache(&self.mx)
            .with_ipv4_cache(&self.ipv4)
            .with_ipv6_cache(&self.ipv6)
            .with_ptr_cache(&self.ptr)
    }

    /// Checks one message: `header` is its complete header section (through the empty
    /// line), `body` reads what follows. `iprev` is the connection's FCrDNS result, if
    /// that check ran.
    pub async fn verify<R>(
        &self,
        envelope: &Envelope<'_>,
        header: &[u8],
        body: R,
        iprev: Option<&IprevOutput>,
    ) -> Result<Verification, VerifyError>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        let deadline = self.deadline();
        let ip = envelope.client_ip;
        let helo = envelope.helo;
        let mail_from = envelope.mail_from;
        let host = self.hostname.as_str();

        // RFC 7208 §2.3: the HELO identity; §2.4: MAIL FROM, postmaster@HELO when null.
        let spf_helo = self
            .spf(deadline, SpfParameters::verify_ehlo(ip, helo, host), helo)
            .await;
        let spf_domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
        let spf_mail_from = self
            .spf(
                deadline,
                SpfParameters::verify_mail_from(ip, helo, host, mail_from),
                spf_domain,
            )
            .await;

        let mut message = AuthenticatedMessage::parse(header);
        if let Some(message) = message.as_mut() {
            hash_body(message, body).await?;
        }
        let (dkim, arc, dmarc) = match &message {
            Some(message) => {
                let dkim =
                    match timeout_at(deadline, self.resolver.verify_dkim(self.cached(message)))
                        .await
                    {
                        Ok(dkim) => dkim,
                        Err(_) => message
                            .dkim_headers
                            .iter()
                            .map(|h| DkimOutput::temp_err(timed_out()).with_signature(&h.header))
                            .collect(),
                    };
                let arc = match timeout_at(deadline, self.resolver.verify_arc(self.cached(message)))
                    .await
                {
                    Ok(arc) => arc,
                    Err(_) => ArcOutput::default().with_result(DkimResult::TempError(timed_out())),
                };
                let inputs = dmarc::Inputs {
                    message,
                    dkim: &dkim,
                    spf_domain,
                    spf: &spf_mail_from,
                };
                let dmarc = match timeout_at(
                    deadline,
                    self.resolver.verify_dmarc(self.cached(DmarcParameters::new(
                        message,
                        &dkim,
                        spf_domain,
                        &spf_mail_from,
                    ))),
                )
                .await
                {
                    Ok(dmarc) => {
                        self.dmarc_despite_walk_errors(deadline, &inputs, dmarc)
                            .await
                    }
                    Err(_) => {
                        let domain = message
                            .from()
                            .rsplit_once('@')
                            .map(|(_, d)| d.to_string())
                            .unwrap_or_default();
                        DmarcOutput::new(domain)
                            .with_spf_result(DmarcResult::TempError(timed_out()))
                            .with_dkim_result(DmarcResult::TempError(timed_out()))
                    }
                };
                (dkim, arc, dmarc)
            }
            None => (Vec::new(), ArcOutput::default(), DmarcOutput::default()),
        };

        let header_from = message.as_ref().map(|m| m.from()).unwrap_or("");
        let mut results = AuthenticationResults::new(&self.authserv_id)
            .with_dkim_results(&dkim, header_from)
            .with_spf_ehlo_result(&spf_helo, ip, helo)
            .with_spf_mailfrom_result(&spf_mail_from, ip, mail_from, helo);
        if !arc.sets().is_empty() || *arc.result() != DkimResult::None {
            results = results.with_arc_result(&arc, ip);
        }
        if !dmarc.domain().is_empty() {
            results = results.with_dmarc_result(&dmarc);
        }
        if let Some(iprev) = iprev {
            results = results.with_iprev_result(iprev, ip);
        }
        let policy = match (dmarc.dmarc_record(), dmarc.policy()) {
            (None, _) | (Some(_), Policy::Unspecified) => DmarcPolicy::Unknown,
            (Some(_), Policy::None) => DmarcPolicy::None,
            (Some(_), Policy::Quarantine) => DmarcPolicy::Quarantine,
            (Some(_), Policy::Reject) => DmarcPolicy::Reject,
        };
        Ok(Verification {
            spf_helo: AuthResult::of_spf(spf_helo.result()),
            spf_mail_from: AuthResult::of_spf(spf_mail_from.result()),
            spf_domain: spf_domain.to_string(),
            dkim: dkim
                .iter()
                .map(|d| DkimCheck {
                    result: AuthResult::of_dkim(d.result()),
                    domain: d.signature().map(|s| s.d.clone()).unwrap_or_default(),
                })
                .collect(),
            arc: AuthResult::of_dkim(arc.result()),
            dmarc: DmarcCheck {
                result: AuthResult::of_dmarc(&dmarc.result()),
                policy,
                domain: dmarc.domain().to_string(),
                author_pass: !dmarc.domain().is_empty()
                    && dmarc::author_pass(dmarc.domain(), spf_domain, &spf_mail_from, &dkim),
            },
            iprev: iprev.map(|i| AuthResult::of_iprev(&i.result)),
            header: results.to_header(),
        })
    }

    async fn spf(&self, deadline: Instant, params: SpfParameters<'_>, domain: &str) -> SpfOutput {
        match timeout_at(deadline, self.resolver.verify_spf(self.cached(params))).await {
            Ok(output) => output,
            Err(_) => SpfOutput::new(domain.to_string()).with_result(SpfResult::TempError),
        }
    }
}

fn timed_out() -> Error {
    Error::Dns(DnsError::Resolver("timed out".into()))
}

/// A hash context for `algorithm` (with the ring provider both are one type).
fn hasher(algorithm: HashAlgorithm) -> <Sha256 as HashImpl>::Context {
    match algorithm {
        HashAlgorithm::Sha1 => Sha1::hasher(),
        HashAlgorithm::Sha256 => Sha256::hasher(),
    }
}

/// Streams the body through one hasher per (canonicalization, algorithm, length) the
/// DKIM and ARC signatures ask for, and stores the hashes where mail-auth looks for them.
async fn hash_body<R>(message: &mut AuthenticatedMessage<'_>, mut body: R) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut hashers: Vec<_> = message
        .body_hashes
        .iter()
        .map(|(canonicalization, algorithm, length, _)| {
            BodyHasher::new(hasher(*algorithm), *canonicalization, *length)
        })
        .collect();
    if hashers.is_empty() {
        return Ok(());
    }
    let mut chunk = vec![0u8; BODY_CHUNK];
    loop {
        let n = body.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        for hasher in &mut hashers {
            hasher.write(&chunk[..n]);
        }
    }
    for (entry, hasher) in message.body_hashes.iter_mut().zip(hashers) {
        let (context, _) = hasher.finish();
        entry.3 = context.complete().as_ref().to_vec();
    }
    Ok(())
}
