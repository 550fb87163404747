"""An independent reference of ETL_TRANSFORM (issue 10), written from README.md's section
"Transforms (ETL_TRANSFORM)" and not from the C code: what each DynamoDB Streams record or
snapshot item must become under a spec (the dataset, whether it is written, rejected,
filtered or quarantined, and the exact row).

Covered: routing (`when`), mappings with casts and their policies (null, keep, reject),
`keep_unmapped`, flatten, constants, derive (with an optional type and policy), filter,
rename/select/drop, dedupe (by the record's Keys or by output columns), DQDL rulesets (each
row's verdict and DataQualityRulesFail; each evaluation's results, metrics, anomaly history and
SchemaMatch, as Glue's GetDataQualityResult counts them: see "DQDL rulesets" below for what
the README leaves open and how it is settled here), and PII (hmac_sha256, redact, truncate).
Expressions: the subset of the SQL dialect the tests use (literals, column paths, comparisons,
IN, BETWEEN, IS NULL, LIKE, AND/OR/NOT, ||, + - * with exact numbers, and the functions lower
upper length trim ltrim rtrim substr split_part concat replace starts_with ends_with strpos
coalesce nullif if abs regexp_like).

Values: S -> str, N -> ddbgen.Num (exact text), B at the top level -> Bin (base64 text),
BOOL -> bool, NULL -> None, M -> dict, L and sets -> list (inside maps and lists values have
JSON's types). Expected values are the same plus JsonText (a value written as JSON text: it
is compared by parsing, since the README does not fix its spacing or escapes).

Standard library only."""
import base64
import datetime
import decimal
import fractions
import hashlib
import hmac
import json
import re

import ddbgen
from ddbgen import Num

decimal.getcontext().prec = 200
D = decimal.Decimal

META = ("_op", "_seq", "_ts", "_table", "_event_id", "_ttl_delete")


class Bin:
    """A top-level B value (its base64 text)."""
    __slots__ = ("b64",)

    def __init__(self, b64):
        self.b64 = b64

    def __eq__(self, other):
        return isinstance(other, Bin) and other.b64 == self.b64

    def __hash__(self):
        return hash(("Bin", self.b64))

    def __repr__(self):
        return f"Bin({self.b64})"


class JsonText:
    """An expected string that holds a value's JSON text."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"JsonText({self.value!r})"


class ConvertError(Exception):
    """A record that cannot be converted (the quarantine)."""


class ExprError(Exception):
    """An expression that cannot be evaluated on a row."""


class CastError(Exception):
    pass


# ---- DynamoDB JSON to values --------------------------------------------------------------

def significant_digits(text):
    mant = re.split("[eE]", text.lstrip("+-"))[0].replace(".", "")
    return len(mant.lstrip("0").rstrip("0")) or 1


def from_ddb(typed, top=True, depth=1):
    if not isinstance(typed, dict) or len(typed) != 1:
        raise ConvertError("not a typed value")
    (t, v), = typed.items()
    if depth > 32:
        raise ConvertError("nesting deeper than 32 levels")
    if t == "S":
        return v
    if t == "N":
        if significant_digits(v) > 38:
            raise ConvertError(f"N has {significant_digits(v)} significant digits (max 38)")
        return Num(ddbgen.normalize_number(v))
    if t == "B":
        base64.b64decode(v, validate=True)
        return Bin(v) if top else v
    if t == "BOOL":
        return bool(v)
    if t == "NULL":
        return None
    if t == "M":
        return {k: from_ddb(x, False, depth + 1) for k, x in v.items()}
    if t == "L":
        return [from_ddb(x, False, depth + 1) for x in v]
    if t == "SS":
        return list(v)
    if t == "NS":
        return [from_ddb({"N": x}, False, depth) for x in v]
    if t == "BS":
        return list(v)
    raise ConvertError(f"unknown type {t!r}")


def item_name(k):
    return "_item" + k if k in META else k


def stream_source_row(rec):
    """The source row of a stream record: the item's attributes, then the metadata columns.
    Raises ConvertError for a record the pipeline quarantines."""
    ddb = rec.get("dynamodb") or {}
    op = rec.get("eventName")
    if op == "REMOVE":
        img = ddb.get("OldImage") or ddb.get("Keys")
    else:
        img = ddb.get("NewImage") or ddb.get("Keys")
    if img is None:
        raise ConvertError("missing image")
    row = {}
    for k, v in (ddb.get("Keys") or {}).items():
        if k not in img:
            row[item_name(k)] = from_ddb(v)
    for k, v in img.items():
        row[item_name(k)] = from_ddb(v)
    row["_op"] = op
    row["_seq"] = ddb.get("SequenceNumber")
    ts = ddb.get("ApproximateCreationDateTime")
    row["_ts"] = ddbgen.iso_ms(ts) if ts is not None else None
    row["_table"] = ddbgen.table_of(rec)
    row["_event_id"] = rec.get("eventID")
    if op == "REMOVE":
        ui = rec.get("userIdentity") or {}
        row["_ttl_delete"] = (ui.get("type") == "Service"
                              and ui.get("principalId") == "dynamodb.amazonaws.com")
    return row


def snapshot_source_row(item, table, run_id):
    row = {item_name(k): from_ddb(v) for k, v in item.items()}
    row.update({"_op": "SNAPSHOT", "_seq": None, "_ts": ddbgen.run_iso(run_id), "_table": table,
                "_event_id": None})
    return row


# ---- text of values -----------------------------------------------------------------------

def json_value(v):
    """A value as plain JSON data (Num stays Num, Bin becomes its base64)."""
    if isinstance(v, Bin):
        return v.b64
    if isinstance(v, dict):
        return {k: json_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [json_value(x) for x in v]
    if isinstance(v, JsonText):
        return v
    return v


def text_of(v):
    """A non-NULL value's text: what the string cast and PII see. JsonText for maps/lists."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Num):
        return v.text
    if isinstance(v, D):
        return num_text(v)
    if isinstance(v, Bin):
        return v.b64
    if isinstance(v, (dict, list)):
        return JsonText(json_value(v))
    if isinstance(v, JsonText):
        return v
    if isinstance(v, Timestamp):
        return v.iso()
    if isinstance(v, Date):
        return v.iso()
    raise TypeError(repr(v))


def num_text(d):
    """An exact Decimal as number text (no exponent for ordinary magnitudes)."""
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


# ---- times --------------------------------------------------------------------------------

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Timestamp:
    __slots__ = ("ms",)

    def __init__(self, ms):
        self.ms = ms

    def iso(self):
        d = EPOCH + datetime.timedelta(milliseconds=self.ms)
        return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{self.ms % 1000:03d}Z"

    def day(self):
        return Date((EPOCH + datetime.timedelta(milliseconds=self.ms)).date())


class Date:
    __slots__ = ("d",)

    def __init__(self, d):
        self.d = d

    def iso(self):
        return self.d.strftime("%Y-%m-%d")


ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})"
                    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
                    r"(Z|[+-]\d{2}:\d{2})?$")


def parse_iso(s):
    """ISO-8601 text to a Timestamp (None if it is not one, or not exact to the ms)."""
    m = ISO_RE.match(s)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    try:
        date = datetime.date(int(y), int(mo), int(d))
    except ValueError:
        return None
    if hh is None and zone is not None:
        return None
    hh, mi, ss = int(hh or 0), int(mi or 0), int(ss or 0)
    if hh > 23 or mi > 59 or ss > 59:
        return None
    ms = 0
    if frac:
        if len(frac) > 3 and int(frac[3:]) != 0:
            return None
        ms = int((frac + "00")[:3])
    off = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 23 or zm > 59:
            return None
        off = sign * (zh * 60 + zm)
    dt = datetime.datetime(date.year, date.month, date.day, hh, mi, ss,
                           tzinfo=datetime.timezone.utc)
    total = int((dt - EPOCH).total_seconds()) * 1000 + ms - off * 60000
    return Timestamp(total)


