//! The .deb as an administrator meets it: cargo-deb builds it from the binary under test,
//! `dpkg -i` installs it (root), the files, user and permissions are what the package
//! promises, `systemd-analyze verify` accepts the unit, the installed binary serves mail as
//! the `baedal` user, and `dpkg --purge` takes it all away again.
//!
//! The package is installed system-wide for the length of one test; nothing else in this
//! file runs beside it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use baedal_tests::{Server, baedal_bin, smtp};

const PACKAGE: &str = "baedal";
const UNIT: &str = "/usr/lib/systemd/system/baedal.service";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

#[track_caller]
fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed() -> bool {
    run(Command::new("dpkg-query").args(["-W", "-f=${Status}", PACKAGE]))
        .stdout
        .starts_with(b"install ok installed")
}

/// Builds the .deb around the binary under test, the way CI does: no second (release)
/// build, `cargo deb --no-build` on the dev profile, stripped.
fn build_deb(dir: &Path) -> PathBuf {
    let target = dir.join("target");
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::fs::copy(baedal_bin(), target.join("debug/baedal")).expect("copy the binary");
    // The man pages and completions, made from the CLI as the README's package build does.
    ok(Command::new(baedal_bin())
        .arg("generate-assets")
        .arg(target.join("debug/assets")));
    let out_dir = dir.join("deb");
    let manifest = workspace().join("server/Cargo.toml");
    ok(Command::new("cargo")
        .args(["deb", "--no-build", "--profile", "dev", "--strip", "--fast"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--output")
        .arg(&out_dir)
        .env("CARGO_TARGET_DIR", &target));
    let deb = std::fs::read_dir(&out_dir)
        .expect("cargo deb output")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");
    eprintln!(
        "{}: {} bytes",
        deb.display(),
        std::fs::metadata(&deb).unwrap().len()
    );
    deb
}

/// Purges the package (and the mail it leaves behind) when the test ends, passed or not.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PACKAGE]).output();
        let _ = std::fs::remove_dir_all("/var/lib/baedal");
    }
}

fn owner(path: &str) -> (String, String, u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let name = |db: &str, id: u32| {
        ok(Command::new("getent").args([db, &id.to_string()]))
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    (
        name("passwd", meta.uid()),
        name("group", meta.gid()),
        meta.permissions().mode() & 0o7777,
    )
}

/// Runs the installed binary as the `baedal` user.
fn as_baedal(args: &[&str]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=baedal",
        "--regid=baedal",
        "--init-groups",
        "--reset-env",
        "/usr/bin/baedal",
    ])
    .args(args);
    cmd
}

