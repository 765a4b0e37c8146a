#!/usr/bin/env bash
# A throwaway OpenLDAP slapd (Debian slapd 2.5, slapd.conf + back_mdb) for the tests, loopback only.
#   slapd.sh start DIR LDAP_PORT LDAPS_PORT
#       -> slapd in DIR on ldap://127.0.0.1:LDAP_PORT, ldaps://127.0.0.1:LDAPS_PORT and an ldapi
#          socket in DIR; waits until the service account can bind; prints KEY=VALUE lines:
#          LDAP_URL LDAPS_URL LDAPI_URL LDAP_BIND_DN LDAP_BIND_PW LDAP_CA_FILE LDAP_ADMIN_DN LDAP_ADMIN_PW
#   slapd.sh stop DIR
#       -> stops it by its PID file (SIGTERM, then SIGKILL after 5 s); leaves DIR (and its log).
#
# Directory (suffix dc=company,dc=kr; anonymous binds are refused):
#   cn=admin,dc=company,dc=kr                  rootdn, password admin-secret: adds/modifies/deletes
#   cn=mailsrv,ou=services,dc=company,dc=kr    service account, password svc-secret: reads everything
#                                              except userPassword
#   uid=alice,ou=people,dc=company,dc=kr       alice@company.kr, a.kim@company.kr, dept 100, alice-pw
#                                              (displayName 김앨리스)
#   uid=bob,ou=people,dc=company,dc=kr         bob@company.kr,   dept 200, bob-pw
#   uid=carol,ou=people,dc=company,dc=kr       carol@company.kr, dept 100, carol-pw
#   uid=dave,ou=people,dc=company,dc=kr        dave@company.kr,  dept 300, dave-pw
#   uid=erin,ou=labs,dc=company,dc=kr          erin@labs.company.kr, dept 400, erin-pw
# Users may only authenticate (bind) and read their own entry. Passwords are stored as {SSHA};
# `ldappasswd` (Password Modify) as the admin hashes a new password the same way.
set -euo pipefail

SUFFIX="dc=company,dc=kr"
ADMIN_DN="cn=admin,$SUFFIX"; ADMIN_PW=admin-secret
SVC_DN="cn=mailsrv,ou=services,$SUFFIX"; SVC_PW=svc-secret

usage() { echo "usage: $0 start DIR LDAP_PORT LDAPS_PORT | stop DIR" >&2; exit 2; }

# True while PID runs (a zombie counts as stopped: nothing may reap an orphan here).
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

stop() {
  local D=$1 pid i
  [ -f "$D/slapd.pid.bg" ] || return 0
  pid=$(cat "$D/slapd.pid.bg")
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do running "$pid" || break; sleep 0.05; done
    if running "$pid"; then
      echo "slapd.sh: slapd (pid $pid) ignored SIGTERM for 5 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for i in $(seq 1 40); do running "$pid" || break; sleep 0.05; done
    fi
  fi
  rm -f "$D/slapd.pid.bg"
}

