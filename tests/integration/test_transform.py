"""Issue 10: declarative transforms end to end. The real bootstrap, under scripts/local-invoke,
runs the example spec (events/transform-single-table.json) over generated single-table stream
batches (to file:// and, through the SigV4-verifying proxy, to s3rver) and over a snapshot of a
dynalite table; every record is followed to where it must land (its dataset's changes/ or
rejected/, the quarantine, or nowhere: filtered, unrouted, a duplicate) and every written row
is compared field by field with txref.py, an independent implementation of the README's
semantics (numbers digit for digit, HMAC-SHA256 under the same key, dates and times as text).
Counts must add up exactly: per batch against the EMF metrics and the objects, per snapshot
against each dataset's manifest. A second spec written here exercises what the example does
not use (keep_unmapped, flatten, constants, typed derives, rename/select, dedupe by columns,
the other PII options, routing by attribute, unrouted rows, expression errors).

Phase 2, data quality: txref.py evaluates the DQDL rulesets on its own rows, and every result
document ({dataset}/dq/{partition}/{first}-{last}.json per stream batch, {dataset}/dq/run=
{run_id}/result.json per snapshot run, before _SUCCESS) is compared with it rule by rule
(Result, Score, AggregatedMetrics, each EvaluatedMetrics value), as are the RulePassed EMF
lines, each rejected row's DataQualityRulesFail, DetectAnomalies' history.json, warm-up and
outlier, SchemaMatch against the previous snapshot's schema.json, SchemaDrift after a
snapshot, and what a rule with action fail does to a stream batch and to a snapshot. The
example spec's own rules are checked on the runs above; a DQ spec (DQ_USERS_RULES) adds the
rule types and features the example does not use. Where txref settles what the README leaves
open is listed in txref.py ("DQDL rulesets") and at the checks that accept either reading.

ETL_TEST_TRANSFORM_SPEC overrides the example spec file (to try a corrected copy)."""
import collections
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
import stgen  # noqa: E402
import txref  # noqa: E402
from stack import LocalStack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUCKET = "lake"
SPEC = os.path.abspath(os.environ.get("ETL_TEST_TRANSFORM_SPEC") or os.path.join(
    itlib.SOURCE_DIR, "events", "transform-single-table.json"))
PII_KEY = "integration pii key \u00e9\u00df"   # the key is the variable's UTF-8 bytes
STREAM_SEED = 20261203
BATCHES = 3
BATCH_RECORDS = 600
SNAP_TABLE = "AppSnap"
SNAP_ITEMS = 3000
MAX_SHOWN = 5

# What the example spec leaves out, on the same generated records.
FEATURES_SPEC = {
    "version": 1,
    "pii_key": {"env": "ETL_PII_KEY"},
    "datasets": [
        {"name": "profiles",
         "when": "entity = 'user' AND (starts_with(pk, 'USER#a') OR pk LIKE 'USER#s%')",
         "mappings": [
             ["pk", "string", "id", "string"],
             ["credit_limit", "string", "limit_text", "decimal(12,2)", "keep"],
             ["created_at", "bigint", "created", "timestamp"],
             ["tier", "string", "tier", "string"],
             {"source": "marketing_opt_in", "source_type": "boolean", "target": "opt_in",
              "type": "int"},
             ["address", "map<string,string>", "address", "map<string,string>"],
             ["tags", "array<string>", "tags", "array<string>"],
             ["birth_date", "string", "birth", "date", "reject"],
             ["name", "string", "name", "varchar"],
             ["email", "string", "email", "string"],
             ["phone", "string", "phone", "string"]],
         "keep_unmapped": True,
         "flatten": {"depth": 1, "separator": "__"},
         "constants": {"source_system": "crm", "schema_version": 3, "rate": "@RATE@"},
         "derive": [
             {"name": "tier_rank", "expr": "if(tier = 'GOLD', 3, if(tier = 'SILVER', 2, 1))"},
             {"name": "label", "expr": "concat(upper(coalesce(tier, 'none')), '-', substr(id, 6))"},
             {"name": "name_len", "expr": "length(name)"},
             {"name": "limit_x2", "expr": "try_cast(limit_text AS decimal(14,2)) * 2",
              "type": "decimal(14,2)", "on_error": "reject"}],
         "filter": "_op <> 'REMOVE' AND (tier IS NULL OR tier NOT IN ('PLATINUM'))",
         "rename": {"_op": "operation", "email": "email_address"},
         "select": ["id", "tier", "tier_rank", "label", "limit_text", "limit_x2", "created", "birth",
                    "opt_in", "email_address", "phone", "name", "name_len", "source_system",
                    "schema_version", "rate", "address__city", "tags", "sk", "operation"],
         "drop": ["_ts", "sk"],
         "dedupe": {"key": ["id"]},
         "pii": [{"column": "email_address", "method": "truncate", "keep": 3, "from": "start"},
                 {"column": "phone", "method": "redact", "replacement": "***"},
                 {"column": "name", "method": "hmac_sha256"}]},
        {"name": "orders_eu",
         "when": "entity = 'order' AND shipping.country IN ('DE', 'FR', 'CH')",
         "flatten": 2,
         "constants": {"region": "eu"},
         "filter": "total IS NOT NULL AND total >= 10",
         "drop": ["_event_id"],
         "dedupe": True},
        {"name": "orders_rest",
         "when": "entity = 'order'",
         "mappings": [["pk", "string", "order_id", "string"],
                      ["total", "string", "total", "decimal(38,2)"],
                      ["note", "string", "note", "string"]],
         "derive": [{"name": "qty", "expr": "cast(coalesce(note, '0') AS bigint)"}]}]}


def features_spec_text():
    """FEATURES_SPEC as JSON text, with a constant whose digits must be kept (0.10)."""
    return json.dumps(FEATURES_SPEC, ensure_ascii=False).replace('"@RATE@"', "0.10")


# Phase 2: data quality. The example spec's own rules are checked on the runs above; a DQ spec
# (the example's datasets, users with the ruleset below) adds the rule types and features the
# example does not use, over stream batches that warm DetectAnomalies up and then bring an
# outlier, over snapshots of a small table (SchemaMatch against the previous run, anomaly
# history across runs) and, in a variant, a rule with action fail.
DQ_USERS_RULES = [
    'IsComplete "user_id"',
    'ColumnValues "tier" in ["FREE", "SILVER", "GOLD"]',
    'ColumnValues "credit_limit" between 250.75 and 9999999999.99 with action = "warn"',
    "ColumnLength \"country\" between 1 and 3 where \"tier = 'GOLD'\"",
    '(IsComplete "email") and (ColumnValues "phone" matches "[+0-9 ()-]+")',
    'RowCount > 10',
    'Completeness "birth_date" > 0.95',
    'Uniqueness "tier" > 0.5',
    'IsPrimaryKey "user_id"',
    'Mean "credit_limit" > 1000',
    'Sum "credit_limit" between 0 and 1000000000000',
    'DistinctValuesCount "tier" >= 5',
    'ColumnExists "email_domain"',
    '(RowCount > 0) and (Completeness "phone" >= 0.9)',
    "Completeness \"email\" > 0.99 where \"tier = 'GOLD'\"",
    'DetectAnomalies "RowCount"',
    'SchemaMatch "ref" = 1.0',
]
DQ_FAIL_RULE = "Rule_8"        # Uniqueness "tier" > 0.5: never passes on these rows
DQ_SEED = 20261204
DQ_BATCH = 300
DQ_WARM = 5                    # batches of DQ_BATCH records, then one of DQ_OUTLIER
DQ_OUTLIER = 3000
DQ_TABLE = "DqSnap"
DQ_ITEMS = 600
DQ_RUNS = ("2026-11-24T06:00:00Z", "2026-11-25T06:00:00Z", "2026-11-26T06:00:00Z")
# Metrics compared exactly (counts); the others to 1e-9 relative.
COUNT_METRICS = ("RowCount", "DistinctValuesCount", "MinimumLength", "MaximumLength",
                 "ColumnExists", "ColumnCount")


def dq_spec_text(fail=False):
    """The DQ spec: the example spec with users' rules replaced. fail: the variant whose
    DQ_FAIL_RULE has action fail (rule_actions) and whose users get one more column (so a
    snapshot of it does not match the previous run's schema)."""
    with open(SPEC, encoding="utf-8") as f:
        spec = json.load(f)
    users = spec["datasets"][0]
    assert users["name"] == "users"
    users["rules"] = "Rules = [ " + ", ".join(DQ_USERS_RULES) + " ]"
    if fail:
        users["rule_actions"] = {DQ_FAIL_RULE: "fail"}
        users["derive"] = users.get("derive", []) + [{"name": "tier_lower", "expr": "lower(tier)"}]
    return json.dumps(spec, ensure_ascii=False)


