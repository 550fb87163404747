#!/usr/bin/env python3
"""A verifying, fault-injecting reverse proxy for the local AWS stand-ins (s3rver, dynalite).

Placed in front of s3rver (service "s3") or dynalite (service "dynamodb"), it:

* verifies every request's SigV4 signature independently of the client, with botocore: it parses
  the Authorization header, rebuilds a botocore.awsrequest.AWSRequest from the method, the URL
  exactly as received, the signed headers and the body, and signs it with botocore's
  S3SigV4Auth (s3) or SigV4Auth (dynamodb) using the known secret and the request's own
  X-Amz-Date, then compares signatures. It also checks the key id, the credential scope, the
  date skew (15 minutes), x-amz-content-sha256 against the body, and the session token.
  A failure is answered with the service's own error shape (S3: 403 XML; DynamoDB: 400 JSON
  com.amazon.coral.service#... like the real service) and recorded with the canonical request
  botocore built. The secret is never logged or returned.
* injects faults: every Nth request (fault_every) and/or at random (fault_rate, seeded), of the
  kinds in fault_kinds, cycled in order (S3: 503 SlowDown; DynamoDB: ThrottlingException,
  ProvisionedThroughputExceededException, 500 InternalServerError; optionally "reset", which
  closes the connection without answering, and "slow", which delays then forwards).
* fault rules (rules): a regex on the request ("METHOD /decoded/path?query" for S3,
  "Operation TableName" for DynamoDB), a kind and a count: each distinct request that matches
  faults on its first `times` attempts (null: on every attempt), then goes through. A request
  is the same one again when its method, path, query and body are: S3's x-amz-content-sha256
  names the body before it arrives, DynamoDB's (small) body is read first. Kinds for rules,
  besides the above: "reset-body" reads the headers and half the declared body, then resets
  the connection (RST) mid-request; "unavailable" answers 503 ServiceUnavailable; "error200"
  answers 200 with an S3 <Error> body (CompleteMultipartUpload's way of failing).
* crash rules: kind "kill" SIGKILLs the process that sent the request (found from the client
  socket through /proc/net/tcp and /proc/*/fd) before anything is forwarded, "kill-after"
  forwards the request, reads the answer, then kills the sender before relaying it (S3 did the
  work, the client never learns). Either way the connection is then reset. A crash rule lets
  its first `skip` matching requests through (retries count), then fires on the next `times`
  (default 1) ones; its stats say which pids it killed.
* honours S3's conditional create, which s3rver ignores: a PutObject with If-None-Match: * on a
  key that exists upstream (a HeadObject to the upstream, under a per-key lock) is answered 412
  PreconditionFailed, as S3 answers it (conditions=False forwards it unchecked).
* adds latency (latency_ms: {"HEAD": 15, "PUT": 40, "*": 0, ...} by HTTP method, "*" for the
  rest): each request waits that long after its body arrived, before it is forwarded, so its
  client waits the latency plus the stand-in's own time (the stats' upstream_ms: per operation,
  count, median, min and max of the time from the forward's start to the stand-in's answer
  (status and headers) arriving: taken before a byte of it is relayed, so a client's own
  clock always reads at least latency + that time). Every
  client connection has its own thread, so concurrent requests wait concurrently, as they do
  on S3. A conditional create's HeadObject (above: S3 needs no such round trip) is made while
  the PutObject waits, so the emulation does not add its own time to S3's PUT latency; the
  condition is therefore checked as the wait starts (conditional creates of one key still queue
  on its lock, but a write without a condition landing on that key during the wait is not seen,
  where S3 would see it: no test or bench writes a key both ways).
  With latency_includes_upstream (--latency-includes-upstream) a request is forwarded as soon
  as its body arrived and its answer held until the latency has passed since then: the
  stand-in's own time is inside the latency, as S3's own work is inside S3's. Off by default
  (the proxy's latency is added unless asked); scripts/bench.sh measures both readings.
* forwards everything else unchanged (method, path and query as received, headers less the
  hop-by-hop ones, body) and relays the answer, chunked upstream answers included.

Control endpoints (not counted, not verified): GET /__proxy/stats (JSON), POST /__proxy/reset
(zero the counters), POST /__proxy/config (JSON: fault_every, fault_rate, seed, fault_kinds,
slow_seconds, verify, fault_match, fault_match_kind, rules, latency_ms, conditions,
latency_includes_upstream).

Standalone:
  python3 tests/integration/awsproxy.py --listen 127.0.0.1:P --upstream http://127.0.0.1:Q \\
      --service s3|dynamodb --access-key ID [--secret-key S] [--session-token T] \\
      [--fault-every N] [--fault-rate p --seed s] [--fault-kinds a,b]
      [--latency HEAD=15,GET=15,PUT=40,POST=40] [--latency-includes-upstream]
      [--ignore-conditions]
The secret may instead come from $AWSPROXY_SECRET_KEY or $AWS_SECRET_ACCESS_KEY (keeps it off
the process list). Prints "ready <port>" on stdout once listening.

Needs botocore: Debian's python3-botocore (/usr/bin/python3) or any botocore on sys.path.
"""
import argparse
import calendar
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import socketserver
import statistics
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import zlib
from xml.sax.saxutils import escape as xml_escape

try:
    import botocore
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.compat import HTTPHeaders
    from botocore.credentials import Credentials
except ImportError as e:  # pragma: no cover - environment problem
    raise ImportError(
        "awsproxy needs botocore: run it with /usr/bin/python3 (Debian's python3-botocore)"
    ) from e

SERVICES = ("s3", "dynamodb", "glue")
JSON_SERVICES = ("dynamodb", "glue")  # JSON protocols: X-Amz-Target names the operation
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
DDB_ERR = "com.amazonaws.dynamodb.v20120810#"
CORAL_ERR = "com.amazon.coral.service#"
FAULT_KINDS = ("slowdown", "throttling", "throughput", "internal", "reset", "slow",
               "reset-body", "unavailable", "error200", "kill", "kill-after", "conflict")
KILL_KINDS = ("kill", "kill-after")
DEFAULT_FAULT_KINDS = {"s3": ["slowdown"], "dynamodb": ["throttling", "throughput", "internal"],
                       "glue": ["throttling", "internal"]}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "trailers", "transfer-encoding", "upgrade", "expect",
              "proxy-connection"}
