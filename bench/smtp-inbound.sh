#!/bin/bash
# Inbound SMTP benchmark: Baedal against Postfix -> Dovecot LMTP, on this machine, in one run.
#
#   bash bench/smtp-inbound.sh            # as root on Debian 12 (installs what it needs with apt)
#   N=1000 SESSIONS=8 bash bench/smtp-inbound.sh
#
# What it measures (a benchmark, not a test: it prints figures, it checks nothing about them):
#   1. Baedal: Postfix's smtp-source sends N (5000) messages of SIZE (10 KB) over SESSIONS (16)
#      parallel, persistent SMTP sessions to Baedal's MX listener. Time runs from the start of
#      sending until all N messages are in DATA_DIR/mail/example.org/bench/Maildir/cur/.
#   2. The same load to Postfix smtpd -> queue -> lmtp -> Dovecot LMTP -> Maildir. Time runs
#      until N files are in the user's Maildir (new/ + cur/).
#   3. Peak RSS growth (VmHWM) of the Baedal process while it receives one BIG_MB (100) MB
#      message over DATA, streamed from a file.
# Both systems are durable: Baedal fsyncs the message blob and commits SQLite with
# synchronous=FULL before it answers 250; Postfix (queue file fsync) and Dovecot
# (mail_fsync=optimized) run with their defaults, which fsync too. Both run sequentially on the
# same disk, loopback only, never one at the same time as the other.
#
# Environment: N, SIZE (bytes), SESSIONS, BIG_MB, SKIP_BUILD=1 (use the existing
# target/release/baedal), KEEP=1 (keep the temp dir with logs), TIMEOUT (s, per run, 600).
# Nothing here does DNS: every address is an IP literal, Postfix has DNS and PTR lookups off,
# Baedal's resolver points at 127.0.0.1:9 (nothing listens there).
set -euo pipefail

N=${N:-5000}
SIZE=${SIZE:-10240}
SESSIONS=${SESSIONS:-16}
BIG_MB=${BIG_MB:-100}
TIMEOUT=${TIMEOUT:-600}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=$ROOT/target/release/baedal

