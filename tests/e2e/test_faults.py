"""Fault injection: failures on purpose where a healthy machine never fails.

notifd built with -Dfault_injection=true (the sanitizer build of `make
check`, and `make coverage`) fails, as NOTIFD_FAULT tells it, the N-th call
of one kind: SQLite's allocations, writes and syncs, statement
preparations and steps, PostgreSQL statements (answered by a real server
error) and connections (cut before a statement goes out), notifd's own
allocations and threads; see src/util/fault.h and docs/reliability.md.

TestFaults sends one workload through every face (writes, events, listings
in JSON and XML, deletes) under many schedules and checks that:

- every request is answered: as without failures, or with 500, 503 or 507,
  or with what an earlier failed step explains; no answer names SQL,
  SQLite, PostgreSQL or the injected error;
- notifd never crashes, and exits 0 on SIGTERM (the sanitizers' leak check
  runs then);
- afterwards, started again without failures: the database passes
  integrity_check (SQLite), the stored counters equal a recount, every
  acknowledged notification and target is there, every acknowledged delete
  is gone, and no failed creation left a notification behind (except where
  the outcome is unknowable).

The other classes do the same for export and import, start-up, a streamed
feed, threads and notifd's own allocations.
"""

import contextlib
import http.client
import json
import os
import signal
import sys
import tempfile
import unittest

import harness
from harness import BACKEND, Daemon, main

# (kind, every, first) per run. Calls of a kind are counted from the moment
# notifd serves; the workload makes about 8,900 SQLite allocations, 300
# SQLite writes and syncs, 66 SQLite preparations, 268 SQLite statement
# steps, 155 PostgreSQL statements, 58 preparations and 210 chances to cut
# a connection (notifd logs the count of a run on exit). A failure every
# few requests (every request, for SQLite's allocations), and one run for
# each offset within that period, moves the failures across every call of
# every request; one denser run per kind piles them up.
ONCE = 999999999  # the largest period NOTIFD_FAULT takes
SCHEDULES = {
    # Preparations and steps fail one at a time, each in a run of its own:
    # a failed statement is prepared again later, which would move a
    # periodic schedule's later failures off the statements after it, and
    # a failed step changes which statements the rest of the run makes.
    "sqlite": [("alloc", 131, f) for f in range(1, 132)]
    + [("io", 17, f) for f in range(1, 18)] + [("io", 5, 3)]
    + [("prepare", ONCE, f) for f in range(1, 67)] + [("prepare", 20, 7)]
    + [("step", ONCE, f) for f in range(1, 269)] + [("step", 7, 3)],
    "postgres": [("query", 11, f) for f in range(1, 12)] + [("query", 3, 2)]
    + [("disconnect", 13, f) for f in range(1, 14)] + [("disconnect", 4, 1)]
    + [("prepare", 15, f) for f in range(1, 16)]
    + [("serialization", 5, f) for f in range(1, 6)] + [("diskfull", 9, f) for f in (1, 4, 7)],
}

# One worker thread, so that a schedule fails the same calls on every run
# (each worker has its own database connection and statement cache).
ONE_WORKER = ("--threads", "1")

# What no answer may contain, failures or not.
LEAKS = (b"sqlite", b"SQLITE", b"SELECT", b"INSERT", b"UPDATE ", b"postgres", b"PostgreSQL",
         b"libpq", b"fault injected", b"XX000")

FAILED = (500, 503, 507)


class Run:
    """One pass of the workload; what was acknowledged, refused and failed."""

    def __init__(self, d):
        self.d = d
        self.answers = []           # (method, path, status, wanted statuses, body)
        self.notifications = {}     # acknowledged: key -> libelle
        self.failed_creations = 0   # POST /v1/notifications answered 5xx
        self.targets = set()        # acknowledged PUT /v1/targets/{id}
        self.deleted = set()        # API3 GUIDs whose DELETE was acknowledged

    def call(self, method, path, body=None, key=harness.ADMIN, want=(200, 201, 204)):
        try:
            r = self.d.request(method, path, body, key=key)
        except (OSError, http.client.HTTPException) as e:
            raise AssertionError("%s %s: no answer (%s)" % (method, path, e))
        self.answers.append((method, path, r.status, want, r.body))
        raw = r.body if isinstance(r.body, bytes) else json.dumps(r.body).encode()
        for leak in LEAKS:
            if leak in raw:
                raise AssertionError("%s %s -> %d names %r: %r"
                                     % (method, path, r.status, leak, raw[:300]))
        return r

    def good(self, r):
        return 200 <= r.status < 300


