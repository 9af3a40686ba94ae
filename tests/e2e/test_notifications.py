"""Notifications: creation, fan-out, dedupe, references, times, GET, feed paging."""

import unittest

import harness
from harness import DaemonTestCase, GUID_RE, enc, main

NOTIF_FIELDS = {"libelle", "body", "url", "type", "action_type", "campaign_id", "profile",
                "screen_name", "batch", "date_started", "date_due", "notification_key", "id",
                "created_at", "deliveries"}
FEED_FIELDS = {"notification_key", "id", "notification_id", "libelle", "body", "url", "type",
               "action_type", "campaign_id", "routed_at", "impression", "activation",
               "redirection", "dismiss", "read", "completed"}


class NotifCase(DaemonTestCase):
    def setUp(self):
        _, self.k = self.new_tenant()

    def r(self, method, path, body=None, **kw):
        return self.req(method, path, body, key=self.k, **kw)

    def post(self, body, status=201):
        r = self.r("POST", "/v1/notifications", body)
        self.assertEqual(r.status, status, r.body)
        return r.body

    def feed(self, target, query=""):
        r = self.r("GET", "/v1/targets/%s/notifications%s" % (enc(target), query))
        self.assertEqual(r.status, 200, r.body)
        return r.body

    def feed_keys(self, target):
        return [n["notification_key"] for n in self.feed(target, "?limit=1000")["notifications"]]


class TestCreate(NotifCase):
    def test_minimal(self):
        n = self.post({"libelle": "hello"})
        self.assertEqual(set(n), {"notification_key", "id", "deliveries"})
        self.assertEqual(n["notification_key"], 1)
        self.assertRegex(n["id"], GUID_RE)
        self.assertEqual(n["deliveries"], 0)
        n2 = self.post({"libelle": "again"})
        self.assertEqual(n2["notification_key"], 2)
        self.assertNotEqual(n2["id"], n["id"])

    def test_get_all_fields(self):
        self.r("PUT", "/v1/campaigns/cmp", {"name": "c"})
        body = {"libelle": "L\u00e9", "body": "B", "url": "https://x.example/p?q=1", "type": "promo",
                "action_type": -7, "campaign_id": "cmp", "profile": "pro",
                "screen_name": ["home", "cart"], "batch": "b-1",
                "date_started": "2023-04-05T06:07:08Z", "date_due": "2023-05-01T00:00:00.5+01:00",
                "targets": ["a"], "segments": []}
        n = self.post(body)
        r = self.r("GET", "/v1/notifications/%d" % n["notification_key"])
        self.assertEqual(r.status, 200)
        g = r.body
        self.assertTrue(NOTIF_FIELDS <= set(g), set(g) ^ NOTIF_FIELDS)
        self.assertNotIn("targets", g)
        self.assertNotIn("segments", g)
        for f in ("libelle", "body", "url", "type", "action_type", "campaign_id", "profile",
                  "screen_name", "batch"):
            self.assertEqual(g[f], body[f], f)
        self.assertEqual(g["date_started"], "2023-04-05T06:07:08Z")
        self.assertEqual(g["date_due"], "2023-04-30T23:00:00.500Z")
        self.assertEqual(g["notification_key"], n["notification_key"])
        self.assertEqual(g["id"], n["id"])
        self.assertEqual(g["deliveries"], 1)
        self.assertRecent(g["created_at"])

    def test_every_key_used(self):
        # keys are int32: the last one is given out, then a 400 that says
        # why, and nothing is made
        name, k = self.new_tenant()
        last = 2 ** 31 - 1
        harness.set_tenant_counter(self.daemon, name, "next_notification_key", last)
        r = self.req("POST", "/v1/notifications", {"libelle": "last", "targets": ["a"]}, key=k)
        self.assertEqual((r.status, r.body.get("notification_key")), (201, last), r.body)
        r = self.req("POST", "/v1/notifications", {"libelle": "past", "targets": ["a"]}, key=k)
        self.assertProblem(r, 400, "invalid-field", detail_names_field=False)
        self.assertIn("used every notification key", r.body["detail"])
        r = self.req("GET", "/v1/targets/a/notifications", key=k)
        self.assertEqual([n["libelle"] for n in r.body["notifications"]], ["last"])

    def test_defaults_and_nulls(self):
        n = self.post({"libelle": "x", "body": None, "url": None, "type": None, "action_type": None,
                       "campaign_id": None, "profile": None, "screen_name": None, "batch": None,
                       "date_started": None, "date_due": None, "targets": None, "segments": None})
        g = self.r("GET", "/v1/notifications/%d" % n["notification_key"]).body
        for f in ("body", "url", "type", "campaign_id", "profile", "batch", "date_due"):
            self.assertIsNone(g[f], f)
        self.assertEqual(g["screen_name"], [])
        self.assertEqual(g["action_type"], 0)
        self.assertRecent(g["date_started"])
        g2 = self.r("GET", "/v1/notifications/%d" % self.post({"libelle": "y"})["notification_key"]).body
        self.assertEqual(g2["action_type"], 0)
        self.assertIsNone(g2["body"])

    def test_limits_accepted(self):
        body = {"libelle": "l" * 255, "body": "b" * 4096, "url": "u" * 2048, "type": "t" * 64,
                "action_type": 2147483647, "profile": "p" * 2048,
                "screen_name": ["s" * 128] * 50, "batch": "\u00e9" * 200}
        n = self.post(body)
        g = self.r("GET", "/v1/notifications/%d" % n["notification_key"]).body
        for f, v in body.items():
            self.assertEqual(g[f], v, f)
        n = self.post({"libelle": "x", "action_type": -2147483648})
        self.assertEqual(self.r("GET", "/v1/notifications/%d" % n["notification_key"]).body["action_type"],
                         -2147483648)

    def test_get_unknown_and_bad_key(self):
        for missing in ("1", "0", "-1", "2147483647", "-2147483648"):
            self.assertProblem(self.r("GET", "/v1/notifications/" + missing), 404, "not-found")
        for bad in ("abc", "1.0", "2147483648", "-2147483649", "0x1", "1e2", "%201"):
            self.assertProblem(self.r("GET", "/v1/notifications/" + bad), 400, "invalid-parameter")


