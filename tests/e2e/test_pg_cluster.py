"""Several notifd instances on one PostgreSQL database, and PostgreSQL
going away under them.

PostgreSQL only (the PostgreSQL leg runs it; on the SQLite leg every test
is skipped, since one SQLite file is not shared between machines):

- two notifd processes on one database: whatever is written through one is
  what the other reads at once, segment membership, key revocation (the
  very next request), deletes and counters included; concurrent writers
  through both get unique, consecutive notification keys and exact counters;
- the server stopped and started again under a running load: requests
  during the outage get a quick 503 problem, never a hang or a crash; notifd
  reconnects by itself; every write acknowledged before the stop is there
  afterwards; no descriptor leaks;
- notifd started while the server is down serves 503 and comes up when the
  server does.

The outage tests stop their own private server, never the shared one."""

import os
import tempfile
import threading
import time
import unittest

import harness
from harness import BACKEND, Daemon, enc, ok

ONLY_PG = unittest.skipUnless(BACKEND == "postgres",
                              "several instances share a PostgreSQL database, not a SQLite file")

# A 503 while the database is away must come quickly: libpq's connect
# timeout plus the backoff window, never a hang.
OUTAGE_ANSWER_S = 6.0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Pair:
    """Two daemons on one database, with one admin key."""

    def __init__(self, db):
        self.tmp = tempfile.TemporaryDirectory(prefix="nd_pair_")
        key = harness.random_key("e2e_admin_")
        self.a = Daemon(self.tmp.name, admin_key=key, db=db)
        # One worker: its reads after the first take a key from its memory.
        self.b = Daemon(self.tmp.name, admin_key=key, db=db, extra_args=("--threads", "1"))

    def start(self):
        """Starts both; when either fails, stops whatever runs and cleans up."""
        try:
            self.a.start()
            self.b.start()
        except BaseException:
            self.close(check=False)
            raise
        return self

    def close(self, check=True):
        """Stops both daemons and removes the directory, whatever happens on
        the way; then (check) raises when either did not exit 0 on SIGTERM."""
        bad = []
        try:
            for name, d in (("a", self.a), ("b", self.b)):
                try:
                    if d.proc is not None:  # running, or exited on its own
                        rc = d.stop()
                        if rc != 0:
                            bad.append("notifd %s exited %r on SIGTERM" % (name, rc))
                except Exception as e:  # e.g. did not exit in time (killed)
                    bad.append("notifd %s: %s" % (name, e))
                finally:
                    d.cleanup()
        finally:
            self.tmp.cleanup()
        if check and bad:
            raise AssertionError("; ".join(bad))


