"""Issue 2: the real bootstrap under scripts/local-invoke (the Runtime API as the RIE plays it).

Good events, malformed JSON (error, process survives, next event served), an over-6-MB event,
a handler stuck past its deadline, an init error on bad configuration, JSON logs, and a clean
exit on SIGTERM."""
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import itlib  # noqa: E402

SAM_STREAM = os.path.join(itlib.EVENTS, "aws-sam-cli__DynamoDBUpdate.json")
SAM_SCHEDULE = os.path.join(itlib.EVENTS, "aws-sam-cli__ScheduledEvent.json")


class RuntimeLoopTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.lake = os.path.join(self.dir, "lake")
        self.base_env = {"ETL_OUTPUT": f"file://{self.lake}/", "AWS_ACCESS_KEY_ID": None,
                         "AWS_SECRET_ACCESS_KEY": None}

    def invoke(self, events, env=None, **kw):
        full = dict(self.base_env)
        full.update(env or {})
        return itlib.invoke(events, env=full, **kw)

    def tearDown(self):
        self.tmp.cleanup()

    def test_sample_events_answered(self):
        r = self.invoke([SAM_STREAM, os.path.join(itlib.EVENTS, "aws-lambda-go__dynamodb-event.json"),
                          os.path.join(itlib.EVENTS, "powertools-lambda-java__dynamo_event_big.json")])
        self.assertEqual(r.code, 0, r.stderr)
        for i in range(3):
            self.assertEqual(r.json(i), {"batchItemFailures": []})
        # One process served all three: init happened once.
        self.assertEqual([rep["status"] for rep in r.reports], ["ok", "ok", "ok"])
        self.assertIsNotNone(r.reports[0]["init_ms"])
        self.assertIsNone(r.reports[1]["init_ms"])
        self.assertIsNone(r.reports[2]["init_ms"])

    def test_unsupported_events(self):
        names = ["aws-lambda-go__s3-event.json", "aws-lambda-go__sqs-event.json",
                 "powertools-lambda-python__eventBridgeEvent.json",
                 "powertools-lambda-python__awsConfigRuleScheduled.json",
                 "aws-lambda-go__apigw-request.json"]
        r = self.invoke([os.path.join(itlib.EVENTS, n) for n in names])
        self.assertEqual(r.code, 1)
        for i in range(len(names)):
            err = r.json(i)
            self.assertEqual(err["errorType"], "UnsupportedEvent", names[i])
            self.assertIn("got ", err["errorMessage"])
            self.assertEqual(err["stackTrace"], [])
        self.assertIn('Records[0].eventSource \\"aws:s3\\"', r.stdout)
        self.assertEqual(sum(1 for rep in r.reports if rep["init_ms"] is not None), 1)

    def test_malformed_json_then_next_event(self):
        bad = itlib.write_event(self.dir, "bad.json", '{"Records": [{"eventSource": "aws:dynamodb",')
        r = self.invoke([bad, SAM_STREAM])
        self.assertEqual(r.code, 1)
        err = r.json(0)
        self.assertEqual(err["errorType"], "InvalidEvent")
        self.assertIn("not valid JSON", err["errorMessage"])
        self.assertEqual(r.json(1), {"batchItemFailures": []})
        # The process survived the bad event: no second init, no crash.
        self.assertEqual([rep["status"] for rep in r.reports], ["error", "ok"])
        self.assertIsNone(r.reports[1]["init_ms"])

    def test_large_events(self):
        # A 5 MB batch (chunked transfer, well over 2 KiB) is read whole.
        with open(SAM_STREAM) as f:
            sample = json.load(f)
        rec = sample["Records"][0]
        rec["dynamodb"]["NewImage"]["Pad"] = {"S": "x" * 4000}
        n = 5 * 1024 * 1024 // len(json.dumps(rec))
        big = itlib.write_event(self.dir, "big.json", {"Records": [rec] * n})
        # Over 6 MB: rejected before it reaches the function, as Lambda's Invoke API does.
        huge = itlib.write_event(self.dir, "huge.json", {"Records": [rec] * (n * 6 // 5 + 10)})
        self.assertGreater(os.path.getsize(huge), 6291456)
        r = self.invoke([big, huge, SAM_STREAM])
        self.assertEqual(r.code, 1)
        self.assertEqual(r.json(0), {"batchItemFailures": []})
        self.assertEqual(r.json(1)["errorType"], "RequestTooLargeException")
        self.assertEqual(r.json(2), {"batchItemFailures": []})
        # All n records of the 5 MB batch were written (n rows with the same key and sequence
        # number: one object).
        lines = 0
        for root, _, files in os.walk(self.lake):
            for f in files:
                with gzip.open(os.path.join(root, f), "rt") as fh:
                    lines += sum(1 for _ in fh)
        self.assertEqual(lines, n + 3)

    def test_init_error_on_bad_configuration(self):
        cases = [({"AWS_LAMBDA_LOG_LEVEL": "LOUD"}, "AWS_LAMBDA_LOG_LEVEL"),
                 ({"ETL_OUTPUT": None}, "ETL_OUTPUT is not set"),
                 ({"ETL_OUTPUT": "s3:/lake"}, "ETL_OUTPUT"),
                 ({"ETL_FORMAT": "xml"}, "ETL_FORMAT=\"xml\": expected jsonl, csv or parquet"),
                 ({"ETL_OUTPUT": "s3://lake/x/", "AWS_ACCESS_KEY_ID": None,
                   "AWS_SECRET_ACCESS_KEY": None}, "no AWS credentials")]
        for env, part in cases:
            r = self.invoke([SAM_STREAM], env=env)
            self.assertEqual(r.code, 1, env)
            err = r.json(0)
            self.assertEqual(err["errorType"], "Runtime.ConfigInvalid", env)
            self.assertIn(part, err["errorMessage"], env)
            self.assertRegex(r.stderr, r"exited: exit status 1")  # non-zero after /init/error

    def test_json_logs(self):
        r = self.invoke([SAM_STREAM], env={"AWS_LAMBDA_LOG_FORMAT": "JSON",
                                            "AWS_LAMBDA_LOG_LEVEL": "DEBUG"})
        self.assertEqual(r.code, 0, r.stderr)
        lines = [json.loads(l) for l in r.stderr.splitlines()
                 if l.startswith("{") and not l.startswith("{\"_aws\"")]
        self.assertTrue(lines, r.stderr)
        for line in lines:
            self.assertIn(line["level"], ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"))
            self.assertRegex(line["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        with_id = [l for l in lines if "requestId" in l]
        self.assertTrue(with_id)
        self.assertEqual(r.reports[0]["request_id"], with_id[0]["requestId"])
        # WARN level hides INFO lines.
        r2 = self.invoke([SAM_STREAM], env={"AWS_LAMBDA_LOG_FORMAT": "JSON",
                                             "AWS_LAMBDA_LOG_LEVEL": "WARN"})
        self.assertFalse([l for l in r2.stderr.splitlines() if '"level":"INFO"' in l])

    def test_sigterm_ends_cleanly(self):
        r = self.invoke([SAM_STREAM])
        self.assertEqual(r.code, 0)
        self.assertRegex(r.stderr, r"bootstrap pid \d+ exited: exit status 0")

    def _valgrind(self, binary, flags):
        bad = itlib.write_event(self.dir, "bad.json", "{nope")
        r = self.invoke([SAM_STREAM, bad, os.path.join(itlib.EVENTS, "aws-lambda-go__s3-event.json"),
                          os.path.join(itlib.EVENTS, "aws-lambda-go__dynamodb-event.json")], timeout=60,
                         extra=["--", "valgrind", "-q", "--leak-check=full", "--error-exitcode=97",
                                "--errors-for-leak-kinds=definite,indirect"] + flags + [binary])
        self.assertEqual(r.json(0), {"batchItemFailures": []})
        self.assertEqual(r.json(1)["errorType"], "InvalidEvent")
        self.assertEqual(r.json(2)["errorType"], "UnsupportedEvent")
        self.assertEqual(r.json(3), {"batchItemFailures": []})
        self.assertNotIn("Invalid read", r.stderr)
        self.assertNotIn("definitely lost", r.stderr)
        self.assertRegex(r.stderr, r"bootstrap pid \d+ exited: exit status 0")

    def test_valgrind_static(self):
        """The deployed static bootstrap under valgrind: no invalid accesses, no leaks. Static
        glibc's vectorised string functions cannot be replaced by valgrind and report false
        uninitialised-value errors, so those are off here (the dynamic build checks them)."""
        self._valgrind(itlib.bootstrap(), ["--soname-synonyms=somalloc=NONE",
                                           "--undef-value-errors=no"])

    def test_valgrind_dynamic(self):
        """The development (dynamically linked) build under full memcheck."""
        dev = os.path.join(itlib.BUILD_DIR, "bootstrap")
        if not os.path.exists(dev):
            self.skipTest("no development build at " + dev)
        self._valgrind(dev, [])

    def test_deadline_then_recovery(self):
        """A handler that cannot finish (frozen with SIGSTOP) is killed at the deadline with
        Lambda's message; the next invocation starts a fresh process and is served."""
        port = itlib.free_port()
        env = dict(os.environ, ETL_OUTPUT=f"file://{self.lake}/")
        env.pop("AWS_ACCESS_KEY_ID", None)
        env.pop("AWS_SECRET_ACCESS_KEY", None)
        proc = subprocess.Popen([sys.executable, itlib.LOCAL_INVOKE, "--bootstrap", itlib.bootstrap(),
                                 "--timeout", "2", "--serve", str(port)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertTrue(itlib.wait_port(port))
            url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
            with open(SAM_STREAM, "rb") as f:
                body = f.read()
            status, out = itlib.http_post(url, body)
            self.assertEqual(json.loads(out), {"batchItemFailures": []})
            kids = itlib.children_of(proc.pid)
            self.assertEqual(len(kids), 1)
            os.kill(kids[0], signal.SIGSTOP)
            t0 = time.time()
            status, out = itlib.http_post(url, body)
            self.assertEqual(out.decode(), "Task timed out after 2.00 seconds")
            self.assertLess(time.time() - t0, 10)
            status, out = itlib.http_post(url, body)
            self.assertEqual(json.loads(out), {"batchItemFailures": []})
            kids2 = itlib.children_of(proc.pid)
            self.assertEqual(len(kids2), 1)
            self.assertNotEqual(kids2[0], kids[0])
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)


if __name__ == "__main__":
    unittest.main(verbosity=2)
