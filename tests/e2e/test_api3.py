"""Brightidea API3-compatible face: the notification object, GET, LIST
(filters, tenant-zone day windows, paging, order), DELETE (ownership),
authentication, human dates and the one 404 body. XML output has its own
file, test_api3_xml.py.

Data is set up through the native /v1 API (targets, campaigns, notifications
with explicit date_started / date_due, events with explicit "at", keys,
PATCH /v1/tenant for the time zone); each test runs in a fresh tenant, so
notification keys start at 1 and totals are exact. See docs/compat.md,
"Brightidea API3 — notification object".
"""

import datetime
import json
import math
import re
import time
import unittest
import urllib.parse
import zoneinfo

from harness import DaemonTestCase, GUID_RE, enc, main

UTC = datetime.timezone.utc

NOT_FOUND = {"errorCode": 404,
             "message": "Invalid object ID or you don't have access to this object"}
OBJ_FIELDS = {"id", "name", "tweet", "action_type", "url", "profile", "screen_name", "batch",
              "date", "date_due", "timestamp", "status_class", "read"}
MEMBER_FIELDS = {"id", "screen_name", "email", "profile"}
UNREAD = "notifcation-item-unread"
READ = "notifcation-item-read"
HUMAN_DATE_RE = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [1-9]\d? \d{4}$")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def iso(dt):
    """RFC 3339 UTC with milliseconds, for request bodies."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def at(s):
    """An aware datetime from a '...Z' literal (optional .mmm)."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in s else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.datetime.strptime(s, fmt).replace(tzinfo=UTC)


def unix(s):
    """Unix seconds (floor) of a '...Z' literal."""
    return math.floor(at(s).timestamp())


def human_date(dt, zone):
    """'Nov 1 2013': the local date of dt in zone, day not zero-padded."""
    loc = dt.astimezone(zoneinfo.ZoneInfo(zone))
    return "%s %d %d" % (MONTHS[loc.month - 1], loc.day, loc.year)


def qs(**params):
    return "?" + urllib.parse.urlencode(params) if params else ""


def names_param(name):
    """Regex: a message naming the parameter as a word (page is not page_size)."""
    return re.compile(r"(?<![A-Za-z_])%s(?![A-Za-z_])" % re.escape(name))


class Api3Case(DaemonTestCase):
    """Each test runs in a fresh tenant with its own admin key (self.k)."""

    def setUp(self):
        self.tenant, self.k = self.new_tenant()

    # -- native setup ------------------------------------------------------

    def v1(self, method, path, body=None, status=None, key=None):
        r = self.req(method, path, body, key=key or self.k)
        if status is not None:
            self.assertEqual(r.status, status, "%s %s %r -> %r" % (method, path, body, r.body))
        return r

    def target(self, tid, key=None, **fields):
        return self.v1("PUT", "/v1/targets/" + enc(tid), fields, key=key).body

    def campaign(self, cid, name="c", key=None):
        r = self.v1("PUT", "/v1/campaigns/" + enc(cid), {"name": name}, key=key)
        self.assertIn(r.status, (200, 201), r.body)

    def notify(self, targets, libelle="n", key=None, **fields):
        """POST /v1/notifications; returns notification_key."""
        if isinstance(targets, str):
            targets = [targets]
        body = {"libelle": libelle, "targets": targets}
        body.update(fields)
        r = self.v1("POST", "/v1/notifications", body, status=201, key=key)
        self.assertEqual(r.body["deliveries"], len(set(targets)), r.body)
        return r.body["notification_key"]

    def event(self, target, nkey, etype, when=None, key=None):
        body = {"notification_key": nkey, "type": etype}
        if when is not None:
            body["at"] = when
        self.v1("POST", "/v1/targets/%s/events" % enc(target), body, status=204, key=key)

    def native_feed(self, target, key=None):
        r = self.v1("GET", "/v1/targets/%s/notifications?limit=1000" % enc(target), status=200,
                    key=key)
        return r.body["notifications"]

    def did(self, target, nkey, key=None):
        """The delivery GUID of notification nkey to target (from the native feed)."""
        for o in self.native_feed(target, key=key):
            if o["notification_key"] == nkey:
                return o["id"]
        self.fail("no delivery of %r to %r" % (nkey, target))

    def member_key(self, target, key=None):
        return self.v1("POST", "/v1/keys", {"role": "member", "target": target}, status=201,
                       key=key).body

    def set_zone(self, zone, key=None):
        r = self.v1("PATCH", "/v1/tenant", {"time_zone": zone}, status=200, key=key)
        self.assertEqual(r.body["time_zone"], zone, r.body)

    # -- API3 calls --------------------------------------------------------

    def api(self, method, path, key=None, auth="bearer", **kw):
        return self.req(method, path, key=key or self.k, auth=auth, **kw)

    def raw(self, method, path, key=None, auth="bearer"):
        """(status, lower-cased headers, body bytes) without any parsing."""
        hdrs = self.daemon.auth_headers(key or self.k, auth)
        c = self.daemon.connection()
        try:
            c.request(method, path, headers=hdrs)
            resp = c.getresponse()
            return resp.status, {n.lower(): v for n, v in resp.getheaders()}, resp.read()
        finally:
            c.close()

    def get(self, guid, query="", key=None, auth="bearer"):
        r = self.api("GET", "/api3/notification/%s%s" % (guid, query), key=key, auth=auth)
        self.assertEqual(r.status, 200, "GET %s%s -> %r" % (guid, query, r.body))
        self.assertJsonType(r)
        self.assertIsInstance(r.body, dict, r.body)
        self.assertEqual(set(r.body), {"notification"}, r.body)
        self.assertObject(r.body["notification"], member="with=member" in query)
        return r.body["notification"]

    def lst(self, query="", key=None, auth="bearer"):
        """(notification_list, stats) after checking shape and stats types."""
        r = self.api("GET", "/api3/notification" + query, key=key, auth=auth)
        self.assertEqual(r.status, 200, "LIST %s -> %r" % (query, r.body))
        self.assertJsonType(r)
        b = r.body
        self.assertIsInstance(b, dict, b)
        self.assertEqual(set(b), {"notification_list", "stats"}, b)
        self.assertIsInstance(b["notification_list"], list, b)
        st = b["stats"]
        self.assertEqual(set(st), {"total", "page_count", "current_page"}, st)
        self.assertIs(type(st["total"]), str, st)
        self.assertRegex(st["total"], r"^(0|[1-9]\d*)$", st)
        self.assertIs(type(st["page_count"]), int, st)
        self.assertIs(type(st["current_page"]), int, st)
        for o in b["notification_list"]:
            self.assertObject(o, member="with=member" in query)
        return b["notification_list"], st

    def ids(self, query=""):
        return [o["id"] for o in self.lst(query)[0]]

    def names(self, query=""):
        return [o["name"] for o in self.lst(query)[0]]

    def total(self, query=""):
        return self.lst(query)[1]["total"]

    # -- assertions --------------------------------------------------------

    def assertJsonType(self, r):
        ctype = r.headers.get("content-type", "")
        self.assertEqual(ctype.split(";")[0].strip().lower(), "application/json", ctype)

    def assertObject(self, o, member=False):
        self.assertIsInstance(o, dict, o)
        want = OBJ_FIELDS | ({"member"} if member else set())
        self.assertEqual(set(o), want, o)
        self.assertRegex(o["id"], GUID_RE, o)
        for f in ("name", "tweet", "url", "profile", "batch", "date", "date_due", "status_class"):
            self.assertIs(type(o[f]), str, "%s: %r" % (f, o))
        self.assertIs(type(o["action_type"]), int, o)
        self.assertIs(type(o["timestamp"]), int, o)
        self.assertIs(type(o["read"]), bool, o)
        self.assertIsInstance(o["screen_name"], list, o)
        for s in o["screen_name"]:
            self.assertIs(type(s), str, o)
        self.assertEqual(o["status_class"], READ if o["read"] else UNREAD, o)
        if o["date_due"]:
            self.assertRegex(o["date_due"], HUMAN_DATE_RE, o)
        if member:
            self.assertEqual(set(o["member"]), MEMBER_FIELDS, o)
            for f in MEMBER_FIELDS:
                self.assertIs(type(o["member"][f]), str, "member.%s: %r" % (f, o))

    def assertApi3Error(self, r, status, names=None):
        """{"errorCode": status, "message": str} as application/json."""
        ctx = "%d %r" % (r.status, r.body)
        self.assertEqual(r.status, status, ctx)
        self.assertJsonType(r)
        self.assertIsInstance(r.body, dict, ctx)
        self.assertEqual(set(r.body), {"errorCode", "message"}, ctx)
        self.assertIs(type(r.body["errorCode"]), int, ctx)
        self.assertEqual(r.body["errorCode"], status, ctx)
        self.assertIs(type(r.body["message"]), str, ctx)
        self.assertTrue(r.body["message"], ctx)
        if names is not None:
            self.assertRegex(r.body["message"], names_param(names),
                             "message does not name %r; %s" % (names, ctx))
        return r.body

    def assertNotFound(self, r):
        self.assertEqual((r.status, r.body), (404, NOT_FOUND), r.headers)
        self.assertJsonType(r)


# ---------------------------------------------------------------------------
# The object
# ---------------------------------------------------------------------------

VENDOR_STARTED = "2013-11-21T16:47:36Z"   # 1385052456, the vendor's "Nov 21 2013" example


