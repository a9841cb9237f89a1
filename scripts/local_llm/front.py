#!/usr/bin/env python3
"""Ollama-shaped HTTP front over real llama.cpp servers (xllamacpp), for tests and demos.

One process: it starts one llama.cpp server per model name in-process (xllamacpp.Server, on
internal loopback ports), then serves on the public port:

  GET  /                      "Ollama is running"
  GET  /api/version           {"version": "0.12.0"}
  GET  /api/tags              both model names, built from the GGUF file
  POST /api/show              model_info from the GGUF header, template, capabilities
  GET  /api/ps                both models (always loaded)
  POST /api/chat              translated to /v1/chat/completions, answered as Ollama NDJSON
  POST /api/embed             the embedding model's vectors (llama.cpp /v1/embeddings)
  GET  /v1/models[/NAME]      Ollama-shaped list
  *    /v1/...                passed through to the llama.cpp server of the request's model,
                              streamed as it arrives; reasoning_content renamed to reasoning

With --idle-exit SECONDS it exits by itself once it has been idle that long and nobody holds a
lease: a shared flock on <state-dir>/lease.lock that every user takes before its first request
and keeps until it is done (the kernel drops it when the holder dies, so a lease never goes
stale). Shared users therefore never stop the backend themselves, and it never exits under one.

Started by scripts/local-llm (see README.md beside this file). Standard library only,
plus xllamacpp.
"""

import argparse
import datetime
import fcntl
import hashlib
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gguf  # noqa: E402

OLLAMA_VERSION = "0.12.0"
UPSTREAM_TIMEOUT = 900  # seconds without a byte from llama.cpp before giving up
SHOW_MAX_ARRAY = 16  # arrays longer than this are null in /api/show unless verbose
DEFAULT_MAX_TOKENS = 512  # --max-tokens: cap for requests that set none (0: no cap)
PROMPT_CACHE = True  # --no-prompt-cache: every request evaluates its whole prompt afresh

# The embedding model (all-MiniLM-L6-v2, converted to GGUF at install), when one is given:
# served on /api/embed and /v1/embeddings. BERT's own window: longer inputs are cut (Ollama's
# `truncate`, on by default) or refused.
EMBED_MODEL = "all-minilm:l6-v2"
EMBED_CTX = 512

# name -> (template file, thinking?)
MODEL_SPECS = [
    ("smollm2:135m", "smollm2.jinja", False),
    ("smollm2-think:135m", "smollm2-think.jinja", True),
]


def log(msg):
    ts = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    sys.stderr.write(f"[front {ts}] {msg}\n")
    sys.stderr.flush()


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


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------------------------------
# model metadata


def capabilities_for(template, kv):
    """Ollama's rule (server/images.go) for a GGUF chat template."""
    caps = []
    if any(k.endswith(".pooling_type") for k in kv):
        caps.append("embedding")
    else:
        caps.append("completion")
    if "tools" in template or "tool_call" in template:
        caps.append("tools")
    if ("<think>" in template and "</think>" in template) or "content.split('</think>')" in template:
        caps.append("thinking")
    if any(k.endswith(".vision.block_count") for k in kv):
        caps.append("vision")
    return caps


