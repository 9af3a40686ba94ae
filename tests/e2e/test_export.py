"""notifd export / import: moving tenants between stores, losslessly.

A SQLite database is filled through every face (two tenants, keys of both
roles and a revoked one, targets with attributes, segments and members,
campaigns, notifications to targets and segments with every field, events,
deletions, a time zone), then exported, imported into the run's backend
(PostgreSQL on the PostgreSQL leg), exported again and imported into a fresh
SQLite file: SQLite -> PostgreSQL -> SQLite. Every face's answers to a fixed
set of requests (native, NP6, API3 JSON and XML, with admin and member keys)
must be the same before and after each hop, and the two exports must be the
same bytes apart from their header.

Also, each against the run's backend: an import is all or nothing (a bad
line, or a tenant that exists, leaves the database untouched); import from
standard input; export --tenant; usage errors; a large export keeps
constant memory."""

import json
import os
import pty
import re
import select
import subprocess
import tempfile
import unittest

import harness
from harness import INSTRUMENTED, Daemon, enc, ok, populate, run_cli

ADMIN_KEY = harness.random_key("e2e_admin_")


# Exports and imports of the fixtures here take well under a second; the
# large one a few.
CLI_TIMEOUT = 120


DATE_JSON = re.compile(r'"date":"[^"]*"')
DATE_XML = re.compile(rb"<date>[^<]*</date>")


def snapshot(d, member, revoked, other_key):
    """What the faces answer, minus the only relative value (API3's human
    "date", e.g. "5 minutes ago", which moves with the clock)."""
    admin = harness.ADMIN
    reqs = [
        (admin, "/v1/tenant"), (admin, "/v1/keys"), (admin, "/v1/segments"),
        (admin, "/v1/segments/1"), (admin, "/v1/segments/2"), (admin, "/v1/campaigns/spring"),
        (admin, "/v1/targets/alice"), (admin, "/v1/targets/bob"),
        (admin, "/v1/targets/" + enc("c/arol")), (admin, "/v1/targets/dave"),
        (admin, "/v1/notifications/1"), (admin, "/v1/notifications/2"),
        (admin, "/v1/notifications/3"),
        (admin, "/v1/targets/alice/notifications"), (admin, "/v1/targets/bob/notifications"),
        (admin, "/v1/targets/alice/notifications?limit=1"),
        (admin, "/targets/alice/notifications?sort=asc"),
        (admin, "/targets/bob/notifications?sort=desc&start=2026-03-02T00:00:00Z"),
        (admin, "/targets/dave/segments"), (admin, "/targets/alice/segments"),
        (admin, "/api3/notification"), (admin, "/api3/notification?with=member"),
        (admin, "/api3/notification?order=title%20DESC,%20id%20ASC&page_size=2&page=2"),
        (admin, "/api3/notification?order=read%20DESC"),
        (admin, "/api3/notification?order=date_completed%20DESC"),
        (admin, "/api3/notification?order=date_modified%20ASC"),
        (admin, "/api3/notification?campaign_id=spring"),
        (admin, "/api3/notification?date_started=03/02/2026"),
        (admin, "/api3/notification?notification_type=alert&format=xml"),
        (admin, "/api3/notification?id=1&with=member&format=xml"),
        (member, "/v1/targets/alice/notifications"), (member, "/targets/alice/segments"),
        (member, "/v1/targets/bob/notifications"), (revoked, "/v1/targets/bob/notifications"),
        (other_key, "/v1/tenant"), (other_key, "/api3/notification?with=member"),
    ]
    out = []
    for key, path in reqs:
        r = d.request("GET", path, key=key)
        body = r.body
        if isinstance(body, dict):
            body.pop("request_id", None)  # a problem names its request, new each time
        if isinstance(body, bytes):
            body = DATE_XML.sub(b"<date/>", body)
        else:
            body = DATE_JSON.sub('"date":""', json.dumps(body, sort_keys=True))
        out.append((path, r.status, body))
    # Each API3 notification by its own id, found through the listing.
    listing = d.request("GET", "/api3/notification?page_size=100").body
    for item in listing["notification_list"]:
        r = d.request("GET", "/api3/notification/" + item["id"])
        out.append((item["id"], r.status, DATE_JSON.sub('"date":""', json.dumps(r.body))))
    return out


