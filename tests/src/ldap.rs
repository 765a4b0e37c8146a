//! A throwaway OpenLDAP slapd (`tests/peers/slapd.sh`) as the directory of the LDAP
//! authenticator, on free loopback ports, stopped on drop.
//!
//! The directory (suffix [`BASE_DN`], anonymous binds refused) holds:
//! - `cn=admin,dc=company,dc=kr` (the root DN): used here to add, change and delete entries;
//! - `cn=mailsrv,ou=services,dc=company,dc=kr`: the service account Baedal binds as
//!   ([`TestLdap::bind_dn`]); reads every entry but no `userPassword`;
//! - under [`PEOPLE_DN`]: `uid=alice` (`alice@company.kr`, `a.kim@company.kr`, department 100,
//!   displayName 김앨리스, password `alice-pw`), `uid=bob` (`bob@company.kr`, 200, `bob-pw`),
//!   `uid=carol` (`carol@company.kr`, 100, `carol-pw`), `uid=dave` (`dave@company.kr`, 300,
//!   `dave-pw`);
//! - under [`LABS_DN`]: `uid=erin` (`erin@labs.company.kr`, 400, `erin-pw`), for per-domain base
//!   DNs.
//!
//! Users may only bind and read their own entry. Passwords are stored as `{SSHA}`.
//! The admin tools are the ldap-utils CLI (`ldapadd`, `ldapmodify`, `ldappasswd`,
//! `ldapdelete`) over the server's `ldapi://` socket; a failing tool panics with its stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The suffix of the test directory.
pub const BASE_DN: &str = "dc=company,dc=kr";
/// Where alice, bob, carol and dave live.
pub const PEOPLE_DN: &str = "ou=people,dc=company,dc=kr";
/// Where erin (`erin@labs.company.kr`) lives.
pub const LABS_DN: &str = "ou=labs,dc=company,dc=kr";

/// The DN of user `uid` under `ou_dn` (e.g. `user_dn("alice", PEOPLE_DN)`).
pub fn user_dn(uid: &str, ou_dn: &str) -> String {
    format!("uid={uid},{ou_dn}")
}

pub struct TestLdap {
    /// `ldap://127.0.0.1:PORT` (plain; StartTLS is offered).
    pub ldap_url: String,
    /// `ldaps://127.0.0.1:PORT`, certificate signed by [`TestLdap::ca_file`].
    pub ldaps_url: String,
    /// `ldapi://` socket in the server's directory (what the admin tools use).
    pub ldapi_url: String,
    /// The service account Baedal binds as.
    pub bind_dn: String,
    pub bind_password: String,
    /// The CA certificate (PEM) of the server's certificate (SAN localhost, 127.0.0.1, ::1).
    pub ca_file: PathBuf,
    /// The root DN: may add, modify and delete anything.
    pub admin_dn: String,
    pub admin_password: String,
    dir: tempfile::TempDir,
    running: bool,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/slapd.sh")
}

impl TestLdap {
    /// Starts slapd on two free ports of 127.0.0.1 and waits until the service account binds.
    pub fn start() -> Self {
        // The ports are free when picked but may be taken before slapd binds them: retry then.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let dir = tempfile::tempdir().expect("tempdir");
            let ldap_port = crate::dns::free_port();
            let mut ldaps_port = crate::dns::free_port();
            while ldaps_port == ldap_port {
                ldaps_port = crate::dns::free_port();
            }
            let out = Command::new("bash")
                .arg(script())
                .arg("start")
                .arg(dir.path())
                .arg(ldap_port.to_string())
                .arg(ldaps_port.to_string())
                .stdin(Stdio::null())
                .output()
                .expect("run tests/peers/slapd.sh");
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() {
                if attempt < 3 && stderr.contains("Address already in use") {
                    continue;
                }
                panic!("slapd did not start ({}):\n{stderr}", out.status);
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            let var = |key: &str| -> String {
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or_else(|| panic!("slapd.sh printed no {key}:\n{stdout}"))
                    .to_string()
            };
            return Self {
                ldap_url: var("LDAP_URL"),
                ldaps_url: var("LDAPS_URL"),
                ldapi_url: var("LDAPI_URL"),
                bind_dn: var("LDAP_BIND_DN"),
                bind_password: var("LDAP_BIND_PW"),
                ca_file: PathBuf::from(var("LDAP_CA_FILE")),
                admin_dn: var("LDAP_ADMIN_DN"),
                admin_password: var("LDAP_ADMIN_PW"),
                dir,
                running: true,
            };
        }
    }

    /// Stops slapd (SIGTERM by its PID); does nothing the second time.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .status();
    }

    /// The server's directory (slapd.conf, slapd.log, tls/).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// slapd's log (loglevel stats: every connection, bind and search with its result).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// Sets the password of `dn` (Password Modify as the admin; stored as `{SSHA}`).
    pub fn set_password(&self, dn: &str, password: &str) {
        self.admin("ldappasswd", &["-s", password, dn], None);
    }

    /// Deletes the entry `dn`.
    pub fn delete(&self, dn: &str) {
        self.admin("ldapdelete", &[dn], None);
    }

    /// Adds an inetOrgPerson `uid={uid},{ou_dn}` with one `mail` address, a
    /// `departmentNumber` and a password; returns its DN.
    pub fn add_user(
        &self,
        uid: &str,
        mail: &str,
        department: &str,
        password: &str,
        ou_dn: &str,
    ) -> String {
        let dn = user_dn(uid, ou_dn);
        let ldif = [
            ldif_line("dn", &dn),
            "objectClass: inetOrgPerson\n".to_string(),
            ldif_line("uid", uid),
            ldif_line("cn", uid),
            ldif_line("sn", uid),
            ldif_line("mail", mail),
            ldif_line("departmentNumber", department),
        ]
        .concat();
        self.admin("ldapadd", &[], Some(&ldif));
        self.set_password(&dn, password);
        dn
    }

    /// Applies an LDIF change (`dn: ...\nchangetype: modify\nreplace: mail\nmail: ...\n`).
    pub fn modify(&self, ldif: &str) {
        self.admin("ldapmodify", &[], Some(ldif));
    }

    /// Whether `dn` can bind with `password` over plain LDAP (an independent check).
    pub fn can_bind(&self, dn: &str, password: &str) -> bool {
        Command::new("ldapwhoami")
            .args(["-x", "-H", &self.ldap_url, "-D", dn, "-w", password])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("ldapwhoami (apt install ldap-utils)")
            .success()
    }

    /// Runs an ldap-utils tool as the admin over ldapi; panics with its stderr on failure.
    fn admin(&self, tool: &str, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = Command::new(tool)
            .args([
                "-x",
                "-H",
                &self.ldapi_url,
                "-D",
                &self.admin_dn,
                "-w",
                &self.admin_password,
            ])
            .args(args)
            .env("LDAPTLS_CACERT", &self.ca_file)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{tool} (apt install ldap-utils): {e}"));
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .unwrap_or_else(|e| panic!("{tool}: writing LDIF: {e}"));
        }
        let out = child.wait_with_output().expect("wait for ldap tool");
        assert!(
            out.status.success(),
            "{tool} {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdin.map(|s| format!("LDIF:\n{s}")).unwrap_or_default()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TestLdap {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One LDIF attribute line; values that are not plain ASCII (e.g. Hangul) go as base64 (`::`).
fn ldif_line(name: &str, value: &str) -> String {
    let safe = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ');
    if safe {
        format!("{name}: {value}\n")
    } else {
        format!("{name}:: {}\n", base64(value.as_bytes()))
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | ((b as u32) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