def file_digest(path, state_dir, cache_name="digest.json"):
    """sha256 of the GGUF, cached in the state dir keyed by path, size and mtime."""
    st = os.stat(path)
    key = {"path": os.path.realpath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    cache = os.path.join(state_dir, cache_name)
    try:
        with open(cache) as f:
            cached = json.load(f)
        if {k: cached.get(k) for k in key} == key and len(cached.get("sha256", "")) == 64:
            return cached["sha256"]
    except (OSError, ValueError):
        pass
    t0 = time.time()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    tmp = cache + ".tmp"
    with open(tmp, "w") as f:
        json.dump(dict(key, sha256=digest), f)
    os.replace(tmp, cache)
    log(f"sha256 of {path} computed in {time.time() - t0:.2f}s")
    return digest


class Model:
    def __init__(self, name, gguf_path, template, think, meta, digest):
        self.name = name
        self.path = gguf_path
        self.template = template
        self.think = think
        self.version, self.tensor_count, self.parameter_count, kv = meta
        self.kv = kv
        self.digest = digest
        st = os.stat(gguf_path)
        self.size = st.st_size
        self.modified_at = datetime.datetime.fromtimestamp(
            st.st_mtime, datetime.timezone.utc
        ).isoformat()
        self.arch = kv.get("general.architecture", "")
        self.capabilities = capabilities_for(template, kv)
        self.port = None  # internal llama.cpp port
        self.server = None
        self.n_ctx = None

    def details(self):
        label = self.kv.get("general.size_label")
        ftype = self.kv.get("general.file_type")
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.arch,
            "families": [self.arch],
            "parameter_size": label if isinstance(label, str) and label else gguf.human_number(self.parameter_count),
            "quantization_level": gguf.FILE_TYPES.get(ftype, "unknown") if ftype is not None else "unknown",
        }

    def tag(self):
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": self.modified_at,
            "size": self.size,
            "digest": self.digest,
            "details": self.details(),
            "capabilities": self.capabilities,
        }

    def model_info(self, verbose):
        kv = self.kv
        if verbose:
            kv = gguf.read_metadata(self.path, max_array=None)[3]
        info = {k: v for k, v in kv.items() if k != "tokenizer.chat_template"}
        info["general.parameter_count"] = self.parameter_count
        return info

    def show(self, verbose=False):
        return {
            "license": self.kv.get("general.license", ""),
            "modelfile": f"# llamacpp shim\nFROM {self.path}\n",
            "parameters": "",
            "template": self.template,
            "details": self.details(),
            "model_info": self.model_info(verbose),
            "capabilities": self.capabilities,
            "modified_at": self.modified_at,
        }

    def ps(self):
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365 * 10)
        return {
            "name": self.name,
            "model": self.name,
            "size": self.size,
            "digest": self.digest,
            "details": self.details(),
            "expires_at": expires.isoformat(),
            "size_vram": 0,
            "context_length": self.n_ctx,
        }


# ---------------------------------------------------------------------------------------
# llama.cpp servers


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_llama(model, args):
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = model.path
    p.hostnames = ["127.0.0.1"]
    p.n_ctx = args.ctx
    p.n_parallel = 1
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    p.model_alias = {model.name}
    if getattr(model, "embedding", False):
        # one sentence vector per input (the GGUF says mean pooling), L2-normalised as Ollama's
        p.embedding = True
        p.n_ctx = EMBED_CTX
        p.n_batch = EMBED_CTX
        p.n_ubatch = EMBED_CTX  # a non-causal model reads a whole input in one batch
    else:
        p.use_jinja = True
        p.chat_template = model.template
    p.sampling.temp = 0.0
    p.ui = False
    if model.think:
        p.sampling.reasoning_budget_tokens = args.think_budget
    last = None
    for _ in range(5):  # a port picked free can be taken in between: retry
        p.port = free_port()
        try:
            model.server = xllamacpp.Server(p)
            model.port = p.port
            model.n_ctx = p.n_ctx
            return
        except Exception as e:  # noqa: BLE001 - xllamacpp raises plain RuntimeError
            last = e
            log(f"llama.cpp server for {model.name} failed on port {p.port}: {e}; retrying")
    raise RuntimeError(f"could not start llama.cpp server for {model.name}: {last}")


def wait_health(model, deadline):
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", model.port, timeout=2)
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"llama.cpp server for {model.name} not healthy on port {model.port}")


# ---------------------------------------------------------------------------------------
# request translation