class TestRoundTrip(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="nd_export_")
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        """A file in this test's directory: SQLite databases of the round
        trip, export files."""
        return os.path.join(self.tmp.name, name)

    def backend_db(self, name):
        """A fresh database of the run's backend (a SQLite file here, a
        PostgreSQL database on the PostgreSQL leg), dropped after the test."""
        db = harness.new_db(self.tmp.name, name)
        self.addCleanup(harness.drop_db, db)
        return db

    def daemon(self, db):
        d = Daemon(self.tmp.name, admin_key=ADMIN_KEY, db=db)
        self.addCleanup(d.cleanup)
        return d.start()

    def export(self, db, name, *extra):
        out = self.path(name)
        cp = run_cli(["export", "--db", db, out, *extra], timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stderr, r"exported \d+ records")
        return out

    def import_(self, db, src):
        cp = run_cli(["import", "--db", db, src], timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        return cp

    def test_sqlite_to_backend_to_sqlite(self):
        first = self.path("first.db")
        d = self.daemon(first)
        other = d.key_create("admin", tenant="other")
        member, revoked = populate(d, other)
        before = snapshot(d, member, revoked, other)
        self.assertEqual(d.stop(), 0)

        x = self.export(first, "x.jsonl")
        middle = self.backend_db("middle.db")
        self.import_(middle, x)
        d = self.daemon(middle)
        self.assertEqual(snapshot(d, member, revoked, other), before)
        self.assertEqual(d.stop(), 0)

        y = self.export(middle, "y.jsonl")
        last = self.path("last.db")
        self.import_(last, y)
        d = self.daemon(last)
        self.assertEqual(snapshot(d, member, revoked, other), before)
        # The next ids continue where the first database left off.
        n = ok(d, "POST", "/v1/notifications", {"libelle": "next", "targets": ["alice"]}).body
        self.assertEqual(n["notification_key"], 4)
        self.assertEqual(ok(d, "POST", "/v1/segments", {"name": "third"}).body["id"], 3)
        self.assertEqual(d.stop(), 0)

        with open(x, "rb") as f1, open(y, "rb") as f2:
            a, b = f1.read().split(b"\n", 1), f2.read().split(b"\n", 1)
        self.assertEqual(a[1], b[1], "the second export differs from the first")

    def test_export_one_tenant(self):
        db = self.backend_db("one.db")
        d = self.daemon(db)
        other = d.key_create("admin", tenant="other")
        populate(d, other)
        self.assertEqual(d.stop(), 0)
        out = self.export(db, "other.jsonl", "--tenant", "other")
        with open(out) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual(lines[0]["record"], "notifd-export")
        self.assertEqual({r["tenant"] for r in lines[1:]}, {"other"})
        self.assertEqual([r["record"] for r in lines[1:]],
                         ["tenant", "key", "target", "notification", "delivery"])
        cp = run_cli(["export", "--db", db, "--tenant", "nobody", self.path("none.jsonl")],
                     timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("nobody", cp.stderr)
        # To standard output when no file is named, or "-".
        for extra in ([], ["-"]):
            cp = run_cli(["export", "--db", db, "--tenant", "other"] + extra,
                         timeout=CLI_TIMEOUT)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            self.assertEqual(len(cp.stdout.splitlines()), len(lines))

    def test_import_with_the_admin_key_in_the_environment(self):
        """export and import move data as it is: an admin key in the
        environment (as a container sets it for the server) makes no key
        and no tenant, so a dump of tenant "default" loads into an empty
        database, and its keys are the dump's."""
        db = self.backend_db("src.db")
        d = self.daemon(db)
        populate(d, d.key_create("admin", tenant="other"))
        self.assertEqual(d.stop(), 0)
        env = {"NOTIFD_ADMIN_KEY": "a-different-admin-key-0123456789"}
        cp = run_cli(["export", "--db", db, self.path("all.jsonl")], env=env,
                     timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(self.path("all.jsonl")) as f:
            keys = [r for r in map(json.loads, f) if r["record"] == "key"]
        self.assertGreaterEqual(len(keys), 3)
        fresh = self.backend_db("dst.db")
        cp = run_cli(["import", "--db", fresh, self.path("all.jsonl")], env=env,
                     timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        cp = run_cli(["export", "--db", fresh], timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        again = [r for r in map(json.loads, cp.stdout.splitlines()) if r["record"] == "key"]
        self.assertEqual(again, keys)

    def test_import_is_all_or_nothing(self):
        # The source only produces the file to import: SQLite on both legs.
        db = self.path("src.db")
        d = self.daemon(db)
        populate(d, d.key_create("admin", tenant="other"))
        self.assertEqual(d.stop(), 0)
        good = self.export(db, "good.jsonl")
        with open(good) as f:
            lines = f.read().splitlines()
        target = self.backend_db("target.db")

        def refused(text, needle):
            bad = self.path("bad.jsonl")
            with open(bad, "w") as f:
                f.write(text)
            cp = run_cli(["import", "--db", target, bad], timeout=CLI_TIMEOUT)
            self.assertEqual(cp.returncode, 1, cp.stderr)
            self.assertIn(needle, cp.stderr)
            self.assertNotIn("Traceback", cp.stderr)

        # A broken line near the end: nothing before it stays.
        refused("\n".join(lines[:-1] + ["{not json"]) + "\n", "line %d" % len(lines))
        refused("\n".join(lines[1:]) + "\n", "line 1")  # no header
        wrong = json.loads(lines[-1])
        wrong["notification_key"] = 999
        refused("\n".join(lines[:-1] + [json.dumps(wrong)]) + "\n", "refers to")
        # A delivery routed at another time than its notification starts.
        wrong = json.loads(lines[-1])
        wrong["routed_at"] += 1
        refused("\n".join(lines[:-1] + [json.dumps(wrong)]) + "\n", "date_started")
        wrong = json.loads(lines[3])
        wrong["hash"] = "zz"
        refused("\n".join(lines[:3] + [json.dumps(wrong)] + lines[4:]) + "\n", "hash")
        refused("", "empty")
        # A record twice: the second is refused.
        at = next(i for i, line in enumerate(lines) if '"record":"target"' in line)
        refused("\n".join(lines[:at + 1] + lines[at:]) + "\n", "this target is already stored")
        # Two live deliveries of a tenant under one id: the second is refused.
        at = next(i for i, line in enumerate(lines) if '"record":"delivery"' in line
                  and '"tenant":"default"' in line and '"deleted_at":null' in line)
        twin = json.loads(lines[at])
        twin["target"] = "dave" if twin["target"] != "dave" else "alice"
        twin["notification_key"] = 3 if twin["notification_key"] != 3 else 1
        refused("\n".join(lines[:at + 1] + [json.dumps(twin)] + lines[at + 1:]) + "\n",
                "already stored")
        # After all that, the database holds no tenant: a clean import works...
        self.import_(target, good)
        # ... and a second one is refused: its tenants exist.
        cp = run_cli(["import", "--db", target, good], timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("already exists", cp.stderr)
        # From standard input too, into a fresh database of the run's backend,
        # which then exports the same records.
        fresh = self.backend_db("stdin.db")
        with open(good) as f:
            cp = subprocess.run(harness.WRAP + [harness.notifd_bin(), "import", "--db", fresh],
                                stdin=f, capture_output=True, text=True,
                                env=harness.clean_env(), timeout=CLI_TIMEOUT * harness.SCALE)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(self.export(fresh, "again.jsonl")) as f:
            self.assertEqual(f.read().splitlines()[1:], lines[1:])

    def test_import_names_each_bad_field(self):
        """Each kind of wrong value, on the record it belongs to, is refused
        with a message naming the line and the field; nothing is imported."""
        db = self.path("fields.db")
        d = self.daemon(db)
        populate(d, d.key_create("admin", tenant="other"))
        self.assertEqual(d.stop(), 0)
        with open(self.export(db, "good.jsonl")) as f:
            lines = f.read().splitlines()
        target = self.backend_db("fields-target.db")

        def first(kind, **match):
            for i, line in enumerate(lines):
                rec = json.loads(line)
                if rec.get("record") == kind and all(rec.get(k) == v for k, v in match.items()):
                    return i, rec
            raise AssertionError("no %s record in the export" % kind)

        cases = []

        def case(kind, change, needle, **match):
            i, rec = first(kind, **match)
            change(rec)
            cases.append((i, json.dumps(rec), needle))

        case("tenant", lambda r: r.update(tenant=5), '"tenant" must be a string')
        case("tenant", lambda r: r.update(tenant="no spaces"), "not a valid tenant name")
        case("tenant", lambda r: r.update(time_zone="Mars/Olympus"), "not an IANA time zone",
             tenant="default")
        case("target", lambda r: r.update(id="a\u0001b"), '"id" is not a valid id')
        case("target", lambda r: r.update(attributes=[1]), '"attributes" must be a JSON object',
             id="alice")
        case("segment", lambda r: r.update(id=0), '"id" must be an integer from 1 to')
        case("delivery", lambda r: r.update(routed_at=10 ** 15), '"routed_at" must be an integer')
        case("notification", lambda r: r.update(id="not-a-guid"), '"id" must be a GUID')
        case("notification", lambda r: r.update(screen_name={}),
             '"screen_name" must be a JSON array', notification_key=1)
        case("key", lambda r: r.update(role="root"), '"role" must be admin or member')
        case("key", lambda r: r.update(target="alice"),
             "a member key has a target and an admin key none", role="admin")
        case("membership", lambda r: r.update(segment=77), "refers to")
        case("target", lambda r: r.update(name=5), '"name" must be a string', id="alice")
        case("target", lambda r: r.pop("id"), '"id" must be a string')
        case("campaign", lambda r: r.update(name=None), '"name" must be a string')
        case("notification", lambda r: r.update(date_started="soon"),
             '"date_started" must be an integer')
        case("delivery", lambda r: r.update(read="x"), '"read" must be an integer')
        case("key", lambda r: r.update(hash="abcd"), "hash")
        case("tenant", lambda r: r.pop("record"), '"record" must be a string')
        case("tenant", lambda r: r.update(time_zone=None), '"time_zone" must be a string',
             tenant="default")
        case("notification", lambda r: r.update(libelle=None), '"libelle" must be a string')
        case("notification", lambda r: r.update(id=5), '"id" must be a string')
        case("notification", lambda r: r.update(date_due="later"),
             '"date_due" must be an integer')
        case("notification", lambda r: r.update(created_at=-10 ** 15),
             '"created_at" must be an integer')
        case("notification", lambda r: r.pop("screen_name"), '"screen_name" must be a JSON array')
        case("target", lambda r: r.pop("attributes"), '"attributes" must be a JSON object',
             id="alice")
        case("key", lambda r: r.update(hash="g" * 64), "64 lower-case hex digits")
        case("key", lambda r: r.update(hash="AB" * 32), "64 lower-case hex digits")
        case("key", lambda r: r.pop("hash"), '"hash" must be a string')
        case("key", lambda r: r.pop("role"), '"role" must be a string')
        case("key", lambda r: r.pop("target"), "a member key has a target and an admin key none",
             role="member")
        cases.append((1, lines[0], "a second header"))
        cases.append((1, "[1, 2]", "not a JSON object"))
        cases.append((0, lines[0].replace('"version":1', '"version":2'),
                      '"version" must be an integer from 1 to 1'))
        cases.append((1, '{"record":"bogus","tenant":"default"}', "unknown record kind"))
        for at, text, needle in cases:
            with self.subTest(needle=needle):
                bad = self.path("bad.jsonl")
                with open(bad, "w") as f:
                    f.write("\n".join(lines[:at] + [text] + lines[at + 1:]) + "\n")
                cp = run_cli(["import", "--db", target, bad], timeout=CLI_TIMEOUT)
                self.assertEqual(cp.returncode, 1, cp.stderr)
                self.assertIn("line %d" % (at + 1), cp.stderr)
                self.assertIn(needle, cp.stderr)
        # Nothing stayed: the good file still imports.
        self.import_(target, self.path("good.jsonl"))

    def test_export_to_a_full_device(self):
        # A small export (a tenant and its key: less than stdio's buffer)
        # fails when it is flushed at the end, a large one on the record
        # that fills the first buffer: each says why.
        small = self.backend_db("small.db")
        self.assertEqual(run_cli(["key", "create", "--role", "admin", "--db", small]).returncode, 0)
        large = self.path("full.db")
        d = self.daemon(large)
        populate(d, d.key_create("admin", tenant="other"))
        ok(d, "POST", "/v1/notifications",
           {"libelle": "wide", "targets": ["w%d" % i for i in range(300)]})
        self.assertEqual(d.stop(), 0)
        for db in (small, large):
            cp = run_cli(["export", "--db", db, "/dev/full"], timeout=CLI_TIMEOUT)
            self.assertEqual(cp.returncode, 1, (db, cp.stderr))
            self.assertIn("cannot write the export", cp.stderr, db)

    def test_import_shows_progress_on_a_terminal(self):
        db = self.path("progress.db")
        d = self.daemon(db)
        populate(d, d.key_create("admin", tenant="other"))
        self.assertEqual(d.stop(), 0)
        src = self.export(db, "progress.jsonl")
        with open(src) as f:
            records = sum(1 for _ in f) - 1  # the header is no record
        master, slave = pty.openpty()
        p = subprocess.Popen(harness.WRAP + [harness.notifd_bin(), "import", "--db",
                                             self.backend_db("fresh.db"), src],
                             stdout=subprocess.DEVNULL, stderr=slave, env=harness.clean_env())
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        self.assertEqual(p.wait(timeout=CLI_TIMEOUT), 0, err)
        self.assertIn("\rnotifd: imported %d records\r\n" % records, err.decode())

    def test_import_from_a_directory(self):
        cp = run_cli(["import", "--db", self.backend_db("dir.db"), self.tmp.name],
                     timeout=CLI_TIMEOUT)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("notifd: ", cp.stderr)

    def test_usage_errors(self):
        db = self.backend_db("u.db")
        for args in (["export", "a.jsonl", "b.jsonl"], ["import", "--tenant", "x"],
                     ["import", "a", "b"], ["export", "--role", "admin"]):
            cp = run_cli(args + ["--db", db])
            self.assertEqual(cp.returncode, 2, (args, cp.stderr))
            self.assertIn("notifd --help", cp.stderr)
        cp = run_cli(["import", "--db", db, self.path("missing.jsonl")])
        self.assertEqual(cp.returncode, 1)
        self.assertIn("cannot read", cp.stderr)

    @unittest.skipIf(INSTRUMENTED, "memory figures of an instrumented build say nothing")
    def test_large_export_has_constant_memory(self):
        """200,000 deliveries export from the run's backend in bounded
        private memory (sampled every 10 ms)."""
        db = self.backend_db("big.db")
        d = self.daemon(db)
        targets = ["t%d" % i for i in range(10000)]
        for i in range(20):
            ok(d, "POST", "/v1/notifications", {"libelle": "bulk %d" % i, "targets": targets})
        self.assertEqual(d.stop(), 0)
        out = self.path("big.jsonl")
        # Standard error on a terminal: the export shows its progress there.
        master, slave = pty.openpty()
        p = subprocess.Popen(harness.WRAP + [harness.notifd_bin(), "export", "--db", db, out],
                             stdout=subprocess.DEVNULL, stderr=slave, env=harness.clean_env())
        os.close(slave)
        peak, err = 0, b""
        while p.poll() is None:
            peak = max(peak, harness.private_kb(p.pid))
            if select.select([master], [], [], 0.01)[0]:
                try:
                    err += os.read(master, 4096)
                except OSError:  # EIO: the terminal's last writer has gone
                    pass
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        err = err.decode()
        self.assertIn("\rnotifd: exported 100000 records", err)
        self.assertIn("\rnotifd: exported 210022 records\r\n", err)
        self.assertEqual(p.returncode, 0, err)
        with open(out) as f:
            n = sum(1 for _ in f)
        self.assertEqual(n, 1 + 1 + 1 + 10000 + 20 + 200000)  # header, tenant, key, ...
        self.assertGreater(peak, 0)
        self.assertLess(peak, 32 * 1024, "export peak private memory %d kB" % peak)


if __name__ == "__main__":
    harness.main()
