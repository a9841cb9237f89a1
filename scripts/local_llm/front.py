#!/usr/bin/env python3
"""A thin adapter that lets openclaw talk to llama.cpp's own server as if it were Ollama.

scripts/local-llm runs this file. It starts one llama.cpp server (PyPI xllamacpp, inside this
process, on an internal loopback port) per model name, and on its public port translates the
part of Ollama's API that `openclaw` and the project's tests use into llama.cpp's
OpenAI-compatible API:

  GET  /api/version  {"version": ...}, the liveness probe of scripts/local-llm
  GET  /api/tags     name, size, details (parameter_size, quantization_level), capabilities
  POST /api/show     capabilities and model_info: the GGUF header, as Ollama reports it, so
                     discovery finds `<arch>.context_length`, `tools` and `thinking`
  GET  /api/ps       the context each model runs with (`openclaw models status`, `doctor`)
  POST /api/chat     -> /v1/chat/completions; the SSE stream comes back as Ollama NDJSON
                     (text and thinking as they arrive, tool calls whole, then `done`)
  POST /api/embed    -> /v1/embeddings, inputs cut to the model's window unless truncate:false
  *    /v1/...       forwarded to the llama.cpp server of the body's `model`, answer unchanged

What llama.cpp can do itself is set when its server starts instead of patched into every
request: temperature 0, the max_tokens default (--max-tokens), the prompt cache
(--no-prompt-cache), each name's chat template (templates/) and the reasoning budget.

Deliberately not done. This is not an Ollama emulator: the full Ollama shapes, with errors,
delays and faults, live in the Rust test server (crates/test-support, its fixtures in
crates/test-support/fixtures/ollama/ and llamacpp-shim/). So there is no `GET /`, HEAD,
/api/generate, /api/pull or other model management; no digests, dates, durations or verbose
/api/show; no 400 for `think` on a model without thinking; llama.cpp's `reasoning_content` is
not renamed to Ollama's `reasoning` on /v1 (openclaw reads both); anything else is a 404.

Process management, which scripts/local-llm and crates/test-support/src/local_backend.rs rely
on: front.json in --state-dir (pid, port, backend ports, settings; written once ready), which
--check-settings compares with the settings a `start` asks for; --port-fallback; and
--idle-exit SECONDS: exit once idle that long while nobody holds a lease, a shared flock on
<state-dir>/lease.lock that every user takes before its first request (the kernel drops it when
its holder dies, so a lease never goes stale). GET /api/version does not count as use.

Standard library only, plus xllamacpp. More in README.md beside this file.
"""

import argparse
import datetime
import fcntl
import http.client
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
OLLAMA_VERSION = "0.12.0"
UPSTREAM_TIMEOUT = 900  # seconds without a byte from llama.cpp before giving up

# The chat models: one GGUF under two names, (name, template file, thinking?). The first one
# answers /v1 requests that name no model.
CHAT_MODELS = [
    ("smollm2:135m", "smollm2.jinja", False),
    ("smollm2-think:135m", "smollm2-think.jinja", True),
]
# The embedding model (all-MiniLM-L6-v2, converted to GGUF at install), with --embed-model-path.
EMBED_MODEL = "all-minilm:l6-v2"
EMBED_CTX = 512  # BERT's own window


def log(msg):
    ts = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    sys.stderr.write(f"[front {ts}] {msg}\n")
    sys.stderr.flush()


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------
# the models and their llama.cpp servers


