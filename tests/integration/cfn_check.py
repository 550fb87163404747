#!/usr/bin/env python3
"""cfn_check: offline checks of a CloudFormation / AWS SAM template (template.yaml), so that a
template `sam validate` or `sam deploy` would reject fails in the tests first.

Library:
    check_template(path, source_dir=None) -> list[str]   every error, one human-readable line each
    check_env(template, function_logical_id, required_names) -> list[str]
    code_env_vars(source_dir) -> list[str]               ETL_* variables the C code reads
    wildcard_resources(template) -> list[Wildcard]       IAM statements granting Resource "*"
    load_template(path) -> dict                          YAML/JSON, short tags as long forms

CLI:
    /usr/bin/python3 tests/integration/cfn_check.py template.yaml [--source-dir DIR] [--wildcards]
prints the errors one per line and exits 1 if there are any (2 if the data it needs is missing).

Data: tests/vectors/sam/sam.schema.json and policy_templates.json (AWS SAM), and the CloudFormation
resource specification from the npm package @aws-cdk/cfnspec (node_modules, `npm ci`).
Standard library plus Debian's python3-yaml and python3-jsonschema; no network.

Known limits: the pinned specification (2023) lacks newer properties, listed in
SPEC_NEWER_PROPERTIES and accepted unchecked; GetAtt on an AWS::Serverless::SimpleTable is
rejected (SAM documents no attributes); a Ref guarded by a condition that is equivalent to the
target's but differently named is reported; SAM event properties are checked against the SAM
schema only (SAM rewrites them before CloudFormation sees them).
"""
import collections
import collections.abc
import difflib
import functools
import json
import os
import re
import sys

try:
    import jsonschema
    import yaml
except ImportError:  # pragma: no cover - depends on the interpreter
    _DEBIAN_PY = "/usr/bin/python3"
    if (__name__ == "__main__" and os.path.exists(_DEBIAN_PY)
            and os.path.realpath(sys.executable) != os.path.realpath(_DEBIAN_PY)):
        os.execv(_DEBIAN_PY, [_DEBIAN_PY] + sys.argv)
    raise ImportError("cfn_check needs Debian's python3-yaml and python3-jsonschema: "
                      "apt-get install python3-yaml python3-jsonschema, run with /usr/bin/python3")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SAM_DIR = os.path.join(REPO_ROOT, "tests", "vectors", "sam")
SAM_SCHEMA_PATH = os.path.join(SAM_DIR, "sam.schema.json")
POLICY_TEMPLATES_PATH = os.path.join(SAM_DIR, "policy_templates.json")
CFN_SPEC_PATH = os.environ.get("ETL_CFN_SPEC") or os.path.join(
    REPO_ROOT, "node_modules", "@aws-cdk", "cfnspec", "spec", "specification.json")

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
SECTIONS = ("AWSTemplateFormatVersion", "Transform", "Description", "Metadata", "Parameters",
            "Mappings", "Conditions", "Rules", "Resources", "Outputs", "Globals")
RESOURCE_ATTRIBUTES = ("Type", "Properties", "Condition", "DependsOn", "DeletionPolicy",
                       "UpdateReplacePolicy", "Metadata", "UpdatePolicy", "CreationPolicy")
PSEUDO_PARAMETERS = ("AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
                     "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix")
INTRINSICS = ("Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Equals", "Fn::Not",
              "Fn::And", "Fn::Or", "Fn::Select", "Fn::Join", "Fn::Split", "Fn::FindInMap",
              "Fn::Base64", "Fn::Cidr", "Fn::GetAZs", "Fn::ImportValue", "Fn::Transform",
              "Fn::Length", "Fn::ToJsonString")
# YAML short tag -> long form key
SHORT_TAGS = {"Ref": "Ref", "Condition": "Condition", "GetAtt": "Fn::GetAtt"}
SHORT_TAGS.update({n: "Fn::" + n for n in ("Sub", "If", "Equals", "Not", "And", "Or", "Select",
                                          "Join", "Split", "FindInMap", "Base64", "Cidr",
                                          "GetAZs", "ImportValue", "Transform", "Length",
                                          "ToJsonString")})
# list arity of the intrinsics that take a list: (min, max)
INTRINSIC_ARITY = {"Fn::If": (3, 3), "Fn::Equals": (2, 2), "Fn::Not": (1, 1), "Fn::And": (2, 10),
                   "Fn::Or": (2, 10), "Fn::Select": (2, 2), "Fn::Join": (2, 2),
                   "Fn::Split": (2, 2), "Fn::FindInMap": (3, 4), "Fn::Cidr": (3, 3)}
CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")

# Fn::GetAtt attributes of the SAM resource types, as AWS SAM documents them.
SAM_ATTRIBUTES = {
    "AWS::Serverless::Function": {"Arn"},
    "AWS::Serverless::StateMachine": {"Arn", "Name"},
    "AWS::Serverless::SimpleTable": set(),
    "AWS::Serverless::LayerVersion": {"Arn"},
    "AWS::Serverless::Api": {"RootResourceId"},
    "AWS::Serverless::HttpApi": {"ApiEndpoint"},
    "AWS::Serverless::Connector": set(),
}

# Properties/attributes AWS documents that are newer than the pinned resource specification
# (@aws-cdk/cfnspec 2.72.1 = spec 117.0.0, March 2023). Accepted without checking their value.
SPEC_NEWER_PROPERTIES = {
    "AWS::Lambda::Function": {"LoggingConfig", "RecursiveLoop"},
    "AWS::Lambda::EventSourceMapping": {"MetricsConfig", "KmsKeyArn", "Tags",
                                        "ProvisionedPollerConfig"},
    "AWS::Logs::LogGroup": {"LogGroupClass"},
    "AWS::StepFunctions::StateMachine": {"EncryptionConfiguration"},
    "AWS::DynamoDB::Table": {"ResourcePolicy", "OnDemandThroughput", "WarmThroughput"},
}
SPEC_NEWER_ATTRIBUTES = {
    "AWS::Lambda::EventSourceMapping": {"EventSourceMappingArn"},
}

ENV_FUNCTIONS = ("env_get", "env_get_nonempty", "env_get_i64", "env_get_bool", "env_get_choice")
# name(envp-or-whatever, "ETL_X" ...): the env_get family, or a wrapper called with envp
ENV_CALL_RE = re.compile(r'\b([A-Za-z_]\w*)\s*\(\s*([^,()"]*?)\s*,\s*"(ETL_[A-Z0-9_]+)"')

ASL_STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
ASL_TOP_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
_ASL_COMMON = {"Type", "Comment", "QueryLanguage"}
_ASL_IO = {"InputPath", "OutputPath", "Output", "Assign"}
_ASL_NEXT = {"Next", "End"}
_ASL_ERRORS = {"Retry", "Catch"}
ASL_STATE_FIELDS = {
    "Task": _ASL_COMMON | _ASL_IO | _ASL_NEXT | _ASL_ERRORS | {
        "Resource", "ResultPath", "Parameters", "ResultSelector", "Arguments", "TimeoutSeconds",
        "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"},
    "Pass": _ASL_COMMON | _ASL_IO | _ASL_NEXT | {"ResultPath", "Parameters", "Result"},
    "Choice": _ASL_COMMON | _ASL_IO | {"Choices", "Default"},
    "Wait": _ASL_COMMON | _ASL_IO | _ASL_NEXT | {"Seconds", "Timestamp", "SecondsPath",
                                                 "TimestampPath"},
    "Succeed": _ASL_COMMON | {"InputPath", "OutputPath", "Output"},
    "Fail": _ASL_COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
    "Parallel": _ASL_COMMON | _ASL_IO | _ASL_NEXT | _ASL_ERRORS | {
        "Branches", "ResultPath", "Parameters", "ResultSelector", "Arguments"},
    "Map": _ASL_COMMON | _ASL_IO | _ASL_NEXT | _ASL_ERRORS | {
        "ItemProcessor", "Iterator", "ItemsPath", "Items", "ItemSelector", "Parameters",
        "ItemReader", "ItemBatcher", "ResultWriter", "ResultPath", "ResultSelector", "Label",
        "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath",
        "Arguments"},
}
ASL_NULLABLE_PATHS = ("InputPath", "OutputPath", "ResultPath")

Wildcard = collections.namedtuple("Wildcard", "path actions")


