"""NP6 face, slow: a target with 1,000,000 deliveries streams with bounded memory.

Fixture generator: the daemon is started once to create the schema, the
tenant "default" (from --admin-key) and the target "big", then stopped; the
million notifications and deliveries are then written straight into the same
SQLite file with Python's sqlite3 (one recursive-CTE INSERT for the
notifications, one INSERT..SELECT for the deliveries, one transaction,
PRAGMA synchronous=OFF) following src/store/sqlite/schema.c. Going through
the HTTP API would take far too long. The daemon is then restarted on that
file and only ever read through the NP6 route.

On the PostgreSQL leg build_million_pg() writes the same fixture into the
PostgreSQL database with psql (generate_series, one transaction).

Checked: GET /targets/big/notifications?sort=asc is sent chunked (no
Content-Length) and read incrementally, never holding the body: exactly
1,000,000 objects, keys strictly consecutive from the first to the last;
the daemon's private memory (RssAnon, sampled after every read) stays under
64 MB (only asserted when NOTIFD_SANITIZED != "1"; sanitizer builds just log
it); sort=desc starts at
the last key; a window in the middle gives exactly 1000 rows.

Tagged slow (meson suite 'slow'), still part of `make check`.
"""

import json
import os
import re
import sqlite3
import sys
import tempfile
import time
import unittest

from harness import BACKEND, INSTRUMENTED, Daemon, DaemonTestCase, main, private_kb

N = 1000000
BASE_MS = 1500000000000  # 2017-07-14T02:40:00Z; delivery i is routed at BASE_MS + i*1000
STEP_MS = 1000
PRIVATE_LIMIT_KB = 64 * 1024
READ_SIZE = 65536
STREAM_TIMEOUT = 300.0

SANITIZED = INSTRUMENTED

KEY_RE = re.compile(rb'"notification_key":(\d+),')
KEY_TAG = b'"notification_key":'
OBJ_FIELDS = {"notification_key", "target", "libelle", "dismiss", "activation",
              "redirection", "impression"}


def log(msg):
    sys.stderr.write("[np6-stream] %s\n" % msg)
    sys.stderr.flush()


def iso(ms):
    s, frac = divmod(ms, 1000)
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return t + (".%03dZ" % frac if frac else "Z")


