#!/usr/bin/env bash
# A throwaway clamd (Debian clamav-daemon 1.4) for the tests, loopback only, offline: its only
# signatures are EICAR ones written here (Debian ships no database and freshclam is not run).
#   clamd.sh start DIR PORT [STREAM_MAX]
#       -> clamd -c DIR/clamd.conf in the foreground (backgrounded here), on 127.0.0.1:PORT and
#          the Unix socket DIR/clamd.sock; waits until PING answers PONG on both; prints
#          KEY=VALUE lines: CLAMD_ADDRESS CLAMD_SOCKET CLAMD_LOG
#   clamd.sh stop DIR
#       -> stops it by its PID file (SIGTERM, then SIGKILL after 5 s); leaves DIR (and its log).
#
# STREAM_MAX (clamd SIZE syntax: N, NK or NM; default 150M, above a 100 MB message plus its
# base64 overhead) is StreamMaxLength: past it clamd answers "INSTREAM size limit exceeded.
# ERROR" and closes the connection. MaxFileSize is STREAM_MAX too; MaxScanSize, which counts a
# container plus everything unpacked from it (message -> base64 attachment -> ZIP -> file),
# is 4 x STREAM_MAX. Over those limits clamd stops unpacking and answers OK (AlertExceedsMax
# is off, as by default).
# Database DIR/db: test.hdb (EICAR's MD5 and size, as Test.EICAR) and test.ndb (the body
# pattern EICAR-STANDARD-ANTIVIRUS-TEST-FILE anywhere, as Test.EICAR.Body); clamd reports
# them with ".UNOFFICIAL" appended: match "stream: Test.EICAR" ... " FOUND".
# Base64 MIME parts and ZIP archives are unpacked (ScanMail, ScanArchive: clamd's defaults).
# Protocol: zINSTREAM\0, chunks <4-byte big-endian length><data>, a zero-length chunk; replies
# end in \0: "stream: OK", "stream: NAME FOUND", "INSTREAM size limit exceeded. ERROR".
#
# clamd runs as the user who starts it: as root it stays root (no User line; clamd does not
# refuse root, and root can reach any DIR), as another user it runs as that user.
# CLAMD_START_TIMEOUT (default 60 s) bounds the wait for PONG.
set -euo pipefail

EICAR_MD5=44d88612fea8a8f36de82e1278abb02f

usage() { echo "usage: $0 start DIR PORT [STREAM_MAX] | stop DIR" >&2; exit 2; }

# True while PID runs (a zombie counts as stopped: nothing may reap an orphan here).
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

stop() {
  local D=$1 pid
  [ -f "$D/clamd.pid.bg" ] || return 0
  pid=$(cat "$D/clamd.pid.bg")
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do running "$pid" || break; sleep 0.05; done
    if running "$pid"; then
      echo "clamd.sh: clamd (pid $pid) ignored SIGTERM for 5 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do running "$pid" || break; sleep 0.05; done
    fi
  fi
  rm -f "$D/clamd.pid.bg"
}

# PING over TCP (bash) and over the Unix socket (python3); true if both answer PONG.
pong_tcp() {
  local r
  r=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'nPING\n' >&3 && head -n1 <&3" 2>/dev/null) &&
    [ "$r" = PONG ]
}
pong_unix() {
  [ -S "$1" ] && timeout 2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(1.5)
s.connect(sys.argv[1])
s.sendall(b"nPING\n")
sys.exit(0 if s.recv(16) == b"PONG\n" else 1)' "$1" 2>/dev/null
}

case "${1:-}" in
start)
  [ $# -eq 3 ] || [ $# -eq 4 ] || usage
  mkdir -p "$2"; D=$(cd "$2" && pwd); PORT=$3; STREAM_MAX=${4:-150M}
  [[ "$STREAM_MAX" =~ ^([0-9]+)([KkMm]?)$ ]] || {
    echo "clamd.sh: STREAM_MAX must be N, NK or NM (bytes, KiB, MiB), not '$STREAM_MAX'" >&2
    exit 2
  }
  SCAN_MAX="$(( BASH_REMATCH[1] * 4 ))${BASH_REMATCH[2]}"
  command -v clamd >/dev/null || PATH=$PATH:/usr/sbin
  if ! command -v clamd >/dev/null || ! command -v python3 >/dev/null; then
    echo "clamd.sh: clamd (clamav-daemon) and python3 are needed (tests/peers/install.sh installs them)" >&2
    exit 1
  fi
  if [ -f "$D/clamd.pid.bg" ] && running "$(cat "$D/clamd.pid.bg")"; then
    echo "clamd.sh: a clamd already runs in $D (pid $(cat "$D/clamd.pid.bg"))" >&2
    exit 1
  fi
  SOCK="$D/clamd.sock"
  if [ ${#SOCK} -gt 100 ]; then
    echo "clamd.sh: socket path $SOCK is too long for a Unix socket; use a shorter DIR" >&2
    exit 1
  fi
  rm -rf "$D/db" "$D/tmp" "$SOCK"; mkdir -p "$D/db" "$D/tmp"
  echo "$EICAR_MD5:68:Test.EICAR" > "$D/db/test.hdb"
  echo "Test.EICAR.Body:0:*:$(printf %s EICAR-STANDARD-ANTIVIRUS-TEST-FILE | od -An -tx1 | tr -d ' \n')" \
    > "$D/db/test.ndb"

  cat > "$D/clamd.conf" <<CONF
# Self-contained: nothing from /etc/clamav is read.
Foreground true
LogFile $D/clamd.log
LogTime true
LogVerbose false
LogFileMaxSize 0
PidFile $D/clamd.pid
TemporaryDirectory $D/tmp
DatabaseDirectory $D/db
OfficialDatabaseOnly false
TCPSocket $PORT
TCPAddr 127.0.0.1
LocalSocket $SOCK
LocalSocketMode 666
FixStaleSocket true
StreamMaxLength $STREAM_MAX
MaxFileSize $STREAM_MAX
MaxScanSize $SCAN_MAX
MaxThreads 10
ReadTimeout 120
CommandReadTimeout 30
SelfCheck 3600
ScanMail true
ScanArchive true
AlertExceedsMax false
CONF
  : > "$D/clamd.log"
  # Foreground true: clamd does not fork, so $! is its real PID.
  clamd -c "$D/clamd.conf" </dev/null >"$D/stdout.log" 2>&1 &
  PID=$!
  echo "$PID" > "$D/clamd.pid.bg"

  up=
  wait_s=${CLAMD_START_TIMEOUT:-60}
  deadline=$(( $(date +%s%N) + wait_s * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$deadline" ]; do
    running "$PID" || break
    if pong_tcp "$PORT" && pong_unix "$SOCK"; then up=1; break; fi
    sleep 0.05
  done
  if [ -z "$up" ]; then
    if running "$PID"; then
      echo "clamd.sh: clamd (pid $PID) did not answer PING on 127.0.0.1:$PORT and $SOCK within $wait_s s" >&2
    else
      echo "clamd.sh: clamd exited during start-up (port $PORT)" >&2
    fi
    echo "--- $D/stdout.log, last lines of $D/clamd.log ---" >&2
    cat "$D/stdout.log" >&2 || true
    tail -n 25 "$D/clamd.log" >&2 || true
    stop "$D"
    exit 1
  fi

  echo "CLAMD_ADDRESS=127.0.0.1:$PORT"
  echo "CLAMD_SOCKET=$SOCK"
  echo "CLAMD_LOG=$D/clamd.log"
  ;;
stop)
  [ $# -eq 2 ] || usage
  stop "$2"
  ;;
*)
  usage ;;
esac