class TestObject(Api3Case):
    def test_every_field(self):
        t = self.uid("alice")
        self.target(t, name="Alice Doe", email="alice@example.com", profile="/CT/alice.png")
        self.campaign("camp-1")
        nk = self.notify(
            [t], "Great Webstorm", body="Hey there @John Doe", action_type=18,
            url="/sc/6E598BF8?c=1&t_id=F065DB08",
            profile="/CT/getfile.php?a=OD3006&f=8585BB07&thumb=100&thumb=50",
            screen_name=["David", "Smith"], batch="test batch - ROUND 1",
            type="ideacommentdetails", campaign_id="camp-1",
            date_started=VENDOR_STARTED, date_due="2013-11-29T17:00:00Z")
        guid = self.did(t, nk)
        self.assertRegex(guid, GUID_RE)
        want = {
            "id": guid, "name": "Great Webstorm", "tweet": "Hey there @John Doe",
            "action_type": 18, "url": "/sc/6E598BF8?c=1&t_id=F065DB08",
            "profile": "/CT/getfile.php?a=OD3006&f=8585BB07&thumb=100&thumb=50",
            "screen_name": ["David", "Smith"], "batch": "test batch - ROUND 1",
            "date": "Nov 21 2013", "date_due": "Nov 29 2013", "timestamp": 1385052456,
            "status_class": UNREAD, "read": False,
        }
        self.assertEqual(self.get(guid), want)
        # with=member adds the recipient
        got = self.get(guid, "?with=member")
        self.assertEqual(got.pop("member"), {"id": t, "screen_name": "Alice Doe",
                                             "email": "alice@example.com",
                                             "profile": "/CT/alice.png"})
        self.assertEqual(got, want)
        # LIST shows the very same object
        lst, st = self.lst()
        self.assertEqual(lst, [want])
        self.assertEqual(st, {"total": "1", "page_count": 1, "current_page": 1})
        lst, _ = self.lst("?with=member")
        self.assertEqual(lst[0]["member"]["screen_name"], "Alice Doe")

    def test_minimal_and_null_fields(self):
        t = self.uid("bare")
        nk1 = self.notify(t, "only a title", date_started="2013-11-21T16:47:36Z")
        nk2 = self.notify(t, "explicit nulls", date_started="2013-11-21T16:47:37Z", body=None,
                          url=None, profile=None, screen_name=None, batch=None, type=None,
                          action_type=None, date_due=None, campaign_id=None)
        nk3 = self.notify(t, "empty strings", date_started="2013-11-21T16:47:38Z", body="",
                          url="", profile="", screen_name=[], batch="", action_type=-7)
        for nk, name, ts, action in ((nk1, "only a title", 1385052456, 0),
                                     (nk2, "explicit nulls", 1385052457, 0),
                                     (nk3, "empty strings", 1385052458, -7)):
            with self.subTest(notification=name):
                guid = self.did(t, nk)
                self.assertEqual(self.get(guid), {
                    "id": guid, "name": name, "tweet": "", "action_type": action, "url": "",
                    "profile": "", "screen_name": [], "batch": "", "date": "Nov 21 2013",
                    "date_due": "", "timestamp": ts, "status_class": UNREAD, "read": False})
        # a target created implicitly: member screen_name is its id, email/profile ""
        got = self.get(self.did(t, nk1), "?with=member")
        self.assertEqual(got["member"], {"id": t, "screen_name": t, "email": "", "profile": ""})

    def test_member_fields_follow_target(self):
        t = self.uid("m")
        self.target(t, name="First Name", email="a@example.com")
        nk = self.notify(t, "x", date_started=VENDOR_STARTED)
        guid = self.did(t, nk)
        self.assertEqual(self.get(guid, "?with=member")["member"],
                         {"id": t, "screen_name": "First Name", "email": "a@example.com",
                          "profile": ""})
        # PUT replaces the target: the member object shows the new values
        self.target(t, profile="/p.png")
        self.assertEqual(self.get(guid, "?with=member")["member"],
                         {"id": t, "screen_name": t, "email": "", "profile": "/p.png"})
        # odd ids survive as they are
        odd = "odd/id?&=" + self.uid("")
        nk2 = self.notify(odd, "y", date_started=VENDOR_STARTED)
        self.assertEqual(self.get(self.did(odd, nk2), "?with=member")["member"]["id"], odd)
        lst, st = self.lst(qs(member_id=odd) + "&with=member")
        self.assertEqual(([o["member"]["id"] for o in lst], st["total"]), ([odd], "1"))

    def test_one_object_per_delivery(self):
        a, b, c = self.uid("a"), self.uid("b"), self.uid("c")
        nk = self.notify([a, b, c], "to three", date_started=VENDOR_STARTED, body="same")
        guids = {self.did(x, nk) for x in (a, b, c)}
        self.assertEqual(len(guids), 3)
        lst, st = self.lst("?with=member")
        self.assertEqual({o["id"] for o in lst}, guids)
        self.assertEqual(sorted(o["member"]["id"] for o in lst), sorted([a, b, c]))
        self.assertEqual(st["total"], "3")
        for o in lst:
            self.assertEqual((o["name"], o["tweet"], o["timestamp"]),
                             ("to three", "same", 1385052456))
        # a recipient named twice, or also through a segment, gets one delivery
        seg = self.v1("POST", "/v1/segments", {"name": "s"}, status=201).body["id"]
        d = self.uid("d")
        for member in (a, d):
            self.v1("PUT", "/v1/segments/%d/members/%s" % (seg, enc(member)), status=204)
        r = self.v1("POST", "/v1/notifications", {"libelle": "dup", "targets": [a, a, b],
                                                  "segments": [seg],
                                                  "date_started": VENDOR_STARTED}, status=201)
        self.assertEqual(r.body["deliveries"], 3)
        self.assertEqual(self.total(), "6")
        self.assertEqual(self.total(qs(id=r.body["notification_key"])), "3")
        self.assertEqual(self.total(qs(member_id=a)), "2")
        self.assertEqual(sorted(o["member"]["id"] for o in
                                self.lst(qs(id=r.body["notification_key"]) +
                                         "&with=member")[0]),
                         sorted([a, b, d]))
        # the notification's own GUID is not a delivery: 404
        nguid = self.v1("GET", "/v1/notifications/%d" % nk, status=200).body["id"]
        self.assertNotIn(nguid, guids)
        self.assertNotFound(self.api("GET", "/api3/notification/" + nguid))

    def test_read_status(self):
        t, other = self.uid("reader"), self.uid("other")
        nk = self.notify([t, other], "r", date_started=VENDOR_STARTED)
        guid, oguid = self.did(t, nk), self.did(other, nk)
        # no event of another kind makes it read
        for i, etype in enumerate(("impression", "activation", "redirection", "dismiss",
                                   "complete")):
            self.event(t, nk, etype, "2013-11-22T00:00:0%dZ" % i)
            got = self.get(guid)
            self.assertEqual((got["read"], got["status_class"]), (False, UNREAD), etype)
        self.event(t, nk, "read", "2013-11-22T01:00:00Z")
        got = self.get(guid)
        self.assertEqual((got["read"], got["status_class"]), (True, READ))
        self.assertEqual(got["status_class"], "notifcation-item-read")  # the vendor's spelling
        # a second read changes nothing; the other recipient stays unread
        self.event(t, nk, "read", "2013-11-23T01:00:00Z")
        self.assertEqual(self.get(guid)["read"], True)
        got = self.get(oguid)
        self.assertEqual((got["read"], got["status_class"]), (False, "notifcation-item-unread"))
        lst, _ = self.lst()
        self.assertEqual({o["id"]: o["read"] for o in lst}, {guid: True, oguid: False})

    def test_timestamp_is_floor_seconds(self):
        t = self.uid("ts")
        cases = [("2013-11-21T04:59:59.999Z", 1385009999),
                 ("2013-11-21T05:00:00Z", 1385010000),
                 ("2013-11-21T05:00:00.001Z", 1385010000),
                 ("2013-11-21T06:00:00.5+01:00", 1385010000),
                 ("1970-01-01T00:00:00Z", 0),
                 ("1969-12-31T23:59:59.500Z", -1)]
        for i, (started, want) in enumerate(cases):
            with self.subTest(date_started=started):
                nk = self.notify(t, "ts%d" % i, date_started=started)
                self.assertEqual(self.get(self.did(t, nk))["timestamp"], want)

    def test_date_due_in_tenant_zone(self):
        t = self.uid("due")
        # 03:00Z on Nov 30 is the evening of Nov 29 in New York
        nk1 = self.notify(t, "late", date_started=VENDOR_STARTED, date_due="2013-11-30T03:00:00Z")
        nk2 = self.notify(t, "single digit", date_started=VENDOR_STARTED,
                          date_due="2013-11-01T12:00:00Z")
        nk3 = self.notify(t, "offset", date_started=VENDOR_STARTED,
                          date_due="2013-11-29T23:30:00-05:00")
        g1, g2, g3 = self.did(t, nk1), self.did(t, nk2), self.did(t, nk3)
        self.assertEqual(self.v1("GET", "/v1/tenant", status=200).body["time_zone"],
                         "America/New_York")
        self.assertEqual(self.get(g1)["date_due"], "Nov 29 2013")
        self.assertEqual(self.get(g2)["date_due"], "Nov 1 2013")
        self.assertEqual(self.get(g3)["date_due"], "Nov 29 2013")
        self.set_zone("Asia/Tokyo")
        self.assertEqual(self.get(g1)["date_due"], "Nov 30 2013")
        self.assertEqual(self.get(g2)["date_due"], "Nov 1 2013")
        self.assertEqual(self.get(g3)["date_due"], "Nov 30 2013")
        self.set_zone("Pacific/Pago_Pago")  # UTC-11
        self.assertEqual(self.get(g1)["date_due"], "Nov 29 2013")
        self.assertEqual(self.get(g2)["date_due"], "Nov 1 2013")
        self.assertEqual(self.get(g3)["date_due"], "Nov 29 2013")

    def test_date_form_in_tenant_zone(self):
        t = self.uid("zone")
        nk = self.notify(t, "z", date_started="2013-11-21T03:00:00Z")  # Nov 20 22:00 in NY
        guid = self.did(t, nk)
        self.assertEqual(self.get(guid)["date"], "Nov 20 2013")
        self.set_zone("Europe/Paris")
        self.assertEqual(self.get(guid)["date"], "Nov 21 2013")
        self.assertEqual(self.get(guid)["timestamp"], unix("2013-11-21T03:00:00Z"))
        # the zone is per tenant: another tenant still uses New York
        _, kb = self.new_tenant()
        nkb = self.notify(t, "zb", date_started="2013-11-21T03:00:00Z", key=kb)
        gb = self.did(t, nkb, key=kb)
        self.assertEqual(self.get(gb, key=kb)["date"], "Nov 20 2013")
        self.assertEqual(self.v1("GET", "/v1/tenant", key=kb, status=200).body["time_zone"],
                         "America/New_York")

    def test_invalid_zone_refused(self):
        for zone in ("Mars/Olympus_Mons", "", "America/New York", "../etc/passwd"):
            with self.subTest(zone=zone):
                r = self.v1("PATCH", "/v1/tenant", {"time_zone": zone})
                self.assertProblem(r, 400, "invalid-field", "time_zone")
        self.assertEqual(self.v1("GET", "/v1/tenant", status=200).body["time_zone"],
                         "America/New_York")


