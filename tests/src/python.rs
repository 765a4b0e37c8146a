//! Python scripts as independent clients (poplib, imaplib, ...): the script gets the
//! server's addresses and CA file in its environment and prints JSON.

use std::process::Command;

use serde_json::Value;

/// Runs `script` with `python3 -c` and the environment `vars`; returns its JSON output.
pub fn run(script: &str, vars: &[(&str, String)]) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Runs the script file `script` with `args`, `input` on its stdin; returns its stdout and
/// fails the test if it fails.
pub fn pipe(script: &std::path::Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
