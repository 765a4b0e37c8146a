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
