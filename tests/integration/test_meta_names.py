"""Issue 11 (4): item attributes named like the metadata columns, through the real bootstrap.

An item with `_op`, `_item_op`, `_seq` and `_item_seq` (and more such names) gives one JSON object
per row without duplicate keys and with every value kept, in the stream's change objects and in a
snapshot's files; DuckDB reads both as Athena would; the snapshot DDL declares each column once.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

BUCKET = "lake"
TABLE = "MetaNames"
DUCKDB = os.path.join(itlib.SOURCE_DIR, "scripts", "duckdb-query")

ITEM = {
    "pk": {"S": "k1"},
    "_op": {"S": "the item's own _op"},
    "_item_op": {"N": "12345678901234567890123456789012345678"},
    "_seq": {"S": "not a sequence number"},
    "_item_seq": {"BOOL": True},
    "_item_item_op": {"L": [{"S": "deeper"}]},
    "_table": {"M": {"_op": {"S": "nested names are not columns"}}},
    "_ts": {"NULL": True},
    "_items": {"S": "not an escaped name"},
}
# Every attribute's column, by the README's rule.
COLUMNS = {"pk": "pk", "_op": "_item_op", "_item_op": "_item_item_op", "_seq": "_item_seq",
           "_item_seq": "_item_item_seq", "_item_item_op": "_item_item_item_op",
           "_table": "_item_table", "_ts": "_item_ts", "_items": "_items"}


def strict_rows(data):
    """JSON Lines parsed with a hook that refuses a duplicate key in any object."""
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise AssertionError(f"duplicate keys {sorted(dupes)}")
        return dict(pairs)
    return [json.loads(line, object_pairs_hook=no_dupes, parse_float=str, parse_int=str)
            for line in data.decode("utf-8").split("\n") if line]


class MetaNamesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.stack = LocalStack(proxy=False, buckets=(BUCKET,)).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.tmp.cleanup()

    def invoke(self, events, prefix, **extra):
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/{prefix}", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        env.update(extra)
        return itlib.invoke(events, env=env, timeout=120)

    def download(self, prefix):
        dest = os.path.join(self.tmp.name, prefix.strip("/"))
        self.stack.aws("s3", "cp", f"s3://{BUCKET}/{prefix}", dest, "--recursive",
                       "--only-show-errors")
        return dest

    def files(self, dest, pattern):
        out = []
        for root, _, names in os.walk(dest):
            out.extend(os.path.join(root, n) for n in names if re.search(pattern, n))
        return sorted(out)

    def assert_row(self, row, extra_meta):
        for attr, col in COLUMNS.items():
            self.assertIn(col, row, f"{attr} has no column {col}: {sorted(row)}")
            want = ITEM[attr]["N"] if "N" in ITEM[attr] else ddbgen.plain(ITEM[attr])
            self.assertEqual(row[col], want, attr)
        for k, v in extra_meta.items():
            self.assertEqual(row[k], v, k)
        self.assertEqual(set(row), set(COLUMNS.values()) | {"_op", "_seq", "_ts", "_table",
                                                            "_event_id"})

    def duckdb_rows(self, dest, suffix):
        cols = ", ".join(f'"{c}"' for c in sorted(set(COLUMNS.values()) | {"_op", "_seq"}))
        q = (f"SELECT {cols} FROM read_json('{dest}/**/*{suffix}', format='newline_delimited', "
             "union_by_name=true)")
        out = subprocess.run([DUCKDB, q], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [json.loads(line) for line in out.stdout.splitlines()]

    def test_stream_rows(self):
        rec = {"eventID": "e1", "eventName": "INSERT", "eventVersion": "1.1",
               "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
               "eventSourceARN": ddbgen.stream_arn(TABLE),
               "dynamodb": {"ApproximateCreationDateTime": 1764028800, "Keys": {"pk": ITEM["pk"]},
                            "NewImage": ITEM, "SequenceNumber": "100", "SizeBytes": 10,
                            "StreamViewType": "NEW_IMAGE"}}
        path = itlib.write_event(self.tmp.name, "meta.json", {"Records": [rec]})
        r = self.invoke([path], "stream/")
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0), {"batchItemFailures": []})
        dest = self.download("stream/")
        objs = self.files(dest, r"\.jsonl\.gz$")
        self.assertEqual(len(objs), 1, objs)
        subprocess.run(["gzip", "-dk", objs[0]], check=True)
        with open(objs[0][:-3], "rb") as f:
            rows = strict_rows(f.read())
        os.unlink(objs[0][:-3])
        self.assertEqual(len(rows), 1)
        self.assert_row(rows[0], {"_op": "INSERT", "_seq": "100", "_table": TABLE})
        duck = self.duckdb_rows(dest, ".jsonl.gz")
        self.assertEqual(len(duck), 1)
        self.assertEqual(duck[0]["_item_op"], "the item's own _op")
        self.assertEqual(duck[0]["_op"], "INSERT")
        # Typed as the DDL types it (decimal(38,0)), the 38-digit number comes back exact.
        q = (f"SELECT \"_item_item_op\"::VARCHAR AS v FROM read_json('{dest}/**/*.jsonl.gz', "
             "format='newline_delimited', columns={'_item_item_op': 'DECIMAL(38,0)'})")
        out = subprocess.run([DUCKDB, q], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["v"], "12345678901234567890123456789012345678")
        self.assertEqual(duck[0]["_item_seq"], "not a sequence number")
        self.assertEqual(duck[0]["_seq"], "100")

    def test_snapshot_rows_and_ddl(self):
        self.stack.aws("dynamodb", "create-table", "--table-name", TABLE,
                       "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                       "--key-schema", "AttributeName=pk,KeyType=HASH",
                       "--billing-mode", "PAY_PER_REQUEST")
        self.stack.aws("dynamodb", "put-item", "--table-name", TABLE, "--item", json.dumps(ITEM))
        ev = itlib.write_event(self.tmp.name, "export.json",
                               {"export": {"table": TABLE, "time": "2026-11-24T00:00:00Z",
                                           "segments": 2}})
        r = self.invoke([ev], "snap/")
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0)["status"], "complete", r.json(0))
        dest = self.download("snap/")
        parts = self.files(dest, r"^part-.*\.jsonl\.gz$")
        rows = []
        for p in parts:
            subprocess.run(["gzip", "-dk", p], check=True)
            with open(p[:-3], "rb") as f:
                rows.extend(strict_rows(f.read()))
            os.unlink(p[:-3])
        self.assertEqual(len(rows), 1)
        self.assert_row(rows[0], {"_op": "SNAPSHOT", "_seq": None, "_table": TABLE})
        duck = self.duckdb_rows(dest, ".jsonl.gz")
        self.assertEqual(len(duck), 1)
        self.assertEqual(duck[0]["_item_op"], "the item's own _op")
        self.assertEqual(duck[0]["_op"], "SNAPSHOT")
        # The DDL declares each column once, each escaped attribute under its own name.
        ddl_path = self.files(dest, r"^table\.ddl$")
        self.assertEqual(len(ddl_path), 1)
        with open(ddl_path[0], encoding="utf-8") as f:
            ddl = f.read()
        body = ddl[ddl.index("(") + 1:ddl.index("\n)")]
        declared = re.findall(r"^\s*`([^`]+)`\s", body, re.M)
        self.assertEqual(len(declared), len(set(declared)), declared)
        for col in COLUMNS.values():
            self.assertIn(col, declared)
        for col in ("_op", "_seq", "_ts", "_table", "_event_id"):
            self.assertIn(col, declared)


if __name__ == "__main__":
    unittest.main(verbosity=2)
