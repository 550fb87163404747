#!/usr/bin/python3
"""Seeds a DynamoDB table (dynalite) with realistic items of every attribute type, through
botocore's own client (Debian's python3-botocore), so binary values go in as bytes and numbers
as their exact strings. Writes the items it wrote as DynamoDB JSON lines to --out, the reference
the export tests compare against.

usage: seed_table.py --endpoint URL --table NAME --items N [--seed S] [--out FILE]"""
import argparse
import base64
import contextlib
import json
import os
import random
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
sys.path.insert(0, os.path.dirname(__file__))
import botocore.session  # noqa: E402
import ddbgen  # noqa: E402
import itlib  # noqa: E402


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out")
    ap.add_argument("--pad", type=int, default=0,
                    help="add a string attribute 'pad' of this many bytes to every item (bigger "
                         "items: more read units per item)")
    args = ap.parse_args()
    sess = botocore.session.get_session()
    ddb = sess.create_client("dynamodb", endpoint_url=args.endpoint,
                             region_name=os.environ.get("AWS_REGION", "us-east-1"),
                             aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "x"),
                             aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "x"),
                             aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None)
    try:
        ddb.create_table(TableName=args.table,
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "N"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                         BillingMode="PAY_PER_REQUEST")
    except ddb.exceptions.ResourceInUseException:
        pass
    itlib.wait_table_active(ddb, args.table)
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8") if args.out else contextlib.nullcontext() as out:
        batch = []
        for i in range(args.items):
            item = ddbgen.make_item(rng, "Orders", i)
            item["pk"] = {"S": f"order#{i:07d}"}
            item["sk"] = {"N": str(i % 1000)}
            if args.pad:
                item["pad"] = {"S": "x" * args.pad}
            if out:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
            batch.append({"PutRequest": {"Item": {k: to_botocore(v) for k, v in item.items()}}})
            if len(batch) == 25 or i == args.items - 1:
                req = {args.table: batch}
                while req:
                    resp = ddb.batch_write_item(RequestItems=req)
                    req = resp.get("UnprocessedItems") or {}
                batch = []


if __name__ == "__main__":
    main()
