"""Issue 13: snapshots (rows mode) in Parquet. A 50,000-item table seeded in dynalite is
snapshotted with ETL_FORMAT=parquet and each of the four codecs; every file is read by DuckDB,
arrow-rs (parquet-wasm) and hyparquet, which must agree, and every item must be one row, value for
value; the run's table.ddl, changes.ddl and current view use the Parquet SerDe with the files'
types; ETL_SNAPSHOT_FORMAT=ddb-export stays DynamoDB's JSON. (Stream batches: test_parquet.py.)"""
import glob
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
import pqcheck  # noqa: E402

CODECS = {"snappy": "SNAPPY", "zstd": "ZSTD", "gzip": "GZIP", "none": "UNCOMPRESSED"}


def scheduled(time):
    return {"version": "0", "id": "5f2a8d2e", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time,
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
            "detail": {}}


class ParquetSnapshotTest(unittest.TestCase):
    """A 50,000-item snapshot (rows mode) in Parquet with each codec: every item exactly once,
    value for value, through the three readers; table.ddl, changes.ddl and the current view in
    the Parquet SerDe with the files' types; ddb-export stays DynamoDB's JSON."""

    @classmethod
    def setUpClass(cls):
        from stack import LocalStack
        cls.stack = LocalStack(proxy=False, buckets=("lake",))
        cls.stack.start()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.stack.seed_table("Orders50kPq", 50000, seed=3)
        cls.items = cls.stack.aws("dynamodb", "scan", "--table-name", "Orders50kPq",
                                  timeout=1200)["Items"]

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.tmp.cleanup()

    def test_50000_items_every_codec(self):
        table = "Orders50kPq"
        self.assertEqual(len(self.items), 50000)
        ev = itlib.write_event(self.tmp.name, "sched.json", scheduled("2026-11-24T00:00:00Z"))
        run_id = "2026-11-24T000000Z"
        for codec, name in CODECS.items():
            with self.subTest(codec=codec):
                lake = os.path.join(self.tmp.name, "lake-" + codec)
                env = dict(self.stack.env)
                env.update({"ETL_OUTPUT": f"file://{lake}/", "ETL_FORMAT": "parquet",
                            "ETL_PARQUET_CODEC": codec, "ETL_TABLE": table, "ETL_SEGMENTS": "4",
                            "AWS_LAMBDA_LOG_LEVEL": "INFO"})
                r = itlib.invoke([ev], env=env, timeout=300)
                self.assertEqual(r.code, 0, r.stderr[-3000:])
                self.assertEqual(r.json(0)["status"], "complete", r.stderr[-3000:])
                run_dir = os.path.join(lake, table, "snapshots", f"run={run_id}")
                parts = sorted(glob.glob(os.path.join(run_dir, "part-*")))
                self.assertTrue(parts)
                for p in parts:
                    self.assertTrue(p.endswith(".parquet"), p)
                typed = [pqcheck.snapshot_typed_row(it, table, run_id) for it in self.items]
                read = pqcheck.read_files(parts)
                problems = pqcheck.match_rows(
                    typed, read, key=lambda t: (t["pk"]["S"], ddbgen.normalize_number(t["sk"]["N"])),
                    row_key=lambda r: (r.get("pk"), r.get("sk")))
                self.assertEqual(problems, [], "\n".join(problems[:6]))
                for path, d in sorted(read.items()):
                    problems = pqcheck.metadata_problems(path, name, d["rows"]["duckdb"],
                                                         d["schema"])
                    self.assertEqual(problems, [], "\n".join(problems[:6]))
                with open(os.path.join(run_dir, "_meta", "table.ddl")) as f:
                    ddl = f.read()
                self.assertIn("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", ddl)
                self.assertIn("MapredParquetInputFormat", ddl)
                self.assertIn("`_ts` timestamp", ddl)
                self.assertIn("`blob` binary", ddl)
                self.assertIn("`sk` string", ddl)
                with open(os.path.join(lake, table, "changes.ddl")) as f:
                    self.assertIn("ParquetHiveSerDe", f.read())
                with open(os.path.join(lake, table, "current.sql")) as f:
                    self.assertIn("`_ts` >= TIMESTAMP '2026-11-24 00:00:00.000'", f.read())

    def test_transform_declared_types(self):
        """A snapshot through a transform: the declared bigint, decimal and boolean columns are
        INT64, DECIMAL and BOOLEAN in every file, with every item's value, and the dataset's
        table.ddl says so."""
        spec = {"version": 1, "datasets": [{
            "name": "orders_typed",
            "mappings": [["pk", "string", "id", "string"],
                         ["sk", "bigint", "sk", "bigint"],
                         ["sk", "bigint", "sk_dec", "decimal(5,1)"],
                         ["active", "boolean", "active", "boolean"]]}]}
        spec_path = os.path.join(self.tmp.name, "typed-spec.json")
        with open(spec_path, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        lake = os.path.join(self.tmp.name, "typed")
        ev = itlib.write_event(self.tmp.name, "sched3.json", scheduled("2026-11-26T00:00:00Z"))
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"file://{lake}/", "ETL_FORMAT": "parquet",
                    "ETL_TABLE": "Orders50kPq", "ETL_SEGMENTS": "2",
                    "ETL_TRANSFORM": f"file:{spec_path}"})
        r = itlib.invoke([ev], env=env, timeout=300)
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0)["status"], "complete", r.stderr[-3000:])
        run_dir = os.path.join(lake, "orders_typed", "snapshots", "run=2026-11-26T000000Z")
        parts = sorted(glob.glob(os.path.join(run_dir, "part-*.parquet")))
        self.assertTrue(parts, os.listdir(lake))
        files = ", ".join(f"'{p}'" for p in parts)
        want_sk = sum(int(it["sk"]["N"]) for it in self.items)
        want_active = sum(1 for it in self.items if it["active"]["BOOL"])
        (got,) = pqcheck.duckdb(
            f"SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(sk)::VARCHAR AS sk, "
            f"sum(sk_dec)::VARCHAR AS sk_dec, count(*) FILTER (WHERE active) AS active, "
            f"count(*) FILTER (WHERE sk_dec <> sk) AS differ FROM read_parquet([{files}])")
        self.assertEqual(got, {"n": "50000", "ids": "50000", "sk": str(want_sk),
                               "sk_dec": f"{want_sk}.0", "active": str(want_active), "differ": "0"})
        for p in parts:
            types = {x["name"]: (x["type"], x["converted_type"]) for x in pqcheck.duckdb(
                f"SELECT name, type, converted_type FROM parquet_schema('{p}')")}
            self.assertEqual(types["sk"], ("INT64", None), p)
            self.assertEqual(types["sk_dec"], ("INT32", "DECIMAL"), p)
            self.assertEqual(types["active"], ("BOOLEAN", None), p)
        with open(os.path.join(run_dir, "_meta", "table.ddl")) as f:
            ddl = f.read()
        for col in ("`sk` bigint", "`sk_dec` decimal(5,1)", "`active` boolean", "`id` string"):
            self.assertIn(col, ddl)

    def test_ddb_export_unchanged(self):
        """ETL_SNAPSHOT_FORMAT=ddb-export writes DynamoDB's JSON whatever ETL_FORMAT says."""
        lake = os.path.join(self.tmp.name, "native")
        ev = itlib.write_event(self.tmp.name, "sched2.json", scheduled("2026-11-25T00:00:00Z"))
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"file://{lake}/", "ETL_FORMAT": "parquet",
                    "ETL_SNAPSHOT_FORMAT": "ddb-export", "ETL_TABLE": "Orders50kPq",
                    "ETL_SEGMENTS": "2"})
        r = itlib.invoke([ev], env=env, timeout=300)
        self.assertEqual(r.json(0)["status"], "complete", r.stderr[-3000:])
        files = [f for f in glob.glob(os.path.join(lake, "**", "*"), recursive=True)
                 if os.path.isfile(f)]
        self.assertFalse([f for f in files if f.endswith(".parquet")])
        self.assertTrue([f for f in files if f.endswith(".json.gz")])


if __name__ == "__main__":
    unittest.main()
