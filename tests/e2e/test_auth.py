"""Authentication and authorisation: X-Key / Bearer, 401, 403, member keys,
tenant isolation."""

import re
import unittest

from harness import DaemonTestCase, enc, main


def normalized(body, ident):
    """Problem body without request_id, with the looked-up id replaced."""
    pat = re.compile(r"(?<![0-9A-Za-z_-])%s(?![0-9A-Za-z_-])" % re.escape(str(ident)))
    out = {}
    for k, v in body.items():
        if k == "request_id":
            continue
        out[k] = pat.sub("<ID>", v) if isinstance(v, str) else v
    return out


class RouteMatrix:
    """Every /v1 route as a fresh, valid request for the admin of the daemon's
    default tenant. Each entry: name -> prep() -> (method, path, body, status)."""

    def __init__(self, tc):
        self.tc = tc

    def target(self):
        t = self.tc.uid("t")
        self.tc.ok("PUT", "/v1/targets/" + enc(t), {"name": "n"})
        return t

    def segment(self):
        return self.tc.ok("POST", "/v1/segments", {"name": "s"}).body["id"]

    def notification(self, target):
        return self.tc.ok("POST", "/v1/notifications",
                          {"libelle": "x", "targets": [target]}).body["notification_key"]

    def cases(self):
        u = self.tc.uid
        return {
            "PUT target": lambda: ("PUT", "/v1/targets/" + u("t"), {"name": "x"}, 201),
            "GET target": lambda: ("GET", "/v1/targets/" + self.target(), None, 200),
            "DELETE target": lambda: ("DELETE", "/v1/targets/" + self.target(), None, 204),
            "POST segments": lambda: ("POST", "/v1/segments", {"name": "s"}, 201),
            "GET segments": lambda: ("GET", "/v1/segments", None, 200),
            "GET segment": lambda: ("GET", "/v1/segments/%d" % self.segment(), None, 200),
            "DELETE segment": lambda: ("DELETE", "/v1/segments/%d" % self.segment(), None, 204),
            "PUT member": lambda: ("PUT", "/v1/segments/%d/members/%s"
                                   % (self.segment(), self.target()), None, 204),
            "DELETE member": lambda: ("DELETE", "/v1/segments/%d/members/%s"
                                      % (self.segment(), self.target()), None, 204),
            "PUT campaign": lambda: ("PUT", "/v1/campaigns/" + u("c"), {"name": "c"}, 201),
            "GET campaign": lambda: self._get_campaign(),
            "POST notification": lambda: ("POST", "/v1/notifications",
                                          {"libelle": "hi", "targets": [u("t")]}, 201),
            "GET notification": lambda: ("GET", "/v1/notifications/%d"
                                         % self.notification(self.target()), None, 200),
            "GET feed": lambda: self._feed(),
            "POST event": lambda: self._event(),
            "POST keys": lambda: ("POST", "/v1/keys", {"role": "admin"}, 201),
            "GET keys": lambda: ("GET", "/v1/keys", None, 200),
            "DELETE key": lambda: ("DELETE", "/v1/keys/"
                                   + self.tc.ok("POST", "/v1/keys", {"role": "admin"}).body["id"],
                                   None, 204),
        }

    def _get_campaign(self):
        c = self.tc.uid("c")
        self.tc.ok("PUT", "/v1/campaigns/" + c, {"name": "c"})
        return ("GET", "/v1/campaigns/" + c, None, 200)

    def _feed(self):
        t = self.target()
        self.notification(t)
        return ("GET", "/v1/targets/%s/notifications" % t, None, 200)

    def _event(self):
        t = self.target()
        k = self.notification(t)
        return ("POST", "/v1/targets/%s/events" % t, {"notification_key": k, "type": "read"}, 204)


