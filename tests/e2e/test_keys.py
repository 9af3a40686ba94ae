"""Keys: create admin/member, list (never the key), revoke, errors."""

import json
import tempfile
import unittest

from harness import (Daemon, DaemonError, DaemonTestCase, KEY_ID_RE, main, random_key,
                     store_exec)


class TestKeys(DaemonTestCase):
    def setUp(self):
        _, self.k = self.new_tenant()

    def r(self, method, path, body=None, **kw):
        kw.setdefault("key", self.k)
        return self.req(method, path, body, **kw)

    def listing(self):
        r = self.r("GET", "/v1/keys")
        self.assertEqual(r.status, 200, r.body)
        return r

    def test_create_admin(self):
        r = self.r("POST", "/v1/keys", {"role": "admin"})
        self.assertEqual(r.status, 201, r.body)
        b = r.body
        self.assertEqual(set(b), {"id", "key", "role", "target", "created_at"})
        self.assertRegex(b["id"], KEY_ID_RE)
        self.assertIsInstance(b["key"], str)
        self.assertTrue(b["key"].startswith("ndk_"), b["key"])
        self.assertGreaterEqual(len(b["key"]), 16)
        self.assertNotIn(b["id"], b["key"])
        self.assertEqual(b["role"], "admin")
        self.assertIsNone(b["target"])
        self.assertRecent(b["created_at"])
        # the new key is an admin key of the same tenant
        self.assertEqual(self.r("POST", "/v1/segments", {"name": "by-new-key"}, key=b["key"]).status, 201)
        self.assertEqual([s["name"] for s in self.r("GET", "/v1/segments").body["segments"]],
                         ["by-new-key"])

    def test_create_member(self):
        r = self.r("POST", "/v1/keys", {"role": "member", "target": "alice"})
        self.assertEqual(r.status, 201, r.body)
        b = r.body
        self.assertEqual((b["role"], b["target"]), ("member", "alice"))
        self.assertRegex(b["id"], KEY_ID_RE)
        self.assertEqual(self.r("GET", "/v1/targets/alice/notifications", key=b["key"]).status, 200)
        self.assertEqual(self.r("GET", "/v1/targets/bob/notifications", key=b["key"]).status, 403)
        self.assertEqual(self.r("GET", "/v1/keys", key=b["key"]).status, 403)

    def test_keys_are_distinct(self):
        made = [self.r("POST", "/v1/keys", {"role": "admin"}).body for _ in range(3)]
        self.assertEqual(len({m["key"] for m in made}), 3)
        self.assertEqual(len({m["id"] for m in made}), 3)

    def test_list_never_shows_key(self):
        a = self.r("POST", "/v1/keys", {"role": "admin"}).body
        m = self.r("POST", "/v1/keys", {"role": "member", "target": "t/1"}).body
        r = self.listing()
        keys = r.body["keys"]
        by_id = {k["id"]: k for k in keys}
        self.assertIn(a["id"], by_id)
        self.assertIn(m["id"], by_id)
        for k in keys:
            self.assertEqual(set(k), {"id", "role", "target", "created_at", "revoked_at"}, k)
            self.assertRegex(k["id"], KEY_ID_RE)
        self.assertEqual(by_id[a["id"]], {"id": a["id"], "role": "admin", "target": None,
                                          "created_at": a["created_at"], "revoked_at": None})
        self.assertEqual(by_id[m["id"]], {"id": m["id"], "role": "member", "target": "t/1",
                                          "created_at": m["created_at"], "revoked_at": None})
        text = json.dumps(r.body)
        for secret in (a["key"], m["key"], self.k, self.daemon.admin_key):
            self.assertNotIn(secret, text)

    def test_revoke(self):
        made = self.r("POST", "/v1/keys", {"role": "admin"}).body
        self.assertEqual(self.r("GET", "/v1/segments", key=made["key"]).status, 200)
        r = self.r("DELETE", "/v1/keys/" + made["id"])
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(r.body, b"")
        for auth in ("x-key", "bearer"):
            r = self.r("GET", "/v1/segments", key=made["key"], auth=auth)
            self.assertProblem(r, 401, "unauthorized")
        listed = {k["id"]: k for k in self.listing().body["keys"]}
        self.assertRecent(listed[made["id"]]["revoked_at"])
        # revoking again: 204, revoked_at unchanged
        self.assertEqual(self.r("DELETE", "/v1/keys/" + made["id"]).status, 204)
        again = {k["id"]: k for k in self.listing().body["keys"]}
        self.assertEqual(again[made["id"]], listed[made["id"]])
        # the tenant's other keys still work
        self.assertEqual(self.r("GET", "/v1/segments").status, 200)

    def test_revoke_on_same_connection(self):
        made = self.r("POST", "/v1/keys", {"role": "member", "target": "m"}).body
        conn = self.daemon.connection()
        self.addCleanup(conn.close)
        path = "/v1/targets/m/notifications"
        self.assertEqual(self.req("GET", path, key=made["key"], conn=conn).status, 200)
        self.assertEqual(self.req("DELETE", "/v1/keys/" + made["id"], key=self.k, conn=conn).status, 204)
        self.assertEqual(self.req("GET", path, key=made["key"], conn=conn).status, 401)

    def test_revoked_by_another_process(self):
        """A key every worker has seen valid, revoked by another process
        writing the database (on SQLite the command line or a second
        notifd on the same file, on PostgreSQL another instance), fails on
        its very next request, whatever the request reads: a page, a
        listing, one that finds nothing. A commit that changes no key
        leaves it valid."""
        made = self.r("POST", "/v1/keys", {"role": "admin"}).body
        paths = ["/v1/segments", "/v1/targets/nobody/notifications",
                 "/targets/nobody/notifications", "/api3/notification?page_size=5",
                 "/api3/notification/00000000-0000-0000-0000-000000000000"]

        def statuses():
            # a new connection each, so that every worker thread answers
            # each path
            return {(p, self.r("GET", p, key=made["key"]).status)
                    for _ in range(3) for p in paths}

        self.assertNotIn(401, {s for _, s in statuses()})
        self.assertEqual(self.r("PUT", "/v1/targets/other-commit", {"name": "C"}).status, 201)
        self.assertNotIn(401, {s for _, s in statuses()})
        sql = "UPDATE api_keys SET revoked_at = 1 WHERE id = '%s'" % made["id"]
        store_exec(self.daemon, sql, sql)
        self.assertEqual(statuses(), {(p, 401) for p in paths})

    def test_key_revokes_itself(self):
        made = self.r("POST", "/v1/keys", {"role": "admin"}).body
        self.assertEqual(self.r("DELETE", "/v1/keys/" + made["id"], key=made["key"]).status, 204)
        self.assertEqual(self.r("GET", "/v1/keys", key=made["key"]).status, 401)

    def test_revoke_unknown_404(self):
        before = self.listing().body
        self.assertProblem(self.r("DELETE", "/v1/keys/0000000000000000"), 404, "not-found")
        self.assertProblem(self.r("DELETE", "/v1/keys/ffffffffffffffff"), 404, "not-found")
        self.assertEqual(self.listing().body, before)

    def test_create_validation(self):
        before = self.listing().body
        cases = [({}, "missing-field", "role"),
                 ({"role": "root"}, "invalid-field", "role"),
                 ({"role": 1}, "invalid-field", "role"),
                 ({"role": "member"}, "missing-field", "target"),
                 ({"role": "member", "target": ""}, "invalid-field", "target"),
                 ({"role": "member", "target": "x" * 129}, "invalid-field", "target"),
                 ({"role": "member", "target": "has space"}, "invalid-field", "target"),
                 ({"role": "member", "target": 5}, "invalid-field", "target"),
                 ({"role": "admin", "target": "x"}, "invalid-field", "target"),
                 ({"role": "admin", "scope": "all"}, "unknown-field", "scope"),
                 ({"role": "admin", "key": "ndk_choose_my_own_key_please"}, "unknown-field", "key")]
        for body, ptype, field in cases:
            with self.subTest(body=body):
                self.assertProblem(self.r("POST", "/v1/keys", body), 400, ptype, field=field)
        self.assertEqual(self.listing().body, before)
        self.assertEqual(self.r("GET", "/v1/segments", key="ndk_choose_my_own_key_please").status, 401)


