#!/usr/bin/env python3
"""cfn_check: the checks of template.yaml that AWS's own tools do not make, run on what the AWS
SAM translator makes of the template (the AWS::Serverless resources expanded into the Lambda
functions, event source mappings, roles and schedules CloudFormation will create). cfn-lint
(run by test_template.py with the SAM transform) checks the rest: resource types, properties and
values, references, conditions, parameters, policies, the state machine definition's schema.

Library:
    load_template(path) -> dict                     the template as cfn-lint reads it
    translate(path) -> dict                         the SAM translator's output (TemplateError)
    lint(path, regions) -> list[Finding]            cfn-lint's findings, SAM transform included
    lint_definition(definition) -> list[Finding]    cfn-lint's ASL schema check (E3601) of one
                                                    state machine definition
    check_template(path, source_dir=None) -> list[str]   the checks below, one line per error
    code_env_var_sources(source_dir) -> {name: [files]}  ETL_* variables the C code reads
    check_env(translated, function_id, required) -> list[str]
    wildcard_resources(translated) -> list[Wildcard]     Allow statements with Resource "*"
    state_machine_definitions(path) -> {id: dict}        definitions from DefinitionUri files
    check_asl(definition) -> list[str]               Next/Default/Catch targets exist and every
                                                    state is reachable from StartAt

The checks: (1) every ETL_* variable function/ and runtime/ read is set on every function built
from this repository (Metadata.BuildMethod makefile); (2) the Makefile has the target `sam build`
runs for each of them; (3) no IAM statement grants Resource "*" to an action that has
resource-level permissions; (4) every state of every definition is reachable.

CLI:
    python3 tests/integration/cfn_check.py template.yaml [--source-dir DIR]
prints the errors one per line and exits 1 if there are any.

Needs cfn-lint and aws-sam-translator (pip install cfn-lint; scripts/lib.sh installs them).
"""
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

try:
    from cfnlint.decode import decode
    from cfnlint.template.transforms._sam import Transform
except ImportError:  # pragma: no cover - depends on the interpreter
    raise ImportError("cfn_check needs cfn-lint (with aws-sam-translator): "
                      "python3 -m pip install cfn-lint") from None

REGION = "us-east-1"

# IAM actions the Service Authorization Reference lists without a resource type: a statement
# granting them must say Resource "*". Any other action on "*" is an error.
ACTIONS_NEEDING_STAR = frozenset({
    "cloudwatch:PutMetricData",
    "dynamodb:ListStreams",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
})

ENV_FUNCTIONS = ("env_get", "env_get_nonempty", "env_get_i64", "env_get_bool", "env_get_choice")
# name(envp-or-whatever, "ETL_X" ...): the env_get family, or a wrapper called with envp
ENV_CALL_RE = re.compile(r'\b([A-Za-z_]\w*)\s*\(\s*([^,()"]*?)\s*,\s*"(ETL_[A-Z0-9_]+)"')

Wildcard = collections.namedtuple("Wildcard", "path actions")
Finding = collections.namedtuple("Finding", "rule message path line")


class TemplateError(Exception):
    """The template cannot be read, parsed or translated."""


def _plain(node):
    """cfn-lint's decoded nodes (str_node, dict_node...) as plain Python values."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def load_template(path):
    template, matches = decode(path)
    if matches:
        raise TemplateError("; ".join(f"{m.rule.id} {m.message}" for m in matches))
    return template


def translate(path):
    """The SAM translator's output for the template at path, as plain dicts."""
    template = load_template(path)
    transform = Transform(path, template, REGION)
    matches = transform.transform_template()
    if matches:
        raise TemplateError("; ".join(m.message for m in matches))
    return _plain(transform.template())


def _findings(matches):
    out = []
    for m in matches:
        path = "/".join(str(p) for p in (getattr(m, "path", None) or []))
        out.append(Finding(m.rule.id, m.message, path, m.linenumber))
    return out


def lint(path, regions=(REGION,)):
    """cfn-lint's errors, warnings and informational findings for the template at path."""
    from pathlib import Path

    from cfnlint.api import ManualArgs, lint_file
    return _findings(lint_file(Path(path), config=ManualArgs(regions=list(regions),
                                                             include_checks=["I"])))


