#!/usr/bin/env python3
"""Checks template.yaml offline with cfn_check.py (AWS SAM schema, CloudFormation resource
specification, references, environment, state machines, policies), and proves each check works:
a fixture template (fixtures/template-good.yaml) validates clean, and copies of it broken one way
at a time fail with the matching message.

Run: /usr/bin/python3 tests/integration/test_template.py   (needs node_modules: npm ci)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import jsonschema  # noqa: F401
    import yaml  # noqa: F401
except ImportError:  # ctest may run a python3 without Debian's packages
    if os.path.exists("/usr/bin/python3") and \
            os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cfn_check  # noqa: E402

SOURCE_DIR = os.environ.get("ETL_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
REAL_TEMPLATE = os.path.join(SOURCE_DIR, "template.yaml")
FIXTURES = os.path.join(HERE, "fixtures")
GOOD = "template-good.yaml"
ASL = os.path.join("statemachine", "snapshot.asl.json")

# IAM actions the Service Authorization Reference lists without a resource type: a statement
# granting them must say Resource "*". Any other action on "*" in template.yaml fails the test.
ACTIONS_NEEDING_STAR = {
    "cloudwatch:PutMetricData",
    "dynamodb:ListStreams",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}

# The environment reads of a stand-in for function/: the fixture is checked against this, not
# against the real code, so that a new variable in the code fails only the real template's test.
FAKE_CONFIG_C = r"""
static enum err_code load(char *const *envp, struct err *err)
{
    etl_output_parse(env_get(envp, "ETL_OUTPUT"), &out, err);
    env_get_choice(envp, "ETL_FORMAT", formats, 2, 0, &idx, err);
    env_get_choice(envp, "ETL_COMPRESSION", compressions, 2, 0, &idx, err);
    const char *table = env_get_nonempty(envp, "ETL_TABLE");
    rc = env_get_i64(envp,
                     "ETL_SEGMENTS", 4, 1, 1000, &segments, err);
    rc = copy_choice(envp, "ETL_S3_SSE", sses, 2, cfg->sse, sizeof(cfg->sse), err);
    const char *ns = env_get_nonempty(envp, "ETL_METRICS_NAMESPACE");
    const char *region = env_get_nonempty(envp, "AWS_REGION");
    return err_set(err, ERR_CONFIG, "ETL_NOT_READ");
}
"""
FAKE_ENV = ["ETL_COMPRESSION", "ETL_FORMAT", "ETL_METRICS_NAMESPACE", "ETL_OUTPUT",
            "ETL_S3_SSE", "ETL_SEGMENTS", "ETL_TABLE"]

_tmp = None
FAKE_SRC = None


def setUpModule():
    global _tmp, FAKE_SRC
    try:
        cfn_check.load_cfn_spec()
    except cfn_check.DataMissingError as e:
        raise RuntimeError(f"cannot check templates: {e}") from None
    _tmp = tempfile.TemporaryDirectory(prefix="cfn-check-")
    FAKE_SRC = os.path.join(_tmp.name, "src")
    os.makedirs(os.path.join(FAKE_SRC, "function"))
    with open(os.path.join(FAKE_SRC, "function", "etl_config.c"), "w") as f:
        f.write(FAKE_CONFIG_C)


def tearDownModule():
    if _tmp is not None:
        _tmp.cleanup()


def check_text(test, text, name="template.yaml", files=None):
    """Writes a template (and extra files) to a temp dir and checks it."""
    d = tempfile.mkdtemp(dir=_tmp.name)
    for rel, content in dict(files or {}, **{name: text}).items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        with open(os.path.join(d, rel), "w") as f:
            f.write(content)
    return cfn_check.check_template(os.path.join(d, name), FAKE_SRC)


class FixtureCase(unittest.TestCase):
    def broken_copy(self, edits, file=GOOD):
        """A copy of fixtures/ with each (old, new) replaced once in file; returns its template."""
        d = tempfile.mkdtemp(dir=_tmp.name)
        shutil.copytree(FIXTURES, d, dirs_exist_ok=True)
        path = os.path.join(d, file)
        with open(path) as f:
            text = f.read()
        for old, new in edits:
            self.assertIn(old, text, f"fixture {file} changed: cannot find {old!r}")
            text = text.replace(old, new, 1)
        with open(path, "w") as f:
            f.write(text)
        return os.path.join(d, GOOD)

    def errors_of(self, edits, file=GOOD):
        return cfn_check.check_template(self.broken_copy(edits, file), FAKE_SRC)

    def assertReported(self, expected, errors):
        self.assertIn(expected, errors, "expected error not reported; got:\n" + "\n".join(errors))


class RepositoryTemplateTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(REAL_TEMPLATE):
            self.skipTest(f"{REAL_TEMPLATE} does not exist yet")

    def test_template_yaml_is_valid(self):
        errors = cfn_check.check_template(REAL_TEMPLATE, SOURCE_DIR)
        self.assertEqual(errors, [], "template.yaml:\n" + "\n".join(errors))

    def real_copy_errors(self, old, new):
        """Checks a copy of the repository's own template (and its statemachine/ and Makefile)
        with old replaced by new once."""
        with open(REAL_TEMPLATE) as f:
            text = f.read()
        self.assertIn(old, text, f"template.yaml changed: cannot find {old!r}")
        d = tempfile.mkdtemp(dir=_tmp.name)
        shutil.copytree(os.path.join(SOURCE_DIR, "statemachine"), os.path.join(d, "statemachine"))
        shutil.copy(os.path.join(SOURCE_DIR, "Makefile"), d)
        with open(os.path.join(d, "template.yaml"), "w") as f:
            f.write(text.replace(old, new, 1))
        return cfn_check.check_template(os.path.join(d, "template.yaml"), SOURCE_DIR)

    def test_broken_copies_of_template_yaml_fail(self):
        self.assertEqual(self.real_copy_errors("", ""), [])  # the copy itself is clean
        cases = [
            ("      BucketEncryption:\n", "      BucketEncrypton:\n",
             "Resources.LakeBucket.Properties.BucketEncrypton: unknown property of "
             "AWS::S3::Bucket (did you mean BucketEncryption?)"),
            ("Resource: !GetAtt DeadLetterQueue.Arn", "Resource: !GetAtt DeadLetterQueu.Arn",
             "Fn::GetAtt DeadLetterQueu.Arn: no resource DeadLetterQueu (did you mean "
             "DeadLetterQueue?)"),
            ("    Value: !Ref EtlFunction\n", "    Value: !Ref EtlFunctio\n",
             "Dimensions[0].Value: Ref EtlFunctio: no parameter, resource or pseudo "
             "parameter of that name (did you mean EtlFunction?)"),
            ("          ETL_SEGMENTS: !Ref Segments\n", "",
             "Resources.EtlFunction: environment variable ETL_SEGMENTS (read by "),
        ]
        for old, new, want in cases:
            with self.subTest(broken=new or f"without {old.strip()}"):
                errors = self.real_copy_errors(old, new)
                self.assertTrue(any(want in e for e in errors),
                                f"no error containing {want!r}; got:\n" + "\n".join(errors))

    def test_wildcard_resources_only_where_aws_requires_them(self):
        for w in cfn_check.wildcard_resources(REAL_TEMPLATE):
            extra = set(w.actions) - ACTIONS_NEEDING_STAR
            self.assertFalse(extra, f"{w.path}: Resource \"*\" for {sorted(extra)}, which "
                                    f"support resource-level permissions")


class GoodFixtureTest(FixtureCase):
    def test_fixture_validates_clean(self):
        errors = cfn_check.check_template(os.path.join(FIXTURES, GOOD), FAKE_SRC)
        self.assertEqual(errors, [], "\n".join(errors))

    def test_fixture_wildcards(self):
        got = cfn_check.wildcard_resources(os.path.join(FIXTURES, GOOD))
        self.assertEqual(got, [cfn_check.Wildcard(
            "Resources.EtlFunction.Properties.Policies[4].CloudWatchPutMetricPolicy.Statement[0]",
            ("cloudwatch:PutMetricData",))])

    def test_wildcard_in_inline_statement(self):
        path = self.broken_copy([("                - !GetAtt LakeBucket.Arn\n"
                                  "                - !Sub \"${LakeBucket.Arn}/*\"\n",
                                  "                - \"*\"\n")])
        self.assertIn(cfn_check.Wildcard(
            "Resources.EtlFunction.Properties.Policies[5].Statement[0]",
            ("s3:GetObject", "s3:ListBucket")), cfn_check.wildcard_resources(path))

    def test_cli(self):
        script = os.path.join(HERE, "cfn_check.py")
        ok = subprocess.run([sys.executable, script, os.path.join(FIXTURES, GOOD),
                             "--source-dir", FAKE_SRC], capture_output=True, text=True)
        self.assertEqual((ok.returncode, ok.stdout), (0, ""), ok.stderr)
        bad = subprocess.run([sys.executable, script, "--source-dir", FAKE_SRC,
                              self.broken_copy([("BucketEncryption:", "BucketEncryptin:")])],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertEqual(bad.stdout.splitlines(), [
            "Resources.LakeBucket.Properties.BucketEncryptin: unknown property of "
            "AWS::S3::Bucket (did you mean BucketEncryption?)"])


class BrokenFixtureTest(FixtureCase):
    """Each copy of the fixture is broken one way; the check must name what is wrong."""

    def test_wrong_property_name(self):
        self.assertEqual(self.errors_of([("BucketEncryption:", "BucketEncryptin:")]), [
            "Resources.LakeBucket.Properties.BucketEncryptin: unknown property of "
            "AWS::S3::Bucket (did you mean BucketEncryption?)"])

    def test_wrong_nested_property_name(self):
        errors = self.errors_of([("SSEAlgorithm:", "SSEAlgoritm:")])
        where = ("Resources.LakeBucket.Properties.BucketEncryption."
                 "ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault")
        self.assertEqual(errors, [
            f"{where}.SSEAlgoritm: unknown property of AWS::S3::Bucket."
            f"ServerSideEncryptionByDefault (did you mean SSEAlgorithm?)",
            f"{where}: missing required property SSEAlgorithm of AWS::S3::Bucket."
            f"ServerSideEncryptionByDefault"])

    def test_missing_required_property(self):
        errors = self.errors_of([("      ComparisonOperator: GreaterThanThreshold\n", "")])
        self.assertEqual(errors, ["Resources.FailureQueueAlarm.Properties: missing required "
                                  "property ComparisonOperator of AWS::CloudWatch::Alarm"])

    def test_wrong_primitive_type(self):
        errors = self.errors_of([("      EvaluationPeriods: 1\n",
                                  "      EvaluationPeriods: one\n")])
        self.assertEqual(errors, ["Resources.FunctionErrorsAlarm.Properties.EvaluationPeriods: "
                                  "expected Integer, got 'one'"])

    def test_unknown_resource_type(self):
        errors = self.errors_of([("Type: AWS::SQS::Queue", "Type: AWS::SQS::Queu")])
        self.assertReported("Resources.FailureQueue.Type: unknown resource type AWS::SQS::Queu "
                            "(did you mean AWS::SQS::Queue?)", errors)

    def test_dangling_ref(self):
        errors = self.errors_of([("    Value: !Ref LakeBucket\n", "    Value: !Ref LakeBuckett\n")])
        self.assertEqual(errors, ["Outputs.LakeBucketName.Value: Ref LakeBuckett: no parameter, "
                                  "resource or pseudo parameter of that name (did you mean "
                                  "LakeBucket?)"])

    def test_dangling_sub_variable(self):
        errors = self.errors_of([("${EtlFunction} returned", "${EtlFunc} returned")])
        self.assertEqual(errors, ["Resources.FunctionErrorsAlarm.Properties.AlarmDescription: "
                                  "Fn::Sub ${EtlFunc}: no parameter, resource or pseudo parameter "
                                  "of that name (did you mean EtlFunction?)"])

    def test_bad_getatt_attribute(self):
        errors = self.errors_of([("Stream: !GetAtt SourceTable.StreamArn",
                                  "Stream: !GetAtt SourceTable.StreamArm")])
        self.assertEqual(errors, [
            "Resources.EtlFunction.Properties.Events.Stream.Properties.Stream: Fn::GetAtt "
            "SourceTable.StreamArm: AWS::DynamoDB::Table SourceTable has no attribute StreamArm "
            "(did you mean StreamArn?)"])

    def test_bad_getatt_in_sub(self):
        errors = self.errors_of([("${LakeBucket.Arn}/*", "${LakeBucket.Ar}/*")])
        self.assertEqual(errors, [
            "Resources.EtlFunction.Properties.Policies[5].Statement[0].Resource[1]: Fn::Sub "
            "${LakeBucket.Ar}: AWS::S3::Bucket LakeBucket has no attribute Ar (did you mean "
            "Arn?)"])

    def test_bad_getatt_on_sam_resource(self):
        errors = self.errors_of([("!GetAtt SnapshotStateMachine.Name",
                                  "!GetAtt SnapshotStateMachine.StateMachineName")])
        self.assertEqual(errors, [
            "Outputs.SnapshotStateMachineName.Value: Fn::GetAtt SnapshotStateMachine."
            "StateMachineName: AWS::Serverless::StateMachine SnapshotStateMachine has no "
            "attribute StateMachineName (SAM documents: Arn, Name)"])

    def test_sam_generated_role_is_gone_with_an_explicit_role(self):
        errors = self.errors_of([("      Handler: bootstrap\n",
                                  "      Handler: bootstrap\n      Role: arn:aws:iam::1:role/x\n")])
        self.assertReported("Outputs.FunctionRoleArn.Value: Fn::GetAtt EtlFunctionRole.Arn: no "
                            "resource EtlFunctionRole (did you mean EtlFunction?)", errors)

    def test_env_var_the_code_reads_is_removed(self):
        errors = self.errors_of([("          ETL_TABLE: !Ref SourceTable\n", "")])
        self.assertEqual(errors, ["Resources.EtlFunction: environment variable ETL_TABLE (read by "
                                  "function/etl_config.c) is not set"])

    def test_env_var_read_through_a_wrapper_is_removed(self):
        errors = self.errors_of([("          ETL_S3_SSE: AES256\n", "")])
        self.assertEqual(errors, ["Resources.EtlFunction: environment variable ETL_S3_SSE (read "
                                  "by function/etl_config.c) is not set"])

    def test_env_var_from_globals_is_removed(self):
        errors = self.errors_of([("        ETL_METRICS_NAMESPACE: DdbS3Etl\n",
                                  "        OTHER: x\n")])
        self.assertEqual(errors, ["Resources.EtlFunction: environment variable "
                                  "ETL_METRICS_NAMESPACE (read by function/etl_config.c) is not "
                                  "set"])

    def test_environment_misspelled(self):
        errors = self.errors_of([("      Environment:\n        Variables:\n          ETL_OUTPUT",
                                  "      Environment:\n        Variable:\n          ETL_OUTPUT")])
        self.assertReported("Resources.EtlFunction.Properties.Environment.Variable: unknown "
                            "property of AWS::Lambda::Function.Environment (did you mean "
                            "Variables?)", errors)

    def test_next_to_a_missing_state(self):
        errors = self.errors_of([('"Next": "Commit"', '"Next": "Comit"')], ASL)
        where = "Resources.SnapshotStateMachine (statemachine/snapshot.asl.json)"
        self.assertEqual(errors, [
            f"{where}: States.ScanSegments.Next: 'Comit' is not a state in this scope (did you "
            f"mean Commit?)",
            f"{where}: States.Commit: unreachable from StartAt Plan"])

    def test_unreachable_state_in_a_map(self):
        errors = self.errors_of([('"Default": "SegmentDone"', '"Default": "ScanSegment"')], ASL)
        self.assertEqual(errors, [
            "Resources.SnapshotStateMachine (statemachine/snapshot.asl.json): States.ScanSegments."
            "ItemProcessor.States.SegmentDone: unreachable from StartAt ScanSegment"])

    def test_catch_to_a_missing_state(self):
        errors = self.errors_of([('"Next": "SnapshotFailed"', '"Next": "Failed"')], ASL)
        self.assertReported(
            "Resources.SnapshotStateMachine (statemachine/snapshot.asl.json): States.ScanSegments."
            "Catch[0].Next: 'Failed' is not a state in this scope (did you mean SnapshotFailed?)",
            errors)

    def test_state_without_next_or_end(self):
        errors = self.errors_of([(', "time.$": "$.time", "commit": true}}\n      },\n'
                                  '      "End": true',
                                  ', "time.$": "$.time", "commit": true}}\n      }')], ASL)
        self.assertEqual(errors, [
            "Resources.SnapshotStateMachine (statemachine/snapshot.asl.json): States.Commit: "
            "needs Next or End: true"])

    def test_jsonpath_field_without_dollar(self):
        errors = self.errors_of([('"segment.$": "$.segment"', '"segment.$": "segment"')], ASL)
        self.assertEqual(errors, [
            "Resources.SnapshotStateMachine (statemachine/snapshot.asl.json): States.ScanSegments."
            "ItemProcessor.States.ScanSegment.Parameters.Payload.export.segment.$: a .$ field "
            "needs a path ($...) or an intrinsic function (States.*), got 'segment'"])

    def test_substitution_missing_and_unused(self):
        errors = self.errors_of([("        Segments: !Ref Segments\n",
                                  "        Segment: !Ref Segments\n")])
        self.assertEqual(errors, [
            "Resources.SnapshotStateMachine (statemachine/snapshot.asl.json): placeholder "
            "${Segments} has no DefinitionSubstitutions entry (did you mean Segment?)",
            "Resources.SnapshotStateMachine.Properties.DefinitionSubstitutions.Segment: not used "
            "by the definition"])

    def test_definition_file_missing(self):
        errors = self.errors_of([("statemachine/snapshot.asl.json", "statemachine/snapshot.json")])
        self.assertEqual(errors, ["Resources.SnapshotStateMachine.Properties.DefinitionUri: "
                                  "statemachine/snapshot.json not found next to the template"])

    def test_wrong_sam_event_property(self):
        errors = self.errors_of([("StartingPosition:", "StartingPositon:")])
        self.assertEqual(errors, [
            "Resources.EtlFunction.Properties.Events.Stream.Properties.StartingPositon: unknown "
            "property of DynamoDBEventProperties (did you mean StartingPosition?)"])

    def test_missing_sam_event_property(self):
        errors = self.errors_of([("            Stream: !GetAtt SourceTable.StreamArn\n", "")])
        self.assertEqual(errors, ["Resources.EtlFunction.Properties.Events.Stream.Properties: "
                                  "missing required property Stream"])

    def test_wrong_sam_event_type(self):
        errors = self.errors_of([("Type: DynamoDB", "Type: DynamoDb")])
        self.assertIn("Resources.EtlFunction.Properties.Events.Stream.Type: 'DynamoDb' is not one "
                      "of", errors[0])
        self.assertTrue(errors[0].endswith("(did you mean DynamoDB?)"), errors[0])

    def test_wrong_sam_property(self):
        errors = self.errors_of([("      Handler: bootstrap", "      Handle: bootstrap")])
        self.assertEqual(errors, ["Resources.EtlFunction.Properties.Handle: unknown property of "
                                  "AWS::Serverless::Function (did you mean Handler?)"])

    def test_wrong_globals_property(self):
        errors = self.errors_of([("    MemorySize: 512\n", "    MemorySize: 512\n    Handlr: x\n")])
        self.assertEqual(errors, ["Globals.Function.Handlr: unknown property of Globals (did you "
                                  "mean Handler?)"])

    def test_unknown_condition(self):
        errors = self.errors_of([("    Condition: HasAlarmEmail\n    Properties:\n      Subscr",
                                  "    Condition: HasAlarm\n    Properties:\n      Subscr")])
        self.assertReported("Resources.AlarmTopic.Condition: 'HasAlarm' is not a condition in "
                            "Conditions (did you mean HasAlarmEmail?)", errors)

    def test_unknown_condition_in_if(self):
        errors = self.errors_of([("!If [HasAlarmEmail, [!Ref AlarmTopic]",
                                  "!If [HasAlarmMail, [!Ref AlarmTopic]")])
        self.assertReported("Resources.FunctionErrorsAlarm.Properties.AlarmActions: Fn::If names "
                            "'HasAlarmMail', which is not a condition (did you mean "
                            "HasAlarmEmail?)", errors)

    def test_unguarded_ref_to_a_conditional_resource(self):
        errors = self.errors_of([(
            "      AlarmActions: !If [HasAlarmEmail, [!Ref AlarmTopic], !Ref AWS::NoValue]",
            "      AlarmActions: [!Ref AlarmTopic]")])
        self.assertEqual(errors, [
            "Resources.FunctionErrorsAlarm.Properties.AlarmActions[0]: AlarmTopic exists only "
            "when condition HasAlarmEmail is true; guard the reference with Fn::If "
            "[HasAlarmEmail, ...] or give the referencing item Condition HasAlarmEmail"])

    def test_condition_that_does_not_imply_the_resources_condition(self):
        errors = self.errors_of([("    Condition: CsvWithAlarms\n", "    Condition: IsCsv\n")])
        self.assertEqual(errors, [
            "Outputs.CsvAlarmTopicArn.Value: AlarmTopic exists only when condition HasAlarmEmail "
            "is true; guard the reference with Fn::If [HasAlarmEmail, ...] or give the referencing "
            "item Condition HasAlarmEmail"])

    def test_condition_refers_to_a_resource(self):
        errors = self.errors_of([("!Equals [!Ref Format, csv]", "!Equals [!Ref LakeBucket, csv]")])
        self.assertEqual(errors, ["Conditions.IsCsv[0]: Ref LakeBucket: no parameter or pseudo "
                                  "parameter of that name (conditions can only refer to "
                                  "parameters)"])

    def test_depends_on_missing_resource(self):
        errors = self.errors_of([("DependsOn: EtlFunctionRole", "DependsOn: EtlFunctionRol")])
        self.assertEqual(errors, ["Resources.FunctionErrorsAlarm.DependsOn: 'EtlFunctionRol' is "
                                  "not a resource (did you mean EtlFunctionRole?)"])

    def test_find_in_map_key(self):
        errors = self.errors_of([("Compression]", "Compresion]")])
        self.assertEqual(errors, [
            "Resources.EtlFunction.Properties.Environment.Variables.ETL_COMPRESSION: "
            "Fn::FindInMap: no entry of mapping FormatSettings has a key Compresion (did you mean "
            "Compression?)"])

    def test_parameter_default_not_allowed(self):
        errors = self.errors_of([("    Default: jsonl\n", "    Default: parquet\n")])
        self.assertEqual(errors, ["Parameters.Format.Default: 'parquet' is not in AllowedValues "
                                  "['jsonl', 'csv']"])

    def test_parameter_default_pattern_and_range(self):
        errors = self.errors_of([("    Default: orders\n", "    Default: x\n"),
                                 ("    Default: 4\n", "    Default: 0\n")])
        self.assertEqual(errors, [
            "Parameters.TableName.Default: 'x' does not match AllowedPattern "
            "'^[a-zA-Z0-9_.-]{3,255}$'",
            "Parameters.Segments.Default: 0 is below MinValue 1"])

    def test_policy_template_parameters(self):
        errors = self.errors_of([("            FunctionName: !Ref EtlFunction\n",
                                  "            Function: !Ref EtlFunction\n")])
        self.assertEqual(errors, [
            "Resources.SnapshotStateMachine.Properties.Policies[0].LambdaInvokePolicy: missing "
            "parameter FunctionName of policy template LambdaInvokePolicy",
            "Resources.SnapshotStateMachine.Properties.Policies[0].LambdaInvokePolicy.Function: "
            "not a parameter of policy template LambdaInvokePolicy (it takes: FunctionName)"])

    def test_unknown_policy_template(self):
        errors = self.errors_of([("- LambdaInvokePolicy:", "- LambdaInvokePolcy:")])
        self.assertEqual(errors, ["Resources.SnapshotStateMachine.Properties.Policies[0]: "
                                  "LambdaInvokePolcy is not a SAM policy template (did you mean "
                                  "LambdaInvokePolicy?)"])

    def test_missing_transform(self):
        errors = self.errors_of([("Transform: AWS::Serverless-2016-10-31\n", "")])
        self.assertEqual(errors, ["Transform: must be AWS::Serverless-2016-10-31 (the template "
                                  "uses AWS::Serverless resources or Globals), got null"])

    def test_unknown_section(self):
        errors = self.errors_of([("\nOutputs:", "\nOutput:")])
        self.assertEqual(errors, ["Output: unknown template section (did you mean Outputs?)"])

    def test_duplicate_key(self):
        path = self.broken_copy([("      Handler: bootstrap\n",
                                  "      Handler: bootstrap\n      Handler: main\n")])
        errors = cfn_check.check_template(path, FAKE_SRC)
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0], r"not valid YAML: line \d+, column 7: duplicate key 'Handler'")

    def test_makefile_target_missing(self):
        errors = self.errors_of([("build-EtlFunction:\n", "build-Other:\n")], "Makefile")
        self.assertEqual(errors, ["Resources.EtlFunction.Properties.CodeUri: Makefile has no "
                                  "target build-EtlFunction (sam build runs make "
                                  "build-EtlFunction)"])


class LoaderTest(unittest.TestCase):
    def test_short_tags_become_long_forms(self):
        t = cfn_check.load_yaml("""
