"""CLI: flags, env, config file precedence, --help/--version, bad values,
`key create`, signals, restart persistence.

Runs on both backends: every database a test names comes from new_db() (a
file path on SQLite, a fresh PostgreSQL database on the postgres leg), and
"notifd used this db" is checked with db_initialized()."""

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (WRAP, Daemon, db_initialized, drop_db, main, new_db, random_key, run_cli,
                     sqlite_only)


class CliTestCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-cli-")
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def new_db(self, name):
        """A fresh --db value (SQLite: self.path(name)), dropped after the test."""
        db = new_db(self.tmp, name)
        self.addCleanup(drop_db, db)
        return db

    def start(self, **kw):
        d = Daemon(self.tmp, **kw)
        self.addCleanup(d.cleanup)
        d.start()
        return d

    def stop_ok(self, d, sig=signal.SIGTERM):
        rc = d.stop(sig)
        self.assertEqual(rc, 0, "exit code after %s; stderr tail: %s"
                         % (sig, d.log_lines()[-5:]))

    def write_config(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def busy_port(self):
        """A port that is already taken (listening) for the test's duration."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        return s.getsockname()[1]

    def assertKeyWorks(self, d, key, works=True):
        r = d.request("GET", "/v1/segments", key=key)
        self.assertEqual(r.status, 200 if works else 401, r.body)

    def assertOneLineError(self, cp, needle):
        self.assertNotEqual(cp.returncode, 0, "expected failure; stdout=%r" % cp.stdout)
        lines = [l for l in cp.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected one line on stderr, got %r" % cp.stderr)
        self.assertIn(needle, lines[0])


class TestHelpVersion(CliTestCase):
    def test_help(self):
        cp = run_cli(["--help"])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertTrue(cp.stdout.strip(), "--help printed nothing on stdout")
        self.assertIn("--listen", cp.stdout)
        self.assertIn("--db", cp.stdout)

    def test_short_help(self):
        self.assertEqual(run_cli(["-h"]).stdout, run_cli(["--help"]).stdout)

    def test_version(self):
        cp = run_cli(["--version"])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertTrue(cp.stdout.strip(), "--version printed nothing on stdout")
        self.assertRegex(cp.stdout, r"\d")


class TestBadValues(CliTestCase):
    def args(self, **over):
        a = {"--listen": "127.0.0.1:0", "--db": self.new_db("x.db"),
             "--admin-key": random_key()}
        a.update(over)
        out = []
        for k, v in a.items():
            out += [k, v]
        return out

    def test_listen_nonsense(self):
        cp = run_cli(self.args(**{"--listen": "nonsense"}))
        self.assertOneLineError(cp, "listen")

    def test_listen_bad_port(self):
        cp = run_cli(self.args(**{"--listen": "127.0.0.1:70000"}))
        self.assertOneLineError(cp, "listen")

    def test_listen_without_port(self):
        for spec in ("127.0.0.1:", ":8080"):
            cp = run_cli(self.args(**{"--listen": spec}))
            self.assertOneLineError(cp, "expected ADDR:PORT")

    def test_listen_port_too_long(self):
        cp = run_cli(self.args(**{"--listen": "127.0.0.1:123456"}))
        self.assertOneLineError(cp, "invalid listen port")

    def test_listen_host_too_long(self):
        cp = run_cli(self.args(**{"--listen": "h" * 300 + ":80"}))
        self.assertOneLineError(cp, "expected ADDR:PORT")

    def test_listen_unclosed_bracket(self):
        cp = run_cli(self.args(**{"--listen": "[::1:0"}))
        self.assertOneLineError(cp, "invalid listen address")

    def test_listen_unknown_address(self):
        cp = run_cli(self.args(**{"--listen": "[]:0"}))
        self.assertOneLineError(cp, "invalid listen address")

    def test_listen_ipv6(self):
        """An IPv6 address in brackets: served there, and logged the same way."""
        if not socket.has_ipv6:
            self.skipTest("this machine has no IPv6")
        d = self.start(db=self.new_db("v6.db"), listen="[::1]:0")
        addr = [json.loads(line)["addr"] for line in d.logs if '"listening"' in line][0]
        self.assertRegex(addr, r"^\[::1\]:\d+$")
        c = http.client.HTTPConnection("::1", d.port, timeout=10)
        c.request("GET", "/healthz")
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        self.stop_ok(d)

    def test_listen_nonsense_from_env(self):
        cp = run_cli(["--db", self.new_db("x.db"), "--admin-key", random_key()],
                     env={"NOTIFD_LISTEN": "nonsense"})
        self.assertOneLineError(cp, "listen")

    @sqlite_only("the --db value is a file path in a directory that does not exist; "
                 "a PostgreSQL conninfo names no file")
    def test_db_in_missing_directory(self):
        bad = self.path("nonexistent-dir", "x.db")
        cp = run_cli(self.args(**{"--db": bad}))
        self.assertOneLineError(cp, bad)
        self.assertFalse(os.path.exists(self.path("nonexistent-dir")))

    def test_short_admin_key_rejected(self):
        cp = run_cli(self.args(**{"--admin-key": "short"}))
        self.assertNotEqual(cp.returncode, 0)
        self.assertTrue(cp.stderr.strip())

    def test_guessable_admin_key_rejected(self):
        for weak in ("aaaaaaaaaaaaaaaaaaaaaaaa", "0123456789abcdefghij", "passwordpassword"):
            cp = run_cli(self.args(**{"--admin-key": weak}))
            self.assertOneLineError(cp, "hard to guess")
            self.assertNotIn(weak, cp.stderr)

    def test_listen_port_in_use(self):
        port = self.busy_port()
        cp = run_cli(self.args(**{"--listen": "127.0.0.1:%d" % port}))
        self.assertNotEqual(cp.returncode, 0)
        self.assertTrue(cp.stderr.strip())


class TestNoAdminKey(CliTestCase):
    def test_serves_keys_made_on_the_command_line(self):
        """Without an operator key notifd serves the keys `key create`
        made; a request without one is a 401."""
        db = self.new_db("nokey.db")
        cp = run_cli(["key", "create", "--role", "admin", "--db", db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        d = Daemon(self.tmp, db=db)
        d.admin_key = None
        self.addCleanup(d.cleanup)
        d.start()
        key = cp.stdout.strip()
        self.assertEqual(d.request("GET", "/v1/keys", key=key).status, 200)
        self.assertEqual(d.request("GET", "/v1/keys", key=None).status, 401)
        self.stop_ok(d)


class TestKeyExposure(CliTestCase):
    """The operator key away from other local users: from a file, never left
    in the process's command line, and every file notifd creates private."""

    def test_admin_key_file(self):
        key = random_key()
        path = self.path("admin.key")
        with open(path, "w") as f:
            f.write(key + "\n")
        os.chmod(path, 0o600)
        db = self.new_db("file.db")
        d = self.start(use_flags=False, db=db, admin_key=key,
                       env={"NOTIFD_LISTEN": "127.0.0.1:0", "NOTIFD_DB": db},
                       extra_args=["--admin-key-file", path])
        self.assertEqual(d.request("GET", "/v1/keys", key=key).status, 200)
        self.assertNotIn(key, "\n".join(d.log_lines()))
        self.stop_ok(d)
        os.chmod(path, 0o644)
        cp = run_cli(["--listen", "127.0.0.1:0", "--db", self.new_db("y.db"),
                      "--admin-key-file", path])
        self.assertOneLineError(cp, "readable by every user")
        cp = run_cli(["--listen", "127.0.0.1:0", "--db", self.new_db("z.db")],
                     env={"NOTIFD_ADMIN_KEY_FILE": self.path("missing.key")})
        self.assertOneLineError(cp, "missing.key")

    @unittest.skipIf(WRAP, "the command line read is the wrapper's (valgrind's), not notifd's")
    def test_flag_key_blanked_from_command_line(self):
        d = self.start()
        with open("/proc/%d/cmdline" % d.proc.pid, "rb") as f:
            argv = f.read().split(b"\0")
        self.assertNotIn(d.admin_key.encode(), b"\0".join(argv))
        self.assertIn(b"x" * len(d.admin_key), argv)
        self.assertTrue(d.wait_log(lambda rec: rec.get("level") == "warn"
                                   and "--admin-key-file" in rec.get("msg", "")))
        self.assertEqual(d.request("GET", "/v1/keys").status, 200)

    def test_env_key_no_warning(self):
        db, key = self.new_db("env.db"), random_key()
        d = self.start(use_flags=False, db=db, admin_key=key,
                       env={"NOTIFD_LISTEN": "127.0.0.1:0", "NOTIFD_DB": db,
                            "NOTIFD_ADMIN_KEY": key})
        self.assertEqual(d.request("GET", "/v1/keys", key=key).status, 200)
        self.stop_ok(d)
        self.assertFalse(any('"warn"' in line for line in d.log_lines()))

    @sqlite_only("file modes of the SQLite database and its -wal and -shm files")
    def test_database_files_private(self):
        db = self.path("private.db")
        old = os.umask(0o022)
        try:
            d = self.start(db=db)
        finally:
            os.umask(old)
        self.assertEqual(d.request("PUT", "/v1/targets/t", {"name": "T"}).status, 201)
        for suffix in ("", "-wal", "-shm"):
            mode = os.stat(db + suffix).st_mode & 0o777
            self.assertEqual(mode, 0o600, "%s%s has mode %03o" % (db, suffix, mode))



@sqlite_only("SQLite's memory map of the database file")
class TestMemoryMap(CliTestCase):
    def mapped(self, d):
        """Whether notifd's address space maps its database file."""
        real = os.path.realpath(d.db)
        with open("/proc/%d/maps" % d.proc.pid) as f:
            return any(line.split()[-1] == real for line in f if len(line.split()) >= 6)

    def served_feed(self, **kw):
        d = self.start(db=self.path("map.db"), **kw)
        self.assertEqual(d.request("PUT", "/v1/targets/t", {"name": "T"}).status, 201)
        self.assertEqual(d.request("GET", "/v1/targets/t/notifications").status, 200)
        return d

    def test_read_through_the_map_by_default(self):
        d = self.served_feed()
        self.assertTrue(self.mapped(d))
        self.stop_ok(d)

    def test_mmap_size_0_reads_without_a_map(self):
        d = self.served_feed(extra_args=["--mmap-size", "0"])
        self.assertFalse(self.mapped(d))
        self.stop_ok(d)

    def test_bad_mmap_size(self):
        for bad in ("-1", "1G", "1099511627777"):
            cp = run_cli(["--listen", "127.0.0.1:0", "--db", self.path("bad.db"),
                          "--mmap-size", bad])
            self.assertOneLineError(cp, "mmap_size must be a number of bytes")
            self.assertFalse(os.path.exists(self.path("bad.db")))

class TestPrecedence(CliTestCase):
    def test_env_only(self):
        db, key = self.new_db("env.db"), random_key()
        d = self.start(use_flags=False, db=db, admin_key=key,
                       env={"NOTIFD_LISTEN": "127.0.0.1:0", "NOTIFD_DB": db,
                            "NOTIFD_ADMIN_KEY": key})
        self.assertKeyWorks(d, key)
        self.assertTrue(db_initialized(db))
        self.stop_ok(d)

    def config_text(self, listen, db, key, max_body=None, extra=""):
        text = ("# notifd test config\n"
                "\n"
                "listen = %s\n"
                "db = %s\n"
                "   # indented comment\n"
                "admin_key = %s\n"
                "threads = 2\n"
                "synchronous = normal\n" % (listen, db, key))
        if max_body is not None:
            text += "max_body = %d\n" % max_body
        return text + extra

    def test_config_only_via_env(self):
        db, key = self.new_db("cfg.db"), random_key()
        cfg = self.write_config("notifd.conf", self.config_text("127.0.0.1:0", db, key, 1000))
        d = self.start(use_flags=False, db=db, admin_key=key, env={"NOTIFD_CONFIG": cfg})
        self.assertKeyWorks(d, key)
        self.assertTrue(db_initialized(db))
        # max_body from the config file
        r = d.request("PUT", "/v1/targets/big", {"profile": "x" * 1500})
        self.assertEqual(r.status, 413, r.body)
        r = d.request("PUT", "/v1/targets/small", {"profile": "x" * 500})
        self.assertEqual(r.status, 201, r.body)
        self.stop_ok(d)

    def test_config_via_flag(self):
        db, key = self.new_db("cfg.db"), random_key()
        cfg = self.write_config("notifd.conf", self.config_text("127.0.0.1:0", db, key))
        d = self.start(use_flags=False, db=db, admin_key=key, extra_args=["--config", cfg])
        self.assertKeyWorks(d, key)
        self.assertTrue(db_initialized(db))
        self.stop_ok(d)

    def test_flags_beat_env(self):
        busy = self.busy_port()
        db_env, db_flag = self.new_db("env.db"), self.new_db("flag.db")
        key_env, key_flag = random_key(), random_key()
        d = self.start(listen="127.0.0.1:0", db=db_flag, admin_key=key_flag,
                       env={"NOTIFD_LISTEN": "127.0.0.1:%d" % busy, "NOTIFD_DB": db_env,
                            "NOTIFD_ADMIN_KEY": key_env})
        self.assertNotEqual(d.port, busy)
        self.assertKeyWorks(d, key_flag)
        self.assertKeyWorks(d, key_env, works=False)
        self.assertTrue(db_initialized(db_flag))
        self.assertFalse(db_initialized(db_env))
        self.stop_ok(d)

    def test_env_beats_config(self):
        busy = self.busy_port()
        db_cfg, db_env = self.new_db("cfg.db"), self.new_db("env.db")
        key_cfg, key_env = random_key(), random_key()
        cfg = self.write_config("notifd.conf", self.config_text(
            "127.0.0.1:%d" % busy, db_cfg, key_cfg, max_body=1000))
        d = self.start(use_flags=False, db=db_env, admin_key=key_env,
                       env={"NOTIFD_CONFIG": cfg, "NOTIFD_LISTEN": "127.0.0.1:0",
                            "NOTIFD_DB": db_env, "NOTIFD_ADMIN_KEY": key_env})
        self.assertNotEqual(d.port, busy)
        self.assertKeyWorks(d, key_env)
        self.assertKeyWorks(d, key_cfg, works=False)
        self.assertTrue(db_initialized(db_env))
        self.assertFalse(db_initialized(db_cfg))
        # a setting only the config file gives still applies
        r = d.request("PUT", "/v1/targets/big", {"profile": "x" * 1500})
        self.assertEqual(r.status, 413, r.body)
        self.stop_ok(d)

    def test_flags_beat_config(self):
        busy = self.busy_port()
        db_cfg, db_flag = self.new_db("cfg.db"), self.new_db("flag.db")
        key_cfg, key_flag = random_key(), random_key()
        cfg = self.write_config("notifd.conf", self.config_text(
            "127.0.0.1:%d" % busy, db_cfg, key_cfg, max_body=100))
        d = self.start(listen="127.0.0.1:0", db=db_flag, admin_key=key_flag,
                       extra_args=["--max-body", "5000"], env={"NOTIFD_CONFIG": cfg})
        self.assertNotEqual(d.port, busy)
        self.assertKeyWorks(d, key_flag)
        self.assertKeyWorks(d, key_cfg, works=False)
        self.assertTrue(db_initialized(db_flag))
        self.assertFalse(db_initialized(db_cfg))
        r = d.request("PUT", "/v1/targets/mid", {"profile": "x" * 2000})
        self.assertEqual(r.status, 201, r.body)
        r = d.request("PUT", "/v1/targets/big", {"profile": "x" * 2000, "name": "y" * 200,
                                                 "email": "z" * 254, "attributes": {"a": "b" * 1000}})
        self.assertEqual(r.status, 201, r.body)  # ~3.5 KB, still under 5000
        r = d.request("PUT", "/v1/targets/huge", {"attributes": {"a": "b" * 6000}})
        self.assertEqual(r.status, 413, r.body)
        self.stop_ok(d)


class TestKeyCreate(CliTestCase):
    def test_key_create_output_and_use(self):
        d = self.start()
        cp = run_cli(["key", "create", "--role", "admin", "--db", d.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout, r"^\S{16,}\n$", "stdout must be exactly the key + newline")
        key = cp.stdout[:-1]
        self.assertNotEqual(key, d.admin_key)
        self.assertKeyWorks(d, key)
        # the new key is an admin key of tenant "default": sees default's objects
        self.assertEqual(d.request("PUT", "/v1/targets/shared", {"name": "S"}).status, 201)
        r = d.request("GET", "/v1/targets/shared", key=key)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body["name"], "S")
        self.stop_ok(d)

    def test_member_key(self):
        d = self.start()
        d.request("PUT", "/v1/targets/alice", {})
        cp = run_cli(["key", "create", "--role", "member", "--target", "alice", "--db", d.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout, r"^\S{16,}\n$")
        key = cp.stdout[:-1]
        r = d.request("GET", "/v1/targets/alice/notifications", key=key)
        self.assertEqual(r.status, 200, r.body)
        r = d.request("GET", "/v1/targets/bob/notifications", key=key)
        self.assertEqual(r.status, 403, r.body)
        r = d.request("GET", "/v1/segments", key=key)
        self.assertEqual(r.status, 403, r.body)
        self.stop_ok(d)

    def test_new_tenant(self):
        d = self.start()
        self.assertEqual(d.request("POST", "/v1/segments", {"name": "default-seg"}).status, 201)
        self.assertEqual(d.request("PUT", "/v1/targets/t1", {"name": "x"}).status, 201)
        key = d.key_create("admin", tenant="other")
        r = d.request("GET", "/v1/segments", key=key)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body["segments"], [])
        self.assertEqual(d.request("GET", "/v1/targets/t1", key=key).status, 404)
        # the tenant is reused on second mention
        key2 = d.key_create("admin", tenant="other")
        self.assertEqual(d.request("POST", "/v1/segments", {"name": "o"}, key=key).status, 201)
        r = d.request("GET", "/v1/segments", key=key2)
        self.assertEqual([s["name"] for s in r.body["segments"]], ["o"])
        self.stop_ok(d)

    def test_concurrent_creates_of_one_new_tenant(self):
        # Eight processes make keys for the same new tenant at once (as
        # provisioning scripts on several hosts might): each gets its own
        # key, all of one tenant, made once.
        d = self.start()
        args = WRAP + [harness.notifd_bin(), "key", "create", "--role", "admin", "--tenant",
                       "raced", "--db", d.db]
        procs = [subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=harness.clean_env())
                 for _ in range(8)]
        keys = []
        for p in procs:
            out, err = p.communicate(timeout=30 * harness.SCALE)
            self.assertEqual(p.returncode, 0, err)
            keys.append(out.strip())
        self.assertEqual(len(set(keys)), 8)
        self.assertEqual(d.request("PUT", "/v1/targets/t", {}, key=keys[0]).status, 201)
        for key in keys:
            r = d.request("GET", "/v1/targets/t", key=key)
            self.assertEqual(r.status, 200, r.body)
        rows = harness.store_rows(d, "SELECT count(*) FROM tenants WHERE name = 'raced'")
        self.assertEqual(int(rows[0][0]), 1)
        self.stop_ok(d)

    def test_options_written_with_equals(self):
        # --name=value as well as --name value, for a command's own options
        d = self.start()
        d.request("PUT", "/v1/targets/eve", {})
        cp = run_cli(["key", "create", "--role=member", "--target=eve", "--tenant=default",
                      "--db=" + d.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        r = d.request("GET", "/v1/targets/eve/notifications", key=cp.stdout.strip())
        self.assertEqual(r.status, 200, r.body)
        self.stop_ok(d)
        out = self.path("eq.jsonl")
        cp = run_cli(["export", "--tenant=default", "--db=" + d.db, out])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(out) as f:
            self.assertIn('"tenant":"default"', f.read())

    def test_bad_role(self):
        cp = run_cli(["key", "create", "--role", "root", "--db", self.new_db("k.db")])
        self.assertNotEqual(cp.returncode, 0)
        self.assertEqual(cp.stdout, "")


class TestUsageErrors(CliTestCase):
    """Each mistake on the command line: one line naming it, exit 2 or 1,
    nothing on stdout, no database touched."""

    def refused(self, args, needle, code=None):
        cp = run_cli(args)
        self.assertOneLineError(cp, needle)
        self.assertEqual(cp.stdout, "")
        if code is not None:
            self.assertEqual(cp.returncode, code, cp.stderr)

    def test_unknown_key_command(self):
        self.refused(["key", "revoke"], 'unknown key command "revoke"')
        self.refused(["key"], 'unknown key command ""')

    def test_option_without_value(self):
        self.refused(["--db"], "--db needs a value")

    def test_stray_arguments(self):
        self.refused(["stray"], 'unexpected argument "stray"')
        self.refused(["key", "create", "--role", "admin", "stray"],
                     'unexpected argument "stray"')
        # a command's own options are its own: export takes no --target
        self.refused(["export", "--target", "alice"], 'unknown option "--target"')

    def test_too_many_options(self):
        self.refused(["--threads", "1"] * 33, "too many options")

    def test_body_memory_below_max_body(self):
        self.refused(["--db", self.new_db("b.db"), "--admin-key", random_key(),
                      "--max-body", "2097152", "--body-memory", "1048576"],
                     "body_memory must be at least max_body")

    def test_key_create_bad_tenant_name(self):
        db = self.new_db("t.db")
        for name in ("no spaces", "", "t" * 65):
            self.refused(["key", "create", "--role", "admin", "--tenant", name, "--db", db],
                         'invalid tenant name "%s"' % name[:64], code=2)
        cp = run_cli(["key", "create", "--role", "admin", "--tenant", "t" * 64, "--db", db])
        self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_key_create_options(self):
        """key create's own options are matched whole; every other option
        is a setting, as on every verb; an empty NOTIFD_CONFIG names no
        file."""
        db = self.new_db("o.db")
        self.refused(["key", "create", "--rolf", "admin", "--db", db],
                     'unknown option "--rolf"', code=2)
        self.refused(["key", "create", "--role", "admin", "--tenanz", "t", "--db", db],
                     'unknown option "--tenanz"', code=2)
        cp = run_cli(["key", "create", "--role", "admin", "--listen", "127.0.0.1:1",
                      "--db", db], env={"NOTIFD_CONFIG": ""})
        self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_key_create_without_role(self):
        self.refused(["key", "create", "--db", self.new_db("r.db")], "needs --role", code=2)

    def test_key_create_bad_target(self):
        """A member key's target missing or malformed, or an admin key given
        one: usage errors, and no key made."""
        db = self.new_db("k.db")
        for extra, needle in ((["--role", "member"], "a member key needs a target id"),
                              (["--role", "member", "--target", ""],
                               "a member key needs a target id"),
                              (["--role", "member", "--target", "x" * 129],
                               "a member key needs a target id"),
                              (["--role", "admin", "--target", "alice"],
                               "an admin key is not bound to a target")):
            self.refused(["key", "create", "--db", db] + extra, needle, code=2)
        d = self.start(db=db)
        self.assertEqual(len(d.request("GET", "/v1/keys").body["keys"]), 1)

    def test_config_file_missing(self):
        self.refused(["--config", self.path("missing.conf")], "missing.conf")

    def test_admin_key_already_a_member_key(self):
        d = self.start(db=self.new_db("m.db"))
        d.request("PUT", "/v1/targets/alice", {})
        member = d.request("POST", "/v1/keys", {"role": "member", "target": "alice"}).body["key"]
        self.stop_ok(d)
        self.refused(["--listen", "127.0.0.1:0", "--db", d.db, "--admin-key", member],
                     "already in use")

    def test_export_to_a_missing_directory(self):
        d = self.start(db=self.new_db("e.db"))
        self.stop_ok(d)
        self.refused(["export", "--db", d.db, self.path("missing", "x.jsonl")],
                     "cannot write " + self.path("missing", "x.jsonl"))


def future(d):
    """Gives d's database the schema version 99, as a future notifd would."""
    harness.store_exec(d, "PRAGMA user_version = 99",
                       "INSERT INTO notifd_schema (version, name) VALUES (99, 'future')")


class TestNewerSchema(CliTestCase):
    """A database a newer notifd has migrated: this one refuses it, saying
    so, rather than run statements the schema no longer fits."""

    def test_refused(self):
        d = self.start(db=self.new_db("newer.db"))
        self.stop_ok(d)
        future(d)
        cp = run_cli(["--listen", "127.0.0.1:0", "--db", d.db, "--admin-key", d.admin_key])
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("newer than", cp.stderr)

    def test_migrated_under_a_running_notifd(self):
        # A newer notifd migrates the database this one serves: the health
        # check says so (a load balancer takes this one out), once logged.
        d = self.start(db=self.new_db("migrated.db"))
        self.assertEqual(d.request("GET", "/healthz").body, {"status": "ok"})
        future(d)
        for _ in range(2):
            r = d.request("GET", "/healthz")
            self.assertEqual((r.status, r.body), (503, {"status": "unavailable"}))
        self.stop_ok(d)
        self.assertEqual(sum("newer than" in line for line in d.log_lines()), 1)


class TestFullLogDevice(CliTestCase):
    """Standard error on a full device: the log records are lost, the
    answers are not; notifd serves all the same and stops cleanly."""

    def test_serves_with_its_log_full(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        key = random_key()
        with open("/dev/full", "w") as full:
            p = subprocess.Popen(
                WRAP + [harness.notifd_bin(), "--listen", "127.0.0.1:%d" % port,
                        "--db", self.new_db("full-log.db"), "--admin-key", key],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=full,
                env=harness.clean_env())
        try:
            status, deadline = None, time.monotonic() + 10 * harness.SCALE
            while status != 200 and time.monotonic() < deadline:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    c.request("GET", "/v1/tenant", headers={"X-Key": key})
                    status = c.getresponse().status
                except OSError:
                    time.sleep(0.05)
                finally:
                    c.close()
            self.assertEqual(status, 200)
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10 * harness.SCALE), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()


class TestSignals(CliTestCase):
    def _stop_with(self, sig):
        d = self.start()
        self.assertEqual(d.request("GET", "/healthz", key=None).status, 200)
        self.stop_ok(d, sig)

    def test_sigterm_exit_0(self):
        self._stop_with(signal.SIGTERM)

    def test_sigint_exit_0(self):
        self._stop_with(signal.SIGINT)

    def test_sigterm_with_idle_keepalive_connection(self):
        d = self.start()
        conn = d.connection()
        self.addCleanup(conn.close)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        self.stop_ok(d)


    def test_sigterm_finishes_in_flight_request(self):
        """A request whose body is still arriving when SIGTERM lands is answered
        and committed; new connections are refused meanwhile."""
        d = self.start()
        body = b'{"name":"In Flight","email":"inflight@example.com"}'
        head = ("PUT /v1/targets/inflight HTTP/1.1\r\nHost: x\r\nX-Key: %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (d.admin_key, len(body))).encode()
        s = socket.create_connection((d.host, d.port), timeout=10)
        self.addCleanup(s.close)
        s.sendall(head + body[:10])
        time.sleep(0.3)  # let the daemon start on the request
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with self.assertRaises(OSError):
            socket.create_connection((d.host, d.port), timeout=2).close()
        s.sendall(body[10:])
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 201"), reply[:200])
        self.stop_ok(d)
        d.start()
        r = d.request("GET", "/v1/targets/inflight")
        self.assertEqual((r.status, r.body["email"]), (200, "inflight@example.com"))
        self.stop_ok(d)


class TestDemo(CliTestCase):
    def test_demo_seeds_once(self):
        """`notifd demo` (what `make run` calls) seeds tenant default once."""
        db = self.new_db("demo.db")
        cp = run_cli(["demo", "--db", db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("seeded", cp.stderr)
        again = run_cli(["demo", "--db", db])
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("already", again.stderr)
        d = self.start(db=db)
        feed = d.request("GET", "/v1/targets/alice/notifications").body["notifications"]
        self.assertEqual([n["libelle"] for n in feed],
                         ["Bob commented on your idea", "New feature for early adopters",
                          "Welcome to notifd"])
        self.assertIsNotNone(feed[2]["read"])
        self.assertEqual(len(d.request("GET", "/v1/targets/carol/notifications")
                             .body["notifications"]), 1)
        segs = d.request("GET", "/v1/segments").body["segments"]
        self.assertEqual(segs, [{"id": 1, "name": "early adopters", "members": 2}])
        self.stop_ok(d)


    def test_demo_with_the_admin_key(self):
        """`make run` passes its admin key to `notifd demo`, which makes it;
        a revoked one is refused there as at start."""
        db = self.new_db("demokey.db")
        key = random_key()
        cp = run_cli(["demo", "--db", db, "--admin-key", key])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        d = self.start(db=db, admin_key=key)
        made = d.request("POST", "/v1/keys", {"role": "admin"}).body
        self.assertEqual(d.request("DELETE", "/v1/keys/" + made["id"]).status, 204)
        self.stop_ok(d)
        cp = run_cli(["demo", "--db", db, "--admin-key", made["key"]])
        self.assertOneLineError(cp, "revoked")


class TestRestart(CliTestCase):
    def test_data_survives_restart(self):
        d = self.start()
        R = d.request
        self.assertEqual(R("PUT", "/v1/targets/alice", {"name": "Alice", "attributes": {"k": [1, 2]}}).status, 201)
        seg = R("POST", "/v1/segments", {"name": "vip"}).body["id"]
        self.assertEqual(R("PUT", "/v1/segments/%d/members/bob" % seg).status, 204)
        self.assertEqual(R("PUT", "/v1/campaigns/c1", {"name": "Camp"}).status, 201)
        n = R("POST", "/v1/notifications", {"libelle": "hello", "campaign_id": "c1",
                                            "targets": ["alice"], "segments": [seg],
                                            "date_started": "2024-03-01T10:00:00Z"})
        self.assertEqual(n.status, 201, n.body)
        self.assertEqual(n.body["notification_key"], 1)
        self.assertEqual(R("POST", "/v1/targets/alice/events",
                           {"notification_key": 1, "type": "read",
                            "at": "2024-03-01T11:00:00Z"}).status, 204)
        member = R("POST", "/v1/keys", {"role": "member", "target": "alice"}).body
        revoked = R("POST", "/v1/keys", {"role": "admin"}).body
        self.assertEqual(R("DELETE", "/v1/keys/" + revoked["id"]).status, 204)
        cli_key = d.key_create("admin", tenant="t2")
        before = {
            "target": R("GET", "/v1/targets/alice").body,
            "segment": R("GET", "/v1/segments/%d" % seg).body,
            "campaign": R("GET", "/v1/campaigns/c1").body,
            "notification": R("GET", "/v1/notifications/1").body,
            "feed": R("GET", "/v1/targets/alice/notifications").body,
            "keys": R("GET", "/v1/keys").body,
        }
        old_port = d.port
        d.restart()
        after = {
            "target": R("GET", "/v1/targets/alice").body,
            "segment": R("GET", "/v1/segments/%d" % seg).body,
            "campaign": R("GET", "/v1/campaigns/c1").body,
            "notification": R("GET", "/v1/notifications/1").body,
            "feed": R("GET", "/v1/targets/alice/notifications").body,
            "keys": R("GET", "/v1/keys").body,
        }
        self.assertEqual(before, after)
        self.assertEqual(after["feed"]["notifications"][0]["read"], "2024-03-01T11:00:00Z")
        self.assertEqual(after["segment"]["members"], 1)
        self.assertEqual(R("GET", "/v1/targets/bob").status, 200)
        self.assertEqual(R("GET", "/v1/targets/alice/notifications", key=member["key"]).status, 200)
        self.assertEqual(R("GET", "/v1/segments", key=revoked["key"]).status, 401)
        self.assertEqual(R("GET", "/v1/segments", key=cli_key).status, 200)
        # the per-tenant sequences continue
        n2 = R("POST", "/v1/notifications", {"libelle": "again"})
        self.assertEqual(n2.body["notification_key"], 2, n2.body)
        s2 = R("POST", "/v1/segments", {"name": "vip2"})
        self.assertEqual(s2.body["id"], seg + 1, s2.body)
        self.stop_ok(d)

    def test_restart_twice_same_db(self):
        d = self.start()
        self.assertEqual(d.request("PUT", "/v1/targets/x", {"name": "1"}).status, 201)
        d.restart()
        self.assertEqual(d.request("PUT", "/v1/targets/x", {"name": "2"}).status, 200)
        d.restart()
        r = d.request("GET", "/v1/targets/x")
        self.assertEqual(r.body["name"], "2")
        self.stop_ok(d)


if __name__ == "__main__":
    main()
