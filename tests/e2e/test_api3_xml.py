"""Brightidea API3-compatible face, format=xml: GET, LIST, DELETE and error
responses parsed back with xml.etree.ElementTree; awkward user text (markup
characters, quotes, control characters, characters XML 1.0 cannot carry,
emoji) still gives well-formed XML. See docs/compat.md, "format=xml".
"""

import json
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from harness import main
from test_api3 import Api3Case, NOT_FOUND, OBJ_FIELDS, MEMBER_FIELDS, UNREAD, READ, \
    VENDOR_STARTED

NASTY_TITLE = 'Tom & "Jerry" <b>bold</b> \'quoted\' ]]> &amp;'
# \u0001, \u0008, \u001f and \uffff cannot appear in XML 1.0; tab and LF can
NASTY_BODY = "ctl\u0001x\u0008y\u001fz\ttab\nline \U0001F600 \u00e9\u4e2d <&> \uffff end"
NASTY_BODY_XML = NASTY_BODY.replace("\u0001", "\ufffd").replace("\u0008", "\ufffd") \
    .replace("\u001f", "\ufffd").replace("\uffff", "\ufffd")
NASTY_URL = "/ct/view.bix?c=1&t_id=<2>&q=\"x\""
NASTY_NAMES = ["<David>", "Smith & Sons", "", "\u0002ctl", "\U0001F389"]
NASTY_NAMES_XML = ["<David>", "Smith & Sons", "", "\ufffdctl", "\U0001F389"]

INT_FIELDS = ("action_type", "timestamp")


def text(el):
    """Element text, '' for an empty element."""
    return el.text or ""


class XmlCase(Api3Case):
    def xml(self, method, path, status=200, key=None, auth="bearer"):
        """The parsed <response> root, after checking status and Content-Type."""
        code, headers, body = self.raw(method, path, key=key, auth=auth)
        self.assertEqual(code, status, "%s %s -> %d %r" % (method, path, code, body[:500]))
        ctype = headers.get("content-type", "")
        self.assertEqual(ctype.split(";")[0].strip().lower(), "application/xml",
                         "%s %s: content-type %r; %r" % (method, path, ctype, body[:300]))
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            self.fail("%s %s: not well-formed XML (%s): %r" % (method, path, e, body[:1000]))
        self.assertEqual(root.tag, "response", body[:300])
        return root

    def obj(self, el, member=False):
        """A notification element back into the JSON object's shape."""
        tags = [c.tag for c in el]
        want = OBJ_FIELDS | ({"member"} if member else set())
        # an empty screen_name array is no element at all
        self.assertEqual(set(tags) | {"screen_name"}, want, tags)
        for tag in want - {"screen_name"}:
            self.assertEqual(tags.count(tag), 1, "%s repeated: %r" % (tag, tags))
        out = {"screen_name": []}
        for c in el:
            self.assertEqual(len(c.attrib), 0, c.attrib)
            if c.tag == "screen_name":
                self.assertEqual(len(c), 0)
                out["screen_name"].append(text(c))
            elif c.tag == "member":
                m = {}
                for mc in c:
                    self.assertNotIn(mc.tag, m)
                    m[mc.tag] = text(mc)
                self.assertEqual(set(m), MEMBER_FIELDS, m)
                out["member"] = m
            elif c.tag in INT_FIELDS:
                self.assertRegex(text(c), r"^-?\d+$", c.tag)
                out[c.tag] = int(text(c))
            elif c.tag == "read":
                self.assertIn(text(c), ("true", "false"))
                out["read"] = text(c) == "true"
            else:
                self.assertEqual(len(c), 0, c.tag)
                out[c.tag] = text(c)
        return out

    def stats(self, root):
        found = root.findall("stats")
        self.assertEqual(len(found), 1)
        st = {c.tag: text(c) for c in found[0]}
        self.assertEqual(set(st), {"total", "page_count", "current_page"}, st)
        return st

    def assertXmlError(self, root, status, message=None, names=None):
        self.assertEqual([c.tag for c in root], ["errorCode", "message"])
        self.assertEqual(text(root.find("errorCode")), str(status))
        msg = text(root.find("message"))
        self.assertTrue(msg)
        if message is not None:
            self.assertEqual(msg, message)
        if names is not None:
            self.assertIn(names, msg)
        return msg


