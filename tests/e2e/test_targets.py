"""Targets: PUT (create/replace), GET, DELETE, ids, field rules."""

import unittest

from harness import DaemonTestCase, enc, main

FIELDS = {"id", "name", "email", "profile", "attributes", "created_at", "updated_at"}


class TestTargets(DaemonTestCase):
    def put(self, tid, body, status):
        return self.ok("PUT", "/v1/targets/" + enc(tid), body, status=status).body

    def get(self, tid):
        return self.req("GET", "/v1/targets/" + enc(tid))

    def test_create_and_get(self):
        t = self.uid("alice")
        body = {"name": "Alice", "email": "alice@example.com", "profile": "p",
                "attributes": {"plan": "pro", "n": 3, "nested": {"l": [1, "two", None, True]},
                               "u": "h\u00e9\u2603\U0001F600"}}
        created = self.put(t, body, 201)
        self.assertTrue(FIELDS <= set(created), created)
        self.assertEqual(created["id"], t)
        for k, v in body.items():
            self.assertEqual(created[k], v, k)
        self.assertRecent(created["created_at"])
        self.assertRecent(created["updated_at"])
        r = self.get(t)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"))
        self.assertEqual(r.body, created)

    def test_replace_nulls_absent_fields(self):
        t = self.uid("bob")
        first = self.put(t, {"name": "Bob", "email": "b@x.org", "profile": "pr",
                             "attributes": {"a": 1}}, 201)
        second = self.put(t, {"email": "new@x.org"}, 200)
        self.assertEqual(second["id"], t)
        self.assertIsNone(second["name"])
        self.assertEqual(second["email"], "new@x.org")
        self.assertIsNone(second["profile"])
        self.assertEqual(second["attributes"], {})
        self.assertEqual(second["created_at"], first["created_at"])
        self.assertGreaterEqual(self.assertTime(second["updated_at"]),
                                self.assertTime(first["updated_at"]))
        self.assertEqual(self.get(t).body, second)

    def test_empty_object_and_nulls(self):
        t = self.uid("empty")
        b = self.put(t, {}, 201)
        self.assertEqual((b["name"], b["email"], b["profile"], b["attributes"]),
                         (None, None, None, {}))
        b = self.put(t, {"name": None, "email": None, "profile": None, "attributes": None}, 200)
        self.assertEqual((b["name"], b["email"], b["profile"], b["attributes"]),
                         (None, None, None, {}))

    def test_length_limits_in_characters(self):
        t = self.uid("len")
        b = self.put(t, {"name": "\u00e9" * 200, "email": "e" * 254, "profile": "\u2603" * 2048}, 201)
        self.assertEqual(b["name"], "\u00e9" * 200)
        self.assertEqual(len(b["profile"]), 2048)
        for field, value in (("name", "n" * 201), ("email", "e" * 255), ("profile", "p" * 2049),
                             ("name", "\u00e9" * 201)):
            r = self.req("PUT", "/v1/targets/" + enc(t), {field: value})
            self.assertProblem(r, 400, "invalid-field", field=field)
        self.assertEqual(self.get(t).body, b)

    def test_attributes_size_and_type(self):
        t = self.uid("attrs")
        self.put(t, {"attributes": {"k": "x" * 15000}}, 201)
        r = self.req("PUT", "/v1/targets/" + enc(t), {"attributes": {"k": "x" * 17000}})
        self.assertProblem(r, 400, "invalid-field", field="attributes")
        for bad in ([1, 2], "str", 5, True):
            r = self.req("PUT", "/v1/targets/" + enc(t), {"attributes": bad})
            self.assertProblem(r, 400, "invalid-field", field="attributes")
        self.assertEqual(len(self.get(t).body["attributes"]["k"]), 15000)

    def test_wrong_types(self):
        t = self.uid("types")
        for field, value in (("name", 5), ("email", ["a"]), ("profile", {"x": 1}), ("name", True)):
            r = self.req("PUT", "/v1/targets/" + enc(t), {field: value})
            self.assertProblem(r, 400, "invalid-field", field=field)
        self.assertEqual(self.get(t).status, 404)

    def test_special_ids(self):
        for tid in ("a/b" + self.uid(""), "x%y" + self.uid(""), "q?r#s&" + self.uid(""),
                    "~!*'()[]{}:@$,;=\"<>\\^`|" + self.uid(""), "p+q" + self.uid("")):
            with self.subTest(tid=tid):
                b = self.put(tid, {"name": "special"}, 201)
                self.assertEqual(b["id"], tid)
                r = self.get(tid)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(r.body["id"], tid)
        # '+' is literal in a path, not a space
        tid = "lit+" + self.uid("")
        self.ok("PUT", "/v1/targets/" + tid, {"name": "plus"}, status=201)
        self.assertEqual(self.get(tid).body["name"], "plus")
        # a/b and a%2Fb designate the same target when encoded, but /v1/targets/a/b is no route
        r = self.req("GET", "/v1/targets/a/b")
        self.assertEqual(r.status, 404)

    def test_id_length(self):
        ok = self.uid("long")
        ok += "i" * (128 - len(ok))
        self.put(ok, {"name": "long"}, 201)
        self.assertEqual(self.get(ok).body["id"], ok)
        self.assertEqual(self.req("GET", "/v1/targets/" + ok + "i").status, 400)
        r = self.req("PUT", "/v1/targets/" + "i" * 129, {"name": "too long"})
        self.assertProblem(r, 400, "invalid-parameter")
        self.assertProblem(self.get("i" * 129), 400, "invalid-parameter")

    def test_invalid_ids(self):
        for raw in ("a%20b", "%09tab", "%01ctl", "caf%C3%A9", "%7F", "bad%zz", "trunc%2"):
            r = self.req("PUT", "/v1/targets/" + raw, {"name": "bad"})
            self.assertProblem(r, 400, "invalid-parameter")
            r = self.req("GET", "/v1/targets/" + raw)
            self.assertProblem(r, 400, "invalid-parameter")

    def test_get_unknown(self):
        r = self.get(self.uid("ghost"))
        self.assertProblem(r, 404, "not-found")

    def test_delete(self):
        t = self.uid("del")
        self.put(t, {"name": "d"}, 201)
        r = self.req("DELETE", "/v1/targets/" + enc(t))
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        self.assertProblem(self.get(t), 404, "not-found")
        self.assertProblem(self.req("DELETE", "/v1/targets/" + enc(t)), 404, "not-found")
        # re-creating gives a new target (201) with fresh fields
        b = self.put(t, {}, 201)
        self.assertIsNone(b["name"])

    def test_delete_removes_deliveries_and_memberships(self):
        t, keep = self.uid("gone"), self.uid("stay")
        seg = self.ok("POST", "/v1/segments", {"name": "s"}).body["id"]
        for x in (t, keep):
            self.ok("PUT", "/v1/segments/%d/members/%s" % (seg, enc(x)), status=204)
        n = self.ok("POST", "/v1/notifications", {"libelle": "l", "segments": [seg]}).body
        self.assertEqual(n["deliveries"], 2)
        self.ok("DELETE", "/v1/targets/" + enc(t), status=204)
        self.assertEqual(self.ok("GET", "/v1/segments/%d" % seg).body["members"], 1)
        got = self.ok("GET", "/v1/notifications/%d" % n["notification_key"]).body
        self.assertEqual(got["deliveries"], 1)
        # a target re-created with the same id has no past deliveries or memberships
        self.put(t, {}, 201)
        feed = self.ok("GET", "/v1/targets/%s/notifications" % enc(t)).body
        self.assertEqual(feed, {"notifications": [], "next_cursor": None})
        self.assertEqual(self.ok("GET", "/v1/segments/%d" % seg).body["members"], 1)
        r = self.req("POST", "/v1/targets/%s/events" % enc(t),
                     {"notification_key": n["notification_key"], "type": "read"})
        self.assertProblem(r, 404, "not-found")
        # the other member keeps its delivery
        feed = self.ok("GET", "/v1/targets/%s/notifications" % enc(keep)).body
        self.assertEqual([x["notification_key"] for x in feed["notifications"]],
                         [n["notification_key"]])


if __name__ == "__main__":
    main()