#[test]
fn the_deb_installs_serves_mail_as_the_baedal_user_and_purges() {
    let uid = ok(Command::new("id").arg("-u"));
    assert_eq!(
        uid.trim(),
        "0",
        "the package test installs a .deb: run it as root (tests/run.sh)"
    );
    if installed() {
        eprintln!("purging a baedal package left by an earlier run");
        ok(Command::new("dpkg").args(["--purge", PACKAGE]));
    }
    let work = tempfile::tempdir().unwrap();
    let deb = build_deb(work.path());
    let fields = ok(Command::new("dpkg-deb").args(["-f"]).arg(&deb).args([
        "Package",
        "Version",
        "Maintainer",
        "Depends",
        "Description",
    ]));
    assert!(fields.contains("Package: baedal"), "{fields}");
    assert!(
        fields.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{fields}"
    );
    assert!(
        fields.contains("Depends: ") && fields.contains("adduser"),
        "{fields}"
    );
    assert!(fields.contains("Maintainer: "), "{fields}");

    let _purge = Purge;
    let install = ok(Command::new("dpkg").arg("-i").arg(&deb));
    eprintln!("{install}");
    assert!(installed());

    // Files, owners and modes.
    assert_eq!(
        owner("/usr/bin/baedal"),
        ("root".into(), "root".into(), 0o755)
    );
    assert_eq!(
        owner("/etc/baedal/baedal.toml"),
        ("root".into(), "baedal".into(), 0o640),
        "the configuration may hold secrets"
    );
    // Man pages and shell completions, as made from the CLI: `man baedal-user-add` works.
    for file in [
        "/usr/share/man/man1/baedal.1",
        "/usr/share/man/man1/baedal-user-add.1",
        "/usr/share/man/man1/baedal-status.1",
        "/usr/share/bash-completion/completions/baedal",
        "/usr/share/zsh/vendor-completions/_baedal",
        "/usr/share/fish/vendor_completions.d/baedal.fish",
    ] {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains("baedal"), "{file}");
    }
    let page = std::fs::read_to_string("/usr/share/man/man1/baedal-user-add.1").unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH"),
        "not a man page: {page}"
    );
    let conffiles = ok(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", PACKAGE]));
    assert!(conffiles.contains("/etc/baedal/baedal.toml"), "{conffiles}");
    for dir in ["/var/lib/baedal", "/var/log/baedal"] {
        assert_eq!(
            owner(dir),
            ("baedal".into(), "baedal".into(), 0o750),
            "{dir}"
        );
    }
    assert!(Path::new(UNIT).exists(), "{UNIT}");
    // `baedal migrate` ran at install, as the baedal user.
    assert_eq!(owner("/var/lib/baedal/baedal.db").0, "baedal");

    // A system user and group, no login shell.
    let user = ok(Command::new("getent").args(["passwd", "baedal"]));
    let fields: Vec<&str> = user.trim().split(':').collect();
    let uid: u32 = fields[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {user}");
    assert_eq!(fields[5], "/var/lib/baedal", "{user}");
    assert!(fields[6].ends_with("nologin"), "{user}");
    ok(Command::new("getent").args(["group", "baedal"]));

    // Nothing enabled or started on a first install.
    assert!(
        !Path::new("/etc/systemd/system/multi-user.target.wants/baedal.service").exists(),
        "enabled without being asked"
    );
    let running = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path().join("exe")).ok())
        .any(|exe| exe == Path::new("/usr/bin/baedal"));
    assert!(!running, "started without being asked");

    let version = ok(Command::new("/usr/bin/baedal").arg("--version"));
    assert_eq!(
        version.trim(),
        format!("baedal {}", env!("CARGO_PKG_VERSION"))
    );
    let check = ok(&mut as_baedal(&[
        "config",
        "check",
        "/etc/baedal/baedal.toml",
    ]));
    assert_eq!(check.trim(), "/etc/baedal/baedal.toml: OK");
    let shown = ok(&mut as_baedal(&[
        "--config",
        "/etc/baedal/baedal.toml",
        "config",
        "show",
    ]));
    for production in [
        "data_dir = \"/var/lib/baedal\"",
        "smtp = \"0.0.0.0:25\"",
        "submission = \"0.0.0.0:587\"",
        "imaps = \"0.0.0.0:993\"",
        "pop3s = \"0.0.0.0:995\"",
    ] {
        assert!(shown.contains(production), "{production} in:\n{shown}");
    }

    // The unit, as systemd reads it, next to the installed binary.
    let verify = run(Command::new("systemd-analyze").args(["verify", UNIT]));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(verify.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains("baedal.service"),
        "systemd-analyze verify complains: {said}"
    );

    serves_one_message_as_baedal(work.path());

    drop(_purge);
    assert!(!installed(), "purged");
    assert!(!Path::new("/usr/bin/baedal").exists());
    assert!(!Path::new("/etc/baedal").exists());
    assert!(!Path::new(UNIT).exists());
    assert!(
        !run(Command::new("getent").args(["passwd", "baedal"]))
            .status
            .success(),
        "user removed on purge"
    );
}

/// The installed binary, run as `baedal` with its own configuration on loopback ports,
/// takes one message over SMTP into a mailbox.
fn serves_one_message_as_baedal(work: &Path) {
    let site = work.join("site");
    std::fs::create_dir_all(&site).unwrap();
    ok(Command::new("chown").arg("baedal:baedal").arg(&site));
    std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = site.join("data");
    let config = site.join("baedal.toml");
    std::fs::write(
        &config,
        format!(
            "hostname = \"mx.test.example\"\ndata_dir = \"{}\"\n\n[listen]\nhttp = \"127.0.0.1:0\"\n\
             smtp = \"127.0.0.1:0\"\nsubmission = \"127.0.0.1:0\"\nsubmissions = \"127.0.0.1:0\"\n\
             pop3 = \"127.0.0.1:0\"\npop3s = \"127.0.0.1:0\"\nimap = \"127.0.0.1:0\"\nimaps = \"127.0.0.1:0\"\nadmin = \"127.0.0.1:0\"\n",
            data.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    ok(&mut as_baedal(&[
        "--config",
        config,
        "domain",
        "add",
        "example.org",
    ]));
    let mut add = as_baedal(&[
        "--config",
        config,
        "user",
        "add",
        "alice@example.org",
        "--no-password",
    ]);
    ok(&mut add);

    let server = Server::start(as_baedal(&["--config", config, "serve"]), &data);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let uid = ok(Command::new("id").args(["-u", "baedal"]));
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some(uid.trim())),
        "serve runs as baedal:\n{status}"
    );
    let reply = smtp::send(
        server.addr("smtp"),
        "sender@remote.test",
        &["alice@example.org"],
        b"From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: from the package\r\n\r\nhello\r\n",
        &[],
    );
    smtp::assert_reply(&reply["data"], 250, "2.0.0");
    assert_eq!(owner(data.join("baedal.db").to_str().unwrap()).0, "baedal");
    assert_eq!(server.stop(), 0);

    let list = ok(&mut as_baedal(&[
        "--config",
        config,
        "--json",
        "mailbox",
        "list",
        "alice@example.org",
    ]));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let inbox = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "INBOX")
        .expect("INBOX");
    assert_eq!(inbox["messages"], 1, "{list}");
}
