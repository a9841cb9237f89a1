#!/usr/bin/env node
// Development aid only: a tiny stand-in for `openclaw gateway` that serves the page from
// crates/gateway/assets and speaks the /ws protocol of docs/gateway-protocol.md with scripted
// replies. The CI test runs against the real gateway, never this.
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

const sessions = new Map(); // id -> {sessionId, title, updatedAt, messages}
const runs = new Map(); // runId -> {aborted}

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
  if (new URL(req.url, 'http://x').pathname !== '/ws') { socket.destroy(); return; }
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  new Conn(socket);
});

class Conn {
  constructor(socket) {
    this.socket = socket; this.buf = Buffer.alloc(0); this.seq = 0; this.authed = false;
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    socket.on('error', () => {});
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
  event(payload) { this.send({ type: 'event', event: 'chat', seq: ++this.seq, payload }); }
  onText(text) {
    let req; try { req = JSON.parse(text); } catch { this.close(1008); return; }
    const ok = (payload) => this.send({ type: 'res', id: req.id, ok: true, payload });
    const fail = (code, message) => this.send({ type: 'res', id: req.id, ok: false, error: { code, message } });
    const p = req.params || {};
    if (!this.authed) {
      if (req.method !== 'connect') { this.close(1008); return; }
      if (p.token !== TOKEN) { fail('unauthorized', 'invalid gateway token'); setTimeout(() => this.close(1008), 20); return; }
      this.authed = true;
      return ok({ protocol: 1, server: { name: 'openclaw-rs', version: 'mock' }, agentId: 'main', defaultModel: 'ollama/llama3.3' });
    }
    switch (req.method) {
      case 'health': return ok({ ok: true, version: 'mock', uptimeMs: 1 });
      case 'models.list': return ok({ defaultModel: 'ollama/llama3.3', models: [
        { key: 'ollama/llama3.3', name: 'llama3.3', reasoning: false, input: ['text'], contextWindow: 131072, tags: [] },
        { key: 'ollama/qwen3:8b', name: 'qwen3:8b', reasoning: true, input: ['text'], contextWindow: 40960, tags: [] }] });
      case 'sessions.list': return ok({ sessions: [...sessions.values()].sort((a, b) => b.updatedAt - a.updatedAt)
        .map(({ sessionId, title, updatedAt, messages }) => ({ sessionId, title, updatedAt, messages: messages.length })) });
      case 'chat.history': {
        const s = sessions.get(p.sessionId);
        return s ? ok({ sessionId: s.sessionId, messages: s.messages }) : fail('not_found', 'no such session');
      }
      case 'chat.abort': { const r = runs.get(p.runId); if (r && !r.done) r.aborted = true; return ok({ aborted: !!(r && !r.done) }); }
      case 'exec.approve': { const r = [...runs.values()].find((x) => x.approvalId === p.approvalId); if (r) r.approved = p.approve; return ok({ ok: true }); }
      case 'chat.send': {
        if (typeof p.message !== 'string' || !p.message) return fail('bad_request', 'message is required');
        let s = p.sessionId && sessions.get(p.sessionId);
        if (!s) { s = { sessionId: p.sessionId || crypto.randomUUID(), title: p.message.slice(0, 80), updatedAt: Date.now(), messages: [] }; sessions.set(s.sessionId, s); }
        const runId = crypto.randomUUID();
        ok({ runId, sessionId: s.sessionId });
        this.script(runId, s, p.message, p.model || 'ollama/llama3.3');
        return;
      }
      default: return fail('bad_request', `unknown method ${req.method}`);
    }
  }
  async script(runId, s, message, model) {
    const run = { aborted: false, done: false }; runs.set(runId, run);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const ev = (state, extra) => this.event({ runId, sessionId: s.sessionId, state, ...extra });
    const now = () => Date.now();
    s.messages.push({ role: 'user', content: message, ts: now() }); s.updatedAt = now();
    const stream = async (text, ms) => { let out = ''; for (const w of text.match(/\S+\s*|\s+/g)) { if (run.aborted) return out; ev('delta', { text: w }); out += w; await sleep(ms); } return out; };
    const finish = (answer) => { run.done = true; s.messages.push({ role: 'assistant', content: answer, model, ts: now() }); s.updatedAt = now(); ev('final', { answer, model, usage: { promptTokens: 120, completionTokens: 42 } }); };
    const aborted = (partial) => { run.done = true; if (partial) s.messages.push({ role: 'assistant', content: partial, model, ts: now() }); ev('aborted', {}); };
    ev('model', { model });
    await sleep(60);
    if (/slow/i.test(message)) {
      const partial = await stream(Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), 150);
      return run.aborted ? aborted(partial) : finish(partial);
    }
    if (/fail/i.test(message)) {
      ev('fallback', { from: model, to: 'ollama/qwen3:8b', kind: 'connection', message: 'connection refused' });
      await sleep(100); run.done = true;
      return ev('error', { message: 'All models failed: ollama/qwen3:8b: HTTP 500', kind: 'server' });
    }
    if (/approve/i.test(message)) {
      run.approvalId = crypto.randomUUID();
      ev('tool', { phase: 'call', tool: { id: 'c1', name: 'exec', arguments: { command: 'ls -la' } } });
      ev('approval', { approvalId: run.approvalId, command: 'ls -la' });
      while (run.approved === undefined && !run.aborted) await sleep(50);
      if (run.aborted) return aborted('');
      ev('tool', { phase: 'result', tool: { id: 'c1', name: 'exec', arguments: { command: 'ls -la' } }, result: run.approved ? 'notes.txt\n' : 'denied by user', isError: !run.approved });
      return finish(await stream(run.approved ? 'The folder holds `notes.txt`.' : 'The command was denied.', 20));
    }
    for (const t of ['The user wants ', 'the notes. ', 'I should read notes.txt first.']) { ev('thinking', { text: t }); await sleep(40); }
    const call = { id: 'call_1', name: 'read', arguments: { path: 'notes.txt' } };
    ev('tool', { phase: 'call', tool: call });
    await sleep(100);
    const content = 'Buy milk\nCall Alice <alice@example.com>\n';
    ev('tool', { phase: 'result', tool: call, result: content, isError: false });
    s.messages.push({ role: 'assistant', content: '', thinking: 'The user wants the notes. I should read notes.txt first.', toolCalls: [call], model, ts: now() });
    s.messages.push({ role: 'tool', content, toolCallId: 'call_1', toolName: 'read', ts: now() });
    const answer = 'Your **notes** say:\n\n1. Buy milk\n2. Call *Alice*\n\nTo read them yourself:\n\n```bash\ncat notes.txt | head -n 5\n```\n\nSee <script>alert(1)</script> and [the docs](https://docs.openclaw.ai/) — not [this](javascript:alert(1)).';
    const out = await stream(answer, 15);
    return run.aborted ? aborted(out) : finish(out);
  }
}

server.listen(port, '127.0.0.1', () => {
  console.log(`mock gateway: http://127.0.0.1:${server.address().port}/#token=${TOKEN}`);
});
