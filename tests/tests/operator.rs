//! What an operator in a shell meets: `baedal status` against a running, a killed and a
//! never-started server (message and exit code), and the shell completions (each script
//! loaded by its own shell: bash, zsh, fish where installed by tests/peers/install.sh).

use std::process::Command;

use baedal_tests::{Profile, Site, baedal_bin};

#[test]
fn status_tells_a_running_server_from_a_stopped_one() {
    let site = Site::new(Profile::Sqlite);
    // Never started: one line saying what to do, exit 1.
    site.cli(&["status"])
        .fails(1, "start it with `baedal serve`");

    let server = site.serve();
    let text = site.cli(&["status"]).ok().to_string();
    assert!(text.contains(": ready (up "), "{text}");
    assert!(text.contains("listener smtp"), "{text}");
    assert!(text.contains("database            ok ("), "{text}");
    assert!(text.contains("queue               0 waiting"), "{text}");
    assert!(
        text.contains("last LDAP sync      none since start"),
        "{text}"
    );

    let json = site.cli(&["--json", "status"]).json();
    assert_eq!(json["ready"], true, "{json}");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["database"]["ok"], true, "{json}");
    assert_eq!(json["blob_store"]["ok"], true, "{json}");
    assert_eq!(json["queue"]["waiting"], 0, "{json}");
    let smtp = json["listeners"]["smtp"][0].as_str().unwrap();
    assert_eq!(smtp, server.addr("smtp").to_string(), "{json}");
    assert!(json["uptime_seconds"].as_i64().unwrap() >= 0);

    // Killed (no clean shutdown, so its listeners file stays): no answer, exit 1.
    server.kill();
    site.cli(&["status"])
        .fails(1, "no answer from the server at");
    let out = site.cli(&["--json", "status"]);
    out.fails(1, "no answer");
}

#[test]
fn completions_load_in_their_shells() {
    for (shell, check) in [
        ("bash", "source /dev/stdin && complete -p baedal"),
        (
            "zsh",
            "autoload -U compinit && compinit -u && source /dev/stdin && echo ok",
        ),
        ("fish", "source && complete -c baedal | head -1"),
    ] {
        let script = Command::new(baedal_bin())
            .args(["completions", shell])
            .output()
            .expect("baedal completions");
        assert!(script.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&script.stdout).contains("user"),
            "{shell}: no subcommands in the script"
        );
        let Ok(path) = which(shell) else {
            panic!("{shell} is not installed (tests/peers/install.sh installs it)");
        };
        let mut run = Command::new(path)
            .args(["-c", check])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("shell");
        use std::io::Write;
        run.stdin.take().unwrap().write_all(&script.stdout).unwrap();
        let out = run.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !said.trim().is_empty(),
            "{shell} did not load the completions: {said}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // An unknown shell is refused by clap with exit 2.
    let out = Command::new(baedal_bin())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or(())
}