MAX_RECORDED = 200      # signature failures kept with details
MAX_LOG = 2000          # recent requests kept
# request headers kept in the log (never Authorization): x-amz-* less the token, and these
LOGGED_HEADERS = {"content-type", "content-length", "content-md5", "content-encoding",
                  "transfer-encoding", "expect", "user-agent", "range", "if-match",
                  "if-none-match"}


# --------------------------------------------------------------------------------------------
# SigV4 verification (pure functions: usable without the server)
# --------------------------------------------------------------------------------------------

class SigV4Failure(Exception):
    """A request that real AWS would refuse. code is the S3 error code; ddb_type the DynamoDB
    one."""

    def __init__(self, code, message, ddb_type="InvalidSignatureException", **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.ddb_type = ddb_type
        self.details = details


def parse_authorization(value):
    """'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...' -> dict."""
    value = value.strip()
    algorithm, _, rest = value.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise SigV4Failure("AuthorizationHeaderMalformed" if algorithm.startswith("AWS4")
                           else "InvalidArgument",
                           f"unsupported Authorization algorithm {algorithm!r}",
                           "IncompleteSignatureException")
    parts = {}
    for comp in rest.split(","):
        comp = comp.strip()
        if not comp:
            continue
        k, eq, v = comp.partition("=")
        if not eq:
            raise SigV4Failure("AuthorizationHeaderMalformed",
                               f"malformed Authorization component {comp!r}",
                               "IncompleteSignatureException")
        if k in parts:
            raise SigV4Failure("AuthorizationHeaderMalformed",
                               f"duplicate Authorization component {k!r}",
                               "IncompleteSignatureException")
        parts[k.strip()] = v.strip()
    for need in ("Credential", "SignedHeaders", "Signature"):
        if need not in parts:
            raise SigV4Failure("AuthorizationHeaderMalformed",
                               f"Authorization header lacks {need}",
                               "IncompleteSignatureException")
    cred = parts["Credential"].split("/")
    if len(cred) != 5:
        raise SigV4Failure("AuthorizationHeaderMalformed",
                           "Credential must be KEY/DATE/REGION/SERVICE/aws4_request",
                           "IncompleteSignatureException")
    return {
        "algorithm": algorithm,
        "access_key": cred[0],
        "scope_date": cred[1],
        "scope_region": cred[2],
        "scope_service": cred[3],
        "scope_terminator": cred[4],
        "signed_headers": parts["SignedHeaders"],
        "signature": parts["Signature"],
    }


def _header_text(value):
    # http.server decodes header bytes as latin-1; SigV4 signs the raw bytes, which clients
    # produce as UTF-8. Recover the UTF-8 text when the bytes are valid UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _http_headers(pairs):
    """botocore's header map of (name, value) pairs, duplicates kept."""
    hm = HTTPHeaders()
    for name, value in pairs:
        hm[name] = value
    return hm


class _SignedHeadersMixin:
    """botocore signer restricted to exactly the headers the client says it signed (botocore
    would otherwise sign every header it is given, minus its own blacklist)."""

    def __init__(self, credentials, service_name, region_name, signed_pairs):
        super().__init__(credentials, service_name, region_name)
        self._signed_pairs = signed_pairs

    def headers_to_sign(self, request):
        return _http_headers(self._signed_pairs)


class _S3Verifier(_SignedHeadersMixin, S3SigV4Auth):
    pass


class _DynamoDBVerifier(_SignedHeadersMixin, SigV4Auth):
    pass


def botocore_signature(service, region, access_key, secret_key, session_token, method, url,
                       signed_pairs, body, timestamp):
    """Signs (method, url, signed headers, body) with botocore as it would at `timestamp`.

    Returns (signature, canonical_request, string_to_sign). This is SigV4Auth.add_auth() minus
    the steps that would change the request: add_auth() stamps the current time and rewrites
    X-Amz-Date, X-Amz-Security-Token and (for S3) X-Amz-Content-SHA256, whereas a verifier must
    sign the request exactly as received, at its own time.
    """
    creds = Credentials(access_key, secret_key, session_token)
    cls = _S3Verifier if service == "s3" else _DynamoDBVerifier
    signer = cls(creds, service, region, signed_pairs)
    request = AWSRequest(method=method, url=url, headers=_http_headers(signed_pairs), data=body)
    request.context["timestamp"] = timestamp
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    signature = signer.signature(string_to_sign, request)
    return signature, canonical_request, string_to_sign


def verify_request(cfg, method, raw_path, header_pairs, body, now=None):
    """Raises SigV4Failure if the request would not authenticate against real AWS with cfg's
    credentials; returns the parsed Authorization on success.

    cfg needs: service, region, access_key, secret_key, session_token, max_skew.
    header_pairs: [(name, value)] as received (duplicates kept)."""
    now = time.time() if now is None else now
    lower = {}
    for name, value in header_pairs:
        lower.setdefault(name.lower(), []).append(_header_text(value))

    def one(name):
        vals = lower.get(name)
        return vals[0] if vals else None

    auth_value = one("authorization")
    query = urllib.parse.urlsplit(raw_path).query
    if auth_value is None:
        if "X-Amz-Algorithm=" in query or "X-Amz-Signature=" in query:
            raise SigV4Failure("AccessDenied", "presigned (query-string) SigV4 requests are not "
                               "verified by this proxy", "MissingAuthenticationTokenException")
        raise SigV4Failure("AccessDenied", "Request is missing an Authorization header",
                           "MissingAuthenticationTokenException")
    auth = parse_authorization(auth_value)

    if auth["access_key"] != cfg.access_key:
        raise SigV4Failure("InvalidAccessKeyId",
                           "The AWS Access Key Id you provided does not exist in our records.",
                           "UnrecognizedClientException", access_key=auth["access_key"])

    amz_date = one("x-amz-date")
    if amz_date is None:
        raise SigV4Failure("AccessDenied", "AWS authentication requires a valid X-Amz-Date",
                           "IncompleteSignatureException")
    try:
        req_time = calendar.timegm(time.strptime(amz_date, SIGV4_TIMESTAMP))
    except ValueError:
        raise SigV4Failure("AccessDenied", f"X-Amz-Date {amz_date!r} is not YYYYMMDDTHHMMSSZ",
                           "IncompleteSignatureException")
    skew = req_time - now
    if abs(skew) > cfg.max_skew:
        raise SigV4Failure("RequestTimeTooSkewed",
                           "The difference between the request time and the current time is "
                           f"too large ({skew:+.0f} s).", "InvalidSignatureException",
                           request_time=amz_date)

    expect_scope = (amz_date[:8], cfg.region, cfg.service, "aws4_request")
    got_scope = (auth["scope_date"], auth["scope_region"], auth["scope_service"],
                 auth["scope_terminator"])
    if got_scope != expect_scope:
        raise SigV4Failure("AuthorizationHeaderMalformed",
                           f"credential scope {'/'.join(got_scope)} should be "
                           f"{'/'.join(expect_scope)}", "InvalidSignatureException")

    signed = auth["signed_headers"].split(";")
    if signed != sorted(signed) or any(h != h.lower() or not h for h in signed) or \
            len(set(signed)) != len(signed):
        raise SigV4Failure("AuthorizationHeaderMalformed",
                           f"SignedHeaders {auth['signed_headers']!r} must be lowercase, "
                           "sorted and unique", "InvalidSignatureException")
    must_sign = ["host", "x-amz-date"]
    if cfg.service == "s3":
        must_sign.append("x-amz-content-sha256")
    if cfg.session_token:
        must_sign.append("x-amz-security-token")
    for h in must_sign:
        if h not in signed:
            raise SigV4Failure("SignatureDoesNotMatch", f"'{h}' must be a signed header", "InvalidSignatureException",
                               signed_headers=auth["signed_headers"])
    for h in signed:
        if h not in lower:
            raise SigV4Failure("SignatureDoesNotMatch", f"signed header '{h}' is not in the "
                               "request", "InvalidSignatureException",
                               signed_headers=auth["signed_headers"])

    token = one("x-amz-security-token")
    if cfg.session_token:
        if token != cfg.session_token:
            raise SigV4Failure("InvalidToken", "The provided token is malformed or otherwise "
                               "invalid." if token else "X-Amz-Security-Token is missing",
                               "UnrecognizedClientException")
    elif token is not None:
        raise SigV4Failure("InvalidToken", "X-Amz-Security-Token sent but these credentials "
                           "have no session token", "UnrecognizedClientException")

    content_sha = one("x-amz-content-sha256")
    if cfg.service == "s3" and content_sha is None:
        raise SigV4Failure("InvalidRequest",
                           "Missing required header for this request: x-amz-content-sha256",
                           "InvalidSignatureException")
    if content_sha is not None and content_sha != "UNSIGNED-PAYLOAD":
        if content_sha.startswith("STREAMING-"):
            raise SigV4Failure("InvalidRequest", f"x-amz-content-sha256 {content_sha} (aws-chunked "
                               "bodies) is not supported by the proxy nor by s3rver, which would "
                               "store the chunk framing as object data",
                               "InvalidSignatureException")
        actual = hashlib.sha256(body).hexdigest()
        if content_sha.lower() != actual:
            raise SigV4Failure("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
                               "header does not match what was computed.",
                               "InvalidSignatureException", client_sha256=content_sha,
                               computed_sha256=actual)

    host = one("host") or "localhost"
    url = "http://" + host + raw_path
    signed_pairs = [(name.lower(), _header_text(value)) for name, value in header_pairs
                    if name.lower() in signed]
    expected, creq, sts = botocore_signature(
        cfg.service, cfg.region, cfg.access_key, cfg.secret_key, cfg.session_token, method, url,
        signed_pairs, body, amz_date)
    if not hmac.compare_digest(expected, auth["signature"].lower()):
        raise SigV4Failure("SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your key and signing method.",
                           "InvalidSignatureException", canonical_request=creq,
                           string_to_sign=sts, signed_headers=auth["signed_headers"],
                           provided_signature=auth["signature"])
    return auth


# --------------------------------------------------------------------------------------------
# Proxy configuration and state
# --------------------------------------------------------------------------------------------

class ProxyConfig:
    def __init__(self, service, upstream, access_key, secret_key, session_token=None,
                 region="us-east-1", verify=True, fault_every=0, fault_rate=0.0, seed=0,
                 fault_kinds=None, slow_seconds=1.5, max_skew=900, verbose=False,
                 latency_ms=None, conditions=True, intercept=None, observe=None,
                 latency_includes_upstream=False):
        if service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}")
        self.service = service
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"upstream must be http://HOST:PORT, not {upstream!r}")
        self.upstream = upstream
        self.upstream_host = u.hostname
        self.upstream_port = u.port or 80
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token or None
        self.region = region
        self.verify = verify
        self.max_skew = max_skew
        self.verbose = verbose
        self.slow_seconds = slow_seconds
        self.fault_every = 0
        self.fault_rate = 0.0
        self.seed = seed
        self.fault_kinds = list(DEFAULT_FAULT_KINDS[service])
        self.fault_match = None       # compiled regex on "METHOD /path?query": always fault
        self.fault_match_kind = None
        self.rules = []               # FaultRule, first match wins (before everything else)
        self.latency_ms = {}          # HTTP method (or "*") -> milliseconds added
        # False: the latency is added before the upstream's work (the client waits for both).
        # True: the request is forwarded at once and its answer held until the latency has
        # passed, so the upstream's own time is inside it, as S3's work is inside S3's latency.
        self.latency_includes_upstream = bool(latency_includes_upstream)
        self.conditions = bool(conditions)
        self.set_latency(latency_ms or {})
        # In-process use only: intercept(operation, target, body) is called for each verified
        # request before it is forwarded; it returns None (forward) or (status, headers, body).
        self.intercept = intercept
        # In-process use only: observe(operation, target, body) sees every verified request,
        # faulted ones included, before anything else happens to it.
        self.observe = observe
        self.set_faults(fault_every=fault_every, fault_rate=fault_rate, seed=seed,
                        fault_kinds=fault_kinds)

    def set_faults(self, fault_every=None, fault_rate=None, seed=None, fault_kinds=None,
                   slow_seconds=None, fault_match=None, fault_match_kind=None, rules=None):
        if rules is not None:
            self.rules = [FaultRule(r) for r in rules]  # [] clears
        if fault_match is not None:
            # "" clears; otherwise every request whose "METHOD /path?query" matches faults.
            self.fault_match = re.compile(fault_match) if fault_match else None
            kind = fault_match_kind or DEFAULT_FAULT_KINDS[self.service][0]
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}")
            self.fault_match_kind = kind
        if fault_every is not None:
            if int(fault_every) < 0:
                raise ValueError("fault_every must be >= 0")
            self.fault_every = int(fault_every)
        if fault_rate is not None:
            if not 0.0 <= float(fault_rate) <= 1.0:
                raise ValueError("fault_rate must be in [0, 1]")
            self.fault_rate = float(fault_rate)
        if seed is not None:
            self.seed = seed
        if fault_kinds is not None:
            if isinstance(fault_kinds, str):
                fault_kinds = [k for k in fault_kinds.split(",") if k]
            kinds = list(fault_kinds) or list(DEFAULT_FAULT_KINDS[self.service])
            for k in kinds:
                if k not in FAULT_KINDS:
                    raise ValueError(f"unknown fault kind {k!r} (known: {', '.join(FAULT_KINDS)})")
            self.fault_kinds = kinds
        if slow_seconds is not None:
            self.slow_seconds = float(slow_seconds)

    def set_latency(self, latency_ms):
        """latency_ms: {"HEAD": 15, "PUT": 40, "*": 0} (or "HEAD=15,PUT=40"); {} clears."""
        if isinstance(latency_ms, str):
            latency_ms = dict(p.split("=", 1) for p in latency_ms.split(",") if p)
        out = {}
        for method, ms in latency_ms.items():
            ms = float(ms)
            if ms < 0:
                raise ValueError("latency must be >= 0 ms")
            out[method.upper()] = ms
        self.latency_ms = out

    def latency_for(self, method):
        """Seconds a request of method waits."""
        return self.latency_ms.get(method, self.latency_ms.get("*", 0.0)) / 1000.0

    def describe(self):
        return {"service": self.service, "upstream": self.upstream, "region": self.region,
                "access_key": self.access_key, "session_token": bool(self.session_token),
                "verify": self.verify, "fault_every": self.fault_every,
                "fault_rate": self.fault_rate, "seed": self.seed,
                "fault_kinds": list(self.fault_kinds), "slow_seconds": self.slow_seconds,
                "fault_match": self.fault_match.pattern if self.fault_match else None,
                "fault_match_kind": self.fault_match_kind,
                "rules": [r.describe() for r in self.rules],
                "latency_ms": dict(self.latency_ms), "conditions": self.conditions,
                "latency_includes_upstream": self.latency_includes_upstream,
                "max_skew": self.max_skew, "botocore": botocore.__version__}


