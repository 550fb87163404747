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
    cast named (`CastFailed "target": ...`, the text after the colon is free), every
    quarantining row-level rule the row breaks by its text, in the ruleset's order. A row
    rejected by a cast may or may not also list the rules its NULLs break (the README does not
    say), so those are compared only when some are listed."""
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
    if want_casts and not got_rules:
        return
    if got_rules != want_rules:
        problems.add("broken rules listed in DataQualityRulesFail differ",
                     f"{ident}: expected {want_rules}, got {got_rules}")


class StreamRun:
    """One spec over stream batches through the bootstrap. outputs: (where, invocation result,
    batch numbers, objects {relative key: bytes})."""

    def __init__(self, name, spec_text, batches, outputs):
        self.name = name
        self.spec = json.loads(spec_text)
        self.tx = txref.Transform(txref.load_spec_text(spec_text), PII_KEY)
        self.batches = batches
        self.outputs = outputs
        self.expected = [self.tx.run(txref.stream_sources(b)) for b in batches]
        self._analysis = None

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
                 expect_rollover):
        self.name = name
        self.expect_rollover = expect_rollover
        self.spec = json.loads(spec_text)
        self.items = items
        self.run_id = run_id
        self.prefix = prefix
        self.result = result
        self.objects = objects
        self.listing = listing
        self.expected = txref.Transform(txref.load_spec_text(spec_text), PII_KEY).run(
            txref.snapshot_sources(items, SNAP_TABLE, run_id), snapshot=True)
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
            if parts[1] not in ("snapshots", "rejected") or not re.match(r"^part-\d{5}-\d{5}\.jsonl\.gz$", parts[3]):
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
            if m.get("table_items") != SNAP_ITEMS:
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
        cls.setup_seconds = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.moto.stop()
        cls.tmp.cleanup()

    @classmethod
    def run_snapshot(cls, name, spec_text, items, time_, prefix, env):
        """A scheduled snapshot of the seeded table in 2 segments with 1 MiB files."""
        ev = itlib.write_event(cls.dir, f"schedule-{name}.json", scheduled(time_))
        result = itlib.invoke([ev], env=dict(env, ETL_OUTPUT=f"s3://{BUCKET}/{prefix}",
                                             ETL_TABLE=SNAP_TABLE, ETL_SEGMENTS="2",
                                             ETL_EXPORT_OBJECT_BYTES=str(1024 * 1024)),
                              timeout=120)
        run_id = time_[:10] + "T" + time_[11:19].replace(":", "") + "Z"
        return SnapshotRun(name, spec_text, items, run_id, prefix, result, cls.download(prefix),
                           cls.stack.s3_objects(BUCKET, prefix), expect_rollover=name == "example")

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
