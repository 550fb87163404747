"""Issues 5/6/15: the Step Functions definition statemachine/snapshot.asl.json drives the function
correctly, proved without AWS. asl_sim.py interprets the definition (after CloudFormation's
DefinitionSubstitutions) and every lambda:invoke goes to the real bootstrap under
`scripts/local-invoke --serve` (one server per concurrent execution environment), against the
local stand-ins (s3rver and dynalite, behind the SigV4-verifying proxy but for the big table):

  * a scheduled event fans the snapshot out over the segments (a Distributed Map: one child
    execution per segment, invoking it again while it answers "incomplete"), then the commit
    runs, and the execution succeeds; the run folder holds every item exactly once, the manifest,
    _SUCCESS; running it again changes nothing;
  * a table needing more than 3,500 segment invocations (more than one execution's 25,000 history
    events could hold) completes, in rounds of child executions;
  * input {} names the run after $$.Execution.StartTime;
  * a bad table name fails the segments' child executions with InvalidExportRequest at once
    (Retry MaxAttempts 0), and the execution with States.ExceedToleratedFailureThreshold;
  * the interpreter's own behaviour (intrinsics, result processing, Retry, Catch, Choice, Map,
    Distributed Map, the history quota, strictness about unknown fields) is pinned by small
    inline definitions, and npm's asl-validator checks the definition independently.

Standard library only (seed_table.py runs under /usr/bin/python3 with botocore)."""
import collections
import gzip
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
from asl_sim import (DefinitionError, SimulationLimit, StateMachine, StatesError,  # noqa: E402
                     TaskFailed, UnsupportedError, evaluate_intrinsic, substitute)
from stack import LocalStack  # noqa: E402

BUCKET = "lake"
TABLE = "OrdersSfn"
N_ITEMS = 3000
SEGMENTS = 3
# the table needing more than 3,500 invocations: items of 24 KB (3.5 read units each) against a
# budget of 1 unit/s make every invocation scan exactly one item
BIG_ITEMS = int(os.environ.get("ETL_SFN_BIG_ITEMS", "3600"))
BIG_SEGMENTS = int(os.environ.get("ETL_SFN_BIG_SEGMENTS", "64"))
BIG_PAD = 24000
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ddb-s3-etl-EtlFunction"
DEFINITION = os.path.join(itlib.SOURCE_DIR, "statemachine", "snapshot.asl.json")
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def definition_text():
    with open(DEFINITION, encoding="utf-8") as f:
        return f.read()


def snapshot_definition(table=TABLE, segments=str(SEGMENTS), function_arn=FUNCTION_ARN,
                        concurrency="40", invocations_per_round="2000"):
    """The definition with template.yaml's DefinitionSubstitutions (InvocationsPerRound as the
    template sets it unless given)."""
    return substitute(definition_text(), {"EtlFunctionArn": function_arn, "TableName": table,
                                          "Segments": segments, "SnapshotConcurrency": concurrency,
                                          "InvocationsPerRound": invocations_per_round})


def scheduled(time_):
    """What an EventBridge schedule rule (SAM's Schedule event) passes to the state machine."""
    return {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
            "time": time_, "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/snapshot-schedule"],
            "detail": {}}


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


# ---- the function: scripts/local-invoke --serve, a few at once -------------------------------------

class LambdaServers:
    """n `scripts/local-invoke --serve PORT` processes running the real bootstrap: n concurrent
    execution environments (one --serve server takes one invoke at a time). invoke() is the
    asl_sim callback: it takes a free server, posts the payload and tells a function error from
    a success by the server's --report-json status for that invoke (local-invoke does not send
    X-Amz-Function-Error)."""

    def __init__(self, n, env, timeout_s, log_dir):
        self.n, self.env, self.timeout_s, self.log_dir = n, env, timeout_s, log_dir
        self.servers = []
        self.free = queue.Queue()
        self.calls = []  # (port, payload, report status, answer)
        self._lock = threading.Lock()

    def start(self):
        for i in range(self.n):
            port = itlib.free_port()
            log_path = os.path.join(self.log_dir, f"local-invoke-{port}.log")
            report = os.path.join(self.log_dir, f"report-{port}.jsonl")
            log = open(log_path, "ab")
            argv = [sys.executable, itlib.LOCAL_INVOKE, "--serve", str(port),
                    "--timeout", str(self.timeout_s), "--bootstrap", itlib.bootstrap(),
                    "--function-name", "ddb-s3-etl-EtlFunction", "--report-json", report]
            try:
                proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=log, start_new_session=True)
            except BaseException:
                log.close()
                raise
            srv = {"port": port, "proc": proc, "log": log, "log_path": log_path,
                   "report": report, "bootstraps": set()}
            self.servers.append(srv)
            if not itlib.wait_port(port, 15):
                raise RuntimeError(f"local-invoke on port {port} did not start:\n{self.log_tail(srv)}")
            self.free.put(srv)
        return self

    def log_tail(self, srv, n=3000):
        srv["log"].flush()
        with open(srv["log_path"], "rb") as f:
            return f.read()[-n:].decode(errors="replace")

    def logs(self):
        return "\n".join(f"--- port {s['port']}\n{self.log_tail(s)}" for s in self.servers)

    def _last_report(self, srv):
        try:
            with open(srv["report"]) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        except OSError:
            return None
        return lines[-1] if lines else None

    def invoke(self, function_name, payload):
        srv = self.free.get(timeout=600)
        try:
            # the bootstraps this server runs (for the check that they all end with it)
            srv["bootstraps"].update(itlib.children_of(srv["proc"].pid))
            before = self._last_report(srv)
            req = urllib.request.Request(f"http://127.0.0.1:{srv['port']}{INVOKE_PATH}",
                                         data=json.dumps(payload).encode(), method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s + 60) as r:
                    status, body = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            srv["bootstraps"].update(itlib.children_of(srv["proc"].pid))
            if status == 429:
                raise TaskFailed("Lambda.TooManyRequestsException", body.decode(errors="replace"))
            if status == 413:
                raise TaskFailed("Lambda.RequestTooLargeException", body.decode(errors="replace"))
            if status != 200:
                raise TaskFailed("Lambda.ServiceException", f"HTTP {status}: {body[:500]!r}")
            rep = self._last_report(srv)
            if rep is None or rep == before:
                raise RuntimeError(f"no --report-json line for the invoke on port {srv['port']}")
            try:
                answer = json.loads(body)
            except ValueError:
                answer = {"errorMessage": body.decode(errors="replace")}  # "Task timed out ..."
            ok = rep["status"] == "ok"
            with self._lock:
                self.calls.append((srv["port"], payload, rep["status"], answer))
            return ok, answer
        finally:
            self.free.put(srv)

    def stop(self):
        """SIGTERM to every local-invoke (it stops its bootstrap: SIGTERM, SIGKILL after 2 s),
        SIGKILL if one lingers; then any bootstrap still alive is killed. Returns the pids that
        had to be killed after their local-invoke ended (should be none)."""
        leftovers = []
        for srv in self.servers:
            srv["bootstraps"].update(itlib.children_of(srv["proc"].pid))
            if srv["proc"].poll() is None:
                srv["proc"].send_signal(signal.SIGTERM)
        for srv in self.servers:
            try:
                srv["proc"].wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(srv["proc"].pid, signal.SIGKILL)
                srv["proc"].wait(timeout=5)
            for pid in srv["bootstraps"]:
                if pid_alive(pid):
                    leftovers.append(pid)
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
            srv["log"].close()
        self.servers = []
        return leftovers