def gguf_metadata(path):
    """The key/values of a GGUF (v2/v3) header: what Ollama reports as model_info.

    Arrays (the tokenizer's) are left out, as Ollama leaves them out unless asked to be verbose.
    """
    scalars = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
               10: "<Q", 11: "<q", 12: "<d"}
    with open(path, "rb") as f:
        def read(fmt):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def value(vtype):
            if vtype in scalars:
                return read(scalars[vtype])
            if vtype == 8:  # string
                return f.read(read("<Q")).decode("utf-8", "replace")
            etype, count = read("<I"), read("<Q")  # array
            if etype in scalars:
                f.seek(struct.calcsize(scalars[etype]) * count, 1)
            else:
                for _ in range(count):
                    value(etype)
            return None

        if f.read(4) != b"GGUF" or read("<I") not in (2, 3):
            raise ValueError(f"{path}: not a GGUF v2/v3 file")
        read("<Q")  # tensor count
        kv = {}
        for _ in range(read("<Q")):
            key = value(8)
            v = value(read("<I"))
            if v is not None and key != "tokenizer.chat_template":
                kv[key] = v
        return kv


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Model:
    """One model name, served by its own llama.cpp server."""

    def __init__(self, name, path, template=None, think=False):
        self.name, self.path, self.template, self.think = name, path, template, think
        self.embedding = template is None
        self.kv = gguf_metadata(path)
        # Ollama's rule for a GGUF chat template (server/images.go)
        self.capabilities = ["embedding"] if self.embedding else ["completion"]
        if template and ("tools" in template or "tool_call" in template):
            self.capabilities.append("tools")
        if template and "<think>" in template and "</think>" in template:
            self.capabilities.append("thinking")
        self.port = self.server = None
        self.meta = {}  # llama.cpp's own account of the loaded model (/v1/models)

    def start(self, args):
        import xllamacpp

        p = xllamacpp.CommonParams()
        p.model.path = self.path
        p.model_alias = {self.name}
        p.hostnames = ["127.0.0.1"]
        p.n_parallel = 1
        p.cpuparams.n_threads = args.threads
        p.cpuparams_batch.n_threads = args.threads
        p.ui = False
        p.sampling.temp = 0.0  # the default for requests that set none
        # Reusing a cached prefix changes the batch shapes and so, slightly, the numerics:
        # without it the same request always gets the same answer, whatever came before.
        p.cache_prompt = not args.no_prompt_cache
        if self.embedding:
            p.embedding = True  # one vector per input: mean pooling, L2-normalised, as Ollama's
            p.n_ctx = p.n_batch = p.n_ubatch = EMBED_CTX  # a non-causal model reads an input whole
        else:
            p.n_ctx = args.ctx
            # a 135M model can repeat itself until the context is full (minutes): a default cap
            p.n_predict = args.max_tokens if args.max_tokens > 0 else -1
            p.use_jinja = True
            p.chat_template = self.template
            if self.think:
                p.sampling.reasoning_budget_tokens = args.think_budget
        for attempt in range(5):  # a port picked free can be taken in between: retry
            p.port = free_port()
            try:
                self.server, self.port = xllamacpp.Server(p), p.port
                return
            except Exception as e:  # noqa: BLE001 - xllamacpp raises plain RuntimeError
                log(f"llama.cpp server for {self.name} failed on port {p.port}: {e}")
        raise RuntimeError(f"could not start a llama.cpp server for {self.name}")

    def wait_ready(self, deadline):
        while time.time() < deadline:
            try:
                self.meta = llama_json(self, "GET", "/v1/models")["data"][0]["meta"]
                return
            except (OSError, ApiError, ValueError, KeyError, IndexError):
                time.sleep(0.1)
        raise RuntimeError(f"llama.cpp server for {self.name} not ready on port {self.port}")

    def details(self):
        return {
            "format": "gguf",
            "family": self.kv.get("general.architecture", ""),
            "parameter_size": f"{self.meta.get('n_params', 0) / 1e6:.3g}M",  # small models only
            "quantization_level": self.meta.get("ftype", ""),
        }

    def tag(self):
        return {"name": self.name, "model": self.name, "size": os.path.getsize(self.path),
                "details": self.details(), "capabilities": self.capabilities}

    def show(self):
        info = dict(self.kv, **{"general.parameter_count": self.meta.get("n_params")})
        return {"details": self.details(), "model_info": info, "capabilities": self.capabilities}

    def ps(self):
        return {"name": self.name, "model": self.name, "context_length": self.meta.get("n_ctx")}


