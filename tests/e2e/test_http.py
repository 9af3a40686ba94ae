"""HTTP layer: request ids, body and URI caps, 404/405, keep-alive,
access log, /healthz."""

import http.client
import json
import re
import secrets
import socket
import tempfile
import time
import unittest

import harness
from harness import (BACKEND, WRAP, Daemon, DaemonTestCase, KEY_ID_RE, REQ_ID_GEN_RE, drop_db,
                     main, new_db, pg, pg_server, read_response)

MIB = 1024 * 1024


def json_body_of_size(size, field="name"):
    """A JSON object of exactly `size` bytes: {"<field>":"xxx..."}."""
    overhead = len(json.dumps({field: ""}))
    body = json.dumps({field: "x" * (size - overhead)}).encode()
    assert len(body) == size
    return body


class TestRequestId(DaemonTestCase):
    def test_generated_when_absent(self):
        ids = set()
        for method, path, key in (("GET", "/healthz", None), ("GET", "/v1/segments", "ADMIN"),
                                  ("GET", "/v1/nope", "ADMIN"), ("GET", "/v1/segments", None)):
            kw = {} if key == "ADMIN" else {"key": None}
            r = self.req(method, path, **kw)
            rid = r.headers.get("x-request-id")
            self.assertIsNotNone(rid, "%s %s has no X-Request-Id" % (method, path))
            self.assertRegex(rid, REQ_ID_GEN_RE)
            ids.add(rid)
        self.assertEqual(len(ids), 4, "generated request ids must differ")

    def test_sane_ids_echoed(self):
        for rid in ("abc-123", "A.b_c:9-Z", "x", "7" * 128):
            r = self.req("GET", "/healthz", key=None, headers={"X-Request-Id": rid})
            self.assertEqual(r.headers.get("x-request-id"), rid)

    def test_echoed_into_problem_body(self):
        r = self.req("GET", "/v1/targets/nobody-here", headers={"X-Request-Id": "trace.42"})
        self.assertEqual(r.headers.get("x-request-id"), "trace.42")
        self.assertProblem(r, 404, "not-found")
        self.assertEqual(r.body["request_id"], "trace.42")

    def test_insane_ids_replaced(self):
        for rid in ("a" * 300, "7" * 129, "has space", "slash/char", "semi;colon", "é-utf8",
                    "quote\"d"):
            r = self.req("GET", "/healthz", key=None,
                         headers={"X-Request-Id": rid.encode("utf-8").decode("latin-1")})
            got = r.headers.get("x-request-id")
            self.assertIsNotNone(got)
            self.assertNotEqual(got, rid)
            self.assertRegex(got, REQ_ID_GEN_RE, "for client id %r" % rid)

    def test_generated_id_in_problem_and_log(self):
        r = self.req("GET", "/v1/segments", key=None)
        self.assertProblem(r, 401, "unauthorized")
        rid = r.headers["x-request-id"]
        rec = self.daemon.wait_log(lambda x: x.get("request_id") == rid)
        self.assertIsNotNone(rec, "no access log line with request_id %s" % rid)
        self.assertEqual(rec["status"], 401)


