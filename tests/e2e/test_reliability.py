"""Reliability: what an attacker, a crash or a full disk does to notifd.
docs/reliability.md summarises what each test here proves."""

import http.client
import os
import shutil
import tempfile
import time
import unittest

from harness import (PROBLEM_PREFIX, Daemon, DaemonTestCase, main, notifd_bin, ok,
                     sqlite_only)


class TestQueryFlood(unittest.TestCase):
    """A flood of query parameters leaves nothing behind: every request is
    answered, and the daemon stops at once and cleanly (under ASan: no
    leak) instead of waiting out its grace for requests that never ended."""

    def test_stops_promptly_after_flood(self):
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-") as tmp:
            d = Daemon(tmp)
            d.start()
            try:
                for _ in range(20):
                    r = d.request("GET", "/v1/tenant?" + "&".join("a" for _ in range(1000)))
                    self.assertEqual(r.status, 414)
                t0 = time.monotonic()
                rc = d.stop()
                # The grace for requests in flight is 10 s: a stuck one shows.
                self.assertLess(time.monotonic() - t0, 5.0)
                self.assertEqual(rc, 0)
            finally:
                d.cleanup()



class TestFullDisk(unittest.TestCase):
    """Out of space, a write is a 507 that changes nothing; reads go on,
    and writes work again as soon as there is room, without a restart.

    The disk really fills: notifd runs in a mount namespace of its own (an
    unprivileged user namespace, as unshare(1) makes one) whose data
    directory is a 2 MiB tmpfs, half taken by a filler file; deleting the
    filler through /proc/PID/root makes room again."""

    SIZE = "2M"
    FILLER_KB = 1024

    @sqlite_only("the SQLite file fills a small filesystem; PostgreSQL's disk_full "
                 "(SQLSTATE 53100) maps to the same 507 in src/store/postgres/pg.c")
    def test_full_disk_is_507_and_writes_resume(self):
        unshare = shutil.which("unshare")
        self.assertIsNotNone(unshare, "unshare(1) (util-linux) is missing")
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-") as tmp:
            data = os.path.join(tmp, "data")
            os.mkdir(data)
            wrapper = os.path.join(tmp, "in-small-fs")
            with open(wrapper, "w") as f:
                f.write('#!/bin/sh\nexec %s --user --map-root-user --mount sh -c \''
                        'mount -t tmpfs -o size=%s notifd-full "$0" && '
                        'head -c %dk /dev/zero > "$0/filler" && exec "$@"\' %s %s "$@"\n'
                        % (unshare, self.SIZE, self.FILLER_KB, data, notifd_bin()))
            os.chmod(wrapper, 0o755)
            d = Daemon(tmp, db=os.path.join(data, "notifd.db"), binary=wrapper)
            try:
                d.start()
                ok(d, "PUT", "/v1/targets/kept", {"name": "kept"})
                body = {"name": "n", "profile": "p" * 2000}
                refused = None
                for i in range(2000):
                    r = d.request("PUT", "/v1/targets/t%d" % i, body)
                    if r.status != 201:
                        refused = (i, r)
                        break
                self.assertIsNotNone(refused, "the filesystem never filled")
                i, r = refused
                self.assertEqual(r.status, 507, r.body)
                self.assertEqual(r.body["type"], PROBLEM_PREFIX + "insufficient-storage")
                self.assertIn("out of space", r.body["detail"])
                self.assertEqual(d.request("GET", "/v1/targets/t%d" % i).status, 404)
                self.assertEqual(d.request("GET", "/v1/targets/kept").status, 200)
                self.assertEqual(d.request("GET", "/v1/targets/t%d" % (i - 1)).status, 200)
                self.assertEqual(d.request("PUT", "/v1/targets/t%d" % i, body).status, 507)
                self.assertTrue(any("is full" in line for line in d.log_lines()))

                os.remove("/proc/%d/root%s/filler" % (d.proc.pid, data))
                ok(d, "PUT", "/v1/targets/t%d" % i, body)
                self.assertEqual(d.request("GET", "/v1/targets/t%d" % i).status, 200)
                self.assertEqual(d.stop(), 0)
            finally:
                d.cleanup()

class TestAuthThrottle(DaemonTestCase):
    """Wrong keys from one address: after --auth-failures of them within a
    minute, every request with a key from that address is a 429 with
    Retry-After for the rest of the minute; other addresses and public
    routes are untouched, and requests without a key count for nothing."""

    daemon_args = ("--auth-failures", "5")

    def other_address(self):
        conn = http.client.HTTPConnection(self.daemon.host, self.daemon.port, timeout=10,
                                          source_address=("127.0.0.2", 0))
        self.addCleanup(conn.close)
        return conn

    def test_wrong_keys_then_429(self):
        for _ in range(10):
            self.assertEqual(self.req("GET", "/v1/keys", key=None).status, 401)
        for i in range(5):
            self.assertEqual(self.req("GET", "/v1/keys", key="wrong-key-%d-Xq93kfJ1pz" % i).status,
                             401)
        r = self.req("GET", "/v1/keys", key="wrong-key-6-Xq93kfJ1pz")
        self.assertProblem(r, 429, "too-many-requests")
        self.assertIn(int(r.headers["retry-after"]), range(1, 61))
        self.assertIn("failed authentications", r.body["detail"])
        # the right key from this address waits too; nothing guessed gets in
        self.assertEqual(self.req("GET", "/v1/keys").status, 429)
        self.assertEqual(self.req("GET", "/api3/notification").status, 429)
        self.assertEqual(self.req("GET", "/healthz", key=None).status, 200)
        # another address is not affected
        other = self.other_address()
        self.assertEqual(self.req("GET", "/v1/keys", key="wrong", conn=other).status, 401)
        self.assertEqual(self.req("GET", "/v1/keys", conn=other).status, 200)


if __name__ == "__main__":
    main()