class TemplateError(Exception):
    """The template cannot be read or parsed."""


class DataMissingError(Exception):
    """The schema/specification files the checks need are missing."""


# ---- loading ----------------------------------------------------------------------------------

class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short tags as their long forms, leaves dates as strings
    (CloudFormation reads `2010-09-09` as a string) and refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, collections.abc.Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_CfnLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _construct_short_tag(loader, suffix, node):
    if suffix not in SHORT_TAGS:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{suffix}",
                                                node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {SHORT_TAGS[suffix]: value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


def load_yaml(text):
    """Parses CloudFormation YAML (or JSON) text."""
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def load_template(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise TemplateError(f"{path}: cannot read: {e.strerror}") from None
    try:
        template = load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise TemplateError(f"{path}: not valid YAML: {where}{problem}") from None
    if not isinstance(template, dict):
        raise TemplateError(f"{path}: the template is not a mapping")
    return template


def _load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise DataMissingError(f"{what} not found at {path}") from None


@functools.lru_cache(maxsize=None)
def load_cfn_spec():
    try:
        return _load_json(CFN_SPEC_PATH, "the CloudFormation resource specification")
    except DataMissingError as e:
        raise DataMissingError(f"{e}: it comes from the npm package @aws-cdk/cfnspec; run "
                               f"`npm ci` in {REPO_ROOT} (scripts/test.sh does)") from None


@functools.lru_cache(maxsize=None)
def load_sam_schema():
    return _load_json(SAM_SCHEMA_PATH, "the AWS SAM JSON schema")


@functools.lru_cache(maxsize=None)
def load_policy_templates():
    return _load_json(POLICY_TEMPLATES_PATH, "the AWS SAM policy templates")["Templates"]


# ---- small helpers ----------------------------------------------------------------------------

def is_intrinsic(value):
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS


def join_path(path, key):
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def describe(value, limit=60):
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def suggest(name, candidates):
    if not isinstance(name, str):
        return ""
    match = difflib.get_close_matches(name, [c for c in candidates if isinstance(c, str)], n=1,
                                      cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def alternatives(value):
    """The literal values a property may take: Fn::If branches flattened, AWS::NoValue and other
    intrinsic functions (accepted anywhere) left out."""
    if is_intrinsic(value):
        (fn, arg), = value.items()
        if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return alternatives(arg[1]) + alternatives(arg[2])
        return []
    return [value]


def scalar_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dict(value):
    return value if isinstance(value, dict) else {}


def _unknown_keys(obj, allowed, path, what):
    """One error per key of obj that is not in allowed: "<path>.<key>: unknown <what>"."""
    return [f"{path}.{key}: unknown {what}{suggest(key, allowed)}" for key in obj
            if key not in allowed]


class Context:
    """The parsed template and what the checks share."""

    def __init__(self, template, path=None, source_dir=None):
        self.template = template
        self.path = path
        self.dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        self.source_dir = source_dir or REPO_ROOT
        self.resources = {k: v for k, v in _dict(template.get("Resources")).items()
                          if isinstance(v, dict)}
        self.parameters = _dict(template.get("Parameters"))
        self.conditions = _dict(template.get("Conditions"))
        self.mappings = _dict(template.get("Mappings"))
        self.outputs = _dict(template.get("Outputs"))
        self.globals = _dict(template.get("Globals"))
        self.implicit = sam_implicit_resources(self)

    def has_resource(self, name):
        return isinstance(name, str) and (name in self.resources or name in self.implicit)

    def is_condition(self, name):
        return isinstance(name, str) and name in self.conditions

    def rtype(self, name):
        if name in self.resources:
            return self.resources[name].get("Type")
        if name in self.implicit:
            return self.implicit[name][0]
        return None

    def rcondition(self, name):
        if name in self.resources:
            cond = self.resources[name].get("Condition")
            return cond if isinstance(cond, str) else None
        if name in self.implicit:
            return self.implicit[name][1]
        return None

    def of_type(self, *types):
        return [(rid, res) for rid, res in self.resources.items() if res.get("Type") in types]

    def function_property(self, rid, name):
        """A SAM function's property, falling back to Globals.Function."""
        props = _dict(self.resources[rid].get("Properties"))
        if name in props:
            return props[name]
        return _dict(self.globals.get("Function")).get(name)

    def rel(self, path):
        return os.path.relpath(path, self.dir)


def sam_implicit_resources(ctx):
    """Resources the SAM transform generates that a template may reference: name -> (type,
    condition). Function/StateMachine roles, event sources, aliases, URLs."""
    out = {}
    function_events = {
        "AWS::Lambda::EventSourceMapping": ("DynamoDB", "Kinesis", "SQS", "MSK", "MQ",
                                            "SelfManagedKafka", "DocumentDB"),
        "AWS::Events::Rule": ("Schedule", "CloudWatchEvent", "EventBridgeRule"),
        "AWS::Scheduler::Schedule": ("ScheduleV2",),
        "AWS::SNS::Subscription": ("SNS",),
        "AWS::Logs::SubscriptionFilter": ("CloudWatchLogs",),
        "AWS::IoT::TopicRule": ("IoTRule",),
    }
    for rid, res in ctx.resources.items():
        rtype = res.get("Type")
        props = _dict(res.get("Properties"))
        cond = res.get("Condition") if isinstance(res.get("Condition"), str) else None
        if rtype not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        if "Role" not in props:
            out[rid + "Role"] = ("AWS::IAM::Role", cond)
        for ename, event in _dict(props.get("Events")).items():
            etype = _dict(event).get("Type")
            eprops = _dict(_dict(event).get("Properties"))
            if rtype == "AWS::Serverless::Function":
                for gtype, etypes in function_events.items():
                    if etype in etypes:
                        out[rid + ename] = (gtype, cond)
                if etype in ("Schedule", "CloudWatchEvent", "EventBridgeRule", "SNS", "S3",
                             "CloudWatchLogs", "IoTRule", "AlexaSkill", "Cognito"):
                    out[rid + ename + "Permission"] = ("AWS::Lambda::Permission", cond)
                if etype == "ScheduleV2" and "RoleArn" not in eprops:
                    out[rid + ename + "Role"] = ("AWS::IAM::Role", cond)
                if etype == "Api" and "RestApiId" not in eprops:
                    out["ServerlessRestApi"] = ("AWS::ApiGateway::RestApi", None)
                if etype == "HttpApi" and "ApiId" not in eprops:
                    out["ServerlessHttpApi"] = ("AWS::ApiGatewayV2::Api", None)
            else:
                if etype in ("Schedule", "CloudWatchEvent", "EventBridgeRule"):
                    out[rid + ename] = ("AWS::Events::Rule", cond)
                if etype == "ScheduleV2":
                    out[rid + ename] = ("AWS::Scheduler::Schedule", cond)
                if etype in ("Schedule", "CloudWatchEvent", "EventBridgeRule", "ScheduleV2") \
                        and "RoleArn" not in eprops:
                    out[rid + ename + "Role"] = ("AWS::IAM::Role", cond)
        if rtype == "AWS::Serverless::Function":
            alias = ctx.function_property(rid, "AutoPublishAlias")
            if isinstance(alias, str):
                out[rid + "Alias" + alias] = ("AWS::Lambda::Alias", cond)
            if props.get("FunctionUrlConfig"):
                out[rid + "Url"] = ("AWS::Lambda::Url", cond)
            if props.get("EventInvokeConfig"):
                out[rid + "EventInvokeConfig"] = ("AWS::Lambda::EventInvokeConfig", cond)
    return {k: v for k, v in out.items() if k not in ctx.resources}


# ---- the checks -------------------------------------------------------------------------------

def check_sections(ctx):
    """(b) Known sections, their shapes, and the SAM transform."""
    errors = []
    t = ctx.template
    for key in t:
        if key not in SECTIONS:
            errors.append(f"{key}: unknown template section{suggest(key, SECTIONS)}")
    version = t.get("AWSTemplateFormatVersion")
    if version is not None and version != "2010-09-09":
        errors.append(f"AWSTemplateFormatVersion: {describe(version)} is not '2010-09-09'")
    if "Description" in t and not isinstance(t["Description"], str):
        errors.append("Description: must be a string")
    for key in ("Metadata", "Parameters", "Mappings", "Conditions", "Outputs", "Globals"):
        if key in t and not isinstance(t[key], dict):
            errors.append(f"{key}: must be a mapping")
    for key in ("Parameters", "Mappings", "Conditions", "Resources", "Outputs"):
        for name in _dict(t.get(key)):
            if not isinstance(name, str):
                errors.append(f"{key}.{scalar_text(name)}: YAML read this name as "
                              f"{type(name).__name__}, not a string (On/Off/Yes/No are booleans "
                              f"in YAML 1.1): quote it")
    if not isinstance(t.get("Resources"), dict) or not t["Resources"]:
        errors.append("Resources: missing or empty (a template needs at least one resource)")
    else:
        for rid, res in t["Resources"].items():
            if not isinstance(res, dict):
                errors.append(f"Resources.{rid}: must be a mapping")
            elif not re.fullmatch(r"[A-Za-z0-9]+", str(rid)):
                errors.append(f"Resources.{rid}: logical IDs must be alphanumeric")
    transform = t.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform] if transform else []
    uses_sam = "Globals" in t or any(str(r.get("Type", "")).startswith("AWS::Serverless::")
                                     for r in ctx.resources.values())
    if uses_sam and SAM_TRANSFORM not in transforms:
        errors.append(f"Transform: must be {SAM_TRANSFORM} (the template uses AWS::Serverless "
                      f"resources or Globals), got {describe(transform)}")
    return errors


PARAMETER_KEYS = ("Type", "Default", "AllowedValues", "AllowedPattern", "ConstraintDescription",
                  "Description", "MaxLength", "MaxValue", "MinLength", "MinValue", "NoEcho")
PARAMETER_TYPE_RE = re.compile(r"String|Number|List<Number>|CommaDelimitedList|"
                               r"AWS::SSM::Parameter::Value<.+>|AWS::[A-Za-z0-9:]+|"
                               r"List<AWS::[A-Za-z0-9:]+>")


def _number(value):
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def check_parameters(ctx):
    """(e) Parameter declarations, and Defaults against AllowedValues / AllowedPattern /
    MinValue / MaxValue / MinLength / MaxLength."""
    errors = []
    for name, p in ctx.parameters.items():
        path = f"Parameters.{name}"
        if not isinstance(p, dict):
            errors.append(f"{path}: must be a mapping")
            continue
        errors.extend(_unknown_keys(p, PARAMETER_KEYS, path, "parameter attribute"))
        ptype = p.get("Type")
        if not isinstance(ptype, str) or not PARAMETER_TYPE_RE.fullmatch(ptype):
            errors.append(f"{path}.Type: {describe(ptype)} is not a parameter type")
            continue
        if "Default" not in p:
            continue
        default = p["Default"]
        if ptype.startswith("List<") or ptype == "CommaDelimitedList":
            values = [v.strip() for v in scalar_text(default).split(",")]
        else:
            values = [scalar_text(default)]
        allowed = p.get("AllowedValues")
        if allowed is not None and not isinstance(allowed, list):
            errors.append(f"{path}.AllowedValues: must be a list")
            allowed = None
        if allowed is not None:
            allowed = [scalar_text(a) for a in allowed]
        for v in values:
            if allowed is not None and v not in allowed:
                errors.append(f"{path}.Default: {v!r} is not in AllowedValues {allowed}")
            pattern = p.get("AllowedPattern")
            if isinstance(pattern, str):
                try:
                    if not re.fullmatch(pattern, v):
                        errors.append(f"{path}.Default: {v!r} does not match AllowedPattern "
                                      f"{pattern!r}")
                except re.error as e:
                    errors.append(f"{path}.AllowedPattern: not a valid pattern: {e}")
            if ptype in ("Number", "List<Number>"):
                num = _number(v)
                if num is None:
                    errors.append(f"{path}.Default: {v!r} is not a number")
                    continue
                if _number(p.get("MinValue")) is not None and num < _number(p["MinValue"]):
                    errors.append(f"{path}.Default: {v} is below MinValue {p['MinValue']}")
                if _number(p.get("MaxValue")) is not None and num > _number(p["MaxValue"]):
                    errors.append(f"{path}.Default: {v} is above MaxValue {p['MaxValue']}")
            if _number(p.get("MinLength")) is not None and len(v) < _number(p["MinLength"]):
                errors.append(f"{path}.Default: {v!r} is shorter than MinLength {p['MinLength']}")
            if _number(p.get("MaxLength")) is not None and len(v) > _number(p["MaxLength"]):
                errors.append(f"{path}.Default: {v!r} is longer than MaxLength {p['MaxLength']}")
    return errors


def check_conditions(ctx):
    """(e) Each condition is a condition function (references are checked with the rest)."""
    errors = []
    for name, cond in ctx.conditions.items():
        if not (is_intrinsic(cond) and next(iter(cond)) in CONDITION_FUNCTIONS):
            errors.append(f"Conditions.{name}: must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or "
                          f"Condition, got {describe(cond)}")
    return errors


def check_resource_attributes(ctx):
    """(d, e) Type present, resource attributes known, Condition and DependsOn resolve."""
    errors = []
    for rid, res in ctx.resources.items():
        path = f"Resources.{rid}"
        rtype = res.get("Type")
        if not isinstance(rtype, str):
            errors.append(f"{path}: missing Type")
            continue
        if not rtype.startswith("AWS::Serverless::"):  # the SAM schema covers SAM resources
            errors.extend(_unknown_keys(res, RESOURCE_ATTRIBUTES, path, "resource attribute"))
        for key, allowed in (("DeletionPolicy", ("Delete", "Retain", "Snapshot",
                                                 "RetainExceptOnCreate")),
                             ("UpdateReplacePolicy", ("Delete", "Retain", "Snapshot"))):
            if key in res and not is_intrinsic(res[key]) and res[key] not in allowed:
                errors.append(f"{path}.{key}: {describe(res[key])} is not one of {list(allowed)}")
        if "Condition" in res:
            cond = res["Condition"]
            if not ctx.is_condition(cond):
                errors.append(f"{path}.Condition: {describe(cond)} is not a condition in "
                              f"Conditions{suggest(cond, ctx.conditions)}")
        if "DependsOn" in res:
            deps = res["DependsOn"]
            for dep in deps if isinstance(deps, list) else [deps]:
                if not isinstance(dep, str) or (dep not in ctx.resources
                                                 and dep not in ctx.implicit):
                    errors.append(f"{path}.DependsOn: {describe(dep)} is not a resource"
                                  f"{suggest(dep, list(ctx.resources) + list(ctx.implicit))}")
                elif dep == rid:
                    errors.append(f"{path}.DependsOn: a resource cannot depend on itself")
                else:
                    errors.extend(_condition_guard(ctx, path + ".DependsOn", dep,
                                                   _resource_conds(res)))
    return errors


# -- (c) SAM resources against the SAM JSON schema

@functools.lru_cache(maxsize=None)
def _intrinsic_tolerant_validator():
    """Draft-4 validator for which an intrinsic-function object satisfies every keyword: the
    value is computed at deploy time, so its literal shape says nothing."""
    base = jsonschema.Draft4Validator

    def tolerant(check):
        def run(validator, value, instance, schema):
            if is_intrinsic(instance):
                return
            errs = check(validator, value, instance, schema)
            if errs:
                yield from errs
        return run

    return jsonschema.validators.extend(
        base, {k: tolerant(v) for k, v in base.VALIDATORS.items()})


@functools.lru_cache(maxsize=None)
def _sam_definitions():
    """SAM resource type -> its definition name in sam.schema.json."""
    schema = load_sam_schema()
    out = {}
    for ref in schema["properties"]["Resources"]["additionalProperties"]["anyOf"]:
        name = ref["$ref"].rsplit("/", 1)[1]
        enum = schema["definitions"][name].get("properties", {}).get("Type", {}).get("enum")
        if enum:
            out[enum[0]] = name
    return out


def _sam_validate(definition, instance):
    schema = load_sam_schema()
    sub = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    validator = _intrinsic_tolerant_validator()(sub)
    return list(validator.iter_errors(instance))


def _schema_error_lines(error, base, label):
    """Readable lines for one jsonschema error; anyOf/oneOf errors are narrowed to the branch the
    value meant (the one whose Type enum matches), else to the most specific branch."""
    path = base
    for key in error.absolute_path:
        path = join_path(path, key)
    inst = error.instance
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches = collections.defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)

        def type_mismatch(errs):
            return [e for e in errs if list(e.relative_path) == ["Type"]
                    and e.validator in ("enum", "const")]

        wrong_type = {i for i, errs in branches.items() if type_mismatch(errs)}
        if wrong_type and len(wrong_type) == len(branches):
            allowed = sorted({v for i in wrong_type for e in type_mismatch(branches[i])
                              for v in (e.validator_value if e.validator == "enum"
                                        else [e.validator_value])})
            got = inst.get("Type") if isinstance(inst, dict) else inst
            return [f"{path}.Type: {describe(got)} is not one of {allowed}"
                    f"{suggest(got, allowed)}"]
        candidates = [i for i in branches if i not in wrong_type]
        if not wrong_type:  # no Type discriminator: drop branches of the wrong JSON type
            candidates = [i for i in candidates
                          if not any(e.validator == "type" and not e.relative_path
                                     for e in branches[i])]
        if candidates:
            best = min(candidates, key=lambda i: len(branches[i]))
            lines = []
            for sub in branches[best]:
                lines.extend(_schema_error_lines(sub, base, label))
            return lines
        return [f"{path}: {describe(inst)} matches none of the allowed forms"]
    if error.validator == "additionalProperties" and isinstance(inst, dict):
        known = error.schema.get("properties", {})
        patterns = list(error.schema.get("patternProperties", {}))
        title = error.schema.get("title")
        what = label if title in (None, "Resource", "Properties") else title
        return [f"{join_path(path, k)}: unknown property of {what}{suggest(k, known)}"
                for k in inst if k not in known and not any(re.search(p, k) for p in patterns)]
    if error.validator == "required" and isinstance(inst, dict):
        return [f"{path}: missing required property {r}" for r in error.validator_value
                if r not in inst]
    if error.validator == "type":
        return [f"{path}: expected {error.validator_value}, got {describe(inst)}"]
    if error.validator == "enum":
        return [f"{path}: {describe(inst)} is not one of {error.validator_value}"]
    return [f"{path}: {error.message[:200]}"]


@functools.lru_cache(maxsize=None)
def _passthrough_targets(definition):
    """SAM properties that AWS SAM passes unchanged to a CloudFormation property and does not
    check itself (schema PassThroughProp), as the schema's __samPassThrough or description names
    them: SAM property name -> (CloudFormation resource type, the property's specification)."""
    schema = load_sam_schema()
    spec = load_cfn_spec()
    out = {}
    doc_re = re.compile(r"passed directly to the \[`(\w+)`\]\([^)]*\) property of an? "
                        r"`(AWS::[\w:]+)` resource")
    for name, prop in schema["definitions"][definition].get("properties", {}).items():
        stripped = {k: v for k, v in prop.items() if k in ("allOf", "$ref", "anyOf", "type")}
        if stripped not in ({"allOf": [{"$ref": "#/definitions/PassThroughProp"}]},
                            {"$ref": "#/definitions/PassThroughProp"}):
            continue
        target = None
        schema_path = prop.get("__samPassThrough", {}).get("schemaPath")
        if schema_path and len(schema_path) >= 2:
            target = (schema_path[1], schema_path[-1])
        else:
            m = doc_re.search(prop.get("markdownDescription", ""))
            if m:
                target = (m.group(2), m.group(1))
        if target is None:
            continue
        tname, pname = target
        holder = spec["ResourceTypes"].get(tname) or spec["PropertyTypes"].get(tname) or {}
        pspec = holder.get("Properties", {}).get(pname)
        if pspec is not None:
            out[name] = (tname.split(".")[0], pspec)
    return out


def check_sam_resources(ctx):
    """(c) Every AWS::Serverless::* resource (and Globals) against sam.schema.json; values SAM
    passes through unchanged are checked against the CloudFormation specification too."""
    errors = []
    definitions = _sam_definitions()
    for rid, res in ctx.resources.items():
        rtype = res.get("Type")
        if not isinstance(rtype, str) or not rtype.startswith("AWS::Serverless::"):
            continue
        path = f"Resources.{rid}"
        definition = definitions.get(rtype)
        if definition is None:
            errors.append(f"{path}.Type: unknown SAM resource type {rtype}"
                          f"{suggest(rtype, definitions)}")
            continue
        for err in _sam_validate(definition, res):
            errors.extend(_schema_error_lines(err, path, rtype))
        props_def = definition.replace("__Resource", "__Properties")
        if props_def in load_sam_schema()["definitions"]:
            errors.extend(_check_passthrough(props_def, res.get("Properties"),
                                             path + ".Properties"))
    if "Globals" in ctx.template:
        for err in _sam_validate("__main____Globals", ctx.template["Globals"]):
            errors.extend(_schema_error_lines(err, "Globals", "Globals"))
        errors.extend(_check_passthrough(
            "samtranslator__internal__schema_source__aws_serverless_function__Globals",
            ctx.globals.get("Function"), "Globals.Function"))
    return list(dict.fromkeys(errors))


def _check_passthrough(definition, props, path):
    errors = []
    if not isinstance(props, dict):
        return errors
    spec = load_cfn_spec()
    for name, (rtype, pspec) in _passthrough_targets(definition).items():
        if name in props:
            _check_value(spec, rtype, pspec, props[name], join_path(path, name), errors)
    return errors


# -- (d) other resources against the CloudFormation resource specification

def check_cfn_resources(ctx):
    """(d) Every non-SAM resource: known Type, known property names, Required properties present,
    primitive types roughly right, recursively through PropertyTypes."""
    errors = []
    spec = load_cfn_spec()
    for rid, res in ctx.resources.items():
        rtype = res.get("Type")
        if not isinstance(rtype, str) or rtype.startswith("AWS::Serverless::"):
            continue
        path = f"Resources.{rid}"
        props = res.get("Properties", {})
        if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
            if not isinstance(props, dict) or "ServiceToken" not in props:
                errors.append(f"{path}.Properties: missing required property ServiceToken of "
                              f"{rtype}")
            continue
        rspec = spec["ResourceTypes"].get(rtype)
        if rspec is None:
            errors.append(f"{path}.Type: unknown resource type {rtype}"
                          f"{suggest(rtype, spec['ResourceTypes'])}")
            continue
        _check_struct(spec, rtype, rtype, rspec.get("Properties", {}), props,
                      path + ".Properties", errors)
    return errors


def _check_struct(spec, rtype, label, prop_specs, value, path, errors):
    for alt in alternatives(value):
        if not isinstance(alt, dict):
            errors.append(f"{path}: expected an object ({label}), got {describe(alt)}")
            continue
        for name, v in alt.items():
            pspec = prop_specs.get(name)
            if pspec is None:
                if name not in SPEC_NEWER_PROPERTIES.get(label, ()):
                    errors.append(f"{join_path(path, name)}: unknown property of {label}"
                                  f"{suggest(name, prop_specs)}")
                continue
            _check_value(spec, rtype, pspec, v, join_path(path, name), errors)
        for name, pspec in prop_specs.items():
            if pspec.get("Required") and name not in alt:
                errors.append(f"{path}: missing required property {name} of {label}")


def _property_type(spec, rtype, name):
    for full in (f"{rtype}.{name}", name):
        if full in spec["PropertyTypes"]:
            return full, spec["PropertyTypes"][full]
    return None, None


def _check_value(spec, rtype, pspec, value, path, errors):
    if "PrimitiveType" in pspec:
        for alt in alternatives(value):
            _check_primitive(pspec["PrimitiveType"], alt, path, errors)
        return
    kind = pspec.get("Type")
    if kind in ("List", "Map"):
        for alt in alternatives(value):
            if kind == "List" and not isinstance(alt, list):
                errors.append(f"{path}: expected a list, got {describe(alt)}")
                continue
            if kind == "Map" and not isinstance(alt, dict):
                errors.append(f"{path}: expected a map, got {describe(alt)}")
                continue
            items = enumerate(alt) if kind == "List" else alt.items()
            for key, item in items:
                item_path = join_path(path, key)
                if "PrimitiveItemType" in pspec:
                    for a in alternatives(item):
                        _check_primitive(pspec["PrimitiveItemType"], a, item_path, errors)
                elif "ItemType" in pspec:
                    _check_named_type(spec, rtype, pspec["ItemType"], item, item_path, errors)
        return
    if kind:
        _check_named_type(spec, rtype, kind, value, path, errors)


def _check_named_type(spec, rtype, name, value, path, errors):
    full, tspec = _property_type(spec, rtype, name)
    if tspec is None:
        return
    if "Properties" in tspec:
        _check_struct(spec, rtype, full, tspec["Properties"], value, path, errors)
    else:  # a few property types are aliases of a list/primitive
        _check_value(spec, rtype, tspec, value, path, errors)


def _check_primitive(ptype, value, path, errors):
    ok = True
    if ptype in ("String", "Timestamp"):
        ok = isinstance(value, (str, int, float, bool))
    elif ptype in ("Integer", "Long"):
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)
    elif ptype == "Double":
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d*)?([eE][-+]?\d+)?", value))
    elif ptype == "Boolean":
        ok = isinstance(value, bool) or (isinstance(value, str)
                                         and value.lower() in ("true", "false"))
    elif ptype == "Json":
        ok = isinstance(value, (dict, list, str))
    if not ok:
        errors.append(f"{path}: expected {ptype}, got {describe(value)}")