A: !Ref x
B: !GetAtt a.b.c
C: !GetAtt [a, b]
D: !Sub "x${y}"
E: !Sub ["x${y}", {y: !Ref z}]
F: !If [c, 1, !Ref AWS::NoValue]
G: !Equals [a, b]
H: !Not [!Condition c]
I: !And [!Condition a, !Or [!Condition b, !Condition c]]
J: !Select [0, !GetAZs ""]
K: !Join ["-", [a, !Split [",", "b,c"]]]
L: !FindInMap [m, a, b]
M: !Base64 {"Fn::Sub": "x"}
N: !Cidr ["10.0.0.0/16", 6, 5]
O: !ImportValue exported
P: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}
Q: 2010-09-09
""")
        self.assertEqual(t, {
            "A": {"Ref": "x"},
            "B": {"Fn::GetAtt": ["a", "b.c"]},
            "C": {"Fn::GetAtt": ["a", "b"]},
            "D": {"Fn::Sub": "x${y}"},
            "E": {"Fn::Sub": ["x${y}", {"y": {"Ref": "z"}}]},
            "F": {"Fn::If": ["c", 1, {"Ref": "AWS::NoValue"}]},
            "G": {"Fn::Equals": ["a", "b"]},
            "H": {"Fn::Not": [{"Condition": "c"}]},
            "I": {"Fn::And": [{"Condition": "a"}, {"Fn::Or": [{"Condition": "b"},
                                                              {"Condition": "c"}]}]},
            "J": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
            "K": {"Fn::Join": ["-", ["a", {"Fn::Split": [",", "b,c"]}]]},
            "L": {"Fn::FindInMap": ["m", "a", "b"]},
            "M": {"Fn::Base64": {"Fn::Sub": "x"}},
            "N": {"Fn::Cidr": ["10.0.0.0/16", 6, 5]},
            "O": {"Fn::ImportValue": "exported"},
            "P": {"Fn::Transform": {"Name": "AWS::Include",
                                    "Parameters": {"Location": "s3://b/k"}}},
            "Q": "2010-09-09",
        })

    def test_unknown_tag(self):
        with self.assertRaisesRegex(Exception, "unknown tag !Reff"):
            cfn_check.load_yaml("A: !Reff x\n")


MINIMAL = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Flag: {Type: String, Default: "true", AllowedValues: ["true", "false"]}
  Size: {Type: Number, Default: 512}
Conditions:
  IsOn: !Equals [!Ref Flag, "true"]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: "exit 0"
      Handler: index.handler
      Runtime: python3.12
      PropagateTags: PROPAGATE
      MemorySize: !Ref Size
      Environment:
        Variables: !If [IsOn, {A: "1", B: "2"}, {A: "0"}]
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: DELAY
      FifoQueue: FIFO
"""