class TestFanOut(NotifCase):
    def test_targets_and_segments_union(self):
        s1 = self.r("POST", "/v1/segments", {"name": "s1"}).body["id"]
        s2 = self.r("POST", "/v1/segments", {"name": "s2"}).body["id"]
        for s, t in ((s1, "b"), (s1, "c"), (s2, "c"), (s2, "d")):
            self.assertEqual(self.r("PUT", "/v1/segments/%d/members/%s" % (s, t)).status, 204)
        n = self.post({"libelle": "fan", "targets": ["a", "b"], "segments": [s1, s2, s1]})
        self.assertEqual(n["deliveries"], 4)
        delivery_ids = set()
        for t in ("a", "b", "c", "d"):
            items = self.feed(t)["notifications"]
            self.assertEqual(len(items), 1, t)
            d = items[0]
            self.assertTrue(FEED_FIELDS <= set(d), set(d) ^ FEED_FIELDS)
            self.assertEqual(d["notification_key"], n["notification_key"])
            self.assertEqual(d["notification_id"], n["id"])
            self.assertRegex(d["id"], GUID_RE)
            self.assertNotEqual(d["id"], n["id"])
            delivery_ids.add(d["id"])
            self.assertEqual(d["libelle"], "fan")
            for ev in ("impression", "activation", "redirection", "dismiss", "read", "completed"):
                self.assertIsNone(d[ev])
        self.assertEqual(len(delivery_ids), 4)
        self.assertEqual(self.r("GET", "/v1/notifications/%d" % n["notification_key"]).body["deliveries"], 4)

    def test_duplicate_targets_deduped(self):
        n = self.post({"libelle": "d", "targets": ["a", "a", "b", "a"]})
        self.assertEqual(n["deliveries"], 2)
        self.assertEqual(self.feed_keys("a"), [n["notification_key"]])

    def test_unknown_targets_created(self):
        self.assertEqual(self.r("GET", "/v1/targets/fresh%2F1").status, 404)
        self.r("PUT", "/v1/targets/existing", {"name": "E", "attributes": {"k": 1}})
        n = self.post({"libelle": "x", "targets": ["fresh/1", "existing"]})
        self.assertEqual(n["deliveries"], 2)
        t = self.r("GET", "/v1/targets/fresh%2F1")
        self.assertEqual(t.status, 200)
        self.assertEqual(t.body["id"], "fresh/1")
        self.assertIsNone(t.body["name"])
        e = self.r("GET", "/v1/targets/existing").body
        self.assertEqual((e["name"], e["attributes"]), ("E", {"k": 1}))

    def test_empty_recipients(self):
        n = self.post({"libelle": "x", "targets": [], "segments": []})
        self.assertEqual(n["deliveries"], 0)

    def test_many_targets(self):
        targets = ["bulk-%05d" % i for i in range(10000)]
        n = self.post({"libelle": "bulk", "targets": targets})
        self.assertEqual(n["deliveries"], 10000)
        self.assertEqual(self.feed_keys("bulk-09999"), [n["notification_key"]])
        r = self.r("POST", "/v1/notifications", {"libelle": "too many",
                                                 "targets": targets + ["bulk-x"]})
        self.assertProblem(r, 400, "invalid-field", field="targets")
        self.assertEqual(self.r("GET", "/v1/targets/bulk-x").status, 404)
        self.assertEqual(self.post({"libelle": "next"})["notification_key"], n["notification_key"] + 1)

    def test_invalid_target_id_in_list(self):
        for bad in ("", "has space", "x" * 129, "caf\u00e9"):
            r = self.r("POST", "/v1/notifications", {"libelle": "x", "targets": ["okay-t", bad]})
            self.assertEqual(r.status, 400, r.body)
            self.assertTrue(str(r.body.get("field", "")).startswith("targets"), r.body)
        self.assertEqual(self.r("GET", "/v1/targets/okay-t").status, 404)


