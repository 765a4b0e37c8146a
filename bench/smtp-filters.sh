#!/bin/bash
# SMTP intake with the content filters on and off: Baedal (embedded profile) receives the same
# load twice, once with no filter and once with Rspamd + ClamAV + the attachment policy.
#
#   bash bench/smtp-filters.sh            # as root on Debian 12 (installs what it needs with apt)
#   N=1000 SESSIONS=8 SKIP_BUILD=1 bash bench/smtp-filters.sh
#
# What it measures (a benchmark: it prints figures and checks only that every message arrived):
#   Postfix's smtp-source sends N (5000) messages of SIZE (10 KB) over SESSIONS (16) parallel,
#   persistent SMTP sessions to Baedal's MX listener; time runs from the start of sending until
#   all N messages are in DATA_DIR/mail/example.org/bench/Maildir/cur/.
#   1. "off": no [rspamd], no [clamav], [attachments] enabled = false.
#   2. "clamav": [clamav] and the attachment policy, no Rspamd.
#   3. "on": [rspamd] (tests/peers/rspamd.sh: Debian's rspamd, offline, no Redis, its DNS at a
#      dead loopback port) + [clamav] (tests/peers/clamd.sh: clamd with an EICAR-only database,
#      over TCP) + the attachment policy. Both daemons are started before the first run and
#      stopped after the last, so their start-up is not timed.
#   Per run: messages/s, Baedal's CPU seconds (utime+stime from /proc), and for "on" the mean
#   time per message of each filter (from /metrics: baedal_filter_scan_duration_seconds sum /
#   count) and the daemons' CPU seconds during the run.
# The filters of one message run concurrently; Rspamd's connections are kept alive (hyper's
# pool), clamd's IDSESSIONs are reused.
#
# Environment: N, SIZE (bytes), SESSIONS, RSPAMD_WORKERS (normal workers, default: nproc), BAEDAL (binary, target/release/baedal),
# SKIP_BUILD=1, KEEP=1 (keep the temp dir), TIMEOUT (s per run, 600).
set -euo pipefail

N=${N:-5000}
SIZE=${SIZE:-10240}
SESSIONS=${SESSIONS:-16}
TIMEOUT=${TIMEOUT:-600}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=${BAEDAL:-$ROOT/target/release/baedal}

[ "$(id -u)" = 0 ] || { echo "run as root (apt)" >&2; exit 1; }
need=()
[ -x /usr/sbin/smtp-source ] || need+=(postfix)
command -v rspamd >/dev/null || need+=(rspamd)
[ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; }
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release --bin baedal"
  (cd "$ROOT" && cargo build --release --bin baedal --quiet)
fi

