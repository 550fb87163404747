#!/usr/bin/env python3
"""scripts/bench.py - the benchmark figures the README quotes (run through scripts/bench.sh).

Every figure comes from scripts/local-invoke's REPORT data (--report-json): Init Duration is
exec to the first /next, Duration is event handed out to answer posted, Max Memory Used is the
bootstrap's VmHWM. Nothing here is asserted: it measures and prints a Markdown table.
Standard library only (plus the project's test helpers for data and the local stack)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
from stack import LocalStack  # noqa: E402


def invoke(bootstrap, events, env, timeout=300):
    """The --report-json rows of one local-invoke run (exits if any invocation failed)."""
    r = itlib.invoke(events, env=env, timeout=timeout, extra=["--quiet"], wall_timeout=None,
                     bootstrap_path=bootstrap)
    if r.code != 0:
        sys.stderr.write(r.stderr[-3000:])
        raise SystemExit(f"bench: invocation failed ({r.code})")
    return r.reports


def write_batch(tmp, name, n, seed, first_seq):
    recs = ddbgen.make_records(n, seed=seed, first_seq=first_seq)
    return ddbgen.write_event(os.path.join(tmp, name), recs)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", default=os.path.join(ROOT, "dist", "bootstrap"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--parquet-only", action="store_true",
                    help="only the Parquet figures (warm time and sizes against JSON Lines + gzip)")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        lake = os.path.join(tmp, "lake")
        file_env = {"ETL_OUTPUT": f"file://{lake}/", "AWS_ACCESS_KEY_ID": None,
                    "AWS_SECRET_ACCESS_KEY": None}
        if args.parquet_only:
            results += parquet_figures(args.bootstrap, tmp)
            print_table(results)
            return
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
            results.append(("warm 1,000-record batch to s3rver (HEAD + PutObject per object), median of 10",
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
