#!/usr/bin/env python3
"""SMTP load for the shutdown test: THREADS senders, each sending PER_CONNECTION messages
per connection with smtplib, until the server refuses connections or SECONDS pass.

  smtp_load.py HOST PORT RCPT THREADS PER_CONNECTION SECONDS
      Prints "started" once the first message is acknowledged, then at the end one JSON
      line {"acked": [Message-ID, ...], "unacked": N, "errors": [...]}: every message that
      got 250 after its data, and how many were sent without one.
"""
import json
import smtplib
import sys
import threading
import time
import uuid

host, port, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
threads, per_connection, seconds = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
deadline = time.monotonic() + seconds
lock = threading.Lock()
acked, errors = [], []
unacked = [0]
started = threading.Event()


def message(mid):
    return ("From: load@remote.test\r\nTo: %s\r\nSubject: load\r\nMessage-ID: <%s>\r\n\r\n%s\r\n"
            % (rcpt, mid, "x" * 2000)).encode()


def sender():
    while time.monotonic() < deadline:
        try:
            s = smtplib.SMTP(host, port, timeout=30)
        except OSError as e:  # refused: the server has stopped listening
            with lock:
                errors.append("connect: %s" % e)
            return
        try:
            s.ehlo("load.test.example")
            for _ in range(per_connection):
                mid = "%s@load.test" % uuid.uuid4()
                try:
                    s.sendmail("load@remote.test", [rcpt], message(mid))
                except smtplib.SMTPException as e:
                    with lock:
                        unacked[0] += 1
                        errors.append("send: %s" % e)
                    break
                except OSError as e:
                    with lock:
                        unacked[0] += 1
                        errors.append("send: %s" % e)
                    break
                with lock:
                    acked.append(mid)
                started.set()
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
        except (smtplib.SMTPException, OSError) as e:
            with lock:
                errors.append("session: %s" % e)


workers = [threading.Thread(target=sender) for _ in range(threads)]
for w in workers:
    w.start()
started.wait(timeout=seconds)
print("started", flush=True)
for w in workers:
    w.join()
print(json.dumps({"acked": acked, "unacked": unacked[0], "errors": errors[:20]}), flush=True)
