#!/bin/bash
# IMAP benchmark: Baedal against Dovecot 2.3 (Debian dovecot-imapd), on this machine, in one run.
#
#   bash bench/imap.sh                    # as root on Debian 12 (installs what it needs with apt)
#   N=2000 IDLE_N=200 SKIP_BUILD=1 bash bench/imap.sh
#
# What it measures (a benchmark, not a test: it prints figures; it only notes anomalies):
#   1. Header sync, Thunderbird style, over IMAPS on an INBOX of N (10,000) messages of 4-10 KB:
#      connect+TLS, LOGIN, SELECT INBOX, UID FETCH 1:* (UID RFC822.SIZE FLAGS
#      BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority
#      References Newsgroups In-Reply-To Content-Type Reply-To)]). Median of RUNS (3), each on a
#      new connection; the FETCH alone is shown too.
#   2. NFULL (50) full messages spread over the mailbox, on an already selected session: one
#      "UID FETCH u1,u2,...,u50 (BODY.PEEK[])", and 50 "UID FETCH u (BODY.PEEK[])" one after the
#      other. Median of RUNS.
#   3. IDLE_N (1,000) sessions over IMAPS, each LOGIN, SELECT INBOX (the N-message one), IDLE:
#      server RSS before and with them (Baedal: its one process; Dovecot: master + all children,
#      summed RSS, and PSS, which splits shared pages fairly), server CPU over 10 s while they
#      sit idle, and the time until one new delivery has reached all IDLE sessions as EXISTS.
#      Sessions that fail to open, or that the server closes, are counted and shown.
# Both servers get the same generated messages (fixed seed): Baedal over its SMTP listener
# (LOAD_CONC parallel sessions; Baedal stores before it answers 250), Dovecot over LMTP. They
# run one after the other, never at the same time, on the same disk and with the same EC P-256
# certificate. Dovecot keeps its defaults (high-security login processes: one imap-login and one
# imap process per session), with limits raised so IDLE_N sessions fit.
#
# Environment: N, RUNS, NFULL, IDLE_N, IDLE_PARALLEL (sessions set up at once, 20),
# IDLE_MAILBOX (INBOX; another name is created empty, to measure sessions without the N-message
# snapshot; no wake-up test then), IDLE_SETUP_TIMEOUT (900 s: stop opening sessions and measure
# those open; Baedal ends an IDLE after 30 min), LOAD_CONC (8), SEED, SKIP_BUILD=1 (use the
# existing binary), BAEDAL (binary path), KEEP=1 (keep the temp dir with logs and JSON),
# ONLY=baedal|dovecot (run one side).
# Nothing here does DNS: every address is an IP literal and Baedal's resolver points at
# 127.0.0.1:9 (nothing listens there).
set -euo pipefail

