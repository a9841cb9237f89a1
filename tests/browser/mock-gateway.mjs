#!/usr/bin/env node
// Development aid only: a tiny stand-in for `openclaw gateway` that serves the page from
// crates/gateway/assets and speaks the WebSocket protocol of docs/gateway-protocol.md (OpenClaw's
// protocol v4, on `/`) with scripted replies. The CI test runs against the real gateway, never
// this.
//
//   node tests/browser/mock-gateway.mjs [--port N]     prints  http://127.0.0.1:N/#token=…
//
// Scripted runs: a message containing "slow" streams slowly (stop it); "approve" asks for an
// exec approval; "fail" falls back then errors; anything else: thinking, a `read` tool call
// of notes.txt, then a markdown answer.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = process.env.ASSETS_DIR || path.resolve(here, '../../crates/gateway/assets');
const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || 0) || 0;
const TOKEN = process.env.OPENCLAW_GATEWAY_TOKEN || crypto.randomBytes(12).toString('hex');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };

const sessions = new Map(); // key -> {key, sessionId, title, updatedAt, messages, model}
const runs = new Map(); // runId -> {aborted, done, approvalId, approved}
const conns = new Set();
const fullKey = (k) => (k.startsWith('agent:') ? k : `agent:main:${k}`);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/health') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}'); return; }
  const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
  const file = path.join(assets, path.normalize(name));
  if (!file.startsWith(assets) || !fs.existsSync(file) || !fs.statSync(file).isFile()) { res.writeHead(404); res.end('not found'); return; }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache' });
  fs.createReadStream(file).pipe(res);
});

server.on('upgrade', (req, socket) => {
  if (new URL(req.url, 'http://x').pathname !== '/') { socket.destroy(); return; }
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  new Conn(socket);
});