class TestBodyCap(DaemonTestCase):
    def send(self, body, chunked):
        conn = self.daemon.connection()
        self.addCleanup(conn.close)
        headers = {"X-Key": self.daemon.admin_key, "Content-Type": "application/json"}
        if chunked:
            def gen(data=body, step=64 * 1024):
                for i in range(0, len(data), step):
                    yield data[i:i + step]
            payload = gen()
        else:
            payload = body
        try:
            conn.request("PUT", "/v1/targets/capped", body=payload, headers=headers,
                         encode_chunked=chunked)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer before reading everything; read the answer
        try:
            return read_response(conn.getresponse())
        except (ConnectionResetError, http.client.RemoteDisconnected) as e:
            self.fail("connection reset before the response could be read: %r" % e)

    def assertNotStored(self):
        self.assertEqual(self.req("GET", "/v1/targets/capped").status, 404)

    def test_content_length_over_cap(self):
        r = self.send(json_body_of_size(MIB + 1), chunked=False)
        self.assertProblem(r, 413, "payload-too-large")
        self.assertNotStored()

    def test_chunked_over_cap(self):
        r = self.send(json_body_of_size(MIB + 1), chunked=True)
        self.assertProblem(r, 413, "payload-too-large")
        self.assertNotStored()

    def test_content_length_at_cap_is_read(self):
        # exactly 1 MiB is allowed through the cap; the over-long name then fails validation
        r = self.send(json_body_of_size(MIB), chunked=False)
        self.assertProblem(r, 400, "invalid-field", field="name")
        self.assertNotStored()

    def test_chunked_at_cap_is_read(self):
        r = self.send(json_body_of_size(MIB), chunked=True)
        self.assertProblem(r, 400, "invalid-field", field="name")
        self.assertNotStored()

    def test_chunked_small_body_works(self):
        r = self.send(json.dumps({"name": "chunky"}).encode(), chunked=True)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.body["name"], "chunky")
        self.assertEqual(self.req("DELETE", "/v1/targets/capped").status, 204)


class TestLoweredBodyCap(DaemonTestCase):
    daemon_args = ("--max-body", "1000")

    def test_lowered_cap(self):
        r = self.req("PUT", "/v1/targets/t", raw_body=json_body_of_size(1001, "profile"))
        self.assertProblem(r, 413, "payload-too-large")
        self.assertEqual(self.req("GET", "/v1/targets/t").status, 404)
        r = self.req("PUT", "/v1/targets/t", raw_body=json_body_of_size(1000, "profile"))
        self.assertEqual(r.status, 201, r.body)


class TestUriCap(DaemonTestCase):
    def test_long_path(self):
        path = "/v1/targets/" + "a" * 8300
        r = self.req("GET", path)
        self.assertProblem(r, 414, "uri-too-long")

    def test_long_query(self):
        path = "/v1/targets/x/notifications?cursor=" + "b" * 9000
        r = self.req("GET", path)
        self.assertProblem(r, 414, "uri-too-long")

    def test_just_under_cap_not_414(self):
        prefix = "/v1/targets/"
        path = prefix + "c" * (8192 - len(prefix))
        self.assertEqual(len(path), 8192)
        r = self.req("GET", path)
        self.assertNotEqual(r.status, 414)
        # a 8193-char id is not a valid target id (> 128)
        self.assertProblem(r, 400, "invalid-parameter")

    def test_connection_usable_after_414(self):
        r = self.req("GET", "/v1/targets/" + "a" * 9000)
        self.assertEqual(r.status, 414)
        self.assertEqual(self.req("GET", "/healthz", key=None).status, 200)

    def test_query_parameter_cap(self):
        at_cap = "&".join("p%d=1" % i for i in range(64))
        self.assertEqual(self.req("GET", "/v1/tenant?" + at_cap).status, 200)
        r = self.req("GET", "/v1/tenant?" + at_cap + "&one=more")
        self.assertProblem(r, 414, "uri-too-long")
        self.assertIn("64 query parameters", r.body["detail"])

    def test_query_parameters_beyond_the_connection_pool(self):
        # Each recorded argument once took ~56 bytes of a 16 KiB pool: a few
        # hundred overflowed it and the request was never answered.
        for query in ("&".join("a" for _ in range(300)), "a=1&" * 1500, "&" * 4000):
            r = self.req("GET", "/v1/tenant?" + query)
            self.assertProblem(r, 414, "uri-too-long")
        self.assertEqual(self.req("GET", "/v1/tenant?a=1").status, 200)

    def test_query_values_as_before(self):
        # Parsed by notifd: the first of a repeated name counts, names match
        # without case, escapes are decoded, a name without '=' is absent.
        self.ok("PUT", "/v1/targets/q1", {"name": "Q"})
        for title in ("one", "two"):
            self.ok("POST", "/v1/notifications", {"libelle": title, "targets": ["q1"]})
        feed = "/v1/targets/q1/notifications"

        def count(query):
            return len(self.ok("GET", feed + query).body["notifications"])
        self.assertEqual(count("?LIMIT=1&limit=x"), 1)
        self.assertEqual(count("?limit=%31"), 1)
        self.assertEqual(count("?limit&x=1"), 2)
        self.assertProblem(self.req("GET", feed + "?limit=x&limit=1"), 400)
        self.assertProblem(self.req("GET", feed + "?limit=%zz"), 400)


