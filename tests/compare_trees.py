#!/usr/bin/env python3
"""compare_trees.py: the byte-identity check for refactors.

Runs the same scenarios through two bootstraps (through scripts/local-invoke, as the integration
tests do), each writing into its own output tree, then compares the two trees object by object
and byte by byte, and every invocation's answer (its stdout line).

usage: tests/compare_trees.py (--old BOOTSTRAP | --old-rev GITREV) --new BOOTSTRAP
                              [--keep DIR] [--quick]

  --old BOOTSTRAP   the bootstrap before the change (e.g. a static dist/bootstrap)
  --old-rev GITREV  instead of --old: build that revision's static bootstrap in a temporary
                    `git worktree` of this checkout (scripts/build-static.sh, reusing the
                    checkout's build/deps/prefix so curl and cJSON are not rebuilt); the worktree
                    is removed afterwards
  --new BOOTSTRAP   the bootstrap after the change
  --keep DIR        keep both trees (and answers, logs, events) in DIR (new or empty)
  --quick           a smaller subset, for a fast local check

Scenarios (each with a file:// and an s3:// twin; S3 is s3rver behind the SigV4-verifying
proxy of tests/integration/stack.py):
  stream: every DynamoDB Streams sample event in events/ and tests/vectors/events/; the other
          sample events and malformed ones (error answers); generated ddbgen batches (1,000 and
          4,000 records, several tables, hours and days, all four view types); quarantine
          (bad N, >38 digits, unknown type, bad base64, nesting past 32, missing image);
          attributes named like the metadata columns; jsonl/csv x gzip/none, two partition
          layouts, gzip level 1, objects split by records and by bytes; a retried batch (nothing
          new) and two batches reusing a sequence range (the -{md5} name); configuration errors.
  snapshot: dynalite seeded once (both bootstraps read the same data) with an Orders table
          (pk/sk, seed_table.py, every attribute type) and a hash-only Customers table with
          awkward attribute names; scheduled runs with a fixed `time` for jsonl+gzip, csv, jsonl
          uncompressed and ddb-export; fan-outs (segment requests, then commit) with 1 MiB files
          and small Scan pages; second deliveries; invalid requests.

Compared: every object (data files, quarantine, _meta/manifest.json, schema.json, table.ddl,
_checkpoint/*.json, _SUCCESS, changes.ddl, current.sql, AWSDynamoDB/ manifests and .md5), the
S3 listing, each S3 object's HeadObject (Content-Type, metadata, ETag...), each file's mode, every
answer and local-invoke's exit status, and for each repeated delivery the objects it wrote.

Normalised before comparing (wall clock, JSON-aware: only these top-level members' values are
replaced, the rest of the bytes stay as they are): _checkpoint/run.json `started` and
`started_ms`, _meta/manifest.json `start` and `end`, AWSDynamoDB/*/manifest-summary.json
`startTime` and `endTime`; manifest-summary.md5 is recomputed from the normalised
manifest-summary.json when it is the MD5 of that tree's own document. An S3 ETag or
x-amz-meta-md5 is compared as "the MD5 of the object" when it is one (the bytes themselves are
compared), so a difference in bytes is one difference, not three.

Each scenario runs through the old bootstrap, then directly through the new one. The file://
twins write to the same path for both (the tree is moved aside in between), because the path
appears in the DDL; each S3 twin writes to bucket `lake` of its own s3rver (two LocalStacks; the
first one's dynalite serves both). Not normalised but handled by timing: a stream batch in which
no record has a change time (some AWS samples) is filed under the invocation's own hour, so when
the UTC hour changes between the start of a scenario's first run and the end of its second, both
are wiped and run again (said in the output). Objects written outside every scenario's root are
reported too. The bootstraps run with TZ=Asia/Kathmandu, so a slip into local time shows.

Exit status: 0 identical, 1 any difference, 2 usage or setup error. Standard library only, plus
botocore for S3 and seeding, as the integration tests use it (under Debian's python3 when this
interpreter has none).
"""
import argparse
import base64
import difflib
import gzip
import hashlib
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
import stack as stackmod  # noqa: E402

SOURCE_DIR = itlib.SOURCE_DIR
BUCKET = "lake"
TZ = "Asia/Kathmandu"  # UTC+05:45: a refactor that slips into local time shows up
PLACEHOLDER = '"<normalised: wall clock>"'
SMALL_TEXT = 256 * 1024
MAX_DETAILED = 8        # differences shown with a diff, per scenario
MAX_LISTED = 40         # differences listed, per scenario


class SetupError(Exception):
    pass


def log(msg):
    sys.stderr.write(f"compare_trees: {msg}\n")
    sys.stderr.flush()


# ---- botocore (in this interpreter when it has it, else under Debian's python3) -------------

def _have_botocore():
    return importlib.util.find_spec("botocore") is not None


def _boto_client(service, endpoint, region, key, secret):
    import botocore.config
    import botocore.session
    sess = botocore.session.get_session()
    return sess.create_client(
        service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=botocore.config.Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 5, "mode": "standard"}))


HEAD_FIELDS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage",
               "CacheControl", "Expires", "Metadata", "ServerSideEncryption", "SSEKMSKeyId",
               "StorageClass", "ETag", "ContentLength", "WebsiteRedirectLocation")


def helper_s3_dump(a):
    """Every object of the bucket: bytes under dest/{key}, HeadObject fields in heads.json."""
    s3 = _boto_client("s3", a["endpoint"], a["region"], a["key"], a["secret"])
    dest = a["dest"]
    heads = {}
    listing = {}
    # ListObjects (v1, marker paging): s3rver's v2 continuation token needs a cipher that
    # Node's OpenSSL 3 refuses, so v2 fails past 1,000 keys.
    for page in s3.get_paginator("list_objects").paginate(Bucket=a["bucket"]):
        for o in page.get("Contents", []):
            listing[o["Key"]] = {"Size": o["Size"], "ETag": o["ETag"]}
    for key in sorted(listing):
        path = os.path.join(dest, key)
        if (key.startswith("/") or key.endswith("/") or "//" in key
                or any(p in (".", "..") for p in key.split("/"))):
            raise SetupError(f"S3 key {key!r} cannot be stored as a file")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        body = s3.get_object(Bucket=a["bucket"], Key=key)["Body"].read()
        with open(path, "wb") as f:
            f.write(body)
        h = s3.head_object(Bucket=a["bucket"], Key=key)
        heads[key] = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                      for k, v in h.items() if k in HEAD_FIELDS}
        heads[key]["ListSize"] = listing[key]["Size"]
        heads[key]["ListETag"] = listing[key]["ETag"]
    with open(a["heads"], "w") as f:
        json.dump(heads, f, indent=1, sort_keys=True)
    return len(listing)


_WORDS = ("order", "ship", "caf\u00e9", "delta", "\u65e5\u672c", "quote\"", "tab\t", "x")