class TestKeyHeaders(DaemonTestCase):
    # Dozens of wrong keys on purpose: the throttle that would answer 429
    # after 20 of them is proven in test_reliability.py.
    daemon_args = ("--auth-failures", "0")

    def run_matrix(self, key, auth, expect=None, ptype=None):
        for name, prep in RouteMatrix(self).cases().items():
            method, path, body, status = prep()
            with self.subTest(route=name, auth=auth):
                r = self.req(method, path, body, key=key, auth=auth)
                if expect is None:
                    self.assertEqual(r.status, status, "%s %s: %r" % (method, path, r.body))
                else:
                    self.assertProblem(r, expect, ptype)

    def test_x_key_every_route(self):
        self.run_matrix(self.daemon.admin_key, "x-key")

    def test_bearer_every_route(self):
        self.run_matrix(self.daemon.admin_key, "bearer")

    def test_api_created_key_every_route(self):
        key = self.ok("POST", "/v1/keys", {"role": "admin"}).body["key"]
        self.run_matrix(key, "bearer")

    def test_no_key_every_route(self):
        self.run_matrix(None, "x-key", 401, "unauthorized")

    def test_unknown_key_every_route(self):
        self.run_matrix("ndk_" + "0" * 40, "x-key", 401, "unauthorized")
        self.run_matrix("ndk_" + "0" * 40, "bearer", 401, "unauthorized")

    def test_revoked_key_every_route(self):
        created = self.ok("POST", "/v1/keys", {"role": "admin"}).body
        self.ok("GET", "/v1/keys", key=created["key"])
        self.ok("DELETE", "/v1/keys/" + created["id"], status=204)
        self.run_matrix(created["key"], "x-key", 401, "unauthorized")
        self.run_matrix(created["key"], "bearer", 401, "unauthorized")

    def test_overlong_key(self):
        r = self.req("GET", "/v1/segments", key="k" * 300)
        self.assertProblem(r, 401, "unauthorized")

    def test_bearer_with_extra_spaces(self):
        r = self.req("GET", "/v1/segments", key=None,
                     headers={"Authorization": "Bearer    " + self.daemon.admin_key})
        self.assertEqual(r.status, 200, r.body)

    def test_x_key_wins_over_bearer(self):
        admin = self.daemon.admin_key
        r = self.req("GET", "/v1/segments", key=None,
                     headers={"X-Key": admin, "Authorization": "Bearer ndk_" + "1" * 40})
        self.assertEqual(r.status, 200, r.body)
        r = self.req("GET", "/v1/segments", key=None,
                     headers={"X-Key": "ndk_" + "1" * 40, "Authorization": "Bearer " + admin})
        self.assertProblem(r, 401, "unauthorized")

    def test_malformed_authorization(self):
        admin = self.daemon.admin_key
        for value in ("Basic " + admin, "Bearer", "Bearer ", admin, "Token " + admin):
            r = self.req("GET", "/v1/segments", key=None, headers={"Authorization": value})
            self.assertProblem(r, 401, "unauthorized")
        r = self.req("GET", "/v1/segments", key=None, headers={"X-Key": ""})
        self.assertProblem(r, 401, "unauthorized")
        r = self.req("GET", "/v1/segments", key=None, headers={"X-Key": admin + "x"})
        self.assertProblem(r, 401, "unauthorized")
        r = self.req("GET", "/v1/segments", key=None, headers={"X-Key": admin[:-1]})
        self.assertProblem(r, 401, "unauthorized")

    def test_401_changes_nothing(self):
        t = self.uid("t")
        self.assertEqual(self.req("PUT", "/v1/targets/" + t, {"name": "x"}, key=None).status, 401)
        self.assertEqual(self.req("GET", "/v1/targets/" + t).status, 404)
        self.ok("PUT", "/v1/targets/" + t, {"name": "keep"})
        self.assertEqual(self.req("DELETE", "/v1/targets/" + t, key="ndk_" + "2" * 40).status, 401)
        self.assertEqual(self.ok("GET", "/v1/targets/" + t).body["name"], "keep")
        before = self.ok("GET", "/v1/keys").body
        self.assertEqual(self.req("POST", "/v1/keys", {"role": "admin"}, key=None).status, 401)
        self.assertEqual(self.ok("GET", "/v1/keys").body, before)

    def test_healthz_needs_no_key(self):
        self.assertEqual(self.req("GET", "/healthz", key=None).status, 200)