@ONLY_PG
class TestTwoInstances(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = harness.new_db(tempfile.gettempdir(), "pair.db")
        cls.addClassCleanup(harness.drop_db, cls.db)  # also when the start fails
        cls.pair = Pair(cls.db).start()
        cls.a, cls.b = cls.pair.a, cls.pair.b

    @classmethod
    def tearDownClass(cls):
        cls.pair.close()

    def tenant(self, name):
        """A fresh tenant's admin key (notifd key create against the shared db)."""
        return self.a.key_create("admin", tenant=name)

    def test_writes_through_one_read_through_the_other(self):
        k = self.tenant("pair1")
        ok(self.a, "PUT", "/v1/targets/ann", {"name": "Ann"}, key=k)
        self.assertEqual(ok(self.b, "GET", "/v1/targets/ann", key=k).body["name"], "Ann")
        seg = ok(self.a, "POST", "/v1/segments", {"name": "s"}, key=k).body["id"]
        ok(self.b, "PUT", "/v1/segments/%d/members/ann" % seg, key=k)
        ok(self.b, "POST", "/targets/bob/segments/%d" % seg, key=k)
        self.assertEqual(ok(self.a, "GET", "/v1/segments/%d" % seg, key=k).body["members"], 2)
        self.assertEqual(ok(self.a, "GET", "/targets/ann/segments", key=k).body, [seg])
        n = ok(self.b, "POST", "/v1/notifications",
               {"libelle": "hello", "segments": [seg]}, key=k).body
        self.assertEqual(n["deliveries"], 2)
        feed = ok(self.a, "GET", "/v1/targets/bob/notifications", key=k).body["notifications"]
        self.assertEqual([x["notification_key"] for x in feed], [n["notification_key"]])
        self.assertEqual(ok(self.a, "GET", "/v1/tenant", key=k).body["deliveries"], 2)
        # An event through one instance shows through the other.
        ok(self.a, "POST", "/v1/targets/bob/events",
           {"notification_key": n["notification_key"], "type": "read"}, key=k)
        items = ok(self.b, "GET", "/api3/notification?member_id=bob", key=k).body
        self.assertTrue(items["notification_list"][0]["read"])

    def test_delete_and_counters_across_instances(self):
        k = self.tenant("pair2")
        ok(self.a, "POST", "/v1/notifications",
           {"libelle": "x", "targets": ["t1", "t2", "t3"]}, key=k)
        listing = ok(self.b, "GET", "/api3/notification?member_id=t2", key=k).body
        guid = listing["notification_list"][0]["id"]
        ok(self.b, "DELETE", "/api3/notification/" + guid, key=k)
        self.assertEqual(ok(self.a, "GET", "/v1/tenant", key=k).body["deliveries"], 2)
        stats = ok(self.a, "GET", "/api3/notification", key=k).body["stats"]
        self.assertEqual(stats["total"], "2")
        self.assertEqual(self.a.request("GET", "/api3/notification/" + guid, key=k).status, 404)
        ok(self.a, "DELETE", "/v1/targets/t3", key=k)
        self.assertEqual(ok(self.b, "GET", "/v1/tenant", key=k).body["deliveries"], 1)

    def test_revoked_key_fails_on_the_other_instance_at_once(self):
        k = self.tenant("pair3")
        made = ok(self.a, "POST", "/v1/keys", {"role": "member", "target": "m"}, key=k).body
        self.assertEqual(self.b.request("GET", "/v1/targets/m/notifications",
                                        key=made["key"]).status, 200)
        ok(self.a, "DELETE", "/v1/keys/" + made["id"], key=k)
        r = self.b.request("GET", "/v1/targets/m/notifications", key=made["key"])
        self.assertEqual(r.status, 401)
        self.assertEqual(self.a.request("GET", "/v1/targets/m/notifications",
                                        key=made["key"]).status, 401)

    def test_keys_remembered_by_the_other_instance(self):
        # b, with one worker, remembers the keys it has seen valid and
        # confirms one in the round trip of a read's first statement, or at
        # the read's end: a revocation or a zone change made through a shows
        # on b's very next request, whichever way the request reads
        k = self.tenant("pair5")
        ok(self.a, "POST", "/v1/notifications",
           {"libelle": "late", "targets": ["m"], "date_started": "2024-01-01T23:30:00Z"}, key=k)
        paths = ["/targets/m/notifications?sort=desc",  # one statement, the key's check with it
                 "/api3/notification?member_id=m",      # a count, then a page
                 "/targets/m/notifications?sort=sideways",  # refused before any read: 400
                 "/v1/targets/nobody"]                      # read, found nothing: 404
        for path in paths:
            made = ok(self.a, "POST", "/v1/keys", {"role": "admin"}, key=k).body
            before = self.b.request("GET", path, key=made["key"]).status
            self.assertIn(before, (200, 400, 404), path)
            self.assertEqual(self.b.request("GET", path, key=made["key"]).status, before, path)
            ok(self.a, "DELETE", "/v1/keys/" + made["id"], key=k)
            self.assertEqual(self.b.request("GET", path, key=made["key"]).status, 401, path)

        def date(key):
            listing = ok(self.b, "GET", "/api3/notification?member_id=m", key=key).body
            return listing["notification_list"][0]["date"]

        def feed(key):
            body = ok(self.b, "GET", "/targets/m/notifications?sort=desc", key=key).body
            return [n["libelle"] for n in body]

        made = ok(self.a, "POST", "/v1/keys", {"role": "admin"}, key=k).body
        streams = ok(self.a, "POST", "/v1/keys", {"role": "admin"}, key=k).body
        self.assertEqual(date(made["key"]), "Jan 1 2024")
        self.assertEqual(feed(streams["key"]), ["late"])
        ok(self.a, "PATCH", "/v1/tenant", {"time_zone": "Asia/Tokyo"}, key=k)
        self.assertEqual(date(made["key"]), "Jan 2 2024")
        self.assertEqual(date(made["key"]), "Jan 2 2024")
        # a streamed answer begun with the old principal is begun again
        self.assertEqual(feed(streams["key"]), ["late"])

    def test_concurrent_writers_through_both(self):
        k = self.tenant("pair4")
        per_thread, errors, keys = 20, [], []
        lock = threading.Lock()

        def writer(d, name):
            for i in range(per_thread):
                r = d.request("POST", "/v1/notifications",
                              {"libelle": "%s-%d" % (name, i), "targets": ["shared", name]}, key=k)
                with lock:
                    if r.status == 201:
                        keys.append(r.body["notification_key"])
                    else:
                        errors.append((r.status, r.body))

        threads = [threading.Thread(target=writer, args=(d, "w%d" % i))
                   for i, d in enumerate([self.a, self.b, self.a, self.b])]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        n = per_thread * len(threads)
        self.assertEqual(sorted(keys), list(range(1, n + 1)))
        self.assertEqual(ok(self.b, "GET", "/v1/tenant", key=k).body["deliveries"], 2 * n)
        feed = ok(self.a, "GET", "/targets/shared/notifications", key=k).body
        self.assertEqual(len(feed), n)
        stats = ok(self.b, "GET", "/api3/notification?member_id=shared", key=k).body["stats"]
        self.assertEqual(stats["total"], str(n))


@ONLY_PG
class TestLockTimeout(unittest.TestCase):
    """A write that waits for a lock longer than the server allows (a
    lock_timeout, or a statement_timeout, the operator set: here in the
    conninfo's options) is answered 503, writes nothing, and works once the
    lock is gone."""

    def write_behind_a_held_lock(self, setting):
        db = harness.new_db(tempfile.gettempdir(), "locks.db")
        self.addCleanup(harness.drop_db, db)
        tmp = tempfile.TemporaryDirectory(prefix="nd_locks_")
        self.addCleanup(tmp.cleanup)
        d = Daemon(tmp.name, db=db + " options='-c %s=300'" % setting)
        self.addCleanup(d.cleanup)
        d.start()
        k = d.key_create("admin", tenant="locked")
        tenant = harness.store_rows(d, "SELECT id FROM tenants WHERE name = 'locked'")[0][0]
        dbname = harness.pg_server.conninfo_dbname(db)
        # Another session holds the tenant's counters row for 3 s.
        holder = threading.Thread(target=harness.pg().psql, kwargs={
            "sql": "BEGIN; SELECT 1 FROM tenant_counters WHERE tenant_id = %s FOR UPDATE;"
                   " SELECT pg_sleep(3); COMMIT;" % tenant, "dbname": dbname})
        holder.start()
        self.addCleanup(holder.join)
        deadline = time.monotonic() + 10
        while not harness.store_rows(d, "SELECT 1 FROM pg_stat_activity WHERE state = 'active'"
                                        " AND query LIKE '%pg_sleep(3)%'"
                                        " AND pid <> pg_backend_pid()"):
            self.assertLess(time.monotonic(), deadline, "the lock holder never started")
            time.sleep(0.05)
        r = d.request("POST", "/v1/notifications", {"libelle": "blocked", "targets": ["ann"]},
                      key=k)
        self.assertEqual(r.status, 503, r.body)
        self.assertTrue(r.body["type"].endswith(":unavailable"), r.body)
        holder.join()
        self.assertEqual(ok(d, "GET", "/v1/tenant", key=k).body["deliveries"], 0)
        self.assertEqual(d.request("GET", "/v1/notifications/1", key=k).status, 404)
        n = ok(d, "POST", "/v1/notifications", {"libelle": "free", "targets": ["ann"]}, key=k)
        self.assertEqual(n.body["notification_key"], 1)
        self.assertEqual(d.stop(), 0)

    def test_write_behind_a_held_lock(self):
        self.write_behind_a_held_lock("lock_timeout")

    def test_write_past_the_statement_timeout(self):
        self.write_behind_a_held_lock("statement_timeout")


@ONLY_PG
class TestTerminatedConnection(unittest.TestCase):
    """The server ends notifd's connection between two requests (an
    operator's pg_terminate_backend, an idle_session_timeout, a pooler
    recycling it): the next request is served on a new connection, reads
    and writes alike, and nothing is written twice."""

    def test_next_requests_served(self):
        db = harness.new_db(tempfile.gettempdir(), "terminated.db")
        self.addCleanup(harness.drop_db, db)
        tmp = tempfile.TemporaryDirectory(prefix="nd_terminated_")
        self.addCleanup(tmp.cleanup)
        d = Daemon(tmp.name, db=db, extra_args=["--threads", "1"])
        self.addCleanup(d.cleanup)
        d.start()
        dbname = harness.pg_server.conninfo_dbname(db)
        ok(d, "PUT", "/v1/targets/ann", {})
        calls = [("GET", "/v1/targets/ann", None, 200),
                 ("POST", "/v1/notifications", {"libelle": "after", "targets": ["ann"]}, 201),
                 ("GET", "/targets/ann/notifications", None, 200),
                 ("GET", "/api3/notification?member_id=ann", None, 200)]
        for method, path, body, status in calls:
            with self.subTest(method=method, path=path):
                ended = harness.pg().psql(
                    sql="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    dbname=dbname)
                self.assertGreaterEqual(int(ended.strip()), 1)
                r = d.request(method, path, body)
                self.assertEqual(r.status, status, r.body)
        self.assertEqual(ok(d, "GET", "/v1/tenant").body["deliveries"], 1)
        self.assertEqual(d.stop(), 0)


class TestOutage(unittest.TestCase):
    """A private server, stopped and started under load."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.private_pg(cls)
        cls.tmp = tempfile.TemporaryDirectory(prefix="nd_outage_")
        cls.addClassCleanup(cls.tmp.cleanup)

    def daemon(self, db):
        d = Daemon(self.tmp.name, db=db, extra_args=["--threads", "2"])
        self.addCleanup(d.cleanup)
        return d

    def assert_unavailable(self, r, elapsed):
        self.assertEqual(r.status, 503, r.body)
        self.assertLess(elapsed, OUTAGE_ANSWER_S)
        self.assertIsInstance(r.body, dict)
        self.assertEqual(r.body.get("type"), "urn:notifd:problem:unavailable")
        text = str(r.body).lower()
        for leak in ("postgres", "libpq", self.srv.dir, "socket"):
            self.assertNotIn(leak.lower(), text)

    def timed(self, d, method, path, body=None):
        t0 = time.monotonic()
        r = d.request(method, path, body=body)
        return r, time.monotonic() - t0

    def test_restart_under_load(self):
        d = self.daemon(self.srv.create_database("nd_outage")).start()
        ok(d, "PUT", "/v1/targets/warm", {})
        acked, other, stop = [], [], threading.Event()
        lock = threading.Lock()

        def load(i):
            n = 0
            while not stop.is_set():
                n += 1
                r, dt = self.timed(d, "POST", "/v1/notifications",
                                   {"libelle": "l%d-%d" % (i, n), "targets": ["t%d" % i]})
                with lock:
                    if r.status == 201:
                        acked.append(r.body["notification_key"])
                    else:
                        other.append((r, dt))
                if r.status != 201:
                    time.sleep(0.05)

        fds_before = fd_count(d.proc.pid)
        threads = [threading.Thread(target=load, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            before_stop = len(acked)
            self.srv.stop_server("fast")
            time.sleep(0.5)
            r, dt = self.timed(d, "GET", "/healthz")
            self.assertEqual((r.status, r.body), (503, {"status": "unavailable"}))
            self.assertLess(dt, OUTAGE_ANSWER_S)
            r, dt = self.timed(d, "GET", "/v1/targets/warm")
            self.assert_unavailable(r, dt)
            time.sleep(1.5)
            self.srv.start_server()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if self.timed(d, "GET", "/healthz")[0].status == 200 and \
                        d.request("GET", "/v1/targets/warm").status == 200:
                    break
                time.sleep(0.1)
            else:
                self.fail("notifd did not come back within 20 s of the server")
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertGreater(before_stop, 0)
        self.assertTrue(other, "no request met the outage")
        for r, dt in other:
            self.assert_unavailable(r, dt)
        self.assertEqual(len(set(acked)), len(acked))
        for key in acked:
            self.assertEqual(d.request("GET", "/v1/notifications/%d" % key).status, 200, key)
        self.assertEqual(ok(d, "GET", "/v1/tenant").body["deliveries"], len(acked))
        # Broken connections were closed, not leaked.
        self.assertLessEqual(fd_count(d.proc.pid), fds_before + 2)
        self.assertEqual(d.stop(), 0)

    def test_started_while_the_server_is_down(self):
        db = self.srv.create_database("nd_late")
        self.srv.stop_server("fast")
        try:
            d = self.daemon(db).start()  # listens although the database is away
            r, dt = self.timed(d, "GET", "/healthz")
            self.assertEqual((r.status, r.body), (503, {"status": "unavailable"}))
            r, dt = self.timed(d, "GET", "/v1/tenant")
            self.assert_unavailable(r, dt)
            time.sleep(1.0)
        finally:
            self.srv.start_server()
        deadline = time.monotonic() + 20
        while d.request("GET", "/v1/tenant").status != 200:
            if time.monotonic() > deadline:
                self.fail("notifd did not come up within 20 s of the server")
            time.sleep(0.1)
        ok(d, "PUT", "/v1/targets/%s" % enc("late"), {})
        self.assertEqual(d.stop(), 0)

    def test_server_back_with_a_newer_schema(self):
        # While notifd waits for the server, a newer notifd migrates the
        # database: retrying cannot help, so notifd stops as it would have
        # at start (exit 1), saying why.
        db = self.srv.create_database("nd_newer")
        d = self.daemon(db).start()
        self.assertEqual(d.stop(), 0)  # the schema is in place
        self.srv.psql("INSERT INTO notifd_schema (version, name) VALUES (99, 'future')",
                      dbname=harness.pg_server.conninfo_dbname(db))
        self.srv.stop_server("fast")
        try:
            d.start()
            r, dt = self.timed(d, "GET", "/v1/tenant")
            self.assert_unavailable(r, dt)
        finally:
            self.srv.start_server()
        self.assertEqual(d.proc.wait(timeout=20), 1, d.logs[-5:])
        d.stop()  # gathers the rest of its log
        self.assertTrue(any("newer than" in line for line in d.log_lines()),
                        d.log_lines()[-5:])


if __name__ == "__main__":
    harness.main()
