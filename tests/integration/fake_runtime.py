#!/usr/bin/env python3
"""A scriptable Lambda custom runtime for testing scripts/local-invoke (Python 3 standard library only).

It talks HTTP/1.1 keep-alive to $AWS_LAMBDA_RUNTIME_API over one http.client connection, and does what each
event asks, by its "mode":
  echo              respond with the event, the /next headers, whether the body came chunked, pid, env, now_ms
  size              respond {"event_bytes": N}
  error             POST /error: body = event["body"] (a string) or a default error with extra keys;
                    Content-Type = event["content_type"] (default application/json);
                    Lambda-Runtime-Function-Error-Type = event["error_type"] (default Handled.TestError)
  sleep             sleep event["seconds"] (or until the file event["until_file"] exists), then respond;
                    "spawn_child": true first starts `sleep 60` in its group
  exit              exit with event["code"] before answering, or kill itself with event["signal"] (e.g. "SIGKILL")
  respond_size      respond event["size"] bytes of "x" (big_response: 6291557 bytes); on 413, post again once
  bad_mode          respond with Lambda-Runtime-Function-Response-Mode: buffered, then post again
  probe             a series of wrong calls (logged), then a chunked streaming response, then more wrong calls
  post_stale        post a response to the newest request id in the log that is not its own, then respond
  work_after_response  respond, print "FAKE: calling next" to stderr after event["seconds"], then /next
  exit_after_response  respond, then exit 0
  alloc             touch event["mb"] MiB of memory, then respond (or, with "exit": true, exit 4)
  post_while_idle   respond, go back to /next, and 0.3 s later (or once the file event["after_file"] exists)
                    post to the finished id on a second connection
Environment:
  FAKE_RUNTIME_LOG     JSON-lines log of every start and API call (status, body, content type, local port)
  FAKE_INIT_SLEEP      seconds to sleep before the first /next
  FAKE_INIT_ERROR      "exit": POST /init/error, then exit 1; "next": also call /next and /init/error again
                       (each logged), then exit 1
  FAKE_INIT_ERROR_ONCE a marker file: only the first process (which creates it) reports the init error
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

LOG = os.environ.get("FAKE_RUNTIME_LOG")
host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
conn = http.client.HTTPConnection(host, int(port))


def log(entry):
    if LOG:
        entry["pid"] = os.getpid()
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def call(method, path, body=None, headers=None, chunks=None, tag=None):
    """One request on the kept-alive connection; logs and returns (response, body bytes)."""
    headers = dict(headers or {})
    if chunks is not None:
        headers["Transfer-Encoding"] = "chunked"
        conn.request(method, "/2018-06-01" + path, body=iter(chunks), headers=headers, encode_chunked=True)
    else:
        conn.request(method, "/2018-06-01" + path, body=body, headers=headers)
    local_port = conn.sock.getsockname()[1]  # before getresponse(), which closes on "Connection: close"
    resp = conn.getresponse()
    data = resp.read()
    log({"call": f"{method} {path}", "tag": tag, "status": resp.status,
         "body": data.decode("utf-8", "replace") if len(data) < 4096 else f"<{len(data)} bytes>",
         "content_type": resp.getheader("Content-Type"), "port": local_port,
         "request_id": resp.getheader("Lambda-Runtime-Aws-Request-Id")})
    return resp, data


def respond(rid, body, headers=None, tag="response"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return call("POST", f"/runtime/invocation/{rid}/response", body, headers, tag=tag)


def init():
    log({"event": "start", "pgid": os.getpgid(0), "argv0": sys.argv[0], "cwd": os.getcwd()})
    mode = os.environ.get("FAKE_INIT_ERROR")
    marker = os.environ.get("FAKE_INIT_ERROR_ONCE")
    if mode and marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            mode = None
    if mode:
        body = json.dumps({"errorMessage": "bad config: TABLE_NAME unset", "errorType": "Runtime.ConfigInvalid"})
        call("POST", "/runtime/init/error", body.encode(), {"Lambda-Runtime-Function-Error-Type": "Runtime.ConfigInvalid"},
             tag="init_error")
        if mode == "next":
            call("GET", "/runtime/invocation/next", tag="next_after_init_error")
            call("POST", "/runtime/init/error", b"{}", tag="init_error_again")
        sys.exit(1)
    time.sleep(float(os.environ.get("FAKE_INIT_SLEEP", "0")))


def handle(rid, event, resp, raw):
    mode = event.get("mode", "echo")
    if mode == "echo":
        respond(rid, {"mode": "echo", "request_id": rid, "event": event, "body_len": len(raw),
                      "headers": {k.lower(): v for k, v in resp.getheaders()}, "chunked": bool(resp.chunked),
                      "pid": os.getpid(), "now_ms": int(time.time() * 1000), "env": dict(os.environ)})
    elif mode == "size":
        respond(rid, {"event_bytes": len(raw), "chunked": bool(resp.chunked)})
    elif mode == "error":
        body = event.get("body")
        if body is None:
            body = json.dumps({"errorMessage": "boom", "errorType": "MyError", "stackTrace": ["a", "b"],
                               "errorCause": {"paths": []}, "extra": 1})
        headers = {"Content-Type": event.get("content_type", "application/json"),
                   "Lambda-Runtime-Function-Error-Type": event.get("error_type", "Handled.TestError")}
        call("POST", f"/runtime/invocation/{rid}/error", body.encode(), headers, tag="error")
    elif mode == "sleep":
        if event.get("spawn_child"):
            child = subprocess.Popen(["sleep", "60"])
            log({"event": "child", "child_pid": child.pid})
        wait(event, "until_file")
        respond(rid, {"slept": event.get("seconds", "until_file")})
    elif mode == "exit":
        sys.stdout.flush()
        if "signal" in event:
            os.kill(os.getpid(), getattr(signal, event["signal"]))
        os._exit(int(event["code"]))
    elif mode in ("respond_size", "big_response"):
        size = int(event.get("size", 6291557))
        r, _ = respond(rid, b"x" * size, tag="big")
        if r.status == 413:
            respond(rid, b'"retry"', tag="retry")
    elif mode == "bad_mode":
        respond(rid, b'"buffered?"', {"Lambda-Runtime-Function-Response-Mode": "buffered"}, tag="bad_mode")
        respond(rid, b'"again"', tag="after_bad_mode")
    elif mode == "probe":
        call("GET", "/runtime/invocation/next", tag="next_again")  # same event and id, as the RIE does
        respond("not-" + rid, b'"wrong id"', tag="wrong_id")
        call("GET", f"/runtime/invocation/{rid}/response", tag="wrong_method")
        call("GET", "/runtime/no/such/path", tag="unknown_path")
        call("POST", "/runtime/init/error", b"{}", tag="init_error_after_next")
        call("POST", f"/runtime/invocation/{rid}/response", headers={"Lambda-Runtime-Function-Response-Mode": "streaming"},
             chunks=[b'{"streamed":', b' [1, 2', b", 3]}"], tag="streamed")
        respond(rid, b'"second"', tag="second_response")
        call("POST", f"/runtime/invocation/{rid}/error", b"{}", tag="error_after_response")
    elif mode == "post_stale":
        with open(LOG, encoding="utf-8") as f:
            seen = [json.loads(line).get("request_id") for line in f]
        stale = next((r for r in reversed(seen) if r and r != rid), None)
        status = respond(stale, b'"stale"', tag="stale")[0].status if stale else None
        respond(rid, {"stale_id": stale, "stale_status": status})
    elif mode == "work_after_response":
        respond(rid, {"worked": True})
        time.sleep(float(event.get("seconds", 0.3)))
        log({"event": "calling_next", "t": time.time()})
        print("FAKE: calling next", file=sys.stderr, flush=True)
    elif mode == "exit_after_response":
        respond(rid, {"pid": os.getpid()})
        os._exit(0)
    elif mode == "alloc":
        block = bytearray(int(event["mb"]) << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        if event.get("exit"):
            os._exit(4)  # the peak is then known only from the reaped process's rusage
        respond(rid, {"allocated_mb": event["mb"]})
    elif mode == "post_while_idle":
        respond(rid, {"posting_later": rid})

        def post_later():  # on a second connection, once this invoke is over and /next is waiting
            wait(event, "after_file")
            late = http.client.HTTPConnection(host, int(port))
            try:
                late.request("POST", f"/2018-06-01/runtime/invocation/{rid}/response", body=b'"late"')
                r = late.getresponse()
                log({"tag": "late_post", "status": r.status, "body": r.read().decode()})
            finally:
                late.close()

        threading.Thread(target=post_later).start()
    else:
        respond(rid, {"unknown_mode": mode})


def wait(event, file_key):
    """Sleeps event["seconds"] (default 0.3), or until the file event[file_key] exists (at most
    60 s): a test creates it once it has seen what must happen first, whatever the load."""
    path = event.get(file_key)
    if path is None:
        time.sleep(float(event.get("seconds", 0.3)))
        return
    deadline = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def main():
    init()
    print(f"FAKE: ready pid {os.getpid()}", file=sys.stderr, flush=True)
    while True:
        resp, raw = call("GET", "/runtime/invocation/next", tag="next")
        if resp.status != 200:
            sys.exit(2)
        rid = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        try:
            event = json.loads(raw)
        except ValueError:
            event = {}
        handle(rid, event if isinstance(event, dict) else {}, resp, raw)


if __name__ == "__main__":
    main()