class TestMemberKeys(DaemonTestCase):
    def setUp(self):
        self.me = self.uid("m") + "/x%y?"  # needs percent-encoding in paths
        self.other = self.uid("other")
        self.ok("PUT", "/v1/targets/" + enc(self.me), {"name": "me"})
        self.ok("PUT", "/v1/targets/" + enc(self.other), {"name": "other"})
        created = self.ok("POST", "/v1/keys", {"role": "member", "target": self.me}, status=201).body
        self.assertEqual(created["role"], "member")
        self.assertEqual(created["target"], self.me)
        self.key = created["key"]
        self.nkey = self.ok("POST", "/v1/notifications",
                            {"libelle": "for both", "targets": [self.me, self.other]}
                            ).body["notification_key"]

    def test_own_feed_allowed(self):
        for auth in ("x-key", "bearer"):
            r = self.req("GET", "/v1/targets/%s/notifications" % enc(self.me), key=self.key, auth=auth)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual([n["notification_key"] for n in r.body["notifications"]], [self.nkey])

    def test_own_events_allowed(self):
        for auth, typ in (("x-key", "read"), ("bearer", "impression")):
            r = self.req("POST", "/v1/targets/%s/events" % enc(self.me),
                         {"notification_key": self.nkey, "type": typ, "at": "2024-01-01T00:00:00Z"},
                         key=self.key, auth=auth)
            self.assertEqual(r.status, 204, r.body)
        feed = self.ok("GET", "/v1/targets/%s/notifications" % enc(self.me)).body
        self.assertEqual(feed["notifications"][0]["read"], "2024-01-01T00:00:00Z")
        self.assertEqual(feed["notifications"][0]["impression"], "2024-01-01T00:00:00Z")

    def test_other_target_forbidden(self):
        for auth in ("x-key", "bearer"):
            for t in (self.other, self.uid("never-existed")):
                r = self.req("GET", "/v1/targets/%s/notifications" % enc(t), key=self.key, auth=auth)
                self.assertProblem(r, 403, "forbidden")
                r = self.req("POST", "/v1/targets/%s/events" % enc(t),
                             {"notification_key": self.nkey, "type": "read"}, key=self.key, auth=auth)
                self.assertProblem(r, 403, "forbidden")
        feed = self.ok("GET", "/v1/targets/%s/notifications" % enc(self.other)).body
        self.assertIsNone(feed["notifications"][0]["read"])

    def test_admin_routes_forbidden(self):
        for name, prep in RouteMatrix(self).cases().items():
            if name in ("GET feed", "POST event"):
                continue
            method, path, body, _ = prep()
            with self.subTest(route=name):
                r = self.req(method, path, body, key=self.key)
                self.assertProblem(r, 403, "forbidden")

    def test_admin_routes_on_own_target_forbidden(self):
        own = "/v1/targets/" + enc(self.me)
        for method, path, body in (("GET", own, None), ("PUT", own, {"name": "hijack"}),
                                   ("DELETE", own, None),
                                   ("GET", "/v1/notifications/%d" % self.nkey, None),
                                   ("POST", "/v1/notifications", {"libelle": "x", "targets": [self.me]}),
                                   ("POST", "/v1/keys", {"role": "admin"}),
                                   ("POST", "/v1/keys", {"role": "member", "target": self.me}),
                                   ("GET", "/v1/keys", None)):
            r = self.req(method, path, body, key=self.key)
            self.assertProblem(r, 403, "forbidden")
        self.assertEqual(self.ok("GET", own).body["name"], "me")
        n = self.ok("GET", "/v1/notifications/%d" % self.nkey).body
        self.assertEqual(n["deliveries"], 2)
        feed = self.ok("GET", "/v1/targets/%s/notifications" % enc(self.me)).body
        self.assertEqual(len(feed["notifications"]), 1)

    def test_member_key_revoked(self):
        created = self.ok("POST", "/v1/keys", {"role": "member", "target": self.me}).body
        self.ok("GET", "/v1/targets/%s/notifications" % enc(self.me), key=created["key"])
        self.ok("DELETE", "/v1/keys/" + created["id"], status=204)
        r = self.req("GET", "/v1/targets/%s/notifications" % enc(self.me), key=created["key"])
        self.assertProblem(r, 401, "unauthorized")


