"""Shared helpers for the integration tests: locate the bootstrap and the local invoker, run
invocations, and find free ports. Standard library only."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SOURCE_DIR = os.environ.get("ETL_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("ETL_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
LOCAL_INVOKE = os.path.join(SOURCE_DIR, "scripts", "local-invoke")
VECTORS = os.path.join(SOURCE_DIR, "tests", "vectors")
EVENTS = os.path.join(VECTORS, "events")


def bootstrap():
    path = os.environ.get("ETL_BOOTSTRAP")
    if not path:
        for cand in (os.path.join(SOURCE_DIR, "dist", "bootstrap"),
                     os.path.join(BUILD_DIR, "bootstrap")):
            if os.path.exists(cand):
                path = cand
                break
    if not path or not os.path.exists(path):
        raise RuntimeError("no bootstrap: set ETL_BOOTSTRAP or build first")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Result:
    def __init__(self, proc, reports):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.lines = [l for l in proc.stdout.split("\n") if l != ""]
        self.reports = reports

    def json(self, i):
        return json.loads(self.lines[i])


def invoke(events, env=None, timeout=30, extra=(), base_env=None, input_bytes=None,
           wall_timeout=600, bootstrap_path=None):
    """Runs scripts/local-invoke on event files (paths) and returns a Result. The bootstrap is
    bootstrap_path, else bootstrap(), unless extra has `-- COMMAND`."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.jsonl")
        cmd = [sys.executable, LOCAL_INVOKE, "--timeout", str(timeout),
               "--report-json", report]
        for e in events:
            cmd += ["-e", e]
        extra = list(extra)
        if "--" not in extra:
            cmd += ["--bootstrap", bootstrap_path or bootstrap()]
        cmd += extra
        full_env = dict(base_env if base_env is not None else os.environ)
        full_env.setdefault("AWS_ACCESS_KEY_ID", "AKIDINTEGRATION")
        full_env.setdefault("AWS_SECRET_ACCESS_KEY", "integration/secret/KEY+never+logged")
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True,
                              input=input_bytes, timeout=wall_timeout)
        reports = []
        if os.path.exists(report):
            with open(report) as f:
                reports = [json.loads(l) for l in f if l.strip()]
        return Result(proc, reports)


def write_event(tmpdir, name, obj_or_text):
    path = os.path.join(tmpdir, name)
    mode = "wb" if isinstance(obj_or_text, bytes) else "w"
    with open(path, mode) as f:
        if isinstance(obj_or_text, (dict, list)):
            json.dump(obj_or_text, f)
        else:
            f.write(obj_or_text)
    return path


def http_post(url, body, timeout=60):
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_table_active(ddb, table, timeout_s=30):
    """Until DescribeTable says ACTIVE (botocore's table_exists waiter): dynalite answers
    CreateTable while the table is still CREATING (even with createTableMs 0 its status is written
    afterwards), and a PutItem in that window is ResourceNotFoundException (CI saw it once under
    load). The waiter asks at once, then every second."""
    ddb.get_waiter("table_exists").wait(TableName=table,
                                        WaiterConfig={"Delay": 1, "MaxAttempts": timeout_s})


def children_of(pid):
    """Direct child pids of pid (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return out


class MotoServer:
    """moto's server on a free loopback port, for the AWS APIs the npm stand-ins lack (Secrets
    Manager, Glue). The image's python3 has moto (scripts/lib.sh installs it otherwise)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, 30):
            self.stop()
            raise RuntimeError("moto.server did not start")
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def client(self, service, region="us-east-1"):
        import boto3
        return boto3.client(service, region_name=region, endpoint_url=self.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
