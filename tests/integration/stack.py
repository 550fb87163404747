"""LocalStack: the local AWS stand-ins for the integration tests, as a context manager.

    with LocalStack() as stack:                 # s3rver + dynalite, each behind awsproxy.py
        stack.aws("s3api", "put-object", "--bucket", "lake", "--key", "k", "--body", path)
        run_bootstrap(env=stack.env)            # AWS_* variables pointing at the stack
        assert stack.proxy_stats()["signature_failures"] == 0

It starts s3rver and dynalite (node, scripts/stack/*.js) on free ports with data in a temporary
directory, waits for their "ready" lines, and (proxy=True) starts tests/integration/awsproxy.py
in front of each: it verifies every request's SigV4 signature with botocore and injects the
faults asked for (fault_every, fault_rate, fault_kinds). Everything it started is stopped on exit
(SIGTERM, then SIGKILL), exceptions included; the children also exit by themselves if this
process dies (they watch their stdin).

Standard library only here; the proxy runs under an interpreter that has botocore (this one if
it can import botocore, else /usr/bin/python3, Debian's python3-botocore).
"""
import atexit
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SOURCE_DIR = os.environ.get("ETL_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STACK_SCRIPTS = os.path.join(SOURCE_DIR, "scripts", "stack")
PROXY_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "awsproxy.py")
SEED_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_table.py")
NODE_MODULES = os.path.join(SOURCE_DIR, "node_modules")

DEFAULT_SECRET = "localstack/secret/KEY+never+logged"
STARTUP_TIMEOUT = 15.0


class StackError(RuntimeError):
    pass


class AwsCliError(RuntimeError):
    def __init__(self, args, returncode, stdout, stderr):
        super().__init__(f"aws {' '.join(args)} exited {returncode}: {stderr.strip()[-2000:]}")
        self.args_ = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def _python_with_botocore():
    """An interpreter that can import botocore (Debian's python3-botocore)."""
    override = os.environ.get("ETL_PROXY_PYTHON")
    if override:
        return override
    if importlib.util.find_spec("botocore") is not None:
        return sys.executable
    if os.path.exists("/usr/bin/python3"):
        return "/usr/bin/python3"
    raise StackError("awsproxy.py needs botocore: install python3-botocore (scripts/test.sh "
                     "does) or set ETL_PROXY_PYTHON")


def check_node_modules():
    needed = [os.path.join(NODE_MODULES, p, "package.json") for p in ("s3rver", "dynalite")]
    missing = [p for p in needed if not os.path.exists(p)]
    if missing:
        raise StackError(
            f"node_modules is missing the stand-ins ({', '.join(missing)}): run scripts/test.sh "
            f"(it installs them) or `npm ci` in {SOURCE_DIR}")
    if shutil.which("node") is None:
        raise StackError("node is not on PATH: install nodejs (scripts/test.sh does)")