def partition_of(ts):
    """The default ETL_PARTITION of a change time (epoch seconds)."""
    iso = ddbgen.iso_ms(ts)
    return f"dt={iso[:10]}/hour={iso[11:13]}"


def rule_emf_of(result):
    """The per-rule EMF lines (RulePassed) of an invocation, in order."""
    lines = [json.loads(l) for l in result.stderr.splitlines() if l.startswith('{"_aws"')]
    return [l for l in lines if "RulePassed" in l]


def close(want, got, exact=False):
    """A reported number against the reference's (a Fraction or float)."""
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    if exact:
        return got == want
    w = float(want)
    return got == w if w == 0 else abs(got - w) <= 1e-9 * abs(w)


def insert_record(table, item, seq, ts, n, ttl_delete=False):
    """A DynamoDB Streams INSERT record of item (DynamoDB JSON) in table (ttl_delete: the
    REMOVE that DynamoDB's TTL makes of it)."""
    rec = {"eventID": f"dq{n:030x}", "eventName": "INSERT", "eventVersion": "1.1",
           "eventSource": "aws:dynamodb", "awsRegion": ddbgen.REGION,
           "dynamodb": {"ApproximateCreationDateTime": ts,
                        "Keys": {"pk": item["pk"], "sk": item["sk"]}, "NewImage": item,
                        "SequenceNumber": str(seq), "SizeBytes": len(json.dumps(item)),
                        "StreamViewType": "NEW_AND_OLD_IMAGES"},
           "eventSourceARN": ddbgen.stream_arn(table)}
    if ttl_delete:
        rec["eventName"] = "REMOVE"
        rec["dynamodb"]["OldImage"] = rec["dynamodb"].pop("NewImage")
        rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return rec


class Evaluation:
    """One expected evaluation of a dataset's rules: where it happened, the reference's result
    and the document the bootstrap wrote (None: missing)."""

    def __init__(self, ident, dataset, key, ref, doc):
        self.ident, self.dataset, self.key, self.ref, self.doc = ident, dataset, key, ref, doc


def check_result_doc(pr, ev):
    """A result document against the reference: Score, AggregatedMetrics, each rule's Name,
    Description, Result and EvaluatedMetrics, SchemaMatch's message without a reference,
    DetectAnomalies' warm-up message and its observation."""
    ident, ref = ev.ident, ev.ref
    try:
        doc = json.loads(ev.doc)
    except ValueError:
        pr["dq-docs"].add("result document is not JSON", ident)
        return
    if not close(ref.score, doc.get("Score")):
        pr["dq-results"].add("Score", f"{ident}: {doc.get('Score')!r}, reference {float(ref.score)!r}")
    if doc.get("AggregatedMetrics") != ref.aggregated:
        pr["dq-results"].add("AggregatedMetrics",
                             f"{ident}: {doc.get('AggregatedMetrics')}, reference {ref.aggregated}")
    rrs = doc.get("RuleResults") or []
    if [r.get("Name") for r in rrs] != [o.rule.name for o in ref.outcomes]:
        pr["dq-results"].add("RuleResults names", f"{ident}: {[r.get('Name') for r in rrs]}")
    by_name = {r.get("Name"): r for r in rrs}
    observations = doc.get("Observations")
    for o in ref.outcomes:
        rr = by_name.get(o.rule.name)
        if rr is None:
            continue
        what = f"{ident} {o.rule.name} `{o.rule.text}`"
        if rr.get("Description") != o.rule.text:
            pr["dq-results"].add("Description is not the rule's text", f"{what}: {rr.get('Description')!r}")
        ref_metrics = {k: float(v) for k, v in o.metrics.items()}
        if rr.get("Result") != o.result:
            pr["dq-results"].add(f"{o.rule.type}: Result differs",
                                 f"{what}: {rr.get('Result')} ({rr.get('EvaluationMessage')!r}, "
                                 f"{rr.get('EvaluatedMetrics')}), reference {o.result} {ref_metrics}")
        em = rr.get("EvaluatedMetrics")
        if not isinstance(em, dict):
            pr["dq-metrics"].add("EvaluatedMetrics is not an object", f"{what}: {em!r}")
            continue
        for name, want in o.metrics.items():
            last = name.rsplit(".", 1)[1]
            if name not in em:
                pr["dq-metric-names"].add(f"{o.rule.type}: no {name.split('.', 1)[0]}.*.{last}",
                                          f"{what}: {em}, reference {ref_metrics}")
            elif not close(want, em[name], exact=last in COUNT_METRICS):
                pr["dq-metrics"].add(f"{o.rule.type}: {last} differs",
                                     f"{what}: {name} = {em[name]!r}, reference {float(want)!r}")
        for name in em:
            if name not in o.metrics:
                pr["dq-metric-names"].add(f"{o.rule.type}: a metric the reference does not report",
                                          f"{what}: {name} = {em[name]!r} (reference {ref_metrics})")
        msg = rr.get("EvaluationMessage") or ""
        if o.rule.type == "SchemaMatch" and o.message and o.message not in msg:
            pr["dq-schema"].add("SchemaMatch without a reference: message", f"{what}: {msg!r}")
        if o.rule.type == "DetectAnomalies":
            if (o.message is not None) != ("warm" in msg.lower()):
                pr["dq-anomaly"].add("warm-up message", f"{what}: {msg!r}, reference {o.message!r}")
            if o.observation:
                metric, value, lo, hi = o.observation
                found = [ob for ob in observations or []
                         if close(value, ((ob.get("MetricBasedObservation") or {}).get("MetricValues") or {}).get("ActualValue"))]
                mv = found[0]["MetricBasedObservation"]["MetricValues"] if found else {}
                if not found:
                    pr["dq-anomaly"].add("no observation with the anomalous value",
                                         f"{what}: value {value}, observations {observations}")
                elif not (close(lo, mv.get("LowerLimit")) and close(hi, mv.get("UpperLimit"))):
                    pr["dq-anomaly"].add("observation's range differs",
                                         f"{what}: {mv}, reference [{lo!r}, {hi!r}]")
    if not any(o.observation for o in ref.outcomes) and observations:
        pr["dq-anomaly"].add("observations without an anomaly", f"{ident}: {observations}")


def check_rule_emf(pr, ident, result, evaluations):
    """One EMF line per rule per evaluation (RulePassed 1 for PASS, else 0), with dimensions
    service, dataset and rule, in each dataset's evaluation order."""
    lines = rule_emf_of(result)
    got = collections.defaultdict(list)
    for l in lines:
        cw = (l.get("_aws") or {}).get("CloudWatchMetrics") or [{}]
        if cw[0].get("Dimensions") != [["service", "dataset", "rule"]] or \
                not any(m.get("Name") == "RulePassed" for m in cw[0].get("Metrics") or []) or \
                not l.get("service"):
            pr["dq-emf"].add("RulePassed line without its metric or dimensions service, dataset, rule",
                             f"{ident}: {short(l, 400)}")
        got[l.get("dataset")].append((l.get("rule"), l.get("RulePassed")))
    want = collections.defaultdict(list)
    for ev in evaluations:
        want[ev.dataset] += [(o.rule.name, 1 if o.result == "PASS" else 0) for o in ev.ref.outcomes]
    for ds in sorted(set(got) | set(want), key=str):
        if got[ds] != want[ds]:
            diff = [(w, g) for w, g in zip(want[ds], got[ds]) if w != g][:6]
            pr["dq-emf"].add("RulePassed lines differ from the reference",
                             f"{ident} {ds}: {len(got[ds])} lines, reference {len(want[ds])}; "
                             f"first differences (reference, got) {diff}")


def scheduled(time_):
    return {"version": "0", "id": "7c1a4f10", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time_,
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
            "detail": {}}


def read_tree(root):
    out = {}
    for base, _, files in os.walk(root):
        for f in files:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def lines_of(key, data):
    if key.endswith(".gz"):
        data = gzip.decompress(data)
    return [ddbgen.loads_exact(l) for l in data.decode("utf-8").split("\n") if l]


def emf_of(result):
    """The batch EMF lines (the one per invocation with RecordsIn; rules have their own)."""
    lines = [json.loads(l) for l in result.stderr.splitlines() if l.startswith('{"_aws"')]
    return [l for l in lines if "RecordsIn" in l]


def short(obj, n=700):
    return json.dumps(obj, ensure_ascii=False, default=repr)[:n]