def hash_only_items(n, seed):
    """Items of the hash-only table: ddbgen's Customers items plus awkward attribute names
    (sanitised and numbered in the DDL), mixed types, decimals, exponents, sparse columns."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        it = ddbgen.make_item(rng, "Customers", i)
        if i % 3 == 0:
            it["Order Id"] = {"S": f"o-{i}"}
        if i % 5 == 0:
            it["order_id"] = {"N": str(i * 7)}
        if i % 4 == 1:
            it["\u00dcberName"] = {"S": "\u00fc" * (i % 9)}
        it["mixed"] = {"N": str(i)} if i % 2 else {"S": f"s{i}"}
        it["price"] = {"N": f"{rng.randrange(0, 10 ** 9)}.{rng.randrange(0, 1000):03d}"}
        it["big"] = {"N": str(rng.randrange(10 ** 36, 10 ** 37))}
        if i % 6 == 0:
            it["sci"] = {"N": rng.choice(["1E+5", "2.5E-3", "7"])}
        it["select"] = {"BOOL": i % 2 == 0}
        if i % 7 == 0:
            it["_op"] = {"S": "user value"}
            it["a.b"] = {"S": "dotted"}
            it["x-y"] = {"NULL": True}
        if i % 10 == 0:
            it["tags"] = {"SS": sorted({f"t{rng.randrange(9)}" for _ in range(3)})}
            it["nums"] = {"NS": [str(rng.randrange(100)) + ".5"]}
        # Long text: files of ETL_EXPORT_OBJECT_BYTES (1 MiB) fill up, Scan pages hit 1 MB.
        it["notes"] = {"S": " ".join(rng.choice(_WORDS) + str(rng.randrange(100))
                                     for _ in range(rng.randrange(150, 1000)))}
        if i % 13 == 0:
            it = {"customerId": it["customerId"]}  # key only
        items.append(it)
    return items


def _to_botocore(v):
    (t, x), = v.items()
    if t == "B":
        return {"B": base64.b64decode(x)}
    if t == "BS":
        return {"BS": [base64.b64decode(b) for b in x]}
    if t == "M":
        return {"M": {k: _to_botocore(y) for k, y in x.items()}}
    if t == "L":
        return {"L": [_to_botocore(y) for y in x]}
    return {t: x}


def helper_seed_hash_only(a):
    ddb = _boto_client("dynamodb", a["endpoint"], a["region"], a["key"], a["secret"])
    ddb.create_table(TableName=a["table"],
                     AttributeDefinitions=[{"AttributeName": "customerId", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "customerId", "KeyType": "HASH"}],
                     BillingMode="PAY_PER_REQUEST")
    items = hash_only_items(a["items"], a["seed"])
    for i in range(0, len(items), 25):
        req = {a["table"]: [{"PutRequest": {"Item": {k: _to_botocore(v) for k, v in it.items()}}}
                            for it in items[i:i + 25]]}
        while req:
            req = ddb.batch_write_item(RequestItems=req).get("UnprocessedItems") or {}
    return len(items)


def helper_s3_delete_prefix(a):
    s3 = _boto_client("s3", a["endpoint"], a["region"], a["key"], a["secret"])
    n = 0
    for page in s3.get_paginator("list_objects").paginate(Bucket=a["bucket"],
                                                          Prefix=a["prefix"]):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=a["bucket"], Key=o["Key"])
            n += 1
    return n


HELPERS = {"s3_dump": helper_s3_dump, "seed_hash_only": helper_seed_hash_only,
           "s3_delete_prefix": helper_s3_delete_prefix}


def run_helper(name, args):
    if _have_botocore():
        return HELPERS[name](args)
    py = stackmod._python_with_botocore()
    p = subprocess.run([py, os.path.abspath(__file__), "--internal-helper",
                        json.dumps({"name": name, "args": args})],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SetupError(f"helper {name} failed under {py}: {p.stderr[-2000:]}")
    return json.loads(p.stdout)


# ---- events ---------------------------------------------------------------------------------

def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)
    return path


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def scheduled(t):
    return {"version": "0", "id": "5f2a8d2e-0c1b-4a77-9d0e-1e5b8f3c7a11",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": t, "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"], "detail": {}}


def _rec(i, op, table, keys, new=None, old=None, ts=1764035000, seq=None, identity=None,
         view="NEW_AND_OLD_IMAGES", arn=True):
    ddb = {"Keys": keys, "SequenceNumber": seq or str(900000000000000000000 + i * 10),
           "SizeBytes": 100, "StreamViewType": view}
    if ts is not None:
        ddb["ApproximateCreationDateTime"] = ts
    if new is not None:
        ddb["NewImage"] = new
    if old is not None:
        ddb["OldImage"] = old
    r = {"eventID": f"{0xabc000 + i:032x}", "eventName": op, "eventVersion": "1.1",
         "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": ddb}
    if arn is True:
        r["eventSourceARN"] = ddbgen.stream_arn(table)
    elif arn:
        r["eventSourceARN"] = arn
    if identity:
        r["userIdentity"] = identity
    return r


def reserved_and_edge_records():
    """Metadata-like attribute names, odd table names, timestamps, empty sets, number forms."""
    k = {"pk": {"S": "order#r1"}, "sk": {"N": "1"}}
    meta_like = {"_op": {"S": "user op"}, "_seq": {"N": "5"}, "_ts": {"S": "not a time"},
                 "_table": {"S": "t"}, "_event_id": {"NULL": True}, "_ttl_delete": {"BOOL": True},
                 "_item_op": {"S": "already prefixed"}, "_other": {"S": "fine"}}
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    user = {"type": "User", "principalId": "AIDAEXAMPLE"}
    weird_keys = {"_seq": {"S": "k-seq"}, "_ts": {"N": "42"}}
    odd_names = {"na\"me": {"S": "q"}, "a,b": {"S": "comma"}, "line\nbreak": {"S": "nl"},
                 "caf\u00e9": {"S": "\u65e5\u672c"}, "": {"S": "empty name"},
                 "sp ace": {"N": "1"}}
    empties = {"ss": {"SS": []}, "ns": {"NS": []}, "bs": {"BS": []}, "m": {"M": {}},
               "l": {"L": []}, "s": {"S": ""}, "b": {"B": ""}}
    numbers = {f"n{j}": {"N": v} for j, v in enumerate(
        ["+5", "007.25", ".5", "-0", "1E+125", "1e-130", "0.0", "-.5", "5.", "00", "-007",
         "12345678901234567890123456789012345678", "0.00000000000000000000000000000000000001",
         "-9.9999999999999999999999999999999999999E+125", "1.50", "100E-2"])}
    recs = [
        _rec(0, "INSERT", "Orders", k, new=dict(k, **meta_like)),
        _rec(1, "MODIFY", "Orders", k, new=dict(k, _op={"M": {"x": {"S": "y"}}}),
             old=dict(k, **meta_like)),
        _rec(2, "REMOVE", "Orders", k, old=dict(k, _seq={"S": "old"}), identity=ttl),
        _rec(3, "REMOVE", "Orders", {"pk": {"S": "order#r2"}, "sk": {"N": "2"}}, identity=user),
        _rec(4, "INSERT", "Weird", weird_keys, new={"v": {"S": "keys not in image"}}),
        _rec(5, "REMOVE", "Weird", weird_keys, identity={"type": "Service",
                                                          "principalId": "other.amazonaws.com"}),
        _rec(6, "INSERT", "my.table-v2_x", {"id": {"S": "1"}}, new=dict(odd_names, id={"S": "1"}),
             arn=ddbgen.stream_arn("my.table-v2_x")),
        _rec(7, "INSERT", "x", {"id": {"S": "2"}}, new={"id": {"S": "2"}}, arn=None),
        _rec(8, "INSERT", "x", {"id": {"S": "3"}}, new={"id": {"S": "3"}},
             arn="arn:aws:s3:::not-a-stream"),
        _rec(9, "INSERT", "Orders", k, new=dict(k, note={"S": "no time"}), ts=None),
        _rec(10, "INSERT", "Orders", k, new=dict(k, note={"S": "ms"}), ts=1764028800123),
        _rec(11, "INSERT", "Orders", k, new=dict(k, note={"S": "fraction"}), ts=1764028800.5),
        _rec(12, "INSERT", "Orders", k, new=dict(k, **empties)),
        _rec(13, "INSERT", "Orders", k, new=dict(k, **numbers)),
        _rec(14, "INSERT", "Orders", k, new=dict(k, note={"S": "2026"}), ts=1798761599),
        _rec(15, "MODIFY", "Orders", k, new=dict(k, note={"S": "keys only view"}),
             view="KEYS_ONLY"),
    ]
    return recs


def quarantine_records():
    recs = ddbgen.make_records(60, seed=51)
    keys = lambda r: r["dynamodb"].get("Keys", {})  # noqa: E731

    def set_new(i, extra, op="INSERT"):
        r = json.loads(json.dumps(recs[i]))
        r["eventName"] = op
        r["dynamodb"]["NewImage"] = dict(keys(r), **extra)
        r["dynamodb"].pop("OldImage", None)
        recs[i] = r

    set_new(5, {"price": {"N": "1" * 40}})
    r = recs[10]
    r["dynamodb"]["Keys"] = {"k": {"Z": "unknown type"}}
    r["dynamodb"].pop("NewImage", None)
    r["dynamodb"].pop("OldImage", None)
    r = recs[15]  # INSERT without any image nor keys: a missing image
    r["eventName"] = "INSERT"
    r["dynamodb"].pop("NewImage", None)
    r["dynamodb"].pop("OldImage", None)
    r["dynamodb"].pop("Keys", None)
    r = recs[16]  # MODIFY whose NewImage is missing
    r["eventName"] = "MODIFY"
    r["dynamodb"].pop("NewImage", None)
    set_new(20, {"blob": {"B": "!!!not base64"}})
    set_new(25, {"deep": ddbgen._deep(34)})
    set_new(30, {"m": {"M": {"x": {"N": "1" * 39}}}})
    set_new(35, {"bad": {"N": "1e"}})
    set_new(36, {"bad": {"N": "abc"}})
    set_new(40, {"tiny": {"N": "0." + "0" * 30 + "1234567890123456789012345678901234567890"}})
    set_new(45, {"ns": {"NS": ["1", "x"]}})
    set_new(46, {"t": {"BOOL": "yes"}})
    set_new(47, {"n": {"NULL": False}})
    set_new(48, {"l": {"L": [{"S": "a"}, {"N": "1" * 41}]}})
    set_new(50, {"s": {"S": 5}}, op="MODIFY")
    return recs


def fatal_events():
    """Events each of which may fail as a whole: one per file."""
    good = ddbgen.make_records(3, seed=81)
    out = {}
    r = json.loads(json.dumps(good))
    r[1]["eventName"] = "UPSERT"
    out["unknown-op"] = {"Records": r}
    r = json.loads(json.dumps(good))
    del r[0]["dynamodb"]["SequenceNumber"]
    out["no-sequence"] = {"Records": r}
    r = json.loads(json.dumps(good))
    del r[2]["dynamodb"]
    out["no-dynamodb"] = {"Records": r}
    out["records-not-list"] = {"Records": {}}
    out["records-empty"] = {"Records": []}
    r = json.loads(json.dumps(good))
    r[1]["eventSource"] = "aws:s3"
    out["mixed-sources"] = {"Records": r}
    r = json.loads(json.dumps(good))
    r[0]["dynamodb"]["SequenceNumber"] = "9" * 45
    out["long-sequence"] = {"Records": r}
    out["empty-object"] = {}
    out["array"] = []
    out["string"] = "hello"
    out["export-bad"] = {"export": {"table": 5}}
    return out


class Events:
    """Every event file the scenarios use, written once into evdir (both sides read them)."""

    def __init__(self, evdir):
        os.makedirs(evdir, exist_ok=True)
        self.dir = evdir
        j = lambda name, obj: _write_json(os.path.join(evdir, name), obj)  # noqa: E731
        w = lambda name, recs: ddbgen.write_event(os.path.join(evdir, name), recs)  # noqa: E731
        # AWS's sample events and ours: the DynamoDB Streams batches, and the others.
        samples = sorted(os.path.join(SOURCE_DIR, "events", f)
                         for f in os.listdir(os.path.join(SOURCE_DIR, "events"))
                         if f.endswith(".json") and f != "env.json")
        samples += sorted(os.path.join(itlib.EVENTS, f) for f in os.listdir(itlib.EVENTS)
                          if f.endswith(".json"))
        self.stream_samples, self.other_samples = [], []
        for p in samples:
            with open(p, encoding="utf-8") as f:
                doc = json.load(f)
            recs = doc.get("Records") if isinstance(doc, dict) else None
            is_stream = (isinstance(recs, list) and recs and isinstance(recs[0], dict)
                         and recs[0].get("eventSource") == "aws:dynamodb")
            (self.stream_samples if is_stream else self.other_samples).append(p)
        self.malformed = [_write_text(os.path.join(evdir, "malformed.json"), '{"Records": [{'),
                          _write_text(os.path.join(evdir, "not-json.json"), "\u00e9t\u00e9 \x01")]
        self.fatal = [j(f"fatal-{n}.json", d) for n, d in fatal_events().items()]
        self.gen1000 = w("gen-1000.json", ddbgen.make_records(1000, seed=11))
        self.gen4000 = w("gen-4000.json", ddbgen.make_records(
            4000, seed=12, first_seq=200000000000000000000))
        self.gen_days = w("gen-days.json", ddbgen.make_records(
            1500, seed=13, tables=("Invoices", "Orders", "Customers"), start_ts=1767139200,
            span_s=50 * 3600, first_seq=300000000000000000000))
        self.views = [w(f"view-{v}.json", ddbgen.make_records(
            200, seed=14 + i, view=v, first_seq=400000000000000000000 + i * 10 ** 9))
            for i, v in enumerate(("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE"))]
        self.quarantine = w("quarantine.json", quarantine_records())
        self.reserved = w("reserved.json", reserved_and_edge_records())
        self.retry = w("retry.json", ddbgen.make_records(500, seed=31,
                                                         first_seq=500000000000000000000))
        self.same_range_a = w("same-range-a.json", ddbgen.make_records(
            200, seed=71, first_seq=700000000000000000000))
        self.same_range_b = w("same-range-b.json", ddbgen.make_records(
            200, seed=72, first_seq=700000000000000000000))
        self.config_probe = w("config-probe.json", ddbgen.make_records(5, seed=91))
        self.event = lambda name, obj: j(name, obj)  # noqa: E731


# ---- scenarios --------------------------------------------------------------------------------

class Step:
    def __init__(self, events, env=None, timeout=60, observe=False):
        self.events = list(events)
        self.env = dict(env or {})
        self.timeout = timeout
        self.observe = observe  # a repeated delivery: record which objects it wrote


class Scenario:
    def __init__(self, name, sink, steps, ddb=False):
        self.name = name
        self.sink = sink
        self.steps = steps
        self.ddb = ddb

    @property
    def label(self):
        return f"{self.sink}/{self.name}"


ORDERS, CUSTOMERS = "Orders", "Customers"


def stream_scenarios(ev, sink, quick):
    gen = [ev.gen1000] if quick else [ev.gen1000, ev.gen4000, ev.gen_days] + ev.views
    edge = [ev.quarantine, ev.reserved]
    variant_events = [ev.gen1000, ev.quarantine, ev.reserved] + ([] if quick else [ev.views[0]])
    out = [
        Scenario("stream-samples", sink, [Step(ev.stream_samples)]),
        Scenario("stream-other-events", sink,
                 [Step(ev.other_samples + ev.malformed + ev.fatal)]),
        Scenario("stream-generated", sink, [Step(gen)]),
        Scenario("stream-edge", sink, [Step(edge)]),
    ]
    variants = [
        ("csv-gzip", {"ETL_FORMAT": "csv"}),
        ("csv-none", {"ETL_FORMAT": "csv", "ETL_COMPRESSION": "none"}),
        ("jsonl-none", {"ETL_COMPRESSION": "none"}),
        ("partition-ymdh", {"ETL_PARTITION": "year=%Y/month=%m/day=%d/%H"}),
        ("partition-minute", {"ETL_PARTITION": "ts=%Y%m%d-%H%M/x"}),
        ("gzip-level-1", {"ETL_GZIP_LEVEL": "1"}),
        ("split-records", {"ETL_MAX_OBJECT_RECORDS": "37"}),
        ("split-bytes", {"ETL_MAX_OBJECT_BYTES": "20000"}),
        ("split-csv", {"ETL_FORMAT": "csv", "ETL_MAX_OBJECT_RECORDS": "50",
                       "ETL_MAX_OBJECT_BYTES": "30000"}),
    ]
    if sink == "s3":
        variants.append(("s3-options", {"ETL_S3_CHECKSUM": "crc32c", "ETL_S3_SSE": "AES256",
                                        "ETL_S3_STORAGE_CLASS": "STANDARD_IA"}))
    if quick:
        keep = {"csv-none", "split-records", "s3-options"}
        variants = [v for v in variants if v[0] in keep]
    for name, env in variants:
        # Minute partitions: the smaller batches only (1,000 records over 3 hours would be
        # 360 objects of two rows).
        evs = edge if name == "partition-minute" else variant_events
        out.append(Scenario(f"stream-{name}", sink, [Step(evs, env)]))
    out.append(Scenario("stream-retry", sink, [
        Step([ev.retry]),
        Step([ev.retry, ev.retry], observe=True),  # Lambda's retries: nothing new
    ]))
    out.append(Scenario("stream-same-range", sink, [
        Step([ev.same_range_a]),
        Step([ev.same_range_b], observe=True),  # other bytes under the same names: -{md5}
        Step([ev.same_range_b, ev.same_range_a], observe=True),  # both again: nothing new
    ]))
    bad_config = [
        {"ETL_FORMAT": "parquet"}, {"ETL_COMPRESSION": "zstd"}, {"ETL_GZIP_LEVEL": "0"},
        {"ETL_PARTITION": "dt=%Y-%j"}, {"ETL_PARTITION": "a b/%H"},
        {"ETL_MAX_OBJECT_RECORDS": "0"}, {"ETL_MAX_OBJECT_BYTES": "1023"},
        {"ETL_MAX_OBJECT_BYTES": "12abc"}, {"ETL_OUTPUT": "ftp://x/y/"},
        {"ETL_OUTPUT": ""}, {"ETL_SEGMENTS": "0"}, {"ETL_EXPORT_OBJECT_BYTES": "1000"},
        {"ETL_SNAPSHOT_FORMAT": "parquet"}, {"ETL_S3_CHECKSUM": "sha1"},
        {"ETL_TRANSFORM": "x"}, {"AWS_LAMBDA_LOG_FORMAT": "XML"},
        {"AWS_LAMBDA_LOG_LEVEL": "LOUD"}, {"ETL_DEADLINE_MARGIN_MS": "-1"},
        {"ETL_EXPORT_MARGIN_MS": "abc"}, {"ETL_EXPORT_THREADS": "0"}, {"ETL_MAX_RCU": "-5"},
        {"ETL_SCAN_PAGE_LIMIT": "-1"}, {"ETL_S3_SSE": "rot13"},
        {"ETL_S3_STORAGE_CLASS": "DEEP"}, {"AWS_MAX_ATTEMPTS": "0"},
    ]
    if quick:
        bad_config = bad_config[:5]
    if sink == "file":
        out.append(Scenario("stream-config-errors", sink,
                            [Step([ev.config_probe], env) for env in bad_config]))
    return out


def snapshot_scenarios(ev, sink, quick):
    def sched(t):
        return ev.event(f"sched-{t.replace(':', '')}.json", scheduled(t))

    def req(name, body):
        return ev.event(f"req-{name}.json", {"export": body})

    t1, t2 = "2026-11-24T00:00:00Z", "2026-11-25T06:30:00Z"
    T = 120
    out = [Scenario("snap-rows", sink, [
        Step([sched(t1)], {"ETL_TABLE": ORDERS, "ETL_SEGMENTS": "4"}, T),
        Step([sched(t1)], {"ETL_TABLE": ORDERS, "ETL_SEGMENTS": "4"}, T, observe=True),
        Step([sched(t1)], {"ETL_TABLE": CUSTOMERS, "ETL_SEGMENTS": "3"}, T),
        Step([sched(t2)], {"ETL_TABLE": ORDERS, "ETL_SEGMENTS": "2", "ETL_SCAN_PAGE_LIMIT": "0"},
             T),
    ], ddb=True)]
    if not quick:
        out += [
            Scenario("snap-csv", sink, [
                Step([sched(t1)], {"ETL_TABLE": ORDERS, "ETL_SEGMENTS": "2",
                                   "ETL_FORMAT": "csv"}, T),
                Step([sched(t1)], {"ETL_TABLE": CUSTOMERS, "ETL_SEGMENTS": "1",
                                   "ETL_FORMAT": "csv", "ETL_COMPRESSION": "none"}, T),
            ], ddb=True),
            Scenario("snap-jsonl-none", sink, [
                Step([sched(t1)], {"ETL_TABLE": ORDERS, "ETL_SEGMENTS": "2",
                                   "ETL_COMPRESSION": "none"}, T),
                # one 6 MB file: a multipart upload of two parts on S3
                Step([sched(t1)], {"ETL_TABLE": CUSTOMERS, "ETL_SEGMENTS": "1",
                                   "ETL_COMPRESSION": "none"}, T),
            ], ddb=True),
        ]
    native = {"ETL_SNAPSHOT_FORMAT": "ddb-export"}
    out.append(Scenario("snap-ddb-export", sink, [
        Step([sched(t1)], dict(native, ETL_TABLE=ORDERS, ETL_SEGMENTS="4"), T),
        Step([sched(t1)], dict(native, ETL_TABLE=ORDERS, ETL_SEGMENTS="4"), T, observe=True),
        Step([sched(t1)], dict(native, ETL_TABLE=CUSTOMERS, ETL_SEGMENTS="1"), T),
    ], ddb=True))
    # Fan-out of the table with the long items: several 1 MiB files and checkpoint entries
    # per segment, small Scan pages; a commit before the last segment is done, a repeat.
    small = {"ETL_EXPORT_OBJECT_BYTES": str(1024 * 1024), "ETL_SCAN_PAGE_LIMIT": "37"}
    run = "2026-11-26T000000Z"
    n = 2 if quick else 3
    seg = lambda s: req(f"fan-seg{s}", {"table": CUSTOMERS, "run_id": run,  # noqa: E731
                                        "segment": s, "total_segments": n})
    commit = req("fan-commit", {"table": CUSTOMERS, "run_id": run, "commit": True})
    out.append(Scenario("snap-fanout", sink, [
        Step([seg(s) for s in range(n - 1)] + [commit], small, T),
        Step([seg(n - 1), commit], small, T),
        Step([commit, seg(0)], small, T, observe=True),
    ], ddb=True))
    if not quick:
        t3 = "2026-11-27T12:00:00Z"
        nseg = lambda s: req(f"native-seg{s}", {"table": CUSTOMERS, "time": t3,  # noqa: E731
                                                "segment": s, "total_segments": 2})
        ncommit = req("native-commit", {"table": CUSTOMERS, "time": t3, "commit": True})
        out.append(Scenario("snap-fanout-ddb-export", sink, [
            Step([nseg(0), nseg(1), ncommit], dict(small, **native), T),
            Step([ncommit, nseg(0)], dict(small, **native), T, observe=True),
        ], ddb=True))
        out.append(Scenario("snap-requests", sink, [
            Step([req("whole", {"table": CUSTOMERS, "segments": 2,
                                "time": "2026-12-01T12:00:00Z"}),
                  req("whole-run-id", {"table": CUSTOMERS, "segments": 2,
                                       "run_id": "2026-12-01T120000Z"}),
                  req("bad-segment", {"table": ORDERS, "run_id": run, "segment": 5,
                                      "total_segments": 3}),
                  req("both", {"table": ORDERS, "run_id": run, "time": t1, "commit": True}),
                  req("never", {"table": ORDERS, "run_id": "2026-01-01T000000Z",
                                "commit": True}),
                  req("no-table", {"run_id": run, "commit": True}),
                  req("bad-time", {"table": ORDERS, "time": "yesterday"}),
                  req("bad-run-id", {"table": ORDERS, "run_id": "../../etc"}),
                  req("missing-table", {"table": "NoSuchTable", "time": t1, "segments": 1})],
                 {}, T),
            Step([sched("not-a-time"), sched(t1)], {"ETL_TABLE": "NoSuchTable"}, T),
            Step([sched(t1)], {}, T),
        ], ddb=True))
    return out


def build_scenarios(ev, quick):
    out = []
    for sink in ("file", "s3"):
        out += stream_scenarios(ev, sink, quick)
    for sink in ("file", "s3"):
        out += snapshot_scenarios(ev, sink, quick)
    return out


# ---- running one side -------------------------------------------------------------------------

def clean_base_env():
    drop = ("AWS_", "ETL_", "POWERTOOLS_", "_X_AMZN", "LAMBDA_", "_HANDLER", "_LAMBDA")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["TZ"] = TZ
    return env


def file_state(root):
    st = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            s = os.lstat(p)
            st[os.path.relpath(p, root)] = (s.st_size, s.st_mtime_ns, s.st_ino, s.st_mode)
    return st


def proxy_s3_writes(stk, reset=False):
    st = stk._proxy_call(stk.s3_proxy_url, "/__proxy/stats")
    if reset:
        stk._proxy_call(stk.s3_proxy_url, "/__proxy/reset", b"{}")
    return st


class Runner:
    """Runs each scenario through the old bootstrap, then at once through the new one.

    A DynamoDB Streams batch in which no record has an ApproximateCreationDateTime (some of
    AWS's samples) is filed under the invocation's own time: its partition (hour, or minute with
    %M) is the one thing in the trees that follows the clock and is not a manifest field. So the
    two runs of a scenario follow each other directly, and when the UTC hour (minute) changes
    between the start of the first and the end of the second, both are wiped and run again."""

    def __init__(self, work, scenarios, ddb_stack, bootstraps, s3_stacks):
        self.work = work
        self.scenarios = scenarios
        self.ddb_stack = ddb_stack
        self.bootstraps = bootstraps  # {"old": path, "new": path}
        self.s3_stacks = s3_stacks    # {"old": LocalStack, "new": LocalStack}
        self.stage = os.path.join(work, "stage")
        self.base_env = clean_base_env()
        self.answers = {"old": {}, "new": {}}
        self.reruns = []

    def env_for(self, scn, step, s3_stack):
        env = {"AWS_LAMBDA_LOG_LEVEL": "INFO"}
        ddb = self.ddb_stack.env
        if scn.sink == "file":
            env["ETL_OUTPUT"] = f"file://{self.stage}/{scn.name}/"
            if scn.ddb:
                env.update({k: ddb[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                "AWS_REGION", "AWS_DEFAULT_REGION",
                                                "AWS_ENDPOINT_URL_DYNAMODB")})
            else:  # the stream pipeline without AWS at all
                env.update({"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
        else:
            env.update(s3_stack.env)
            env["AWS_ENDPOINT_URL_DYNAMODB"] = ddb["AWS_ENDPOINT_URL_DYNAMODB"]
            env["ETL_OUTPUT"] = f"s3://{BUCKET}/{scn.name}/"
        env.update(step.env)
        return env

    def _s3_args(self, stk, **extra):
        return dict({"endpoint": stk.s3_upstream_url, "region": stk.region,
                     "key": stk.access_key, "secret": stk.secret_key, "bucket": BUCKET}, **extra)

    def run_one(self, side, scn):
        """Runs scn's steps through side's bootstrap; returns its answer entries."""
        s3_stack = self.s3_stacks[side]
        stage = os.path.join(self.stage, scn.name)
        entries = []
        logs = os.path.join(self.work, side, "logs")
        os.makedirs(logs, exist_ok=True)
        with open(os.path.join(logs, scn.label.replace("/", "__") + ".log"), "a") as lf:
            for i, step in enumerate(scn.steps):
                before = None
                if step.observe:
                    if scn.sink == "file":
                        before = file_state(stage)
                    else:
                        proxy_s3_writes(s3_stack, reset=True)
                r = itlib.invoke(step.events, env=self.env_for(scn, step, s3_stack),
                                 timeout=step.timeout, base_env=self.base_env,
                                 bootstrap_path=self.bootstraps[side], wall_timeout=900)
                lf.write(f"==== step {i}: exit {r.code}; events "
                         f"{[os.path.basename(e) for e in step.events]}\n{r.stderr}\n")
                if r.code not in (0, 1):
                    raise SetupError(f"{side} {scn.label} step {i}: local-invoke exited "
                                     f"{r.code}: {r.stderr[-1500:]}")
                for j, line in enumerate(r.lines):
                    ev = step.events[j] if j < len(step.events) else "?"
                    entries.append({"step": i, "event": os.path.basename(ev),
                                    "kind": "answer", "text": line})
                entries.append({"step": i, "kind": "exit", "text": str(r.code)})
                if step.observe:
                    if scn.sink == "file":
                        after = file_state(stage)
                        changed = sorted(k for k in set(before) | set(after)
                                         if before.get(k) != after.get(k))
                    else:
                        st = proxy_s3_writes(s3_stack)
                        changed = sorted({
                            f"{e['method']} " + urllib.parse.unquote(
                                e["path"].split("?")[0]).split("/", 2)[-1]
                            for e in st["log"] if e["method"] in ("PUT", "POST", "DELETE")})
                    entries.append({"step": i, "kind": "repeat-check",
                                    "text": json.dumps({"objects written by this repeated "
                                                        "delivery": changed})})
        if scn.sink == "file":
            dest = os.path.join(self.work, side, "file", scn.name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.exists(stage):
                os.rename(stage, dest)
            # Anything else in the staging folder was written outside the scenario's root.
            for name in os.listdir(self.stage):
                stray = os.path.join(self.work, side, "stray", "file", scn.name)
                os.makedirs(stray, exist_ok=True)
                os.rename(os.path.join(self.stage, name), os.path.join(stray, name))
        return entries

    def wipe(self, scn):
        for side in ("old", "new"):
            if scn.sink == "file":
                shutil.rmtree(os.path.join(self.work, side, "file", scn.name),
                              ignore_errors=True)
                shutil.rmtree(os.path.join(self.stage, scn.name), ignore_errors=True)
            else:
                run_helper("s3_delete_prefix",
                           self._s3_args(self.s3_stacks[side], prefix=scn.name + "/"))

    def run_all(self):
        t0 = time.monotonic()
        os.makedirs(self.stage, exist_ok=True)
        for scn in self.scenarios:
            fmt = "%Y-%m-%dT%H" + (":%M" if any("%M" in st.env.get("ETL_PARTITION", "")
                                               for st in scn.steps) else "")
            for attempt in range(3):
                ts = time.monotonic()
                c0 = time.strftime(fmt, time.gmtime())
                got = {side: self.run_one(side, scn) for side in ("old", "new")}
                c1 = time.strftime(fmt, time.gmtime())
                if c0 == c1:
                    break
                self.reruns.append(f"{scn.label} (UTC clock {c0} -> {c1})")
                log(f"{scn.label}: the UTC clock passed {c1} during the two runs; running both "
                    f"again")
                self.wipe(scn)
            for side in ("old", "new"):
                self.answers[side][scn.label] = got[side]
            log(f"{scn.label}: {sum(len(st.events) for st in scn.steps)} invocations on each "
                f"side in {time.monotonic() - ts:.1f} s")
        for side in ("old", "new"):
            side_dir = os.path.join(self.work, side)
            os.makedirs(os.path.join(side_dir, "file"), exist_ok=True)
            stk = self.s3_stacks[side]
            n = run_helper("s3_dump", self._s3_args(
                stk, dest=os.path.join(side_dir, "s3"),
                heads=os.path.join(side_dir, "s3-heads.json")))
            with open(os.path.join(side_dir, "answers.json"), "w") as f:
                json.dump(self.answers[side], f, indent=1, ensure_ascii=False)
            stats = stk.proxy_stats()
            log(f"{side}: {n} S3 objects; signature failures on its S3 proxy: "
                f"{stats['s3']['signature_failures']}")
        log(f"both sides ran in {time.monotonic() - t0:.1f} s")


# ---- normalisation ------------------------------------------------------------------------

NORMALISE = [
    (re.compile(r"(^|/)_checkpoint/run\.json$"), ("started", "started_ms"), "run.json"),
    (re.compile(r"(^|/)_meta/manifest\.json$"), ("start", "end"), "manifest.json"),
    (re.compile(r"(^|/)AWSDynamoDB/[^/]+/manifest-summary\.json$"), ("startTime", "endTime"),
     "manifest-summary.json"),
]
SUMMARY_MD5 = re.compile(r"(^|/)AWSDynamoDB/[^/]+/manifest-summary\.md5$")

_ws = re.compile(r"[ \t\n\r]*")


def replace_top_level(data, fields):
    """data (a JSON object's bytes) with the values of the top-level members named in fields
    replaced by PLACEHOLDER, every other byte kept. (None, []) when data is not a JSON object."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, []
    dec = json.JSONDecoder()
    try:
        pos = _ws.match(text, 0).end()
        if text[pos:pos + 1] != "{":
            return None, []
        pos = _ws.match(text, pos + 1).end()
        spans, found = [], []
        if text[pos:pos + 1] == "}":
            return None, []
        while True:
            key, pos = dec.raw_decode(text, pos)
            pos = _ws.match(text, pos).end()
            if text[pos:pos + 1] != ":":
                return None, []
            pos = _ws.match(text, pos + 1).end()
            start = pos
            _, pos = dec.raw_decode(text, pos)
            if key in fields:
                spans.append((start, pos))
                found.append(key)
            pos = _ws.match(text, pos).end()
            c = text[pos:pos + 1]
            if c == ",":
                pos = _ws.match(text, pos + 1).end()
                continue
            if c == "}":
                break
            return None, []
        json.loads(text)  # the whole document must be JSON
    except ValueError:
        return None, []
    for s, e in reversed(spans):
        text = text[:s] + PLACEHOLDER + text[e:]
    return text.encode("utf-8"), found


class Tree:
    """One side's objects: {scenario label: {key: path}}, HeadObject fields, normalised bytes."""

    def __init__(self, side_dir):
        self.dir = side_dir
        with open(os.path.join(side_dir, "s3-heads.json")) as f:
            self.heads = json.load(f)

    def objects(self, scn):
        root = os.path.join(self.dir, scn.sink, scn.name)
        out = {}
        for dirpath, dirs, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                out[os.path.relpath(p, root)] = p
            if not dirs and not files and dirpath != root:
                out[os.path.relpath(dirpath, root) + "/"] = None  # an empty directory
        return out

    def raw(self, path):
        with open(path, "rb") as f:
            return f.read()

    def normalised_bytes(self, scn, key, objs, counts):
        data = self.raw(objs[key])
        for rx, fields, what in NORMALISE:
            if rx.search(key):
                new, found = replace_top_level(data, fields)
                if new is not None and found:
                    for fld in found:
                        counts[f"{what} {fld}"] = counts.get(f"{what} {fld}", 0) + 1
                    return new, True
        if SUMMARY_MD5.search(key):
            doc_key = key[:-len(".md5")] + ".json"
            if doc_key in objs and objs[doc_key]:
                doc = self.raw(objs[doc_key])
                norm, found = replace_top_level(doc, NORMALISE[2][1])
                if norm is not None and found:
                    raw_md5, norm_md5 = hashlib.md5(doc).digest(), hashlib.md5(norm).digest()
                    for enc in (lambda d: base64.b64encode(d), lambda d: d.hex().encode()):
                        if data == enc(raw_md5):
                            what = "manifest-summary.md5 (recomputed from the normalised document)"
                            counts[what] = counts.get(what, 0) + 1
                            return enc(norm_md5), True
        return data, False

    def head(self, scn, key, raw, bytes_differ):
        """HeadObject fields of an S3 object. An ETag or x-amz-meta-md5 that is the MD5 of this
        side's own bytes becomes a token (the bytes are compared themselves); so does a
        multipart ETag when the bytes differ anyway (its part count is kept)."""
        h = dict(self.heads.get(f"{scn.name}/{key}", {"missing": "no HeadObject"}))
        md5 = hashlib.md5(raw).hexdigest()
        for k in ("ETag", "ListETag"):
            etag = str(h.get(k, "")).strip('"')
            if etag == md5:
                h[k] = "<MD5 of the object>"
            elif bytes_differ and re.fullmatch(r"[0-9a-f]{32}-\d+", etag):
                h[k] = f"<multipart ETag of {etag.split('-')[1]} parts>"
        meta = dict(h.get("Metadata") or {})
        if meta.get("md5") == md5:
            meta["md5"] = "<MD5 of the object>"
            h["Metadata"] = meta
        return h


# ---- comparison ---------------------------------------------------------------------------

def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(i + 4096, n)):
                if a[j] != b[j]:
                    return j
    return n


def as_text(key, data):
    if data is None or len(data) > SMALL_TEXT * 4:
        return None
    if key.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
    if len(data) > SMALL_TEXT:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _common_prefix(a, b):
    return os.path.commonprefix([a, b])


def _window(line, col, width=200):
    """line cut to about width characters around column col."""
    if len(line) <= width:
        return line
    start = max(0, min(col - 60, len(line) - width))
    return ("... " if start else "") + line[start:start + width] + (
        " ..." if start + width < len(line) else "")


def unified(a_text, b_text, key, lines=16):
    """The first lines of a unified diff; long lines are cut around where the removed and
    added line of a pair first differ."""
    out = list(difflib.unified_diff(a_text.splitlines(), b_text.splitlines(),
                                    f"old/{key}", f"new/{key}", n=1, lineterm=""))[:lines]
    res, i = [], 0
    while i < len(out):
        if out[i].startswith("-") and not out[i].startswith("---"):
            minus = []
            while i < len(out) and out[i].startswith("-"):
                minus.append(out[i])
                i += 1
            plus = []
            while i < len(out) and out[i].startswith("+") and not out[i].startswith("+++"):
                plus.append(out[i])
                i += 1
            for k, l in enumerate(minus):
                other = plus[k] if k < len(plus) else ""
                res.append(l[0] + _window(l[1:], len(_common_prefix(l[1:], other[1:]))))
            for k, l in enumerate(plus):
                other = minus[k] if k < len(minus) else ""
                res.append(l[0] + _window(l[1:], len(_common_prefix(l[1:], other[1:]))))
            continue
        res.append(out[i][:1] + _window(out[i][1:], 0))
        i += 1
    return res


def describe(key, a, b, normalised):
    """One line, and diff lines, for an object whose bytes differ."""
    off = first_diff(a, b)
    ab = f"0x{a[off]:02x}" if off < len(a) else "end"
    bb = f"0x{b[off]:02x}" if off < len(b) else "end"
    line = (f"{key}: old {len(a)} bytes, new {len(b)} bytes, first difference at offset {off} "
            f"(old {ab}, new {bb}){' [after normalisation]' if normalised else ''}")
    extra = []
    if key.endswith(".gz"):
        try:
            da, db = gzip.decompress(a), gzip.decompress(b)
            if da == db:
                line += "; decompressed contents identical (the gzip container differs)"
                return line, extra
            line += (f"; decompressed: old {len(da)} bytes, new {len(db)} bytes, first "
                     f"difference at offset {first_diff(da, db)}")
        except (OSError, EOFError, zlib.error) as e:
            line += f"; not both gzip ({e})"
    ta, tb = as_text(key, a), as_text(key, b)
    if ta is not None and tb is not None:
        ea, eb = ta.encode(), tb.encode()
        at = first_diff(ea, eb)
        line_no = ea[:at].count(b"\n") + 1
        col = at - (ea.rfind(b"\n", 0, at) + 1) + 1
        line += f"; text differs from line {line_no}, column {col}"
        extra = unified(ta, tb, key)
    return line, extra


class Comparison:
    def __init__(self, work, scenarios):
        self.old = Tree(os.path.join(work, "old"))
        self.new = Tree(os.path.join(work, "new"))
        with open(os.path.join(work, "old", "answers.json")) as f:
            self.old_answers = json.load(f)
        with open(os.path.join(work, "new", "answers.json")) as f:
            self.new_answers = json.load(f)
        self.scenarios = scenarios
        self.counts = {}
        self.total_objects = self.total_answers = self.total_checks = 0
        self.differences = []  # (label, line, extra lines)

    def scenario(self, scn):
        diffs = []
        oo, no = self.old.objects(scn), self.new.objects(scn)
        keys = sorted(set(oo) | set(no))
        diffs += self.compare_objects(scn, oo, no, keys)
        n_objects = len([k for k in keys if not k.endswith("/")])
        n_answers, n_checks = self.compare_answers(scn, diffs)
        self.total_objects += n_objects
        self.total_answers += n_answers
        self.total_checks += n_checks
        for line, extra in diffs:
            self.differences.append((scn.label, line, extra))
        return n_objects, n_answers, n_checks, diffs

    def stray(self):
        """Objects outside every scenario's root (an S3 key under no scenario prefix, a file
        beside a scenario's folder): compared like the rest, and listed."""
        names = {scn.name for scn in self.scenarios}
        out = {}
        for side, tree in (("old", self.old), ("new", self.new)):
            found = {}
            s3root = os.path.join(tree.dir, "s3")
            for dirpath, _, files in os.walk(s3root):
                for f in files:
                    p = os.path.join(dirpath, f)
                    rel = os.path.relpath(p, s3root)
                    if rel.split("/", 1)[0] not in names or "/" not in rel:
                        found["s3://" + BUCKET + "/" + rel] = p
            sroot = os.path.join(tree.dir, "stray")
            for dirpath, _, files in os.walk(sroot):
                for f in files:
                    p = os.path.join(dirpath, f)
                    found["stage/" + os.path.relpath(p, sroot)] = p
            out[side] = found
        keys = sorted(set(out["old"]) | set(out["new"]))
        scn = Scenario("(outside the scenario roots)", "stray", [])
        diffs = self.compare_objects(scn, out["old"], out["new"], keys)
        for line, extra in diffs:
            self.differences.append((scn.label, line, extra))
        self.total_objects += len(keys)
        return len(keys), diffs

    def compare_objects(self, scn, oo, no, keys):
        diffs = []
        for key in keys:
            if key not in no:
                size = os.path.getsize(oo[key]) if oo[key] else 0
                diffs.append((f"{key}: only in old ({size} bytes)", []))
                continue
            if key not in oo:
                size = os.path.getsize(no[key]) if no[key] else 0
                diffs.append((f"{key}: only in new ({size} bytes)", []))
                continue
            if oo[key] is None or no[key] is None:
                if (oo[key] is None) != (no[key] is None):
                    diffs.append((f"{key}: a directory on one side, a file on the other", []))
                continue
            a, a_norm = self.old.normalised_bytes(scn, key, oo, self.counts)
            b, b_norm = self.new.normalised_bytes(scn, key, no, self.counts)
            if a != b:
                line, extra = describe(key, a, b, a_norm or b_norm)
                diffs.append((line, extra))
            if scn.sink == "stray":
                continue
            if scn.sink == "file":
                ma, mb = os.stat(oo[key]).st_mode & 0o7777, os.stat(no[key]).st_mode & 0o7777
                if ma != mb:
                    diffs.append((f"{key}: file mode old {ma:04o}, new {mb:04o}", []))
            else:
                ha = self.old.head(scn, key, self.old.raw(oo[key]), a != b)
                hb = self.new.head(scn, key, self.new.raw(no[key]), a != b)
                if ha != hb:
                    fields = sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k))
                    diffs.append((f"{key}: HeadObject differs in "
                                  + ", ".join(f"{k} (old {ha.get(k)!r}, new {hb.get(k)!r})"
                                              for k in fields), []))
        return diffs

    def compare_answers(self, scn, diffs):
        oa, na = self.old_answers.get(scn.label, []), self.new_answers.get(scn.label, [])
        n_answers = max(sum(e["kind"] == "answer" for e in oa),
                        sum(e["kind"] == "answer" for e in na))
        n_checks = max(sum(e["kind"] == "repeat-check" for e in oa),
                       sum(e["kind"] == "repeat-check" for e in na))
        for i in range(max(len(oa), len(na))):
            ea = oa[i] if i < len(oa) else None
            eb = na[i] if i < len(na) else None
            if ea == eb:
                continue
            where = ea or eb
            what = {"answer": "answer", "exit": "local-invoke exit status",
                    "repeat-check": "repeat check"}[where["kind"]]
            line = (f"{what} #{i} (step {where['step']}"
                    f"{', ' + where['event'] if 'event' in where else ''}) differs")
            extra = [f"- old: {ea['text'] if ea else '(none)'}"[:1000],
                     f"+ new: {eb['text'] if eb else '(none)'}"[:1000]]
            diffs.append((line, extra))
        return n_answers, n_checks


