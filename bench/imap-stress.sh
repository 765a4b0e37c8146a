#!/bin/bash
# IMAP stress benchmark: tests/clients/imap_stress.py against Baedal (embedded and production
# profiles) and against Dovecot 2.3, on this machine, one after the other, in one run.
#
#   bash bench/imap-stress.sh                     # as root on Debian 12 (installs what it needs)
#   DURATION=120 SKIP_BUILD=1 BAEDAL=target/debug/baedal bash bench/imap-stress.sh
#   PROFILES=embedded ONLY=baedal DURATION=60 bash bench/imap-stress.sh
#
# What it measures (a benchmark: it prints figures and the errors the checker found; it exits 0
# whatever they are): CLIENTS (20) IMAPS sessions over USERS (100) users, 2-4 sessions on one
# user at a time (sessions move to other users every ~30 s), each doing random SELECT, FETCH,
# STORE, EXPUNGE, APPEND, COPY, MOVE (and UID forms), IDLE, NOOP, SEARCH, CHECK for DURATION
# (600) seconds, every response checked against the state a client may hold and the truth
# across sessions (see the docstring of imap_stress.py); then one fresh session per user
# checks every mailbox. Per system: commands, commands/s, state errors by kind, tolerated NOs,
# the load average (mean of the 1-minute figure sampled every 10 s, and at the end) and the
# server's CPU seconds.
#   1. Baedal, embedded profile: SQLite + Maildir files in the data dir.
#   2. Baedal, production profile: PostgreSQL 15 (a throwaway cluster, fsync on unless
#      PG_FSYNC=off) + S3 (s3s-fs), both on this machine, started before and stopped after,
#      as bench/smtp-inbound.sh does. PROFILES may also name "postgres": PostgreSQL index with
#      local Maildir files (no s3s-fs needed).
#   3. Dovecot 2.3 (Debian dovecot-imapd), IMAPS, passwd-file users, DOVECOT_STORAGE=sdbox
#      (default; "maildir" for Maildir files like Baedal's: under this load Dovecot's Maildir
#      uidlist races make messages vanish and come back under new UIDs - its log says
#      "Duplicate file entry" / "Expunged message reappeared" - which the checker reports).
# All systems get the same EC P-256 certificate, bcrypt cost-12 passwords (Dovecot:
# BLF-CRYPT), the same seed, loopback only. Nothing here does DNS.
#
# Environment: DURATION (600), USERS (100), CLIENTS (20), SEED (1), PROFILES ("embedded
# production"; any of embedded, production, postgres, in that order), ONLY=baedal|dovecot,
# DOVECOT_STORAGE (sdbox|mdbox|maildir), PG_FSYNC (on|off), PGBIN (/usr/lib/postgresql/15/bin),
# S3S_FS (/opt/s3s-fs/bin/s3s-fs, installed with cargo install when missing), BAEDAL (binary,
# target/release/baedal), SKIP_BUILD=1 (use the existing binary), KEEP=1 (keep the temp dir:
# logs, the tester's output, JSON report and its --trace of every session if TRACE=1).
set -euo pipefail

DURATION=${DURATION:-600}
USERS=${USERS:-100}
CLIENTS=${CLIENTS:-20}
SEED=${SEED:-1}
PROFILES=${PROFILES:-embedded production}
ONLY=${ONLY:-}
DOVECOT_STORAGE=${DOVECOT_STORAGE:-sdbox}
PG_FSYNC=${PG_FSYNC:-on}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
S3S_FS=${S3S_FS:-/opt/s3s-fs/bin/s3s-fs}
TRACE=${TRACE:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=${BAEDAL:-$ROOT/target/release/baedal}
TESTER=$ROOT/tests/clients/imap_stress.py

case "$ONLY" in ""|baedal|dovecot) ;; *) echo "ONLY=baedal|dovecot" >&2; exit 2 ;; esac
for p in $PROFILES; do
  case "$p" in embedded|production|postgres) ;; *) echo "PROFILES: embedded, production, postgres; not $p" >&2; exit 2 ;; esac
