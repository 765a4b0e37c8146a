#!/bin/bash
# Inbound SMTP benchmark: Baedal (embedded and production profiles) against Postfix -> Dovecot
# LMTP, on this machine, in one run.
#
#   bash bench/smtp-inbound.sh            # as root on Debian 12 (installs what it needs with apt)
#   N=1000 SESSIONS=8 bash bench/smtp-inbound.sh
#   PROFILES=embedded ONLY=baedal bash bench/smtp-inbound.sh
#
# What it measures (a benchmark, not a test: it prints figures, it checks nothing about them):
#   1. Baedal, embedded profile (SQLite + Maildir files under DATA_DIR): Postfix's smtp-source
#      sends N (5000) messages of SIZE (10 KB) over SESSIONS (16) parallel, persistent SMTP
#      sessions to Baedal's MX listener. Time runs from the start of sending until all N
#      messages are in DATA_DIR/mail/example.org/bench/Maildir/cur/.
#   2. Baedal, production profile (PostgreSQL index + S3 objects), both peers on this machine:
#      a throwaway PostgreSQL 15 cluster (fsync=on, synchronous_commit=on, unless PG_FSYNC=off)
#      and s3s-fs, a standalone S3 server that keeps each object as a file under its root. The
#      same load; time runs until all N objects are under
#      S3ROOT/mailboxes/example.org/bench/Maildir/cur/ (the bucket "mailboxes", key
#      example.org/bench/Maildir/cur/...). The messages rows in PostgreSQL are counted after.
#   3. The same load to Postfix smtpd -> queue -> lmtp -> Dovecot LMTP -> Maildir. Time runs
#      until N files are in the user's Maildir (new/ + cur/).
#   4. Peak RSS growth (VmHWM) of the Baedal process, per profile, while it receives one
#      BIG_MB (100) MB message over DATA, streamed from a file (on S3: a multipart upload).
# Durability: Baedal fsyncs the spooled message before it answers 250; embedded, it renames the
# spool file into cur/, fsyncs the directory and commits SQLite with synchronous=FULL;
# production, it PUTs the object to S3 and commits PostgreSQL (fsync=on by default here).
# s3s-fs itself writes the object to a temp file and renames it into place WITHOUT fsync (MinIO
# would sync), so on production the object is durable only in Baedal's local spool copy until
# the page cache is flushed. Postfix (queue file fsync) and Dovecot (mail_fsync=optimized) run
# with their defaults, which fsync too. Everything runs sequentially on the same disk, loopback
# only, never one system at the same time as another; each profile's peers are started before
# it and stopped after it.
#
# Environment: N, SIZE (bytes), SESSIONS, BIG_MB, PROFILES ("embedded production"; either or
# both, in that order), ONLY=baedal|postfix (one side only), PG_FSYNC (on; off: the tests'
# throwaway settings fsync=off, synchronous_commit=off, full_page_writes=off), PGBIN
# (/usr/lib/postgresql/15/bin), S3S_FS (/opt/s3s-fs/bin/s3s-fs; installed with cargo install
# when missing), BAEDAL (binary, target/release/baedal), SKIP_BUILD=1 (use the existing binary),
# KEEP=1 (keep the temp dir with logs), TIMEOUT (s, per run, 600).
# Nothing here does DNS: every address is an IP literal, Postfix has DNS and PTR lookups off,
# Baedal's resolver points at 127.0.0.1:9 (nothing listens there).
set -euo pipefail

N=${N:-5000}
SIZE=${SIZE:-10240}
SESSIONS=${SESSIONS:-16}
BIG_MB=${BIG_MB:-100}
TIMEOUT=${TIMEOUT:-600}
PROFILES=${PROFILES:-embedded production}
ONLY=${ONLY:-}
PG_FSYNC=${PG_FSYNC:-on}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
S3S_FS=${S3S_FS:-/opt/s3s-fs/bin/s3s-fs}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BAEDAL=${BAEDAL:-$ROOT/target/release/baedal}

case "$ONLY" in ""|baedal|postfix) ;; *) echo "ONLY=baedal|postfix" >&2; exit 2 ;; esac
for p in $PROFILES; do
  case "$p" in embedded|production) ;; *) echo "PROFILES: embedded and/or production, not $p" >&2; exit 2 ;; esac
