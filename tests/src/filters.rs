//! The content filters' daemons as test peers: Debian's rspamd and clamd, started for real by
//! `tests/peers/rspamd.sh` and `tests/peers/clamd.sh` (offline, private configs), and the
//! samples of `tests/clients/filter_probe.py` (GTUBE variants, EICAR in every wrapping).
//!
//! `tests/run.sh` starts one of each for the whole suite and exports their addresses
//! ([`shared_rspamd_url`], [`shared_clamd`]); a test that stops its daemon starts its own.

use std::path::{Path, PathBuf};
use std::process::Command;

fn peers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers")
}

fn env_or_panic(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: the filter tests need the daemons that tests/run.sh starts")
    })
}

/// The Rspamd normal worker `tests/run.sh` started.
pub fn shared_rspamd_url() -> String {
    env_or_panic("BAEDAL_TEST_RSPAMD_URL")
}

/// The clamd `tests/run.sh` started: (`host:port`, Unix socket path).
pub fn shared_clamd() -> (String, String) {
    (
        env_or_panic("BAEDAL_TEST_CLAMD_ADDRESS"),
        env_or_panic("BAEDAL_TEST_CLAMD_SOCKET"),
    )
}

/// Runs a peer script; its KEY=VALUE lines, or what it printed when it failed.
fn try_script(name: &str, args: &[&str]) -> Result<Vec<(String, String)>, String> {
    let out = Command::new("bash")
        .arg(peers().join(name))
        .args(args)
        .output()
        .expect("bash");
    if !out.status.success() {
        return Err(format!(
            "{name} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn script(name: &str, args: &[&str]) -> Vec<(String, String)> {
    try_script(name, args).unwrap_or_else(|e| panic!("{e}"))
}

fn value(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {key} in {pairs:?}"))
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A test's own daemon (`rspamd` or `clamd`), stopped on drop.
pub struct Daemon {
    script: &'static str,
    dir: tempfile::TempDir,
    port: u16,
    extra: Vec<String>,
    pub vars: Vec<(String, String)>,
}

impl Daemon {
    /// Its own rspamd (the first start compiles the rules: some seconds).
    pub fn rspamd() -> Self {
        Self::start("rspamd.sh", Vec::new())
    }

    /// Its own clamd with `StreamMaxLength` `stream_max` (`N`, `NK`, `NM`).
    pub fn clamd(stream_max: &str) -> Self {
        Self::start("clamd.sh", vec![stream_max.to_string()])
    }

    fn start(script: &'static str, extra: Vec<String>) -> Self {
        // Unix socket paths are short: keep the directory under /tmp.
        let dir = tempfile::Builder::new()
            .prefix("bf")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let mut daemon = Self {
            script,
            dir,
            port: free_port(),
            extra,
            vars: Vec::new(),
        };
        // A free port may be taken by the time the daemon binds it (rspamd starts in
        // seconds): another port, up to three times.
        for attempt in 1..=3 {
            match daemon.try_start() {
                Ok(()) => break,
                Err(e) if attempt == 3 => panic!("{e}"),
                Err(_) => daemon.port = free_port(),
            }
        }
        daemon
    }

    fn try_start(&mut self) -> Result<(), String> {
        let dir = self.dir.path().join("d");
        let port = self.port.to_string();
        let mut args = vec!["start", dir.to_str().expect("path"), &port];
        args.extend(self.extra.iter().map(String::as_str));
        self.vars = try_script(self.script, &args)?;
        Ok(())
    }

    /// (Re)starts it on the same port and directory.
    pub fn restart(&mut self) {
        self.try_start().unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn stop(&self) {
        let dir = self.dir.path().join("d");
        script(self.script, &["stop", dir.to_str().expect("path")]);
    }

    pub fn var(&self, key: &str) -> String {
        value(&self.vars, key)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let dir = self.dir.path().join("d");
        let _ = Command::new("bash")
            .arg(peers().join(self.script))
            .args(["stop", dir.to_str().unwrap_or("")])
            .output();
    }
}

/// A sample message from `filter_probe.py sample KIND` (`gtube-X`, `eicar-zip`, `clean`, ...).
pub fn sample(kind: &str) -> Vec<u8> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/filter_probe.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["sample", kind])
        .output()
        .expect("python3");
    assert!(out.status.success(), "filter_probe.py sample {kind} failed");
    out.stdout
}
