"""Request validation: malformed JSON, duplicate keys, wrong types, lengths,
unknown and missing fields. Every rejection is problem+json naming the field,
and changes nothing."""

import unittest

from harness import DaemonTestCase, main

T = "v-t"                     # an existing target
C = "v-c"                     # an existing campaign
PROBE_TARGETS = (T, "v-new", "v-x")
PROBE_CAMPAIGNS = (C, "v-c-new")

# route name -> (method, path); {seg} is the fixture segment id
ROUTES = {
    "target": ("PUT", "/v1/targets/" + T),
    "new-target": ("PUT", "/v1/targets/v-new"),
    "segment": ("POST", "/v1/segments"),
    "campaign": ("PUT", "/v1/campaigns/" + C),
    "new-campaign": ("PUT", "/v1/campaigns/v-c-new"),
    "notification": ("POST", "/v1/notifications"),
    "event": ("POST", "/v1/targets/%s/events" % T),
    "key": ("POST", "/v1/keys"),
}
# a valid body per route, used as the base for single-field mutations
VALID = {
    "target": {"name": "N", "email": "e@x", "profile": "p", "attributes": {"a": 1}},
    "new-target": {"name": "N"},
    "segment": {"name": "S"},
    "campaign": {"name": "C2"},
    "new-campaign": {"name": "C3"},
    "notification": {"libelle": "L", "targets": ["v-x"]},
    "event": {"notification_key": 1, "type": "read"},
    "key": {"role": "member", "target": "v-x"},
}


def with_(route, **fields):
    b = dict(VALID[route])
    b.update(fields)
    return b


def without(route, field):
    b = dict(VALID[route])
    del b[field]
    return b