class TestRevokedOperatorKey(unittest.TestCase):
    """The operator's --admin-key, once revoked, stays revoked: a restart
    with it is refused, saying why, and brings nothing back."""

    def test_restart_with_revoked_admin_key_is_refused(self):
        with tempfile.TemporaryDirectory(prefix="notifd-e2e-") as tmp:
            d = Daemon(tmp)
            try:
                d.start()
                other = d.request("POST", "/v1/keys", {"role": "admin"}).body
                ids = [k["id"] for k in d.request("GET", "/v1/keys").body["keys"]]
                operator = [i for i in ids if i != other["id"]]
                self.assertEqual(len(operator), 1, ids)
                self.assertEqual(d.request("DELETE", "/v1/keys/" + operator[0]).status, 204)
                self.assertEqual(d.request("GET", "/v1/keys").status, 401)
                self.assertEqual(d.stop(), 0)

                with self.assertRaises(DaemonError):
                    d.start()
                said = [line for line in d.log_lines() if "was revoked" in line]
                self.assertTrue(said, d.log_lines()[-5:])
                self.assertIn(operator[0], said[0])
                self.assertNotIn(d.admin_key, "\n".join(d.log_lines()))

                revoked, d.admin_key = d.admin_key, random_key("e2e_admin_")
                d.start()
                self.assertEqual(d.request("GET", "/v1/keys", key=revoked).status, 401)
                listed = d.request("GET", "/v1/keys", key=other["key"]).body["keys"]
                self.assertIsNotNone([k for k in listed if k["id"] == operator[0]][0]["revoked_at"])
            finally:
                d.cleanup()


if __name__ == "__main__":
    main()
