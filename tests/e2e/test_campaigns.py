"""Campaigns: PUT create/replace, GET, rules, use from notifications."""

import unittest

from harness import DaemonTestCase, enc, main


class TestCampaigns(DaemonTestCase):
    def test_create_replace_get(self):
        c = self.uid("camp")
        r = self.req("PUT", "/v1/campaigns/" + c, {"name": "Spring"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(set(r.body), {"id", "name", "created_at", "updated_at"})
        self.assertEqual(r.body["id"], c)
        self.assertEqual(r.body["name"], "Spring")
        self.assertRecent(r.body["created_at"])
        first = r.body
        self.assertEqual(self.req("GET", "/v1/campaigns/" + c).body, first)
        r = self.req("PUT", "/v1/campaigns/" + c, {"name": "Summer"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body["name"], "Summer")
        self.assertEqual(r.body["created_at"], first["created_at"])
        self.assertGreaterEqual(self.assertTime(r.body["updated_at"]),
                                self.assertTime(first["updated_at"]))
        g = self.req("GET", "/v1/campaigns/" + c)
        self.assertEqual(g.status, 200)
        self.assertEqual(g.body, r.body)

    def test_unknown_404(self):
        self.assertProblem(self.req("GET", "/v1/campaigns/" + self.uid("nope")), 404, "not-found")

    def test_special_ids(self):
        for c in ("a/b" + self.uid(""), "%?#" + self.uid("")):
            self.ok("PUT", "/v1/campaigns/" + enc(c), {"name": "x"}, status=201)
            self.assertEqual(self.ok("GET", "/v1/campaigns/" + enc(c)).body["id"], c)
        long_id = "c" * 128
        self.assertIn(self.req("PUT", "/v1/campaigns/" + long_id, {"name": "x"}).status, (200, 201))
        self.assertProblem(self.req("PUT", "/v1/campaigns/" + "c" * 129, {"name": "x"}),
                           400, "invalid-parameter")
        self.assertProblem(self.req("PUT", "/v1/campaigns/a%20b", {"name": "x"}),
                           400, "invalid-parameter")
        self.assertProblem(self.req("GET", "/v1/campaigns/a%20b"), 400, "invalid-parameter")

    def test_name_rules(self):
        c = self.uid("rules")
        self.assertProblem(self.req("PUT", "/v1/campaigns/" + c, {}), 400, "missing-field", field="name")
        for bad in ("", "n" * 201, 7, ["n"]):
            self.assertProblem(self.req("PUT", "/v1/campaigns/" + c, {"name": bad}),
                               400, "invalid-field", field="name")
        r = self.req("PUT", "/v1/campaigns/" + c, {"name": None})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.body.get("field"), "name")
        self.assertProblem(self.req("PUT", "/v1/campaigns/" + c, {"name": "x", "budget": 1}),
                           400, "unknown-field", field="budget")
        self.assertProblem(self.req("GET", "/v1/campaigns/" + c), 404, "not-found")
        self.ok("PUT", "/v1/campaigns/" + c, {"name": "n" * 200}, status=201)
        # a bad replace leaves the campaign as it was
        before = self.ok("GET", "/v1/campaigns/" + c).body
        self.assertEqual(self.req("PUT", "/v1/campaigns/" + c, {"name": ""}).status, 400)
        self.assertEqual(self.ok("GET", "/v1/campaigns/" + c).body, before)

    def test_no_delete_route(self):
        c = self.uid("keep")
        self.ok("PUT", "/v1/campaigns/" + c, {"name": "k"})
        r = self.req("DELETE", "/v1/campaigns/" + c)
        self.assertProblem(r, 405, "method-not-allowed")
        self.assertEqual(self.req("GET", "/v1/campaigns/" + c).status, 200)

    def test_used_by_notifications(self):
        c = self.uid("used")
        t = self.uid("t")
        self.ok("PUT", "/v1/campaigns/" + c, {"name": "U"})
        n = self.ok("POST", "/v1/notifications",
                    {"libelle": "l", "campaign_id": c, "targets": [t]}, status=201).body
        got = self.ok("GET", "/v1/notifications/%d" % n["notification_key"]).body
        self.assertEqual(got["campaign_id"], c)
        feed = self.ok("GET", "/v1/targets/%s/notifications" % t).body["notifications"]
        self.assertEqual(feed[0]["campaign_id"], c)
        # renaming the campaign keeps the reference
        self.ok("PUT", "/v1/campaigns/" + c, {"name": "renamed"}, status=200)
        got = self.ok("GET", "/v1/notifications/%d" % n["notification_key"]).body
        self.assertEqual(got["campaign_id"], c)


if __name__ == "__main__":
    main()
