#!/bin/bash
# Submission benchmark: Baedal against Postfix, both relaying to the same remote sink
# (Postfix's smtp-sink), on this machine, in one run.
#
#   bash bench/submission.sh              # as root on Debian 12 (installs what it needs with apt)
#   N=500 SKIP_BUILD=1 KEEP=1 bash bench/submission.sh
#
# What it measures (a benchmark, not a test: it prints figures; it only notes anomalies):
#   N (2000) messages of SIZE (10 KB) bytes, From alice@example.org To someone@remote.test,
#   submitted over SESSIONS (8) parallel, persistent sessions (STARTTLS, AUTH, then one
#   transaction after the other) by bench/submission_bench.py (Python, standard library), and
#   relayed by the server's queue to smtp-sink on 127.0.0.2. The clock starts when every session
#   is logged in, just before the first MAIL FROM, and stops when smtp-sink has counted all N
#   messages ("smtp-sink -c"): end-to-end messages/second, submission + queue + relay.
#   1. Baedal: submission listener (STARTTLS + AUTH PLAIN/LOGIN, bcrypt cost 12), sender and
#      From: checks, DKIM signing (RSA, a key made with `baedal dkim generate`), SQLite queue,
#      MX lookup of remote.test at a throwaway dnsmasq (Baedal's only resolver), delivery to
#      the MX on [queue] remote_port with WORKERS workers, PER_DOMAIN (8) at a time to the sink.
#   2. Postfix 3.7: a throwaway instance whose only smtpd is a submission service
#      (smtpd_tls_security_level = encrypt, SASL AUTH through a throwaway Dovecot auth service
#      with the same bcrypt cost-12 hash, reject_sender_login_mismatch), relaying remote.test
#      with transport_maps to [127.0.0.2]:SINKPORT (no DNS), PER_DOMAIN deliveries at a time
#      (default_destination_concurrency_limit). No DKIM signer: Postfix signs nothing.
# Both servers get the same EC P-256 certificate, the same generated messages (fixed seed),
# and run one after the other, never at the same time, each with a fresh sink. Both are
# durable before they answer 250 (Baedal: blob fsync + SQLite synchronous=FULL; Postfix: queue
# file fsync, its default).
#
# Environment: N, SIZE (bytes), SESSIONS, PER_DOMAIN (8: Baedal's [queue] per_domain and
# Postfix's default_destination_concurrency_limit), WORKERS (16: Baedal's [queue] workers),
# TIMEOUT (s per run, 600), SKIP_BUILD=1 (use the existing target/release/baedal), BAEDAL
# (binary path), KEEP=1 (keep the temp dir with logs and JSON), ONLY=baedal|postfix.
# Nothing here asks the system resolver: Baedal's resolver is the test dnsmasq (no upstream),
# Postfix has DNS off (smtp_dns_support_level = disabled, smtpd_peername_lookup = no).
set -euo pipefail

N=${N:-2000}
SIZE=${SIZE:-10240}
SESSIONS=${SESSIONS:-8}
PER_DOMAIN=${PER_DOMAIN:-8}
WORKERS=${WORKERS:-16}
TIMEOUT=${TIMEOUT:-600}
ONLY=${ONLY:-}
# DKIM=0: no signing key (Postfix here signs nothing), to see what signing costs.
DKIM=${DKIM:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=${BAEDAL:-$ROOT/target/release/baedal}
HELPER=$ROOT/bench/submission_bench.py
SINK_IP=127.0.0.2

[ "$(id -u)" = 0 ] || { echo "run as root (postfix start, dovecot and smtp-sink -u need it)" >&2; exit 1; }
case "$ONLY" in ""|baedal|postfix) ;; *) echo "ONLY=baedal|postfix" >&2; exit 2 ;; esac

# ---------------------------------------------------------------------------------------------
# Install what is missing. policy-rc.d (exit 101) keeps apt from starting any daemon.
need=()
[ -x /usr/sbin/smtp-sink ] && command -v postfix >/dev/null || need+=(postfix)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v dovecot >/dev/null || need+=(dovecot-core)
command -v python3 >/dev/null || need+=(python3)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "${SKIP_BUILD:-0}" != 1 ] && [ "$ONLY" != postfix ]; then
  echo "== cargo build --release -p baedal-server"
  (cd "$ROOT" && cargo build --release -p baedal-server --quiet)
