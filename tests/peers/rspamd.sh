#!/usr/bin/env bash
# A throwaway Rspamd (Debian rspamd 3.4) for the tests, loopback only, offline: no Redis, no
# lookups leave the machine (its resolver points at a loopback port nothing listens on).
#   rspamd.sh start DIR PORT
#       -> rspamd (main process in the foreground, backgrounded here) with its config, state,
#          log and sockets in DIR; the normal (scanner) worker on 127.0.0.1:PORT, the proxy and
#          controller workers off; waits until `GET /ping` answers `pong`; prints KEY=VALUE lines:
#          RSPAMD_URL RSPAMD_LOG
#   rspamd.sh stop DIR
#       -> SIGTERM to the main process by its PID file, waits for it and every worker it had
#          started (SIGKILL after 5 s); leaves DIR (its config and log).
#
# The stock rules from /etc/rspamd, with DIR as LOCAL_CONFDIR (nothing from /etc/rspamd/local.d
# or override.d is read) and these changes:
#   enable_test_patterns = true: a body with one of the GTUBE patterns pins the verdict
#     whatever else scores (DNS checks fail here, so real scores wander):
#       XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  -> reject
#       YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  -> add header
#       ZJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  -> rewrite subject
#       AJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X  -> no action
#   disable_hyperscan = true (no minutes-long regexp compilation at the first start);
#   dns: RSPAMD_DNS (host:port) if set, e.g. the test dnsmasq; otherwise 127.0.0.1 at the first
#     port from 5399 up that has no UDP or TCP socket, with a 0.1 s timeout and 1 retransmit:
#     every lookup fails at once (port unreachable) and none leaves the machine. HTTP maps
#     (maps.rspamd.com) need a lookup first, so they are never fetched (rspamd falls back to
#     the copies Debian ships). fuzzy_check is off: its servers (fuzzy1/fuzzy2.rspamd.com)
#     are resolved with the system resolver at start-up, which would leave the machine.
#   milter_headers: X-Spamd-Result, X-Rspamd-Queue-Id, X-Spam-Status and Authentication-Results
#     come back in milter.add_headers for every sender (local and authenticated too), so a
#     client's header handling has something to apply; stock Rspamd only asks to remove X-Spam.
#     (A GTUBE pattern skips every rule: such replies carry no milter block at all.)
# Protocol: POST /checkv2 with the message as the body and headers IP, Helo, From, Rcpt (one
# per recipient), Queue-Id, Hostname, User; JSON reply with action, score, symbols, subject,
# milter.add_headers / remove_headers.
#
# As root, rspamd runs its workers as root (-u root -g root -i: they need to write DIR, which
# may be unreachable for _rspamd). As another user, no -u/-g is passed and everything runs as
# that user (rspamd refuses to setuid without root; it refuses root workers only without -i).
# The first start compiles and caches the rules (DIR/symbols.cache): up to a minute under load;
# RSPAMD_START_TIMEOUT (default 120 s) bounds the wait. RSPAMD_WORKERS (default 1) is the
# number of normal (scanner) worker processes.
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

# True while PID runs (a zombie counts as stopped: nothing may reap an orphan here).
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# PID and every process below it (children of children...), one per line.
tree() {
  local p kids
  echo "$1"
  kids=$(ps -o pid= --ppid "$1" 2>/dev/null) || true
  for p in $kids; do tree "$p"; done
}

stop() {
  local D=$1 pid pids p alive
  [ -f "$D/rspamd.pid.bg" ] || return 0
  pid=$(cat "$D/rspamd.pid.bg")
  if running "$pid"; then
    # The workers by PID, before the main process goes: the test is over only when all are.
    pids=$(tree "$pid" | sort -u)
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive=
      for p in $pids; do running "$p" && alive="$alive $p"; done
      [ -z "$alive" ] && break
      sleep 0.05
    done
    if [ -n "$alive" ]; then
      echo "rspamd.sh: processes$alive of rspamd (main $pid) outlived SIGTERM by 5 s; killing them" >&2
      for p in $alive; do kill -KILL "$p" 2>/dev/null || true; done
      for _ in $(seq 1 40); do
        alive=
        for p in $pids; do running "$p" && alive="$alive $p"; done
        [ -z "$alive" ] && break
        sleep 0.05
      done
    fi
  fi
  rm -f "$D/rspamd.pid.bg"
}

# True if some UDP or TCP socket (any address) has local port $1.
port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v h=":$hex" 'FNR > 1 { a = $2; if (substr(a, length(a) - 4) == h) found = 1 }
                    END { exit !found }' /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