def print_differences(diffs, out, detailed=MAX_DETAILED, listed=MAX_LISTED):
    shown = 0
    for n, (line, extra) in enumerate(diffs):
        if listed is not None and n >= listed:
            out.write(f"      ... and {len(diffs) - listed} more differences in this scenario\n")
            break
        out.write(f"    - {line}\n")
        if extra and (detailed is None or shown < detailed):
            shown += 1
            for l in extra:
                out.write(f"        {l}\n")


# ---- building a revision ----------------------------------------------------------------------

def git(*args, cwd=SOURCE_DIR, check=True):
    p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SetupError(f"git {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout.strip()


def deps_prefix():
    """build/deps/prefix of this checkout, else of the repository's main worktree."""
    cands = [os.path.join(SOURCE_DIR, "build", "deps", "prefix")]
    for line in git("worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            cands.append(os.path.join(line[len("worktree "):], "build", "deps", "prefix"))
    for c in cands:
        if os.path.exists(os.path.join(c, ".stamp")) and os.path.exists(
                os.path.join(c, "lib", "libcurl.a")):
            return c
    return None


def build_rev(rev, work):
    sha = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if not sha:
        raise SetupError(f"--old-rev {rev}: not a commit in {SOURCE_DIR}")
    tmp = tempfile.mkdtemp(prefix=f"compare-trees-build-{sha[:8]}-")
    wt = os.path.join(tmp, "src")
    t0 = time.monotonic()
    log(f"building {rev} ({sha[:12]}) in a temporary worktree {wt}")
    git("worktree", "add", "--detach", wt, sha)
    try:
        prefix = deps_prefix()
        if prefix:
            shutil.copytree(prefix, os.path.join(wt, "build", "deps", "prefix"), symlinks=True)
            log(f"reusing {prefix} (copied)")
        else:
            log("no build/deps/prefix to reuse: scripts/build-deps.sh builds it")
        p = subprocess.run(["scripts/build-static.sh"], cwd=wt, capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(os.path.join(wt, "dist", "bootstrap")):
            raise SetupError(f"scripts/build-static.sh of {sha[:12]} failed:\n"
                             f"{(p.stdout + p.stderr)[-3000:]}")
        out = os.path.join(work, f"bootstrap-{sha[:12]}")
        shutil.copy2(os.path.join(wt, "dist", "bootstrap"), out)
        log(f"built {out} in {time.monotonic() - t0:.0f} s")
        return out, sha
    finally:
        git("worktree", "remove", "--force", wt, check=False)
        git("worktree", "prune", check=False)
        shutil.rmtree(tmp, ignore_errors=True)


# ---- main -------------------------------------------------------------------------------------

def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="tests/compare_trees.py",
        description="Run the same scenarios through two bootstraps and compare their output "
                    "trees and answers byte for byte.")
    old = ap.add_mutually_exclusive_group()
    old.add_argument("--old", metavar="BOOTSTRAP", help="the bootstrap before the change")
    old.add_argument("--old-rev", metavar="GITREV",
                     help="build this revision's static bootstrap (temporary git worktree)")
    ap.add_argument("--new", metavar="BOOTSTRAP", help="the bootstrap after the change")
    ap.add_argument("--keep", metavar="DIR", help="keep both trees in DIR (new or empty)")
    ap.add_argument("--quick", action="store_true", help="a smaller subset of the scenarios")
    ap.add_argument("--internal-helper", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.internal_helper:
        return args
    if not (args.old or args.old_rev) or not args.new:
        ap.error("give --new and one of --old or --old-rev")
    for what in ("old", "new"):
        p = getattr(args, what)
        if p and not (os.path.isfile(p) and os.access(p, os.X_OK)):
            ap.error(f"--{what} {p}: not an executable file")
    if args.keep and os.path.exists(args.keep) and (
            not os.path.isdir(args.keep) or os.listdir(args.keep)):
        ap.error(f"--keep {args.keep}: must be a new or empty directory")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.internal_helper:
        req = json.loads(args.internal_helper)
        print(json.dumps(HELPERS[req["name"]](req["args"])))
        return 0
    t_start = time.monotonic()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        work = os.path.abspath(args.keep)
    else:
        work = tempfile.mkdtemp(prefix="compare-trees-")
    stacks = []
    runner = None
    try:
        try:
            if args.old_rev:
                old, sha = build_rev(args.old_rev, work)
                old_label = f"{args.old_rev} ({sha[:12]}, built as {old})"
            else:
                old = os.path.abspath(args.old)
                old_label = old
            new = os.path.abspath(args.new)
            print(f"old: {old_label}  sha256 {sha256_of(old)[:16]}")
            print(f"new: {new}  sha256 {sha256_of(new)[:16]}")
            sys.stdout.flush()
            events = Events(os.path.join(work, "events"))
            scenarios = build_scenarios(events, args.quick)
            # One stack per side (each its own s3rver and bucket `lake`); the dynalite of the
            # first one, seeded once, is what both read.
            for _ in range(2):
                stacks.append(stackmod.LocalStack(proxy=True, buckets=(BUCKET,)).start())
            ddb_stack = stacks[0]
            n_orders, n_customers = (1500, 800) if args.quick else (4000, 1500)
            t0 = time.monotonic()
            ddb_stack.seed_table(ORDERS, n_orders, seed=7)
            run_helper("seed_hash_only", {"endpoint": ddb_stack.dynamodb_upstream_url,
                                          "region": ddb_stack.region,
                                          "key": ddb_stack.access_key,
                                          "secret": ddb_stack.secret_key, "table": CUSTOMERS,
                                          "items": n_customers, "seed": 8})
            log(f"seeded {ORDERS} ({n_orders} items) and {CUSTOMERS} ({n_customers} items, "
                f"hash key only) in {time.monotonic() - t0:.1f} s")
            runner = Runner(work, scenarios, ddb_stack, {"old": old, "new": new},
                            {"old": stacks[0], "new": stacks[1]})
            runner.run_all()
        except (SetupError, stackmod.StackError, OSError, subprocess.SubprocessError) as e:
            print(f"compare_trees: setup error: {e}", file=sys.stderr)
            return 2
        finally:
            for s in stacks:
                s.stop()

        cmp = Comparison(work, scenarios)
        out = sys.stdout
        width = max(len(s.label) for s in scenarios)
        per_scenario = []
        for scn in scenarios:
            n_obj, n_ans, n_chk, diffs = cmp.scenario(scn)
            checks = f", {n_chk} repeat checks" if n_chk else ""
            result = "identical" if not diffs else f"{len(diffs)} DIFFERENCES"
            out.write(f"{scn.label:<{width}}  {n_obj:5d} objects, {n_ans:4d} answers{checks}: "
                      f"{result}\n")
            per_scenario.append((scn, diffs))
        n_stray, stray_diffs = cmp.stray()
        if n_stray:
            result = "identical" if not stray_diffs else f"{len(stray_diffs)} DIFFERENCES"
            out.write(f"{'(outside the scenario roots)':<{width}}  {n_stray:5d} objects: "
                      f"{result}\n")
            per_scenario.append((Scenario("(outside the scenario roots)", "stray", []),
                                 stray_diffs))
        out.write("normalised (wall clock): " + (", ".join(
            f"{k} ({v})" for k, v in sorted(cmp.counts.items())) or "nothing")
            + "\n  (S3 ETag and x-amz-meta-md5 are compared as \"the MD5 of the object\" "
              "when they are one: the bytes are compared themselves)\n")
        if runner.reruns:
            out.write("run again because the UTC clock changed partition during the two runs: "
                      + "; ".join(runner.reruns) + "\n")
        elapsed = time.monotonic() - t_start
        if cmp.differences:
            out.write("DIFFERENCES (object key relative to the scenario's root):\n")
            for scn, diffs in per_scenario:
                if diffs:
                    out.write(f"  {scn.label}: {len(diffs)}\n")
                    print_differences(diffs, out)
            out.write(f"SUMMARY: {cmp.total_objects} objects, {cmp.total_answers} answers "
                      f"({cmp.total_checks} repeat checks) compared: {len(cmp.differences)} "
                      f"differences in "
                      f"{len({d[0] for d in cmp.differences})} scenarios ({elapsed:.0f} s)\n")
        else:
            out.write(f"SUMMARY: {cmp.total_objects} objects, {cmp.total_answers} answers "
                      f"({cmp.total_checks} repeat checks) compared: all identical "
                      f"({elapsed:.0f} s)\n")
        if args.keep:
            with open(os.path.join(work, "differences.txt"), "w") as f:
                for label, line, extra in cmp.differences:
                    f.write(f"{label}: {line}\n")
                    for l in extra:
                        f.write(f"    {l}\n")
            out.write(f"trees kept in {work}/old and {work}/new (answers.json, s3-heads.json, "
                      f"logs/; differences.txt)\n")
        return 1 if cmp.differences else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(2)