def upstream(model, method, path, body=None):
    """Sends a request to the model's llama.cpp server; the caller closes the connection."""
    conn = http.client.HTTPConnection("127.0.0.1", model.port, timeout=UPSTREAM_TIMEOUT)
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    return conn, conn.getresponse()


def upstream_error(resp, raw):
    """llama.cpp's error answer as an ApiError with its message."""
    try:
        e = json.loads(raw).get("error")
        message = e.get("message") if isinstance(e, dict) else e
    except (ValueError, AttributeError):
        message = None
    text = raw.decode("utf-8", "replace").strip()
    return ApiError(resp.status, message or text or f"llama.cpp answered {resp.status}")


def llama_json(model, method, path, body=None):
    conn, resp = upstream(model, method, path, body)
    try:
        raw = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise upstream_error(resp, raw)
    return json.loads(raw)


# ---------------------------------------------------------------------------------------
# translation: Ollama's /api/chat and /api/embed <-> llama.cpp's OpenAI-compatible API

SAMPLING_OPTIONS = ("temperature", "top_p", "top_k", "min_p", "seed", "stop", "repeat_penalty",
                    "presence_penalty", "frequency_penalty")


def set_thinking(body, on):
    """The think template opens `<think>` unless its `enable_thinking` is false."""
    kwargs = dict(body.get("chat_template_kwargs") or {}, enable_thinking=on)
    body["chat_template_kwargs"] = kwargs


def chat_request(req):
    """An Ollama /api/chat body as a streaming /v1/chat/completions body."""
    # llama.cpp takes Ollama's messages as they are (object arguments, `tool_name`, no call
    # ids) once each tool call says its OpenAI `type`.
    messages = [dict(m, tool_calls=[dict(c, type="function") for c in m["tool_calls"]])
                if m.get("tool_calls") else m for m in req.get("messages") or []]
    opts = req.get("options") or {}
    body = {k: opts[k] for k in SAMPLING_OPTIONS if opts.get(k) is not None}
    body.update(messages=messages, stream=True, stream_options={"include_usage": True})
    if req.get("tools"):
        body["tools"] = req["tools"]
    if isinstance(opts.get("num_predict"), int) and opts["num_predict"] >= 0:
        body["max_tokens"] = opts["num_predict"]
    # options.num_ctx is ignored: a llama.cpp server's context is fixed when it starts
    fmt = req.get("format")
    if fmt == "json":
        body["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, dict):
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "format", "schema": fmt}}
    if "think" in req:
        set_thinking(body, req["think"] not in (False, None, "none"))
    return body


def sse_events(resp):
    """The JSON events of llama.cpp's SSE stream as they arrive; an `error:` line ends it."""
    for line in resp:
        field, _, payload = line.partition(b":")
        if field not in (b"data", b"error") or payload.strip() == b"[DONE]":
            continue
        try:
            event = json.loads(payload)
        except ValueError:
            continue
        yield event if field == b"data" else {"error": event}


def ollama_records(name, events):
    """llama.cpp's chat-completion events as Ollama /api/chat records.

    Text and thinking go out as they come; tool calls, which llama.cpp streams in pieces, go
    out whole in one record at the end, as Ollama sends them; then the `done` record.
    """
    calls, finish, usage = {}, None, {}

    def record(**message):
        return {"model": name, "message": dict(role="assistant", **message), "done": False}

    for event in events:
        if "error" in event:
            e = event["error"]
            yield {"error": e.get("message", str(e)) if isinstance(e, dict) else str(e)}
            return
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                yield record(content="", thinking=delta["reasoning_content"])
            if delta.get("content"):
                yield record(content=delta["content"])
            for tc in delta.get("tool_calls") or []:
                fn = tc.get("function") or {}
                call = calls.setdefault(tc.get("index", len(calls)), ["", ""])
                call[0] += fn.get("name") or ""
                call[1] += fn.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    if calls:
        yield record(content="", tool_calls=[
            {"function": {"name": n, "arguments": parse_arguments(n, a)}}
            for n, a in (calls[i] for i in sorted(calls))])
    yield {"model": name, "message": {"role": "assistant", "content": ""}, "done": True,
           "done_reason": "length" if finish == "length" else "stop",
           "prompt_eval_count": usage.get("prompt_tokens", 0),
           "eval_count": usage.get("completion_tokens", 0)}


