"""Reliability: what an attacker, a crash or a full disk does to notifd.
docs/reliability.md summarises what each test here proves."""

import http.client
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (INSTRUMENTED, PROBLEM_PREFIX, SCALE, WRAP, Daemon, DaemonTestCase, main,
                     notifd_bin, ok, sqlite_only)


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
                self.assertLess(time.monotonic() - t0, 5.0 * SCALE)
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
                        % (unshare, self.SIZE, self.FILLER_KB, data,
                           " ".join(WRAP + [notifd_bin()])))
            os.chmod(wrapper, 0o755)
            d = Daemon(tmp, db=os.path.join(data, "notifd.db"), binary=wrapper, wrap=False)
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
                self.assertTrue(d.wait_log(lambda rec: "is full" in rec.get("msg", "")))

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


class TestStuckLogReader(unittest.TestCase):
    """Nobody reads notifd's stderr (a stalled journal, a full pipe): requests
    go on all the same, the access-log records that do not fit are dropped
    and counted, and the count is logged once stderr is read again."""

    def test_requests_never_wait_for_stderr(self):
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-") as tmp:
            key = harness.random_key("e2e_admin_")
            p = subprocess.Popen(WRAP + [notifd_bin(), "--listen", "127.0.0.1:0", "--db",
                                         harness.new_db(tmp), "--admin-key", key,
                                         "--threads", "1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=harness.clean_env())
            try:
                port = None
                while port is None:  # up to the listening record, then read no more
                    line = p.stderr.readline()
                    self.assertTrue(line, "notifd exited")
                    m = re.search(rb'"event":"listening","addr":"[^"]*:(\d+)"', line)
                    port = int(m.group(1)) if m else None
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30 * SCALE)
                # ~190 bytes of access log each: 12,000 are twice what the
                # 64 KiB pipe and notifd's 1 MiB log buffer hold together
                for i in range(12000):
                    conn.request("GET", "/healthz", headers={"X-Request-Id": "stuck-%d" % i})
                    self.assertEqual(conn.getresponse().read(), b'{"status":"ok"}')
                conn.close()
                p.send_signal(signal.SIGTERM)
                rest = p.stderr.read()
                self.assertEqual(p.wait(60 * SCALE), 0)
                self.assertIsNotNone(re.search(rb"\d+ log records dropped: standard error did not",
                                               rest), rest[-300:])
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()


def server_unread(sock, server_port):
    """Bytes the server has not read yet from @sock's connection (its
    receive queue in /proc/net/tcp), or None when the socket is not there."""
    client_port = sock.getsockname()[1]
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if (int(local.split(":")[1], 16) == server_port
                    and int(remote.split(":")[1], 16) == client_port):
                return int(queues.split(":")[1], 16)
    return None


def wait_read(sock, server_port, timeout=30.0):
    """Until the server has read everything sent on @sock (or closed it)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server_unread(sock, server_port) in (0, None):
            return
        time.sleep(0.01)
    raise AssertionError("the server did not read what was sent")


def read_status(sock):
    """The status of the one response on @sock, after which it is closed."""
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split()[1]), head.lower()


def closed(sock):
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class TestBodyAfterKey(DaemonTestCase):
    """The key is checked on the request's head: a request refused there is
    answered, and its connection closed, before notifd reads a byte of its
    body, so bodies without a valid key cost it no memory."""

    def head(self, key=None, length=1 << 20, chunked=False):
        s = socket.create_connection((self.daemon.host, self.daemon.port), timeout=10)
        self.addCleanup(s.close)
        h = "POST /v1/notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        h += "Transfer-Encoding: chunked\r\n" if chunked else "Content-Length: %d\r\n" % length
        if key:
            h += "X-Key: %s\r\n" % key
        s.sendall((h + "\r\n").encode())
        return s

    def test_refused_before_the_body(self):
        for key, chunked in ((None, False), (None, True), ("wrong-Xq93kfJ1pzR0", False)):
            s = self.head(key, chunked=chunked)
            status, head = read_status(s)
            self.assertEqual(status, 401, head)
            self.assertTrue(closed(s), "the connection stayed open")
        # a valid key on the same kind of head is let through to send its body
        s = self.head(self.daemon.admin_key, length=2)
        s.sendall(b"{}")
        self.assertEqual(read_status(s)[0], 400)

    def test_keyless_bodies_cost_no_memory(self):
        def hwm_kb():
            with open("/proc/%d/status" % self.daemon.proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        before = hwm_kb()
        body = b" " * (1 << 20)
        socks = [self.head() for _ in range(100)]
        # all but the last byte of every body first, so that a server that
        # kept bodies would hold all 100 MiB at once
        for last in (False, True):
            for s in socks:
                try:
                    s.sendall(body[-1:] if last else body[:-1])
                except OSError:
                    pass  # answered and closed before the body: as it should be
            if not last:
                for s in socks:
                    wait_read(s, self.daemon.port)
                growth = hwm_kb() - before
        for s in socks:
            closed(s)
        if WRAP:
            return  # the resident set of an emulator says nothing
        self.assertLess(growth, 32 * 1024)


class TestBodyBudget(DaemonTestCase):
    """All bodies being received share one budget (--body-memory): the
    request whose bytes would go past it stops being kept (the rest of its
    body is read and dropped) and is refused with 503 and Retry-After; the
    others go on."""

    SIZE = 1000000
    daemon_args = ("--max-body", "1048576", "--body-memory", "2097152")

    def body(self):
        start, end = b'{"libelle":"big body",', b'"targets":["budget-t"]}'
        return start + b" " * (self.SIZE - len(start) - len(end)) + end

    def test_budget(self):
        port = self.daemon.port
        body = self.body()

        def start(n):
            s = socket.create_connection((self.daemon.host, port), timeout=10)
            self.addCleanup(s.close)
            s.sendall(("POST /v1/notifications HTTP/1.1\r\nHost: x\r\nX-Key: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                       % (self.daemon.admin_key, self.SIZE)).encode())
            s.sendall(body[:n])
            return s

        a = start(800000)
        wait_read(a, port)
        b = start(800000)
        wait_read(b, port)
        # 1,600,000 held: this one's body goes past 2 MiB on its way
        c = start(self.SIZE)
        status, head = read_status(c)
        self.assertEqual(status, 503, head)
        self.assertIn("retry-after: 1", head)
        for s in (a, b):
            s.sendall(body[800000:])
            self.assertEqual(read_status(s)[0], 201)
        # the budget is whole again
        self.assertEqual(self.req("POST", "/v1/notifications", raw_body=body,
                                  headers={"Content-Type": "application/json"}).status, 201)


class TestRateLimit(DaemonTestCase):
    """A key past --rate-limit requests a minute (in bursts of --rate-burst)
    gets 429 with Retry-After and RateLimit headers on every face; other
    keys go on, and the key itself after waiting Retry-After."""

    daemon_args = ("--rate-limit", "60", "--rate-burst", "5")

    def test_token_bucket(self):
        other = self.daemon.key_create("admin")
        for _ in range(5):
            self.assertEqual(self.req("GET", "/v1/keys").status, 200)
        r = self.req("GET", "/v1/keys")
        self.assertProblem(r, 429, "too-many-requests")
        self.assertIn("60 requests a minute", r.body["detail"])
        wait = int(r.headers["retry-after"])
        self.assertIn(wait, (1, 2))
        self.assertEqual(r.headers["ratelimit-limit"], "60")
        self.assertEqual(r.headers["ratelimit-remaining"], "0")
        self.assertEqual(int(r.headers["ratelimit-reset"]), wait)
        # every face counts against the same key, in its own dialect
        r = self.req("GET", "/targets/nobody/notifications")
        self.assertEqual((r.status, r.body["code"]), (429, 429))
        r = self.req("GET", "/api3/notification")
        self.assertEqual((r.status, r.body["errorCode"]), (429, 429))
        # another key has a bucket of its own
        self.assertEqual(self.req("GET", "/v1/keys", key=other).status, 200)
        time.sleep(wait)
        self.assertEqual(self.req("GET", "/v1/keys").status, 200)

    def test_idle_key_saves_no_more_than_a_burst(self):
        # one request a second refills the bucket; idle for longer than a
        # burst takes to refill, a key still has a burst, not more
        k = self.daemon.key_create("admin")
        for _ in range(2):
            self.assertEqual(self.req("GET", "/v1/keys", key=k).status, 200)
        time.sleep(3.5)  # 3 left + 3.5 refilled: capped at 5
        got = [self.req("GET", "/v1/keys", key=k).status for _ in range(6)]
        self.assertEqual(got, [200] * 5 + [429])


class TestRateLimitDefaultBurst(DaemonTestCase):
    """Without --rate-burst a key may spend a minute's worth at once."""

    daemon_args = ("--rate-limit", "6")  # a request back every 10 s

    def test_a_minutes_worth(self):
        got = [self.req("GET", "/v1/keys").status for _ in range(7)]
        self.assertEqual(got, [200] * 6 + [429])


def wait_closed(sock, trickle, limit):
    """Seconds until the server closes @sock while @trickle (bytes) goes out
    one byte every 0.25 s; fails past @limit seconds."""
    t0 = time.monotonic()
    sock.setblocking(False)
    i = 0
    while time.monotonic() - t0 < limit:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - t0
        except BlockingIOError:
            pass
        except ConnectionResetError:
            return time.monotonic() - t0
        try:
            sock.send(trickle[i % len(trickle):i % len(trickle) + 1])
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - t0
        i += 1
        time.sleep(0.25)
    raise AssertionError("the connection was still open after %d s" % limit)


class TestSlowClients(DaemonTestCase):
    """A client that trickles its request head, or its body, is cut off:
    the idle timeout alone never would, since every byte resets it."""

    daemon_args = ("--head-timeout", "2", "--min-body-rate", "1000")

    def connect(self):
        s = socket.create_connection((self.daemon.host, self.daemon.port), timeout=10)
        self.addCleanup(s.close)
        return s

    def test_trickled_head_is_cut(self):
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        took = wait_closed(s, b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaa\r\n", 30)
        self.assertGreaterEqual(took, 1.5)

    def test_idle_keep_alive_ends_at_the_head_deadline(self):
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(read_status(s)[0], 200)
        s.settimeout(30)
        t0 = time.monotonic()
        self.assertEqual(s.recv(65536), b"")
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)

    def test_slow_body_is_cut(self):
        s = self.connect()
        s.sendall(("POST /v1/notifications HTTP/1.1\r\nHost: x\r\nX-Key: %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                   % self.daemon.admin_key).encode())
        # 4 bytes a second against a floor of 1000, cut once its first 10 s are over
        took = wait_closed(s, b" ", 40)
        self.assertGreaterEqual(took, 9.5)
        self.assertTrue(self.daemon.wait_log(
            lambda rec: "slower than 1000 bytes/s" in rec.get("msg", ""), timeout=15))


def refusals(d):
    """What @d's log counted: (connections refused at the server's limit,
    at the per-address limit, the lines that say so)."""
    lines = [line for line in d.log_lines() if "per-address limit" in line]

    def total(pattern):
        return sum(int(m) for line in lines for m in re.findall(pattern, line))
    return (total(r"(\d+) connections refused at the connection limit"),
            total(r"(\d+) at the per-address limit"), lines)


class TestConnectionLimits(unittest.TestCase):
    """Past the per-address limit a connection is answered 503 with
    Retry-After at once and closed, and the refusals are logged as counts
    (at most one line per 10 s), not one line each."""

    def start(self, *args):
        tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-")
        self.addCleanup(tmp.cleanup)
        d = Daemon(tmp.name, extra_args=list(args))
        self.addCleanup(d.cleanup)
        return d.start()

    def stop_counting(self, d, held):
        """Closes the connections @held, stops @d cleanly: refusals(d)."""
        for s in held:
            s.close()
        self.assertEqual(d.stop(), 0)
        return refusals(d)

    def test_per_address_limit(self):
        d = self.start("--per-ip-limit", "4")
        held = [harness.begun_request(d) for _ in range(4)]
        for _ in range(21):
            s = socket.create_connection((d.host, d.port), timeout=10)
            status, head = read_status(s)
            self.assertEqual(status, 503, head)
            self.assertIn("retry-after: 1", head)
            self.assertTrue(closed(s))
            s.close()
        # another address is not refused
        s = socket.create_connection((d.host, d.port), timeout=10,
                                     source_address=("127.0.0.2", 0))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(read_status(s)[0], 200)
        s.close()
        at_server, at_address, lines = self.stop_counting(d, held)
        self.assertEqual((at_server, at_address), (0, 21), lines)
        self.assertLessEqual(len(lines), 3, lines)

    def test_server_limit(self):
        """The whole server's limit, from any address: refused the same way."""
        d = self.start("--connection-limit", "3")
        held = [harness.begun_request(d, source)
                for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3")]
        for source in ("127.0.0.4", "127.0.0.5"):
            s = socket.create_connection((d.host, d.port), timeout=10,
                                         source_address=(source, 0))
            status, head = read_status(s)
            self.assertEqual(status, 503, head)
            self.assertTrue(closed(s))
            s.close()
        at_server, at_address, lines = self.stop_counting(d, held)
        self.assertEqual((at_server, at_address), (2, 0), lines)

    def test_no_per_address_limit(self):
        """--per-ip-limit 0: one address may hold every connection the
        server allows, and no more."""
        d = self.start("--per-ip-limit", "0", "--connection-limit", "6")
        held = [harness.begun_request(d) for _ in range(6)]
        s = socket.create_connection((d.host, d.port), timeout=10)
        status, head = read_status(s)
        self.assertEqual(status, 503, head)
        s.close()
        at_server, at_address, lines = self.stop_counting(d, held)
        self.assertEqual((at_server, at_address), (1, 0), lines)


class TestLockedAtStart(unittest.TestCase):
    """A database another process holds locked when notifd starts (a backup,
    a long migration of another notifd): notifd serves anyway, answers every
    keyed request 503 while it cannot make its admin key, and serves
    normally, without a restart, once the lock is gone."""

    def start_locked(self):
        """A notifd started on a database another connection holds locked
        (and has since it last stopped): serving, waiting for the lock.
        Returns it and the holding connection, in its transaction."""
        tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-")
        self.addCleanup(tmp.cleanup)
        d = Daemon(tmp.name)
        self.addCleanup(d.cleanup)
        d.start()
        self.assertEqual(d.stop(), 0)
        holder = sqlite3.connect(d.db, isolation_level=None)
        self.addCleanup(holder.close)
        holder.execute("BEGIN EXCLUSIVE")
        d.admin_key = harness.random_key("e2e_admin_")  # one to insert
        d.start()
        self.assertTrue(d.wait_log(
            lambda rec: "does not answer yet" in rec.get("msg", "")), d.logs[-5:])
        return d, holder

    @sqlite_only("a SQLite file locked by another process; PostgreSQL's server "
                 "unreachable at start is tests/e2e/test_pg_cluster.py's")
    def test_locked_then_released(self):
        d, holder = self.start_locked()
        r = d.request("GET", "/v1/tenant")
        self.assertEqual(r.status, 503, r.body)
        holder.execute("ROLLBACK")
        self.assertTrue(d.wait_log(
            lambda rec: rec.get("msg") == "the database answers: ready", 15 * SCALE),
            d.logs[-5:])
        self.assertEqual(d.request("GET", "/v1/tenant").status, 200)
        self.assertEqual(d.stop(), 0)

    @sqlite_only("a SQLite file locked by another process; PostgreSQL's server "
                 "unreachable at start is tests/e2e/test_pg_cluster.py's")
    def test_locked_then_migrated_by_a_newer_notifd(self):
        # What the lock hid is a schema this notifd does not know: retrying
        # cannot help, so notifd stops as it would have at start (exit 1).
        d, holder = self.start_locked()
        holder.execute("PRAGMA user_version = 99")
        # notifd's retries read the schema, then wait (5 s) for the write
        # lock to make its key: a second in, the lock goes while it waits.
        time.sleep(1)
        holder.execute("COMMIT")
        self.assertEqual(d.proc.wait(timeout=15 * SCALE), 1, d.logs[-5:])
        d.stop()  # gathers the rest of its log
        # Said once, and the stop put down to it, not to a signal (the
        # log of the run before start_locked's stops with a SIGTERM).
        lines = d.log_lines()
        lines = lines[max(i for i, line in enumerate(lines) if "does not answer yet" in line):]
        self.assertEqual(sum("newer than" in line for line in lines), 1, lines[-5:])
        self.assertFalse(any("received SIGTERM" in line for line in lines), lines[-5:])
        self.assertTrue(any("cannot be served" in line for line in lines), lines[-5:])


if __name__ == "__main__":
    main()
