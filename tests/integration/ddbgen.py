"""Realistic DynamoDB Streams records for tests and benchmarks, and an independent reference of
what the pipeline must write for each record (the row), plus an exact reader for our output.

Standard library only. Deterministic for a given seed."""
import base64
import datetime
import gzip
import json
import random

TABLES = ("Orders", "Customers")
REGION = "us-east-1"
ACCOUNT = "123456789012"


class Num:
    """A JSON number kept as its exact text (never a float)."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Num) and other.text == self.text

    def __hash__(self):
        return hash(("Num", self.text))

    def __repr__(self):
        return f"Num({self.text})"


def loads_exact(line):
    """Parses a JSON line with numbers as Num (their exact text)."""
    return json.loads(line, parse_int=Num, parse_float=Num, parse_constant=Num)


def freeze(v):
    """A hashable form of a parsed row, for multiset comparison."""
    if isinstance(v, dict):
        return ("M", tuple(sorted((k, freeze(x)) for k, x in v.items())))
    if isinstance(v, list):
        return ("L", tuple(freeze(x) for x in v))
    return v


def stream_arn(table):
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000"


def _rand_number(rng):
    kind = rng.randrange(8)
    if kind == 0:  # 38 significant digits, integer
        return str(rng.randrange(10 ** 37, 10 ** 38)) if rng.random() < 0.5 else "-" + str(rng.randrange(10 ** 37, 10 ** 38))
    if kind == 1:  # 38 digits with a fraction
        digits = str(rng.randrange(10 ** 37, 10 ** 38))
        cut = rng.randrange(1, 38)
        return digits[:cut] + "." + digits[cut:]
    if kind == 2:  # money with trailing zero
        return f"{rng.randrange(0, 100000)}.{rng.randrange(0, 10)}0"
    if kind == 3:
        return rng.choice(["0", "-0.5", "1E+125", "9.9999999999999999999999999999999999999E+125",
                           "1E-130", "-1.5E-10", "9007199254740993", "0.000000000000000000001"])
    if kind == 4:
        return str(rng.randrange(-10 ** 6, 10 ** 6))
    return str(rng.randrange(0, 10 ** rng.randrange(1, 18)))


_UNICODE = ["plain", "caf\u00e9", "\u65e5\u672c\u8a9e", "emoji \U0001F600\U0001F680",
            "quote \" and \\ backslash", "line\nbreak\ttab", "ctrl \u0001\u001f", "comma, semi; pipe|",
            "\u202e rtl", "", " leading and trailing ", "null \u0000 char", "\u00a0nbsp"]


def _rand_string(rng):
    return rng.choice(_UNICODE) + ("" if rng.random() < 0.5 else f"-{rng.randrange(10 ** 6)}")


def _rand_binary(rng):
    return base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))).decode()


def _rand_value(rng, depth):
    choices = ["S", "N", "B", "BOOL", "NULL"]
    if depth < 6:
        choices += ["M", "L", "SS", "NS", "BS"]
    t = rng.choice(choices)
    if t == "S":
        return {"S": _rand_string(rng)}
    if t == "N":
        return {"N": _rand_number(rng)}
    if t == "B":
        return {"B": _rand_binary(rng)}
    if t == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if t == "NULL":
        return {"NULL": True}
    if t == "M":
        return {"M": {f"k{i}_{_rand_string(rng)[:8]}": _rand_value(rng, depth + 1)
                      for i in range(rng.randrange(0, 4))}}
    if t == "L":
        return {"L": [_rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]}
    if t == "SS":
        return {"SS": sorted({_rand_string(rng) for _ in range(rng.randrange(1, 4))})}
    if t == "NS":
        return {"NS": sorted({_rand_number(rng) for _ in range(rng.randrange(1, 4))})}
    return {"BS": sorted({_rand_binary(rng) for _ in range(rng.randrange(1, 3))})}


def _deep(depth):
    v = {"S": "bottom"}
    for _ in range(depth - 1):
        v = {"M": {"n": v}}
    return v


def make_item(rng, table, n):
    if table == "Orders":
        item = {"pk": {"S": f"order#{n:06d}"}, "sk": {"N": str(n % 97)}}
    else:
        item = {"customerId": {"S": f"cust-{n:06d}-\u00e9"}}
    item["amount"] = {"N": _rand_number(rng)}
    item["name"] = {"S": _rand_string(rng)}
    item["blob"] = {"B": _rand_binary(rng)}
    item["active"] = {"BOOL": rng.random() < 0.5}
    for i in range(rng.randrange(2, 7)):
        item[f"attr{i}"] = _rand_value(rng, 1)
    if n % 50 == 0:
        item["deep"] = _deep(32)  # DynamoDB's nesting limit
    return item


def key_of(table, item):
    names = ("pk", "sk") if table == "Orders" else ("customerId",)
    return {k: item[k] for k in names}


def make_records(count, seed=1, start_ts=1764028800, span_s=3 * 3600, tables=TABLES,
                 view="NEW_AND_OLD_IMAGES", first_seq=100000000000000000000):
    """count stream records in sequence order, spanning span_s seconds (several partitions)."""
    rng = random.Random(seed)
    state = {}
    records = []
    for i in range(count):
        table = tables[i % len(tables)]
        n = rng.randrange(0, max(8, count // 3))
        known = (table, n) in state
        op = "INSERT" if not known else rng.choice(["MODIFY", "MODIFY", "REMOVE"])
        new = make_item(rng, table, n)
        old = state.get((table, n))
        keys = key_of(table, new)
        ts = start_ts + (span_s * i) // max(1, count)
        ddb = {"ApproximateCreationDateTime": ts, "Keys": keys,
               "SequenceNumber": str(first_seq + i * 100), "SizeBytes": len(json.dumps(new)),
               "StreamViewType": view}
        if op in ("INSERT", "MODIFY") and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            ddb["NewImage"] = new
        if op in ("MODIFY", "REMOVE") and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old:
            ddb["OldImage"] = old
        rec = {"eventID": f"{i:032x}", "eventName": op, "eventVersion": "1.1",
               "eventSource": "aws:dynamodb", "awsRegion": REGION, "dynamodb": ddb,
               "eventSourceARN": stream_arn(table)}
        if op == "REMOVE" and rng.random() < 0.3:
            rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        if op == "REMOVE":
            state.pop((table, n), None)
        else:
            state[(table, n)] = new
        records.append(rec)
    return records


def event(records):
    return {"Records": records}


def write_event(path, records):
    """Writes the stream event of records to path (UTF-8 JSON); returns path."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(event(records), f, ensure_ascii=False)
    return path


