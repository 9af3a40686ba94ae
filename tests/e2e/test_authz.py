"""The authorization matrix, generated from the route tables: `notifd routes`
lists every route of every face with who may call it, and each route is
tried with every kind of wrong key. A route added later is covered without
editing this file; a route whose path names a kind of object this file has
no fixture for fails loudly until one is added here.

For every route that needs a key:
  - no key, a malformed key, an unknown key, a revoked key -> 401;
  - a member key on an admin route -> 403;
  - a member key on a member-self route, for another member's target -> 403;
For every route with an object in its path:
  - another tenant's admin key, and a member key on a member-any route, get
    exactly what they get for an id that does not exist (same status, same
    body once the request id and the id itself are set aside);
and through all of it, the tenant's data does not change (its export is
the same before and after)."""

import json
import re
import subprocess

import harness
from harness import DaemonTestCase, enc, main

# The kind of object a path placeholder names, from the literal segment
# before it.
KINDS = {"targets": "target", "members": "target", "segments": "segment",
         "campaigns": "campaign", "notifications": "notification", "keys": "key",
         "notification": "delivery"}

# Valid bodies, so that writes get as far as their lookups; any other route
# gets {} and is still held to every rule above.
BODIES = {
    ("PUT", "/v1/targets/{id}"): {"name": "x"},
    ("POST", "/v1/segments"): {"name": "x"},
    ("PUT", "/v1/campaigns/{id}"): {"name": "x"},
    ("POST", "/v1/notifications"): {"libelle": "x", "targets": ["matrix-t"]},
    ("PATCH", "/v1/tenant"): {"time_zone": "Europe/Paris"},
    ("POST", "/v1/keys"): {"role": "admin"},
    ("POST", "/v1/targets/{id}/events"): {"notification_key": 1, "type": "read"},
}

MISSING = {"target": "no-such-target", "segment": "987654", "campaign": "no-such-campaign",
           "notification": "987654", "key": "0123456789abcdef",
           "delivery": "00000000-0000-7000-8000-000000000000"}


def placeholders(path):
    """[(name, kind)] of @path's placeholders, in order."""
    out = []
    parts = path.strip("/").split("/")
    for i, part in enumerate(parts):
        m = re.fullmatch(r"\{(\w+)\}", part)
        if m:
            before = parts[i - 1] if i else ""
            if before not in KINDS:
                raise AssertionError("%s: no fixture kind for a placeholder after %r; add it "
                                     "to KINDS and MISSING in this file" % (path, before))
            out.append((m.group(1), KINDS[before]))
    return out


def fill(path, values):
    for name, value in values.items():
        path = path.replace("{%s}" % name, enc(value))
    return path