class ApiError(Exception):
    def __init__(self, status, message, kind="invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


EFFORTS = {"none", "minimal", "low", "medium", "high", "max", "xhigh", "ultra"}


def prepare_openai(body, model):
    """Adjust an OpenAI chat request for llama.cpp: defaults, reasoning fields, thinking."""
    body = dict(body)
    body["model"] = model.name
    body.setdefault("temperature", 0)
    if DEFAULT_MAX_TOKENS > 0 and not any(
        isinstance(body.get(k), int) and body[k] >= 0 for k in ("max_tokens", "max_completion_tokens", "n_predict")
    ):
        # a 135M model can repeat itself until the context is full (minutes): cap by default
        body["max_tokens"] = DEFAULT_MAX_TOKENS
    if not PROMPT_CACHE:
        # reusing a cached prefix changes the batch shapes and so, slightly, the numerics:
        # without it the same request always gives the same answer, whatever came before
        body.setdefault("cache_prompt", False)
    reasoning = body.pop("reasoning", None)
    if isinstance(reasoning, dict) and reasoning.get("effort") and "reasoning_effort" not in body:
        body["reasoning_effort"] = reasoning["effort"]
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not isinstance(effort, str) or effort.lower() not in EFFORTS:
            raise ApiError(400, f"invalid reasoning_effort {effort!r}")
        effort = effort.lower()
        if effort != "none" and not model.think:
            raise ApiError(400, f'"{model.name}" does not support thinking')
        if model.think:
            kwargs = dict(body.get("chat_template_kwargs") or {})
            kwargs.setdefault("enable_thinking", effort != "none")
            body["chat_template_kwargs"] = kwargs
        body.pop("reasoning_effort")  # llama.cpp's own handling differs; the template does it
    msgs = []
    for m in body.get("messages") or []:
        if isinstance(m, dict) and m.get("role") == "assistant" and "reasoning" in m:
            m = dict(m)
            r = m.pop("reasoning")
            if r and not m.get("reasoning_content"):
                m["reasoning_content"] = r
        msgs.append(m)
    if "messages" in body:
        body["messages"] = msgs
    return body


def native_to_openai(req, model):
    """POST /api/chat body -> /v1/chat/completions body."""
    messages = []
    call_ids = {}  # tool name -> queue of ids of calls not yet answered
    n_calls = 0
    for m in req.get("messages") or []:
        role = m.get("role")
        content = m.get("content")
        if content is None:
            content = ""
        out = {"role": role, "content": content}
        if role == "assistant":
            if m.get("thinking"):
                out["reasoning_content"] = m["thinking"]
            calls = []
            for tc in m.get("tool_calls") or []:
                fn = tc.get("function") or {}
                args = fn.get("arguments")
                if not isinstance(args, str):
                    args = json.dumps(args if args is not None else {})
                cid = tc.get("id") or f"call_{n_calls}"
                n_calls += 1
                call_ids.setdefault(fn.get("name"), []).append(cid)
                calls.append({"id": cid, "type": "function", "function": {"name": fn.get("name"), "arguments": args}})
            if calls:
                out["tool_calls"] = calls
        elif role == "tool":
            name = m.get("tool_name") or m.get("name")
            cid = m.get("tool_call_id")
            if not cid:
                pending = call_ids.get(name) or []
                cid = pending.pop(0) if pending else f"call_{name or 'tool'}"
            out["tool_call_id"] = cid
            if name:
                out["name"] = name
        messages.append(out)
    body = {"model": model.name, "messages": messages, "stream": True, "stream_options": {"include_usage": True}}
    if req.get("tools"):
        body["tools"] = req["tools"]
    opts = req.get("options") or {}
    body["temperature"] = opts.get("temperature", 0)
    for src, dst in (("top_p", "top_p"), ("top_k", "top_k"), ("seed", "seed"), ("stop", "stop"),
                     ("repeat_penalty", "repeat_penalty"), ("presence_penalty", "presence_penalty"),
                     ("frequency_penalty", "frequency_penalty"), ("min_p", "min_p")):
        if opts.get(src) is not None:
            body[dst] = opts[src]
    if isinstance(opts.get("num_predict"), int) and opts["num_predict"] >= 0:
        body["max_tokens"] = opts["num_predict"]
    # options.num_ctx is accepted and ignored: the server's n_ctx is fixed
    fmt = req.get("format")
    if fmt == "json":
        body["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, dict):
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "format", "schema": fmt}}
    think = req.get("think")
    if think is not None:
        if think is True:
            effort = "medium"
        elif think is False:
            effort = "none"
        elif isinstance(think, str) and think.lower() in ("low", "medium", "high", "max"):
            effort = think.lower()
        else:
            raise ApiError(400, f"invalid think value: {think!r}")
        if effort != "none" and not model.think:
            raise ApiError(400, f'"{model.name}" does not support thinking')
        body["reasoning_effort"] = effort
    return prepare_openai(body, model)