def lint_definition(definition):
    """cfn-lint's Amazon States Language schema check (E3601) of one definition. SAM turns a
    definition into a DefinitionString that cfn-lint does not look into, so the definition is
    checked here inside a plain AWS::StepFunctions::StateMachine."""
    from cfnlint.api import lint
    template = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": []}}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "Definition": definition}}}}
    return _findings(lint(json.dumps(template, indent=1), regions=[REGION]))


# ---- (1) environment ----------------------------------------------------------------------------

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


def check_env(translated, function_id, required):
    """Every name in required ({name: [files]} or names) is set in the translated
    AWS::Lambda::Function's Environment.Variables (SAM has merged Globals into it)."""
    path = f"Resources.{function_id}"
    res = translated.get("Resources", {}).get(function_id)
    if not isinstance(res, dict) or res.get("Type") != "AWS::Lambda::Function":
        return [f"{path}: no AWS::Lambda::Function of that name in the translated template"]
    variables = res.get("Properties", {}).get("Environment", {}).get("Variables", {})
    if not isinstance(variables, dict):
        return [f"{path}: cannot verify the environment: Environment.Variables is "
                f"{json.dumps(variables)[:80]}"]
    sources = required if isinstance(required, dict) else {}
    errors = []
    for name in sorted(required):
        if name not in variables:
            files = sources.get(name)
            read_by = f" (read by {', '.join(files)})" if files else ""
            errors.append(f"{path}: environment variable {name}{read_by} is not set")
    return errors


# ---- (2) the Makefile ---------------------------------------------------------------------------

def bootstrap_functions(template):
    """Logical ids of the AWS::Serverless::Function resources `sam build` builds with the
    Makefile (Metadata.BuildMethod makefile), with their CodeUri (Globals applied)."""
    glob = (template.get("Globals") or {}).get("Function") or {}
    out = {}
    for rid, res in (template.get("Resources") or {}).items():
        if isinstance(res, dict) and res.get("Type") == "AWS::Serverless::Function" and \
                (res.get("Metadata") or {}).get("BuildMethod") == "makefile":
            out[str(rid)] = (res.get("Properties") or {}).get("CodeUri", glob.get("CodeUri"))
    return out


def check_makefile_builds(template, template_dir):
    """BuildMethod makefile: `sam build` runs `make build-<LogicalId>` in the CodeUri directory."""
    errors = []
    for rid, code_uri in bootstrap_functions(template).items():
        path = f"Resources.{rid}"
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            errors.append(f"{path}: Metadata.BuildMethod makefile needs CodeUri to be a local "
                          f"directory, got {code_uri!r}")
            continue
        makefile = os.path.join(template_dir, code_uri, "Makefile")
        if not os.path.isfile(makefile):
            errors.append(f"{path}.Properties.CodeUri: no Makefile in {code_uri} (sam build runs "
                          f"make build-{rid} there)")
            continue
        with open(makefile, encoding="utf-8", errors="replace") as f:
            text = f.read()
        targets = set()
        for line in re.findall(r"^([A-Za-z0-9_. -]+):(?!=)", text, re.M):
            targets.update(line.split())
        if f"build-{rid}" not in targets:
            errors.append(f"{path}.Properties.CodeUri: Makefile has no target build-{rid} "
                          f"(sam build runs make build-{rid})")
    return errors


# ---- (3) IAM scope ------------------------------------------------------------------------------

def _as_list(value):
    return value if isinstance(value, list) else [value]


def _alternatives(value):
    """The branches of a Fn::If (recursively), or the value itself."""
    if isinstance(value, dict) and list(value) == ["Fn::If"] and \
            isinstance(value["Fn::If"], list) and len(value["Fn::If"]) == 3:
        return _alternatives(value["Fn::If"][1]) + _alternatives(value["Fn::If"][2])
    if isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


def _documents(rid, res):
    props = res.get("Properties") or {}
    base = f"Resources.{rid}.Properties"
    if res.get("Type") == "AWS::IAM::Role":
        for i, pol in enumerate(props.get("Policies") or []):
            for alt in _alternatives(pol):
                if isinstance(alt, dict) and isinstance(alt.get("PolicyDocument"), dict):
                    yield f"{base}.Policies[{i}]({alt.get('PolicyName')})", alt["PolicyDocument"]
    elif res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and \
            isinstance(props.get("PolicyDocument"), dict):
        yield f"{base}.PolicyDocument", props["PolicyDocument"]