# ---------------------------------------------------------------------------
# Human dates (relative to now)
# ---------------------------------------------------------------------------

class TestHumanDates(Api3Case):
    MIN, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400

    def test_ages(self):
        t = self.uid("age")
        now = datetime.datetime.now(UTC).replace(microsecond=0)
        # ages in the middle of their unit, so the test's own runtime cannot
        # move a value across a boundary
        ages = [
            (10, "just now"),
            (30, "just now"),
            (90, "1 minute ago"),
            (150, "2 minutes ago"),
            (30 * self.MIN + 30, "30 minutes ago"),
            (59 * self.MIN + 30, "59 minutes ago"),
            (90 * self.MIN, "1 hour ago"),
            (150 * self.MIN, "2 hours ago"),
            (23 * self.HOUR + 30 * self.MIN, "23 hours ago"),
            (36 * self.HOUR, "1 day ago"),
            (3 * self.DAY + 12 * self.HOUR, "3 days ago"),
            (6 * self.DAY + 12 * self.HOUR, "6 days ago"),
            (10 * self.DAY + 12 * self.HOUR, "1 week ago"),
            (17 * self.DAY + 12 * self.HOUR, "2 weeks ago"),
            (34 * self.DAY + 12 * self.HOUR, "4 weeks ago"),
        ]
        dated = [35 * self.DAY + 12 * self.HOUR, 60 * self.DAY, 400 * self.DAY,
                 -3 * self.DAY, -90, -400 * self.DAY]
        want = {}
        for i, (age, text) in enumerate(ages):
            name = "age%d" % i
            self.notify(t, name, date_started=iso(now - datetime.timedelta(seconds=age)))
            want[name] = text
        for i, age in enumerate(dated):
            name = "dated%d" % i
            dt = now - datetime.timedelta(seconds=age)
            self.notify(t, name, date_started=iso(dt))
            want[name] = human_date(dt, "America/New_York")
        self.assertEqual(want["dated4"], human_date(now + datetime.timedelta(seconds=90),
                                                    "America/New_York"))
        lst, st = self.lst("?page_size=100")
        self.assertEqual(st["total"], str(len(want)))
        got = {o["name"]: o["date"] for o in lst}
        self.assertEqual(got, want)
        for o in lst:
            if o["name"].startswith("dated"):
                self.assertRegex(o["date"], HUMAN_DATE_RE)
        # GET agrees with LIST
        one = next(o for o in lst if o["name"] == "age2")
        self.assertEqual(self.get(one["id"])["date"], "1 minute ago")
        # the date form follows the tenant's zone; ages do not change
        self.set_zone("Asia/Tokyo")
        for i, age in enumerate(dated):
            want["dated%d" % i] = human_date(now - datetime.timedelta(seconds=age), "Asia/Tokyo")
        got = {o["name"]: o["date"] for o in self.lst("?page_size=100")[0]}
        self.assertEqual(got, want)

    def test_vendor_example_dates(self):
        t = self.uid("vendor")
        nk = self.notify(t, "Great Webstorm", date_started=VENDOR_STARTED,
                         date_due="2013-11-29T12:00:00Z")
        got = self.get(self.did(t, nk))
        self.assertEqual((got["date"], got["date_due"], got["timestamp"]),
                         ("Nov 21 2013", "Nov 29 2013", 1385052456))


# ---------------------------------------------------------------------------
# GET /api3/notification/{id}
# ---------------------------------------------------------------------------

class TestGet(Api3Case):
    def test_get_and_params(self):
        t = self.uid("g")
        nk = self.notify(t, "hello", date_started=VENDOR_STARTED)
        guid = self.did(t, nk)
        self.assertEqual(self.get(guid)["id"], guid)
        self.assertEqual(self.get(guid, "?format=json")["name"], "hello")
        self.assertEqual(self.get(guid, "?unknown=1&another=x")["name"], "hello")
        self.assertEqual(self.get(guid, "?with=member&format=json")["member"]["id"], t)

    def test_bad_with_and_format(self):
        t = self.uid("g")
        guid = self.did(t, self.notify(t, "x", date_started=VENDOR_STARTED))
        for q, name in (("?with=members", "with"), ("?with=", "with"), ("?with=count", "with"),
                        ("?format=csv", "format"), ("?format=", "format"),
                        ("?format=jsonp", "format"), ("?format=html", "format")):
            with self.subTest(query=q):
                r = self.api("GET", "/api3/notification/%s%s" % (guid, q))
                self.assertApi3Error(r, 400, names=name)

    def test_unknown_ids_404(self):
        t = self.uid("g")
        guid = self.did(t, self.notify(t, "x", date_started=VENDOR_STARTED))
        for bad in ("00000000-0000-0000-0000-000000000000", "3DA28600-9BA5-4750-A8EE-0D2D16F3D5ED",
                    "1695", "1", "abc", guid + "0", guid[:-1], "%20" + guid,
                    guid.replace("-", "")):
            with self.subTest(id=bad):
                self.assertNotFound(self.api("GET", "/api3/notification/" + bad))

    def test_admin_only(self):
        t = self.uid("g")
        guid = self.did(t, self.notify(t, "x", date_started=VENDOR_STARTED))
        mk = self.member_key(t)["key"]
        for auth in ("bearer", "x-key"):
            with self.subTest(auth=auth):
                r = self.api("GET", "/api3/notification/" + guid, key=mk, auth=auth)
                self.assertApi3Error(r, 403)
                r = self.api("GET", "/api3/notification/%s?with=member" % guid, key=mk, auth=auth)
                self.assertApi3Error(r, 403)


# ---------------------------------------------------------------------------
# LIST: filters
# ---------------------------------------------------------------------------

