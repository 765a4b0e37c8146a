//! Hybrid authentication against a real slapd (ldaps, test CA): LDAP first, then the local
//! bcrypt password; the cache, the lockout and `baedal ldap sync`. Clients are Python's
//! imaplib-style raw IMAPS, poplib and smtplib.

use baedal_tests::ldap::{LABS_DN, PEOPLE_DN, TestLdap, user_dn};
use baedal_tests::{Profile, Server, Site, on_both_profiles, python};
use serde_json::{Value, json};

on_both_profiles!(an_ldap_user_logs_in_over_imap_pop3_and_smtp);

/// The `[ldap]` section for `ldap`, with `extra` lines appended to it.
fn ldap_config(ldap: &TestLdap, extra: &str) -> String {
    let sync = if extra.contains("sync_interval") {
        ""
    } else {
        "sync_interval = 0\n"
    };
    format!(
        "\n[ldap]\nurl = \"{}\"\nca_file = \"{}\"\nbind_dn = \"{}\"\nbind_password = \"{}\"\n\
         base_dn = \"{PEOPLE_DN}\"\n{sync}{extra}\n\
         [imap]\nauth_failure_delay_ms = 0\n[pop3]\nauth_failure_delay_ms = 0\n\
         [smtp]\nauth_failure_delay_ms = 0\n",
        ldap.ldaps_url,
        ldap.ca_file.display(),
        ldap.bind_dn,
        ldap.bind_password,
    )
}

/// A site whose company.kr authenticates with LDAP.
fn ldap_site(profile: Profile, ldap: &TestLdap, extra: &str) -> Site {
    let site = Site::with_config(profile, &ldap_config(ldap, extra));
    site.cli(&["domain", "add", "company.kr", "--auth", "ldap"])
        .ok();
    site
}

fn add_local_user(site: &Site, address: &str, password: &str) {
    site.cli_stdin(
        &["user", "add", address, "--password-stdin"],
        &format!("{password}\n"),
    )
    .ok();
}

const PRELUDE: &str = r#"
import json, os, poplib, smtplib, socket, ssl, time
ctx = ssl.create_default_context(cafile=os.environ["CA"])
def q(x): return '"' + x.replace('\\', '\\\\').replace('"', '\\"') + '"'
def imap_login(user, pw, src="127.0.0.1"):
    raw = socket.create_connection(("127.0.0.1", int(os.environ["IMAPS_PORT"])), timeout=60, source_address=(src, 0))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    f = s.makefile("rb")
    f.readline()
    t0 = time.time()
    s.sendall(("a LOGIN %s %s\r\n" % (q(user), q(pw))).encode())
    while True:
        line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("a ") or not line: break
    took = time.time() - t0
    s.sendall(b"b LOGOUT\r\n")
    s.close()
    return {"ok": line.startswith("a OK"), "reply": line[2:], "took": took}
def pop3_login(user, pw):
    p = poplib.POP3_SSL("localhost", int(os.environ["POP3S_PORT"]), context=ctx, timeout=60)
    try:
        p.user(user)
        r = p.pass_(pw).decode()
        p.quit()
        return {"ok": True, "reply": r}
    except poplib.error_proto as e:
        return {"ok": False, "reply": str(e)}
def smtp_login(user, pw):
    s = smtplib.SMTP_SSL("localhost", int(os.environ["SUBMISSIONS_PORT"]), context=ctx, timeout=60)
    try:
        code, _ = s.login(user, pw)
    except smtplib.SMTPAuthenticationError as e:
        code = e.smtp_code
    s.quit()
    return {"ok": code == 235, "code": code}
"#;

fn run(site: &Site, server: &Server, body: &str) -> Value {
    let env = vec![
        ("IMAPS_PORT", server.addr("imaps").port().to_string()),
        ("POP3S_PORT", server.addr("pop3s").port().to_string()),
        (
            "SUBMISSIONS_PORT",
            server.addr("submissions").port().to_string(),
        ),
        (
            "CA",
            site.data_dir().join("tls/cert.pem").display().to_string(),
        ),
    ];
    python::run(&format!("{PRELUDE}\n{body}"), &env)
}