def wildcard_resources(translated):
    """Every Allow statement granting Resource "*" in the translated template's roles and
    policies (SAM's policy templates and generated roles expanded)."""
    out = []
    for rid, res in (translated.get("Resources") or {}).items():
        if not isinstance(res, dict):
            continue
        for path, doc in _documents(rid, res):
            stmts = doc.get("Statement")
            for i, stmt in enumerate(_as_list(stmts)):
                for alt in _alternatives(stmt):
                    if isinstance(alt, dict) and alt.get("Effect", "Allow") == "Allow" and \
                            "*" in _as_list(alt.get("Resource")):
                        actions = tuple(sorted(str(a) for a in _as_list(alt.get("Action"))))
                        out.append(Wildcard(f"{path}.Statement[{i}]", actions))
    return out


def check_wildcards(translated):
    errors = []
    for w in wildcard_resources(translated):
        extra = sorted(set(w.actions) - ACTIONS_NEEDING_STAR)
        if extra:
            errors.append(f"{w.path}: Resource \"*\" for {extra}, which support resource-level "
                          f"permissions")
    return errors


# ---- (4) state machine definitions --------------------------------------------------------------

def state_machine_definitions(path, template=None):
    """{logical id: definition} of the AWS::Serverless::StateMachine resources with a local
    DefinitionUri or an inline Definition (not substituted)."""
    template = template if template is not None else load_template(path)
    out = {}
    for rid, res in (template.get("Resources") or {}).items():
        if not isinstance(res, dict) or res.get("Type") != "AWS::Serverless::StateMachine":
            continue
        props = res.get("Properties") or {}
        if isinstance(props.get("DefinitionUri"), str):
            with open(os.path.join(os.path.dirname(path), props["DefinitionUri"]),
                      encoding="utf-8") as f:
                out[str(rid)] = json.load(f)
        elif isinstance(props.get("Definition"), dict):
            out[str(rid)] = _plain(props["Definition"])
    return out


def _targets(state):
    out = [state.get("Next"), state.get("Default")]
    out += [c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)]
    out += [c.get("Next") for c in state.get("Catch") or [] if isinstance(c, dict)]
    return [t for t in out if t is not None]


def check_asl(definition, prefix=""):
    """Every Next, Default and Catch target is a state of its scope, and every state is reachable
    from StartAt (in the top level, Map processors and Parallel branches)."""
    errors = []
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict) or not states:
        return [f"{prefix}States: missing or empty"]
    start = definition.get("StartAt")
    if start not in states:
        errors.append(f"{prefix}StartAt: {start!r} is not a state in this scope")
    for name, st in states.items():
        if not isinstance(st, dict):
            continue
        for t in _targets(st):
            if t not in states:
                errors.append(f"{prefix}States.{name}: {t!r} is not a state in this scope")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(st.get(key), dict):
                errors += check_asl(st[key], f"{prefix}States.{name}.{key}.")
        for i, branch in enumerate(st.get("Branches") or []):
            errors += check_asl(branch, f"{prefix}States.{name}.Branches[{i}].")
    if start in states:
        seen, todo = {start}, [start]
        while todo:
            st = states[todo.pop()]
            for t in _targets(st) if isinstance(st, dict) else ():
                if t in states and t not in seen:
                    seen.add(t)
                    todo.append(t)
        errors += [f"{prefix}States.{n}: unreachable from StartAt {start}"
                   for n in states if n not in seen]
    return errors


# ---- entry points -------------------------------------------------------------------------------

def check_template(path, source_dir=None):
    """The checks above for the template at path; returns the errors (empty if it is clean)."""
    try:
        template = load_template(path)
        translated = translate(path)
    except TemplateError as e:
        return [f"{path}: {e}"]
    errors = []
    required = code_env_var_sources(source_dir)
    for rid in bootstrap_functions(template):
        errors += check_env(translated, rid, required)
    errors += check_makefile_builds(template, os.path.dirname(os.path.abspath(path)))
    errors += check_wildcards(translated)
    for rid, definition in state_machine_definitions(path, template).items():
        errors += [f"Resources.{rid}: {e}" for e in check_asl(definition)]
    return errors


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("template")
    ap.add_argument("--source-dir", help="checkout scanned for ETL_* variables (default: this "
                                         "file's)")
    args = ap.parse_args(argv)
    errors = check_template(args.template, args.source_dir)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
