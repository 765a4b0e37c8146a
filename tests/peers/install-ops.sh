#!/usr/bin/env bash
# What the packaging and operations tests need (tests/tests/package.rs, lifecycle.rs,
# metrics.rs), on top of install.sh: cargo-deb to build the .deb (pinned to a version that
# builds with the project's rustc; one build of a few minutes on a fresh machine), and
# Python's prometheus_client to parse /metrics the way Prometheus does.
set -euo pipefail

CARGO_DEB_VERSION=3.8.0

# The package depends on adduser; dpkg -i does not fetch dependencies.
if ! dpkg-query -W -f='${Status}' adduser 2>/dev/null | grep -q "install ok installed"; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests/peers/install-ops.sh: adduser is missing (run as root to install it)" >&2
    exit 1
  fi
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends adduser >/dev/null
fi

if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
  echo "installing cargo-deb $CARGO_DEB_VERSION (a few minutes)"
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
fi

if ! python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
  python3 -m pip install -q prometheus_client 2>/dev/null \
    || python3 -m pip install -q --break-system-packages prometheus_client
fi
