#!/usr/bin/env python3
"""LIST on a big tenant: the API3 face over 1,000,000 deliveries.

Builds the tenant through the native API the way a user would (10,000
targets in one segment, 100 notifications fanned out to it), then measures
with wrk, against a ceiling taken in the same run (GET /healthz on the same
daemon: HTTP plus one store ping):

  - LIST page 1, no filter (stats.total read from the tenant's counter)
  - LIST of one member's page of 20 (a primary-key range)
  - LIST ordered by title, and LIST filtered to one local day
  - what the total would cost without counters: COUNT(*) over the tenant,
    timed in the same run with the sqlite3 shell.

usage: bench/list.py [build/notifd] [seconds]   (needs wrk and sqlite3)
Every load is bounded in time and aimed at 127.0.0.1 only.
"""
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/notifd")
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
TARGETS, NOTIFICATIONS = 10000, 100


def start(db, key):
    p = subprocess.Popen(["taskset", "-c", "0", BIN, "--listen", "127.0.0.1:0", "--db", db,
                          "--admin-key", key, "--threads", "1", "--synchronous", "normal"],
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r'"event":"listening","addr":"([^"]+)"', line)
        if m:
            # Drain the access log so the pipe never fills.
            subprocess.Popen(["cat"], stdin=p.stderr, stdout=subprocess.DEVNULL)
            return p, m.group(1)
    raise SystemExit("notifd did not start")


def call(conn, key, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"X-Key": key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit("%s %s -> %d %s" % (method, path, r.status, data[:200]))
    return json.loads(data) if data else None


def wrk(addr, key, path):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c16", "-d%ds" % SECS,
                          "-H", "Authorization: Bearer " + key, "http://%s%s" % (addr, path)],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if re.search(r"Non-2xx", out):
        raise SystemExit("non-2xx answers for " + path)
    return rps


def main():
    for tool in ("wrk", "sqlite3", "taskset"):
        if not shutil.which(tool):
            raise SystemExit("bench: %s is missing" % tool)
    tmp = tempfile.mkdtemp(prefix="notifd-bench-")
    db, key = os.path.join(tmp, "bench.db"), "bench-" + secrets.token_hex(16)
    proc, addr = start(db, key)
    try:
        host, port = addr.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port))
        seg = call(conn, key, "POST", "/v1/segments", {"name": "everyone"})["id"]
        t0 = time.monotonic()
        for i in range(TARGETS):
            call(conn, key, "PUT", "/v1/segments/%d/members/t%05d" % (seg, i))
        members_s = time.monotonic() - t0
        t0 = time.monotonic()
        for i in range(NOTIFICATIONS):
            day = 1 + i % 28
            call(conn, key, "POST", "/v1/notifications", {
                "libelle": "notification %03d" % (i * 37 % NOTIFICATIONS), "type": "t%d" % (i % 5),
                "date_started": "2024-02-%02dT%02d:00:00Z" % (day, i % 24), "segments": [seg]})
        fanout_s = time.monotonic() - t0
        deliveries = TARGETS * NOTIFICATIONS
        print("setup: %d memberships in %.1f s; %d deliveries fanned out in %.1f s (%.0f rows/s)"
              % (TARGETS, members_s, deliveries, fanout_s, deliveries / fanout_s))

        cases = [
            ("GET /healthz (ceiling)", "/healthz"),
            ("LIST page 1, no filter", "/api3/notification"),
            ("LIST member_id, page 1 of 20", "/api3/notification?member_id=t04242"),
            ("LIST order=title, page 3", "/api3/notification?order=title&page=3"),
            ("LIST date_started=02/14/2024", "/api3/notification?date_started=02/14/2024"),
        ]
        results = [(name, wrk(addr, key, path)) for name, path in cases]
        ceiling = results[0][1]
        print("%-34s %10s %8s" % ("request", "req/s", "ratio"))
        for name, rps in results:
            print("%-34s %10.0f %8.3f" % (name, rps, rps / ceiling))

        # The total without counters: one COUNT(*) over the whole tenant.
        t0 = time.monotonic()
        n = subprocess.run(["sqlite3", db, "SELECT count(*) FROM deliveries WHERE tenant_id = 1"
                            " AND deleted_at IS NULL"], capture_output=True, text=True,
                           check=True).stdout.strip()
        count_ms = (time.monotonic() - t0) * 1000
        list_ms = 1000 / results[1][1]
        print("COUNT(*) over the tenant (%s rows): %.0f ms, vs. %.2f ms for a whole LIST"
              " served with the counter (%.0fx)" % (n, count_ms, list_ms, count_ms / list_ms))
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
