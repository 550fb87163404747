#!/usr/bin/python3
"""Single-table test data for the transform tests (issue 10): DynamoDB items of a single-table
design (users `USER#...`, orders `ORDER#...` and other entities) with the edge cases the
example spec's casts, filters, rules and PII must handle, as DynamoDB Streams batches and as
items seeded into a table (dynalite) for snapshots.

Standard library only, deterministic for a given seed. Run as a script (under Debian's
/usr/bin/python3, which has botocore) it seeds a table:

    stgen.py seed --endpoint URL --table NAME --items N [--seed S] [--out FILE]

Each entity's attributes cover, on purpose:
- casts: numbers of 38 digits, decimals that do or do not fit decimal(12,2), numeric strings,
  non-numeric strings, empty strings, epoch seconds and milliseconds (with and without a
  sub-millisecond fraction), ISO-8601 in several forms, impossible dates, booleans as BOOL,
  0/1 and text, values of the wrong type (maps, lists, booleans), missing attributes, NULLs;
- PII: e-mail addresses, names and phone numbers in ASCII and not, short, empty, emoji;
- rules: tiers, currencies and statuses inside and outside the allowed sets, country codes of
  other lengths, totals out of range, e-mail domains that do not match the pattern;
- the other entities: every DynamoDB attribute type, nesting, sets, unicode (ddbgen's values),
  and an attribute named like a metadata column;
- stream records: INSERT, MODIFY and REMOVE (a user's delete and TTL deletes by
  dynamodb.amazonaws.com, with and without OldImage), several changes to one key within a
  batch, and a few records that cannot be converted (a 40-digit number, an unknown type, a
  MODIFY without NewImage) for the quarantine.
"""
import argparse
import base64
import contextlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddbgen  # noqa: E402
import itlib  # noqa: E402

TABLES = ("AppMain", "AppEu")
REGION = ddbgen.REGION
ACCOUNT = ddbgen.ACCOUNT

# ---- attribute values ---------------------------------------------------------------------

S = lambda v: {"S": v}  # noqa: E731
N = lambda v: {"N": v}  # noqa: E731

# Each field: a good value most of the time (GOOD_SHARE), else one of its edge cases.
GOOD_SHARE = 0.94

NAMES = ["Ann Example", "Jos\u00e9 \u00c1lvarez", "\u5c71\u7530\u592a\u90ce", "Zo\u00eb \U0001F600",
         "O'Brien \"Bob\"", "x"]
NAMES_EDGE = [""]
EMAILS = ["ann@example.com", "Bob.Smith@Mail.Example.ORG", "carol@sub.example.co.uk",
          "dave@EXAMPLE.de", "UPPER@EXAMPLE.COM", "mallory@xn--bcher-kva.example",
          "a.b-c@d-e.example.io"]
EMAILS_EDGE = ["h\u00e9l\u00e8ne@caf\u00e9.fr", "noatsign.example.com", "", "a@b@c.com", "trailing@",
               "\u00fcser@\u00dcBER.de", "eve@exa_mple.com", "frank@localhost", "grace@example.c0m"]
PHONES = ["+41 79 123 45 67", "+1-202-555-0143", "\U0001F4DE 0800 12 34 56",
          "0049\u00a0171\u00a09876543", "12345"]
PHONES_EDGE = ["123", "", "1234"]
TIERS = ["FREE", "SILVER", "GOLD"]
TIERS_EDGE = ["PLATINUM", "gold", "", " GOLD"]
BIRTH_DATES = ["1990-05-17", "1985-12-31", "2000-02-29", "1990-05-17T23:30:00-02:00",
               "1990-05-17T01:30:00+03:00", "1975-01-01T00:00:00Z", "1969-07-20 20:17"]
