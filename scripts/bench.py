#!/usr/bin/env python3
"""scripts/bench.py - the benchmark figures the README quotes (run through scripts/bench.sh).

Every figure comes from scripts/local-invoke's REPORT data (--report-json): Init Duration is
exec to the first /next, Duration is event handed out to answer posted, Max Memory Used is the
bootstrap's VmHWM. Nothing here is asserted: it measures and prints a Markdown table.
The CPU figures (--cpu, also part of a full run) count instructions with callgrind, which is
stable on a shared machine where times are not: a warm 1,000-record batch of the bootstrap
against zlib level 6 alone on the same uncompressed output (codec_bench), and the time and size
of each codec level on that output.
Standard library only (plus the project's test helpers for data and the local stack)."""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402


def invoke(bootstrap, events, env, timeout=300, extra=()):
    """The --report-json rows of one local-invoke run (exits if any invocation failed)."""
    r = itlib.invoke(events, env=env, timeout=timeout, extra=["--quiet"] + list(extra),
                     wall_timeout=None, bootstrap_path=bootstrap)
    if r.code != 0:
        sys.stderr.write(r.stderr[-3000:])
        raise SystemExit(f"bench: invocation failed ({r.code})")
    return r.reports


def write_batch(tmp, name, n, seed, first_seq):
    recs = ddbgen.make_records(n, seed=seed, first_seq=first_seq)
    return ddbgen.write_event(os.path.join(tmp, name), recs)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def callgrind_total(path):
    """The instruction count (Ir) of one callgrind output file."""
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:summary|totals): (\d+)", line)
            if m:
                return int(m.group(1))
    raise SystemExit(f"bench: no totals in {path}")


def cpu_figures(tmp, bootstrap, codec_bench):
    """Callgrind instructions of a warm 1,000-record batch (the second of two in one process,
    from the end of the first handler call to the end of the second: /next, parsing, rows,
    rendering, compression, the writes) over those of zlib level 6 alone compressing the same
    uncompressed objects (codec_bench zlib6, each object its own gzip member). bootstrap must
    keep its symbols (build/static/bootstrap, not the stripped dist/ copy)."""
    rows = []
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
    b0 = write_batch(tmp, "cpu0.json", 1000, 100, 10 ** 20)
    b1 = write_batch(tmp, "cpu1.json", 1000, 101, 10 ** 20 + 10 ** 6)
    out = os.path.join(tmp, "cg.out")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
          "--dump-after=etl_handler_invoke", "--dump-instr=no", "--compress-strings=no"]
    invoke(None, [b0, b1], dict(env, ETL_OUTPUT=f"file://{tmp}/cpu-lake-gz/"),
           extra=["--"] + vg + [bootstrap])
    dumps = sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
    if len(dumps) < 2:
        raise SystemExit("bench: callgrind gave no per-invocation dumps (is the bootstrap stripped?)")
    warm = callgrind_total(dumps[1])
    # The same batch's objects, uncompressed (a fresh process renders the same rows).
    plain = os.path.join(tmp, "cpu-lake-none")
    invoke(bootstrap, [b1], dict(env, ETL_OUTPUT=f"file://{plain}/", ETL_COMPRESSION="none"))
    files = sorted(glob.glob(os.path.join(plain, "**", "*.jsonl"), recursive=True))
    def codec_instructions(codec, level):
        cg = os.path.join(tmp, f"cg.{codec}{level}")
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}",
                            "--toggle-collect=compress_all", codec_bench, "gzip", codec,
                            str(level)] + files, capture_output=True, text=True, check=True)
        return callgrind_total(cg), json.loads(r.stdout)

    zlib6, ref = codec_instructions("zlib", 6)
    rows.append(("instructions of a warm 1,000-record batch (callgrind) / zlib level 6 alone on "
                 f"the same {ref['raw_bytes'] / 1e3:.0f} kB of output ({ref['files']} objects)",
                 f"{warm / 1e6:.1f} M / {zlib6 / 1e6:.1f} M = {warm / zlib6:.2f}x"))
    # Per level on those objects: instructions (callgrind), best time of several passes (wall
    # clock: noisy on a shared machine), and size, each against zlib level 6.
    r = subprocess.run([codec_bench, "levels"] + files, capture_output=True, text=True, check=True)
    levels = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    z6 = next(x for x in levels if x["codec"] == "zlib" and x["level"] == 6)
    for x in levels:
        if x["level"] > 9:
            continue
        ins, _ = codec_instructions(x["codec"], x["level"])
        rows.append((f"{x['codec']} level {x['level']}: instructions, time, size (vs zlib 6)",
                     f"{ins / 1e6:.1f} M ({ins / zlib6:.2f}x), {x['ms']:.2f} ms "
                     f"({x['ms'] / z6['ms']:.2f}x), {x['bytes']:,} B "
                     f"({100 * (x['bytes'] / z6['bytes'] - 1):+.1f}%)"))
    return rows