class FaultRule:
    """Faults the first `times` attempts of each distinct request matching `match` (times None:
    every attempt). Counters live here; the proxy state's lock guards them."""

    def __init__(self, spec):
        if not isinstance(spec, dict) or not spec.get("match") or not spec.get("kind"):
            raise ValueError("a rule needs match (a regex) and kind")
        self.name = str(spec.get("name") or spec["match"])
        self.pattern = re.compile(spec["match"])
        self.kind = spec["kind"]
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        times = spec.get("times", 1 if self.kind in KILL_KINDS else None)
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ValueError("times must be a count >= 0 or null (every attempt)")
        skip = spec.get("skip", 0)
        if not isinstance(skip, int) or skip < 0:
            raise ValueError("skip must be a count >= 0")
        self.times = times
        self.skip = skip
        self.attempts = {}  # request identity -> attempts seen
        self.faults = 0
        self.passed = 0
        self.matched = 0   # crash rules: matching requests, retries included
        self.killed = []   # crash rules: the pids killed
        self.kill_errors = []

    def decide(self, identity):
        """Counts an attempt of a matching request; returns True when it must fault."""
        n = self.attempts.get(identity, 0) + 1
        self.attempts[identity] = n
        if self.kind in KILL_KINDS:
            self.matched += 1
            if self.matched > self.skip and (self.times is None or self.faults < self.times):
                self.faults += 1
                return True
            self.passed += 1
            return False
        if self.times is None or n <= self.times:
            self.faults += 1
            return True
        self.passed += 1
        return False

    def describe(self):
        return {"name": self.name, "match": self.pattern.pattern, "kind": self.kind,
                "times": self.times, "requests": len(self.attempts), "faults": self.faults,
                "passed": self.passed,
                "max_attempts": max(self.attempts.values(), default=0),
                "min_attempts": min(self.attempts.values(), default=0),
                "skip": self.skip, "matched": self.matched, "killed": list(self.killed),
                "kill_errors": list(self.kill_errors)}


