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
cleanup() { tests/peers/postgres.sh stop "$RUNDIR/pg" || true; rm -rf "$RUNDIR"; }
trap cleanup EXIT

PG_ENV=$(tests/peers/postgres.sh start "$RUNDIR/pg" "$PG_PORT")
export "${PG_ENV?}"
echo "PostgreSQL test cluster on 127.0.0.1:$PG_PORT"

cargo fmt --all -- --check
cargo build --workspace --all-targets --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