class TestReferences(NotifCase):
    def setUp(self):
        super().setUp()
        self.seg = self.r("POST", "/v1/segments", {"name": "s"}).body["id"]
        self.r("PUT", "/v1/segments/%d/members/member1" % self.seg)
        self.r("PUT", "/v1/campaigns/real", {"name": "r"})
        self.first = self.post({"libelle": "first", "targets": ["member1"]})

    def assertNothingCreated(self):
        self.assertEqual(self.r("GET", "/v1/targets/should-not-exist").status, 404)
        self.assertEqual(self.feed_keys("member1"), [self.first["notification_key"]])
        self.assertProblem(self.r("GET", "/v1/notifications/%d" % (self.first["notification_key"] + 1)),
                           404, "not-found")
        n = self.post({"libelle": "next"})
        self.assertEqual(n["notification_key"], self.first["notification_key"] + 1)

    def test_unknown_segment(self):
        r = self.r("POST", "/v1/notifications",
                   {"libelle": "x", "targets": ["should-not-exist", "member1"],
                    "segments": [self.seg, 777]})
        self.assertProblem(r, 400, "unknown-reference", field="segments")
        self.assertNothingCreated()

    def test_unknown_campaign(self):
        r = self.r("POST", "/v1/notifications",
                   {"libelle": "x", "targets": ["should-not-exist", "member1"],
                    "segments": [self.seg], "campaign_id": "imaginary"})
        self.assertProblem(r, 400, "unknown-reference", field="campaign_id")
        self.assertNothingCreated()