class IntrinsicToleranceTest(unittest.TestCase):
    def test_intrinsics_accepted_where_literals_are_typed(self):
        text = MINIMAL.replace("PROPAGATE", "!If [IsOn, true, false]") \
            .replace("DELAY", "!Ref Size").replace("FIFO", "!If [IsOn, true, !Ref AWS::NoValue]")
        self.assertEqual(check_text(self, text), [])

    def test_wrong_literals_still_reported(self):
        text = MINIMAL.replace("PROPAGATE", "sometimes").replace("DELAY", "soon") \
            .replace("FIFO", "!If [IsOn, maybe, !Ref AWS::NoValue]")
        self.assertEqual(check_text(self, text), [
            "Resources.Fn.Properties.PropagateTags: expected boolean, got 'sometimes'",
            "Resources.Queue.Properties.DelaySeconds: expected Integer, got 'soon'",
            "Resources.Queue.Properties.FifoQueue: expected Boolean, got 'maybe'"])

    def test_yaml_boolean_names(self):
        text = MINIMAL.replace("PROPAGATE", "true").replace("DELAY", "1").replace("FIFO", "false")
        errors = check_text(self, text.replace("  IsOn:", "  On:"))
        self.assertIn("Conditions.true: YAML read this name as bool, not a string (On/Off/Yes/No "
                      "are booleans in YAML 1.1): quote it", errors)

    def test_env_through_fn_if_is_the_intersection(self):
        template = cfn_check.load_yaml(MINIMAL)
        self.assertEqual(cfn_check.check_env(template, "Fn", ["A"]), [])
        self.assertEqual(cfn_check.check_env(template, "Fn", {"B": ["function/x.c"]}), [
            "Resources.Fn: environment variable B (read by function/x.c) is not set"])


