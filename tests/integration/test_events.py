"""Issue 6: the sample events in events/ are what `sam local invoke EtlFunction -e events/X.json
--env-vars events/env.json` sends. Each one runs here through the real bootstrap under
scripts/local-invoke, with events/env.json applied as SAM CLI applies it, against the local
stand-ins (behind the SigV4-verifying proxies), and must succeed and land what it says.

Also checks that every variable in events/env.json is declared in template.yaml's function
environment: SAM CLI silently ignores --env-vars entries the template does not declare."""
import gzip
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

EVENTS_DIR = os.path.join(itlib.SOURCE_DIR, "events")
ENV_VARS = os.path.join(EVENTS_DIR, "env.json")
TEMPLATE = os.path.join(itlib.SOURCE_DIR, "template.yaml")
TABLE = "Orders"
BIG = "12345678901234567890123456789012345.678"

# What each sample event must answer. A new file in events/ without an entry fails the test.
STREAM_OK = {"batchItemFailures": []}
EXPECTED = {
    "dynamodb-insert.json": STREAM_OK,
    "dynamodb-modify.json": STREAM_OK,
    "dynamodb-remove.json": STREAM_OK,
    "dynamodb-batch.json": STREAM_OK,
    "schedule.json": {"status": "complete"},
    "export-segment.json": {"status": "complete"},
    "export-commit.json": {"status": "complete"},
}


def declared_env(template_path, logical_id):
    """Names the function's environment declares: its Environment.Variables and those of
    Globals.Function, which SAM CLI merges (read with cfn-lint's loader, as cfn_check does)."""
    import cfn_check
    t = cfn_check.load_template(template_path)
    names = set()
    for props in (((t.get("Globals") or {}).get("Function") or {}),
                  (t["Resources"][logical_id].get("Properties") or {})):
        names |= {str(k) for k in ((props.get("Environment") or {}).get("Variables") or {})}
    return names


class SampleEventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = LocalStack(proxy=True, buckets=("lake",))
        cls.stack.start()
        with open(ENV_VARS) as f:
            cls.env_vars = json.load(f)["EtlFunction"]
        cls.prefix = cls.env_vars["ETL_OUTPUT"].split("/", 3)[3]  # "ddb/"
        # The table the events name, as the template would create it (pk/sk strings).
        cls.stack.aws("dynamodb", "create-table", "--table-name", TABLE,
                      "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                      "AttributeName=sk,AttributeType=S",
                      "--key-schema", "AttributeName=pk,KeyType=HASH",
                      "AttributeName=sk,KeyType=RANGE",
                      "--billing-mode", "PAY_PER_REQUEST")
        cls.items = []
        for i in range(25):
            item = {"pk": {"S": f"order#{i:04d}"}, "sk": {"S": "v1"},
                    "total": {"N": BIG if i == 0 else f"{i}.{i:02d}"},
                    "blob": {"B": "AAEC/w=="}, "tags": {"SS": ["a", "b"]},
                    "customer": {"S": "Zoë Ærø"}}
            cls.items.append(item)
            cls.stack.aws("dynamodb", "put-item", "--table-name", TABLE,
                          "--item", json.dumps(item))

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def invoke(self, names):
        # --env-vars as SAM CLI applies it, then the local endpoints in place of
        # host.docker.internal (the bootstrap runs on this host here, not in a container).
        extra = ["--env-vars", ENV_VARS,
                 "--env", "AWS_ENDPOINT_URL_S3=" + self.stack.env["AWS_ENDPOINT_URL_S3"],
                 "--env", "AWS_ENDPOINT_URL_DYNAMODB=" + self.stack.env["AWS_ENDPOINT_URL_DYNAMODB"]]
        env = dict(self.stack.env)
        env.pop("AWS_ENDPOINT_URL_S3")
        env.pop("AWS_ENDPOINT_URL_DYNAMODB")
        env.update({"ETL_OUTPUT": None, "ETL_TABLE": None, "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        r = itlib.invoke([os.path.join(EVENTS_DIR, n) for n in names], env=env, timeout=60,
                         extra=extra)
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(len(r.lines), len(names), r.stdout)
        for i, name in enumerate(names):
            got = r.json(i)
            for k, v in EXPECTED[name].items():
                self.assertEqual(got.get(k), v, f"{name}: {got}\n{r.stderr[-3000:]}")
        return r

    def keys(self, prefix):
        return list(self.stack.s3_objects("lake", prefix))

    def get(self, key):
        return self.stack.s3_get("lake", key)

    def rows(self, keys):
        out = []
        for k in keys:
            if k.endswith(".jsonl.gz"):
                out += [json.loads(l) for l in gzip.decompress(self.get(k)).decode().splitlines()]
        return out

    def test_every_event_file_is_covered(self):
        # transform-*.json are transform specs, not events: test_transform.py runs them.
        files = {n for n in os.listdir(EVENTS_DIR)
                 if n.endswith(".json") and n != "env.json" and not n.startswith("transform-")}
        self.assertEqual(files, set(EXPECTED))

    def test_env_vars_are_declared_in_template(self):
        declared = declared_env(TEMPLATE, "EtlFunction")
        self.assertIn("ETL_OUTPUT", declared)
        self.assertEqual(declared_env(TEMPLATE, "StreamFunction"), declared)
        self.assertEqual(set(self.env_vars) - declared, set(),
                         "SAM CLI ignores --env-vars entries the template does not declare")

    def test_a_stream_events(self):
        names = ["dynamodb-insert.json", "dynamodb-modify.json", "dynamodb-remove.json",
                 "dynamodb-batch.json"]
        self.invoke(names)
        want = 0
        for n in names:
            with open(os.path.join(EVENTS_DIR, n)) as f:
                want += len(json.load(f)["Records"])
        keys = [k for k in self.keys(self.prefix) if "/snapshots/" not in k]
        rows = self.rows(keys)
        self.assertEqual(len(rows), want, keys)
        self.assertEqual({r["_op"] for r in rows}, {"INSERT", "MODIFY", "REMOVE"})
        first = [r for r in rows if r.get("pk") == "order#0001" and r["_op"] == "INSERT"]
        self.assertTrue(first, rows)
        # The number reaches the lake digit for digit (JSON numbers parsed as text).
        raw = b"".join(gzip.decompress(self.get(k)) for k in keys if k.endswith(".gz"))
        self.assertIn(BIG.encode(), raw)
        # Run again: the same objects, nothing new (idempotent redelivery).
        self.invoke(names)
        self.assertEqual(sorted(keys),
                         sorted(k for k in self.keys(self.prefix) if "/snapshots/" not in k))

    def assert_snapshot(self, run_id):
        run = f"{self.prefix}{TABLE}/snapshots/run={run_id}/"
        keys = self.keys(run)
        self.assertIn(run + "_SUCCESS", keys)
        manifest = json.loads(self.get(run + "_meta/manifest.json"))
        self.assertEqual(manifest["item_count"], len(self.items), manifest)
        rows = self.rows([k for k in keys if "/part-" in k])
        self.assertEqual(sorted(r["pk"] for r in rows), sorted(i["pk"]["S"] for i in self.items))
        self.assertIn(BIG.encode(), b"".join(gzip.decompress(self.get(k))
                                             for k in keys if k.endswith(".jsonl.gz")))

    def test_b_schedule(self):
        self.invoke(["schedule.json"])
        self.assert_snapshot("2026-11-24T000000Z")
        self.assertEqual(json.loads(self.get(
            f"{self.prefix}{TABLE}/snapshots/run=2026-11-24T000000Z/_meta/manifest.json"))
            ["segments"], int(self.env_vars["ETL_SEGMENTS"]))

    def test_c_fan_out_segment_then_commit(self):
        r = self.invoke(["export-segment.json", "export-commit.json"])
        self.assertEqual(r.json(0)["run_id"], "2026-11-25T000000Z")
        self.assert_snapshot("2026-11-25T000000Z")


if __name__ == "__main__":
    unittest.main(verbosity=2)