# ---- casts --------------------------------------------------------------------------------

NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

INT_RANGES = {"bigint": 63, "int": 31, "integer": 31, "smallint": 15, "tinyint": 7}


def parse_type(t):
    t = t.strip()
    low = t.lower()
    if low in ("string", "varchar"):
        return ("string",)
    if low in INT_RANGES:
        return ("int", INT_RANGES[low])
    if low in ("double", "float", "real"):
        return ("double",)
    m = re.match(r"^decimal\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$", low)
    if m:
        return ("decimal", int(m.group(1)), int(m.group(2) or 0))
    if low == "boolean":
        return ("boolean",)
    if low == "timestamp":
        return ("timestamp",)
    if low == "date":
        return ("date",)
    if low in ("binary", "varbinary"):
        return ("binary",)
    if low.startswith("array<") and low.endswith(">"):
        return ("array", parse_type(t[6:-1]))
    if low.startswith("map<string,") and low.endswith(">"):
        return ("map", parse_type(t[11:-1]))
    raise ValueError(f"unknown type {t!r}")


def number_of(v):
    """The exact Decimal of a number or of a string holding one (else None)."""
    if isinstance(v, Num):
        return D(v.text)
    if isinstance(v, D):
        return v
    if isinstance(v, str) and NUM_RE.match(v):
        return D(v)
    return None


def cast(v, ty):
    """v cast to the parsed type ty; raises CastError. Result in the expected-row model."""
    if v is None:
        return None
    kind = ty[0]
    if kind == "string":
        return text_of(v)
    if kind == "int":
        if isinstance(v, bool):
            return Num("1" if v else "0")
        d = number_of(v)
        if d is None or d != d.to_integral_value():
            raise CastError(f"{v!r} is not an integer")
        i = int(d)
        if not -(1 << ty[1]) <= i < (1 << ty[1]):
            raise CastError("out of range")
        return Num(str(i))
    if kind == "decimal":
        p, s = ty[1], ty[2]
        d = number_of(v) if not isinstance(v, bool) else None
        if d is None:
            raise CastError(f"{v!r} is not a number")
        q = d.quantize(D(1).scaleb(-s))
        if q != d or abs(q) >= D(10) ** (p - s):
            raise CastError("does not fit")
        return Num(format(q, "f"))
    if kind == "double":
        d = number_of(v) if not isinstance(v, bool) else None
        if d is None:
            raise CastError("not a number")
        return ("double", float(d))
    if kind == "boolean":
        if isinstance(v, bool):
            return v
        if isinstance(v, Num):
            d = D(v.text)
            if d in (0, 1):
                return d == 1
            raise CastError("not 0/1")
        if isinstance(v, str) and v in ("true", "false", "1", "0"):
            return v in ("true", "1")
        raise CastError("not a boolean")
    if kind == "timestamp":
        ts = to_timestamp(v)
        if ts is None:
            raise CastError("not a timestamp")
        return ts.iso()
    if kind == "date":
        if isinstance(v, Timestamp):
            return v.day().iso()
        if isinstance(v, Date):
            return v.iso()
        if isinstance(v, str):
            ts = parse_iso(v)
            if ts is not None:
                return ts.day().iso()
        raise CastError("not a date")
    if kind == "binary":
        if isinstance(v, Bin):
            return v.b64
        if isinstance(v, str):
            return base64.b64encode(v.encode("utf-8")).decode()
        raise CastError("not binary")
    if kind == "array":
        if not isinstance(v, list):
            raise CastError("not an array")
        return [cast(x, ty[1]) for x in v]
    if kind == "map":
        if not isinstance(v, dict):
            raise CastError("not a map")
        return {k: cast(x, ty[1]) for k, x in v.items()}
    raise CastError(f"type {ty}")


def to_timestamp(v):
    if isinstance(v, Timestamp):
        return v
    if isinstance(v, Num) or isinstance(v, D):
        d = number_of(v)
        ms = d * 1000 if abs(d) < D("1e11") else d
        if ms != ms.to_integral_value():
            return None
        ms = int(ms)
        if not -62135596800000 <= ms <= 253402300799999:
            return None
        return Timestamp(ms)
    if isinstance(v, str):
        return parse_iso(v)
    return None


# ---- paths --------------------------------------------------------------------------------

PATH_TOKEN = re.compile(r'\s*(?:([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"]|"")*)"|\[(\d+)\]|(\.))')


def parse_path(text):
    """A column path to a list of steps: str (member) or int (list index)."""
    steps, pos, want_name = [], 0, True
    while pos < len(text):
        m = PATH_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"bad path {text!r}")
        name, quoted, index, dot = m.groups()
        pos = m.end()
        if dot:
            want_name = True
            continue
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(name if name is not None else quoted.replace('""', '"'))
        want_name = False
    if want_name and steps:
        raise ValueError(f"bad path {text!r}")
    return steps


MISSING = object()


def get_path(row, steps):
    v = row
    for st in steps:
        if isinstance(st, int):
            if not isinstance(v, list) or st >= len(v):
                return MISSING
            v = v[st]
        else:
            if not isinstance(v, dict) or st not in v:
                return MISSING
            v = v[st]
    return v


# ---- expressions --------------------------------------------------------------------------