def parse_arguments(name, raw):
    try:
        return json.loads(raw.strip() or "{}")
    except ValueError:
        log(f"tool call {name}: arguments are not JSON: {raw!r}")
        return {}


def merged(records):
    """The records of a reply as the one object `stream: false` answers with."""
    message = {"role": "assistant", "content": ""}
    for r in records:
        if "error" in r:
            raise ApiError(500, r["error"])
        m = r["message"]
        message["content"] += m["content"]
        if m.get("thinking"):
            message["thinking"] = message.get("thinking", "") + m["thinking"]
        if m.get("tool_calls"):
            message["tool_calls"] = m["tool_calls"]
    return dict(r, message=message)


def cut_to_window(model, text):
    """`text`, or its tokens cut to the window keeping the closing [SEP] (Ollama's `truncate`)."""
    if len(text) < EMBED_CTX:  # fewer characters than the window has tokens: it fits
        return text
    tokens = llama_json(model, "POST", "/tokenize", {"content": text, "add_special": True})["tokens"]
    return text if len(tokens) <= EMBED_CTX else tokens[: EMBED_CTX - 1] + tokens[-1:]


# ---------------------------------------------------------------------------------------
# the HTTP front


class Front(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked replies stream; connections are kept alive
    models = {}  # name -> Model, set in main

    def log_message(self, fmt, *args):
        log(f"{self.client_address[0]} {fmt % args}")

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        self.started = False  # whether a status line went out
        ACTIVITY.begin()
        try:
            self.route(path)
        except ApiError as e:
            self.send_error_json(path, e.status, str(e))
        except (BrokenPipeError, ConnectionResetError):
            log(f"client went away during {self.command} {path}")
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - answer 500 rather than drop the connection
            log(f"error in {self.command} {path}: {e}\n{traceback.format_exc()}")
            self.close_connection = True
            if not self.started:
                self.send_error_json(path, 500, str(e))
        finally:
            # a liveness probe does not keep the backend alive: watching it changes nothing
            ACTIVITY.end(counts=path != "/api/version")

    do_POST = do_GET

    def route(self, path):
        body = self.read_json()
        if path.startswith("/v1/"):
            return self.forward(body)
        if self.command == "GET" and path == "/api/version":
            return self.send_json({"version": OLLAMA_VERSION})
        if self.command == "GET" and path == "/api/tags":
            return self.send_json({"models": [m.tag() for m in self.models.values()]})
        if self.command == "GET" and path == "/api/ps":
            return self.send_json({"models": [m.ps() for m in self.models.values()]})
        if self.command == "POST" and path == "/api/show":
            return self.send_json(self.model(body.get("model")).show())
        if self.command == "POST" and path == "/api/chat":
            return self.chat(self.model(body.get("model")), body)
        if self.command == "POST" and path == "/api/embed":
            return self.embed(self.model(body.get("model")), body)
        raise ApiError(404, f"{self.command} {path} is not served here (see scripts/local_llm/front.py)")

    def model(self, name):
        if name not in self.models:
            raise ApiError(404, f"model '{name}' not found")
        return self.models[name]

    def chat(self, model, req):
        conn, resp = upstream(model, "POST", "/v1/chat/completions", chat_request(req))
        try:
            if resp.status != 200:
                raise upstream_error(resp, resp.read())
            records = ollama_records(model.name, sse_events(resp))
            if req.get("stream", True) is False:
                return self.send_json(merged(records))
            self.start_chunked(200, "application/x-ndjson")
            for r in records:
                self.write_chunk(json.dumps(r).encode() + b"\n")
            self.end_chunked()
        finally:
            conn.close()

    def embed(self, model, req):
        inputs = req.get("input") or []
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if req.get("truncate", True) is not False:
            inputs = [cut_to_window(model, text) for text in inputs]
        out = llama_json(model, "POST", "/v1/embeddings", {"input": inputs})
        data = sorted(out["data"], key=lambda d: d.get("index", 0))
        self.send_json({"model": model.name, "embeddings": [d["embedding"] for d in data],
                        "prompt_eval_count": (out.get("usage") or {}).get("prompt_tokens", 0)})

    def forward(self, body):
        """/v1/...: to the server of the body's model (the first chat model if none), streamed back."""
        model = self.model(body.get("model") or CHAT_MODELS[0][0])
        if "reasoning_effort" in body:
            body = dict(body)
            set_thinking(body, body.pop("reasoning_effort") != "none")
        conn, resp = upstream(model, self.command, self.path, body or None)
        try:
            self.start_chunked(resp.status, resp.getheader("Content-Type", "application/json"))
            while chunk := resp.read1(65536):
                self.write_chunk(chunk)
            self.end_chunked()
        finally:
            conn.close()

    # --- plumbing ---------------------------------------------------------------------

    def read_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise ApiError(400, f"invalid JSON body: {e}")
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object")
        return body

    def send_json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.started = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, path, status, message):
        """Ollama's error shape, or OpenAI's on /v1."""
        error = {"message": message, "type": "invalid_request_error"} if path.startswith("/v1/") else message
        try:
            self.send_json({"error": error}, status)
        except OSError:
            pass

    def start_chunked(self, status, ctype):
        self.started = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# ---------------------------------------------------------------------------------------
