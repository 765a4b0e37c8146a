//! `baedal config check|show`: defaults, partial files, and errors naming key and line.

use std::process::Command;

use baedal_tests::{Profile, Site, baedal_bin};

fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(baedal_bin())
        .args(args)
        .env_remove("BAEDAL_CONFIG")
        .envs(envs.iter().copied())
        .output()
        .expect("run baedal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_the_documented_sample_and_a_partial_file() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../etc/baedal.toml");
    let (code, out, err) = run(&["config", "check", "--config", sample], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("OK"), "{out}");

    let site = Site::new(Profile::Sqlite);
    let (code, out, err) = run(
        &["--config", site.config.to_str().unwrap(), "config", "check"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("OK"));
}

#[test]
fn check_names_the_bad_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "hostname = \"mx\"\n[database]\nurl = \"sqlite://x.db\"\npool_size = 4\n",
            "line 4: key 'database.pool_size'",
        ),
        (
            "[storage]\nbackend = \"nfs\"\n",
            "line 2: key 'storage.backend'",
        ),
        (
            "[dns]\nnameservers = [\"127.0.0.1:5353\", \"dns.local\"]\n",
            "line 2: key 'dns.nameservers'",
        ),
        (
            "\n\n[database]\nurl = \"mysql://u@h/db\"\n",
            "line 4: key 'database.url'",
        ),
        ("[relay]\nport = 99999\n", "line 2: key 'relay.port'"),
        ("[listen]\nhttp = \"8080\"\n", "line 2: key 'listen.http'"),
        ("data_dir = \n", "line 1"),
        (
            "[rspamd]\nurl = \"ftp://127.0.0.1:11333\"\n",
            "line 2: key 'rspamd.url'",
        ),
        ("[clamav]\naddress = \"\"\n", "line 2: key 'clamav.address'"),
        (
            "[clamav]\naddress = \"/run/clamd.ctl\"\noversize = \"maybe\"\n",
            "line 3",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let (code, _, err) = run(
            &["config", "check", "--config", path.to_str().unwrap()],
            &[],
        );
        assert_eq!(code, 1, "{text}: {err}");
        assert!(
            err.contains(expected),
            "{text}: expected {expected:?} in {err}"
        );
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
    let (code, _, err) = run(
        &["config", "check", "--config", "/nonexistent/baedal.toml"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("cannot read the file"), "{err}");
}

#[test]
fn show_prints_defaults_for_what_the_file_leaves_out_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baedal.toml");
    std::fs::write(
        &path,
        "hostname = \"mx.example.org\"\n[relay]\nhost = \"smtp.isp.net\"\n",
    )
    .unwrap();
    let (code, out, err) = run(
        &["--config", path.to_str().unwrap(), "config", "show"],
        &[
            ("BAEDAL_RELAY_PASSWORD", "relay-secret"),
            (
                "BAEDAL_DATABASE_URL",
                "postgres://mailsrv:db-secret@127.0.0.1:5432/maildir",
            ),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let shown: toml::Value = toml::from_str(out.trim_start_matches(|c| c != '\n')).unwrap();
    assert_eq!(shown["hostname"].as_str(), Some("mx.example.org"));
    assert_eq!(shown["relay"]["host"].as_str(), Some("smtp.isp.net"));
    assert_eq!(shown["relay"]["port"].as_integer(), Some(587));
    assert_eq!(shown["data_dir"].as_str(), Some("baedal-data"));
    assert_eq!(shown["storage"]["backend"].as_str(), Some("fs"));
    assert_eq!(shown["storage"]["s3"]["bucket"].as_str(), Some("mailboxes"));
    assert_eq!(shown["listen"]["http"].as_str(), Some("127.0.0.1:8080"));
    assert_eq!(
        shown["ldap"]["user_filter"].as_str(),
        Some("(|(uid={user})(mail={email}))")
    );
    // The environment overrides secrets, and printing hides them.
    assert_eq!(shown["relay"]["password"].as_str(), Some("***"));
    assert_eq!(
        shown["database"]["url"].as_str(),
        Some("postgres://mailsrv:***@127.0.0.1:5432/maildir")
    );
    assert!(
        !out.contains("relay-secret") && !out.contains("db-secret"),
        "{out}"
    );
}

#[test]
fn data_dir_option_is_global_and_wins_over_the_file() {
    let site = Site::new(Profile::Sqlite);
    let other = tempfile::tempdir().unwrap();
    let other_dir = other.path().join("elsewhere");
    let cfg = site.config.to_str().unwrap();
    let dd = other_dir.to_str().unwrap();
    // --data-dir after the subcommand, --config before it
    let (code, _, err) = run(
        &[
            "--config",
            cfg,
            "domain",
            "add",
            "example.org",
            "--data-dir",
            dd,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    // The site's configured database URL still names the site's own SQLite file...
    assert!(site.data_dir().join("baedal.db").exists());
    // ...while a data dir without a config holds its own embedded database.
    let (code, _, err) = run(&["--data-dir", dd, "domain", "add", "other.org"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(other_dir.join("baedal.db").exists());
    let (_, out, _) = run(&["domain", "list", "--data-dir", dd, "--json"], &[]);
    assert!(
        out.contains("other.org") && !out.contains("example.org"),
        "{out}"
    );
}