# -- (e) references

def _resource_conds(res):
    cond = res.get("Condition")
    return frozenset([cond]) if isinstance(cond, str) else frozenset()


def _implied_conditions(ctx, conds):
    """conds plus the conditions they imply through Fn::And [..., Condition X, ...]."""
    out, todo = set(), list(conds)
    while todo:
        c = todo.pop()
        if c in out:
            continue
        out.add(c)
        definition = ctx.conditions.get(c)
        if is_intrinsic(definition) and "Fn::And" in definition and \
                isinstance(definition["Fn::And"], list):
            todo.extend(m["Condition"] for m in definition["Fn::And"]
                        if is_intrinsic(m) and isinstance(m.get("Condition"), str))
    return out


def _condition_guard(ctx, path, target, conds):
    """A reference to a resource that only exists under a condition must be made under it (or
    under a condition that implies it through Fn::And)."""
    cond = ctx.rcondition(target)
    if cond and cond not in _implied_conditions(ctx, conds):
        return [f"{path}: {target} exists only when condition {cond} is true; guard the reference "
                f"with Fn::If [{cond}, ...] or give the referencing item Condition {cond}"]
    return []


def check_references(ctx):
    """(e) Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::FindInMap and Condition references in Resources
    properties, Outputs and Conditions resolve."""
    errors = []
    for rid, res in ctx.resources.items():
        if "Properties" in res:
            _walk(ctx, res["Properties"], f"Resources.{rid}.Properties", _resource_conds(res),
                  False, errors)
    for oid, out in ctx.outputs.items():
        conds = _resource_conds(out) if isinstance(out, dict) else frozenset()
        _walk(ctx, out, f"Outputs.{oid}", conds, False, errors)
    for cid, cond in ctx.conditions.items():
        _walk(ctx, cond, f"Conditions.{cid}", frozenset(), True, errors)
    return errors