class TestTimes(NotifCase):
    def routed(self, date_started):
        t = "tm-" + self.uid("")
        n = self.post({"libelle": "t", "targets": [t], "date_started": date_started})
        item = self.feed(t)["notifications"][0]
        g = self.r("GET", "/v1/notifications/%d" % n["notification_key"]).body
        self.assertEqual(g["date_started"], item["routed_at"])
        return item["routed_at"]

    def test_date_started_becomes_routed_at(self):
        cases = {
            "2020-01-02T03:04:05Z": "2020-01-02T03:04:05Z",
            "2020-01-02T03:04:05.250+02:00": "2020-01-02T01:04:05.250Z",
            "2020-01-02T03:04:05.000Z": "2020-01-02T03:04:05Z",
            "2020-01-02T03:04:05.1234Z": "2020-01-02T03:04:05.123Z",
            "2020-01-02T03:04:05.1Z": "2020-01-02T03:04:05.100Z",
            "2020-01-01T23:30:00-01:30": "2020-01-02T01:00:00Z",
            "2021-05-06": "2021-05-06T00:00:00Z",
            "2024-02-29T12:00:00+00:00": "2024-02-29T12:00:00Z",
        }
        for given, want in cases.items():
            with self.subTest(date_started=given):
                self.assertEqual(self.routed(given), want)

    def test_default_routing_time_is_now(self):
        self.assertRecent(self.routed(None))
        t = "tm-now"
        self.post({"libelle": "t", "targets": [t]})
        self.assertRecent(self.feed(t)["notifications"][0]["routed_at"])

    def test_bad_times(self):
        for field in ("date_started", "date_due"):
            for bad in ("yesterday", "2020-13-01", "2021-02-29", "2020-01-02T25:00:00Z",
                        "2020-01-02T03:04:05", 1577836800, "", "2020-01-02T03:04:05Zjunk",
                        "2020-01-02T03:04:05+2:00"):
                r = self.r("POST", "/v1/notifications",
                           {"libelle": "x", "targets": ["badtime"], field: bad})
                with self.subTest(field=field, value=bad):
                    self.assertProblem(r, 400, "invalid-field", field=field)
        self.assertEqual(self.r("GET", "/v1/targets/badtime").status, 404)
        self.assertEqual(self.post({"libelle": "x"})["notification_key"], 1)