case "${1:-}" in
start)
  [ $# -eq 4 ] || usage
  mkdir -p "$2"; D=$(cd "$2" && pwd); LPORT=$3; SPORT=$4
  command -v slapd >/dev/null || PATH=$PATH:/usr/sbin
  command -v slapd >/dev/null && command -v ldapwhoami >/dev/null || {
    echo "slapd.sh: slapd and ldap-utils are needed (tests/peers/install.sh installs them)" >&2
    exit 1
  }
  if [ -f "$D/slapd.pid.bg" ] && running "$(cat "$D/slapd.pid.bg")"; then
    echo "slapd.sh: a slapd already runs in $D (pid $(cat "$D/slapd.pid.bg"))" >&2
    exit 1
  fi
  SOCK="$D/ldapi"
  if [ ${#SOCK} -gt 100 ]; then
    echo "slapd.sh: socket path $SOCK is too long for a Unix socket; use a shorter DIR" >&2
    exit 1
  fi
  rm -rf "$D/db" "$SOCK"; mkdir -p "$D/db"
  "$(dirname "$0")/mkcert.sh" "$D/tls" >/dev/null
  h() { slappasswd -h '{SSHA}' -s "$1"; }

  cat > "$D/slapd.conf" <<CONF
include   /etc/ldap/schema/core.schema
include   /etc/ldap/schema/cosine.schema
include   /etc/ldap/schema/nis.schema
include   /etc/ldap/schema/inetorgperson.schema
pidfile   $D/slapd.pid
argsfile  $D/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel  stats
TLSCACertificateFile  $D/tls/ca.pem
TLSCertificateFile    $D/tls/server.pem
TLSCertificateKeyFile $D/tls/server.key
# no anonymous binds (empty DN / empty password)
disallow  bind_anon
password-hash {SSHA}
sizelimit 500

database  mdb
maxsize   104857600
suffix    "$SUFFIX"
rootdn    "$ADMIN_DN"
rootpw    $(h $ADMIN_PW)
directory $D/db
index     objectClass eq
index     uid,mail,departmentNumber eq
# anonymous may only *authenticate* against userPassword; nothing is readable without a bind
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by dn.exact="$SVC_DN" read
  by self read
  by * none
CONF

  user() { # uid cn sn dept password ou_dn mail...
    local uid=$1 cn=$2 sn=$3 dept=$4 pw=$5 ou=$6; shift 6
    printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' "$uid" "$ou" "$uid" "$cn" "$sn"
    for m in "$@"; do printf 'mail: %s\n' "$m"; done
    printf 'departmentNumber: %s\nuserPassword: %s\n\n' "$dept" "$(h "$pw")"
  }
  {
    cat <<LDIF
dn: $SUFFIX
objectClass: top
objectClass: dcObject
objectClass: organization
o: Company
dc: company

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=labs,$SUFFIX
objectClass: organizationalUnit
ou: labs

dn: ou=services,$SUFFIX
objectClass: organizationalUnit
ou: services

dn: $SVC_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: mailsrv
description: bind account of the mail server
userPassword: $(h $SVC_PW)

dn: uid=alice,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: alice
cn: Alice Kim
sn: Kim
displayName:: $(printf '김앨리스' | base64 -w0)
mail: alice@company.kr
mail: a.kim@company.kr
departmentNumber: 100
ou: Engineering
userPassword: $(h alice-pw)

LDIF
    user bob "Bob Lee" Lee 200 bob-pw "ou=people,$SUFFIX" bob@company.kr
    user carol "Carol Park" Park 100 carol-pw "ou=people,$SUFFIX" carol@company.kr
    user dave "Dave Choi" Choi 300 dave-pw "ou=people,$SUFFIX" dave@company.kr
    user erin "Erin Jung" Jung 400 erin-pw "ou=labs,$SUFFIX" erin@labs.company.kr
  } > "$D/data.ldif"

  slaptest -Q -u -f "$D/slapd.conf"
  slapadd -q -f "$D/slapd.conf" -l "$D/data.ldif"

  LDAPI_URL="ldapi://$(printf %s "$SOCK" | sed 's,/,%2F,g')"
  # -d keeps slapd in the foreground (no fork), so $! is its real PID; logs go to slapd.log.
  slapd -f "$D/slapd.conf" -h "ldap://127.0.0.1:$LPORT/ ldaps://127.0.0.1:$SPORT/ $LDAPI_URL" \
    -d "${SLAPD_DEBUG:-stats}" </dev/null >"$D/slapd.log" 2>&1 &
  PID=$!
  echo "$PID" > "$D/slapd.pid.bg"

  # Up when the service account binds over ldap and ldaps (the listeners open together).
  up=
  # Generous: on a loaded machine (or one whose host name the resolver looks up off-box),
  # slapd has been seen to take over 5 s before it even logs "slapd starting".
  wait_s=${SLAPD_START_TIMEOUT:-30}
  deadline=$(( $(date +%s%N) + wait_s * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$deadline" ]; do
    running "$PID" || break
    if ldapwhoami -x -o nettimeout=1 -H "ldap://127.0.0.1:$LPORT" -D "$SVC_DN" -w "$SVC_PW" >/dev/null 2>&1 &&
       LDAPTLS_CACERT="$D/tls/ca.pem" ldapwhoami -x -o nettimeout=1 -H "ldaps://127.0.0.1:$SPORT" \
         -D "$SVC_DN" -w "$SVC_PW" >/dev/null 2>&1; then
      up=1; break
    fi
    sleep 0.05
  done
  if [ -z "$up" ]; then
    if running "$PID"; then
      echo "slapd.sh: slapd (pid $PID) did not accept a service bind on ports $LPORT/$SPORT within $wait_s s" >&2
    else
      echo "slapd.sh: slapd exited during start-up (ports $LPORT/$SPORT)" >&2
    fi
    echo "--- last lines of $D/slapd.log ---" >&2
    tail -n 25 "$D/slapd.log" >&2 || true
    stop "$D"
    exit 1
  fi

  echo "LDAP_URL=ldap://127.0.0.1:$LPORT"
  echo "LDAPS_URL=ldaps://127.0.0.1:$SPORT"
  echo "LDAPI_URL=$LDAPI_URL"
  echo "LDAP_BIND_DN=$SVC_DN"
  echo "LDAP_BIND_PW=$SVC_PW"
  echo "LDAP_CA_FILE=$D/tls/ca.pem"
  echo "LDAP_ADMIN_DN=$ADMIN_DN"
  echo "LDAP_ADMIN_PW=$ADMIN_PW"
  ;;
stop)
  [ $# -eq 2 ] || usage
  stop "$2"
  ;;
*)
  usage ;;
esac