class TestListFilters(Api3Case):
    def setUp(self):
        super().setUp()
        self.campaign("camp-a")
        self.campaign("camp-b")
        self.alice, self.bob, self.carol = self.uid("alice"), self.uid("bob"), self.uid("carol")
        # n1: alice+bob, camp-a, type "comment", Nov 21 2013 (NY)
        self.n1 = self.notify([self.alice, self.bob], "n1", campaign_id="camp-a", type="comment",
                              date_started="2013-11-21T15:00:00Z")
        # n2: alice, camp-b, type "like", Nov 22
        self.n2 = self.notify([self.alice], "n2", campaign_id="camp-b", type="like",
                              date_started="2013-11-22T15:00:00Z")
        # n3: bob+carol, camp-a, type "like", Nov 21
        self.n3 = self.notify([self.bob, self.carol], "n3", campaign_id="camp-a", type="like",
                              date_started="2013-11-21T20:00:00Z")
        # n4: carol, no campaign, no type, Nov 23
        self.n4 = self.notify([self.carol], "n4", date_started="2013-11-23T15:00:00Z")
        self.d = {}
        for who in (self.alice, self.bob, self.carol):
            for o in self.native_feed(who):
                self.d[(o["notification_key"], who)] = o["id"]
        self.assertEqual(len(self.d), 6)

    def pairs(self, query):
        """The (libelle, target) pairs a LIST answers, in order."""
        lst, _ = self.lst(query + ("&" if "?" in query else "?") + "with=member&page_size=100")
        return [(o["name"], o["member"]["id"]) for o in lst]

    def pairset(self, query):
        return set(self.pairs(query))

    def test_no_filter(self):
        lst, st = self.lst()
        self.assertEqual(st, {"total": "6", "page_count": 1, "current_page": 1})
        self.assertEqual({o["id"] for o in lst}, set(self.d.values()))

    def test_id_guid(self):
        g = self.d[(self.n3, self.carol)]
        lst, st = self.lst(qs(id=g))
        self.assertEqual([o["id"] for o in lst], [g])
        self.assertEqual(st, {"total": "1", "page_count": 1, "current_page": 1})
        self.assertEqual(self.pairs(qs(id=g)), [("n3", self.carol)])
        # unknown GUID, the notification's own GUID: nothing
        for other in ("00000000-0000-0000-0000-000000000000",
                      self.v1("GET", "/v1/notifications/%d" % self.n3).body["id"]):
            lst, st = self.lst(qs(id=other))
            self.assertEqual((lst, st), ([], {"total": "0", "page_count": 0, "current_page": 1}))

    def test_id_notification_key(self):
        a, b = self.alice, self.bob
        self.assertEqual(self.pairset(qs(id=self.n1)), {("n1", a), ("n1", b)})
        self.assertEqual(self.lst(qs(id=self.n1))[1],
                         {"total": "2", "page_count": 1, "current_page": 1})
        self.assertEqual(self.pairset(qs(id=self.n4)), {("n4", self.carol)})
        self.assertEqual(self.lst(qs(id=999))[1], {"total": "0", "page_count": 0,
                                                   "current_page": 1})
        self.assertEqual(self.lst(qs(id=999))[0], [])

    def test_id_invalid(self):
        for bad in ("abc", "1.5", "0x1", "1e3", "3DA28600-9BA5-4750-A8EE", "", " 1",
                    "99999999999999999999"):
            with self.subTest(id=bad):
                self.assertApi3Error(self.api("GET", "/api3/notification" + qs(id=bad)), 400,
                                     names="id")

    def test_campaign(self):
        a, b, c = self.alice, self.bob, self.carol
        self.assertEqual(self.pairset(qs(campaign_id="camp-a")),
                         {("n1", a), ("n1", b), ("n3", b), ("n3", c)})
        self.assertEqual(self.total(qs(campaign_id="camp-a")), "4")
        self.assertEqual(self.pairset(qs(campaign_id="camp-b")), {("n2", a)})
        self.assertEqual(self.total(qs(campaign_id="camp-b")), "1")
        self.assertEqual(self.lst(qs(campaign_id="no-such")), ([], {"total": "0", "page_count": 0,
                                                                    "current_page": 1}))

    def test_member(self):
        a, b, c = self.alice, self.bob, self.carol
        self.assertEqual(self.pairset(qs(member_id=a)), {("n1", a), ("n2", a)})
        self.assertEqual(self.pairset(qs(member_id=b)), {("n1", b), ("n3", b)})
        self.assertEqual(self.pairset(qs(member_id=c)), {("n3", c), ("n4", c)})
        self.assertEqual(self.total(qs(member_id=c)), "2")
        self.assertEqual(self.total(qs(member_id="nobody")), "0")

    def test_type(self):
        a, b, c = self.alice, self.bob, self.carol
        self.assertEqual(self.pairset(qs(notification_type="like")),
                         {("n2", a), ("n3", b), ("n3", c)})
        self.assertEqual(self.total(qs(notification_type="like")), "3")
        self.assertEqual(self.pairset(qs(notification_type="comment")), {("n1", a), ("n1", b)})
        self.assertEqual(self.total(qs(notification_type="Like")), "0")

    def test_date_started(self):
        a, b, c = self.alice, self.bob, self.carol
        self.assertEqual(self.pairset(qs(date_started="11/21/2013")),
                         {("n1", a), ("n1", b), ("n3", b), ("n3", c)})
        self.assertEqual(self.total(qs(date_started="11/21/2013")), "4")
        self.assertEqual(self.pairset(qs(date_started="11/22/2013")), {("n2", a)})
        self.assertEqual(self.pairset(qs(date_started="11/23/2013")), {("n4", c)})
        self.assertEqual(self.total(qs(date_started="11/24/2013")), "0")

    def test_combined(self):
        a, b, c = self.alice, self.bob, self.carol
        cases = [
            (dict(campaign_id="camp-a", member_id=b), {("n1", b), ("n3", b)}),
            (dict(campaign_id="camp-a", notification_type="like"), {("n3", b), ("n3", c)}),
            (dict(campaign_id="camp-a", notification_type="like", member_id=c), {("n3", c)}),
            (dict(member_id=a, date_started="11/22/2013"), {("n2", a)}),
            (dict(member_id=a, date_started="11/23/2013"), set()),
            (dict(id=self.n1, member_id=b), {("n1", b)}),
            (dict(id=self.n1, campaign_id="camp-b"), set()),
            (dict(id=self.d[(self.n2, a)], member_id=a), {("n2", a)}),
            (dict(id=self.d[(self.n2, a)], member_id=b), set()),
            (dict(notification_type="like", date_started="11/21/2013"), {("n3", b), ("n3", c)}),
            (dict(campaign_id="camp-a", member_id=c, notification_type="like",
                  date_started="11/21/2013", id=self.n3), {("n3", c)}),
            (dict(campaign_id="camp-a", member_id=c, notification_type="comment"), set()),
        ]
        for params, want in cases:
            with self.subTest(params=params):
                self.assertEqual(self.pairset(qs(**params)), want)
                self.assertEqual(self.total(qs(**params)), str(len(want)))

    def test_date_completed_and_combination(self):
        a, b, c = self.alice, self.bob, self.carol
        # Nov 25 in New York: 2013-11-25T05:00Z .. 2013-11-26T05:00Z
        self.event(a, self.n1, "complete", "2013-11-25T05:00:00Z")        # first local instant
        self.event(b, self.n1, "complete", "2013-11-25T04:59:59.999Z")    # Nov 24 local
        self.event(b, self.n3, "complete", "2013-11-26T04:59:59.999Z")    # last local ms
        self.event(c, self.n3, "complete", "2013-11-26T05:00:00Z")        # Nov 26 local
        self.event(a, self.n2, "read", "2013-11-25T12:00:00Z")            # not a completion
        # the first completion is kept: a later one does not move n4/carol into Nov 25
        self.event(c, self.n4, "complete", "2013-11-27T12:00:00Z")
        self.event(c, self.n4, "complete", "2013-11-25T12:00:00Z")
        self.assertEqual(self.pairset(qs(date_completed="11/25/2013")), {("n1", a), ("n3", b)})
        self.assertEqual(self.total(qs(date_completed="11/25/2013")), "2")
        self.assertEqual(self.pairset(qs(date_completed="11/24/2013")), {("n1", b)})
        self.assertEqual(self.pairset(qs(date_completed="11/26/2013")), {("n3", c)})
        self.assertEqual(self.pairset(qs(date_completed="11/27/2013")), {("n4", c)})
        self.assertEqual(self.total(qs(date_completed="11/21/2013")), "0")
        # combined with date_started and the other filters
        self.assertEqual(self.pairset(qs(date_completed="11/25/2013", date_started="11/21/2013")),
                         {("n1", a), ("n3", b)})
        self.assertEqual(self.pairset(qs(date_completed="11/25/2013", date_started="11/22/2013")),
                         set())
        self.assertEqual(self.pairset(qs(date_completed="11/25/2013", member_id=b)), {("n3", b)})
        self.assertEqual(self.pairset(qs(date_completed="11/25/2013", notification_type="comment",
                                         campaign_id="camp-a")), {("n1", a)})
        self.assertEqual(self.pairset(qs(date_completed="11/25/2013", id=self.n3)), {("n3", b)})
        # in Tokyo the same events fall on other local days
        self.set_zone("Asia/Tokyo")
        self.assertEqual(self.pairset(qs(date_completed="11/25/2013")), {("n1", a), ("n1", b)})
        self.assertEqual(self.pairset(qs(date_completed="11/26/2013")), {("n3", b), ("n3", c)})

    def test_unknown_parameters_ignored(self):
        self.assertEqual(self.total("?foo=bar&visible=1&score=2"), "6")
        self.assertEqual(self.total(qs(member_id=self.alice, whatever="x")), "2")

    def test_bad_filters(self):
        bad_dates = ["2013-11-21", "11/21/13", "11-21-2013", "13/01/2013", "00/10/2013",
                     "11/00/2013", "11/32/2013", "02/30/2013", "02/29/2013", "", "abc",
                     "11/21/2013 ", "11/21/20133", "11/21/2013T00", "+11/21/2013",
                     "11/21/-013", "11/21/0999", "11/21/2013/", "1/2/", "1/2/2013/",
                     "1/2/20131"]
        for name in ("date_started", "date_completed"):
            for v in bad_dates:
                with self.subTest(param=name, value=v):
                    r = self.api("GET", "/api3/notification" + qs(**{name: v}))
                    self.assertApi3Error(r, 400, names=name)
        # a leap day is a date
        self.assertEqual(self.total(qs(date_started="02/29/2012")), "0")
        long_id = "x" * 129
        for name in ("campaign_id", "member_id", "notification_type"):
            with self.subTest(param=name):
                r = self.api("GET", "/api3/notification" + qs(**{name: long_id}))
                self.assertApi3Error(r, 400, names=name)
                self.assertEqual(self.total(qs(**{name: "x" * 128})), "0")
        # empty, and an escape that decodes to nothing
        for name in ("campaign_id", "member_id", "notification_type", "date_started",
                     "date_completed", "id"):
            for raw in ("", "%ZZ"):
                with self.subTest(param=name, raw=raw):
                    r = self.api("GET", "/api3/notification?%s=%s" % (name, raw))
                    self.assertApi3Error(r, 400, names=name)
        for q, name in (("?with=members", "with"), ("?format=csv", "format"),
                        ("?format=XMLX", "format")):
            with self.subTest(query=q):
                self.assertApi3Error(self.api("GET", "/api3/notification" + q), 400, names=name)