TOKEN_RE = re.compile(r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?) |
    (?P<str>'(?:[^']|'')*') |
    (?P<qid>"(?:[^"]|"")*") |
    (?P<id>[A-Za-z_][A-Za-z0-9_]*) |
    (?P<op><>|!=|<=|>=|\|\||[=<>+\-*/(),.\[\]])
)""", re.X)

KEYWORDS = {"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "LIKE", "ESCAPE",
            "DATE", "TIMESTAMP"}


def tokenize(text):
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise ValueError(f"cannot read {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "id" and val.upper() in KEYWORDS:
            out.append(("kw", val.upper()))
        elif kind == "str":
            out.append(("str", val[1:-1].replace("''", "'")))
        elif kind == "qid":
            out.append(("id", val[1:-1].replace('""', '"')))
        else:
            out.append((kind, val))
    out.append(("end", None))
    return out


class Parser:
    def __init__(self, text):
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, k=0):
        return self.toks[self.i + k]

    def take(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept(self, kind, val=None):
        t = self.peek()
        if t[0] == kind and (val is None or t[1] == val):
            self.i += 1
            return True
        return False

    def expect(self, kind, val=None):
        if not self.accept(kind, val):
            raise ValueError(f"expected {val or kind}, found {self.peek()}")

    def parse(self):
        e = self.or_()
        self.expect("end")
        return e

    def or_(self):
        e = self.and_()
        while self.accept("kw", "OR"):
            e = ("or", e, self.and_())
        return e

    def and_(self):
        e = self.not_()
        while self.accept("kw", "AND"):
            e = ("and", e, self.not_())
        return e

    def not_(self):
        if self.accept("kw", "NOT"):
            return ("not", self.not_())
        return self.predicate()

    def predicate(self):
        e = self.additive()
        while True:
            t = self.peek()
            if t[0] == "op" and t[1] in ("=", "<>", "!=", "<", "<=", ">", ">="):
                self.take()
                e = ("cmp", t[1], e, self.additive())
                continue
            neg = False
            if t == ("kw", "NOT") and self.peek(1)[0] == "kw" and self.peek(1)[1] in ("IN", "BETWEEN", "LIKE"):
                self.take()
                neg = True
                t = self.peek()
            if t == ("kw", "IN"):
                self.take()
                self.expect("op", "(")
                items = [self.or_()]
                while self.accept("op", ","):
                    items.append(self.or_())
                self.expect("op", ")")
                e = ("in", e, items)
            elif t == ("kw", "BETWEEN"):
                self.take()
                lo = self.additive()
                self.expect("kw", "AND")
                e = ("between", e, lo, self.additive())
            elif t == ("kw", "LIKE"):
                self.take()
                pat = self.additive()
                esc = self.additive() if self.accept("kw", "ESCAPE") else None
                e = ("like", e, pat, esc)
            elif t == ("kw", "IS"):
                self.take()
                isnot = self.accept("kw", "NOT")
                self.expect("kw", "NULL")
                e = ("isnull", e, isnot)
                continue
            else:
                return e
            if neg:
                e = ("not", e)

    def additive(self):
        e = self.mult()
        while True:
            t = self.peek()
            if t[0] == "op" and t[1] in ("+", "-", "||"):
                self.take()
                e = ("bin", t[1], e, self.mult())
            else:
                return e

    def mult(self):
        e = self.unary()
        while True:
            t = self.peek()
            if t[0] == "op" and t[1] in ("*", "/"):
                self.take()
                e = ("bin", t[1], e, self.unary())
            else:
                return e

    def unary(self):
        if self.accept("op", "-"):
            return ("neg", self.unary())
        return self.primary()

    def primary(self):
        t = self.take()
        if t[0] == "num":
            return ("lit", D(t[1]))
        if t[0] == "str":
            return ("lit", t[1])
        if t == ("kw", "NULL"):
            return ("lit", None)
        if t == ("kw", "TRUE"):
            return ("lit", True)
        if t == ("kw", "FALSE"):
            return ("lit", False)
        if t == ("kw", "DATE"):
            s = self.take()
            return ("lit", Date(datetime.date.fromisoformat(s[1])))
        if t == ("kw", "TIMESTAMP"):
            s = self.take()
            return ("lit", parse_iso(s[1]))
        if t == ("op", "("):
            e = self.or_()
            self.expect("op", ")")
            return e
        if t[0] == "id":
            if self.peek() == ("op", "("):
                self.take()
                args = []
                if not self.accept("op", ")"):
                    if t[1].lower() in ("cast", "try_cast"):
                        arg = self.or_()
                        tname = self.take()
                        if tname[1].upper() != "AS":
                            raise ValueError("cast needs AS")
                        ty = self.type_name()
                        self.expect("op", ")")
                        return ("cast", t[1].lower(), arg, parse_type(ty))
                    args.append(self.or_())
                    while self.accept("op", ","):
                        args.append(self.or_())
                    self.expect("op", ")")
                return ("fn", t[1].lower(), args)
            steps = [t[1]]
            while True:
                if self.accept("op", "."):
                    n = self.take()
                    if n[0] not in ("id", "kw"):
                        raise ValueError("bad path")
                    steps.append(n[1])
                elif self.peek() == ("op", "["):
                    self.take()
                    n = self.take()
                    self.expect("op", "]")
                    steps.append(int(n[1]))
                else:
                    break
            return ("col", steps)
        raise ValueError(f"unexpected {t}")

    def type_name(self):
        parts = []
        depth = 0
        while True:
            t = self.peek()
            if t == ("op", ")") and depth == 0:
                break
            self.take()
            if t == ("op", "<") or t == ("op", "("):
                depth += 1
            if t == ("op", ">") or t == ("op", ")"):
                depth -= 1
            parts.append(t[1])
        return "".join(parts)


_PARSED = {}


def parse_expr(text):
    if text not in _PARSED:
        _PARSED[text] = Parser(text).parse()
    return _PARSED[text]


def to_eval(v):
    """A row value as an expression value (numbers as Decimal)."""
    if isinstance(v, Num):
        return D(v.text)
    return v


def from_eval(v):
    if isinstance(v, D):
        return Num(num_text(v))
    if isinstance(v, Timestamp) or isinstance(v, Date):
        return v.iso()
    return v


def is_num(v):
    return isinstance(v, D) and not isinstance(v, bool)


def compare(op, a, b):
    if a is None or b is None:
        return None
    if is_num(a) and is_num(b):
        pass
    elif isinstance(a, str) and isinstance(b, str):
        pass
    elif isinstance(a, bool) and isinstance(b, bool):
        pass
    elif isinstance(a, Timestamp) and isinstance(b, Timestamp):
        a, b = a.ms, b.ms
    else:
        return None  # a number with a string (or other kinds): NULL, never a cast
    if isinstance(a, str):
        a, b = [ord(c) for c in a], [ord(c) for c in b]
    return {"=": a == b, "<>": a != b, "!=": a != b, "<": a < b, "<=": a <= b,
            ">": a > b, ">=": a >= b}[op]


def like_match(s, pat, esc=None):
    rx, i = "", 0
    while i < len(pat):
        c = pat[i]
        if esc is not None and c == esc and i + 1 < len(pat):
            rx += re.escape(pat[i + 1])
            i += 2
            continue
        rx += ".*" if c == "%" else "." if c == "_" else re.escape(c)
        i += 1
    return re.fullmatch(rx, s, re.S) is not None


def _need_str(fn, v):
    if v is not None and not isinstance(v, str):
        raise ExprError(f"{fn}: expected a string, got {v!r}")


def call(fn, args):
    if fn == "coalesce":
        for a in args:
            if a is not None:
                return a
        return None
    if fn == "if":
        c = args[0]
        return args[1] if c is True else (args[2] if len(args) > 2 else None)
    if fn == "nullif":
        return None if compare("=", args[0], args[1]) is True else args[0]
    if fn == "concat":
        if any(a is None for a in args):
            return None
        for a in args:
            _need_str(fn, a)
        return "".join(args)
    if any(a is None for a in args):
        return None
    if fn in ("lower", "upper", "length", "trim", "ltrim", "rtrim"):
        _need_str(fn, args[0])
        s = args[0]
        return {"lower": lambda: s.lower(), "upper": lambda: s.upper(),
                "length": lambda: D(len(s)), "trim": lambda: s.strip(" "),
                "ltrim": lambda: s.lstrip(" "), "rtrim": lambda: s.rstrip(" ")}[fn]()
    if fn == "split_part":
        _need_str(fn, args[0])
        _need_str(fn, args[1])
        idx = int(args[2])
        if idx < 1:
            raise ExprError("split_part: index must be positive")
        parts = args[0].split(args[1]) if args[1] != "" else [args[0]]
        return parts[idx - 1] if idx <= len(parts) else None
    if fn == "substr":
        _need_str(fn, args[0])
        s, start = args[0], int(args[1])
        if start == 0 or abs(start) > len(s):
            return ""
        begin = start - 1 if start > 0 else len(s) + start
        if len(args) > 2:
            return s[begin:begin + int(args[2])]
        return s[begin:]
    if fn == "replace":
        _need_str(fn, args[0])
        return args[0].replace(args[1], args[2] if len(args) > 2 else "")
    if fn == "starts_with":
        _need_str(fn, args[0])
        _need_str(fn, args[1])
        return args[0].startswith(args[1])
    if fn == "ends_with":
        _need_str(fn, args[0])
        return args[0].endswith(args[1])
    if fn == "strpos":
        _need_str(fn, args[0])
        return D(args[0].find(args[1]) + 1)
    if fn == "abs":
        return abs(args[0])
    if fn == "regexp_like":
        _need_str(fn, args[0])
        return re.search(args[1], args[0]) is not None
    raise ExprError(f"function {fn} is not in the reference")


def evaluate(node, row):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "col":
        v = get_path(row, node[1])
        return None if v is MISSING else to_eval(v)
    if kind == "and":
        a, b = evaluate(node[1], row), evaluate(node[2], row)
        if a is False or b is False:
            return False
        if a is None or b is None:
            return None
        return True
    if kind == "or":
        a, b = evaluate(node[1], row), evaluate(node[2], row)
        if a is True or b is True:
            return True
        if a is None or b is None:
            return None
        return False
    if kind == "not":
        a = evaluate(node[1], row)
        return None if a is None else (not a)
    if kind == "cmp":
        return compare(node[1], evaluate(node[2], row), evaluate(node[3], row))
    if kind == "isnull":
        v = evaluate(node[1], row)
        return (v is not None) if node[2] else (v is None)
    if kind == "in":
        v = evaluate(node[1], row)
        res = False
        for it in node[2]:
            c = compare("=", v, evaluate(it, row))
            if c is True:
                return True
            if c is None:
                res = None
        return res
    if kind == "between":
        v = evaluate(node[1], row)
        lo = compare(">=", v, evaluate(node[2], row))
        hi = compare("<=", v, evaluate(node[3], row))
        return evaluate(("and", ("lit", lo), ("lit", hi)), row)
    if kind == "like":
        s, pat = evaluate(node[1], row), evaluate(node[2], row)
        esc = evaluate(node[3], row) if node[3] else None
        if s is None or pat is None:
            return None
        return like_match(s, pat, esc)
    if kind == "bin":
        a, b = evaluate(node[2], row), evaluate(node[3], row)
        if a is None or b is None:
            return None
        if node[1] == "||":
            return text_of_expr(a) + text_of_expr(b)
        if not (is_num(a) and is_num(b)):
            raise ExprError(f"{node[1]} needs numbers")
        if node[1] == "+":
            return a + b
        if node[1] == "-":
            return a - b
        if node[1] == "*":
            return a * b
        return ("double", float(a) / float(b))
    if kind == "neg":
        a = evaluate(node[1], row)
        return None if a is None else -a
    if kind == "fn":
        return call(node[1], [evaluate(a, row) for a in node[2]])
    if kind == "cast":
        v = evaluate(node[2], row)
        try:
            out = cast(from_eval(v), node[3])
        except CastError as e:
            if node[1] == "try_cast":
                return None
            raise ExprError(f"cast: {e}")
        return to_eval(out)
    raise ExprError(f"node {kind}")


def text_of_expr(v):
    if isinstance(v, str):
        return v
    raise ExprError("|| needs strings")


def holds(expr, row):
    return evaluate(parse_expr(expr), row) is True


# ---- DQDL conditions ----------------------------------------------------------------------

def split_rules(ruleset):
    """The rule texts of `Rules = [ ... ]`, split at top-level commas."""
    body = ruleset[ruleset.index("[") + 1:ruleset.rindex("]")]
    rules, depth, cur, quote = [], 0, "", False
    for c in body:
        if quote:
            cur += c
            if c == '"':
                quote = False
            continue
        if c == '"':
            quote = True
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "," and depth == 0:
            rules.append(cur.strip())
            cur = ""
            continue
        cur += c
    if cur.strip():
        rules.append(cur.strip())
    return rules


def parse_list(text):
    """A DQDL list `["a", "b", 1, NULL]` to Python values (strings stay str, numbers D)."""
    out = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(NULL|EMPTY|WHITESPACES_ONLY)',
                         text):
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(D(m.group(2)))
        else:
            out.append(("kw", m.group(3)))
    return out


def num_cond(cond, x, between_inclusive=False):
    """A DQDL number condition on x (a Decimal); NULL x fails."""
    if x is None:
        return False
    m = re.match(r"^(not\s+)?between\s+(\S+)\s+and\s+(\S+)$", cond)
    if m:
        lo, hi = D(m.group(2)), D(m.group(3))
        inside = (lo <= x <= hi) if between_inclusive else (lo < x < hi)
        return (not inside) if m.group(1) else inside
    m = re.match(r"^(not\s+)?in\s*\[(.*)\]$", cond)
    if m:
        vals = [v for v in parse_list(m.group(2)) if isinstance(v, D)]
        return (x not in vals) if m.group(1) else (x in vals)
    m = re.match(r"^(>=|<=|!=|=|>|<)\s*(\S+)$", cond)
    if m:
        return compare(m.group(1), x, D(m.group(2))) is True
    raise ValueError(f"number condition {cond!r}")


def _value_for_rules(v):
    if isinstance(v, Num):
        return D(v.text)
    return v


def column_values_passes(cond, v, between_inclusive=False):
    """ColumnValues' per-row condition (DQDL; NULL fails every form but != and not in)."""
    v = _value_for_rules(v)
    m = re.match(r"^(not\s+)?matches\s+\"((?:[^\"\\]|\\.)*)\"$", cond)
    if m:
        if v is None:
            return False
        ok = isinstance(v, str) and re.fullmatch(m.group(2), v) is not None
        return (not ok) if m.group(1) else ok
    m = re.match(r"^(not\s+)?in\s*\[(.*)\]$", cond, re.S)
    if m:
        vals = parse_list(m.group(2))
        hit = False
        for it in vals:
            if it == ("kw", "NULL"):
                hit = hit or v is None
            elif it == ("kw", "EMPTY"):
                hit = hit or v == ""
            elif it == ("kw", "WHITESPACES_ONLY"):
                hit = hit or (isinstance(v, str) and v != "" and v.strip() == "")
            elif v is not None and type(it) is type(v) and it == v:
                hit = True
        return (not hit) if m.group(1) else hit
    m = re.match(r"^(!=|=)\s*\"((?:[^\"\\]|\\.)*)\"$", cond)
    if m:
        if m.group(1) == "=":
            return v == m.group(2)
        return v is None or v != m.group(2)
    if v is not None and not isinstance(v, D):
        return False
    if cond.startswith("!="):
        return v is None or v != D(cond[2:].strip())
    return num_cond(cond, v, between_inclusive)