done
case "$DOVECOT_STORAGE" in sdbox|mdbox|maildir) ;; *) echo "DOVECOT_STORAGE=sdbox|mdbox|maildir" >&2; exit 2 ;; esac
case "$PG_FSYNC" in on|off) ;; *) echo "PG_FSYNC=on|off" >&2; exit 2 ;; esac
[ "$ONLY" = dovecot ] && PROFILES=
[ "$ONLY" = baedal ] && RUN_DOVECOT= || RUN_DOVECOT=1
NEED_PG=; [[ " $PROFILES " == *" production "* || " $PROFILES " == *" postgres "* ]] && NEED_PG=1
NEED_S3=; [[ " $PROFILES " == *" production "* ]] && NEED_S3=1

[ "$(id -u)" = 0 ] || { echo "run as root (dovecot and postgresql need it)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Install what is missing. policy-rc.d (exit 101) keeps apt from starting any daemon.
need=()
if [ -n "$RUN_DOVECOT" ]; then
  command -v dovecot >/dev/null || need+=(dovecot-core)
  [ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
fi
if [ -n "$NEED_PG" ]; then
  [ -x "$PGBIN/postgres" ] || need+=(postgresql-15)
  command -v psql >/dev/null || need+=(postgresql-client-15)
fi
command -v python3 >/dev/null || need+=(python3)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ -n "$NEED_S3" ] && [ ! -x "$S3S_FS" ]; then
  # the standalone s3s-fs server (the tests run the same crate in-process); ~3 min to build
  echo "== cargo install s3s-fs@0.14.1 --features binary --locked --root /opt/s3s-fs"
  cargo install s3s-fs@0.14.1 --features binary --locked --root /opt/s3s-fs --quiet
  S3S_FS=/opt/s3s-fs/bin/s3s-fs
fi

if [ -n "$PROFILES" ] && [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release --bin baedal"
  (cd "$ROOT" && cargo build --release --bin baedal --quiet)
fi
[ -z "$PROFILES" ] || [ -x "$BAEDAL" ] || { echo "no $BAEDAL: build it first" >&2; exit 1; }
python3 "$TESTER" --selftest >/dev/null || { echo "imap_stress.py --selftest fails: fix the checker first" >&2; exit 1; }

# Descriptors: CLIENTS sessions on both ends, Dovecot's per-process pipes.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------------------------------------
T=$(mktemp -d /tmp/baedal-imapstress.XXXXXX); chmod 755 "$T"   # dovecot's users traverse it
BAEDAL_PID=; DOVECOT_PID=; S3_PID=; PG_DIR=; SAMPLER_PID=
cleanup() {
  set +e
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  [ -n "$BAEDAL_PID" ] && kill -TERM "$BAEDAL_PID" 2>/dev/null && wait "$BAEDAL_PID" 2>/dev/null
  [ -n "$S3_PID" ] && kill -TERM "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
  [ -n "$PG_DIR" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
  [ -n "$DOVECOT_PID" ] && kill -TERM "$DOVECOT_PID" 2>/dev/null && wait "$DOVECOT_PID" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
# CPU seconds of a process and its reaped children (utime stime cutime cstime, in ticks)
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
# sample the 1-minute load average every 10 s into FILE until killed
start_sampler() { ( while :; do cut -d' ' -f1 /proc/loadavg >>"$1"; sleep 10; done ) & SAMPLER_PID=$!; }
stop_sampler() { kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=; }
mean_of() { awk '{ s += $1; n++ } END { if (n) printf "%.2f", s / n; else print "-" }' "$1"; }

# run_tester DIR PORT: the stress run against 127.0.0.1:PORT (IMAPS); JSON to DIR/stress.json
run_tester() {
  local dir=$1 port=$2 trace=()
  [ "$TRACE" = 1 ] && trace=(--trace "$dir/stress.trace")
  : >"$dir/load.txt"
  start_sampler "$dir/load.txt"
  python3 "$TESTER" --host 127.0.0.1 --port "$port" --tls --cafile "$T/cert.pem" \
    --user-pattern 'stress{i}@example.org' --users-count "$USERS" --password pw \
    --clients "$CLIENTS" --duration "$DURATION" --seed "$SEED" --json "$dir/stress.json" \
    "${trace[@]}" >"$dir/stress.out" 2>&1 || true
  stop_sampler
  cut -d' ' -f1 /proc/loadavg >"$dir/load-end.txt"
  mean_of "$dir/load.txt" >"$dir/load-mean.txt"
  # the summary, without the error samples
  sed -n '1,/^--- error 1:/p' "$dir/stress.out" | grep -v '^--- error 1:' | sed 's/^/   /'
  grep -q '^result:' "$dir/stress.out" || { echo "   (the tester did not finish: tail of its output)"; tail -20 "$dir/stress.out"; }
}

rev=$(git -C "$ROOT" log -1 --format=%h 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -uno 2>/dev/null | wc -l)
echo "== Baedal $rev$([ "$dirty" = 0 ] || echo " + $dirty uncommitted files")$([ -n "$RUN_DOVECOT" ] && echo ", $(dovecot --version 2>/dev/null | cut -d' ' -f1) ($DOVECOT_STORAGE)")"
echo "== $CLIENTS clients, $USERS users, ${DURATION} s each, seed $SEED; temp dir $T ($(df -T "$T" | awk 'NR==2{print $2}'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
# One certificate for every server, so the TLS work is the same.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null

# ---------------------------------------------------------------------------------------------
# Production peers: PostgreSQL 15 and s3s-fs, loopback only, under the temp dir (as in
# bench/smtp-inbound.sh).
PG_PW=baedal-bench; S3_KEY=baedalbench; S3_SECRET=baedal-bench-secret
start_pg() {
  local d=$T/pg sync
  PGPORT=$(free_port)
  # PostgreSQL runs as the postgres user, who must traverse / to reach its binaries
  if [ $(( 0$(stat -c %a /) & 01 )) = 0 ]; then
    echo "imap-stress.sh: / is not traversable by other users (mode $(stat -c %a /)); adding o+x" >&2
    chmod o+x /
  fi
  rm -rf "$d"; mkdir -p "$d"; chown postgres: "$d"
  echo "$PG_PW" >"$d/pw"; chmod 600 "$d/pw"; chown postgres: "$d/pw"
  runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -U postgres --pwfile="$d/pw" -A scram-sha-256 \
      --auth-local=trust -E UTF8 --locale=C.UTF-8 -N >"$d/initdb.log"
  if [ "$PG_FSYNC" = on ]; then sync="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  else sync="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
  PG_DIR=$d
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
      -o "-p $PGPORT -k $d -c listen_addresses=127.0.0.1 $sync -c max_connections=200" \
      start >/dev/null || { cat "$d/server.log"; return 1; }
  PGPASSWORD=$PG_PW psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE baedal" >/dev/null
  PG_URL=postgres://postgres:$PG_PW@127.0.0.1:$PGPORT/baedal
}
stop_pg() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; PG_DIR=
}
start_s3() {
  S3ROOT=$T/s3/root; rm -rf "$T/s3"; mkdir -p "$S3ROOT/mailboxes"   # the bucket: a directory
  S3PORT=$(free_port)
  RUST_LOG=warn "$S3S_FS" --host 127.0.0.1 --port "$S3PORT" --access-key "$S3_KEY" \
      --secret-key "$S3_SECRET" "$S3ROOT" >"$T/s3/s3s-fs.log" 2>&1 &
  S3_PID=$!
  wait_port "$S3PORT" || { echo "s3s-fs did not listen"; cat "$T/s3/s3s-fs.log"; return 1; }
}
stop_s3() { kill -TERM "$S3_PID"; wait "$S3_PID" || true; S3_PID=; }

# ---------------------------------------------------------------------------------------------
# Baedal, one profile: run_baedal embedded|production|postgres
declare -A CPU STORE_OF NOTE
run_baedal() {
  local prof=$1 B=$T/baedal-$1 port cpu0 i
  mkdir -p "$B"
  cat >"$B/baedal.toml" <<CONF
hostname = "mx.bench.example"
data_dir = "$B/data"
[listen]
http = "127.0.0.1:0"
admin = ""
smtp = "127.0.0.1:0"
smtps = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
pop3s = "127.0.0.1:0"
imap = "127.0.0.1:0"
imaps = "127.0.0.1:0"
[tls]
cert = "$T/cert.pem"
key = "$T/key.pem"
[imap]
max_connections_per_ip = $((CLIENTS * 2 + 100))
[verify]
enabled = false
[dns]
nameservers = ["127.0.0.1:9"]
[log]
level = "warn"
CONF
  case $prof in
    embedded) STORE_OF[$prof]="SQLite + Maildir files" ;;
    postgres)
      echo "== Baedal $prof: starting PostgreSQL (fsync=$PG_FSYNC)"
      start_pg
      printf '[database]\nurl = "%s"\n' "$PG_URL" >>"$B/baedal.toml"
      STORE_OF[$prof]="PostgreSQL + Maildir files" ;;
    production)
      echo "== Baedal $prof: starting PostgreSQL (fsync=$PG_FSYNC) and s3s-fs"
      start_pg; start_s3
      cat >>"$B/baedal.toml" <<CONF
[database]
url = "$PG_URL"
[storage]
backend = "s3"
[storage.s3]
endpoint = "http://127.0.0.1:$S3PORT"
region = "kr-central-1"
bucket = "mailboxes"
access_key = "$S3_KEY"
secret_key = "$S3_SECRET"
CONF
      STORE_OF[$prof]="PostgreSQL + S3 (s3s-fs)" ;;
  esac
  "$BAEDAL" --config "$B/baedal.toml" serve >"$B/baedal.log" 2>&1 &
  BAEDAL_PID=$!
  for _ in $(seq 1 600); do [ -s "$B/data/run/listeners.json" ] && break; sleep 0.05; done
  port=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["imaps"][0].rsplit(":", 1)[1])' \
    "$B/data/run/listeners.json") || { echo "baedal did not start"; cat "$B/baedal.log"; exit 1; }
  wait_port "$port" || { echo "baedal did not listen"; cat "$B/baedal.log"; exit 1; }
  echo "== Baedal $prof: adding $USERS users"
  "$BAEDAL" --config "$B/baedal.toml" domain add example.org >/dev/null
  for i in $(seq 1 "$USERS"); do
    printf 'pw\n' | "$BAEDAL" --config "$B/baedal.toml" user add "stress$i@example.org" --password-stdin --quota 0 >/dev/null
  done
  echo "== Baedal $prof: $CLIENTS clients for $DURATION s"
  cpu0=$(cpu_secs "$BAEDAL_PID")
  run_tester "$B" "$port"
  CPU[$prof]=$(awk "BEGIN { printf \"%.1f\", $(cpu_secs "$BAEDAL_PID") - $cpu0 }")
  kill -TERM "$BAEDAL_PID"; wait "$BAEDAL_PID" || true; BAEDAL_PID=
  local warns; warns=$(grep -cE ' (WARN|ERROR) ' "$B/baedal.log" || true)
  if [ "$warns" != 0 ]; then
    NOTE[$prof]="baedal.log: $warns warning/error lines; commonest:"$'\n'"$(grep -E ' (WARN|ERROR) ' "$B/baedal.log" |
      sed -E 's/^[^ ]+ +//; s/session=[0-9a-f]+/session=S/; s/peer=[0-9.:]+/peer=P/; s/[0-9]+/N/g' |
      sort | uniq -c | sort -rn | head -3 | cut -c1-220)"
  fi
  [ -n "$S3_PID" ] && stop_s3
  [ -n "$PG_DIR" ] && stop_pg
  return 0
}