# "inside" first: it is the reading the README's latency targets are checked against (S3's own
# work is inside the latency S3's clients see); "added" counts the stand-in's time on top.
READINGS = {
    "inside": ("s3rver's own time inside the latency", True),
    "added": ("latency added before s3rver's own time", False),
}


def latency_bench(args, tmp):
    """Warm 1,000-record batches to s3rver behind awsproxy.py adding S3's typical in-region
    latency per request (threaded: concurrent requests wait concurrently, as on S3), and the
    same with no added latency: duration and requests per invocation, for one object (one
    table, one hour) and six (two tables over three hours). Also s3rver's own time per request
    (median, from the proxy's forward to s3rver's answer arriving).

    Two readings of "S3's latency", both measured by default (--latency-reading picks one):
    added, the proxy waits the latency and then forwards, so the client waits the latency plus
    s3rver's own time; inside (awsproxy.py --latency-includes-upstream), the proxy forwards at
    once and holds the answer until the latency has passed, so s3rver's time is inside it, as
    S3's own work is inside the latency S3's clients see."""
    s3_ms = {"HEAD": args.latency_head_get, "GET": args.latency_head_get,
             "PUT": args.latency_put_post, "POST": args.latency_put_post,
             "DELETE": args.latency_put_post}
    ddb_ms = {"*": args.latency_dynamodb}
    shapes = (("6 objects: 2 tables x 3 hours", {}),
              ("1 object: 1 table, 1 hour", {"tables": ("Orders",), "span_s": 3000}))
    readings = list(READINGS) if args.latency_reading == "both" else [args.latency_reading]
    # Each case: (label, latency on?, s3rver inside?); the case without latency comes last.
    cases = [(READINGS[r][0], True, READINGS[r][1]) for r in readings] + \
        [("no added latency", False, False)]
    results = []
    for label, kw in shapes:
        batches = []
        for i in range(args.latency_runs + 1):
            recs = ddbgen.make_records(1000, seed=500 + i, first_seq=5 * 10 ** 20 + i * 10 ** 6,
                                       **kw)
            batches.append(ddbgen.write_event(os.path.join(tmp, f"lat{len(kw)}-{i}.json"), recs))
        row = []
        for _, latency, inside in cases:
            lat = {"s3": s3_ms, "dynamodb": ddb_ms} if latency else {}
            with LocalStack(proxy=True, verify_signatures=False, buckets=("bench",),
                            latency_ms=lat, latency_includes_upstream=inside) as st:
                env = dict(st.env, ETL_OUTPUT="s3://bench/lat/", **args.extra_env)
                rows = invoke(args.bootstrap, batches, env)
                stats = st.proxy_stats()
            warm = [r["duration_ms"] for r in rows[1:]]
            per_inv = stats["requests"] / len(rows)
            ops = stats["s3"]["by_operation"]
            counts = ", ".join(f"{v / len(rows):g} {k}" for k, v in sorted(ops.items()))
            own = ", ".join(f"{x['median']:.1f} ms per {k}" for k, x in
                            sorted(stats["s3"]["upstream_ms"].items())) or "none forwarded"
            row.append(f"{med(warm):.1f} ms, {per_inv:g} request{'s' if per_inv != 1 else ''} "
                       f"({counts}; s3rver's own time {own})")
        results.append((f"warm 1,000-record batch to s3rver, {label}, median of "
                        f"{args.latency_runs}; S3-like latency: {args.latency_head_get:g} ms "
                        f"HEAD/GET, {args.latency_put_post:g} ms PUT/POST: "
                        + " / ".join(c[0] for c in cases), " / ".join(row)))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", default=os.path.join(ROOT, "dist", "bootstrap"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cpu", action="store_true", help="only the callgrind and codec figures")
    ap.add_argument("--symbols-bootstrap", default=os.path.join(ROOT, "build", "static", "bootstrap"),
                    help="the unstripped bootstrap callgrind runs (default: build/static/bootstrap)")
    ap.add_argument("--codec-bench", default=os.path.join(ROOT, "build", "tests", "tools", "codec_bench"))
    ap.add_argument("--only", choices=("latency",), help="run one section only")
    ap.add_argument("--latency-runs", type=int, default=10, help="warm batches per latency case")
    ap.add_argument("--latency-reading", choices=("both", "added", "inside"), default="both",
                    help="added: the latency before s3rver's own time (the client waits both); "
                    "inside: s3rver's time inside the latency (forward at once, hold the answer), "
                    "as S3's own work is inside S3's; both (default)")
    ap.add_argument("--latency-head-get", type=float, default=15.0, help="ms added to HEAD, GET")
    ap.add_argument("--latency-put-post", type=float, default=40.0,
                    help="ms added to PUT, POST, DELETE")
    ap.add_argument("--latency-dynamodb", type=float, default=20.0,
                    help="ms added to every DynamoDB request")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for the latency runs (e.g. ETL_UPLOAD_CONCURRENCY=1)")
    ap.add_argument("--parquet-only", action="store_true",
                    help="only the Parquet figures (warm time and sizes against JSON Lines + gzip)")
    args = ap.parse_args()
    args.extra_env = dict(e.split("=", 1) for e in args.env)
    results = []
    for path in (args.bootstrap, args.symbols_bootstrap, args.codec_bench):
        if os.path.exists(path) and not (os.access(path, os.X_OK) and os.path.getsize(path) > 0):
            raise SystemExit(f"bench: {path} is not an executable program (an interrupted "
                             "build?): remove it and run scripts/build-static.sh or scripts/bench.sh")
    cpu = shutil.which("valgrind") and os.path.exists(args.symbols_bootstrap) \
        and os.path.exists(args.codec_bench)
    if args.cpu and not cpu:
        raise SystemExit("bench: --cpu needs valgrind, --symbols-bootstrap and --codec-bench")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only == "latency":
            results += latency_bench(args, tmp)
            print_table(results)
            return
        if args.parquet_only:
            results += parquet_figures(args.bootstrap, tmp)
            print_table(results)
            return
        if cpu:
            results += cpu_figures(tmp, args.symbols_bootstrap, args.codec_bench)
        if args.cpu:
            print_table(results)
            return
        lake = os.path.join(tmp, "lake")
        file_env = {"ETL_OUTPUT": f"file://{lake}/", "AWS_ACCESS_KEY_ID": None,
                    "AWS_SECRET_ACCESS_KEY": None}
        # Cold start: exec to the first /next, fresh process each time.
        sam = os.path.join(ROOT, "tests", "vectors", "events", "aws-sam-cli__DynamoDBUpdate.json")
        inits, idle_rss = [], []
        for _ in range(args.runs):
            rows = invoke(args.bootstrap, [sam], file_env)
            inits.append(rows[0]["init_ms"])
            idle_rss.append(rows[0]["max_rss_kb"])
        results.append(("cold start: exec to first /next (median of %d)" % args.runs,
                         f"{med(inits):.2f} ms (p90 {sorted(inits)[int(0.9 * len(inits)) - 1]:.2f} ms)"))
        results.append(("peak RSS after a 3-record batch", f"{max(idle_rss) / 1024:.1f} MiB"))

        # Warm 1,000-record batches: 11 distinct batches in one process; the first is cold.
        batches = [write_batch(tmp, f"b{i}.json", 1000, 100 + i, 10 ** 20 + i * 10 ** 6)
                   for i in range(11)]
        size = os.path.getsize(batches[0])
        rows = invoke(args.bootstrap, batches, file_env)
        warm_file = [r["duration_ms"] for r in rows[1:]]
        results.append((f"warm 1,000-record batch ({size / 1e6:.2f} MB) to file://, gzip, median of 10",
                        f"{med(warm_file):.1f} ms"))
        # The transform's cost: scripts/bench-transform.json (routing, 6 mappings with casts,
        # unmapped columns kept, a constant, 2 derives, a filter, rename, drop, dedupe, an HMAC,
        # 5 rules) against no spec, interleaved (3 processes each, 10 warm batches per process)
        # so that load drifts hit both.
        with open(os.path.join(ROOT, "scripts", "bench-transform.json")) as f:
            spec = f.read()
        tx_env = dict(file_env, ETL_TRANSFORM=spec, ETL_BENCH_PII_KEY="bench-key-0123456789")
        plain, tx = [], []
        for _ in range(3):
            plain += [r["duration_ms"] for r in invoke(args.bootstrap, batches, file_env)[1:]]
            tx += [r["duration_ms"] for r in invoke(args.bootstrap, batches, tx_env)[1:]]
        results.append(("warm 1,000-record batch to file://, no spec / the benchmark spec "
                        "(routing, 6 casts, keep_unmapped, constant, 2 derives, filter, rename, drop, dedupe, HMAC; 5 rules), median of 30 each",
                        f"{med(plain):.1f} ms / {med(tx):.1f} ms ({100 * (med(tx) / med(plain) - 1):+.1f}%)"))
        with LocalStack(proxy=False, buckets=("bench",)) as st:
            s3_env = dict(st.env, ETL_OUTPUT="s3://bench/cdc/")
            rows = invoke(args.bootstrap, batches, s3_env)
            warm_s3 = [r["duration_ms"] for r in rows[1:]]
            results.append(("warm 1,000-record batch to s3rver (6 objects), median of 10",
                            f"{med(warm_s3):.1f} ms"))
            # Snapshot memory is bounded: peak RSS for 10,000 and 50,000 items (fresh processes).
            seed = os.path.join(ROOT, "tests", "integration", "seed_table.py")
            sched = os.path.join(tmp, "sched.json")
            with open(sched, "w") as f:
                json.dump({"version": "0", "id": "bench", "detail-type": "Scheduled Event",
                           "source": "aws.events", "time": "2026-11-24T00:00:00Z",
                           "region": "us-east-1", "resources": [], "detail": {}}, f)
            rss = {}
            for n in (10000, 50000):
                table = f"Bench{n}"
                subprocess.run(["/usr/bin/python3", seed, "--endpoint", st.dynamodb_url, "--table",
                                table, "--items", str(n)], env=dict(os.environ, **st.env), check=True)
                rows = invoke(args.bootstrap, [sched],
                              dict(st.env, ETL_OUTPUT="s3://bench/snap/", ETL_TABLE=table,
                                   ETL_SEGMENTS="4"))
                rss[n] = (rows[0]["max_rss_kb"] / 1024, rows[0]["duration_ms"])
            results.append(("snapshot of 10,000 items, 4 segments, to s3rver: peak RSS (duration)",
                            f"{rss[10000][0]:.1f} MiB ({rss[10000][1]:.0f} ms)"))
            results.append(("snapshot of 50,000 items, 4 segments, to s3rver: peak RSS (duration)",
                            f"{rss[50000][0]:.1f} MiB ({rss[50000][1]:.0f} ms), "
                            f"{100 * (rss[50000][0] / rss[10000][0] - 1):+.1f}% vs 10,000"))
            tool = os.path.join(ROOT, "build", "tests", "tools", "aws_tool")
            if os.path.exists(tool):
                full = dict(os.environ, **st.env)
                out = subprocess.run([tool, "upload", "bench", "big/100MiB.bin", str(100 * 1024 * 1024)],
                                     env=full, capture_output=True, text=True, check=True)
                up = json.loads(out.stdout)
                results.append(("100 MiB multipart upload to s3rver, 8 MiB parts (peak RSS of the client)",
                                f"{up['peak_rss_kb'] / 1024:.1f} MiB ({up['parts']} parts)"))
        # Peak memory for a near-6 MB batch (fresh process).
        big = write_batch(tmp, "big.json", 5600, 7, 3 * 10 ** 20)
        big_mb = os.path.getsize(big) / (1024 * 1024)
        rows = invoke(args.bootstrap, [big], file_env)
        rss = rows[0]["max_rss_kb"] / 1024
        results.append((f"peak RSS, {big_mb:.2f} MiB batch of 5,600 records (budget 3 x payload + 16 MiB = {3 * big_mb + 16:.1f} MiB)",
                        f"{rss:.1f} MiB ({rows[0]['duration_ms']:.0f} ms)"))
        results += latency_bench(args, tmp)
        results += parquet_figures(args.bootstrap, tmp)
    print_table(results)


