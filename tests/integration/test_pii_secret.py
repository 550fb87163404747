"""Issue 10: the PII key from Secrets Manager, end to end. moto's server plays Secrets Manager
(AWS_ENDPOINT_URL_SECRETS_MANAGER); the real bootstrap reads the key at init through
{"secret_arn": ...} and {"secret_arn_env": "VAR"}, hashes a column with it, and must:
- write the HMAC-SHA256 (hex) of the value under the secret's bytes (SecretString and
  SecretBinary), computed here with Python's hmac;
- fail init with Runtime.ConfigInvalid naming the ARN for a secret that does not exist, and for
  an env variable that is unset;
- never print the key, in any log line, at TRACE level."""
import base64
import gzip
import hashlib
import hmac
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import itlib  # noqa: E402

KEY_TEXT = "pii-k\u00e9y-for-tests-0123456789"
KEY_BIN = bytes(range(256))[::7] + b"\x00\xff"
REGION = "us-east-1"


def spec(key):
    return json.dumps({"version": 1, "pii_key": key, "datasets": [{
        "name": "users",
        "mappings": [["pk", "string", "user_id", "string"], ["email", "string", "email", "string"]],
        "pii": [{"column": "email", "method": "hmac_sha256"}]}]})


def event(email):
    return {"Records": [{
        "eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {"ApproximateCreationDateTime": 1764028800,
                     "Keys": {"pk": {"S": "USER#1"}},
                     "NewImage": {"pk": {"S": "USER#1"}, "email": {"S": email}},
                     "SequenceNumber": "100", "SizeBytes": 40, "StreamViewType": "NEW_IMAGE"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Users/stream/2026-01-01T00:00:00.000"}]}


class PiiSecretTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pii-secret-")
        cls.moto = itlib.MotoServer().start()
        cls.url = cls.moto.url
        sm = cls.moto.client("secretsmanager", REGION)
        cls.arn_text = sm.create_secret(Name="pii-text", SecretString=KEY_TEXT)["ARN"]
        cls.arn_bin = sm.create_secret(Name="pii-bin", SecretBinary=KEY_BIN)["ARN"]
        cls.event = itlib.write_event(cls.tmp, "ev.json", event("ada@example.org"))

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_spec(self, key, extra_env=None):
        lake = tempfile.mkdtemp(dir=self.tmp)
        env = {"ETL_OUTPUT": f"file://{lake}/", "ETL_TRANSFORM": spec(key), "AWS_REGION": REGION,
               "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.url, "AWS_LAMBDA_LOG_LEVEL": "TRACE",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        env.update(extra_env or {})
        return itlib.invoke([self.event], env=env), lake

    def rows(self, lake):
        out = []
        for root, _, files in os.walk(lake):
            for f in files:
                if f.endswith(".jsonl.gz") and "/changes/" in os.path.join(root, f):
                    with gzip.open(os.path.join(root, f), "rt") as g:
                        out += [json.loads(l) for l in g if l.strip()]
        return out

    def check_hashed(self, key_bytes, result, lake):
        self.assertEqual(result.code, 0, result.stderr[-2000:])
        self.assertEqual(result.json(0), {"batchItemFailures": []})
        rows = self.rows(lake)
        self.assertEqual(len(rows), 1)
        want = hmac.new(key_bytes, b"ada@example.org", hashlib.sha256).hexdigest()
        self.assertEqual(rows[0]["email"], want)
        self.assertEqual(rows[0]["user_id"], "USER#1")

    def assert_key_not_logged(self, result):
        for text in (result.stdout, result.stderr):
            self.assertNotIn(KEY_TEXT, text)
            self.assertNotIn("pii-k", text)

    def test_secret_string(self):
        result, lake = self.run_spec({"secret_arn": self.arn_text})
        self.check_hashed(KEY_TEXT.encode("utf-8"), result, lake)
        self.assert_key_not_logged(result)

    def test_secret_binary(self):
        result, lake = self.run_spec({"secret_arn": self.arn_bin})
        self.check_hashed(KEY_BIN, result, lake)

    def test_secret_arn_from_env(self):
        result, lake = self.run_spec({"secret_arn_env": "MY_PII_SECRET"},
                                     {"MY_PII_SECRET": self.arn_text})
        self.check_hashed(KEY_TEXT.encode("utf-8"), result, lake)
        self.assert_key_not_logged(result)

    def test_missing_secret_is_an_init_error(self):
        arn = self.arn_text[:-6] + "zzzzzz"
        result, _ = self.run_spec({"secret_arn": arn})
        err = result.json(0)
        self.assertEqual(err["errorType"], "Runtime.ConfigInvalid")
        self.assertIn("pii_key.secret_arn", err["errorMessage"])
        self.assertIn("ResourceNotFoundException", err["errorMessage"])

    def test_unset_arn_variable_is_an_init_error(self):
        result, _ = self.run_spec({"secret_arn_env": "NOT_SET_ANYWHERE"})
        err = result.json(0)
        self.assertEqual(err["errorType"], "Runtime.ConfigInvalid")
        self.assertIn("NOT_SET_ANYWHERE, which is not set", err["errorMessage"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