T=$(mktemp -d /tmp/bf.XXXXXX); chmod 755 "$T"
BAEDAL_PID=
cleanup() {
  set +e
  [ -n "$BAEDAL_PID" ] && kill -TERM "$BAEDAL_PID" 2>/dev/null && wait "$BAEDAL_PID" 2>/dev/null
  bash "$ROOT/tests/peers/rspamd.sh" stop "$T/rspamd" >/dev/null 2>&1
  bash "$ROOT/tests/peers/clamd.sh" stop "$T/clamd" >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
count_files() { [ -d "$1" ] && find "$1" -maxdepth 1 -type f | wc -l || echo 0; }
wait_count() {
  local deadline=$(( $(date +%s) + TIMEOUT ))
  while [ "$(count_files "$2")" -lt "$1" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timeout: $(count_files "$2")/$1" >&2; return 1; }
    sleep 0.05
  done
}
# CPU seconds (user + system) of a process and its children that were waited for... and of
# every thread: /proc/PID/stat fields 14-17, in clock ticks.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
# CPU seconds of a daemon and all its processes (rspamd forks workers).
tree_cpu() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do total=$(calc "$total + $(cpu "$p")"); done
  echo "$total"
}
metric_mean() {  # metric_mean FILTER: mean seconds per message from /metrics
  curl -s "http://$HTTP/metrics" | awk -v f="filter=\"$1\"" '
    index($0, "baedal_filter_scan_duration_seconds_sum{" f "}") == 1 { s = $2 }
    index($0, "baedal_filter_scan_duration_seconds_count{" f "}") == 1 { c = $2 }
    END { if (c > 0) printf "%.2f ms (%d scans)", 1000 * s / c, c; else print "-" }'
}

echo "== $N messages x $SIZE bytes, $SESSIONS sessions, ${RSPAMD_WORKERS:-$(nproc)} rspamd workers; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== starting rspamd and clamd"
export RSPAMD_WORKERS=${RSPAMD_WORKERS:-$(nproc)}
RSPAMD_URL=$(bash "$ROOT/tests/peers/rspamd.sh" start "$T/rspamd" "$(free_port)" | sed -n 's/^RSPAMD_URL=//p')
CLAMD=$(bash "$ROOT/tests/peers/clamd.sh" start "$T/clamd" "$(free_port)" | sed -n 's/^CLAMD_ADDRESS=//p')
RSPAMD_PID=$(cat "$T/rspamd/rspamd.pid.bg"); CLAMD_PID=$(cat "$T/clamd/clamd.pid.bg")

declare -A SECS RATE CPU NOTE
run() {
  local mode=$1 B=$T/baedal-$1 PORT t0 t1 rs0 cl0
  mkdir -p "$B"; PORT=$(free_port); HTTPPORT=$(free_port); HTTP=127.0.0.1:$HTTPPORT
  cat >"$B/baedal.toml" <<CONF
hostname = "mx.bench.example"
data_dir = "$B/data"
[listen]
http = "$HTTP"
admin = ""
smtp = "127.0.0.1:$PORT"
[smtp]
max_connections_per_ip = 100
[dns]
nameservers = ["127.0.0.1:9"]
[verify]
enabled = false
[log]
level = "warn"
CONF
  if [ "$mode" = on ]; then
    printf '[rspamd]\nurl = "%s"\n[clamav]\naddress = "%s"\n' "$RSPAMD_URL" "$CLAMD" >>"$B/baedal.toml"
  elif [ "$mode" = clamav ]; then
    printf '[clamav]\naddress = "%s"\n' "$CLAMD" >>"$B/baedal.toml"
  else
    printf '[attachments]\nenabled = false\n' >>"$B/baedal.toml"
  fi
  "$BAEDAL" --config "$B/baedal.toml" serve >"$B/baedal.log" 2>&1 &
  BAEDAL_PID=$!
  wait_port "$PORT" || { cat "$B/baedal.log"; exit 1; }
  "$BAEDAL" --config "$B/baedal.toml" domain add example.org >/dev/null
  printf 'pw\n' | "$BAEDAL" --config "$B/baedal.toml" user add bench@example.org --password-stdin --quota 0 >/dev/null
  local store=$B/data/mail/example.org/bench/Maildir/cur
  rs0=$(tree_cpu "$RSPAMD_PID"); cl0=$(cpu "$CLAMD_PID")
  echo "== filters $mode: sending"
  t0=$(now)
  smtp-source -d -s "$SESSIONS" -m "$N" -l "$SIZE" -M bench-client.example \
    -f sender@bench-client.example -t bench@example.org "127.0.0.1:$PORT"
  wait_count "$N" "$store" || { tail -20 "$B/baedal.log"; exit 1; }
  t1=$(now)
  SECS[$mode]=$(calc "$t1 - $t0"); RATE[$mode]=$(calc "$N / ($t1 - $t0)"); CPU[$mode]=$(cpu "$BAEDAL_PID")
  if [ "$mode" != off ]; then
    NOTE[$mode]="rspamd $(metric_mean rspamd), clamav $(metric_mean clamav), attachments $(metric_mean attachments);"
    NOTE[$mode]+=" daemons' CPU: rspamd $(calc "$(tree_cpu "$RSPAMD_PID") - $rs0") s, clamd $(calc "$(cpu "$CLAMD_PID") - $cl0") s"
    local refused; refused=$(curl -s "http://$HTTP/metrics" | awk '/^baedal_filter_verdicts_total/ && !/verdict="clean"/ && $2 > 0' | tr '\n' ' ')
    [ -z "$refused" ] || NOTE[$mode]+="; not clean: $refused"
  fi
  kill -TERM "$BAEDAL_PID"; wait "$BAEDAL_PID" || true; BAEDAL_PID=
}
run off
run clamav
run on

echo
printf '%-8s %10s %12s %14s  %s\n' filters seconds "messages/s" "baedal CPU s" "where the time goes"
for m in off clamav on; do
  printf '%-8s %10s %12s %14s  %s\n' "$m" "${SECS[$m]}" "${RATE[$m]}" "${CPU[$m]}" "${NOTE[$m]:-}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