BIRTH_DATES_EDGE = ["1999-02-29", "17/05/1990", "", "1990-13-01", "2001-04-31"]
CITIES = ["Z\u00fcrich", "M\u00fcnchen", "S\u00e3o Paulo", "\u6771\u4eac", "Paris", "New York"]
CITIES_EDGE = [""]
COUNTRIES = ["CH", "DE", "BR", "JP", "FR", "US", "\u00d6S"]
COUNTRIES_EDGE = ["USA", "", "D", "\U0001F1E8\U0001F1ED"]
CURRENCIES = ["EUR", "USD", "GBP"]
CURRENCIES_EDGE = ["eur", "XXX", ""]
STATUSES = ["NEW", "PAID", "SHIPPED", "CANCELLED"]
STATUSES_EDGE = ["REFUNDED", "paid", ""]
ORDER_TIMES = ["2025-11-25T01:02:03Z", "2025-11-25T01:02:03.456Z", "2025-11-25T01:02:03.4+02:00",
               "2025-11-25 07:00", "2025-11-25 07:00:59.999", "2025-11-24T23:59:59-05:00",
               "2024-02-29T12:00:00+00:00", "2025-11-25T01:02:03.120Z"]
ORDER_TIMES_EDGE = ["2025-11-25T01:02:03.1234567Z", "yesterday", "", "2025-02-30T00:00:00Z",
                    "2025-11-25T24:00:00Z", "2025-11-25T10:61:00Z"]


def _pick(rng, good, edge, wrap=None):
    v = rng.choice(good) if rng.random() < GOOD_SHARE else rng.choice(edge)
    return wrap(v) if wrap else v


def _maybe(rng, p_missing=0.02, p_null=0.015):
    r = rng.random()
    if r < p_missing:
        return "missing"
    if r < p_missing + p_null:
        return "null"
    return None


def _user_created_at(rng):
    base = 1764028800 + rng.randrange(-10 ** 8, 10 ** 6)
    if rng.random() < GOOD_SHARE:
        k = rng.randrange(5)
        if k < 2:
            return N(str(base))                                # epoch seconds
        if k == 2:
            return N(str(base * 1000 + rng.randrange(1000)))   # epoch milliseconds
        if k == 3:
            return N(f"{base}.5")                              # half a second: 500 ms
        return S(rng.choice(["2025-11-25T01:02:03Z", "2025-11-25T01:02:03.456+02:00",
                             "2025-11-25 07:00", "2024-02-29T12:00:00.1Z"]))
    k = rng.randrange(7)
    if k == 0:
        return N(f"{base}.0005")                               # sub-millisecond: rejected
    if k == 1:
        return S(rng.choice(["yesterday", "2025-13-01T00:00:00Z", "", "2025-11-25T01:02:03.0001Z"]))
    if k == 2:
        return {"BOOL": True}                                  # wrong type: rejected
    if k == 3:
        return {"M": {"epoch": N(str(base))}}                  # wrong type: rejected
    if k == 4:
        return N(str(base * 1000) + ".25")                     # ms with a fraction: rejected
    if k == 5:
        return N("-86400")                                     # before 1970: casts
    return N("1E+9")                                           # an exponent: 2001-09-09


def _credit_limit(rng):
    if rng.random() < GOOD_SHARE:
        return rng.choice([S("1500"), S("1500.5"), S("9999999999.99"), S("-0.5"), S("1E+3"),
                           N("250.75"), N("12.340"), N("0.01"),
                           S(f"{rng.randrange(0, 10 ** 6)}.{rng.randrange(0, 100):02d}"),
                           N(f"{rng.randrange(0, 10 ** 6)}.{rng.randrange(0, 10)}")])
    return rng.choice([S("12.345"), S("abc"), S(""), S("10000000000"),
                       N(str(rng.randrange(10 ** 37, 10 ** 38))), N("99999.999"), {"L": [N("1")]}])


def _opt_in(rng):
    return rng.choice([{"BOOL": True}, {"BOOL": False}, N("1"), N("0"), S("true"), S("false"),
                       S("1"), S("0"), S("yes"), N("2"), {"NULL": True}])


