#!/usr/bin/env bash
# A throwaway Dovecot 2.3 (Debian dovecot-core + dovecot-imapd) as a reference IMAP server for
# the tests, loopback only, plain IMAP (no TLS), Maildir under DIR, nothing from /etc/dovecot.
#   dovecot.sh start DIR PORT
#       -> dovecot (master in the foreground, backgrounded here) with DIR/dovecot.conf, IMAP on
#          127.0.0.1:PORT, IMAPS off; waits for the greeting; prints KEY=VALUE lines:
#          DOVECOT_DIR DOVECOT_PID DOVECOT_HOST DOVECOT_PORT DOVECOT_USERS DOVECOT_PASSWORD
#          DOVECOT_LOG
#   dovecot.sh user DIR NAME [PASSWORD]
#       -> adds a user to the passwd-file (Dovecot rereads it when it changes; no restart)
#   dovecot.sh stop DIR
#       -> SIGTERM to the master by its PID file, waits for it and every process it had started
#          (SIGKILL after 5 s); leaves DIR (its config, log and mail).
#
# Users (passwd-file, {PLAIN}, all with the password DOVECOT_PASSWORD = dovecot-test):
# user1@example.org .. user4@example.org, and any added with `user`; each starts with an empty
# Maildir in DIR/mail/DOMAIN/NAME. Capabilities are Dovecot's defaults (SORT, SORT=DISPLAY,
# THREAD=REFERENCES/REFS/ORDEREDSUBJECT, ESEARCH, ESORT, CONDSTORE, QRESYNC, ...); no mail
# plugins. The processes run with TZ=UTC, so SEARCH BEFORE/SINCE/ON see INTERNALDATEs in UTC.
#
# Needs root: the master runs as root, logins as dovenull, auth/stats as dovecot (the users the
# dovecot-core package creates), mail access as nobody:nogroup, which owns DIR/mail.
set -euo pipefail

PASSWORD=dovecot-test
DEFAULT_USERS="user1@example.org user2@example.org user3@example.org user4@example.org"

usage() { echo "usage: $0 start DIR PORT | user DIR NAME [PASSWORD] | stop DIR" >&2; exit 2; }

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
  local D=$1 pid pids p i alive
  [ -f "$D/dovecot.pid.bg" ] || return 0
  pid=$(cat "$D/dovecot.pid.bg")
  if running "$pid"; then
    # The master's children (auth, imap-login, imap, log, ...) by PID, before it goes: the test
    # is over only when all of them are.
    pids=$(tree "$pid" | sort -u)
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      alive=
      for p in $pids; do running "$p" && alive="$alive $p"; done
      [ -z "$alive" ] && break
      sleep 0.05
    done
    if [ -n "$alive" ]; then
      echo "dovecot.sh: processes$alive of dovecot (master $pid) outlived SIGTERM by 5 s; killing them" >&2
      for p in $alive; do kill -KILL "$p" 2>/dev/null || true; done
      for i in $(seq 1 40); do
        alive=
        for p in $pids; do running "$p" && alive="$alive $p"; done
        [ -z "$alive" ] && break
        sleep 0.05
      done
    fi
  fi
  rm -f "$D/dovecot.pid.bg"
}

