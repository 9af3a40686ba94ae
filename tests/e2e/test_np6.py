"""NP6-compatible face: GET /targets/{id}/notifications (window, time forms,
sort, body, streaming), GET /targets/{id}/segments, POST/DELETE
/targets/{targetId}/segments/{segmentId}, authentication, tenants, errors.

Data is set up through the native /v1 API with explicit past routing times
(date_started) so every expected result is exact. See docs/compat.md.
"""

import datetime
import re
import unittest

from harness import DaemonTestCase, TIME_RE, enc, main

NP6_FIELDS = {"notification_key", "target", "libelle", "dismiss", "activation",
              "redirection", "impression"}
EVENT_FIELDS = ("dismiss", "activation", "redirection", "impression")

UTC = datetime.timezone.utc


def ms_of(iso):
    """Unix milliseconds of an RFC 3339 UTC literal ('...Z', optional .mmm)."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in iso else "%Y-%m-%dT%H:%M:%SZ"
    dt = datetime.datetime.strptime(iso, fmt).replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


class Np6Case(DaemonTestCase):
    """Each test runs in a fresh tenant (segment ids and keys from 1)."""

    def setUp(self):
        self.tenant, self.k = self.new_tenant()

    # -- native setup ------------------------------------------------------

    def v1(self, method, path, body=None, status=None, key=None):
        r = self.req(method, path, body, key=key or self.k)
        if status is not None:
            self.assertEqual(r.status, status, "%s %s -> %r" % (method, path, r.body))
        return r

    def notify(self, targets, date_started, libelle="n", key=None):
        if isinstance(targets, str):
            targets = [targets]
        r = self.v1("POST", "/v1/notifications",
                    {"libelle": libelle, "targets": targets, "date_started": date_started},
                    status=201, key=key)
        return r.body["notification_key"]

    def event(self, target, nkey, etype, at):
        self.v1("POST", "/v1/targets/%s/events" % enc(target),
                {"notification_key": nkey, "type": etype, "at": at}, status=204)

    def segment(self, name="s", key=None):
        return self.v1("POST", "/v1/segments", {"name": name}, status=201, key=key).body["id"]

    def member_key(self, target, key=None):
        r = self.v1("POST", "/v1/keys", {"role": "member", "target": target}, status=201, key=key)
        return r.body

    # -- NP6 calls ---------------------------------------------------------

    def np6(self, method, path, key=None, **kw):
        r = self.req(method, path, key=key or self.k, **kw)
        self.assertTrue(r.headers.get("x-request-id"), "no X-Request-Id on %s %s" % (method, path))
        return r

    def feed_raw(self, target, query="", key=None, **kw):
        return self.np6("GET", "/targets/%s/notifications%s" % (enc(target), query), key=key, **kw)

    def feed(self, target, query="", key=None, **kw):
        """The NP6 array, after checking status, content type and object shape."""
        r = self.feed_raw(target, query, key=key, **kw)
        self.assertEqual(r.status, 200, "%s%s -> %r" % (target, query, r.body))
        ctype = r.headers.get("content-type", "")
        self.assertEqual(ctype.split(";")[0].strip().lower(), "application/json", ctype)
        self.assertIsInstance(r.body, list, "%s%s -> %r" % (target, query, r.body))
        for o in r.body:
            self.assertObject(o, target)
        return r.body

    def keys(self, target, query="", key=None):
        return [o["notification_key"] for o in self.feed(target, query, key=key)]

    def segs(self, target, key=None):
        r = self.np6("GET", "/targets/%s/segments" % enc(target), key=key)
        self.assertEqual(r.status, 200, r.body)
        ctype = r.headers.get("content-type", "")
        self.assertEqual(ctype.split(";")[0].strip().lower(), "application/json", ctype)
        self.assertIsInstance(r.body, list, r.body)
        for s in r.body:
            self.assertIs(type(s), int, r.body)
            self.assertTrue(-2 ** 31 <= s < 2 ** 31, s)
        return r.body

    def seg_change(self, method, target, segment, key=None):
        return self.np6(method, "/targets/%s/segments/%s" % (enc(target), segment), key=key)

    # -- assertions ----------------------------------------------------------

    def assertObject(self, o, target):
        self.assertIsInstance(o, dict)
        self.assertEqual(set(o), NP6_FIELDS, o)
        self.assertIs(type(o["notification_key"]), int, o)
        self.assertTrue(1 <= o["notification_key"] < 2 ** 31, o)
        self.assertEqual(o["target"], target, o)
        self.assertIsInstance(o["libelle"], str, o)
        for f in EVENT_FIELDS:
            if o[f] is not None:
                self.assertTime(o[f], "%s: %r" % (f, o))

    def assertNp6Error(self, r, status, names=None):
        """NP6 error: status, X-Request-Id, JSON {"code": status, "message": str}."""
        ctx = "%d %r" % (r.status, r.body)
        self.assertEqual(r.status, status, ctx)
        self.assertTrue(r.headers.get("x-request-id"), "no X-Request-Id; " + ctx)
        ctype = r.headers.get("content-type", "")
        self.assertEqual(ctype.split(";")[0].strip().lower(), "application/json",
                         "content-type %r; %s" % (ctype, ctx))
        self.assertIsInstance(r.body, dict, ctx)
        self.assertEqual(set(r.body), {"code", "message"}, ctx)
        self.assertIs(type(r.body["code"]), int, ctx)
        self.assertEqual(r.body["code"], status, ctx)
        self.assertIsInstance(r.body["message"], str, ctx)
        self.assertTrue(r.body["message"], ctx)
        if names is not None:
            self.assertRegex(r.body["message"], r"(?<![A-Za-z])%s(?![A-Za-z])" % re.escape(names),
                             "message does not name %r; %s" % (names, ctx))
        return r.body


# ---------------------------------------------------------------------------
# GET /targets/{id}/notifications: the window
# ---------------------------------------------------------------------------

# 2019-08-24T14:15:22Z is the vendor document's example instant: 1566656122 s.
T_MINUS = "2019-08-24T14:15:21Z"
T = "2019-08-24T14:15:22Z"
T_HALF = "2019-08-24T14:15:22.500Z"
T_PLUS = "2019-08-24T14:15:23Z"
NEXT_DAY = "2019-08-25T00:00:00Z"
T_SEC = 1566656122


class TestWindow(Np6Case):
    def setUp(self):
        super().setUp()
        self.t = self.uid("win")
        # created out of time order, so key order is not routing order
        self.kT = self.notify(self.t, T, "at T")
        self.kDay = self.notify(self.t, NEXT_DAY, "next day")
        self.kMinus = self.notify(self.t, T_MINUS, "before T")
        self.kPlus = self.notify(self.t, T_PLUS, "after T")
        self.kHalf = self.notify(self.t, T_HALF, "T and a half")
        self.all = [self.kMinus, self.kT, self.kHalf, self.kPlus, self.kDay]
        # another target's deliveries never show
        self.notify(self.uid("other"), T, "someone else")

    def window(self, query):
        return self.keys(self.t, query)

    def test_no_parameters_all_ascending(self):
        self.assertEqual(self.window(""), self.all)
        self.assertEqual(self.window("?sort=asc"), self.all)

    def test_start_inclusive_end_exclusive(self):
        self.assertEqual(self.window("?start=" + T), self.all[1:])
        self.assertEqual(self.window("?end=" + T), [self.kMinus])
        self.assertEqual(self.window("?start=%s&end=%s" % (T, T_PLUS)), [self.kT, self.kHalf])
        self.assertEqual(self.window("?start=%s&end=%s" % (T_MINUS, NEXT_DAY)), self.all[:4])
        self.assertEqual(self.window("?start=" + NEXT_DAY), [self.kDay])
        self.assertEqual(self.window("?end=" + NEXT_DAY), self.all[:4])
        self.assertEqual(self.window("?start=2019-08-25T00:00:00.001Z"), [])
        self.assertEqual(self.window("?end=2019-08-24T14:15:21Z"), [])
        self.assertEqual(self.window("?end=2019-08-24T14:15:21.001Z"), [self.kMinus])

    def test_start_equal_end_is_empty(self):
        for inst in (T_MINUS, T, T_HALF, NEXT_DAY, "2019-08-24T14:15:22.250Z"):
            with self.subTest(instant=inst):
                self.assertEqual(self.window("?start=%s&end=%s" % (inst, inst)), [])
                self.assertEqual(self.window("?start=%s&end=%s&sort=desc" % (inst, inst)), [])

    def test_start_after_end_is_empty(self):
        self.assertEqual(self.window("?start=%s&end=%s" % (NEXT_DAY, T_MINUS)), [])
        self.assertEqual(self.window("?start=%s&end=%s" % (T_PLUS, T)), [])
        self.assertEqual(self.window("?start=%s&end=%s&sort=desc" % (T_HALF, T)), [])
        self.assertEqual(self.window("?start=2030-01-01&end=2000-01-01"), [])

    def test_vendor_example_request(self):
        r = self.feed_raw(self.t, "?start=2019-08-24T14%3A15%3A22Z&end=2019-08-24T14%3A15%3A22Z"
                                  "&sort=asc")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, [])
        self.assertEqual(r.headers.get("content-type", "").split(";")[0].strip(), "application/json")
        # the same encoding with a wider end
        self.assertEqual(self.window("?start=2019-08-24T14%3A15%3A22Z&end=2019-08-24T14%3A15%3A23Z"
                                     "&sort=asc"), [self.kT, self.kHalf])
        self.assertEqual(self.window("?start=2019-08-24T14%3A15%3A22Z&end=2019-08-25T14%3A15%3A22Z"
                                     "&sort=desc"), [self.kDay, self.kPlus, self.kHalf, self.kT])

    def test_timestamps_agree_with_iso(self):
        forms = {
            "iso": T,
            "iso encoded": "2019-08-24T14%3A15%3A22Z",
            "10-digit seconds": str(T_SEC),
            "11-digit seconds": "0" + str(T_SEC),
            "13-digit milliseconds": str(T_SEC * 1000),
        }
        for name, v in forms.items():
            with self.subTest(form=name, value=v):
                self.assertEqual(self.window("?start=" + v), self.all[1:])
                self.assertEqual(self.window("?end=" + v), [self.kMinus])
                self.assertEqual(self.window("?start=%s&end=%s" % (v, v)), [])
        # milliseconds are honoured in the 13-digit form
        half = str(T_SEC * 1000 + 500)
        self.assertEqual(self.window("?start=" + half), [self.kHalf, self.kPlus, self.kDay])
        self.assertEqual(self.window("?start=%d" % (T_SEC * 1000 + 501)), [self.kPlus, self.kDay])
        self.assertEqual(self.window("?end=" + half), [self.kMinus, self.kT])
        self.assertEqual(self.window("?end=%d" % (T_SEC * 1000 + 501)),
                         [self.kMinus, self.kT, self.kHalf])
        # mixed forms in one request
        self.assertEqual(self.window("?start=%d&end=%s" % (T_SEC, T_PLUS)), [self.kT, self.kHalf])
        self.assertEqual(self.window("?start=%s&end=%d" % (T, (T_SEC + 1) * 1000)),
                         [self.kT, self.kHalf])
        # the window's edges in the same unit
        self.assertEqual(self.window("?start=%d&end=%d" % (T_SEC - 1, T_SEC + 1)),
                         [self.kMinus, self.kT, self.kHalf])
        self.assertEqual(self.window("?start=0"), self.all)
        self.assertEqual(self.window("?end=0"), [])

    def test_offsets_same_instant(self):
        same_as_T = {
            "+02:00 encoded": "2019-08-24T16%3A15%3A22%2B02%3A00",
            "+02:00 %2B": "2019-08-24T16:15:22%2B02:00",
            "+02:00 unencoded plus": "2019-08-24T16:15:22+02:00",
            "-05:30": "2019-08-24T08:45:22-05:30",
            "-05:30 encoded": "2019-08-24T08%3A45%3A22-05%3A30",
            "+0200": "2019-08-24T16:15:22%2B0200",
            "+0200 unencoded plus": "2019-08-24T16:15:22+0200",
            "-0530": "2019-08-24T08:45:22-0530",
            "+05 (hours only)": "2019-08-24T19:15:22%2B05",
            "+00:00": "2019-08-24T14:15:22%2B00:00",
            "-00:00": "2019-08-24T14:15:22-00:00",
            "lower-case z": "2019-08-24T14:15:22z",
            "offset crossing midnight": "2019-08-25T00:15:22%2B10:00",
        }
        for name, v in same_as_T.items():
            with self.subTest(form=name, value=v):
                self.assertEqual(self.window("?start=" + v), self.all[1:])
                self.assertEqual(self.window("?end=" + v), [self.kMinus])
                self.assertEqual(self.window("?start=%s&end=%s" % (v, T)), [])
        # offsets with fractions
        self.assertEqual(self.window("?start=2019-08-24T16:15:22.5%2B02:00"),
                         [self.kHalf, self.kPlus, self.kDay])
        self.assertEqual(self.window("?end=2019-08-24T08:45:22.501-05:30"),
                         [self.kMinus, self.kT, self.kHalf])

    def test_fractional_seconds(self):
        cases = [
            ("2019-08-24T14:15:22.5Z", [self.kHalf, self.kPlus, self.kDay]),
            ("2019-08-24T14:15:22.500Z", [self.kHalf, self.kPlus, self.kDay]),
            ("2019-08-24T14:15:22.50Z", [self.kHalf, self.kPlus, self.kDay]),
            ("2019-08-24T14:15:22.499Z", [self.kHalf, self.kPlus, self.kDay]),
            ("2019-08-24T14:15:22.501Z", [self.kPlus, self.kDay]),
            ("2019-08-24T14:15:22.000Z", self.all[1:]),
            ("2019-08-24T14:15:22.001Z", [self.kHalf, self.kPlus, self.kDay]),
            # kept to the millisecond: further digits are dropped
            ("2019-08-24T14:15:22.5004Z", [self.kHalf, self.kPlus, self.kDay]),
            ("2019-08-24T14:15:22.500999Z", [self.kHalf, self.kPlus, self.kDay]),
        ]
        for v, want in cases:
            with self.subTest(start=v):
                self.assertEqual(self.window("?start=" + v), want)
        self.assertEqual(self.window("?end=2019-08-24T14:15:22.5Z"), [self.kMinus, self.kT])
        self.assertEqual(self.window("?end=2019-08-24T14:15:22.5001Z"), [self.kMinus, self.kT])
        self.assertEqual(self.window("?start=2019-08-24T14:15:22.5Z&end=2019-08-24T14:15:22.501Z"),
                         [self.kHalf])

    def test_bare_date_is_midnight_utc(self):
        self.assertEqual(self.window("?start=2019-08-25"), [self.kDay])
        self.assertEqual(self.window("?end=2019-08-25"), self.all[:4])
        self.assertEqual(self.window("?start=2019-08-24"), self.all)
        self.assertEqual(self.window("?end=2019-08-24"), [])
        self.assertEqual(self.window("?start=2019-08-24&end=2019-08-25"), self.all[:4])
        self.assertEqual(self.window("?start=2019-08-25&end=2019-08-26"), [self.kDay])
        self.assertEqual(self.window("?start=2019-08-25&end=2019-08-25"), [])
        self.assertEqual(self.window("?start=2019-08-25T00:00:00Z&end=2019-08-25"), [])

    def test_invalid_start_and_end(self):
        bad_values = [
            "yesterday", "", "2019-08-24T14:15:22", "2019-08-24T14:15:22.5",
            "2019-08-24%2014:15:22Z", "2019-13-01", "2019-02-29", "2019-08-24T24:00:00Z",
            "2019-08-24T14:60:00Z", "2019-08-24T14:15:22Zjunk", "2019-08-24T14:15:22+2:00",
            "2019-08-24T14:15:22%2B24:00", "2019-08-24T14:15:22.Z", "2019-8-24",
            "2019-0824", "19-08-24", "-1566656122", "1566656122.5", "1566656122s", "0x5D614A1A",
            "15666561220000", "00001566656122", "99999999999999999999", "%2B1566656122",
            "1566656122%20", "%00", "%ZZ", "2019-08-24T14%3A15%3A22%",
        ]
        for name in ("start", "end"):
            for v in bad_values:
                with self.subTest(param=name, value=v):
                    r = self.feed_raw(self.t, "?%s=%s" % (name, v))
                    self.assertNp6Error(r, 400, names=name)
                    r = self.feed_raw(self.t, "?%s=%s&sort=asc" % (name, v))
                    self.assertNp6Error(r, 400, names=name)
        # a valid other bound does not rescue the bad one
        self.assertNp6Error(self.feed_raw(self.t, "?start=%s&end=tomorrow" % T), 400, names="end")
        self.assertNp6Error(self.feed_raw(self.t, "?start=tomorrow&end=%s" % T), 400, names="start")

    def test_invalid_sort(self):
        for v in ("ASC", "DESC", "Asc", "up", "down", "", "ascending", "asc%20", "%20asc",
                  "asc,desc", "1", "-1", "%ZZ"):
            with self.subTest(sort=v):
                self.assertNp6Error(self.feed_raw(self.t, "?sort=" + v), 400, names="sort")
                self.assertNp6Error(self.feed_raw(self.t, "?start=%s&sort=%s" % (T, v)), 400,
                                    names="sort")
        # encoded forms of the valid values are the valid values
        self.assertEqual(self.window("?sort=%61sc"), self.all)
        self.assertEqual(self.window("?sort=de%73c"), self.all[::-1])

    def test_unknown_parameters_ignored(self):
        # NP6 defines only start, end and sort; others are not errors.
        self.assertEqual(self.window("?limit=1&foo=bar"), self.all)


# ---------------------------------------------------------------------------
# Timestamp width: up to 11 digits = seconds, 12-13 digits = milliseconds
# ---------------------------------------------------------------------------

Y2K_SEC = 946684800  # 2000-01-01T00:00:00Z


class TestTimestampWidth(Np6Case):
    def setUp(self):
        super().setUp()
        self.t = self.uid("y2k")
        self.a = self.notify(self.t, "1999-12-31T23:59:59Z")
        self.b = self.notify(self.t, "2000-01-01T00:00:00Z")
        self.c = self.notify(self.t, "2000-01-01T00:00:00.001Z")

    def test_digits_decide_the_unit(self):
        cases = [
            # (start value, expected keys)
            ("1", "1 digit: seconds (1970)", [self.a, self.b, self.c]),
            ("20190824", "8 digits: seconds (1970), not a date", [self.a, self.b, self.c]),
            (str(Y2K_SEC), "9 digits: seconds", [self.b, self.c]),
            ("0" + str(Y2K_SEC), "10 digits: seconds", [self.b, self.c]),
            ("00" + str(Y2K_SEC), "11 digits: seconds", [self.b, self.c]),
            (str(Y2K_SEC * 1000), "12 digits: milliseconds", [self.b, self.c]),
            (str(Y2K_SEC * 1000 + 1), "12 digits: milliseconds", [self.c]),
            (str(Y2K_SEC * 1000 - 1), "12 digits: milliseconds", [self.b, self.c]),
            (str(Y2K_SEC * 1000 - 1000), "12 digits: milliseconds", [self.a, self.b, self.c]),
            ("0" + str(Y2K_SEC * 1000), "13 digits: milliseconds", [self.b, self.c]),
            ("0" + str(Y2K_SEC * 1000 + 1), "13 digits: milliseconds", [self.c]),
            ("99999999999", "11 digits: seconds (year 5138)", []),
            ("100000000000", "12 digits: milliseconds (1973)", [self.a, self.b, self.c]),
            ("9999999999999", "13 digits: milliseconds (2286)", []),
        ]
        for v, what, want in cases:
            with self.subTest(start=v, form=what):
                self.assertEqual(self.keys(self.t, "?start=" + v), want)
        self.assertEqual(self.keys(self.t, "?end=%d" % (Y2K_SEC * 1000 + 1)), [self.a, self.b])
        self.assertEqual(self.keys(self.t, "?end=%d" % Y2K_SEC), [self.a])
        self.assertEqual(self.keys(self.t, "?start=%d&end=%d" % (Y2K_SEC * 1000, Y2K_SEC + 1)),
                         [self.b, self.c])

    def test_fourteen_digits_refused(self):
        for v in ("0" + str(Y2K_SEC * 1000) + "0", "00" + str(Y2K_SEC * 1000), "10000000000000"):
            for name in ("start", "end"):
                with self.subTest(param=name, value=v):
                    self.assertNp6Error(self.feed_raw(self.t, "?%s=%s" % (name, v)), 400,
                                        names=name)


# ---------------------------------------------------------------------------
# Sort
# ---------------------------------------------------------------------------

class TestSort(Np6Case):
    def test_asc_desc_with_ties(self):
        t = self.uid("sort")
        times = ["2019-03-01T00:00:05Z", "2019-03-01T00:00:01Z", "2019-03-01T00:00:09Z",
                 "2019-03-01T00:00:05Z", "2019-03-01T00:00:07.250Z", "2019-03-01T00:00:05Z",
                 "2019-03-01T00:00:01Z"]
        made = []
        for i, ts in enumerate(times):
            made.append((ms_of(ts), self.notify(t, ts, "n%d" % i)))
        asc = [k for _, k in sorted(made)]
        desc = [k for _, k in sorted(made, reverse=True)]
        self.assertEqual(desc, asc[::-1])
        self.assertEqual(self.keys(t, "?sort=asc"), asc)
        self.assertEqual(self.keys(t, "?sort=desc"), desc)
        # without sort: ascending, and the same bytes twice
        self.assertEqual(self.keys(t), asc)
        r1, r2 = self.feed_raw(t), self.feed_raw(t)
        self.assertEqual(r1.body, r2.body)
        # ties inside a window, both directions
        w = "?start=2019-03-01T00:00:05Z&end=2019-03-01T00:00:09Z"
        tie_keys = sorted(k for ms, k in made if ms == ms_of("2019-03-01T00:00:05Z"))
        self.assertEqual(len(tie_keys), 3)
        k725 = made[4][1]
        self.assertEqual(self.keys(t, w + "&sort=asc"), tie_keys + [k725])
        self.assertEqual(self.keys(t, w + "&sort=desc"), [k725] + tie_keys[::-1])
        self.assertEqual(self.keys(t, w), tie_keys + [k725])

    def test_two_notifications_same_date_started(self):
        t = self.uid("tie")
        k1 = self.notify(t, "2019-05-05T05:05:05Z", "first")
        k2 = self.notify(t, "2019-05-05T05:05:05Z", "second")
        self.assertLess(k1, k2)
        asc = self.feed(t, "?sort=asc")
        self.assertEqual([(o["notification_key"], o["libelle"]) for o in asc],
                         [(k1, "first"), (k2, "second")])
        desc = self.feed(t, "?sort=desc")
        self.assertEqual([(o["notification_key"], o["libelle"]) for o in desc],
                         [(k2, "second"), (k1, "first")])
        self.assertEqual(self.keys(t), [k1, k2])


# ---------------------------------------------------------------------------
# Body
# ---------------------------------------------------------------------------

class TestBody(Np6Case):
    def test_event_fields_exact_objects(self):
        t = self.uid("ev")
        k1 = self.notify(t, "2019-08-24T10:00:00Z", "Bonjour \u00e9t\u00e9 \"quoted\" \\ /")
        k2 = self.notify(t, "2019-08-24T11:00:00Z", "untouched")
        k3 = self.notify(t, "2019-08-24T12:00:00Z", "read and completed only")
        self.event(t, k1, "impression", "2019-08-24T14:15:22Z")
        self.event(t, k1, "activation", "2019-08-24T16:15:23.250+02:00")
        self.event(t, k1, "redirection", "2019-08-24T14:15:24.100Z")
        self.event(t, k1, "dismiss", "2019-08-24T09:15:25-05:00")
        self.event(t, k1, "read", "2019-08-24T14:15:26Z")
        self.event(t, k1, "complete", "2019-08-24T14:15:27Z")
        # the first timestamp of a kind is kept
        self.event(t, k1, "impression", "2019-08-24T20:00:00Z")
        self.event(t, k3, "read", "2019-08-24T13:00:00Z")
        self.event(t, k3, "complete", "2019-08-24T13:00:01Z")
        self.event(t, k2, "impression", "2019-08-24T11:30:00.000Z")
        got = self.feed(t, "?sort=asc")
        self.assertEqual(got, [
            {"notification_key": k1, "target": t,
             "libelle": "Bonjour \u00e9t\u00e9 \"quoted\" \\ /",
             "dismiss": "2019-08-24T14:15:25Z", "activation": "2019-08-24T14:15:23.250Z",
             "redirection": "2019-08-24T14:15:24.100Z", "impression": "2019-08-24T14:15:22Z"},
            {"notification_key": k2, "target": t, "libelle": "untouched",
             "dismiss": None, "activation": None, "redirection": None,
             "impression": "2019-08-24T11:30:00Z"},
            {"notification_key": k3, "target": t, "libelle": "read and completed only",
             "dismiss": None, "activation": None, "redirection": None, "impression": None},
        ])
        for o in got:
            self.assertEqual(set(o), NP6_FIELDS, o)
            self.assertNotIn("read", o)
            self.assertNotIn("complete", o)
            self.assertNotIn("completed", o)
            for f in EVENT_FIELDS:
                if o[f] is not None:
                    self.assertRegex(o[f], TIME_RE)
        # the events are per delivery: another target of the same notification sees none
        other = self.uid("ev-other")
        k4 = self.notify([t, other], "2019-08-24T13:00:00Z", "shared")
        self.event(t, k4, "activation", "2019-08-24T13:30:00Z")
        mine = self.feed(t, "?start=2019-08-24T13:00:00Z")
        theirs = self.feed(other)
        self.assertEqual([(o["notification_key"], o["activation"], o["target"]) for o in mine],
                         [(k4, "2019-08-24T13:30:00Z", t)])
        self.assertEqual(theirs, [{"notification_key": k4, "target": other, "libelle": "shared",
                                   "dismiss": None, "activation": None, "redirection": None,
                                   "impression": None}])

    def test_target_id_needing_encoding(self):
        for t in ("a/b", "x?y=1&z#w", "p%41q", "t:1@h$,;=+", "~!*'()[]{}|^`\"<>\\"):
            with self.subTest(target=t):
                k = self.notify(t, "2019-08-24T14:15:22Z", "enc")
                got = self.feed(t)
                self.assertEqual([(o["notification_key"], o["target"]) for o in got], [(k, t)])

    def test_unknown_target_empty(self):
        for q in ("", "?sort=desc", "?start=2019-01-01&end=2030-01-01&sort=asc"):
            with self.subTest(query=q):
                r = self.feed_raw("never-seen-" + self.uid(""), q)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(r.body, [])
                self.assertEqual(r.headers.get("content-type", "").split(";")[0].strip(),
                                 "application/json")
        # a known target without deliveries is the same
        t = self.uid("empty")
        self.v1("PUT", "/v1/targets/" + enc(t), {}, status=201)
        self.assertEqual(self.feed(t), [])

    def test_deleted_target_empty(self):
        t = self.uid("gone")
        s = self.segment()
        self.assertEqual(self.seg_change("POST", t, s).status, 204)
        k = self.notify(t, "2019-08-24T14:15:22Z")
        self.assertEqual(self.keys(t), [k])
        self.assertEqual(self.segs(t), [s])
        self.v1("DELETE", "/v1/targets/" + enc(t), status=204)
        self.assertEqual(self.feed(t), [])
        self.assertEqual(self.feed(t, "?sort=desc&start=2019-01-01"), [])
        self.assertEqual(self.segs(t), [])
        # re-created under the same id: still nothing of the old deliveries
        self.v1("PUT", "/v1/targets/" + enc(t), {}, status=201)
        self.assertEqual(self.feed(t), [])
        self.assertEqual(self.segs(t), [])

    def test_invalid_target_id(self):
        for bad in ("has%20space", "x" * 129, "caf%C3%A9", "%09tab", "%7F", "bad%zz", "trunc%2"):
            with self.subTest(target=bad):
                r = self.np6("GET", "/targets/%s/notifications" % bad)
                self.assertNp6Error(r, 400)
                r = self.np6("GET", "/targets/%s/segments" % bad)
                self.assertNp6Error(r, 400)

    def test_request_id_echoed(self):
        t = self.uid("rid")
        r = self.feed_raw(t, headers={"X-Request-Id": "np6-req.1:a_b-c"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("x-request-id"), "np6-req.1:a_b-c")
        r = self.feed_raw(t, "?sort=sideways", headers={"X-Request-Id": "np6-req-2"})
        self.assertNp6Error(r, 400, names="sort")
        self.assertEqual(r.headers.get("x-request-id"), "np6-req-2")
        r = self.feed_raw(t, key="nope", headers={"X-Request-Id": "np6-req-3"})
        self.assertNp6Error(r, 401)
        self.assertEqual(r.headers.get("x-request-id"), "np6-req-3")


# ---------------------------------------------------------------------------
# Streaming: more than 512 rows go out chunked, ordered across batches
# ---------------------------------------------------------------------------

class TestStreamedBatches(Np6Case):
    N = 1100  # more than two batches of 512

    def iso(self, ms):
        return datetime.datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def assertChunked(self, r):
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("chunked", r.headers.get("transfer-encoding", "").lower(), r.headers)
        self.assertNotIn("content-length", r.headers)

    def test_chunked_and_ordered_across_batches(self):
        t = self.uid("many")
        base = ms_of("2019-06-01T00:00:00Z")
        made = []  # (routing ms, key)
        conn = self.daemon.connection()
        try:
            for i in range(self.N):
                # two groups of 550 equal routing times, interleaved in key order,
                # so every batch boundary falls inside a run of ties
                ms = base + (i % 2) * 1000
                r = self.req("POST", "/v1/notifications",
                             {"libelle": "m%d" % i, "targets": [t], "date_started": self.iso(ms)},
                             key=self.k, conn=conn)
                self.assertEqual(r.status, 201, r.body)
                made.append((ms, r.body["notification_key"]))
        finally:
            conn.close()
        asc = [k for _, k in sorted(made)]
        self.assertEqual(len(set(asc)), self.N)
        for q, want in (("", asc), ("?sort=asc", asc), ("?sort=desc", asc[::-1])):
            with self.subTest(query=q):
                r = self.feed_raw(t, q)
                self.assertChunked(r)
                self.assertEqual([o["notification_key"] for o in r.body], want)
                for o in r.body:
                    self.assertObject(o, t)
        group0 = sorted(k for ms, k in made if ms == base)
        group1 = sorted(k for ms, k in made if ms == base + 1000)
        self.assertEqual((len(group0), len(group1)), (550, 550))
        # windows holding exactly one group (550 rows: still streamed)
        for q, want in (("?end=%s" % self.iso(base + 1000), group0),
                        ("?start=%d&end=%d" % (base, base + 1000), group0),
                        ("?start=%s" % self.iso(base + 1000), group1),
                        ("?start=%s&end=%d" % (self.iso(base + 1000), base + 2000), group1)):
            for sort, w in (("", want), ("&sort=asc", want), ("&sort=desc", want[::-1])):
                with self.subTest(query=q + sort):
                    r = self.feed_raw(t, q + sort)
                    self.assertChunked(r)
                    self.assertEqual([o["notification_key"] for o in r.body], w)
        # and an empty window on the same target
        r = self.feed_raw(t, "?start=%d&end=%d" % (base + 1, base + 1000))
        self.assertEqual((r.status, r.body), (200, []))


# ---------------------------------------------------------------------------
# Errors under /targets/ speak NP6 (docs/compat.md, "Errors")
# ---------------------------------------------------------------------------

class TestErrorDialect(Np6Case):
    def test_unknown_path_method_and_long_uri(self):
        t = self.uid("dialect")
        for path in ("/targets/%s/whatever" % t, "/targets/%s/segments/1/extra" % t, "/targets/"):
            with self.subTest(path=path):
                self.assertNp6Error(self.np6("GET", path), 404)
        for method, path, allowed in (("PUT", "/targets/%s/notifications" % t, {"GET"}),
                                      ("DELETE", "/targets/%s/notifications" % t, {"GET"}),
                                      ("POST", "/targets/%s/segments" % t, {"GET"}),
                                      ("GET", "/targets/%s/segments/1" % t, {"POST", "DELETE"})):
            with self.subTest(method=method, path=path):
                r = self.np6(method, path)
                self.assertNp6Error(r, 405)
                allow = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
                self.assertTrue(allowed <= allow, r.headers.get("allow"))
        r = self.np6("GET", "/targets/%s/notifications?start=%s" % (t, "1" * 9000))
        self.assertNp6Error(r, 414)


# ---------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------

class TestSegments(Np6Case):
    def test_list_ascending(self):
        t = self.uid("segs")
        ids = [self.segment(n) for n in ("a", "b", "c", "d")]
        self.assertEqual(ids, [1, 2, 3, 4])
        self.assertEqual(self.segs(t), [])
        for s in (4, 1, 3):
            self.assertEqual(self.seg_change("POST", t, s).status, 204)
        self.assertEqual(self.segs(t), [1, 3, 4])
        # memberships added natively show too
        self.v1("PUT", "/v1/segments/2/members/%s" % enc(t), status=204)
        self.assertEqual(self.segs(t), [1, 2, 3, 4])
        # another target's memberships do not
        self.assertEqual(self.seg_change("POST", "someone-else", 2).status, 204)
        self.assertEqual(self.segs("someone-else"), [2])
        # a deleted segment's memberships go with it
        self.v1("DELETE", "/v1/segments/3", status=204)
        self.assertEqual(self.segs(t), [1, 2, 4])

    def test_unknown_target_segments_empty(self):
        r = self.np6("GET", "/targets/%s/segments" % enc(self.uid("nobody")))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, [])
        self.assertEqual(r.headers.get("content-type", "").split(";")[0].strip(), "application/json")

    def test_add_is_204_empty_and_idempotent(self):
        t = self.uid("add")
        s = self.segment()
        self.v1("PUT", "/v1/targets/" + enc(t), {"name": "Kept"}, status=201)
        for _ in range(2):
            r = self.seg_change("POST", t, s)
            self.assertEqual(r.status, 204, r.body)
            self.assertEqual(r.body, b"")
            self.assertIn(r.headers.get("content-length", "0"), ("0",))
        self.assertEqual(self.segs(t), [s])
        self.assertEqual(self.v1("GET", "/v1/segments/%d" % s, status=200).body["members"], 1)
        self.assertEqual(self.v1("GET", "/v1/targets/" + enc(t), status=200).body["name"], "Kept")

    def test_add_creates_unknown_target(self):
        s = self.segment()
        for t in (self.uid("fresh"), "fresh/" + self.uid("slash")):
            with self.subTest(target=t):
                self.v1("GET", "/v1/targets/" + enc(t), status=404)
                self.assertEqual(self.seg_change("POST", t, s).status, 204)
                got = self.v1("GET", "/v1/targets/" + enc(t), status=200).body
                self.assertEqual(got["id"], t)
                self.assertEqual(self.segs(t), [s])

    def test_remove(self):
        t = self.uid("rm")
        s1, s2 = self.segment("one"), self.segment("two")
        self.seg_change("POST", t, s1)
        self.seg_change("POST", t, s2)
        r = self.seg_change("DELETE", t, s1)
        self.assertEqual(r.status, 204, r.body)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.segs(t), [s2])
        self.assertEqual(self.v1("GET", "/v1/segments/%d" % s1, status=200).body["members"], 0)
        # again, and a target that never was a member: still 204
        self.assertEqual(self.seg_change("DELETE", t, s1).status, 204)
        self.assertEqual(self.seg_change("DELETE", self.uid("outsider"), s1).status, 204)
        self.assertEqual(self.segs(t), [s2])
        # the target itself stays
        self.v1("GET", "/v1/targets/" + enc(t), status=200)
        # and can be added back
        self.assertEqual(self.seg_change("POST", t, s1).status, 204)
        self.assertEqual(self.segs(t), [s1, s2])

    def test_unknown_segment_404(self):
        self.segment()  # id 1 exists
        t = self.uid("ghost")
        for sid in ("2", "42", "-1", "0", "2147483647", "-2147483648"):
            for method in ("POST", "DELETE"):
                with self.subTest(method=method, segment=sid):
                    self.assertNp6Error(self.seg_change(method, t, sid), 404)
        # a failed request changes nothing: the target was not created
        self.v1("GET", "/v1/targets/" + enc(t), status=404)
        self.assertEqual(self.segs(t), [])

    def test_segment_id_not_int32_400(self):
        self.segment()
        t = self.uid("badseg")
        for sid in ("abc", "1.5", "2147483648", "-2147483649", "1e2", "0x1", "%201", "1%20",
                    "99999999999999999999", "1a"):
            for method in ("POST", "DELETE"):
                with self.subTest(method=method, segment=sid):
                    self.assertNp6Error(self.seg_change(method, t, sid), 400, names="segmentId")
        self.v1("GET", "/v1/targets/" + enc(t), status=404)


# ---------------------------------------------------------------------------
# Authentication and authorisation
# ---------------------------------------------------------------------------

class TestAuth(Np6Case):
    # Many wrong keys on purpose (test_reliability.py proves the throttle).
    daemon_args = ("--auth-failures", "0")

    def setUp(self):
        super().setUp()
        self.me = self.uid("me")
        self.other = self.uid("other")
        self.seg = self.segment()
        self.nk = self.notify([self.me, self.other], "2019-08-24T14:15:22Z", "for both")
        self.seg_change("POST", self.me, self.seg)
        self.seg_change("POST", self.other, self.seg)

    def routes(self, target):
        return [("GET", "/targets/%s/notifications" % enc(target)),
                ("GET", "/targets/%s/notifications?start=2019-01-01&sort=desc" % enc(target)),
                ("GET", "/targets/%s/segments" % enc(target)),
                ("POST", "/targets/%s/segments/%d" % (enc(target), self.seg)),
                ("DELETE", "/targets/%s/segments/%d" % (enc(target), self.seg))]

    def test_missing_and_unknown_key_401(self):
        for method, path in self.routes(self.me):
            for label, kw in (("no key", {"key": None}),
                              ("unknown X-Key", {"key": "np6_" + "0" * 40}),
                              ("empty X-Key", {"key": ""}),
                              ("unknown bearer", {"key": "np6_unknown", "auth": "bearer"})):
                with self.subTest(route=(method, path), case=label):
                    r = self.req(method, path, **kw)
                    self.assertNp6Error(r, 401)
        # nothing changed
        self.assertEqual(self.segs(self.me), [self.seg])

    def test_bad_parameters_still_401_without_key(self):
        r = self.req("GET", "/targets/x/notifications?sort=sideways", key=None)
        self.assertNp6Error(r, 401)
        r = self.req("POST", "/targets/x/segments/abc", key=None)
        self.assertNp6Error(r, 401)

    def test_x_key_and_bearer_accepted(self):
        r = self.req("GET", "/targets/%s/notifications" % enc(self.me), key=self.k, auth="bearer")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([o["notification_key"] for o in r.body], [self.nk])
        r = self.req("GET", "/targets/%s/segments" % enc(self.me), key=self.k, auth="bearer")
        self.assertEqual((r.status, r.body), (200, [self.seg]))
        self.assertEqual(self.keys(self.me), [self.nk])

    def test_revoked_key_401(self):
        created = self.v1("POST", "/v1/keys", {"role": "admin"}, status=201).body
        extra = created["key"]
        self.assertEqual(self.keys(self.me, key=extra), [self.nk])
        self.assertEqual(self.seg_change("DELETE", self.me, self.seg, key=extra).status, 204)
        self.assertEqual(self.seg_change("POST", self.me, self.seg, key=extra).status, 204)
        self.v1("DELETE", "/v1/keys/" + created["id"], status=204)
        for method, path in self.routes(self.me):
            with self.subTest(route=(method, path)):
                self.assertNp6Error(self.req(method, path, key=extra), 401)
        self.assertEqual(self.segs(self.me), [self.seg])

    def test_member_key(self):
        mk = self.member_key(self.me)["key"]
        # own target: both reads allowed
        got = self.feed(self.me, key=mk)
        self.assertEqual([o["notification_key"] for o in got], [self.nk])
        self.assertEqual(self.keys(self.me, "?sort=desc&start=%d" % T_SEC, key=mk), [self.nk])
        self.assertEqual(self.segs(self.me, key=mk), [self.seg])
        r = self.req("GET", "/targets/%s/segments" % enc(self.me), key=mk, auth="bearer")
        self.assertEqual((r.status, r.body), (200, [self.seg]))
        # another target: 403
        for method, path in self.routes(self.other)[:3]:
            with self.subTest(route=(method, path)):
                self.assertNp6Error(self.req(method, path, key=mk), 403)
        self.assertNp6Error(self.req("GET", "/targets/never-seen/notifications", key=mk), 403)
        # segment changes: 403, even on its own target
        for target in (self.me, self.other):
            for method, path in self.routes(target)[3:]:
                with self.subTest(route=(method, path)):
                    self.assertNp6Error(self.req(method, path, key=mk), 403)
        self.assertEqual(self.segs(self.me), [self.seg])
        self.assertEqual(self.segs(self.other), [self.seg])
        # revoked member key: 401
        created = self.member_key(self.me)
        self.assertEqual(self.segs(self.me, key=created["key"]), [self.seg])
        self.v1("DELETE", "/v1/keys/" + created["id"], status=204)
        self.assertNp6Error(self.req("GET", "/targets/%s/notifications" % enc(self.me),
                                     key=created["key"]), 401)


# ---------------------------------------------------------------------------
# Tenants
# ---------------------------------------------------------------------------

class TestTenants(Np6Case):
    def test_isolation(self):
        _, kb = self.new_tenant()
        t = self.uid("shared")
        sa = self.segment("a-seg")
        ka = self.notify(t, "2019-08-24T14:15:22Z", "tenant A")
        self.assertEqual(self.seg_change("POST", t, sa).status, 204)
        # B sees nothing of A's target
        for q in ("", "?sort=desc", "?start=2019-01-01&end=2030-01-01&sort=asc"):
            with self.subTest(query=q):
                self.assertEqual(self.feed(t, q, key=kb), [])
        self.assertEqual(self.segs(t, key=kb), [])
        # B cannot add or remove A's segment ids: 404 (B has no segment of that id)
        self.assertNp6Error(self.seg_change("POST", t, sa, key=kb), 404)
        self.assertNp6Error(self.seg_change("DELETE", t, sa, key=kb), 404)
        self.assertNp6Error(self.seg_change("POST", "b-only-" + self.uid(""), sa, key=kb), 404)
        self.assertEqual(self.segs(t), [sa])
        self.assertEqual(self.v1("GET", "/v1/segments/%d" % sa).body["members"], 1)
        self.v1("GET", "/v1/targets/" + enc(t), status=404, key=kb)
        # B's own data under the same ids stays B's
        sb = self.segment("b-seg", key=kb)
        self.assertEqual(sb, sa)  # both tenants allocate from 1
        kbn = self.notify(t, "2019-08-24T14:15:23Z", "tenant B", key=kb)
        self.assertEqual(kbn, ka)  # both tenants allocate notification keys from 1
        self.assertEqual(self.seg_change("POST", t, sb, key=kb).status, 204)
        self.assertEqual([(o["libelle"]) for o in self.feed(t, key=kb)], ["tenant B"])
        self.assertEqual([(o["libelle"]) for o in self.feed(t)], ["tenant A"])
        self.assertEqual(self.seg_change("DELETE", t, sb, key=kb).status, 204)
        self.assertEqual(self.segs(t, key=kb), [])
        self.assertEqual(self.segs(t), [sa])
        # a B member key for the same target id sees only B's deliveries
        mb = self.member_key(t, key=kb)["key"]
        self.assertEqual([(o["libelle"]) for o in self.feed(t, key=mb)], ["tenant B"])
        self.assertEqual(self.segs(t, key=mb), [])


if __name__ == "__main__":
    main()
