//! A throwaway Postfix peer (`tests/peers/postfix.sh`), stopped on drop.

use std::path::PathBuf;
use std::process::Command;

pub struct Postfix {
    pub dir: PathBuf,
    pub port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/postfix.sh")
}

impl Postfix {
    /// Starts Postfix on 127.0.0.2:`port`, relaying all mail to 127.0.0.1:`relay_port`.
    pub fn start(port: u16, relay_port: u16) -> Self {
        Self::run(&["start", &port.to_string(), &relay_port.to_string()], port)
    }

    /// Starts Postfix on 127.0.0.2:`port` as a remote MX: mail for remote.test and
    /// other.test lands in [`Postfix::sink_messages`]; `reject@remote.test` gets 550 5.1.1.
    pub fn sink(port: u16) -> Self {
        Self::run(&["sink", &port.to_string()], port)
    }

    /// The messages the sink stored, oldest first.
    pub fn sink_messages(&self) -> Vec<Vec<u8>> {
        let dir = self.dir.join("sink/Maildir/new");
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => return Vec::new(),
        };
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }

    fn run(args: &[&str], port: u16) -> Self {
        let out = Command::new("bash")
            .arg(script())
            .args(args)
            .output()
            .expect("postfix.sh");
        assert!(
            out.status.success(),
            "postfix did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PFTEST_DIR="))
            .expect("PFTEST_DIR");
        Self {
            dir: PathBuf::from(dir),
            port,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// A free TCP port on 127.0.0.2 (bound and released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    listener.local_addr().expect("addr").port()
}