class ProxyState:
    def __init__(self, cfg):
        self.cfg = cfg
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            for rule in self.cfg.rules:
                rule.attempts, rule.faults, rule.passed = {}, 0, 0
            self.rng = random.Random(self.cfg.seed)
            self.requests = 0
            self.verified = 0
            self.forwarded = 0
            self.faults = 0
            self.faults_by_kind = {}
            self.signature_failures = 0
            self.failures = []
            self.upstream_errors = 0
            self.upstream_error_details = []
            self.precondition_failed = 0
            self.by_operation = {}
            self.by_status = {}
            self.upstream_ms = {}  # operation -> the last MAX_LOG forwards' upstream times
            self.log = []
            self.firing = {}  # request number -> the crash rule firing on it

    def record_kill(self, n, pid, error):
        with self.lock:
            rule = self.firing.pop(n, None)
            if rule is not None:
                if pid is not None:
                    rule.killed.append(pid)
                if error:
                    rule.kill_errors.append(error)

    def next_request(self, op, target="", identity=None):
        """Counts a request; returns (request number, fault kind or None). identity tells one
        request from another for the rules (None: the target)."""
        with self.lock:
            self.requests += 1
            n = self.requests
            self.by_operation[op] = self.by_operation.get(op, 0) + 1
            for rule in self.cfg.rules:
                if rule.pattern.search(target):
                    fires = rule.decide(identity or target)
                    if fires and rule.kind in KILL_KINDS:
                        self.firing[n] = rule
                    return n, (rule.kind if fires else None)
            if self.cfg.fault_match is not None and self.cfg.fault_match.search(target):
                return n, self.cfg.fault_match_kind
            fault = False
            if self.cfg.fault_every and n % self.cfg.fault_every == 0:
                fault = True
            if self.cfg.fault_rate and self.rng.random() < self.cfg.fault_rate:
                fault = True
            kind = None
            if fault and self.cfg.fault_kinds:
                kind = self.cfg.fault_kinds[self.faults % len(self.cfg.fault_kinds)]
            return n, kind

    def record_fault(self, kind):
        with self.lock:
            self.faults += 1
            self.faults_by_kind[kind] = self.faults_by_kind.get(kind, 0) + 1

    def record_failure(self, entry):
        with self.lock:
            self.signature_failures += 1
            if len(self.failures) < MAX_RECORDED:
                self.failures.append(entry)

    def record_upstream_error(self, entry):
        with self.lock:
            self.upstream_errors += 1
            if len(self.upstream_error_details) < MAX_RECORDED:
                self.upstream_error_details.append(entry)

    def record_done(self, n, method, path, op, status, fault, headers=None):
        with self.lock:
            key = str(status)
            self.by_status[key] = self.by_status.get(key, 0) + 1
            entry = {"n": n, "method": method, "path": path, "op": op, "status": status,
                     "fault": fault}
            if headers is not None:
                entry["headers"] = headers
            self.log.append(entry)
            if len(self.log) > MAX_LOG:
                del self.log[: len(self.log) - MAX_LOG]

    def record_upstream_time(self, op, ms):
        with self.lock:
            times = self.upstream_ms.setdefault(op, [])
            times.append(ms)
            if len(times) > MAX_LOG:
                del times[: len(times) - MAX_LOG]

    def bump(self, field):
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)

    def snapshot(self):
        with self.lock:
            return {
                "config": self.cfg.describe(),
                "requests": self.requests,
                "verified": self.verified,
                "forwarded": self.forwarded,
                "faults": self.faults,
                "faults_by_kind": dict(self.faults_by_kind),
                "signature_failures": self.signature_failures,
                "failures": list(self.failures),
                "upstream_errors": self.upstream_errors,
                "upstream_error_details": list(self.upstream_error_details),
                "precondition_failed": self.precondition_failed,
                "by_operation": dict(self.by_operation),
                "by_status": dict(self.by_status),
                "upstream_ms": {op: _summary(ms) for op, ms in self.upstream_ms.items()},
                "rules": [r.describe() for r in self.cfg.rules],
                "log": list(self.log),
            }