class TestXmlObjects(XmlCase):
    def setUp(self):
        super().setUp()
        self.t = self.uid("xml<&>'\"")
        self.target(self.t, name="Ann <& \"O'Neil\">", email="ann@example.com",
                    profile="/p.php?a=1&b=2")
        self.campaign("camp")
        self.nk = self.notify(
            [self.t], NASTY_TITLE, body=NASTY_BODY, url=NASTY_URL, action_type=18,
            profile="/CT/getfile.php?a=OD3006&f=8585&thumb=100", screen_name=NASTY_NAMES,
            batch="", campaign_id="camp", date_started=VENDOR_STARTED,
            date_due="2013-11-29T17:00:00Z")
        self.guid = self.did(self.t, self.nk)
        self.nk2 = self.notify([self.t], "plain", date_started="2013-11-20T16:47:36Z")
        self.guid2 = self.did(self.t, self.nk2)

    def test_json_carries_the_text_exactly(self):
        got = self.get(self.guid)
        self.assertEqual((got["name"], got["tweet"], got["url"], got["screen_name"]),
                         (NASTY_TITLE, NASTY_BODY, NASTY_URL, NASTY_NAMES))

    def test_get(self):
        root = self.xml("GET", "/api3/notification/%s?format=xml" % self.guid)
        self.assertEqual([c.tag for c in root], ["notification"])
        got = self.obj(root.find("notification"))
        want = {
            "id": self.guid, "name": NASTY_TITLE, "tweet": NASTY_BODY_XML, "action_type": 18,
            "url": NASTY_URL, "profile": "/CT/getfile.php?a=OD3006&f=8585&thumb=100",
            "screen_name": NASTY_NAMES_XML, "batch": "", "date": "Nov 21 2013",
            "date_due": "Nov 29 2013", "timestamp": 1385052456, "status_class": UNREAD,
            "read": False,
        }
        self.assertEqual(got, want)
        # and it is the JSON object, up to the replaced characters
        j = self.get(self.guid)
        j["tweet"] = NASTY_BODY_XML
        j["screen_name"] = NASTY_NAMES_XML
        self.assertEqual(got, j)
        # every element of the empty batch is empty
        self.assertIsNone(root.find("notification/batch").text)

    def test_get_with_member_and_read(self):
        self.event(self.t, self.nk, "read", "2013-11-22T00:00:00Z")
        root = self.xml("GET", "/api3/notification/%s?with=member&format=xml" % self.guid)
        got = self.obj(root.find("notification"), member=True)
        self.assertEqual(got["member"], {"id": self.t, "screen_name": "Ann <& \"O'Neil\">",
                                         "email": "ann@example.com",
                                         "profile": "/p.php?a=1&b=2"})
        self.assertEqual((got["read"], got["status_class"]), (True, READ))
        self.assertEqual(text(root.find("notification/read")), "true")
        j = self.get(self.guid, "?with=member")
        j["tweet"], j["screen_name"] = NASTY_BODY_XML, NASTY_NAMES_XML
        self.assertEqual(got, j)

    def test_empty_screen_name_array(self):
        root = self.xml("GET", "/api3/notification/%s?format=xml" % self.guid2)
        n = root.find("notification")
        self.assertEqual(n.findall("screen_name"), [])
        got = self.obj(n)
        self.assertEqual(got, self.get(self.guid2))
        self.assertEqual(text(n.find("read")), "false")
        for tag in ("tweet", "url", "profile", "batch", "date_due"):
            self.assertEqual(text(n.find(tag)), "", tag)

    def test_list(self):
        root = self.xml("GET", "/api3/notification?format=xml&with=member")
        self.assertEqual([c.tag for c in root], ["notification_list", "notification_list",
                                                 "stats"])
        objs = [self.obj(e, member=True) for e in root.findall("notification_list")]
        self.assertEqual([o["id"] for o in objs], [self.guid, self.guid2])  # date_started DESC
        self.assertEqual(objs[0]["screen_name"], NASTY_NAMES_XML)
        self.assertEqual(objs[0]["tweet"], NASTY_BODY_XML)
        self.assertEqual(objs[1]["screen_name"], [])
        self.assertEqual(self.stats(root), {"total": "2", "page_count": "1", "current_page": "1"})
        # the same list as JSON
        jl, _ = self.lst("?with=member")
        jl[0]["tweet"], jl[0]["screen_name"] = NASTY_BODY_XML, NASTY_NAMES_XML
        self.assertEqual(objs, jl)
        # paging and filters apply the same way
        root = self.xml("GET", "/api3/notification?format=xml&page_size=1&page=2&order=title")
        self.assertEqual([self.obj(e)["name"] for e in root.findall("notification_list")],
                         ["plain"])
        self.assertEqual(self.stats(root), {"total": "2", "page_count": "2", "current_page": "2"})

    def test_carriage_returns_survive(self):
        # CR is a character XML 1.0 carries, but only escaped (&#13;): a raw CR
        # is read back as LF by every conforming parser, changing the tree
        body = "crlf\r\nlone cr\rend"
        nk = self.notify([self.t], "cr\rtitle", body=body, screen_name=["a\rb"],
                         date_started=VENDOR_STARTED)
        guid = self.did(self.t, nk)
        self.assertEqual(self.get(guid)["tweet"], body)
        root = self.xml("GET", "/api3/notification/%s?format=xml" % guid)
        got = self.obj(root.find("notification"))
        self.assertEqual((got["name"], got["tweet"], got["screen_name"]),
                         ("cr\rtitle", body, ["a\rb"]))

    def test_empty_list(self):
        root = self.xml("GET", "/api3/notification?format=xml&member_id=nobody")
        self.assertEqual([c.tag for c in root], ["stats"])
        self.assertEqual(self.stats(root), {"total": "0", "page_count": "0", "current_page": "1"})
        root = self.xml("GET", "/api3/notification?format=xml&page=9")
        self.assertEqual([c.tag for c in root], ["stats"])
        self.assertEqual(self.stats(root), {"total": "2", "page_count": "1", "current_page": "9"})

    def test_notifications_on_every_read(self):
        # each worker writes a notification's members once per format and
        # copies them afterwards (src/util/memo.h): lists that alternate,
        # repeat and are empty, text that needs escaping, and a body too
        # long to keep, read again and again by two members in both
        # formats, each item still its own notification's
        members = [self.uid("names"), self.uid("names2")]
        long_names = ["name number %03d <&>" % i for i in range(40)]
        lists = [["a"], ["b", "c"], ["a"], [], long_names, long_names, ["a"], ["b", "c"]]
        want = []
        for i, names in enumerate(lists):
            body = "body %d & <more>" % i if i != 5 else "long <&> " * 400
            self.notify(members, "names %d <&>" % i, body=body, screen_name=names,
                        url="/u?a=%d&b" % i, action_type=i, profile="p%d" % i,
                        batch="b%d" % i, date_started="2013-11-%02dT00:00:00Z" % (i + 1))
            want.append({"name": "names %d <&>" % i, "tweet": body, "screen_name": names,
                         "url": "/u?a=%d&b" % i, "action_type": i, "profile": "p%d" % i,
                         "batch": "b%d" % i})
        fields = list(want[0])
        for _ in range(3):
            for member in members:
                q = "page_size=20&order=date_started&member_id=" + urllib.parse.quote(member,
                                                                                     safe="")
                root = self.xml("GET", "/api3/notification?format=xml&" + q)
                got = [{f: o[f] for f in fields}
                       for o in map(self.obj, root.findall("notification_list"))]
                self.assertEqual(got, want)
                code, _, body = self.raw("GET", "/api3/notification?" + q)
                self.assertEqual(code, 200)
                got = [{f: o[f] for f in fields} for o in json.loads(body)["notification_list"]]
                self.assertEqual(got, want)

    def test_many_in_list(self):
        others = [self.uid("o%d" % i) for i in range(30)]
        self.notify(others, "bulk & <more>", screen_name=["a", "b", "c"],
                    date_started="2013-11-19T00:00:00Z")
        root = self.xml("GET", "/api3/notification?format=xml&page_size=100&date_started="
                        + urllib.parse.quote("11/18/2013", safe=""))
        items = root.findall("notification_list")
        self.assertEqual(len(items), 30)
        for e in items:
            o = self.obj(e)
            self.assertEqual((o["name"], o["screen_name"]), ("bulk & <more>", ["a", "b", "c"]))
        self.assertEqual(self.stats(root)["total"], "30")

    def test_delete(self):
        root = self.xml("DELETE", "/api3/notification/%s?format=xml" % self.guid)
        self.assertEqual({c.tag: text(c) for c in root}, {"message": "success", "code": "200"})
        self.assertEqual(len(list(root)), 2)
        # again: the 404 as XML
        root = self.xml("DELETE", "/api3/notification/%s?format=xml" % self.guid, status=404)
        self.assertXmlError(root, 404, NOT_FOUND["message"])
        # a member key deletes its own, in XML too
        mk = self.member_key(self.t)["key"]
        root = self.xml("DELETE", "/api3/notification/%s?format=xml" % self.guid2, key=mk)
        self.assertEqual({c.tag: text(c) for c in root}, {"message": "success", "code": "200"})
        self.assertEqual(self.lst()[1]["total"], "0")