[ "$(id -u)" = 0 ] || { echo "run as root (postfix start and dovecot need it)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Install what is missing. policy-rc.d (exit 101) keeps apt from starting any daemon.
need=()
[ -x /usr/sbin/smtp-source ] && command -v postfix >/dev/null || need+=(postfix)
command -v dovecot >/dev/null || need+=(dovecot-core)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
command -v python3 >/dev/null || need+=(python3)
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

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release --bin baedal"
  (cd "$ROOT" && cargo build --release --bin baedal --quiet)
fi
[ -x "$BAEDAL" ] || { echo "no $BAEDAL: build it first" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
T=$(mktemp -d /tmp/baedal-bench.XXXXXX); chmod 755 "$T"   # dovecot/postfix users traverse it
BAEDAL_PID=; DOVECOT_PID=; PF_STARTED=
cleanup() {
  set +e
  [ -n "$BAEDAL_PID" ] && kill -TERM "$BAEDAL_PID" 2>/dev/null && wait "$BAEDAL_PID" 2>/dev/null
  [ -n "$PF_STARTED" ] && postfix -c "$T/pf/etc" stop >/dev/null 2>&1
  [ -n "$DOVECOT_PID" ] && kill -TERM "$DOVECOT_PID" 2>/dev/null && wait "$DOVECOT_PID" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
count_files() { local n=0 d; for d in "$@"; do [ -d "$d" ] && n=$((n + $(find "$d" -maxdepth 1 -type f | wc -l))); done; echo $n; }
# wait_count TARGET DIR... : poll every 50 ms (a poll of 5000 files costs ~5 ms CPU) until the
# directories hold TARGET files
wait_count() {
  local target=$1; shift; local deadline=$(( $(date +%s) + TIMEOUT ))
  while [ "$(count_files "$@")" -lt "$target" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timeout: $(count_files "$@")/$target in $*" >&2; return 1; }
    sleep 0.05
  done
}
vm() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }   # kB
# smtp-source: -d keeps each of the SESSIONS connections open for message after message
source_load() { smtp-source -d -s "$SESSIONS" -m "$N" -l "$SIZE" -M bench-client.example \
                  -f sender@bench-client.example -t bench@example.org "127.0.0.1:$1"; }

echo "== $N messages x $SIZE bytes, $SESSIONS sessions; temp dir $T ($(df -T "$T" | awk 'NR==2{print $2}'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"

# ---------------------------------------------------------------------------------------------
# 1. Baedal
B=$T/baedal; mkdir -p "$B"
BPORT=$(free_port)
cat >"$B/baedal.toml" <<CONF
hostname = "mx.bench.example"
data_dir = "$B/data"
[listen]
http = "127.0.0.1:0"
smtp = "127.0.0.1:$BPORT"
[smtp]
max_connections_per_ip = 100
max_message_size = "$((BIG_MB * 2))M"
[dns]
nameservers = ["127.0.0.1:9"]
[log]
level = "warn"
CONF
"$BAEDAL" --config "$B/baedal.toml" serve >"$B/baedal.log" 2>&1 &
BAEDAL_PID=$!
for _ in $(seq 1 200); do [ -s "$B/data/run/listeners.json" ] && break; sleep 0.05; done
wait_port "$BPORT" || { echo "baedal did not listen"; cat "$B/baedal.log"; exit 1; }
"$BAEDAL" --config "$B/baedal.toml" domain add example.org >/dev/null
printf 'pw\n' | "$BAEDAL" --config "$B/baedal.toml" user add bench@example.org --password-stdin --quota 0 >/dev/null
BCUR=$B/data/mail/example.org/bench/Maildir/cur

echo "== Baedal: sending"
t0=$(now)
source_load "$BPORT"
t_sent=$(now)
wait_count "$N" "$BCUR"
t1=$(now)
B_SECS=$(calc "$t1 - $t0"); B_SENT=$(calc "$t_sent - $t0")

# 3. Peak RSS while Baedal receives one big message (same process, after the load run).
echo "== Baedal: one ${BIG_MB} MB message"
python3 - "$T/big.eml" "$BIG_MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
line = (b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab" + b"\r\n")  # 76 bytes
head = (b"From: sender@bench-client.example\r\nTo: bench@example.org\r\n"
        b"Subject: big\r\nMessage-ID: <big@bench-client.example>\r\n\r\n")
with open(path, "wb") as f:
    f.write(head)
    block = line * 13797                                   # ~1 MB of whole lines
    size = len(head)
    while size < mb * 1024 * 1024:
        f.write(block); size += len(block)
PY
echo 5 >"/proc/$BAEDAL_PID/clear_refs" 2>/dev/null && HWM_RESET=yes || HWM_RESET=no  # VmHWM := VmRSS
RSS0=$(vm "$BAEDAL_PID" VmRSS); HWM0=$(vm "$BAEDAL_PID" VmHWM)
python3 - "$BPORT" "$T/big.eml" <<'PY'
# DATA streamed from the file in 64 KB blocks; the file has CRLF lines and no line starting "."
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
def reply(expect):
    while True:
        l = f.readline()
        if not l: raise SystemExit("connection closed")
        if l[3:4] != b"-": break
    if not l.startswith(expect): raise SystemExit("unexpected reply: %r" % l)
reply(b"220")
for cmd, exp in ((b"EHLO bench-client.example", b"250"), (b"MAIL FROM:<sender@bench-client.example>", b"250"),
                 (b"RCPT TO:<bench@example.org>", b"250"), (b"DATA", b"354")):
    s.sendall(cmd + b"\r\n"); reply(exp)
with open(path, "rb") as m:
    while True:
        b = m.read(65536)
        if not b: break
        s.sendall(b)
s.sendall(b".\r\n"); reply(b"250")
s.sendall(b"QUIT\r\n"); reply(b"221")
PY
RSS1=$(vm "$BAEDAL_PID" VmRSS); HWM1=$(vm "$BAEDAL_PID" VmHWM)
BIG_BYTES=$(stat -c %s "$T/big.eml")
wait_count $((N + 1)) "$BCUR"
BIG_STORED=$(find "$BCUR" -maxdepth 1 -type f -size +"$((BIG_BYTES - 1))"c | wc -l)
kill -TERM "$BAEDAL_PID"; wait "$BAEDAL_PID" || true; BAEDAL_PID=

# ---------------------------------------------------------------------------------------------
# 2. Postfix -> Dovecot LMTP -> Maildir
D=$T/dovecot; mkdir -p "$D/run" "$D/mail"; chown nobody:nogroup "$D/mail"
LPORT=$(free_port)
echo "bench@example.org:{PLAIN}pw::::::" >"$D/users"; chmod 644 "$D/users"
cat >"$D/dovecot.conf" <<CONF
# self-contained: nothing from /etc/dovecot is read; everything else is Dovecot's default
instance_name = bench-$(basename "$T")
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
listen = 127.0.0.1
protocols = lmtp
ssl = no
mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
  default_fields = home=$D/mail/%d/%n
}
service lmtp {
  inet_listener lmtp {
    port = $LPORT
  }
}
protocol lmtp {
  auth_username_format = %Lu
}
CONF
dovecot -c "$D/dovecot.conf" -n >/dev/null
dovecot -c "$D/dovecot.conf" -F >"$D/stdout.log" 2>&1 &
DOVECOT_PID=$!
wait_port "$LPORT" || { echo "dovecot did not listen"; cat "$D/stdout.log" "$D/dovecot.log"; exit 1; }

P=$T/pf; mkdir -p "$P/etc" "$P/queue" "$P/data"; chown postfix: "$P/data"
PPORT=$(free_port)
cat >"$P/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $P/queue
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $P
maillog_file = $P/maillog
myhostname = mx.bench.example
mydomain = bench.example
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP
virtual_mailbox_domains = example.org
virtual_mailbox_maps = inline:{ bench@example.org=bench }
virtual_transport = lmtp:inet:[127.0.0.1]:$LPORT
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
message_size_limit = $((BIG_MB * 2 * 1024 * 1024))
# no DNS anywhere
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
CONF
cat >"$P/etc/master.cf" <<CONF
127.0.0.1:$PPORT inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
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
lmtp       unix  - - n -  - lmtp
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
CONF
# with no syslog, errors of "start" only show in "check" and the maillog
postfix -c "$P/etc" start >/dev/null 2>&1 || { postfix -c "$P/etc" -v check; cat "$P/maillog"; exit 1; }
PF_STARTED=1
wait_port "$PPORT" || { echo "postfix did not listen"; cat "$P/maillog"; exit 1; }
DMAIL=$D/mail/example.org/bench/Maildir

echo "== Postfix + Dovecot: sending"
t0=$(now)
source_load "$PPORT"
t_sent=$(now)
wait_count "$N" "$DMAIL/new" "$DMAIL/cur" || { tail -20 "$P/maillog" "$D/dovecot.log"; exit 1; }
t1=$(now)
P_SECS=$(calc "$t1 - $t0"); P_SENT=$(calc "$t_sent - $t0")
postfix -c "$P/etc" stop >/dev/null 2>&1; PF_STARTED=
kill -TERM "$DOVECOT_PID"; wait "$DOVECOT_PID" || true; DOVECOT_PID=

# ---------------------------------------------------------------------------------------------
B_RATE=$(calc "$N / $B_SECS"); P_RATE=$(calc "$N / $P_SECS")
echo
echo "Inbound SMTP, $N x $SIZE B over $SESSIONS sessions (smtp-source -d), until all are in the Maildir"
printf '%-24s %9s %9s %11s %22s\n' system messages seconds messages/s "(smtp-source done, s)"
printf '%-24s %9d %9.2f %11.1f %22.2f\n' "Baedal" "$N" "$B_SECS" "$B_RATE" "$B_SENT"
printf '%-24s %9d %9.2f %11.1f %22.2f\n' "Postfix+Dovecot LMTP" "$N" "$P_SECS" "$P_RATE" "$P_SENT"
printf 'ratio Baedal / Postfix+Dovecot: %.2f\n' "$(calc "$B_RATE / $P_RATE")"
echo "Durability: Baedal fsyncs the blob and commits SQLite (synchronous=FULL) before 250;"
echo "            Postfix and Dovecot run with their defaults, which fsync too."
echo
printf 'Baedal receiving one %.1f MB message: VmHWM growth %.1f MB (VmRSS %.1f -> %.1f MB, VmHWM %.1f -> %.1f MB; HWM reset: %s; stored: %s)\n' \
  "$(calc "$BIG_BYTES / 1048576")" "$(calc "($HWM1 - $HWM0) / 1024")" "$(calc "$RSS0/1024")" "$(calc "$RSS1/1024")" \
  "$(calc "$HWM0/1024")" "$(calc "$HWM1/1024")" "$HWM_RESET" "$([ "$BIG_STORED" = 1 ] && echo yes || echo no)"