def _summary(values):
    """count, median, min and max of a non-empty list of numbers (milliseconds, rounded)."""
    return {"count": len(values), "median": round(statistics.median(values), 3),
            "min": round(min(values), 3), "max": round(max(values), 3)}


# --------------------------------------------------------------------------------------------
# Error bodies in each service's shape
# --------------------------------------------------------------------------------------------

def _request_id():
    return uuid.uuid4().hex[:16].upper()


def s3_error(status, code, message, **extra):
    rid = _request_id()
    fields = "".join(f"<{k}>{xml_escape(str(v))}</{k}>" for k, v in extra.items()
                     if v is not None)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{xml_escape(message)}</Message>{fields}"
            f"<RequestId>{rid}</RequestId><HostId>awsproxy</HostId></Error>").encode()
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", rid),
               ("x-amz-id-2", "awsproxy")]
    return status, headers, body


def ddb_error(status, type_, message):
    body = json.dumps({"__type": type_, "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"),
               ("x-amzn-RequestId", _request_id() + _request_id()),
               ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF))]
    return status, headers, body


def glue_error(status, type_, message):
    body = json.dumps({"__type": type_, "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"),
               ("x-amzn-RequestId", _request_id() + _request_id())]
    return status, headers, body


def fault_response(service, kind):
    if service == "glue":
        if kind == "conflict":
            return glue_error(400, "ConcurrentModificationException",
                              "Update table failed due to concurrent modifications.")
        if kind in ("internal", "unavailable"):
            return glue_error(500, "InternalServiceException", "Internal service error")
        return glue_error(400, "ThrottlingException", "Rate exceeded")
    if service == "s3":
        if kind == "internal":
            return s3_error(500, "InternalError",
                            "We encountered an internal error. Please try again.")
        if kind == "unavailable":
            return s3_error(503, "ServiceUnavailable", "Service is unable to handle request.")
        if kind == "error200":
            # CompleteMultipartUpload may fail after its 200 status line: the error is the body.
            return s3_error(200, "InternalError",
                            "We encountered an internal error. Please try again.")
        return s3_error(503, "SlowDown", "Please reduce your request rate.")
    if kind == "unavailable":
        return ddb_error(503, DDB_ERR + "ServiceUnavailable", "Service unavailable")
    if kind == "internal":
        return ddb_error(500, DDB_ERR + "InternalServerError", "Internal server error")
    if kind == "throughput":
        return ddb_error(400, DDB_ERR + "ProvisionedThroughputExceededException",
                         "The level of configured provisioned throughput for the table was "
                         "exceeded. Consider increasing your provisioning level with the "
                         "UpdateTable API.")
    return ddb_error(400, DDB_ERR + "ThrottlingException", "Rate exceeded")


def auth_failure_response(service, failure):
    if service == "s3":
        extra = {}
        if failure.code == "SignatureDoesNotMatch":
            extra["StringToSign"] = failure.details.get("string_to_sign")
            extra["CanonicalRequest"] = failure.details.get("canonical_request")
        return s3_error(403, failure.code, failure.message, **extra)
    # The real DynamoDB answers authentication errors with HTTP 400.
    return ddb_error(400, CORAL_ERR + failure.ddb_type, failure.message)


# --------------------------------------------------------------------------------------------
# Crash rules: who sent this request
# --------------------------------------------------------------------------------------------