class TestTenantIsolation(DaemonTestCase):
    def setUp(self):
        # tenant A = default (admin key of the daemon)
        self.tA = self.uid("ta")
        self.ok("PUT", "/v1/targets/" + self.tA, {"name": "A's"})
        self.sA = self.ok("POST", "/v1/segments", {"name": "A seg"}).body["id"]
        self.ok("PUT", "/v1/segments/%d/members/%s" % (self.sA, self.tA), status=204)
        self.cA = self.uid("ca")
        self.ok("PUT", "/v1/campaigns/" + self.cA, {"name": "A camp"})
        self.nA = self.ok("POST", "/v1/notifications",
                          {"libelle": "A", "targets": [self.tA], "campaign_id": self.cA}
                          ).body["notification_key"]
        self.kA = self.ok("POST", "/v1/keys", {"role": "admin"}).body
        _, self.B = self.new_tenant()

    def assertSame404(self, path_fmt, existing, missing, method="GET", body=None):
        r1 = self.req(method, path_fmt % existing, body, key=self.B)
        r2 = self.req(method, path_fmt % missing, body, key=self.B)
        self.assertProblem(r1, 404, "not-found")
        self.assertProblem(r2, 404, "not-found")
        self.assertEqual(normalized(r1.body, existing), normalized(r2.body, missing))
        self.assertEqual(r1.headers.get("content-type"), r2.headers.get("content-type"))

    def test_objects_of_other_tenant_are_404(self):
        self.assertSame404("/v1/targets/%s", self.tA, self.uid("tz"))
        self.assertSame404("/v1/targets/%s", self.tA, self.uid("tz"), method="DELETE")
        self.assertSame404("/v1/segments/%s", self.sA, 2147483000)
        self.assertSame404("/v1/segments/%s", self.sA, 2147483000, method="DELETE")
        self.assertSame404("/v1/segments/%%s/members/%s" % self.tA, self.sA, 2147483000, method="PUT")
        self.assertSame404("/v1/segments/%%s/members/%s" % self.tA, self.sA, 2147483000,
                           method="DELETE")
        self.assertSame404("/v1/campaigns/%s", self.cA, self.uid("cz"))
        self.assertSame404("/v1/notifications/%s", self.nA, 2147483001)
        self.assertSame404("/v1/keys/%s", self.kA["id"], "0123456789abcdef", method="DELETE")

    def test_other_tenant_changes_nothing(self):
        self.req("DELETE", "/v1/targets/" + self.tA, key=self.B)
        self.req("DELETE", "/v1/segments/%d" % self.sA, key=self.B)
        self.req("DELETE", "/v1/segments/%d/members/%s" % (self.sA, self.tA), key=self.B)
        self.req("DELETE", "/v1/keys/" + self.kA["id"], key=self.B)
        r = self.req("POST", "/v1/targets/%s/events" % self.tA,
                     {"notification_key": self.nA, "type": "read"}, key=self.B)
        self.assertProblem(r, 404, "not-found")
        self.assertEqual(self.ok("GET", "/v1/targets/" + self.tA).body["name"], "A's")
        self.assertEqual(self.ok("GET", "/v1/segments/%d" % self.sA).body["members"], 1)
        self.ok("GET", "/v1/segments", key=self.kA["key"])
        feed = self.ok("GET", "/v1/targets/%s/notifications" % self.tA).body["notifications"]
        self.assertEqual(len(feed), 1)
        self.assertIsNone(feed[0]["read"])

    def test_lists_and_feeds_are_per_tenant(self):
        r = self.ok("GET", "/v1/segments", key=self.B)
        self.assertEqual(r.body["segments"], [])
        keys = self.ok("GET", "/v1/keys", key=self.B).body["keys"]
        self.assertNotIn(self.kA["id"], [k["id"] for k in keys])
        r = self.ok("GET", "/v1/targets/%s/notifications" % self.tA, key=self.B)
        self.assertEqual(r.body, {"notifications": [], "next_cursor": None})

    def test_references_are_per_tenant(self):
        r = self.req("POST", "/v1/notifications", {"libelle": "x", "segments": [self.sA]}, key=self.B)
        self.assertProblem(r, 400, "unknown-reference", field="segments")
        r = self.req("POST", "/v1/notifications", {"libelle": "x", "campaign_id": self.cA}, key=self.B)
        self.assertProblem(r, 400, "unknown-reference", field="campaign_id")
        # nothing was created in B: B's first notification is number 1
        r = self.ok("POST", "/v1/notifications", {"libelle": "b"}, key=self.B)
        self.assertEqual(r.body["notification_key"], 1)

    def test_same_ids_are_separate(self):
        r = self.req("PUT", "/v1/targets/" + self.tA, {"name": "B's"}, key=self.B)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.ok("GET", "/v1/targets/" + self.tA).body["name"], "A's")
        self.assertEqual(self.ok("GET", "/v1/targets/" + self.tA, key=self.B).body["name"], "B's")
        r = self.req("PUT", "/v1/campaigns/" + self.cA, {"name": "B camp"}, key=self.B)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.ok("GET", "/v1/campaigns/" + self.cA).body["name"], "A camp")
        # segment ids are allocated per tenant from 1
        r = self.ok("POST", "/v1/segments", {"name": "b1"}, key=self.B)
        self.assertEqual(r.body["id"], 1)
        # a member key of B for a target id that also exists in A sees only B's deliveries
        member = self.ok("POST", "/v1/keys", {"role": "member", "target": self.tA}, key=self.B).body
        r = self.ok("GET", "/v1/targets/%s/notifications" % self.tA, key=member["key"])
        self.assertEqual(r.body["notifications"], [])
        # and an A notification_key cannot be used on B's copy of the target
        r = self.req("POST", "/v1/targets/%s/events" % self.tA,
                     {"notification_key": self.nA, "type": "read"}, key=member["key"])
        self.assertProblem(r, 404, "not-found")


if __name__ == "__main__":
    main()