class TestFeed(NotifCase):
    def test_notification_fields_on_every_read(self):
        # each worker writes a notification's fields once and copies them
        # afterwards (src/util/memo.h): read again and again, by two
        # targets, each item still carries its own notification's fields,
        # the same as GET /v1/notifications/{key} gives them; a body too
        # long to keep and fields that need escaping included
        self.r("PUT", "/v1/campaigns/memo", {"name": "c"})
        made = []
        for i in range(6):
            body = {"libelle": "memo %d \"<&>\"\n" % i, "body": "b\u00e9\u0001 %d" % i,
                    "url": "/u?%d" % i if i % 2 else None, "type": "t%d" % (i % 3),
                    "action_type": i - 3, "campaign_id": "memo" if i % 2 else None,
                    "profile": "p%d" % i, "screen_name": ["s%d" % j for j in range(i)],
                    "batch": None if i % 3 else "b%d" % i,
                    "date_started": "2022-02-0%dT00:00:00Z" % (i + 1),
                    "date_due": "2022-03-01T00:00:00Z" if i % 2 else None,
                    "targets": ["ma", "mb"]}
            if i == 4:
                body["body"] = "long \u00e9 " * 500
            made.append(self.post(body)["notification_key"])
        want = {}
        for k in made:
            g = self.r("GET", "/v1/notifications/%d" % k).body
            want[k] = {f: g[f] for f in NOTIF_FIELDS - {"created_at", "deliveries"}}
            want[k]["notification_id"] = want[k].pop("id")
        for _ in range(4):
            for t in ("ma", "mb"):
                items = self.feed(t)["notifications"]
                self.assertEqual([n["notification_key"] for n in items], made[::-1])
                for n in items:
                    got = {f: n[f] for f in want[n["notification_key"]]}
                    self.assertEqual(got, want[n["notification_key"]])

    def test_unknown_target_empty(self):
        r = self.r("GET", "/v1/targets/nobody/notifications")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, {"notifications": [], "next_cursor": None})

    def test_order_and_paging(self):
        t = "pager"
        made = []  # (routed_at, key)
        times = ["2022-01-01T00:00:05Z", "2022-01-01T00:00:01Z", "2022-01-01T00:00:09Z",
                 "2022-01-01T00:00:05Z", "2022-01-01T00:00:07Z", "2022-01-01T00:00:05Z",
                 "2022-01-01T00:00:02Z"]
        for i, ts in enumerate(times):
            n = self.post({"libelle": "n%d" % i, "targets": [t], "date_started": ts})
            made.append((ts, n["notification_key"]))
        # another target's notification must not show up
        self.post({"libelle": "other", "targets": ["someone-else"]})
        expected = [k for _, k in sorted(made, key=lambda x: (x[0], x[1]), reverse=True)]
        full = self.feed(t)
        self.assertEqual([n["notification_key"] for n in full["notifications"]], expected)
        self.assertIsNone(full["next_cursor"])
        for limit in (1, 2, 3, 7):
            got, cursor, pages = [], None, 0
            while True:
                q = "?limit=%d" % limit + ("&cursor=" + enc(cursor) if cursor else "")
                page = self.feed(t, q)
                pages += 1
                self.assertLessEqual(len(page["notifications"]), limit)
                got += [n["notification_key"] for n in page["notifications"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                self.assertIsInstance(cursor, str)
                self.assertLess(pages, 20, "paging does not terminate")
            with self.subTest(limit=limit):
                self.assertEqual(got, expected)
                self.assertEqual(pages, -(-len(expected) // limit))

    def test_routed_at_and_contents(self):
        self.r("PUT", "/v1/campaigns/cc", {"name": "c"})
        n = self.post({"libelle": "L", "body": "B", "url": "U", "type": "T", "action_type": 3,
                       "campaign_id": "cc", "targets": ["fc"], "date_started": "2019-08-24T14:15:22.250Z"})
        item = self.feed("fc")["notifications"][0]
        self.assertEqual({k: item[k] for k in ("libelle", "body", "url", "type", "action_type",
                                               "campaign_id", "routed_at", "notification_key",
                                               "notification_id")},
                         {"libelle": "L", "body": "B", "url": "U", "type": "T", "action_type": 3,
                          "campaign_id": "cc", "routed_at": "2019-08-24T14:15:22.250Z",
                          "notification_key": n["notification_key"], "notification_id": n["id"]})

    def test_default_limit_50(self):
        t = "fifty"
        for i in range(55):
            self.post({"libelle": "n", "targets": [t],
                       "date_started": "2022-01-01T00:%02d:00Z" % i})
        page = self.feed(t)
        self.assertEqual(len(page["notifications"]), 50)
        self.assertIsNotNone(page["next_cursor"])
        self.assertEqual(page["notifications"][0]["notification_key"], 55)
        rest = self.feed(t, "?cursor=" + enc(page["next_cursor"]))
        self.assertEqual([n["notification_key"] for n in rest["notifications"]], [5, 4, 3, 2, 1])
        self.assertIsNone(rest["next_cursor"])
        self.assertEqual(len(self.feed(t, "?limit=1000")["notifications"]), 55)

    def test_cursor_is_stable_under_inserts(self):
        t = "stable"
        for i in range(4):
            self.post({"libelle": "n", "targets": [t], "date_started": "2022-01-01T00:00:0%dZ" % i})
        page1 = self.feed(t, "?limit=2")
        self.assertEqual([n["notification_key"] for n in page1["notifications"]], [4, 3])
        # a newer notification arrives between pages
        self.post({"libelle": "newer", "targets": [t], "date_started": "2022-06-01T00:00:00Z"})
        page2 = self.feed(t, "?limit=2&cursor=" + enc(page1["next_cursor"]))
        self.assertEqual([n["notification_key"] for n in page2["notifications"]], [2, 1])

    def test_bad_parameters(self):
        self.post({"libelle": "x", "targets": ["bp"]})
        for q, field in (("?limit=0", "limit"), ("?limit=1001", "limit"), ("?limit=abc", "limit"),
                         ("?limit=-1", "limit"), ("?limit=1.5", "limit"),
                         ("?cursor=%21%21not-a-cursor", "cursor"),
                         # out of range, signs, spaces, missing parts: never a silent wrap
                         ("?cursor=1.4294967297", "cursor"),
                         ("?cursor=99999999999999999999999.1", "cursor"),
                         ("?cursor=" + "9" * 30 + ".1", "cursor"),
                         ("?cursor=%2B5.%2B3", "cursor"), ("?cursor=%201.2", "cursor"),
                         ("?cursor=1.x", "cursor"), ("?cursor=.5", "cursor"),
                         ("?cursor=5.", "cursor"), ("?cursor=5", "cursor")):
            r = self.r("GET", "/v1/targets/bp/notifications" + q)
            with self.subTest(query=q):
                self.assertProblem(r, 400, "invalid-parameter", field=field)
        self.assertEqual(len(self.feed("bp", "?limit=1000")["notifications"]), 1)
        self.assertEqual(len(self.feed("bp", "?limit=1")["notifications"]), 1)


if __name__ == "__main__":
    main()