# process management: settings, idle exit under leases, start-up


class Activity:
    """Requests in flight and when the last one ended, for the idle watchdog."""

    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.last_end = time.monotonic()

    def begin(self):
        with self.lock:
            self.in_flight += 1

    def end(self, counts=True):
        with self.lock:
            self.in_flight -= 1
            if counts:
                self.last_end = time.monotonic()

    def restart(self):
        with self.lock:
            self.last_end = time.monotonic()

    def idle_for(self):
        """Seconds since the last request ended, or None while one is in flight."""
        with self.lock:
            return None if self.in_flight else time.monotonic() - self.last_end


ACTIVITY = Activity()


def settings_of(args):
    """What a reply depends on. A running front is reused only when these match."""
    return {
        "models": [name for name, _, _ in CHAT_MODELS] + ([EMBED_MODEL] if args.embed_model_path else []),
        "ctx": args.ctx,
        "max_tokens": args.max_tokens,
        "think_budget": args.think_budget,
        "prompt_cache": not args.no_prompt_cache,
    }


def check_settings(ready_file, wanted):
    """--check-settings: exit 0 if the running front's settings are `wanted`, else say how they differ."""
    try:
        with open(ready_file) as f:
            running = json.load(f).get("settings")
    except (OSError, ValueError) as e:
        print(f"cannot read {ready_file}: {e}")
        return 1
    if not isinstance(running, dict):
        print("it records no settings: it was started by an older scripts/local-llm")
        return 1
    diffs = [f"{k} {json.dumps(running.get(k))}, asked {json.dumps(v)}"
             for k, v in wanted.items() if running.get(k) != v]
    if diffs:
        print("; ".join(diffs))
        return 1
    return 0