# ---- the reference: what each record must become ------------------------------------------

def plain(typed):
    (t, v), = typed.items()
    if t == "S" or t == "B":
        return v
    if t == "N":
        return Num(normalize_number(v))
    if t == "BOOL":
        return v
    if t == "NULL":
        return None
    if t == "M":
        return {k: plain(x) for k, x in v.items()}
    if t == "L":
        return [plain(x) for x in v]
    if t in ("SS", "BS"):
        return list(v)
    if t == "NS":
        return [Num(normalize_number(x)) for x in v]
    raise ValueError(t)


def normalize_number(s):
    """DynamoDB number text in JSON grammar, same digits."""
    neg = s.startswith("-")
    s = s.lstrip("+-")
    mant, e, exp = s.partition("e") if "e" in s else s.partition("E")
    ip, dot, fp = mant.partition(".")
    ip = ip.lstrip("0") or "0"
    out = ("-" if neg else "") + ip + ("." + fp if fp else "")
    return out + (e + exp if e else "")


def iso_ms(ts):
    if ts > 1e11:
        ts = ts / 1000.0
    ms = int(round(ts * 1000))
    d = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def table_of(rec):
    arn = rec.get("eventSourceARN", "")
    if arn.startswith("arn:") and ":table/" in arn:
        return arn.split(":table/", 1)[1].split("/", 1)[0]
    return "unknown-table"


RESERVED = ("_op", "_seq", "_ts", "_table", "_event_id", "_ttl_delete")


def column(name):
    """The column of an item attribute: a metadata name, or one named like an escaped one
    (_item_op, _item_item_op, ...), gets "_item" in front; every other name is itself."""
    base = name
    while base.startswith("_item"):
        base = base[5:]
    return "_item" + name if base in RESERVED else name


def expected_row(rec):
    ddb = rec["dynamodb"]
    op = rec["eventName"]
    img = ddb.get("OldImage" if op == "REMOVE" else "NewImage") or ddb.get("Keys")
    row = {}
    for k, v in ddb.get("Keys", {}).items():
        if k not in img:
            row[column(k)] = plain(v)
    for k, v in img.items():
        row[column(k)] = plain(v)
    row["_op"] = op
    row["_seq"] = ddb["SequenceNumber"]
    ts = ddb.get("ApproximateCreationDateTime")
    row["_ts"] = iso_ms(ts) if ts is not None else None
    row["_table"] = table_of(rec)
    row["_event_id"] = rec.get("eventID")
    if op == "REMOVE":
        ui = rec.get("userIdentity") or {}
        row["_ttl_delete"] = ui.get("type") == "Service" and ui.get("principalId") == "dynamodb.amazonaws.com"
    return row


def run_iso(run_id):
    """A snapshot run id (2026-11-24T000000Z) as its rows' _ts (2026-11-24T00:00:00.000Z)."""
    return f"{run_id[:10]}T{run_id[11:13]}:{run_id[13:15]}:{run_id[15:17]}.000Z"


def snapshot_row(item, table, run_id):
    """The row a snapshot run writes for a DynamoDB item (DynamoDB JSON, as Scan returns it)."""
    row = {column(k): plain(v) for k, v in item.items()}
    row.update({"_op": "SNAPSHOT", "_seq": None, "_ts": run_iso(run_id), "_table": table,
                "_event_id": None})
    return row


def read_object(name, data):
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    if ".jsonl" in name:
        return [loads_exact(l) for l in text.split("\n") if l]
    raise ValueError(name)