def workload(run):
    """Every face once: the tenant, targets, segments, a campaign,
    notifications to targets and segments, events, a member key, listings
    and deletes. Later steps use what earlier ones made, or a stand-in when
    they failed (then a 404 is the right answer)."""
    c = run.call
    c("PATCH", "/v1/tenant", {"time_zone": "Europe/Paris"})
    for t, body in (("alice", {"name": "Alice", "attributes": {"plan": "pro"}}),
                    ("bob", {"name": "Bob"}), ("carol", {}), ("dave", {"email": "d@x.org"})):
        if run.good(c("PUT", "/v1/targets/" + t, body)):
            run.targets.add(t)
    seg = c("POST", "/v1/segments", {"name": "early"})
    seg = seg.body["id"] if run.good(seg) else 999999
    other = c("POST", "/v1/segments", {"name": "other"})
    other = other.body["id"] if run.good(other) else 999998
    c("PUT", "/v1/segments/%d/members/alice" % seg)
    c("PUT", "/v1/segments/%d/members/carol" % other)
    c("POST", "/targets/dave/segments/%d" % seg, want=(200, 201, 204))
    c("PUT", "/v1/campaigns/spring", {"name": "Spring"})
    keys = []
    for i, body in enumerate((
            {"targets": ["alice", "bob", "carol"], "campaign_id": "spring", "type": "welcome",
             "body": "Hello", "url": "/w", "date_started": "2026-03-01T10:00:00Z"},
            {"segments": [seg, other], "date_started": "2026-03-02T10:00:00Z"},
            {"targets": ["bob", "alice", "erin"], "type": "alert",
             "date_started": "2026-03-03T10:00:00Z"},
            {"targets": ["alice"], "campaign_id": "spring"})):
        body["libelle"] = "n%d" % i
        r = c("POST", "/v1/notifications", body, want=(201,))
        if run.good(r):
            keys.append(r.body["notification_key"])
            run.notifications[r.body["notification_key"]] = body["libelle"]
        elif r.status in FAILED:
            run.failed_creations += 1
    k0 = keys[0] if keys else 999999
    for target, kind in (("alice", "impression"), ("alice", "read"), ("bob", "complete"),
                         ("carol", "dismiss"), ("alice", "activation")):
        c("POST", "/v1/targets/%s/events" % target,
          {"notification_key": k0, "type": kind, "at": "2026-03-04T00:00:00Z"})
    member = c("POST", "/v1/keys", {"role": "member", "target": "alice"})
    member = member.body["key"] if run.good(member) else None
    for path in ("/v1/targets/alice", "/v1/segments", "/v1/segments/%d" % seg,
                 "/v1/campaigns/spring", "/v1/notifications/%d" % k0, "/v1/tenant", "/v1/keys",
                 "/v1/targets/alice/notifications?limit=2",
                 "/targets/alice/notifications?sort=desc",
                 "/targets/alice/notifications?start=2026-03-01&end=2026-03-05",
                 "/targets/alice/segments",
                 "/api3/notification?member_id=alice&page_size=2",
                 "/api3/notification?order=title%20DESC&with=member",
                 "/api3/notification?campaign_id=spring&format=xml",
                 "/api3/notification?date_started=03/02/2026",
                 "/api3/notification?page=2&page_size=2&order=date_completed%20ASC"):
        c("GET", path)
    if member:
        c("GET", "/v1/targets/alice/notifications", key=member)
        c("GET", "/targets/alice/notifications", key=member)
    listing = c("GET", "/api3/notification?member_id=bob")
    if run.good(listing):
        for item in listing.body["notification_list"][:2]:
            c("GET", "/api3/notification/" + item["id"])
            if run.good(c("DELETE", "/api3/notification/" + item["id"])):
                run.deleted.add(item["id"])
    c("DELETE", "/v1/segments/%d/members/alice" % seg)
    c("DELETE", "/targets/dave/segments/%d" % seg)
    c("DELETE", "/v1/segments/%d" % other)
    if run.good(c("DELETE", "/v1/targets/carol")):
        run.targets.discard("carol")
    keys_now = c("GET", "/v1/keys")
    if run.good(keys_now):
        for k in keys_now.body.get("keys", []):
            if k.get("role") == "member":
                c("DELETE", "/v1/keys/" + k["id"])


