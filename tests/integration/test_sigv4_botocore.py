"""Cross-checks runtime/sigv4.c against an independent signer: Debian's python3-botocore.

Each case is an awkward request (spaces, unicode, '+', '~', '=', '%', '&' inside values, empty
values, repeated keys, keys without values, S3 keys with '/', dot segments and '%', bodies,
session tokens) for S3 and DynamoDB. The wire URL is built the way our clients build it (strict
RFC 3986 percent-encoding of each path segment and of query keys and values); botocore signs it
(SigV4Auth for DynamoDB, S3SigV4Auth for S3) at a fixed time, tests/tools/sigv4_tool signs the
same URL, headers and body, and the Authorization values must be equal.

Run: /usr/bin/python3 tests/integration/test_sigv4_botocore.py (another python re-executes
this file with /usr/bin/python3). The tool is $ETL_BUILD_DIR/tests/tools/sigv4_tool (default
build/ in this checkout). Without botocore the test skips, unless CI is set: then it fails.
"""
import os
import sys

DEBIAN_PYTHON = "/usr/bin/python3"
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"

if (os.path.exists(DEBIAN_PYTHON)
        and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
        and not os.environ.get("ETL_SIGV4_REEXEC")):
    # python3-botocore is installed for Debian's interpreter only; a pyenv or venv python would
    # not see it (or would see a pip botocore, which is not the one we mean to check against).
    os.environ["ETL_SIGV4_REEXEC"] = "1"
    os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)

# Debian's package first, ahead of any pip copy under /usr/local.
if os.path.isdir(DEBIAN_DIST_PACKAGES):
    sys.path.insert(0, DEBIAN_DIST_PACKAGES)

import contextlib  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import types  # noqa: E402
import unittest  # noqa: E402
from unittest import mock  # noqa: E402
from urllib.parse import quote  # noqa: E402

try:
    import botocore  # noqa: E402
    import botocore.auth  # noqa: E402
    import botocore.credentials  # noqa: E402
    from botocore.awsrequest import AWSRequest  # noqa: E402
    BOTOCORE_ERROR = None
except ImportError as e:  # pragma: no cover - depends on the machine
    BOTOCORE_ERROR = e

BUILD_DIR = os.environ.get("ETL_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
TOOL = os.path.join(BUILD_DIR, "tests", "tools", "sigv4_tool")

# 2024-02-29T23:59:59.123Z: a leap day one second before midnight; the milliseconds must be
# dropped, not rounded into the next day.
TIME_MS = 1709251199123
BOTO_NOW = datetime.datetime(2024, 2, 29, 23, 59, 59, 123000)
AMZ_DATE = "20240229T235959Z"

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/token+with/slashes"
         "AndPlus+AndEquals==")

S3_HOST = "etl-lake.s3.us-east-1.amazonaws.com"
DDB_HOST = "dynamodb.us-east-1.amazonaws.com"
DDB_JSON = [("Content-Type", "application/x-amz-json-1.0")]


def enc(s):
    """Strict RFC 3986: everything but A-Z a-z 0-9 - . _ ~ as UTF-8 %XX (what our clients do)."""
    return quote(s, safe="")


def wire_path(segments):
    return "/" + "/".join(enc(seg) for seg in segments)


def s3_key_path(key, bucket=None):
    """An S3 object key: '/' separates segments and stays; every segment is encoded."""
    prefix = [bucket] if bucket else []
    return wire_path(prefix + key.split("/"))


def wire_query(pairs):
    """pairs: [(key, value or None)]; None writes the key alone ("?uploads")."""
    return "&".join(enc(k) if v is None else enc(k) + "=" + enc(v) for k, v in pairs)


def case(name, service, path, query=(), headers=(), body="", method=None, token=None,
         host=None, scheme="https", region="us-east-1", unsigned=False):
    if host is None:
        host = S3_HOST if service == "s3" else DDB_HOST
    if method is None:
        method = "PUT" if body and service == "s3" else ("POST" if body else "GET")
    return {
        "name": name, "service": service, "method": method, "path": path,
        "query": wire_query(query), "headers": [("Host", host)] + list(headers), "body": body,
        "token": token, "scheme": scheme, "host": host, "region": region, "unsigned": unsigned,
    }