def generate(db, n):
    """Writes n notifications routed to target 'big' of tenant 'default'.

    Returns the first notification key."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-262144")  # 256 MiB: keep the guid indexes in memory
        con.execute("PRAGMA temp_store=MEMORY")
        con.execute("BEGIN IMMEDIATE")
        tenant, first = con.execute(
            "SELECT id, next_notification_key FROM tenants WHERE name = 'default'").fetchone()
        (tid,) = con.execute("SELECT tid FROM targets WHERE tenant_id = ? AND ext_id = 'big'",
                             (tenant,)).fetchone()
        (existing,) = con.execute("SELECT count(*) FROM deliveries WHERE tenant_id = ?",
                                  (tenant,)).fetchone()
        assert existing == 0, existing
        now = int(time.time() * 1000)
        con.execute(
            "INSERT INTO notifications (tenant_id, nkey, guid, libelle, date_started, created_at)"
            " WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ?1 - 1)"
            " SELECT ?2, ?3 + i, randomblob(16), 'bulk', ?4 + i * ?5, ?6 FROM c",
            (n, tenant, first, BASE_MS, STEP_MS, now))
        con.execute(
            "INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid)"
            " SELECT tenant_id, ?1, date_started, nkey, randomblob(16) FROM notifications"
            " WHERE tenant_id = ?2 AND nkey >= ?3 ORDER BY nkey",
            (tid, tenant, first))
        con.execute("UPDATE tenants SET next_notification_key = ?1 WHERE id = ?2",
                    (first + n, tenant))
        con.execute("COMMIT")
        (count,) = con.execute("SELECT count(*) FROM deliveries WHERE tenant_id = ? AND tid = ?",
                               (tenant, tid)).fetchone()
        assert count == n, count
    finally:
        con.close()
    return first


def build_million_pg(daemon, n):
    """PostgreSQL twin of generate(): the same rows, written with psql in one
    transaction (generate_series instead of a recursive CTE), following
    src/store/postgres/migrations/. Called with the daemon stopped, after it
    created the schema, tenant "default" and target "big". Returns the first
    notification key."""
    import harness
    srv = harness.pg()
    dbname = harness.pg_server.conninfo_dbname(daemon.db)
    out = srv.psql(
        "BEGIN;"
        " CREATE TEMP TABLE fx ON COMMIT DROP AS SELECT t.id AS tenant,"
        "   c.next_notification_key AS first, g.tid FROM tenants t"
        "   JOIN tenant_counters c ON c.tenant_id = t.id"
        "   JOIN targets g ON g.tenant_id = t.id AND g.ext_id = 'big' WHERE t.name = 'default';"
        " INSERT INTO notifications (tenant_id, nkey, guid, libelle, date_started, created_at,"
        "   deliveries)"
        "   SELECT fx.tenant, fx.first + i, gen_random_uuid(), 'bulk', %(base)d + i * %(step)d,"
        "   %(now)d, 1 FROM fx, generate_series(0, %(n)d - 1) AS i;"
        " INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at)"
        "   SELECT fx.tenant, fx.tid, %(base)d + i * %(step)d, fx.first + i, gen_random_uuid(),"
        "   %(base)d + i * %(step)d FROM fx, generate_series(0, %(n)d - 1) AS i;"
        " UPDATE tenant_counters SET next_notification_key = next_notification_key + %(n)d,"
        "   deliveries = deliveries + %(n)d FROM fx WHERE tenant_counters.tenant_id = fx.tenant;"
        " UPDATE targets SET deliveries = deliveries + %(n)d FROM fx"
        "   WHERE targets.tenant_id = fx.tenant AND targets.tid = fx.tid;"
        " SELECT first FROM fx;"
        " COMMIT;"
        % {"base": BASE_MS, "step": STEP_MS, "n": n, "now": int(time.time() * 1000)},
        dbname=dbname, timeout=600)
    return int(out.split()[-1])


class StreamReader:
    """Consumes an NP6 array chunk by chunk, keeping at most one chunk plus
    one partial object. Counts the objects and checks that the keys form
    one consecutive run in the expected direction."""

    def __init__(self, step):
        self.step = step       # +1 ascending, -1 descending
        self.count = 0
        self.first = None
        self.last = None
        self.tags = 0          # occurrences of '"notification_key":', across boundaries
        self.head = b""        # first bytes of the body
        self.tail = b""        # last bytes of the body
        self.pending = b""     # bytes after the last complete object
        self.first_object = None
        self.bytes = 0
        self.max_pending = 0

    def feed(self, chunk):
        self.bytes += len(chunk)
        if len(self.head) < 4096:
            self.head += chunk[:4096 - len(self.head)]
        self.tail = (self.tail + chunk)[-64:]
        buf = self.pending + chunk
        # tag count over the seam: the pending part holds no complete tag
        # already counted, since it starts right after a '}'
        self.tags += buf.count(KEY_TAG) - self.pending.count(KEY_TAG)
        cut = buf.rfind(b"}") + 1
        done, self.pending = buf[:cut], buf[cut:]
        self.max_pending = max(self.max_pending, len(self.pending))
        for m in KEY_RE.finditer(done):
            k = int(m.group(1))
            if self.first is None:
                self.first = k
            elif k != self.last + self.step:
                raise AssertionError("key %d follows %d (object #%d)" % (k, self.last, self.count))
            self.last = k
            self.count += 1
        if self.first_object is None and cut:
            start = done.find(b"{")
            end = done.find(b"}", start) + 1
            self.first_object = json.loads(done[start:end].decode("utf-8"))


class TestMillionDeliveries(DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-np6-stream-")
        cls.daemon = d = Daemon(cls._tmp.name)
        try:
            t0 = time.monotonic()
            d.start()
            r = d.request("PUT", "/v1/targets/big", {})
            if r.status != 201:
                raise AssertionError("PUT /v1/targets/big -> %d %r" % (r.status, r.body))
            rc = d.stop()
            if rc != 0:
                raise AssertionError("notifd exited with %r on SIGTERM" % rc)
            t1 = time.monotonic()
            if BACKEND == "postgres":
                cls.first = build_million_pg(d, N)
                size = ""
            else:
                cls.first = generate(d.db, N)
                size = " (db %.0f MB)" % (os.path.getsize(d.db) / 1e6)
            cls.last = cls.first + N - 1
            t2 = time.monotonic()
            log("fixture: schema %.1fs, %d rows generated in %.1fs%s"
                % (t1 - t0, N, t2 - t1, size))
            d.start()
        except BaseException:
            try:
                d.cleanup()
            finally:
                cls._tmp.cleanup()
            raise

    def open_stream(self, query):
        d = self.daemon
        conn = d.connection(timeout=STREAM_TIMEOUT)
        conn.request("GET", "/targets/big/notifications" + query, headers={"X-Key": d.admin_key})
        resp = conn.getresponse()
        return conn, resp

    def assertStreamHeaders(self, resp):
        self.assertEqual(resp.status, 200)
        self.assertEqual((resp.getheader("Content-Type") or "").split(";")[0].strip(),
                         "application/json")
        self.assertIn("chunked", (resp.getheader("Transfer-Encoding") or "").lower(),
                      resp.getheaders())
        self.assertIsNone(resp.getheader("Content-Length"), resp.getheaders())
        self.assertTrue(resp.getheader("X-Request-Id"))

    # Runs first (alphabetical order), on a freshly started daemon.
    def test_1_full_stream_ascending_bounded_memory(self):
        t0 = time.monotonic()
        conn, resp = self.open_stream("?sort=asc")
        peak = 0
        try:
            self.assertStreamHeaders(resp)
            reader = StreamReader(+1)
            first_byte = None
            while True:
                chunk = resp.read(READ_SIZE)
                peak = max(peak, private_kb(self.daemon.proc.pid))
                if not chunk:
                    break
                if first_byte is None:
                    first_byte = time.monotonic() - t0
                reader.feed(chunk)
        finally:
            conn.close()
        elapsed = time.monotonic() - t0
        log("asc stream: %d objects, %.0f MB in %.1fs (first bytes after %.2fs)"
            % (reader.count, reader.bytes / 1e6, elapsed, first_byte or -1))
        self.assertTrue(reader.head.startswith(b"[{"), reader.head[:80])
        self.assertTrue(reader.tail.endswith(b"}]"), reader.tail)
        self.assertEqual(reader.pending, b"]")
        self.assertLess(reader.max_pending, 1024)
        self.assertEqual(reader.count, N)
        self.assertEqual(reader.tags, N)
        self.assertEqual(reader.first, self.first)
        self.assertEqual(reader.last, self.last)
        self.assertEqual(reader.first_object,
                         {"notification_key": self.first, "target": "big", "libelle": "bulk",
                          "dismiss": None, "activation": None, "redirection": None,
                          "impression": None})
        self.assertEqual(set(reader.first_object), OBJ_FIELDS)

        log("daemon's peak private memory during the stream: %d kB (%.1f MB)%s"
            % (peak, peak / 1024, " [sanitized build: not asserted]" if SANITIZED else ""))
        self.assertGreater(peak, 0)
        if not SANITIZED:
            self.assertLess(peak, PRIVATE_LIMIT_KB,
                            "peak private memory %d kB >= %d kB" % (peak, PRIVATE_LIMIT_KB))

    def test_2_descending_starts_at_last_key(self):
        conn, resp = self.open_stream("?sort=desc")
        try:
            self.assertStreamHeaders(resp)
            reader = StreamReader(-1)
            # the first few batches are enough; the rest is dropped with the connection
            while reader.count < 2000:
                chunk = resp.read(READ_SIZE)
                if not chunk:
                    break
                reader.feed(chunk)
        finally:
            conn.close()
        self.assertTrue(reader.head.startswith(b"[{"), reader.head[:80])
        self.assertGreaterEqual(reader.count, 2000)
        self.assertEqual(reader.first, self.last)
        self.assertEqual(reader.last, self.last - reader.count + 1)
        self.assertEqual(reader.first_object["notification_key"], self.last)
        # the daemon is still fine after a client walked away mid-stream
        r = self.daemon.request("GET", "/targets/big/notifications?start=%d&end=%d"
                                % (BASE_MS, BASE_MS + 3 * STEP_MS))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([o["notification_key"] for o in r.body],
                         [self.first, self.first + 1, self.first + 2])

    def test_3_window_in_the_middle(self):
        i0, rows = 500000, 1000
        start_ms = BASE_MS + i0 * STEP_MS
        end_ms = start_ms + rows * STEP_MS
        windows = [
            ("?start=%d&end=%d&sort=asc" % (start_ms, end_ms), +1),
            ("?start=%s&end=%s&sort=asc" % (iso(start_ms), iso(end_ms)), +1),
            ("?start=%d&end=%d" % (start_ms // 1000, end_ms // 1000), +1),
            ("?start=%s&end=%d&sort=desc" % (iso(start_ms), end_ms), -1),
        ]
        for q, step in windows:
            with self.subTest(query=q):
                t0 = time.monotonic()
                r = self.daemon.request("GET", "/targets/big/notifications" + q)
                log("window %s: %.2fs" % (q, time.monotonic() - t0))
                self.assertEqual(r.status, 200, r.body)
                self.assertIn("chunked", r.headers.get("transfer-encoding", "").lower())
                keys = [o["notification_key"] for o in r.body]
                want = list(range(self.first + i0, self.first + i0 + rows))
                self.assertEqual(keys, want if step > 0 else want[::-1])
        # a one-second window holds exactly one delivery; a 1 ms one at its edge too
        r = self.daemon.request("GET", "/targets/big/notifications?start=%d&end=%d"
                                % (start_ms, start_ms + 1))
        self.assertEqual((r.status, [o["notification_key"] for o in r.body]),
                         (200, [self.first + i0]))
        r = self.daemon.request("GET", "/targets/big/notifications?start=%d&end=%d"
                                % (start_ms + 1, start_ms + STEP_MS))
        self.assertEqual((r.status, r.body), (200, []))


if __name__ == "__main__":
    main()