add_user() { # DIR NAME PASSWORD
  local D=$1 name=$2 pw=$3
  case "$name" in *:*|*/*|"") echo "dovecot.sh: bad user name '$name'" >&2; exit 2 ;; esac
  case "$pw" in *:*) echo "dovecot.sh: a password may not contain ':'" >&2; exit 2 ;; esac
  if cut -d: -f1 "$D/users" 2>/dev/null | grep -qxF "$name"; then
    echo "dovecot.sh: user $name exists" >&2; exit 1
  fi
  # passwd-file: user:{SCHEME}password:uid:gid:gecos:home:shell:extra_fields
  echo "$name:{PLAIN}$pw::::::" >> "$D/users"
}

case "${1:-}" in
start)
  [ $# -eq 3 ] || usage
  mkdir -p "$2"; D=$(cd "$2" && pwd); PORT=$3
  [ "$(id -u)" = 0 ] || { echo "dovecot.sh: run as root (the master runs as root and drops to nobody/dovenull)" >&2; exit 1; }
  command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/imap ] || {
    echo "dovecot.sh: dovecot-core and dovecot-imapd are needed (tests/peers/install.sh installs them)" >&2
    exit 1
  }
  for u in dovecot dovenull nobody; do
    id "$u" >/dev/null 2>&1 || { echo "dovecot.sh: no user $u (dovecot-core creates dovecot and dovenull)" >&2; exit 1; }
  done
  if [ -f "$D/dovecot.pid.bg" ] && running "$(cat "$D/dovecot.pid.bg")"; then
    echo "dovecot.sh: a dovecot already runs in $D (pid $(cat "$D/dovecot.pid.bg"))" >&2
    exit 1
  fi
  # Unix sockets live in DIR/run (the longest, DIR/run/login/imap-hibernate and the like, are
  # about 30 bytes past DIR); a socket path may have 107.
  if [ ${#D} -gt 70 ]; then
    echo "dovecot.sh: DIR $D is too long for Dovecot's Unix sockets in DIR/run; use a shorter DIR" >&2
    exit 1
  fi
  # Login processes (dovenull) and mail processes (nobody) must traverse DIR and each directory
  # above it. A tempdir is 0700: open DIR itself; / of a fresh chroot may be 0700 as well.
  if [ $(( 0$(stat -c %a /) & 01 )) = 0 ]; then
    echo "dovecot.sh: / is not traversable by other users (mode $(stat -c %a /)); adding o+x" >&2
    chmod o+x /
  fi
  chmod 755 "$D"
  p=$(dirname "$D")
  while [ "$p" != / ]; do
    if [ $(( 0$(stat -c %a "$p") & 01 )) = 0 ]; then
      echo "dovecot.sh: $p is not traversable by other users (mode $(stat -c %a "$p")); Dovecot's users cannot reach $D" >&2
      exit 1
    fi
    p=$(dirname "$p")
  done
  rm -rf "$D/run" "$D/state"
  mkdir -p "$D/run" "$D/state" "$D/mail"
  chown nobody:nogroup "$D/mail"
  if [ ! -f "$D/users" ]; then
    : > "$D/users"
    for u in $DEFAULT_USERS; do add_user "$D" "$u" "$PASSWORD"; done
  fi
  chmod 644 "$D/users"

  cat > "$D/dovecot.conf" <<CONF
# Self-contained: nothing from /etc/dovecot is read; what is not set here is Dovecot's default.
instance_name = dovecot-peer-$(basename "$D")
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
info_log_path = $D/dovecot.log
listen = 127.0.0.1
protocols = imap
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
mail_plugins =
mail_fsync = never
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# the default 2 s pause after a failed login only slows negative tests down
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
  default_fields = home=$D/mail/%d/%n
}
# (one setting per line: "name { port = N }" on one line is a syntax error)
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
CONF
  : > "$D/dovecot.log"
  if ! TZ=UTC dovecot -c "$D/dovecot.conf" -n > "$D/doveconf.out" 2> "$D/doveconf.err"; then
    echo "dovecot.sh: dovecot rejects $D/dovecot.conf:" >&2
    cat "$D/doveconf.err" >&2
    exit 1
  fi
  # -F: the master stays in the foreground, so $! is its PID.
  TZ=UTC dovecot -c "$D/dovecot.conf" -F </dev/null >"$D/stdout.log" 2>&1 &
  PID=$!
  echo "$PID" > "$D/dovecot.pid.bg"

  # Up when the port greets with "* OK".
  up=
  wait_s=${DOVECOT_START_TIMEOUT:-30}
  deadline=$(( $(date +%s%N) + wait_s * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$deadline" ]; do
    running "$PID" || break
    if greeting=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && head -n1 <&3" 2>/dev/null) &&
       [[ "$greeting" == "* OK"* ]]; then
      up=1; break
    fi
    sleep 0.05
  done
  if [ -z "$up" ]; then
    if running "$PID"; then
      echo "dovecot.sh: dovecot (pid $PID) did not greet on 127.0.0.1:$PORT within $wait_s s" >&2
    else
      echo "dovecot.sh: dovecot exited during start-up (port $PORT)" >&2
    fi
    echo "--- $D/stdout.log, last lines of $D/dovecot.log ---" >&2
    cat "$D/stdout.log" >&2 || true
    tail -n 25 "$D/dovecot.log" >&2 || true
    stop "$D"
    exit 1
  fi

  echo "DOVECOT_DIR=$D"
  echo "DOVECOT_PID=$PID"
  echo "DOVECOT_HOST=127.0.0.1"
  echo "DOVECOT_PORT=$PORT"
  echo "DOVECOT_USERS=$(cut -d: -f1 "$D/users" | paste -sd' ')"
  echo "DOVECOT_PASSWORD=$PASSWORD"
  echo "DOVECOT_LOG=$D/dovecot.log"
  ;;
user)
  [ $# -eq 3 ] || [ $# -eq 4 ] || usage
  D=$(cd "$2" && pwd)
  [ -f "$D/users" ] || { echo "dovecot.sh: no $D/users: start it first" >&2; exit 1; }
  add_user "$D" "$3" "${4:-$PASSWORD}"
  ;;
stop)
  [ $# -eq 2 ] || usage
  stop "$2"
  ;;
*)
  usage ;;
esac
