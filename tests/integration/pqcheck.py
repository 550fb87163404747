"""Reading our Parquet files back for the tests: every file through three independent readers
(tests/integration/pqread.mjs: DuckDB, arrow-rs via parquet-wasm, hyparquet), and the reference
of what each DynamoDB value must be in a column of each Parquet type (README, "Parquet types"):

  column type    value types it may hold, and how
  STRING         S as itself, N as its exact digits, B as its base64 text, BOOL as true/false,
                 M, L and sets as JSON text (compared parsed, numbers as exact text)
  BINARY         B (the readers give its bytes; compared as base64)
  BOOLEAN        BOOL
  TIMESTAMP      _ts (ISO-8601 UTC, milliseconds)
  LIST<STRING>   SS as their strings, NS as their digits
  LIST<BINARY>   BS

Standard library only (plus node for the readers)."""
import json
import os
import subprocess

import ddbgen
import itlib

READER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pqread.mjs")
DUCKDB = os.path.join(itlib.SOURCE_DIR, "scripts", "duckdb-query")
READERS = ("duckdb", "arrow", "hyparquet")


def read_files(paths, chunk=40):
    """{path: {"schema": {...}, "rows": {reader: [row, ...]}}} for every path."""
    out = {}
    for i in range(0, len(paths), chunk):
        proc = subprocess.run(["node", READER, *paths[i:i + chunk]], capture_output=True,
                              text=True, cwd=itlib.SOURCE_DIR, timeout=900)
        if proc.returncode != 0:
            raise AssertionError(f"pqread failed: {proc.stderr[-3000:]}")
        for line in proc.stdout.splitlines():
            d = json.loads(line)
            out[d["file"]] = d
    return out


def duckdb(*sql):
    proc = subprocess.run([DUCKDB, *sql], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"duckdb: {proc.stderr[-2000:]}")
    return [json.loads(l) for l in proc.stdout.splitlines()]


def typed_row(rec):
    """The row of a stream record with its values still typed (DynamoDB JSON; _ts as TS)."""
    ddb = rec["dynamodb"]
    op = rec["eventName"]
    img = ddb.get("OldImage" if op == "REMOVE" else "NewImage") or ddb.get("Keys")
    row = {}
    for k, v in ddb.get("Keys", {}).items():
        if k not in img:
            row[ddbgen.column(k)] = v
    for k, v in img.items():
        row[ddbgen.column(k)] = v
    row["_op"] = {"S": op}
    row["_seq"] = {"S": ddb["SequenceNumber"]}
    ts = ddb.get("ApproximateCreationDateTime")
    row["_ts"] = {"TS": ddbgen.iso_ms(ts)} if ts is not None else {"NULL": True}
    row["_table"] = {"S": ddbgen.table_of(rec)}
    row["_event_id"] = {"S": rec["eventID"]} if rec.get("eventID") is not None else {"NULL": True}
    if op == "REMOVE":
        ui = rec.get("userIdentity") or {}
        row["_ttl_delete"] = {"BOOL": ui.get("type") == "Service"
                              and ui.get("principalId") == "dynamodb.amazonaws.com"}
    return row


def snapshot_typed_row(item, table, run_id):
    row = {ddbgen.column(k): v for k, v in item.items()}
    row.update({"_op": {"S": "SNAPSHOT"}, "_seq": {"NULL": True},
                "_ts": {"TS": ddbgen.run_iso(run_id)}, "_table": {"S": table},
                "_event_id": {"NULL": True}})
    return row


class Json:
    """A value a STRING column holds as JSON text: equal to text that parses to the same."""
    __slots__ = ("frozen",)

    def __init__(self, frozen):
        self.frozen = frozen

    def matches(self, actual):
        if not isinstance(actual, str):
            return False
        try:
            return ddbgen.freeze(ddbgen.loads_exact(actual)) == self.frozen
        except ValueError:
            return False


def expected(typed, coltype):
    """What a reader must give for a typed value in a column of coltype (None: null)."""
    (t, v), = typed.items()
    if t == "NULL":
        return None
    if coltype == "STRING":
        if t in ("S", "B", "TS"):
            return v
        if t == "N":
            return ddbgen.normalize_number(v)
        if t == "BOOL":
            return "true" if v else "false"
        return Json(ddbgen.freeze(ddbgen.plain(typed)))
    if coltype in ("BINARY", "BOOLEAN", "TIMESTAMP") and t in ("B", "BOOL", "TS"):
        return v
    if coltype == "LIST<STRING>" and t in ("SS", "NS"):
        return [ddbgen.normalize_number(x) if t == "NS" else x for x in v]
    if coltype == "LIST<BINARY>" and t == "BS":
        return list(v)
    raise AssertionError(f"a {t} value in a {coltype} column")


def row_matches(typed, actual, schema):
    for col, coltype in schema.items():
        want = expected(typed.get(col, {"NULL": True}), coltype)
        got = actual.get(col)
        if isinstance(want, Json):
            if not want.matches(got):
                return False
        elif want != got:
            return False
    # A column the file lacks holds only nulls.
    return all(col in schema or list(v)[0] == "NULL" for col, v in typed.items())


