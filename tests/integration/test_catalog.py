"""Issue 14: the Glue Data Catalog kept current, end to end. The real bootstrap runs against
s3rver and dynalite (each behind the SigV4-verifying proxy) and moto's Glue behind the same
proxy (service glue, AWS_ENDPOINT_URL_GLUE), which also:
- validates every Glue request body against botocore's own Glue model (ParamValidator on the
  operation's input shape), so a misspelt or missing member fails the test;
- enforces UpdateTable's VersionId as Glue does (moto ignores it): a stale version is answered
  ConcurrentModificationException;
- can hold the first GetTables of a table at a barrier, so two writers read the same version,
  and inject a ConcurrentModificationException on each writer's first UpdateTable.

Checked:
- after a snapshot and a stream batch with new attributes, the catalog holds {table}_snapshot and
  {table}_changes with the columns, types, SerDe and its properties, input and output formats,
  location, partition keys and projection parameters of the DDL files the function wrote (the
  catalog's columns are the DDL's plus the new ones, in order), and the partitions written;
- DuckDB reading the tables' locations (mirrored from S3) with the catalog's column types gives
  the source values, digit for digit;
- two concurrent writers with injected and real ConcurrentModificationExceptions end with the
  union of their columns;
- ETL_CATALOG_SCHEMA_CHANGE=log never calls UpdateTable, and counts the drift in its metric;
- a transform's routed datasets get their own tables, with their declared types;
- the development build under valgrind through those paths: no invalid access, no leak;
- Glue failing every attempt reports the batch for retry after its objects are written, and the
  retry changes no object and creates the table.
"""
import decimal
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import awsproxy  # noqa: E402
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

import boto3  # noqa: E402  (moto's client; scripts/lib.sh installs it where missing)
import botocore.session  # noqa: E402
from botocore.validate import ParamValidator  # noqa: E402

BUCKET = "lake"
DATABASE = "lake_db"
REGION = "us-east-1"
DUCKDB = os.path.join(itlib.SOURCE_DIR, "scripts", "duckdb-query")
GLUE_MODEL = botocore.session.get_session().get_service_model("glue")

# Athena/Hive type -> DuckDB type, for reading with the catalog's types.
DUCK_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "boolean": "BOOLEAN",
              "double": "DOUBLE"}


def duck_type(hive):
    m = re.fullmatch(r"decimal\((\d+),(\d+)\)", hive)
    if m:
        return f"DECIMAL({m.group(1)},{m.group(2)})"
    return DUCK_TYPES[hive]


def scheduled(time):
    return {"version": "0", "id": "5f2a8d2e", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time,
            "region": REGION, "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
            "detail": {}}


def stream_event(table, first_seq, images, when=1764028800):
    records = []
    for i, image in enumerate(images):
        keys = {"pk": image["pk"], "sk": image["sk"]}
        records.append({
            "eventID": f"ev{first_seq + i}", "eventName": "INSERT", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": REGION,
            "dynamodb": {"ApproximateCreationDateTime": when, "Keys": keys, "NewImage": image,
                         "SequenceNumber": str(first_seq + i), "SizeBytes": 100,
                         "StreamViewType": "NEW_IMAGE"},
            "eventSourceARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}/stream/"
                              "2026-01-01T00:00:00.000"})
    return {"Records": records}


def parse_ddl(text):
    """The parts of one CREATE EXTERNAL TABLE the function writes."""
    def props(block):
        return {k.replace("''", "'"): v.replace("''", "'") for k, v in
                re.findall(r"'((?:[^']|'')*)' = '((?:[^']|'')*)'", block)}
    m = re.search(r"CREATE EXTERNAL TABLE IF NOT EXISTS `([^`]+)` \(\n(.*?)\n\)\n"
                  r"PARTITIONED BY \((.*?)\)\nROW FORMAT SERDE '([^']+)'\n"
                  r"WITH SERDEPROPERTIES \((.*?)\)\nSTORED AS INPUTFORMAT '([^']+)'\n"
                  r"  OUTPUTFORMAT '([^']+)'\nLOCATION '([^']+)'\nTBLPROPERTIES \((.*?)\);",
                  text, re.S)
    assert m, text
    return {"name": m.group(1),
            "columns": re.findall(r"^  `([^`]+)` (.+?),?$", m.group(2), re.M),
            "partitions": re.findall(r"`([^`]+)` string", m.group(3)),
            "serde": m.group(4), "serde_props": props(m.group(5)),
            "input": m.group(6), "output": m.group(7), "location": m.group(8),
            "props": props(m.group(9))}