# ---- the interpreter itself --------------------------------------------------------------------

def tiny(states, start=None, **extra):
    d = {"StartAt": start or next(iter(states)), "States": states}
    d.update(extra)
    return d


def task(next_=None, **fields):
    st = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName": "f", "Payload.$": "$"}}
    st.update(fields)
    if next_:
        st["Next"] = next_
    elif "End" not in st:
        st["End"] = True
    return st


def child_errors(ex):
    """The errors of a Distributed Map's failed child executions."""
    return {c.error for c in ex.children if c.status == "FAILED"}


class ScriptedFunction:
    """An invoke callback answering from a list (or a function of the payload)."""

    def __init__(self, answers):
        self.answers = answers
        self.payloads = []
        self.lock = threading.Lock()

    def __call__(self, fn, payload):
        with self.lock:
            self.payloads.append(payload)
            n = len(self.payloads)
        a = self.answers(payload, n) if callable(self.answers) else self.answers[n - 1]
        if isinstance(a, Exception):
            raise a
        return a


class SimulatorTest(unittest.TestCase):
    def test_substitutions_as_cloudformation(self):
        self.assertEqual(substitute('{"a":"${X}-${X}","b":"${Y}"}', {"X": "1", "Y": "arn:x"}),
                         '{"a":"1-1","b":"arn:x"}')
        with self.assertRaisesRegex(DefinitionError, r"\$\{Z\}"):
            substitute('"${Z}"', {"X": "1"})
        self.assertEqual(substitute('"${Z}"', {}, strict=False), '"${Z}"')
        with self.assertRaises(DefinitionError):
            substitute("{}", {"X": 3})
        # the real definition: nothing left over, and it loads
        text = snapshot_definition()
        self.assertNotIn("${", text)
        StateMachine(text, ScriptedFunction([]))

    def test_intrinsics(self):
        self.assertEqual(evaluate_intrinsic("States.ArrayRange(0, States.MathAdd(States.StringToJson('3'), -1), 1)"),
                         [0, 1, 2])
        self.assertEqual(evaluate_intrinsic("States.ArrayRange(1, 9, 2)"), [1, 3, 5, 7, 9])
        self.assertEqual(evaluate_intrinsic(
            "States.ArrayRange(0, States.MathAdd(States.StringToJson('1'), -1), 1)"), [0])
        self.assertEqual(evaluate_intrinsic("States.StringToJson('{\"a\": [1, 2]}')"), {"a": [1, 2]})
        self.assertEqual(evaluate_intrinsic("States.StringToJson($.s)", {"s": "12"}), 12)
        self.assertEqual(evaluate_intrinsic("States.MathAdd($.n, -1)", {"n": 5}), 4)
        self.assertEqual(evaluate_intrinsic("States.Format('it\\'s {} \\{\\}', $.a.b)", {"a": {"b": "x"}}),
                         "it's x {}")
        self.assertEqual(evaluate_intrinsic("States.ArrayLength(States.Array(1, 'a', true, null))"), 4)
        self.assertEqual(evaluate_intrinsic("States.JsonToString($$.Map.Item)", {},
                                            {"Map": {"Item": {"Index": 1}}}), '{"Index":1}')
        for bad in ("States.ArrayRange(0, 2, 0)", "States.ArrayRange(0, 1000, 1)",
                    "States.ArrayRange(0, 1.5, 1)", "States.MathAdd('1', 1)",
                    "States.StringToJson('{nope')", "States.ArrayGetItem(States.Array(1), 3)"):
            with self.assertRaises(StatesError, msg=bad) as cm:
                evaluate_intrinsic(bad)
            self.assertEqual(cm.exception.error, "States.IntrinsicFailure", bad)
        with self.assertRaises(StatesError) as cm:
            evaluate_intrinsic("States.MathAdd($.missing, 1)", {})
        self.assertEqual(cm.exception.error, "States.Runtime")
        with self.assertRaisesRegex(UnsupportedError, "States.UUID"):
            evaluate_intrinsic("States.UUID()")
        with self.assertRaises(DefinitionError):
            evaluate_intrinsic("States.MathAdd(1, 2")
        with self.assertRaises(DefinitionError):
            evaluate_intrinsic("States.Array('open)")
        deep = "1"
        for _ in range(11):
            deep = f"States.MathAdd({deep}, 1)"
        with self.assertRaisesRegex(DefinitionError, "nested"):
            evaluate_intrinsic(deep)

    def test_pass_paths_and_result_path(self):
        d = tiny({
            "A": {"Type": "Pass", "InputPath": "$.in", "Parameters": {"x.$": "$.v", "k": {"y.$": "$.v"},
                                                                      "list": [{"z.$": "$.v"}]},
                  "ResultPath": "$.made.here", "Next": "B"},
            "B": {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.res", "OutputPath": "$.made",
                  "Next": "C"},
            "C": {"Type": "Pass", "ResultPath": None, "Next": "D"},
            "D": {"Type": "Succeed", "InputPath": "$.here"},
        })
        ex = StateMachine(d, ScriptedFunction([])).start_execution({"in": {"v": 7}})
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(ex.output, {"x": 7, "k": {"y": 7}, "list": [{"z": 7}]})
        self.assertEqual(ex.transitions, 4)
        # a ResultPath into a non-object is States.ResultPathMatchFailure
        d = tiny({"A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True}})
        ex = StateMachine(d, ScriptedFunction([])).start_execution({"a": "text"})
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.ResultPathMatchFailure"))

    def test_task_result_shape_selector_and_path(self):
        fn = ScriptedFunction([(True, {"status": "complete", "items": 3, "extra": "x"})])
        d = tiny({"T": task(ResultSelector={"status.$": "$.Payload.status", "code.$": "$.StatusCode",
                                             "items.$": "$.Payload.items"},
                            ResultPath="$.result",
                            Parameters={"FunctionName": "fn-arn", "Payload": {"p.$": "$.a", "lit": 1}})})
        ex = StateMachine(d, fn).start_execution({"a": "A"})
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(fn.payloads, [{"p": "A", "lit": 1}])
        self.assertEqual(ex.output, {"a": "A", "result": {"status": "complete", "code": 200, "items": 3}})
        inv = ex.invocations()
        self.assertEqual([(i["function"], i["ok"]) for i in inv], [("fn-arn", True)])
        succeeded = ex.events("TaskSucceeded")[0]["output"]
        self.assertEqual(set(succeeded), {"ExecutedVersion", "Payload", "SdkHttpMetadata",
                                          "SdkResponseMetadata", "StatusCode"})
        # ResultPath null keeps the input; default "$" replaces it with the whole result
        ex = StateMachine(tiny({"T": task(ResultPath=None)}), ScriptedFunction([(True, {"x": 1})])) \
            .start_execution({"keep": 1})
        self.assertEqual(ex.output, {"keep": 1})
        ex = StateMachine(tiny({"T": task()}), ScriptedFunction([(True, {"x": 1})])).start_execution({})
        self.assertEqual(ex.output["Payload"], {"x": 1})

    def test_missing_result_field_is_states_runtime_and_never_retried(self):
        fn = ScriptedFunction(lambda p, n: (True, {"status": "complete"}))
        d = tiny({"T": task(ResultSelector={"items.$": "$.Payload.items"},
                            Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}])})
        ex = StateMachine(d, fn).start_execution({})
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.Runtime"))
        self.assertIn("$.Payload.items", ex.cause)
        self.assertEqual(len(fn.payloads), 1)

    def test_retry_counting_backoff_and_exhaustion(self):
        boom = (False, {"errorType": "Boom", "errorMessage": "no"})
        retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}]
        fn = ScriptedFunction([boom, boom, (True, {"ok": 1})])
        ex = StateMachine(tiny({"T": task(Retry=retry)}), fn).start_execution({})
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(len(fn.payloads), 3)
        self.assertEqual([e["delay_seconds"] for e in ex.events("RetryScheduled")], [2, 4])
        self.assertEqual(ex.transitions, 1 + 2)  # one state entry, two retries
        # exhausted: MaxAttempts 3 means 4 calls in all, then the state fails with the error
        fn = ScriptedFunction(lambda p, n: boom)
        ex = StateMachine(tiny({"T": task(Retry=retry)}), fn).start_execution({})
        self.assertEqual((ex.status, ex.error), ("FAILED", "Boom"))
        self.assertEqual(json.loads(ex.cause), boom[1])
        self.assertEqual(len(fn.payloads), 4)
        self.assertEqual([e["delay_seconds"] for e in ex.events("RetryScheduled")], [2, 4, 8])
        # MaxDelaySeconds caps; FULL jitter stays within [0, delay]; time_scale sleeps scaled
        slept = []
        retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 5,
                  "BackoffRate": 2, "MaxDelaySeconds": 100, "JitterStrategy": "FULL"}]
        ex = StateMachine(tiny({"T": task(Retry=retry)}), ScriptedFunction(lambda p, n: boom),
                          time_scale=0.001, sleep=slept.append, seed=3).start_execution({})
        delays = [e["delay_seconds"] for e in ex.events("RetryScheduled")]
        self.assertEqual(len(delays), 5)
        for d, cap in zip(delays, (30, 60, 100, 100, 100)):
            self.assertTrue(0 <= d <= cap, delays)
        self.assertEqual(len(slept), 5)
        self.assertAlmostEqual(slept[0], delays[0] * 0.001)

    def test_first_matching_retrier_decides_max_attempts_zero(self):
        retry = [{"ErrorEquals": ["InvalidExportRequest", "Runtime.ConfigInvalid"], "MaxAttempts": 0},
                 {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 5}]
        fn = ScriptedFunction(lambda p, n: (False, {"errorType": "InvalidExportRequest",
                                                    "errorMessage": "bad"}))
        ex = StateMachine(tiny({"T": task(Retry=retry)}), fn).start_execution({})
        self.assertEqual((ex.status, ex.error), ("FAILED", "InvalidExportRequest"))
        self.assertEqual(len(fn.payloads), 1)
        self.assertEqual(ex.events("RetryScheduled"), [])
        # another error falls through to States.ALL
        fn = ScriptedFunction([(False, {"errorType": "ExportFailed", "errorMessage": "x"}), (True, {})])
        ex = StateMachine(tiny({"T": task(Retry=retry)}), fn).start_execution({})
        self.assertEqual(ex.status, "SUCCEEDED")
        self.assertEqual(len(fn.payloads), 2)

    def test_definition_stops_on_errors_a_retry_cannot_fix(self):
        """Issue 11: a segment that makes no progress, a damaged checkpoint, a commit whose files
        fail verification or whose data fails its rules: the definition fails the execution at
        once instead of retrying (or repeating "incomplete") without end."""
        for error, at_commit in (("SnapshotNoProgress", False), ("CheckpointCorrupt", False),
                                 ("SnapshotVerifyFailed", True), ("DataQualityFailed", True)):
            def answer(p, n, error=error, at_commit=at_commit):
                if "commit" in p["export"]:
                    if at_commit:
                        return False, {"errorType": error, "errorMessage": "no"}
                    return True, {"status": "complete", "run_id": "r", "items": 0, "files": 0}
                if at_commit:
                    return True, {"status": "complete", "items": 0}
                return False, {"errorType": error, "errorMessage": "no"}
            fn = ScriptedFunction(answer)
            ex = StateMachine(snapshot_definition(), fn).start_execution(
                scheduled("2026-11-21T00:00:00Z"))
            if at_commit:
                self.assertEqual((ex.status, ex.error), ("FAILED", error), ex.cause)
            else:  # a segment's child execution fails, and with it the Map Run
                self.assertEqual((ex.status, ex.error),
                                 ("FAILED", "States.ExceedToleratedFailureThreshold"), ex.cause)
                self.assertEqual(child_errors(ex), {error})
            self.assertEqual(ex.events("RetryScheduled"), [], error)
            commits = [p for p in fn.payloads if "commit" in p["export"]]
            if at_commit:
                self.assertEqual(len(commits), 1, error)
                self.assertEqual(len(fn.payloads), SEGMENTS + 1, error)
            else:
                self.assertEqual(commits, [], error)
                self.assertLessEqual(len(fn.payloads), SEGMENTS, error)
        # an error a retry can fix (ExportFailed: a server error left after the client's
        # retries) is still retried
        fn = ScriptedFunction(lambda p, n: (False, {"errorType": "ExportFailed", "errorMessage": "x"})
                              if n == 1 else (True, {"status": "complete", "items": 0, "run_id": "r",
                                                     "files": 0}))
        ex = StateMachine(snapshot_definition(), fn, time_scale=0.0, sleep=lambda s: None) \
            .start_execution(scheduled("2026-11-21T00:00:00Z"))
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(len(ex.events("RetryScheduled")), 1)

    def test_lambda_errors(self):
        # no errorType (a timeout, a crash without one): Lambda.Unknown, as Step Functions reports
        fn = ScriptedFunction([(False, {"errorMessage": "Task timed out after 3.00 seconds"})])
        ex = StateMachine(tiny({"T": task()}), fn).start_execution({})
        self.assertEqual((ex.status, ex.error), ("FAILED", "Lambda.Unknown"))
        self.assertIn("timed out", ex.cause)
        # a service error from the callback, retried by a matching retrier
        fn = ScriptedFunction([TaskFailed("Lambda.TooManyRequestsException", "Rate exceeded"),
                               (True, {"fine": True})])
        retry = [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 1}]
        ex = StateMachine(tiny({"T": task(Retry=retry)}), fn).start_execution({})
        self.assertEqual(ex.status, "SUCCEEDED")
        self.assertEqual(ex.events("RetryScheduled")[0]["error"], "Lambda.TooManyRequestsException")

    def test_catch(self):
        d = tiny({"T": task(Catch=[{"ErrorEquals": ["Nope"], "Next": "Bad"},
                                   {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err",
                                    "Next": "Handled"}]),
                  "Handled": {"Type": "Succeed"}, "Bad": {"Type": "Fail", "Error": "Wrong"}})
        fn = ScriptedFunction([(False, {"errorType": "Boom", "errorMessage": "m"})])
        ex = StateMachine(d, fn).start_execution({"in": 1})
        self.assertEqual(ex.status, "SUCCEEDED")
        self.assertEqual(ex.output["in"], 1)
        self.assertEqual(ex.output["err"]["Error"], "Boom")
        self.assertEqual(json.loads(ex.output["err"]["Cause"])["errorMessage"], "m")

    def test_choice_rules(self):
        def route(doc):
            d = tiny({
                "C": {"Type": "Choice", "Choices": [
                    {"Variable": "$.time", "IsPresent": True, "Next": "Has"},
                    {"And": [{"Variable": "$.n", "NumericGreaterThan": 2},
                             {"Not": {"Variable": "$.s", "StringEquals": "no"}}], "Next": "Big"},
                    {"Variable": "$.s", "StringMatches": "pre*", "Next": "Pre"},
                    {"Variable": "$.n", "NumericEqualsPath": "$.m", "Next": "Same"},
                ], "Default": "Other"},
                "Has": {"Type": "Succeed"}, "Big": {"Type": "Succeed"}, "Pre": {"Type": "Succeed"},
                "Same": {"Type": "Succeed"}, "Other": {"Type": "Succeed"}})
            ex = StateMachine(d, ScriptedFunction([])).start_execution(doc)
            if ex.status != "SUCCEEDED":
                return ex.error
            return ex.events("SucceedStateEntered")[0]["state"]

        self.assertEqual(route({"time": None}), "Has")
        self.assertEqual(route({"n": 3, "s": "yes"}), "Big")
        self.assertEqual(route({"n": 3, "s": "no", "m": 1}), "Other")
        self.assertEqual(route({"n": "3", "s": "prefix"}), "Pre")  # a string never compares as a number
        self.assertEqual(route({"n": 1, "s": "x", "m": 1}), "Same")
        self.assertEqual(route({"s": "x"}), "States.Runtime")  # $.n missing outside IsPresent
        d = tiny({"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "BooleanEquals": True,
                                                      "Next": "S"}]},
                  "S": {"Type": "Succeed"}})
        ex = StateMachine(d, ScriptedFunction([])).start_execution({"a": False})
        self.assertEqual(ex.error, "States.NoChoiceMatched")

    def test_map_item_selector_concurrency_and_failure(self):
        running, peak, lock = [0], [0], threading.Lock()

        def slow(payload, n):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            if payload.get("v") == "boom":
                return False, {"errorType": "ItemFailed", "errorMessage": str(payload)}
            return True, {"echo": payload}

        d = tiny({"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                        "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index",
                                         "c.$": "$.common"},
                        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "T",
                                          "States": {"T": task(ResultSelector={"e.$": "$.Payload.echo"})}},
                        "ResultPath": "$.out", "End": True}})
        fn = ScriptedFunction(slow)
        ex = StateMachine(d, fn).start_execution({"items": ["a", "b", "c", "d", "e"], "common": 9})
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(ex.output["out"], [{"e": {"v": v, "i": i, "c": 9}} for i, v in enumerate("abcde")])
        self.assertEqual(peak[0], 2)
        peak[0] = 0
        ex = StateMachine(d, ScriptedFunction(slow), parallel=False).start_execution(
            {"items": ["a", "b"], "common": 0})
        self.assertEqual((ex.status, peak[0]), ("SUCCEEDED", 1))
        # an iteration that fails fails the Map state with its error
        ex = StateMachine(d, ScriptedFunction(slow)).start_execution({"items": ["a", "boom", "c"], "common": 0})
        self.assertEqual((ex.status, ex.error), ("FAILED", "ItemFailed"))
        self.assertEqual(len(ex.events("MapIterationFailed")), 1)
        # $$.Map is the ItemSelector's only: inside the iteration it does not resolve
        d2 = json.loads(json.dumps(d))
        d2["States"]["M"]["ItemProcessor"]["States"]["T"]["Parameters"] = {
            "FunctionName": "f", "Payload": {"v.$": "$$.Map.Item.Value"}}
        ex = StateMachine(d2, ScriptedFunction(slow)).start_execution({"items": ["a"], "common": 0})
        self.assertEqual(ex.error, "States.Runtime")

    def test_context_object(self):
        d = tiny({"P": {"Type": "Pass", "Parameters": {"t.$": "$$.Execution.StartTime",
                                                       "n.$": "$$.State.Name"}, "End": True}})
        ex = StateMachine(d, ScriptedFunction([])).start_execution({})
        self.assertRegex(ex.output["t"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(ex.output["n"], "P")
        ex = StateMachine(d, ScriptedFunction([])).start_execution({}, start_time="2026-11-25T10:11:12.345Z")
        self.assertEqual(ex.output["t"], "2026-11-25T10:11:12.345Z")

    def test_unsupported_and_invalid_definitions_raise(self):
        fn = ScriptedFunction([])
        cases = [
            (UnsupportedError, "Foo", tiny({"P": {"Type": "Pass", "End": True, "Foo": 1}})),
            (UnsupportedError, "TimeoutSeconds", tiny({"T": task(TimeoutSeconds=30)})),
            (UnsupportedError, "Wait", tiny({"W": {"Type": "Wait", "Seconds": 1, "End": True}})),
            (UnsupportedError, "Resource", tiny({"T": task(Resource="arn:aws:states:::sqs:sendMessage")})),
            (UnsupportedError, "Qualifier", tiny({"T": task(Parameters={"FunctionName": "f", "Payload": {},
                                                                        "Qualifier": "1"})})),
            (UnsupportedError, "only STANDARD", tiny({"M": {"Type": "Map", "End": True, "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "S",
                "States": {"S": {"Type": "Succeed"}}}}})),
            (UnsupportedError, "ItemReader", tiny({"M": {"Type": "Map", "End": True, "ItemReader": {},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                  "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}}})),
            (DefinitionError, "Label", tiny({"M": {"Type": "Map", "End": True, "Label": "a:b", "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "S",
                "States": {"S": {"Type": "Succeed"}}}}})),
            (DefinitionError, "exclusive", tiny({"M": {"Type": "Map", "End": True, "MaxConcurrency": 1,
                "MaxConcurrencyPath": "$.n", "ItemProcessor": {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}}})),
            (UnsupportedError, "unknown field 'Jitter'",
             tiny({"T": task(Retry=[{"ErrorEquals": ["X"], "Jitter": 1}])})),
            (UnsupportedError, "wildcards", tiny({"P": {"Type": "Pass", "InputPath": "$.a[*]", "End": True}})),
            (UnsupportedError, "QueryLanguage", dict(tiny({"S": {"Type": "Succeed"}}), QueryLanguage="JSONata")),
            (UnsupportedError, "TimestampEquals", tiny({"C": {"Type": "Choice", "Default": "S", "Choices": [
                {"Variable": "$.t", "TimestampEquals": "2026-01-01T00:00:00Z", "Next": "S"}]},
                "S": {"Type": "Succeed"}})),
            (DefinitionError, "States.ALL", tiny({"T": task(Retry=[{"ErrorEquals": ["States.ALL", "X"]}])})),
            (DefinitionError, "last", tiny({"T": task(Retry=[{"ErrorEquals": ["States.ALL"]},
                                                             {"ErrorEquals": ["X"]}])})),
            (DefinitionError, "Nowhere", tiny({"P": {"Type": "Pass", "Next": "Nowhere"}})),
            (DefinitionError, "Next and End", tiny({"P": {"Type": "Pass"}})),
            (DefinitionError, "MaxAttempts", tiny({"T": task(Retry=[{"ErrorEquals": ["X"], "MaxAttempts": -1}])})),
            (DefinitionError, "neither", tiny({"P": {"Type": "Pass", "Parameters": {"a.$": "nope"}, "End": True}})),
            (DefinitionError, "StartAt", {"StartAt": "Q", "States": {"S": {"Type": "Succeed"}}}),
        ]
        for exc, pattern, d in cases:
            with self.assertRaisesRegex(exc, pattern, msg=json.dumps(d)):
                StateMachine(d, fn)
        with self.assertRaises(DefinitionError):
            StateMachine("{not json", fn)

    def test_runaway_loop_is_stopped(self):
        d = tiny({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}})
        with self.assertRaises(SimulationLimit):
            StateMachine(d, ScriptedFunction([]), max_transitions=50).start_execution({})

    def test_data_limit(self):
        fn = ScriptedFunction([(True, {"big": "x" * 300000})])
        ex = StateMachine(tiny({"T": task(Retry=[{"ErrorEquals": ["States.ALL"]}])}), fn).start_execution({})
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.DataLimitExceeded"))
        self.assertEqual(len(fn.payloads), 1)

    # -- the real definition with a scripted function ------------------------------------------

    def scripted_snapshot(self, segments, incomplete_rounds, commit_status="complete", throttle=(),
                          segment_status=None):
        def answer(payload, n):
            e = payload["export"]
            if "segment" in e:
                key = e["segment"]
                with lock:
                    count[key] += 1
                    k = count[key]
                if (key, k) in throttle:
                    return TaskFailed("Lambda.TooManyRequestsException", "Rate exceeded")
                status = "incomplete" if k <= incomplete_rounds.get(key, 0) else "complete"
                status = segment_status or status
                return True, {"status": status, "run_id": "2026-11-20T000000Z", "items": 10 * k}
            return True, {"status": commit_status, "run_id": "2026-11-20T000000Z", "items": 30,
                          "files": 3}

        lock, count = threading.Lock(), collections.Counter()
        fn = ScriptedFunction(answer)
        sm = StateMachine(snapshot_definition(segments=segments), fn, seed=1)
        return sm.start_execution(scheduled("2026-11-20T00:00:00Z")), fn

    def test_snapshot_definition_with_a_scripted_function(self):
        ex, fn = self.scripted_snapshot("4", {1: 2, 3: 1})
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        segs = collections.Counter(p["export"].get("segment") for p in fn.payloads)
        self.assertEqual(segs, {0: 1, 1: 3, 2: 1, 3: 2, None: 1})
        self.assertTrue(fn.payloads[-1]["export"]["commit"])
        self.assertEqual({p["export"]["total_segments"] for p in fn.payloads[:-1]}, {4})
        self.assertEqual(ex.output["result"], {"status": "complete", "run_id": "2026-11-20T000000Z",
                                               "items": 30, "files": 3})
        self.assertEqual(ex.events("SucceedStateEntered")[-1]["state"], "SnapshotComplete")
        # one segment: ArrayRange(0, 0, 1)
        ex, fn = self.scripted_snapshot("1", {})
        self.assertEqual([p["export"].get("segment") for p in fn.payloads], [0, None])
        # a throttled invoke is retried by the Lambda.* retrier (2 s, FULL jitter)
        ex, fn = self.scripted_snapshot("2", {}, throttle={(1, 1)})
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        retries = ex.events("RetryScheduled")
        self.assertEqual([r["error"] for r in retries], ["Lambda.TooManyRequestsException"])
        self.assertLessEqual(retries[0]["delay_seconds"], 2)
        # a commit that finds segments not done starts another round, and after the 100th ends in
        # SnapshotIncomplete
        ex, fn = self.scripted_snapshot("2", {}, commit_status="incomplete")
        self.assertEqual((ex.status, ex.error), ("FAILED", "SnapshotIncomplete"))
        self.assertEqual(sum(1 for p in fn.payloads if p["export"].get("commit")), 100)
        self.assertEqual(len(fn.payloads), 300)
        # a segment answer that is neither complete nor incomplete fails, without a commit
        ex, fn = self.scripted_snapshot("2", {}, segment_status="done")
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.ExceedToleratedFailureThreshold"))
        self.assertEqual(child_errors(ex), {"UnexpectedAnswer"})
        self.assertNotIn(True, [p["export"].get("commit") for p in fn.payloads])


    def test_distributed_map_child_executions(self):
        """DISTRIBUTED: each item runs as a child execution with its own history and
        $$.Execution; MaxConcurrencyPath is read from the input; a failed child fails the Map
        Run with States.ExceedToleratedFailureThreshold."""
        proc = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "T", "States": {"T": task(ResultSelector={"v.$": "$.Payload"})}}
        d = tiny({"M": {"Type": "Map", "Label": "Items", "ItemsPath": "$.xs",
                        "MaxConcurrencyPath": "$.n", "ItemProcessor": proc,
                        "ItemSelector": {"x.$": "$$.Map.Item.Value", "who.$": "$$.Execution.Id"},
                        "End": True}})
        fn = ScriptedFunction(lambda p, n: (True, p["x"] * 10) if p["x"] != 3 else
                              (False, {"errorType": "Boom", "errorMessage": "x"}))
        ex = StateMachine(d, fn, name="SM").start_execution({"xs": [1, 2], "n": 1})
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(ex.output, [{"v": 10}, {"v": 20}])
        self.assertEqual(len(ex.children), 2)
        self.assertEqual(ex.events("MapStateStarted")[0]["max_concurrency"], 1)
        self.assertEqual([e["type"] for e in ex.history],
                         ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
                          "MapRunSucceeded", "MapStateSucceeded", "MapStateExited",
                          "ExecutionSucceeded"])
        for c in ex.children:
            self.assertRegex(c.arn, r":execution:SM/Items:[0-9a-f-]{36}$")
            self.assertIn(":execution:SM:", c.input["who"])  # ItemSelector ran in the parent
            self.assertEqual(c.history[0]["type"], "ExecutionStarted")
            self.assertEqual(c.history[-1]["type"], "ExecutionSucceeded")
        self.assertEqual([c["path"] for c in ex.invocations()], ["M/0/T", "M/1/T"])
        ex = StateMachine(d, fn, name="SM").start_execution({"xs": [1, 3], "n": 0})
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.ExceedToleratedFailureThreshold"))
        self.assertEqual(child_errors(ex), {"Boom"})
        ex = StateMachine(d, fn).start_execution({"xs": [1], "n": "many"})
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.Runtime"))

    def test_history_quota(self):
        """25,000 events per execution: a loop of Task + Choice (7 events a turn) stops in the
        3,572nd turn with States.Runtime."""
        d = tiny({"T": task("C", ResultPath="$.r"),
                  "C": {"Type": "Choice", "Default": "T",
                        "Choices": [{"Variable": "$.r.Payload", "StringEquals": "done", "Next": "S"}]},
                  "S": {"Type": "Succeed"}})
        fn = ScriptedFunction(lambda p, n: (True, "more"))
        ex = StateMachine(d, fn, max_transitions=100000).start_execution({})
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.Runtime"))
        self.assertIn("quota of 25000 history events", ex.cause)
        self.assertEqual(ex.aws_events, 25002)  # the event over the quota, ExecutionFailed
        self.assertEqual(len(fn.payloads), 3572)  # (25,000 - 1) // 7 turns, plus the one cut off

    def scripted_big_table(self, needs, mode="DISTRIBUTED", invocations_per_round="2000"):
        """The real definition with a function whose segment s answers incomplete until its
        needs[s]-th invocation (a big table scanned with a low read budget)."""
        lock, count = threading.Lock(), collections.Counter()

        def answer(payload, n):
            e = payload["export"]
            if "commit" in e:
                done = all(count[s] >= k for s, k in enumerate(needs))
                return True, {"status": "complete" if done else "incomplete", "run_id": "r",
                              "items": sum(needs), "files": len(needs)}
            with lock:
                count[e["segment"]] += 1
                k = count[e["segment"]]
            return True, {"status": "complete" if k >= needs[e["segment"]] else "incomplete",
                          "items": k}

        d = json.loads(snapshot_definition(segments=str(len(needs)),
                                           invocations_per_round=invocations_per_round))
        if mode == "INLINE":
            m = d["States"]["ScanSegments"]
            m["ItemProcessor"]["ProcessorConfig"] = {"Mode": "INLINE"}
            del m["Label"]
        fn = ScriptedFunction(answer)
        ex = StateMachine(d, fn, max_transitions=1000000, seed=3).start_execution(
            scheduled("2026-11-20T00:00:00Z"))
        return ex, count

    def test_more_than_3500_invocations_scripted(self):
        """Issue 15: 4 segments of 1,000 invocations each (4,000 in all, 9 history events each)
        overrun one execution's 25,000 events in an INLINE Map; the Distributed Map gives each
        segment a child execution of its own and the run completes. A segment needing 4,500
        invocations (more than one child may take) continues in rounds of InvocationsPerRound."""
        ex, count = self.scripted_big_table([1000] * 4, mode="INLINE")
        self.assertEqual((ex.status, ex.error), ("FAILED", "States.Runtime"), ex.cause)
        self.assertLess(sum(count.values()), 4000)
        ex, count = self.scripted_big_table([1000] * 4)
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(dict(count), {0: 1000, 1: 1000, 2: 1000, 3: 1000})
        self.assertEqual(len(ex.children), 4)
        self.assertLess(max(c.aws_events for c in ex.children), 10000)
        self.assertLess(ex.aws_events, 100)
        ex, count = self.scripted_big_table([4500, 10, 1], invocations_per_round="2000")
        self.assertEqual(ex.status, "SUCCEEDED", ex.cause)
        self.assertEqual(dict(count), {0: 4500, 1: 12, 2: 3})  # done segments: 1 call per round
        self.assertEqual(len(ex.children), 9)  # 3 rounds of 3 segments
        self.assertEqual(sum(1 for c in ex.invocations() if c["payload"]["export"].get("commit")), 3)
        self.assertLess(max(c.aws_events for c in ex.children), 2000 * 9 + 50)


class AslValidatorTest(unittest.TestCase):
    """An independent check beside asl_sim.py: npm's asl-validator (pinned in package.json)
    accepts the definition as written (with its ${...} placeholders) and as CloudFormation
    substitutes it, and rejects a broken copy."""
    VALIDATOR = os.path.join(itlib.SOURCE_DIR, "node_modules", ".bin", "asl-validator")

    def validate(self, text):
        if not os.path.exists(self.VALIDATOR):
            self.fail(f"{self.VALIDATOR} is missing: run npm ci")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(text)
        self.addCleanup(os.unlink, f.name)
        return subprocess.run([self.VALIDATOR, "--json-path", f.name], capture_output=True,
                              text=True, timeout=60)

    def test_definition_is_valid(self):
        for text in (definition_text(), snapshot_definition()):
            r = self.validate(text)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("is valid", r.stdout)

    def test_broken_definitions_are_rejected(self):
        def broken(edit):
            d = json.loads(snapshot_definition())
            edit(d)
            return json.dumps(d)

        def next_to_nowhere(d):
            d["States"]["Committed"]["Choices"][0]["Next"] = "SnapshotCompleted"

        def bad_type(d):
            d["States"]["ScanSegments"]["ItemProcessor"]["States"]["CountInvocation"]["Type"] = "Pas"

        for edit, want in ((next_to_nowhere, "SnapshotCompleted"),
                           (bad_type, "CountInvocation/Type")):
            with self.subTest(edit.__name__):
                r = self.validate(broken(edit))
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(want, r.stdout + r.stderr)


# ---- the definition driving the real function ---------------------------------------------------

class StateMachineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = LocalStack(proxy=True, buckets=(BUCKET,))
        cls.stack.start()
        try:
            cls.tmp = tempfile.TemporaryDirectory()
            cls.stack.seed_table(TABLE, N_ITEMS, seed=11)
            cls.items = cls.stack.aws("dynamodb", "scan", "--table-name", TABLE)["Items"]
        except BaseException:
            cls.stack.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.stack.reset_proxy_stats()

    # -- helpers ------------------------------------------------------------------------------

    def servers(self, prefix, timeout_s, n=1, **extra_env):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.stack.env)
        env.update({"ETL_OUTPUT": f"s3://{BUCKET}/{prefix}", "ETL_TABLE": TABLE,
                    "ETL_SEGMENTS": str(SEGMENTS), "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        env.update(extra_env)
        log_dir = tempfile.mkdtemp(prefix="servers-", dir=self.tmp.name)
        servers = LambdaServers(n, env, timeout_s, log_dir)
        self.addCleanup(self.stop_servers, servers)
        return servers.start()

    def stop_servers(self, servers):
        procs = [s["proc"] for s in servers.servers]
        leftovers = servers.stop()
        self.assertEqual(leftovers, [], "bootstraps outlived their local-invoke")
        for p in procs:
            self.assertIsNotNone(p.poll())

    def execute(self, servers, exec_input, table=TABLE, start_time=None):
        sm = StateMachine(snapshot_definition(table=table), servers.invoke, name="SnapshotStateMachine")
        t0 = time.monotonic()
        ex = sm.start_execution(exec_input, start_time=start_time)
        ex.seconds = time.monotonic() - t0
        return ex

    def s3_keys(self, prefix):
        return self.stack.s3_objects(BUCKET, prefix)

    def get(self, key):
        return self.stack.s3_get(BUCKET, key)

    def segment_calls(self, ex):
        return [(c["payload"]["export"].get("segment"), c["answer"].get("status") if c["ok"] else None)
                for c in ex.invocations()]

    def assert_drove_the_function(self, ex, servers, failures_retried=False):
        """The execution succeeded; each segment was invoked until it answered "complete" (again
        only after "incomplete"; after a function error only with failures_retried, and then
        each failure was retried by the Retry); the commit ran last and ended the run."""
        self.assertEqual(ex.status, "SUCCEEDED",
                         f"{ex.error}: {ex.cause}\n{servers.logs()[-6000:]}")
        calls = self.segment_calls(ex)
        failed = [c for c in ex.invocations() if not c["ok"]]
        if failures_retried:
            retried = collections.Counter(e["path"] for e in ex.events("RetryScheduled"))
            self.assertEqual(collections.Counter(c["path"] for c in failed), retried)
        else:
            self.assertEqual(failed, [])
            self.assertEqual(ex.events("RetryScheduled"), [])
        by_segment = collections.defaultdict(list)
        for seg, status in calls[:-1]:
            by_segment[seg].append(status)
        self.assertEqual(sorted(by_segment), list(range(SEGMENTS)), calls)
        for seg, statuses in by_segment.items():
            # invoked again exactly while it answered "incomplete" (or failed and was retried)
            self.assertEqual(statuses[-1], "complete", (seg, statuses))
            self.assertEqual(set(statuses[:-1]) - {"incomplete", None}, set(), (seg, statuses))
        # the Distributed Map started a child execution per segment, all at once (concurrency 40)
        self.assertEqual(sorted(c.input["segment"] for c in ex.children), list(range(SEGMENTS)))
        self.assertLess(max(c.history[0]["seq"] for c in ex.children),
                        min(c.history[-1]["seq"] for c in ex.children))
        self.assertEqual(calls[-1], (None, "complete"), "the commit runs last")
        self.assertTrue(ex.invocations()[-1]["payload"]["export"]["commit"])
        self.assertEqual(ex.events("SucceedStateEntered")[-1]["state"], "SnapshotComplete")
        self.assertEqual(ex.output["result"]["items"], N_ITEMS)
        self.assertEqual(self.stack.proxy_stats()["signature_failures"], 0)
        return by_segment

    def assert_run_folder(self, prefix, run_id):
        run_prefix = f"{prefix}{TABLE}/snapshots/run={run_id}/"
        objects = self.s3_keys(run_prefix)
        self.assertIn(run_prefix + "_SUCCESS", objects)
        manifest = json.loads(self.get(run_prefix + "_meta/manifest.json"))
        self.assertEqual(manifest["item_count"], N_ITEMS)
        self.assertEqual(manifest["segments"], SEGMENTS)
        parts = sorted(k for k in objects if k[len(run_prefix):].startswith("part-"))
        self.assertEqual(len(manifest["files"]), len(parts))
        self.assertEqual(sum(f["records"] for f in manifest["files"]), N_ITEMS)
        data = {key: self.get(key) for key in parts}
        rows = []
        for key in parts:
            rows.extend(json.loads(line) for line in gzip.decompress(data[key]).decode().splitlines())
        # every seeded key exactly once ...
        pks = collections.Counter(r["pk"] for r in rows)
        self.assertEqual(set(pks), {it["pk"]["S"] for it in self.items})
        self.assertEqual(max(pks.values()), 1)
        self.assertEqual(len(rows), len(self.items))
        # ... and every row exactly as the table holds it (numbers digit for digit)
        want = collections.Counter(ddbgen.freeze(ddbgen.snapshot_row(it, TABLE, run_id))
                                   for it in self.items)
        got = collections.Counter()
        for key in parts:
            for r in ddbgen.read_object(key, data[key]):
                got[ddbgen.freeze(r)] += 1
        self.assertEqual(sum((want - got).values()), 0, "rows missing")
        self.assertEqual(sum((got - want).values()), 0, "rows unexpected")
        return manifest

    # -- tests --------------------------------------------------------------------------------

    SHORT = dict(ETL_MAX_RCU="3", ETL_SCAN_PAGE_LIMIT="50", ETL_EXPORT_OBJECT_BYTES=str(1024 * 1024))

    def test_scheduled_snapshot_resumed_across_short_invocations(self):
        """3-second invocations and a read-capacity budget of 3 units/s (as test_export's
        resumption test) make every segment answer "incomplete" before it is done. One
        --serve server: the Map's iterations take turns on it (a reserved concurrency of 1)."""
        prefix = "sfn-short/"
        servers = self.servers(prefix, 3, **self.SHORT)
        event = scheduled("2026-11-20T00:00:00Z")
        ex = self.execute(servers, event)
        by_segment = self.assert_drove_the_function(ex, servers)
        self.assertTrue(all(len(s) > 1 for s in by_segment.values()), by_segment)
        self.assertTrue(all(r[2] == "ok" for r in servers.calls))
        run_id = "2026-11-20T000000Z"
        self.assertEqual(ex.output["result"]["run_id"], run_id)
        manifest = self.assert_run_folder(prefix, run_id)
        self.assertEqual(manifest["segment_invocations"], sum(len(s) for s in by_segment.values()))
        print(f"\n  short-timeout execution: {ex.seconds:.1f} s, {len(ex.invocations())} invocations "
              f"({ {k: len(v) for k, v in sorted(by_segment.items())} } per segment + commit), "
              f"{ex.transitions} transitions, {len(ex.history)} history events", file=sys.stderr)

        # The same execution again (a redelivered schedule, a re-run by hand): nothing changes.
        before = self.s3_keys(f"{prefix}{TABLE}/")
        again = self.execute(servers, event)
        self.assertEqual(self.assert_drove_the_function(again, servers),
                         {s: ["complete"] for s in range(SEGMENTS)})
        after = self.s3_keys(f"{prefix}{TABLE}/")
        self.assertEqual({k: (v["ETag"], v["LastModified"], v["Size"]) for k, v in before.items()},
                         {k: (v["ETag"], v["LastModified"], v["Size"]) for k, v in after.items()})

    def test_concurrent_segments(self):
        """One --serve server per segment, so the segments' invocations overlap as on Lambda.
        A segment invocation reads only its own checkpoint (and the run's run.json), never the
        others', so overlapping segments cannot fail one another. The one shared document is
        run.json, which the first invocations of a run may create at the same moment; s3rver
        rewrites an object in place (real S3 PUTs are atomic), so a read of it can come back torn
        here: only that failure is tolerated, and it must be retried by the definition's
        States.ALL retrier. The run must still be exactly once."""
        prefix = "sfn-concurrent/"
        servers = self.servers(prefix, 3, n=SEGMENTS, **self.SHORT)
        ex = self.execute(servers, scheduled("2026-11-22T00:00:00Z"))
        self.assert_drove_the_function(ex, servers, failures_retried=True)
        self.assertGreater(len({c[0] for c in servers.calls}), 1, "the invocations overlapped")
        failed = [c for c in ex.invocations() if not c["ok"]]
        for c in failed:
            self.assertIn("run.json", c["answer"]["errorMessage"], c)
        self.assert_run_folder(prefix, "2026-11-22T000000Z")
        print(f"\n  concurrent execution: {ex.seconds:.1f} s, {len(ex.invocations())} invocations, "
              f"{len(failed)} failed and retried "
              f"({', '.join(c['answer']['errorMessage'][:90] for c in failed) or 'none'})",
              file=sys.stderr)

    def test_table_needing_more_than_3500_invocations(self):
        """Issue 15: a table whose snapshot needs more than 3,500 segment invocations (2-second
        invocations, one-item Scan pages, items of 3.5 read units and a budget of 1 unit/s: one
        item per invocation), which would overrun a single execution's 25,000 history events at 9 events
        per invocation. The Distributed Map runs each segment in a child execution with a history
        of its own, and with InvocationsPerRound 40 every segment also continues across rounds
        (the commit answers incomplete, the next round's children resume the checkpoints). One
        --serve server per segment, as Lambda runs the children side by side."""
        table, prefix = "OrdersBig", "sfn-big/"
        self.stack.seed_table(table, BIG_ITEMS, seed=15, pad=BIG_PAD)
        # The lake in a folder (file://, with the same conditional writes for checkpoints) and
        # dynalite without the verifying proxy: the other tests cover S3 and every signature,
        # and about 4,000 files in one run folder are more than s3rver lists reliably on a busy
        # machine (500 InternalError on the commit's ListObjectsV2).
        lake = tempfile.mkdtemp(prefix="lake-", dir=self.tmp.name)
        env = dict(ETL_OUTPUT=f"file://{lake}/{prefix}", ETL_TABLE=table,
                   ETL_SEGMENTS=str(BIG_SEGMENTS), ETL_MAX_RCU="1", ETL_SCAN_PAGE_LIMIT="1",
                   ETL_EXPORT_MARGIN_MS="0",
                   AWS_ENDPOINT_URL_DYNAMODB=self.stack.dynamodb_upstream_url)
        servers = self.servers(prefix, 2, n=BIG_SEGMENTS, **env)
        # The commit reads every segment's checkpoint: on a busy 2-core machine 2 seconds may not
        # be enough for 24 of them, and a deadline it meets fails the run (SnapshotNoProgress).
        # On Lambda both share the 900-second timeout; here the commit gets a server of its own.
        committer = self.servers(prefix, 60, n=1, **env)

        def invoke(fn, payload):
            return (committer if payload["export"].get("commit") else servers).invoke(fn, payload)

        sm = StateMachine(snapshot_definition(table=table, segments=str(BIG_SEGMENTS),
                                              invocations_per_round="40"),
                          invoke, name="SnapshotStateMachine", max_transitions=100000)
        t0 = time.monotonic()
        ex = sm.start_execution(scheduled("2026-11-23T00:00:00Z"))
        seconds = time.monotonic() - t0
        failed = [(c.input["segment"], c.error, (c.cause or "")[:300]) for c in ex.children
                  if c.status == "FAILED"]
        self.assertEqual(ex.status, "SUCCEEDED", f"{ex.error}: {ex.cause}; failed children: "
                         f"{failed}; {collections.Counter(r[2] for r in servers.calls)}")
        calls = ex.invocations()
        segment_calls = [c for c in calls if "segment" in c["payload"]["export"]]
        commits = [c for c in calls if c["payload"]["export"].get("commit")]
        self.assertGreater(len(segment_calls), 3500)
        self.assertGreaterEqual(len(commits), 2, "the segments continued across rounds")
        self.assertEqual(commits[-1]["answer"]["status"], "complete")
        self.assertTrue(all(c["answer"]["status"] == "incomplete" for c in commits[:-1]))
        self.assertEqual(len(ex.children), BIG_SEGMENTS * len(commits))
        self.assertTrue(all(c.status == "SUCCEEDED" for c in ex.children))
        per_child = max(c.aws_events for c in ex.children)
        self.assertLess(max(c.aws_events for c in ex.children), 25000)
        self.assertLess(ex.aws_events, 200)
        # the history one INLINE execution would have needed: 9 events per segment invocation
        self.assertGreater(9 * len(segment_calls), 25000)
        root = os.path.join(lake, prefix)  # the manifest's keys are relative to ETL_OUTPUT
        run_rel = f"{table}/snapshots/run=2026-11-23T000000Z/"
        run_dir = os.path.join(root, run_rel)
        self.assertTrue(os.path.exists(os.path.join(run_dir, "_SUCCESS")))
        with open(os.path.join(run_dir, "_meta", "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["item_count"], BIG_ITEMS)
        self.assertEqual(sum(f["records"] for f in manifest["files"]), BIG_ITEMS)
        self.assertEqual(manifest["segment_invocations"], len(segment_calls))
        parts = {run_rel + n for n in os.listdir(run_dir) if n.startswith("part-")}
        self.assertEqual(parts, {f["key"] for f in manifest["files"]})
        pks = collections.Counter()
        for key in parts:
            with gzip.open(os.path.join(root, key), "rt") as f:
                pks.update(json.loads(line)["pk"] for line in f)
        self.assertEqual((len(pks), max(pks.values())), (BIG_ITEMS, 1), "every item exactly once")
        print(f"\n  {BIG_ITEMS} items, {BIG_SEGMENTS} segments: {len(segment_calls)} segment "
              f"invocations in {len(commits)} rounds, {seconds:.0f} s; history events: parent "
              f"{ex.aws_events}, largest child {per_child}; {len(parts)} files", file=sys.stderr)

    def test_input_without_time_uses_execution_start_time(self):
        prefix = "sfn-start/"
        servers = self.servers(prefix, 60)
        ex = self.execute(servers, {}, start_time="2026-11-25T10:11:12.345Z")
        by_segment = self.assert_drove_the_function(ex, servers)
        self.assertEqual(by_segment, {s: ["complete"] for s in range(SEGMENTS)})
        self.assertEqual({c["payload"]["export"]["time"] for c in ex.invocations()},
                         {"2026-11-25T10:11:12.345Z"})
        run_id = "2026-11-25T101112Z"
        self.assertEqual(ex.output["result"]["run_id"], run_id)
        self.assert_run_folder(prefix, run_id)

    def test_bad_table_name_fails_without_retry(self):
        prefix = "sfn-bad/"
        servers = self.servers(prefix, 60)
        ex = self.execute(servers, scheduled("2026-11-21T00:00:00Z"), table="x")
        self.assertEqual(ex.status, "FAILED")
        self.assertEqual(ex.error, "States.ExceedToleratedFailureThreshold", ex.cause)
        failed = [c for c in ex.children if c.status == "FAILED"]
        self.assertTrue(failed)
        for c in failed:
            self.assertEqual(c.error, "InvalidExportRequest", c.cause)
            self.assertEqual(json.loads(c.cause)["errorType"], "InvalidExportRequest")
        self.assertEqual(ex.events("RetryScheduled"), [], "MaxAttempts 0: not retried")
        calls = ex.invocations()
        segs = [c["payload"]["export"]["segment"] for c in calls]
        self.assertTrue(1 <= len(segs) <= SEGMENTS and len(set(segs)) == len(segs), segs)
        self.assertFalse(any(c["ok"] for c in calls))
        self.assertTrue(all(r[2] == "error" for r in servers.calls))
        self.assertFalse(any("commit" in c["payload"]["export"] for c in calls))
        self.assertEqual(ex.events("MapStateFailed")[0]["error"],
                         "States.ExceedToleratedFailureThreshold")
        self.assertEqual(self.s3_keys(prefix), {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
