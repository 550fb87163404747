"""asl_sim: a small interpreter for the subset of the Amazon States Language (JSONPath query
language) that statemachine/*.asl.json uses, so that a definition can be run against the real
function without AWS. Standard library only.

Sources: the ASL specification (https://states-language.net/spec.html) and the AWS Step Functions
Developer Guide (input and output processing, intrinsic functions, error handling, the Lambda
"arn:aws:states:::lambda:invoke" integration, the Map state in INLINE and DISTRIBUTED mode,
the execution history quota).

    sm = StateMachine(substitute(text, {"TableName": "Orders"}), invoke)
    ex = sm.start_execution({"time": "2026-11-20T00:00:00Z"})
    ex.status, ex.output, ex.error, ex.cause, ex.transitions, ex.history

What is modelled
  * States: Pass (InputPath, Parameters, Result, ResultPath, OutputPath), Choice (Choices with
    Variable + a comparison operator, And / Or / Not, Default), Task (only Resource
    "arn:aws:states:::lambda:invoke", Parameters FunctionName + Payload, ResultSelector,
    ResultPath, Retry, Catch), Map (ItemsPath, ItemSelector, ItemProcessor in INLINE or
    DISTRIBUTED mode, MaxConcurrency or MaxConcurrencyPath, Label, ResultSelector, ResultPath,
    Retry, Catch), Succeed, Fail.
  * Paths: "$", "$.a.b", "$.a[0]", "$['a b']"; "$$." paths into the context object (Execution.Id,
    Execution.Name, Execution.StartTime with milliseconds, Execution.Input, State.Name,
    State.EnteredTime, State.RetryCount, StateMachine.Id/Name, Map.Item.Index/Value).
  * Payload templates (Parameters, ItemSelector, ResultSelector): keys ending in ".$" take a path
    or an intrinsic function; nested objects (also inside arrays) are processed the same way.
  * Intrinsics: States.ArrayRange, States.MathAdd, States.StringToJson, States.JsonToString,
    States.Array, States.ArrayLength, States.ArrayGetItem, States.Format; arguments are string
    literals in single quotes (escapes \\' \\{ \\} \\\\), numbers, true/false/null, paths and nested
    calls (at most 10 deep). A failing intrinsic is States.IntrinsicFailure.
  * The lambda:invoke result: {"ExecutedVersion": "$LATEST", "Payload": <answer>, "SdkHttpMetadata":
    {...}, "SdkResponseMetadata": {...}, "StatusCode": 200}. A function error (the callback answers
    ok=False, as Lambda's X-Amz-Function-Error does) fails the Task with Error = the answer's
    errorType (Lambda.Unknown when it has none, as for timeouts and crashes) and Cause = the answer
    as a JSON string. A Lambda service error is the callback raising TaskFailed("Lambda.XYZ", ...).
  * Retry: retriers are consulted in order and the first whose ErrorEquals matches decides (a
    matching retrier with MaxAttempts 0 means no retry, later retriers are not consulted);
    IntervalSeconds (1), MaxAttempts (3), BackoffRate (2.0), MaxDelaySeconds, JitterStrategy
    FULL/NONE; counters start afresh each time the state is entered. Delays are recorded in the
    history and slept for delay * time_scale (default 0: no sleeping).
  * Error names: States.ALL matches every error but States.Runtime and States.DataLimitExceeded
    (which AWS never retries or catches); States.TaskFailed matches every error but those and
    States.Timeout. A path that does not resolve is States.Runtime; a Choice without a match and
    without Default is States.NoChoiceMatched; a ResultPath that cannot be applied is
    States.ResultPathMatchFailure; a state input/output over 256 KiB is States.DataLimitExceeded.
  * Map: iterations run in threads, at most MaxConcurrency (0 = unlimited) at a time (parallel=False
    runs them one after the other); the first failing iteration fails the Map state with its Error
    and Cause, iterations not yet started are not started. In DISTRIBUTED mode (ExecutionType
    STANDARD) each iteration is a child execution with a history, transition count and history
    quota of its own ($$.Execution is the child's); the parent's history records MapRunStarted and
    MapRunSucceeded or MapRunFailed instead of the iterations, and a failed child fails the Map
    state with States.ExceedToleratedFailureThreshold (no tolerated failures), as AWS does.
  * The history quota: each execution may have at most max_history_events (25,000, a Standard
    workflow's quota) events of the kinds AWS records (the simulator's ChoiceMatched, CatchMatched
    and RetryScheduled are not counted; LambdaFunctionCompleted stands for TaskStarted). The
    event that would exceed it fails the execution with States.Runtime (uncatchable; the error
    name is the simulator's choice) and the cause "The execution reached the quota of 25000 history
    events".

What is not: every other field, state type, resource, operator or intrinsic raises
UnsupportedError when the definition is loaded (never silently ignored), as do malformed
definitions (DefinitionError). Timeouts (TimeoutSeconds, HeartbeatSeconds), Wait, Parallel,
the Distributed Map's ItemReader, ItemBatcher, ResultWriter and tolerated failures, EXPRESS child
executions, JSONata, variables (Assign) and the Timestamp* comparisons are all out.

Bookkeeping: Execution.history is a list of event dicts ({"id", "type", "state", "path", ...});
Execution.aws_events counts those AWS would record; Execution.children are the child executions
of Distributed Maps. Execution.transitions counts state entries plus retries, children's included
(what AWS bills as state transitions); Execution.events() and Execution.invocations() list the
execution's and its children's events and Lambda calls in the order they happened (a child's
event paths start with the Map state's name and the item's index, as an inline iteration's do).
"""
import datetime
import itertools
import json
import random
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
MAX_PAYLOAD_BYTES = 262144  # 256 KiB: the state input/output limit
MAX_INTRINSIC_NESTING = 10
MAX_HISTORY_EVENTS = 25000  # a Standard workflow's execution history quota
SIM_ONLY_EVENTS = frozenset({"ChoiceMatched", "CatchMatched", "RetryScheduled"})


# ---- errors -------------------------------------------------------------------------------------

class AslError(Exception):
    """A problem with the definition or the simulation itself (never an execution failure)."""


class UnsupportedError(AslError):
    """The definition uses something this simulator does not implement."""


class DefinitionError(AslError):
    """The definition is not valid ASL."""


class SimulationLimit(AslError):
    """The execution ran more state transitions than the simulator allows (a runaway loop)."""


class StatesError(Exception):
    """A runtime failure inside an execution: Error and Cause, as Step Functions reports them."""

    def __init__(self, error, cause=""):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class TaskFailed(StatesError):
    """Raised by an invoke callback for a failure of the Lambda service itself (not a function
    error), e.g. TaskFailed("Lambda.TooManyRequestsException", "Rate exceeded")."""