def column_length(v):
    if v is None:
        return 0
    if isinstance(v, str):
        return len(v)
    t = text_of(v)
    return len(t if isinstance(t, str) else json.dumps(t.value))


# ---- DQDL rulesets: rules, row verdicts, dataset-level results ---------------------------
#
# Written from README.md ("Data quality (DQDL rules)") and ../shared/docs/dqdl.md; what both
# leave open follows Glue's open-source evaluator, awslabs/deequ (src/main/scala/com/amazon/
# deequ/dqdl/), as the README says. In one place:
# - row-level rules: IsComplete, ColumnValues, ColumnLength, and composites made only of them;
#   every other rule is dataset-level. A row outside a rule's `where` passes it.
# - `between a and b` excludes both bounds (deequ's isContainedIn(..., false, false));
#   Transform(between_inclusive=True) includes them.
# - a rule `with threshold` still flags the single rows that break its condition (README:
#   "rows are still decided one by one").
# - DataQualityRulesFail of a rejected row: the failed casts, then the text of EVERY top-level
#   row-level rule the row broke, whatever its action (README: "naming every rule they broke";
#   "the text of each rule it broke"). Only quarantine-action rules (and failed casts) make the
#   row rejected.
# - the rows a dataset's rules see: every row routed to it and not filtered (nor, in a stream
#   batch, a duplicate): written and rejected rows alike, with the output columns before PII.
# - metric names are deequ's `Entity.instance.Name` (dqdl.md: Dataset.*.RowCount,
#   Column.email.Completeness, Multicolumn.a,b.Uniqueness); ColumnValues reports
#   Column.c.ColumnValues.Compliance (PatternMatch for `matches`), ColumnLength
#   Column.c.MinimumLength/MaximumLength (a NULL has length 0, dqdl.md), IsPrimaryKey
#   Column.c.Uniqueness and Column.c.Completeness, DistinctValuesCount Column.c.
#   DistinctValuesCount (deequ's Histogram.bins: NULL is one value), ColumnExists
#   Dataset.c.ColumnExists, SchemaMatch Dataset.ref.SchemaMatch; a composite reports its
#   parts' metrics. Uniqueness is the share of the non-NULL values that occur once (deequ).
# - Score = rules passed / rules; AggregatedMetrics: TotalRowsFailed = rows that broke at least
#   one row-level rule (any action), TotalRowsPassed the others.
# - SchemaMatch: the reference is the schema of the latest completed snapshot run before this
#   evaluation (schema.json is written by the commit, after the rules); columns are the data
#   columns (not the metadata columns) of the rows written, types the JSON kinds of their
#   non-NULL values; deequ's ratio: 0 when the column counts differ, else the share of columns
#   with the reference's types. No reference: FAIL "Reference dataset 'ref' not found".
# - DetectAnomalies: the history holds the metric's earlier values (this one appended after the
#   check, the last 20 kept, unless a rule with action fail did not pass: that batch is retried,
#   that run not completed, so its values are not history); with fewer than 5 the rule passes (warming up); else a value
#   outside median +- 3 * 1.4826 * max(MAD, 1% of |median|) fails with an observation.