class TestDayWindows(Api3Case):
    """MM/DD/YYYY is local midnight to local midnight in the tenant's zone."""

    def make(self, t, stamps):
        for label, when in stamps.items():
            self.notify(t, label, date_started=when)

    def day(self, date, field="date_started"):
        return sorted(self.names(qs(**{field: date}) + "&page_size=100"))

    def test_midnight_edges_new_york(self):
        t = self.uid("edge")
        self.make(t, {
            "before": "2013-11-21T04:59:59.999Z",   # Nov 20, 23:59:59.999 EST
            "midnight": "2013-11-21T05:00:00Z",     # Nov 21, 00:00 EST
            "noon": "2013-11-21T17:00:00Z",
            "last": "2013-11-22T04:59:59.999Z",     # Nov 21, 23:59:59.999
            "next": "2013-11-22T05:00:00Z",         # Nov 22, 00:00
        })
        self.assertEqual(self.day("11/21/2013"), ["last", "midnight", "noon"])
        self.assertEqual(self.day("11/20/2013"), ["before"])
        self.assertEqual(self.day("11/22/2013"), ["next"])
        self.assertEqual(self.total(qs(date_started="11/21/2013")), "3")

    def test_window_moves_with_zone(self):
        t = self.uid("zones")
        stamps = {
            "p": "2013-11-20T14:59:59.999Z",
            "q": "2013-11-20T15:00:00Z",          # Tokyo midnight Nov 21
            "a": "2013-11-20T18:29:59.999Z",
            "b": "2013-11-20T18:30:00Z",          # Kolkata (+05:30) midnight Nov 21
            "r": "2013-11-20T22:59:59.999Z",
            "s": "2013-11-20T23:00:00Z",          # Paris midnight Nov 21
            "u": "2013-11-21T04:59:59.999Z",
            "v": "2013-11-21T05:00:00Z",          # New York midnight Nov 21
            "w": "2013-11-21T14:59:59.999Z",
            "x": "2013-11-21T15:00:00Z",          # Tokyo midnight Nov 22
            "c": "2013-11-21T18:30:00Z",          # Kolkata midnight Nov 22
            "y": "2013-11-21T23:00:00Z",          # Paris midnight Nov 22
            "z": "2013-11-22T05:00:00Z",          # New York midnight Nov 22
        }
        self.make(t, stamps)
        expected = {
            "America/New_York": {"11/20/2013": "abpqrsu", "11/21/2013": "cvwxy",
                                 "11/22/2013": "z"},
            "Asia/Tokyo": {"11/20/2013": "p", "11/21/2013": "abqrsuvw", "11/22/2013": "cxyz"},
            "Europe/Paris": {"11/20/2013": "abpqr", "11/21/2013": "csuvwx",
                             "11/22/2013": "yz"},
            "UTC": {"11/20/2013": "abpqrs", "11/21/2013": "cuvwxy", "11/22/2013": "z"},
            "Asia/Kolkata": {"11/20/2013": "apq", "11/21/2013": "brsuvwx",
                             "11/22/2013": "cyz"},
        }
        for zone, days in expected.items():
            # cross-check the hand-written table against Python's tz database
            for date, labels in days.items():
                mm, dd, yy = (int(x) for x in date.split("/"))
                calc = "".join(sorted(k for k, v in stamps.items()
                                      if at(v).astimezone(zoneinfo.ZoneInfo(zone)).date()
                                      == datetime.date(yy, mm, dd)))
                self.assertEqual(calc, labels, (zone, date))
            if zone != "America/New_York":
                self.set_zone(zone)
            self.assertEqual(self.v1("GET", "/v1/tenant").body["time_zone"], zone)
            for date, labels in days.items():
                with self.subTest(zone=zone, date=date):
                    self.assertEqual(self.day(date), list(labels))
                    self.assertEqual(self.total(qs(date_started=date)), str(len(labels)))
        # back to New York
        self.set_zone("America/New_York")
        self.assertEqual(self.day("11/21/2013"), list("cvwxy"))

    def test_dst_fall_back_25_hours(self):
        t = self.uid("fall")
        # Nov 3 2013 in New York: 04:00Z (EDT) .. Nov 4 05:00Z (EST), 25 hours
        self.make(t, {
            "a-before": "2013-11-03T03:59:59.999Z",
            "b-start": "2013-11-03T04:00:00Z",
            "c-0130-edt": "2013-11-03T05:30:00Z",
            "d-0130-est": "2013-11-03T06:30:00Z",
            "e-2330": "2013-11-04T04:30:00Z",
            "f-last": "2013-11-04T04:59:59.999Z",
            "g-next": "2013-11-04T05:00:00Z",
        })
        self.assertEqual(self.day("11/03/2013"),
                         ["b-start", "c-0130-edt", "d-0130-est", "e-2330", "f-last"])
        self.assertEqual(self.day("11/02/2013"), ["a-before"])
        self.assertEqual(self.day("11/04/2013"), ["g-next"])
        self.assertEqual(self.total(qs(date_started="11/03/2013")), "5")
        # the shown date agrees with the filter
        lst, _ = self.lst(qs(date_started="11/03/2013"))
        self.assertEqual({o["date"] for o in lst}, {"Nov 3 2013"})

    def test_dst_spring_forward_23_hours(self):
        t = self.uid("spring")
        # Mar 10 2013 in New York: 05:00Z (EST) .. Mar 11 04:00Z (EDT), 23 hours
        self.make(t, {
            "a-before": "2013-03-10T04:59:59.999Z",
            "b-start": "2013-03-10T05:00:00Z",
            "c-0330-edt": "2013-03-10T07:30:00Z",
            "d-last": "2013-03-11T03:59:59.999Z",
            "e-next": "2013-03-11T04:00:00Z",
        })
        self.assertEqual(self.day("03/10/2013"), ["b-start", "c-0330-edt", "d-last"])
        self.assertEqual(self.day("03/09/2013"), ["a-before"])
        self.assertEqual(self.day("03/11/2013"), ["e-next"])

    def test_date_completed_edges_and_dst(self):
        t = self.uid("done")
        keys = {}
        for label in ("before", "midnight", "last", "next", "dst"):
            keys[label] = self.notify(t, label, date_started="2013-01-01T12:00:00Z")
        self.event(t, keys["before"], "complete", "2013-11-03T03:59:59.999Z")
        self.event(t, keys["midnight"], "complete", "2013-11-03T04:00:00Z")
        self.event(t, keys["dst"], "complete", "2013-11-04T04:30:00Z")
        self.event(t, keys["last"], "complete", "2013-11-04T04:59:59.999Z")
        self.event(t, keys["next"], "complete", "2013-11-04T05:00:00Z")
        self.assertEqual(self.day("11/03/2013", "date_completed"), ["dst", "last", "midnight"])
        self.assertEqual(self.day("11/02/2013", "date_completed"), ["before"])
        self.assertEqual(self.day("11/04/2013", "date_completed"), ["next"])
        self.assertEqual(self.total(qs(date_completed="11/03/2013")), "3")
        self.set_zone("Europe/Paris")
        self.assertEqual(self.day("11/03/2013", "date_completed"), ["before", "midnight"])
        self.assertEqual(self.day("11/04/2013", "date_completed"), ["dst", "last", "next"])
        # routing day and completion day are independent
        self.assertEqual(self.day("01/01/2013"), ["before", "dst", "last", "midnight", "next"])
        self.assertEqual(sorted(self.names(qs(date_started="01/01/2013",
                                              date_completed="11/03/2013"))),
                         ["before", "midnight"])
        self.assertEqual(self.total(qs(date_started="01/02/2013", date_completed="11/03/2013")),
                         "0")


# ---------------------------------------------------------------------------
# LIST: paging
# ---------------------------------------------------------------------------