def idle_watchdog(seconds, lease_file, own_files):
    """Exit once idle for `seconds` while nobody holds a lease (a shared flock on lease_file).

    The exclusive lock is taken without waiting and kept until the process is gone, so no
    lease can be taken between the decision and the exit; the ready and pid files are removed
    under it, so a client that gets its lease afterwards starts a new front instead of being
    handed this one's address.
    """
    fd = os.open(lease_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    period = min(1.0, seconds / 4)
    told = False  # said once per idle stretch that a lease keeps it up
    while True:
        time.sleep(period)
        idle = ACTIVITY.idle_for()
        if idle is None or idle < seconds:
            told = False
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if not told:
                log(f"idle {idle:.0f} s, but a lease is held: staying up")
                told = True
            continue
        idle = ACTIVITY.idle_for()  # a client without a lease may have asked meanwhile
        if idle is None or idle < seconds:
            fcntl.flock(fd, fcntl.LOCK_UN)
            continue
        log(f"idle {idle:.0f} s, no leases: exiting")
        for path in own_files:
            try:
                os.unlink(path)
            except OSError:
                pass
        os._exit(0)


def bind_front(host, port, fallback):
    try:
        return Front((host, port), Handler)
    except OSError as e:
        if not fallback:
            raise SystemExit(f"front: cannot listen on {host}:{port}: {e}")
        log(f"{host}:{port} is taken ({e.strerror}); picking a free port")
        return Front((host, 0), Handler)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=11434)
    ap.add_argument("--port-fallback", action="store_true", help="if --port is taken, listen on a free port")
    ap.add_argument("--state-dir")
    ap.add_argument("--model-path", help="the chat models' GGUF file")
    ap.add_argument("--embed-model-path", help=f"the embedding model's GGUF, served as {EMBED_MODEL}")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--think-budget", type=int, default=24, help="reasoning tokens of the -think model")
    ap.add_argument("--max-tokens", type=int, default=512, help="max_tokens for requests that set none (0: no cap)")
    ap.add_argument("--no-prompt-cache", action="store_true",
                    help="evaluate every prompt afresh: slower, but answers independent of earlier requests")
    ap.add_argument("--idle-exit", type=float, default=0, metavar="SECONDS",
                    help="exit after SECONDS without a request while no lease is held (0: never)")
    ap.add_argument("--check-settings", metavar="FRONT_JSON",
                    help="only compare the settings recorded in FRONT_JSON with these arguments' and exit")
    args = ap.parse_args()
    if args.check_settings:
        sys.exit(check_settings(args.check_settings, settings_of(args)))
    if not args.state_dir or not args.model_path:
        ap.error("--state-dir and --model-path are required")

    os.makedirs(args.state_dir, exist_ok=True)
    ready_file = os.path.join(args.state_dir, "front.json")
    pid_file = os.path.join(args.state_dir, "front.pid")
    lease_file = os.path.join(args.state_dir, "lease.lock")
    try:
        os.unlink(ready_file)
    except FileNotFoundError:
        pass

    def on_signal(signum, _frame):
        # xllamacpp.Server's destructor can hang: leave at once
        try:
            os.unlink(ready_file)
        except OSError:
            pass
        log(f"signal {signum}: exiting")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    t0 = time.time()
    httpd = bind_front(args.host, args.port, args.port_fallback)
    port = httpd.server_address[1]
    log(f"bound {args.host}:{port}")

    models = []
    for name, template_file, think in CHAT_MODELS:
        with open(os.path.join(HERE, "templates", template_file)) as f:
            models.append(Model(name, args.model_path, f.read(), think))
    if args.embed_model_path:
        models.append(Model(EMBED_MODEL, args.embed_model_path))
    for m in models:
        m.start(args)
    deadline = time.time() + 60
    for m in models:
        m.wait_ready(deadline)
        log(f"llama.cpp for {m.name} on 127.0.0.1:{m.port} ({', '.join(m.capabilities)})")
    Handler.models = {m.name: m for m in models}

    info = {
        "pid": os.getpid(),
        "port": port,
        "backends": {m.name: m.port for m in models},
        "settings": settings_of(args),
        "idle_exit": args.idle_exit,
    }
    tmp = ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, ready_file)
    log(f"listening on http://{args.host}:{port} (ready in {time.time() - t0:.1f}s)")
    if args.idle_exit > 0:
        ACTIVITY.restart()
        log(f"exits after {args.idle_exit:g} s idle with no lease on {lease_file}")
        threading.Thread(target=idle_watchdog, name="idle-watchdog", daemon=True,
                         args=(args.idle_exit, lease_file, [ready_file, pid_file])).start()
    httpd.serve_forever()


if __name__ == "__main__":
    main()