fn user(site: &Site, address: &str) -> Value {
    site.cli(&["user", "show", address, "--json"]).json()
}

fn auth_test(site: &Site, address: &str, password: &str) -> Result<String, String> {
    let r = site.cli_stdin(
        &["auth", "test", address, "--password-stdin"],
        &format!("{password}\n"),
    );
    if r.code == 0 {
        Ok(r.stdout)
    } else {
        Err(r.stderr)
    }
}

fn an_ldap_user_logs_in_over_imap_pop3_and_smtp(profile: Profile) {
    let ldap = TestLdap::start();
    let site = ldap_site(profile, &ldap, "");
    let server = site.serve();
    let r = run(
        &site,
        &server,
        r#"
print(json.dumps({
  "imap": imap_login("alice@company.kr", "alice-pw"),
  "pop3": pop3_login("alice@company.kr", "alice-pw"),
  "smtp": smtp_login("alice@company.kr", "alice-pw"),
  "alias_mail": imap_login("a.kim@company.kr", "alice-pw"),
  "wrong": imap_login("alice@company.kr", "nope"),
  "pop3_wrong": pop3_login("bob@company.kr", "nope"),
  "smtp_wrong": smtp_login("bob@company.kr", "nope"),
}))
"#,
    );
    assert!(r["imap"]["ok"].as_bool().unwrap(), "{r}");
    assert!(r["pop3"]["ok"].as_bool().unwrap(), "{r}");
    assert_eq!(r["smtp"]["code"], 235, "{r}");
    assert!(
        r["alias_mail"]["ok"].as_bool().unwrap(),
        "a second mail value of the entry opens the same account: {r}"
    );
    assert_eq!(
        r["wrong"]["reply"],
        "NO [AUTHENTICATIONFAILED] Authentication failed"
    );
    assert!(!r["pop3_wrong"]["ok"].as_bool().unwrap(), "{r}");
    assert_eq!(r["smtp_wrong"]["code"], 535, "{r}");
    // The first login created the account from the directory entry.
    let alice = user(&site, "alice@company.kr");
    assert_eq!(alice["auth_source"], "ldap", "{alice}");
    assert_eq!(alice["display_name"], "김앨리스");
    assert_eq!(alice["department"], "100");
    assert_eq!(alice["has_local_password"], false);
    assert!(alice["last_login"].is_string(), "{alice}");
    site.cli(&["user", "show", "a.kim@company.kr"])
        .fails(1, "unknown user");
    let log = server.log_text();
    for line in [
        "auth failed user=alice@company.kr ip=127.0.0.1 proto=imap reason=wrong-password",
        "auth failed user=bob@company.kr ip=127.0.0.1 proto=pop3 reason=unknown-user",
        "auth failed user=bob@company.kr ip=127.0.0.1 proto=smtp reason=unknown-user",
    ] {
        assert!(log.contains(line), "no '{line}' in:\n{log}");
    }
}

