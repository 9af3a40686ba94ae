"""Segments: create, list, get, delete, members PUT/DELETE."""

import unittest

import harness
from harness import DaemonTestCase, enc, main


class TestSegments(DaemonTestCase):
    def setUp(self):
        _, self.k = self.new_tenant()  # fresh tenant: ids start at 1

    def r(self, method, path, body=None, **kw):
        return self.req(method, path, body, key=self.k, **kw)

    def test_create_ids_from_one(self):
        r = self.r("POST", "/v1/segments", {"name": "vip"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.body["id"], 1)
        self.assertEqual(r.body["name"], "vip")
        r = self.r("POST", "/v1/segments", {"name": "vip"})  # names need not be unique
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.body["id"], 2)

    def test_every_id_used(self):
        # ids are int32: the last one is given out, then a 400 that says
        # why, and nothing is made
        name, k = self.new_tenant()
        last = 2 ** 31 - 1
        harness.set_tenant_counter(self.daemon, name, "next_segment_id", last)
        r = self.req("POST", "/v1/segments", {"name": "last"}, key=k)
        self.assertEqual((r.status, r.body.get("id")), (201, last), r.body)
        r = self.req("POST", "/v1/segments", {"name": "past"}, key=k)
        self.assertProblem(r, 400, "invalid-field", detail_names_field=False)
        self.assertIn("used every segment id", r.body["detail"])
        r = self.req("GET", "/v1/segments", key=k)
        self.assertEqual([s["name"] for s in r.body["segments"]], ["last"])

    def test_list_ascending_with_counts(self):
        self.assertEqual(self.r("GET", "/v1/segments").body, {"segments": []})
        ids = [self.r("POST", "/v1/segments", {"name": n}).body["id"] for n in ("a", "b", "c")]
        self.assertEqual(ids, [1, 2, 3])
        for t in ("x", "y"):
            self.assertEqual(self.r("PUT", "/v1/segments/2/members/" + t).status, 204)
        r = self.r("GET", "/v1/segments")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, {"segments": [{"id": 1, "name": "a", "members": 0},
                                               {"id": 2, "name": "b", "members": 2},
                                               {"id": 3, "name": "c", "members": 0}]})

    def test_get_one(self):
        sid = self.r("POST", "/v1/segments", {"name": "one"}).body["id"]
        r = self.r("GET", "/v1/segments/%d" % sid)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, {"id": sid, "name": "one", "members": 0})
        self.assertProblem(self.r("GET", "/v1/segments/99"), 404, "not-found")

    def test_members_put_delete_idempotent(self):
        sid = self.r("POST", "/v1/segments", {"name": "m"}).body["id"]
        self.assertEqual(self.r("PUT", "/v1/targets/known", {"name": "K"}).status, 201)
        path = "/v1/segments/%d/members/" % sid
        for _ in range(2):
            r = self.r("PUT", path + "known")
            self.assertEqual(r.status, 204, r.body)
            self.assertEqual(r.body, b"")
        self.assertEqual(self.r("GET", "/v1/segments/%d" % sid).body["members"], 1)
        # membership does not touch the target
        self.assertEqual(self.r("GET", "/v1/targets/known").body["name"], "K")
        for _ in range(2):
            self.assertEqual(self.r("DELETE", path + "known").status, 204)
        self.assertEqual(self.r("GET", "/v1/segments/%d" % sid).body["members"], 0)
        self.assertEqual(self.r("GET", "/v1/targets/known").status, 200)

    def test_member_put_creates_unknown_target(self):
        sid = self.r("POST", "/v1/segments", {"name": "m"}).body["id"]
        tid = "new/one"
        self.assertEqual(self.r("GET", "/v1/targets/" + enc(tid)).status, 404)
        self.assertEqual(self.r("PUT", "/v1/segments/%d/members/%s" % (sid, enc(tid))).status, 204)
        t = self.r("GET", "/v1/targets/" + enc(tid))
        self.assertEqual(t.status, 200)
        self.assertEqual(t.body["id"], tid)
        self.assertIsNone(t.body["name"])
        self.assertEqual(t.body["attributes"], {})

    def test_member_delete_of_non_member(self):
        sid = self.r("POST", "/v1/segments", {"name": "m"}).body["id"]
        self.r("PUT", "/v1/targets/outsider", {})
        self.assertEqual(self.r("DELETE", "/v1/segments/%d/members/outsider" % sid).status, 204)
        self.assertEqual(self.r("GET", "/v1/segments/%d" % sid).body["members"], 0)

    def test_unknown_segment_members_404_creates_nothing(self):
        r = self.r("PUT", "/v1/segments/42/members/phantom")
        self.assertProblem(r, 404, "not-found")
        self.assertEqual(self.r("GET", "/v1/targets/phantom").status, 404)
        self.assertProblem(self.r("DELETE", "/v1/segments/42/members/phantom"), 404, "not-found")

    def test_delete_segment(self):
        a = self.r("POST", "/v1/segments", {"name": "a"}).body["id"]
        b = self.r("POST", "/v1/segments", {"name": "b"}).body["id"]
        self.r("PUT", "/v1/segments/%d/members/t1" % a)
        self.r("PUT", "/v1/segments/%d/members/t1" % b)
        r = self.r("DELETE", "/v1/segments/%d" % a)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        self.assertProblem(self.r("GET", "/v1/segments/%d" % a), 404, "not-found")
        self.assertProblem(self.r("DELETE", "/v1/segments/%d" % a), 404, "not-found")
        self.assertProblem(self.r("PUT", "/v1/segments/%d/members/t2" % a), 404, "not-found")
        self.assertEqual(self.r("GET", "/v1/segments").body["segments"],
                         [{"id": b, "name": "b", "members": 1}])
        # the target itself remains
        self.assertEqual(self.r("GET", "/v1/targets/t1").status, 200)
        # a deleted segment is an unknown reference
        r = self.r("POST", "/v1/notifications", {"libelle": "x", "segments": [a]})
        self.assertProblem(r, 400, "unknown-reference", field="segments")

    def test_segment_id_must_be_int32(self):
        for bad in ("abc", "1.5", "2147483648", "99999999999999999999", "0x10", "1e3", "%201"):
            for method, path in (("GET", "/v1/segments/%s"), ("DELETE", "/v1/segments/%s"),
                                 ("PUT", "/v1/segments/%s/members/t"),
                                 ("DELETE", "/v1/segments/%s/members/t")):
                r = self.r(method, path % bad)
                with self.subTest(method=method, id=bad):
                    self.assertProblem(r, 400, "invalid-parameter")
        self.assertEqual(self.r("GET", "/v1/targets/t").status, 404)
        # so must the member's id be an id
        seg = self.r("POST", "/v1/segments", {"name": "s"}).body["id"]
        for method in ("PUT", "DELETE"):
            with self.subTest(method=method, target="a%01b"):
                r = self.r(method, "/v1/segments/%d/members/a%%01b" % seg)
                self.assertProblem(r, 400, "invalid-parameter")
        # valid int32 values that name no segment are 404
        for good in ("2147483647", "1000", "0", "-1", "-2147483648"):
            self.assertProblem(self.r("GET", "/v1/segments/" + good), 404, "not-found")

    def test_name_rules(self):
        self.assertProblem(self.r("POST", "/v1/segments", {}), 400, "missing-field", field="name")
        for bad in ("", "n" * 201, 5, ["x"], {"a": 1}):
            self.assertProblem(self.r("POST", "/v1/segments", {"name": bad}),
                               400, "invalid-field", field="name")
        r = self.r("POST", "/v1/segments", {"name": None})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.body.get("field"), "name")
        self.assertProblem(self.r("POST", "/v1/segments", {"name": "a", "colour": "red"}),
                           400, "unknown-field", field="colour")
        self.assertEqual(self.r("GET", "/v1/segments").body, {"segments": []})
        r = self.r("POST", "/v1/segments", {"name": "\u00e9" * 200})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.body["name"], "\u00e9" * 200)
        # failed creations consumed no id
        self.assertEqual(r.body["id"], 1)

    def test_membership_feeds_notifications(self):
        sid = self.r("POST", "/v1/segments", {"name": "m"}).body["id"]
        for t in ("a", "b", "c"):
            self.r("PUT", "/v1/segments/%d/members/%s" % (sid, t))
        self.r("DELETE", "/v1/segments/%d/members/b" % sid)
        n = self.r("POST", "/v1/notifications", {"libelle": "x", "segments": [sid]}).body
        self.assertEqual(n["deliveries"], 2)
        for t, count in (("a", 1), ("b", 0), ("c", 1)):
            feed = self.r("GET", "/v1/targets/%s/notifications" % t).body["notifications"]
            self.assertEqual(len(feed), count, t)
        # later members do not receive earlier notifications
        self.r("PUT", "/v1/segments/%d/members/d" % sid)
        self.assertEqual(self.r("GET", "/v1/targets/d/notifications").body["notifications"], [])


if __name__ == "__main__":
    main()