CASES = [
    # ---- S3: object keys ---------------------------------------------------------------------
    case("s3_put_plain", "s3", s3_key_path("exports/2024/02/29/part-00000.json.gz"),
         headers=[("Content-Type", "application/json")], body='{"id":1}\n'),
    case("s3_key_spaces", "s3", s3_key_path("dir with space/file  name .txt"), body="x"),
    case("s3_key_unicode", "s3", s3_key_path("donn\u00e9es/\u1234/emoji-\U0001F600.json"),
         body="\u00e9t\u00e9"),
    case("s3_key_plus_tilde_equals", "s3", s3_key_path("dt=2024-02-29/a+b~c=d.json"), body="1"),
    case("s3_key_percent", "s3", s3_key_path("100%/a%20b%2Fc.json"), body="2"),
    case("s3_key_reserved", "s3", s3_key_path("a!*'();:@&=+$,?#[]b/c d"), body="3"),
    case("s3_key_dot_segments", "s3", s3_key_path("a/./b/../c//d"), body="4"),
    case("s3_key_trailing_slash", "s3", s3_key_path("folder/"), method="PUT"),
    case("s3_key_leading_slash", "s3", s3_key_path("/rooted/key"), method="GET"),
    case("s3_path_style_local", "s3", s3_key_path("k/v w.json", bucket="etl-lake"),
         host="localhost:4568", scheme="http", body="{}"),
    case("s3_session_token", "s3", s3_key_path("tok/en.json"), token=TOKEN,
         headers=[("Content-Type", "application/json")], body='{"a":"\u00e9"}'),
    case("s3_unsigned_payload", "s3", s3_key_path("big/part 1.gz"), body="zzz", unsigned=True),
    case("s3_get_range", "s3", s3_key_path("r/\u00e9.bin"), headers=[("Range", "bytes=0-9")]),
    case("s3_head_bucket", "s3", "/", method="HEAD"),
    case("s3_meta_headers", "s3", s3_key_path("meta.json"),
         headers=[("X-Amz-Meta-Note", "  a   b\tc  "), ("X-Amz-Meta-Tag", "one"),
                  ("x-amz-meta-tag", "two"), ("Content-Length", "2"),
                  ("Content-Type", "text/plain; charset=utf-8")],
         body="ok"),
    # ---- S3: query strings -------------------------------------------------------------------
    case("s3_list_v2", "s3", "/",
         query=[("list-type", "2"), ("prefix", "dir with space/\u00e9"), ("delimiter", "/"),
                ("continuation-token", "abc+/=def"), ("start-after", "a~b")]),
    case("s3_acl_no_value", "s3", s3_key_path("obj"), query=[("acl", None)]),
    case("s3_create_multipart", "s3", s3_key_path("mp/obj 1.gz"), query=[("uploads", None)],
         method="POST"),
    case("s3_upload_part", "s3", s3_key_path("mp/obj 1.gz"),
         query=[("partNumber", "2"), ("uploadId", "VXBsb2FkIElE+/=~%")], body="part-bytes"),
    case("s3_complete_multipart", "s3", s3_key_path("mp/obj 1.gz"),
         query=[("uploadId", "id-1")], method="POST",
         body="<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
              "<ETag>\"abc\"</ETag></Part></CompleteMultipartUpload>"),
    case("s3_delete_objects", "s3", "/", query=[("delete", "")], method="POST",
         headers=[("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
         body="<Delete><Object><Key>a b</Key></Object></Delete>"),
    case("s3_repeated_keys", "s3", "/",
         query=[("a", "2"), ("a", "1"), ("a", "10"), ("b", ""), ("a", "")]),
    case("s3_ampersand_equals_in_value", "s3", "/",
         query=[("prefix", "a&b=c&d"), ("k=ey", "v=al"), ("e", "")]),
    case("s3_unicode_query", "s3", "/",
         query=[("prefix", "\u1234/donn\u00e9es"), ("\u00e9", "\u00e8"), ("x", "%41")]),
    case("s3_plus_space_query", "s3", s3_key_path("a b+c"),
         query=[("versionId", "a b+c"), ("response-content-type", "text/plain; q=1")]),
    # ---- DynamoDB ----------------------------------------------------------------------------
    case("ddb_put_item", "dynamodb", "/",
         headers=DDB_JSON + [("X-Amz-Target", "DynamoDB_20120810.PutItem")],
         body='{"TableName":"t","Item":{"pk":{"S":"\u00e9\u1234 +~%"}}}'),
    case("ddb_scan_token", "dynamodb", "/", token=TOKEN,
         headers=DDB_JSON + [("X-Amz-Target", "DynamoDB_20120810.Scan")],
         body='{"TableName":"t","Segment":0,"TotalSegments":4}'),
    case("ddb_local_port", "dynamodb", "/", host="localhost:8000", scheme="http",
         headers=DDB_JSON + [("X-Amz-Target", "DynamoDB_20120810.Query")], body="{}"),
    case("ddb_streams", "dynamodb", "/", host="streams.dynamodb.eu-west-1.amazonaws.com",
         region="eu-west-1",
         headers=DDB_JSON + [("X-Amz-Target", "DynamoDBStreams_20120810.GetRecords")],
         body='{"ShardIterator":"arn:aws:dynamodb:eu-west-1:1:table/t/stream/x|1|AAA+/="}'),
    case("ddb_header_whitespace", "dynamodb", "/",
         headers=DDB_JSON + [("X-Amz-Target", "  DynamoDB_20120810.GetItem  "),
                             ("X-Custom", "a    b \t c"), ("x-custom", " d ")],
         body='{"TableName":"t"}'),
    case("ddb_weird_path", "dynamodb", wire_path(["a b", "c+d", "\u1234", "%", "~u", "e=f"]),
         body="{}"),
    case("ddb_dot_segments_path", "dynamodb", "/a/./b/../c//d/%2E/", body="{}"),
    case("ddb_query_params", "dynamodb", "/",
         query=[("b", ""), ("a", "1"), ("c", None), ("a", "0"), ("\u00e9 t\u00e9", "x y+z")]),
    case("ddb_query_ampersand", "dynamodb", wire_path(["p q"]),
         query=[("k&k", "v&v=w"), ("%", "%25"), ("~", "~")], method="DELETE"),
    case("ddb_get_empty", "dynamodb", "/", method="GET", token=TOKEN),
]


def botocore_sign(c):
    """Signs with botocore at BOTO_NOW; returns (authorization, canonical request, headers)."""
    url = "%s://%s%s" % (c["scheme"], c["host"], c["path"])
    if c["query"]:
        url += "?" + c["query"]
    req = AWSRequest(method=c["method"], url=url, data=c["body"].encode("utf-8"))
    for name, value in c["headers"]:
        req.headers[name] = value  # HTTPHeaders appends, so duplicates stay
    if c["unsigned"]:
        req.context["client_config"] = types.SimpleNamespace(
            s3={"payload_signing_enabled": False})
    creds = botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY, c["token"])
    base = botocore.auth.S3SigV4Auth if c["service"] == "s3" else botocore.auth.SigV4Auth
    captured = {}

    class Capturing(base):
        def string_to_sign(self, request, canonical_request):
            captured["canonical_request"] = canonical_request
            return super().string_to_sign(request, canonical_request)

    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return BOTO_NOW

    # botocore 1.29 (Debian 12) reads datetime.datetime.utcnow(); later releases call
    # botocore.auth.get_current_datetime(). Pin both, then check that it took.
    fake = types.SimpleNamespace(datetime=FixedDatetime)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(botocore.auth, "datetime", fake))
        if hasattr(botocore.auth, "get_current_datetime"):
            stack.enter_context(
                mock.patch.object(botocore.auth, "get_current_datetime", lambda: BOTO_NOW))
        Capturing(creds, c["service"], c["region"]).add_auth(req)
    if req.headers["X-Amz-Date"] != AMZ_DATE:
        raise AssertionError("could not pin botocore %s's clock: X-Amz-Date is %s"
                             % (botocore.__version__, req.headers["X-Amz-Date"]))
    return req.headers["Authorization"], captured["canonical_request"], list(req.headers.items())


