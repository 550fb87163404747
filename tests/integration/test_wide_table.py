"""Issue 11 (5): a snapshot of a table with 10,000 distinct attribute names, through the real
bootstrap against dynalite and s3rver.

It completes; every item and every value is in the files; the schema keeps the first 1,000 names
and counts the values of the others (overflow_values); the DDL declares the tracked columns only;
checkpoints stay small; the function's peak RSS stays bounded (reported by the local invoker).
"""
import gzip
import json
import os
import re
import sys
import tempfile
import unittest

import boto3

sys.path.insert(0, os.path.dirname(__file__))
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

BUCKET = "lake"
TABLE = "Wide"
ITEMS = 2500
PER_ITEM = 4  # distinct attribute names of each item: ITEMS * PER_ITEM in all
SEGMENTS = 2
RUN = "2026-11-24T000000Z"


def item(i):
    it = {"pk": {"S": f"item#{i:05d}"}, "common": {"N": str(i)}}
    for j in range(PER_ITEM):
        it[f"attr_{i * PER_ITEM + j:05d}"] = {"S": f"v{i}-{j}"}
    return it


class WideTableTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.stack = LocalStack(proxy=False, buckets=(BUCKET,)).start()
        ddb = boto3.client("dynamodb", endpoint_url=cls.stack.dynamodb_upstream_url,
                           region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        itlib.wait_table_active(ddb, TABLE)
        for start in range(0, ITEMS, 25):
            reqs = [{"PutRequest": {"Item": item(i)}} for i in range(start, min(start + 25, ITEMS))]
            while reqs:
                out = ddb.batch_write_item(RequestItems={TABLE: reqs})
                reqs = out.get("UnprocessedItems", {}).get(TABLE, [])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.tmp.cleanup()

    def test_ten_thousand_attribute_names(self):
        prefix = "wide/"
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/{prefix}", "AWS_LAMBDA_LOG_LEVEL": "INFO",
                    "ETL_SCAN_PAGE_LIMIT": "100"})
        events = []
        # Segment by segment, resumed across short invocations, then the commit: checkpoints
        # carry the schema from one invocation to the next.
        for seg in range(SEGMENTS):
            events.append(itlib.write_event(self.tmp.name, f"seg{seg}.json", {"export": {
                "table": TABLE, "run_id": RUN, "segment": seg, "total_segments": SEGMENTS}}))
        commit = itlib.write_event(self.tmp.name, "commit.json",
                                   {"export": {"table": TABLE, "run_id": RUN, "commit": True}})
        rss = []
        for _ in range(40):
            r = itlib.invoke(events, env=env, timeout=4, wall_timeout=300)
            self.assertEqual(r.code, 0, r.stderr[-3000:])
            rss.extend(rep["max_rss_kb"] for rep in r.reports if rep.get("max_rss_kb"))
            answers = [r.json(i) for i in range(len(events))]
            for a in answers:
                self.assertIn(a.get("status"), ("complete", "incomplete"), a)
            if all(a["status"] == "complete" for a in answers):
                break
        else:
            self.fail("segments never completed")
        r = itlib.invoke([commit], env=env, timeout=60, wall_timeout=300)
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0)["status"], "complete", r.json(0))
        rss.extend(rep["max_rss_kb"] for rep in r.reports if rep.get("max_rss_kb"))
        self.assertIn("more than 1000 attribute names", r.stderr)

        run_dir = f"{prefix}{TABLE}/snapshots/run={RUN}/"
        keys = self.stack.s3_objects(BUCKET, run_dir)
        manifest = json.loads(self.stack.s3_get(BUCKET, run_dir + "_meta/manifest.json"))
        self.assertEqual(manifest["item_count"], ITEMS)
        # Every item, every value, exactly once.
        seen = {}
        for f in manifest["files"]:
            data = gzip.decompress(self.stack.s3_get(BUCKET, prefix + f["key"]))
            for line in data.decode().splitlines():
                row = json.loads(line)
                self.assertNotIn(row["pk"], seen)
                seen[row["pk"]] = row
        self.assertEqual(len(seen), ITEMS)
        for i in range(ITEMS):
            row = seen[f"item#{i:05d}"]
            for j in range(PER_ITEM):
                self.assertEqual(row[f"attr_{i * PER_ITEM + j:05d}"], f"v{i}-{j}")
        # The schema: 1,000 names tracked, the other values counted.
        schema = json.loads(self.stack.s3_get(BUCKET, run_dir + "_meta/schema.json"))
        names = [a["name"] for a in schema["attributes"]]
        self.assertEqual(len(names), 1000)
        self.assertIn("pk", names)
        untracked = ITEMS * (PER_ITEM + 2) - sum(sum(a["types"].values())
                                                   for a in schema["attributes"])
        self.assertEqual(schema["overflow_values"], untracked)
        self.assertGreater(untracked, (ITEMS * PER_ITEM) - 1000)
        ddl = self.stack.s3_get(BUCKET, run_dir + "_meta/table.ddl").decode()
        declared = re.findall(r"^\s*`([^`]+)`\s", ddl[ddl.index("(") + 1:ddl.index("\n)")], re.M)
        self.assertLessEqual(len(declared), 1000 + 6)
        self.assertEqual(len(declared), len(set(declared)))
        # Checkpoints stay small (1,000 names at most), and so does the function.
        for k in keys:
            if "/_checkpoint/segment-" in k:
                size = len(self.stack.s3_get(BUCKET, k))
                self.assertLess(size, 200 * 1024, k)
        peak = max(rss)
        print(f"\n  10,000 attribute names: {ITEMS} items, peak RSS {peak} KB", file=sys.stderr)
        self.assertLess(peak, 64 * 1024)


if __name__ == "__main__":
    unittest.main(verbosity=2)