class TestPaging(Api3Case):
    def test_default_page_size_and_past_last(self):
        t = [self.uid("p%02d" % i) for i in range(25)]
        self.notify(t, "many", date_started=VENDOR_STARTED)
        lst, st = self.lst()
        self.assertEqual(len(lst), 20)
        self.assertEqual(st, {"total": "25", "page_count": 2, "current_page": 1})
        lst2, st2 = self.lst("?page=2")
        self.assertEqual(len(lst2), 5)
        self.assertEqual(st2, {"total": "25", "page_count": 2, "current_page": 2})
        self.assertEqual(len({o["id"] for o in lst + lst2}), 25)
        for page in (3, 4, 1000):
            with self.subTest(page=page):
                lst3, st3 = self.lst("?page=%d" % page)
                self.assertEqual(lst3, [])
                self.assertEqual(st3, {"total": "25", "page_count": 2, "current_page": page})
        # the vendor's example: page=3&page_size=2
        lst, st = self.lst("?page=3&page_size=2")
        self.assertEqual(len(lst), 2)
        self.assertEqual(st, {"total": "25", "page_count": 13, "current_page": 3})
        lst, st = self.lst("?page_size=5&page=5")
        self.assertEqual((len(lst), st), (5, {"total": "25", "page_count": 5, "current_page": 5}))
        lst, st = self.lst("?page_size=25")
        self.assertEqual((len(lst), st), (25, {"total": "25", "page_count": 1, "current_page": 1}))
        lst, st = self.lst("?page_size=24&page=2")
        self.assertEqual((len(lst), st), (1, {"total": "25", "page_count": 2, "current_page": 2}))

    def test_max_page_size(self):
        t = [self.uid("big%03d" % i) for i in range(101)]
        self.notify(t, "lots", date_started=VENDOR_STARTED)
        lst, st = self.lst("?page_size=100")
        self.assertEqual((len(lst), st), (100, {"total": "101", "page_count": 2,
                                                "current_page": 1}))
        lst2, st2 = self.lst("?page_size=100&page=2")
        self.assertEqual((len(lst2), st2), (1, {"total": "101", "page_count": 2,
                                                "current_page": 2}))
        self.assertEqual(len({o["id"] for o in lst + lst2}), 101)
        lst, st = self.lst("?page_size=1&page=101")
        self.assertEqual((len(lst), st), (1, {"total": "101", "page_count": 101,
                                              "current_page": 101}))

    def test_empty_tenant(self):
        lst, st = self.lst()
        self.assertEqual((lst, st), ([], {"total": "0", "page_count": 0, "current_page": 1}))
        lst, st = self.lst("?page=2&page_size=7")
        self.assertEqual((lst, st), ([], {"total": "0", "page_count": 0, "current_page": 2}))

    def test_invalid_paging(self):
        self.notify(self.uid("x"), "x", date_started=VENDOR_STARTED)
        bad = ["0", "-1", "abc", "1.5", "", "1e1", "0x10", " 5", "5 ", "+5", "99999999999999999999"]
        for v in bad + ["101", "1000"]:
            with self.subTest(page_size=v):
                r = self.api("GET", "/api3/notification" + qs(page_size=v))
                self.assertApi3Error(r, 400, names="page_size")
        for v in [b for b in bad if b != "99999999999999999999"]:
            with self.subTest(page=v):
                r = self.api("GET", "/api3/notification" + qs(page=v))
                self.assertApi3Error(r, 400, names="page")
        # boundaries that are fine
        self.assertEqual(self.lst("?page_size=1")[1]["page_count"], 1)
        self.assertEqual(self.lst("?page_size=100&page=1")[1]["current_page"], 1)

    def test_far_pages_are_empty(self):
        # docs/compat.md: page is "1 or more"; a page past the last is an empty list
        self.notify(self.uid("x"), "x", date_started=VENDOR_STARTED)
        for page in (100000000, 100000001, 2147483647):
            with self.subTest(page=page):
                lst, st = self.lst("?page_size=100&page=%d" % page)
                self.assertEqual((lst, st), ([], {"total": "1", "page_count": 1,
                                                  "current_page": page}))


# ---------------------------------------------------------------------------
# LIST: order
# ---------------------------------------------------------------------------

class TestOrder(Api3Case):
    def setUp(self):
        super().setUp()
        self.t = self.uid("ord")
        self.rows = {}
        # (title, type, date_started), created in this order with a pause so
        # creation times differ; key order differs from routing order
        spec = [("charlie", "b-type", "2013-11-02T12:00:00Z"),
                ("alpha", "c-type", "2013-11-05T12:00:00Z"),
                ("bravo", "a-type", "2013-11-01T12:00:00Z"),
                ("delta", "b-type", "2013-11-04T12:00:00Z"),
                ("echo", "a-type", "2013-11-03T12:00:00Z")]
        for title, typ, started in spec:
            nk = self.notify(self.t, title, type=typ, date_started=started)
            self.rows[title] = {"key": nk, "type": typ, "started": started}
            time.sleep(0.005)
        for title, row in self.rows.items():
            row["id"] = self.did(self.t, row["key"])
            row["created"] = self.v1("GET", "/v1/notifications/%d" % row["key"]).body["created_at"]
        self.assertEqual(len({r["created"] for r in self.rows.values()}), 5,
                         "creation times must differ for the date_created check")
        self.by_id = {r["id"]: title for title, r in self.rows.items()}

    def order(self, order, extra=""):
        return [o["name"] for o in self.lst(qs(order=order) + extra + "&page_size=100")[0]]

    def bad(self, order):
        r = self.api("GET", "/api3/notification" + qs(order=order))
        self.assertApi3Error(r, 400, names="order")

    def test_default_is_date_started_desc(self):
        want = ["alpha", "delta", "echo", "charlie", "bravo"]
        self.assertEqual(self.names(), want)
        self.assertEqual(self.order("date_started DESC"), want)
        self.assertEqual(self.order("date_started asc"), want[::-1])
        self.assertEqual(self.order("date_started"), want[::-1])  # ASC by default
        self.assertEqual(self.order("timestamp DESC"), want)
        self.assertEqual(self.order("timestamp"), want[::-1])

    def test_title(self):
        want = ["alpha", "bravo", "charlie", "delta", "echo"]
        self.assertEqual(self.order("title"), want)
        self.assertEqual(self.order("title ASC"), want)
        self.assertEqual(self.order("title DESC"), want[::-1])
        self.assertEqual(self.order("name desc"), want[::-1])

    def test_type(self):
        asc = self.order("notification_type ASC")
        self.assertEqual([self.rows[n]["type"] for n in asc],
                         ["a-type", "a-type", "b-type", "b-type", "c-type"])
        desc = self.order("notification_code DESC")
        self.assertEqual([self.rows[n]["type"] for n in desc],
                         ["c-type", "b-type", "b-type", "a-type", "a-type"])
        self.assertEqual(self.order("notification_type ASC, date_started DESC"),
                         ["echo", "bravo", "delta", "charlie", "alpha"])
        self.assertEqual(self.order("notification_type DESC, title ASC"),
                         ["alpha", "charlie", "delta", "bravo", "echo"])

    def test_read(self):
        for title in ("alpha", "delta"):
            self.event(self.t, self.rows[title]["key"], "read", "2013-12-01T00:00:00Z")
        self.assertEqual(self.order("read ASC, title ASC"),
                         ["bravo", "charlie", "echo", "alpha", "delta"])
        self.assertEqual(self.order("read DESC, title DESC"),
                         ["delta", "alpha", "echo", "charlie", "bravo"])
        lst = self.lst(qs(order="read"))[0]
        self.assertEqual([o["read"] for o in lst], [False, False, False, True, True])

    def test_id_and_key(self):
        ids = sorted(self.by_id)
        self.assertEqual(self.order("id"), [self.by_id[i] for i in ids])
        self.assertEqual(self.order("id DESC"), [self.by_id[i] for i in ids[::-1]])
        by_key = sorted(self.rows, key=lambda n: self.rows[n]["key"])
        self.assertEqual(by_key, ["charlie", "alpha", "bravo", "delta", "echo"])
        self.assertEqual(self.order("notification_key"), by_key)
        self.assertEqual(self.order("notification_key DESC"), by_key[::-1])

    def test_date_created(self):
        created = ["charlie", "alpha", "bravo", "delta", "echo"]
        self.assertEqual(self.order("date_created"), created)
        self.assertEqual(self.order("date_created DESC"), created[::-1])

    def test_date_modified(self):
        created = ["charlie", "alpha", "bravo", "delta", "echo"]
        self.assertEqual(self.order("date_modified ASC"), created)
        # an event is a change: recorded now, whatever its "at"
        self.event(self.t, self.rows["bravo"]["key"], "impression")
        time.sleep(0.005)
        self.event(self.t, self.rows["charlie"]["key"], "read", "2013-11-01T00:00:00Z")
        self.assertEqual(self.order("date_modified DESC"),
                         ["charlie", "bravo", "echo", "delta", "alpha"])
        self.assertEqual(self.order("date_modified"),
                         ["alpha", "delta", "echo", "bravo", "charlie"])

    def test_date_completed(self):
        self.event(self.t, self.rows["charlie"]["key"], "complete", "2013-12-01T15:00:00Z")
        self.event(self.t, self.rows["alpha"]["key"], "complete", "2013-12-01T13:00:00Z")
        self.event(self.t, self.rows["bravo"]["key"], "complete", "2013-12-01T20:00:00Z")
        self.event(self.t, self.rows["echo"]["key"], "complete", "2013-12-03T20:00:00Z")
        day = "&" + urllib.parse.urlencode({"date_completed": "12/01/2013"})
        self.assertEqual(self.order("date_completed", day), ["alpha", "charlie", "bravo"])
        self.assertEqual(self.order("date_completed DESC", day), ["bravo", "charlie", "alpha"])
        # over everything, the completed ones keep their relative order
        for direction, want in (("ASC", ["alpha", "charlie", "bravo", "echo"]),
                                ("DESC", ["echo", "bravo", "charlie", "alpha"])):
            got = self.order("date_completed " + direction)
            self.assertEqual(sorted(got), sorted(self.rows))
            self.assertEqual([n for n in got if n != "delta"], want)

    def test_multiple_terms_case_and_spaces(self):
        want = ["echo", "bravo", "delta", "charlie", "alpha"]
        for order in ("notification_type ASC, date_started DESC",
                      "NOTIFICATION_TYPE asc,DATE_STARTED desc",
                      "  notification_type   Asc ,   date_started\tDesc  ",
                      "Notification_Code aSc, Timestamp DeSc",
                      "notification_type, date_started DESC, title ASC, id",
                      "notification_type asc, date_started desc, title, notification_key desc"):
            with self.subTest(order=order):
                self.assertEqual(self.order(order), want)

    def test_invalid_orders(self):
        before = self.lst("?page_size=100")
        bad = [
            "date_started; DROP TABLE deliveries", "date_started DESC--",
            "date_started DESC; --", "(select 1)", "date_started ASC, ", ",date_started",
            "date_started,,title", "1", "2 DESC", "'date_started'", "\"date_started\"",
            "date_started' OR '1'='1", "date_started ASC DESC", "date_started UP",
            "date_started DESCENDING", "date_started NULLS FIRST", "date_started COLLATE NOCASE",
            "date_started DESC LIMIT 1", "title||id", "random()", "date_started/*x*/",
            "", " ", "date-started", "title,", "id DESC, (CASE WHEN 1 THEN id END)",
            "date_started\x00", "title DESC\ntitle",
            # known attributes of other objects, and unknown names
            "score", "visible", "anonymous", "foo", "score DESC", "visible ASC, title",
            "title, anonymous", "member_id", "campaign_id", "rowid", "guid",
            # duplicates, also through aliases and in different cases
            "title, title", "title ASC, title DESC", "date_started, DATE_STARTED DESC",
            # a direction alone, odd characters, over-long text
            "DESC", "ASC", "asc, title", "title DESC,", "t\u00eftle", "title\u00a0DESC",
            "title " + "DESC " * 300,
            # more than four terms
            "title, id, read, date_created, notification_key",
        ]
        for order in bad:
            with self.subTest(order=order):
                self.bad(order)
        # nothing was harmed
        self.assertEqual(self.lst("?page_size=100"), before)
        self.assertEqual(len(self.native_feed(self.t)), 5)
        self.assertEqual(self.v1("GET", "/v1/notifications/1").body["deliveries"], 1)
        # four terms are fine
        self.assertEqual(self.order("title, id, read, date_created"),
                         ["alpha", "bravo", "charlie", "delta", "echo"])

    def test_injection_with_encoding(self):
        for raw in ("date_started%3B%20DROP%20TABLE%20deliveries",
                    "date_started%20DESC--", "%28select%201%29", "date_started+ASC%2C+",
                    "1", "%27%27", "%22%22", "title%00", "title%2C%20id%2C%20read%2C%20date_"
                    "created%2C%20date_modified"):
            with self.subTest(order=raw):
                r = self.api("GET", "/api3/notification?order=" + raw)
                self.assertApi3Error(r, 400, names="order")
        self.assertEqual(self.total(), "5")
        # '+' is a space under form decoding
        self.assertEqual([o["name"] for o in
                          self.lst("?order=title+DESC&page_size=100")[0]],
                         ["echo", "delta", "charlie", "bravo", "alpha"])