class Conn {
  constructor(socket) {
    this.socket = socket; this.buf = Buffer.alloc(0); this.seq = 0; this.authed = false;
    conns.add(this);
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    socket.on('error', () => {});
    socket.on('close', () => conns.delete(this));
    this.send({ type: 'event', event: 'connect.challenge', payload: { nonce: crypto.randomUUID(), ts: Date.now() } });
  }
  parse() {
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0] & 0x0f; let len = this.buf[1] & 0x7f; let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      const masked = this.buf[1] & 0x80; const mask = masked ? this.buf.subarray(off, off + 4) : null; if (masked) off += 4;
      if (this.buf.length < off + len) return;
      const data = Buffer.from(this.buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < data.length; i++) data[i] ^= mask[i & 3];
      this.buf = this.buf.subarray(off + len);
      if (op === 0x8) { this.close(1000); return; }
      if (op === 0x9) { this.frame(0xa, data); continue; }
      if (op === 0x1) this.onText(data.toString('utf8'));
    }
  }
  frame(op, data) {
    if (this.socket.destroyed) return;
    const len = data.length;
    const head = len < 126 ? Buffer.from([0x80 | op, len]) : len < 65536 ? Buffer.from([0x80 | op, 126, len >> 8, len & 255]) : (() => { const b = Buffer.alloc(10); b[0] = 0x80 | op; b[1] = 127; b.writeBigUInt64BE(BigInt(len), 2); return b; })();
    this.socket.write(Buffer.concat([head, data]));
  }
  send(obj) { this.frame(0x1, Buffer.from(JSON.stringify(obj))); }
  close(code) { const b = Buffer.alloc(2); b.writeUInt16BE(code); this.frame(0x8, b); this.socket.end(); }
  event(event, payload) { if (this.authed) this.send({ type: 'event', event, seq: ++this.seq, payload }); }
  onText(text) {
    let req; try { req = JSON.parse(text); } catch { this.close(1008); return; }
    const ok = (payload) => this.send({ type: 'res', id: req.id, ok: true, payload });
    const fail = (message, details) => this.send({ type: 'res', id: req.id, ok: false, error: { code: 'INVALID_REQUEST', message, details } });
    const p = req.params || {};
    if (!this.authed) {
      if (req.method !== 'connect') { this.close(1008); return; }
      if ((p.auth || {}).token !== TOKEN) { fail('unauthorized: gateway token mismatch', { code: 'AUTH_TOKEN_MISMATCH' }); setTimeout(() => this.close(1008), 20); return; }
      this.authed = true;
      return ok({ type: 'hello-ok', protocol: 4, server: { name: 'openclaw-rs', version: 'mock', connId: crypto.randomUUID() },
        features: { methods: [], events: [] }, snapshot: { sessionDefaults: { mainSessionKey: 'agent:main:main' } },
        auth: { method: 'token', role: 'operator', scopes: p.scopes || [] }, policy: { maxPayload: 1 << 20, tickIntervalMs: 30000 } });
    }
    switch (req.method) {
      case 'health': return ok({ ok: true, version: 'mock' });
      case 'agents.list': return ok({ defaultId: 'main', agents: [{ id: 'main', model: { primary: 'ollama/llama3.3' } }] });
      case 'models.list': return ok({ models: [
        { id: 'llama3.3', name: 'llama3.3', provider: 'ollama', reasoning: false, contextWindow: 131072 },
        { id: 'qwen3:8b', name: 'qwen3:8b', provider: 'ollama', reasoning: true, contextWindow: 40960 }] });
      case 'sessions.list': return ok({ sessions: [...sessions.values()].sort((a, b) => b.updatedAt - a.updatedAt)
        .map((s) => ({ key: s.key, sessionId: s.sessionId, displayName: s.title, updatedAt: s.updatedAt, messageCount: s.messages.length })) });
      case 'sessions.patch': { const s = this.session(p.key); if (p.model !== undefined) s.model = p.model; return ok({ ok: true, key: s.key, entry: { sessionId: s.sessionId } }); }
      case 'chat.history': {
        const s = sessions.get(fullKey(p.sessionKey || ''));
        return ok({ sessionKey: fullKey(p.sessionKey || ''), messages: s ? s.messages : [], hasMore: false });
      }
      case 'chat.abort': {
        const ids = [...runs.entries()].filter(([id, r]) => !r.done && (!p.runId || id === p.runId)).map(([id]) => id);
        for (const id of ids) runs.get(id).aborted = true;
        return ok({ ok: true, aborted: ids.length > 0, runIds: ids });
      }
      case 'exec.approval.resolve': {
        const r = [...runs.values()].find((x) => x.approvalId === p.id && x.approved === undefined);
        if (!r) return fail('unknown or expired approval id', { reason: 'APPROVAL_NOT_FOUND' });
        r.approved = p.decision === 'allow-once';
        return ok({ ok: true });
      }
      case 'chat.send': {
        if (typeof p.message !== 'string' || !p.message) return fail('invalid chat.send params: message');
        const s = this.session(p.sessionKey);
        if (!s.title) s.title = p.message.slice(0, 80);
        const runId = p.idempotencyKey;
        ok({ runId, status: 'started' });
        this.script(runId, s, p.message, s.model || 'ollama/llama3.3');
        return;
      }
      default: return fail(`unknown method: ${req.method}`);
    }
  }
  session(key) {
    const k = fullKey(key);
    if (!sessions.has(k)) sessions.set(k, { key: k, sessionId: k.split(':').pop(), title: '', updatedAt: Date.now(), messages: [] });
    return sessions.get(k);
  }
  async script(runId, s, message, model) {
    const run = { aborted: false, done: false }; runs.set(runId, run);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const [provider, id] = model.split('/');
    let text = '', thinking = '', seq = 0;
    const base = () => ({ runId, sessionKey: s.key, agentId: 'main', seq: ++seq });
    const agent = (stream, data) => this.event('agent', { ...base(), sessionId: s.sessionId, ts: Date.now(), stream, data });
    const msg = () => ({ role: 'assistant', content: [...(thinking ? [{ type: 'thinking', thinking }] : []), ...(text ? [{ type: 'text', text }] : [])], timestamp: Date.now(), provider, model: id });
    const chat = (state, extra) => this.event('chat', { ...base(), state, ...extra });
    const now = () => Date.now();
    s.messages.push({ role: 'user', content: message, timestamp: now() }); s.updatedAt = now();
    const stream = async (words, ms) => { for (const w of words.match(/\S+\s*|\s+/g)) { if (run.aborted) return; text += w; chat('delta', { deltaText: w, message: msg() }); await sleep(ms); } };
    const finish = () => { run.done = true; s.messages.push(msg()); s.updatedAt = now(); agent('lifecycle', { phase: 'end' }); chat('final', { stopReason: 'stop', message: { ...msg(), usage: { input: 120, output: 42, totalTokens: 162 } } }); };
    const aborted = () => { run.done = true; if (text) s.messages.push(msg()); chat('aborted', { stopReason: 'rpc', message: msg() }); };
    agent('lifecycle', { phase: 'start', startedAt: now() });
    agent('lifecycle', { phase: 'model', provider, model: id });
    await sleep(60);
    if (/slow/i.test(message)) {
      await stream(Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), 150);
      return run.aborted ? aborted() : finish();
    }
    if (/fail/i.test(message)) {
      agent('lifecycle', { phase: 'fallback_step', fallbackStepFromModel: model, fallbackStepToModel: 'ollama/qwen3:8b', fallbackStepFromFailureReason: 'connection', fallbackStepFromFailureDetail: 'connection refused' });
      await sleep(100); run.done = true;
      return chat('error', { errorMessage: 'All models failed: ollama/qwen3:8b: HTTP 500', errorKind: 'server' });
    }
    if (/approve/i.test(message)) {
      run.approvalId = crypto.randomUUID();
      agent('tool', { phase: 'start', toolCallId: 'c1', name: 'exec', args: { command: 'ls -la' } });
      this.event('exec.approval.requested', { id: run.approvalId, request: { command: 'ls -la', host: 'gateway', runId, sessionKey: s.key, agentId: 'main', allowedDecisions: ['allow-once', 'deny'] }, createdAtMs: now(), expiresAtMs: now() + 120000 });
      while (run.approved === undefined && !run.aborted) await sleep(50);
      if (run.aborted) return aborted();
      agent('tool', { phase: 'result', toolCallId: 'c1', name: 'exec', isError: !run.approved, result: { content: [{ type: 'text', text: run.approved ? 'notes.txt\n' : 'denied by user' }] } });
      await stream(run.approved ? 'The folder holds `notes.txt`.' : 'The command was denied.', 20);
      return finish();
    }
    for (const t of ['The user wants ', 'the notes. ', 'I should read notes.txt first.']) { thinking += t; chat('delta', { deltaText: '', message: msg() }); await sleep(40); }
    const call = { id: 'call_1', name: 'read', arguments: { path: 'notes.txt' } };
    agent('tool', { phase: 'start', toolCallId: call.id, name: call.name, args: call.arguments });
    await sleep(100);
    const content = 'Buy milk\nCall Alice <alice@example.com>\n';
    agent('tool', { phase: 'result', toolCallId: call.id, name: call.name, isError: false, result: { content: [{ type: 'text', text: content }] } });
    s.messages.push({ role: 'assistant', content: [{ type: 'thinking', thinking }, { type: 'toolCall', ...call }], provider, model: id, timestamp: now() });
    s.messages.push({ role: 'toolResult', toolCallId: 'call_1', toolName: 'read', content: [{ type: 'text', text: content }], isError: false, timestamp: now() });
    thinking = '';
    const answer = 'Your **notes** say:\n\n1. Buy milk\n2. Call *Alice*\n\nTo read them yourself:\n\n```bash\ncat notes.txt | head -n 5\n```\n\nSee <script>alert(1)</script> and [the docs](https://docs.openclaw.ai/) — not [this](javascript:alert(1)).';
    await stream(answer, 15);
    return run.aborted ? aborted() : finish();
  }
}

server.listen(port, '127.0.0.1', () => {
  console.log(`mock gateway: http://127.0.0.1:${server.address().port}/#token=${TOKEN}`);
});