class TestValidation(DaemonTestCase):
    def setUp(self):
        _, self.k = self.new_tenant()
        self.ok("PUT", "/v1/targets/" + T, {"name": "orig", "email": "o@x", "attributes": {"o": 1}},
                key=self.k)
        self.seg = self.ok("POST", "/v1/segments", {"name": "seg"}, key=self.k).body["id"]
        self.ok("PUT", "/v1/segments/%d/members/%s" % (self.seg, T), key=self.k)
        self.ok("PUT", "/v1/campaigns/" + C, {"name": "camp"}, key=self.k)
        n = self.ok("POST", "/v1/notifications", {"libelle": "fixture", "targets": [T],
                                                  "campaign_id": C}, key=self.k).body
        self.assertEqual(n["notification_key"], 1)
        self.ok("POST", "/v1/keys", {"role": "member", "target": T}, key=self.k)

    def tearDown(self):
        # no rejected request consumed a notification_key
        r = self.req("POST", "/v1/notifications", {"libelle": "after"}, key=self.k)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.body["notification_key"], 2)

    def snapshot(self):
        def get(path):
            r = self.req("GET", path, key=self.k)
            return (r.status, r.body if r.status == 200 else None)
        return {
            "targets": {t: get("/v1/targets/" + t) for t in PROBE_TARGETS},
            "campaigns": {c: get("/v1/campaigns/" + c) for c in PROBE_CAMPAIGNS},
            "segments": get("/v1/segments"),
            "keys": get("/v1/keys"),
            "feeds": {t: get("/v1/targets/%s/notifications" % t) for t in PROBE_TARGETS},
            "notification": get("/v1/notifications/1"),
            "notification2": get("/v1/notifications/2"),
        }

    def rejected(self, route, ptype, field=None, body=None, raw=None, status=400):
        """Send a bad request; assert the problem document and that nothing changed.
        Callers wrap this in subTest so one failure does not hide the others."""
        method, path = ROUTES[route]
        before = self.snapshot()
        if raw is not None:
            r = self.req(method, path, key=self.k, raw_body=raw)
        else:
            r = self.req(method, path, body, key=self.k)
        p = self.assertProblem(r, status, ptype, field=field)
        self.assertEqual(self.snapshot(), before, "a rejected request changed state")
        return p

    # -- body is not one JSON object -----------------------------------

    def test_malformed_json(self):
        bads = [b"{", b"", b"[]", b"null", b'"str"', b"42", b"true", b'{"name":"a"} x',
                b'{"name":"a"}{"name":"b"}', b"{'name':'a'}", b'{"name":NaN}', b'{"name":"a",}',
                b'{name:"a"}', b'{"name":"\\q"}', b'{"name":"a"', b'{"name":"line\nbreak"}',
                b"\xef\xbb\xbf\xff", b'[{"name":"a"}]']
        for route in ROUTES:
            for raw in bads:
                with self.subTest(route=route, raw=raw):
                    self.rejected(route, "malformed-json", raw=raw)

    def test_invalid_utf8(self):
        for route in ("new-target", "segment", "notification"):
            field = {"new-target": "name", "segment": "name", "notification": "libelle"}[route]
            raw = b'{"' + field.encode() + b'":"bad \xff\xfe utf8"}'
            method, path = ROUTES[route]
            before = self.snapshot()
            r = self.req(method, path, key=self.k, raw_body=raw)
            self.assertEqual(r.status, 400, r.body)
            self.assertIn(r.body["type"], ("urn:notifd:problem:malformed-json",
                                           "urn:notifd:problem:invalid-field"))
            self.assertEqual(self.snapshot(), before)

    def test_deep_nesting_is_rejected_not_fatal(self):
        depth = 100000
        raw = b'{"attributes":{"a":' + b"[" * depth + b"]" * depth + b"}}"
        r = self.req("PUT", "/v1/targets/v-new", key=self.k, raw_body=raw)
        self.assertEqual(r.status, 400, r.body)
        raw = b'{"name":"x","attributes":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"
        r = self.req("PUT", "/v1/targets/v-new", key=self.k, raw_body=raw)
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(self.req("GET", "/healthz", key=None).status, 200)
        self.assertEqual(self.req("GET", "/v1/targets/v-new", key=self.k).status, 404)

    # -- duplicate keys --------------------------------------------------

    def test_duplicate_keys(self):
        cases = {
            "target": b'{"name":"a","email":"e@x","name":"b"}',
            "new-target": b'{"name":"a","name":"a"}',
            "segment": b'{"name":"a","name":"b"}',
            "campaign": b'{"name":"a","name":"b"}',
            "new-campaign": b'{"name":"x","name":"x"}',
            "notification": b'{"libelle":"a","targets":["v-x"],"libelle":"b"}',
            "event": b'{"notification_key":1,"type":"read","type":"dismiss"}',
            "key": b'{"role":"admin","role":"member","target":"v-x"}',
        }
        names = {"target": "name", "new-target": "name", "segment": "name", "campaign": "name",
                 "new-campaign": "name", "notification": "libelle", "event": "type", "key": "role"}
        for route, raw in cases.items():
            with self.subTest(route=route, raw=raw):
                self.rejected(route, "malformed-json", field=names[route], raw=raw)

    def test_duplicate_keys_nested(self):
        self.rejected("new-target", "malformed-json",
                      raw=b'{"name":"n","attributes":{"a":1,"b":{"c":1,"c":2}}}')

    # -- wrong types -----------------------------------------------------

    def test_wrong_types(self):
        cases = [
            ("target", "name", 5), ("target", "email", True), ("target", "profile", ["p"]),
            ("target", "attributes", [1]), ("target", "attributes", "{}"),
            ("new-target", "name", {"n": 1}),
            ("segment", "name", 1), ("segment", "name", ["S"]),
            ("campaign", "name", False), ("new-campaign", "name", 3.5),
            ("notification", "libelle", 7), ("notification", "body", 1),
            ("notification", "url", ["u"]), ("notification", "type", {}),
            ("notification", "action_type", "1"), ("notification", "action_type", 1.5),
            ("notification", "action_type", True), ("notification", "action_type", 2147483648),
            ("notification", "action_type", -2147483649),
            ("notification", "campaign_id", 5), ("notification", "profile", 0),
            ("notification", "screen_name", "home"), ("notification", "screen_name", [1]),
            ("notification", "screen_name", [None]), ("notification", "batch", []),
            ("notification", "date_started", 0), ("notification", "date_due", "tomorrow"),
            # outside years 0000..9999 once the offset is applied
            ("notification", "date_started", "9999-12-31T23:59:59-23:59"),
            ("notification", "date_due", "0000-01-01T00:00:00+23:59"),
            ("event", "at", "9999-12-31T23:59:59.999-00:01"),
            ("notification", "targets", "v-x"), ("notification", "targets", [1]),
            ("notification", "targets", {"v-x": 1}),
            ("notification", "segments", 1), ("notification", "segments", ["1"]),
            ("notification", "segments", [1.5]), ("notification", "segments", [2147483648]),
            ("event", "notification_key", "1"), ("event", "notification_key", None),
            ("event", "type", 1), ("event", "at", "later"), ("event", "at", 5),
            ("key", "role", 1), ("key", "target", 5),
        ]
        for route, field, value in cases:
            with self.subTest(route=route, field=field, value=value):
                p = self.rejected(route, None, body=with_(route, **{field: value}))
                self.assertIn(p["type"], ("urn:notifd:problem:invalid-field",
                                          "urn:notifd:problem:missing-field"))
                if value is not None:
                    self.assertEqual(p["type"], "urn:notifd:problem:invalid-field")
                self.assertTrue(str(p.get("field", "")).startswith(field), p)
                self.assertIn(field, p["detail"])

    # -- lengths ---------------------------------------------------------

    def test_over_long(self):
        cases = [
            ("target", "name", "n" * 201), ("target", "email", "e" * 255),
            ("target", "profile", "p" * 2049), ("target", "attributes", {"k": "v" * 17000}),
            ("new-target", "name", "\u00e9" * 201),
            ("segment", "name", "s" * 201), ("segment", "name", ""),
            ("campaign", "name", "c" * 201), ("new-campaign", "name", ""),
            ("notification", "libelle", "l" * 256), ("notification", "libelle", ""),
            ("notification", "body", "b" * 4097), ("notification", "url", "u" * 2049),
            ("notification", "type", "t" * 65), ("notification", "profile", "p" * 2049),
            ("notification", "screen_name", ["s"] * 51),
            ("notification", "screen_name", ["ok", "s" * 129]),
            ("notification", "batch", "b" * 201),
            ("notification", "targets", ["v-x", "t" * 129]),
            ("notification", "targets", ["v-x", ""]),
        ]
        for route, field, value in cases:
            with self.subTest(route=route, field=field, value=value):
                p = self.rejected(route, "invalid-field", body=with_(route, **{field: value}))
                self.assertTrue(str(p.get("field", "")).startswith(field), p)
                self.assertIn(field, p["detail"])

    # -- unknown fields --------------------------------------------------

    def test_unknown_fields(self):
        for route in ROUTES:
            for extra in ("colour", "Name", "targets_", "id", "created_at"):
                with self.subTest(route=route, extra=extra):
                    self.rejected(route, "unknown-field", field=extra,
                                  body=with_(route, **{extra: "x"}))
        # unknown fields are rejected even when null
        self.rejected("segment", "unknown-field", field="colour", body=with_("segment", colour=None))

    # -- missing fields --------------------------------------------------

    def test_missing_fields(self):
        for route, field in (("segment", "name"), ("campaign", "name"), ("new-campaign", "name"),
                             ("notification", "libelle"), ("event", "notification_key"),
                             ("event", "type"), ("key", "role"), ("key", "target")):
            with self.subTest(route=route, field=field):
                self.rejected(route, "missing-field", field=field, body=without(route, field))

    # -- problem document shape -----------------------------------------

    def test_problem_document(self):
        r = self.req("POST", "/v1/segments", {"name": "a", "colour": "red"}, key=self.k,
                     headers={"X-Request-Id": "val-1"})
        p = self.assertProblem(r, 400, "unknown-field", field="colour")
        self.assertEqual(p["request_id"], "val-1")
        self.assertTrue(r.headers["content-type"].startswith("application/problem+json"))
        self.assertIn("colour", p["detail"])
        self.assertTrue(p["title"])
        # the body is one JSON object with no stray bytes
        self.assertIsInstance(p, dict)

    def test_problem_types_titles_are_stable(self):
        r1 = self.req("POST", "/v1/segments", {"nope": 1}, key=self.k)
        r2 = self.req("PUT", "/v1/campaigns/" + C, {"name": "x", "other": 1}, key=self.k)
        self.assertEqual(r1.body["type"], r2.body["type"])
        self.assertEqual(r1.body["title"], r2.body["title"])


if __name__ == "__main__":
    main()
