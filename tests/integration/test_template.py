#!/usr/bin/env python3
"""Checks template.yaml as AWS's own tools do, then what they do not check:

  * cfn-lint (with the SAM transform, informational findings included) finds nothing that is not
    listed, with its reason, in tests/integration/cfn-lint-allowlist.json, and every listed
    finding still occurs (no stale entries); the state machine definition passes cfn-lint's
    Amazon States Language schema (E3601), which cfn-lint skips inside a SAM state machine;
  * cfn_check.py on the SAM translator's output: every ETL_* variable the C code reads is set on
    both functions, the Makefile has the targets `sam build` runs, no IAM statement grants
    Resource "*" to an action with resource-level permissions, every state is reachable; broken
    copies of template.yaml prove each check (and cfn-lint) reports what it should;
  * issue 15's deploy edges, read from the translator's output: the event source mapping's record
    age and S3 on-failure destination, the stream function's own timeout, REPORT lines kept, the
    EventBridge Scheduler schedule (fixed hour, scheduled time as the run time, retries,
    dead-letter queue), the alarms, the retained resources, the parameter patterns and Rules, the
    Distributed Map and its role.

Run: python3 tests/integration/test_template.py   (needs cfn-lint; scripts/lib.sh installs it)
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cfn_check  # noqa: E402

SOURCE_DIR = os.environ.get("ETL_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
REAL_TEMPLATE = os.path.join(SOURCE_DIR, "template.yaml")
ALLOWLIST = os.path.join(HERE, "cfn-lint-allowlist.json")
FUNCTIONS = ("EtlFunction", "StreamFunction")

_tmp = None


def setUpModule():
    global _tmp
    _tmp = tempfile.TemporaryDirectory(prefix="template-check-")


def tearDownModule():
    _tmp.cleanup()


def load_allowlist():
    with open(ALLOWLIST, encoding="utf-8") as f:
        entries = json.load(f)
    for e in entries:
        assert set(e) <= {"rule", "match", "where", "reason"} and e.get("reason"), e
    return entries


def allowed(finding, entries):
    """The allowlist entry that explains finding, or None."""
    for e in entries:
        if e["rule"] == finding.rule and e["match"] in finding.message and \
                e.get("where", finding.path) == finding.path:
            return e
    return None


def copy_of_template(replacements=(), files=None):
    """A copy of the checkout's template.yaml, statemachine/ and Makefile with each (old, new)
    replaced once in template.yaml (or in files[name] for another file); returns its path."""
    d = tempfile.mkdtemp(dir=_tmp.name)
    shutil.copytree(os.path.join(SOURCE_DIR, "statemachine"), os.path.join(d, "statemachine"))
    shutil.copy(os.path.join(SOURCE_DIR, "Makefile"), d)
    shutil.copy(REAL_TEMPLATE, d)
    edits = {"template.yaml": list(replacements)}
    for name, reps in (files or {}).items():
        edits.setdefault(name, []).extend(reps)
    for name, reps in edits.items():
        path = os.path.join(d, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for old, new in reps:
            assert old in text, f"{name} changed: cannot find {old!r}"
            text = text.replace(old, new, 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return os.path.join(d, "template.yaml")


class CfnLintTest(unittest.TestCase):
    def test_template_yaml_lints_clean_but_for_the_allowlist(self):
        entries = load_allowlist()
        findings = cfn_check.lint(REAL_TEMPLATE)
        unexplained = [f for f in findings if allowed(f, entries) is None]
        self.assertEqual(unexplained, [], "cfn-lint findings not in cfn-lint-allowlist.json:\n"
                         + "\n".join(f"{f.rule} line {f.line} {f.path}: {f.message}"
                                     for f in unexplained))
        stale = [e for e in entries if not any(allowed(f, [e]) for f in findings)]
        self.assertEqual(stale, [], "allowlist entries cfn-lint no longer reports: remove them")

    def test_state_machine_definitions_pass_cfn_lints_asl_schema(self):
        definitions = cfn_check.state_machine_definitions(REAL_TEMPLATE)
        self.assertEqual(list(definitions), ["SnapshotStateMachine"])
        for rid, d in definitions.items():
            self.assertEqual(cfn_check.lint_definition(d), [], rid)
        broken = copy.deepcopy(definitions["SnapshotStateMachine"])
        broken["States"]["ScanSegments"]["MaxConcurrencyPat"] = "$.x"
        self.assertEqual([f.rule for f in cfn_check.lint_definition(broken)], ["E3601"])

    def test_broken_copies_fail_cfn_lint(self):
        cases = [
            ("      BucketEncryption:\n", "      BucketEncrypton:\n", "E3002"),
            ("Resource: !GetAtt FailedBatchBucket.Arn", "Resource: !GetAtt FailedBatchBuckett.Arn",
             "E1010"),
            ("          Value: !Ref StreamFunction\n", "          Value: !Ref StreamFunctio\n",
             "E1020"),
            ("      EvaluationPeriods: 26\n", "      EvaluationPeriods: many\n", "E3012"),
            ("Type: AWS::SQS::Queue", "Type: AWS::SQS::Queu", "E3006"),
        ]
        for old, new, rule in cases:
            with self.subTest(new=new.strip()):
                rules = {f.rule for f in cfn_check.lint(copy_of_template([(old, new)]))}
                self.assertIn(rule, rules)


class CfnCheckTest(unittest.TestCase):
    def test_template_yaml_is_clean(self):
        self.assertEqual(cfn_check.check_template(REAL_TEMPLATE, SOURCE_DIR), [])

    def test_broken_copies_fail(self):
        cases = [
            # an ETL_* variable the C code reads, gone from Globals: both functions miss it
            ({"template.yaml": [("        ETL_SEGMENTS: !Ref Segments\n", "")]},
             ["Resources.EtlFunction: environment variable ETL_SEGMENTS (read by function/"
              "etl_config.c) is not set",
              "Resources.StreamFunction: environment variable ETL_SEGMENTS (read by function/"
              "etl_config.c) is not set"]),
            # an action with resource-level permissions granted on "*"
            ({"template.yaml": [("                Action: dynamodb:ListStreams\n",
                                 "                Action: [dynamodb:ListStreams, dynamodb:Scan]\n")]},
             ["Resources.EtlFunctionRole.Properties.Policies[3](stream-read).Statement[1]: "
              "Resource \"*\" for ['dynamodb:Scan'], which support resource-level permissions"]),
            # the Makefile target sam build runs for a function
            ({"Makefile": [("build-EtlFunction build-StreamFunction:", "build-EtlFunction:")]},
             ["Resources.StreamFunction.Properties.CodeUri: Makefile has no target "
              "build-StreamFunction (sam build runs make build-StreamFunction)"]),
            # a state nothing leads to
            ({"statemachine/snapshot.asl.json": [('"SnapshotComplete": {',
                                                  '"Orphan": {"Type": "Succeed"},\n'
                                                  '    "SnapshotComplete": {')]},
             ["Resources.SnapshotStateMachine: States.Orphan: unreachable from StartAt "
              "HasScheduleTime"]),
        ]
        for edits, want in cases:
            with self.subTest(edits=edits):
                files = {k: v for k, v in edits.items() if k != "template.yaml"}
                path = copy_of_template(edits.get("template.yaml", ()), files)
                self.assertEqual(cfn_check.check_template(path, SOURCE_DIR), want)

    def test_cli(self):
        script = os.path.join(HERE, "cfn_check.py")
        ok = subprocess.run([sys.executable, script, REAL_TEMPLATE, "--source-dir", SOURCE_DIR],
                            capture_output=True, text=True)
        self.assertEqual((ok.returncode, ok.stdout), (0, ""), ok.stderr)
        bad = subprocess.run([sys.executable, script, "--source-dir", SOURCE_DIR, copy_of_template(
            [("        ETL_TABLE: !If [CreateTable, !Ref EtlTable, !Ref TableName]\n", "")])],
            capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertEqual(len(bad.stdout.splitlines()), 2, bad.stdout)

    def test_makefile_refuses_an_empty_artifacts_dir(self):
        """`make build-<Function>` without ARTIFACTS_DIR stops before building anything, instead
        of copying the bootstrap to /bootstrap."""
        d = tempfile.mkdtemp(dir=_tmp.name)
        shutil.copy(os.path.join(SOURCE_DIR, "Makefile"), d)
        for target in ("build-EtlFunction", "build-StreamFunction"):
            for extra in ([], ["ARTIFACTS_DIR="]):
                r = subprocess.run(["make", "-C", d, target] + extra, capture_output=True,
                                   text=True, timeout=60, env=dict(os.environ, ARTIFACTS_DIR=""))
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn("ARTIFACTS_DIR is not set", r.stderr)
                self.assertNotIn("build-static", r.stdout)

    def test_check_asl(self):
        self.assertEqual(cfn_check.check_asl({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}]},
            "B": {"Type": "Succeed"}}}), [
            "States.P.Branches[0].States.A: 'B' is not a state in this scope",
            "States.B: unreachable from StartAt P"])
        self.assertEqual(cfn_check.check_asl({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Next": "D"}], "Default": "E"},
            "D": {"Type": "Succeed"}, "E": {"Type": "Fail"}}}), [])


class CodeEnvVarsTest(unittest.TestCase):
    def test_real_source(self):
        found = cfn_check.code_env_var_sources(SOURCE_DIR)
        for name in ("ETL_OUTPUT", "ETL_TABLE", "ETL_SEGMENTS", "ETL_S3_SSE",
                     "ETL_S3_STORAGE_CLASS"):
            self.assertIn(name, found)
        self.assertEqual(found["ETL_TABLE"], ["function/etl_config.c"])
        self.assertTrue(all(n.startswith("ETL_") for n in found), found)
        self.assertEqual(list(found), sorted(found))


class DeployEdgesTest(unittest.TestCase):
    """Issue 15, read from the SAM translator's output (and the template's parameters)."""

    @classmethod
    def setUpClass(cls):
        cls.t = cfn_check.translate(REAL_TEMPLATE)
        cls.res = cls.t["Resources"]
        cls.params = cls.t["Parameters"]

    def of_type(self, rtype):
        return {k: v for k, v in self.res.items() if v["Type"] == rtype}

    def test_stream_mapping_keeps_failed_batches(self):
        (esm,) = self.of_type("AWS::Lambda::EventSourceMapping").values()
        p = esm["Properties"]
        self.assertEqual(p["FunctionName"], {"Ref": "StreamFunction"})
        self.assertLess(p["MaximumRecordAgeInSeconds"], 86400, "shorter than the retention")
        self.assertLessEqual(p["MaximumRecordAgeInSeconds"], 6 * 3600)
        self.assertEqual(p["DestinationConfig"]["OnFailure"]["Destination"],
                         {"Fn::GetAtt": ["FailedBatchBucket", "Arn"]})
        role = json.dumps(self.res["EtlFunctionRole"]["Properties"]["Policies"])
        self.assertIn('"s3:PutObject", "Resource": {"Fn::Sub": "${FailedBatchBucket.Arn}/*"}',
                      role)

    def test_functions(self):
        fn, stream = self.res["EtlFunction"]["Properties"], self.res["StreamFunction"]["Properties"]
        self.assertEqual(fn["Timeout"], 900)
        self.assertEqual(stream["Timeout"], {"Ref": "StreamTimeout"})
        self.assertLess(int(self.params["StreamTimeout"]["Default"]), 900)
        for p in (fn, stream):
            self.assertEqual(p["LoggingConfig"]["SystemLogLevel"], "INFO", "keeps REPORT lines")
            self.assertEqual(p["Environment"], fn["Environment"])
        self.assertEqual(fn["ReservedConcurrentExecutions"],
                         {"Fn::If": ["ReserveSnapshotConcurrency", {"Ref": "SnapshotConcurrency"},
                                     {"Ref": "AWS::NoValue"}]})

    def test_schedule(self):
        (sched,) = self.of_type("AWS::Scheduler::Schedule").values()
        p = sched["Properties"]
        self.assertTrue(self.params["ScheduleExpression"]["Default"].startswith("cron(0 2 "))
        self.assertEqual(json.loads(p["Target"]["Input"]),
                         {"time": "<aws.scheduler.scheduled-time>"})
        self.assertGreater(p["Target"]["RetryPolicy"]["MaximumRetryAttempts"], 0)
        self.assertEqual(p["Target"]["DeadLetterConfig"]["Arn"],
                         {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
        self.assertEqual(p["GroupName"], {"Ref": "SnapshotScheduleGroup"})

    def test_alarms(self):
        alarms = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]): a["Properties"]
                  for a in self.of_type("AWS::CloudWatch::Alarm").values()}
        self.assertEqual(alarms[("AWS/Scheduler", "TargetErrorCount")]["Dimensions"],
                         [{"Name": "ScheduleGroup", "Value": {"Ref": "SnapshotScheduleGroup"}}])
        self.assertIn(("AWS/SQS", "ApproximateNumberOfMessagesVisible"), alarms)
        self.assertIn(("AWS/S3", "PutRequests"), alarms)
        none = alarms[("AWS/States", "ExecutionsSucceeded")]
        self.assertEqual((none["ComparisonOperator"], none["TreatMissingData"]),
                         ("LessThanThreshold", "breaching"))
        self.assertGreaterEqual(none["Period"] * none["DatapointsToAlarm"], 86400)
        self.assertLessEqual(none["Period"] * none["EvaluationPeriods"], 7 * 86400)

    def test_retained_resources(self):
        for rid in ("DeadLetterQueue", "EtlLogGroup", "LakeBucket", "LakeBucketPolicy",
                    "FailedBatchBucket", "FailedBatchBucketPolicy", "EtlTable"):
            self.assertEqual((self.res[rid].get("DeletionPolicy"),
                              self.res[rid].get("UpdateReplacePolicy")), ("Retain", "Retain"), rid)
        self.assertNotIn("LogGroupName", self.res["EtlLogGroup"]["Properties"])
        rules = self.res["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        self.assertTrue(any(r.get("ExpiredObjectDeleteMarker") for r in rules))
        self.assertTrue(any("AbortIncompleteMultipartUpload" in r for r in rules))

    def test_parameter_patterns_and_rules(self):
        prefix = re.compile(self.params["Prefix"]["AllowedPattern"])
        for ok in ("ddb/", "", "a/b=1/"):
            self.assertTrue(prefix.fullmatch(ok), ok)
        for bad in ("*/", "ddb*/", "ddb", "/"):
            self.assertFalse(prefix.fullmatch(bad), bad)
        arn = re.compile(self.params["TableStreamArn"]["AllowedPattern"])
        self.assertTrue(arn.fullmatch(
            "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-11-20T10:00:00.000"))
        self.assertTrue(arn.fullmatch(""))
        for bad in ("Orders", "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders"):
            self.assertFalse(arn.fullmatch(bad), bad)
        rules = cfn_check.load_template(REAL_TEMPLATE)["Rules"]
        self.assertEqual(sorted(rules), ["ExistingTableNeedsItsStream", "StreamOnlyWithItsTable"])
        # the role reads only the named table's streams: a stream ARN of another table fails the
        # event source mapping's creation (Lambda checks the role's permissions)
        stream = json.dumps(self.res["EtlFunctionRole"]["Properties"]["Policies"][3])
        self.assertIn(":table/${TableName}/stream/*", stream)

    def test_distributed_map_and_its_role(self):
        sm = self.res["SnapshotStateMachine"]["Properties"]
        self.assertEqual(sm["StateMachineName"], {"Fn::Sub": "${AWS::StackName}-snapshot"})
        definition = cfn_check.state_machine_definitions(REAL_TEMPLATE)["SnapshotStateMachine"]
        m = definition["States"]["ScanSegments"]
        self.assertEqual(m["ItemProcessor"]["ProcessorConfig"],
                         {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
        role = json.dumps(self.res["SnapshotStateMachineRole"]["Properties"]["Policies"])
        self.assertIn('"Action": "states:StartExecution", "Resource": {"Fn::Sub": '
                      '"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:'
                      'stateMachine:${AWS::StackName}-snapshot"}', role)
        for key in ("SnapshotConcurrency", "InvocationsPerRound", "Segments"):
            self.assertIn(key, sm["DefinitionSubstitutions"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