class TestFraming(DaemonTestCase):
    """Framing a proxy and notifd could read differently (request smuggling)
    or that hides bytes from a header is refused with a problem body, and
    the connection closed; nothing after it on the connection is served."""

    def exchange(self, raw):
        """(statuses seen, everything read) for @raw sent on a new
        connection, read until the server closes it (10 s at most: a server
        that holds the connection fails the test)."""
        s = socket.create_connection((self.daemon.host, self.daemon.port), timeout=10)
        self.addCleanup(s.close)
        s.sendall(raw)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            self.fail("the connection was held open after %r" % data[:200])
        return [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)], data

    def head(self, extra, method="PUT", path="/v1/targets/framed", host=b"Host: x\r\n"):
        return (method.encode() + b" " + path.encode() + b" HTTP/1.1\r\n" + host
                + b"X-Key: " + self.daemon.admin_key.encode()
                + b"\r\nContent-Type: application/json\r\n" + extra + b"\r\n")

    def refused(self, raw, status, words):
        statuses, data = self.exchange(raw)
        self.assertEqual(statuses, [status], data)
        self.assertIn(b"application/problem+json", data)
        self.assertIn(words.encode(), data)
        self.assertEqual(self.req("GET", "/v1/targets/framed").status, 404)

    def test_declared_body_far_over_the_cap(self):
        """A declared body far beyond the cap (1 GiB here) is answered 413
        from its head, without waiting for a byte of it, and the
        connection closed."""
        t0 = time.monotonic()
        self.refused(self.head(b"Content-Length: 1073741824\r\n"), 413, "payload")
        self.assertLess(time.monotonic() - t0, 5)

    def test_two_content_lengths(self):
        body = b'{"name":"n"}'
        self.refused(self.head(b"Content-Length: 12\r\nContent-Length: 13\r\n") + body + b"X",
                     400, "more than one Content-Length")
        self.refused(self.head(b"Content-Length: 12\r\nContent-Length: 12\r\n") + body,
                     400, "more than one Content-Length")

    def test_transfer_encoding_with_content_length(self):
        # the smuggling shape: a proxy that trusts Content-Length would see
        # the GET as a second request
        raw = (self.head(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n")
               + b'c\r\n{"name":"n"}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
        self.refused(raw, 400, "Content-Length and Transfer-Encoding")

    def test_unknown_transfer_coding(self):
        for coding in (b"gzip, chunked", b"gzip", b"chunked, chunked"):
            raw = self.head(b"Transfer-Encoding: " + coding + b"\r\n") + b"0\r\n\r\n"
            self.refused(raw, 501, "chunked, alone")
        raw = self.head(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")
        self.refused(raw + b"0\r\n\r\n", 501, "chunked, alone")

    def test_host(self):
        self.refused(self.head(b"Content-Length: 0\r\n", host=b""), 400, "exactly one Host")
        self.refused(self.head(b"Content-Length: 0\r\n", host=b"Host: a\r\nHost: b\r\n"), 400,
                     "exactly one Host")
        # HTTP/1.0 has no Host to require
        s = socket.create_connection((self.daemon.host, self.daemon.port), timeout=10)
        self.addCleanup(s.close)
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))

    def test_nul_in_a_header(self):
        key = self.daemon.admin_key.encode()
        for headers in (b"X-Key: " + key + b"\0junk\r\n",  # once authenticated as the key
                        b"X-Key: " + key + b"\r\nX-Trace: a\0b\r\n"):
            statuses, data = self.exchange(b"GET /v1/tenant HTTP/1.1\r\nHost: x\r\n" + headers
                                           + b"\r\n")
            self.assertEqual(statuses, [400], data)
            self.assertIn(b"NUL byte", data)

    def test_malformed_content_length(self):
        # libmicrohttpd 0.9.75 answers this one itself, before notifd sees the
        # request: a 400 and a closed connection (with its head written twice,
        # docs/reliability.md); nothing is written
        statuses, data = self.exchange(self.head(b"Content-Length: 12abc\r\n") + b'{"name":"n"}')
        self.assertEqual(statuses[0], 400, data)
        self.assertEqual(self.req("GET", "/v1/targets/framed").status, 404)


class TestRouting(DaemonTestCase):
    def test_unknown_routes_404(self):
        for method, path in (("GET", "/v1/nope"), ("GET", "/nope"), ("POST", "/v1/target"),
                             ("GET", "/v1/targets"), ("GET", "/v1/targets/a/b/c"),
                             ("GET", "/v2/segments"), ("GET", "/v1/segments/1/members"),
                             ("GET", "/")):
            r = self.req(method, path)
            self.assertProblem(r, 404, "not-found")

    def test_405_with_allow(self):
        cases = [
            ("DELETE", "/v1/segments", {"GET", "POST"}),
            ("PATCH", "/v1/targets/x", {"GET", "PUT", "DELETE"}),
            ("POST", "/v1/targets/x", {"GET", "PUT", "DELETE"}),
            ("POST", "/v1/campaigns/x", {"GET", "PUT"}),
            ("DELETE", "/v1/campaigns/x", {"GET", "PUT"}),
            ("PUT", "/v1/segments/1", {"GET", "DELETE"}),
            ("GET", "/v1/segments/1/members/x", {"PUT", "DELETE"}),
            ("GET", "/v1/notifications", {"POST"}),
            ("DELETE", "/v1/notifications/1", {"GET"}),
            ("POST", "/v1/targets/x/notifications", {"GET"}),
            ("GET", "/v1/targets/x/events", {"POST"}),
            ("PUT", "/v1/keys", {"GET", "POST"}),
            ("GET", "/v1/keys/0123456789abcdef", {"DELETE"}),
            ("POST", "/healthz", {"GET"}),
        ]
        for method, path, allowed in cases:
            r = self.req(method, path, raw_body=b"{}" if method in ("POST", "PUT", "PATCH") else None)
            self.assertProblem(r, 405, "method-not-allowed")
            self.assertIn("allow", r.headers, "%s %s: no Allow header" % (method, path))
            got = {m.strip().upper() for m in r.headers["allow"].split(",") if m.strip()}
            self.assertTrue(allowed <= got, "%s %s: Allow %r lacks %r" % (method, path, got, allowed))
            self.assertNotIn(method, got, "%s %s" % (method, path))

    def test_405_changes_nothing(self):
        self.req("POST", "/v1/targets/unmade", {"name": "x"})
        self.assertEqual(self.req("GET", "/v1/targets/unmade").status, 404)


class TestKeepAlive(DaemonTestCase):
    def test_many_requests_one_connection(self):
        conn = self.daemon.connection()
        self.addCleanup(conn.close)
        key = self.daemon.admin_key
        seq = [
            ("GET", "/healthz", None, {}, 200),
            ("PUT", "/v1/targets/ka", b'{"name":"k"}', {"X-Key": key}, 201),
            ("GET", "/v1/targets/ka", None, {"X-Key": key}, 200),
            ("GET", "/v1/targets/missing-ka", None, {"X-Key": key}, 404),
            ("POST", "/v1/segments", b'{"nam":"x"}', {"X-Key": key}, 400),
            ("GET", "/v1/segments", None, {}, 401),
            ("DELETE", "/v1/targets/ka", None, {"X-Key": key}, 204),
            ("GET", "/healthz", None, {}, 200),
        ]
        sockname = None
        for method, path, body, headers, want in seq:
            if body is not None:
                headers = dict(headers, **{"Content-Type": "application/json"})
            conn.request(method, path, body=body, headers=headers)
            r = read_response(conn.getresponse())
            self.assertEqual(r.status, want, "%s %s: %r" % (method, path, r.body))
            self.assertNotEqual(r.headers.get("connection", "").lower(), "close",
                                "%s %s said Connection: close" % (method, path))
            self.assertIsNotNone(conn.sock, "connection closed after %s %s" % (method, path))
            name = conn.sock.getsockname()
            if sockname is None:
                sockname = name
            self.assertEqual(name, sockname, "client reconnected after %s %s" % (method, path))

    def test_pipelined_requests(self):
        s = socket.create_connection((self.daemon.host, self.daemon.port), timeout=10)
        self.addCleanup(s.close)
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: p1\r\n\r\n" \
              b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: p2\r\n\r\n"
        s.sendall(req)
        data = b""
        while data.count(b'"ok"') < 2:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 200"), 2, data)
        self.assertLess(data.lower().find(b"x-request-id: p1"), data.lower().find(b"x-request-id: p2"))


class _SharedReader:
    """One buffered reader handed to every http.client.HTTPResponse read
    off a socket in turn, so that pipelined responses are parsed one after
    another; a response's close() leaves it open for the next."""

    def __init__(self, sock):
        self.f = sock.makefile("rb")

    def makefile(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        return getattr(self.f, name)

    def close(self):
        pass


class TestRepliesInOnePass(DaemonTestCase):
    """Answers leave at the end of the event loop's pass, together
    (src/http/dispatch.c): with one worker and many connections
    ready at once, each pipelining several requests, every connection still
    gets its own answers, whole and in its order, identical to the same
    requests made one at a time."""

    daemon_args = ("--threads", "1")
    TARGETS = 24

    def paths(self, i):
        return ["/targets/pass-%d/notifications?sort=desc" % i,
                "/api3/notification?member_id=pass-%d&page_size=5" % i,
                "/v1/targets/pass-%d" % i,
                "/v1/targets/pass-missing-%d" % i]

    def test_many_connections_pipelining(self):
        for i in range(self.TARGETS):
            self.ok("PUT", "/v1/targets/pass-%d" % i, {"name": "Target %d" % i}, status=201)
            for n in range(3):
                self.ok("POST", "/v1/notifications",
                        {"libelle": "pass %d note %d" % (i, n), "body": "x" * (50 * i + n),
                         "targets": ["pass-%d" % i]}, status=201)
        want = {}
        for i in range(self.TARGETS):
            for path in self.paths(i):
                r = self.req("GET", path)
                want[path] = (r.status, r.body)
        key = self.daemon.admin_key.encode()
        socks = []
        for i in range(self.TARGETS):
            s = socket.create_connection((self.daemon.host, self.daemon.port), timeout=20)
            self.addCleanup(s.close)
            socks.append(s)
        for i, s in enumerate(socks):
            s.sendall(b"".join(b"GET " + p.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Key: " + key
                               + b"\r\n\r\n" for p in self.paths(i)))
        for i, s in enumerate(socks):
            reader = _SharedReader(s)
            for path in self.paths(i):
                resp = http.client.HTTPResponse(reader, method="GET")
                resp.begin()
                body = resp.read()
                status, expected = want[path]
                self.assertEqual(resp.status, status, path)
                got = json.loads(body) if body else None
                if isinstance(got, dict) and "request_id" in got:
                    got.pop("request_id")
                    expected = dict(expected)
                    expected.pop("request_id", None)
                self.assertEqual(got, expected, path)


class TestAccessLog(DaemonTestCase):
    def find(self, rid):
        rec = self.daemon.wait_log(lambda x: x.get("request_id") == rid)
        self.assertIsNotNone(rec, "no access-log line for request %s; log tail %r"
                             % (rid, self.daemon.log_lines()[-5:]))
        return rec

    def test_fields(self):
        created = self.ok("POST", "/v1/keys", {"role": "admin"}, status=201).body
        key, kid = created["key"], created["id"]
        self.assertRegex(kid, KEY_ID_RE)
        self.ok("GET", "/v1/segments", key=key, headers={"X-Request-Id": "log-1"})
        rec = self.find("log-1")
        for f in ("ts", "request_id", "method", "path", "status", "duration_ms", "key_id"):
            self.assertIn(f, rec)
        self.assertEqual(rec["method"], "GET")
        self.assertEqual(rec["path"], "/v1/segments")
        self.assertEqual(rec["status"], 200)
        self.assertIsInstance(rec["duration_ms"], (int, float))
        self.assertGreaterEqual(rec["duration_ms"], 0)
        self.assertEqual(rec["key_id"], kid)
        self.assertRegex(rec["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

        self.ok("GET", "/v1/segments", key=key, auth="bearer", headers={"X-Request-Id": "log-2"})
        self.assertEqual(self.find("log-2")["key_id"], kid)

        self.req("GET", "/healthz", key=None, headers={"X-Request-Id": "log-3"})
        rec = self.find("log-3")
        self.assertIsNone(rec["key_id"])
        self.assertEqual(rec["path"], "/healthz")

        r = self.req("PUT", "/v1/segments/1", key=key, headers={"X-Request-Id": "log-4"})
        self.assertEqual(self.find("log-4")["status"], r.status)

    def test_secrets_never_logged(self):
        created = self.ok("POST", "/v1/keys", {"role": "admin"}, status=201).body
        key = created["key"]
        member = self.ok("POST", "/v1/keys", {"role": "member", "target": "lg"}, status=201).body
        bogus = "ndk_bogus_" + "q" * 40
        self.ok("GET", "/v1/segments", key=key, headers={"X-Request-Id": "sec-1"})
        self.ok("GET", "/v1/segments", key=key, auth="bearer", headers={"X-Request-Id": "sec-2"})
        self.req("GET", "/v1/segments", key=bogus, headers={"X-Request-Id": "sec-3"})
        self.req("GET", "/v1/segments", key=bogus, auth="bearer", headers={"X-Request-Id": "sec-4"})
        self.req("GET", "/v1/targets/lg/notifications", key=member["key"],
                 headers={"X-Request-Id": "sec-5"})
        self.req("GET", "/v1/segments", key=member["key"], headers={"X-Request-Id": "sec-6"})
        self.ok("DELETE", "/v1/keys/" + created["id"], headers={"X-Request-Id": "sec-7"})
        self.req("GET", "/v1/segments", key=key, headers={"X-Request-Id": "sec-8"})
        for i in range(1, 9):
            self.find("sec-%d" % i)
        self.assertEqual(self.find("sec-3")["status"], 401)
        self.assertIsNone(self.find("sec-3")["key_id"])
        self.assertEqual(self.find("sec-5")["key_id"], member["id"])
        everything = "\n".join(self.daemon.log_lines() + self.daemon.stdout_lines)
        for secret in (key, member["key"], bogus, self.daemon.admin_key):
            self.assertNotIn(secret, everything)
        self.assertIn(created["id"], everything)


class TestHealthz(DaemonTestCase):
    def test_healthz(self):
        r = self.req("GET", "/healthz", key=None)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, {"status": "ok"})
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"))
        self.assertIn("x-request-id", r.headers)

    def test_healthz_with_key(self):
        r = self.req("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, {"status": "ok"})



class TestStoreUnavailable(unittest.TestCase):
    """A worker that cannot open its database connection (here: out of file
    descriptors) answers 503 without paths or engine messages, and logs why.

    Both backends: a SQLite worker needs a descriptor for the file, a
    PostgreSQL worker one for its socket."""

    @unittest.skipIf(WRAP, "a wrapper such as valgrind takes descriptors of its own from "
                     "the same small limit")
    def test_no_descriptors(self):
        import resource
        tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-")
        self.addCleanup(tmp.cleanup)

        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

        db = password = None
        if BACKEND == "postgres":
            # A password in the conninfo, there only to be leaked: the test
            # server trusts local connections and never asks for it.
            password = "e2e_pw_" + secrets.token_hex(8)
            plain = new_db(tmp.name, "fds.db")
            self.addCleanup(drop_db, plain)
            db = plain + " password=" + password
        d = Daemon(tmp.name, db=db, extra_args=("--threads", "8"), preexec_fn=few_fds)
        self.addCleanup(d.cleanup)
        d.start()
        # What a body must never reveal: where the database is (the SQLite
        # path; the pieces of a conninfo: socket directory, database name,
        # password), directories, engines.
        if BACKEND == "postgres":
            hidden = [tmp.name, pg().host, pg_server.conninfo_dbname(db), password]
        else:
            hidden = [d.db, tmp.name]
        conns = []
        statuses = []
        for _ in range(21):
            c = d.connection()
            try:
                c.connect()
            except OSError:
                break
            conns.append(c)
        for c in conns:
            try:
                c.request("GET", "/v1/tenant", headers={"X-Key": d.admin_key})
                r = c.getresponse()
                body = r.read().decode("utf-8", "replace")
            except OSError:
                continue
            statuses.append(r.status)
            self.assertIn(r.status, (200, 503), body)
            for secret in hidden:
                self.assertNotIn(secret, body)
            for engine in ("sqlite", "postgres", "libpq"):
                self.assertNotIn(engine, body.lower())
            if r.status == 503:
                self.assertEqual(json.loads(body)["type"], "urn:notifd:problem:unavailable")
        for c in conns:
            c.close()
        self.assertIn(200, statuses)
        # After the stop, which has read the daemon's log to its end: a line
        # written before a 503 may still sit in the pipe until then.
        self.assertEqual(d.stop(), 0)
        if 503 in statuses:
            errors = [l for l in d.log_lines() if '"level":"error"' in l]
            self.assertTrue(any("cannot open database" in l for l in errors), errors)
        if password:  # the logs name the database, never with its password
            for line in d.log_lines() + d.stdout_lines:
                self.assertNotIn(password, line)

    @unittest.skipIf(WRAP, "a wrapper such as valgrind takes descriptors of its own from "
                     "the same small limit")
    def test_accept_without_descriptors(self):
        """Connections past what the descriptors allow wait in the kernel's
        queue while notifd, unable to accept them, says so and keeps going;
        once descriptors are free again it serves as before."""
        import resource
        tmp = tempfile.TemporaryDirectory(prefix="notifd-e2e-")
        self.addCleanup(tmp.cleanup)

        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

        d = Daemon(tmp.name, extra_args=("--threads", "1"), preexec_fn=few_fds)
        self.addCleanup(d.cleanup)
        d.start()
        held = [harness.begun_request(d) for _ in range(60)]
        self.assertTrue(d.wait_log(lambda rec: "cannot accept a connection" in rec.get("msg", ""),
                                   10 * harness.SCALE), d.logs[-5:])
        for s in held:
            s.close()
        deadline = time.monotonic() + 20 * harness.SCALE
        while True:
            try:
                r = d.request("GET", "/healthz", key=None)
                if r.status == 200:
                    break
            except OSError:
                pass
            self.assertLess(time.monotonic(), deadline, "notifd did not serve again")
            time.sleep(0.1)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    main()