UNCATCHABLE = ("States.Runtime", "States.DataLimitExceeded")


def error_matches(pattern, error):
    if pattern == "States.ALL":
        return error not in UNCATCHABLE
    if pattern == "States.TaskFailed":
        return error not in UNCATCHABLE and error != "States.Timeout"
    return pattern == error


# ---- substitutions -------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def substitute(text, substitutions, strict=True):
    """DefinitionSubstitutions as CloudFormation applies them: every ${Name} in the definition's
    text whose Name is a key is replaced by the value, verbatim (no JSON escaping). strict: a
    ${Name} left without a value raises DefinitionError (it would reach AWS as literal text)."""
    for k, v in substitutions.items():
        if not isinstance(v, str):
            raise DefinitionError(f"DefinitionSubstitutions[{k!r}] must be a string, not {type(v).__name__}")

    def repl(m):
        name = m.group(1)
        if name in substitutions:
            return substitutions[name]
        if strict:
            raise DefinitionError(f"${{{name}}} in the definition has no substitution")
        return m.group(0)

    return _PLACEHOLDER.sub(repl, text)


# ---- JSONPath (the simple subset ASL paths use) ---------------------------------------------------

_MISSING = object()
_SEG = re.compile(r"""\.([^.\[\]'"*?@()]+)|\[(\d+)\]|\['([^']*)'\]""")


