//! The admin console and the JSON API of a running `baedal serve`, from outside: Debian's
//! chromium driven by Playwright for the administrator's path (password + TOTP, a domain, a
//! user, a reset password, a quota, the audit log; then the user logs in over IMAP), and
//! Python clients for the role matrix, the security checks and the API's input handling.
//! (Session expiry with a paused clock, TOTP vectors and JWT expiry: the in-process tests in
//! server/src/console_tests.rs and admin/src/web.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use baedal_tests::{Profile, Server, Site, imap, on_both_profiles};
use serde_json::{Value, json};

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("clients")
        .join(name)
}

fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/console")
}

/// Runs a client script with `env`; its JSON output.
fn run_client(name: &str, args: &[&str], env: &[(&str, String)]) -> Value {
    let out = Command::new("python3")
        .arg(script(name))
        .args(args)
        .current_dir(script(""))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{name} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn add_admin(site: &Site, name: &str, role: &str, domains: &[&str], password: &str) {
    let mut args = vec!["admin", "add", name, "--role", role, "--password-stdin"];
    for d in domains {
        args.extend(["--domain", d]);
    }
    site.cli_stdin(&args, &format!("{password}\n")).ok();
}

fn api_key(site: &Site, name: &str) -> String {
    let out = site.cli(&["--json", "admin", "api-key", name]).json();
    let key = out["api_key"].as_str().expect("api_key").to_string();
    assert!(key.starts_with("bdk_") && key.len() > 40, "{key}");
    key
}

fn user_id(site: &Site, address: &str) -> i64 {
    site.cli(&["--json", "user", "show", address]).json()["id"]
        .as_i64()
        .expect("id")
}

fn port(server: &Server) -> String {
    server.addr("admin").port().to_string()
}

fn audit_actions(site: &Site) -> Vec<(String, String, String)> {
    let entries = site
        .cli(&["--json", "audit", "list", "--limit", "1000"])
        .json();
    entries
        .as_array()
        .expect("audit list")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_string(),
                e["object"].as_str().unwrap_or("").to_string(),
                e["via"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_browser_logs_in_with_totp_makes_changes_and_the_user_logs_in_over_imap() {
    let site = Site::new(Profile::Sqlite);
    let server = site.serve();
    add_admin(&site, "root", "super_admin", &[], "root passphrase 1");
    let dir = artifacts();
    let _ = std::fs::remove_dir_all(&dir);
    let out = run_client(
        "console_browser.py",
        &[],
        &[
            (
                "CONSOLE_URL",
                format!("https://127.0.0.1:{}", port(&server)),
            ),
            ("ADMIN_NAME", "root".into()),
            ("ADMIN_PASSWORD", "root passphrase 1".into()),
            ("ARTIFACTS", dir.display().to_string()),
            ("DOMAIN", "browser.test".into()),
            ("USER_EMAIL", "alice@browser.test".into()),
            ("USER_PASSWORD", "first secret".into()),
            ("NEW_PASSWORD", "second secret".into()),
        ],
    );
    assert_eq!(out["ok"], true, "{out}");
    assert!(
        out["recovery_codes"].as_array().unwrap().len() >= 8,
        "{out}"
    );
    for shot in ["dashboard.png", "users.png"] {
        let png = std::fs::read(dir.join(shot)).expect(shot);
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{shot}");
    }

    // The changes are in the directory, as the CLI sees it.
    let user = site
        .cli(&["--json", "user", "show", "alice@browser.test"])
        .json();
    assert_eq!(user["quota"], 2u64 << 30, "{user}");
    // The audit log has each change, made through the console, by root, from 127.0.0.1,
    // with no password in it.
    let entries = site.cli(&["--json", "audit", "list"]).json();
    let text = entries.to_string();
    assert!(!text.contains("second secret") && !text.contains("first secret"));
    assert!(!text.contains("$2b$"), "a bcrypt hash in the audit log");
    for (action, object) in [
        ("domain.create", "browser.test"),
        ("user.create", "alice@browser.test"),
        ("user.password", "alice@browser.test"),
        ("user.quota", "alice@browser.test"),
        ("admin.totp_enrol", "root"),
    ] {
        let e = entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == action && e["object"] == object)
            .unwrap_or_else(|| panic!("no {action} {object} in {entries}"));
        assert_eq!(e["via"], "console", "{e}");
        assert_eq!(e["actor"], "root", "{e}");
        assert_eq!(e["role"], "super_admin", "{e}");
        assert_eq!(e["source_ip"], "127.0.0.1", "{e}");
    }
    let quota = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.quota")
        .unwrap();
    assert_eq!(quota["before"]["quota"], 1u64 << 30);
    assert_eq!(quota["after"]["quota"], 2u64 << 30);

    // The user logs in over IMAP with the password the console set; the old one is refused.
    let got = imap::run(
        &site,
        &server,
        r#"
m = imap("alice@browser.test", "second secret")
typ, _ = m.select("INBOX")
m.logout()
try:
    imap("alice@browser.test", "first secret")
    old = "accepted"
except imaplib.IMAP4.error:
    old = "refused"
print(json.dumps({"new": typ, "old": old}))
"#,
    );
    assert_eq!(got, json!({"new": "OK", "old": "refused"}));
}

/// The site of the role matrix: a.test and b.test, one administrator of each role (the
/// domain administrator manages a.test only), and a user to delete for each.
fn matrix(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("a.test", &["alice"]);
    site.add_users("b.test", &["bob"]);
    let roles = ["domain_admin", "support", "viewer", "super_admin"];
    let mut victims = BTreeMap::new();
    for role in roles {
        let address = format!("del-{}@a.test", role.replace('_', "-"));
        site.cli_stdin(&["user", "add", &address, "--password-stdin"], "pw\n")
            .ok();
        victims.insert(role, user_id(&site, &address));
        let domains: &[&str] = if role == "domain_admin" {
            &["a.test"]
        } else {
            &[]
        };
        add_admin(&site, role, role, domains, "admin pass");
    }
    // A domain administrator needs a domain.
    site.cli_stdin(
        &[
            "admin",
            "add",
            "nodomain",
            "--role",
            "domain_admin",
            "--password-stdin",
        ],
        "pw\n",
    )
    .fails(2, "--domain");
    let server = site.serve();
    // In this order: the super administrator, who may delete bob, comes last.
    let keys: Vec<Value> = roles
        .iter()
        .map(|r| json!([r, api_key(&site, r)]))
        .collect();
    let ids = json!({
        "a_user": user_id(&site, "alice@a.test"),
        "b_user": user_id(&site, "bob@b.test"),
        "victims": victims,
    });
    let got = run_client(
        "console_checks.py",
        &["matrix"],
        &[
            ("PORT", port(&server)),
            ("KEYS", Value::Array(keys).to_string()),
            ("IDS", ids.to_string()),
        ],
    );

    // The site's permission table (docs/console.md): for each endpoint, the status of
    // domain_admin, support, viewer, super_admin.
    let table: &[(&str, [u16; 4])] = &[
        ("GET /domains", [200, 403, 403, 200]),
        ("POST /domains", [403, 403, 403, 201]),
        ("PATCH /domains/a", [403, 403, 403, 200]),
        ("GET /users", [200, 200, 200, 200]),
        ("POST /users", [201, 403, 403, 201]),
        ("GET /users/a", [200, 200, 200, 200]),
        ("PATCH /users/a name", [200, 403, 403, 200]),
        ("PATCH /users/a quota", [200, 403, 403, 200]),
        ("POST /users/a/password", [200, 200, 403, 200]),
        ("DELETE /users/victim", [200, 403, 403, 200]),
        ("GET /aliases", [200, 403, 403, 200]),
        ("POST /aliases", [201, 403, 403, 201]),
        ("DELETE /aliases", [200, 403, 403, 200]),
        ("GET /queue", [403, 403, 403, 200]),
        ("POST /queue/x/retry", [403, 403, 403, 404]),
        ("GET /dkim", [403, 403, 403, 200]),
        ("GET /stats", [403, 403, 200, 200]),
        ("GET /audit", [403, 403, 403, 200]),
        ("GET /logs", [200, 200, 403, 200]),
        // Another domain's user, by id: a domain administrator gets 404, as for no user.
        ("GET /users/b", [404, 200, 200, 200]),
        ("PATCH /users/b", [404, 403, 403, 200]),
        ("POST /users/b/password", [404, 200, 403, 200]),
        ("DELETE /users/b", [404, 403, 403, 200]),
        ("POST /users in b", [403, 403, 403, 201]),
        ("POST /aliases in b", [403, 403, 403, 201]),
        ("PATCH /domains/b", [404, 403, 403, 200]),
    ];
    let mut wrong = Vec::new();
    for (endpoint, expected) in table {
        for (role, want) in roles.iter().zip(expected) {
            let status = &got[role]["statuses"][endpoint];
            if status != want {
                wrong.push(format!("{role} {endpoint}: {status}, expected {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}\n{got}", wrong.join("\n"));
    for role in roles {
        for (endpoint, code) in got[role]["error_codes"].as_object().unwrap() {
            let status = got[role]["statuses"][endpoint].as_u64().unwrap();
            let want = match status {
                403 => "forbidden",
                404 => "not_found",
                _ => "?",
            };
            assert_eq!(code, want, "{role} {endpoint}");
        }
    }
    // What the domain administrator sees: a.test only.
    let da = &got["domain_admin"];
    assert_eq!(da["domains"], json!(["a.test"]));
    let users = da["users"].as_array().unwrap();
    assert!(!users.is_empty());
    assert!(
        users
            .iter()
            .all(|u| u.as_str().unwrap().ends_with("@a.test")),
        "{da}"
    );
    assert_eq!(da["users_of_b"], 0);
    // bob survived everyone but the super administrator (who came last); his password
    // was reset by support, not by the domain administrator.
    let bob_changes: Vec<_> = audit_actions(&site)
        .into_iter()
        .filter(|(_, object, _)| object == "bob@b.test")
        .collect();
    assert!(
        bob_changes.contains(&("user.password".into(), "bob@b.test".into(), "api".into())),
        "{bob_changes:?}"
    );
    let entries = site
        .cli(&["--json", "audit", "list", "--object", "bob@b.test"])
        .json();
    let actors: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["via"] == "api")
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(!actors.contains(&"domain_admin"), "{entries}");
    assert!(!actors.contains(&"viewer"), "{entries}");
    assert!(actors.contains(&"support"), "{entries}");
}

#[test]
fn csrf_fixation_totp_replay_allowlist_throttle_and_injection() {
    let site = Site::with_config(
        Profile::Sqlite,
        "\n[admin]\nallow = [\"127.0.0.1\", \"127.0.0.3\"]\nlogin_failures_per_ip = 8\n",
    );
    site.cli(&["domain", "add", "a.test"]).ok();
    add_admin(&site, "root", "super_admin", &[], "root pass");
    add_admin(&site, "viewer", "viewer", &[], "viewer pass");
    add_admin(&site, "victim", "support", &[], "victim pass");
    let server = site.serve();
    let got = run_client(
        "console_checks.py",
        &["security"],
        &[
            ("PORT", port(&server)),
            ("ADMIN", "root".into()),
            ("PASSWORD", "root pass".into()),
            ("VIEWER", "viewer".into()),
            ("VIEWER_PASSWORD", "viewer pass".into()),
            ("VICTIM", "victim".into()),
            ("VICTIM_PASSWORD", "victim pass".into()),
            ("PER_IP", "8".into()),
        ],
    );
    // Session fixation: a new id at login; the pre-login cookie leads back to /login.
    assert_eq!(got["fixation_new_id"], true);
    assert_eq!(got["fixation_pre_cookie"], json!([303, "/login"]));
    for attr in ["HttpOnly", "Path", "SameSite", "Secure"] {
        assert!(
            got["cookie_attributes"]
                .as_array()
                .unwrap()
                .contains(&json!(attr)),
            "{attr}: {got}"
        );
    }
    // CSRF.
    assert_eq!(got["csrf_missing"], 403);
    assert_eq!(got["csrf_forged"], 403);
    assert_eq!(got["csrf_domain_created"], false);
    // Injection: stored as typed, never markup on a page, no query broken.
    assert_eq!(got["inject_domain"], 200);
    assert_eq!(got["inject_user"], json!([200, ""]));
    for (path, page) in got["pages"].as_object().unwrap() {
        assert_eq!(page["status"], 200, "{path}");
        assert_eq!(page["raw_script"], false, "{path}: {page}");
    }
    assert_eq!(got["pages"]["/users?q=inject"]["escaped"], true);
    // The CSV export is a download, not a page, with the text as typed.
    assert_eq!(
        got["audit_csv"],
        json!([
            200,
            "text/csv; charset=utf-8",
            "attachment; filename=\"audit.csv\"",
            true
        ])
    );
    let row = got["inject_row_text"].as_str().unwrap();
    assert!(row.contains("<script>alert(\"x\")</script>"), "{row}");
    assert!(row.contains("DROP TABLE users"), "{row}");
    assert_eq!(got["inject_alias_status"], 400);
    assert_eq!(got["inject_alias_raw"], false);
    let user = site
        .cli(&["--json", "user", "show", "inject@inject.test"])
        .json();
    assert_eq!(
        user["display_name"],
        "<script>alert(\"x\")</script><img src=x onerror=alert(1)>"
    );
    assert_eq!(user["department"], "x' OR '1'='1'; DROP TABLE users; --");
    // Roles on pages: a viewer sees users and the dashboard, nothing else, and cannot post.
    assert_eq!(
        got["viewer_pages"],
        json!({"/": 200, "/users": 200, "/audit": 403, "/queue": 403, "/domains": 403, "/dkim": 403})
    );
    assert_eq!(got["viewer_create_user"], 403);
    // TOTP: the code works once.
    assert_eq!(got["totp_first"], json!([303, "/"]));
    assert_eq!(got["totp_replay"][0], 401, "{got}");
    // Logout everywhere.
    assert_eq!(got["after_logout_everywhere"], json!([303, "/login"]));
    // Allowlist.
    assert_eq!(got["allowlist"], json!([403, 403, "forbidden_address"]));
    // Throttle: five wrong passwords, then 429 even for the right one; others unaffected.
    assert_eq!(
        got["throttle_account"],
        json!([401, 401, 401, 401, 401, 429, 429])
    );
    assert_eq!(got["throttle_other_account"], 303);
    let ip: Vec<u64> = got["throttle_ip"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(ip, [vec![401; 8], vec![429]].concat(), "{got}");
    assert!(server.log_text().contains("login throttled"));
}

#[test]
fn the_api_answers_good_and_bad_input_and_refuses_forged_tokens() {
    let site = Site::new(Profile::Sqlite);
    add_admin(&site, "ops", "super_admin", &[], "ops pass");
    let server = site.serve();
    // A change on the CLI, before the API runs: it is in the audit log the API returns.
    site.cli(&["domain", "add", "cli.test"]).ok();
    let key = api_key(&site, "ops");
    let got = run_client(
        "console_checks.py",
        &["api"],
        &[("PORT", port(&server)), ("KEY", key)],
    );
    let expect: &[(&str, u16, Option<&str>, Option<&str>)] = &[
        ("token bad key", 401, Some("unauthorized"), None),
        ("token bad json", 400, Some("bad_request"), None),
        ("no token", 401, Some("unauthorized"), None),
        ("wrong signature", 401, Some("unauthorized"), None),
        ("alg none", 401, Some("unauthorized"), None),
        ("garbage token", 401, Some("unauthorized"), None),
        ("domain create", 201, None, None),
        ("domain create again", 409, Some("conflict"), None),
        ("domain bad name", 400, Some("bad_request"), Some("name")),
        (
            "domain bad auth",
            400,
            Some("bad_request"),
            Some("auth_type"),
        ),
        (
            "domain missing name",
            400,
            Some("bad_request"),
            Some("name"),
        ),
        (
            "domain unknown field",
            400,
            Some("bad_request"),
            Some("colour"),
        ),
        ("domain disable", 200, None, None),
        ("domain enable", 200, None, None),
        ("domain patch unknown", 404, Some("not_found"), None),
        ("domain list", 200, None, None),
        ("user create", 201, None, None),
        ("user create again", 409, Some("conflict"), None),
        ("user bad email", 400, Some("bad_request"), Some("email")),
        (
            "user unknown domain",
            400,
            Some("bad_request"),
            Some("domain"),
        ),
        ("user bad quota", 400, Some("bad_request"), Some("quota")),
        (
            "user negative quota",
            400,
            Some("bad_request"),
            Some("quota"),
        ),
        ("user bad json", 400, Some("bad_request"), None),
        ("user wrong type", 400, Some("bad_request"), None),
        ("user get", 200, None, None),
        ("user get missing", 404, Some("not_found"), None),
        ("user get not a number", 404, Some("not_found"), None),
        ("user quota", 200, None, None),
        ("user disable", 200, None, None),
        ("user enable", 200, None, None),
        ("user password", 200, None, None),
        (
            "user password empty",
            400,
            Some("bad_request"),
            Some("password"),
        ),
        (
            "user password missing",
            400,
            Some("bad_request"),
            Some("password"),
        ),
        ("users search", 200, None, None),
        ("users bad limit", 400, Some("bad_request"), Some("limit")),
        ("users bad offset", 400, Some("bad_request"), Some("offset")),
        ("users not a number", 400, Some("bad_request"), None),
        ("alias create", 201, None, None),
        ("alias create again", 409, Some("conflict"), None),
        (
            "alias bad destination",
            400,
            Some("bad_request"),
            Some("destination"),
        ),
        ("alias list", 200, None, None),
        ("alias delete", 200, None, None),
        ("alias delete missing", 404, Some("not_found"), None),
        ("queue list", 200, None, None),
        ("queue retry missing", 404, Some("not_found"), None),
        ("queue delete missing", 404, Some("not_found"), None),
        ("dkim", 200, None, None),
        ("stats", 200, None, None),
        ("audit", 200, None, None),
        ("audit bad limit", 400, Some("bad_request"), Some("limit")),
        ("unknown endpoint", 404, Some("not_found"), None),
        ("user delete", 200, None, None),
        ("user delete again", 404, Some("not_found"), None),
    ];
    let mut wrong = Vec::new();
    for (name, status, code, field) in expect {
        let r = &got[name];
        if r["status"] != *status
            || code.is_some_and(|c| r["code"] != c)
            || field.is_some_and(|f| r["field"] != f)
        {
            wrong.push(format!("{name}: {r}, expected {status} {code:?} {field:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(
        got.as_object().unwrap().len(),
        expect.len(),
        "unchecked cases"
    );

    // Answers carry what was asked.
    let user = &got["user create"]["body"];
    assert_eq!(user["email"], "dana@api.test");
    assert_eq!(user["quota"], 2u64 << 30);
    assert!(user.get("password_hash").is_none(), "{user}");
    assert_eq!(got["user quota"]["body"]["quota"], 1u64 << 30);
    assert_eq!(got["user disable"]["body"]["is_active"], false);
    assert_eq!(got["users search"]["body"]["total"], 1);
    assert_eq!(got["alias delete"]["body"]["removed"], 1);
    let stats = &got["stats"]["body"];
    assert_eq!(stats["domains"], 2, "{stats}");
    assert!(stats["counters"]["messages_in"].is_u64(), "{stats}");
    // The audit log through the API: the CLI's change and the API's, with who and how.
    let items = got["audit"]["body"]["items"].as_array().unwrap();
    let find = |action: &str, object: &str| {
        items
            .iter()
            .find(|e| e["action"] == action && e["object"] == object)
            .unwrap_or_else(|| panic!("no {action} {object}: {items:?}"))
    };
    let cli = find("domain.create", "cli.test");
    assert_eq!(cli["via"], "cli");
    assert!(cli["actor"].as_str().unwrap().starts_with("cli:"), "{cli}");
    let api = find("domain.create", "api.test");
    assert_eq!(api["via"], "api");
    assert_eq!(api["actor"], "ops");
    assert_eq!(api["source_ip"], "127.0.0.1");
    find("user.password", "dana@api.test");
    find("user.disable", "dana@api.test");
    find("alias.create", "info@api.test");
    assert!(!items.iter().any(|e| e.to_string().contains("second pw")));
    // The audit log is append-only: no interface deletes, and the table refuses UPDATE.
    site.cli(&["audit", "delete"])
        .fails(2, "unrecognized subcommand");
    let cli_entry = site
        .cli(&["--json", "audit", "list", "--action", "user.delete"])
        .json();
    assert_eq!(cli_entry.as_array().unwrap().len(), 1, "{cli_entry}");
}

/// `baedal log search` until `done` holds for its answer (the server writes events in the
/// background, a moment after they happen).
fn search_until(site: &Site, args: &[&str], done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut cmd = vec!["--json", "log", "search"];
    cmd.extend(args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let got = site.cli(&cmd).json();
        let events = got.as_array().expect("log search").clone();
        if done(&events) || std::time::Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn log_search(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("a.test", &["alice"]);
    site.add_users("b.test", &["bob"]);
    add_admin(&site, "root", "super_admin", &[], "root pass");
    add_admin(&site, "bdesk", "domain_admin", &["b.test"], "b pass");
    let server = site.serve();

    // What users do: alice mistypes her password, bob logs in, a message comes in over
    // SMTP for both, a login name carrying markup fails.
    let got = imap::run(
        &site,
        &server,
        r#"
out = {}
try:
    imap("alice@a.test", "wrong")
    out["alice"] = "accepted"
except imaplib.IMAP4.error:
    out["alice"] = "refused"
m = imap("bob@b.test", "pw")
m.logout()
try:
    # imaplib sends the name as it is: quoted here, as a client would.
    imap('"<script>alert(1)</script>@a.test"', "x")
except imaplib.IMAP4.error:
    pass
print(json.dumps(out))
"#,
    );
    assert_eq!(got["alice"], "refused");
    let reply = baedal_tests::smtp::send(
        server.addr("smtp"),
        "carol@outside.test",
        &["alice@a.test", "bob@b.test"],
        b"From: carol@outside.test\r\nSubject: hello\r\n\r\nhi\r\n",
        &[],
    );
    assert_eq!(baedal_tests::smtp::code(&reply["data"]).0, 250, "{reply}");

    // On the CLI: alice's failed login, from 127.0.0.1 over IMAP; bob's success.
    let auth = search_until(
        &site,
        &["--kind", "auth", "--address", "alice@a.test"],
        |e| !e.is_empty(),
    );
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert_eq!(auth[0]["kind"], "auth");
    assert_eq!(auth[0]["protocol"], "imap");
    assert_eq!(auth[0]["remote_ip"], "127.0.0.1");
    assert_ne!(auth[0]["result"], "ok", "{auth:?}");
    let bob = search_until(&site, &["--kind", "auth", "--address", "bob@b.test"], |e| {
        !e.is_empty()
    });
    assert_eq!(bob[0]["result"], "ok", "{bob:?}");
    // The delivery, one event per recipient, found again by its queue id.
    let delivery = search_until(&site, &["--kind", "delivery", "--address", "carol@"], |e| {
        e.len() >= 2
    });
    assert_eq!(delivery.len(), 2, "{delivery:?}");
    let mut addresses: Vec<&str> = delivery
        .iter()
        .map(|d| d["address"].as_str().unwrap())
        .collect();
    addresses.sort();
    assert_eq!(
        addresses,
        [
            "carol@outside.test -> alice@a.test",
            "carol@outside.test -> bob@b.test"
        ]
    );
    let d = &delivery[0];
    assert_eq!(d["result"], "accepted");
    assert_eq!(d["protocol"], "smtp");
    let id = d["message_id"].as_str().unwrap();
    assert!(!id.is_empty(), "{d}");
    assert_eq!(delivery[1]["message_id"], id);
    let by_id = site
        .cli(&["--json", "log", "search", "--message-id", id])
        .json();
    assert_eq!(by_id.as_array().unwrap().len(), 2, "{by_id}");
    let none = site
        .cli(&["--json", "log", "search", "--ip", "192.0.2.1"])
        .json();
    assert_eq!(none, json!([]));
    site.cli(&["log", "search", "--kind", "nonsense"])
        .fails(2, "auth, delivery or error");

    // Through the API and on the console's page.
    let got = run_client(
        "console_checks.py",
        &["logs"],
        &[
            ("PORT", port(&server)),
            ("ADMIN", "root".into()),
            ("PASSWORD", "root pass".into()),
            ("KEY", api_key(&site, "root")),
            ("DOMAIN_ADMIN_KEY", api_key(&site, "bdesk")),
        ],
    );
    let items = |name: &str| -> Vec<Value> {
        assert_eq!(got[name]["status"], 200, "{name}: {}", got[name]);
        got[name]["items"].as_array().unwrap().clone()
    };
    let all = items("all");
    assert_eq!(all.len(), 5, "{all:?}");
    assert_eq!(items("auth alice").len(), 1);
    assert_eq!(items("from 127.0.0.1").len(), all.len());
    assert!(items("in the future").is_empty());
    for (name, field) in [("bad kind", "kind"), ("bad limit", "limit")] {
        assert_eq!(got[name]["status"], 400, "{name}: {}", got[name]);
        assert_eq!(got[name]["code"], "bad_request");
        assert_eq!(got[name]["field"], field);
    }
    assert_eq!(got["bad since"]["status"], 400, "{}", got["bad since"]);
    // The domain administrator of b.test sees bob's login and the delivery to bob, none
    // of alice's.
    let mine = items("domain admin");
    let mut seen: Vec<&str> = mine
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        ["bob@b.test", "carol@outside.test -> bob@b.test"],
        "{mine:?}"
    );
    assert!(mine.iter().any(|e| e["result"] == "ok"), "{mine:?}");
    assert!(items("domain admin asks for alice").is_empty());
    // The page: alice's failure and the markup login, shown as text.
    let page = &got["page"];
    assert_eq!(page["status"], 200);
    assert_eq!(page["raw_script"], false, "{page}");
    let rows = page["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r[4] == "alice@a.test" && r[5] == "127.0.0.1"),
        "{page}"
    );
    assert!(
        rows.iter()
            .any(|r| r[4].as_str().unwrap().contains("<script>")),
        "{page}"
    );
}

on_both_profiles!(matrix, log_search);
