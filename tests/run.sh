#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine (as root):
#   installs the peers and clients the tests need, starts them (PostgreSQL), builds once,
#   checks formatting and lints, runs every test of the workspace, stops the peers.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/peers/install.sh

RUNDIR=$(mktemp -d /tmp/baedal-test.XXXXXX)
chmod 755 "$RUNDIR"   # the postgres user must reach its cluster inside
PG_PORT=${BAEDAL_TEST_PG_PORT:-$(( 20000 + RANDOM % 20000 ))}
cleanup() {
  tests/peers/rspamd.sh stop "$RUNDIR/rspamd" || true
  tests/peers/clamd.sh stop "$RUNDIR/clamd" || true
  tests/peers/postgres.sh stop "$RUNDIR/pg" || true
  rm -rf "$RUNDIR"
}
trap cleanup EXIT

PG_ENV=$(tests/peers/postgres.sh start "$RUNDIR/pg" "$PG_PORT")
export "${PG_ENV?}"
echo "PostgreSQL test cluster on 127.0.0.1:$PG_PORT"

# The content filters' daemons, shared by the filter tests (a test that stops one starts
# its own).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A free port may be taken by the time rspamd binds it (its start takes seconds): try again
# on another.
for try in 1 2 3; do
  RSPAMD_ENV=$(tests/peers/rspamd.sh start "$RUNDIR/rspamd" "$(free_port)") && break
  [ "$try" = 3 ] && { echo "rspamd did not start" >&2; exit 1; }
done
export BAEDAL_TEST_RSPAMD_URL=$(echo "$RSPAMD_ENV" | sed -n 's/^RSPAMD_URL=//p')
for try in 1 2 3; do
  CLAMD_ENV=$(tests/peers/clamd.sh start "$RUNDIR/clamd" "$(free_port)") && break
  [ "$try" = 3 ] && { echo "clamd did not start" >&2; exit 1; }
done
export BAEDAL_TEST_CLAMD_ADDRESS=$(echo "$CLAMD_ENV" | sed -n 's/^CLAMD_ADDRESS=//p')
export BAEDAL_TEST_CLAMD_SOCKET=$(echo "$CLAMD_ENV" | sed -n 's/^CLAMD_SOCKET=//p')
echo "rspamd at $BAEDAL_TEST_RSPAMD_URL, clamd at $BAEDAL_TEST_CLAMD_ADDRESS and $BAEDAL_TEST_CLAMD_SOCKET"

cargo fmt --all -- --check
cargo build --workspace --all-targets --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