def parse_path(path, what="path"):
    """'$.a.b[0]' -> ('$', ['a', 'b', 0]); '$$.Map.Item.Value' -> ('$$', [...])."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise DefinitionError(f"{what} {path!r} is not a JSONPath (must start with $)")
    root = "$$" if path.startswith("$$") else "$"
    rest = path[len(root):]
    if ".." in rest or "*" in rest or "?(" in rest or "@" in rest or "[-" in rest or ":" in rest:
        raise UnsupportedError(f"{what} {path!r}: only simple paths ($.a.b, $.a[0], $['a']) are "
                               f"supported (no wildcards, filters, slices or deep scan)")
    segs, pos = [], 0
    while pos < len(rest):
        m = _SEG.match(rest, pos)
        if not m:
            raise DefinitionError(f"{what} {path!r} is not a valid path (at {rest[pos:]!r})")
        if m.group(1) is not None:
            segs.append(m.group(1))
        elif m.group(2) is not None:
            segs.append(int(m.group(2)))
        else:
            segs.append(m.group(3))
        pos = m.end()
    return root, segs


def _walk(doc, segs):
    cur = doc
    for s in segs:
        if isinstance(s, int):
            if not isinstance(cur, list) or s >= len(cur):
                return _MISSING
            cur = cur[s]
        else:
            if not isinstance(cur, dict) or s not in cur:
                return _MISSING
            cur = cur[s]
    return cur


def _short(v, n=300):
    t = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return t if len(t) <= n else t[:n] + "..."


def resolve_path(path, doc, context, field="path"):
    root, segs = parse_path(path, field)
    base = context if root == "$$" else doc
    v = _walk(base, segs)
    if v is _MISSING:
        where = "the context object" if root == "$$" else "the input"
        raise StatesError("States.Runtime",
                          f"The JSONPath '{path}' specified for the field '{field}' could not be "
                          f"found in {where} '{_short(base)}'")
    return v


def set_result_path(raw_input, result_path, result, field="ResultPath"):
    """ResultPath: null discards the result; '$' replaces the input; '$.a.b' sets it inside a
    copy of the raw input, creating objects on the way."""
    if result_path is None:
        return raw_input
    root, segs = parse_path(result_path, field)
    if root != "$":
        raise DefinitionError(f"{field} {result_path!r} must be a reference path into $")
    if not segs:
        return result

    def mismatch():
        return StatesError("States.ResultPathMatchFailure",
                           f"Unable to apply ResultPath '{result_path}' to input '{_short(raw_input)}'")

    doc = json.loads(json.dumps(raw_input))  # a deep copy: the input is never modified
    if not isinstance(doc, dict):
        raise mismatch()
    cur = doc
    for i, s in enumerate(segs):
        last = i == len(segs) - 1
        if isinstance(s, int):
            if not isinstance(cur, list) or s >= len(cur):
                raise mismatch()
            if last:
                cur[s] = result
            else:
                cur = cur[s]
            continue
        if not isinstance(cur, dict):
            raise mismatch()
        if last:
            cur[s] = result
        else:
            if s not in cur:
                cur[s] = {}
            cur = cur[s]
    return doc


# ---- intrinsic functions --------------------------------------------------------------------------

class _Call:
    def __init__(self, name, args):
        self.name, self.args = name, args


class _Path:
    def __init__(self, path):
        self.path = path
        parse_path(path, "intrinsic argument")


class _Lit:
    def __init__(self, value, parts=None):
        self.value = value
        self.parts = parts  # string literals: the text split at its unescaped {} (for Format)


_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_CALL = re.compile(r"States\.([A-Za-z0-9]+)\(")


def parse_intrinsic(text, depth=0):
    """Parses 'States.Fn(arg, ...)' into a tree; raises DefinitionError / UnsupportedError."""
    node, pos = _parse_call(text, 0, depth)
    if text[pos:].strip():
        raise DefinitionError(f"intrinsic {text!r}: unexpected text after the call: {text[pos:]!r}")
    return node


def _skip_ws(text, pos):
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    return pos


def _parse_call(text, pos, depth):
    if depth >= MAX_INTRINSIC_NESTING:
        raise DefinitionError(f"intrinsic {text!r}: more than {MAX_INTRINSIC_NESTING} nested functions")
    m = _CALL.match(text, pos)
    if not m:
        raise DefinitionError(f"intrinsic {text!r}: expected States.Name( at {text[pos:]!r}")
    name = "States." + m.group(1)
    if name not in INTRINSICS:
        raise UnsupportedError(f"intrinsic function {name} is not supported by the simulator "
                               f"(supported: {', '.join(sorted(INTRINSICS))})")
    pos = _skip_ws(text, m.end())
    args = []
    if pos < len(text) and text[pos] == ")":
        return _Call(name, args), pos + 1
    while True:
        pos = _skip_ws(text, pos)
        arg, pos = _parse_arg(text, pos, depth)
        args.append(arg)
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            raise DefinitionError(f"intrinsic {text!r}: missing ')'")
        if text[pos] == ",":
            pos += 1
            continue
        if text[pos] == ")":
            return _Call(name, args), pos + 1
        raise DefinitionError(f"intrinsic {text!r}: expected ',' or ')' at {text[pos:]!r}")


def _parse_arg(text, pos, depth):
    if text.startswith("States.", pos):
        return _parse_call(text, pos, depth + 1)
    c = text[pos:pos + 1]
    if c == "'":
        out, parts, i = [], [], pos + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                if i + 1 >= len(text):
                    break
                out.append(text[i + 1])
                i += 2
                continue
            if ch == "'":
                parts.append("".join(out))
                return _Lit("".join(parts) if len(parts) == 1 else "{}".join(parts), parts), i + 1
            if text.startswith("{}", i):
                parts.append("".join(out))
                out = []
                i += 2
                continue
            out.append(ch)
            i += 1
        raise DefinitionError(f"intrinsic {text!r}: unterminated string literal")
    if c == "$":
        i, brackets = pos, 0
        while i < len(text):
            ch = text[i]
            if ch == "[":
                brackets += 1
            elif ch == "]":
                brackets -= 1
            elif brackets == 0 and ch in ",)":
                break
            i += 1
        return _Path(text[pos:i].strip()), i
    m = _NUMBER.match(text, pos)
    if m and m.end() > pos:
        t = m.group(0)
        return _Lit(float(t) if (m.group(2) or m.group(3)) else int(t)), m.end()
    for word, value in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, pos):
            return _Lit(value), pos + len(word)
    raise DefinitionError(f"intrinsic {text!r}: cannot parse the argument at {text[pos:]!r}")


def _fail(name, msg):
    raise StatesError("States.IntrinsicFailure", f"Invalid arguments in {name}: {msg}")


def _want_int(name, v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(name, f"{what} must be an integer, not {_short(v)}")
    if isinstance(v, float):
        if not v.is_integer():
            _fail(name, f"{what} must be an integer, not {v}")
        v = int(v)
    return v


def _fn_array_range(name, args):
    if len(args) != 3:
        _fail(name, "expects 3 arguments (first, last, step)")
    start, end, step = (_want_int(name, a, w) for a, w in zip(args, ("first", "last", "step")))
    if step == 0:
        _fail(name, "the step must not be 0")
    out = []
    v = start
    while (step > 0 and v <= end) or (step < 0 and v >= end):
        out.append(v)
        if len(out) > 1000:
            _fail(name, "the array would have more than 1000 items")
        v += step
    return out


def _fn_math_add(name, args):
    if len(args) != 2:
        _fail(name, "expects 2 arguments (value, step)")
    vals = []
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            _fail(name, f"arguments must be numbers, not {_short(a)}")
        v = int(round(a)) if isinstance(a, float) else a  # AWS rounds non-integers
        if not -2147483648 <= v <= 2147483647:
            _fail(name, f"{v} is outside -2147483648..2147483647")
        vals.append(v)
    return vals[0] + vals[1]


def _fn_string_to_json(name, args):
    if len(args) != 1 or not isinstance(args[0], str):
        _fail(name, "expects 1 string argument")
    try:
        return json.loads(args[0])
    except ValueError as e:
        _fail(name, f"{args[0]!r} is not JSON ({e})")


def _fn_json_to_string(name, args):
    if len(args) != 1:
        _fail(name, "expects 1 argument")
    return json.dumps(args[0], separators=(",", ":"), ensure_ascii=False)


def _fn_array(name, args):
    return list(args)


def _fn_array_length(name, args):
    if len(args) != 1 or not isinstance(args[0], list):
        _fail(name, "expects 1 array argument")
    return len(args[0])


def _fn_array_get_item(name, args):
    if len(args) != 2 or not isinstance(args[0], list):
        _fail(name, "expects an array and an index")
    i = _want_int(name, args[1], "index")
    if not 0 <= i < len(args[0]):
        _fail(name, f"index {i} is out of bounds")
    return args[0][i]


def _fn_format(name, args, parts=None):
    if not args or not isinstance(args[0], str):
        _fail(name, "the first argument must be a string template")
    vals = list(args[1:])
    if parts is None:  # a template from a path: every {} is a placeholder
        parts = args[0].split("{}")
    if len(parts) - 1 != len(vals):
        _fail(name, f"{len(parts) - 1} placeholders but {len(vals)} values")
    out = []
    for part in parts:
        out.append(part)
        if vals:
            v = vals.pop(0)
            if isinstance(v, (dict, list)):
                _fail(name, "values must be strings, numbers, booleans or null")
            out.append(v if isinstance(v, str) else json.dumps(v))
    return "".join(out)


INTRINSICS = {
    "States.ArrayRange": _fn_array_range,
    "States.MathAdd": _fn_math_add,
    "States.StringToJson": _fn_string_to_json,
    "States.JsonToString": _fn_json_to_string,
    "States.Array": _fn_array,
    "States.ArrayLength": _fn_array_length,
    "States.ArrayGetItem": _fn_array_get_item,
    "States.Format": _fn_format,
}


def eval_intrinsic(node, doc, context, field):
    if isinstance(node, _Lit):
        return node.value
    if isinstance(node, _Path):
        return resolve_path(node.path, doc, context, field)
    args = [eval_intrinsic(a, doc, context, field) for a in node.args]
    if node.name == "States.Format" and node.args and isinstance(node.args[0], _Lit):
        return _fn_format(node.name, args, node.args[0].parts)
    return INTRINSICS[node.name](node.name, args)


def evaluate_intrinsic(text, doc=None, context=None):
    """Convenience for tests: parse and evaluate one intrinsic expression."""
    return eval_intrinsic(parse_intrinsic(text), doc if doc is not None else {}, context or {}, text)


# ---- payload templates ----------------------------------------------------------------------------

def _check_template(tmpl, where):
    """Static check of a payload template: every '.$' value parses."""
    if isinstance(tmpl, dict):
        plain = {k for k in tmpl if not k.endswith(".$")}
        for k, v in tmpl.items():
            if k.endswith(".$"):
                if k[:-2] in plain:
                    raise DefinitionError(f"{where}: both {k[:-2]!r} and {k!r}")
                if not isinstance(v, str):
                    raise DefinitionError(f"{where}.{k}: a '.$' field takes a path or an intrinsic")
                if v.startswith("States."):
                    parse_intrinsic(v)
                elif v.startswith("$"):
                    parse_path(v, f"{where}.{k}")
                else:
                    raise DefinitionError(f"{where}.{k}: {v!r} is neither a path nor an intrinsic")
            else:
                _check_template(v, f"{where}.{k}")
    elif isinstance(tmpl, list):
        for i, v in enumerate(tmpl):
            _check_template(v, f"{where}[{i}]")


def apply_template(tmpl, doc, context):
    if isinstance(tmpl, dict):
        out = {}
        for k, v in tmpl.items():
            if k.endswith(".$"):
                if v.startswith("States."):
                    out[k[:-2]] = eval_intrinsic(parse_intrinsic(v), doc, context, k)
                else:
                    out[k[:-2]] = resolve_path(v, doc, context, k)
            else:
                out[k] = apply_template(v, doc, context)
        return out
    if isinstance(tmpl, list):
        return [apply_template(v, doc, context) for v in tmpl]
    return tmpl


# ---- definition checking --------------------------------------------------------------------------

COMMON = {"Type", "Comment"}
FIELDS = {
    "Pass": COMMON | {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
    "Choice": COMMON | {"Choices", "Default", "InputPath", "OutputPath"},
    "Task": COMMON | {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters",
                      "ResultSelector", "Retry", "Catch", "Resource"},
    "Map": COMMON | {"Next", "End", "InputPath", "OutputPath", "ResultPath", "ResultSelector",
                     "Retry", "Catch", "ItemsPath", "ItemSelector", "ItemProcessor", "MaxConcurrency",
                     "MaxConcurrencyPath", "Label"},
    "Succeed": COMMON | {"InputPath", "OutputPath"},
    "Fail": COMMON | {"Error", "Cause"},
}
KNOWN_BUT_UNSUPPORTED = {
    "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Assign",
    "Arguments", "Output", "QueryLanguage", "Credentials", "ItemReader", "ItemBatcher",
    "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailureCount", "Iterator",
    "ToleratedFailurePercentagePath", "ToleratedFailureCountPath",
    "ErrorPath", "CausePath", "Items", "Seconds", "Timestamp", "SecondsPath", "TimestampPath",
    "Branches", "Parameters",
}
COMPARATORS = {
    "StringEquals": str, "StringLessThan": str, "StringGreaterThan": str,
    "StringLessThanEquals": str, "StringGreaterThanEquals": str, "StringMatches": str,
    "NumericEquals": (int, float), "NumericLessThan": (int, float), "NumericGreaterThan": (int, float),
    "NumericLessThanEquals": (int, float), "NumericGreaterThanEquals": (int, float),
    "BooleanEquals": bool, "IsPresent": bool, "IsNull": bool, "IsString": bool, "IsNumeric": bool,
    "IsBoolean": bool,
}
PATH_COMPARATORS = {k + "Path" for k in COMPARATORS
                    if not k.startswith("Is") and k != "StringMatches"}
RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
                  "JitterStrategy", "Comment"}
CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Comment"}


def _check_fields(obj, allowed, where):
    for k in obj:
        if k not in allowed:
            if k in KNOWN_BUT_UNSUPPORTED or k.startswith("Timestamp"):
                raise UnsupportedError(f"{where}: field {k!r} is not supported by the simulator")
            raise UnsupportedError(f"{where}: unknown field {k!r}")


def _check_error_equals(lst, where):
    if not isinstance(lst, list) or not lst or not all(isinstance(e, str) and e for e in lst):
        raise DefinitionError(f"{where}.ErrorEquals must be a non-empty array of strings")
    if "States.ALL" in lst and len(lst) != 1:
        raise DefinitionError(f"{where}.ErrorEquals: States.ALL must appear alone")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _error_rules(state, key, fields, kind, where):
    """Yields (path, rule) for each Retry or Catch rule after the checks both share: an array of
    objects with known fields and an ErrorEquals, States.ALL only in the last rule."""
    rules = state.get(key, [])
    if not isinstance(rules, list):
        raise DefinitionError(f"{where}.{key} must be an array")
    for i, r in enumerate(rules):
        w = f"{where}.{key}[{i}]"
        if not isinstance(r, dict):
            raise DefinitionError(f"{w} must be an object")
        _check_fields(r, fields, w)
        _check_error_equals(r.get("ErrorEquals"), w)
        if "States.ALL" in r["ErrorEquals"] and i != len(rules) - 1:
            raise DefinitionError(f"{w}: a States.ALL {kind} must be the last one")
        yield w, r


def _check_retry_catch(state, where, names):
    for w, r in _error_rules(state, "Retry", RETRIER_FIELDS, "retrier", where):
        if "IntervalSeconds" in r and (not _is_int(r["IntervalSeconds"]) or r["IntervalSeconds"] < 1):
            raise DefinitionError(f"{w}.IntervalSeconds must be a positive integer")
        if "MaxAttempts" in r and (not _is_int(r["MaxAttempts"]) or r["MaxAttempts"] < 0):
            raise DefinitionError(f"{w}.MaxAttempts must be a non-negative integer")
        if "BackoffRate" in r and (isinstance(r["BackoffRate"], bool) or
                                   not isinstance(r["BackoffRate"], (int, float)) or r["BackoffRate"] < 1.0):
            raise DefinitionError(f"{w}.BackoffRate must be a number >= 1.0")
        if "MaxDelaySeconds" in r and (not _is_int(r["MaxDelaySeconds"]) or r["MaxDelaySeconds"] < 1):
            raise DefinitionError(f"{w}.MaxDelaySeconds must be a positive integer")
        if r.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
            raise DefinitionError(f"{w}.JitterStrategy must be FULL or NONE")
    for w, c in _error_rules(state, "Catch", CATCHER_FIELDS, "catcher", where):
        if c.get("Next") not in names:
            raise DefinitionError(f"{w}.Next {c.get('Next')!r} is not a state")
        if c.get("ResultPath") is not None:
            parse_path(c["ResultPath"], f"{w}.ResultPath")


def _check_rule(rule, where, names, top):
    if not isinstance(rule, dict):
        raise DefinitionError(f"{where} must be an object")
    allowed = {"Variable", "And", "Or", "Not", "Comment"} | set(COMPARATORS) | PATH_COMPARATORS
    if top:
        allowed |= {"Next"}
    _check_fields(rule, allowed, where)
    if top and rule.get("Next") not in names:
        raise DefinitionError(f"{where}.Next {rule.get('Next')!r} is not a state")
    if not top and "Next" in rule:
        raise DefinitionError(f"{where}: Next is only allowed in a top-level choice rule")
    ops = [k for k in rule if k in COMPARATORS or k in PATH_COMPARATORS]
    bools = [k for k in rule if k in ("And", "Or", "Not")]
    if len(ops) + len(bools) != 1:
        raise DefinitionError(f"{where}: exactly one comparison or And/Or/Not, got {ops + bools}")
    if bools:
        if "Variable" in rule:
            raise DefinitionError(f"{where}: Variable is not allowed with {bools[0]}")
        if bools[0] == "Not":
            _check_rule(rule["Not"], f"{where}.Not", names, False)
        else:
            subs = rule[bools[0]]
            if not isinstance(subs, list) or not subs:
                raise DefinitionError(f"{where}.{bools[0]} must be a non-empty array")
            for i, s in enumerate(subs):
                _check_rule(s, f"{where}.{bools[0]}[{i}]", names, False)
        return
    if "Variable" not in rule:
        raise DefinitionError(f"{where}: missing Variable")
    parse_path(rule["Variable"], f"{where}.Variable")
    op = ops[0]
    if op in PATH_COMPARATORS:
        parse_path(rule[op], f"{where}.{op}")
    else:
        want = COMPARATORS[op]
        v = rule[op]
        if isinstance(v, bool) and want is not bool:
            raise DefinitionError(f"{where}.{op} must be a {want}, not a boolean")
        if not isinstance(v, want):
            raise DefinitionError(f"{where}.{op} has the wrong type: {v!r}")


def check_machine(machine, where="$"):
    """Validates a (sub-)state machine: StartAt, States, every field of every state."""
    if not isinstance(machine, dict):
        raise DefinitionError(f"{where} must be an object")
    allowed = {"StartAt", "States", "Comment"}
    if where == "$":
        allowed |= {"Version"}
    else:
        allowed |= {"ProcessorConfig"}
    _check_fields(machine, allowed, where)
    if machine.get("Version", "1.0") != "1.0":
        raise UnsupportedError(f"{where}.Version {machine['Version']!r}")
    states = machine.get("States")
    if not isinstance(states, dict) or not states:
        raise DefinitionError(f"{where}.States must be a non-empty object")
    if machine.get("StartAt") not in states:
        raise DefinitionError(f"{where}.StartAt {machine.get('StartAt')!r} is not a state")
    names = set(states)
    for name, st in states.items():
        w = f"{where}.States.{name}"
        if not isinstance(st, dict):
            raise DefinitionError(f"{w} must be an object")
        typ = st.get("Type")
        if typ not in FIELDS:
            raise UnsupportedError(f"{w}: state type {typ!r} is not supported by the simulator")
        _check_fields(st, FIELDS[typ], w)
        if typ in ("Pass", "Task", "Map"):
            if ("Next" in st) == bool(st.get("End")):
                raise DefinitionError(f"{w}: exactly one of Next and End: true")
            if "End" in st and st["End"] is not True:
                raise DefinitionError(f"{w}.End must be true when present")
            if "Next" in st and st["Next"] not in names:
                raise DefinitionError(f"{w}.Next {st['Next']!r} is not a state")
        for p in ("InputPath", "OutputPath"):
            if st.get(p) is not None:
                parse_path(st[p], f"{w}.{p}")
        if "ResultPath" in st and st["ResultPath"] is not None:
            root, _ = parse_path(st["ResultPath"], f"{w}.ResultPath")
            if root != "$":
                raise DefinitionError(f"{w}.ResultPath must be a reference path into $")
        for t in ("Parameters", "ResultSelector", "ItemSelector"):
            if t in st:
                if not isinstance(st[t], dict):
                    raise DefinitionError(f"{w}.{t} must be an object")
                _check_template(st[t], f"{w}.{t}")
        if typ in ("Task", "Map"):
            _check_retry_catch(st, w, names)
        if typ == "Task":
            if st.get("Resource") != LAMBDA_INVOKE:
                raise UnsupportedError(f"{w}.Resource {st.get('Resource')!r}: only {LAMBDA_INVOKE!r} "
                                       f"is supported")
            params = st.get("Parameters")
            if not isinstance(params, dict):
                raise UnsupportedError(f"{w}: lambda:invoke without Parameters is not supported")
            _check_fields(params, {"FunctionName", "FunctionName.$", "Payload", "Payload.$"},
                          f"{w}.Parameters")
            if not ({"FunctionName", "FunctionName.$"} & set(params)):
                raise DefinitionError(f"{w}.Parameters: FunctionName is required")
            if not ({"Payload", "Payload.$"} & set(params)):
                raise UnsupportedError(f"{w}.Parameters without Payload is not supported")
        elif typ == "Choice":
            choices = st.get("Choices")
            if not isinstance(choices, list) or not choices:
                raise DefinitionError(f"{w}.Choices must be a non-empty array")
            for i, rule in enumerate(choices):
                _check_rule(rule, f"{w}.Choices[{i}]", names, True)
            if "Default" in st and st["Default"] not in names:
                raise DefinitionError(f"{w}.Default {st['Default']!r} is not a state")
        elif typ == "Map":
            proc = st.get("ItemProcessor")
            if not isinstance(proc, dict):
                raise DefinitionError(f"{w}.ItemProcessor is required")
            cfg = proc.get("ProcessorConfig", {"Mode": "INLINE"})
            if not isinstance(cfg, dict):
                raise DefinitionError(f"{w}.ItemProcessor.ProcessorConfig must be an object")
            _check_fields(cfg, {"Mode", "ExecutionType"}, f"{w}.ItemProcessor.ProcessorConfig")
            mode = cfg.get("Mode", "INLINE")
            if mode not in ("INLINE", "DISTRIBUTED"):
                raise DefinitionError(f"{w}: ProcessorConfig.Mode {mode!r}")
            if mode == "DISTRIBUTED":
                if cfg.get("ExecutionType") != "STANDARD":
                    raise UnsupportedError(f"{w}: ProcessorConfig.ExecutionType "
                                           f"{cfg.get('ExecutionType')!r} (only STANDARD)")
            elif "ExecutionType" in cfg:
                raise DefinitionError(f"{w}: ExecutionType is only for Mode DISTRIBUTED")
            if "Label" in st and (mode != "DISTRIBUTED" or not isinstance(st["Label"], str)
                                  or not re.fullmatch(r"[^\s?*<>{}\[\]:;,\\|^~$#%&`\"]{1,40}",
                                                      st["Label"])):
                raise DefinitionError(f"{w}.Label must be a name of up to 40 characters, in a "
                                      f"DISTRIBUTED Map")
            check_machine(proc, f"{w}.ItemProcessor")
            if "MaxConcurrency" in st and "MaxConcurrencyPath" in st:
                raise DefinitionError(f"{w}: MaxConcurrency and MaxConcurrencyPath are exclusive")
            if "MaxConcurrencyPath" in st:
                parse_path(st["MaxConcurrencyPath"], f"{w}.MaxConcurrencyPath")
            mc = st.get("MaxConcurrency", 0)
            if not _is_int(mc) or mc < 0:
                raise DefinitionError(f"{w}.MaxConcurrency must be a non-negative integer")
            if "ItemsPath" in st:
                parse_path(st["ItemsPath"], f"{w}.ItemsPath")
        elif typ == "Fail":
            for k in ("Error", "Cause"):
                if k in st and not isinstance(st[k], str):
                    raise DefinitionError(f"{w}.{k} must be a string")


# ---- the interpreter ------------------------------------------------------------------------------

def _spath(parts):
    """A state's path in the history: state names and Map indexes joined by '/'."""
    return "/".join(map(str, parts))


