#!/bin/bash
# Login benchmark: N (500) concurrent IMAP logins of local users (bcrypt cost 12) over IMAPS.
#
#   bash bench/auth.sh                  # builds the release binary first
#   N=200 SKIP_BUILD=1 KEEP=1 bash bench/auth.sh
#
# N accounts bench.kr/u0..u(N-1) share one bcrypt hash (cost 12, made by `baedal user add`;
# the others are copied rows, so set-up takes seconds, not N × 0.25 s). Each burst opens N
# IMAPS connections, waits until all have their greeting, then sends N LOGINs at once; one
# login's latency runs from its LOGIN to its tagged reply (bench/auth_bench.py).
#   1. first burst: every account's first login ever (default mailboxes created); then
#      Baedal restarts, so nothing is cached;
#   2. cold: the credentials cache is empty, every login runs bcrypt on the blocking pool
#      (at most one check per core at a time);
#   3. warm: the same N logins again, within the cache TTL: no bcrypt.
# Targets: the site PRD's p95 < 2 s cold; ours p95 < 50 ms warm. A benchmark, not a test:
# it prints the figures. Loopback only; no DNS (resolver pointed at 127.0.0.1:9).
set -euo pipefail

N=${N:-500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=${BAEDAL:-$ROOT/target/release/baedal}
HELPER=$ROOT/bench/auth_bench.py

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release --bin baedal"
  (cd "$ROOT" && cargo build --release --bin baedal --quiet)
fi
[ -x "$BAEDAL" ] || { echo "no $BAEDAL: build it first" >&2; exit 1; }
ulimit -n $((N * 2 + 1024)) 2>/dev/null || true

T=$(mktemp -d /tmp/baedal-auth-bench.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/baedal.toml" <<CONF
hostname = "mail.bench.kr"
data_dir = "$T/data"
[listen]
http = "127.0.0.1:0"
admin = ""
smtp = ""
smtps = []
submission = ""
submissions = ""
pop3 = ""
pop3s = ""
imap = ""
imaps = "127.0.0.1:$PORT"
[dns]
nameservers = ["127.0.0.1:9"]
[imap]
auth_failure_delay_ms = 0
max_connections = $((N + 100))
max_connections_per_ip = $((N + 100))
[log]
level = "warn"
CONF
b() { "$BAEDAL" --config "$T/baedal.toml" "$@"; }

echo "== $N accounts (bcrypt cost 12)"
b domain add bench.kr >/dev/null
echo pw | b user add u0@bench.kr --password-stdin >/dev/null
python3 - "$T/data/baedal.db" "$N" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
hash_, domain_id = db.execute("SELECT password, domain_id FROM virtual_users WHERE email = 'u0@bench.kr'").fetchone()
assert hash_.startswith("$2b$12$"), hash_
db.executemany(
    "INSERT INTO virtual_users (email, password, domain_id, maildir_path) VALUES (?, ?, ?, ?)",
    [(f"u{i}@bench.kr", hash_, domain_id, f"bench.kr/u{i}/Maildir/") for i in range(1, n)])
db.commit()
PY

start() {
  # The binary itself in the background (not the b function), so $! is Baedal's PID.
  "$BAEDAL" --config "$T/baedal.toml" serve >>"$T/baedal.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0; sleep 0.05; done
  echo "baedal did not listen"; cat "$T/baedal.log"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
burst() { python3 "$HELPER" 127.0.0.1 "$PORT" "$T/data/tls/cert.pem" "$N" 'u%d@bench.kr' pw "$1" | tee -a "$T/results.jsonl"; }

start
echo "== first logins (mailboxes created)"; burst first
stop
start
echo "== cold (server restarted, cache empty)"; burst cold
echo "== warm (cached)"; burst warm
stop

python3 - "$T/results.jsonl" "$(nproc)" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"\n{rows[0]['n']} concurrent IMAPS logins, bcrypt cost 12, {sys.argv[2]} cores")
print(f"{'burst':<8}{'ok':>6}{'p50 s':>10}{'p95 s':>10}{'p99 s':>10}{'max s':>10}{'wall s':>10}")
for r in rows:
    print(f"{r['label']:<8}{r['ok']:>6}{r['p50']:>10}{r['p95']:>10}{r['p99']:>10}{r['max']:>10}{r['wall']:>10}")
cold = next(r for r in rows if r["label"] == "cold"); warm = next(r for r in rows if r["label"] == "warm")
print(f"PRD target p95 < 2 s cold: {'met' if cold['p95'] < 2 else 'missed'} ({cold['p95']} s); "
      f"our target p95 < 50 ms warm: {'met' if warm['p95'] < 0.05 else 'missed'} ({warm['p95'] * 1000:.1f} ms)")
PY