done
case "$PG_FSYNC" in on|off) ;; *) echo "PG_FSYNC=on|off" >&2; exit 2 ;; esac
[ "$ONLY" = postfix ] && PROFILES=
[ "$ONLY" = baedal ] && RUN_POSTFIX= || RUN_POSTFIX=1
PRODUCTION=; [[ " $PROFILES " == *" production "* ]] && PRODUCTION=1

[ "$(id -u)" = 0 ] || { echo "run as root (postfix start and dovecot need it)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Install what is missing. policy-rc.d (exit 101) keeps apt from starting any daemon.
need=()
[ -x /usr/sbin/smtp-source ] && command -v postfix >/dev/null || need+=(postfix)   # smtp-source
if [ -n "$RUN_POSTFIX" ]; then
  command -v dovecot >/dev/null || need+=(dovecot-core)
  [ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
fi
if [ -n "$PRODUCTION" ]; then
  [ -x "$PGBIN/postgres" ] || need+=(postgresql-15)
  command -v psql >/dev/null || need+=(postgresql-client-15)
fi
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

if [ -n "$PRODUCTION" ] && [ ! -x "$S3S_FS" ]; then
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

# ---------------------------------------------------------------------------------------------
T=$(mktemp -d /tmp/baedal-bench.XXXXXX); chmod 755 "$T"   # dovecot/postfix users traverse it
BAEDAL_PID=; DOVECOT_PID=; PF_STARTED=; S3_PID=; PG_DIR=
cleanup() {
  set +e
  [ -n "$BAEDAL_PID" ] && kill -TERM "$BAEDAL_PID" 2>/dev/null && wait "$BAEDAL_PID" 2>/dev/null
  [ -n "$S3_PID" ] && kill -TERM "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
  [ -n "$PG_DIR" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
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
# The big message and its generator (used once per Baedal profile)
make_big() {
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
}
send_big() {
  python3 - "$1" "$T/big.eml" <<'PY'
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
}

# ---------------------------------------------------------------------------------------------
# Production peers: PostgreSQL 15 (own cluster, like tests/peers/postgres.sh but fsync on unless
# PG_FSYNC=off) and s3s-fs, both loopback only, both under the temp dir.
PG_PW=baedal-bench; S3_KEY=baedalbench; S3_SECRET=baedal-bench-secret
start_pg() {
  local d=$T/pg sync
  PGPORT=$(free_port)
  # PostgreSQL runs as the postgres user, who must traverse / to reach its binaries
  if [ $(( 0$(stat -c %a /) & 01 )) = 0 ]; then
    echo "smtp-inbound.sh: / is not traversable by other users (mode $(stat -c %a /)); adding o+x" >&2
    chmod o+x /
  fi
  mkdir -p "$d"; chown postgres: "$d"
  echo "$PG_PW" >"$d/pw"; chmod 600 "$d/pw"; chown postgres: "$d/pw"
  runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -U postgres --pwfile="$d/pw" -A scram-sha-256 \
      --auth-local=trust -E UTF8 --locale=C.UTF-8 -N >"$d/initdb.log"
  if [ "$PG_FSYNC" = on ]; then sync="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  else sync="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
  PG_DIR=$d
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
      -o "-p $PGPORT -k $d -c listen_addresses=127.0.0.1 $sync -c max_connections=100" \
      start >/dev/null || { cat "$d/server.log"; return 1; }
  PGPASSWORD=$PG_PW psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE baedal" >/dev/null
  PG_URL=postgres://postgres:$PG_PW@127.0.0.1:$PGPORT/baedal
}
stop_pg() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; PG_DIR=
}
pg_count() { PGPASSWORD=$PG_PW psql -At -h 127.0.0.1 -p "$PGPORT" -U postgres -d baedal -c "$1"; }
start_s3() {
  S3ROOT=$T/s3/root; mkdir -p "$S3ROOT/mailboxes"   # the bucket: a directory under the root
  S3PORT=$(free_port)
  RUST_LOG=warn "$S3S_FS" --host 127.0.0.1 --port "$S3PORT" --access-key "$S3_KEY" \
      --secret-key "$S3_SECRET" "$S3ROOT" >"$T/s3/s3s-fs.log" 2>&1 &
  S3_PID=$!
  wait_port "$S3PORT" || { echo "s3s-fs did not listen"; cat "$T/s3/s3s-fs.log"; return 1; }
}
stop_s3() { kill -TERM "$S3_PID"; wait "$S3_PID" || true; S3_PID=; }

# ---------------------------------------------------------------------------------------------
# 1./2. Baedal, one profile: run_baedal embedded|production
declare -A SECS SENT BIGMB HWMG RSSA RSSB HWMA HWMB HWMR BIGOK NOTE
run_baedal() {
  local prof=$1 B=$T/baedal-$1 BPORT STORE t0 t_sent t1 RSS0 RSS1 HWM0 HWM1 BIG_BYTES BIG_STORED
  mkdir -p "$B"
  BPORT=$(free_port)
  cat >"$B/baedal.toml" <<CONF
hostname = "mx.bench.example"
data_dir = "$B/data"
[listen]
http = "127.0.0.1:0"
admin = ""
smtp = "127.0.0.1:$BPORT"
[smtp]
max_connections_per_ip = 100
max_message_size = "$((BIG_MB * 2))M"
[dns]
nameservers = ["127.0.0.1:9"]
[log]
level = "warn"
CONF
  if [ "$prof" = production ]; then
    echo "== Baedal production: starting PostgreSQL (fsync=$PG_FSYNC) and s3s-fs"
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
    STORE=$S3ROOT/mailboxes/example.org/bench/Maildir/cur
  else
    STORE=$B/data/mail/example.org/bench/Maildir/cur
  fi
  "$BAEDAL" --config "$B/baedal.toml" serve >"$B/baedal.log" 2>&1 &
  BAEDAL_PID=$!
  for _ in $(seq 1 200); do [ -s "$B/data/run/listeners.json" ] && break; sleep 0.05; done
  wait_port "$BPORT" || { echo "baedal did not listen"; cat "$B/baedal.log"; exit 1; }
  "$BAEDAL" --config "$B/baedal.toml" domain add example.org >/dev/null
  printf 'pw\n' | "$BAEDAL" --config "$B/baedal.toml" user add bench@example.org --password-stdin --quota 0 >/dev/null

  echo "== Baedal $prof: sending"
  t0=$(now)
  source_load "$BPORT"
  t_sent=$(now)
  wait_count "$N" "$STORE" || { tail -20 "$B/baedal.log"; exit 1; }
  t1=$(now)
  SECS[$prof]=$(calc "$t1 - $t0"); SENT[$prof]=$(calc "$t_sent - $t0")

  # Peak RSS while Baedal receives one big message (same process, after the load run).
  echo "== Baedal $prof: one ${BIG_MB} MB message"
  [ -s "$T/big.eml" ] || make_big
  echo 5 >"/proc/$BAEDAL_PID/clear_refs" 2>/dev/null && HWMR[$prof]=yes || HWMR[$prof]=no  # VmHWM := VmRSS
  RSS0=$(vm "$BAEDAL_PID" VmRSS); HWM0=$(vm "$BAEDAL_PID" VmHWM)
  send_big "$BPORT"
  RSS1=$(vm "$BAEDAL_PID" VmRSS); HWM1=$(vm "$BAEDAL_PID" VmHWM)
  BIG_BYTES=$(stat -c %s "$T/big.eml")
  wait_count $((N + 1)) "$STORE"
  BIG_STORED=$(find "$STORE" -maxdepth 1 -type f -size +"$((BIG_BYTES - 1))"c | wc -l)
  BIGMB[$prof]=$(calc "$BIG_BYTES / 1048576"); HWMG[$prof]=$(calc "($HWM1 - $HWM0) / 1024")
  RSSA[$prof]=$(calc "$RSS0/1024"); RSSB[$prof]=$(calc "$RSS1/1024")
  HWMA[$prof]=$(calc "$HWM0/1024"); HWMB[$prof]=$(calc "$HWM1/1024")
  BIGOK[$prof]=$([ "$BIG_STORED" = 1 ] && echo yes || echo no)
  kill -TERM "$BAEDAL_PID"; wait "$BAEDAL_PID" || true; BAEDAL_PID=
  if [ "$prof" = production ]; then
    # the index must agree with the objects; nothing may have gone to local Maildir files
    NOTE[$prof]="PostgreSQL messages rows: $(pg_count 'SELECT COUNT(*) FROM messages') (expected $((N + 1)));"
    NOTE[$prof]+=" objects in the bucket: $(count_files "$STORE");"
    NOTE[$prof]+=" local Maildir files: $(find "$B/data" -path '*/Maildir/*' -type f 2>/dev/null | wc -l)"
    stop_s3; stop_pg
  fi
  local warns; warns=$(grep -ci 'warn\|error' "$B/baedal.log" || true)
  [ "$warns" = 0 ] || NOTE[$prof]+="${NOTE[$prof]:+; }baedal.log: $warns warning/error lines"
}

for prof in $PROFILES; do run_baedal "$prof"; done

# ---------------------------------------------------------------------------------------------
# 3. Postfix -> Dovecot LMTP -> Maildir
if [ -n "$RUN_POSTFIX" ]; then
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
fi

# ---------------------------------------------------------------------------------------------
label() { case "$1" in embedded) echo "Baedal embedded";; production) echo "Baedal production";; esac; }
rate() { calc "$N / $1"; }
echo
echo "Inbound SMTP, $N x $SIZE B over $SESSIONS sessions (smtp-source -d), until all are stored"
printf '%-24s %-26s %9s %9s %11s %22s\n' system store messages seconds messages/s "(smtp-source done, s)"
for prof in $PROFILES; do
  case $prof in embedded) store="SQLite + Maildir files";; production) store="PostgreSQL + S3 (s3s-fs)";; esac
  printf '%-24s %-26s %9d %9.2f %11.1f %22.2f\n' "$(label "$prof")" "$store" "$N" "${SECS[$prof]}" "$(rate "${SECS[$prof]}")" "${SENT[$prof]}"