class Problems:
    """Failures by category, so that one run shows every kind of disagreement."""

    def __init__(self):
        self.by_kind = collections.OrderedDict()

    def add(self, kind, detail):
        self.by_kind.setdefault(kind, []).append(detail)

    def report(self):
        out = []
        for kind, items in self.by_kind.items():
            out.append(f"{len(items)} x {kind}")
            out += [f"    {d}"[:1600] for d in items[:MAX_SHOWN]]
        return "\n".join(out)

    def __bool__(self):
        return bool(self.by_kind)


def split_diffs(diffs):
    """(column order differences, other differences) of a txref.diff."""
    order = [d for d in diffs if d.startswith("$: column order")]
    return order, [d for d in diffs if d not in order]


def row_diff_kind(diffs):
    return "columns" if diffs[0].startswith("$: columns") else diffs[0].split(":")[0]


def check_reasons(problems, o, fails, ident):
    """DataQualityRulesFail of a rejected row against the reference's reasons: every failed
    cast named (`CastFailed "target": ...`, the text after the colon is free), then the text of
    every row-level rule the row breaks, whatever its action, in the ruleset's order (README:
    "each cast with policy reject that failed, then the text of each rule it broke"; a row
    rejected by a cast goes on to the rules, so the rules its NULLs break are listed too)."""
    if not isinstance(fails, list) or not all(isinstance(f, str) for f in fails):
        problems.add("DataQualityRulesFail is not a list of strings", f"{ident}: {fails!r}")
        return
    want_casts = [r.split(":", 1)[0] for r in o.reasons if r.startswith("CastFailed ")]
    want_rules = [r for r in o.reasons if not r.startswith("CastFailed ")]
    got_casts = [f.split(":", 1)[0] for f in fails if f.startswith("CastFailed ")]
    got_rules = [f for f in fails if not f.startswith("CastFailed ")]
    if want_casts != got_casts:
        problems.add("failed casts named in DataQualityRulesFail differ",
                     f"{ident}: expected {want_casts}, got {fails}")
    if got_rules != want_rules:
        problems.add("broken rules listed in DataQualityRulesFail differ",
                     f"{ident}: expected {want_rules}, got {got_rules}")


DQ_KINDS = ("dq-docs", "dq-results", "dq-metrics", "dq-metric-names", "dq-emf", "dq-anomaly",
            "dq-schema", "dq-drift", "dq-fail")
HISTORY_NAMES = {"RowCount": "Dataset.*.RowCount"}


def check_history(pr, ident, raw, want):
    """{dataset}/dq/history.json holds each watched metric's values, oldest first: the
    reference's (want: {key: [values]}). The README names the metrics `RowCount`,
    `Completeness.email`: Glue's names (Dataset.*.RowCount) are accepted too."""
    if raw is None:
        pr["dq-anomaly"].add("no history.json", ident)
        return
    try:
        doc = json.loads(raw)
    except ValueError:
        pr["dq-anomaly"].add("history.json is not JSON", ident)
        return
    metrics = doc.get("metrics", doc) if isinstance(doc, dict) else {}
    for key, values in want.items():
        got = metrics.get(key, metrics.get(HISTORY_NAMES.get(key, key)))
        if not (isinstance(got, list) and len(got) == len(values)
                and all(close(w, g) for w, g in zip(values, got))):
            pr["dq-anomaly"].add("history.json differs from the reference's history",
                                 f"{ident} {key}: {got}, reference {values}")