def print_table(results):
    print("| figure | value |")
    print("|---|---|")
    for k, v in results:
        print(f"| {k} | {v} |")


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def uniform_batch(tmp, name, n, seed, first_seq):
    """Records of an orders table whose attributes keep one type each (what a columnar format is
    for), unlike ddbgen's, whose attrN columns take any type: a status of 5 values, a customer of
    200, money, quantities, a flag, tags from 10, a short note, an order time."""
    import random
    rng = random.Random(seed)
    recs = []
    for i in range(n):
        item = {"pk": {"S": f"order#{seed:03d}{i:06d}"}, "sk": {"N": str(i % 97)},
                "status": {"S": rng.choice(["NEW", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"])},
                "customer": {"S": f"cust-{rng.randrange(200):04d}"},
                "amount": {"N": f"{rng.randrange(100, 100000)}.{rng.randrange(100):02d}"},
                "qty": {"N": str(rng.randrange(1, 20))},
                "gift": {"BOOL": rng.random() < 0.1},
                "tags": {"SS": sorted({f"tag{rng.randrange(10)}" for _ in range(rng.randrange(1, 4))})},
                "note": {"S": rng.choice(["", "leave at door", "call first", "fragile"])},
                "ordered_at": {"S": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"}}
        recs.append({"eventID": f"u{seed}-{i}", "eventName": "INSERT", "eventVersion": "1.1",
                     "eventSource": "aws:dynamodb", "awsRegion": ddbgen.REGION,
                     "dynamodb": {"ApproximateCreationDateTime": 1764028800 + i,
                                  "Keys": {"pk": item["pk"], "sk": item["sk"]}, "NewImage": item,
                                  "SequenceNumber": str(first_seq + i * 100), "SizeBytes": 200,
                                  "StreamViewType": "NEW_IMAGE"},
                     "eventSourceARN": ddbgen.stream_arn("Orders")})
    return ddbgen.write_event(os.path.join(tmp, name), recs)


def parquet_figures(bootstrap, tmp):
    """Parquet against JSON Lines + gzip on the same 1,000-record batches: warm time per batch
    (3 processes per encoding, 10 warm batches each, interleaved so load drifts hit all), the
    bytes the 11 batches make, and peak RSS for the 5,600-record batch."""
    batches = [write_batch(tmp, f"pq{i}.json", 1000, 100 + i, 10 ** 20 + i * 10 ** 6)
               for i in range(11)]
    encodings = [("JSON Lines + gzip", {"ETL_FORMAT": "jsonl", "ETL_COMPRESSION": "gzip"}),
                 ("Parquet + SNAPPY", {"ETL_FORMAT": "parquet", "ETL_PARQUET_CODEC": "snappy"}),
                 ("Parquet + ZSTD", {"ETL_FORMAT": "parquet", "ETL_PARQUET_CODEC": "zstd"}),
                 ("Parquet + GZIP", {"ETL_FORMAT": "parquet", "ETL_PARQUET_CODEC": "gzip"})]
    times = {name: [] for name, _ in encodings}
    sizes = {}
    for rep in range(3):
        for name, extra in encodings:
            lake = os.path.join(tmp, f"pqlake-{rep}-{len(sizes)}-{name.split()[0]}{extra.get('ETL_PARQUET_CODEC', '')}")
            env = {"ETL_OUTPUT": f"file://{lake}/", "AWS_ACCESS_KEY_ID": None,
                   "AWS_SECRET_ACCESS_KEY": None, **extra}
            times[name] += [r["duration_ms"] for r in invoke(bootstrap, batches, env)[1:]]
            sizes[name] = dir_bytes(lake)
    base = statistics.median(times["JSON Lines + gzip"])
    out = []
    out.append(("warm 1,000-record batch to file://: " + " / ".join(n for n, _ in encodings) +
                ", medians of 30 each, interleaved",
                " / ".join(f"{statistics.median(times[n]):.1f} ms" for n, _ in encodings) +
                " (Parquet + SNAPPY: " +
                f"{statistics.median(times['Parquet + SNAPPY']) / base:.2f}x JSON Lines + gzip)"))
    raw = sum(os.path.getsize(b) for b in batches)
    out.append((f"bytes of the 11 batches' rows (11,000 generated records of every type, {raw / 1e6:.1f} MB of events): "
                + " / ".join(n for n, _ in encodings),
                " / ".join(f"{sizes[n] / 1e6:.2f} MB" for n, _ in encodings)))
    uniform = [uniform_batch(tmp, f"u{i}.json", 1000, i, 10 ** 20 + i * 10 ** 6) for i in range(11)]
    usizes = {}
    for name, extra in encodings:
        lake = os.path.join(tmp, "ulake-" + name.replace(" ", "").replace("+", "-"))
        env = {"ETL_OUTPUT": f"file://{lake}/", "AWS_ACCESS_KEY_ID": None,
               "AWS_SECRET_ACCESS_KEY": None, **extra}
        invoke(bootstrap, uniform, env)
        usizes[name] = dir_bytes(lake)
    raw = sum(os.path.getsize(b) for b in uniform)
    out.append((f"bytes of 11,000 records of an orders table with one type per attribute ({raw / 1e6:.1f} MB of events): "
                + " / ".join(n for n, _ in encodings),
                " / ".join(f"{usizes[n] / 1e6:.3f} MB" for n, _ in encodings)))
    big = write_batch(tmp, "pqbig.json", 5600, 7, 3 * 10 ** 20)
    big_mb = os.path.getsize(big) / (1024 * 1024)
    for name, extra in encodings[:2]:
        lake = os.path.join(tmp, "pqbig-" + name.split()[0])
        env = {"ETL_OUTPUT": f"file://{lake}/", "AWS_ACCESS_KEY_ID": None,
               "AWS_SECRET_ACCESS_KEY": None, **extra}
        rows = invoke(bootstrap, [big], env)
        out.append((f"peak RSS, {big_mb:.2f} MiB batch of 5,600 records, {name}",
                    f"{rows[0]['max_rss_kb'] / 1024:.1f} MiB ({rows[0]['duration_ms']:.0f} ms)"))
    return out


if __name__ == "__main__":
    main()