def _socket_inode(client_port, server_port):
    """The inode of the client's end of a loopback TCP connection, from /proc/net/tcp{,6}."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, remote, inode = fields[1], fields[2], fields[9]
                    if int(local.rsplit(":", 1)[1], 16) == client_port and \
                            int(remote.rsplit(":", 1)[1], 16) == server_port and inode != "0":
                        return inode
        except OSError:
            continue
    return None


def socket_owner(client_port, server_port):
    """The pid holding the client end of the connection client_port -> server_port, or None."""
    inode = _socket_inode(client_port, server_port)
    if inode is None:
        return None
    want = f"socket:[{inode}]"
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        fd_dir = f"/proc/{entry}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(f"{fd_dir}/{fd}") == want:
                        return int(entry)
                except OSError:
                    continue
        except OSError:
            continue
    return None


def kill_sender(client_address, server_port):
    """SIGKILLs the process that sent a request on this connection and waits until it is gone.
    Returns (pid, error text or None)."""
    pid = socket_owner(client_address[1], server_port)
    if pid is None:
        return None, f"no process holds the client socket {client_address}"
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError as e:
        return pid, f"kill {pid}: {e}"
    # A killed process's sockets close when it is reaped; its parent (the local invoker) reaps
    # it. Wait until it is no longer running, so nothing it does races the reset below.
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    break
        except OSError:
            break
        time.sleep(0.005)
    return pid, None


# --------------------------------------------------------------------------------------------
# The HTTP proxy
# --------------------------------------------------------------------------------------------

def _hop_by_hop(header_pairs):
    """The lower-case names not to relay: HOP_BY_HOP plus those the Connection header lists."""
    drop = set(HOP_BY_HOP)
    for name, value in header_pairs:
        if name.lower() == "connection":
            drop.update(t.strip().lower() for t in value.split(",") if t.strip())
    return drop


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "awsproxy"
    timeout = 300           # idle keep-alive connections

    # one upstream connection per client connection (kept alive)
    _upstream = None

    def log_message(self, fmt, *args):
        if self.server.cfg.verbose:
            sys.stderr.write("awsproxy[%s] %s\n" % (self.server.cfg.service, fmt % args))

    def do_GET(self):
        self._handle()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_GET

    def finish(self):
        try:
            super().finish()
        finally:
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None

    # -- request body ---------------------------------------------------------------------

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self._read_exactly(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length:
            return self._read_exactly(int(length))
        return b""

    def _read_exactly(self, n):
        """n bytes, or OSError when the client went away first (a killed sender): a cut body is
        a dropped connection, not a signature to check (CI once counted one as a mismatch)."""
        data = self.rfile.read(n)
        if len(data) < n:
            raise OSError(f"the client went away after {len(data)} of {n} body bytes")
        return data

    # -- responses ------------------------------------------------------------------------

    def _send_simple(self, status, headers, body):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _reset_connection(self):
        # SO_LINGER 0: close() sends a RST instead of a FIN. The server's shutdown_request()
        # must then skip its shutdown(SHUT_WR), which would send a FIN first.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.server.mark_reset(self.connection)
        self.close_connection = True

    def _control(self, body):
        st = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        if path == "/__proxy/stats" and self.command == "GET":
            payload = st.snapshot()
        elif path == "/__proxy/reset" and self.command == "POST":
            st.reset()
            payload = {"ok": True}
        elif path == "/__proxy/config" and self.command == "POST":
            try:
                req = json.loads(body or b"{}")
                with st.lock:
                    if "verify" in req:
                        st.cfg.verify = bool(req["verify"])
                    if "latency_ms" in req:
                        st.cfg.set_latency(req["latency_ms"] or {})
                    if "conditions" in req:
                        st.cfg.conditions = bool(req["conditions"])
                    if "latency_includes_upstream" in req:
                        st.cfg.latency_includes_upstream = bool(req["latency_includes_upstream"])
                    st.cfg.set_faults(fault_every=req.get("fault_every"),
                                      fault_rate=req.get("fault_rate"), seed=req.get("seed"),
                                      fault_kinds=req.get("fault_kinds"),
                                      slow_seconds=req.get("slow_seconds"),
                                      fault_match=req.get("fault_match"),
                                      fault_match_kind=req.get("fault_match_kind"),
                                      rules=req.get("rules"))
                    if "seed" in req:
                        st.rng = random.Random(st.cfg.seed)
                payload = st.cfg.describe()
            except (ValueError, TypeError) as e:
                self._send_simple(400, [("Content-Type", "application/json")],
                                  json.dumps({"error": str(e)}).encode())
                return
        else:
            self._send_simple(404, [("Content-Type", "application/json")],
                              b'{"error":"unknown proxy control endpoint"}')
            return
        self._send_simple(200, [("Content-Type", "application/json")],
                          json.dumps(payload, indent=1).encode())

    # -- main path ------------------------------------------------------------------------

    def _operation(self):
        if self.server.cfg.service in JSON_SERVICES:
            target = self.headers.get("X-Amz-Target") or ""
            return target.rpartition(".")[2] or self.command
        path, _, query = self.path.partition("?")
        params = [p.partition("=")[0] for p in query.split("&") if p]
        segs = [s for s in path.split("/") if s]
        what = "service" if not segs else ("bucket" if len(segs) == 1 else "object")
        sub = next((p for p in params if p in ("uploads", "uploadId", "list-type", "delete",
                                                 "tagging", "acl", "location")), "")
        return f"{self.command} {what}{'?' + sub if sub else ''}"

    def _target(self, op, body):
        """What fault rules match, and what tells one request from another: S3 by method, path,
        query and x-amz-content-sha256 (the body's hash, known before the body arrives);
        DynamoDB by operation and table, and by the body itself."""
        if self.server.cfg.service == "glue":
            try:
                doc = json.loads(body or b"{}")
                table = (doc.get("TableInput") or {}).get("Name") or doc.get("TableName") or \
                    doc.get("Name") or (doc.get("DatabaseInput") or {}).get("Name", "")
                where = f"{doc.get('DatabaseName', '')}.{table}" if "DatabaseName" in doc \
                    else table
            except (ValueError, AttributeError):
                where = ""
            return f"{op} {where}", f"{op} {hashlib.sha256(body).hexdigest()}"
        if self.server.cfg.service == "dynamodb":
            try:
                table = json.loads(body or b"{}").get("TableName", "")
            except (ValueError, AttributeError):
                table = ""
            return f"{op} {table}", f"{op} {hashlib.sha256(body).hexdigest()}"
        target = f"{self.command} {urllib.parse.unquote(self.path)}"
        return target, f"{self.command} {self.path} {self.headers.get('x-amz-content-sha256')}"

    def _reset_mid_body(self, body_read):
        """Reads half the declared body (unless it was read already), then resets: the client
        is still sending, or waiting for an answer, when the connection dies."""
        length = 0 if body_read else int(self.headers.get("Content-Length") or 0)
        try:
            left = length // 2
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass
        self._reset_connection()

    def _handle(self):
        cfg, st = self.server.cfg, self.server.state
        # DynamoDB bodies are read first (a rule names the table, which only the body says);
        # S3 bodies wait until the fault is decided, so a reset can come mid-body.
        body = None
        if self.path.startswith("/__proxy/") or cfg.service in JSON_SERVICES:
            try:
                body = self._read_body()
            except (ValueError, OSError):
                self.close_connection = True
                return
        if self.path.startswith("/__proxy/"):
            self._control(body)
            return

        op = self._operation()
        target, identity = self._target(op, body)
        n, fault = st.next_request(op, target, identity)
        header_pairs = list(self.headers.items())
        logged = {k.lower(): v for k, v in header_pairs
                  if (k.lower().startswith("x-amz-") and k.lower() != "x-amz-security-token")
                  or k.lower() in LOGGED_HEADERS}

        def done(status, how=fault):
            # Recorded before the client can see the outcome (answer, reset or death): a test
            # that reads the stats once its client is done finds this request's entry.
            st.record_done(n, self.command, self.path, op, status, how, logged)

        if fault == "kill":
            st.record_fault(fault)
            done("killed")
            pid, error = kill_sender(self.client_address, self.server.port)
            st.record_kill(n, pid, error)
            self._reset_connection()
            return
        if fault == "reset-body":
            st.record_fault(fault)
            done("reset-body")
            self._reset_mid_body(body is not None)
            return
        if body is None:
            try:
                body = self._read_body()
            except (ValueError, OSError):
                self.close_connection = True
                return

        if cfg.verify:
            try:
                verify_request(cfg, self.command, self.path, header_pairs, body)
                st.bump("verified")
            except SigV4Failure as f:
                entry = {"n": n, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         "method": self.command, "path": self.path, "operation": op,
                         "code": f.code, "reason": f.message}
                entry.update({k: v for k, v in f.details.items() if v is not None})
                st.record_failure(entry)
                if cfg.verbose:
                    sys.stderr.write(f"awsproxy[{cfg.service}] signature failure: "
                                     f"{json.dumps(entry, indent=1)}\n")
                status, headers, rbody = auth_failure_response(cfg.service, f)
                done(status, None)
                self._send_simple(status, headers, rbody)
                return

        if cfg.observe is not None:
            cfg.observe(op, target, body)

        if fault == "kill-after":
            st.record_fault(fault)
            self._forward(op, header_pairs, body, lambda status: done(f"{status} killed"),
                          kill_n=n)
            return
        if fault is not None:
            st.record_fault(fault)
            if fault == "reset":
                done("reset")
                self._reset_connection()
                return
            if fault == "slow":
                time.sleep(cfg.slow_seconds)
            else:
                status, headers, rbody = fault_response(cfg.service, fault)
                done(status)
                self._send_simple(status, headers, rbody)
                return

        if cfg.intercept is not None:
            answer = cfg.intercept(op, target, body)
            if answer is not None:
                status, headers, rbody = answer
                done(status, "intercept")
                self._send_simple(status, headers, rbody)
                return

        wait_until = time.monotonic() + cfg.latency_for(self.command)
        if self._conditional_create():
            # S3 checks the condition and writes atomically: hold the key while doing both.
            # The check is part of S3's PutObject (its latency covers it); here it is a HeadObject
            # to s3rver, made while the request waits, so it does not add to that latency.
            with self.server.key_lock(self.path.partition("?")[0]):
                if self._exists_upstream(header_pairs):
                    _sleep_until(wait_until)
                    st.bump("precondition_failed")
                    status, headers, rbody = s3_error(
                        412, "PreconditionFailed",
                        "At least one of the pre-conditions you specified did not hold",
                        Condition="If-None-Match")
                    done(status)
                    self._send_simple(status, headers, rbody)
                else:
                    self._forward(op, header_pairs, body, done, latency_until=wait_until)
        else:
            self._forward(op, header_pairs, body, done, latency_until=wait_until)

    def _conditional_create(self):
        """A PutObject (not an UploadPart) that asks to create the key only if it is free."""
        path, _, query = self.path.partition("?")
        return (self.server.cfg.service == "s3" and self.server.cfg.conditions and
                self.command == "PUT" and "uploadId=" not in query and
                (self.headers.get("If-None-Match") or "").strip() == "*")

    def _exists_upstream(self, header_pairs):
        """HeadObject on the upstream for the request's key, with the request's own credentials
        (s3rver checks the key id and the date, not the signature)."""
        cfg = self.server.cfg
        keep = {"authorization", "x-amz-date", "x-amz-security-token", "host"}
        headers = {k: v for k, v in header_pairs if k.lower() in keep}
        headers["x-amz-content-sha256"] = hashlib.sha256(b"").hexdigest()
        conn = http.client.HTTPConnection(cfg.upstream_host, cfg.upstream_port, timeout=60)
        try:
            conn.request("HEAD", self.path.partition("?")[0], headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status not in (200, 404):
                raise OSError(f"HEAD {self.path} upstream: {resp.status}")
            return resp.status == 200
        finally:
            conn.close()

    def _connect_upstream(self):
        cfg = self.server.cfg
        self._upstream = http.client.HTTPConnection(cfg.upstream_host, cfg.upstream_port,
                                                    timeout=120)
        return self._upstream

    def _forward(self, op, header_pairs, body, done, kill_n=None, latency_until=None):
        """Forwards the request and relays the answer; with kill_n (a kill-after rule firing on
        request kill_n), reads the answer, kills the sender and resets instead of relaying.
        done(status) is called with the answer's status before the client can see it.
        A relayed answer records, under op in the stats' upstream_ms, the time from the
        forward's start to the upstream's answer (status and headers) arriving: the stand-in's
        own time. It is taken before the relay starts, so the client, which gets the answer
        only after that, has always waited at least the latency plus it (a stamp taken after
        the relay could land after the client had read its answer). latency_until (a
        time.monotonic() value) is when the request's latency has passed: the forward waits
        for it, or, with latency_includes_upstream, the answer is held until then before it
        is relayed."""
        cfg, st = self.server.cfg, self.server.state
        hold_until = latency_until if cfg.latency_includes_upstream else None
        if latency_until is not None and hold_until is None:
            _sleep_until(latency_until)
        t0 = time.monotonic()
        drop = _hop_by_hop(header_pairs)
        out_headers = [(k, v) for k, v in header_pairs
                       if k.lower() not in drop and k.lower() != "content-length"]
        if body or self.headers.get("Content-Length") is not None or \
                self.command in ("PUT", "POST"):
            out_headers.append(("Content-Length", str(len(body))))

        resp = None
        for attempt in (1, 2):
            reused = self._upstream is not None
            conn = self._upstream or self._connect_upstream()
            try:
                conn.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
                for k, v in out_headers:
                    conn.putheader(k, v)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                break
            except (http.client.HTTPException, OSError) as e:
                conn.close()
                self._upstream = None
                if reused and attempt == 1:
                    continue  # the upstream closed an idle keep-alive connection: retry once
                st.record_upstream_error({"method": self.command, "path": self.path,
                                          "error": repr(e)})
                if cfg.service == "s3":
                    status, headers, rbody = s3_error(502, "BadGateway",
                                                      f"awsproxy: upstream failed: {e!r}")
                else:
                    status, headers, rbody = ddb_error(502, CORAL_ERR + "BadGateway",
                                                       f"awsproxy: upstream failed: {e!r}")
                done(status)
                self._send_simple(status, headers, rbody)
                return
        st.bump("forwarded")
        if kill_n is not None:
            resp.read()
            if resp.will_close and self._upstream is not None:
                self._upstream.close()
                self._upstream = None
            done(resp.status)
            pid, error = kill_sender(self.client_address, self.server.port)
            st.record_kill(kill_n, pid, error)
            self._reset_connection()
            return
        st.record_upstream_time(op, (time.monotonic() - t0) * 1000)
        if hold_until is not None:
            _sleep_until(hold_until)
        done(resp.status)
        try:
            self._relay(resp)
        finally:
            if resp.will_close and self._upstream is not None:
                self._upstream.close()
                self._upstream = None

    def _relay(self, resp):
        self.send_response_only(resp.status, resp.reason)
        drop = _hop_by_hop(resp.getheaders())
        length = resp.getheader("Content-Length")
        te = (resp.getheader("Transfer-Encoding") or "").lower()
        for name, value in resp.getheaders():
            if name.lower() in drop:
                continue
            if name.lower() == "content-length" and "chunked" in te:
                continue
            self.send_header(name, value)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or \
            100 <= resp.status < 200
        chunked = not no_body and (length is None or "chunked" in te)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if no_body:
            resp.read()
            self.wfile.flush()
            return
        while True:
            data = resp.read(65536)
            if not data:
                break
            if chunked:
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self.wfile.write(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _sleep_until(deadline):
    """Sleeps until time.monotonic() reaches deadline (at once if it has)."""
    left = deadline - time.monotonic()
    if left > 0:
        time.sleep(left)


class AwsProxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The proxy server. AwsProxy(cfg, ("127.0.0.1", 0)).start() serves in a thread."""
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, cfg, listen=("127.0.0.1", 0)):
        self.cfg = cfg
        self.state = ProxyState(cfg)
        self._thread = None
        self._reset_lock = threading.Lock()
        self._reset_socks = set()
        self._key_locks = {}
        super().__init__(listen, _Handler)

    def key_lock(self, key):
        """One lock per object path (kept: a test writes few keys)."""
        with self._reset_lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def mark_reset(self, sock):
        with self._reset_lock:
            self._reset_socks.add(id(sock))

    def shutdown_request(self, request):
        with self._reset_lock:
            reset = id(request) in self._reset_socks
            self._reset_socks.discard(id(request))
        if reset:
            self.close_request(request)
        else:
            super().shutdown_request(request)

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return f"http://{self.server_address[0]}:{self.port}"

    def stats(self):
        return self.state.snapshot()

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, name="awsproxy",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