for prof in $PROFILES; do run_baedal "$prof"; done

# ---------------------------------------------------------------------------------------------
# Dovecot 2.3: IMAPS, passwd-file users with a bcrypt cost-12 password (BLF-CRYPT, Baedal's
# scheme and cost), everything else Dovecot's defaults but the process limits CLIENTS needs.
D=$T/dovecot
if [ -n "$RUN_DOVECOT" ]; then
  mkdir -p "$D/run" "$D/mail"; chown nobody:nogroup "$D/mail"
  DPORT=$(free_port)
  hash=$(doveadm pw -s BLF-CRYPT -r 12 -p pw)
  for i in $(seq 1 "$USERS"); do echo "stress$i@example.org:$hash::::::"; done >"$D/users"; chmod 644 "$D/users"
  case $DOVECOT_STORAGE in
    sdbox) location="sdbox:~/sdbox" ;;
    mdbox) location="mdbox:~/mdbox" ;;
    maildir) location="maildir:~/Maildir" ;;
  esac
  cat >"$D/dovecot.conf" <<CONF
# self-contained: nothing from /etc/dovecot is read; everything else is Dovecot's default
instance_name = imapstress-$(basename "$T")
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
listen = 127.0.0.1
protocols = imap
mail_location = $location
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
ssl = yes
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_process_limit = $((CLIENTS * 2 + 100))
passdb {
  driver = passwd-file
  args = scheme=BLF-CRYPT username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
  default_fields = home=$D/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $DPORT
    ssl = yes
  }
}
protocol imap {
  mail_max_userip_connections = $((CLIENTS + 50))
}
CONF
  dovecot -c "$D/dovecot.conf" -n >/dev/null
  dovecot -c "$D/dovecot.conf" -F >"$D/stdout.log" 2>&1 &
  DOVECOT_PID=$!
  wait_port "$DPORT" || { echo "dovecot did not listen"; cat "$D/stdout.log" "$D/dovecot.log"; exit 1; }
  echo "== Dovecot ($DOVECOT_STORAGE): $CLIENTS clients for $DURATION s"
  cpu0=$(cpu_secs "$DOVECOT_PID")
  run_tester "$D" "$DPORT"
  sleep 2   # let the master reap the last imap processes, so their CPU is counted
  CPU[dovecot]=$(awk "BEGIN { printf \"%.1f\", $(cpu_secs "$DOVECOT_PID") - $cpu0 }")
  kill -TERM "$DOVECOT_PID"; wait "$DOVECOT_PID" || true; DOVECOT_PID=
  warns=$(grep -E '(Warning|Error|Fatal|Panic):' "$D/dovecot.log" | grep -vc 'Killed with signal 15' || true)
  if [ "$warns" != 0 ]; then
    NOTE[dovecot]="dovecot.log: $warns warning/error lines; commonest:"$'\n'"$(grep -E '(Warning|Error|Fatal|Panic):' "$D/dovecot.log" | grep -v 'Killed with signal 15' |
      sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} //; s/<[^>]*>//g; s/\([^)]*\)//g; s/[0-9]+/N/g' |
      sort | uniq -c | sort -rn | head -3 | cut -c1-220)"
  fi
  STORE_OF[dovecot]="Dovecot $DOVECOT_STORAGE"