def rename_reasoning(obj):
    """reasoning_content -> reasoning in choices[].delta / choices[].message."""
    changed = False
    for ch in obj.get("choices") or []:
        for key in ("delta", "message"):
            d = ch.get(key)
            if isinstance(d, dict) and "reasoning_content" in d:
                ch[key] = {("reasoning" if k == "reasoning_content" else k): v for k, v in d.items()}
                changed = True
    return changed


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def iter_lines(resp):
    """Lines (with their newline) of an upstream body, as soon as each is complete."""
    buf = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        buf += chunk
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            yield buf[: i + 1]
            buf = buf[i + 1 :]
    if buf:
        yield buf


def upstream_error_message(status, raw):
    try:
        err = json.loads(raw)
        e = err.get("error", err)
        if isinstance(e, dict):
            return e.get("message") or json.dumps(e)
        return str(e)
    except ValueError:
        return raw.decode("utf-8", "replace").strip() or f"llama.cpp answered {status}"


# ---------------------------------------------------------------------------------------
# HTTP front


class Front(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ollama-llamacpp-front/1"

    def version_string(self):
        return self.server_version
    models = {}  # name -> Model, set in main
    default_model = None

    # --- plumbing -------------------------------------------------------------------

    def log_message(self, fmt, *args):
        log(f"{self.client_address[0]} {fmt % args}")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def read_json(self):
        raw = self.read_body()
        if not raw.strip():
            raise ApiError(400, "missing request body")
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise ApiError(400, f"invalid JSON body: {e}")
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object")
        return body

    def send_bytes(self, status, data, ctype):
        self.started = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj):
        self.send_bytes(status, dumps(obj).encode(), "application/json; charset=utf-8")

    def native_error(self, status, message):
        self.send_json(status, {"error": message})

    def openai_error(self, status, message, kind="invalid_request_error"):
        self.send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

    def start_chunked(self, status, ctype):
        self.started = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def find_model(self, name):
        if not name:
            return None
        return self.models.get(name)

    def upstream(self, model, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", model.port, timeout=UPSTREAM_TIMEOUT)
        headers = {"Accept": "*/*"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        return conn, conn.getresponse()

    # --- dispatch ------------------------------------------------------------------

    def dispatch(self):
        # Liveness probes (`scripts/local-llm status`, a client's `start`) do not keep the
        # backend alive: watching it must not change when it exits.
        probe = self.command in ("GET", "HEAD") and self.path.split("?", 1)[0] in ("/", "/api/version")
        ACTIVITY.begin()
        try:
            self.route()
        finally:
            ACTIVITY.end(counts=not probe)

    def route(self):
        self.started = False  # whether a status line went out for this request
        path = self.path.split("?", 1)[0]
        try:
            if path.startswith("/v1/"):
                return self.handle_v1(path)
            route = {
                ("GET", "/"): self.root,
                ("HEAD", "/"): self.root,
                ("GET", "/api/version"): self.version,
                ("HEAD", "/api/version"): self.version,
                ("GET", "/api/tags"): self.tags,
                ("HEAD", "/api/tags"): self.tags,
                ("GET", "/api/ps"): self.ps,
                ("POST", "/api/show"): self.show,
                ("POST", "/api/chat"): self.chat,
                ("POST", "/api/embed"): self.embed,
            }.get((self.command, path))
            if route is None:
                if self.command == "POST":
                    self.read_body()
                if path in ("/", "/api/version", "/api/tags", "/api/ps", "/api/show", "/api/chat", "/api/embed"):
                    return self.send_bytes(405, b"405 method not allowed", "text/plain")
                return self.send_bytes(404, b"404 page not found", "text/plain")
            return route()
        except ApiError as e:
            if path.startswith("/v1/"):
                self.openai_error(e.status, e.message, e.kind)
            else:
                self.native_error(e.status, e.message)
        except (BrokenPipeError, ConnectionResetError):
            log(f"client went away during {self.command} {path}")
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - answer 500 rather than drop the connection
            import traceback

            log(f"error in {self.command} {path}: {e}\n{traceback.format_exc()}")
            self.close_connection = True
            if not self.started:
                try:
                    if path.startswith("/v1/"):
                        self.openai_error(500, str(e), "api_error")
                    else:
                        self.native_error(500, str(e))
                except OSError:
                    pass

    do_GET = do_POST = do_HEAD = do_DELETE = do_PUT = do_OPTIONS = dispatch

    # --- native API ----------------------------------------------------------------

    def root(self):
        self.send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")

    def version(self):
        self.send_json(200, {"version": OLLAMA_VERSION})

    def tags(self):
        self.send_json(200, {"models": [m.tag() for m in self.models.values()]})

    def ps(self):
        self.send_json(200, {"models": [m.ps() for m in self.models.values()]})

    def show(self):
        body = self.read_json()
        name = body.get("model") or body.get("name")
        model = self.find_model(name)
        if model is None:
            raise ApiError(404, f"model '{name}' not found")
        self.send_json(200, model.show(verbose=bool(body.get("verbose"))))

    def chat(self):
        req = self.read_json()
        name = req.get("model")
        if not name:
            raise ApiError(400, "model is required")
        model = self.find_model(name)
        if model is None:
            raise ApiError(404, f'model "{name}" not found, try pulling it first')
        stream = req.get("stream", True) is not False
        if not req.get("messages"):
            # Ollama loads the model and answers done at once
            rec = {"model": name, "created_at": now_rfc3339(),
                   "message": {"role": "assistant", "content": ""}, "done_reason": "load", "done": True}
            return self.send_json(200, rec)
        body = native_to_openai(req, model)
        t0 = time.monotonic_ns()
        conn, resp = self.upstream(model, "POST", "/v1/chat/completions", dumps(body).encode())
        try:
            if resp.status != 200:
                raise ApiError(resp.status, upstream_error_message(resp.status, resp.read()))
            self.translate_stream(name, resp, stream, t0)
        finally:
            conn.close()

    def embed(self):
        """Ollama's /api/embed over llama.cpp's /v1/embeddings: `input` is a string or a list."""
        req = self.read_json()
        name = req.get("model")
        if not name:
            raise ApiError(400, "model is required")
        model = self.find_model(name)
        if model is None:
            raise ApiError(404, f'model "{name}" not found, try pulling it first')
        if not getattr(model, "embedding", False):
            raise ApiError(400, f'"{name}" does not support embeddings')
        inputs = req.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise ApiError(400, "input must be a string or a list of strings")
        if not inputs:
            return self.send_json(200, {"model": name, "embeddings": []})
        t0 = time.monotonic_ns()
        if req.get("truncate", True) is not False:
            inputs = [self.cut_to_window(model, text) for text in inputs]
        conn, resp = self.upstream(model, "POST", "/v1/embeddings",
                                   dumps({"model": model.name, "input": inputs}).encode())
        try:
            raw = resp.read()
            if resp.status != 200:
                raise ApiError(resp.status if resp.status < 500 else 500, upstream_error_message(resp.status, raw))
            out = json.loads(raw)
        finally:
            conn.close()
        data = sorted(out.get("data") or [], key=lambda d: d.get("index", 0))
        self.send_json(200, {
            "model": name,
            "embeddings": [d["embedding"] for d in data],
            "total_duration": time.monotonic_ns() - t0,
            "load_duration": 0,
            "prompt_eval_count": (out.get("usage") or {}).get("prompt_tokens", 0),
        })

    def cut_to_window(self, model, text):
        """`text`, or its tokens cut to the model's window (keeping the closing [SEP])."""
        if len(text) < model.n_ctx:  # fewer characters than tokens allowed: it fits
            return text
        conn, resp = self.upstream(model, "POST", "/tokenize",
                                   dumps({"content": text, "add_special": True}).encode())
        try:
            tokens = json.loads(resp.read()).get("tokens") or []
        finally:
            conn.close()
        if len(tokens) <= model.n_ctx:
            return text
        return tokens[: model.n_ctx - 1] + tokens[-1:]

    def translate_stream(self, name, resp, stream, t0):
        content, thinking = [], []
        calls = {}  # index -> {"name", "args"}
        finish, usage, timings, error = None, {}, {}, None

        if stream:
            self.start_chunked(200, "application/x-ndjson")

        def emit(message):
            if stream:
                rec = {"model": name, "created_at": now_rfc3339(), "message": message, "done": False}
                self.write_chunk(dumps(rec).encode() + b"\n")

        for line in iter_lines(resp):
            line = line.strip()
            if not line.startswith(b"data:") and not line.startswith(b"error:"):
                continue
            payload = line.split(b":", 1)[1].strip()
            if payload == b"[DONE]":
                break
            try:
                ev = json.loads(payload)
            except ValueError:
                continue
            if line.startswith(b"error:") or "error" in ev:
                e = ev.get("error", ev)
                error = e.get("message") if isinstance(e, dict) else str(e)
                break
            if ev.get("usage"):
                usage = ev["usage"]
            if ev.get("timings"):
                timings = ev["timings"]
            for ch in ev.get("choices") or []:
                d = ch.get("delta") or {}
                r = d.get("reasoning_content") or d.get("reasoning")
                if r:
                    thinking.append(r)
                    emit({"role": "assistant", "content": "", "thinking": r})
                if d.get("content"):
                    content.append(d["content"])
                    emit({"role": "assistant", "content": d["content"]})
                for tc in d.get("tool_calls") or []:
                    slot = calls.setdefault(tc.get("index", len(calls)), {"name": "", "args": ""})
                    fn = tc.get("function") or {}
                    if fn.get("name"):
                        slot["name"] += fn["name"]
                    if fn.get("arguments"):
                        slot["args"] += fn["arguments"]
                if ch.get("finish_reason"):
                    finish = ch["finish_reason"]

        tool_calls = []
        for i in sorted(calls):
            raw = calls[i]["args"].strip() or "{}"
            try:
                args = json.loads(raw)
            except ValueError:
                log(f"tool call {calls[i]['name']}: arguments are not JSON: {raw!r}")
                args = {}
            tool_calls.append({"function": {"name": calls[i]["name"], "arguments": args}})

        if error is not None:
            if stream:
                self.write_chunk(dumps({"error": error}).encode() + b"\n")
                return self.end_chunked()
            raise ApiError(500, error)

        if tool_calls:
            emit({"role": "assistant", "content": "", "tool_calls": tool_calls})
        done_reason = "length" if finish == "length" else "stop"
        final = {
            "model": name,
            "created_at": now_rfc3339(),
            "message": {"role": "assistant", "content": ""},
            "done_reason": done_reason,
            "done": True,
            "total_duration": time.monotonic_ns() - t0,
            "load_duration": 0,
            "prompt_eval_count": usage.get("prompt_tokens", timings.get("prompt_n", 0)),
            "prompt_eval_duration": int(float(timings.get("prompt_ms", 0)) * 1e6),
            "eval_count": usage.get("completion_tokens", timings.get("predicted_n", 0)),
            "eval_duration": int(float(timings.get("predicted_ms", 0)) * 1e6),
        }
        if stream:
            self.write_chunk(dumps(final).encode() + b"\n")
            return self.end_chunked()
        msg = {"role": "assistant", "content": "".join(content)}
        if thinking:
            msg["thinking"] = "".join(thinking)
        if tool_calls:
            msg["tool_calls"] = tool_calls
        final["message"] = msg
        self.send_json(200, final)

    # --- OpenAI-compatible API ----------------------------------------------------------

    def v1_model_obj(self, model):
        return {"id": model.name, "object": "model", "created": int(os.stat(model.path).st_mtime), "owned_by": "library"}

    def handle_v1(self, path):
        if self.command == "GET" and path == "/v1/models":
            return self.send_json(200, {"object": "list", "data": [self.v1_model_obj(m) for m in self.models.values()]})
        if self.command == "GET" and path.startswith("/v1/models/"):
            name = path[len("/v1/models/"):]
            model = self.find_model(name)
            if model is None:
                raise ApiError(404, f"model '{name}' not found", "not_found_error")
            return self.send_json(200, self.v1_model_obj(model))

        raw = self.read_body() if self.command in ("POST", "PUT") else None
        model = self.default_model
        body = None
        if raw and raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as e:
                raise ApiError(400, f"invalid JSON body: {e}")
        if isinstance(body, dict):
            name = body.get("model")
            if name:
                model = self.find_model(name)
                if model is None:
                    raise ApiError(404, f'model "{name}" not found, try pulling it first', "not_found_error")
            if path == "/v1/chat/completions":
                body = prepare_openai(body, model)
            elif path == "/v1/completions":
                body = dict(body, model=model.name)
                body.setdefault("temperature", 0)
                if DEFAULT_MAX_TOKENS > 0 and body.get("max_tokens") is None and body.get("n_predict") is None:
                    body["max_tokens"] = DEFAULT_MAX_TOKENS
                if not PROMPT_CACHE:
                    body.setdefault("cache_prompt", False)
            raw = dumps(body).encode()
        self.passthrough(model, path, raw)

    def passthrough(self, model, path, raw):
        query = self.path[len(path):]
        conn, resp = self.upstream(model, self.command, path + query, raw)
        try:
            ctype = resp.getheader("Content-Type", "application/json")
            if "text/event-stream" in ctype:
                self.start_chunked(resp.status, ctype)
                pending = []
                for line in iter_lines(resp):
                    if b"reasoning_content" in line and line.startswith(b"data: {"):
                        try:
                            ev = json.loads(line[6:])
                            if rename_reasoning(ev):
                                line = b"data: " + dumps(ev).encode() + b"\n"
                        except ValueError:
                            pass
                    pending.append(line)
                    if line.strip() == b"":  # end of an SSE event: send it now
                        self.write_chunk(b"".join(pending))
                        pending = []
                self.write_chunk(b"".join(pending))
                self.end_chunked()
            else:
                data = resp.read()
                if b"reasoning_content" in data and "json" in ctype:
                    try:
                        obj = json.loads(data)
                        if isinstance(obj, dict) and rename_reasoning(obj):
                            data = dumps(obj).encode()
                    except ValueError:
                        pass
                self.send_bytes(resp.status, data, ctype)
        finally:
            conn.close()


# ---------------------------------------------------------------------------------------


def settings_of(args):
    """What a reply depends on. A running front is reused only when these match."""
    return {
        "models": [name for name, _, _ in MODEL_SPECS] + ([EMBED_MODEL] if args.embed_model_path else []),
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
    ap.add_argument("--model-path", help="the GGUF file")
    ap.add_argument("--embed-model-path", help=f"the embedding model's GGUF, served as {EMBED_MODEL}")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--think-budget", type=int, default=24, help="reasoning tokens for the -think model")
    ap.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                    help="max_tokens for requests that set none (0: no cap)")
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
    globals()["DEFAULT_MAX_TOKENS"] = args.max_tokens
    globals()["PROMPT_CACHE"] = not args.no_prompt_cache

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

    meta = gguf.read_metadata(args.model_path, max_array=SHOW_MAX_ARRAY)
    digest = file_digest(args.model_path, args.state_dir)
    models = {}
    for name, tfile, think in MODEL_SPECS:
        with open(os.path.join(HERE, "templates", tfile)) as f:
            template = f.read()
        models[name] = Model(name, args.model_path, template, think, meta, digest)
    if args.embed_model_path:
        emb = Model(EMBED_MODEL, args.embed_model_path, "",  False,
                    gguf.read_metadata(args.embed_model_path, max_array=SHOW_MAX_ARRAY),
                    file_digest(args.embed_model_path, args.state_dir, "digest-embed.json"))
        emb.embedding = True
        models[EMBED_MODEL] = emb
    for m in models.values():
        start_llama(m, args)
    deadline = time.time() + 60
    for m in models.values():
        wait_health(m, deadline)
        log(f"llama.cpp for {m.name} on 127.0.0.1:{m.port} ({', '.join(m.capabilities)})")
    Handler.models = models
    Handler.default_model = models[MODEL_SPECS[0][0]]

    info = {
        "pid": os.getpid(),
        "host": args.host,
        "port": port,
        "backends": {m.name: m.port for m in models.values()},
        "started_at": now_rfc3339(),
        "settings": settings_of(args),
        "idle_exit": args.idle_exit,
        "lease_file": lease_file,
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
    threading.current_thread().name = "front"
    httpd.serve_forever()


if __name__ == "__main__":
    main()