@contextlib.contextmanager
def faulted(tmp, label, **kw):
    """A one-worker notifd in @tmp whose calls fail by schedule @label
    (NOTIFD_FAULT), cleaned up on leaving."""
    d = Daemon(tmp, env={"NOTIFD_FAULT": label}, extra_args=ONE_WORKER, **kw)
    try:
        yield d
    finally:
        d.cleanup()


def start_or_why(d):
    """Starts @d: None when it serves, else why not (the exit code and the
    end of its log, as harness.DaemonError says them)."""
    try:
        d.start()
    except harness.DaemonError as e:
        return str(e)
    return None


class TestFaults(unittest.TestCase):
    maxDiff = 4000

    def test_binary_injects(self):
        """The binary under test has fault injection (a malformed schedule
        is refused), so the runs below cannot pass by injecting nothing."""
        cp = harness.run_cli(["--version"], env=harness.clean_env({"NOTIFD_FAULT": "alloc:x"}))
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertIn("NOTIFD_FAULT must be KIND:EVERY[:FIRST][:start]", cp.stderr)

    def baseline(self):
        """The workload's answers without failures."""
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-faults-") as tmp:
            d = Daemon(tmp, extra_args=ONE_WORKER)
            try:
                d.start()
                run = Run(d)
                workload(run)
                self.assertEqual(d.stop(), 0)
            finally:
                d.cleanup()
        bad = [a for a in run.answers if a[2] not in a[3]]
        self.assertEqual(bad, [], "the workload fails without faults")
        return [a[2] for a in run.answers]

    def test_schedules(self):
        base = self.baseline()
        injected = failed = 0
        for kind, every, first in SCHEDULES[BACKEND]:
            label = "%s:%d:%d" % (kind, every, first)
            with self.subTest(schedule=label):
                n, f = self.one_run(label, base)
                injected += n
                failed += f
        sys.stderr.write("%d runs: %d failures injected, %d requests failed by them\n"
                                 % (len(SCHEDULES[BACKEND]), injected, failed))

    def one_run(self, label, base):
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-faults-") as tmp:
            with faulted(tmp, label) as d:
                d.start()
                run = Run(d)
                workload(run)
                self.assertTrue(d.running(), "%s: notifd died" % label)
                self.assertEqual(d.stop(), 0, "%s: notifd did not exit cleanly" % label)
                # counted once the stop has read the whole log
                injected = sum("fault injected" in line for line in d.logs)
                self.assertGreater(injected, 0, "%s: no failure was injected" % label)
                self.check_answers(label, run, base)
                d.env.pop("NOTIFD_FAULT")
                d.start()
                self.check_store(label, d, run)
                self.assertEqual(d.stop(), 0)
        return injected, sum(a[2] in FAILED for a in run.answers)

    def check_answers(self, label, run, base):
        """Each answer is the one without failures, a failure, or what an
        earlier failure explains (after a 5xx: a 404, a 409, or a 400 for
        a reference to what was never made)."""
        failed_before = False
        for i, (method, path, status, want, body) in enumerate(run.answers):
            ctx = "%s: %s %s -> %d %r" % (label, method, path, status, body)
            if status in FAILED:
                failed_before = True
                continue
            if i < len(base) and status == base[i]:
                continue
            explained = failed_before and (status in (404, 409) or (
                status == 400 and isinstance(body, dict)
                and body.get("type", "").endswith(":unknown-reference")))
            self.assertTrue(explained or status in want, ctx)

    def check_store(self, label, d, run):
        harness.assert_integrity(self, d)
        self.assertEqual(harness.recount_mismatches(d), [], label)
        for key, libelle in run.notifications.items():
            r = d.request("GET", "/v1/notifications/%d" % key)
            self.assertEqual((r.status, r.body.get("libelle")), (200, libelle),
                             "%s: acknowledged notification %d" % (label, key))
        for t in run.targets:
            self.assertEqual(d.request("GET", "/v1/targets/" + t).status, 200,
                             "%s: acknowledged target %s" % (label, t))
        for guid in run.deleted:
            self.assertEqual(d.request("GET", "/api3/notification/" + guid).status, 404,
                             "%s: deleted %s is back" % (label, guid))
        stored = int(harness.store_rows(d, "SELECT count(*) FROM notifications")[0][0])
        self.assertGreaterEqual(stored, len(run.notifications), label)
        # A creation answered 5xx wrote nothing, unless its COMMIT's outcome
        # is unknowable: a connection cut while it was under way, or a
        # failed sync after the log was written (the next start may find
        # the transaction complete in SQLite's write-ahead log).
        slack = run.failed_creations if label.startswith(("disconnect", "io")) else 0
        self.assertLessEqual(stored, len(run.notifications) + slack, label)


