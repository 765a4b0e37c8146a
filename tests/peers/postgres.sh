#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests, loopback only, fsync off.
#   postgres.sh start DIR [PORT]  -> initdb in DIR, start, print BAEDAL_TEST_PG_URL=...
#   postgres.sh stop DIR          -> stop it (by its PID file) and remove DIR
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
RUN=()
[ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)

case "${1:-}" in
start)
  D=$2; PORT=${3:-55432}
  # PostgreSQL runs as the postgres user, who must traverse / to reach its binaries; a fresh
  # chroot made with mktemp has a 0700 root directory.
  if [ "$(id -u)" = 0 ] && [ $(( 0$(stat -c %a /) & 01 )) = 0 ]; then
    echo "postgres.sh: / is not traversable by other users (mode $(stat -c %a /)); adding o+x" >&2
    chmod o+x /
  fi
  mkdir -p "$D"
  [ "$(id -u)" = 0 ] && chown postgres: "$D"
  echo 'baedal-test' > "$D/pw"; chmod 600 "$D/pw"
  [ "$(id -u)" = 0 ] && chown postgres: "$D/pw"
  "${RUN[@]}" $BIN/initdb -D "$D/data" -U postgres --pwfile="$D/pw" -A scram-sha-256 \
      --auth-local=trust -E UTF8 --locale=C.UTF-8 -N >"$D/initdb.log"
  "${RUN[@]}" $BIN/pg_ctl -D "$D/data" -l "$D/server.log" -w -t 60 \
      -o "-p $PORT -k $D -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null
  echo "BAEDAL_TEST_PG_URL=postgres://postgres:baedal-test@127.0.0.1:$PORT/postgres"
  ;;
stop)
  D=$2
  if [ -f "$D/data/postmaster.pid" ]; then
    "${RUN[@]}" $BIN/pg_ctl -D "$D/data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$D"
  ;;
*)
  echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
