#!/usr/bin/env bash
# A throwaway Postfix as a peer MTA, relaying everything to Baedal.
#   postfix.sh start PORT RELAYPORT   -> smtpd on 127.0.0.2:PORT; all mail relayed to
#                                        [127.0.0.1]:RELAYPORT (Baedal), STARTTLS when offered;
#                                        prints PFTEST_DIR=...
#   postfix.sh sink PORT              -> smtpd on 127.0.0.2:PORT (STARTTLS offered) that takes mail
#                                        for remote.test and other.test into DIR/sink/Maildir/;
#                                        RCPT reject@remote.test gets "550 5.1.1"
#   postfix.sh stop DIR
# Needs root (postfix start runs as root; its daemons drop to user postfix). No DNS at all.
set -euo pipefail
case "${1:-}" in
start|sink)
  MODE=$1; PORT=$2; RELAYPORT=${3:-0}
  D=$(mktemp -d /tmp/pftest.XXXXXX); chmod 755 "$D"
  mkdir -p "$D/etc" "$D/queue" "$D/data"
  chown postfix: "$D/data"
  "$(dirname "$0")/mkcert.sh" "$D/tls" >/dev/null
  cat > "$D/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $D/queue
data_directory = $D/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $D
maillog_file = $D/maillog
myhostname = peer.example.net
mydomain = example.net
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtputf8_enable = yes
smtpd_banner = \$myhostname ESMTP test-peer
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
CONF
  if [ "$MODE" = start ]; then
    echo "relayhost = [127.0.0.1]:$RELAYPORT" >> "$D/etc/main.cf"
  else
    mkdir -p "$D/sink"; chown nobody:nogroup "$D/sink"
    cat >> "$D/etc/main.cf" <<CONF
virtual_mailbox_domains = remote.test other.test
virtual_mailbox_base = $D/sink
virtual_mailbox_maps = static:Maildir/
virtual_mailbox_limit = 0
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
smtpd_recipient_restrictions = check_recipient_access inline:{ { reject@remote.test = 550 5.1.1 No such user here } }, permit_mynetworks, reject
CONF
  fi
  cat >> "$D/etc/main.cf" <<CONF
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_bind_address = 127.0.0.2
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_chain_files = $D/tls/server.key, $D/tls/server-chain.pem
message_size_limit = 104857600
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
CONF
  cat > "$D/etc/master.cf" <<CONF
127.0.0.2:$PORT inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
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
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
virtual    unix  - n n -  - virtual
postlog    unix-dgram n - n - 1 postlogd
CONF
  if ! postfix -c "$D/etc" start >"$D/start.log" 2>&1; then
    postfix -c "$D/etc" check >>"$D/start.log" 2>&1 || true
    cat "$D/start.log" "$D/maillog" >&2 2>/dev/null || true
    exit 1
  fi
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.2/"$PORT") 2>/dev/null && break; sleep 0.05; done
  echo "PFTEST_DIR=$D"
  ;;
stop)
  postfix -c "$2/etc" stop >/dev/null 2>&1 || true
  for _ in $(seq 1 50); do [ -f "$2/queue/pid/master.pid" ] || break; sleep 0.1; done
  rm -rf "$2"
  ;;
*) echo "usage: $0 start PORT RELAYPORT | sink PORT | stop DIR" >&2; exit 2 ;;
esac
