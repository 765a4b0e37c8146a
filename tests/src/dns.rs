//! A throwaway dnsmasq as the test DNS server: only the records a test gives it, on a free
//! loopback port, no upstream and no system files; stopped on drop. Baedal's resolver is
//! pointed at it (`[dns] nameservers`), never at the system resolver. Names outside its
//! zones are REFUSED (it has no upstream); chosen names can be made to fail with
//! SERVFAIL or REFUSED ([`TestDns::start_failing`]).

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct TestDns {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
    _failing: Vec<FailingServer>,
}

/// The error a name is answered with (RFC 1035 §4.1.1 RCODE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    ServFail = 2,
    Refused = 5,
}

impl TestDns {
    /// Starts dnsmasq answering for `zones` (NXDOMAIN for anything else in them) with the
    /// given dnsmasq record lines (`mx-host=...`, `host-record=...`, `txt-record=...`).
    pub fn start(port: u16, zones: &[&str], records: &[String]) -> Self {
        Self::start_failing(port, zones, records, &[])
    }

    /// [`TestDns::start`], and every query for each name of `failing` (and the names
    /// below it) answered with its error: dnsmasq forwards them to a small server that
    /// answers nothing else, and passes its error back.
    pub fn start_failing(
        port: u16,
        zones: &[&str],
        records: &[String],
        failing: &[(&str, Failure)],
    ) -> Self {
        let mut servers: Vec<FailingServer> = Vec::new();
        let mut records = records.to_vec();
        for (name, failure) in failing {
            let server = match servers.iter().position(|s| s.failure == *failure) {
                Some(i) => &servers[i],
                None => {
                    servers.push(FailingServer::start(*failure));
                    &servers[servers.len() - 1]
                }
            };
            records.push(format!("server=/{name}/127.0.0.1#{}", server.port));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conf = format!(
            "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
             no-poll\nlog-queries\nlog-facility=-\npid-file=\nuser=root\n"
        );
        for zone in zones {
            conf.push_str(&format!("local=/{zone}/\n"));
        }
        for record in &records {
            conf.push_str(record);
            conf.push('\n');
        }
        let conf_path = dir.path().join("dnsmasq.conf");
        std::fs::write(&conf_path, conf).expect("write dnsmasq.conf");
        let log = std::fs::File::create(dir.path().join("dnsmasq.log")).expect("log");
        let child = Command::new("dnsmasq")
            .arg("-k")
            .arg("-C")
            .arg(&conf_path)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("dnsmasq (apt install dnsmasq-base)");
        let dns = Self {
            port,
            dir,
            child,
            _failing: servers,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not start: {}",
                dns.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        dns
    }

    /// The `[dns]` setting that points Baedal at this server.
    pub fn nameserver(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dnsmasq.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A DNS server on a free UDP port of 127.0.0.1 that answers every query with one error
/// (no records), until dropped.
struct FailingServer {
    port: u16,
    failure: Failure,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FailingServer {
    fn start(failure: Failure) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind failing DNS server");
        let port = socket.local_addr().expect("addr").port();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = error_reply(&buf[..n], failure as u8) {
                    let _ = socket.send_to(&reply, peer);
                }
            }
        });
        Self {
            port,
            failure,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FailingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The answer to `query` with `rcode` and its question only (RFC 1035 §4.1), or `None`
/// when it is not a query with one question.
fn error_reply(query: &[u8], rcode: u8) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    // The question: labels up to the root, then QTYPE and QCLASS.
    let mut end = 12;
    loop {
        let len = *query.get(end)? as usize;
        end += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        end += len;
    }
    end += 4;
    let question = query.get(12..end)?;
    let mut reply = Vec::with_capacity(end);
    reply.extend_from_slice(&query[..2]);
    // QR, the query's opcode and RD; RA; the error.
    reply.push(0x80 | (query[2] & 0x79));
    reply.push(0x80 | rcode);
    reply.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    reply.extend_from_slice(question);
    Some(reply)
}

/// A free port on 127.0.0.1 for the DNS server (bound and released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A TXT record as dnsmasq takes it: the value split into 255-byte strings.
pub fn txt_record(name: &str, value: &str) -> String {
    let chunks: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!("txt-record={name},{}", chunks.join(","))
}
