"""Issue 11: snapshots under overlap and under short timeouts, through the real bootstrap.

- Overlap: a long invocation of a segment starts, a second one (shorter timeout) starts on the
  same run and segment a random moment later, as a duplicated EventBridge delivery or a retry
  overlapping a running attempt does. Then the run is finished as the state machine would
  (each segment until complete, then the commit). Repeated ETL_OVERLAP_TRIALS times (default
  20) with random staggers: every run ends exactly once with a true manifest (every item in
  exactly one listed file, each file's bytes, MD5 and records as listed, no unlisted part file)
  or fails loudly without _SUCCESS. S3 is moto's server, which honours conditional writes
  (If-None-Match, If-Match) as S3 does; s3rver ignores them.
- Short timeouts: a 20,000-item snapshot with a 1-second function timeout and
  ETL_EXPORT_MARGIN_MS=0 (the smallest value configuration accepts) completes exactly once.
"""
import collections
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402

BUCKET = "lake"
TABLE = "Reliable"
ITEMS = int(os.environ.get("ETL_RELIABILITY_ITEMS", "20000"))
TRIALS = int(os.environ.get("ETL_OVERLAP_TRIALS", "20"))
SEGMENTS = 4


def segment_event(run_id, segment):
    return {"export": {"table": TABLE, "run_id": run_id, "segment": segment,
                       "total_segments": SEGMENTS}}


def commit_event(run_id):
    return {"export": {"table": TABLE, "run_id": run_id, "commit": True}}


class SnapshotReliabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.stack = LocalStack(proxy=False, buckets=(BUCKET,)).start()
        cls.moto = itlib.MotoServer().start()
        cls.s3 = cls.moto.client("s3")
        cls.s3.create_bucket(Bucket=BUCKET)
        cls.stack.seed_table(TABLE, ITEMS, seed=11)
        cls.keys = {(it["pk"]["S"], it["sk"]["N"])
                    for it in cls.stack.aws("dynamodb", "scan", "--table-name", TABLE)["Items"]}
        assert len(cls.keys) == ITEMS

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        cls.stack.stop()
        cls.tmp.cleanup()

    # -- helpers ---------------------------------------------------------------------------

    def env(self, prefix, s3_url=None, **extra):
        env = dict(self.stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/{prefix}", "ETL_TABLE": TABLE,
                    "ETL_SEGMENTS": str(SEGMENTS), "AWS_ENDPOINT_URL_S3": s3_url or self.moto.url,
                    "AWS_S3_USE_PATH_STYLE": "true", "AWS_LAMBDA_LOG_LEVEL": "WARN"})
        env.update(extra)
        return env

    def event(self, name, obj):
        return itlib.write_event(self.tmp.name, name, obj)

    def objects(self, prefix):
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

    def finish_run(self, env, run_id, max_rounds=60):
        """Invokes each segment until it answers complete, then the commit, as the state machine
        does; returns the commit's answer (a dict with errorType when it failed)."""
        for s in range(SEGMENTS):
            ev = self.event(f"seg-{run_id}-{s}.json", segment_event(run_id, s))
            for _ in range(max_rounds):
                r = itlib.invoke([ev], env=env, timeout=60)
                ans = r.json(0) if r.lines else {}
                if ans.get("status") == "complete":
                    break
                if "errorType" in ans:
                    return ans
            else:
                self.fail(f"segment {s} of {run_id} never completed")
        r = itlib.invoke([self.event(f"commit-{run_id}.json", commit_event(run_id))], env=env,
                         timeout=120)
        return r.json(0)

    def assert_true_run(self, prefix, run_id):
        """The run's manifest is the truth: every item once, in the files it lists, each as
        listed; no part file it does not list."""
        run_prefix = f"{prefix}{TABLE}/snapshots/run={run_id}/"
        objects = self.objects(run_prefix)
        self.assertIn(run_prefix + "_SUCCESS", objects)
        manifest = json.loads(self.get(run_prefix + "_meta/manifest.json"))
        self.assertEqual(manifest["item_count"], ITEMS)
        listed = {prefix + f["key"]: f for f in manifest["files"]}
        parts = {k for k in objects if k[len(run_prefix):].startswith("part-")}
        self.assertEqual(set(listed), parts, "the run folder holds exactly the listed files")
        seen = collections.Counter()
        for key, f in listed.items():
            data = self.get(key)
            self.assertEqual(len(data), f["bytes"], key)
            self.assertEqual(hashlib.md5(data).hexdigest(), f["md5"], key)
            rows = [ddbgen.loads_exact(l) for l in gzip.decompress(data).decode().splitlines()]
            self.assertEqual(len(rows), f["records"], key)
            seen.update((r["pk"], r["sk"].text) for r in rows)
        self.assertEqual(set(seen), self.keys, "every item")
        self.assertEqual(max(seen.values()), 1, "no item twice")

    # -- tests -----------------------------------------------------------------------------

    def test_overlapping_invocations_of_a_segment(self):
        rng = random.Random(int(os.environ.get("ETL_OVERLAP_SEED", "1103")))
        prefix = "overlap/"
        outcomes = collections.Counter()
        for trial in range(TRIALS):
            run_id = f"2026-11-{1 + trial % 28:02d}T{trial // 28:02d}0000Z"
            # Small pages and files: the long invocation saves many checkpoints, so the short
            # one can land between any two of them.
            env = self.env(prefix, ETL_SCAN_PAGE_LIMIT="50", ETL_EXPORT_OBJECT_BYTES="1048576")
            ev = self.event(f"seg-{run_id}-0.json", segment_event(run_id, 0))
            stagger = rng.uniform(0.0, 1.5)
            procs = []
            for timeout in (30, rng.choice((2, 3))):
                cmd = [sys.executable, itlib.LOCAL_INVOKE, "--timeout", str(timeout),
                       "-e", ev, "--bootstrap", itlib.bootstrap()]
                full = dict(os.environ, **env)
                procs.append(subprocess.Popen(cmd, env=full, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True))
                time.sleep(stagger)
            for p in procs:
                _, err = p.communicate(timeout=120)
                if "another invocation" in err:
                    outcomes["overlaps seen"] += 1
            ans = self.finish_run(env, run_id)
            if ans.get("status") == "complete":
                outcomes["complete"] += 1
                self.assert_true_run(prefix, run_id)
            else:
                outcomes[ans.get("errorType", "?")] += 1
                run_prefix = f"{prefix}{TABLE}/snapshots/run={run_id}/"
                self.assertNotIn(run_prefix + "_SUCCESS", self.objects(run_prefix),
                                 f"a failed run has no _SUCCESS: {ans}")
        print(f"\noverlap: {TRIALS} trials: {dict(outcomes)}", file=sys.stderr)
        self.assertEqual(outcomes["complete"], TRIALS, dict(outcomes))
        # The trials really overlapped: some invocation found the other had moved the segment on.
        self.assertGreater(outcomes["overlaps seen"], 0, dict(outcomes))

    def test_one_second_timeout_smallest_margin(self):
        prefix = "short/"
        run_id = "2026-11-30T000000Z"
        env = self.env(prefix, s3_url=self.stack.s3_url, ETL_EXPORT_MARGIN_MS="0")
        invocations = timeouts = 0
        for s in range(SEGMENTS):
            ev = self.event(f"short-{s}.json", segment_event(run_id, s))
            while True:
                r = itlib.invoke([ev], env=env, timeout=1)
                invocations += 1
                self.assertLess(invocations, 400, "no end in sight")
                if r.reports and r.reports[0].get("status") == "timeout":
                    # The function stops 400 ms before its deadline; on a loaded machine one
                    # S3 request can take longer. Lambda then runs it again, and so does this
                    # loop: the checks below prove nothing was lost or repeated. A function
                    # that overran its deadline as a rule would time out nearly every time.
                    timeouts += 1
                    self.assertLessEqual(timeouts, 2 + invocations // 4,
                                         f"{timeouts} of {invocations} invocations timed out")
                    continue
                ans = r.json(0) if r.lines else {}
                self.assertNotIn("errorType", ans, r.stderr[-2000:])
                if ans.get("status") == "complete":
                    break
        r = itlib.invoke([self.event("short-commit.json", commit_event(run_id))], env=env,
                         timeout=60)
        self.assertEqual(r.json(0).get("status"), "complete", r.stdout[-2000:])
        print(f"\n1-second timeout: {invocations} segment invocations, {timeouts} timed out",
              file=sys.stderr)
        # Read back from s3rver with the same checks.
        saved = self.s3, self.objects
        import boto3
        self.s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=self.stack.s3_url,
                               aws_access_key_id=self.stack.access_key,
                               aws_secret_access_key=self.stack.secret_key)
        try:
            self.assert_true_run(prefix, run_id)
        finally:
            self.s3 = saved[0]


if __name__ == "__main__":
    unittest.main(verbosity=2)