fi

# ---------------------------------------------------------------------------------------------
echo
echo "IMAP stress, $CLIENTS clients over $USERS users, ${DURATION} s each (seed $SEED); errors are state errors found by imap_stress.py"
systems=()
for prof in $PROFILES; do systems+=("baedal-$prof"); done
[ -n "$RUN_DOVECOT" ] && systems+=(dovecot)
args=()
for s in "${systems[@]}"; do
  key=${s#baedal-}
  label=$([ "$s" = dovecot ] && echo "Dovecot 2.3" || echo "Baedal $key")
  args+=("$label|${STORE_OF[$key]}|$T/$s|${CPU[$key]:-}")
done
python3 - "${args[@]}" <<'PY'
import json, sys


def read(path, default="-"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


rows = []
for arg in sys.argv[1:]:
    label, store, d, cpu = arg.split("|")
    try:
        r = json.loads(read(d + "/stress.json", ""))
    except ValueError:
        r = {}
    rows.append((label, store, r, read(d + "/load-mean.txt"), read(d + "/load-end.txt"), cpu or "-"))
print("%-20s %-27s %9s %8s %7s %6s %11s %8s %7s" % (
    "system", "store", "commands", "cmd/s", "errors", "NO ok", "load mean", "at end", "CPU s"))
for label, store, r, lm, le, cpu in rows:
    print("%-20s %-27s %9s %8s %7s %6s %11s %8s %7s" % (
        label, store, r.get("commands", "-"), r.get("commands_per_second", "-"), r.get("errors", "-"),
        r.get("tolerated_no", "-"), lm, le, cpu))
for label, store, r, lm, le, cpu in rows:
    if not r:
        print("%s: no report (the tester did not finish)" % label)
        continue
    kinds = ", ".join("%s %d" % kv for kv in sorted(r["errors_by_kind"].items(), key=lambda kv: -kv[1]))
    print("%s: %s%s" % (label, "OK" if r["ok"] else "FAILED", ": " + kinds if kinds else ""))
    if r.get("missing_kinds"):
        print("   never exercised: %s" % ", ".join(r["missing_kinds"]))
PY
for key in $PROFILES dovecot; do
  [ -n "${NOTE[$key]:-}" ] && echo "${key}: ${NOTE[$key]}"
done
echo "(load mean: the 1-minute load average sampled every 10 s during the run; CPU s: the server"
echo " process, for Dovecot its master with its reaped children; PostgreSQL and s3s-fs not counted)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
