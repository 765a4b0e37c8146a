//! The end-to-end harness: runs the real `baedal` binary with a generated configuration in
//! a temporary directory, against SQLite or a real PostgreSQL.
//!
//! # Layout
//! - [`baedal_bin`]: the binary under test (`target/<profile>/baedal`, or `BAEDAL_BIN`).
//! - [`Profile`]: the storage profile a [`Site`] runs on.
//! - [`s3`]: the in-process S3 server of the production profile.
//! - [`Site`]: one Baedal installation: data dir, config file, database; runs CLI commands.
//! - [`Server`]: a running `baedal serve` of a site, stopped (SIGTERM) on drop.
//! - [`postgres`]: fresh databases on the PostgreSQL that `tests/run.sh` started.
//! - [`smtp`]: independent SMTP clients (Python smtplib, raw sockets, swaks, curl).
//! - [`imap`]: Python imaplib scripts against a site (the shared prelude and runner).
//! - [`filters`]: rspamd and clamd as test peers, and the samples that pin their verdicts.

pub mod dns;
pub mod filters;
pub mod imap;
pub mod ldap;
pub mod postfix;
pub mod postgres;
pub mod python;
pub mod s3;
mod server;
pub mod smtp;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use server::Server;

/// The `baedal` binary built beside the test executables.
pub fn baedal_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("BAEDAL_BIN") {
        return PathBuf::from(bin);
    }
    // target/debug/deps/<test>-<hash> → target/debug/baedal
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("baedal");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p baedal-server), or run tests/run.sh",
        bin.display()
    );
    bin
}

/// Seconds since 1970.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Where a site keeps its directory and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// SQLite in the data dir (the embedded default).
    Sqlite,
    /// The production profile: a fresh database on the test PostgreSQL and a bucket on an
    /// S3 server (s3s-fs) in the test process.
    Production,
}

/// What a CLI command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts the exit code and that stderr mentions `needle`.
    #[track_caller]
    pub fn fails(&self, code: i32, needle: &str) {
        assert_eq!(
            self.code, code,
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {}",
            self.stderr
        );
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// One Baedal installation in a temporary directory.
pub struct Site {
    pub profile: Profile,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub database_url: String,
}

impl Site {
    /// A site whose listeners all use ephemeral loopback ports.
    pub fn new(profile: Profile) -> Self {
        Self::with_config(profile, "")
    }

    /// A site with `extra` appended to the generated configuration.
    pub fn with_config(profile: Profile, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let (database_url, storage) = match profile {
            Profile::Sqlite => (
                format!("sqlite://{}/baedal.db", data_dir.display()),
                String::new(),
            ),
            Profile::Production => {
                let endpoint = s3::start(&dir.path().join("s3"));
                let storage = format!(
                    "\n[storage]\nbackend = \"s3\"\n\n[storage.s3]\nendpoint = \"http://{endpoint}\"\nregion = \"kr-central-1\"\n\
                     bucket = \"{}\"\naccess_key = \"{}\"\nsecret_key = \"{}\"\n",
                    s3::BUCKET,
                    s3::ACCESS_KEY,
                    s3::SECRET_KEY
                );
                (postgres::fresh_database(), storage)
            }
        };
        let config = dir.path().join("baedal.toml");
        // Inbound verification asks DNS for every message: only tests that give it their
        // test DNS server (and a `[verify]` table) run it; never the system resolver.
        let verify = if extra.contains("[verify]") {
            ""
        } else {
            "\n[verify]\nenabled = false\n"
        };
        let text = format!(
            "hostname = \"mx.test.example\"\ndata_dir = \"{}\"\n\n[database]\nurl = \"{database_url}\"\n\n\
             [listen]\nhttp = \"127.0.0.1:0\"\nsmtp = \"127.0.0.1:0\"\nsmtps = \"127.0.0.1:0\"\nsubmission = \"127.0.0.1:0\"\nsubmissions = \"127.0.0.1:0\"\npop3 = \"127.0.0.1:0\"\npop3s = \"127.0.0.1:0\"\nimap = \"127.0.0.1:0\"\nimaps = \"127.0.0.1:0\"\nadmin = \"127.0.0.1:0\"\n{storage}{verify}{extra}",
            data_dir.display()
        );
        std::fs::write(&config, text).expect("write config");
        Self {
            profile,
            dir,
            config,
            database_url,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(baedal_bin());
        cmd.arg("--config").arg(&self.config).args(args);
        cmd.env_remove("BAEDAL_CONFIG").env_remove("RUST_LOG");
        cmd
    }

    /// Runs `baedal --config FILE ARGS...` with an empty stdin.
    pub fn cli(&self, args: &[&str]) -> Run {
        self.cli_stdin(args, "")
    }

    /// Runs `baedal --config FILE ARGS...` with `stdin` piped in.
    pub fn cli_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn baedal");
        // A command that fails before reading stdin closes it: that is its answer, not ours.
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes());
        Run::from(child.wait_with_output().expect("wait for baedal"))
    }

    /// Where the objects of `address` lie on disk: the Maildir under the data dir, or the
    /// same key path in the S3 server's bucket directory.
    pub fn maildir_cur(&self, address: &str) -> PathBuf {
        let (local, domain) = address.split_once('@').expect("an address");
        let root = match self.profile {
            Profile::Sqlite => self.data_dir().join("mail"),
            Profile::Production => self.dir.path().join("s3").join(s3::BUCKET),
        };
        root.join(domain).join(local).join("Maildir/cur")
    }

    /// The stored message files of `address` (`local@domain`), oldest first.
    pub fn stored_messages(&self, address: &str) -> Vec<Vec<u8>> {
        let cur = self.maildir_cur(address);
        let mut files: Vec<_> = match std::fs::read_dir(&cur) {
            Ok(dir) => dir.map(|e| e.expect("dir entry").path()).collect(),
            Err(_) => return Vec::new(),
        };
        // Names start with seconds.microseconds; sort by modification order instead.
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|p| std::fs::read(p).expect("read message"))
            .collect()
    }

    /// How many messages `address` has in `mailbox`, from `baedal mailbox list`.
    pub fn mailbox_count(&self, address: &str, mailbox: &str) -> i64 {
        let list = self.cli(&["mailbox", "list", address, "--json"]).json();
        list.as_array()
            .expect("array")
            .iter()
            .find(|m| m["name"] == mailbox)
            .unwrap_or_else(|| panic!("no mailbox {mailbox}: {list}"))["messages"]
            .as_i64()
            .expect("count")
    }

    /// Adds a domain and users with password `pw`.
    pub fn add_users(&self, domain: &str, users: &[&str]) {
        self.cli(&["domain", "add", domain]).ok();
        for user in users {
            self.cli_stdin(
                &[
                    "user",
                    "add",
                    &format!("{user}@{domain}"),
                    "--password-stdin",
                ],
                "pw\n",
            )
            .ok();
        }
    }

    /// Starts `baedal serve` and waits until its listeners are bound.
    pub fn serve(&self) -> Server {
        Server::start(self.command(&["serve"]), &self.data_dir())
    }
}

/// Runs each named `fn(Profile)` once per storage profile, as `sqlite::NAME` (SQLite and
/// Maildir files) and `production::NAME` (PostgreSQL and S3).
#[macro_export]
macro_rules! on_both_profiles {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::Profile::Sqlite) } )*
        }
        mod production {
            $( #[test] fn $name() { super::$name($crate::Profile::Production) } )*
        }
    };
}