def _walk(ctx, node, path, conds, in_conditions, errors):
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(ctx, item, join_path(path, i), conds, in_conditions, errors)
        return
    if not isinstance(node, dict):
        return
    if is_intrinsic(node):
        (fn, arg), = node.items()
        if fn == "Condition" and not in_conditions:
            pass  # a property literally named Condition: walk it as data below
        else:
            _check_intrinsic(ctx, fn, arg, path, conds, in_conditions, errors)
            return
    for key, value in node.items():
        _walk(ctx, value, join_path(path, key), conds, in_conditions, errors)


def _check_intrinsic(ctx, fn, arg, path, conds, in_conditions, errors):
    arity = INTRINSIC_ARITY.get(fn)
    if arity and not (isinstance(arg, list) and arity[0] <= len(arg) <= arity[1]):
        n = f"{arity[0]}" if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
        errors.append(f"{path}: {fn} takes a list of {n} items, got {describe(arg)}")
        return
    if fn == "Ref":
        _check_ref(ctx, arg, path, f"Ref {arg}", conds, in_conditions, errors)
    elif fn == "Fn::GetAtt":
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
            errors.append(f"{path}: Fn::GetAtt takes [resource, attribute], got {describe(arg)}")
            return
        _check_getatt(ctx, arg[0], arg[1], path, f"Fn::GetAtt {arg[0]}.{describe(arg[1])}"
                      if not isinstance(arg[1], str) else f"Fn::GetAtt {arg[0]}.{arg[1]}",
                      conds, errors)
        if not isinstance(arg[1], str):
            _walk(ctx, arg[1], path, conds, in_conditions, errors)
    elif fn == "Fn::Sub":
        _check_sub(ctx, arg, path, conds, errors)
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            _walk(ctx, arg[1], path, conds, in_conditions, errors)
    elif fn == "Fn::If":
        cond = arg[0]
        if not ctx.is_condition(cond):
            errors.append(f"{path}: Fn::If names {describe(cond)}, which is not a condition"
                          f"{suggest(cond, ctx.conditions)}")
        _walk(ctx, arg[1], path, conds | {cond} if isinstance(cond, str) else conds,
              in_conditions, errors)
        _walk(ctx, arg[2], path, conds, in_conditions, errors)
    elif fn == "Condition":
        if not ctx.is_condition(arg):
            errors.append(f"{path}: Condition {describe(arg)} is not a condition"
                          f"{suggest(arg, ctx.conditions)}")
    elif fn == "Fn::FindInMap":
        _check_find_in_map(ctx, arg, path, errors)
        _walk(ctx, arg, path, conds, in_conditions, errors)
    else:
        _walk(ctx, arg, path, conds, in_conditions, errors)