def normalized(r, ident):
    """A response as a comparable value: status and body, without the request
    id and with the looked-up id replaced."""
    body = r.body
    text = json.dumps(body, sort_keys=True) if isinstance(body, (dict, list)) \
        else (body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body))
    text = re.sub(r'"request_id": "[^"]*"', "", text)
    for form in {str(ident), enc(str(ident))}:
        text = re.sub(r"(?<![0-9A-Za-z_-])%s(?![0-9A-Za-z_-])" % re.escape(form), "<ID>", text)
    # what a write made differs in its times and new GUIDs, never in kind
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<TIME>", text)
    text = re.sub(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", "<GUID>", text)
    return r.status, text


class TestMatrix(DaemonTestCase):
    # Hundreds of wrong keys on purpose (test_reliability.py proves the throttle).
    daemon_args = ("--auth-failures", "0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.daemon
        harness.ok(d, "PUT", "/v1/targets/ma", {"name": "A"})
        harness.ok(d, "PUT", "/v1/targets/mb", {"name": "B"})
        seg = harness.ok(d, "POST", "/v1/segments", {"name": "s"}).body["id"]
        harness.ok(d, "PUT", "/v1/segments/%d/members/ma" % seg)
        harness.ok(d, "PUT", "/v1/campaigns/camp", {"name": "c"})
        key = harness.ok(d, "POST", "/v1/notifications",
                         {"libelle": "matrix", "targets": ["ma", "mb"],
                          "campaign_id": "camp"}).body["notification_key"]
        spare = harness.ok(d, "POST", "/v1/keys", {"role": "admin"}).body["id"]

        def delivery(target):
            feed = harness.ok(d, "GET", "/v1/targets/%s/notifications" % target).body
            return feed["notifications"][0]["id"]
        # what a placeholder of each kind names in tenant "default"; member
        # keys are bound to ma and mb
        cls.fixture = {"target": "ma", "segment": str(seg), "campaign": "camp",
                       "notification": str(key), "key": spare, "delivery": delivery("mb")}
        cls.other_tenant = d.key_create("admin", tenant="matrix-other")
        cls.member_a = d.key_create("member", target="ma")
        revoked = harness.ok(d, "POST", "/v1/keys", {"role": "member", "target": "ma"}).body
        harness.ok(d, "DELETE", "/v1/keys/" + revoked["id"])
        cls.revoked = revoked["key"]
        cls.routes = harness.keyed_routes()

    def setUp(self):
        self.before = self.export()

    def tearDown(self):
        self.assertEqual(self.export(), self.before, "the tenant's data changed")

    def export(self):
        return harness.tenant_export(self.daemon.db, "default")

    def send(self, route, key, values=None, headers=None):
        values = values if values is not None else {
            name: self.fixture[kind] for name, kind in placeholders(route["path"])}
        body = BODIES.get((route["method"], route["path"]), {})
        return self.req(route["method"], fill(route["path"], values),
                        body if route["method"] in ("PUT", "POST", "PATCH") else None,
                        key=key, headers=headers)

    def test_every_route_is_covered(self):
        faces = {r["face"] for r in self.routes}
        self.assertEqual(faces, {"v1", "np6", "api3"})
        for r in self.routes:
            placeholders(r["path"])  # every kind has a fixture

    def test_no_wrong_key_gets_in(self):
        wrong = {"no key": None, "unknown key": "matrix-unknown-key-Xq93kfJ1pz",
                 "revoked key": self.revoked, "malformed key": "\tspace inside key\t",
                 "empty bearer": None}
        for route in self.routes:
            for what, key in wrong.items():
                headers = {"Authorization": "Bearer "} if what == "empty bearer" else None
                with self.subTest(route=route["method"] + " " + route["path"], key=what):
                    self.assertEqual(self.send(route, key, headers=headers).status, 401)

    def test_member_keys(self):
        for route in self.routes:
            name = route["method"] + " " + route["path"]
            with self.subTest(route=name):
                if route["access"] == "admin":
                    self.assertEqual(self.send(route, self.member_a).status, 403)
                elif route["access"] == "member-self":
                    # another member's target
                    values = {n: ("mb" if k == "target" else self.fixture[k])
                              for n, k in placeholders(route["path"])}
                    self.assertEqual(self.send(route, self.member_a, values).status, 403)

    def test_objects_of_others_look_missing(self):
        """Another tenant's admin key on this tenant's objects, and a member
        key on another member's objects (member-any routes), answer what a
        nonexistent id answers."""
        for route in self.routes:
            holes = placeholders(route["path"])
            if not holes:
                continue
            keys = [("other tenant", self.other_tenant)]
            if route["access"] == "member-any":
                keys.append(("other member", self.member_a))  # the delivery is mb's
            for what, key in keys:
                for i, (name, kind) in enumerate(holes):
                    real = {n: self.fixture[k] for n, k in holes}
                    missing = dict(real, **{name: MISSING[kind]})
                    with self.subTest(route=route["method"] + " " + route["path"], key=what,
                                      placeholder=name):
                        got = normalized(self.send(route, key, real), real[name])
                        want = normalized(self.send(route, key, missing), MISSING[kind])
                        self.assertEqual(got, want)


if __name__ == "__main__":
    main()