def user_item(rng, pk, sk="PROFILE"):
    item = {"pk": S(pk), "sk": S(sk), "entity": S("user")}
    fields = {
        "name": lambda: _pick(rng, NAMES, NAMES_EDGE, S),
        "email": lambda: _pick(rng, EMAILS, EMAILS_EDGE, S) if rng.random() < 0.98 else N("12345"),
        "phone": lambda: _pick(rng, PHONES, PHONES_EDGE, S) if rng.random() < 0.95 else N("41791234567"),
        "tier": lambda: _pick(rng, TIERS, TIERS_EDGE, S),
        "birth_date": lambda: _pick(rng, BIRTH_DATES, BIRTH_DATES_EDGE, S) if rng.random() < 0.97 else {"BOOL": False},
        "created_at": lambda: _user_created_at(rng),
        "credit_limit": lambda: _credit_limit(rng),
        "marketing_opt_in": lambda: _opt_in(rng),
    }
    for name, make in fields.items():
        m = _maybe(rng)
        if m == "missing":
            continue
        item[name] = {"NULL": True} if m == "null" else make()
    r = rng.random()
    if r < 0.92:
        addr = {"street": S(f"Hauptstra\u00dfe {rng.randrange(1, 200)}")}
        if rng.random() < 0.97:
            addr["city"] = _pick(rng, CITIES, CITIES_EDGE, S)
        if rng.random() < 0.97:
            addr["country"] = _pick(rng, COUNTRIES, COUNTRIES_EDGE, S) if rng.random() < 0.98 else N("44")
        if rng.random() < 0.2:
            addr["geo"] = {"M": {"lat": N("47.3769"), "lon": N("8.5417")}}
        item["address"] = {"M": addr}
    elif r < 0.96:
        item["address"] = S("Main Street 1, Springfield")   # not a map: its members are missing
    elif r < 0.98:
        item["address"] = {"NULL": True}
    if rng.random() < 0.3:
        item["tags"] = {"SS": sorted({rng.choice(["vip", "beta", "\u00e9t\u00e9", "new"]) for _ in range(3)})}
    if rng.random() < 0.1:
        item["_op"] = S("an attribute named like a metadata column")
    if rng.random() < 0.1:
        item["ttl"] = N(str(1764028800 + rng.randrange(10 ** 6)))
    return item


def _total(rng):
    if rng.random() < GOOD_SHARE:
        return rng.choice([N("12.50"), N("0.01"), N("999999.99"), S("99.90"),
                           N(f"{rng.randrange(1, 10 ** 5)}.{rng.randrange(0, 100):02d}"),
                           N(f"{rng.randrange(1, 10 ** 4)}"), S(f"{rng.randrange(1, 10 ** 4)}.5")])
    return rng.choice([N("-5"), N("0"), N("1000000"), N("12.345"), S("n/a"),
                       N(str(rng.randrange(10 ** 37, 10 ** 38))), N("10000000000.00"),
                       N("1000000.01"), {"BOOL": True}])


def _items(rng):
    k = rng.randrange(9)
    if k == 0:
        return {"L": [S(f"SKU-{rng.randrange(1000)}") for _ in range(rng.randrange(1, 4))]}
    if k == 1:
        return {"L": [S("SKU-1"), N("2"), N("3.50"), {"BOOL": True}, {"NULL": True},
                      {"M": {"sku": S("SKU-\u00e9"), "qty": N("1")}}, {"L": [S("x"), N("1")]}]}
    if k == 2:
        return {"SS": sorted({f"SKU-{rng.randrange(100)}" for _ in range(3)})}
    if k == 3:
        return {"NS": sorted({str(rng.randrange(1000)) for _ in range(3)} | {"12345678901234567890123456789012345678"})}
    if k == 4:
        return {"L": []}
    if k == 5:
        return S("not a list")
    if k == 6:
        return {"M": {"sku": S("SKU-9")}}
    if k == 7:
        return {"L": [{"B": base64.b64encode(b"\x00\x01bin").decode()}, S("\u65e5\u672c")]}
    return {"BS": [base64.b64encode(b"\xff\xfe").decode()]}