F = fractions.Fraction
ROW_LEVEL = ("IsComplete", "ColumnValues", "ColumnLength")
ANOMALY_MIN = 5
ANOMALY_KEEP = 20

DQ_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")'
                      r'|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)'
                      r'|(?P<id>[A-Za-z_$][A-Za-z0-9_.$]*)'
                      r'|(?P<op>>=|<=|!=|=|>|<|\[|\]|\(|\)|,))')


def _dq_tokens(text):
    out, pos = [], 0
    while text[pos:].strip():
        m = DQ_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"dqdl: cannot read {text[pos:]!r}")
        out.append((m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup)))
        pos = m.end()
    return out


def _unquote(s):
    return re.sub(r'\\(.)', r'\1', s[1:-1])


def _close_paren(text, i):
    depth, quote = 0, False
    for j in range(i, len(text)):
        c = text[j]
        if quote:
            if c == "\\":
                continue
            quote = c != '"'
        elif c == '"':
            quote = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"dqdl: unbalanced parentheses in {text!r}")


class Rule:
    """One DQDL rule (a composite has op and children)."""

    def __init__(self, text, type_, cols=(), cond=None, threshold=None, where=None, action=None,
                 op=None, children=()):
        self.text, self.type, self.cols, self.cond = text, type_, list(cols), cond
        self.threshold, self.where, self.tag_action = threshold, where, action
        self.op, self.children = op, list(children)
        self.name = None

    @property
    def row_level(self):
        if self.type == "Composite":
            return all(c.row_level for c in self.children)
        return self.type in ROW_LEVEL

    def __repr__(self):
        return f"Rule({self.name}, {self.text!r})"


def parse_dq_rule(text):
    text = text.strip()
    if text.startswith("("):
        parts, ops, i = [], [], 0
        while True:
            j = _close_paren(text, i)
            parts.append(parse_dq_rule(text[i + 1:j]))
            rest = text[j + 1:]
            if not rest.strip():
                break
            m = re.match(r"\s*(and|or)\s*(?=\()", rest)
            if not m:
                raise ValueError(f"dqdl: expected and/or in {text!r}")
            ops.append(m.group(1))
            i = j + 1 + m.end()
        if len(set(ops)) != 1:
            raise ValueError(f"dqdl: mixed and/or without parentheses: {text!r}")
        return Rule(text, "Composite", op=ops[0], children=parts)
    toks = _dq_tokens(text)
    type_, i, cols = toks[0][1], 1, []
    while i < len(toks) and toks[i][0] == "str":
        cols.append(_unquote(toks[i][1]))
        i += 1
    marks = [k for k in range(i, len(toks)) if toks[k][0] == "id" and toks[k][1] in ("where", "with")]
    bounds = marks + [len(toks)]

    def span(a, b):
        start = toks[a][2] if a < len(toks) else len(text)
        end = toks[b][2] if b < len(toks) else len(text)
        return text[start:end].strip()

    cond = span(i, bounds[0]) or None
    where = threshold = action = None
    for a, b in zip(bounds, bounds[1:]):
        if toks[a][1] == "where":
            where = _unquote(toks[a + 1][1])
        elif toks[a + 1][1] == "threshold":
            threshold = span(a + 2, b)
        elif toks[a + 1][1] == "action":
            action = _unquote(toks[a + 3][1])
        else:
            raise ValueError(f"dqdl: the reference does not know `with {toks[a + 1][1]}`")
    return Rule(text, type_, cols, cond, threshold, where, action)


def parse_ruleset(text):
    rules = [parse_dq_rule(t) for t in split_rules(text)]
    for n, r in enumerate(rules, 1):
        r.name = f"Rule_{n}"
    return rules


def rule_action(rule, rule_actions):
    """quarantine (row-level default), warn (dataset-level default) or fail."""
    return ((rule_actions or {}).get(rule.name) or rule.tag_action
            or ("quarantine" if rule.row_level else "warn"))


def row_passes(rule, row, between_inclusive=False):
    """The verdict of a row-level rule on one row (output columns, before PII)."""
    if rule.type == "Composite":
        got = [row_passes(c, row, between_inclusive) for c in rule.children]
        return all(got) if rule.op == "and" else any(got)
    if rule.where is not None and not holds(rule.where, row):
        return True
    v = row.get(rule.cols[0]) if rule.cols else None
    if rule.type == "IsComplete":
        return v is not None
    if rule.type == "ColumnValues":
        return column_values_passes(rule.cond, v, between_inclusive)
    if rule.type == "ColumnLength":
        return num_cond(rule.cond, D(column_length(v)), between_inclusive)
    raise ValueError(f"{rule.type} is not row-level")


def broken_rules(rules, row, between_inclusive=False):
    """The top-level row-level rules the row breaks, in ruleset order."""
    return [r for r in rules if r.row_level and not row_passes(r, row, between_inclusive)]


