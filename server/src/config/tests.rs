use super::*;

#[test]
fn an_empty_file_is_the_embedded_defaults() {
    let c = Config::from_toml("").unwrap();
    assert_eq!(c.data_dir, PathBuf::from("baedal-data"));
    assert_eq!(c.database_url(), "sqlite://baedal-data/baedal.db");
    assert_eq!(c.database.max_connections, 16);
    assert_eq!(c.storage.backend, StorageBackend::Fs);
    assert_eq!(c.storage.s3.bucket, "mailboxes");
    assert!(c.dns.nameservers.is_empty());
    assert_eq!(c.listen.http.list(), vec!["127.0.0.1:8080"]);
    assert_eq!(c.ldap.user_filter, "(|(uid={user})(mail={email}))");
    assert_eq!(c.relay.port, 587);
    assert!(c.tls.cert.is_none());
    assert!(!c.hostname.is_empty());
}

#[test]
fn a_partial_file_keeps_every_other_default() {
    let c = Config::from_toml(
        "hostname = \"mx.example.org\"\n[database]\nurl = \"postgres://u:p@127.0.0.1/m\"\n\
         [dns]\nnameservers = [\"127.0.0.1:5353\"]\n[listen]\nhttp = [\"127.0.0.1:0\", \"[::1]:0\"]\n",
    )
    .unwrap();
    assert_eq!(c.hostname, "mx.example.org");
    assert_eq!(c.database_url(), "postgres://u:p@127.0.0.1/m");
    assert_eq!(c.database.max_connections, 16);
    assert_eq!(c.dns.nameservers, vec!["127.0.0.1:5353"]);
    assert_eq!(c.listen.http.socket_addrs().len(), 2);
    assert_eq!(c.storage.s3.region, "us-east-1");
    assert_eq!(c.log.level, "info");
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = Config::from_toml("hostname = \"mx\"\n\n[database]\nurl = \"sqlite://x\"\npool = 3\n")
        .unwrap_err();
    assert_eq!(e.line, Some(5));
    assert_eq!(e.key.as_deref(), Some("database.pool"));
    assert!(e.message.contains("unknown field"), "{e}");
}

#[test]
fn wrong_types_are_named_with_their_line() {
    let e = Config::from_toml("[relay]\nhost = \"smtp.example.org\"\nport = \"submission\"\n")
        .unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(e.key.as_deref(), Some("relay.port"));
}

#[test]
fn bad_values_are_named_with_their_line() {
    let cases = [
        ("[database]\nurl = \"mysql://x\"\n", "database.url", 2),
        (
            "[dns]\nnameservers = [\"resolver.local\"]\n",
            "dns.nameservers",
            2,
        ),
        ("[tls]\ncert = \"/etc/ssl/c.pem\"\n", "tls.key", 0),
        ("[listen]\nhttp = \"localhost\"\n", "listen.http", 2),
        ("[storage]\nbackend = \"s3\"\n", "storage.s3.endpoint", 0),
        ("[ldap]\nurl = \"http://dir\"\n", "ldap.url", 2),
        ("[log]\nlevel = \"loud=[\"\n", "log.level", 2),
    ];
    for (text, key, line) in cases {
        let e = Config::from_toml(text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some(key), "{text}: {e}");
        assert_eq!(e.line, (line > 0).then_some(line), "{text}: {e}");
    }
    let e = Config::from_toml("[storage]\nbackend = \"nfs\"\n").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("storage.backend"), "{e}");
}

#[test]
fn secrets_are_redacted_for_printing() {
    let mut c = Config::from_toml("[database]\nurl = \"postgres://u:hunter2@h/db\"\n").unwrap();
    c.ldap.bind_password = "s3cret".into();
    let shown = toml::to_string(&c.redacted()).unwrap();
    assert!(
        !shown.contains("hunter2") && !shown.contains("s3cret"),
        "{shown}"
    );
}

/// `etc/baedal.toml` documents every key with its default: uncommenting all of it must give
/// a valid file whose values are the embedded defaults.
#[test]
fn the_sample_file_documents_the_embedded_defaults() {
    let sample = include_str!("../../../etc/baedal.toml");
    let uncommented: String = sample
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '[') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let documented = Config::from_toml(&uncommented).unwrap();
    let mut documented = toml::Value::try_from(&documented).unwrap();
    let mut defaults = toml::Value::try_from(Config::default()).unwrap();
    // Examples, not defaults: the host name (machine's own) and the certificate paths.
    for v in [&mut documented, &mut defaults] {
        let t = v.as_table_mut().unwrap();
        t.remove("hostname");
        t.remove("tls");
        t["ldap"].as_table_mut().unwrap().remove("ca_file");
    }
    // The filters are off by default: uncommented, their sections turn them on with the
    // documented example address and every other key at its default.
    let t = documented.as_table_mut().unwrap();
    let rspamd = RspamdConfig {
        url: "http://127.0.0.1:11333".into(),
        ..RspamdConfig::default()
    };
    assert_eq!(
        t.remove("rspamd"),
        Some(toml::Value::try_from(rspamd).unwrap())
    );
    let clamav = ClamavConfig {
        address: "127.0.0.1:3310".into(),
        ..ClamavConfig::default()
    };
    assert_eq!(
        t.remove("clamav"),
        Some(toml::Value::try_from(clamav).unwrap())
    );
    assert_eq!(documented, defaults);
}

#[test]
fn verify_settings_are_checked() {
    let c = Config::from_toml(
        "[verify]\nmode = \"monitor\"\ndnsbl = [\"bl.example\"]\n[verify.domains.\"example.org\"]\nspf_fail = \"tag\"\n",
    )
    .unwrap();
    assert!(c.verify.enabled);
    assert!(c.verify.enforcement(None).monitor);
    let e = Config::from_toml("[verify]\ntimeout = 300\n").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("verify.timeout"));
    let e = Config::from_toml("[verify]\nmode = \"strict\"\n").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("verify.mode"));
    let e = Config::from_toml("[verify.domains.\"a.example\"]\nsp_fail = \"tag\"\n").unwrap_err();
    assert!(e.message.contains("sp_fail"), "{e}");
}
