"""Crash durability: writers at work while notifd is killed (SIGKILL) at
random moments, and, on PostgreSQL, while the server itself is stopped hard
and started again. After each crash: every acknowledged notification is
there exactly once, every acknowledged delete is gone, what was in flight is
there at most once, the stored counters equal a recount, and (SQLite) the
file passes integrity_check. A fixed seed makes the choices repeatable; the
moments of the crashes follow the machine's timing, which is the point."""

import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import BACKEND, Daemon, main, private_pg

SEED = 20261130
WRITERS = 4


class Ledger:
    """What the writers were told: acknowledged creations (libelle -> its
    target), their delivery GUIDs once read back, acknowledged deletes, and
    what was sent without an acknowledgement (in flight when the daemon went
    away, or answered 503 by a database that may have committed it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}
        self.guid = {}
        self.deleted = set()
        self.in_flight = set()      # creations, by libelle
        self.maybe_deleted = set()  # deletes, by GUID
        self.acks = 0

    def deletable(self, target):
        with self.lock:
            return [g for lib, g in self.guid.items() if self.acked[lib] == target
                    and g not in self.deleted and g not in self.maybe_deleted]


def call(conn, key, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"X-Key": key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def writer(d, key, w, rnd, ledger, stop):
    """Creates notifications for its own target and deletes some of them,
    until @stop or until the daemon is gone."""
    rng = random.Random(SEED * 1000 + rnd * 10 + w)
    target = "cw%d" % w
    conn = http.client.HTTPConnection(d.host, d.port, timeout=30 * harness.SCALE)
    n = 0
    try:
        while not stop.is_set():
            victims = ledger.deletable(target)
            if victims and rng.random() < 0.3:
                guid = rng.choice(victims)
                with ledger.lock:
                    ledger.maybe_deleted.add(guid)
                status, _ = call(conn, key, "DELETE", "/api3/notification/" + guid)
                if status in (200, 204):
                    with ledger.lock:
                        ledger.maybe_deleted.discard(guid)
                        ledger.deleted.add(guid)
                        ledger.acks += 1
                continue
            lib = "r%d-w%d-%d" % (rnd, w, n)
            n += 1
            with ledger.lock:
                ledger.in_flight.add(lib)
            status, _ = call(conn, key, "POST", "/v1/notifications",
                             {"libelle": lib, "targets": [target]})
            if status != 201:
                continue  # 503 while a PostgreSQL server restarts: not acknowledged
            with ledger.lock:
                ledger.in_flight.discard(lib)
                ledger.acked[lib] = target
                ledger.acks += 1
            status, feed = call(conn, key, "GET",
                                "/v1/targets/%s/notifications?limit=1" % target)
            if status == 200 and feed["notifications"] and \
                    feed["notifications"][0]["libelle"] == lib:
                with ledger.lock:
                    ledger.guid[lib] = feed["notifications"][0]["id"]
    except (OSError, http.client.HTTPException):
        pass  # killed under our feet
    finally:
        conn.close()


class CrashCase(unittest.TestCase):
    def run_writers(self, d, key, rnd, ledger, crash):
        """The writers for one round; @crash() happens in the middle."""
        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(d, key, w, rnd, ledger, stop))
                   for w in range(WRITERS)]
        for t in threads:
            t.start()
        try:
            crash()
        finally:
            stop.set()
            for t in threads:
                t.join(60 * harness.SCALE)

    def feed(self, d, target):
        items, cursor = [], None
        while True:
            path = "/v1/targets/%s/notifications?limit=1000" % target
            if cursor:
                path += "&cursor=" + cursor
            r = harness.ok(d, "GET", path)
            items += r.body["notifications"]
            cursor = r.body["next_cursor"]
            if not cursor:
                return items

    def verify(self, d, ledger, label):
        seen = {}
        for w in range(WRITERS):
            for item in self.feed(d, "cw%d" % w):
                seen.setdefault(item["libelle"], []).append(item["id"])
        with ledger.lock:
            for lib, target in ledger.acked.items():
                guid = ledger.guid.get(lib)
                got = len(seen.get(lib, []))
                if guid in ledger.maybe_deleted:
                    self.assertLessEqual(got, 1, "%s: %s" % (label, lib))
                else:
                    want = 0 if guid in ledger.deleted else 1
                    self.assertEqual(got, want, "%s: %s" % (label, lib))
            for guid in ledger.deleted:
                self.assertEqual(d.request("GET", "/api3/notification/" + guid).status, 404,
                                 "%s: deleted %s is back" % (label, guid))
            for lib, guids in seen.items():
                self.assertTrue(lib in ledger.acked or lib in ledger.in_flight,
                                "%s: %s was never sent" % (label, lib))
                self.assertEqual(len(guids), 1, "%s: %s stored twice" % (label, lib))
        self.assertEqual(self.recount_mismatches(d), [], label)

    def recount_mismatches(self, d):
        return harness.recount_mismatches(d, self.server())

    def server(self):
        """The PostgreSQL server holding the database (None on SQLite)."""
        return harness.pg() if BACKEND == "postgres" else None

    def integrity(self, d):
        harness.assert_integrity(self, d)


class TestKillNotifd(CrashCase):
    ROUNDS = 20

    def test_sigkill_rounds(self):
        rng = random.Random(SEED)
        ledger = Ledger()
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-crash-") as tmp:
            d = Daemon(tmp)
            try:
                d.start()
                for rnd in range(self.ROUNDS):
                    def crash():
                        time.sleep(rng.uniform(0.05, 0.4) * harness.SCALE)
                        d.kill()
                    self.run_writers(d, d.admin_key, rnd, ledger, crash)
                    d.start()
                    self.verify(d, ledger, "round %d" % rnd)
                    self.integrity(d)
                self.assertGreater(ledger.acks, self.ROUNDS, "the writers hardly wrote")
                self.assertGreater(len(ledger.deleted), 0, "no delete was acknowledged")
                sys.stderr.write("%d rounds: %d writes acknowledged (%d deletes), none lost\n"
                                 % (self.ROUNDS, ledger.acks, len(ledger.deleted)))
                self.assertEqual(d.stop(), 0)
            finally:
                d.cleanup()


@unittest.skipUnless(BACKEND == "postgres", "PostgreSQL only: the database server itself "
                     "is stopped hard and started again under notifd")
class TestRestartServer(CrashCase):
    ROUNDS = 5

    @classmethod
    def setUpClass(cls):
        cls.srv = private_pg(cls)

    def server(self):
        return self.srv

    def test_server_restart_rounds(self):
        rng = random.Random(SEED + 1)
        ledger = Ledger()
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-crash-") as tmp:
            d = Daemon(tmp, db=self.srv.create_database("crash"))
            try:
                d.start()
                for rnd in range(self.ROUNDS):
                    def crash():
                        time.sleep(rng.uniform(0.05, 0.4) * harness.SCALE)
                        self.srv.stop_server("immediate")  # as a power cut would
                        self.srv.start_server()
                        time.sleep(0.3 * harness.SCALE)  # writes again through notifd
                    self.run_writers(d, d.admin_key, rnd, ledger, crash)
                    end = time.monotonic() + 30 * harness.SCALE
                    while d.request("GET", "/healthz", key=None).status != 200:
                        self.assertLess(time.monotonic(), end, "notifd never came back")
                        time.sleep(0.1)
                    self.verify(d, ledger, "restart %d" % rnd)
                self.assertGreater(ledger.acks, self.ROUNDS)
                self.assertEqual(d.stop(), 0)
            finally:
                d.cleanup()


if __name__ == "__main__":
    main()