def frac_cond(cond, x, between_inclusive=False):
    """A DQDL number condition on an exact metric value x (a Fraction)."""
    def num(t):
        return F(D(t))
    m = re.match(r"^(not\s+)?between\s+(\S+)\s+and\s+(\S+)$", cond)
    if m:
        lo, hi = num(m.group(2)), num(m.group(3))
        inside = (lo <= x <= hi) if between_inclusive else (lo < x < hi)
        return (not inside) if m.group(1) else inside
    m = re.match(r"^(not\s+)?in\s*\[(.*)\]$", cond)
    if m:
        vals = [F(v) for v in parse_list(m.group(2)) if isinstance(v, D)]
        return (x not in vals) if m.group(1) else (x in vals)
    m = re.match(r"^(>=|<=|!=|=|>|<)\s*(\S+)$", cond)
    if m:
        y = num(m.group(2))
        return {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[m.group(1)]
    raise ValueError(f"number condition {cond!r}")


def schema_type(v):
    """The kind of a written value, for SchemaMatch and drift (None for NULL)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "BOOL"
    if isinstance(v, (Num, D)) or (isinstance(v, tuple) and v[0] == "double"):
        return "N"
    if isinstance(v, (str, JsonText)):
        return "S"
    if isinstance(v, Bin):
        return "B"
    if isinstance(v, dict):
        return "M"
    if isinstance(v, list):
        return "L"
    raise TypeError(repr(v))


def observe_schema(rows, schema=None):
    """{column: set of non-NULL kinds} of rows (data columns only)."""
    schema = {} if schema is None else schema
    for row in rows:
        for k, v in row.items():
            if k in META:
                continue
            kinds = schema.setdefault(k, set())
            t = schema_type(v)
            if t is not None:
                kinds.add(t)
    return schema


def schema_drift(observed, reference):
    """Columns the reference lacks (once each) plus, for the others, kinds it lacks."""
    if reference is None:
        return 0, []
    n, notes = 0, []
    for col, kinds in observed.items():
        if col not in reference:
            n += 1
            notes.append(col)
            continue
        for t in sorted(kinds - reference[col]):
            n += 1
            notes.append(f"{col}:{t}")
    return n, notes


def median(xs):
    s = sorted(xs)
    k = len(s)
    return s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2


def anomaly_band(history):
    """(low, high) of DetectAnomalies over the stored values (floats)."""
    med = median(history)
    mad = median([abs(x - med) for x in history])
    mad = max(mad, 0.01 * abs(med))
    return med - 3 * 1.4826 * mad, med + 3 * 1.4826 * mad


class RuleOutcome:
    def __init__(self, rule):
        self.rule = rule
        self.result = None        # PASS, FAIL, ERROR
        self.metrics = {}         # name -> Fraction (exact) or float
        self.message = None
        self.observation = None   # (metric, value, low, high)
        self.store = None         # (history key, value)

    def __repr__(self):
        return f"{self.rule.name} {self.result} {self.metrics} {self.message or ''}"


class DQContext:
    """What an evaluation sees besides its rows: the output's columns, the anomaly history
    ({key: [values]}) and the SchemaMatch reference ({column: kinds} or None) and the observed
    schema of the rows written."""

    def __init__(self, columns, history=None, reference=None, observed=None):
        self.columns = columns
        self.history = history or {}
        self.reference = reference
        self.observed = observed or {}


def _ratio(a, b):
    return F(a, b) if b else None


def _num_value(v):
    v = _value_for_rules(v)
    if isinstance(v, D):
        return F(v)
    if isinstance(v, tuple) and v[0] == "double":
        return F(v[1])
    return None


def _key_value(v):
    v = _value_for_rules(v)
    if isinstance(v, (dict, list)):
        return ("json", json.dumps(json_value(v), sort_keys=True, default=str))
    if isinstance(v, bool):
        return ("bool", v)
    return v


def eval_rule(rule, rows, ctx, between_inclusive=False):
    """A rule's dataset-level outcome over rows."""
    out = RuleOutcome(rule)
    if rule.type == "Composite":
        parts = [eval_rule(c, rows, ctx, between_inclusive) for c in rule.children]
        ok = [p.result == "PASS" for p in parts]
        out.result = "PASS" if (all(ok) if rule.op == "and" else any(ok)) else "FAIL"
        for p in parts:
            out.metrics.update(p.metrics)
        return out
    sel = [r for r in rows if rule.where is None or holds(rule.where, r)]
    n = len(sel)
    col = rule.cols[0] if rule.cols else None
    vals = [r.get(col) for r in sel] if col is not None else []
    t = rule.type

    def verdict(ok):
        out.result = "PASS" if ok else "FAIL"
        return out

    def error(msg):
        out.result, out.message = "ERROR", msg
        return out

    if t in ("IsComplete", "Completeness"):
        comp = _ratio(sum(v is not None for v in vals), n)
        if comp is None:
            return error("no rows")
        out.metrics[f"Column.{col}.Completeness"] = comp
        return verdict(comp == 1 if t == "IsComplete" else frac_cond(rule.cond, comp, between_inclusive))
    if t in ("ColumnValues", "ColumnLength"):
        share = _ratio(sum(row_passes(Rule(rule.text, t, rule.cols, rule.cond), r, between_inclusive)
                           for r in sel), n)
        if share is None:
            return error("no rows")
        if t == "ColumnLength":
            lens = [column_length(v) for v in vals]
            out.metrics[f"Column.{col}.MinimumLength"] = F(min(lens))
            out.metrics[f"Column.{col}.MaximumLength"] = F(max(lens))
        elif re.match(r"^(not\s+)?matches\b", rule.cond):
            out.metrics[f"Column.{col}.PatternMatch"] = share
        else:
            out.metrics[f"Column.{col}.ColumnValues.Compliance"] = share
        if rule.threshold is not None:
            return verdict(frac_cond(rule.threshold, share, between_inclusive))
        return verdict(share == 1)
    if t == "RowCount":
        out.metrics["Dataset.*.RowCount"] = F(n)
        return verdict(frac_cond(rule.cond, F(n), between_inclusive))
    if t in ("Uniqueness", "IsUnique", "IsPrimaryKey"):
        keys = [tuple(_key_value(r.get(c)) for c in rule.cols) for r in sel]
        keys = [k for k in keys if any(x is not None for x in k)]
        counts = {}
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        uniq = _ratio(sum(1 for c in counts.values() if c == 1), len(keys))
        if uniq is None:
            return error("no values")
        name = (f"Column.{col}.Uniqueness" if len(rule.cols) == 1
                else f"Multicolumn.{','.join(rule.cols)}.Uniqueness")
        out.metrics[name] = uniq
        if t == "Uniqueness":
            return verdict(frac_cond(rule.cond, uniq, between_inclusive))
        if t == "IsUnique":
            return verdict(uniq == 1)
        ok = uniq == 1
        for c in rule.cols:
            comp = _ratio(sum(r.get(c) is not None for r in sel), n)
            out.metrics[f"Column.{c}.Completeness"] = comp
            ok = ok and comp == 1
        return verdict(ok)
    if t in ("Mean", "Sum", "StandardDeviation"):
        nums = [x for x in (_num_value(v) for v in vals) if x is not None]
        if not nums:
            return error("no values")
        if t == "Sum":
            x = sum(nums, F(0))
        else:
            x = sum(nums, F(0)) / len(nums)
            if t == "StandardDeviation":
                x = (float(sum(((y - x) ** 2 for y in nums), F(0)) / len(nums))) ** 0.5
        out.metrics[f"Column.{col}.{t}"] = x
        return verdict(frac_cond(rule.cond, F(x), between_inclusive))
    if t == "DistinctValuesCount":
        k = F(len({_key_value(v) for v in vals}))
        out.metrics[f"Column.{col}.DistinctValuesCount"] = k
        return verdict(frac_cond(rule.cond, k, between_inclusive))
    if t == "ColumnExists":
        there = col in ctx.columns
        out.metrics[f"Dataset.{col}.ColumnExists"] = F(int(there))
        return verdict(there)
    if t == "ColumnCount":
        out.metrics["Dataset.*.ColumnCount"] = F(len(ctx.columns))
        return verdict(frac_cond(rule.cond, F(len(ctx.columns)), between_inclusive))
    if t == "SchemaMatch":
        if ctx.reference is None:
            out.message = f"Reference dataset '{col}' not found"
            out.result = "FAIL"
            return out
        prim, ref = ctx.observed, ctx.reference
        if not prim or not ref or len(prim) != len(ref):
            ratio = F(0)
        else:
            ratio = F(sum(1 for c, k in prim.items() if ref.get(c) == k), len(prim))
        out.metrics[f"Dataset.{col}.SchemaMatch"] = ratio
        return verdict(frac_cond(rule.cond, ratio, between_inclusive))
    if t == "DetectAnomalies":
        if rule.cols == ["RowCount"]:
            key, metric, value = "RowCount", "Dataset.*.RowCount", float(len(rows))
        elif len(rule.cols) == 2 and rule.cols[0] == "Completeness":
            c = rule.cols[1]
            key, metric = f"Completeness.{c}", f"Column.{c}.Completeness"
            value = float(_ratio(sum(r.get(c) is not None for r in rows), len(rows)))
        else:
            raise ValueError(f"the reference does not watch {rule.cols}")
        out.metrics[metric] = F(value)
        out.store = (key, value)
        hist = list(ctx.history.get(key, []))[-ANOMALY_KEEP:]
        if len(hist) < ANOMALY_MIN:
            out.message = f"warming up: {len(hist)} of {ANOMALY_MIN} values"
            return verdict(True)
        lo, hi = anomaly_band(hist)
        if lo <= value <= hi:
            return verdict(True)
        out.observation = (metric, value, lo, hi)
        return verdict(False)
    raise ValueError(f"the reference does not evaluate {t}")


class DQResult:
    """One evaluation of a dataset's rules: the outcomes and Glue's aggregate numbers."""

    def __init__(self, dataset, outcomes, rows, rows_failed, actions):
        self.dataset = dataset
        self.outcomes = outcomes
        self.rows = rows
        self.rows_failed = rows_failed
        self.actions = actions
        passed = sum(o.result == "PASS" for o in outcomes)
        failed = sum(o.result == "FAIL" for o in outcomes)
        self.aggregated = {"TotalRowsProcessed": rows, "TotalRowsPassed": rows - rows_failed,
                           "TotalRowsFailed": rows_failed, "TotalRulesProcessed": len(outcomes),
                           "TotalRulesPassed": passed, "TotalRulesFailed": failed}
        self.score = F(passed, len(outcomes)) if outcomes else F(1)
        self.fail = any(actions[o.rule.name] == "fail" and o.result != "PASS" for o in outcomes)
        self.stores = [o.store for o in outcomes if o.store is not None]

    def history_after(self, history):
        """The history with this evaluation's values appended (the last 20 kept); unchanged
        after an evaluation that fails its batch or run."""
        h = {k: list(v) for k, v in (history or {}).items()}
        if self.fail:
            return h
        for key, value in self.stores:
            h[key] = (h.get(key, []) + [value])[-ANOMALY_KEEP:]
        return h


# ---- PII ----------------------------------------------------------------------------------

def as_int(v):
    return int(v.text) if isinstance(v, Num) else int(v)


def pii_apply(row, pii, key):
    for p in pii:
        col = p["column"]
        if col not in row or row[col] is None:
            continue
        text = text_of(row[col])
        if isinstance(text, JsonText):
            text = json.dumps(text.value, separators=(",", ":"), ensure_ascii=False)
        method = p["method"]
        if method == "hmac_sha256":
            row[col] = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        elif method == "redact":
            row[col] = p.get("replacement", "REDACTED")
        elif method == "truncate":
            keep = as_int(p.get("keep", 4))
            if p.get("from", "end") == "start":
                row[col] = text[:keep]
            else:
                row[col] = text[-keep:] if keep and len(text) > keep else (text if keep else "")
        else:
            raise ValueError(method)


# ---- the pipeline -------------------------------------------------------------------------

class Outcome:
    """What happens to one record (or snapshot item)."""
    __slots__ = ("index", "dataset", "kind", "row", "reasons", "error", "dedupe_key", "table",
                 "dq_row", "broken")

    def __init__(self, index, table):
        self.index = index
        self.table = table
        self.dataset = None
        self.kind = None        # written, rejected, filtered, duplicate, unrouted, quarantined
        self.row = None
        self.reasons = []
        self.error = None
        self.dedupe_key = None
        self.dq_row = None      # the row the rules saw (before PII)
        self.broken = []        # the row-level rules it broke (Rule)

    def __repr__(self):
        return f"Outcome({self.index}, {self.dataset}, {self.kind}, reasons={self.reasons})"


def _insert(row, meta, name, value):
    """Sets a column: in place when it exists, else after the data columns (before the
    metadata columns, which stay last)."""
    if name in row:
        row[name] = value
        return row
    out = {}
    placed = False
    for k, v in row.items():
        if not placed and k in meta:
            out[name] = value
            placed = True
        out[k] = v
    if not placed:
        out[name] = value
    return out


def _flatten(row, meta, depth, sep):
    out = {}
    for k, v in row.items():
        if k in meta or not isinstance(v, dict):
            if k not in out:
                out[k] = v
            continue
        for name, x in _flatten_map(k, v, depth, sep):
            if name in row and name != k:
                continue  # a flattened name that is already a column leaves that column
            out[name] = x
    return out


def _flatten_map(prefix, m, depth, sep):
    for k, v in m.items():
        name = prefix + sep + k
        if isinstance(v, dict):
            if depth > 1:
                yield from _flatten_map(name, v, depth - 1, sep)
            else:
                yield name, JsonText(json_value(v))
        else:
            yield name, v


def _mapping(m, default_policy):
    if isinstance(m, dict):
        return (m["source"], m.get("source_type"), m["target"], m["type"],
                m.get("on_error", default_policy))
    return (m[0], m[1], m[2], m[3], m[4] if len(m) > 4 else default_policy)


class Transform:
    """A spec, ready to apply. between_inclusive: DQDL's `between` with its bounds included
    (Glue's open-source evaluator excludes them).

    A value that does not cast under policy `reject` marks the row (`CastFailed "target":
    ...`) and the row goes on through every step: README: "A rejected row is the row as it
    would have been written (PII applied) plus DataQualityRulesFail". So it has its derived
    columns, a filter can still drop it (filtered, not rejected), dedupe still keeps only the
    last change of its key (an earlier change of that key is a duplicate, not written), and
    the row-level rules are evaluated on it too (all it broke is listed)."""

    def __init__(self, spec, pii_key, between_inclusive=False):
        self.spec = spec
        self.key = pii_key if isinstance(pii_key, bytes) else pii_key.encode("utf-8")
        self.between_inclusive = between_inclusive
        self.datasets = spec["datasets"]
        for d in self.datasets:
            d["_rules"] = parse_ruleset(d["rules"]) if d.get("rules") else []
            d["_actions"] = {r.name: rule_action(r, d.get("rule_actions")) for r in d["_rules"]}
            d["_maps"] = [_mapping(m, d.get("on_cast_error", "null")) for m in d.get("mappings") or []]

    def dataset(self, name):
        return next(d for d in self.datasets if d["name"] == name)

    def evaluate(self, dataset, outs, history=None, reference=None):
        """The dataset's rules over its rows in outs (one stream batch or one snapshot run):
        a DQResult (None when the dataset has no rules). history: {key: [values]} before this
        evaluation; reference: the SchemaMatch reference ({column: kinds}) or None."""
        d = self.dataset(dataset)
        if not d["_rules"]:
            return None
        os_ = dq_rows(outs, dataset)
        rows = [o.dq_row for o in os_]
        columns = []
        for r in rows:
            columns += [k for k in r if k not in columns]
        observed = observe_schema([o.row for o in os_ if o.kind == "written"])
        ctx = DQContext(columns, history, reference, observed)
        outcomes = [eval_rule(r, rows, ctx, self.between_inclusive) for r in d["_rules"]]
        return DQResult(dataset, outcomes, len(rows), sum(1 for o in os_ if o.broken), d["_actions"])

    def route(self, src):
        for d in self.datasets:
            if d.get("when") is None or holds(d["when"], src):
                return d
        return None

    def shape(self, d, src):
        """Steps 2 to 5 for one source row: (row, meta, cast failures, kept?)."""
        meta = {k for k in META if k in src}
        reasons = []
        if d["_maps"]:
            row = {}
            roots = set()
            for source, _, target, ttype, policy in d["_maps"]:
                steps = parse_path(source)
                roots.add(steps[0])
                v = get_path(src, steps)
                v = None if v is MISSING else v
                try:
                    out = cast(v, parse_type(ttype))
                except CastError as e:
                    if policy == "keep":
                        out = text_of(v)
                    elif policy == "reject":
                        out = None
                        reasons.append(f'CastFailed "{target}": {e}')
                    else:
                        out = None
                row[target] = out
            keep_unmapped = d.get("keep_unmapped", False)
            for k, v in src.items():
                if k in meta:
                    continue
                if keep_unmapped and k not in roots and k not in row:
                    row[k] = v
            for k in META:
                if k in src:
                    row[k] = src[k]
        else:
            row = dict(src)
        fl = d.get("flatten")
        if fl:
            if isinstance(fl, dict):
                depth, sep = as_int(fl.get("depth", 1)), fl.get("separator", "_")
            else:
                depth, sep = as_int(fl), "_"
            row = _flatten(row, meta, depth, sep)
        for k, v in (d.get("constants") or {}).items():
            row = _insert(row, meta, k, _const(v))
        for der in d.get("derive") or []:
            v = from_eval(evaluate(parse_expr(der["expr"]), row))
            if der.get("type"):
                try:
                    v = cast(v, parse_type(der["type"]))
                except CastError as e:
                    pol = der.get("on_error", d.get("on_cast_error", "null"))
                    if pol == "reject":
                        reasons.append(f'CastFailed "{der["name"]}": {e}')
                        v = None
                    elif pol == "keep":
                        v = text_of(v)
                    else:
                        v = None
            row = _insert(row, meta, der["name"], v)
        if d.get("filter") is not None and not holds(d["filter"], row):
            return row, meta, reasons, False
        renames = d.get("rename") or {}
        if renames:
            row = {renames.get(k, k): v for k, v in row.items()}
            meta = {k for k in meta if k not in renames}
        if d.get("select") is not None:
            sel = d["select"]
            row = {k: v for k, v in row.items() if k in sel or k in meta}
        for k in d.get("drop") or []:
            row.pop(k, None)
        return row, meta, reasons, True

    def run(self, sources, snapshot=False):
        """sources: a list of (table, source row or ConvertError, dedupe key). Returns the
        Outcome of each, in order."""
        outs = []
        staged = []
        for i, (table, src, dkey) in enumerate(sources):
            o = Outcome(i, table)
            outs.append(o)
            if isinstance(src, Exception):
                o.kind, o.error = "quarantined", str(src)
                continue
            try:
                d = self.route(src)
                if d is None:
                    o.kind = "unrouted"
                    continue
                o.dataset = d["name"]
                row, meta, reasons, kept = self.shape(d, src)
            except ExprError as e:
                o.kind = "quarantined" if not snapshot else "rejected"
                o.error = f"TransformError: {e}"
                if snapshot:
                    o.reasons = [o.error]
                continue
            if not kept:
                o.kind = "filtered"
                continue
            o.row = row
            o.reasons = reasons
            o.kind = "rejected" if reasons else "written"
            ded = d.get("dedupe")
            if ded and not snapshot:
                if isinstance(ded, dict) and ded.get("key"):
                    o.dedupe_key = (d["name"], tuple(json.dumps(json_value(row.get(c)), default=str)
                                                     for c in ded["key"]))
                else:
                    o.dedupe_key = (d["name"], table, dkey)
            staged.append(o)
        # dedupe: the last change of a key in the batch is kept
        last = {}
        for o in staged:
            if o.dedupe_key is not None:
                last[o.dedupe_key] = o.index
        for o in staged:
            if o.dedupe_key is not None and last[o.dedupe_key] != o.index:
                o.kind = "duplicate"
        # rules, then PII
        for o in staged:
            d = next(x for x in self.datasets if x["name"] == o.dataset)
            if o.kind == "duplicate":
                # not written: its row is kept (PII applied) only to explain a disagreement
                pii_apply(o.row, d.get("pii") or [], self.key)
                continue
            o.dq_row = dict(o.row)
            o.broken = broken_rules(d["_rules"], o.row, self.between_inclusive)
            quarantine = any(d["_actions"][r.name] == "quarantine" for r in o.broken)
            if o.reasons or quarantine:
                o.kind = "rejected"
                o.reasons = o.reasons + [r.text for r in o.broken]
            pii_apply(o.row, d.get("pii") or [], self.key)
        return outs


def dq_rows(outs, dataset):
    """The rows a dataset's rules see in a batch or a run: written and rejected."""
    return [o for o in outs if o.dataset == dataset and o.kind in ("written", "rejected")
            and o.dq_row is not None]


def _const(v):
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, Num):
        return v
    if isinstance(v, (int, float)):
        return Num(str(v))
    return v