# Export and import under the same kinds of failure, counted from the moment
# the command has its database open. A command stops at its first failure,
# so each run fails one call, and the runs step through the calls: export
# makes about 840 SQLite allocations, 29 statement steps and 10 PostgreSQL
# statements, import about 1,260 allocations, 45 SQLite writes and 39
# steps, or 40 statements.
COMMAND_SCHEDULES = {
    "sqlite": [("alloc", ONCE, f) for f in range(1, 1300, 37)]
    + [("io", ONCE, f) for f in range(1, 47, 2)] + [("prepare", ONCE, f) for f in range(1, 41)]
    + [("step", ONCE, f) for f in range(1, 41)],
    "postgres": [(kind, ONCE, f) for kind in ("query", "disconnect") for f in range(1, 44, 2)]
    + [("prepare", ONCE, f) for f in range(1, 41)],
}


class TestCommandFaults(unittest.TestCase):
    """`notifd export` and `notifd import` under failures: each either does
    its whole work and exits 0, or exits 1 with a message and no sanitizer
    report; an import that failed left nothing (it is one transaction)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-faults-")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def new_db(self, name):
        db = harness.new_db(self.tmp.name, name)
        self.addCleanup(harness.drop_db, db)
        return db

    def cli(self, args, fault=None):
        env = {"NOTIFD_FAULT": fault} if fault else None
        cp = harness.run_cli(args, env=env, timeout=60)
        ctx = "%s %s: exit %d: %s" % (fault, args[0], cp.returncode, cp.stderr[-2000:])
        self.assertIn(cp.returncode, (0, 1), ctx)
        self.assertNotIn("Sanitizer", cp.stderr, ctx)
        if cp.returncode:
            self.assertIn("notifd: ", cp.stderr, ctx)
        return cp.returncode == 0

    def records(self, path):
        """An export's records, without its header (which says when)."""
        with open(path) as f:
            return f.read().splitlines()[1:]

    def test_export_and_import(self):
        db = self.new_db("source.db")
        d = Daemon(self.tmp.name, db=db, extra_args=ONE_WORKER)
        try:
            d.start()
            workload(Run(d))
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()
        want = self.path("want.jsonl")
        self.assertTrue(self.cli(["export", "--db", db, want]))
        exported = self.records(want)
        failed = 0
        for n, (kind, every, first) in enumerate(COMMAND_SCHEDULES[BACKEND]):
            label = "%s:%d:%d" % (kind, every, first)
            with self.subTest(schedule=label):
                out = self.path("out%d.jsonl" % n)
                if self.cli(["export", "--db", db, out], label):
                    self.assertEqual(self.records(out), exported, label)
                else:
                    failed += 1
                fresh = self.new_db("fresh%d.db" % n)
                imported = self.cli(["import", "--db", fresh, want], label)
                failed += not imported
                back = self.path("back%d.jsonl" % n)
                self.assertTrue(self.cli(["export", "--db", fresh, back]))
                self.assertEqual(self.records(back), exported if imported else [], label)
        self.assertGreater(failed, 0, "no command failed: nothing was injected")
        sys.stderr.write("%d schedules: %d commands failed\n"
                         % (len(COMMAND_SCHEDULES[BACKEND]), failed))


    def test_demo(self):
        """`notifd demo` (what `make run` calls) failing part-way exits 1 with
        a message; a later one without failures exits 0. (A failed seed is
        not undone: see docs/reliability.md, "Still open".)"""
        kind = "step" if BACKEND == "sqlite" else "query"
        failed = 0
        for first in range(1, 52, 5):
            label = "%s:%d:%d" % (kind, ONCE, first)
            with self.subTest(schedule=label):
                db = self.new_db("demo%d.db" % first)
                failed += not self.cli(["demo", "--db", db], label)
                self.assertTrue(self.cli(["demo", "--db", db]), label)
        self.assertGreater(failed, 0, "no demo failed: nothing was injected")


# One NP6 feed of 1,200 deliveries, streamed in batches (src/face/np6): the
# first batch is read before the answer's head goes out, the others after.
# One read of it makes about 3,600 SQLite allocations and 1,210 statement
# steps (one a row), or 3 PostgreSQL statements; each run fails one call,
# stepping through them.
FEED_SIZE = 1200
STREAM_SCHEDULES = {
    "sqlite": [("alloc", ONCE, f) for f in range(1, 3700, 123)]
    + [("step", ONCE, f) for f in (1, 2, 3, 100, 514, 515, 516, 700, 1030, 1200, 1210)],
    "postgres": [(kind, ONCE, f) for kind in ("query", "disconnect") for f in range(1, 5)],
}


class TestStreamFaults(unittest.TestCase):
    """A failure in the middle of a streamed feed: the answer is the whole
    feed, or a 5xx when the failure comes before its head, or a 200 whose
    body stops short, never anything but a prefix of the real feed; notifd
    goes on and exits 0."""

    def feed(self, d):
        c = d.connection()
        try:
            c.request("GET", "/targets/bulk/notifications?sort=desc",
                      headers=d.auth_headers())
            r = c.getresponse()
            try:
                return r.status, r.read(), True
            except http.client.IncompleteRead as e:
                return r.status, e.partial, False
        finally:
            c.close()

    def test_streams(self):
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-faults-") as tmp:
            d = Daemon(tmp, extra_args=ONE_WORKER)
            try:
                d.start()
                c = d.connection()
                for i in range(FEED_SIZE):
                    c.request("POST", "/v1/notifications",
                              json.dumps({"libelle": "n%d" % i, "targets": ["bulk"]}),
                              headers=dict(d.auth_headers(),
                                           **{"Content-Type": "application/json"}))
                    self.assertEqual(c.getresponse().read() and 201, 201)
                c.close()
                status, whole, complete = self.feed(d)
                self.assertEqual((status, complete), (200, True))
                self.assertEqual(len(json.loads(whole)), FEED_SIZE)
                self.assertEqual(d.stop(), 0)
                cut = failed = 0
                for kind, every, first in STREAM_SCHEDULES[BACKEND]:
                    label = "%s:%d:%d" % (kind, every, first)
                    d.env = {"NOTIFD_FAULT": label}
                    d.start()
                    status, body, complete = self.feed(d)
                    if status != 200:
                        self.assertIn(status, FAILED, label)
                        failed += 1
                    elif not complete:
                        self.assertTrue(whole.startswith(body), label)
                        cut += 1
                    else:
                        self.assertEqual(body, whole, label)
                    self.assertEqual(d.stop(), 0, label)
                self.assertGreater(cut, 0, "no stream was cut short")
                sys.stderr.write("%d streamed reads: %d cut short, %d failed before their head\n"
                                 % (len(STREAM_SCHEDULES[BACKEND]), cut, failed))
            finally:
                d.cleanup()


class TestOutOfMemory(unittest.TestCase):
    """notifd's own allocations abort on failure (src/util/mem.h): the
    process ends at once with SIGABRT and says why, rather than answer
    from half-built state."""

    def test_aborts_with_a_message(self):
        aborted = 0
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-faults-") as tmp:
            for k in range(1, 13):
                label = "oom:%d:%d" % (ONCE, k)
                with faulted(tmp, label) as d:
                    why = start_or_why(d)
                    if why:
                        # right after it began to serve, before its log
                        # writer wrote that it listens
                        self.assertIn("(exit %d)" % -signal.SIGABRT, why, label)
                        self.assertIn("notifd: out of memory allocating", why, label)
                        aborted += 1
                        continue
                    try:
                        d.request("PUT", "/v1/targets/t%d" % k, {"name": "T"})
                    except (OSError, http.client.HTTPException):
                        pass  # it died under the request
                    rc = d.stop()  # 0 when no allocation of its failed
                    self.assertIn(rc, (0, -signal.SIGABRT), label)
                    if rc == 0:
                        continue
                    self.assertTrue(any("notifd: out of memory allocating" in line
                                        for line in d.logs), (label, d.logs[-3:]))
                    aborted += 1
        self.assertGreater(aborted, 0, "no allocation failed")


class TestThreadFaults(unittest.TestCase):
    """A thread that cannot be started (the connection reaper, the HTTP
    server's, the acceptor, the log writer): notifd says so and exits 1, or,
    for the log writer, serves and writes its log itself."""

    def test_start_without_threads(self):
        refused = 0
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-faults-") as tmp:
            for k in range(1, 6):
                label = "thread:%d:%d:start" % (ONCE, k)
                with faulted(tmp, label) as d:
                    why = start_or_why(d)
                    if why:
                        self.assertIn("(exit 1)", why, label)
                        self.assertIn("notifd: cannot start", why, label)
                        refused += 1
                        continue
                    self.assertEqual(d.request("GET", "/v1/tenant").status, 200, label)
                    self.assertEqual(d.stop(), 0, label)
        self.assertGreaterEqual(refused, 3, "the reaper, the server and the acceptor")


# Start-up under failures (":start": counted from notifd's first call):
# opening a new database and migrating it takes about 12,300 SQLite
# allocations, 110 writes, 4 preparations and 8 statement steps, or 26
# PostgreSQL statements and 5 preparations.
START_SCHEDULES = {
    "sqlite": [("alloc", ONCE, f) for f in range(1, 12400, 97)]
    + [("io", ONCE, f) for f in range(1, 112, 7)] + [("prepare", ONCE, f) for f in range(1, 6)]
    + [("step", ONCE, f) for f in range(1, 10)],
    "postgres": [(kind, ONCE, f) for kind in ("query", "disconnect") for f in range(1, 28)]
    + [("prepare", ONCE, f) for f in range(1, 7)],
}


class TestStartFaults(unittest.TestCase):
    """Start-up under failures: `notifd key create` on a new database (which
    opens and migrates it), then the daemon on it, either work or exit 1
    with a message and no sanitizer report; either way the next start
    without failures works on the same database, which passes
    integrity_check."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-faults-")
        self.addCleanup(self.tmp.cleanup)

    def test_start(self):
        failed = 0
        for n, (kind, every, first) in enumerate(START_SCHEDULES[BACKEND]):
            label = "%s:%d:%d:start" % (kind, every, first)
            with self.subTest(schedule=label):
                db = harness.new_db(self.tmp.name, "s%d.db" % n)
                self.addCleanup(harness.drop_db, db)
                cp = harness.run_cli(["key", "create", "--role", "admin", "--tenant", "t",
                                      "--db", db], env={"NOTIFD_FAULT": label}, timeout=60)
                ctx = "%s: exit %d: %s" % (label, cp.returncode, cp.stderr[-2000:])
                self.assertIn(cp.returncode, (0, 1), ctx)
                self.assertNotIn("Sanitizer", cp.stderr, ctx)
                # a failure while migrating stops the migration, never
                # lets the command go on without its tables
                self.assertNotIn("no such table", cp.stderr, ctx)
                if cp.returncode:
                    failed += 1
                    self.assertIn("notifd: ", cp.stderr, ctx)
                with faulted(self.tmp.name, label, db=db) as d:
                    why = start_or_why(d)
                    if why:
                        failed += 1
                        self.assertIn("(exit 1)", why, label)
                        self.assertNotIn("Sanitizer", why, label)
                    else:
                        status = d.request("GET", "/v1/tenant").status
                        self.assertIn(status, (200,) + FAILED, label)
                        self.assertEqual(d.stop(), 0, label)
                    d.env = {}
                    d.start()
                    self.assertEqual(d.request("GET", "/v1/tenant").status, 200, label)
                    self.assertEqual(d.stop(), 0, label)
                harness.assert_integrity(self, d)
        self.assertGreater(failed, 0, "no start failed: nothing was injected")
        sys.stderr.write("%d start-up schedules: %d starts failed\n"
                         % (len(START_SCHEDULES[BACKEND]), failed))


if __name__ == "__main__":
    main()