def tool_sign(c):
    spec = {
        "method": c["method"], "url_path": c["path"], "url_query": c["query"],
        "headers": [list(h) for h in c["headers"]], "body": c["body"], "region": c["region"],
        "service": c["service"], "s3": c["service"] == "s3", "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY, "token": c["token"], "time_ms": TIME_MS,
    }
    if c["unsigned"]:
        spec["payload_hash"] = "UNSIGNED-PAYLOAD"
    proc = subprocess.run([TOOL], input=json.dumps(spec).encode("utf-8"), capture_output=True,
                          timeout=30, check=False)
    if proc.returncode != 0:
        raise AssertionError("sigv4_tool failed: %s" % proc.stderr.decode("utf-8", "replace"))
    return json.loads(proc.stdout)


def header_set(pairs):
    return sorted((name.lower(), value) for name, value in pairs)


class SigV4BotocoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if BOTOCORE_ERROR is not None:
            msg = "botocore unavailable (%s); apt-get install python3-botocore" % BOTOCORE_ERROR
            if os.environ.get("CI"):
                raise AssertionError(msg + " (CI is set, so this is a failure)")
            raise unittest.SkipTest(msg)
        if not os.access(TOOL, os.X_OK):
            raise AssertionError("no %s: build first (cmake --build, or set ETL_BUILD_DIR)" % TOOL)

    def check(self, c):
        boto_auth, boto_cr, boto_headers = botocore_sign(c)
        ours = tool_sign(c)
        self.assertEqual(
            ours["authorization"], boto_auth,
            "\n--- botocore canonical request\n%s\n--- ours\n%s"
            % (boto_cr, ours["canonical_request"]))
        self.assertEqual(ours["canonical_request"], boto_cr)
        # Both signed and send the same header set: the caller's plus the signer's own.
        self.assertEqual(header_set(c["headers"] + [tuple(h) for h in ours["headers"]]),
                         header_set(boto_headers))

    def test_case_count(self):
        self.assertGreaterEqual(len(CASES), 30)
        self.assertEqual(len({c["name"] for c in CASES}), len(CASES), "case names must be unique")

    def test_comparison_detects_a_difference(self):
        # A negative control: a one-byte change on our side only must change the signature.
        c = dict(CASES[0])
        boto_auth, _, _ = botocore_sign(c)
        c["query"] = "x="
        self.assertNotEqual(tool_sign(c)["authorization"], boto_auth)

    def test_uses_debian_botocore(self):
        self.assertTrue(botocore.__file__.startswith(DEBIAN_DIST_PACKAGES), botocore.__file__)


def _add_case_tests():
    for c in CASES:
        def test(self, c=c):
            self.check(c)
        test.__name__ = "test_" + c["name"]
        setattr(SigV4BotocoreTest, test.__name__, test)


_add_case_tests()

if __name__ == "__main__":
    unittest.main(verbosity=2)