done
[ -n "$RUN_POSTFIX" ] && printf '%-24s %-26s %9d %9.2f %11.1f %22.2f\n' "Postfix+Dovecot LMTP" "queue + Maildir files" "$N" "$P_SECS" "$(rate "$P_SECS")" "$P_SENT"
if [ -n "${SECS[embedded]:-}" ] && [ -n "${SECS[production]:-}" ]; then
  printf 'ratio Baedal production / Baedal embedded: %.2f\n' "$(calc "${SECS[embedded]} / ${SECS[production]}")"
fi
if [ -n "$RUN_POSTFIX" ]; then
  for prof in $PROFILES; do
    printf 'ratio %s / Postfix+Dovecot: %.2f\n' "$(label "$prof")" "$(calc "$P_SECS / ${SECS[$prof]}")"
  done
fi
echo "(ratios of messages/s: < 1 means the first is slower)"
echo "Durability: Baedal fsyncs its spool file before 250; embedded, it renames it into cur/, fsyncs"
echo "            the directory and commits SQLite (synchronous=FULL); production, it PUTs the object"
echo "            to s3s-fs (which renames it into place without fsync) and commits PostgreSQL"
echo "            (fsync=$PG_FSYNC). Postfix and Dovecot run with their defaults, which fsync too."
echo
for prof in $PROFILES; do
  printf '%s receiving one %.1f MB message: VmHWM growth %.1f MB (VmRSS %.1f -> %.1f MB, VmHWM %.1f -> %.1f MB; HWM reset: %s; stored: %s)\n' \
    "$(label "$prof")" "${BIGMB[$prof]}" "${HWMG[$prof]}" "${RSSA[$prof]}" "${RSSB[$prof]}" "${HWMA[$prof]}" "${HWMB[$prof]}" "${HWMR[$prof]}" "${BIGOK[$prof]}"
done
for prof in $PROFILES; do
  [ -n "${NOTE[$prof]:-}" ] && echo "$(label "$prof"): ${NOTE[$prof]}"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