class InlineStateMachineTest(unittest.TestCase):
    TEMPLATE = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionSubstitutions:
        Wait: "5"
        Unused: x
      Definition:
        StartAt: Hold
        States:
          Hold: {Type: Wait, Seconds: "${Wait}", Next: Done}
          Done: {Type: Succeed}
"""

    def test_inline_definition_and_substitutions(self):
        self.assertEqual(check_text(self, self.TEMPLATE), [
            "Resources.Machine.Properties.DefinitionSubstitutions.Unused: not used by the "
            "definition"])


    SAM_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies:
        - SQSSendMessagePolicy: {QueueName: !GetAtt Queue.QueueName}
      Definition:
        StartAt: Send
        States:
          Send:
            Type: Task
            Resource: arn:aws:states:::sqs:sendMessage
            Parameters:
              QueueUrl: !Ref Queue
              MessageBody.$: $
            Next: Fan
          Fan:
            Type: Parallel
            Branches:
              - StartAt: One
                States:
                  One: {Type: Pass, Next: Two}
                  Two: {Type: Pass, End: true}
                  Three: {Type: Pass, End: true}
            End: true
"""

    def test_inline_sam_definition_with_intrinsics(self):
        self.assertEqual(check_text(self, self.SAM_TEMPLATE), [
            "Resources.Machine: States.Fan.Branches[0].States.Three: unreachable from StartAt "
            "One"])