def _check_ref(ctx, name, path, what, conds, in_conditions, errors):
    if not isinstance(name, str):
        errors.append(f"{path}: Ref takes a name, got {describe(name)}")
        return
    if name in PSEUDO_PARAMETERS or name in ctx.parameters:
        return
    if in_conditions:
        hint = " (conditions can only refer to parameters)" if ctx.has_resource(name) else \
            suggest(name, list(ctx.parameters) + list(PSEUDO_PARAMETERS))
        errors.append(f"{path}: {what}: no parameter or pseudo parameter of that name{hint}")
        return
    base = name
    if name.endswith((".Alias", ".Version")):  # SAM: !Ref Function.Alias / Function.Version
        base = name.rsplit(".", 1)[0]
        if ctx.rtype(base) != "AWS::Serverless::Function" or \
                not isinstance(ctx.function_property(base, "AutoPublishAlias"), str):
            errors.append(f"{path}: {what}: only an AWS::Serverless::Function with "
                          f"AutoPublishAlias has {name[len(base):]}")
            return
    if not ctx.has_resource(base):
        candidates = list(ctx.parameters) + list(ctx.resources) + list(ctx.implicit) + \
            list(PSEUDO_PARAMETERS)
        errors.append(f"{path}: {what}: no parameter, resource or pseudo parameter of that name"
                      f"{suggest(name, candidates)}")
        return
    errors.extend(_condition_guard(ctx, path, base, conds))


def _check_getatt(ctx, res, attr, path, what, conds, errors):
    rtype = ctx.rtype(res)
    if not ctx.has_resource(res):
        errors.append(f"{path}: {what}: no resource {res}"
                      f"{suggest(res, list(ctx.resources) + list(ctx.implicit))}")
        return
    errors.extend(_condition_guard(ctx, path, res, conds))
    if not isinstance(attr, str) or not isinstance(rtype, str):
        return
    if rtype.startswith("Custom::") or rtype == "AWS::CloudFormation::CustomResource":
        return
    if rtype in ("AWS::CloudFormation::Stack", "AWS::Serverless::Application") and \
            attr.startswith("Outputs."):
        return
    if rtype.startswith("AWS::Serverless::"):
        attrs = SAM_ATTRIBUTES.get(rtype)
        if attrs is not None and attr not in attrs:
            documented = ", ".join(sorted(attrs)) or "none"
            errors.append(f"{path}: {what}: {rtype} {res} has no attribute {attr} "
                          f"(SAM documents: {documented}){suggest(attr, attrs)}")
        return
    rspec = load_cfn_spec()["ResourceTypes"].get(rtype)
    if rspec is None:
        return
    attrs = set(rspec.get("Attributes", {})) | SPEC_NEWER_ATTRIBUTES.get(rtype, set())
    if attr not in attrs:
        errors.append(f"{path}: {what}: {rtype} {res} has no attribute {attr}"
                      f"{suggest(attr, attrs)}")