def iso_ms(dt):
    """2026-11-25T10:11:12.345Z, as Step Functions formats $$.Execution.StartTime."""
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _size_check(value, what):
    n = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if n > MAX_PAYLOAD_BYTES:
        raise StatesError("States.DataLimitExceeded",
                          f"{what} of {n} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} bytes")


class _Fatal(Exception):
    """An uncatchable error (States.Runtime, States.DataLimitExceeded) ending the execution."""

    def __init__(self, err):
        super().__init__(str(err))
        self.err = err


_SEQ = itertools.count(1)  # orders events across an execution and its children


class Execution:
    def __init__(self, name, start_time, exec_input, state_machine_arn, arn=None,
                 max_history_events=MAX_HISTORY_EVENTS):
        self.name = name
        self.arn = arn or state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
        self.start_time = start_time
        self.input = exec_input
        self.status = "RUNNING"
        self.output = None
        self.error = None
        self.cause = None
        self.history = []
        self.aws_events = 0
        self.max_history_events = max_history_events
        self.children = []
        self.state_entries = 0
        self.retries = 0
        self._lock = threading.Lock()

    @property
    def transitions(self):
        with self._lock:
            children = list(self.children)
        return self.state_entries + self.retries + sum(c.transitions for c in children)

    def event(self, type_, **fields):
        with self._lock:
            ev = {"id": len(self.history) + 1, "seq": next(_SEQ), "type": type_,
                  "timestamp": iso_ms(datetime.datetime.now(datetime.timezone.utc))}
            ev.update(fields)
            self.history.append(ev)
            if type_ not in SIM_ONLY_EVENTS:
                self.aws_events += 1
            over = (self.max_history_events and self.aws_events > self.max_history_events
                    and not type_.startswith("Execution"))
        if over:
            raise _Fatal(StatesError("States.Runtime", f"The execution reached the quota of "
                                     f"{self.max_history_events} history events"))
        return ev

    def events(self, type_=None, state=None, children=True):
        """This execution's events (and, with children, its child executions'), in order."""
        with self._lock:
            evs = [e for e in self.history if (type_ is None or e["type"] == type_)
                   and (state is None or e.get("state") == state)]
            kids = list(self.children) if children else []
        for c in kids:
            evs.extend(c.events(type_, state))
        return sorted(evs, key=lambda e: e["seq"]) if kids else evs

    def invocations(self):
        """The Lambda calls in order (children's included): [{"state", "path", "function",
        "payload", "ok", "answer"}]."""
        return [{k: e.get(k) for k in ("state", "path", "function", "payload", "ok", "answer")}
                for e in self.events("LambdaFunctionCompleted")]

    def __repr__(self):
        return (f"<Execution {self.name} {self.status} error={self.error!r} "
                f"transitions={self.transitions}>")