class TestXmlErrors(XmlCase):
    def setUp(self):
        super().setUp()
        self.t = self.uid("xe")
        self.guid = self.did(self.t, self.notify(self.t, "x", date_started=VENDOR_STARTED))

    def test_404_same_body(self):
        bodies = set()
        paths = [("GET", "/api3/notification/00000000-0000-0000-0000-000000000000?format=xml"),
                 ("GET", "/api3/notification/1695?format=xml"),
                 ("DELETE", "/api3/notification/abc?format=xml"),
                 ("DELETE", "/api3/notification/00000000-0000-0000-0000-000000000000?format=xml")]
        for method, path in paths:
            with self.subTest(method=method, path=path):
                root = self.xml(method, path, status=404)
                self.assertXmlError(root, 404, NOT_FOUND["message"])
                bodies.add(self.raw(method, path)[2])
        _, kb = self.new_tenant()
        root = self.xml("GET", "/api3/notification/%s?format=xml" % self.guid, status=404, key=kb)
        self.assertXmlError(root, 404, NOT_FOUND["message"])
        bodies.add(self.raw("GET", "/api3/notification/%s?format=xml" % self.guid, key=kb)[2])
        self.assertEqual(len(bodies), 1, bodies)

    def test_400(self):
        for q, name in (("page=0", "page"), ("page_size=101", "page_size"),
                        ("order=score", "order"), ("order=" + urllib.parse.quote(
                            "date_started; DROP TABLE deliveries"), "order"),
                        ("date_started=2013-11-21", "date_started"),
                        ("date_completed=13%2F01%2F2013", "date_completed"),
                        ("id=abc", "id"), ("with=members", "with")):
            with self.subTest(query=q):
                root = self.xml("GET", "/api3/notification?format=xml&" + q, status=400)
                self.assertXmlError(root, 400, names=name)
        self.assertEqual(self.lst()[1]["total"], "1")

    def test_format_csv_400_json(self):
        for path in ("/api3/notification?format=csv", "/api3/notification/%s?format=csv"
                     % self.guid):
            with self.subTest(path=path):
                self.assertApi3Error(self.api("GET", path), 400, names="format")
        self.assertApi3Error(self.api("DELETE", "/api3/notification/%s?format=csv" % self.guid),
                             400, names="format")
        self.assertEqual(self.get(self.guid)["id"], self.guid)

    def test_403_member(self):
        mk = self.member_key(self.t)["key"]
        for path in ("/api3/notification?format=xml",
                     "/api3/notification/%s?format=xml" % self.guid):
            with self.subTest(path=path):
                root = self.xml("GET", path, status=403, key=mk)
                self.assertXmlError(root, 403)

    def test_400_format_last(self):
        root = self.xml("GET", "/api3/notification?page_size=0&format=xml", status=400)
        self.assertXmlError(root, 400, names="page_size")

    def test_405(self):
        for method, path in (("POST", "/api3/notification?format=xml"),
                             ("PUT", "/api3/notification/%s?format=xml" % self.guid)):
            with self.subTest(method=method, path=path):
                root = self.xml(method, path, status=405)
                self.assertXmlError(root, 405)

    def test_401(self):
        for method, path in (("GET", "/api3/notification?format=xml"),
                             ("GET", "/api3/notification/%s?format=xml" % self.guid),
                             ("DELETE", "/api3/notification/%s?format=xml" % self.guid)):
            with self.subTest(method=method, path=path):
                root = self.xml(method, path, status=401, key="ndk_" + "0" * 40)
                self.assertXmlError(root, 401)
        self.assertEqual(self.get(self.guid)["id"], self.guid)


if __name__ == "__main__":
    main()
