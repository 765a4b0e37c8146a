//! A running `baedal serve`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to bind its listeners.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    child: Option<Child>,
    pub listeners: BTreeMap<String, Vec<SocketAddr>>,
    pub log: PathBuf,
    listeners_file: PathBuf,
}

impl Server {
    /// Spawns `cmd` (a `baedal ... serve`), logging to a file beside `data_dir`, and waits
    /// for `run/listeners.json`.
    pub fn start(mut cmd: Command, data_dir: &Path) -> Self {
        let listeners_file = data_dir.join("run").join("listeners.json");
        let _ = std::fs::remove_file(&listeners_file);
        let log = data_dir.with_extension(format!("serve-{}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("spawn baedal serve");
        let mut server = Self {
            child: Some(child),
            listeners: BTreeMap::new(),
            log,
            listeners_file,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&server.listeners_file)
                && let Ok(map) = serde_json::from_str(&text)
            {
                server.listeners = map;
                return server;
            }
            if let Some(status) = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("baedal serve exited with {status}:\n{}", server.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "baedal serve did not start:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .expect("a running server")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first address of a listener (`"http"`, `"smtp"`, ...).
    pub fn addr(&self, protocol: &str) -> SocketAddr {
        *self
            .listeners
            .get(protocol)
            .and_then(|l| l.first())
            .unwrap_or_else(|| panic!("no {protocol} listener: {:?}", self.listeners))
    }

    /// `GET path` on the HTTP listener: (status code, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        http_get(self.addr("http"), path)
    }

    /// Kills the server with SIGKILL (a crash: nothing is flushed or finished).
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (`"HUP"`, `"TERM"`, ...) without waiting.
    pub fn signal(&self, name: &str) {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{name} {}", self.pid()))
            .status()
            .expect("sh");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the server to exit by itself; returns the exit code.
    pub fn wait(mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                self.child = Some(child);
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits; returns the exit code.
    pub fn stop(mut self) -> i32 {
        self.terminate()
    }

    fn terminate(&mut self) -> i32 {
        let Some(mut child) = self.child.take() else {
            return -1;
        };
        // The shell's builtin kill: a minimal system may have no /bin/kill.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -TERM {}", child.id()))
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return -1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn listeners_file(&self) -> &Path {
        &self.listeners_file
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A minimal HTTP/1.1 GET: (status code, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad HTTP response: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