def load_spec_text(text):
    """A spec with numbers kept exact (constants keep their digits)."""
    return json.loads(text, parse_int=Num, parse_float=Num)


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        return load_spec_text(f.read())


def stream_sources(records):
    out = []
    for rec in records:
        table = ddbgen.table_of(rec)
        keys = json.dumps(rec.get("dynamodb", {}).get("Keys"), sort_keys=True)
        try:
            out.append((table, stream_source_row(rec), keys))
        except (ConvertError, ValueError) as e:
            out.append((table, ConvertError(str(e)), keys))
    return out


def snapshot_sources(items, table, run_id):
    return [(table, snapshot_source_row(it, table, run_id), None) for it in items]


# ---- comparing a written row with the expected one ----------------------------------------

def diff(expected, actual, path="$"):
    """Differences between an expected value (reference model) and a parsed output value
    (ddbgen.loads_exact), as a list of strings."""
    if isinstance(expected, JsonText):
        if not isinstance(actual, str):
            return [f"{path}: expected JSON text, got {actual!r}"]
        try:
            parsed = ddbgen.loads_exact(actual)
        except ValueError:
            return [f"{path}: {actual!r} is not JSON text"]
        return diff(expected.value, parsed, path + "(json)")
    if isinstance(expected, Bin):
        expected = expected.b64
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r:.200}"]
        out = []
        if set(expected) != set(actual):
            out.append(f"{path}: columns: missing {[k for k in expected if k not in actual]}, "
                       f"unexpected {[k for k in actual if k not in expected]}")
        elif list(expected) != list(actual):
            out.append(f"{path}: column order {list(actual)}, expected {list(expected)}")
        for k in expected:
            if k in actual:
                out += diff(expected[k], actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r:.300}, got {actual!r:.300}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += diff(e, a, f"{path}[{i}]")
        return out
    if isinstance(expected, bool) or expected is None:
        if actual is expected:
            return []
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []
