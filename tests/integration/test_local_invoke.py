#!/usr/bin/env python3
"""Self-tests of scripts/local-invoke, driving it with tests/integration/fake_runtime.py as the bootstrap.

Run: python3 tests/integration/test_local_invoke.py   (standard library only; about 10 s)
LOCAL_INVOKE=/path/to/copy runs the same tests against another copy of the invoker.
Each test asserts on what the invoker printed, what the fake runtime logged (every Runtime API call and its
status), and the invoker's exit status. Facts checked come from shared/docs/lambda-runtime-api.md.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INVOKER = os.environ.get("LOCAL_INVOKE") or os.path.join(REPO, "scripts", "local-invoke")  # override: another copy
FAKE = os.path.join(HERE, "fake_runtime.py")
FAKE_CMD = ["--", sys.executable, FAKE]
MAX_RESPONSE = 6291556
MAX_EVENT = 6291456
ACCEPTED = '{"status":"OK"}\n'
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def pid_alive(pid):
    """True while pid runs (a zombie, left for a non-reaping PID 1, counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def event_of_size(size, mode="size"):
    """A JSON event of exactly `size` bytes."""
    head = json.dumps({"mode": mode, "pad": ""})
    pad = size - len(head)
    assert pad >= 0
    return json.dumps({"mode": mode, "pad": "p" * pad}).encode()


class Run:
    """One finished invoker run: exit status, stdout lines, stderr, the fake's log, the JSON report."""

    def __init__(self, proc, tmp):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr.decode("utf-8", "replace")
        self.lines = proc.stdout.split(b"\n")
        assert self.lines[-1] == b"", "stdout must end with a newline"
        self.lines.pop()
        self.log = read_jsonl(os.path.join(tmp, "fake.log"))
        self.report = read_jsonl(os.path.join(tmp, "report.jsonl"))

    def json(self, i):
        return json.loads(self.lines[i])

    def calls(self, tag):
        return [e for e in self.log if e.get("tag") == tag]

    def starts(self):
        return [e for e in self.log if e.get("event") == "start"]


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def clean_env(tmp, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "FAKE_"))}
    env["FAKE_RUNTIME_LOG"] = os.path.join(tmp, "fake.log")
    env.update(extra or {})
    return env


class InvokerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="local-invoke-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.count = 0

    def event(self, obj):
        """Write an event file (a dict is JSON-encoded, bytes are written as they are)."""
        self.count += 1
        path = os.path.join(self.tmp, f"event{self.count}.json")
        with open(path, "wb") as f:
            f.write(obj if isinstance(obj, bytes) else json.dumps(obj).encode())
        return path

    def invoke(self, *events, args=(), env=None, stdin=None, command=FAKE_CMD, invoker=INVOKER, timeout=60):
        argv = [sys.executable, invoker, "--report-json", os.path.join(self.tmp, "report.jsonl"), *args]
        for e in events:
            argv += ["-e", e if e == "-" else self.event(e)]
        proc = subprocess.run(argv + list(command), input=stdin, capture_output=True, timeout=timeout,
                              env=clean_env(self.tmp, env), cwd=self.tmp)
        return Run(proc, self.tmp)


class TestRoundTrip(InvokerTest):
    def test_echo_headers_report_and_exit_0(self):
        r = self.invoke({"mode": "echo", "x": 1}, args=["--timeout", "7", "--trace-id", "Root=1-5e1b4151-abc",
                                                         "--function-name", "etl"])
        self.assertEqual(r.code, 0, r.stderr)
        out = r.json(0)
        h = out["headers"]
        self.assertEqual(out["event"], {"mode": "echo", "x": 1})
        self.assertRegex(h["lambda-runtime-aws-request-id"], UUID4)
        self.assertEqual(h["lambda-runtime-invoked-function-arn"], "arn:aws:lambda:us-east-1:012345678912:function:etl")
        self.assertEqual(h["lambda-runtime-trace-id"], "Root=1-5e1b4151-abc")
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["content-length"], str(out["body_len"]))
        self.assertFalse(out["chunked"])
        left = int(h["lambda-runtime-deadline-ms"]) - out["now_ms"]
        self.assertTrue(0 < left <= 7000, left)  # reservation + timeout, init included
        rid = h["lambda-runtime-aws-request-id"]
        self.assertIn(f"START RequestId: {rid} Version: $LATEST\n", r.stderr)
        self.assertIn(f"END RequestId: {rid}\n", r.stderr)
        report = re.search(rf"REPORT RequestId: {rid}\tInit Duration: (\d+\.\d\d) ms\tDuration: (\d+\.\d\d) ms\t"
                           r"Billed Duration: (\d+) ms\tMemory Size: 3008 MB\tMax Memory Used: (\d+) MB\n", r.stderr)
        self.assertIsNotNone(report, r.stderr)
        init_ms, dur_ms, billed, used = map(float, report.groups())
        self.assertTrue(init_ms + dur_ms - 0.01 <= billed < init_ms + dur_ms + 1.01, report.group(0))  # init billed
        self.assertGreater(used, 1)  # a real RSS, not Memory Size
        self.assertLess(used, 3008)
        self.assertIn("FAKE: ready pid", r.stderr)  # the function's own stderr is echoed
        self.assertRegex(r.stderr, r"bootstrap pid \d+ exited: signal: terminated")  # shut down at the end
        self.assertEqual([x["status"] for x in r.report], ["ok"])
        self.assertEqual(r.report[0]["request_id"], rid)
        self.assertEqual(r.report[0]["response_bytes"], len(r.lines[0]))

    def test_no_trace_header_unless_given_and_chunked_above_2048(self):
        r = self.invoke(event_of_size(2048, "echo"), event_of_size(2049, "echo"), event_of_size(3000, "echo"))
        self.assertEqual(r.code, 0, r.stderr)
        outs = [r.json(i) for i in range(3)]
        self.assertEqual([o["body_len"] for o in outs], [2048, 2049, 3000])
        self.assertEqual([o["chunked"] for o in outs], [False, True, True])
        self.assertEqual(outs[0]["headers"]["content-length"], "2048")
        self.assertNotIn("content-length", outs[1]["headers"])
        self.assertEqual(outs[1]["headers"]["transfer-encoding"], "chunked")
        self.assertTrue(all("lambda-runtime-trace-id" not in o["headers"] for o in outs))

    def test_one_process_one_keepalive_connection_init_reported_once(self):
        r = self.invoke({"mode": "echo"}, {"mode": "echo"}, {"mode": "echo"})
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(len(r.starts()), 1)
        self.assertEqual(len({r.json(i)["pid"] for i in range(3)}), 1)
        ports = [e["port"] for e in r.log if "call" in e]
        self.assertEqual(len(ports), 6)  # 3 x /next, 3 x /response (the 4th /next is still waiting at shutdown)
        self.assertEqual(len(set(ports)), 1, ports)  # every call on the same client socket
        ids = [r.json(i)["request_id"] for i in range(3)]
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual(r.stderr.count("Init Duration"), 1)
        self.assertEqual([x["init_ms"] is not None for x in r.report], [True, False, False])

    def test_stdin_event(self):
        r = self.invoke("-", stdin=b'{"mode":"echo","from":"stdin"}')
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.json(0)["event"]["from"], "stdin")

    def test_measured_init_duration_and_peak_memory(self):
        r = self.invoke({"mode": "alloc", "mb": 64}, {"mode": "alloc", "mb": 96, "exit": True},
                        env={"FAKE_INIT_SLEEP": "0.3"})
        self.assertEqual(r.code, 1, r.stderr)
        self.assertGreaterEqual(r.report[0]["init_ms"], 300)
        self.assertGreaterEqual(r.report[0]["max_rss_kb"], 64 * 1024)
        used = int(re.search(r"Max Memory Used: (\d+) MB", r.stderr).group(1))
        self.assertGreaterEqual(used, 64)
        self.assertEqual(r.report[1]["status"], "crash")
        self.assertGreaterEqual(r.report[1]["max_rss_kb"], 96 * 1024)  # from the exited process's rusage

    def test_quiet_hides_function_logs_only(self):
        r = self.invoke({"mode": "echo"}, args=["--quiet"])
        self.assertEqual(r.code, 0)
        self.assertNotIn("FAKE:", r.stderr)
        self.assertIn("START RequestId:", r.stderr)


class TestEnvironment(InvokerTest):
    def test_defaults_passthrough_and_overrides(self):
        env_vars = os.path.join(self.tmp, "env.json")
        with open(env_vars, "w") as f:
            json.dump({"Parameters": {"SHARED": "p", "TABLE": "from-params"},
                       "EtlFunction": {"TABLE": "from-function", "BATCH": 500, "DRY": True}}, f)
        r = self.invoke({"mode": "echo"}, args=["--function-name", "etl", "--memory", "512", "--region", "eu-west-1",
                                                "--env-vars", env_vars, "--env", "DRY=false", "--env", "EMPTY="],
                        env={"PASSED_THROUGH": "yes", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"})
        self.assertEqual(r.code, 0, r.stderr)
        env = r.json(0)["env"]
        expect = {"AWS_LAMBDA_FUNCTION_NAME": "etl", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/etl",
                  "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "_HANDLER": "bootstrap",
                  "LAMBDA_TASK_ROOT": os.path.realpath(self.tmp), "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                  "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "PASSED_THROUGH": "yes",
                  "SHARED": "p", "TABLE": "from-function", "BATCH": "500", "DRY": "false", "EMPTY": ""}
        self.assertEqual({k: env.get(k) for k in expect}, expect)
        self.assertRegex(env["AWS_LAMBDA_LOG_STREAM_NAME"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")
        self.assertRegex(env["AWS_LAMBDA_RUNTIME_API"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(r.log[0]["cwd"], os.path.realpath(self.tmp))
        self.assertIn("Memory Size: 512 MB", r.stderr)

    def test_runtime_api_port_option(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = self.invoke({"mode": "echo"}, args=["--runtime-api-port", str(port)])
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.json(0)["env"]["AWS_LAMBDA_RUNTIME_API"], f"127.0.0.1:{port}")


class TestRuntimeAPIStatuses(InvokerTest):
    def test_probe_400_403_404_405_and_chunked_streaming_response(self):
        r = self.invoke({"mode": "probe"})
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.json(0), {"streamed": [1, 2, 3]})  # a chunked request body, reassembled
        first = r.calls("next")[0]
        again = r.calls("next_again")[0]
        self.assertEqual((again["status"], again["request_id"]), (200, first["request_id"]))

        def check(tag, status, body):
            call = r.calls(tag)[0]
            self.assertEqual((call["status"], call["body"]), (status, body), tag)
            if body:
                self.assertEqual(call["content_type"], "application/json", tag)

        check("wrong_id", 400, '{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}\n')
        check("wrong_method", 405, "")
        self.assertEqual(r.calls("unknown_path")[0]["status"], 404)
        forbidden = ('{"errorMessage":"State transition from %s to %s failed for runtime. Error: State transition'
                     ' is not allowed","errorType":"InvalidStateTransition"}\n')
        check("init_error_after_next", 403, forbidden % ("Running", "InitError"))
        check("streamed", 202, ACCEPTED)
        check("second_response", 403, forbidden % ("RuntimeResponseSentState", "InvocationResponse"))
        check("error_after_response", 403, forbidden % ("RuntimeResponseSentState", "InvocationErrorResponse"))

    def test_response_size_cap_413_then_403_and_exact_cap_accepted(self):
        r = self.invoke({"mode": "big_response"}, {"mode": "respond_size", "size": 7 << 20},
                        {"mode": "respond_size", "size": MAX_RESPONSE})
        self.assertEqual(r.code, 1, r.stderr)
        big = r.calls("big")
        self.assertEqual([c["status"] for c in big], [413, 413, 202])
        self.assertEqual(big[0]["body"], '{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).",'
                                         '"errorType":"RequestEntityTooLarge"}\n')
        self.assertEqual([c["status"] for c in r.calls("retry")], [403, 403])  # the invoke counted as answered
        for line, size in ((r.lines[0], MAX_RESPONSE + 1), (r.lines[1], 7 << 20)):
            self.assertEqual(line, b'{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload'
                                   b' size (%d bytes) exceeded maximum allowed payload size (6291556 bytes)."}' % size)
        self.assertEqual(r.lines[2], b"x" * MAX_RESPONSE)
        self.assertEqual([x["status"] for x in r.report], ["error", "error", "ok"])

    def test_invalid_response_mode(self):
        r = self.invoke({"mode": "bad_mode"})
        self.assertEqual(r.code, 1)
        self.assertEqual((r.calls("bad_mode")[0]["status"], r.calls("bad_mode")[0]["body"]),
                         (400, '{"errorMessage":"Invalid function response mode",'
                               '"errorType":"InvalidFunctionResponseMode"}\n'))
        self.assertEqual(r.calls("after_bad_mode")[0]["status"], 403)
        self.assertEqual(r.json(0)["errorType"], "Runtime.InvalidResponseModeHeader")


class TestErrors(InvokerTest):
    def test_error_bodies_pass_through_or_are_filtered(self):
        plain = json.dumps({"errorMessage": "boom", "errorType": "MyError", "stackTrace": ["a", "b"],
                            "errorCause": {"paths": []}, "extra": 1})
        r = self.invoke({"mode": "error"},
                        {"mode": "error", "content_type": "application/vnd.aws.lambda.error.cause+json"},
                        {"mode": "error", "content_type": "application/vnd.aws.lambda.error.cause+json",
                         "body": "not json"},
                        {"mode": "error", "content_type": "text/plain", "body": "not json either",
                         "error_type": "Custom.Kind"})
        self.assertEqual(r.code, 1)
        self.assertEqual(r.lines, [plain.encode(),
                                   b'{"errorMessage":"boom","errorType":"MyError","stackTrace":["a","b"]}',
                                   b'"Invalid error body"', b"not json either"])
        self.assertEqual([c["status"] for c in r.calls("error")], [202] * 4)
        self.assertEqual([c["body"] for c in r.calls("error")], [ACCEPTED] * 4)
        self.assertIn("Lambda-Runtime-Function-Error-Type: Handled.TestError", r.stderr)
        self.assertIn("Lambda-Runtime-Function-Error-Type: Custom.Kind", r.stderr)
        self.assertEqual([x["status"] for x in r.report], ["error"] * 4)
        self.assertEqual(len(r.starts()), 1)  # an error is not a crash

    def test_timeout_kills_group_restarts_and_stale_id_gets_400(self):
        r = self.invoke({"mode": "sleep", "seconds": 10, "spawn_child": True}, {"mode": "post_stale"},
                        {"mode": "echo"}, args=["--timeout", "3"])  # room for a fresh fake's start
        self.assertEqual(r.code, 1, r.stderr)
        self.assertEqual(r.lines[0], b"Task timed out after 3.00 seconds")
        stale = r.json(1)
        self.assertEqual(stale["stale_status"], 400)
        self.assertEqual(stale["stale_id"], r.report[0]["request_id"])
        starts = r.starts()
        self.assertEqual(len(starts), 2)  # a fresh bootstrap after the timeout, then reused
        self.assertEqual(r.json(2)["pid"], starts[1]["pid"])
        self.assertFalse(pid_alive(starts[0]["pid"]))
        child = [e for e in r.log if e.get("event") == "child"][0]["child_pid"]
        self.assertFalse(pid_alive(child))  # the whole process group was killed
        self.assertEqual([x["status"] for x in r.report], ["timeout", "ok", "ok"])
        self.assertIn("Task timed out after 3.00 seconds", r.stderr)
        self.assertIn("Status: timeout", r.stderr)
        self.assertEqual([x["init_ms"] is not None for x in r.report], [True, True, False])

    def test_crash_gives_exit_error_and_restarts(self):
        r = self.invoke({"mode": "exit", "code": 3}, {"mode": "exit", "code": 0},
                        {"mode": "exit", "code": 0, "signal": "SIGKILL"}, {"mode": "echo"})
        self.assertEqual(r.code, 1)
        ids = [x["request_id"] for x in r.report]
        reasons = ["Runtime exited with error: exit status 3", "Runtime exited without providing a reason",
                   "Runtime exited with error: signal: killed"]
        for i, reason in enumerate(reasons):
            self.assertEqual(r.json(i), {"errorType": "Runtime.ExitError",
                                         "errorMessage": f"RequestId: {ids[i]} Error: {reason}"})
        self.assertEqual(r.json(3)["event"], {"mode": "echo"})
        self.assertEqual(len(r.starts()), 4)
        self.assertEqual([x["status"] for x in r.report], ["crash"] * 3 + ["ok"])
        self.assertEqual(r.stderr.count("Status: error\tError Type: Runtime.ExitError"), 3)

    def test_exit_after_response_keeps_the_response_and_restarts(self):
        r = self.invoke({"mode": "exit_after_response"}, {"mode": "echo"})
        self.assertEqual(r.code, 0, r.stderr)
        first, second = r.json(0), r.json(1)
        self.assertNotEqual(first["pid"], second["pid"])
        self.assertEqual(len(r.starts()), 2)

    def test_event_over_6mb_rejected_before_the_bootstrap(self):
        r = self.invoke(event_of_size(MAX_EVENT + 1))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.lines[0], b'{"errorType":"RequestTooLargeException","errorMessage":"Request must be'
                                     b' smaller than 6291456 bytes for the InvokeFunction operation"}')
        self.assertEqual(r.starts(), [])  # never started
        self.assertEqual(r.report[0]["status"], "rejected")

    def test_event_of_exactly_6mb_is_delivered_chunked(self):
        r = self.invoke(event_of_size(MAX_EVENT))
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.json(0), {"event_bytes": MAX_EVENT, "chunked": True})

    def test_init_error_is_the_first_invokes_result_then_reinit(self):
        r = self.invoke({"mode": "echo"}, {"mode": "echo"},
                        env={"FAKE_INIT_ERROR": "exit", "FAKE_INIT_ERROR_ONCE": os.path.join(self.tmp, "once")})
        self.assertEqual(r.code, 1)
        self.assertEqual(r.json(0), {"errorMessage": "bad config: TABLE_NAME unset",
                                     "errorType": "Runtime.ConfigInvalid"})
        self.assertEqual(r.calls("init_error")[0]["status"], 202)
        self.assertEqual(r.json(1)["event"], {"mode": "echo"})
        self.assertEqual(len(r.starts()), 2)
        self.assertIn("init error, Lambda-Runtime-Function-Error-Type: Runtime.ConfigInvalid", r.stderr)
        self.assertEqual([x["status"] for x in r.report], ["error", "ok"])

    def test_next_and_second_init_error_after_init_error_get_403(self):
        r = self.invoke({"mode": "echo"}, env={"FAKE_INIT_ERROR": "next"})
        self.assertEqual(r.code, 1)
        self.assertEqual(r.json(0)["errorType"], "Runtime.ConfigInvalid")
        nxt = r.calls("next_after_init_error")[0]
        self.assertEqual(nxt["status"], 403)
        self.assertIn('"errorType":"InvalidStateTransition"', nxt["body"])
        self.assertIn("from InitError to Ready", nxt["body"])
        self.assertEqual(r.calls("init_error_again")[0]["status"], 403)
        self.assertRegex(r.stderr, r"bootstrap pid \d+ exited: exit status 1")

    def test_answer_delivered_only_when_runtime_calls_next(self):
        r = self.invoke({"mode": "work_after_response", "seconds": 0.3})
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.json(0), {"worked": True})
        rid = r.report[0]["request_id"]
        self.assertLess(r.stderr.index("FAKE: calling next"), r.stderr.index(f"END RequestId: {rid}"))


class TestUsage(InvokerTest):
    def run_invoker(self, *args):
        return subprocess.run([sys.executable, INVOKER, *args], capture_output=True, text=True, timeout=30,
                              env=clean_env(self.tmp), cwd=self.tmp)

    def test_usage_errors_exit_2(self):
        good = self.event({"mode": "echo"})
        bad_json = os.path.join(self.tmp, "bad.json")
        with open(bad_json, "w") as f:
            f.write("{")
        cases = [
            (["-e", os.path.join(self.tmp, "missing.json"), *FAKE_CMD], "missing.json"),
            (["--timeout", "2.5", "-e", good, *FAKE_CMD], "--timeout"),
            (["--timeout", "0", "-e", good, *FAKE_CMD], "--timeout"),
            ([*FAKE_CMD], "-e EVENT"),
            (["--env", "NOEQUALS", "-e", good, *FAKE_CMD], "KEY=VALUE"),
            (["--env-vars", bad_json, "-e", good, *FAKE_CMD], "--env-vars"),
            (["--bootstrap", os.path.join(self.tmp, "nope"), "-e", good], "does not exist"),
            (["-e", good, "--", "no-such-command-xyz"], "not found"),
            (["--serve", "0", "-e", good, *FAKE_CMD], "cannot be combined"),
            (["--bogus", "-e", good, *FAKE_CMD], "unrecognized"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                p = self.run_invoker(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(message, p.stderr)
                self.assertEqual(p.stdout, "")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "fake.log")))  # nothing was started

    def test_default_bootstrap_is_dist_then_build(self):
        root = os.path.join(self.tmp, "repo")
        os.makedirs(os.path.join(root, "scripts"))
        invoker = os.path.join(root, "scripts", "local-invoke")
        shutil.copy(INVOKER, invoker)
        for where in ("build", "dist"):
            os.makedirs(os.path.join(root, where))
            path = os.path.join(root, where, "bootstrap")
            with open(path, "w") as f:
                f.write(f"#!/bin/sh\nexport BOOTSTRAP_FROM={where}\nexec {sys.executable} {FAKE}\n")
            os.chmod(path, 0o755)
        r = self.invoke({"mode": "echo"}, command=(), invoker=invoker)
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.json(0)["env"]["BOOTSTRAP_FROM"], "dist")
        os.remove(os.path.join(root, "dist", "bootstrap"))
        r = self.invoke({"mode": "echo"}, command=(), invoker=invoker)
        self.assertEqual(r.code, 0, r.stderr)
        self.assertEqual(r.json(0)["env"]["BOOTSTRAP_FROM"], "build")
        os.remove(os.path.join(root, "build", "bootstrap"))
        p = subprocess.run([sys.executable, invoker, "-e", self.event({})], capture_output=True, text=True,
                           timeout=30, env=clean_env(self.tmp))
        self.assertEqual(p.returncode, 2)
        self.assertIn("build/bootstrap does not exist", p.stderr)


class TestServe(InvokerTest):
    def start_server(self, *args):
        argv = [sys.executable, INVOKER, "--serve", "0", "--report-json", os.path.join(self.tmp, "report.jsonl"),
                *args, *FAKE_CMD]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(self.tmp),
                                cwd=self.tmp)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.stderr_lines = []
        port_found = threading.Event()

        def drain():
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace")
                self.stderr_lines.append(line)
                m = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.port = int(m.group(1))
                    port_found.set()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        self.assertTrue(port_found.wait(10), "no 'serving on' line")
        return proc, reader

    def request(self, method="POST", path="/2015-03-31/functions/function/invocations", body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        return resp.status, data, time.time()

    def test_serve_invokes_rejects_concurrency_and_stops_on_sigterm(self):
        proc, reader = self.start_server()
        status, body, _ = self.request(body=b'{"mode":"echo"}', headers={"X-Amzn-Trace-Id": "Root=1-serve"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["headers"]["lambda-runtime-trace-id"], "Root=1-serve")
        status, body, _ = self.request("GET", body=b'{"mode":"echo"}')  # any method, as the RIE
        self.assertEqual(status, 200)
        self.assertNotIn("lambda-runtime-trace-id", json.loads(body)["headers"])
        self.assertEqual(self.request(path="/2015-03-31/functions/other/invocations")[0], 404)

        # A slow invoke in flight (it sleeps until the test has its answer to the second one): a
        # second one is turned away with 429, the first still completes.
        slow = {}
        release = os.path.join(self.tmp, "release-slow")
        slow_event = json.dumps({"mode": "sleep", "until_file": release}).encode()
        t = threading.Thread(target=lambda: slow.update(r=self.request(body=slow_event)))
        t.start()
        deadline = time.time() + 30
        while len(self.next_calls()) < 3 and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(len(self.next_calls()), 3, "the slow invoke never reached the runtime")
        status, body, _ = self.request(body=b'{"mode":"echo"}')
        open(release, "w").close()
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body)["errorType"], "TooManyRequestsException")
        t.join(30)
        self.assertEqual(slow["r"][:2], (200, b'{"slept": "until_file"}'))

        # The caller is answered only after the runtime's next /next (the RIE's timing).
        status, body, answered = self.request(body=b'{"mode":"work_after_response","seconds":0.3}')
        self.assertEqual((status, json.loads(body)), (200, {"worked": True}))
        called_next = [e for e in read_jsonl(os.path.join(self.tmp, "fake.log")) if e.get("event") == "calling_next"]
        self.assertLessEqual(called_next[0]["t"], answered)

        # A post for a finished invoke while none is in flight: 400, and the caller keeps the first answer.
        # The caller is answered once the runtime is back at /next: only then may it post late.
        posted = os.path.join(self.tmp, "post-late")
        status, body, _ = self.request(
            body=json.dumps({"mode": "post_while_idle", "after_file": posted}).encode())
        open(posted, "w").close()
        self.assertEqual(status, 200)
        deadline = time.time() + 10
        while not self.late_posts() and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.late_posts()[0]["status"], 400)
        self.assertIn('"errorType":"InvalidRequestID"', self.late_posts()[0]["body"])

        status, body, _ = self.request(body=event_of_size(MAX_EVENT + 1))
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body)["errorType"], "RequestTooLargeException")

        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0)
        reader.join(5)
        pid = [e for e in read_jsonl(os.path.join(self.tmp, "fake.log")) if e.get("event") == "start"][0]["pid"]
        self.assertFalse(pid_alive(pid))
        self.assertIn(f"bootstrap pid {pid} exited", "".join(self.stderr_lines))
        self.assertEqual(proc.stdout.read(), b"")  # results go to the caller, not stdout
        statuses = [x["status"] for x in read_jsonl(os.path.join(self.tmp, "report.jsonl"))]
        self.assertEqual(statuses, ["ok", "ok", "ok", "ok", "ok", "rejected"])

    def late_posts(self):
        return [e for e in read_jsonl(os.path.join(self.tmp, "fake.log")) if e.get("tag") == "late_post"]

    def next_calls(self):
        return [e for e in read_jsonl(os.path.join(self.tmp, "fake.log")) if e.get("tag") == "next"]


if __name__ == "__main__":
    unittest.main(verbosity=2)