class StateMachine:
    """definition: the JSON text (after substitutions) or the parsed dict.
    invoke(function_name, payload) -> (ok, answer): ok False is a function error.
    time_scale: retry delays are slept for delay * time_scale seconds (0: not at all).
    parallel: Map iterations in threads (MaxConcurrency at a time) or one after the other.
    max_transitions: a guard against runaway loops (SimulationLimit), per execution.
    max_history_events: the history quota of each execution (0: none)."""

    def __init__(self, definition, invoke, name="StateMachine", time_scale=0.0, parallel=True,
                 max_transitions=10000, seed=None, sleep=time.sleep,
                 max_history_events=MAX_HISTORY_EVENTS):
        if isinstance(definition, str):
            try:
                definition = json.loads(definition)
            except ValueError as e:
                raise DefinitionError(f"the definition is not JSON: {e}") from None
        check_machine(definition)
        self.definition = definition
        self.invoke = invoke
        self.name = name
        self.arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
        self.time_scale = time_scale
        self.parallel = parallel
        self.max_transitions = max_transitions
        self.max_history_events = max_history_events
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._sleep = sleep

    # -- executions -------------------------------------------------------------------------

    def start_execution(self, exec_input=None, name=None, start_time=None):
        """Runs an execution to its end and returns the Execution (status SUCCEEDED or FAILED).
        start_time: a datetime (default now) or an ISO string for $$.Execution.StartTime."""
        exec_input = {} if exec_input is None else exec_input
        if isinstance(start_time, str):
            start = start_time
        else:
            start = iso_ms(start_time or datetime.datetime.now(datetime.timezone.utc))
        ex = Execution(name or str(uuid.uuid4()), start, exec_input, self.arn,
                       max_history_events=self.max_history_events)
        return self._execute(ex, self.definition, ())

    def _execute(self, ex, machine, path):
        """Runs machine as the execution ex (a top-level one or a Distributed Map's child)."""
        exec_input = ex.input
        try:
            ex.event("ExecutionStarted", input=exec_input)
            _size_check(exec_input, "The execution input")
            ex.output = self._run(machine, exec_input, ex, path)
            ex.status = "SUCCEEDED"
            ex.event("ExecutionSucceeded", output=ex.output)
        except _Fatal as f:
            ex.status, ex.error, ex.cause = "FAILED", f.err.error, f.err.cause
            ex.event("ExecutionFailed", error=ex.error, cause=ex.cause)
        except StatesError as e:
            ex.status, ex.error, ex.cause = "FAILED", e.error, e.cause
            ex.event("ExecutionFailed", error=ex.error, cause=ex.cause)
        return ex

    def _context(self, ex, state_name, entered, retry_count):
        ctx = {
            "Execution": {"Id": ex.arn, "Name": ex.name, "StartTime": ex.start_time,
                          "Input": ex.input, "RoleArn": "arn:aws:iam::123456789012:role/sim",
                          "RedriveCount": 0},
            "State": {"Name": state_name, "EnteredTime": entered, "RetryCount": retry_count},
            "StateMachine": {"Id": self.arn, "Name": self.name},
        }
        return ctx

    def _run(self, machine, doc, ex, path):
        """Runs a (sub-)machine from StartAt; returns its output or raises StatesError."""
        states = machine["States"]
        name = machine["StartAt"]
        while True:
            st = states[name]
            spath = _spath(path + (name,))
            with ex._lock:
                ex.state_entries += 1
                if ex.state_entries > self.max_transitions:
                    raise SimulationLimit(f"more than {self.max_transitions} state transitions "
                                          f"(last state {spath})")
            entered = iso_ms(datetime.datetime.now(datetime.timezone.utc))
            ex.event(f"{st['Type']}StateEntered", state=name, path=spath, input=doc)
            try:
                _size_check(doc, f"The input of state {name}")
                output, nxt = self._run_state(name, st, doc, ex, path, spath, entered)
                _size_check(output, f"The output of state {name}")
            except StatesError as e:
                if e.error in UNCATCHABLE:
                    ex.event(f"{st['Type']}StateFailed", state=name, path=spath, error=e.error,
                             cause=e.cause)
                    raise _Fatal(e) from None
                caught = self._catch(st, e, doc, ex, name, spath)
                if caught is None:
                    ex.event(f"{st['Type']}StateFailed", state=name, path=spath, error=e.error,
                             cause=e.cause)
                    raise
                output, nxt = caught
            ex.event(f"{st['Type']}StateExited", state=name, path=spath, output=output)
            if nxt is None:
                return output
            doc, name = output, nxt

    def _catch(self, st, err, raw_input, ex, name, spath):
        for i, c in enumerate(st.get("Catch", [])):
            if any(error_matches(p, err.error) for p in c["ErrorEquals"]):
                ex.event("CatchMatched", state=name, path=spath, catcher=i, error=err.error,
                         next=c["Next"])
                out = set_result_path(raw_input, c.get("ResultPath", "$"),
                                      {"Error": err.error, "Cause": err.cause},
                                      f"{name}.Catch[{i}].ResultPath")
                return out, c["Next"]
        return None

    def _run_state(self, name, st, raw, ex, path, spath, entered):
        typ = st["Type"]
        nxt = st.get("Next")
        ctx = lambda retry=0: self._context(ex, name, entered, retry)  # noqa: E731
        if typ in ("Pass", "Task", "Map", "Choice", "Succeed"):
            eff = raw if "InputPath" not in st else (
                {} if st["InputPath"] is None else resolve_path(st["InputPath"], raw, ctx(), "InputPath"))
        if typ == "Succeed":
            return self._output(st, eff, ctx()), None
        if typ == "Fail":
            raise StatesError(st.get("Error"), st.get("Cause"))
        if typ == "Choice":
            for i, rule in enumerate(st["Choices"]):
                if self._rule(rule, eff, ctx()):
                    ex.event("ChoiceMatched", state=name, path=spath, rule=i, next=rule["Next"])
                    return self._output(st, eff, ctx()), rule["Next"]
            if "Default" in st:
                return self._output(st, eff, ctx()), st["Default"]
            raise StatesError("States.NoChoiceMatched",
                              f"No Choice Rules matched and no Default is specified in state {name}")
        if typ == "Pass":
            if "Parameters" in st:
                eff = apply_template(st["Parameters"], eff, ctx())
            result = st["Result"] if "Result" in st else eff
            out = set_result_path(raw, st.get("ResultPath", "$"), result)
            return self._output(st, out, ctx()), nxt
        # Task and Map: with retries
        attempts = [0] * len(st.get("Retry", []))
        retry_count = 0
        while True:
            try:
                if typ == "Task":
                    result = self._task(name, st, eff, ex, spath, ctx(retry_count))
                else:
                    result = self._map(name, st, eff, ex, path, spath, ctx(retry_count))
                if "ResultSelector" in st:
                    result = apply_template(st["ResultSelector"], result, ctx(retry_count))
                out = set_result_path(raw, st.get("ResultPath", "$"), result)
                return self._output(st, out, ctx(retry_count)), nxt
            except StatesError as e:
                if e.error in UNCATCHABLE:
                    raise
                delay = self._retry_delay(st, attempts, e)
                if delay is None:
                    raise
                retry_count += 1
                with ex._lock:
                    ex.retries += 1
                ex.event("RetryScheduled", state=name, path=spath, error=e.error, cause=e.cause,
                         attempt=retry_count, delay_seconds=delay)
                if delay * self.time_scale > 0:
                    self._sleep(delay * self.time_scale)

    def _retry_delay(self, st, attempts, err):
        """The first retrier that matches decides: its delay, or None (exhausted / MaxAttempts 0)."""
        for i, r in enumerate(st.get("Retry", [])):
            if not any(error_matches(p, err.error) for p in r["ErrorEquals"]):
                continue
            if attempts[i] >= r.get("MaxAttempts", 3):
                return None
            delay = r.get("IntervalSeconds", 1) * (r.get("BackoffRate", 2.0) ** attempts[i])
            if "MaxDelaySeconds" in r:
                delay = min(delay, r["MaxDelaySeconds"])
            if r.get("JitterStrategy", "NONE") == "FULL":
                with self._rng_lock:
                    delay = self._rng.uniform(0, delay)
            attempts[i] += 1
            return delay
        return None

    def _output(self, st, out, ctx):
        if "OutputPath" not in st:
            return out
        if st["OutputPath"] is None:
            return {}
        return resolve_path(st["OutputPath"], out, ctx, "OutputPath")

    # -- Task: lambda:invoke ------------------------------------------------------------------

    def _task(self, name, st, eff, ex, spath, ctx):
        params = apply_template(st["Parameters"], eff, ctx)
        fn = params.get("FunctionName")
        if not isinstance(fn, str) or not fn:
            raise StatesError("States.Runtime", f"{name}: FunctionName must be a non-empty string")
        payload = params.get("Payload")
        _size_check(payload, f"The payload of state {name}")
        ex.event("TaskScheduled", state=name, path=spath, resource=st["Resource"], function=fn,
                 payload=payload)
        try:
            ok, answer = self.invoke(fn, payload)
        except TaskFailed as e:
            ex.event("LambdaFunctionCompleted", state=name, path=spath, function=fn,
                     payload=payload, ok=False, answer=None, error=e.error)
            ex.event("TaskFailed", state=name, path=spath, error=e.error, cause=e.cause)
            raise StatesError(e.error, e.cause) from None
        ex.event("LambdaFunctionCompleted", state=name, path=spath, function=fn, payload=payload,
                 ok=bool(ok), answer=answer)
        if not ok:
            error = answer.get("errorType") if isinstance(answer, dict) else None
            if not isinstance(error, str) or not error:
                error = "Lambda.Unknown"
            cause = answer if isinstance(answer, str) else json.dumps(answer, separators=(",", ":"))
            ex.event("TaskFailed", state=name, path=spath, error=error, cause=cause)
            raise StatesError(error, cause)
        result = {
            "ExecutedVersion": "$LATEST",
            "Payload": answer,
            "SdkHttpMetadata": {"AllHttpHeaders": {}, "HttpHeaders": {}, "HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
            "StatusCode": 200,
        }
        ex.event("TaskSucceeded", state=name, path=spath, output=result)
        return result

    # -- Map (INLINE, DISTRIBUTED) ---------------------------------------------------------------------------

    def _map(self, name, st, eff, ex, path, spath, ctx):
        items = resolve_path(st.get("ItemsPath", "$"), eff, ctx, "ItemsPath")
        if not isinstance(items, list):
            raise StatesError("States.Runtime",
                              f"{name}: ItemsPath must select an array, got {_short(items)}")
        proc = st["ItemProcessor"]
        distributed = proc.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
        if "MaxConcurrencyPath" in st:
            mc = resolve_path(st["MaxConcurrencyPath"], eff, ctx, "MaxConcurrencyPath")
            if not _is_int(mc) or mc < 0:
                raise StatesError("States.Runtime", f"{name}: MaxConcurrencyPath must select a "
                                  f"non-negative integer, got {_short(mc)}")
        else:
            mc = st.get("MaxConcurrency", 0)
        n = len(items)
        ex.event("MapStateStarted", state=name, path=spath, length=n, max_concurrency=mc)
        label = st.get("Label", name)
        if distributed:
            ex.event("MapRunStarted", state=name, path=spath, label=label)
        results = [None] * n
        failed = []
        stop = threading.Event()

        def iteration(i):
            if stop.is_set():
                return
            item = {"Index": i, "Value": items[i]}
            ipath = path + (name, i)
            ispath = _spath(ipath)
            if not distributed:
                ex.event("MapIterationStarted", state=name, path=ispath, index=i)
            try:
                ictx = dict(ctx)
                ictx["Map"] = {"Item": item}
                doc = apply_template(st["ItemSelector"], eff, ictx) if "ItemSelector" in st \
                    else items[i]
                if distributed:
                    child_id = str(uuid.uuid4())
                    child = Execution(child_id, iso_ms(datetime.datetime.now(datetime.timezone.utc)),
                                      doc, self.arn,
                                      arn=ex.arn.split(":execution:")[0] + ":execution:"
                                      + f"{self.name}/{label}:{child_id}",
                                      max_history_events=self.max_history_events)
                    child.parent, child.index = ex, i
                    with ex._lock:
                        ex.children.append(child)
                    self._execute(child, proc, ipath)
                    if child.status != "SUCCEEDED":
                        raise StatesError(child.error, child.cause)
                    results[i] = child.output
                else:
                    results[i] = self._run(proc, doc, ex, ipath)
                    ex.event("MapIterationSucceeded", state=name, path=ispath, index=i)
            except (StatesError, _Fatal, AslError) as e:
                stop.set()
                failed.append((i, e))
                err = e.err if isinstance(e, _Fatal) else e
                if not distributed:
                    ex.event("MapIterationFailed", state=name, path=ispath, index=i,
                             error=getattr(err, "error", type(err).__name__),
                             cause=getattr(err, "cause", str(err)))

        workers = n if mc == 0 else min(mc, n)
        if self.parallel and workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for f in [pool.submit(iteration, i) for i in range(n)]:
                    f.result()
        else:
            for i in range(n):
                iteration(i)
        if failed:
            i, e = failed[0]
            if isinstance(e, AslError) or (isinstance(e, _Fatal) and not distributed):
                raise e
            if distributed:
                # the child failed (its own history says why); the Map Run fails as a whole
                cause = "The specified tolerated failure threshold was exceeded"
                ex.event("MapRunFailed", state=name, path=spath, index=i, child_error=e.error,
                         child_cause=e.cause)
                ex.event("MapStateFailed", state=name, index=i,
                         error="States.ExceedToleratedFailureThreshold", cause=cause)
                raise StatesError("States.ExceedToleratedFailureThreshold", cause)
            ex.event("MapStateFailed", state=name, index=i, error=e.error, cause=e.cause)
            raise StatesError(e.error, e.cause)
        if distributed:
            ex.event("MapRunSucceeded", state=name, path=spath)
        ex.event("MapStateSucceeded", state=name, path=spath)
        return results

    # -- Choice rules ---------------------------------------------------------------------------

    def _rule(self, rule, doc, ctx):
        if "And" in rule:
            return all(self._rule(r, doc, ctx) for r in rule["And"])
        if "Or" in rule:
            return any(self._rule(r, doc, ctx) for r in rule["Or"])
        if "Not" in rule:
            return not self._rule(rule["Not"], doc, ctx)
        op = next(k for k in rule if k in COMPARATORS or k in PATH_COMPARATORS)
        var = rule["Variable"]
        root, segs = parse_path(var, "Variable")
        value = _walk(ctx if root == "$$" else doc, segs)
        if op == "IsPresent":
            return (value is not _MISSING) == rule[op]
        if value is _MISSING:
            raise StatesError("States.Runtime",
                              f"Invalid path '{var}': The choice state's condition path references "
                              f"an invalid value.")
        if op in PATH_COMPARATORS:
            expected = resolve_path(rule[op], doc, ctx, op)
            op = op[:-4]
        else:
            expected = rule[op]
        if op == "IsNull":
            return (value is None) == expected
        if op == "IsString":
            return isinstance(value, str) == expected
        if op == "IsNumeric":
            return (isinstance(value, (int, float)) and not isinstance(value, bool)) == expected
        if op == "IsBoolean":
            return isinstance(value, bool) == expected
        if op.startswith("String"):
            if not isinstance(value, str) or not isinstance(expected, str):
                return False
            if op == "StringMatches":
                return _string_matches(value, expected)
            return _compare(op[len("String"):], value, expected)
        if op.startswith("Numeric"):
            if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in (value, expected)):
                return False
            return _compare(op[len("Numeric"):], value, expected)
        if op == "BooleanEquals":
            return isinstance(value, bool) and isinstance(expected, bool) and value == expected
        raise UnsupportedError(f"choice operator {op}")


def _compare(kind, a, b):
    return {"Equals": a == b, "LessThan": a < b, "GreaterThan": a > b,
            "LessThanEquals": a <= b, "GreaterThanEquals": a >= b}[kind]


def _string_matches(value, pattern):
    """StringMatches: '*' matches any run of characters; '\\*' and '\\\\' are literal."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), value, re.S) is not None