#[test]
fn the_fallback_to_local_passwords_follows_the_configuration() {
    let ldap = TestLdap::start();
    // bob is in LDAP (bob-pw) and has a local password; svc is local only.
    let default = ldap_site(Profile::Sqlite, &ldap, "");
    let ldap_only = ldap_site(Profile::Sqlite, &ldap, "fallback = [\"unreachable\"]");
    for site in [&default, &ldap_only] {
        add_local_user(site, "bob@company.kr", "local-bob");
        add_local_user(site, "svc@company.kr", "local-svc");
    }
    // LDAP first: the directory password always works, whatever the local one is.
    for site in [&default, &ldap_only] {
        let ok = auth_test(site, "bob@company.kr", "bob-pw").unwrap();
        assert!(ok.contains("accepted as bob@company.kr (ldap)"), "{ok}");
    }
    // Default (the PRD): a wrong LDAP password, then the valid local one: accepted.
    let ok = auth_test(&default, "bob@company.kr", "local-bob").unwrap();
    assert!(ok.contains("(local)"), "{ok}");
    let ok = auth_test(&default, "svc@company.kr", "local-svc").unwrap();
    assert!(ok.contains("(local)"), "{ok}");
    // LDAP's answer is final unless it is unreachable.
    let err = auth_test(&ldap_only, "bob@company.kr", "local-bob").unwrap_err();
    assert!(err.contains("ldap-wrong-password"), "{err}");
    let err = auth_test(&ldap_only, "svc@company.kr", "local-svc").unwrap_err();
    assert!(err.contains("ldap-no-such-user"), "{err}");
    // Neither password: refused in both.
    for site in [&default, &ldap_only] {
        assert!(auth_test(site, "bob@company.kr", "neither").is_err());
    }
    // A plain-text or anonymous directory is a configuration error.
    for (extra, key) in [
        (
            "url = \"ldap://127.0.0.1:389\"\nbind_dn = \"cn=x\"\n",
            "ldap.url",
        ),
        ("url = \"ldaps://127.0.0.1:636\"\n", "ldap.bind_dn"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baedal.toml");
        std::fs::write(&path, format!("[ldap]\n{extra}")).unwrap();
        let out = std::process::Command::new(baedal_tests::baedal_bin())
            .args(["config", "check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra} must be refused");
        assert!(stderr.contains(key), "{stderr}");
    }
}

#[test]
fn with_ldap_down_local_and_cached_users_still_log_in() {
    let mut ldap = TestLdap::start();
    let site = ldap_site(Profile::Sqlite, &ldap, "");
    add_local_user(&site, "svc@company.kr", "local-svc");
    let strict = ldap_site(Profile::Sqlite, &ldap, "fallback = []");
    let server = site.serve();
    let strict_server = strict.serve();
    let before = run(
        &site,
        &server,
        r#"print(json.dumps({"alice": imap_login("alice@company.kr", "alice-pw"), "bob": imap_login("bob@company.kr", "bob-pw")}))"#,
    );
    assert!(before["alice"]["ok"].as_bool().unwrap(), "{before}");
    ldap.stop();
    let after = run(
        &site,
        &server,
        r#"
print(json.dumps({
  "alice": imap_login("alice@company.kr", "alice-pw"),
  "alice_pop3": pop3_login("alice@company.kr", "alice-pw"),
  "alice_wrong": imap_login("alice@company.kr", "not-alice-pw"),
  "carol": imap_login("carol@company.kr", "carol-pw"),
  "svc": imap_login("svc@company.kr", "local-svc"),
}))
"#,
    );
    assert!(
        after["alice"]["ok"].as_bool().unwrap(),
        "cached LDAP user: {after}"
    );
    assert!(after["alice_pop3"]["ok"].as_bool().unwrap(), "{after}");
    assert!(!after["alice_wrong"]["ok"].as_bool().unwrap(), "{after}");
    assert_eq!(
        after["carol"]["reply"], "NO [AUTHENTICATIONFAILED] Authentication failed",
        "an LDAP user never seen fails cleanly: {after}"
    );
    assert!(after["svc"]["ok"].as_bool().unwrap(), "local user: {after}");
    for (who, r) in after.as_object().unwrap() {
        assert!(r["took"].as_f64().unwrap_or(0.0) < 10.0, "{who} hung: {r}");
    }
    // Without the fallback the outage is a temporary failure, not "wrong password".
    let strict_r = run(
        &strict,
        &strict_server,
        r#"print(json.dumps({"carol": imap_login("carol@company.kr", "carol-pw")}))"#,
    );
    assert!(
        strict_r["carol"]["reply"]
            .as_str()
            .unwrap()
            .starts_with("NO [UNAVAILABLE]"),
        "{strict_r}"
    );
    assert!(server.log_text().contains("LDAP check failed"));
}

#[test]
fn filter_injection_and_anonymous_attempts_match_nobody() {
    let ldap = TestLdap::start();
    let site = ldap_site(Profile::Sqlite, &ldap, "");
    let server = site.serve();
    let r = run(
        &site,
        &server,
        r#"
names = ["*", "*@company.kr", ")(uid=*@company.kr", "*)(uid=*))(|(uid=*@company.kr",
         "alice\\00@company.kr", "\\2a@company.kr", "alice*@company.kr"]
out = {n: imap_login(n, "alice-pw") for n in names}
out["empty_password"] = imap_login("alice@company.kr", "")
out["no_user"] = imap_login("", "alice-pw")
print(json.dumps(out))
"#,
    );
    for (name, outcome) in r.as_object().unwrap() {
        assert!(
            !outcome["ok"].as_bool().unwrap(),
            "{name:?} logged in: {outcome}"
        );
    }
    let log = ldap.log();
    // The wildcards reached slapd only as escaped values...
    assert!(
        log.contains("(uid=\\2A)") || log.contains("(uid=\\2a)"),
        "{log}"
    );
    // ...and the empty password never became an (unauthenticated) bind.
    assert!(
        !log.contains("BIND dn=\"uid=alice,ou=people,dc=company,dc=kr\""),
        "{log}"
    );
    assert!(
        site.cli(&["user", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .is_empty(),
        "no account was created"
    );
}

#[test]
fn the_lockout_engages_per_ip_and_account_and_expires() {
    let ldap = TestLdap::start();
    let site = ldap_site(
        Profile::Sqlite,
        &ldap,
        "[auth]\nlockout_threshold = 3\nlockout_window = 4\nlockout_delay_ms = 200\nlockout_max_delay_ms = 800\n",
    );
    add_local_user(&site, "svc@company.kr", "local-svc");
    let server = site.serve();
    let r = run(
        &site,
        &server,
        r#"
out = {"failures": [imap_login("svc@company.kr", "wrong") for _ in range(3)]}
out["locked"] = [imap_login("svc@company.kr", "local-svc") for _ in range(3)]
out["other_ip"] = imap_login("svc@company.kr", "local-svc", src="127.0.0.2")
out["other_account"] = imap_login("alice@company.kr", "alice-pw")
time.sleep(4.2)
out["after_window"] = imap_login("svc@company.kr", "local-svc")
print(json.dumps(out))
"#,
    );
    let oks = |v: &Value| -> Vec<bool> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["ok"].as_bool().unwrap())
            .collect()
    };
    assert_eq!(oks(&r["failures"]), [false; 3], "{r}");
    assert_eq!(
        oks(&r["locked"]),
        [false; 3],
        "the right password is refused while locked: {r}"
    );
    let took: Vec<f64> = r["locked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["took"].as_f64().unwrap())
        .collect();
    assert!(
        took[0] >= 0.2 && took[1] >= 0.4 && took[2] >= 0.8,
        "growing delays: {took:?}"
    );
    assert!(r["other_ip"]["ok"].as_bool().unwrap(), "{r}");
    assert!(r["other_account"]["ok"].as_bool().unwrap(), "{r}");
    assert!(r["after_window"]["ok"].as_bool().unwrap(), "{r}");
    let log = server.log_text();
    assert_eq!(
        log.matches(
            "auth failed user=svc@company.kr ip=127.0.0.1 proto=imap reason=wrong-password"
        )
        .count(),
        3,
        "{log}"
    );
    assert_eq!(
        log.matches("auth failed user=svc@company.kr ip=127.0.0.1 proto=imap reason=locked")
            .count(),
        3,
        "{log}"
    );
}

#[test]
fn a_password_change_or_disable_drops_the_cached_login() {
    let ldap = TestLdap::start();
    let site = ldap_site(Profile::Sqlite, &ldap, "");
    add_local_user(&site, "svc@company.kr", "old-pw");
    let server = site.serve();
    let login = |pw: &str| {
        run(
            &site,
            &server,
            &format!(
                "print(json.dumps(imap_login('svc@company.kr', {})))",
                json!(pw)
            ),
        )["ok"]
            .as_bool()
            .unwrap()
    };
    assert!(login("old-pw"));
    assert!(login("old-pw"), "cached");
    site.cli_stdin(
        &["user", "passwd", "svc@company.kr", "--password-stdin"],
        "new-pw\n",
    )
    .ok();
    assert!(
        !login("old-pw"),
        "the cache must not outlive a password change"
    );
    assert!(login("new-pw"));
    site.cli(&["user", "disable", "svc@company.kr"]).ok();
    assert!(!login("new-pw"), "nor a disable");
}

#[test]
fn ldap_sync_creates_updates_and_disables_accounts() {
    let ldap = TestLdap::start();
    let site = ldap_site(Profile::Sqlite, &ldap, "");
    site.cli(&[
        "domain",
        "add",
        "labs.company.kr",
        "--auth",
        "ldap",
        "--ldap-base-dn",
        LABS_DN,
    ])
    .ok();
    add_local_user(&site, "svc@company.kr", "local-svc");
    let dry = site.cli(&["ldap", "sync", "--dry-run", "--json"]).json();
    assert_eq!(
        dry[0]["created"],
        json!([
            "alice@company.kr",
            "bob@company.kr",
            "carol@company.kr",
            "dave@company.kr"
        ]),
        "{dry}"
    );
    site.cli(&["user", "show", "alice@company.kr"])
        .fails(1, "unknown user");
    let first = site.cli(&["ldap", "sync", "--json"]).json();
    assert_eq!(first[0]["created"].as_array().unwrap().len(), 4, "{first}");
    assert_eq!(first[1]["domain"], "labs.company.kr");
    assert_eq!(first[1]["created"], json!(["erin@labs.company.kr"]));
    let bob = user(&site, "bob@company.kr");
    assert_eq!(
        (&bob["department"], &bob["auth_source"], &bob["is_active"]),
        (&json!("200"), &json!("ldap"), &json!(true))
    );
    assert_eq!(user(&site, "erin@labs.company.kr")["department"], "400");
    // carol leaves, bob changes department.
    ldap.delete(&user_dn("carol", PEOPLE_DN));
    ldap.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: departmentNumber\ndepartmentNumber: 210\n",
        user_dn("bob", PEOPLE_DN)
    ));
    let out = site
        .cli(&["ldap", "sync", "--domain", "company.kr"])
        .ok()
        .to_string();
    assert!(
        out.contains("company.kr: 0 created, 1 updated, 1 disabled"),
        "{out}"
    );
    let carol = user(&site, "carol@company.kr");
    assert_eq!(carol["is_active"], false, "disabled, not removed: {carol}");
    assert_eq!(user(&site, "bob@company.kr")["department"], "210");
    assert_eq!(
        user(&site, "svc@company.kr")["is_active"],
        true,
        "local accounts stay"
    );
    site.cli(&["ldap", "sync", "--domain", "nosuch.kr"])
        .fails(2, "nosuch.kr");
}

#[test]
fn the_server_syncs_periodically() {
    let ldap = TestLdap::start();
    let site = ldap_site(Profile::Sqlite, &ldap, "sync_interval = 1");
    let _server = site.serve();
    ldap.add_user("frank", "frank@company.kr", "500", "frank-pw", PEOPLE_DN);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let r = site.cli(&["user", "show", "frank@company.kr", "--json"]);
        if r.code == 0 {
            assert_eq!(r.json()["department"], "500");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "frank never appeared: {}",
            r.stderr
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}