SUB_VAR_RE = re.compile(r"\$\{([^}]*)\}")


def _check_sub(ctx, arg, path, conds, errors):
    if isinstance(arg, str):
        text, local = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and \
            isinstance(arg[1], dict):
        text, local = arg
    else:
        errors.append(f"{path}: Fn::Sub takes a string or [string, {{variables}}], got "
                      f"{describe(arg)}")
        return
    for name in SUB_VAR_RE.findall(text):
        if name.startswith("!") or name in local:
            continue
        what = f"Fn::Sub ${{{name}}}"
        if "." in name and not name.startswith("AWS::"):
            res, attr = name.split(".", 1)
            _check_getatt(ctx, res, attr, path, what, conds, errors)
        else:
            _check_ref(ctx, name, path, what, conds, False, errors)


def _check_find_in_map(ctx, arg, path, errors):
    name, key1, key2 = arg[0], arg[1], arg[2]
    if not isinstance(name, str):
        return
    if name not in ctx.mappings:
        errors.append(f"{path}: Fn::FindInMap: no mapping {name}{suggest(name, ctx.mappings)}")
        return
    top = _dict(ctx.mappings[name])
    if isinstance(key1, str):
        if key1 not in top:
            errors.append(f"{path}: Fn::FindInMap: mapping {name} has no key {key1}"
                          f"{suggest(key1, top)}")
        elif isinstance(key2, str) and key2 not in _dict(top[key1]):
            errors.append(f"{path}: Fn::FindInMap: mapping {name}.{key1} has no key {key2}"
                          f"{suggest(key2, _dict(top[key1]))}")
    elif isinstance(key2, str) and not any(key2 in _dict(v) for v in top.values()):
        seconds = {k for v in top.values() for k in _dict(v)}
        errors.append(f"{path}: Fn::FindInMap: no entry of mapping {name} has a key {key2}"
                      f"{suggest(key2, seconds)}")


OUTPUT_KEYS = ("Description", "Value", "Export", "Condition")


def check_outputs(ctx):
    """(e) Outputs: Value present, known keys, Condition exists."""
    errors = []
    for oid, out in ctx.outputs.items():
        path = f"Outputs.{oid}"
        if not isinstance(out, dict):
            errors.append(f"{path}: must be a mapping")
            continue
        errors.extend(_unknown_keys(out, OUTPUT_KEYS, path, "output attribute"))
        if "Value" not in out:
            errors.append(f"{path}: missing Value")
        if "Export" in out and not (isinstance(out["Export"], dict) and "Name" in out["Export"]):
            errors.append(f"{path}.Export: must be a mapping with Name")
        if "Condition" in out and not ctx.is_condition(out["Condition"]):
            errors.append(f"{path}.Condition: {describe(out['Condition'])} is not a condition"
                          f"{suggest(out['Condition'], ctx.conditions)}")
    return errors


# -- (f) environment

def code_env_var_sources(source_dir=None):
    """{ETL_* name: [files that read it]} from function/*.c and runtime/*.c: string literals passed
    to env_get / env_get_nonempty / env_get_i64 / env_get_bool / env_get_choice, or to a wrapper
    called with envp (e.g. copy_choice(envp, "ETL_S3_SSE", ...))."""
    source_dir = source_dir or REPO_ROOT
    found = collections.defaultdict(set)
    for sub in ("function", "runtime"):
        d = os.path.join(source_dir, sub)
        if not os.path.isdir(d):
            continue
        for fname in sorted(os.listdir(d)):
            if not fname.endswith(".c"):
                continue
            with open(os.path.join(d, fname), encoding="utf-8", errors="replace") as f:
                text = f.read()
            for callee, first_arg, name in ENV_CALL_RE.findall(text):
                if callee in ENV_FUNCTIONS or first_arg == "envp":
                    found[name].add(f"{sub}/{fname}")
    return {name: sorted(files) for name, files in sorted(found.items())}


def code_env_vars(source_dir=None):
    """The sorted ETL_* environment variable names the C code reads."""
    return sorted(code_env_var_sources(source_dir))


def _variable_names(variables):
    """Names a Variables value certainly sets; None if it cannot be known (an intrinsic)."""
    if isinstance(variables, dict) and not is_intrinsic(variables):
        return set(variables)
    if is_intrinsic(variables) and "Fn::If" in variables:
        arg = variables["Fn::If"]
        if isinstance(arg, list) and len(arg) == 3:
            a, b = _variable_names(arg[1]), _variable_names(arg[2])
            if a is not None and b is not None:
                return a & b
    if variables is None:
        return set()
    return None


def check_env(template, function_logical_id, required_names):
    """(f) Every name in required_names is set in the function's Environment.Variables (or
    Globals.Function.Environment.Variables). required_names: names, or {name: [source files]}."""
    path = f"Resources.{function_logical_id}"
    res = _dict(_dict(template.get("Resources")).get(function_logical_id))
    if not res:
        return [f"{path}: no such resource"]
    sources = required_names if isinstance(required_names, dict) else {}
    names = set()
    for env in (_dict(_dict(template.get("Globals")).get("Function")).get("Environment"),
                _dict(res.get("Properties")).get("Environment")):
        if env is None:
            continue
        got = _variable_names(env.get("Variables") if isinstance(env, dict) else env)
        if got is None:
            return [f"{path}: cannot verify the environment: Environment.Variables is an "
                    f"intrinsic function"]
        names |= got
    errors = []
    for name in sorted(required_names):
        if name not in names:
            files = sources.get(name)
            read_by = f" (read by {', '.join(files)})" if files else ""
            errors.append(f"{path}: environment variable {name}{read_by} is not set")
    return errors


def _makefile_functions(ctx):
    return [(rid, res) for rid, res in ctx.of_type("AWS::Serverless::Function")
            if _dict(res.get("Metadata")).get("BuildMethod") == "makefile"]


def check_function_envs(ctx):
    """(f) Functions built from this repository (Metadata.BuildMethod makefile) set every ETL_*
    variable the C code reads."""
    errors = []
    functions = _makefile_functions(ctx)
    if not functions:
        return errors
    required = code_env_var_sources(ctx.source_dir)
    for rid, _ in functions:
        errors.extend(check_env(ctx.template, rid, required))
    return errors


