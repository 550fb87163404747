"""Issue 11: resets and 5xx on every kind of request a snapshot makes are retried within
AWS_MAX_ATTEMPTS.

The real bootstrap runs scheduled snapshots through awsproxy.py (SigV4-verifying, in front of
s3rver and dynalite) while its fault rules hit one kind of request per run: PutObject from memory
(checkpoints, run documents) and from a spool file (snapshot files), CreateMultipartUpload,
UploadPart (a one-part upload, and a 5 MiB part reset while it is still going out),
CompleteMultipartUpload, GetObject, ListObjectsV2, DeleteObject, and DynamoDB's Scan and
DescribeTable. The faults: a reset (RST) after the headers and half the body, a 500, a 503
(SlowDown for S3), and for CompleteMultipartUpload a 200 whose body is an <Error>.

With every matching request faulted on its first AWS_MAX_ATTEMPTS - 1 attempts, the run completes
exactly once: every item in exactly one file, the manifest true to the files, _SUCCESS written.
With every attempt faulted, the invocation fails loudly (an error naming the operation, no
_SUCCESS) and does not hang. The runs go in parallel: each has its own prefix (and, for the
DynamoDB faults, its own table), which is what its rule matches.

ETL_RETRY_FAULTS_ONLY=REGEX runs only the scenarios whose name matches (e.g. "scan|get\\.reset").
"""
import base64
import collections
import concurrent.futures
import gzip
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

try:
    import botocore.config
    import botocore.session
except ImportError:  # Debian's python3-botocore, as seed_table.py uses
    sys.path.append("/usr/lib/python3/dist-packages")
    import botocore.config
    import botocore.session

BUCKET = "lake"
MAX_ATTEMPTS = 3
K = MAX_ATTEMPTS - 1              # faults before a request goes through: the most that may work
RUN_TIME = "2026-12-01T00:00:00Z"
RUN_ID = "2026-12-01T000000Z"
SMALL_ITEMS = 40                  # two segments of two Scan pages each (ETL_SCAN_PAGE_LIMIT)
BIG_ITEMS, BIG_PAD = 64, 100_000  # one uncompressed file of 6.4 MB: a 5 MiB part and the rest
PARALLEL = 8
INVOKE_TIMEOUT_S = 60             # the function's timeout; a run that fails must end long before
HANG_LIMIT_S = 30

S3_FAULTS = ("reset-body", "internal", "slowdown")
DDB_FAULTS = ("reset-body", "internal", "unavailable")


# Each kind: the rule's regex (P: the run's prefix, T: its table), the operation the error names,
# the layout and table it needs, and its faults. S3 rules match "METHOD /bucket/key?query".
KINDS = {
    "put-mem": dict(op="PutObject", match=r"^PUT /lake/{P}(?:[^?]*/)?(?!part-)[^/?]+$"),
    "put-spooled": dict(op="PutObject", match=r"^PUT /lake/{P}[^?]*/part-[^/?]+$"),
    "get": dict(op="GetObject", match=r"^GET /lake/{P}[^?]+$"),
    "list": dict(op="ListObjectsV2", match=r"^GET /lake/?\?(?=.*list-type=2)(?=.*prefix={P})"),
    "delete": dict(op="DeleteObject", match=r"^DELETE /lake/{P}[^?]+$", orphan=True),
    "create": dict(op="CreateMultipartUpload", match=r"^POST /lake/{P}[^?]+\?uploads=?$",
                   layout="ddb-export"),
    "part": dict(op="UploadPart", match=r"^PUT /lake/{P}[^?]+\?(?=.*partNumber=)(?=.*uploadId=)",
                 layout="ddb-export"),
    "complete": dict(op="CompleteMultipartUpload", match=r"^POST /lake/{P}[^?]+\?uploadId=",
                     layout="ddb-export", faults=S3_FAULTS + ("error200",)),
    "part-5mib": dict(op="UploadPart",
                      match=r"^PUT /lake/{P}[^?]+\?(?=.*partNumber=1&)(?=.*uploadId=)",
                      table="big", faults=("reset-body",)),
    "scan": dict(op="Scan", service="dynamodb", match=r"^Scan {T}$", table="own",
                 faults=DDB_FAULTS),
    "describe": dict(op="DescribeTable", service="dynamodb", match=r"^DescribeTable {T}$",
                     table="own", faults=DDB_FAULTS),
}


