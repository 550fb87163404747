"""Issue 3: the real S3 and DynamoDB clients (tests/tools/aws_tool: curl transport, SigV4,
retries) against s3rver and dynalite behind the signature-verifying proxy: every request's
signature is checked independently with botocore; with 20% of requests answered 503 SlowDown or
throttled, every operation succeeds within the attempt budget; at TRACE level no secret key,
session token or Authorization header reaches the logs."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

TOOL = os.path.join(itlib.BUILD_DIR, "tests", "tools", "aws_tool")
TOKEN = "IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQD+session/token+value=="


def xorshift_bytes(n):
    """The bytes aws_tool's upload command generates (xorshift64, low byte)."""
    x = 0x9E3779B97F4A7C15
    out = bytearray(n)
    mask = (1 << 64) - 1
    for i in range(n):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        out[i] = x & 0xFF
    return bytes(out)


class AwsClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(TOOL):
            raise unittest.SkipTest(f"{TOOL} not built")
        cls.stack = LocalStack(proxy=True, buckets=("lake",), session_token=TOKEN)
        cls.stack.start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        self.stack.set_faults(fault_every=0, fault_rate=0.0, fault_match="")
        self.stack.reset_proxy_stats()
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def tool(self, *args, env=None, check=True, level="TRACE"):
        full = dict(os.environ)
        full.update(self.stack.env)
        full["AWS_LAMBDA_LOG_LEVEL"] = level
        full.update(env or {})
        p = subprocess.run([TOOL, *args], env=full, capture_output=True, timeout=600)
        if check and p.returncode != 0:
            self.fail(f"aws_tool {' '.join(args)} failed: {p.stderr.decode(errors='replace')[-3000:]}")
        return p

    def assert_clean_logs(self, *outputs):
        text = "".join(o.decode(errors="replace") if isinstance(o, bytes) else o for o in outputs)
        secret = self.stack.env["AWS_SECRET_ACCESS_KEY"]
        self.assertNotIn(secret, text)
        self.assertNotIn(TOKEN, text)
        self.assertNotIn("AWS4-HMAC-SHA256 Credential", text)
        self.assertNotRegex(text, r"Signature=[0-9a-f]{16}")

    def assert_all_verified(self):
        st = self.stack.proxy_stats()
        self.assertEqual(st["signature_failures"], 0, st["failures"])
        return st

    def test_s3_operations_signed_and_exact(self):
        keys = ["plain.txt", "dir/a b+c%d.txt", "dir/\u00fcnic\u00f8de \u65e5\u672c.txt",
                "dir/tilde~eq=amp&.txt",
                # Long, but every segment under s3rver's 255-byte file-name limit.
                "/".join(["long"] + [f"{i:02d}" + "x" * 120 for i in range(7)])]
        body = os.path.join(self.tmp.name, "body.bin")
        data = bytes(range(256)) * 40
        with open(body, "wb") as f:
            f.write(data)
        logs = []
        for i, k in enumerate(keys):
            p = self.tool("put", "lake", k, body, "crc32c" if i % 2 else "md5")
            logs.append(p.stderr)
            got = self.tool("get", "lake", k)
            self.assertEqual(got.stdout, data, k)
            head = json.loads(self.tool("head", "lake", k).stdout)
            self.assertTrue(head["exists"])
            self.assertEqual(head["size"], 10240)
        listed = self.tool("list", "lake", "dir/").stdout.decode().splitlines()
        self.assertEqual(sorted(l.split("\t")[0] for l in listed),
                         sorted(k for k in keys if k.startswith("dir/")))
        # awscli sees the same keys (decoded once, not twice).
        out = self.stack.aws("s3api", "list-objects-v2", "--bucket", "lake", "--prefix", "dir/")
        self.assertEqual(sorted(o["Key"] for o in out["Contents"]),
                         sorted(k for k in keys if k.startswith("dir/")))
        self.tool("delete", "lake", keys[1])
        head = json.loads(self.tool("head", "lake", keys[1]).stdout)
        self.assertFalse(head["exists"])
        st = self.assert_all_verified()
        self.assertGreater(st["s3"]["verified"], 15)
        self.assert_clean_logs(*logs)

    def test_multipart_upload(self):
        size = 23 * 1024 * 1024 + 12345
        p = self.tool("upload", "lake", "big/object.bin", str(size), str(5 * 1024 * 1024))
        res = json.loads(p.stdout)
        self.assertEqual(res["size"], size)
        self.assertEqual(res["parts"], 5)
        data = xorshift_bytes(size)
        self.assertEqual(res["md5"], hashlib.md5(data).hexdigest())
        dl = os.path.join(self.tmp.name, "dl.bin")
        self.stack.aws("s3", "cp", "s3://lake/big/object.bin", dl, "--only-show-errors")
        with open(dl, "rb") as f:
            self.assertEqual(hashlib.md5(f.read()).hexdigest(), res["md5"])
        st = self.assert_all_verified()
        ops = st["s3"]["by_operation"]
        self.assertEqual(ops.get("PUT object?uploadId"), 5)
        self.assert_clean_logs(p.stderr)

    def test_twenty_percent_faults_s3(self):
        """Every fifth request fails (503 SlowDown): 60 PutObjects and a 5-part upload all
        succeed within AWS_MAX_ATTEMPTS=3."""
        self.stack.set_faults(service="s3", fault_every=5, fault_kinds=["slowdown"])
        p = self.tool("repeat-put", "lake", "faults/", "60", env={"AWS_MAX_ATTEMPTS": "3"})
        stats = json.loads(p.stdout)
        self.assertEqual(stats["calls"], 60)
        self.assertGreater(stats["retries"], 0)
        self.assertLessEqual(stats["attempts"], 60 * 3)
        size = 22 * 1024 * 1024
        up = self.tool("upload", "lake", "faults/big.bin", str(size), str(5 * 1024 * 1024),
                       env={"AWS_MAX_ATTEMPTS": "3"})
        self.assertEqual(json.loads(up.stdout)["md5"], hashlib.md5(xorshift_bytes(size)).hexdigest())
        st = self.assert_all_verified()
        self.assertGreater(st["s3"]["faults"], 10)
        listed = self.tool("list", "lake", "faults/").stdout.decode().splitlines()
        self.assertEqual(len(listed), 61)
        self.assertIn("retrying", p.stderr.decode())
        self.assert_clean_logs(p.stderr, up.stderr)

    def test_twenty_percent_faults_dynamodb(self):
        """Every fifth DynamoDB request throttled (ThrottlingException,
        ProvisionedThroughputExceededException, 500 in turn): a paged, parallel Scan still
        returns every item exactly once, digits intact."""
        table = "FaultScan"
        self.stack.aws("dynamodb", "create-table", "--table-name", table,
                       "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                       "--key-schema", "AttributeName=pk,KeyType=HASH",
                       "--billing-mode", "PAY_PER_REQUEST")
        items = []
        for i in range(120):
            items.append({"PutRequest": {"Item": {
                "pk": {"S": f"item-{i:04d}"},
                "n": {"N": f"{i}2345678901234567890123456789012345678"[:38]},
                "f": {"N": "0.12345678901234567890123456789012345678"}}}})
        for i in range(0, len(items), 25):
            req = os.path.join(self.tmp.name, f"batch{i}.json")
            with open(req, "w") as f:
                json.dump({table: items[i:i + 25]}, f)
            self.stack.aws("dynamodb", "batch-write-item", "--request-items", f"file://{req}")
        self.stack.reset_proxy_stats()
        self.stack.set_faults(service="dynamodb", fault_every=5)
        p = self.tool("scan", table, "4", "7", env={"AWS_MAX_ATTEMPTS": "3"})
        got = [json.loads(l, parse_float=str, parse_int=str) for l in p.stdout.decode().splitlines()]
        self.assertEqual(len(got), 120)
        self.assertEqual(sorted(g["pk"]["S"] for g in got), sorted(f"item-{i:04d}" for i in range(120)))
        for g in got:
            self.assertEqual(g["f"]["N"], "0.12345678901234567890123456789012345678")
        st = self.assert_all_verified()
        self.assertGreaterEqual(st["dynamodb"]["faults"], 3)
        desc = json.loads(self.tool("describe", table).stdout)
        self.assertEqual(desc["hash"], "pk")
        self.assert_clean_logs(p.stderr)

    def test_wrong_secret_is_rejected_by_the_proxy(self):
        """The verification can fail: signing with another secret gets 403, not retried."""
        body = os.path.join(self.tmp.name, "b.txt")
        with open(body, "w") as f:
            f.write("x")
        p = self.tool("put", "lake", "bad.txt", body, check=False,
                      env={"AWS_SECRET_ACCESS_KEY": "not/the/right/secret/at/all/123456"})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"SignatureDoesNotMatch", p.stderr)
        st = self.stack.proxy_stats()
        self.assertEqual(st["signature_failures"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