def check_makefile_builds(ctx):
    """BuildMethod makefile: `sam build` runs `make build-<LogicalId>` in the CodeUri directory."""
    errors = []
    for rid, _ in _makefile_functions(ctx):
        path = f"Resources.{rid}"
        code_uri = ctx.function_property(rid, "CodeUri")
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            errors.append(f"{path}: Metadata.BuildMethod makefile needs CodeUri to be a local "
                          f"directory, got {describe(code_uri)}")
            continue
        makefile = os.path.join(ctx.dir, code_uri, "Makefile")
        if not os.path.isfile(makefile):
            errors.append(f"{path}.Properties.CodeUri: no Makefile in {code_uri} (sam build runs "
                          f"make build-{rid} there)")
            continue
        with open(makefile, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if not re.search(rf"^build-{re.escape(rid)}\s*:", text, re.M):
            errors.append(f"{path}.Properties.CodeUri: {ctx.rel(makefile)} has no target "
                          f"build-{rid} (sam build runs make build-{rid})")
    return errors


# -- (g) state machines

def _load_definition(ctx, rid, res):
    """(text or None, object or None, substitutions, label, errors) of a state machine."""
    rtype = res["Type"]
    props = _dict(res.get("Properties"))
    label = f"Resources.{rid}"
    subs = props.get("DefinitionSubstitutions")
    subs = subs if isinstance(subs, dict) else {}
    uri_key = "DefinitionUri" if rtype == "AWS::Serverless::StateMachine" else None
    if isinstance(props.get("Definition"), dict) and not is_intrinsic(props["Definition"]):
        definition = _strip_intrinsics(props["Definition"])
        return json.dumps(definition), definition, subs, label, []
    if uri_key and isinstance(props.get(uri_key), str):
        uri = props[uri_key]
        label = f"{label} ({uri})"
        file = os.path.join(ctx.dir, uri)
        try:
            with open(file, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            return None, None, subs, label, [f"Resources.{rid}.Properties.DefinitionUri: "
                                              f"{uri} not found next to the template"]
        return text, None, subs, label, []
    if rtype == "AWS::StepFunctions::StateMachine":
        ds = props.get("DefinitionString")
        if isinstance(ds, str):
            return ds, None, subs, label, []
        if is_intrinsic(ds) and "Fn::Sub" in ds:
            arg = ds["Fn::Sub"]
            text = arg if isinstance(arg, str) else arg[0] if isinstance(arg, list) else None
            if isinstance(text, str):  # ${...} are Fn::Sub's: neutralise them for ASL
                text = SUB_VAR_RE.sub(lambda m: "SUB_" + re.sub(r"\W", "_", m.group(1)), text)
                return text, None, subs, label, []
    return None, None, subs, label, []  # S3 location or computed: nothing to check offline


def _strip_intrinsics(node):
    """An inline definition with its intrinsic functions (SAM resolves them) made opaque."""
    if is_intrinsic(node):
        return "<" + next(iter(node)) + ">"
    if isinstance(node, list):
        return [_strip_intrinsics(v) for v in node]
    if isinstance(node, dict):
        return {k: _strip_intrinsics(v) for k, v in node.items()}
    return node


def _parse_definition(text):
    try:
        return json.loads(text)
    except ValueError:
        return load_yaml(text)  # a .asl.yaml definition


def _substitute(node, values):
    if isinstance(node, str):
        return SUB_VAR_RE.sub(lambda m: values.get(m.group(1), m.group(0)), node)
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    if isinstance(node, dict):
        return {_substitute(k, values): _substitute(v, values) for k, v in node.items()}
    return node


def _literal_text(value):
    return scalar_text(value) if isinstance(value, (str, int, float, bool)) else "0"


def check_state_machines(ctx):
    """(g) State machine definitions: DefinitionSubstitutions cover every ${Name} placeholder and
    are all used; the ASL is well formed (see check_asl)."""
    errors = []
    for rid, res in ctx.of_type("AWS::Serverless::StateMachine",
                                "AWS::StepFunctions::StateMachine"):
        text, obj, subs, label, errs = _load_definition(ctx, rid, res)
        errors.extend(errs)
        if text is None:
            continue
        placeholders = set(SUB_VAR_RE.findall(text))
        for name in sorted(placeholders - set(subs)):
            errors.append(f"{label}: placeholder ${{{name}}} has no DefinitionSubstitutions entry"
                          f"{suggest(name, subs)}")
        for name in sorted(set(subs) - placeholders):
            errors.append(f"Resources.{rid}.Properties.DefinitionSubstitutions.{name}: not used "
                          f"by the definition")
        values = {k: scalar_text(v) if isinstance(v, (str, int, float, bool)) else f"<{k}>"
                  for k, v in subs.items()}
        if obj is None:
            try:
                obj = _parse_definition(text)
            except yaml.YAMLError:
                # placeholders outside strings (numbers): substitute the text, then parse
                raw = SUB_VAR_RE.sub(lambda m: _literal_text(subs.get(m.group(1))), text)
                try:
                    obj = _parse_definition(raw)
                except yaml.YAMLError as e:
                    errors.append(f"{label}: the definition is not valid JSON/YAML: "
                                  f"{str(e).splitlines()[0]}")
                    continue
        errors.extend(f"{label}: {e}" for e in check_asl(_substitute(obj, values)))
    return errors


def check_asl(definition):
    """Amazon States Language checks of a parsed definition; returns errors with ASL paths."""
    errors = []
    if not isinstance(definition, dict):
        return [f"the definition is not an object, got {describe(definition)}"]
    for key in definition:
        if key not in ASL_TOP_FIELDS:
            errors.append(f"{key}: unknown top-level field{suggest(key, ASL_TOP_FIELDS)}")
    _check_asl_scope(definition, "", definition.get("QueryLanguage") == "JSONata", errors)
    return errors


def _check_asl_scope(scope, prefix, jsonata, errors):
    states = scope.get("States")
    start = scope.get("StartAt")
    if not isinstance(states, dict) or not states:
        errors.append(f"{prefix}States: missing or empty")
        return
    if not isinstance(start, str) or start not in states:
        errors.append(f"{prefix}StartAt: {describe(start)} is not a state in this scope"
                      f"{suggest(start, states)}")
        start = None
    edges = {}
    for name, state in states.items():
        path = f"{prefix}States.{name}"
        if not isinstance(state, dict):
            errors.append(f"{path}: must be an object")
            continue
        edges[name] = _check_asl_state(state, path, states, jsonata, errors)
    if start is not None:
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt in states and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        for name in states:
            if name not in seen:
                errors.append(f"{prefix}States.{name}: unreachable from StartAt {start}")


def _check_asl_state(state, path, states, jsonata, errors):
    """Checks one state; returns the names it can transition to."""
    stype = state.get("Type")
    if stype not in ASL_STATE_TYPES:
        errors.append(f"{path}.Type: {describe(stype)} is not one of {list(ASL_STATE_TYPES)}"
                      f"{suggest(stype, ASL_STATE_TYPES)}")
        return []
    jsonata = state.get("QueryLanguage", "JSONata" if jsonata else "JSONPath") == "JSONata"
    allowed = ASL_STATE_FIELDS[stype]
    for key in state:
        if key not in allowed:
            errors.append(f"{path}.{key}: not a field of a {stype} state{suggest(key, allowed)}")
    targets = []

    def target(value, where):
        if not isinstance(value, str) or value not in states:
            errors.append(f"{where}: {describe(value)} is not a state in this scope"
                          f"{suggest(value, states)}")
        else:
            targets.append(value)

    if stype in ("Succeed", "Fail", "Choice"):
        for key in ("Next", "End"):
            if key in state:
                errors.append(f"{path}.{key}: a {stype} state cannot have {key}")
    else:
        has_next, end = "Next" in state, state.get("End") is True
        if has_next and end:
            errors.append(f"{path}: has both Next and End")
        elif not has_next and not end:
            errors.append(f"{path}: needs Next or End: true")
        if has_next:
            target(state["Next"], f"{path}.Next")
    if stype == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            errors.append(f"{path}.Choices: missing or empty")
            choices = []
        for i, rule in enumerate(choices):
            rpath = f"{path}.Choices[{i}]"
            if not isinstance(rule, dict):
                errors.append(f"{rpath}: must be an object")
                continue
            if "Next" not in rule:
                errors.append(f"{rpath}: missing Next")
            else:
                target(rule["Next"], f"{rpath}.Next")
            if not jsonata:
                _check_choice_rule(rule, rpath, errors)
        if "Default" in state:
            target(state["Default"], f"{path}.Default")
    if stype == "Task" and "Resource" not in state:
        errors.append(f"{path}: a Task state needs Resource")
    if stype == "Wait":
        waits = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
                 if k in state]
        if len(waits) != 1:
            errors.append(f"{path}: a Wait state needs exactly one of Seconds, Timestamp, "
                          f"SecondsPath, TimestampPath")
    for key in ("Retry", "Catch"):
        if key not in state:
            continue
        if not isinstance(state[key], list):
            errors.append(f"{path}.{key}: must be a list")
            continue
        for i, rule in enumerate(state[key]):
            rpath = f"{path}.{key}[{i}]"
            if not isinstance(rule, dict) or not isinstance(rule.get("ErrorEquals"), list):
                errors.append(f"{rpath}: needs ErrorEquals (a list)")
                continue
            if key == "Catch":
                target(rule.get("Next"), f"{rpath}.Next")
            elif "Next" in rule:
                errors.append(f"{rpath}.Next: a Retrier has no Next")
    if stype == "Map":
        procs = [k for k in ("ItemProcessor", "Iterator") if k in state]
        if len(procs) != 1:
            errors.append(f"{path}: a Map state needs exactly one of ItemProcessor, Iterator")
        for k in procs:
            if isinstance(state[k], dict):
                _check_asl_scope(state[k], f"{path}.{k}.", jsonata, errors)
            else:
                errors.append(f"{path}.{k}: must be an object")
    if stype == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            errors.append(f"{path}.Branches: missing or empty")
        else:
            for i, branch in enumerate(branches):
                if isinstance(branch, dict):
                    _check_asl_scope(branch, f"{path}.Branches[{i}].", jsonata, errors)
                else:
                    errors.append(f"{path}.Branches[{i}]: must be an object")
    if not jsonata:
        _check_asl_paths(state, path, errors)
    return targets


def _check_choice_rule(rule, path, errors):
    for op in ("And", "Or"):
        if op in rule:
            for i, sub in enumerate(rule[op] if isinstance(rule[op], list) else []):
                if isinstance(sub, dict):
                    _check_choice_rule(sub, f"{path}.{op}[{i}]", errors)
            return
    if "Not" in rule:
        if isinstance(rule["Not"], dict):
            _check_choice_rule(rule["Not"], f"{path}.Not", errors)
        return
    var = rule.get("Variable")
    if not (isinstance(var, str) and var.startswith("$")):
        errors.append(f"{path}.Variable: must be a path starting with $, got {describe(var)}")


def _check_asl_paths(state, path, errors):
    """JSONPath fields: `*.$` values and the state's *Path fields are paths ($...) or intrinsic
    functions (States.*)."""
    for key, value in state.items():
        if key.endswith("Path") and not key.endswith(".$"):
            if value is None and key in ASL_NULLABLE_PATHS:
                continue
            if not (isinstance(value, str) and value.startswith(("$", "States."))):
                errors.append(f"{path}.{key}: must be a path starting with $, got "
                              f"{describe(value)}")

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("ItemProcessor", "Iterator", "Branches") and where == path:
                    continue
                if isinstance(key, str) and key.endswith(".$"):
                    if not (isinstance(value, str) and value.startswith(("$", "States."))):
                        errors.append(f"{where}.{key}: a .$ field needs a path ($...) or an "
                                      f"intrinsic function (States.*), got {describe(value)}")
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")

    walk(state, path)


# -- (h) policies

def _policy_items(rid, policies):
    """(path, policy) for each entry of a SAM function's or state machine's Policies (Fn::If
    branches flattened); a single policy not in a list is the path ...Policies itself."""
    base = f"Resources.{rid}.Properties.Policies"
    listed = isinstance(policies, list)
    for i, item in enumerate(policies if listed else [policies]):
        for alt in alternatives(item):
            yield (f"{base}[{i}]" if listed else base), alt


def check_policies(ctx):
    """(h) SAM Policies: policy templates exist and get exactly their parameters; inline policy
    documents are well formed. IAM roles' and policies' documents too."""
    errors = []
    templates = load_policy_templates()
    for rid, res in ctx.of_type("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
        props = _dict(res.get("Properties"))
        if "Policies" not in props:
            continue
        for path, item in _policy_items(rid, props["Policies"]):
            if isinstance(item, str):
                continue  # an AWS managed policy name or a policy ARN
            if not isinstance(item, dict):
                errors.append(f"{path}: expected a policy name, template or document, got "
                              f"{describe(item)}")
            elif "Statement" in item:
                errors.extend(_check_policy_document(item, path))
            elif len(item) == 1:
                name, params = next(iter(item.items()))
                errors.extend(_check_policy_template(templates, name, params, path))
            else:
                errors.append(f"{path}: neither a policy template (one key) nor a policy document "
                              f"(Statement)")
    for rid, res in ctx.of_type("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for path, doc in _iam_documents(rid, res):
            errors.extend(_check_policy_document(doc, path))
    return errors


def _check_policy_template(templates, name, params, path):
    if name not in templates:
        return [f"{path}: {name} is not a SAM policy template{suggest(name, templates)}"]
    expected = set(templates[name]["Parameters"])
    if is_intrinsic(params):
        return []
    if not isinstance(params, dict):
        return [f"{path}.{name}: takes a mapping of parameters ({{}} if none), got "
                f"{describe(params)}"]
    errors = [f"{path}.{name}: missing parameter {p} of policy template {name}"
              for p in sorted(expected - set(params))]
    errors += [f"{path}.{name}.{p}: not a parameter of policy template {name} (it takes: "
               f"{', '.join(sorted(expected)) or 'none'})" for p in params if p not in expected]
    return errors


def _statements(doc, path):
    """(path, statement) for each statement of a policy document (Statement a list or one)."""
    stmts = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(stmts, dict):
        return [(f"{path}.Statement", stmts)]
    if isinstance(stmts, list):
        return [(f"{path}.Statement[{i}]", s) for i, s in enumerate(stmts)]
    return []


def _check_policy_document(doc, path):
    if not isinstance(doc, dict) or is_intrinsic(doc):
        return []
    errors = []
    if "Statement" not in doc:
        return [f"{path}: a policy document needs Statement"]
    for spath, stmt in _statements(doc, path):
        for alt in alternatives(stmt):
            if not isinstance(alt, dict):
                errors.append(f"{spath}: must be a mapping")
                continue
            if alt.get("Effect") not in ("Allow", "Deny") and not is_intrinsic(alt.get("Effect")):
                errors.append(f"{spath}.Effect: must be Allow or Deny, got "
                              f"{describe(alt.get('Effect'))}")
            if "Action" not in alt and "NotAction" not in alt:
                errors.append(f"{spath}: needs Action or NotAction")
            if "Resource" not in alt and "NotResource" not in alt:
                errors.append(f"{spath}: needs Resource or NotResource")
    return errors


def _iam_documents(rid, res):
    props = _dict(res.get("Properties"))
    base = f"Resources.{rid}.Properties"
    if res.get("Type") == "AWS::IAM::Role":
        for i, pol in enumerate(props.get("Policies") or []):
            if isinstance(pol, dict) and isinstance(pol.get("PolicyDocument"), dict):
                yield f"{base}.Policies[{i}].PolicyDocument", pol["PolicyDocument"]
    elif isinstance(props.get("PolicyDocument"), dict):
        yield f"{base}.PolicyDocument", props["PolicyDocument"]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def wildcard_resources(template):
    """Every Allow statement granting Resource "*": in SAM Policies (inline documents and the
    policy templates they name, expanded from policy_templates.json) and in AWS::IAM::Role /
    Policy / ManagedPolicy documents. template: a parsed template or a path."""
    if isinstance(template, str):
        template = load_template(template)
    out = []
    templates = load_policy_templates()

    def collect(doc, path):
        for spath, stmt in _statements(doc, path):
            for alt in alternatives(stmt):
                if isinstance(alt, dict) and alt.get("Effect", "Allow") == "Allow" and \
                        "*" in _as_list(alt.get("Resource")):
                    actions = tuple(sorted(str(a) for a in _as_list(alt.get("Action"))))
                    out.append(Wildcard(spath, actions))

    for rid, res in _dict(template.get("Resources")).items():
        if not isinstance(res, dict):
            continue
        rtype = res.get("Type")
        props = _dict(res.get("Properties"))
        if rtype in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine") and \
                "Policies" in props:
            for path, item in _policy_items(rid, props["Policies"]):
                if isinstance(item, dict) and "Statement" in item:
                    collect(item, path)
                elif isinstance(item, dict) and len(item) == 1 and next(iter(item)) in templates:
                    name = next(iter(item))
                    collect(templates[name]["Definition"], f"{path}.{name}")
        elif rtype in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for path, doc in _iam_documents(rid, res):
                collect(doc, path)
    return out


# ---- entry points -----------------------------------------------------------------------------

CHECKS = (check_sections, check_parameters, check_conditions, check_resource_attributes,
          check_sam_resources, check_cfn_resources, check_references, check_outputs,
          check_function_envs, check_makefile_builds, check_state_machines, check_policies)


def check_template(path, source_dir=None):
    """All the checks of the template at path; returns the errors (empty if it is clean).
    source_dir: the checkout whose function/ and runtime/ are scanned for environment variables
    (default: the one this file is in). Raises DataMissingError if node_modules is missing."""
    load_cfn_spec()  # fail early and clearly without node_modules
    try:
        template = load_template(path)
    except TemplateError as e:
        return [str(e)]
    ctx = Context(template, path, source_dir)
    errors = []
    for check in CHECKS:
        errors.extend(check(ctx))
    return list(dict.fromkeys(errors))


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("template")
    ap.add_argument("--source-dir", help="checkout scanned for ETL_* variables (default: this "
                                         "file's)")
    ap.add_argument("--wildcards", action="store_true",
                    help="also list the IAM statements granting Resource \"*\"")
    args = ap.parse_args(argv)
    try:
        errors = check_template(args.template, args.source_dir)
        if args.wildcards and not errors:
            for w in wildcard_resources(args.template):
                print(f"wildcard: {w.path}: {', '.join(w.actions)}")
    except DataMissingError as e:
        print(f"cfn_check: {e}", file=sys.stderr)
        return 2
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
