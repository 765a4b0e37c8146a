//! Side by side with Dovecot: the same 47 messages APPENDed to Baedal and to a throwaway
//! Dovecot (`tests/peers/dovecot.sh`), then about 160 SORT, THREAD, SEARCH and ESEARCH
//! commands on both and their results compared by `tests/clients/imap_compare.py` (raw
//! sockets; see its docstring for the corpus, the cases and what is compared). Where Dovecot
//! parts from the RFC, the script's `KNOWN_DIFFERENCES` names the rule Baedal follows and
//! pins Baedal's exact answer; any other difference fails the test.
//!
//! The results do not depend on the storage: the embedded (SQLite) profile only.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baedal_tests::{Profile, Site};

fn clients_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/imap_compare.py")
}

fn dovecot_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/dovecot.sh")
}

/// A throwaway Dovecot on a free port of 127.0.0.1 (plain IMAP, users `user1@example.org` ..
/// `user4@example.org` with empty INBOXes), stopped by its PID on drop.
struct Dovecot {
    port: u16,
    password: String,
    log: PathBuf,
    running: bool,
    dir: tempfile::TempDir,
}

/// True while `pid` runs (a zombie counts as stopped).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // pid (comm) STATE ...: the state follows the last ')'.
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

impl Dovecot {
    fn start() -> Self {
        // The port is free when picked but may be taken before Dovecot binds it: retry then.
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Under /tmp, not $TMPDIR: Dovecot's unix sockets live in DIR/run (a short path is
            // needed) and its unprivileged processes must traverse every directory above DIR.
            let dir = tempfile::Builder::new()
                .prefix("dovecot-")
                .tempdir_in("/tmp")
                .expect("temp dir under /tmp");
            let port = baedal_tests::dns::free_port();
            let out = Command::new("bash")
                .arg(dovecot_script())
                .arg("start")
                .arg(dir.path())
                .arg(port.to_string())
                .stdin(Stdio::null())
                .output()
                .expect("run tests/peers/dovecot.sh");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if !out.status.success() {
                if attempt < 3 && stderr.contains("Address already in use") {
                    continue;
                }
                panic!(
                    "dovecot did not start ({}):\n{stderr}\n(tests/peers/install.sh installs \
                     dovecot-core and dovecot-imapd; dovecot.sh runs as root)",
                    out.status
                );
            }
            let var = |key: &str| -> String {
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or_else(|| panic!("dovecot.sh printed no {key}:\n{stdout}"))
                    .to_string()
            };
            let pid: u32 = var("DOVECOT_PID").parse().expect("DOVECOT_PID");
            let dovecot = Self {
                port: var("DOVECOT_PORT").parse().expect("DOVECOT_PORT"),
                password: var("DOVECOT_PASSWORD"),
                log: PathBuf::from(var("DOVECOT_LOG")),
                running: true,
                dir,
            };
            assert_eq!(dovecot.port, port, "{stdout}");
            assert!(
                var("DOVECOT_USERS")
                    .split(' ')
                    .any(|u| u == "user1@example.org"),
                "{stdout}"
            );
            // dovecot.sh waits for a greeting on the port, which another server that took the
            // port in the meantime gives as well: this master must still run, unharmed.
            std::thread::sleep(Duration::from_millis(300));
            let log = dovecot.log();
            if !alive(pid) || log.contains("Fatal:") {
                drop(dovecot);
                if attempt < 3 && log.contains("Address already in use") {
                    continue;
                }
                panic!("dovecot (pid {pid}) died after its start:\n{log}");
            }
            return dovecot;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops Dovecot (SIGTERM by its PID file, then waits for every process it started);
    /// does nothing the second time.
    fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let _ = Command::new("bash")
            .arg(dovecot_script())
            .arg("stop")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .status();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `n` lines of a text.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The counts of the script's last line, `summary: N cases: S same, D differ unexpectedly,
/// K known differences, X skipped ...`, by the word after each number.
fn summary(output: &str) -> Option<Summary> {
    let line = output.lines().rev().find(|l| l.starts_with("summary: "))?;
    let number_before = |what: &str| -> Option<usize> {
        let end = line.find(what)?;
        line[..end]
            .trim_end()
            .rsplit([' ', ':'])
            .next()?
            .parse()
            .ok()
    };
    Some(Summary {
        total: number_before(" cases")?,
        same: number_before(" same")?,
        unexpected: number_before(" differ unexpectedly")?,
        known: number_before(" known differences")?,
        skipped: number_before(" skipped")?,
    })
}

#[derive(Debug, PartialEq, Eq)]
struct Summary {
    total: usize,
    same: usize,
    unexpected: usize,
    known: usize,
    skipped: usize,
}

/// The comparison client's parsers and normalisers (no server involved).
#[test]
fn the_comparison_client_passes_its_self_test() {
    let out = Command::new("python3")
        .arg(clients_script())
        .arg("--selftest")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "imap_compare.py --selftest failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        summary(
            "x\nsummary: 163 cases: 141 same, 15 differ unexpectedly, 4 known differences, 3 \
             skipped (unexpected: a, b)"
        ),
        Some(Summary {
            total: 163,
            same: 141,
            unexpected: 15,
            known: 4,
            skipped: 3,
        })
    );
}

/// Baedal (a) and Dovecot (b) give the same SORT, THREAD, SEARCH and ESEARCH results for the
/// same messages, except where `KNOWN_DIFFERENCES` says Dovecot departs from the RFC; and
/// enough cases are compared that a broken harness cannot pass by comparing nothing.
#[test]
fn sort_thread_search_and_esearch_agree_with_dovecot() {
    let site = Site::new(Profile::Sqlite);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let dovecot = Dovecot::start();
    let started = Instant::now();
    // Baedal over IMAPS with its own self-signed certificate (`:tls`: no verification),
    // Dovecot over plain IMAP on loopback.
    let a = format!(
        "127.0.0.1:{}:alice@example.org:pw:tls",
        server.addr("imaps").port()
    );
    let b = format!(
        "127.0.0.1:{}:user1@example.org:{}",
        dovecot.port, dovecot.password
    );
    let out = Command::new("python3")
        .arg(clients_script())
        .args([
            "--a", &a, "--b", &b, "--a-name", "baedal", "--b-name", "dovecot",
        ])
        .arg("--load")
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let shown = format!(
        "imap_compare.py exited with {:?} after {:?}\n--- its output:\n{stdout}\n--- its \
         stderr:\n{}\n--- baedal log (tail):\n{}\n--- dovecot log (tail):\n{}",
        out.status.code(),
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr),
        tail(&server.log_text(), 30),
        tail(&dovecot.log(), 30)
    );
    // Exit status 2: a usage or connection error (nothing meaningful compared).
    assert_ne!(out.status.code(), Some(2), "{shown}");
    let counts = summary(&stdout).unwrap_or_else(|| panic!("no summary line\n{shown}"));
    let compared = counts.same + counts.unexpected + counts.known;
    assert_eq!(
        compared + counts.skipped,
        counts.total,
        "summary does not add up\n{shown}"
    );
    assert!(
        compared >= 150,
        "only {compared} cases compared ({} skipped)\n{shown}",
        counts.skipped
    );
    assert_eq!(
        counts.unexpected, 0,
        "unexpected differences (a Baedal bug, or a KNOWN_DIFFERENCES entry whose pinned \
         result changed)\n{shown}"
    );
    assert!(out.status.success(), "{shown}");
    // The figures, for `--nocapture`.
    if let Some(line) = stdout.lines().find(|l| l.starts_with("summary:")) {
        println!("{line}");
    }
}