def match_rows(typed_rows, files, key, row_key=None):
    """Every row of every file equals one typed row (found by row_key(row) == key(typed row),
    then value for value), the three readers agree on every row, and every typed row is found
    once. Returns a list of problems (empty: all good)."""
    if row_key is None:
        row_key = stream_row_key
    pool = {}
    for t in typed_rows:
        pool.setdefault(key(t), []).append(t)
    problems = []
    n = 0
    for path, d in sorted(files.items()):
        schema = d["schema"]
        base = d["rows"]["duckdb"]
        for reader in READERS[1:]:
            if d["rows"][reader] != base:
                diff = next((i for i, (a, b) in enumerate(zip(base, d["rows"][reader])) if a != b),
                            min(len(base), len(d["rows"][reader])))
                problems.append(f"{path}: {reader} differs from duckdb at row {diff}: "
                                f"{d['rows'][reader][diff] if diff < len(d['rows'][reader]) else None!r:.400} vs "
                                f"{base[diff] if diff < len(base) else None!r:.400}")
        for row in base:
            n += 1
            cands = pool.get(row_key(row), [])
            hit = next((i for i, t in enumerate(cands) if row_matches(t, row, schema)), None)
            if hit is None:
                problems.append(f"{path}: no source for {row!r:.600} (candidates {len(cands)})")
                if len(problems) > 5:
                    return problems
            else:
                cands.pop(hit)
    left = sum(len(v) for v in pool.values())
    if left:
        problems.append(f"{left} source rows not found in any file ({n} rows read)")
    return problems


def stream_row_key(row):
    return (row.get("_table"), row.get("_seq"), row.get("_event_id"))


def stream_key(t):
    def s(name):
        v = t.get(name, {"NULL": True})
        return list(v.values())[0] if "NULL" not in v else None
    return (s("_table"), s("_seq"), s("_event_id"))


def metadata_problems(path, codec, rows, types):
    """DuckDB's view of a file's metadata: every chunk compressed with codec, levels RLE, the
    statistics (null count, min, max) true of the rows read, _ts annotated both ways, column
    orders and created_by."""
    problems = []
    # One DuckDB process for the three queries (a node start-up each is most of the cost).
    out = duckdb(f"SELECT path_in_schema, type, encodings, compression, stats_null_count, "
                 f"stats_min_value, stats_max_value, row_group_id FROM parquet_metadata('{path}')",
                 f"SELECT name, type AS schema_type, logical_type, converted_type "
                 f"FROM parquet_schema('{path}')",
                 f"SELECT created_by, column_orders, num_rows FROM parquet_file_metadata('{path}')")
    meta = [r for r in out if "path_in_schema" in r]
    schema = [r for r in out if "schema_type" in r]
    fmeta = next(r for r in out if "created_by" in r)
    if fmeta["created_by"] != "ddb-s3-etl version 0.1.0":
        problems.append(f"{path}: created_by {fmeta['created_by']!r}")
    leaves = [m for m in meta if m["row_group_id"] == "0"]
    if len(fmeta["column_orders"] or []) != len(leaves):
        problems.append(f"{path}: {len(fmeta['column_orders'] or [])} column orders for {len(leaves)} columns")
    if int(fmeta["num_rows"]) != len(rows):
        problems.append(f"{path}: num_rows {fmeta['num_rows']} for {len(rows)} rows")
    for m in meta:
        if m["compression"] != codec:
            problems.append(f"{path}: {m['path_in_schema']} compressed {m['compression']}, not {codec}")
        if "RLE" not in m["encodings"] or "PLAIN" not in m["encodings"]:
            problems.append(f"{path}: {m['path_in_schema']} encodings {m['encodings']}")
        if m["stats_null_count"] is None:
            problems.append(f"{path}: {m['path_in_schema']} has no null count")
    ts = [s for s in schema if s["name"] == "_ts"]
    if ts and not (ts[0]["converted_type"] == "TIMESTAMP_MILLIS" and "isAdjustedToUTC=1" in ts[0]["logical_type"]
                   and "MILLIS=MilliSeconds()" in ts[0]["logical_type"]):
        problems.append(f"{path}: _ts is {ts[0]}")
    # Flat columns of a one-row-group file: null count, min and max against the rows read.
    if all(m["row_group_id"] == "0" for m in meta):
        for m in meta:
            col = m["path_in_schema"]
            if "," in col:
                continue
            values = [r.get(col) for r in rows]
            nulls = sum(1 for v in values if v is None)
            if int(m["stats_null_count"]) != nulls:
                problems.append(f"{path}: {col} null count {m['stats_null_count']}, {nulls} nulls read")
            present = [v for v in values if v is not None]
            if types.get(col) == "STRING" and present and m["stats_min_value"] is not None:
                enc = [v.encode("utf-8") for v in present]
                if all(len(e) <= 1024 for e in enc):
                    lo, hi = min(enc).decode("utf-8"), max(enc).decode("utf-8")
                    if (m["stats_min_value"], m["stats_max_value"]) != (lo, hi):
                        problems.append(f"{path}: {col} min/max {m['stats_min_value']!r:.80}/"
                                        f"{m['stats_max_value']!r:.80}, rows {lo!r:.80}/{hi!r:.80}")
    return problems