def _parse_listen(text):
    host, _, port = text.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 = any free)")
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of s3rver or dynalite")
    ap.add_argument("--service", required=True, choices=SERVICES)
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", help="default: $AWSPROXY_SECRET_KEY or "
                    "$AWS_SECRET_ACCESS_KEY")
    ap.add_argument("--session-token", help="default: $AWSPROXY_SESSION_TOKEN")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--no-verify", action="store_true", help="forward without checking "
                    "signatures")
    ap.add_argument("--fault-every", type=int, default=0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fault-kinds", default="",
                    help=f"comma list of {','.join(FAULT_KINDS)} (default per service)")
    ap.add_argument("--slow-seconds", type=float, default=1.5)
    ap.add_argument("--max-skew", type=int, default=900)
    ap.add_argument("--latency", default="",
                    help="added latency by method, e.g. HEAD=15,GET=15,PUT=40,POST=40,*=0 (ms)")
    ap.add_argument("--latency-includes-upstream", action="store_true",
                    help="forward at once and hold the answer until the latency has passed (the "
                    "upstream's own time inside the latency) instead of adding it before")
    ap.add_argument("--ignore-conditions", action="store_true",
                    help="forward If-None-Match: * PutObjects unchecked (as s3rver does)")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--stdin-watchdog", action="store_true",
                    help="exit when stdin reaches EOF (the parent went away)")
    args = ap.parse_args(argv)

    secret = args.secret_key or os.environ.get("AWSPROXY_SECRET_KEY") or \
        os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not secret and not args.no_verify:
        ap.error("--secret-key (or $AWSPROXY_SECRET_KEY) is required unless --no-verify")
    token = args.session_token or os.environ.get("AWSPROXY_SESSION_TOKEN") or None
    cfg = ProxyConfig(args.service, args.upstream, args.access_key, secret or "", token,
                      region=args.region, verify=not args.no_verify,
                      fault_every=args.fault_every, fault_rate=args.fault_rate, seed=args.seed,
                      fault_kinds=args.fault_kinds or None, slow_seconds=args.slow_seconds,
                      max_skew=args.max_skew, verbose=args.verbose,
                      latency_ms=args.latency or None, conditions=not args.ignore_conditions,
                      latency_includes_upstream=args.latency_includes_upstream)
    server = AwsProxy(cfg, _parse_listen(args.listen))

    stopping = threading.Event()

    def stop(*_):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.stdin_watchdog:
        def watch():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except OSError:
                pass
            stop()
        threading.Thread(target=watch, daemon=True).start()

    sys.stdout.write(f"ready {server.port}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
