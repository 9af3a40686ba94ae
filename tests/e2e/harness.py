"""End-to-end harness for notifd: runs the real binary, talks HTTP to it.

Python 3 standard library only.

Two backends. By default every Daemon gets a SQLite file in its work
directory. With NOTIFD_TEST_BACKEND=postgres, every Daemon whose `db` was
not given gets a fresh, empty PostgreSQL database instead (created when the
daemon first needs it, dropped by Daemon.cleanup() / DaemonTestCase), on
the server whose admin conninfo is in NOTIFD_TEST_PG (tests/pg/pg_server.py
sets it). Without NOTIFD_TEST_PG the harness starts a private throw-away
server on import, and exits 77 with a loud message when it cannot.

Tests that are genuinely about the SQLite file say so with
@sqlite_only("why"); tests that need extra databases use new_db()/drop_db(),
and db_initialized() instead of os.path.exists(db).
"""

import atexit
import collections
import datetime
import http.client
import itertools
import json
import os
import re
import secrets
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

sys.path.insert(0, os.path.join(REPO, "tests", "pg"))
import pg_server  # noqa: E402  (tests/pg, standard library only)

# NOTIFD_WRAP runs every notifd under a command, e.g. valgrind (make
# valgrind): everything is then an order of magnitude slower.
WRAP = shlex.split(os.environ.get("NOTIFD_WRAP", ""))
SCALE = 10.0 if WRAP else 1.0
# A build whose speed and memory figures say nothing (sanitizers, valgrind):
# tests of a resident set or a command line only log them.
INSTRUMENTED = os.environ.get("NOTIFD_SANITIZED") == "1" or bool(WRAP)

START_TIMEOUT = 10.0 * SCALE
STOP_TIMEOUT = 10.0 * SCALE
HTTP_TIMEOUT = 15.0 * SCALE

PROBLEM_PREFIX = "urn:notifd:problem:"
GUID_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
REQ_ID_GEN_RE = re.compile(r"^[0-9a-fA-F]{32}$")
# RFC 3339 UTC, milliseconds only when not zero.
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")

# Sentinel: "use the daemon's admin key".
ADMIN = object()


SKIP_EXIT = 77  # meson: skipped


def _backend():
    b = os.environ.get("NOTIFD_TEST_BACKEND") or "sqlite"
    if b not in ("sqlite", "postgres"):
        raise RuntimeError("NOTIFD_TEST_BACKEND=%r: expected sqlite or postgres" % b)
    return b


# "sqlite" or "postgres": the store every Daemon of this run uses by default.
BACKEND = _backend()

_pg = None


def pg():
    """The PostgreSQL server of this run (a pg_server.Server); postgres leg only.

    The server in NOTIFD_TEST_PG when set (shared: never stopped here; the
    databases this process created are dropped at exit), else a private one
    started now and removed at exit."""
    global _pg
    if BACKEND != "postgres":
        raise RuntimeError("pg() called on the %s leg" % BACKEND)
    if _pg is None:
        if os.environ.get("NOTIFD_TEST_PG"):
            _pg = pg_server.attach()
        else:
            _pg = pg_server.start()
        atexit.register(_pg.stop)
    return _pg


if BACKEND == "postgres":
    try:
        pg()
    except pg_server.Skip as e:
        sys.stderr.write(pg_server.skip_banner(str(e), " ".join(sys.argv)))
        sys.exit(SKIP_EXIT)


def sqlite_only(reason):
    """Decorator (test method or class): skipped on the PostgreSQL leg.

    Only for tests that are genuinely about the SQLite file; `reason` must
    say why the test has no PostgreSQL meaning."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("sqlite_only needs a reason")
    return unittest.skipUnless(BACKEND == "sqlite", "SQLite only: " + reason)


def new_db(workdir, name="notifd.db"):
    """A database nobody has used yet, as a --db value.

    SQLite: the path workdir/name (the file does not exist). PostgreSQL: the
    conninfo of a new empty database (its name is derived from `name`);
    drop it with drop_db()."""
    if BACKEND == "sqlite":
        return os.path.join(workdir, name)
    return pg().create_database("nd_" + os.path.splitext(os.path.basename(name))[0])


def drop_db(db):
    """Drops a database made by new_db() (PostgreSQL; SQLite files go with
    their directory)."""
    if BACKEND == "postgres" and db and pg_server.is_conninfo(db):
        pg().drop_database(db)


def db_initialized(db):
    """Whether notifd has created its schema in db: the SQLite file exists,
    or the PostgreSQL database holds any table (no table name is assumed)."""
    if BACKEND == "postgres" and pg_server.is_conninfo(db):
        return pg().has_user_tables(pg_server.conninfo_dbname(db))
    return os.path.exists(db)


def main():
    """unittest.main() for a suite file, except that a run in which tests
    were found but every one was skipped exits 77 (meson: SKIP), so a leg
    that did not run never counts as passed."""
    prog = unittest.main(exit=False)
    r = prog.result
    # class-level skips (setUpClass raising SkipTest) are not counted in testsRun
    method_skips = sum(1 for t, _ in r.skipped if isinstance(t, unittest.TestCase))
    if r.wasSuccessful() and r.skipped and r.testsRun - method_skips == 0:
        sys.stderr.write("\n*** %s: every test was SKIPPED (%s leg); reporting skip (exit %d)\n"
                         % (os.path.basename(sys.argv[0]), BACKEND, SKIP_EXIT))
        for _, why in r.skipped[:5]:
            sys.stderr.write("***   %s\n" % why)
        sys.exit(SKIP_EXIT)
    sys.exit(0 if r.wasSuccessful() else 1)


def notifd_bin():
    return os.environ.get("NOTIFD_BIN") or os.path.join(REPO, "build", "notifd")


def clean_env(extra=None):
    """The current environment without any NOTIFD_* variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFD_")}
    if extra:
        env.update(extra)
    return env


def private_kb(pid):
    """The process's private resident memory in kB (RssAnon), 0 once it is
    gone. Its RSS also counts the pages of the SQLite file it maps
    (--mmap-size): the kernel's page cache, which reads through read() fill
    as well, so memory bounds are checked on this. The kernel keeps no peak
    of it: callers sample it while the work runs."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def random_key(prefix="e2e_"):
    return prefix + secrets.token_hex(24)  # 4 + 48 chars


def enc(ident):
    """Percent-encode one path segment (so 'a/b' -> 'a%2Fb')."""
    return urllib.parse.quote(str(ident), safe="")


def parse_time(s):
    """Parse a response time (RFC 3339 UTC) into an aware datetime."""
    if not isinstance(s, str) or not TIME_RE.match(s):
        raise ValueError("not an RFC 3339 UTC time: %r" % (s,))
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in s else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc)


def run_cli(args, env=None, timeout=10.0, binary=None):
    """Run the binary to completion; returns CompletedProcess (text mode)."""
    return subprocess.run(
        WRAP + [binary or notifd_bin()] + list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(env),
        timeout=timeout * SCALE,
        text=True,
    )


def keyed_routes():
    """Every route of every face that needs a key, from `notifd routes`:
    dicts of face, method, path and access (admin, member-self, member-any)."""
    cp = run_cli(["routes"])
    if cp.returncode != 0:
        raise AssertionError("notifd routes failed: %s" % cp.stderr)
    routes = [json.loads(line) for line in cp.stdout.splitlines()]
    return [r for r in routes if r["access"] != "public"]


def tenant_export(db, tenant):
    """@tenant's data as `notifd export` writes it, without the line that
    says when (so two exports of the same data are equal)."""
    cp = run_cli(["export", "--db", db, "--tenant", tenant])
    if cp.returncode != 0:
        raise AssertionError("export failed: %s" % cp.stderr)
    return cp.stdout.split("\n", 1)[1]


Response = collections.namedtuple("Response", "status headers body")


class DaemonError(Exception):
    pass


class Daemon:
    """One notifd process. start()/stop()/restart() keep the same db and admin key."""

    def __init__(self, workdir, admin_key=None, db=None, listen="127.0.0.1:0",
                 extra_args=(), env=None, use_flags=True, binary=None, preexec_fn=None,
                 wrap=True):
        self.workdir = workdir
        self.wrap = WRAP if wrap else []  # False: @binary applies NOTIFD_WRAP itself
        self.binary = binary or notifd_bin()
        self.admin_key = admin_key if admin_key is not None else random_key("e2e_admin_")
        self._db = db or None
        self._owned_db = None  # a PostgreSQL database this Daemon created (cleanup() drops it)
        self.listen = listen
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.preexec_fn = preexec_fn  # e.g. to lower resource limits
        self.use_flags = use_flags
        self.proc = None
        self.host = None
        self.port = None
        self.logs = []       # every stderr line (str, without newline), across restarts
        self.stdout_lines = []
        self._lock = threading.Lock()
        self._threads = []

    @property
    def db(self):
        """The --db value: the given one, else workdir/notifd.db (SQLite) or a
        fresh PostgreSQL database, created on first use."""
        if self._db is None:
            if BACKEND == "postgres":
                self._db = self._owned_db = pg().create_database("nd")
            else:
                self._db = os.path.join(self.workdir, "notifd.db")
        return self._db

    @db.setter
    def db(self, value):
        self._db = value

    def cleanup(self):
        """Kills the process if it still runs and drops the PostgreSQL
        database this Daemon created, if any. Idempotent."""
        try:
            self.kill()
        finally:
            owned, self._owned_db = self._owned_db, None
            if owned:
                drop_db(owned)

    # -- process control -------------------------------------------------

    def argv(self):
        argv = self.wrap + [self.binary]
        if self.use_flags:
            if self.listen is not None:
                argv += ["--listen", self.listen]
            if self.db is not None:
                argv += ["--db", self.db]
            if self.admin_key is not None:
                argv += ["--admin-key", self.admin_key]
        return argv + self.extra_args

    def start(self):
        if self.proc is not None:
            raise DaemonError("already running")
        if not os.path.exists(self.binary):
            raise DaemonError("notifd binary not found at %s (set NOTIFD_BIN)" % self.binary)
        listening = threading.Event()
        state = {"addr": None, "eof": False}
        first_line = len(self.logs)
        self.proc = proc = subprocess.Popen(
            self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=clean_env(self.env), cwd=self.workdir,
            preexec_fn=self.preexec_fn)

        def drain_err():
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    self.logs.append(line)
                if state["addr"] is None:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        rec = None
                    if isinstance(rec, dict) and rec.get("event") == "listening" \
                            and isinstance(rec.get("addr"), str):
                        state["addr"] = rec["addr"]
                        listening.set()
            state["eof"] = True
            listening.set()

        def drain_out():
            for raw in proc.stdout:
                with self._lock:
                    self.stdout_lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))

        self._threads = [threading.Thread(target=drain_err, daemon=True),
                         threading.Thread(target=drain_out, daemon=True)]
        for t in self._threads:
            t.start()
        listening.wait(START_TIMEOUT)
        if state["addr"] is None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            self._reap(proc)
            with self._lock:
                err = "\n".join(self.logs[first_line:])
            raise DaemonError("notifd did not report listening (exit %r); stderr:\n%s"
                              % (proc.returncode, err[-4000:]))
        host, _, port = state["addr"].rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        return self

    def _reap(self, proc):
        for t in self._threads:
            t.join(5)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
        self.proc = None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal the daemon and wait; returns its exit code (killed: raises)."""
        proc = self.proc
        if proc is None:
            raise DaemonError("not running")
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise DaemonError("notifd did not exit within %ss of signal %s" % (timeout, sig))
        finally:
            self._reap(proc)
        # notifd rolls back what a request left open and says so: a bug in
        # whichever test's requests did it (a read scope not ended, say).
        left = [l for l in self.log_lines() if "transaction left open" in l]
        if left:
            raise DaemonError("a request left its transaction open: %s" % left[0])
        return rc

    def kill(self):
        proc = self.proc
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            self._reap(proc)

    def restart(self):
        rc = self.stop()
        if rc != 0:
            raise DaemonError("notifd exited with %r on SIGTERM" % rc)
        return self.start()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- logs ------------------------------------------------------------

    def log_lines(self):
        with self._lock:
            return list(self.logs)

    def log_records(self):
        out = []
        for line in self.log_lines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def wait_log(self, pred, timeout=3.0):
        """First parsed log record satisfying pred, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for rec in self.log_records():
                if pred(rec):
                    return rec
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    # -- HTTP ------------------------------------------------------------

    def connection(self, timeout=HTTP_TIMEOUT):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def auth_headers(self, key=ADMIN, auth="x-key"):
        if key is ADMIN:
            key = self.admin_key
        if key is None:
            return {}
        if auth == "x-key":
            return {"X-Key": key}
        if auth == "bearer":
            return {"Authorization": "Bearer " + key}
        raise ValueError(auth)

    def request(self, method, path, body=None, key=ADMIN, headers=None, raw_body=None,
                auth="x-key", conn=None):
        """Returns Response(status, headers (lower-cased names), body).

        body is JSON-encoded; raw_body (bytes/str/iterable) is sent as is.
        The response body is parsed JSON when it parses, raw bytes otherwise.
        """
        hdrs = self.auth_headers(key, auth)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
        elif raw_body is not None:
            payload = raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body
        if payload is not None:
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        own = conn is None
        c = conn or self.connection()
        try:
            c.request(method, path, body=payload, headers=hdrs)
            return read_response(c.getresponse())
        finally:
            if own:
                c.close()

    # -- CLI -------------------------------------------------------------

    def key_create(self, role, target=None, tenant=None):
        """Run `notifd key create` against this daemon's db; returns the key."""
        args = ["key", "create", "--role", role]
        if target is not None:
            args += ["--target", target]
        if tenant is not None:
            args += ["--tenant", tenant]
        args += ["--db", self.db]
        cp = run_cli(args, binary=self.binary)
        if cp.returncode != 0:
            raise DaemonError("key create %r failed (%d): %s" % (args, cp.returncode, cp.stderr))
        return cp.stdout.rstrip("\n")


def read_response(resp):
    data = resp.read()
    headers = {}
    for name, value in resp.getheaders():
        n = name.lower()
        headers[n] = headers[n] + ", " + value if n in headers else value
    body = data
    if data:
        try:
            body = json.loads(data.decode("utf-8"))
        except ValueError:
            body = data
    return Response(resp.status, headers, body)


def ok(d, method, path, body=None, status=None, **kw):
    """d.request(...) that must succeed: any 2xx when status is None, else
    exactly `status` (an int, or a tuple of allowed ones). Returns the
    Response; raises AssertionError (a test failure) otherwise."""
    r = d.request(method, path, body, **kw)
    if status is None:
        good = 200 <= r.status < 300
    else:
        good = r.status in (status if isinstance(status, tuple) else (status,))
    if not good:
        raise AssertionError("%s %s -> %d (expected %s): %r"
                             % (method, path, r.status, status or "2xx", r.body))
    return r


_counter = itertools.count(1)


def uid(prefix="id"):
    """A process-unique identifier."""
    return "%s-%d-%s" % (prefix, next(_counter), secrets.token_hex(3))


def private_pg(testcase_cls, options=""):
    """A private PostgreSQL server for one test class (from its setUpClass):
    for tests that stop the server or need server options, since the run's
    own server may be shared with other suites. Raises unittest.SkipTest
    when no server can be started; the server is stopped and removed by a
    class cleanup (which also runs when setUpClass fails later on)."""
    try:
        srv = pg_server.start(options=options)
    except pg_server.Skip as e:
        raise unittest.SkipTest(str(e))
    testcase_cls.addClassCleanup(srv.stop)
    return srv


def populate(d, other_key):
    """Fills, through every face, tenant "default" (d's admin key) and one
    more tenant (other_key): targets with attributes, segments and members,
    a campaign, notifications to targets and segments with every field,
    events, a deleted delivery, keys of both roles and a revoked one, a time
    zone. Returns (a member key of alice, the revoked member key of bob)."""
    ok(d, "PATCH", "/v1/tenant", {"time_zone": "Europe/Paris"})
    ok(d, "PUT", "/v1/targets/alice", {"name": "Alice", "email": "a@example.com",
                                       "profile": "p", "attributes": {"plan": "pro", "n": [1, 2]}})
    ok(d, "PUT", "/v1/targets/bob", {"name": "Bob \u00e9\u00e8 \u2603"})
    ok(d, "PUT", "/v1/targets/" + enc("c/arol"), {})
    seg = ok(d, "POST", "/v1/segments", {"name": "early"}).body["id"]
    empty = ok(d, "POST", "/v1/segments", {"name": "empty"}).body["id"]
    ok(d, "PUT", "/v1/segments/%d/members/alice" % seg)
    ok(d, "POST", "/targets/dave/segments/%d" % seg)  # creates dave
    ok(d, "PUT", "/v1/campaigns/spring", {"name": "Spring"})
    keys = []
    keys.append(ok(d, "POST", "/v1/notifications", {
        "libelle": "Welcome", "body": "Hello <b>&</b>", "url": "/w", "type": "welcome",
        "action_type": 3, "campaign_id": "spring", "profile": "pr",
        "screen_name": ["x", "y"], "batch": "b1", "date_started": "2026-03-01T10:00:00Z",
        "date_due": "2026-04-01T00:00:00.123Z", "targets": ["alice", "bob", "c/arol"]})
                .body["notification_key"])
    keys.append(ok(d, "POST", "/v1/notifications", {
        "libelle": "To the segment", "segments": [seg, empty],
        "date_started": "2026-03-02T10:00:00Z"}).body["notification_key"])
    keys.append(ok(d, "POST", "/v1/notifications", {
        "libelle": "Zed", "type": "alert", "targets": ["bob", "alice"],
        "date_started": "2026-03-03T10:00:00.5Z"}).body["notification_key"])
    ok(d, "POST", "/v1/targets/alice/events",
       {"notification_key": keys[0], "type": "impression", "at": "2026-03-01T11:00:00Z"})
    ok(d, "POST", "/v1/targets/alice/events", {"notification_key": keys[0], "type": "read",
                                               "at": "2026-03-01T11:00:01.250Z"})
    ok(d, "POST", "/v1/targets/bob/events", {"notification_key": keys[2], "type": "complete",
                                             "at": "2026-03-04T00:00:00Z"})
    ok(d, "POST", "/v1/targets/dave/events", {"notification_key": keys[1], "type": "dismiss",
                                              "at": "2026-03-02T12:00:00Z"})
    listing = ok(d, "GET", "/api3/notification?member_id=bob&order=title%20ASC").body
    ok(d, "DELETE", "/api3/notification/" + listing["notification_list"][0]["id"])
    member = ok(d, "POST", "/v1/keys", {"role": "member", "target": "alice"}).body["key"]
    gone = ok(d, "POST", "/v1/keys", {"role": "member", "target": "bob"}).body
    ok(d, "DELETE", "/v1/keys/" + gone["id"])
    ok(d, "PUT", "/v1/targets/zoe", {"name": "Zoe"}, key=other_key)
    ok(d, "POST", "/v1/notifications", {"libelle": "other", "targets": ["zoe"]}, key=other_key)
    return member, gone["key"]


def begun_request(d, source=None):
    """A connection to @d (from address @source) whose request head is begun
    and never ended: it holds a connection slot until closed."""
    s = socket.create_connection((d.host, d.port), timeout=10,
                                 source_address=(source, 0) if source else None)
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    return s

def store_rows(d, sql, server=None):
    """Rows of @sql run straight on d's database (read-only on SQLite; on
    PostgreSQL through psql on @server, the shared one by default)."""
    if BACKEND == "sqlite":
        with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
            return db.execute(sql).fetchall()
    out = (server or pg()).psql(sql, dbname=pg_server.conninfo_dbname(d.db))
    return [line.split("|") for line in out.splitlines() if line]


def store_exec(d, sqlite_sql, postgres_sql, server=None):
    """Runs a write straight on d's database, in each store's own words: a
    test's way to put the database where the API cannot (or only after
    billions of requests), such as a counter near its end."""
    if BACKEND == "sqlite":
        with sqlite3.connect(d.db, timeout=10) as db:
            db.execute(sqlite_sql)
    else:
        (server or pg()).psql(postgres_sql, dbname=pg_server.conninfo_dbname(d.db))


def set_tenant_counter(d, tenant, counter, value):
    """Sets the next id a tenant will be given (@counter: next_segment_id or
    next_notification_key), kept in `tenants` on SQLite and in
    `tenant_counters` on PostgreSQL."""
    store_exec(d, "UPDATE tenants SET %s = %d WHERE name = '%s'" % (counter, value, tenant),
               "UPDATE tenant_counters SET %s = %d WHERE tenant_id ="
               " (SELECT id FROM tenants WHERE name = '%s')" % (counter, value, tenant))


