#!/usr/bin/env bash
# Installs what the test suite needs on Debian 12 (as root): the peers the tests start
# (PostgreSQL, Postfix, slapd, Dovecot), the independent clients they drive, and promtool
# (package prometheus) to check the alerting rules. Does nothing when all is present.
set -euo pipefail

# cargo-deb and prometheus_client for the packaging and operations tests.
"$(dirname "$0")/install-ops.sh"

PACKAGES=(postgresql-15 postgresql-client-15 openssl curl ca-certificates python3
          postfix swaks libnet-ssleay-perl libauthen-sasl-perl fetchmail isync
          dnsmasq-base bind9-dnsutils slapd ldap-utils opendkim-tools systemd procps
          dovecot-core dovecot-imapd rspamd clamav-daemon sqlite3 chromium prometheus
          zsh fish)

# dkimpy checks DKIM signatures the way receivers do, with the test DNS server; it signs
# and (with authres) ARC-seals the messages the verification tests send. Playwright drives
# Debian's chromium (no browser download) and pyotp computes TOTP codes for the console test.
PIP_MODULES=(dkimpy dnspython pyspf authres playwright==1.65.3 pyotp==2.12.1)
python_modules_present() {
  python3 -c 'import dkim, dns.resolver, spf, authres, playwright.sync_api, pyotp' 2>/dev/null
}
install_python_modules() {
  python_modules_present && return 0
  python3 -m pip install -q "${PIP_MODULES[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${PIP_MODULES[@]}"
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  install_python_modules
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "tests/peers/install.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
# Package installs must not start daemons: the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is a test peer, configured per test: no system configuration at install.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# slapd is a test peer with its own slapd.conf per test: no system directory at install.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
install_python_modules