class StreamRun:
    """One spec over stream batches through the bootstrap. outputs: (where, invocation result,
    batch numbers, objects {relative key: bytes})."""

    def __init__(self, name, spec_text, batches, outputs, reference=None):
        self.name = name
        self.spec = json.loads(spec_text)
        self.tx = txref.Transform(txref.load_spec_text(spec_text), PII_KEY)
        self.batches = batches
        self.outputs = outputs
        self.reference = reference or {}   # {dataset: schema} of the latest snapshot
        self.expected = [self.tx.run(txref.stream_sources(b)) for b in batches]
        self._analysis = None
        self._dq = None
        self.histories = {}

    @staticmethod
    def expected_place(o):
        return {"written": ("changes", o.dataset), "rejected": ("rejected", o.dataset),
                "quarantined": ("quarantine", o.table)}.get(o.kind)

    @staticmethod
    def placed(objects, problems):
        """{seq: [(place, key, row)]}, place = ("changes"|"rejected", dataset) or
        ("quarantine", table)."""
        out = collections.defaultdict(list)
        for key, data in objects.items():
            parts = key.split("/")
            if key.endswith((".ddl", ".sql")):
                continue
            if parts[0] == "_quarantine":
                for row in lines_of(key, data):
                    out[row["record"]["dynamodb"]["SequenceNumber"]].append((("quarantine", parts[1]), key, row))
                continue
            if len(parts) < 3 or parts[1] not in ("changes", "rejected"):
                problems["layout"].add("unexpected object", key)
                continue
            for row in lines_of(key, data):
                if "_seq" not in row:
                    problems["layout"].add("row without _seq (the test needs it)", key)
                    continue
                out[row["_seq"]].append(((parts[1], parts[0]), key, row))
        return out

    def analysis(self):
        if self._analysis is None:
            self._analysis = self._analyse()
        return self._analysis

    def _analyse(self):
        pr = {k: Problems() for k in ("run", "placement", "rows", "order", "reasons", "counts", "layout")}
        stats = collections.Counter()
        all_seqs = {r["dynamodb"]["SequenceNumber"]: r for recs in self.batches for r in recs}
        for where, result, idxs, objects in self.outputs:
            if result.code != 0:
                pr["run"].add("invocation failed", result.stdout[-2000:] + result.stderr[-3000:])
                continue
            # The data-quality documents ({dataset}/dq/...) are checked on their own.
            objects = {k: v for k, v in objects.items() if "/dq/" not in k}
            emfs = emf_of(result)
            for i in range(len(idxs)):
                if result.json(i) != {"batchItemFailures": []}:
                    pr["run"].add("batch not fully written", f"{where} batch {idxs[i]}: {result.lines[i]}")
            if len(emfs) != len(idxs):
                pr["run"].add("one EMF line per batch", f"{where}: {len(emfs)} for {len(idxs)} batches")
            placed = self.placed(objects, pr)
            for j, b in enumerate(idxs):
                self._check_batch(pr, stats, where, b, placed, emfs[j] if j < len(emfs) else {})
            for seq in placed:
                if seq not in all_seqs:
                    pr["placement"].add("row of no record", f"{where}: {seq}")
            self._check_layout(pr["layout"], where, objects, all_seqs)
        return pr, stats

    def _check_batch(self, pr, stats, where, b, placed, emf):
        records, outs = self.batches[b], self.expected[b]
        got_rows = collections.Counter()
        for rec, o in zip(records, outs):
            seq = rec["dynamodb"]["SequenceNumber"]
            want = self.expected_place(o)
            places = placed.get(seq, [])
            got = [p for p, _, _ in places]
            stats["records"] += 1
            stats[o.kind] += 1
            for p in got:
                got_rows[p[0]] += 1
            if got != ([want] if want else []):
                pr["placement"].add(f"reference: {o.kind} {want or ''}, bootstrap: {got or 'nowhere'}",
                                    f"{where} batch {b} seq {seq} reasons {o.reasons} error {o.error}: {short(rec)}")
            for place, key, row in places:
                if place[0] == "quarantine":
                    if o.kind == "quarantined":
                        stats["quarantine rows compared"] += 1
                        if row.get("record") != ddbgen.loads_exact(json.dumps(rec)):
                            pr["rows"].add("quarantined record differs from the source record", seq)
                        if not isinstance(row.get("error"), str) or not row["error"]:
                            pr["rows"].add("quarantine row without an error", f"{seq}: {short(row)}")
                    continue
                if o.row is None or place[1] != o.dataset:
                    continue  # the placement check reports it
                row = dict(row)
                fails = row.pop("DataQualityRulesFail", None)
                order, diffs = split_diffs(txref.diff(o.row, row))
                stats["rows compared"] += 1
                if diffs:
                    pr["rows"].add(f"{place[0]} row differs: {row_diff_kind(diffs)}",
                                   f"{where} batch {b} seq {seq}: {diffs[:3]}; record {short(rec)}")
                if order:
                    pr["order"].add(f"{place[0]} row: {o.dataset} columns in another order",
                                    f"{where} batch {b} seq {seq}: {order[0]}")
                if place[0] == "rejected" and o.kind == "rejected":
                    stats["rejected rows compared"] += 1
                    check_reasons(pr["reasons"], o, fails, f"{where} batch {b} seq {seq}")
                elif place[0] == "changes" and fails is not None:
                    pr["rows"].add("a written row carries DataQualityRulesFail", seq)
        kinds = collections.Counter(o.kind for o in outs)
        want = {"RecordsIn": len(records), "RecordsOut": kinds["written"],
                "RecordsRejected": kinds["rejected"],
                "RecordsFiltered": kinds["filtered"] + kinds["unrouted"] + kinds["duplicate"],
                "RecordsFailed": kinds["quarantined"]}
        assert sum(want.values()) == 2 * len(records)
        got = {k: emf.get(k) for k in want}
        if got != want:
            pr["counts"].add("EMF metrics differ from the reference",
                             f"{where} batch {b}: metrics {got}, reference {want} ({dict(kinds)})")
        if sum(got[k] or 0 for k in want if k != "RecordsIn") != got["RecordsIn"]:
            pr["counts"].add("the metrics do not add up to RecordsIn", f"{where} batch {b}: {got}")
        objs = {"RecordsOut": got_rows["changes"], "RecordsRejected": got_rows["rejected"],
                "RecordsFailed": got_rows["quarantine"]}
        if objs != {k: got[k] for k in objs}:
            pr["counts"].add("rows in the objects differ from the metrics",
                             f"{where} batch {b}: objects {objs}, metrics {got}")

    # -- data quality ---------------------------------------------------------------------

    def dq_analysis(self):
        if self._dq is None:
            self._dq = self._dq_analyse()
        return self._dq

    def _dq_analyse(self):
        """Each batch's evaluation of each dataset with rules against the reference: the
        document where the README puts it (one per batch with rows in the dataset), its
        contents, the RulePassed lines, the batch's DataQualityRulesFailed and SchemaDrift, and
        the anomaly history (chained over the batches written to one place)."""
        pr = {k: Problems() for k in DQ_KINDS}
        stats = collections.Counter()
        hist = collections.defaultdict(dict)
        for where, result, idxs, objects in self.outputs:
            evs = []
            for b in idxs:
                outs, records = self.expected[b], self.batches[b]
                for d in self.tx.datasets:
                    rows = txref.dq_rows(outs, d["name"])
                    if not d["_rules"] or not rows:
                        continue
                    routed = [o for o in outs if o.dataset == d["name"]]
                    ref = self.tx.evaluate(d["name"], outs, hist[where].get(d["name"]),
                                           self.reference.get(d["name"]))
                    hist[where][d["name"]] = ref.history_after(hist[where].get(d["name"]))
                    first, last = records[rows[0].index]["dynamodb"], records[rows[-1].index]["dynamodb"]
                    key = (f"{d['name']}/dq/{partition_of(first['ApproximateCreationDateTime'])}/"
                           f"{first['SequenceNumber']}-{last['SequenceNumber']}.json")
                    # The README leaves open whether the name spans the rows the rules saw or
                    # every record routed to the dataset (filtered and duplicates included):
                    # either is accepted.
                    rf, rl = records[routed[0].index]["dynamodb"], records[routed[-1].index]["dynamodb"]
                    alt = (f"{d['name']}/dq/{partition_of(rf['ApproximateCreationDateTime'])}/"
                           f"{rf['SequenceNumber']}-{rl['SequenceNumber']}.json")
                    key = alt if key not in objects and alt in objects else key
                    ev = Evaluation(f"{self.name} {where} batch {b} {d['name']}", d["name"], key,
                                    ref, objects.get(key))
                    ev.batch = b
                    evs.append(ev)
            want = {ev.key for ev in evs}
            got = {k for k in objects if "/dq/" in k and not k.endswith("/dq/history.json")}
            for k in sorted(want - got):
                pr["dq-docs"].add("no result document where the README puts it", f"{self.name} {where}: {k}")
            for k in sorted(got - want):
                pr["dq-docs"].add("a result document the reference does not expect", f"{self.name} {where}: {k}")
            for ev in evs:
                if ev.doc is not None:
                    stats["evaluations compared"] += 1
                    stats["rule results compared"] += len(ev.ref.outcomes)
                    stats["failing rule results"] += sum(o.result != "PASS" for o in ev.ref.outcomes)
                    check_result_doc(pr, ev)
            check_rule_emf(pr, f"{self.name} {where}", result, evs)
            emfs = emf_of(result)
            for j, b in enumerate(idxs):
                emf = emfs[j] if j < len(emfs) else {}
                failed = sum(o.result != "PASS" for ev in evs if ev.batch == b for o in ev.ref.outcomes)
                if emf.get("DataQualityRulesFailed") != failed:
                    pr["dq-emf"].add("batch EMF DataQualityRulesFailed",
                                     f"{self.name} {where} batch {b}: {emf.get('DataQualityRulesFailed')}, reference {failed}")
                drift = self.drift(b)
                if emf.get("SchemaDrift") != drift[0]:
                    pr["dq-drift"].add("batch EMF SchemaDrift",
                                       f"{self.name} {where} batch {b}: {emf.get('SchemaDrift')}, "
                                       f"reference {drift[0]} {drift[1]}")
            for ds, h in hist[where].items():
                if h:
                    stats["history checks"] += 1
                    check_history(pr, f"{self.name} {where}", objects.get(f"{ds}/dq/history.json"), h)
        for d in self.tx.datasets:
            if not d["_rules"]:
                docs = [k for _, _, _, objs in self.outputs for k in objs if k.startswith(d["name"] + "/dq/")]
                if docs:
                    pr["dq-docs"].add("a dataset without rules wrote a result document", f"{self.name}: {docs[:3]}")
        self.histories = {w: dict(h) for w, h in hist.items()}
        return pr, stats

    def drift(self, b):
        """(columns and kinds the reference schemas lack, their names) of batch b's rows
        written, over every dataset."""
        n, notes = 0, []
        for d in self.tx.datasets:
            observed = txref.observe_schema([o.row for o in self.expected[b]
                                             if o.dataset == d["name"] and o.kind == "written"])
            k, nn = txref.schema_drift(observed, self.reference.get(d["name"]))
            n += k
            notes += [f"{d['name']}.{x}" for x in nn]
        return n, notes

    @staticmethod
    def _check_layout(problems, where, objects, records):
        """{dataset}/changes|rejected/dt=/hour=/{first}-{last}.jsonl.gz, each row in the
        partition of its change time, the name spanning its rows' sequence numbers."""
        for key, data in objects.items():
            parts = key.split("/")
            if key.endswith((".ddl", ".sql")):
                if len(parts) != 2:
                    problems.add("DDL in an unexpected place", key)
                continue
            if len(parts) != 5 or not parts[2].startswith("dt=") or not parts[3].startswith("hour="):
                problems.add("object outside {dataset}/{kind}/dt=/hour=/", key)
                continue
            rows = lines_of(key, data)
            seqs = [(r["record"]["dynamodb"]["SequenceNumber"] if parts[0] == "_quarantine" else r.get("_seq"))
                    for r in rows]
            if None in seqs:
                continue
            first, last = parts[4].split(".")[0].split("-")[:2]
            if (first, last) != (min(seqs, key=int), max(seqs, key=int)):
                problems.add("object name does not span its rows",
                             f"{where} {key}: rows {min(seqs, key=int)}-{max(seqs, key=int)}")
            for s in seqs:
                ts = ddbgen.iso_ms(records[s]["dynamodb"]["ApproximateCreationDateTime"])
                if not ts.startswith(f"{parts[2][3:]}T{parts[3][5:]}:"):
                    problems.add("row outside its change time's partition", f"{where} {key}: {s} at {ts}")


def id_column(ds):
    """The output column that carries an item's pk in a dataset (how snapshot rows are matched
    with their items): the target of the mapping from pk (renamed), else pk itself."""
    maps = ds.get("mappings") or []
    for m in maps:
        src, tgt = (m["source"], m["target"]) if isinstance(m, dict) else (m[0], m[2])
        if src == "pk":
            return (ds.get("rename") or {}).get(tgt, tgt)
    return None if maps and not ds.get("keep_unmapped") else "pk"