fi
[ "$ONLY" = postfix ] || [ -x "$BAEDAL" ] || { echo "no $BAEDAL: build it first" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
T=$(mktemp -d /tmp/baedal-submitbench.XXXXXX); chmod 755 "$T"   # postfix/dovecot users traverse it
BAEDAL_PID=; DNS_PID=; SINK_PID=; DOVECOT_PID=; PF_STARTED=
# stop_pid PID: SIGTERM, and SIGKILL if it is still there after 20 s
stop_pid() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && { echo "   (pid $1 still running 20 s after SIGTERM: SIGKILL)" >&2; kill -KILL "$1" 2>/dev/null; }
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  stop_pid "$BAEDAL_PID"
  [ -n "$PF_STARTED" ] && postfix -c "$T/postfix/etc" stop >/dev/null 2>&1
  stop_pid "$DOVECOT_PID"
  stop_pid "$SINK_PID"
  stop_pid "$DNS_PID"
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port below the ephemeral range (32768+), so no outgoing connection takes it between
# this check and the server's bind; never one handed out before in this run.
USED_PORTS=" "
free_port() {   # free_port VAR [IP]: sets VAR
  local p
  while :; do
    p=$(python3 -c 'import random, socket, sys
s = socket.socket(); p = random.randint(20000, 32000); s.bind((sys.argv[1], p)); print(p)' "${2:-127.0.0.1}" 2>/dev/null) || continue
    case "$USED_PORTS" in *" $p "*) continue ;; esac
    USED_PORTS="$USED_PORTS$p "; printf -v "$1" %s "$p"; return
  done
}
wait_port() {   # wait_port IP PORT
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.05; done; return 1
}
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
jget() { python3 -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }
count_files() { local n=0 d; for d in "$@"; do [ -d "$d" ] && n=$((n + $(find "$d" -maxdepth 1 -type f | wc -l))); done; echo $n; }

# start_sink DIR PORT [OPTION...]: a fresh smtp-sink on SINK_IP:PORT; its running counters
# ("sess=.. quit=.. mesg=..", CR-separated) go to DIR/sink.out
start_sink() {
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  smtp-sink -c -4 -u postfix -h mx.remote.test "$@" "$SINK_IP:$port" 1000 >"$dir/sink.out" 2>"$dir/sink.err" &
  SINK_PID=$!
  wait_port "$SINK_IP" "$port" || { echo "smtp-sink did not listen"; cat "$dir/sink.err"; exit 1; }
}
# run_client PORT DIR: the timed run; its JSON goes to DIR/result.json
run_client() {
  python3 "$HELPER" send 127.0.0.1 "$1" alice@example.org pw "$T/cert.pem" "$2/sink.out" \
    --messages "$N" --size "$SIZE" --sessions "$SESSIONS" --timeout "$TIMEOUT" >"$2/result.json" \
    || echo "   (incomplete: $(cat "$2/result.json"))"
}
# sink_sessions DIR: SMTP sessions the sink saw, less wait_port's probe
sink_sessions() { tail -c 200 "$1/sink.out" | tr '\r' '\n' | sed -n 's/^sess=\([0-9]*\) .*/\1/p' | tail -1 | awk '{print $1 - 1}'; }

rev=$(git -C "$ROOT" log -1 --format=%h 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -uno 2>/dev/null | wc -l)
echo "== Baedal $rev$([ "$dirty" = 0 ] || echo " + $dirty uncommitted files"), Postfix $(postconf -dh mail_version 2>/dev/null), $(dovecot --version 2>/dev/null | cut -d' ' -f1) (SASL only)"
echo "== $N messages x $SIZE bytes, $SESSIONS sessions, $PER_DOMAIN deliveries at a time to the sink; temp dir $T ($(df -T "$T" | awk 'NR==2{print $2}'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
# One certificate for both servers, so the TLS work is the same.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
chmod 644 "$T/key.pem"   # read by Postfix's smtpd (user postfix) too; a throwaway key

# ---------------------------------------------------------------------------------------------
# 1. Baedal, with a throwaway dnsmasq that routes remote.test to the sink
B=$T/baedal; mkdir -p "$B"
if [ "$ONLY" != postfix ]; then
  free_port SUBPORT; free_port DNSPORT; free_port SINKPORT "$SINK_IP"
  cat >"$B/baedal.toml" <<CONF
hostname = "mail.example.org"
data_dir = "$B/data"
[database]
url = "sqlite://$B/data/baedal.db"
[listen]
http = "127.0.0.1:0"
admin = ""
smtp = ""
smtps = []
submission = "127.0.0.1:$SUBPORT"
submissions = ""
pop3 = ""
pop3s = ""
imap = ""
imaps = ""
[tls]
cert = "$T/cert.pem"
key = "$T/key.pem"
[smtp]
auth_failure_delay_ms = 100
[dns]
nameservers = ["127.0.0.1:$DNSPORT"]
[queue]
remote_port = $SINKPORT
workers = $WORKERS
per_domain = $PER_DOMAIN
poll_interval = 1
[log]
level = "warn"
CONF
  mkdir -p "$B/data"
  bcli() { "$BAEDAL" --config "$B/baedal.toml" "$@"; }
  bcli migrate >/dev/null
  bcli domain add example.org >/dev/null
  printf 'pw\n' | bcli user add alice@example.org --password-stdin --quota 0 >/dev/null
  # the TXT record as dnsmasq wants it: strings of at most 255 bytes
  DKIM_TXT=$(bcli --json dkim generate example.org --selector s1 | python3 -c 'import json, sys
v = json.load(sys.stdin)["dns_txt"]; print(",".join("\"%s\"" % v[i:i + 255] for i in range(0, len(v), 255)))')
  [ "$DKIM" = 0 ] && bcli dkim remove example.org --selector s1 >/dev/null

  # dnsmasq: only these zones, no upstream, no system files. The DKIM TXT record is published
  # for completeness; nothing in this run verifies it.
  cat >"$B/dnsmasq.conf" <<CONF
port=$DNSPORT
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
pid-file=
user=root
log-facility=-
local=/remote.test/
local=/example.org/
mx-host=remote.test,mx.remote.test,10
host-record=mx.remote.test,$SINK_IP
txt-record=s1._domainkey.example.org,$DKIM_TXT
CONF
  dnsmasq -k -C "$B/dnsmasq.conf" >"$B/dnsmasq.log" 2>&1 &
  DNS_PID=$!
  wait_port 127.0.0.1 "$DNSPORT" || { echo "dnsmasq did not listen"; cat "$B/dnsmasq.log"; exit 1; }
  start_sink "$B" "$SINKPORT"

  "$BAEDAL" --config "$B/baedal.toml" serve >"$B/baedal.log" 2>&1 &   # not bcli: $! must be baedal
  BAEDAL_PID=$!
  for _ in $(seq 1 200); do [ -s "$B/data/run/listeners.json" ] && break; sleep 0.05; done
  wait_port 127.0.0.1 "$SUBPORT" || { echo "baedal did not listen"; cat "$B/baedal.log"; exit 1; }

  echo "== Baedal: submitting"
  run_client "$SUBPORT" "$B"
  # The sink counts a message at its "."; Baedal records the delivery after the 250. Give the
  # queue a moment to empty, then look at what is left and at bounces in alice's Maildir.
  B_LEFT=?
  for _ in $(seq 1 100); do
    B_LEFT=$(bcli --json queue list | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))') || B_LEFT=?
    [ "$B_LEFT" = 0 ] && break; sleep 0.1
  done
  B_SINKSESS=$(sink_sessions "$B")
  # Not timed: one more message to a sink that keeps what it gets, to see the DKIM signature.
  stop_pid "$SINK_PID"; SINK_PID=
  mkdir -p "$B/check/dump"; chown postfix: "$B/check/dump"
  start_sink "$B/check" "$SINKPORT" -d "$B/check/dump/%H%M%S."
  python3 "$HELPER" send 127.0.0.1 "$SUBPORT" alice@example.org pw "$T/cert.pem" "$B/check/sink.out" \
    --messages 1 --size "$SIZE" --sessions 1 --timeout 30 >"$B/check/result.json" 2>/dev/null || true
  B_SIGNED=$( (grep -ls '^DKIM-Signature: .*d=example.org' "$B"/check/dump/* 2>/dev/null || true) | wc -l)
  B_BOUNCES=$(count_files "$B/data/mail/example.org/alice/Maildir/new" "$B/data/mail/example.org/alice/Maildir/cur")
  [ "$B_LEFT" = 0 ] || bcli --json queue list >"$B/queue-left.json" 2>&1 || true
  stop_pid "$BAEDAL_PID"; BAEDAL_PID=
  stop_pid "$SINK_PID"; SINK_PID=
  stop_pid "$DNS_PID"; DNS_PID=
  B_LOGW=$(grep -cE ' (WARN|ERROR) ' "$B/baedal.log" || true)
fi

# ---------------------------------------------------------------------------------------------
# 2. Postfix submission (Dovecot SASL) relaying to the sink
P=$T/postfix; D=$T/dovecot; mkdir -p "$P/etc" "$P/queue" "$P/data" "$D/run"; chown postfix: "$P/data"
if [ "$ONLY" != baedal ]; then
  free_port SUBPORT; free_port AUTHPORT; free_port SINKPORT "$SINK_IP"
  # Dovecot: the auth service alone (no mail protocols), on a TCP listener Postfix's smtpd asks
  echo "alice@example.org:$(doveadm pw -s BLF-CRYPT -r 12 -p pw)::::::" >"$D/users"; chmod 644 "$D/users"
  cat >"$D/dovecot.conf" <<CONF
# self-contained: nothing from /etc/dovecot is read
instance_name = submitbench-$(basename "$T")
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
listen = 127.0.0.1
protocols = none
ssl = no
# Postfix only offers AUTH inside TLS (smtpd_tls_auth_only); it tells Dovecot so
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=BLF-CRYPT username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  inet_listener {
    port = $AUTHPORT
  }
}
CONF
  dovecot -c "$D/dovecot.conf" -n >/dev/null
  dovecot -c "$D/dovecot.conf" -F >"$D/stdout.log" 2>&1 &
  DOVECOT_PID=$!
  wait_port 127.0.0.1 "$AUTHPORT" || { echo "dovecot auth did not listen"; cat "$D/stdout.log" "$D/dovecot.log"; exit 1; }

  start_sink "$P" "$SINKPORT"
  cat >"$P/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $P/queue
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $P
maillog_file = $P/maillog
myhostname = mail.example.org
mydomain = example.org
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP
# submission: TLS required, AUTH through Dovecot, the envelope sender must be the login
smtpd_tls_chain_files = $T/key.pem, $T/cert.pem
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTHPORT
smtpd_sender_login_maps = inline:{ alice@example.org=alice@example.org }
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
# relay: remote.test goes to the sink, no DNS anywhere
transport_maps = inline:{ remote.test=smtp:[$SINK_IP]:$SINKPORT }
default_destination_concurrency_limit = $PER_DOMAIN
smtp_tls_security_level = may
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
CONF
  cat >"$P/etc/master.cf" <<CONF
127.0.0.1:$SUBPORT inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
CONF
  # with no syslog, errors of "start" only show in "check" and the maillog
  postfix -c "$P/etc" start >/dev/null 2>&1 || { postfix -c "$P/etc" -v check; cat "$P/maillog"; exit 1; }
  PF_STARTED=1
  wait_port 127.0.0.1 "$SUBPORT" || { echo "postfix did not listen"; cat "$P/maillog"; exit 1; }

  echo "== Postfix: submitting"
  run_client "$SUBPORT" "$P"
  P_LEFT=?
  for _ in $(seq 1 100); do
    P_LEFT=$(postqueue -c "$P/etc" -j 2>/dev/null | wc -l) || P_LEFT=?
    [ "$P_LEFT" = 0 ] && break; sleep 0.1
  done
  [ "$P_LEFT" = 0 ] || postqueue -c "$P/etc" -j >"$P/queue-left.json" 2>&1 || true
  postfix -c "$P/etc" stop >/dev/null 2>&1; PF_STARTED=
  stop_pid "$DOVECOT_PID"; DOVECOT_PID=
  stop_pid "$SINK_PID"; SINK_PID=
  P_SINKSESS=$(sink_sessions "$P")
  P_SENT=$(grep -c ' status=sent ' "$P/maillog" || true)
  P_DEFER=$(grep -c ' status=deferred ' "$P/maillog" || true)
  P_BOUNCE=$(grep -c ' status=bounced ' "$P/maillog" || true)
  P_LOGW=$(grep -cE '(warning|error|fatal|panic):' "$P/maillog" || true)
fi

# ---------------------------------------------------------------------------------------------
row() {   # row NAME DIR
  local j=$2/result.json
  if [ ! -s "$j" ]; then printf '%-9s %s\n' "$1" "(no result)"; return; fi
  printf '%-9s %9s %9s %8.2f %11.1f %12.2f %10s %8.2f %6s\n' "$1" "$(jget "$j" sink_count)/$(jget "$j" messages)" \
    "$(jget "$j" accepted)" "$(jget "$j" e2e_s)" "$(jget "$j" rate)" "$(jget "$j" submit_s)" \
    "$(jget "$j" sink_at_submit_end)" "$(jget "$j" setup_s)" "$(jget "$j" refused)"
}
echo
echo "Submission, $N x $SIZE B over $SESSIONS sessions (STARTTLS + AUTH), relayed to smtp-sink, $PER_DOMAIN deliveries at a time"
printf '%-9s %9s %9s %8s %11s %12s %10s %8s %6s\n' system "at sink" accepted seconds messages/s "submitted s" "sink then" "login s" failed
[ "$ONLY" = postfix ] || row Baedal "$B"
[ "$ONLY" = baedal ] || row Postfix "$P"
if [ -z "$ONLY" ] && [ -s "$B/result.json" ] && [ -s "$P/result.json" ]; then
  printf 'ratio Baedal / Postfix (messages/s): %.2f\n' "$(calc "$(jget "$B/result.json" rate) / $(jget "$P/result.json" rate)")"
fi
echo "seconds: first MAIL FROM until the sink has counted every message; submitted s: until the"
echo "last 250 to the client; sink then: messages at the sink at that moment; login s: the $SESSIONS sessions'"
echo "connect + STARTTLS + AUTH before the clock starts."
echo
if [ "$ONLY" != postfix ]; then
  echo "Baedal: left in the queue $B_LEFT, bounces to alice $B_BOUNCES, WARN/ERROR log lines $B_LOGW; sink sessions $B_SINKSESS;"
  if [ "$DKIM" = 0 ]; then
    echo "        DKIM signing off (DKIM=0)"
  else
    echo "        DKIM signature on a check message after the run: $([ "$B_SIGNED" -ge 1 ] && echo yes || echo NO)"
  fi
  [ "${B_LOGW:-0}" = 0 ] || grep -E ' (WARN|ERROR) ' "$B/baedal.log" | sed -E 's/^[^ ]+ +//; s/[0-9a-f]{8,}/X/g' | sort | uniq -c | sort -rn | head -5 | cut -c1-240
fi
if [ "$ONLY" != baedal ]; then
  echo "Postfix: left in the queue $P_LEFT, status=sent $P_SENT, deferred $P_DEFER, bounced $P_BOUNCE, warning/error log lines $P_LOGW; sink sessions $P_SINKSESS;"
  echo "         no DKIM signer, no DNS (transport_maps to the sink)"
  [ "${P_LOGW:-0}" = 0 ] || grep -E '(warning|error|fatal|panic):' "$P/maillog" | sed -E 's/^[^ ]+ [^ ]+ //; s/\[[0-9]+\]//; s/[0-9A-F]{8,}/X/g' | sort | uniq -c | sort -rn | head -5 | cut -c1-240
fi
for d in "$B" "$P"; do
  [ -s "$d/result.json" ] || continue
  e=$(python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["errors"]))' "$d/result.json")
  [ -z "$e" ] || { echo "client errors ($(basename "$d")):"; echo "$e" | head -5; }
done
