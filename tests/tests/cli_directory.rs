//! The administrator's CLI round trip (domains, users, aliases, quotas, errors) on SQLite
//! and on a real PostgreSQL.

use baedal_tests::postgres as pg;
use baedal_tests::{Profile, Site, on_both_profiles};

on_both_profiles!(
    domains_users_and_aliases_round_trip,
    mistakes_get_errors_that_say_what_to_fix,
    migrations_apply_twice_without_harm,
);

fn domains_users_and_aliases_round_trip(profile: Profile) {
    let site = Site::new(profile);

    // Domains
    assert!(
        site.cli(&["domain", "add", "Example.ORG"])
            .ok()
            .contains("added domain example.org")
    );
    site.cli(&[
        "domain",
        "add",
        "tech-labs.kr",
        "--auth",
        "ldap",
        "--ldap-base-dn",
        "ou=people,dc=tech-labs,dc=kr",
    ])
    .ok();
    let domains = site.cli(&["--json", "domain", "list"]).json();
    let names: Vec<&str> = domains
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["example.org", "tech-labs.kr"]);
    assert_eq!(domains[1]["auth_type"], "ldap");
    assert_eq!(domains[1]["ldap_base_dn"], "ou=people,dc=tech-labs,dc=kr");
    assert_eq!(domains[0]["auth_type"], "local");
    let table = site.cli(&["domain", "list"]).ok().to_string();
    assert!(table.starts_with("DOMAIN"), "{table}");
    assert!(table.contains("tech-labs.kr  ldap"), "{table}");
    site.cli(&[
        "domain",
        "set",
        "example.org",
        "--company-id",
        "7",
        "--transport",
        "lmtp",
    ])
    .ok();
    let shown = site
        .cli(&["domain", "show", "example.org", "--json"])
        .json();
    assert_eq!(shown["company_id"], 7);
    assert_eq!(shown["transport"], "lmtp");

    // Users: password from stdin, bcrypt cost 12, checked like a login
    let added = site.cli_stdin(
        &[
            "user",
            "add",
            "Alice@Example.org",
            "--password-stdin",
            "--name",
            "Alice Kim",
        ],
        "s3cret pw\n",
    );
    assert!(added.ok().contains("added user alice@example.org"));
    site.cli_stdin(
        &[
            "user",
            "add",
            "bob@example.org",
            "--password-stdin",
            "--quota",
            "500M",
        ],
        "bobpw\n",
    )
    .ok();
    site.cli(&[
        "user",
        "add",
        "carol@tech-labs.kr",
        "--no-password",
        "--department",
        "R&D",
    ])
    .ok();
    let alice = site
        .cli(&["user", "show", "alice@example.org", "--json"])
        .json();
    assert_eq!(alice["quota"], 1_073_741_824u64);
    assert_eq!(alice["display_name"], "Alice Kim");
    assert_eq!(alice["maildir_path"], "example.org/alice/Maildir/");
    assert_eq!(alice["has_local_password"], true);
    assert_eq!(alice["is_active"], true);
    assert_eq!(alice["last_login"], serde_json::Value::Null);
    assert_eq!(
        site.cli(&["user", "show", "bob@example.org", "--json"])
            .json()["quota"],
        500 * 1024 * 1024
    );
    assert!(
        site.cli_stdin(
            &["auth", "test", "alice@example.org", "--password-stdin"],
            "s3cret pw\n"
        )
        .ok()
        .contains("accepted as alice@example.org (local)")
    );
    site.cli_stdin(
        &["auth", "test", "alice@example.org", "--password-stdin"],
        "wrong\n",
    )
    .fails(1, "authentication failed");
    site.cli_stdin(
        &["auth", "test", "carol@tech-labs.kr", "--password-stdin"],
        "anything\n",
    )
    .fails(1, "authentication failed");
    let alice = site
        .cli(&["user", "show", "alice@example.org", "--json"])
        .json();
    assert!(
        alice["last_login"].as_str().is_some_and(|t| t.len() == 19),
        "{alice}"
    );
    if profile == Profile::Production {
        let hash = pg::psql(
            &site.database_url,
            "SELECT password FROM virtual_users WHERE email = 'alice@example.org'",
        );
        assert!(hash.starts_with("$2b$12$"), "bcrypt cost 12: {hash}");
    }

    let list = site
        .cli(&["user", "list", "--domain", "example.org", "--json"])
        .json();
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["alice@example.org", "bob@example.org"]);
    assert_eq!(
        site.cli(&["user", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let table = site.cli(&["user", "list"]).ok().to_string();
    let row = |email: &str| -> Vec<String> {
        let line = table
            .lines()
            .find(|l| l.starts_with(email))
            .unwrap_or_else(|| panic!("{table}"));
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(
        row("alice@example.org")[..5],
        ["alice@example.org", "Alice Kim", "1G", "0", "local"]
    );
    assert_eq!(
        row("bob@example.org")[..6],
        ["bob@example.org", "-", "500M", "0", "local", "yes"]
    );

    // Quota, password, disable/enable
    assert!(
        site.cli(&["user", "quota", "alice@example.org", "2G"])
            .ok()
            .contains("is now 2G")
    );
    assert_eq!(
        site.cli(&["user", "show", "alice@example.org", "--json"])
            .json()["quota"],
        2_147_483_648u64
    );
    site.cli(&["user", "quota", "bob@example.org", "1073741824"])
        .ok();
    assert_eq!(
        site.cli(&["user", "show", "bob@example.org", "--json"])
            .json()["quota"],
        1_073_741_824u64
    );
    site.cli_stdin(
        &["user", "passwd", "alice@example.org", "--password-stdin"],
        "new pw\n",
    )
    .ok();
    site.cli_stdin(
        &["auth", "test", "alice@example.org", "--password-stdin"],
        "s3cret pw\n",
    )
    .fails(1, "authentication failed");
    site.cli_stdin(
        &["auth", "test", "alice@example.org", "--password-stdin"],
        "new pw\n",
    )
    .ok();
    site.cli(&["user", "disable", "alice@example.org"]).ok();
    assert_eq!(
        site.cli(&["user", "show", "alice@example.org", "--json"])
            .json()["is_active"],
        false
    );
    site.cli_stdin(
        &["auth", "test", "alice@example.org", "--password-stdin"],
        "new pw\n",
    )
    .fails(1, "authentication failed");
    site.cli(&["user", "enable", "alice@example.org"]).ok();
    site.cli_stdin(
        &["auth", "test", "alice@example.org", "--password-stdin"],
        "new pw\n",
    )
    .ok();
    site.cli(&[
        "user",
        "set",
        "bob@example.org",
        "--name",
        "Bob Lee",
        "--department",
        "Sales",
    ])
    .ok();
    let bob = site
        .cli(&["user", "show", "bob@example.org", "--json"])
        .json();
    assert_eq!(
        (bob["display_name"].as_str(), bob["department"].as_str()),
        (Some("Bob Lee"), Some("Sales"))
    );

    // Aliases: several destinations, catch-all
    let added = site
        .cli(&[
            "alias",
            "add",
            "sales@example.org",
            "alice@example.org,bob@example.org",
        ])
        .ok()
        .to_string();
    assert!(
        added.contains("sales@example.org → alice@example.org, bob@example.org"),
        "{added}"
    );
    site.cli(&["alias", "add", "@example.org", "alice@example.org"])
        .ok();
    site.cli(&[
        "alias",
        "add",
        "partners@example.org",
        "someone@elsewhere.net",
    ])
    .ok();
    let aliases = site.cli(&["alias", "list", "--json"]).json();
    let pairs: Vec<(String, String)> = aliases
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["source"].as_str().unwrap().into(),
                a["destination"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("@example.org", "alice@example.org"),
        ("partners@example.org", "someone@elsewhere.net"),
        ("sales@example.org", "alice@example.org"),
        ("sales@example.org", "bob@example.org"),
    ];
    assert_eq!(pairs, expected.map(|(s, d)| (s.to_string(), d.to_string())));
    assert_eq!(
        site.cli(&["domain", "show", "example.org", "--json"])
            .json()["aliases"],
        3
    );
    site.cli(&["alias", "remove", "sales@example.org", "bob@example.org"])
        .ok();
    site.cli(&["alias", "remove", "@example.org"]).ok();
    assert_eq!(
        site.cli(&["alias", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Removal: a domain with users is kept unless --force
    site.cli(&["domain", "remove", "example.org"])
        .fails(1, "--force");
    site.cli(&["user", "remove", "bob@example.org"]).ok();
    site.cli(&["user", "show", "bob@example.org"])
        .fails(1, "unknown user 'bob@example.org'");
    assert!(
        site.cli(&["domain", "remove", "example.org", "--force"])
            .ok()
            .contains("removed domain example.org")
    );
    assert_eq!(
        site.cli(&["user", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        site.cli(&["alias", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    site.cli(&["user", "remove", "carol@tech-labs.kr"]).ok();
    site.cli(&["domain", "remove", "tech-labs.kr"]).ok();
    assert_eq!(
        site.cli(&["domain", "list", "--json"]).json(),
        serde_json::json!([])
    );
}

fn mistakes_get_errors_that_say_what_to_fix(profile: Profile) {
    let site = Site::new(profile);
    site.cli(&["domain", "add", "example.org"]).ok();
    site.cli(&["domain", "add", "example.org"])
        .fails(1, "domain 'example.org' already exists");
    site.cli(&["domain", "add", "not a domain"])
        .fails(2, "invalid domain name");
    site.cli(&["domain", "add", "x.org", "--auth", "kerberos"])
        .fails(2, "neither 'ldap' nor 'local'");
    site.cli(&["domain", "show", "nowhere.org"])
        .fails(1, "unknown domain 'nowhere.org'");

    site.cli_stdin(
        &["user", "add", "alice@nowhere.org", "--password-stdin"],
        "pw\n",
    )
    .fails(
        1,
        "unknown domain 'nowhere.org': add it first with 'baedal domain add nowhere.org'",
    );
    site.cli_stdin(
        &["user", "add", "alice@example.org", "--password-stdin"],
        "pw\n",
    )
    .ok();
    site.cli_stdin(
        &["user", "add", "ALICE@example.org", "--password-stdin"],
        "pw\n",
    )
    .fails(1, "user 'alice@example.org' already exists");
    site.cli_stdin(&["user", "add", "alice", "--password-stdin"], "pw\n")
        .fails(2, "invalid address 'alice'");
    site.cli_stdin(
        &["user", "add", "a..b@example.org", "--password-stdin"],
        "pw\n",
    )
    .fails(2, "invalid address");
    site.cli_stdin(
        &[
            "user",
            "add",
            "bob@example.org",
            "--password-stdin",
            "--quota",
            "1X",
        ],
        "pw\n",
    )
    .fails(2, "invalid size '1X'");
    site.cli_stdin(
        &["user", "add", "bob@example.org", "--password-stdin"],
        "\n",
    )
    .fails(2, "the password is empty");
    // stdin is not a terminal and no --password-stdin: nothing to prompt with
    site.cli(&["user", "add", "bob@example.org"])
        .fails(2, "--password-stdin");
    site.cli(&["user", "quota", "alice@example.org", "1X"])
        .fails(2, "invalid size '1X'");
    site.cli(&["user", "quota", "nobody@example.org", "1G"])
        .fails(1, "unknown user 'nobody@example.org'");
    site.cli(&["user", "list", "--domain", "nowhere.org"])
        .fails(1, "unknown domain");

    site.cli(&["alias", "add", "info@nowhere.org", "alice@example.org"])
        .fails(1, "unknown domain 'nowhere.org'");
    site.cli(&["alias", "add", "info@example.org", "not-an-address"])
        .fails(2, "invalid address");
    site.cli(&["alias", "add", "info@example.org", "alice@example.org"])
        .ok();
    site.cli(&["alias", "add", "info@example.org", "alice@example.org"])
        .fails(1, "already exists");
    site.cli(&["alias", "remove", "nothing@example.org"])
        .fails(1, "no alias");
    // Nothing half-done: the failed commands left exactly one user and one alias.
    assert_eq!(
        site.cli(&["user", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        site.cli(&["alias", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    site.cli(&["no-such-command"])
        .fails(2, "unrecognized subcommand");
}

fn migrations_apply_twice_without_harm(profile: Profile) {
    let site = Site::new(profile);
    let first = site.cli(&["migrate"]).ok().to_string();
    assert!(first.contains("applied 1 directory"), "{first}");
    site.cli(&["domain", "add", "example.org"]).ok();
    let second = site.cli(&["migrate"]).ok().to_string();
    assert!(second.contains("up to date"), "{second}");
    let again = site.cli(&["migrate", "--json"]).json();
    assert_eq!(again["applied"], serde_json::json!([]));
    assert_eq!(
        site.cli(&["domain", "list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