case "${1:-}" in
start)
  [ $# -eq 3 ] || usage
  mkdir -p "$2"; D=$(cd "$2" && pwd); PORT=$3
  if ! command -v rspamd >/dev/null || [ ! -f /etc/rspamd/rspamd.conf ]; then
    echo "rspamd.sh: rspamd is needed (tests/peers/install.sh installs it)" >&2
    exit 1
  fi
  if [ -f "$D/rspamd.pid.bg" ] && running "$(cat "$D/rspamd.pid.bg")"; then
    echo "rspamd.sh: an rspamd already runs in $D (pid $(cat "$D/rspamd.pid.bg"))" >&2
    exit 1
  fi
  # The control socket is DIR/rspamd.sock; a socket path may have 107 bytes.
  SOCK="$D/rspamd.sock"
  if [ ${#SOCK} -gt 100 ]; then
    echo "rspamd.sh: socket path $SOCK is too long for a Unix socket; use a shorter DIR" >&2
    exit 1
  fi
  if [ -n "${RSPAMD_DNS:-}" ]; then
    DNS=$RSPAMD_DNS
  else
    dport=5399
    while port_in_use "$dport"; do dport=$((dport + 1)); done
    DNS="127.0.0.1:$dport"
  fi
  RUN=()
  [ "$(id -u)" = 0 ] && RUN=(-u root -g root -i)

  rm -rf "$D/local.d" "$D/override.d" "$D/tmp" "$SOCK"
  mkdir -p "$D/local.d" "$D/override.d" "$D/tmp"
  cat > "$D/local.d/options.inc" <<CONF
# merged into options {} of /etc/rspamd/rspamd.conf
dns {
  nameserver = ["$DNS"];
  timeout = 0.1s;
  retransmits = 1;
}
enable_test_patterns = true;
disable_hyperscan = true;
tempdir = "$D/tmp";
CONF
  cat > "$D/override.d/worker-normal.inc" <<CONF
bind_socket = "127.0.0.1:$PORT";
count = ${RSPAMD_WORKERS:-1};
CONF
  # fuzzy_check's only rule names fuzzy1/fuzzy2.rspamd.com, which rspamd resolves at start-up
  # with getaddrinfo, i.e. through /etc/resolv.conf and off the machine: the module goes.
  echo 'enabled = false;' > "$D/local.d/fuzzy_check.conf"
  cat > "$D/local.d/milter_headers.conf" <<CONF
# headers for the MTA to add (milter.add_headers), for local and authenticated senders too
use = ["x-spamd-result", "x-rspamd-queue-id", "x-spam-status", "authentication-results"];
skip_local = false;
skip_authenticated = false;
CONF
  echo 'count = 0;' > "$D/override.d/worker-proxy.inc"
  echo 'count = 0;' > "$D/override.d/worker-controller.inc"
  : > "$D/rspamd.log"

  # -f keeps the main process in the foreground (no fork), so $! is its real PID.
  rspamd -f "${RUN[@]}" --var=LOCAL_CONFDIR="$D" --var=DBDIR="$D" --var=RUNDIR="$D" \
    --var=LOGDIR="$D" </dev/null >"$D/stdout.log" 2>&1 &
  PID=$!
  echo "$PID" > "$D/rspamd.pid.bg"

  # Up when the normal worker answers GET /ping with pong.
  up=
  wait_s=${RSPAMD_START_TIMEOUT:-120}
  deadline=$(( $(date +%s%N) + wait_s * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$deadline" ]; do
    running "$PID" || break
    if reply=$(curl -sS --max-time 2 "http://127.0.0.1:$PORT/ping" 2>/dev/null) &&
       [[ "$reply" == pong* ]]; then
      up=1; break
    fi
    sleep 0.1
  done
  if [ -z "$up" ]; then
    if running "$PID"; then
      echo "rspamd.sh: rspamd (pid $PID) did not answer /ping on 127.0.0.1:$PORT within $wait_s s" >&2
    else
      echo "rspamd.sh: rspamd exited during start-up (port $PORT)" >&2
    fi
    echo "--- $D/stdout.log, last lines of $D/rspamd.log ---" >&2
    cat "$D/stdout.log" >&2 || true
    tail -n 25 "$D/rspamd.log" >&2 || true
    stop "$D"
    exit 1
  fi

  echo "RSPAMD_URL=http://127.0.0.1:$PORT"
  echo "RSPAMD_LOG=$D/rspamd.log"
  ;;
stop)
  [ $# -eq 2 ] || usage
  stop "$2"
  ;;
*)
  usage ;;
esac