def recount_mismatches(d, server=None):
    """Stored delivery counters of d's database that differ from a recount
    of its live deliveries."""
    # the tenant's counter: a column of tenants on SQLite, a row of its
    # own (tenant_counters) on PostgreSQL
    tenant = ("SELECT t.id, t.deliveries FROM tenants t" if BACKEND == "sqlite"
              else "SELECT t.tenant_id, t.deliveries FROM tenant_counters t")
    checks = [
        ("tenant", tenant.replace(" FROM", ", (SELECT count(*) FROM deliveries x WHERE"
                                  " x.tenant_id = t.%s AND x.deleted_at IS NULL) FROM"
                                  % ("id" if BACKEND == "sqlite" else "tenant_id"), 1)),
        ("target", "SELECT t.tid, t.deliveries, (SELECT count(*) FROM deliveries x"
         " WHERE x.tenant_id = t.tenant_id AND x.tid = t.tid AND x.deleted_at IS NULL)"
         " FROM targets t"),
        ("notification", "SELECT n.nkey, n.deliveries, (SELECT count(*) FROM deliveries x"
         " WHERE x.tenant_id = n.tenant_id AND x.nkey = n.nkey AND x.deleted_at IS NULL)"
         " FROM notifications n"),
    ]
    bad = []
    for what, sql in checks:
        for row in store_rows(d, sql, server):
            if int(row[1]) != int(row[2]):
                bad.append((what, row))
    return bad


def assert_integrity(testcase, d):
    """SQLite: d's database file passes integrity_check (d stopped or not)."""
    if BACKEND == "sqlite":
        testcase.assertEqual(store_rows(d, "PRAGMA integrity_check"), [("ok",)])


class DaemonTestCase(unittest.TestCase):
    """Starts one daemon per test class; stopping it must exit 0."""

    daemon_args = ()
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-")
        cls.daemon = Daemon(cls._tmp.name, extra_args=cls.daemon_args)
        try:
            cls.daemon.start()
        except BaseException:
            try:
                cls.daemon.cleanup()
            finally:
                cls._tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.daemon.stop() if cls.daemon.proc is not None else 0
        finally:
            try:
                cls.daemon.cleanup()
            finally:
                cls._tmp.cleanup()
        super().tearDownClass()
        if rc != 0:
            raise AssertionError("notifd exited with code %r on SIGTERM (expected 0)" % rc)

    # -- helpers ---------------------------------------------------------

    def req(self, method, path, body=None, **kw):
        return self.daemon.request(method, path, body, **kw)

    def ok(self, method, path, body=None, status=None, **kw):
        """Request that must succeed (2xx, or exactly `status`): ok() on
        this class's daemon."""
        return ok(self.daemon, method, path, body, status=status, **kw)

    def uid(self, prefix="id"):
        return uid(prefix)

    def new_tenant(self, name=None):
        """Create a fresh tenant; returns (tenant name, admin key)."""
        name = name or uid("tenant")
        return name, self.daemon.key_create("admin", tenant=name)

    def assertProblem(self, r, status, ptype=None, field=None, detail_names_field=None):
        """r is a problem+json response with the given status/type/field.

        For body-validation problems the detail must also name the field."""
        if detail_names_field is None:
            detail_names_field = ptype not in ("unknown-reference", "invalid-parameter")
        ctx = "%d %r" % (r.status, r.body)
        self.assertEqual(r.status, status, ctx)
        ctype = r.headers.get("content-type", "")
        self.assertTrue(ctype.split(";")[0].strip().lower() == "application/problem+json",
                        "content-type %r; %s" % (ctype, ctx))
        b = r.body
        self.assertIsInstance(b, dict, ctx)
        for f in ("type", "title", "status", "detail", "request_id"):
            self.assertIn(f, b, ctx)
        self.assertIsInstance(b["title"], str, ctx)
        self.assertIsInstance(b["detail"], str, ctx)
        self.assertEqual(b["status"], status, ctx)
        self.assertEqual(b["request_id"], r.headers.get("x-request-id"), ctx)
        if ptype is not None:
            self.assertEqual(b["type"], PROBLEM_PREFIX + ptype, ctx)
        if field is not None:
            self.assertEqual(b.get("field"), field, ctx)
            if detail_names_field:
                self.assertIn(field, b["detail"], ctx)
        return b

    def assertTime(self, value, msg=None):
        self.assertIsInstance(value, str, msg)
        self.assertRegex(value, TIME_RE, msg)
        if "." in value:
            self.assertFalse(value.endswith(".000Z"), "zero milliseconds must be omitted: %r" % value)
        return parse_time(value)

    def assertRecent(self, value, slack=120.0):
        t = self.assertTime(value)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - t).total_seconds()), slack, "%r is not 'now'" % value)
        return t