class TestDeterministicPaging(Api3Case):
    def test_walk_all_pages(self):
        targets = [self.uid("w%d" % i) for i in range(3)]
        # ties everywhere: equal routing times, titles, types; several targets each
        specs = [("same", "t1", "2013-11-21T12:00:00Z"), ("same", "t1", "2013-11-21T12:00:00Z"),
                 ("same", "t2", "2013-11-21T12:00:00Z"), ("other", "t1", "2013-11-20T12:00:00Z"),
                 ("other", "t2", "2013-11-21T12:00:00Z"), ("same", "t2", "2013-11-22T12:00:00Z")]
        for title, typ, started in specs:
            self.notify(targets, title, type=typ, date_started=started)
        # some reads, so "read" has ties too
        self.event(targets[0], 1, "read")
        self.event(targets[1], 3, "read")
        self.event(targets[2], 5, "complete", "2013-12-01T00:00:00Z")
        n = len(specs) * len(targets)
        everything = set(self.ids("?page_size=100"))
        self.assertEqual(len(everything), n)
        for order in (None, "date_started", "date_started DESC", "title", "notification_type DESC",
                      "read", "read DESC, title", "date_completed", "date_created DESC",
                      "notification_key", "date_modified"):
            base = "?" + (urllib.parse.urlencode({"order": order}) + "&" if order else "")
            full = self.ids(base + "page_size=100")
            self.assertEqual(set(full), everything, order)
            self.assertEqual(self.ids(base + "page_size=100"), full, "repeatable: %r" % order)
            for size in (1, 2, 3):
                with self.subTest(order=order, page_size=size):
                    walked = []
                    pages = math.ceil(n / size)
                    for page in range(1, pages + 2):
                        lst, st = self.lst(base + "page_size=%d&page=%d" % (size, page))
                        self.assertEqual(st, {"total": str(n), "page_count": pages,
                                              "current_page": page})
                        self.assertEqual(len(lst), max(0, min(size, n - (page - 1) * size)))
                        walked += [o["id"] for o in lst]
                    self.assertEqual(len(walked), len(set(walked)), "duplicates")
                    self.assertEqual(set(walked), everything, "missing")
                    self.assertEqual(walked, full)


# ---------------------------------------------------------------------------
# DELETE /api3/notification/{id}
# ---------------------------------------------------------------------------

SUCCESS = {"message": "success", "code": 200}


class TestDelete(Api3Case):
    def setUp(self):
        super().setUp()
        self.me, self.other = self.uid("me"), self.uid("other")
        self.campaign("camp")
        self.nk = self.notify([self.me, self.other], "for both", campaign_id="camp",
                              type="kind", date_started="2013-11-21T12:00:00Z")
        self.nk2 = self.notify([self.me], "mine only", campaign_id="camp", type="kind",
                               date_started="2013-11-21T13:00:00Z")
        self.mine = self.did(self.me, self.nk)
        self.mine2 = self.did(self.me, self.nk2)
        self.theirs = self.did(self.other, self.nk)

    def delete(self, guid, key=None, auth="bearer", query=""):
        return self.api("DELETE", "/api3/notification/%s%s" % (guid, query), key=key, auth=auth)

    def assertDeleted(self, r):
        self.assertEqual((r.status, r.body), (200, SUCCESS))
        self.assertJsonType(r)

    def assertGone(self, guid, target, nkey):
        self.assertNotFound(self.api("GET", "/api3/notification/" + guid))
        self.assertNotIn(guid, self.ids("?page_size=100"))
        self.assertEqual(self.lst(qs(id=guid)), ([], {"total": "0", "page_count": 0,
                                                       "current_page": 1}))
        self.assertNotIn(guid, [o["id"] for o in self.native_feed(target)])
        r = self.req("GET", "/targets/%s/notifications" % enc(target), key=self.k)
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn(nkey, [o["notification_key"] for o in r.body])

    def test_admin_deletes(self):
        self.event(self.me, self.nk, "complete", "2013-11-25T12:00:00Z")
        self.event(self.other, self.nk, "complete", "2013-11-25T13:00:00Z")
        totals = {q: self.total(q) for q in ("", qs(member_id=self.me), qs(id=self.nk),
                                            qs(campaign_id="camp"), qs(notification_type="kind"),
                                            qs(date_started="11/21/2013"),
                                            qs(date_completed="11/25/2013"))}
        self.assertEqual(totals, {"": "3", qs(member_id=self.me): "2", qs(id=self.nk): "2",
                                  qs(campaign_id="camp"): "3", qs(notification_type="kind"): "3",
                                  qs(date_started="11/21/2013"): "3",
                                  qs(date_completed="11/25/2013"): "2"})
        self.assertDeleted(self.delete(self.mine))
        self.assertGone(self.mine, self.me, self.nk)
        self.assertEqual({q: self.total(q) for q in totals},
                         {"": "2", qs(member_id=self.me): "1", qs(id=self.nk): "1",
                          qs(campaign_id="camp"): "2", qs(notification_type="kind"): "2",
                          qs(date_started="11/21/2013"): "2",
                          qs(date_completed="11/25/2013"): "1"})
        self.assertEqual(self.ids(qs(date_completed="11/25/2013")), [self.theirs])
        # the other recipient of the same notification is untouched
        self.assertEqual(self.get(self.theirs)["name"], "for both")
        self.assertEqual([o["notification_key"] for o in self.native_feed(self.me)], [self.nk2])
        self.assertEqual([o["notification_key"] for o in self.native_feed(self.other)], [self.nk])
        self.assertEqual(self.v1("GET", "/v1/notifications/%d" % self.nk).body["deliveries"], 1)
        # deleting again: 404, and the counters do not move twice
        self.assertNotFound(self.delete(self.mine))
        self.assertEqual(self.total(), "2")
        self.assertEqual(self.total(qs(member_id=self.me)), "1")
        # an admin deletes the other member's delivery too
        self.assertDeleted(self.delete(self.theirs, auth="x-key"))
        self.assertGone(self.theirs, self.other, self.nk)
        self.assertEqual(self.total(), "1")
        self.assertEqual(self.total(qs(id=self.nk)), "0")
        self.assertEqual(self.lst(qs(id=self.nk))[1], {"total": "0", "page_count": 0,
                                                       "current_page": 1})
        self.assertEqual(self.v1("GET", "/v1/notifications/%d" % self.nk).body["deliveries"], 0)

    def test_deleted_delivery_refuses_events(self):
        self.assertDeleted(self.delete(self.mine))
        r = self.v1("POST", "/v1/targets/%s/events" % enc(self.me),
                    {"notification_key": self.nk, "type": "read"})
        self.assertEqual(r.status, 404, r.body)
        self.assertEqual(self.total(qs(member_id=self.me)), "1")

    def test_member_key_own_only(self):
        mk = self.member_key(self.me)["key"]
        total = self.total()
        # another member's delivery: the one 404, nothing deleted
        for auth in ("bearer", "x-key"):
            self.assertNotFound(self.delete(self.theirs, key=mk, auth=auth))
        self.assertEqual(self.get(self.theirs)["id"], self.theirs)
        self.assertEqual(self.total(), total)
        # its own: deleted (both auth headers work)
        self.assertDeleted(self.delete(self.mine, key=mk))
        self.assertDeleted(self.delete(self.mine2, key=mk, auth="x-key"))
        self.assertGone(self.mine, self.me, self.nk)
        self.assertGone(self.mine2, self.me, self.nk2)
        self.assertEqual(self.total(), "1")
        self.assertEqual(self.total(qs(member_id=self.me)), "0")
        self.assertEqual(self.native_feed(self.me, key=mk), [])
        # twice, unknown, non-GUID: the one 404
        for guid in (self.mine, "00000000-0000-0000-0000-000000000000", "1695", "abc"):
            with self.subTest(id=guid):
                self.assertNotFound(self.delete(guid, key=mk))
        # the other member's key deletes its own
        ok = self.member_key(self.other)["key"]
        self.assertDeleted(self.delete(self.theirs, key=ok))
        self.assertEqual(self.total(), "0")

    def test_other_tenant_404(self):
        _, kb = self.new_tenant()
        # B has deliveries of its own, to the same target ids
        nkb = self.notify([self.me], "tenant B", key=kb, date_started="2013-11-21T12:00:00Z")
        self.assertEqual(nkb, 1)
        bguid = self.did(self.me, nkb, key=kb)
        self.assertNotFound(self.delete(self.mine, key=kb))
        self.assertNotFound(self.api("GET", "/api3/notification/" + self.mine, key=kb))
        self.assertEqual(self.lst(qs(id=self.mine), key=kb)[0], [])
        self.assertEqual(self.lst(key=kb)[1]["total"], "1")
        # B's member key for the same target id
        mb = self.member_key(self.me, key=kb)["key"]
        self.assertNotFound(self.delete(self.mine, key=mb))
        # A's keys cannot touch B's delivery either
        self.assertNotFound(self.delete(bguid))
        self.assertNotFound(self.delete(bguid, key=self.member_key(self.me)["key"]))
        # nothing changed on either side
        self.assertEqual(self.total(), "3")
        self.assertEqual(self.get(self.mine)["id"], self.mine)
        self.assertEqual(self.get(bguid, key=kb)["name"], "tenant B")
        # id=1 in each tenant is that tenant's notification
        self.assertEqual(self.names(qs(id=1)), ["for both", "for both"])
        self.assertEqual([o["name"] for o in self.lst(qs(id=1), key=kb)[0]], ["tenant B"])
        self.assertDeleted(self.delete(bguid, key=mb))
        self.assertEqual(self.total(), "3")

    def test_format_and_bad_params(self):
        self.assertDeleted(self.delete(self.mine, query="?format=json"))
        r = self.delete(self.mine2, query="?format=csv")
        self.assertApi3Error(r, 400, names="format")
        self.assertEqual(self.get(self.mine2)["id"], self.mine2)   # nothing deleted

    def test_native_target_delete_updates_totals(self):
        self.assertEqual(self.total(qs(member_id=self.me)), "2")
        self.v1("DELETE", "/v1/targets/" + enc(self.me), status=204)
        self.assertEqual(self.total(), "1")
        self.assertEqual(self.total(qs(member_id=self.me)), "0")
        self.assertEqual(self.total(qs(id=self.nk)), "1")
        self.assertEqual(self.total(qs(campaign_id="camp")), "1")
        self.assertEqual(self.total(qs(notification_type="kind")), "1")
        self.assertNotFound(self.api("GET", "/api3/notification/" + self.mine))
        self.assertNotFound(self.delete(self.mine))


