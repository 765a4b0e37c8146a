//! A throwaway dnsmasq as the test DNS server: only the records a test gives it, on a free
//! loopback port, no upstream and no system files; stopped on drop. Baedal's resolver is
//! pointed at it (`[dns] nameservers`), never at the system resolver.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestDns {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl TestDns {
    /// Starts dnsmasq answering for `zones` (NXDOMAIN for anything else in them) with the
    /// given dnsmasq record lines (`mx-host=...`, `host-record=...`, `txt-record=...`).
    pub fn start(port: u16, zones: &[&str], records: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conf = format!(
            "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
             no-poll\nlog-queries\nlog-facility=-\npid-file=\nuser=root\n"
        );
        for zone in zones {
            conf.push_str(&format!("local=/{zone}/\n"));
        }
        for record in records {
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
        let dns = Self { port, dir, child };
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
