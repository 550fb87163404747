"""Issue 5: scheduled snapshots end to end. The real bootstrap, under scripts/local-invoke,
exports tables seeded in dynalite into s3rver (through the SigV4-verifying proxy): every item
exactly once compared with an awscli Scan, a correct manifest, schema, DDL and _SUCCESS; runs
resumed across short invocations; orphaned files removed; fan-out by segment; a second delivery
of the same scheduled event changes nothing; DynamoDB Export's own layout and manifests."""
import base64
import collections
import csv
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

BUCKET = "lake"
DUCKDB = os.path.join(itlib.SOURCE_DIR, "scripts", "duckdb-query")


def scheduled(time):
    return {"version": "0", "id": "5f2a8d2e", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time,
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
            "detail": {}}


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = LocalStack(proxy=True, buckets=(BUCKET,))
        cls.stack.start()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.seeded = {}

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.stack.set_faults(fault_every=0, fault_rate=0.0, fault_match="")
        self.stack.reset_proxy_stats()

    # -- helpers ---------------------------------------------------------------------------

    @classmethod
    def seed(cls, table, n):
        if table not in cls.seeded:
            cls.stack.seed_table(table, n, seed=len(table))
            cls.seeded[table] = n

    def event_file(self, name, obj):
        return itlib.write_event(self.tmp.name, name, obj)

    def invoke(self, events, prefix, timeout=120, **extra):
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/{prefix}", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        env.update(extra)
        return itlib.invoke(events, env=env, timeout=timeout)

    def aws_scan(self, table):
        """Every item, as awscli's Scan returns them (DynamoDB JSON)."""
        out = self.stack.aws("dynamodb", "scan", "--table-name", table)
        return out["Items"]

    def s3_keys(self, prefix):
        return self.stack.s3_objects(BUCKET, prefix)

    def get(self, key):
        return self.stack.s3_get(BUCKET, key)

    def snapshot_rows(self, run_prefix):
        rows = []
        for key in self.s3_keys(run_prefix):
            name = key[len(run_prefix):]
            if name.startswith("part-"):
                rows.extend(ddbgen.read_object(key, self.get(key)))
        return rows

    def assert_exactly_once(self, rows, items, table, run_id):
        want = collections.Counter(ddbgen.freeze(ddbgen.snapshot_row(it, table, run_id))
                                   for it in items)
        got = collections.Counter(ddbgen.freeze(r) for r in rows)
        missing, extra = want - got, got - want
        if missing or extra:
            self.fail(f"{sum(missing.values())} rows missing, {sum(extra.values())} unexpected "
                      f"(of {len(items)}); e.g. missing {next(iter(missing), None)!r:.400}, "
                      f"unexpected {next(iter(extra), None)!r:.400}")
        keys = collections.Counter((r["pk"], r["sk"].text) for r in rows)
        self.assertEqual(max(keys.values()), 1)

    def assert_manifest(self, run_prefix, n_items, segments):
        manifest = json.loads(self.get(run_prefix + "_meta/manifest.json"))
        self.assertEqual(manifest["item_count"], n_items)
        self.assertEqual(manifest["segments"], segments)
        objects = self.s3_keys(run_prefix)
        parts = {k for k in objects if k[len(run_prefix):].startswith("part-")}
        listed = {f["key"] for f in manifest["files"]}
        prefix = run_prefix[:run_prefix.index(listed and next(iter(listed)).split("/")[0])]
        self.assertEqual({prefix + k for k in listed}, parts, "manifest lists exactly the part files")
        self.assertEqual(sum(f["records"] for f in manifest["files"]), n_items)
        for f in manifest["files"]:
            data = self.get(prefix + f["key"])
            self.assertEqual(hashlib.md5(data).hexdigest(), f["md5"])
            self.assertEqual(len(data), f["bytes"])
            self.assertEqual(len(gzip.decompress(data).split(b"\n")) - 1, f["records"])
        self.assertIn(run_prefix + "_SUCCESS", objects)
        return manifest

    # -- tests -----------------------------------------------------------------------------

    def test_50000_items_four_segments(self):
        table = "Orders50k"
        self.seed(table, 50000)
        ev = self.event_file("sched50k.json", scheduled("2026-11-24T00:00:00Z"))
        r = self.invoke([ev], "snap/", ETL_TABLE=table, ETL_SEGMENTS="4",
                        ETL_EXPORT_OBJECT_BYTES=str(8 * 1024 * 1024))
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        ans = r.json(0)
        self.assertEqual(ans["status"], "complete", ans)
        self.assertEqual(ans["items"], 50000)
        run_id = "2026-11-24T000000Z"
        run_prefix = f"snap/{table}/snapshots/run={run_id}/"
        items = self.aws_scan(table)
        self.assertEqual(len(items), 50000)
        self.assert_exactly_once(self.snapshot_rows(run_prefix), items, table, run_id)
        manifest = self.assert_manifest(run_prefix, 50000, 4)
        self.assertGreater(manifest["consumed_read_units"], 0)
        # schema.json: every attribute with its observed types and counts.
        schema = json.loads(self.get(run_prefix + "_meta/schema.json"))
        self.assertEqual(schema["items"], 50000)
        by_name = {a["name"]: a for a in schema["attributes"]}
        self.assertEqual(by_name["pk"]["types"], {"S": 50000})
        self.assertEqual(by_name["sk"]["types"], {"N": 50000})
        self.assertEqual(by_name["sk"]["athena_type"], "bigint")
        self.assertEqual(by_name["blob"]["types"], {"B": 50000})
        want_types = collections.Counter()
        for it in items:
            for k, v in it.items():
                want_types[(k, next(iter(v)))] += 1
        got_types = collections.Counter({(a["name"], t): c for a in schema["attributes"]
                                         for t, c in a["types"].items()})
        self.assertEqual(got_types, want_types)
        ddl = self.get(run_prefix + "_meta/table.ddl").decode()
        self.assertIn("CREATE EXTERNAL TABLE IF NOT EXISTS `orders50k_snapshot`", ddl)
        self.assertIn("org.openx.data.jsonserde.JsonSerDe", ddl)
        self.assertIn("`sk` bigint", ddl)
        self.assertIn(f"s3://{BUCKET}/snap/{table}/snapshots/run=${{run}}/", ddl)
        changes = self.get(f"snap/{table}/changes.ddl").decode()
        self.assertIn("'storage.location.template' = 's3://lake/snap/Orders50k/changes/dt=${dt}/hour=${hour}/'", changes)
        self.assertIn("'projection.hour.type' = 'integer'", changes)
        current = self.get(f"snap/{table}/current.sql").decode()
        self.assertIn("PARTITION BY `pk`, `sk`", current)
        self.assertIn(f"s.`run` = '{run_id}'", current)
        # _SUCCESS is the last object written.
        objs = self.s3_keys(run_prefix)
        self.assertEqual(max(objs.values(), key=lambda o: (o["LastModified"], o["Key"] == run_prefix + "_SUCCESS"))["Key"],
                         run_prefix + "_SUCCESS")
        # DuckDB reads the snapshot files.
        dl = os.path.join(self.tmp.name, "dl50k")
        self.stack.aws("s3", "cp", f"s3://{BUCKET}/{run_prefix}", dl, "--recursive", "--exclude", "_*",
                       "--only-show-errors")
        out = subprocess.run([DUCKDB, f"SELECT count(*) AS n, count(DISTINCT pk) AS k FROM read_json('{dl}/part-*.jsonl.gz', format='newline_delimited', union_by_name=true)"],
                             capture_output=True, text=True, check=True)
        res = json.loads(out.stdout)
        self.assertEqual((int(res["n"]), int(res["k"])), (50000, 50000))
        self.assertEqual(self.stack.proxy_stats()["signature_failures"], 0)

        # A second delivery of the same scheduled event after completion changes nothing.
        before = self.s3_keys(f"snap/{table}/")
        r2 = self.invoke([ev], "snap/", ETL_TABLE=table, ETL_SEGMENTS="4")
        self.assertEqual(r2.json(0)["status"], "complete")
        self.assertEqual(r2.json(0)["items"], 50000)
        # ... and answers with the run's own figures, read units included.
        for k in ("files", "bytes", "segments", "segments_done", "consumed_read_units"):
            self.assertEqual(r2.json(0)[k], ans[k], k)
        self.assertGreater(r2.json(0)["consumed_read_units"], 0)
        after = self.s3_keys(f"snap/{table}/")
        self.assertEqual({k: (v["ETag"], v["LastModified"]) for k, v in before.items()},
                         {k: (v["ETag"], v["LastModified"]) for k, v in after.items()})

    def test_resumed_across_short_invocations(self):
        """A 3-second timeout and a read-capacity budget force several resumptions; the
        finished run is still exactly once. A stray file in the run folder (as an attempt that
        died between completing a file and saving its checkpoint would leave) is removed."""
        table = "Orders20k"
        self.seed(table, 20000)
        ev = self.event_file("sched20k.json", scheduled("2026-11-25T03:00:00Z"))
        run_id = "2026-11-25T030000Z"
        run_prefix = f"resume/{table}/snapshots/run={run_id}/"
        env = dict(ETL_TABLE=table, ETL_SEGMENTS="3", ETL_MAX_RCU="30",
                   ETL_EXPORT_OBJECT_BYTES=str(1024 * 1024), ETL_SCAN_PAGE_LIMIT="500")
        first = self.invoke([ev], "resume/", timeout=3, **env)
        self.assertEqual(first.json(0)["status"], "incomplete", first.stderr[-2000:])
        stray = os.path.join(self.tmp.name, "stray.gz")
        with open(stray, "wb") as f:
            f.write(gzip.compress(b'{"pk":"not a real row"}\n'))
        self.stack.aws("s3", "cp", stray, f"s3://{BUCKET}/{run_prefix}part-00001-00777.jsonl.gz",
                       "--only-show-errors")
        r = self.invoke([ev] * 16, "resume/", timeout=3, **env)
        statuses = [first.json(0)["status"]] + [r.json(i)["status"] for i in range(len(r.lines))]
        self.assertNotIn("Task timed out", r.stdout)
        self.assertEqual([rep["status"] for rep in r.reports].count("timeout"), 0)
        n_incomplete = statuses.count("incomplete")
        self.assertGreaterEqual(n_incomplete, 4, statuses)  # at least three resumptions
        self.assertEqual(statuses[n_incomplete:], ["complete"] * (len(statuses) - n_incomplete))
        self.assert_exactly_once(self.snapshot_rows(run_prefix), self.aws_scan(table), table, run_id)
        manifest = self.assert_manifest(run_prefix, 20000, 3)
        self.assertGreaterEqual(manifest["segment_invocations"], 6)
        self.assertNotIn(f"{run_prefix}part-00001-00777.jsonl.gz", self.s3_keys(run_prefix))

    def test_fan_out_segments_then_commit(self):
        table = "OrdersFan"
        self.seed(table, 3000)
        run_id = "2026-11-26T000000Z"
        seg = lambda s: self.event_file(f"seg{s}.json", {"export": {"table": table, "run_id": run_id,
                                                                    "segment": s, "total_segments": 3}})
        commit = self.event_file("commit.json", {"export": {"table": table, "run_id": run_id, "commit": True}})
        r = self.invoke([seg(0), seg(1), commit, seg(2), commit], "fan/")
        self.assertEqual(r.code, 0, r.stderr[-2000:])
        answers = [r.json(i) for i in range(5)]
        self.assertEqual([a["status"] for a in answers],
                         ["complete", "complete", "incomplete", "complete", "complete"])
        self.assertEqual(answers[0]["segment"], 0)
        # A segment answers for itself; the commit for the run.
        self.assertEqual([answers[i]["segments_done"] for i in (0, 1, 3)], [1, 1, 1])
        self.assertEqual(sum(answers[i]["items"] for i in (0, 1, 3)), 3000)
        self.assertEqual(answers[2]["segments_done"], 2)
        self.assertEqual(answers[4]["items"], 3000)
        run_prefix = f"fan/{table}/snapshots/run={run_id}/"
        self.assert_exactly_once(self.snapshot_rows(run_prefix), self.aws_scan(table), table, run_id)
        self.assert_manifest(run_prefix, 3000, 3)
        # Bad requests are refused with a clear error.
        bad = self.event_file("bad.json", {"export": {"table": table, "run_id": run_id,
                                                      "segment": 5, "total_segments": 3}})
        both = self.event_file("both.json", {"export": {"table": table, "run_id": run_id,
                                                        "time": "2026-11-26T00:00:00Z", "commit": True}})
        r = self.invoke([bad, both], "fan/")
        self.assertEqual(r.json(0)["errorType"], "InvalidExportRequest")
        self.assertEqual(r.json(1)["errorType"], "InvalidExportRequest")
        self.assertIn("not both", r.json(1)["errorMessage"])
        # A damaged checkpoint is named, with its own error type, and nothing else is touched.
        run2 = "2026-11-26T120000Z"
        first = self.event_file("seg0b.json", {"export": {"table": table, "run_id": run2,
                                                          "segment": 0, "total_segments": 2}})
        self.assertEqual(self.invoke([first], "fan/").json(0)["status"], "complete")
        ck = f"fan/{table}/snapshots/run={run2}/_checkpoint/segment-0.json"
        garbage = os.path.join(self.tmp.name, "garbage.json")
        with open(garbage, "w") as f:
            f.write("{not json")
        self.stack.aws("s3api", "put-object", "--bucket", BUCKET, "--key", ck, "--body", garbage)
        r = self.invoke([first], "fan/")
        self.assertEqual(r.json(0)["errorType"], "CheckpointCorrupt", r.stdout)
        self.assertIn(ck, r.json(0)["errorMessage"])

    def test_csv_snapshot_files_are_typed_csv(self):
        table = "OrdersCsv"
        self.seed(table, 300)
        ev = self.event_file("csv.json", scheduled("2026-11-28T00:00:00Z"))
        r = self.invoke([ev], "csv/", ETL_TABLE=table, ETL_SEGMENTS="2", ETL_FORMAT="csv",
                        ETL_COMPRESSION="none")
        self.assertEqual(r.json(0)["status"], "complete", r.stderr[-2000:])
        run_prefix = f"csv/{table}/snapshots/run=2026-11-28T000000Z/"
        parts = [k for k in self.s3_keys(run_prefix) if "/part-" in k]
        self.assertTrue(parts)
        rows = 0
        for key in parts:
            self.assertTrue(key.endswith(".csv"), key)
            head = self.stack.aws("s3api", "head-object", "--bucket", BUCKET, "--key", key)
            self.assertEqual(head["ContentType"], "text/csv; charset=utf-8", key)
            rows += len(list(csv.DictReader(io.StringIO(self.get(key).decode(), newline=""))))
        self.assertEqual(rows, 300)

    def test_dynamodb_export_format(self):
        table = "OrdersNative"
        self.seed(table, 2500)
        ev = self.event_file("native.json", scheduled("2026-11-27T00:00:00Z"))
        r = self.invoke([ev], "native/", ETL_TABLE=table, ETL_SEGMENTS="2",
                        ETL_SNAPSHOT_FORMAT="ddb-export")
        self.assertEqual(r.json(0)["status"], "complete", r.stderr[-2000:])
        run_prefix = f"native/{table}/snapshots/run=2026-11-27T000000Z/"
        objs = self.s3_keys(run_prefix)
        summary_key = next(k for k in objs if k.endswith("manifest-summary.json"))
        export_dir = summary_key[:-len("manifest-summary.json")]
        self.assertRegex(export_dir, r"AWSDynamoDB/\d{14}-[0-9a-f]{8}/$")
        summary = json.loads(self.get(summary_key))
        self.assertEqual(summary["version"], "2020-06-30")
        self.assertEqual(summary["itemCount"], 2500)
        self.assertEqual(summary["outputFormat"], "DYNAMODB_JSON")
        self.assertEqual(summary["manifestFilesS3Key"], export_dir + "manifest-files.json")
        files_doc = self.get(export_dir + "manifest-files.json")
        self.assertEqual(base64.b64encode(hashlib.md5(files_doc).digest()).decode(),
                         self.get(export_dir + "manifest-files.md5").decode())
        items = []
        total = 0
        for line in files_doc.decode().splitlines():
            f = json.loads(line)
            self.assertEqual(list(f), ["itemCount", "md5Checksum", "etag", "dataFileS3Key"])
            data = self.get(f["dataFileS3Key"])
            self.assertEqual(base64.b64encode(hashlib.md5(data).digest()).decode(), f["md5Checksum"])
            # The object's own ETag, as listed: S3 gives "<MD5 of the parts' ETags>-<parts>",
            # s3rver a plain MD5 of the data.
            self.assertEqual(f["etag"], objs[f["dataFileS3Key"]]["ETag"].strip('"'))
            lines = gzip.decompress(data).decode().splitlines()
            self.assertEqual(len(lines), f["itemCount"])
            total += f["itemCount"]
            for l in lines:
                doc = json.loads(l)
                self.assertEqual(list(doc), ["Item"])
                items.append(doc["Item"])
        self.assertEqual(total, 2500)
        want = collections.Counter(json.dumps(i, sort_keys=True) for i in self.aws_scan(table))
        got = collections.Counter(json.dumps(i, sort_keys=True) for i in items)
        self.assertEqual(want, got)
        self.assertIn(run_prefix + "_SUCCESS", objs)
        ddl = self.get(run_prefix + "_meta/table.ddl").decode()
        self.assertIn("`item` struct<", ddl)
        self.assertIn(export_dir.split(run_prefix)[1] + "data/'", ddl)

    def test_missing_table_and_bad_requests(self):
        ev = self.event_file("notable.json", scheduled("2026-11-28T00:00:00Z"))
        r = self.invoke([ev], "err/")
        self.assertEqual(r.json(0)["errorType"], "Runtime.ConfigInvalid")
        self.assertIn("ETL_TABLE", r.json(0)["errorMessage"])
        r = self.invoke([ev], "err/", ETL_TABLE="NoSuchTable")
        self.assertIn("ResourceNotFoundException", r.json(0)["errorMessage"])
        commit = self.event_file("c.json", {"export": {"table": "Whatever", "run_id": "2026-01-01T000000Z", "commit": True}})
        r = self.invoke([commit], "err/")
        self.assertIn("never started", r.json(0)["errorMessage"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