class _Child:
    """A started process, its log file and the port from its 'ready <port>' line."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.port = None
        self._log = open(log_path, "ab")
        # stdin stays an open pipe: the children exit when it reaches EOF (--stdin-watchdog),
        # that is when this process goes away, however it goes.
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._log, env=env, cwd=cwd,
                                         start_new_session=True)
        except BaseException:
            self._log.close()
            raise
        self._drain = None

    def wait_ready(self, deadline):
        buf = b""
        fd = self.proc.stdout.fileno()
        while True:
            nl = buf.find(b"\n")
            if nl >= 0:
                line, rest = buf[:nl].decode(errors="replace").strip(), buf[nl + 1:]
                if line.startswith("ready "):
                    self.port = int(line.split()[1])
                    if rest:
                        self._log.write(rest)
                    break
                self._log.write(buf[:nl + 1])
                buf = rest
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StackError(f"{self.name} did not become ready in time; log:\n"
                                 f"{self.log_tail()}")
            r, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise StackError(f"{self.name} exited ({self.proc.returncode}) before it "
                                     f"was ready; log:\n{self.log_tail()}")
                buf += chunk
            elif self.proc.poll() is not None:
                raise StackError(f"{self.name} exited ({self.proc.returncode}) before it was "
                                 f"ready; log:\n{self.log_tail()}")
        # keep draining stdout into the log so a chatty child never blocks on a full pipe
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()
        return self.port

    def _drain_stdout(self):
        try:
            for chunk in iter(lambda: os.read(self.proc.stdout.fileno(), 65536), b""):
                self._log.write(chunk)
                self._log.flush()
        except (OSError, ValueError):
            pass

    def log_tail(self, n=4000):
        try:
            self._log.flush()
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode(errors="replace")
        except OSError:
            return "(no log)"

    def stop(self, timeout=5.0):
        p = self.proc
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=5)
        for f in (p.stdin, p.stdout):
            try:
                if f:
                    f.close()
            except OSError:
                pass
        if self._drain is not None:
            self._drain.join(2)
        try:
            self._log.close()
        except OSError:
            pass


class LocalStack:
    """s3rver + dynalite (+ the verifying, fault-injecting proxy in front of each).

    fault_kinds: a list for both proxies or {"s3": [...], "dynamodb": [...]}; kinds are
    slowdown, throttling, throughput, internal, reset, slow (see awsproxy.py). Faults can also be
    changed while running: set_faults(fault_every=..., ...).
    latency_ms: {"s3": {"HEAD": 15, "PUT": 40, ...}, "dynamodb": {"*": 20}}, what each proxy adds
    to every request by HTTP method (awsproxy.py --latency); latency_includes_upstream: the
    stand-ins' own time counted inside it (--latency-includes-upstream). The S3 proxy answers
    412 to a PutObject with If-None-Match: * on an existing key, as S3 does and s3rver does not.

    Attributes once started: env (dict of AWS_* variables for the bootstrap and awscli),
    s3_url / dynamodb_url (what clients use: the proxies, or the servers when proxy=False),
    s3_upstream_url / dynamodb_upstream_url (the servers themselves), data_dir, log_dir.
    """

    def __init__(self, proxy=True, fault_rate=0.0, fault_every=0, verify_signatures=True,
                 buckets=("lake",), access_key="AKIDLOCALSTACK", secret_key=DEFAULT_SECRET,
                 session_token=None, region="us-east-1", seed=1, fault_kinds=None,
                 slow_seconds=1.5, dynalite_path=None, data_dir=None, keep_data=False,
                 verbose=False, latency_ms=None, latency_includes_upstream=False):
        self.proxy = proxy
        self.fault_rate = fault_rate
        self.fault_every = fault_every
        self.verify_signatures = verify_signatures
        self.buckets = tuple(buckets)
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.region = region
        self.seed = seed
        self.fault_kinds = fault_kinds
        self.slow_seconds = slow_seconds
        self.dynalite_path = dynalite_path
        self.keep_data = keep_data
        self.verbose = verbose
        self.latency_ms = latency_ms or {}
        self.latency_includes_upstream = latency_includes_upstream
        self._data_dir_arg = data_dir
        self._own_tmp = None
        self._children = []
        self._started = False
        self.env = {}
        self.s3_url = self.dynamodb_url = None
        self.s3_upstream_url = self.dynamodb_upstream_url = None
        self.s3_proxy_url = self.dynamodb_proxy_url = None

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if self._started:
            return self
        check_node_modules()
        t0 = time.monotonic()
        if self._data_dir_arg:
            self.data_dir = os.path.abspath(self._data_dir_arg)
            os.makedirs(self.data_dir, exist_ok=True)
        else:
            self._own_tmp = tempfile.mkdtemp(prefix="etl-stack-")
            self.data_dir = self._own_tmp
        self.log_dir = os.path.join(self.data_dir, "logs")
        os.makedirs(self.log_dir, exist_ok=True)
        self._started = True
        atexit.register(self.stop)
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _spawn(self, name, argv, env=None):
        child = _Child(name, argv, os.path.join(self.log_dir, name + ".log"), env=env,
                       cwd=SOURCE_DIR)
        self._children.append(child)
        return child

    def _start_all(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        node = shutil.which("node")
        s3_args = [node, os.path.join(STACK_SCRIPTS, "s3rver.js"), "--port", "0",
                   "--dir", os.path.join(self.data_dir, "s3"), "--stdin-watchdog",
                   "--access-key", f"{self.access_key}:{self.secret_key}"]
        for b in self.buckets:
            s3_args += ["--bucket", b]
        ddb_args = [node, os.path.join(STACK_SCRIPTS, "dynalite.js"), "--port", "0",
                    "--stdin-watchdog"]
        if self.dynalite_path:
            ddb_args += ["--path", self.dynalite_path]
        if self.verbose:
            s3_args.append("--verbose")
            ddb_args.append("--verbose")
        s3 = self._spawn("s3rver", s3_args)
        ddb = self._spawn("dynalite", ddb_args)
        self.s3_upstream_url = f"http://127.0.0.1:{s3.wait_ready(deadline)}"
        self.dynamodb_upstream_url = f"http://127.0.0.1:{ddb.wait_ready(deadline)}"

        if self.proxy:
            py = _python_with_botocore()
            penv = dict(os.environ)
            penv["AWSPROXY_SECRET_KEY"] = self.secret_key
            if self.session_token:
                penv["AWSPROXY_SESSION_TOKEN"] = self.session_token
            else:
                penv.pop("AWSPROXY_SESSION_TOKEN", None)
            proxies = []
            for service, upstream in (("s3", self.s3_upstream_url),
                                      ("dynamodb", self.dynamodb_upstream_url)):
                args = [py, PROXY_SCRIPT, "--listen", "127.0.0.1:0", "--upstream", upstream,
                        "--service", service, "--access-key", self.access_key,
                        "--region", self.region, "--seed", str(self.seed),
                        "--fault-every", str(self.fault_every),
                        "--fault-rate", str(self.fault_rate),
                        "--slow-seconds", str(self.slow_seconds), "--stdin-watchdog"]
                if self.fault_kinds:
                    kinds = self.fault_kinds
                    if isinstance(kinds, dict):
                        kinds = kinds.get(service) or ()
                    if kinds:
                        args += ["--fault-kinds", ",".join(kinds)]
                if not self.verify_signatures:
                    args.append("--no-verify")
                latency = self.latency_ms.get(service)
                if latency:
                    args += ["--latency", ",".join(f"{m}={ms}" for m, ms in latency.items())]
                if self.latency_includes_upstream:
                    args.append("--latency-includes-upstream")
                if self.verbose:
                    args.append("--verbose")
                proxies.append(self._spawn(f"awsproxy-{service}", args, env=penv))
            self.s3_proxy_url = f"http://127.0.0.1:{proxies[0].wait_ready(deadline)}"
            self.dynamodb_proxy_url = f"http://127.0.0.1:{proxies[1].wait_ready(deadline)}"
            self.s3_url, self.dynamodb_url = self.s3_proxy_url, self.dynamodb_proxy_url
        else:
            self.s3_url, self.dynamodb_url = self.s3_upstream_url, self.dynamodb_upstream_url

        env = {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_S3": self.s3_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        self.env = env

    def stop(self):
        if not self._started:
            return
        self._started = False
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass
        # proxies first (they sit in front), then the servers; SIGTERM all, then wait/kill.
        children, self._children = list(reversed(self._children)), []
        for c in children:
            if c.proc.poll() is None:
                try:
                    os.killpg(c.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for c in children:
            c.stop()
        if self._own_tmp and not self.keep_data:
            shutil.rmtree(self._own_tmp, ignore_errors=True)
            self._own_tmp = None

    def pids(self):
        return [c.proc.pid for c in self._children]

    def logs(self):
        return {c.name: c.log_tail() for c in self._children}

    # -- clients -------------------------------------------------------------------------

    def endpoint_for(self, service):
        return {"s3": self.s3_url, "s3api": self.s3_url, "dynamodb": self.dynamodb_url}[service]

    def aws_env(self, overrides=None):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("AWSPROXY_SECRET_KEY",)}
        env.update(self.env)
        # Isolate awscli from the user's ~/.aws and from pagers.
        env["AWS_CONFIG_FILE"] = os.path.join(self.data_dir, "aws-config-none")
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(self.data_dir, "aws-creds-none")
        env["AWS_PAGER"] = ""
        env["AWS_DEFAULT_OUTPUT"] = "json"
        for k, v in (overrides or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def aws_run(self, *args, env=None, input=None, timeout=120):
        """Runs awscli against the stack; returns the CompletedProcess (text)."""
        if not args:
            raise ValueError("aws() needs a service command")
        aws = shutil.which("aws")
        if aws is None:
            raise StackError("aws (awscli) is not on PATH: scripts/test.sh installs Debian's "
                             "awscli")
        cmd = [aws, *args]
        if args[0] in ("s3", "s3api", "dynamodb") and "--endpoint-url" not in args:
            cmd += ["--endpoint-url", self.endpoint_for(args[0])]
        return subprocess.run(cmd, env=self.aws_env(env), input=input, capture_output=True,
                              text=True, timeout=timeout)

    def aws(self, *args, env=None, input=None, timeout=120, check=True):
        """Runs awscli; returns its output parsed as JSON when it is JSON, else the text (None
        when empty). Raises AwsCliError on a non-zero exit unless check=False (then returns
        the CompletedProcess)."""
        p = self.aws_run(*args, env=env, input=input, timeout=timeout)
        if p.returncode != 0:
            if check:
                raise AwsCliError(list(args), p.returncode, p.stdout, p.stderr)
            return p
        out = p.stdout.strip()
        if not out:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return p.stdout

    def s3_objects(self, bucket, prefix=None):
        """{key: ListObjectsV2 entry} of the objects in bucket (under prefix), in key order."""
        args = ["s3api", "list-objects-v2", "--bucket", bucket]
        if prefix is not None:
            args += ["--prefix", prefix]
        out = self.aws(*args)
        return {o["Key"]: o for o in (out or {}).get("Contents", [])}

    def s3_get(self, bucket, key):
        """The bytes of one object (GetObject through awscli)."""
        fd, path = tempfile.mkstemp(prefix="get-", dir=self.data_dir)
        os.close(fd)
        try:
            self.aws("s3api", "get-object", "--bucket", bucket, "--key", key, path)
            with open(path, "rb") as f:
                return f.read()
        finally:
            os.unlink(path)

    def seed_table(self, table, items, seed=None, pad=0):
        """Creates table (pk S, sk N) in dynalite itself and writes `items` generated items
        into it: seed_table.py, under Debian's python3 (botocore). pad: bytes of an extra string
        attribute in every item."""
        cmd = ["/usr/bin/python3", SEED_SCRIPT, "--endpoint", self.dynamodb_upstream_url,
               "--table", table, "--items", str(items)]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        if pad:
            cmd += ["--pad", str(pad)]
        subprocess.run(cmd, env=dict(os.environ, **self.env), check=True, capture_output=True)

    # -- proxy control -------------------------------------------------------------------

    def _proxy_call(self, url, path, data=None):
        req = urllib.request.Request(url + path, data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def proxy_stats(self, reset=False):
        """Both proxies' stats: {"s3": {...}, "dynamodb": {...}} plus totals "requests",
        "faults", "signature_failures" and "failures" (each tagged with its service)."""
        if not self.proxy:
            raise StackError("proxy_stats(): this LocalStack runs without proxies")
        out = {"requests": 0, "faults": 0, "signature_failures": 0, "failures": [],
               "upstream_errors": 0}
        for service, url in (("s3", self.s3_proxy_url), ("dynamodb", self.dynamodb_proxy_url)):
            st = self._proxy_call(url, "/__proxy/stats")
            out[service] = st
            for k in ("requests", "faults", "signature_failures", "upstream_errors"):
                out[k] += st[k]
            out["failures"] += [dict(f, service=service) for f in st["failures"]]
            if reset:
                self._proxy_call(url, "/__proxy/reset", b"{}")
        return out

    def reset_proxy_stats(self):
        for url in (self.s3_proxy_url, self.dynamodb_proxy_url):
            self._proxy_call(url, "/__proxy/reset", b"{}")

    def set_faults(self, service=None, **kw):
        """Changes fault injection at run time: fault_every, fault_rate, seed, fault_kinds,
        slow_seconds, verify, fault_match (a regex on "METHOD /decoded/path?query" for S3,
        "Operation TableName" for DynamoDB: matching requests always fault, with
        fault_match_kind), rules (a list of {"name", "match", "kind", "times"}: each distinct
        matching request faults on its first `times` attempts, null = all; their counts are in
        proxy_stats()[service]["rules"]; [] clears). service None = both proxies."""
        targets = [("s3", self.s3_proxy_url), ("dynamodb", self.dynamodb_proxy_url)]
        res = {}
        for name, url in targets:
            if service in (None, name):
                res[name] = self._proxy_call(url, "/__proxy/config", json.dumps(kw).encode())
        return res


if __name__ == "__main__":
    # Smoke run: start, print the env, wait for Ctrl-C.
    with LocalStack() as st:
        print(f"# started in {st.startup_seconds:.2f} s; Ctrl-C stops")
        for k, v in st.env.items():
            print(f"export {k}={v}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