N=${N:-10000}
RUNS=${RUNS:-3}
NFULL=${NFULL:-50}
IDLE_N=${IDLE_N:-1000}
IDLE_PARALLEL=${IDLE_PARALLEL:-20}
IDLE_MAILBOX=${IDLE_MAILBOX:-INBOX}
IDLE_SETUP_TIMEOUT=${IDLE_SETUP_TIMEOUT:-900}
LOAD_CONC=${LOAD_CONC:-8}
SEED=${SEED:-20261121}
ONLY=${ONLY:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=${BAEDAL:-$ROOT/target/release/baedal}
HELPER=$ROOT/bench/imap_bench.py

[ "$(id -u)" = 0 ] || { echo "run as root (dovecot needs it)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Install what is missing. policy-rc.d (exit 101) keeps apt from starting any daemon.
need=()
command -v dovecot >/dev/null || need+=(dovecot-core)
[ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
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

if [ "${SKIP_BUILD:-0}" != 1 ] && [ "$ONLY" != dovecot ]; then
  echo "== cargo build --release --bin baedal"
  (cd "$ROOT" && cargo build --release --bin baedal --quiet)
fi
[ "$ONLY" = dovecot ] || [ -x "$BAEDAL" ] || { echo "no $BAEDAL: build it first" >&2; exit 1; }

# Descriptors: IDLE_N sessions on both ends, plus Dovecot's per-process pipes.
want_fd=$((IDLE_N * 4 + 4096))
ulimit -n "$want_fd" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((IDLE_N * 2 + 256)) ] || echo "warning: ulimit -n is $(ulimit -n), too low for IDLE_N=$IDLE_N" >&2

# ---------------------------------------------------------------------------------------------
T=$(mktemp -d /tmp/baedal-imapbench.XXXXXX); chmod 755 "$T"   # dovecot's users traverse it
BAEDAL_PID=; DOVECOT_PID=; INOTIFY_OLD=
cleanup() {
  set +e
  [ -n "$BAEDAL_PID" ] && kill -TERM "$BAEDAL_PID" 2>/dev/null && wait "$BAEDAL_PID" 2>/dev/null
  [ -n "$DOVECOT_PID" ] && kill -TERM "$DOVECOT_PID" 2>/dev/null && wait "$DOVECOT_PID" 2>/dev/null
  [ -n "$INOTIFY_OLD" ] && echo "$INOTIFY_OLD" >/proc/sys/fs/inotify/max_user_instances
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port below the ephemeral range (32768+), so no outgoing connection takes it between
# this check and the server's bind; never one handed out before in this run.
USED_PORTS=" "
free_port() {   # free_port VAR: sets VAR
  local p
  while :; do
    p=$(python3 -c 'import random, socket
s = socket.socket(); p = random.randint(20000, 32000); s.bind(("127.0.0.1", p)); print(p)' 2>/dev/null) || continue
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    USED_PORTS="$USED_PORTS$p "; printf -v "$1" %s "$p"; return
  done
}
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
helper() { python3 "$HELPER" "$@"; }
# log_summary FILE REGEX SED: how many lines match (our own SIGTERM aside), the 5 commonest kinds
log_summary() {
  local n; n=$(grep -E "$2" "$1" | grep -vc "Killed with signal 15" || true)
  echo "   $(basename "$1"): $n warning/error lines"
  [ "$n" = 0 ] || grep -E "$2" "$1" | grep -v "Killed with signal 15" | sed -E "$3" | sort | uniq -c | sort -rn | head -5 | cut -c1-240
}

rev=$(git -C "$ROOT" log -1 --format=%h 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -uno 2>/dev/null | wc -l)
echo "== Baedal $rev$([ "$dirty" = 0 ] || echo " + $dirty uncommitted files"), $(dovecot --version 2>/dev/null | cut -d' ' -f1)"
echo "== $N messages, $RUNS runs, $NFULL full bodies, $IDLE_N IDLE sessions in $IDLE_MAILBOX; temp dir $T ($(df -T "$T" | awk 'NR==2{print $2}'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "== generating the messages (seed $SEED)"
helper gen "$T/msgs" "$N" "$SEED" | tee "$T/gen.json"
# One certificate for both servers, so the TLS work is the same.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null

# IDLE_N Dovecot imap processes each want an inotify instance, two while they sync a new
# message (default limit: 128 per user); beyond it Dovecot falls back to polling every 30 s.
# Raise it for the run, restore it after.
cur=$(cat /proc/sys/fs/inotify/max_user_instances)
if [ "$ONLY" != baedal ] && [ "$cur" -lt $((IDLE_N * 2 + 512)) ]; then
  if echo $((IDLE_N * 2 + 512)) >/proc/sys/fs/inotify/max_user_instances 2>/dev/null; then
    INOTIFY_OLD=$cur
  else
    echo "warning: cannot raise fs.inotify.max_user_instances ($cur); Dovecot's IDLE will poll" >&2
  fi
fi

# ---------------------------------------------------------------------------------------------
# Baedal
B=$T/baedal; mkdir -p "$B"
if [ "$ONLY" != dovecot ]; then
  free_port SPORT; free_port IPORT; free_port ISPORT
  cat >"$B/baedal.toml" <<CONF
hostname = "mx.bench.example"
data_dir = "$B/data"
[listen]
http = "127.0.0.1:0"
admin = ""
smtp = "127.0.0.1:$SPORT"
imap = "127.0.0.1:$IPORT"
imaps = "127.0.0.1:$ISPORT"
pop3 = ""
pop3s = ""
smtps = []
[tls]
cert = "$T/cert.pem"
key = "$T/key.pem"
[smtp]
max_connections_per_ip = 100
[imap]
max_connections = $((IDLE_N + 1000))
max_connections_per_ip = $((IDLE_N + 1000))
auth_failure_delay_ms = 100
[dns]
nameservers = ["127.0.0.1:9"]
[log]
level = "warn"
CONF
  "$BAEDAL" --config "$B/baedal.toml" serve >"$B/baedal.log" 2>&1 &
  BAEDAL_PID=$!
  for _ in $(seq 1 200); do [ -s "$B/data/run/listeners.json" ] && break; sleep 0.05; done
  wait_port "$ISPORT" || { echo "baedal did not listen"; cat "$B/baedal.log"; exit 1; }
  "$BAEDAL" --config "$B/baedal.toml" domain add example.org >/dev/null
  printf 'pw\n' | "$BAEDAL" --config "$B/baedal.toml" user add bench@example.org --password-stdin --quota 0 >/dev/null

  echo "== Baedal: delivering $N messages over SMTP ($LOAD_CONC sessions)"
  helper deliver smtp 127.0.0.1 "$SPORT" bench@example.org "$T/msgs" "$LOAD_CONC" | tee "$B/load.json"
  echo "== Baedal: header sync and full fetches over IMAPS"
  helper sync 127.0.0.1 "$ISPORT" bench@example.org pw "$T/msgs" "$RUNS" "$NFULL" >"$B/sync.json"
  echo "== Baedal: $IDLE_N sessions in IDLE"
  helper idle 127.0.0.1 "$ISPORT" bench@example.org pw "$IDLE_N" --pid "$BAEDAL_PID" \
    --mailbox "$IDLE_MAILBOX" --setup-timeout "$IDLE_SETUP_TIMEOUT" --parallel "$IDLE_PARALLEL" \
    --wake-proto smtp --wake-port "$SPORT" --wake-msg "$T/msgs/00001.eml" \
    >"$B/idle.json" || echo "   (IDLE run failed)"
  kill -TERM "$BAEDAL_PID"; wait "$BAEDAL_PID" || true; BAEDAL_PID=
  log_summary "$B/baedal.log" ' (WARN|ERROR) ' 's/^[^ ]+ +//; s/[0-9]+\.[0-9]+/N/g'
fi

# ---------------------------------------------------------------------------------------------
# Dovecot 2.3: IMAP (IMAPS listener) + LMTP, passwd-file user with a bcrypt cost-12 password
# (BLF-CRYPT, the same scheme and cost as Baedal's, so LOGIN costs the same CPU on both)
D=$T/dovecot; mkdir -p "$D/run" "$D/mail"; chown nobody:nogroup "$D/mail"
if [ "$ONLY" != baedal ]; then
  free_port DIPORT; free_port DISPORT; free_port LPORT
  echo "bench@example.org:$(doveadm pw -s BLF-CRYPT -r 12 -p pw)::::::" >"$D/users"; chmod 644 "$D/users"
  cat >"$D/dovecot.conf" <<CONF
# self-contained: nothing from /etc/dovecot is read; everything else is Dovecot's default
instance_name = imapbench-$(basename "$T")
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
ssl = yes
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
# room for IDLE_N sessions: an imap-login and an imap process each (defaults: 100 and 1024)
default_process_limit = $((IDLE_N + 200))
default_client_limit = $((IDLE_N * 4 + 1000))
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
    port = $DIPORT
  }
  inet_listener imaps {
    port = $DISPORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = $LPORT
  }
}
protocol imap {
  mail_max_userip_connections = $((IDLE_N + 100))
}
protocol lmtp {
  auth_username_format = %Lu
}
CONF
  dovecot -c "$D/dovecot.conf" -n >/dev/null
  dovecot -c "$D/dovecot.conf" -F >"$D/stdout.log" 2>&1 &
  DOVECOT_PID=$!
  wait_port "$DISPORT" || { echo "dovecot did not listen"; cat "$D/stdout.log" "$D/dovecot.log"; exit 1; }
  wait_port "$LPORT" || { echo "dovecot lmtp did not listen"; cat "$D/dovecot.log"; exit 1; }

  echo "== Dovecot: delivering $N messages over LMTP ($LOAD_CONC sessions)"
  helper deliver lmtp 127.0.0.1 "$LPORT" bench@example.org "$T/msgs" "$LOAD_CONC" | tee "$D/load.json"
  echo "== Dovecot: header sync and full fetches over IMAPS"
  helper sync 127.0.0.1 "$DISPORT" bench@example.org pw "$T/msgs" "$RUNS" "$NFULL" >"$D/sync.json"
  echo "== Dovecot: $IDLE_N sessions in IDLE"
  helper idle 127.0.0.1 "$DISPORT" bench@example.org pw "$IDLE_N" --pid "$DOVECOT_PID" --tree \
    --mailbox "$IDLE_MAILBOX" --setup-timeout "$IDLE_SETUP_TIMEOUT" --parallel "$IDLE_PARALLEL" \
    --wake-proto lmtp --wake-port "$LPORT" --wake-msg "$T/msgs/00001.eml" \
    >"$D/idle.json" || echo "   (IDLE run failed)"
  kill -TERM "$DOVECOT_PID"; wait "$DOVECOT_PID" || true; DOVECOT_PID=
  log_summary "$D/dovecot.log" '(Warning|Error|Fatal|Panic):' \
    's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} //; s/<[^>]*>//g; s/\([0-9]+\)//g; s/pid=[0-9]+/pid=N/'
fi

# ---------------------------------------------------------------------------------------------
echo
helper report "$B" "$D" --messages "$N" --runs "$RUNS" --parallel "$IDLE_PARALLEL" --gen "$T/gen.json"