class SnapshotRun:
    """One spec over a snapshot of the seeded table: the answer, the objects under prefix."""

    def __init__(self, name, spec_text, items, run_id, prefix, result, objects, listing,
                 expect_rollover, table=SNAP_TABLE, root=None):
        self.name = name
        self.expect_rollover = expect_rollover
        self.spec = json.loads(spec_text)
        self.items = items
        self.table = table
        self.root = root            # the output directory (file://), else None
        self.run_id = run_id
        self.prefix = prefix
        self.result = result
        self.objects = objects
        self.listing = listing
        self.tx = txref.Transform(txref.load_spec_text(spec_text), PII_KEY)
        self.expected = self.tx.run(txref.snapshot_sources(items, table, run_id), snapshot=True)
        self.evaluations = []
        self.s3_log = None          # the S3 proxy's request log after the run (S3 runs)
        self.ids = {d["name"]: id_column(d) for d in self.spec["datasets"]}
        self._analysis = None

    def analysis(self):
        if self._analysis is None:
            self._analysis = self._analyse()
        return self._analysis

    def rows(self, pr):
        """{(place, dataset): {pk: [(key, row)]}} for the run's data files."""
        out = collections.defaultdict(lambda: collections.defaultdict(list))
        for key, data in self.objects.items():
            parts = key.split("/")
            if len(parts) != 4 or parts[2] != f"run={self.run_id}" or not parts[3].startswith("part-"):
                continue
            if parts[1] not in ("snapshots", "rejected") or not re.match(r"^part-\d{5}-\d{5}-[0-9a-f]{8,16}\.jsonl\.gz$", parts[3]):
                pr["layout"].add("unexpected data file", key)
                continue
            for row in lines_of(key, data):
                ident = row.get(self.ids.get(parts[0]) or "pk")
                if ident is None and parts[1] == "rejected":
                    ident = row.get("pk")
                out[(parts[1], parts[0])][ident].append((key, row))
        return out

    def _analyse(self):
        pr = {k: Problems() for k in ("run", "placement", "rows", "order", "reasons", "manifest",
                                      "schema", "layout")}
        stats = collections.Counter()
        if self.result.code != 0 or not self.result.lines or self.result.json(0).get("status") != "complete":
            pr["run"].add("snapshot failed", self.result.stdout[-2000:] + self.result.stderr[-3000:])
            return pr, stats
        rows = self.rows(pr)
        for item, o in zip(self.items, self.expected):
            pk = item["pk"]["S"]
            stats[o.kind] += 1
            want = {"written": ("snapshots", o.dataset), "rejected": ("rejected", o.dataset)}.get(o.kind)
            found = [(place, ds, key, row) for (place, ds), by_id in rows.items()
                     for key, row in by_id.get(pk, [])]
            got = [(place, ds) for place, ds, _, _ in found]
            if got != ([want] if want else []):
                pr["placement"].add(f"reference: {o.kind} {want or ''}, bootstrap: {got or 'nowhere'}",
                                    f"{pk} reasons {o.reasons}: {short(item)}")
            for place, ds, key, row in found:
                if ds != o.dataset:
                    continue
                row = dict(row)
                fails = row.pop("DataQualityRulesFail", None)
                if o.row is None:
                    if o.kind != "rejected":
                        continue  # filtered or unrouted by the reference: placement reports it
                    # an expression error: a rejected row naming it
                    stats["TransformError rows"] += 1
                    if not (isinstance(fails, list) and any(str(f).startswith("TransformError") for f in fails)):
                        pr["reasons"].add("no TransformError in DataQualityRulesFail", f"{pk}: {fails}")
                    continue
                stats["rows compared"] += 1
                order, diffs = split_diffs(txref.diff(o.row, row))
                if diffs:
                    pr["rows"].add(f"{place} row differs: {row_diff_kind(diffs)}",
                                   f"{pk}: {diffs[:3]}; item {short(item)}")
                if order:
                    pr["order"].add(f"{place} row: {ds} columns in another order", f"{pk}: {order[0]}")
                if place == "rejected" and o.kind == "rejected":
                    stats["rejected rows compared"] += 1
                    check_reasons(pr["reasons"], o, fails, pk)
                elif place == "snapshots" and fails is not None:
                    pr["rows"].add("a written row carries DataQualityRulesFail", pk)
        total = sum(len(v) for by_id in rows.values() for v in by_id.values())
        if total != sum(1 for o in self.expected if o.kind in ("written", "rejected")):
            pr["placement"].add("rows in the run's data files", f"{total}")
        self._check_manifests(pr["manifest"], rows)
        self._check_schemas(pr["schema"], rows)
        return pr, stats

    # -- data quality ---------------------------------------------------------------------

    def observed(self):
        """{dataset: schema} of the rows this run wrote (the next run's SchemaMatch reference
        and a later stream batch's drift reference)."""
        return {d["name"]: txref.observe_schema([o.row for o in self.expected
                                                 if o.dataset == d["name"] and o.kind == "written"])
                for d in self.tx.datasets}

    def dq_check(self, history=None, reference=None):
        """The run's evaluation of each dataset with rules against the reference:
        {dataset}/dq/run={run_id}/result.json (written before _SUCCESS: checked in S3, where
        the proxy logs the requests in order), its contents, the RulePassed lines. history and reference: {dataset: ...}
        before this run. Returns (problems, stats, {dataset: history after})."""
        pr = {k: Problems() for k in DQ_KINDS}
        stats = collections.Counter()
        history, reference = history or {}, reference or {}
        evs, after, missing = [], {}, []
        for d in self.tx.datasets:
            if not d["_rules"]:
                docs = [k for k in self.objects if k.startswith(d["name"] + "/dq/")]
                if docs:
                    pr["dq-docs"].add("a dataset without rules wrote a result document", f"{self.name}: {docs[:3]}")
                continue
            ref = self.tx.evaluate(d["name"], self.expected, history.get(d["name"]),
                                   reference.get(d["name"]))
            after[d["name"]] = ref.history_after(history.get(d["name"]))
            key = f"{d['name']}/dq/run={self.run_id}/result.json"
            ev = Evaluation(f"{self.name} run {self.run_id} {d['name']}", d["name"], key, ref,
                            self.objects.get(key))
            evs.append(ev)
            if ev.doc is None:
                missing.append(ev)
                continue
            stats["evaluations compared"] += 1
            stats["rule results compared"] += len(ref.outcomes)
            stats["failing rule results"] += sum(o.result != "PASS" for o in ref.outcomes)
            check_result_doc(pr, ev)
            if after[d["name"]]:
                stats["history checks"] += 1
                check_history(pr, ev.ident, self.objects.get(f"{d['name']}/dq/history.json"), after[d["name"]])
            if self.s3_log is not None:
                self._check_before_success(pr, key, d["name"])
        # A run a rule with action fail stops: the README does not say whether the other
        # datasets are still evaluated, so only the failing ones' documents are required.
        stopped = any(ev.ref.fail for ev in evs)
        for ev in missing:
            if ev.ref.fail or not stopped:
                pr["dq-docs"].add("no result document where the README puts it", f"{self.name}: {ev.key}")
        check_rule_emf(pr, f"{self.name} run {self.run_id}", self.result,
                       [ev for ev in evs if not stopped or ev.doc is not None or ev.ref.fail])
        self.evaluations = evs
        return pr, stats, after

    def _check_before_success(self, pr, key, dataset):
        """In S3 (the proxy's request log, in arrival order): the result document's PUT comes
        before the PUT of the dataset's and the table's _SUCCESS."""
        puts = collections.defaultdict(list)
        for e in self.s3_log:
            if e.get("method") == "PUT" and e.get("status") == 200:
                puts[urllib.parse.unquote(e.get("path", "").split("?")[0])].append(e["n"])
        path = f"/{BUCKET}/{self.prefix}{key}"
        if not puts.get(path):
            pr["dq-docs"].add("result document's PUT not in the proxy's log", path)
            return
        for done in (f"/{BUCKET}/{self.prefix}{dataset}/snapshots/run={self.run_id}/_SUCCESS",
                     f"/{BUCKET}/{self.prefix}{self.table}/snapshots/run={self.run_id}/_SUCCESS"):
            if not puts.get(done):
                pr["dq-docs"].add("_SUCCESS's PUT not in the proxy's log", done)
            elif min(puts[done]) < max(puts[path]):
                pr["dq-docs"].add("result document written after _SUCCESS",
                                  f"{path} (request {max(puts[path])}) after {done} (request {min(puts[done])})")

    def _check_manifests(self, problems, rows):
        for ds in [d["name"] for d in self.spec["datasets"]]:
            run = f"{ds}/snapshots/run={self.run_id}/"
            kinds = collections.Counter(o.kind for o in self.expected if o.dataset == ds)
            raw = self.objects.get(run + "_meta/manifest.json")
            if raw is None:
                problems.add("no manifest", ds)
                continue
            m = json.loads(raw)
            want = {"item_count": kinds["written"], "rejected_count": kinds["rejected"],
                    "filtered_count": kinds["filtered"]}
            got = {k: m.get(k) for k in want}
            if got != want:
                problems.add("manifest counts differ from the reference", f"{ds}: manifest {got}, reference {want}")
            if m.get("table_items") != len(self.items):
                problems.add("table_items", f"{ds}: {m.get('table_items')}")
            parts = {k: v for k, v in self.objects.items()
                     if k.startswith(run) and k[len(run):].startswith("part-")}
            listed = {f["key"]: f for f in m.get("files", [])}
            if not set(parts) <= set(listed):
                problems.add("data files not in the manifest", f"{ds}: {sorted(set(parts) - set(listed))}")
            for k, data in parts.items():
                f = listed.get(k)
                if f and f["records"] != len(lines_of(k, data)):
                    problems.add("manifest records", f"{k}: {len(lines_of(k, data))} rows, manifest {f['records']}")
            n_rows = sum(len(lines_of(k, d)) for k, d in parts.items())
            if n_rows != kinds["written"]:
                problems.add("rows in the data files", f"{ds}: {n_rows}, reference {kinds['written']}")
            if run + "_SUCCESS" not in self.objects:
                problems.add("no _SUCCESS", ds)
        files = collections.Counter(k.split("/")[0] for k in self.objects
                                    if "/part-" in k and "/snapshots/" in k)
        if self.expect_rollover and max(files.values() or [0]) < 3:
            problems.add("files did not roll over", f"{dict(files)}")

    def _check_schemas(self, problems, rows):
        for ds in [d["name"] for d in self.spec["datasets"]]:
            raw = self.objects.get(f"{ds}/snapshots/run={self.run_id}/_meta/schema.json")
            if raw is None:
                problems.add("no schema.json", ds)
                continue
            present = collections.Counter(k for lst in rows.get(("snapshots", ds), {}).values()
                                          for _, row in lst for k in row if k not in txref.META)
            for a in json.loads(raw)["attributes"]:
                n = sum(a["types"].values())
                if a["name"] in present and n != present[a["name"]]:
                    problems.add("schema.json type counts do not add up to the rows",
                                 f"{ds}.{a['name']}: types {a['types']} count {n} of "
                                 f"{present[a['name']]} rows (athena_type {a.get('athena_type')})")


class TransformTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.stack = LocalStack(proxy=True, buckets=(BUCKET,))
        cls.stack.start()
        gen = stgen.StreamGen(seed=STREAM_SEED)
        batches = [gen.batch(BATCH_RECORDS, b) for b in range(BATCHES)]
        paths = [ddbgen.write_event(os.path.join(cls.dir, f"batch{b}.json"), recs)
                 for b, recs in enumerate(batches)]
        # The example spec reads its PII key from a Secrets Manager secret whose ARN is in
        # ETL_PII_KEY_SECRET_ARN, as the template deploys it: moto plays Secrets Manager.
        cls.moto = itlib.MotoServer().start()
        arn = cls.moto.client("secretsmanager").create_secret(
            Name="pii-key", SecretString=PII_KEY)["ARN"]
        base = {"ETL_PII_KEY": PII_KEY, "AWS_LAMBDA_LOG_LEVEL": "INFO", "AWS_REGION": "us-east-1",
                "ETL_PII_KEY_SECRET_ARN": arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER": cls.moto.url}
        env = dict(cls.stack.env, **base)

        # The example spec: batches 0 and 1 to file://, batch 2 to S3 (through the proxy).
        ex = {"ETL_TRANSFORM": f"file:{SPEC}"}
        root = os.path.join(cls.dir, "lake")
        file_run = itlib.invoke(paths[:2], env=dict(base, ETL_OUTPUT=f"file://{root}/", **ex), timeout=60)
        s3_run = itlib.invoke(paths[2:], env=dict(env, ETL_OUTPUT=f"s3://{BUCKET}/tx/", **ex), timeout=60)
        with open(SPEC, encoding="utf-8") as f:
            example = f.read()
        cls.example = StreamRun("example", example, batches,
                                [("file", file_run, [0, 1], cls.tree(root)),
                                 ("s3", s3_run, [2], cls.download("tx/"))])

        # The features spec, given inline (JSON starting with "{"), batches 0 and 1 to file://.
        froot = os.path.join(cls.dir, "features")
        features = features_spec_text()
        feat_run = itlib.invoke(paths[:2], env=dict(base, ETL_OUTPUT=f"file://{froot}/",
                                                    ETL_TRANSFORM=features),
                                timeout=60)
        cls.features = StreamRun("features", features, batches[:2],
                                 [("file", feat_run, [0, 1], cls.tree(froot))])

        # Snapshot: seed, scan (the reference's input), export in 2 segments with small files.
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "stgen.py"), "seed",
                        "--endpoint", cls.stack.dynamodb_upstream_url, "--table", SNAP_TABLE,
                        "--items", str(SNAP_ITEMS), "--seed", "11"],
                       env=dict(os.environ, **cls.stack.env), check=True, capture_output=True)
        items = cls.stack.aws("dynamodb", "scan", "--table-name", SNAP_TABLE)["Items"]
        cls.snapshot = cls.run_snapshot("example", example, items, "2026-11-24T06:00:00Z",
                                        "snap/", dict(env, **ex))
        cls.snapshot_features = cls.run_snapshot("features", features, items, "2026-11-25T06:00:00Z",
                                                 "snapf/", dict(env, ETL_TRANSFORM=features))
        cls.setup_dq(env, base, example)
        cls.setup_seconds = time.monotonic() - t0

    @classmethod
    def setup_dq(cls, env, base, example):
        """Phase 2's runs: the DQ spec over warm-up batches and an outlier (file://, two
        invocations, so the history is seen after 3 and after 6 evaluations), the fail variant
        over one batch (S3), and snapshots of a small table to a directory: two runs of the
        DQ spec, then a stream batch pair with the example spec (drift against the snapshot's
        schema), then the fail variant's run."""
        dq, dq_fail = dq_spec_text(), dq_spec_text(fail=True)
        gen = stgen.StreamGen(seed=DQ_SEED, pool=5000, first_seq=400000000000000000000)
        sizes = [DQ_BATCH] * DQ_WARM + [DQ_OUTLIER]
        batches = [gen.batch(n, b) for b, n in enumerate(sizes)]
        fail_batch = gen.batch(DQ_BATCH, len(sizes))
        paths = [ddbgen.write_event(os.path.join(cls.dir, f"dq{b}.json"), recs)
                 for b, recs in enumerate(batches + [fail_batch])]
        root = os.path.join(cls.dir, "dqstream")
        outputs, seen = [], {}
        for idxs in ([0, 1, 2], [3, 4, 5]):
            r = itlib.invoke([paths[i] for i in idxs], timeout=60,
                             env=dict(base, ETL_OUTPUT=f"file://{root}/", ETL_TRANSFORM=dq))
            tree = cls.tree(root)
            outputs.append(("file", r, idxs, {k: v for k, v in tree.items() if seen.get(k) != v}))
            seen = tree
        cls.dq_stream = StreamRun("dq", dq, batches, outputs)
        r = itlib.invoke([paths[-1]], timeout=60,
                         env=dict(env, ETL_OUTPUT=f"s3://{BUCKET}/dqfail/", ETL_TRANSFORM=dq_fail))
        cls.dq_fail = StreamRun("dq-fail", dq_fail, [fail_batch], [("s3", r, [0], cls.download("dqfail/"))])

        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "stgen.py"), "seed",
                        "--endpoint", cls.stack.dynamodb_upstream_url, "--table", DQ_TABLE,
                        "--items", str(DQ_ITEMS), "--seed", "5", "--pad", "0"],
                       env=dict(os.environ, **cls.stack.env), check=True, capture_output=True)
        items = cls.stack.aws("dynamodb", "scan", "--table-name", DQ_TABLE)["Items"]
        sroot = os.path.join(cls.dir, "dqsnap")
        cls.dq_snaps = [cls.run_snapshot(f"dq{i + 1}", dq, items, t, "", dict(env, ETL_TRANSFORM=dq),
                                         table=DQ_TABLE, root=sroot)
                        for i, t in enumerate(DQ_RUNS[:2])]
        # Drift: after the second run, a batch of users as the snapshot read them (no drift),
        # then the same users and an item of `other` with an attribute no snapshot saw; then a
        # batch whose only record is a user's TTL delete (the filter drops it: users has no
        # rows in that batch).
        users = [it for it in items if it["pk"]["S"].startswith("USER#")][:40]
        other = dict(next(it for it in items if not it["pk"]["S"].startswith(("USER#", "ORDER#"))),
                     zz_drift={"S": "a column the snapshot never saw"})
        seq = 500000000000000000000
        drift = [[insert_record(DQ_TABLE, it, seq + 100 * (50 * b + i), 1764028800 + b * 600 + i, 50 * b + i)
                  for i, it in enumerate(users + ([other] if b else []))] for b in range(2)]
        drift.append([insert_record(DQ_TABLE, users[0], seq + 100 * 150, 1764028800 + 1200, 150, ttl_delete=True)])
        dpaths = [ddbgen.write_event(os.path.join(cls.dir, f"drift{b}.json"), recs) for b, recs in enumerate(drift)]
        before = cls.tree(sroot)
        r = itlib.invoke(dpaths, timeout=60, env=dict(base, ETL_OUTPUT=f"file://{sroot}/",
                                                      ETL_TRANSFORM=f"file:{SPEC}"))
        new = {k: v for k, v in cls.tree(sroot).items() if before.get(k) != v}
        cls.drift = StreamRun("drift", example, drift, [("file", r, [0, 1, 2], new)],
                              reference=cls.dq_snaps[1].observed())
        cls.dq_snaps.append(cls.run_snapshot("dq3-fail", dq_fail, items, DQ_RUNS[2], "",
                                             dict(env, ETL_TRANSFORM=dq_fail), table=DQ_TABLE, root=sroot))
        # The runs' evaluations, chained: history and SchemaMatch reference from the run before.
        cls.dq_snap_checks = []
        history, reference = {}, {}
        for run in cls.dq_snaps:
            pr, stats, history = run.dq_check(history, reference)
            cls.dq_snap_checks.append((run, pr, stats))
            reference = run.observed()
        cls.snap_checks = [(run, *run.dq_check()[:2]) for run in (cls.snapshot,)]

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.moto.stop()
        cls.tmp.cleanup()

    @classmethod
    def run_snapshot(cls, name, spec_text, items, time_, prefix, env, table=SNAP_TABLE, root=None):
        """A scheduled snapshot of a seeded table in 2 segments with 1 MiB files, to S3 under
        prefix, or to the directory root."""
        ev = itlib.write_event(cls.dir, f"schedule-{name}.json", scheduled(time_))
        out = f"file://{root}/{prefix}" if root else f"s3://{BUCKET}/{prefix}"
        result = itlib.invoke([ev], env=dict(env, ETL_OUTPUT=out,
                                             ETL_TABLE=table, ETL_SEGMENTS="2",
                                             ETL_EXPORT_OBJECT_BYTES=str(1024 * 1024)),
                              timeout=120)
        run_id = time_[:10] + "T" + time_[11:19].replace(":", "") + "Z"
        if root:
            objects = cls.tree(root)
            return SnapshotRun(name, spec_text, items, run_id, prefix, result, objects, list(objects),
                               expect_rollover=False, table=table, root=root)
        log = cls.stack.proxy_stats()["s3"]["log"]
        run = SnapshotRun(name, spec_text, items, run_id, prefix, result, cls.download(prefix),
                          cls.stack.s3_objects(BUCKET, prefix), expect_rollover=name == "example")
        run.s3_log = log
        return run

    @staticmethod
    def tree(root):
        return read_tree(root) if os.path.isdir(root) else {}

    @classmethod
    def download(cls, prefix):
        dest = os.path.join(cls.dir, "dl-" + prefix.strip("/"))
        cls.stack.aws("s3", "cp", f"s3://{BUCKET}/{prefix}", dest, "--recursive", "--only-show-errors")
        return cls.tree(dest)

    def assert_clean(self, run, *categories):
        pr, stats = run.analysis()
        bad = [c for c in ("run",) + categories if pr[c]]
        self.assertFalse(bad, f"[{run.name}] {dict(stats)}\n" + "\n".join(pr[c].report() for c in bad))
        return stats

    # -- the stream, example spec ----------------------------------------------------------

    def test_example_spec_inits(self):
        """The example spec passes the init checks (a mistake is Runtime.ConfigInvalid)."""
        for where, result, _, _ in self.example.outputs:
            self.assertNotIn("Runtime.ConfigInvalid", result.stdout, result.stdout[-1500:])
            self.assertEqual(result.code, 0, result.stdout[-1500:])

    def test_stream_every_record_once_where_it_belongs(self):
        """Each record lands exactly once where the reference puts it: its dataset's changes/
        or rejected/, the quarantine, or nowhere (filtered, unrouted, a duplicate)."""
        stats = self.assert_clean(self.example, "placement")
        self.assertEqual(stats["records"], BATCHES * BATCH_RECORDS)

    def test_stream_rows_field_by_field(self):
        """Every row written (changes/ or rejected/) equals the reference's row for its source
        record, column for column and in order (mappings in order, derived columns after them,
        metadata last), numbers digit for digit, PII hashed with the same key; quarantined
        records keep the record as it came."""
        stats = self.assert_clean(self.example, "rows")
        self.assertGreater(stats["rows compared"], 1000)
        self.assertGreater(stats["quarantine rows compared"], 5)

    def test_stream_column_order(self):
        """Columns in the README's order: mapped targets in mapping order, derived columns
        after them, the metadata columns last."""
        self.assert_clean(self.example, "order")

    def test_stream_rejected_rows_name_what_they_broke(self):
        stats = self.assert_clean(self.example, "reasons")
        self.assertGreater(stats["rejected rows compared"], 100)

    def test_stream_counts_add_up(self):
        """Per batch: rows written + rejected + filtered + quarantined = records in, in the
        reference, in the objects and in the EMF metrics (RecordsOut, RecordsRejected,
        RecordsFiltered, RecordsFailed)."""
        self.assert_clean(self.example, "counts")

    def test_stream_object_layout(self):
        """{dataset}/changes|rejected/{partition}/{first_seq}-{last_seq}.jsonl.gz, each row in
        the partition of its own change time; quarantine under _quarantine/{table}/."""
        self.assert_clean(self.example, "layout")

    def test_stream_s3_requests_signed(self):
        self.assertEqual(self.stack.proxy_stats()["signature_failures"], 0)

    # -- the stream, features spec -----------------------------------------------------------

    def test_features_spec(self):
        """keep_unmapped, flatten, constants, typed derives with a policy, rename/select/drop,
        dedupe by output columns, truncate from the start, redact with a replacement, routing
        by attribute, unrouted rows, expression errors to the quarantine: placement, rows and
        counts."""
        stats = self.assert_clean(self.features, "placement", "rows", "reasons", "counts", "layout")
        for kind in ("written", "rejected", "duplicate", "filtered", "unrouted", "quarantined"):
            self.assertGreater(stats[kind], 0, f"the features spec never gives {kind}: {dict(stats)}")

    def test_features_spec_column_order(self):
        """keep_unmapped columns after the mapped ones in source order, a flattened map's
        columns where the map was ("replaces each map column"), constants and derived columns
        after them, metadata last."""
        self.assert_clean(self.features, "order")

    # -- the snapshot ----------------------------------------------------------------------

    def test_snapshot_run_completes(self):
        for run in (self.snapshot, self.snapshot_features):
            r = run.result
            self.assertEqual(r.code, 0, r.stdout + r.stderr[-3000:])
            ans = r.json(0)
            self.assertEqual(ans["status"], "complete", ans)
            self.assertEqual(ans["items"], SNAP_ITEMS)
            self.assertIn(f"{run.prefix}{SNAP_TABLE}/snapshots/run={run.run_id}/_SUCCESS", run.listing)
        self.assertEqual(len(self.snapshot.items), SNAP_ITEMS)

    def test_snapshot_every_item_once_where_it_belongs(self):
        """Each scanned item is one row in its dataset's snapshots/run=.../ or rejected/run=.../
        (or nowhere when filtered or unrouted)."""
        self.assert_clean(self.snapshot, "placement")

    def test_snapshot_rows_field_by_field(self):
        """_op SNAPSHOT, _ts the run time, _seq and _event_id null, no dedupe; every other
        column as the spec makes it from the scanned item."""
        stats = self.assert_clean(self.snapshot, "rows", "reasons")
        self.assertGreater(stats["rows compared"], 2000)

    def test_snapshot_column_order(self):
        self.assert_clean(self.snapshot, "order")

    def test_snapshot_manifests_count_exactly(self):
        """Each dataset's _meta/manifest.json: item_count, rejected_count and filtered_count as
        the reference counts them and the table's items; every data file listed with its
        records; _SUCCESS in each dataset's run folder; files rolled over."""
        self.assert_clean(self.snapshot, "manifest")

    def test_snapshot_schema_counts_every_value(self):
        """Each dataset's _meta/schema.json counts one type per row for each column it lists
        (the counts add up to the rows holding the column)."""
        self.assert_clean(self.snapshot, "schema")

    def test_snapshot_features_spec(self):
        """The features spec over the same table: placement, rows, manifests; an expression
        that cannot be evaluated makes a rejected row with TransformError."""
        stats = self.assert_clean(self.snapshot_features, "placement", "rows", "reasons", "manifest")
        self.assertGreater(stats["TransformError rows"], 0)


    # -- data quality ------------------------------------------------------------------------

    def dq_checks(self, *names):
        """(name, problems, stats) of the data-quality analyses: example (the example run's
        own rules, file:// and S3), dq (the DQ stream), fail, drift, snap (the example
        snapshot, S3), dqsnap (the DQ snapshots)."""
        out = []
        for n in names:
            if n in ("example", "dq", "fail", "drift"):
                run = {"example": self.example, "dq": self.dq_stream, "fail": self.dq_fail,
                       "drift": self.drift}[n]
                out.append((run.name, *run.dq_analysis()))
            elif n == "snap":
                out += [(run.name, pr, st) for run, pr, st in self.snap_checks]
            elif n == "dqsnap":
                out += [(run.name, pr, st) for run, pr, st in self.dq_snap_checks]
        return out

    def assert_dq_clean(self, names, *kinds):
        checks = self.dq_checks(*names)
        report = []
        for name, pr, stats in checks:
            bad = [k for k in kinds if pr[k]]
            if bad:
                report.append(f"[{name}] {dict(stats)}\n" + "\n".join(pr[k].report() for k in bad))
        self.assertFalse(report, "\n".join(report))
        total = collections.Counter()
        for _, _, stats in checks:
            total.update(stats)
        return total

    def test_dq_stream_results(self):
        """Each stream batch's result document, {dataset}/dq/{partition}/{first}-{last}.json
        for each dataset with rules and rows in the batch (and none for a dataset without
        rules), matches the reference rule by rule: Result, Score, AggregatedMetrics and each
        EvaluatedMetrics value (counts exactly, the others to 1e-9 relative). The example
        spec's rules (file:// and S3), the DQ spec's (file://), and the example's after a
        snapshot, where a batch's only users record is a TTL delete the filter drops (users
        has no rows in that batch: no document)."""
        stats = self.assert_dq_clean(("example", "dq", "drift"), "dq-docs", "dq-results", "dq-metrics")
        self.assertGreaterEqual(stats["evaluations compared"], 6 + 12 + 2)
        self.assertGreater(stats["failing rule results"], 10)

    def test_dq_snapshot_results(self):
        """Each snapshot run's {dataset}/dq/run={run_id}/result.json, written before _SUCCESS,
        matches the reference: the example snapshot (S3, where the proxy's request log shows
        the order of the PUTs) and the DQ snapshots (directory). A run a fail rule stops must
        have the failing dataset's document; the others are not required (the README does not
        say whether they are still evaluated)."""
        stats = self.assert_dq_clean(("snap", "dqsnap"), "dq-docs", "dq-results", "dq-metrics")
        self.assertGreaterEqual(stats["evaluations compared"], 2 + 5)

    def test_dq_metric_names(self):
        """EvaluatedMetrics are named as Glue names them (dqdl.md; deequ's mappings for what
        it leaves open): no metric missing, none the reference does not know."""
        self.assert_dq_clean(("example", "dq", "fail", "drift", "snap", "dqsnap"), "dq-metric-names")

    def test_dq_rule_emf(self):
        """One EMF line per rule per evaluation, RulePassed 1 for PASS and 0 otherwise, with
        dimensions service, dataset and rule; the batch line's DataQualityRulesFailed counts
        the rules that did not pass."""
        self.assert_dq_clean(("example", "dq", "fail", "drift", "snap", "dqsnap"), "dq-emf")

    def test_dq_stream_rows(self):
        """Under the DQ spec every record lands where the reference puts it and each rejected
        row's DataQualityRulesFail is the reference's list exactly: failed casts, then the
        text of every row-level rule the row broke (a composite, a where clause, a rule with
        action warn among them), in ruleset order."""
        stats = self.assert_clean(self.dq_stream, "placement", "rows", "reasons", "counts", "layout")
        self.assertGreater(stats["rejected rows compared"], 200)

    def test_dq_snapshot_rows(self):
        """The same for the DQ snapshots that complete."""
        for run in self.dq_snaps[:2]:
            stats = self.assert_clean(run, "placement", "rows", "reasons", "manifest")
            self.assertGreater(stats["rejected rows compared"], 20)

    def test_dq_anomaly_detection(self):
        """DetectAnomalies "RowCount": history.json holds every evaluation's value (3 after the
        first invocation, 6 after the second; one more per snapshot run); the first 5 stream
        evaluations pass warming up; the outlier batch (10x the records) fails with an
        observation giving the value and the range."""
        self.assert_dq_clean(("dq", "dqsnap"), "dq-anomaly")
        users = [ev for ev in self.dq_stream_evaluations() if ev.dataset == "users"]
        anomaly = [[o for o in ev.ref.outcomes if o.rule.type == "DetectAnomalies"][0] for ev in users]
        self.assertEqual([o.message is not None for o in anomaly], [True] * 5 + [False])
        self.assertEqual(anomaly[-1].result, "FAIL")
        self.assertIsNotNone(anomaly[-1].observation)
        self.assertEqual(len(self.dq_stream.histories["file"]["users"]["RowCount"]), 6)

    def dq_stream_evaluations(self):
        """The reference's evaluations of the DQ stream, in order."""
        hist, out = None, []
        for b, outs in enumerate(self.dq_stream.expected):
            ref = self.dq_stream.tx.evaluate("users", outs, hist)
            hist = ref.history_after(hist)
            out.append(Evaluation(f"batch {b}", "users", None, ref, None))
        return out

    def test_dq_fail_stream(self):
        """A stream batch whose rule with action fail does not pass: nothing of it is written
        (no changes/, rejected/ or _quarantine/ object), Lambda is told to retry it from its
        first record (the README's partial batch response names the earliest record not
        written, so every record is retried), and the result document says why (assumed: the
        README says both "nothing of the batch is written" and "each evaluation writes a
        document"; the result of the evaluation that failed the batch is taken to be written)."""
        run = self.dq_fail
        ref = run.tx.evaluate("users", run.expected[0])
        self.assertTrue(ref.fail, "the fail variant's rule passes: the test does not exercise it")
        where, result, _, objects = run.outputs[0]
        self.assertEqual(result.code, 0, result.stdout[-2000:] + result.stderr[-2000:])
        first = run.batches[0][0]["dynamodb"]["SequenceNumber"]
        self.assertEqual(result.json(0), {"batchItemFailures": [{"itemIdentifier": first}]})
        written = sorted(k for k in objects if "/dq/" not in k and not k.endswith((".ddl", ".sql")))
        self.assertEqual(written, [], "objects written for a batch a fail rule stopped")
        self.assert_dq_clean(("fail",), "dq-docs", "dq-results", "dq-metrics")

    def test_dq_snapshot_fail(self):
        """A snapshot whose rule with action fail does not pass: no _SUCCESS (neither the
        table's nor the dataset's), the error is DataQualityFailed, the result document is
        there."""
        run = self.dq_snaps[2]
        self.assertTrue(run.evaluations and run.evaluations[0].ref.fail)
        for key in (f"{DQ_TABLE}/snapshots/run={run.run_id}/_SUCCESS",
                    f"users/snapshots/run={run.run_id}/_SUCCESS"):
            self.assertNotIn(key, run.objects)
        self.assertNotEqual(run.result.code, 0, run.result.stdout[-1500:])
        self.assertIn(f"users/dq/run={run.run_id}/result.json", run.objects)
        self.assertEqual(run.result.json(0).get("errorType"), "DataQualityFailed", run.result.stdout[-1500:])

    def test_dq_schema_match(self):
        """SchemaMatch "ref" = 1.0: the first snapshot has no reference (FAIL, "Reference
        dataset 'ref' not found"), the second matches the first's schema.json (PASS, 1.0),
        the fail variant's run has one more column (FAIL, 0.0); the stream without a snapshot
        has no reference."""
        self.assert_dq_clean(("dq", "dqsnap"), "dq-schema")
        got = []
        for run in self.dq_snaps:
            o = [o for o in run.evaluations[0].ref.outcomes if o.rule.type == "SchemaMatch"][0]
            got.append((o.result, [float(v) for v in o.metrics.values()]))
        self.assertEqual(got, [("FAIL", []), ("PASS", [1.0]), ("FAIL", [0.0])])

    def test_dq_schema_drift(self):
        """After a snapshot, a stream batch compares its rows with each dataset's schema.json:
        rows as the snapshot read them drift by nothing; a new attribute is logged as a
        warning naming it and counted in the batch's SchemaDrift."""
        self.assert_dq_clean(("drift", "dq", "example"), "dq-drift")
        self.assertEqual([self.drift.drift(b)[0] for b in range(2)], [0, 1])
        _, result, _, _ = self.drift.outputs[0]
        warnings = [l for l in result.stderr.splitlines() + result.stdout.splitlines()
                    if "drift" in l.lower() and "RecordsIn" not in l]
        self.assertTrue(any("zz_drift" in l for l in warnings), warnings[:5] or result.stderr[-2000:])

if __name__ == "__main__":
    unittest.main(verbosity=2)