class Scenario:
    def __init__(self, kind, fault, mode):
        spec = KINDS[kind]
        self.kind, self.fault, self.mode = kind, fault, mode
        self.name = f"{kind}.{fault}.{mode}"
        self.op = spec["op"]
        self.service = spec.get("service", "s3")
        self.layout = spec.get("layout", "rows")
        self.prefix = f"rt/{self.name}/"
        table = spec.get("table", "shared")
        self.table = {"shared": "RtShared", "big": "RtBig"}.get(
            table, "Rt_" + re.sub(r"[^A-Za-z0-9]", "_", self.name))
        self.big = table == "big"
        self.orphan = spec.get("orphan", False)
        self.rule = {"name": self.name, "kind": fault, "times": K if mode == "k" else None,
                     "match": spec["match"].replace("{P}", re.escape(self.prefix))
                     .replace("{T}", re.escape(self.table))}
        self.run_prefix = f"{self.prefix}{self.table}/snapshots/run={RUN_ID}/"
        self.orphan_key = self.run_prefix + "part-00001-00777.jsonl.gz"

    def env(self, stack):
        env = dict(stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/{self.prefix}", "ETL_TABLE": self.table,
                    "AWS_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "AWS_LAMBDA_LOG_LEVEL": "INFO",
                    "ETL_SNAPSHOT_FORMAT": self.layout})
        if self.big:
            env.update({"ETL_SEGMENTS": "1", "ETL_COMPRESSION": "none"})
        else:
            env.update({"ETL_SEGMENTS": "2", "ETL_SCAN_PAGE_LIMIT": "11"})
        return env


def scenarios():
    only = os.environ.get("ETL_RETRY_FAULTS_ONLY")
    out = []
    for kind, spec in KINDS.items():
        for fault in spec.get("faults", S3_FAULTS):
            for mode in ("k", "all"):
                sc = Scenario(kind, fault, mode)
                if not only or re.search(only, sc.name):
                    out.append(sc)
    return out


def typed_item(v):
    """A DynamoDB JSON value as botocore takes it (binary as bytes)."""
    (t, x), = v.items()
    if t == "B":
        return {"B": base64.b64decode(x)}
    if t == "BS":
        return {"BS": [base64.b64decode(b) for b in x]}
    if t == "M":
        return {"M": {k: typed_item(y) for k, y in x.items()}}
    if t == "L":
        return {"L": [typed_item(y) for y in x]}
    return {t: x}


def plain_item(item):
    """botocore's typed item as DynamoDB JSON the way awscli prints it (binary as base64)."""
    def conv(v):
        (t, x), = v.items()
        if t == "B":
            return {"B": base64.b64encode(x).decode()}
        if t == "BS":
            return {"BS": [base64.b64encode(b).decode() for b in x]}
        if t == "M":
            return {"M": {k: conv(y) for k, y in x.items()}}
        if t == "L":
            return {"L": [conv(y) for y in x]}
        return {t: x}
    return {k: conv(v) for k, v in item.items()}


class RetryFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.scenarios = scenarios()
        cls.stack = LocalStack(proxy=True, buckets=(BUCKET,))
        cls.stack.start()
        cls.tmp = tempfile.TemporaryDirectory()
        sess = botocore.session.get_session()
        common = dict(region_name=cls.stack.region, aws_access_key_id=cls.stack.access_key,
                      aws_secret_access_key=cls.stack.secret_key)
        # The stand-ins themselves, not the proxies: setting up and reading back stay unfaulted.
        cls.s3 = sess.create_client("s3", endpoint_url=cls.stack.s3_upstream_url,
                                    config=botocore.config.Config(
                                        s3={"addressing_style": "path"}), **common)
        cls.ddb = sess.create_client("dynamodb", endpoint_url=cls.stack.dynamodb_upstream_url,
                                     **common)
        tables = sorted({sc.table for sc in cls.scenarios if not sc.big})
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
            done = [pool.submit(cls.seed_small, t) for t in tables]
            if any(sc.big for sc in cls.scenarios):
                done.append(pool.submit(cls.seed_big))
            for f in done:
                f.result()
        cls.items = {t: cls.scan(t) for t in tables}
        if any(sc.big for sc in cls.scenarios):
            cls.items["RtBig"] = cls.scan("RtBig")
        cls.ev = itlib.write_event(cls.tmp.name, "scheduled.json", {
            "version": "0", "id": "11", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": RUN_TIME,
            "region": "us-east-1", "detail": {},
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"]})
        cls.setup_s = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.tmp.cleanup()

    @classmethod
    def create_table(cls, table):
        cls.ddb.create_table(TableName=table,
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                   {"AttributeName": "sk", "AttributeType": "N"}],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                        {"AttributeName": "sk", "KeyType": "RANGE"}],
                             BillingMode="PAY_PER_REQUEST")
        itlib.wait_table_active(cls.ddb, table)

    @classmethod
    def write_items(cls, table, items):
        for i in range(0, len(items), 25):
            req = {table: [{"PutRequest": {"Item": it}} for it in items[i:i + 25]]}
            while req:
                req = cls.ddb.batch_write_item(RequestItems=req).get("UnprocessedItems") or {}

    @classmethod
    def seed_small(cls, table):
        """Items of every attribute type (as seed_table.py writes them), in this process."""
        cls.create_table(table)
        rng = random.Random(11)
        items = []
        for i in range(SMALL_ITEMS):
            item = ddbgen.make_item(rng, "Orders", i)
            item["pk"], item["sk"] = {"S": f"order#{i:07d}"}, {"N": str(i)}
            items.append({k: typed_item(v) for k, v in item.items()})
        cls.write_items(table, items)

    @classmethod
    def seed_big(cls):
        """Items of 100 KB each, so one segment file goes past a 5 MiB part."""
        cls.create_table("RtBig")
        cls.write_items("RtBig", [
            {"pk": {"S": f"big#{i:03d}"}, "sk": {"N": str(i)},
             "pad": {"S": (f"item {i:03d} " * (BIG_PAD // 9 + 1))[:BIG_PAD]}}
            for i in range(BIG_ITEMS)])

    @classmethod
    def scan(cls, table):
        items, start = [], None
        while True:
            kw = {"TableName": table}
            if start:
                kw["ExclusiveStartKey"] = start
            page = cls.ddb.scan(**kw)
            items += [plain_item(i) for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    # -- reading back ----------------------------------------------------------------------

    def keys(self, prefix):
        out, token = {}, None
        while True:
            kw = {"Bucket": BUCKET, "Prefix": prefix}
            if token:
                kw["ContinuationToken"] = token
            page = self.s3.list_objects_v2(**kw)
            out.update({o["Key"]: o for o in page.get("Contents", [])})
            token = page.get("NextContinuationToken")
            if not token:
                return out

    def get(self, key):
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def check_rows_run(self, sc, answer):
        """Every item exactly once, in files the manifest lists with their true sizes and MD5s."""
        objects = self.keys(sc.run_prefix)
        manifest = json.loads(self.get(sc.run_prefix + "_meta/manifest.json"))
        items = self.items[sc.table]
        self.assertEqual(manifest["item_count"], len(items), sc.name)
        parts = {k for k in objects if k[len(sc.run_prefix):].startswith("part-")}
        listed = {sc.prefix + f["key"] for f in manifest["files"]}
        self.assertEqual(listed, parts, f"{sc.name}: the manifest lists exactly the part files")
        rows = []
        for f in manifest["files"]:
            data = self.get(sc.prefix + f["key"])
            self.assertEqual((len(data), hashlib.md5(data).hexdigest()), (f["bytes"], f["md5"]),
                             f"{sc.name}: {f['key']}")
            got = ddbgen.read_object(f["key"], data)
            self.assertEqual(len(got), f["records"], f"{sc.name}: {f['key']}")
            rows += got
        want = collections.Counter(ddbgen.freeze(ddbgen.snapshot_row(it, sc.table, RUN_ID))
                                   for it in items)
        got = collections.Counter(ddbgen.freeze(r) for r in rows)
        self.assertEqual(got, want, f"{sc.name}: every item exactly once")
        if sc.orphan:
            self.assertNotIn(sc.orphan_key, objects, f"{sc.name}: the orphan is removed")

    def check_export_run(self, sc, answer):
        """DynamoDB Export's layout: the manifests count every item once, every file's MD5."""
        objects = self.keys(sc.run_prefix)
        summary_key = next(k for k in objects if k.endswith("manifest-summary.json"))
        export_dir = summary_key[:-len("manifest-summary.json")]
        summary = json.loads(self.get(summary_key))
        items = []
        for line in self.get(export_dir + "manifest-files.json").decode().splitlines():
            f = json.loads(line)
            data = self.get(f["dataFileS3Key"])
            self.assertEqual(base64.b64encode(hashlib.md5(data).digest()).decode(),
                             f["md5Checksum"], sc.name)
            lines = gzip.decompress(data).decode().splitlines()
            self.assertEqual(len(lines), f["itemCount"], sc.name)
            items += [json.loads(l)["Item"] for l in lines]
        want = self.items[sc.table]
        self.assertEqual(summary["itemCount"], len(want), sc.name)
        self.assertEqual(collections.Counter(json.dumps(i, sort_keys=True) for i in items),
                         collections.Counter(json.dumps(i, sort_keys=True) for i in want),
                         f"{sc.name}: every item exactly once")

    # -- the matrix ------------------------------------------------------------------------

    def run_one(self, sc):
        if sc.orphan:
            self.s3.put_object(Bucket=BUCKET, Key=sc.orphan_key,
                               Body=gzip.compress(b'{"pk":"not a real row"}\n'))
        t0 = time.monotonic()
        r = itlib.invoke([self.ev], env=sc.env(self.stack), timeout=INVOKE_TIMEOUT_S)
        return sc, r, time.monotonic() - t0

    def check(self, sc, r, elapsed, rule):
        self.assertEqual(len(r.lines), 1, f"{sc.name}: {r.stderr[-3000:]}")
        answer = r.json(0)
        success = sc.run_prefix + "_SUCCESS"
        if sc.mode == "k":
            self.assertEqual(answer.get("status"), "complete",
                             f"{sc.name}: {answer} {r.stderr[-3000:]}")
            self.assertEqual(answer["items"], len(self.items[sc.table]), sc.name)
            (self.check_export_run if sc.layout == "ddb-export" else self.check_rows_run)(
                sc, answer)
            self.assertIn(success, self.keys(sc.run_prefix), sc.name)
            # Every request the rule caught was faulted K times, then went through.
            self.assertGreater(rule["requests"], 0, f"{sc.name}: the rule never matched")
            self.assertEqual(rule["faults"], K * rule["requests"], f"{sc.name}: {rule}")
            self.assertGreaterEqual(rule["min_attempts"], K + 1, f"{sc.name}: {rule}")
        else:
            self.assertIn("errorType", answer, f"{sc.name}: {answer}")
            self.assertIn(sc.op, answer["errorMessage"], f"{sc.name}: {answer}")
            self.assertNotIn(success, self.keys(sc.run_prefix), sc.name)
            self.assertEqual(r.reports[0]["status"], "error", f"{sc.name}: {r.reports}")
            self.assertLess(elapsed, HANG_LIMIT_S, sc.name)
            # The failing request was tried AWS_MAX_ATTEMPTS times (libcurl re-sends a request
            # once by itself when a reused connection dies before answering).
            self.assertEqual(rule["passed"], 0, f"{sc.name}: {rule}")
            self.assertGreaterEqual(rule["max_attempts"], MAX_ATTEMPTS, f"{sc.name}: {rule}")
            self.assertLessEqual(rule["max_attempts"], 2 * MAX_ATTEMPTS, f"{sc.name}: {rule}")

    def test_every_request_kind_under_every_fault(self):
        scs = self.scenarios
        for service in ("s3", "dynamodb"):
            self.stack.set_faults(service=service,
                                  rules=[sc.rule for sc in scs if sc.service == service])
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
            results = list(pool.map(self.run_one, scs))
        run_s = time.monotonic() - t0
        stats = self.stack.proxy_stats()
        self.stack.set_faults(rules=[])
        rules = {r["name"]: r for service in ("s3", "dynamodb") for r in stats[service]["rules"]}
        failures = []
        matrix = collections.defaultdict(dict)
        for sc, r, elapsed in sorted(results, key=lambda x: x[0].name):
            rule = rules[sc.name]
            try:
                self.check(sc, r, elapsed, rule)
                verdict = "ok"
            except AssertionError as e:
                verdict = "FAIL"
                failures.append(f"{sc.name}: {str(e)[:1500]}")
            matrix[sc.kind][f"{sc.fault}.{sc.mode}"] = (
                f"{verdict} {rule['faults']}f/{rule['requests']}r {elapsed:.1f}s")
        sys.stderr.write(f"\nsetup {self.setup_s:.1f} s, {len(scs)} runs in {run_s:.1f} s "
                         f"({PARALLEL} at a time); faults/requests caught, run time:\n")
        for kind, row in matrix.items():
            sys.stderr.write(f"  {kind:12} " + "  ".join(f"{c}: {v}" for c, v in row.items())
                             + "\n")
        self.assertEqual(stats["signature_failures"], 0, stats["failures"][:3])
        self.assertFalse(failures, "\n".join(failures))


if __name__ == "__main__":
    unittest.main(verbosity=2)
