//! Helpers of `mx_verification.rs`: the site with its DNS records, the dkimpy signer, the
//! SMTP client (`baedal_tests::smtp::send`) from a chosen source address, and reading Authentication-Results back.

use std::path::{Path, PathBuf};

use baedal_tests::dns::{self, Failure, TestDns};
use baedal_tests::{Profile, Server, Site};
use serde_json::Value;

/// Our authserv-id: the test sites' host name.
pub(crate) const AUTHSERV_ID: &str = "mx.test.example";

pub(crate) fn signer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/dkim_sign.py")
}

pub(crate) fn python_filter(args: &[&str], input: &[u8]) -> Vec<u8> {
    baedal_tests::python::pipe(&signer_script(), args, input)
}

/// A new RSA key in `dir`: (private key file, DKIM TXT record value).
pub(crate) fn dkim_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.pem"));
    let out = python_filter(&["keygen", path.to_str().expect("path")], b"");
    (
        path,
        String::from_utf8(out).expect("utf8").trim().to_string(),
    )
}

pub(crate) fn sign(message: &[u8], key: &Path, domain: &str, extra: &[&str]) -> Vec<u8> {
    let key = key.to_str().expect("path");
    let mut args = vec!["sign", "--key", key, "--domain", domain, "--selector", "s1"];
    args.extend_from_slice(extra);
    python_filter(&args, message)
}

/// A message with a unique subject, to find it again among the stored ones.
pub(crate) fn message(from: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Sender <{from}>\r\nTo: alice@example.org\r\nSubject: {subject}\r\n\
         Date: Sat, 21 Nov 2026 05:00:00 +0000\r\nMessage-ID: <{subject}@verify.test>\r\n\r\n\
         Hello from the verification tests.\r\n"
    )
    .into_bytes()
}

/// One site with the MX checks on, its server and its DNS server.
pub(crate) struct Mx {
    pub(crate) site: Site,
    pub(crate) server: Server,
    dns: Option<TestDns>,
    pub(crate) keys: tempfile::TempDir,
}