def order_item(rng, pk, user_pk, sk="ORDER"):
    item = {"pk": S(pk), "sk": S(sk), "entity": S("order")}
    fields = {
        "user_id": lambda: S(user_pk) if rng.random() < 0.97 else N("7"),
        "total": lambda: _total(rng),
        "currency": lambda: _pick(rng, CURRENCIES, CURRENCIES_EDGE, S),
        "status": lambda: _pick(rng, STATUSES, STATUSES_EDGE, S),
        "created_at": lambda: _pick(rng, ORDER_TIMES, ORDER_TIMES_EDGE, S) if rng.random() < 0.95 else N("1764028800"),
        "items": lambda: _items(rng),
    }
    for name, make in fields.items():
        m = _maybe(rng)
        if m == "missing":
            continue
        item[name] = {"NULL": True} if m == "null" else make()
    if rng.random() < 0.9:
        ship = {"city": _pick(rng, CITIES, CITIES_EDGE, S)}
        if rng.random() < 0.95:
            ship["country"] = _pick(rng, COUNTRIES, COUNTRIES_EDGE, S)
        item["shipping"] = {"M": ship}
    if rng.random() < 0.2:
        item["note"] = S(rng.choice(ddbgen._UNICODE))
    return item


OTHER_PREFIXES = ["PRODUCT#", "CFG#", "user#", "USER", "ORDERS#", "order#", "SESSION#", "#"]


def other_item(rng, pk, sk="META"):
    item = {"pk": S(pk), "sk": S(sk)}
    for i in range(rng.randrange(2, 7)):
        item[f"attr{i}"] = ddbgen._rand_value(rng, 1)
    if rng.random() < 0.3:
        item["amount"] = N(ddbgen._rand_number(rng))
    if rng.random() < 0.2:
        item["blob"] = {"B": ddbgen._rand_binary(rng)}
    if rng.random() < 0.1:
        item["_seq"] = S("an attribute named like a metadata column")
    if rng.random() < 0.05:
        item["deep"] = ddbgen._deep(30)
    return item


def entity_item(rng, kind, n, table_tag):
    """The n-th entity of a kind ('user', 'order', 'other') for a table (its keys carry the
    table's tag, so no key is shared between tables)."""
    if kind == "user":
        return user_item(rng, f"USER#{table_tag}{n:05d}")
    if kind == "order":
        return order_item(rng, f"ORDER#{table_tag}{n:05d}", f"USER#{table_tag}{n % 97:05d}")
    prefix = OTHER_PREFIXES[n % len(OTHER_PREFIXES)]
    return other_item(rng, f"{prefix}{table_tag}{n:05d}")


def key_of(item):
    return {"pk": item["pk"], "sk": item["sk"]}


# ---- stream records -----------------------------------------------------------------------