# ---------------------------------------------------------------------------
# Authentication, methods, one 404 body
# ---------------------------------------------------------------------------

class TestAuth(Api3Case):
    def setUp(self):
        super().setUp()
        self.t = self.uid("auth")
        self.nk = self.notify(self.t, "x", date_started=VENDOR_STARTED)
        self.guid = self.did(self.t, self.nk)

    def routes(self):
        return [("GET", "/api3/notification/" + self.guid),
                ("GET", "/api3/notification"),
                ("GET", "/api3/notification?page=2&order=title"),
                ("DELETE", "/api3/notification/" + self.guid)]

    def test_bearer_and_x_key(self):
        for auth in ("bearer", "x-key"):
            with self.subTest(auth=auth):
                self.assertEqual(self.get(self.guid, auth=auth)["id"], self.guid)
                self.assertEqual(self.lst(auth=auth)[1]["total"], "1")
        r = self.api("DELETE", "/api3/notification/" + self.guid, auth="x-key")
        self.assertEqual((r.status, r.body), (200, SUCCESS))

    def test_401(self):
        cases = (("no key", {"key": None}),
                 ("unknown bearer", {"key": "ndk_" + "0" * 40, "auth": "bearer"}),
                 ("unknown X-Key", {"key": "ndk_" + "0" * 40, "auth": "x-key"}),
                 ("empty X-Key", {"key": "", "auth": "x-key"}))
        for method, path in self.routes():
            for label, kw in cases:
                with self.subTest(route=(method, path), case=label):
                    key = kw.get("key", self.k)
                    r = self.req(method, path, key=key, auth=kw.get("auth", "bearer"))
                    self.assertApi3Error(r, 401)
        r = self.req("GET", "/api3/notification", key=None,
                     headers={"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertApi3Error(r, 401)
        r = self.req("GET", "/api3/notification", key=None, headers={"Authorization": "Bearer"})
        self.assertApi3Error(r, 401)
        self.assertEqual(self.get(self.guid)["id"], self.guid)  # nothing deleted

    def test_revoked(self):
        admin = self.v1("POST", "/v1/keys", {"role": "admin"}, status=201).body
        member = self.member_key(self.t)
        self.assertEqual(self.lst(key=admin["key"])[1]["total"], "1")
        self.v1("DELETE", "/v1/keys/" + admin["id"], status=204)
        self.v1("DELETE", "/v1/keys/" + member["id"], status=204)
        for method, path in self.routes():
            with self.subTest(route=(method, path)):
                self.assertApi3Error(self.api(method, path, key=admin["key"]), 401)
        self.assertApi3Error(self.api("DELETE", "/api3/notification/" + self.guid,
                                      key=member["key"]), 401)
        self.assertEqual(self.get(self.guid)["id"], self.guid)

    def test_member_forbidden_on_reads(self):
        mk = self.member_key(self.t)["key"]
        for path in ("/api3/notification/" + self.guid, "/api3/notification",
                     "/api3/notification" + qs(member_id=self.t),
                     "/api3/notification/00000000-0000-0000-0000-000000000000"):
            for auth in ("bearer", "x-key"):
                with self.subTest(path=path, auth=auth):
                    self.assertApi3Error(self.api("GET", path, key=mk, auth=auth), 403)

    def test_other_methods_405(self):
        for method, path in (("POST", "/api3/notification"), ("PUT", "/api3/notification"),
                             ("DELETE", "/api3/notification"),
                             ("POST", "/api3/notification/" + self.guid),
                             ("PUT", "/api3/notification/" + self.guid),
                             ("PATCH", "/api3/notification/" + self.guid)):
            with self.subTest(method=method, path=path):
                self.assertApi3Error(self.api(method, path), 405)
        self.assertEqual(self.get(self.guid)["id"], self.guid)

    def test_uri_too_long_414(self):
        r = self.api("GET", "/api3/notification?campaign_id=" + "x" * 9000)
        self.assertApi3Error(r, 414)


class TestOne404(Api3Case):
    def test_byte_identical(self):
        me, other = self.uid("me"), self.uid("other")
        nk = self.notify([me, other], "x", date_started=VENDOR_STARTED)
        mine, theirs = self.did(me, nk), self.did(other, nk)
        mk = self.member_key(me)["key"]
        tb, kb = self.new_tenant()
        unknown = "00000000-0000-0000-0000-000000000000"
        bodies = {}
        ctypes = set()

        def probe(label, method, guid, key=None, query=""):
            status, headers, body = self.raw(method, "/api3/notification/%s%s" % (guid, query),
                                             key=key)
            self.assertEqual(status, 404, (label, body))
            ctypes.add(headers.get("content-type", "").split(";")[0].strip())
            bodies[label] = body

        probe("GET unknown GUID", "GET", unknown)
        probe("GET lower-case unknown GUID", "GET", unknown.lower())
        probe("GET non-GUID integer", "GET", "1695")
        probe("GET non-GUID word", "GET", "abc")
        probe("GET non-GUID with=member", "GET", "abc", query="?with=member")
        probe("GET other tenant's", "GET", mine, key=kb)
        probe("DELETE unknown GUID", "DELETE", unknown)
        probe("DELETE non-GUID", "DELETE", "1695")
        probe("DELETE other member's", "DELETE", theirs, key=mk)
        probe("DELETE other tenant's (admin)", "DELETE", mine, key=kb)
        status, _, body = self.raw("DELETE", "/api3/notification/" + mine)
        self.assertEqual((status, json.loads(body)), (200, SUCCESS))
        probe("DELETE twice", "DELETE", mine)
        probe("DELETE twice by member", "DELETE", mine, key=mk)
        probe("GET deleted", "GET", mine)
        first = bodies["GET unknown GUID"]
        self.assertEqual(json.loads(first), NOT_FOUND)
        for label, body in bodies.items():
            with self.subTest(case=label):
                self.assertEqual(body, first)
        self.assertEqual(ctypes, {"application/json"})
        # an unknown route under /api3/ is a 404 in the same dialect
        r = self.api("GET", "/api3/ideas")
        self.assertEqual(r.status, 404)
        self.assertEqual(set(r.body), {"errorCode", "message"})
        self.assertEqual(r.body["errorCode"], 404)


if __name__ == "__main__":
    main()
