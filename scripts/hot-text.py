#!/usr/bin/env python3
"""scripts/hot-text.py - makes scripts/hot-text.txt, the input sections the static bootstrap's
link places first in .text (CMakeLists.txt, ETL_STATIC). A maintainer's tool: run it after
scripts/build-static.sh when the code or Debian's libraries change much, and commit the list.

It runs build/static/bootstrap (unstripped) under callgrind through the usual workloads: a
stream batch of 5,600 records and one of 1,000 to file://, the same 1,000 as Parquet, to s3rver,
and a snapshot of 2,000 items from dynalite to s3rver. Every function that ran is looked up in
build/static/bootstrap.map, and the input section holding it (a whole object's .text for most
of libc and OpenSSL, one function's .text.name for our code and libcurl) goes in the list.

--check reports how many of the listed sections the last static build placed first (from its
link map); scripts/build-static.sh prints it. With --strict (the ctest integration.hot_text) it
fails when fewer than 80% did: the list has gone stale, or the build stopped applying it; it
skips (77) when there is no static build."""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
LIST = os.path.join(ROOT, "scripts", "hot-text.txt")
MAP = os.path.join(ROOT, "build", "static", "bootstrap.map")
BOOT = os.path.join(ROOT, "build", "static", "bootstrap")
ANCHOR = "*(.text.unlikely .text.*_unlikely .text.unlikely.*)"

SECTION = re.compile(r"^ (\.text\S*)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
SECTION_NAME = re.compile(r"^ (\.text\S*)$")
SECTION_REST = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")


def map_text_sections(path):
    """(start, size, input file, section name) of every .text input section in a GNU ld map."""
    out = []
    lines = open(path).read().splitlines()
    i = 0
    while i < len(lines):
        m = SECTION.match(lines[i])
        if m:
            out.append((int(m.group(2), 16), int(m.group(3), 16), m.group(4).strip(), m.group(1)))
        else:
            m = SECTION_NAME.match(lines[i])
            r = SECTION_REST.match(lines[i + 1]) if m and i + 1 < len(lines) else None
            if r:
                out.append((int(r.group(1), 16), int(r.group(2), 16), r.group(3).strip(),
                            m.group(1)))
                i += 1
        i += 1
    return sorted(x for x in out if x[1] > 0)


def pattern(input_file, section):
    """The linker-script pattern for one input section: *libfoo.a:member.o(.text.x)."""
    m = re.match(r"^(.*?)\((.*)\)$", input_file)
    where = f"*{os.path.basename(m.group(1))}:{m.group(2)}" if m else \
        "*" + os.path.basename(input_file)
    return f"{where}({section})"


def executed_functions(tmp):
    import bench  # scripts/bench.py: invoke, write_batch, LocalStack
    from stack import LocalStack
    outs = []

    def vg(name):
        out = os.path.join(tmp, f"cg.{name}")
        outs.append(out)
        return ["--", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                "--dump-instr=no", "--compress-strings=no", BOOT]
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
    big = bench.write_batch(tmp, "big.json", 5600, 7, 3 * 10 ** 20)
    one = bench.write_batch(tmp, "one.json", 1000, 101, 10 ** 20)
    lake = os.path.join(tmp, "lake")
    bench.invoke(None, [big, one], dict(env, ETL_OUTPUT=f"file://{lake}/"), extra=vg("file"))
    bench.invoke(None, [one], dict(env, ETL_OUTPUT=f"file://{lake}/pq/", ETL_FORMAT="parquet"),
                 extra=vg("parquet"))
    with LocalStack(proxy=False, buckets=("bench",)) as st:
        bench.invoke(None, [one], dict(st.env, ETL_OUTPUT="s3://bench/s3/"), extra=vg("s3"))
        sched = os.path.join(tmp, "sched.json")
        with open(sched, "w") as f:
            json.dump({"version": "0", "id": "hot", "detail-type": "Scheduled Event",
                       "source": "aws.events", "time": "2026-11-24T00:00:00Z",
                       "region": "us-east-1", "resources": [], "detail": {}}, f)
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "integration", "seed_table.py"),
                        "--endpoint", st.dynamodb_url, "--table", "Hot", "--items", "2000"],
                       env=dict(os.environ, **st.env), check=True)
        bench.invoke(None, [sched], dict(st.env, ETL_OUTPUT="s3://bench/snap/", ETL_TABLE="Hot",
                                         ETL_SEGMENTS="4"), extra=vg("snapshot"))
    names = set()
    for path in outs:
        for line in open(path, errors="replace"):
            m = re.match(r"^c?fn=(?:\(\d+\) )?(.+)$", line)
            if m:
                names.add(m.group(1).strip().split("'")[0])
    return names


def make_list():
    for path in (BOOT, MAP):
        if not os.path.exists(path):
            raise SystemExit(f"hot-text: {path} missing: run scripts/build-static.sh first")
    with tempfile.TemporaryDirectory() as tmp:
        names = executed_functions(tmp)
    addrs = {}
    nm = subprocess.run(["nm", "--defined-only", BOOT], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tTwWiI":
            addrs.setdefault(p[2], []).append(int(p[0], 16))
    sections = map_text_sections(MAP)
    starts = [s[0] for s in sections]
    import bisect
    hot = set()
    for name in names:
        for a in addrs.get(name, ()):
            k = bisect.bisect_right(starts, a) - 1
            if k >= 0 and sections[k][0] <= a < sections[k][0] + sections[k][1]:
                hot.add(pattern(sections[k][2], sections[k][3]))
    with open(LIST, "w") as f:
        f.write("# The input sections the static bootstrap executes, placed first in .text\n"
                "# (CMakeLists.txt). Made by scripts/hot-text.py from callgrind runs of the usual\n"
                "# workloads; regenerate it, do not edit it by hand.\n")
        f.write("".join(p + "\n" for p in sorted(hot)))
    print(f"hot-text: {len(hot)} input sections from {len(names)} functions run -> {LIST}")


def check(strict):
    """How many listed patterns the last link matched: in the map, each line of the .text output
    section's script is followed by the input sections it placed."""
    listed = [l.strip() for l in open(LIST) if l.strip() and not l.startswith("#")]
    if not os.path.exists(MAP):
        print("hot-text: no build/static/bootstrap.map: no static build to check")
        sys.exit(77 if strict else 0)
    lines = open(MAP).read().splitlines()
    wanted = set(listed)
    matched, placed, current = set(), 0, None
    for i, line in enumerate(lines):
        text = line.strip()
        if text == ANCHOR:
            break
        if text in wanted:
            current = text
            continue
        m = SECTION.match(line)
        r = SECTION_REST.match(line) if SECTION_NAME.match(lines[i - 1]) else None
        size = int(m.group(3), 16) if m else int(r.group(2), 16) if r else 0
        if current is not None and size > 0:
            matched.add(current)
            placed += size
    print(f"hot-text: {len(matched)} of {len(listed)} listed sections placed first "
          f"({placed / 1024:.0f} kB of code)")
    if len(matched) < 0.8 * len(listed):
        print("hot-text: fewer than 80% of scripts/hot-text.txt placed first: regenerate it "
              "(scripts/hot-text.py), or see why the link did not apply it", file=sys.stderr)
        sys.exit(1 if strict else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="report how much of the list the last static link placed first")
    ap.add_argument("--strict", action="store_true",
                    help="with --check: exit 1 below 80%%, 77 when there is no static build")
    args = ap.parse_args()
    check(args.strict) if args.check else make_list()


if __name__ == "__main__":
    main()