class StreamGen:
    """Stream batches over TABLES, keeping each key's current item across batches so later
    batches modify and delete what earlier ones inserted. Keys are drawn from small pools, so
    one key changes several times within a batch."""

    def __init__(self, seed=1, tables=TABLES, pool=90, first_seq=300000000000000000000,
                 start_ts=1764028800):
        self.rng = random.Random(seed)
        self.tables = tables
        self.pool = pool
        self.seq = first_seq
        self.start_ts = start_ts
        self.state = {}
        self.n = 0

    def batch(self, count, batch_no=0, span_s=3 * 3600):
        rng = self.rng
        records = []
        for i in range(count):
            table = self.tables[i % len(self.tables)]
            tag = "a" if table == self.tables[0] else "b"
            r = rng.random()
            kind = "user" if r < 0.42 else "order" if r < 0.82 else "other"
            n = rng.randrange(self.pool)
            key = (table, kind, n)
            old = self.state.get(key)
            op = "INSERT" if old is None else rng.choice(["MODIFY", "MODIFY", "REMOVE"])
            new = entity_item(rng, kind, n, tag)
            ts = self.start_ts + batch_no * 600 + (span_s * i) // max(1, count)
            ddb = {"ApproximateCreationDateTime": ts, "Keys": key_of(new),
                   "SequenceNumber": str(self.seq), "SizeBytes": len(json.dumps(new)),
                   "StreamViewType": "NEW_AND_OLD_IMAGES"}
            self.seq += 100 + rng.randrange(50)
            if op in ("INSERT", "MODIFY"):
                ddb["NewImage"] = new
            if op in ("MODIFY", "REMOVE") and rng.random() < 0.9:
                ddb["OldImage"] = old
            rec = {"eventID": f"{self.n:08x}{rng.getrandbits(96):024x}", "eventName": op,
                   "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": REGION,
                   "dynamodb": ddb, "eventSourceARN": ddbgen.stream_arn(table)}
            self.n += 1
            if op == "REMOVE" and rng.random() < 0.45:
                rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
            elif op == "REMOVE" and rng.random() < 0.1:
                rec["userIdentity"] = {"type": "Service", "principalId": "someone.else.amazonaws.com"}
            # A few records that cannot be converted: they go to the quarantine.
            q = rng.random()
            if q < 0.006 and "NewImage" in ddb:
                ddb["NewImage"] = dict(new, huge=N("1" * 40))
            elif q < 0.012 and "NewImage" in ddb:
                ddb["NewImage"] = dict(new, odd={"Z": "an unknown type"})
            elif q < 0.016 and op == "MODIFY":
                ddb.pop("NewImage")       # no image and no Keys: nothing to build a row from
                ddb.pop("OldImage", None)
                ddb.pop("Keys")
            if op == "REMOVE":
                self.state.pop(key, None)
            else:
                self.state[key] = new
            records.append(rec)
        return records


# ---- items for snapshots ------------------------------------------------------------------

def table_items(count, seed=7, tag="s", pad=5000):
    """count items of every entity, each with its own pk (sk is fixed per entity); the other
    entities carry a text of about pad characters, so a snapshot's files roll over."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        r = rng.random()
        kind = "user" if r < 0.42 else "order" if r < 0.82 else "other"
        item = entity_item(rng, kind, i, tag)
        if kind == "other" and pad:
            item["pad"] = S(("caf\u00e9 \U0001F600 " * (pad // 8))[:pad])
        items.append(item)
    return items


def to_botocore(v):
    (t, x), = v.items()
    if t == "B":
        return {"B": base64.b64decode(x)}
    if t == "BS":
        return {"BS": [base64.b64decode(b) for b in x]}
    if t == "M":
        return {"M": {k: to_botocore(y) for k, y in x.items()}}
    if t == "L":
        return {"L": [to_botocore(y) for y in x]}
    return {t: x}


def seed_main(argv):
    ap = argparse.ArgumentParser(prog="stgen.py seed")
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pad", type=int, default=5000)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    import botocore.session
    sess = botocore.session.get_session()
    ddb = sess.create_client("dynamodb", endpoint_url=args.endpoint,
                             region_name=os.environ.get("AWS_REGION", "us-east-1"),
                             aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "x"),
                             aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "x"),
                             aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None)
    try:
        ddb.create_table(TableName=args.table,
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                         BillingMode="PAY_PER_REQUEST")
    except ddb.exceptions.ResourceInUseException:
        pass
    itlib.wait_table_active(ddb, args.table)
    items = table_items(args.items, seed=args.seed, pad=args.pad)
    with open(args.out, "w", encoding="utf-8") if args.out else contextlib.nullcontext() as out:
        batch = []
        for i, item in enumerate(items):
            if out:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
            batch.append({"PutRequest": {"Item": {k: to_botocore(v) for k, v in item.items()}}})
            if len(batch) == 25 or i == len(items) - 1:
                req = {args.table: batch}
                while req:
                    resp = ddb.batch_write_item(RequestItems=req)
                    req = resp.get("UnprocessedItems") or {}
                batch = []


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "seed":
        seed_main(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