class AslTest(unittest.TestCase):
    def test_parallel_branches_are_scopes(self):
        errors = cfn_check.check_asl({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}]},
            "B": {"Type": "Succeed"}}})
        self.assertEqual(errors, [
            "States.P.Branches[0].States.A.Next: 'B' is not a state in this scope",
            "States.B: unreachable from StartAt P"])

    def test_state_shapes(self):
        errors = cfn_check.check_asl({"StartAt": "Start", "States": {
            "Start": {"Type": "Choice", "Default": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "Timestamp": "2020-01-01T00:00:00Z", "Next": "T"},
            "T": {"Type": "Taks", "End": True},
            "M": {"Type": "Map", "Iterator": {"StartAt": "X", "States": {
                "X": {"Type": "Pass", "Nxt": "X"}}}, "End": True}}})
        self.assertEqual(errors, [
            "States.Start.Choices: missing or empty",
            "States.W: a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, "
            "TimestampPath",
            "States.T.Type: 'Taks' is not one of ['Task', 'Pass', 'Choice', 'Wait', 'Succeed', "
            "'Fail', 'Parallel', 'Map'] (did you mean Task?)",
            "States.M.Iterator.States.X.Nxt: not a field of a Pass state (did you mean Next?)",
            "States.M.Iterator.States.X: needs Next or End: true",
            "States.M: unreachable from StartAt Start"])

    def test_start_at_and_paths(self):
        errors = cfn_check.check_asl({"StartAt": "Nope", "States": {
            "A": {"Type": "Pass", "InputPath": "input", "ResultPath": None, "End": True,
                  "Parameters": {"x.$": "States.Format('{}', $.y)", "y.$": 3}}}})
        self.assertEqual(errors, [
            "StartAt: 'Nope' is not a state in this scope",
            "States.A.InputPath: must be a path starting with $, got 'input'",
            "States.A.Parameters.y.$: a .$ field needs a path ($...) or an intrinsic function "
            "(States.*), got 3"])

    def test_jsonata_has_no_jsonpath_rules(self):
        self.assertEqual(cfn_check.check_asl({"QueryLanguage": "JSONata", "StartAt": "A",
                                              "States": {"A": {"Type": "Pass", "Output": {
                                                  "x": "{% $states.input.y %}"}, "End": True}}}),
                         [])


class CodeEnvVarsTest(unittest.TestCase):
    def test_fake_source(self):
        self.assertEqual(cfn_check.code_env_vars(FAKE_SRC), FAKE_ENV)

    def test_real_source(self):
        found = cfn_check.code_env_var_sources(SOURCE_DIR)
        for name in ("ETL_OUTPUT", "ETL_TABLE", "ETL_SEGMENTS", "ETL_S3_SSE",
                     "ETL_S3_STORAGE_CLASS"):
            self.assertIn(name, found)
        self.assertEqual(found["ETL_TABLE"], ["function/etl_config.c"])
        self.assertTrue(all(n.startswith("ETL_") for n in found), found)
        self.assertEqual(list(found), sorted(found))


if __name__ == "__main__":
    unittest.main(verbosity=2)
