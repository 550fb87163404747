"""Issue 13: ETL_FORMAT=parquet end to end. The real bootstrap, under scripts/local-invoke,
writes stream batches as Parquet; every file is read by three independent readers (DuckDB,
arrow-rs through parquet-wasm, hyparquet), which must agree row for row, and every value must
equal its DynamoDB source (numbers digit for digit, binary byte for byte), with each of the four
codecs. DuckDB's parquet_metadata / parquet_schema / parquet_file_metadata check the codecs,
encodings, statistics, logical types, column orders and created_by. Also: a retried batch gives
byte-identical files, row groups split at ETL_PARQUET_ROW_GROUP_BYTES, a property test of random
schemas and values round-trips through the readers, and valgrind. Snapshots:
test_parquet_snapshot.py."""
import glob
import json
import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import ddbgen  # noqa: E402
import itlib  # noqa: E402
import pqcheck  # noqa: E402

CODECS = {"snappy": "SNAPPY", "zstd": "ZSTD", "gzip": "GZIP", "none": "UNCOMPRESSED"}

SAMPLE_STREAM_EVENTS = sorted(
    f for f in os.listdir(itlib.EVENTS)
    if f.endswith(".json") and ("dynamo" in f.lower() or f == "aws-sam-cli__DynamoDBUpdate.json"))


class ParquetStreamTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_batches(self, paths, name, **env):
        lake = os.path.join(self.dir, name)
        os.makedirs(lake)
        full = {"ETL_OUTPUT": f"file://{lake}/", "ETL_FORMAT": "parquet",
                "AWS_LAMBDA_LOG_LEVEL": "INFO"}
        full.update(env)
        r = itlib.invoke(paths, env=full, timeout=120)
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        for i in range(len(paths)):
            self.assertEqual(r.json(i), {"batchItemFailures": []}, paths[i])
        files = sorted(glob.glob(os.path.join(lake, "**", "*"), recursive=True))
        files = [f for f in files if os.path.isfile(f)]
        self.assertTrue(files)
        for f in files:
            self.assertTrue(f.endswith(".parquet"), f)
        return files, r

    def check(self, records, files, codec, key=pqcheck.stream_key, typed=pqcheck.typed_row):
        read = pqcheck.read_files(files)
        problems = pqcheck.match_rows([typed(r) for r in records], read, key)
        self.assertEqual(problems, [], "\n".join(problems[:6]))
        for path, d in sorted(read.items()):
            problems = pqcheck.metadata_problems(path, codec, d["rows"]["duckdb"], d["schema"])
            self.assertEqual(problems, [], "\n".join(problems[:6]))
        return read

    def test_generated_batches_every_codec(self):
        """1,000 and 4,000 generated records (every attribute type, 38-digit numbers, binary,
        unicode, 32-level nesting, TTL deletes, two tables) with each codec."""
        small = ddbgen.make_records(1000, seed=11)
        large = ddbgen.make_records(4000, seed=12, first_seq=200000000000000000000)
        p1 = ddbgen.write_event(os.path.join(self.dir, "b1000.json"), small)
        p2 = ddbgen.write_event(os.path.join(self.dir, "b4000.json"), large)
        for codec, name in CODECS.items():
            with self.subTest(codec=codec):
                files, _ = self.run_batches([p1, p2], "gen-" + codec, ETL_PARQUET_CODEC=codec)
                read = self.check(small + large, files, name)
                # Columns every engine types the same way: _ts a timestamp, _op a dictionary.
                any_file = sorted(read)[0]
                self.assertEqual(read[any_file]["schema"]["_ts"], "TIMESTAMP")
                self.assertEqual(read[any_file]["schema"]["blob"], "BINARY")
                self.assertEqual(read[any_file]["schema"]["active"], "BOOLEAN")
                self.assertEqual(read[any_file]["schema"]["amount"], "STRING")
                enc = pqcheck.duckdb(f"SELECT encodings FROM parquet_metadata('{any_file}') "
                                     "WHERE path_in_schema = '_op'")
                self.assertIn("RLE_DICTIONARY", enc[0]["encodings"])

    def test_aws_sample_events_every_codec(self):
        paths = [os.path.join(itlib.EVENTS, f) for f in SAMPLE_STREAM_EVENTS]
        self.assertGreaterEqual(len(paths), 10)
        records = []
        for p in paths:
            with open(p) as f:
                records.extend(json.load(f)["Records"])
        for codec, name in CODECS.items():
            with self.subTest(codec=codec):
                # One invocation per event: two samples deliver the very same records, and the
                # second delivery is (rightly) not written again under one prefix.
                for i, p in enumerate(paths):
                    files, _ = self.run_batches([p], f"s-{codec}-{i}", ETL_PARQUET_CODEC=codec)
                    with open(p) as f:
                        recs = json.load(f)["Records"]
                    self.check(recs, files, name)

    def test_retry_gives_identical_bytes_and_row_groups_split(self):
        recs = ddbgen.make_records(3000, seed=5)
        p = ddbgen.write_event(os.path.join(self.dir, "b.json"), recs)
        a, _ = self.run_batches([p], "a", ETL_PARQUET_ROW_GROUP_BYTES="65536")
        b, _ = self.run_batches([p], "b", ETL_PARQUET_ROW_GROUP_BYTES="65536")
        self.assertEqual([os.path.relpath(f, os.path.join(self.dir, "a")) for f in a],
                         [os.path.relpath(f, os.path.join(self.dir, "b")) for f in b])
        for fa, fb in zip(a, b):
            with open(fa, "rb") as x, open(fb, "rb") as y:
                self.assertEqual(x.read(), y.read(), fa)
        groups = pqcheck.duckdb(f"SELECT max(row_group_id) AS g FROM parquet_metadata({a!r})")
        self.assertGreater(int(groups[0]["g"]), 0)
        self.check(recs, a, "SNAPPY")

    def test_valgrind_every_codec(self):
        """The bootstrap under valgrind writing Parquet with each codec and several row groups:
        no invalid access, no leak (the static build with undefined-value errors off, as
        test_runtime explains; the development build, when there is one, under full memcheck)."""
        recs = ddbgen.make_records(1000, seed=21)
        p = ddbgen.write_event(os.path.join(self.dir, "vg.json"), recs)
        binaries = [(itlib.bootstrap(), ["--soname-synonyms=somalloc=NONE", "--undef-value-errors=no"])]
        dev = os.path.join(itlib.BUILD_DIR, "bootstrap")
        if os.path.exists(dev) and dev != itlib.bootstrap():
            binaries.append((dev, []))
        for binary, flags in binaries:
            for codec in CODECS:
                with self.subTest(binary=binary, codec=codec):
                    lake = os.path.join(self.dir, f"vg-{codec}-{len(flags)}")
                    r = itlib.invoke([p], timeout=300, env={
                        "ETL_OUTPUT": f"file://{lake}/", "ETL_FORMAT": "parquet",
                        "ETL_PARQUET_CODEC": codec, "ETL_PARQUET_ROW_GROUP_BYTES": "65536"},
                        extra=["--", "valgrind", "-q", "--leak-check=full", "--error-exitcode=97",
                               "--errors-for-leak-kinds=definite,indirect"] + flags + [binary])
                    self.assertEqual(r.json(0), {"batchItemFailures": []}, r.stderr[-2000:])
                    self.assertNotIn("Invalid read", r.stderr)
                    self.assertNotIn("definitely lost", r.stderr)
                    self.assertRegex(r.stderr, r"bootstrap pid \d+ exited: exit status 0")

    def test_one_column_per_name_however_spelt(self):
        """JSON may escape a name or not ("caf\\u00e9", "café"): one column, both values."""
        recs = [stream_record(0, {"pk": {"S": "a"}, "café": {"S": "x"}}, 9),
                stream_record(1, {"pk": {"S": "b"}, "café": {"S": "y"}}, 9)]
        text = json.dumps({"Records": recs}, ensure_ascii=False)
        text = text.replace('"café": {"S": "x"}', '"caf\\u00e9": {"S": "x"}', 1)
        self.assertIn("caf\\u00e9", text)
        p = os.path.join(self.dir, "spelt.json")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        files, _ = self.run_batches([p], "spelt")
        read = self.check(recs, files, "SNAPPY")
        (d,) = read.values()
        self.assertEqual(sorted(r["café"] for r in d["rows"]["duckdb"]), ["x", "y"])

    def test_transform_declared_types(self):
        """A transform's declared types are the files' types: decimal(p,s) a DECIMAL on the
        narrowest physical type, bigint and int INT64, timestamp TIMESTAMP(MILLIS), boolean; every
        reader gives the exact value (a 38-digit decimal, INT64's limits). double stays the exact
        digits as STRING. A value a cast cannot fit is rejected by the transform, not rounded."""
        spec = {"version": 1, "datasets": [{
            "name": "typed",
            "mappings": [["pk", "string", "id", "string"],
                         ["price", "string", "price", "decimal(12,2)", "reject"],
                         ["huge", "decimal(38,10)", "huge", "decimal(38,10)"],
                         ["big", "bigint", "big", "bigint"],
                         ["qty", "int", "qty", "int"],
                         ["rate", "double", "rate", "double"],
                         ["created_at", "bigint", "created", "timestamp"],
                         ["active", "boolean", "active", "boolean"]]}]}
        items = [
            {"pk": {"S": "a"}, "price": {"S": "12.5"}, "huge": {"N": "1234567890123456789012345678.0123456789"},
             "big": {"N": "9223372036854775807"}, "qty": {"N": "7"}, "rate": {"N": "0.1"},
             "created_at": {"N": "1764028800123"}, "active": {"BOOL": True}},
            {"pk": {"S": "b"}, "price": {"S": "-0.01"}, "huge": {"N": "-0.0000000001"},
             "big": {"N": "-9223372036854775808"}, "qty": {"N": "-2147483648"},
             "rate": {"N": "1E+2"}, "created_at": {"N": "0"}, "active": {"BOOL": False}},
            {"pk": {"S": "c"}},
            {"pk": {"S": "d"}, "price": {"S": "0.125"}},  # does not fit decimal(12,2): rejected
        ]
        recs = [stream_record(i, it, 21) for i, it in enumerate(items)]
        p = os.path.join(self.dir, "typed.json")
        with open(p, "w", encoding="utf-8") as f:
            json.dump({"Records": recs}, f)
        spec_path = os.path.join(self.dir, "spec.json")
        with open(spec_path, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        lake = os.path.join(self.dir, "typed")
        os.makedirs(lake)
        r = itlib.invoke([p], env={"ETL_OUTPUT": f"file://{lake}/", "ETL_FORMAT": "parquet",
                                   "ETL_TRANSFORM": f"file:{spec_path}"}, timeout=120)
        self.assertEqual(r.code, 0, r.stderr[-3000:])
        self.assertEqual(r.json(0), {"batchItemFailures": []})
        files = [f for f in glob.glob(os.path.join(lake, "**", "*"), recursive=True)
                 if os.path.isfile(f)]
        data = [f for f in files if f.endswith(".parquet")]
        rejected = [f for f in files if "/rejected/" in f]
        self.assertEqual(len(data), 1, files)
        self.assertEqual(len(rejected), 1, files)
        (d,) = pqcheck.read_files(data).values()
        self.assertEqual({k: d["schema"][k] for k in
                          ("price", "huge", "big", "qty", "rate", "created", "active")},
                         {"price": "DECIMAL(12,2)", "huge": "DECIMAL(38,10)", "big": "INT64",
                          "qty": "INT64", "rate": "STRING", "created": "TIMESTAMP",
                          "active": "BOOLEAN"})
        want = {
            "a": {"price": "12.50", "huge": "1234567890123456789012345678.0123456789",
                  "big": "9223372036854775807", "qty": "7", "created": "2025-11-25T00:00:00.123Z",
                  "active": True},
            "b": {"price": "-0.01", "huge": "-0.0000000001", "big": "-9223372036854775808",
                  "qty": "-2147483648", "created": "1970-01-01T00:00:00.000Z", "active": False},
            "c": {"price": None, "huge": None, "big": None, "qty": None, "created": None,
                  "active": None},
        }
        for reader, rows in d["rows"].items():
            got = {row["id"]: {k: row[k] for k in want["a"]} for row in rows}
            if reader == "hyparquet":  # its decimals are JavaScript Numbers: exact to ~15 digits
                for rid, row in got.items():
                    for k in ("price", "huge"):
                        if row[k] is not None:
                            self.assertTrue(row[k].startswith("hyparquet:"), row[k])
                            self.assertAlmostEqual(float(row[k][10:]) / float(want[rid][k]), 1.0,
                                                   places=12)
                            row[k] = want[rid][k]
            self.assertEqual(got, want, reader)
        phys = pqcheck.duckdb(f"SELECT name, type FROM parquet_schema('{data[0]}') "
                              "WHERE name IN ('price', 'huge', 'big')")
        self.assertEqual({x["name"]: x["type"] for x in phys},
                         {"price": "INT64", "huge": "FIXED_LEN_BYTE_ARRAY", "big": "INT64"})

    def test_property_random_schemas(self):
        """Random items: nulls, empty strings, 38-digit numbers, binary (empty too), unicode,
        10,000-character strings, sets, maps and lists, and columns present in few rows; each
        seed's batch is read back by the three readers value for value."""
        for seed in range(6):
            rng = random.Random(seed)
            records = []
            n_attrs = rng.randrange(1, 40)
            kinds = {f"c{j}": rng.choice(["S", "N", "B", "BOOL", "SS", "NS", "BS", "M", "L", "ANY"])
                     for j in range(n_attrs)}
            presence = {c: rng.choice([1.0, 0.5, 0.05, 0.01]) for c in kinds}
            for i in range(rng.randrange(1, 800)):
                item = {"pk": {"S": f"k{i}"}}
                for c, kind in kinds.items():
                    if rng.random() >= presence[c]:
                        continue
                    item[c] = random_value(rng, kind)
                records.append(stream_record(i, item, seed))
            p = ddbgen.write_event(os.path.join(self.dir, f"p{seed}.json"), records)
            codec = list(CODECS)[seed % 4]
            with self.subTest(seed=seed, codec=codec):
                files, _ = self.run_batches([p], f"p{seed}", ETL_PARQUET_CODEC=codec)
                self.check(records, files, CODECS[codec])


def random_value(rng, kind):
    if kind == "ANY":
        kind = rng.choice(["S", "N", "B", "BOOL", "SS", "NS", "BS", "M", "L", "NULL"])
    r = rng.random()
    if kind == "S":
        if r < 0.1:
            return {"S": ""}
        if r < 0.15:
            return {"S": "".join(rng.choice("ab\u00e9\u65e5\U0001F600\"\\\n") for _ in range(10000))}
        return {"S": ddbgen._rand_string(rng)}
    if kind == "N":
        if r < 0.3:
            return {"N": ("-" if rng.random() < 0.5 else "") + str(rng.randrange(10 ** 37, 10 ** 38))}
        return {"N": ddbgen._rand_number(rng)}
    if kind == "B":
        return {"B": ""} if r < 0.1 else {"B": ddbgen._rand_binary(rng)}
    if kind == "BOOL":
        return {"BOOL": r < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind in ("SS", "NS", "BS", "M", "L"):
        return ddbgen._rand_value(random.Random(rng.random()), 5) if kind in ("M", "L") and False \
            else set_or_nested(rng, kind)
    raise ValueError(kind)


def set_or_nested(rng, kind):
    if kind == "SS":
        return {"SS": sorted({ddbgen._rand_string(rng) for _ in range(rng.randrange(1, 5))})}
    if kind == "NS":
        return {"NS": sorted({ddbgen._rand_number(rng) for _ in range(rng.randrange(1, 5))})}
    if kind == "BS":
        return {"BS": sorted({ddbgen._rand_binary(rng) for _ in range(rng.randrange(1, 4))})}
    if kind == "M":
        return {"M": {f"m{i}": ddbgen._rand_value(rng, 3) for i in range(rng.randrange(0, 4))}}
    return {"L": [ddbgen._rand_value(rng, 3) for _ in range(rng.randrange(0, 4))]}


def stream_record(i, item, seed):
    return {
        "eventID": f"ev-{seed}-{i}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": ddbgen.REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": 1764028800 + i,
            "Keys": {"pk": item["pk"]},
            "NewImage": item,
            "SequenceNumber": str(300000000000000000000 + seed * 100000 + i),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": ddbgen.stream_arn("Props"),
    }


if __name__ == "__main__":
    unittest.main()
