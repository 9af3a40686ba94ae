"""Delivery events: six types, first timestamp wins, errors, read back via feed."""

import unittest

from harness import DaemonTestCase, enc, main

TYPES = {"impression": "impression", "activation": "activation", "redirection": "redirection",
         "dismiss": "dismiss", "read": "read", "complete": "completed"}
FEED_EVENT_FIELDS = set(TYPES.values())


class TestEvents(DaemonTestCase):
    def setUp(self):
        _, self.k = self.new_tenant()
        self.t = "ev/target"
        self.other = "ev-other"
        self.n1 = self.notify([self.t, self.other], "2022-01-01T00:00:00Z")
        self.n2 = self.notify([self.t], "2022-01-02T00:00:00Z")

    def r(self, method, path, body=None, **kw):
        return self.req(method, path, body, key=self.k, **kw)

    def notify(self, targets, started):
        r = self.r("POST", "/v1/notifications",
                   {"libelle": "e", "targets": targets, "date_started": started})
        self.assertEqual(r.status, 201, r.body)
        return r.body["notification_key"]

    def event(self, body, target=None):
        return self.r("POST", "/v1/targets/%s/events" % enc(target or self.t), body)

    def delivery(self, nkey, target=None):
        feed = self.r("GET", "/v1/targets/%s/notifications" % enc(target or self.t)).body
        for item in feed["notifications"]:
            if item["notification_key"] == nkey:
                return item
        self.fail("notification %d not in feed of %s" % (nkey, target or self.t))

    def events_of(self, nkey, target=None):
        d = self.delivery(nkey, target)
        return {f: d[f] for f in FEED_EVENT_FIELDS}

    def test_all_six_types(self):
        stamps = {}
        for i, (typ, field) in enumerate(sorted(TYPES.items())):
            at = "2022-02-0%dT10:00:00Z" % (i + 1)
            r = self.event({"notification_key": self.n1, "type": typ, "at": at})
            self.assertEqual(r.status, 204, "%s: %r" % (typ, r.body))
            self.assertEqual(r.body, b"")
            stamps[field] = at
        self.assertEqual(self.events_of(self.n1), stamps)
        # other deliveries are untouched
        self.assertEqual(self.events_of(self.n2), dict.fromkeys(FEED_EVENT_FIELDS))
        self.assertEqual(self.events_of(self.n1, self.other), dict.fromkeys(FEED_EVENT_FIELDS))

    def test_each_type_sets_only_its_field(self):
        for typ, field in TYPES.items():
            n = self.notify([self.t], "2021-01-01T00:00:00Z")
            self.assertEqual(self.event({"notification_key": n, "type": typ,
                                         "at": "2021-03-04T05:06:07.089Z"}).status, 204)
            got = self.events_of(n)
            want = dict.fromkeys(FEED_EVENT_FIELDS)
            want[field] = "2021-03-04T05:06:07.089Z"
            self.assertEqual(got, want, typ)

    def test_first_timestamp_wins(self):
        first = "2022-03-01T12:00:00Z"
        self.assertEqual(self.event({"notification_key": self.n1, "type": "read", "at": first}).status, 204)
        for later in ("2022-03-02T12:00:00Z", "2021-01-01T00:00:00Z", None):
            body = {"notification_key": self.n1, "type": "read"}
            if later:
                body["at"] = later
            r = self.event(body)
            self.assertEqual(r.status, 204, r.body)
        self.assertEqual(self.delivery(self.n1)["read"], first)

    def test_at_defaults_to_now(self):
        self.assertEqual(self.event({"notification_key": self.n1, "type": "impression"}).status, 204)
        self.assertRecent(self.delivery(self.n1)["impression"])
        self.assertEqual(self.event({"notification_key": self.n2, "type": "dismiss",
                                     "at": None}).status, 204)
        self.assertRecent(self.delivery(self.n2)["dismiss"])

    def test_at_formats(self):
        cases = [("2022-04-01T10:00:00.5+02:00", "2022-04-01T08:00:00.500Z"),
                 ("2022-04-02", "2022-04-02T00:00:00Z"),
                 ("2022-04-03T01:02:03.000Z", "2022-04-03T01:02:03Z")]
        for (at, want), typ in zip(cases, ("activation", "redirection", "complete")):
            self.assertEqual(self.event({"notification_key": self.n1, "type": typ, "at": at}).status, 204)
            self.assertEqual(self.delivery(self.n1)[TYPES[typ]], want)

    def test_unknown_type(self):
        before = self.events_of(self.n1)
        for bad in ("completed", "click", "READ", "", 3, None):
            r = self.event({"notification_key": self.n1, "type": bad})
            with self.subTest(type=bad):
                self.assertEqual(r.status, 400, r.body)
                self.assertProblem(r, 400, field="type")
        self.assertEqual(self.events_of(self.n1), before)

    def test_missing_fields(self):
        self.assertProblem(self.event({"type": "read"}), 400, "missing-field", field="notification_key")
        self.assertProblem(self.event({"notification_key": self.n1}), 400, "missing-field", field="type")
        self.assertEqual(self.events_of(self.n1), dict.fromkeys(FEED_EVENT_FIELDS))

    def test_invalid_fields(self):
        for body, field in (({"notification_key": str(self.n1), "type": "read"}, "notification_key"),
                            ({"notification_key": 1.5, "type": "read"}, "notification_key"),
                            ({"notification_key": 2147483648, "type": "read"}, "notification_key"),
                            ({"notification_key": self.n1, "type": "read", "at": "soon"}, "at"),
                            ({"notification_key": self.n1, "type": "read", "at": 12}, "at"),
                            ({"notification_key": self.n1, "type": "read", "where": "x"}, "where")):
            r = self.event(body)
            ptype = "unknown-field" if field == "where" else "invalid-field"
            with self.subTest(body=body):
                self.assertProblem(r, 400, ptype, field=field)
        self.assertEqual(self.events_of(self.n1), dict.fromkeys(FEED_EVENT_FIELDS))

    def test_unknown_notification_404(self):
        r = self.event({"notification_key": 999, "type": "read"})
        self.assertProblem(r, 404, "not-found")
        # exists, but was not delivered to this target
        r = self.event({"notification_key": self.n2, "type": "read"}, target=self.other)
        self.assertProblem(r, 404, "not-found")
        # target does not exist at all
        r = self.event({"notification_key": self.n1, "type": "read"}, target="ghost")
        self.assertProblem(r, 404, "not-found")
        self.assertEqual(self.r("GET", "/v1/targets/ghost").status, 404)
        self.assertEqual(self.events_of(self.n2), dict.fromkeys(FEED_EVENT_FIELDS))

    def test_events_survive_in_feed_order(self):
        self.event({"notification_key": self.n2, "type": "read", "at": "2022-05-05T05:05:05Z"})
        feed = self.r("GET", "/v1/targets/%s/notifications" % enc(self.t)).body["notifications"]
        self.assertEqual([x["notification_key"] for x in feed], [self.n2, self.n1])
        self.assertEqual(feed[0]["read"], "2022-05-05T05:05:05Z")
        self.assertIsNone(feed[1]["read"])

    def test_bad_target_id(self):
        r = self.r("POST", "/v1/targets/a%20b/events", {"notification_key": self.n1, "type": "read"})
        self.assertProblem(r, 400, "invalid-parameter")


if __name__ == "__main__":
    main()
