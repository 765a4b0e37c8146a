//! `baedal serve`: embedded defaults, health endpoints, the self-signed certificate, the CLI
//! beside a running server, clean shutdown.

use std::process::Command;

use baedal_tests::{Profile, Server, Site, baedal_bin, on_both_profiles};

on_both_profiles!(serves_health_and_the_cli_works_beside_it);

fn serves_health_and_the_cli_works_beside_it(profile: Profile) {
    let site = Site::new(profile);
    let server = site.serve();
    assert_eq!(server.http_get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(server.http_get("/readyz"), (200, "ready\n".to_string()));
    assert_eq!(server.http_get("/nothing").0, 404);

    // The CLI works on the same database while the server runs.
    site.cli(&["domain", "add", "example.org"]).ok();
    site.cli_stdin(
        &["user", "add", "alice@example.org", "--password-stdin"],
        "pw\n",
    )
    .ok();
    assert!(
        site.cli(&["user", "list"])
            .ok()
            .contains("alice@example.org")
    );

    let log = server.log_text();
    assert!(log.contains("database ready"), "{log}");
    let listeners = server.listeners_file().to_path_buf();
    assert_eq!(server.stop(), 0);
    assert!(!listeners.exists(), "listeners.json removed on shutdown");
}

#[test]
fn the_self_signed_certificate_is_generated_once_and_reused() {
    let site = Site::new(Profile::Sqlite);
    let cert = site.data_dir().join("tls/cert.pem");
    let first = site.serve();
    assert!(
        first.log_text().contains("generated=true"),
        "{}",
        first.log_text()
    );
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(first.stop(), 0);

    let second = site.serve();
    assert!(
        second.log_text().contains("generated=false"),
        "{}",
        second.log_text()
    );
    assert_eq!(std::fs::read_to_string(&cert).unwrap(), pem);
    // openssl reads it as a certificate for the configured host name and localhost.
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("DNS:mx.test.example") && text.contains("DNS:localhost"),
        "{text}"
    );
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");
}

#[test]
fn a_configured_certificate_that_does_not_load_stops_the_start() {
    let site = Site::with_config(
        Profile::Sqlite,
        "[tls]\ncert = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n",
    );
    let out = Command::new(baedal_bin())
        .args(["--config", site.config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read the certificate /nonexistent/cert.pem"),
        "{err}"
    );
}

/// The README's run command: no configuration at all, data in ./baedal-data, HTTP on 8080.
#[test]
fn with_no_config_it_runs_the_embedded_profile_in_the_current_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(baedal_bin());
    cmd.arg("serve")
        .current_dir(cwd.path())
        .env_remove("BAEDAL_CONFIG");
    let data = cwd.path().join("baedal-data");
    let server = Server::start(cmd, &data);
    assert_eq!(server.addr("http").to_string(), "127.0.0.1:8080");
    assert_eq!(server.http_get("/healthz").0, 200);
    let log = server.log_text();
    assert!(log.contains("embedded defaults"), "{log}");
    assert!(
        log.contains(&format!(
            "data_dir={}",
            data.canonicalize().unwrap().display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "cert={}",
            data.canonicalize().unwrap().join("tls/cert.pem").display()
        )),
        "{log}"
    );
    assert!(data.join("baedal.db").exists());

    // The CLI, run from the same directory, finds the same data.
    let out = Command::new(baedal_bin())
        .args(["domain", "add", "example.org"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(baedal_bin())
        .args(["user", "add", "alice@example.org", "--password-stdin"])
        .current_dir(cwd.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"pw\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(baedal_bin())
        .args(["user", "list"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice@example.org"));
    assert_eq!(server.stop(), 0);
}