class GlueFront:
    """What the proxy does with each verified Glue request before moto sees it."""

    def __init__(self, moto_glue):
        self.glue = moto_glue
        self.lock = threading.Lock()
        self.requests = []      # (operation, body)
        self.invalid = []       # botocore validation reports
        self.validated = 0      # requests validated (counted by the test)
        self.conflicts = 0      # ConcurrentModificationExceptions answered for stale versions
        self.barrier = None     # (target, threading.Barrier): the first GetTables of target
        self.barrier_left = 0   # ... that still wait for each other

    def reset(self):
        with self.lock:
            self.requests = []
            self.conflicts = 0
            self.barrier = None
            self.barrier_left = 0

    def hold_first_reads(self, target, parties, rounds):
        with self.lock:
            self.barrier = (target, threading.Barrier(parties, timeout=30))
            self.barrier_left = parties * rounds

    def ops(self):
        with self.lock:
            return [op for op, _ in self.requests]

    def observe(self, op, target, body):
        """Every verified request, faulted ones included: validated against botocore's model."""
        params = json.loads(body or b"{}")
        report = ParamValidator().validate(params, GLUE_MODEL.operation_model(op).input_shape)
        with self.lock:
            self.validated += 1
            if report.has_errors():
                self.invalid.append(f"{op}: {report.generate_report()}")

    def __call__(self, op, target, body):
        """The requests no fault answered, before moto sees them."""
        params = json.loads(body or b"{}")
        with self.lock:
            self.requests.append((op, params))
            barrier = None
            if self.barrier is not None and op == "GetTable" and target == self.barrier[0] \
                    and self.barrier_left > 0:
                self.barrier_left -= 1
                barrier = self.barrier
        if barrier is not None:
            try:
                barrier[1].wait()
            except threading.BrokenBarrierError:
                pass
        if op == "UpdateTable" and "VersionId" in params:
            # Glue's optimistic concurrency, which moto lacks: the update must name the table's
            # current version. Checked and applied under one lock, as Glue does atomically.
            with self.lock:
                current = self.glue.get_table(DatabaseName=params["DatabaseName"],
                                              Name=params["TableInput"]["Name"])["Table"]
                if current["VersionId"] != params["VersionId"]:
                    self.conflicts += 1
                    return awsproxy.glue_error(400, "ConcurrentModificationException",
                                               "Update table failed due to concurrent "
                                               "modifications.")
                self.glue.update_table(DatabaseName=params["DatabaseName"],
                                       TableInput=params["TableInput"])
            return 200, [("Content-Type", "application/x-amz-json-1.1")], b"{}"
        return None


class CatalogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = LocalStack(proxy=True, buckets=(BUCKET,), region=REGION)
        cls.stack.start()
        cls.moto = itlib.MotoServer().start()
        cls.glue = boto3.client("glue", region_name=REGION, endpoint_url=cls.moto.url,
                                aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.front = GlueFront(cls.glue)
        cfg = awsproxy.ProxyConfig("glue", cls.moto.url, cls.stack.access_key,
                                   cls.stack.secret_key, session_token=cls.stack.session_token,
                                   region=REGION, intercept=cls.front,
                                   observe=cls.front.observe)
        cls.proxy = awsproxy.AwsProxy(cfg).start()
        cls.ddb = boto3.client("dynamodb", region_name=REGION,
                               endpoint_url=cls.stack.dynamodb_upstream_url,
                               aws_access_key_id="x", aws_secret_access_key="x")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.moto.stop()
        cls.stack.stop()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.front.reset()
        self.front.invalid = []
        self.front.validated = 0
        self.proxy.cfg.set_faults(rules=[])
        self.verified_before = self.proxy.stats()["verified"]

    def tearDown(self):
        self.tmp.cleanup()
        self.assertEqual(self.front.invalid, [], "Glue requests botocore's model rejects")
        self.assertGreater(self.front.validated, 0)
        # every Glue request the proxy verified was validated
        self.assertEqual(self.front.validated, self.proxy.stats()["verified"] - self.verified_before)
        stats = self.proxy.stats()
        self.assertEqual(stats["signature_failures"], 0, stats["failures"])

    # -- helpers ---------------------------------------------------------------------------

    def invoke(self, events, prefix, **extra):
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/{prefix}", "AWS_LAMBDA_LOG_LEVEL": "INFO",
                    "AWS_ENDPOINT_URL_GLUE": self.proxy.url, "ETL_CATALOG_DATABASE": DATABASE})
        env.update(extra)
        paths = [itlib.write_event(self.tmp.name, f"ev{i}-{threading.get_ident()}.json", e)
                 for i, e in enumerate(events)]
        result = itlib.invoke(paths, env=env, timeout=120)
        self.assertNotIn(self.stack.secret_key, result.stdout + result.stderr)
        return result

    def table(self, name):
        return self.glue.get_table(DatabaseName=DATABASE, Name=name)["Table"]

    def columns(self, name):
        return [(c["Name"], c["Type"]) for c in self.table(name)["StorageDescriptor"]["Columns"]]

    def assert_matches_ddl(self, table, ddl_text, classification="json"):
        """The catalog's table is the DDL's: columns (a prefix: later batches may add), SerDe,
        formats, location, partition keys and every table property."""
        ddl = parse_ddl(ddl_text)
        self.assertEqual(table["Name"], ddl["name"])
        self.assertEqual(table["TableType"], "EXTERNAL_TABLE")
        sd = table["StorageDescriptor"]
        cols = [(c["Name"], c["Type"]) for c in sd["Columns"]]
        self.assertEqual(cols[:len(ddl["columns"])], ddl["columns"])
        self.assertEqual([p["Name"] for p in table["PartitionKeys"]], ddl["partitions"])
        self.assertTrue(all(p["Type"] == "string" for p in table["PartitionKeys"]))
        self.assertEqual(sd["SerdeInfo"]["SerializationLibrary"], ddl["serde"])
        self.assertEqual(sd["SerdeInfo"].get("Parameters", {}), ddl["serde_props"])
        self.assertEqual(sd["InputFormat"], ddl["input"])
        self.assertEqual(sd["OutputFormat"], ddl["output"])
        self.assertEqual(sd["Location"], ddl["location"])
        params = dict(table["Parameters"])
        self.assertEqual(params.pop("classification"), classification)
        self.assertEqual(params.pop("EXTERNAL"), "TRUE")
        self.assertEqual(params, ddl["props"])
        return ddl

    def mirror(self, location):
        """The objects under an s3://lake/... location, as files under a local directory."""
        prefix = location[len(f"s3://{BUCKET}/"):]
        dest = tempfile.mkdtemp(dir=self.tmp.name)
        for key in self.stack.s3_objects(BUCKET, prefix):
            if not key.endswith(".jsonl.gz"):
                continue
            path = os.path.join(dest, key[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(self.stack.s3_get(BUCKET, key))
        return dest

    def duck_rows(self, table, names):
        """DuckDB over the table's location, with the catalog's types for `names`."""
        types = dict(self.columns(table["Name"]))
        dest = self.mirror(table["StorageDescriptor"]["Location"])
        cols = ", ".join(f"'{n}': '{duck_type(types[n])}'" for n in names)
        q = (f"SELECT {', '.join(names)} FROM read_json('{dest}/**/*.jsonl.gz', "
             f"format='newline_delimited', columns={{{cols}}}) ORDER BY {names[0]}")
        out = subprocess.run([DUCKDB, q], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        return [json.loads(line) for line in out.stdout.splitlines()]

    def put_items(self, table, items):
        try:
            self.ddb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "N"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}],
                BillingMode="PAY_PER_REQUEST")
        except self.ddb.exceptions.ResourceInUseException:
            pass
        itlib.wait_table_active(self.ddb, table)
        for item in items:
            self.ddb.put_item(TableName=table, Item=item)

    def metric(self, result, name):
        total = 0
        for line in result.stdout.splitlines() + result.stderr.splitlines():
            if '"_aws"' in line:
                doc = json.loads(line[line.index("{"):])
                total += doc.get(name, 0)
        return total

    # -- tests -----------------------------------------------------------------------------

    def test_snapshot_then_stream_new_attributes(self):
        items = [
            {"pk": {"S": "order#1"}, "sk": {"N": "1"}, "name": {"S": "Ada"},
             "price": {"N": "12.50"}, "qty": {"N": "3"}, "active": {"BOOL": True}},
            {"pk": {"S": "order#2"}, "sk": {"N": "2"}, "name": {"S": "O'Brien \"Bob\""},
             "price": {"N": "99999999999.99"}, "qty": {"N": "-9007199254740993"},
             "active": {"BOOL": False}},
            {"pk": {"S": "order#3"}, "sk": {"N": "3"}, "name": {"S": "Zo\u00eb"},
             "price": {"N": "0.01"}, "qty": {"N": "0"}, "active": {"BOOL": True}},
        ]
        self.put_items("CatOrders", items)
        r = self.invoke([scheduled("2026-11-24T00:00:00Z")], "cat/", ETL_TABLE="CatOrders",
                        ETL_SEGMENTS="2")
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0)["status"], "complete", r.stderr[-3000:])
        run = "2026-11-24T000000Z"
        self.assertEqual(self.glue.get_database(Name=DATABASE)["Database"]["Name"], DATABASE)
        ops = self.front.ops()
        self.assertIn("CreateTable", ops)
        self.assertIn("BatchCreatePartition", ops)

        # The snapshot table is the run's table.ddl; its run is a registered partition.
        snap_ddl = self.stack.s3_get(BUCKET, f"cat/CatOrders/snapshots/run={run}/_meta/table.ddl")
        snap = self.table("catorders_snapshot")
        self.assert_matches_ddl(snap, snap_ddl.decode())
        self.assertEqual(snap["Parameters"]["projection.run.type"], "injected")
        parts = self.glue.get_partitions(DatabaseName=DATABASE,
                                         TableName="catorders_snapshot")["Partitions"]
        self.assertEqual([p["Values"] for p in parts], [[run]])
        self.assertEqual(parts[0]["StorageDescriptor"]["Location"],
                         f"s3://{BUCKET}/cat/CatOrders/snapshots/run={run}/")
        changes_ddl = self.stack.s3_get(BUCKET, "cat/CatOrders/changes.ddl").decode()
        self.assert_matches_ddl(self.table("catorders_changes"), changes_ddl)
        self.assertEqual(dict(self.columns("catorders_snapshot"))["price"], "decimal(38,2)")

        # DuckDB reads the snapshot's location with the catalog's types: the source values.
        rows = self.duck_rows(snap, ["pk", "sk", "name", "price", "qty", "active"])
        self.assertEqual(len(rows), 3)
        for row, item in zip(rows, items):
            self.assertEqual(row["pk"], item["pk"]["S"])
            self.assertEqual(row["name"], item["name"]["S"])
            self.assertEqual(decimal.Decimal(str(row["price"])),
                             decimal.Decimal(item["price"]["N"]))
            self.assertEqual(int(row["qty"]), int(item["qty"]["N"]))
            self.assertEqual(row["active"], item["active"]["BOOL"])

        # A stream batch with two attributes the table lacks: the changes table gains them.
        self.front.reset()
        images = [
            {"pk": {"S": "order#4"}, "sk": {"N": "4"}, "name": {"S": "Eve"},
             "price": {"N": "7.25"}, "qty": {"N": "1"}, "active": {"BOOL": True},
             "color": {"S": "teal"}, "weight_kg": {"N": "1.125"}},
            {"pk": {"S": "order#5"}, "sk": {"N": "5"}, "name": {"S": "Mo"},
             "price": {"N": "3"}, "qty": {"N": "2"}, "active": {"BOOL": False},
             "color": {"S": "red"}, "weight_kg": {"N": "20"}},
        ]
        r = self.invoke([stream_event("CatOrders", 1000, images)], "cat/")
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0), {"batchItemFailures": []})
        self.assertEqual(self.front.ops(), ["GetDatabase", "GetTable", "UpdateTable",
                                            "BatchCreatePartition"])
        update = self.front.requests[2][1]
        self.assertEqual(update["SkipArchive"], True)
        self.assertEqual(update["VersionId"], "1")
        changes = self.table("catorders_changes")
        ddl = self.assert_matches_ddl(changes, changes_ddl)
        cols = self.columns("catorders_changes")
        self.assertEqual(cols[len(ddl["columns"]):],
                         [("color", "string"), ("weight_kg", "decimal(38,3)")])
        parts = self.glue.get_partitions(DatabaseName=DATABASE,
                                         TableName="catorders_changes")["Partitions"]
        self.assertEqual([p["Values"] for p in parts], [["2025-11-25", "00"]])
        self.assertEqual(parts[0]["StorageDescriptor"]["Location"],
                         f"s3://{BUCKET}/cat/CatOrders/changes/dt=2025-11-25/hour=00/")
        self.assertEqual(self.metric(r, "CatalogTablesUpdated"), 1)
        self.assertEqual(self.metric(r, "CatalogPartitions"), 1)

        rows = self.duck_rows(changes, ["pk", "price", "color", "weight_kg", "_op"])
        self.assertEqual([(x["pk"], x["color"], decimal.Decimal(str(x["weight_kg"])),
                           decimal.Decimal(str(x["price"])), x["_op"]) for x in rows],
                         [(i["pk"]["S"], i["color"]["S"], decimal.Decimal(i["weight_kg"]["N"]),
                           decimal.Decimal(i["price"]["N"]), "INSERT") for i in images])

        # The same batch again (a retry, or another container's warm cache): no change needed.
        self.front.reset()
        r = self.invoke([stream_event("CatOrders", 1000, images)], "cat/")
        self.assertEqual(r.json(0), {"batchItemFailures": []})
        self.assertNotIn("UpdateTable", self.front.ops())
        self.assertEqual(self.columns("catorders_changes"), cols)

    def test_parquet_tables(self):
        """ETL_FORMAT=parquet: both tables use the Parquet SerDe and formats with the types the
        files hold (numbers string, _ts timestamp, booleans boolean), match the DDL, and DuckDB
        reading the table's Parquet files finds those types and the source values."""
        items = [{"pk": {"S": "p#1"}, "sk": {"N": "1"}, "price": {"N": "12.50"},
                  "active": {"BOOL": True}},
                 {"pk": {"S": "p#2"}, "sk": {"N": "2"}, "price": {"N": "1E+40"},
                  "active": {"BOOL": False}}]
        self.put_items("PqOrders", items)
        r = self.invoke([scheduled("2026-11-24T00:00:00Z")], "pq/", ETL_TABLE="PqOrders",
                        ETL_SEGMENTS="1", ETL_FORMAT="parquet")
        self.assertEqual(r.json(0)["status"], "complete", r.stderr[-3000:])
        run = "2026-11-24T000000Z"
        snap_ddl = self.stack.s3_get(BUCKET, f"pq/PqOrders/snapshots/run={run}/_meta/table.ddl")
        snap = self.table("pqorders_snapshot")
        self.assert_matches_ddl(snap, snap_ddl.decode(), classification="parquet")
        sd = snap["StorageDescriptor"]
        self.assertEqual(sd["SerdeInfo"]["SerializationLibrary"],
                         "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
        self.assertEqual(sd["InputFormat"],
                         "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat")
        types = dict(self.columns("pqorders_snapshot"))
        self.assertEqual((types["price"], types["active"], types["_ts"]),
                         ("string", "boolean", "timestamp"))
        images = [{"pk": {"S": "p#3"}, "sk": {"N": "3"}, "price": {"N": "7"},
                   "active": {"BOOL": True}, "color": {"S": "teal"}}]
        r = self.invoke([stream_event("PqOrders", 2000, images)], "pq/", ETL_FORMAT="parquet")
        self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-3000:])
        changes_ddl = self.stack.s3_get(BUCKET, "pq/PqOrders/changes.ddl").decode()
        changes = self.table("pqorders_changes")
        self.assert_matches_ddl(changes, changes_ddl, classification="parquet")
        ctypes = dict(self.columns("pqorders_changes"))
        self.assertEqual((ctypes["color"], ctypes["price"], ctypes["_ts"]),
                         ("string", "string", "timestamp"))
        # DuckDB over the changes table's files: the catalog's types, the source values.
        prefix = changes["StorageDescriptor"]["Location"][len(f"s3://{BUCKET}/"):]
        keys = [k for k in self.stack.s3_objects(BUCKET, prefix) if k.endswith(".parquet")]
        self.assertEqual(len(keys), 1)
        path = os.path.join(self.tmp.name, "changes.parquet")
        with open(path, "wb") as f:
            f.write(self.stack.s3_get(BUCKET, keys[0]))
        q = f"SELECT pk, price, color, active, typeof(_ts) AS ts FROM read_parquet('{path}')"
        out = subprocess.run([DUCKDB, q], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([json.loads(x) for x in out.stdout.splitlines()],
                         [{"pk": "p#3", "price": "7", "color": "teal", "active": True,
                           "ts": "TIMESTAMP WITH TIME ZONE"}])

    def test_concurrent_writers_keep_the_union(self):
        base = {"pk": {"S": "r#0"}, "sk": {"N": "0"}, "base": {"S": "x"}}
        r = self.invoke([stream_event("Race", 1, [base])], "race/")
        self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-3000:])
        self.assertIn(("base", "string"), self.columns("race_changes"))
        # Each writer's first UpdateTable is answered ConcurrentModificationException
        # (injected); both writers read the same version twice (a barrier for two rounds of
        # reads), so after the injected conflict the second to update meets a stale version
        # (enforced, as Glue does).
        self.front.reset()
        self.front.hold_first_reads("GetTable lake_db.race_changes", 2, 2)
        self.proxy.cfg.set_faults(rules=[{"match": r"^UpdateTable lake_db\.race_changes$",
                                          "kind": "conflict", "times": 1}])
        results = {}

        def writer(name, attr, seq):
            image = {"pk": {"S": f"r#{seq}"}, "sk": {"N": str(seq)}, attr: {"N": str(seq)}}
            results[name] = self.invoke([stream_event("Race", seq, [image])], "race/")

        threads = [threading.Thread(target=writer, args=("a", "alpha", 100)),
                   threading.Thread(target=writer, args=("b", "beta", 200))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name in ("a", "b"):
            self.assertEqual(results[name].json(0), {"batchItemFailures": []},
                             results[name].stderr[-3000:])
        cols = dict(self.columns("race_changes"))
        self.assertEqual((cols.get("base"), cols.get("alpha"), cols.get("beta")),
                         ("string", "bigint", "bigint"), cols)
        # Injected: each distinct UpdateTable body's first attempt (at least one per writer).
        injected = self.proxy.stats()["faults_by_kind"].get("conflict", 0)
        self.assertGreaterEqual(injected, 2)
        self.assertGreaterEqual(self.front.conflicts, 1, "the barrier made one version stale")
        conflicts = sum(self.metric(results[n], "CatalogConflicts") for n in ("a", "b"))
        self.assertEqual(conflicts, injected + self.front.conflicts)
        # What reached Glue: two updates that took, and one per stale version.
        self.assertEqual(self.front.ops().count("UpdateTable"), 2 + self.front.conflicts)
        sys.stderr.write(f"\nconcurrent writers: {injected} injected and {self.front.conflicts} "
                         f"stale-version ConcurrentModificationExceptions, final columns "
                         f"{sorted(cols)}\n")

    def test_glue_down_retries_the_batch(self):
        """Glue failing every attempt: the objects are written, the batch is reported from its
        first record, and the retry (Glue back) rewrites nothing and creates the table."""
        images = [{"pk": {"S": f"o#{i}"}, "sk": {"N": str(i)}, "v": {"S": f"v{i}"}}
                  for i in range(3)]
        self.proxy.cfg.set_faults(rules=[{"match": r"^GetTable lake_db\.outage_changes$",
                                          "kind": "internal", "times": None}])
        r = self.invoke([stream_event("Outage", 500, images)], "outage/")
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0), {"batchItemFailures": [{"itemIdentifier": "500"}]})
        self.assertIn("catalog not updated, the batch is reported for retry", r.stdout + r.stderr)
        self.assertEqual(self.metric(r, "CatalogFailures"), 1)
        objects = self.stack.s3_objects(BUCKET, "outage/")
        self.assertEqual(len(objects), 1)
        with self.assertRaises(self.glue.exceptions.EntityNotFoundException):
            self.table("outage_changes")
        self.proxy.cfg.set_faults(rules=[])
        r = self.invoke([stream_event("Outage", 500, images)], "outage/")
        self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-3000:])
        self.assertEqual(self.stack.s3_objects(BUCKET, "outage/"), objects)  # same keys, ETags
        self.assertIn(("v", "string"), self.columns("outage_changes"))

    def test_routed_datasets_get_their_own_tables(self):
        """A transform routing rows to two datasets: each gets {dataset}_changes, with the
        types its mappings declare (not the types the values would suggest)."""
        spec = json.dumps({"version": 1, "datasets": [
            {"name": "people", "when": "starts_with(pk, 'USER#')",
             "mappings": [["pk", "string", "user_id", "string"], ["age", "string", "age", "int"],
                          ["created", "bigint", "created", "timestamp"]]},
            {"name": "sales",
             "mappings": [["pk", "string", "order_id", "string"],
                          ["price", "string", "price", "decimal(10,2)"]]}]})
        images = [
            {"pk": {"S": "USER#1"}, "sk": {"N": "1"}, "age": {"S": "42"},
             "created": {"N": "1764028800"}},
            {"pk": {"S": "ORDER#9"}, "sk": {"N": "2"}, "price": {"N": "12.5"}},
        ]
        r = self.invoke([stream_event("Mixed", 700, images)], "routed/", ETL_TRANSFORM=spec)
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-3000:])
        people = dict(self.columns("people_changes"))
        sales = dict(self.columns("sales_changes"))
        # timestamp is declared string: the JSON SerDe reads the ISO text (as the DDL does)
        self.assertEqual((people["user_id"], people["age"], people["created"]),
                         ("string", "int", "string"))
        self.assertEqual((sales["order_id"], sales["price"]), ("string", "decimal(10,2)"))
        self.assertNotIn("mixed_changes", [t["Name"] for t in
                                           self.glue.get_tables(DatabaseName=DATABASE)["TableList"]])
        for name, dataset in (("people_changes", "people"), ("sales_changes", "sales")):
            self.assertEqual(self.table(name)["StorageDescriptor"]["Location"],
                             f"s3://{BUCKET}/routed/{dataset}/changes/")
        rows = self.duck_rows(self.table("sales_changes"), ["order_id", "price"])
        self.assertEqual([(x["order_id"], decimal.Decimal(str(x["price"]))) for x in rows],
                         [("ORDER#9", decimal.Decimal("12.50"))])

    # Skipped by decorator, so that setUp and tearDown (which expect Glue requests) do not run.
    @unittest.skipIf(shutil.which("valgrind") is None, "no valgrind")
    @unittest.skipIf(not os.path.exists(os.path.join(itlib.BUILD_DIR, "bootstrap")),
                     "no development build at " + os.path.join(itlib.BUILD_DIR, "bootstrap"))
    def test_valgrind_catalog_paths(self):
        """The development build under full memcheck through create, merge, an injected
        conflict, a re-merged update, partitions and a failure: no invalid access, no leak."""
        dev = os.path.join(itlib.BUILD_DIR, "bootstrap")
        self.proxy.cfg.set_faults(rules=[{"match": r"^UpdateTable lake_db\.vgtable_changes$",
                                          "kind": "conflict", "times": 1},
                                         {"match": r"^GetTable lake_db\.vgdown_changes$",
                                          "kind": "internal", "times": None}])
        one = {"pk": {"S": "v#1"}, "sk": {"N": "1"}, "a": {"S": "x"}}
        two = {"pk": {"S": "v#2"}, "sk": {"N": "2"}, "b": {"N": "2.5"}, "c": {"BOOL": True}}
        wrapper = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=97",
                   "--errors-for-leak-kinds=definite,indirect", dev]
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/vg/", "AWS_ENDPOINT_URL_GLUE": self.proxy.url,
                    "ETL_CATALOG_DATABASE": DATABASE})
        paths = [itlib.write_event(self.tmp.name, f"vg{i}.json", e) for i, e in enumerate(
            [stream_event("VgTable", 1, [one]), stream_event("VgTable", 2, [two]),
             stream_event("VgDown", 3, [one])])]
        r = itlib.invoke(paths, env=env, timeout=120, extra=["--", *wrapper])
        self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-3000:])
        self.assertEqual(r.json(1), {"batchItemFailures": []}, r.stderr[-3000:])
        self.assertEqual(r.json(2), {"batchItemFailures": [{"itemIdentifier": "3"}]})
        self.assertNotIn("Invalid read", r.stderr)
        self.assertNotIn("definitely lost", r.stderr)
        self.assertRegex(r.stderr, r"bootstrap pid \d+ exited: exit status 0")
        self.assertEqual(self.metric(r, "CatalogConflicts"), 1)
        cols = dict(self.columns("vgtable_changes"))
        self.assertEqual((cols["a"], cols["b"], cols["c"]), ("string", "decimal(38,1)", "boolean"))

    def test_log_mode_never_updates(self):
        first = {"pk": {"S": "d#1"}, "sk": {"N": "1"}, "a": {"S": "x"}}
        r = self.invoke([stream_event("Drift", 1, [first])], "drift/",
                        ETL_CATALOG_SCHEMA_CHANGE="log")
        self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-3000:])
        before = self.columns("drift_changes")  # a missing table is still created
        self.assertIn(("a", "string"), before)
        second = {"pk": {"S": "d#2"}, "sk": {"N": "2"}, "a": {"N": "5"}, "b": {"S": "new"}}
        r = self.invoke([stream_event("Drift", 2, [second]), stream_event("Drift", 3, [second])],
                        "drift/", ETL_CATALOG_SCHEMA_CHANGE="log")
        self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-3000:])
        self.assertEqual(r.json(1), {"batchItemFailures": []})
        ops = self.front.ops()
        self.assertNotIn("UpdateTable", ops)
        self.assertEqual(self.columns("drift_changes"), before)
        # b, once (a's numbers still fit its string column: no drift)
        self.assertEqual(self.metric(r, "CatalogSchemaDrift"), 1)
        self.assertIn("has no column b", r.stdout + r.stderr)
        self.assertEqual(ops.count("GetTable"), 2)  # the second batch costs no call


if __name__ == "__main__":
    unittest.main(verbosity=2)