/// The DNS records every test shares; `key` is the DKIM key published for the signing
/// domains (selector s1).
pub(crate) fn records(key: &str) -> Vec<String> {
    let mut r = vec![
        // SPF matrix; the HELO name mx.pass.test is allowed only from 127.0.0.2.
        dns::txt_record("pass.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("mx.pass.test", "v=spf1 ip4:127.0.0.2 -all"),
        "host-record=mx.pass.test,127.0.0.2".to_string(),
        dns::txt_record("soft.test", "v=spf1 ip4:127.0.0.2 ~all"),
        dns::txt_record("neutral.test", "v=spf1 ?all"),
        // An include loop runs past the 10-lookup limit (RFC 7208 §4.6.4): permerror.
        dns::txt_record("perm.test", "v=spf1 include:perm.test -all"),
        // Queries for temp.test go to a server that never answers: a DNS timeout.
        "server=/temp.test/127.0.0.1#9".to_string(),
        // DKIM: dk.test allows every loopback sender, has no DMARC record.
        dns::txt_record("dk.test", "v=spf1 ip4:127.0.0.0/8 ~all"),
        // DMARC
        dns::txt_record("other.test", "v=spf1 ip4:127.0.0.0/8 -all"),
        dns::txt_record("rej.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("_dmarc.rej.test", "v=DMARC1; p=reject"),
        dns::txt_record("quar.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("mail.quar.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("_dmarc.quar.test", "v=DMARC1; p=quarantine"),
        dns::txt_record("nopol.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("_dmarc.nopol.test", "v=DMARC1; p=none"),
        dns::txt_record("mail.strict.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s"),
        // DMARC when a lookup fails (see FAILING): walk.example and news.corp.test publish
        // their own records, sf.test's cannot be read.
        dns::txt_record("walk.example", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("_dmarc.walk.example", "v=DMARC1; p=reject"),
        dns::txt_record("news.corp.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("_dmarc.news.corp.test", "v=DMARC1; p=quarantine"),
        dns::txt_record("sf.test", "v=spf1 ip4:127.0.0.2 -all"),
        // ARC: the original author and the forwarder that seals.
        dns::txt_record("origin.test", "v=spf1 ip4:127.0.0.2 -all"),
        dns::txt_record("fwd.test", "v=spf1 ip4:127.0.0.4 -all"),
        // Our own domain: a site that refuses mail in its name from elsewhere.
        dns::txt_record("example.org", "v=spf1 -all"),
        dns::txt_record("_dmarc.example.org", "v=DMARC1; p=reject"),
        // DNSBL (RFC 5782): 127.0.0.5 is listed.
        "address=/5.0.0.127.bl.test/127.0.0.2".to_string(),
    ];
    for domain in [
        "dk.test",
        "other.test",
        "rej.test",
        "quar.test",
        "mail.strict.test",
        "walk.example",
        "news.corp.test",
        "sf.test",
        "origin.test",
        "fwd.test",
    ] {
        r.push(dns::txt_record(&format!("s1._domainkey.{domain}"), key));
    }
    r
}

/// The names the DNS server answers with an error: the top-level domain and the
/// organizational domain the DMARC walk asks after walk.example's and news.corp.test's own
/// records (RFC 7489 §6.6.3), and sf.test's own record.
pub(crate) const FAILING: &[(&str, Failure)] = &[
    ("_dmarc.example", Failure::Refused),
    ("_dmarc.corp.test", Failure::ServFail),
    ("_dmarc.sf.test", Failure::ServFail),
];

impl Mx {
    /// A site with users alice@example.org and bob@accept.example, `verify` as its
    /// `[verify]` table (after `timeout`), asking only its own dnsmasq.
    pub(crate) fn start(profile: Profile, verify: &str) -> Self {
        let keys = tempfile::tempdir().expect("tempdir");
        let (_, public) = dkim_key(keys.path(), "good");
        let dns_port = dns::free_port();
        let dns = TestDns::start_failing(
            dns_port,
            &["test", "example.org", "walk.example", "127.in-addr.arpa"],
            &records(&public),
            FAILING,
        );
        Self::with_dns(profile, &dns.nameserver(), verify, Some(dns), keys)
    }

    pub(crate) fn with_dns(
        profile: Profile,
        nameserver: &str,
        verify: &str,
        dns: Option<TestDns>,
        keys: tempfile::TempDir,
    ) -> Self {
        let site = Site::with_config(
            profile,
            &format!(
                "\n[dns]\nnameservers = [\"{nameserver}\"]\n\n[verify]\ntimeout = 5\n{verify}"
            ),
        );
        site.add_users("example.org", &["alice"]);
        site.add_users("accept.example", &["bob"]);
        let server = site.serve();
        Self {
            site,
            server,
            dns,
            keys,
        }
    }

    /// What the DNS server logged (queries, forwards and their errors).
    pub(crate) fn dns_log(&self) -> String {
        self.dns.as_ref().map(TestDns::log).unwrap_or_default()
    }

    pub(crate) fn key(&self) -> PathBuf {
        self.keys.path().join("good.pem")
    }

    /// One transaction from `source` (a loopback address) saying HELO `helo`.
    pub(crate) fn send(
        &self,
        source: &str,
        helo: &str,
        from: &str,
        to: &str,
        message: &[u8],
    ) -> Value {
        baedal_tests::smtp::send(
            self.server.addr("smtp"),
            from,
            &[to],
            message,
            &["--source", source, "--helo", helo],
        )
    }

    /// A message from `from` signed for `d` with the published key, sent from 127.0.0.2
    /// with MAIL FROM bounce@other.test (SPF passes for other.test only).
    pub(crate) fn send_signed(&self, from: &str, subject: &str, d: &str, to: &str) -> Value {
        let msg = sign(&message(from, subject), &self.key(), d, &[]);
        self.send("127.0.0.2", "mx.pass.test", "bounce@other.test", to, &msg)
    }

    /// Our Authentication-Results (unfolded) of the stored message with `subject`.
    pub(crate) fn results(&self, address: &str, subject: &str) -> String {
        let stored = self.site.stored_messages(address);
        let message = stored
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .find(|m| m.contains(&format!("Subject: {subject}\r\n")))
            .unwrap_or_else(|| panic!("no stored message {subject} for {address}"));
        let ours = our_results(&message);
        assert_eq!(
            ours.len(),
            1,
            "one Authentication-Results of ours: {message}"
        );
        ours[0].clone()
    }
}

/// The header fields of `message`, unfolded.
pub(crate) fn header_fields(message: &str) -> Vec<String> {
    let header = message.split("\r\n\r\n").next().unwrap_or("");
    let mut fields: Vec<String> = Vec::new();
    for line in header.split("\r\n") {
        match (line.starts_with([' ', '\t']), fields.last_mut()) {
            (true, Some(last)) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => fields.push(line.to_string()),
        }
    }
    fields
}

pub(crate) fn our_results(message: &str) -> Vec<String> {
    header_fields(message)
        .into_iter()
        .filter_map(|f| {
            f.strip_prefix("Authentication-Results: ")
                .map(str::to_string)
        })
        .filter(|v| v.starts_with(&format!("{AUTHSERV_ID};")))
        .collect()
}

/// The result of `method` in an Authentication-Results value, for the resinfo that
/// mentions `property` (e.g. `smtp.helo`), or the first one when `property` is empty.
pub(crate) fn result_of(results: &str, method: &str, property: &str) -> String {
    results
        .split(';')
        .map(str::trim)
        .filter(|r| r.starts_with(&format!("{method}=")))
        .find(|r| property.is_empty() || r.contains(property))
        .and_then(|r| r[method.len() + 1..].split_whitespace().next())
        .unwrap_or_else(|| panic!("no {method} ({property}) in {results}"))
        .to_string()
}
