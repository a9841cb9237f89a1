// OpenClaw web chat: plain JS, no dependencies. Speaks the gateway's WebSocket protocol on `/`
// (OpenClaw's protocol v4, the subset in docs/gateway-protocol.md and
// crates/gateway/src/protocol.rs). Model text is only ever inserted escaped.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    app: $('app'), sidebar: $('sidebar'), backdrop: $('backdrop'), menu: $('menu'),
    sessions: $('sessions'), newChat: $('new-chat'), model: $('model'), status: $('status'),
    messages: $('messages'), empty: $('empty'), composer: $('composer'), input: $('input'),
    send: $('send'), stop: $('stop'), tokenDialog: $('token-dialog'), tokenForm: $('token-form'),
    tokenInput: $('token-input'), tokenError: $('token-error'),
  };
  const KEY = { token: 'openclaw.token', model: 'openclaw.model', session: 'openclaw.session' };
  const store = {
    get: (k) => { try { return localStorage.getItem(k); } catch { return null; } },
    set: (k, v) => { try { v == null ? localStorage.removeItem(k) : localStorage.setItem(k, v); } catch { /* private mode */ } },
  };
  const PROTOCOL = 4;
  const SCOPES = ['operator.read', 'operator.write', 'operator.approvals'];
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));

  // ---------- token: #token=… → localStorage, then strip it from the address bar
  function takeToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return false;
    let t = m[1];
    try { t = decodeURIComponent(t); } catch { /* keep raw */ }
    if (t) store.set(KEY.token, t);
    history.replaceState(history.state, '', location.pathname + location.search);
    return true;
  }
  takeToken();
  window.addEventListener('hashchange', () => {
    if (!takeToken()) return;
    if (ui.tokenDialog.open) ui.tokenDialog.close();
    backoff = 500;
    if (ws) { const old = ws; ws = null; old.close(); }
    connect();
  });

  // ---------- connection
  let ws = null, nextId = 1, backoff = 500, retryTimer = null, connected = false, authBlocked = false;
  const pending = new Map();
  // The session is named by its key, `agent:main:<name>`.
  let sessionKey = store.get(KEY.session) || null;
  let run = null; // {runId, sessionKey, view, abortRequested, ended}
  let models = [], defaultModel = null;
  const sessionModels = new Map(); // session key → the model it was last set to

  function setStatus(state, text) {
    ui.status.dataset.state = state;
    ui.status.textContent = text;
    ui.app.dataset.connection = state;
    updateComposer();
  }

  function send(sock, frame) { sock.send(JSON.stringify(frame)); }

  function requestOn(sock, method, params) {
    return new Promise((resolve, reject) => {
      if (!sock || sock.readyState !== WebSocket.OPEN) { reject(Object.assign(new Error('not connected'), { code: 'offline' })); return; }
      const id = String(nextId++);
      const timer = setTimeout(() => { pending.delete(id); reject(Object.assign(new Error(method + ' timed out'), { code: 'timeout' })); }, 30000);
      pending.set(id, { resolve, reject, timer });
      send(sock, { type: 'req', id, method, params: params || {} });
    });
  }
  function request(method, params) {
    if (!connected) return Promise.reject(Object.assign(new Error('not connected'), { code: 'offline' }));
    return requestOn(ws, method, params);
  }

  function connect() {
    clearTimeout(retryTimer);
    authBlocked = false;
    setStatus('connecting', 'Connecting…');
    let sock;
    try { sock = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/'); }
    catch { scheduleReconnect(); return; }
    ws = sock;
    let hello = false;
    // The gateway speaks first: `connect.challenge`, answered by `connect`.
    const handshake = async () => {
      try {
        const info = await requestOn(sock, 'connect', {
          minProtocol: PROTOCOL, maxProtocol: PROTOCOL,
          client: { id: 'openclaw-web', displayName: 'OpenClaw web chat', version: '1', platform: 'web', mode: 'webchat' },
          role: 'operator', scopes: SCOPES, caps: ['tool-events', 'exec-approvals'],
          auth: { token: store.get(KEY.token) || '' },
        });
        if (ws !== sock) return;
        hello = true; connected = true; backoff = 500;
        setStatus('connected', 'Connected');
        ui.status.title = info && info.server ? `${info.server.name || 'gateway'} ${info.server.version || ''}` : '';
        await afterConnect();
      } catch (err) {
        if (ws !== sock) return;
        if (isAuthError(err)) { authBlocked = true; sock.close(); askToken(store.get(KEY.token) ? 'The gateway refused this token.' : ''); }
        else if (!hello) sock.close();
        else showError(err.message);
      }
    };
    sock.onmessage = (ev) => onFrame(ev.data, handshake);
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null; connected = false;
      for (const [id, p] of pending) { clearTimeout(p.timer); p.reject(Object.assign(new Error('connection lost'), { code: 'offline' })); pending.delete(id); }
      if (run) endRun('error', 'Connection to the gateway was lost.');
      if (!hello && ev.code === 1008 && !authBlocked) { authBlocked = true; askToken(''); }
      if (authBlocked) { setStatus('unauthorized', 'Token needed'); return; }
      scheduleReconnect();
    };
  }
  function isAuthError(err) {
    const detail = err && err.details && err.details.code;
    return typeof detail === 'string' && detail.startsWith('AUTH_') && detail !== 'AUTH_RATE_LIMITED';
  }

  function scheduleReconnect() {
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(backoff * 2, 15000);
    setStatus('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)}s…`);
    retryTimer = setTimeout(connect, delay);
  }
  window.addEventListener('online', () => { if (!ws && !authBlocked) { backoff = 500; connect(); } });

  function onFrame(data, handshake) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === 'res') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id); clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.payload);
      else {
        const e = msg.error || {};
        p.reject(Object.assign(new Error(e.message || 'request failed'), { code: e.code, details: e.details }));
      }
    } else if (msg.type === 'event' && msg.payload) {
      switch (msg.event) {
        case 'connect.challenge': handshake(); break;
        case 'chat': onChat(msg.payload); break;
        case 'agent': onAgent(msg.payload); break;
        case 'exec.approval.requested': onApprovalRequested(msg.payload); break;
        case 'exec.approval.resolved': onApprovalResolved(msg.payload); break;
        case 'sessions.changed': if (!run) loadSessions().catch(() => {}); break;
        default: break; // tick, shutdown: the socket's own state says enough
      }
    }
  }

  async function afterConnect() {
    const [m] = await Promise.allSettled([loadModels(), loadSessions()]);
    if (m.status === 'rejected') showError('Could not list models: ' + m.reason.message);
    if (sessionKey && !run) await openSession(sessionKey, true);
  }

  // ---------- token prompt
  function askToken(message) {
    ui.tokenError.hidden = !message;
    ui.tokenError.textContent = message || '';
    ui.tokenInput.value = '';
    if (!ui.tokenDialog.open) ui.tokenDialog.showModal();
    ui.tokenInput.focus();
  }
  ui.tokenForm.addEventListener('submit', () => {
    const t = ui.tokenInput.value.trim();
    if (!t) return;
    store.set(KEY.token, t);
    backoff = 500;
    if (ws) { const old = ws; ws = null; old.close(); }
    connect();
  });
  ui.tokenDialog.addEventListener('cancel', (e) => e.preventDefault());

  // ---------- models and sessions
  const modelKey = (m) => `${m.provider}/${m.id}`;
  // The configured default (`ollama/llama3.3`) as the catalog lists it (`ollama/llama3.3:latest`).
  function catalogKey(ref) {
    if (!ref) return null;
    if (models.some((m) => modelKey(m) === ref)) return ref;
    const latest = ref + ':latest';
    return models.some((m) => modelKey(m) === latest) ? latest : ref;
  }
  async function loadModels() {
    const [res, agents] = await Promise.all([request('models.list'), request('agents.list').catch(() => null)]);
    models = (res && res.models) || [];
    const main = agents && (agents.agents || []).find((a) => a.id === agents.defaultId);
    defaultModel = catalogKey(main && main.model && main.model.primary) || (models[0] ? modelKey(models[0]) : null);
    const wanted = store.get(KEY.model);
    const chosen = models.some((m) => modelKey(m) === wanted) ? wanted : defaultModel;
    ui.model.replaceChildren(...models.map((m) => {
      const o = document.createElement('option');
      o.value = modelKey(m);
      o.textContent = o.value + (o.value === defaultModel ? ' (default)' : '') + (m.reasoning ? ' · thinking' : '');
      if (m.contextWindow) o.title = `context ${m.contextWindow.toLocaleString()} tokens`;
      return o;
    }));
    if (chosen) ui.model.value = chosen;
    ui.model.disabled = models.length === 0;
  }
  ui.model.addEventListener('change', () => store.set(KEY.model, ui.model.value));

  async function loadSessions() {
    const res = await request('sessions.list');
    const list = ((res && res.sessions) || []).slice()
      .sort((a, b) => toTime(b.updatedAt) - toTime(a.updatedAt));
    for (const s of list) if (s.model) sessionModels.set(s.key, `${s.modelProvider}/${s.model}`);
    ui.sessions.replaceChildren(...list.map((s) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button'; b.className = 'session';
      b.dataset.testid = 'session-item'; b.dataset.sessionKey = s.key;
      const title = document.createElement('span');
      title.className = 'session-title'; title.textContent = s.displayName || 'New chat';
      const when = document.createElement('small');
      when.textContent = relTime(toTime(s.updatedAt));
      b.append(title, when);
      if (sameSession(s.key, sessionKey)) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', () => { closeDrawer(); if (!sameSession(s.key, sessionKey) || !run) openSession(s.key); });
      li.append(b);
      return li;
    }));
  }
  // A key may be stored bare (`web-1`) or whole (`agent:main:web-1`).
  const fullKey = (k) => (k && !k.startsWith('agent:') ? `agent:main:${k}` : k);
  const sameSession = (a, b) => !!a && !!b && fullKey(a) === fullKey(b);
  function markCurrentSession() {
    for (const b of ui.sessions.querySelectorAll('.session')) {
      if (sameSession(b.dataset.sessionKey, sessionKey)) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
    }
  }
  function toTime(v) {
    if (typeof v === 'number') return v < 1e12 ? v * 1000 : v;
    const t = Date.parse(v); return Number.isNaN(t) ? 0 : t;
  }
  function relTime(t) {
    if (!t) return '';
    const s = (Date.now() - t) / 1000;
    if (s < 60) return 'just now';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return new Date(t).toLocaleDateString();
  }

  async function openSession(key, quiet) {
    sessionKey = fullKey(key); store.set(KEY.session, sessionKey); markCurrentSession();
    const wanted = sessionKey;
    try {
      const res = await request('chat.history', { sessionKey: wanted });
      if (sessionKey !== wanted) return;
      clearMessages();
      renderHistory((res && res.messages) || []);
      if (run && sameSession(run.sessionKey, wanted)) { // a run still streams here: show its live view, not the partial transcript
        const users = ui.messages.querySelectorAll('.msg.user');
        const lastUser = users[users.length - 1];
        while (lastUser && lastUser.nextSibling) lastUser.nextSibling.remove();
        append(run.view.root); scrollDown();
      }
    } catch (err) {
      if (err.code === 'INVALID_REQUEST') { newChat(); return; }
      if (!quiet) showError('Could not load this chat: ' + err.message);
    }
  }

  function newChat() {
    sessionKey = null; store.set(KEY.session, null);
    clearMessages(); markCurrentSession(); closeDrawer(); ui.input.focus();
  }
  ui.newChat.addEventListener('click', newChat);

  // ---------- message rendering
  function clearMessages() {
    ui.messages.replaceChildren(ui.empty);
    ui.empty.hidden = false;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function append(node) {
    ui.empty.hidden = true;
    const stick = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80;
    ui.messages.append(node);
    if (stick) scrollDown();
    return node;
  }
  function scrollDown() { ui.messages.scrollTop = ui.messages.scrollHeight; }
  function nearBottom() { return ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 120; }

  function addUser(text) {
    const m = el('article', 'msg user');
    m.dataset.testid = 'message'; m.dataset.role = 'user';
    m.append(el('div', 'bubble', text));
    return append(m);
  }

  // An assistant turn: a sequence of blocks (thinking, text, tool, notice) under one meta line.
  function addAssistant(state) {
    const m = el('article', 'msg assistant');
    m.dataset.testid = 'message'; m.dataset.role = 'assistant'; m.dataset.state = state;
    const meta = el('div', 'meta');
    const model = el('span', 'model-name');
    const info = el('span', 'info');
    meta.append(model, info);
    const body = el('div', 'blocks');
    m.append(meta, body);
    if (state === 'streaming') {
      const t = el('div', 'typing');
      t.setAttribute('aria-label', 'Waiting for the model');
      t.append(el('span'), el('span'), el('span'));
      body.append(t);
    }
    append(m);
    return { root: m, model, info, body, last: null, tools: new Map(), text: '', thinking: '' };
  }
  function setModel(view, model) { if (model) view.model.textContent = model; }
  function addBlock(view, node, kind) {
    const typing = view.body.querySelector('.typing');
    if (typing) typing.remove();
    const stick = nearBottom();
    view.body.append(node);
    view.last = { kind, node };
    if (stick) scrollDown();
    return node;
  }
  function appendText(view, text) {
    if (!view.last || view.last.kind !== 'text') {
      collapseThinking(view);
      addBlock(view, el('div', 'md'), 'text').dataset.testid = 'message-text';
      view.last.src = '';
    }
    view.last.src += text;
    view.text += text;
    renderLater(view.last);
  }
  function appendThinking(view, text, open) {
    if (!view.last || view.last.kind !== 'thinking') {
      const d = el('details', 'thinking');
      d.dataset.testid = 'thinking';
      d.open = open;
      d.append(el('summary', '', 'Thinking'), el('div', 'thinking-body'));
      addBlock(view, d, 'thinking');
    }
    const body = view.last.node.querySelector('.thinking-body');
    body.textContent += text;
    view.thinking += text;
  }
  function collapseThinking(view) {
    for (const d of view.body.querySelectorAll('details.thinking')) d.open = false;
  }
  let dirty = new Set(), frame = 0;
  function renderLater(block) {
    dirty.add(block);
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      const stick = nearBottom();
      for (const b of dirty) b.node.innerHTML = renderMarkdown(b.src);
      dirty = new Set();
      if (stick) scrollDown();
    });
  }
  function setText(view, text) { // whole text at once (history, final without deltas)
    appendText(view, text);
  }

  // A message's parts: `{type: 'text'|'thinking'|'toolCall', …}`.
  const parts = (m) => (m && Array.isArray(m.content) ? m.content : []);
  const textOf = (m) => (typeof (m && m.content) === 'string' ? m.content
    : parts(m).filter((p) => p.type === 'text').map((p) => p.text).join(''));
  const thinkingOf = (m) => parts(m).filter((p) => p.type === 'thinking').map((p) => p.thinking).join('');
  const modelOf = (m) => (m && m.model ? (m.provider ? `${m.provider}/${m.model}` : m.model) : '');

  function fmtArgs(args) {
    if (args == null) return '';
    if (typeof args === 'string') { try { args = JSON.parse(args); } catch { return args; } }
    return JSON.stringify(args);
  }
  function addTool(view, tool) {
    const box = el('div', 'tool');
    box.dataset.testid = 'tool-call'; box.dataset.toolName = tool.name || ''; box.dataset.state = 'running';
    const head = el('div', 'tool-head');
    const args = fmtArgs(tool.arguments);
    const argEl = el('code', 'tool-args', args.length > 160 ? args.slice(0, 157) + '…' : args);
    argEl.title = args;
    head.append(el('span', 'tool-icon', '⚙'), el('span', 'tool-name', tool.name || 'tool'), argEl);
    box.append(head);
    addBlock(view, box, 'tool');
    if (tool.id) view.tools.set(tool.id, box);
    return box;
  }
  function setToolResult(box, result, isError) {
    box.dataset.state = isError ? 'error' : 'ok';
    box.querySelector('.tool-result')?.remove();
    const d = el('details', 'tool-result');
    const text = typeof result === 'string' ? result : JSON.stringify(result, null, 2);
    const lines = (text || '').replace(/\n+$/, '').split('\n').length;
    d.append(el('summary', '', isError ? 'Error' : `Result (${lines} line${lines === 1 ? '' : 's'})`), el('pre', '', text || '(empty)'));
    if (isError) d.open = true;
    box.append(d);
  }
  function addNotice(view, cls, text, testid) {
    const n = el('div', cls, text);
    n.dataset.testid = testid;
    if (cls === 'error') n.setAttribute('role', 'alert');
    return addBlock(view, n, 'notice');
  }
  const approvals = new Map(); // approval id → its box
  function addApproval(view, p) {
    const box = el('div', 'approval');
    box.dataset.testid = 'approval';
    const command = (p.request && p.request.command) || '';
    const cmd = el('code', '', command);
    const yes = el('button', 'btn primary small', 'Approve');
    const no = el('button', 'btn small', 'Deny');
    yes.type = no.type = 'button';
    yes.dataset.testid = 'approve'; no.dataset.testid = 'deny';
    const answer = async (approve) => {
      yes.disabled = no.disabled = true;
      try {
        await request('exec.approval.resolve', { id: p.id, decision: approve ? 'allow-once' : 'deny' });
        settleApproval(box, cmd, approve ? 'allow-once' : 'deny');
      } catch (err) { yes.disabled = no.disabled = false; showError('Could not answer: ' + err.message); }
    };
    yes.addEventListener('click', () => answer(true));
    no.addEventListener('click', () => answer(false));
    const actions = el('div', 'approval-actions');
    actions.append(yes, no);
    box.append(el('span', '', 'Run this command? '), cmd, actions);
    approvals.set(p.id, { box, cmd });
    return addBlock(view, box, 'approval');
  }
  function settleApproval(box, cmd, decision) {
    const approved = decision === 'allow-once';
    box.replaceChildren(el('span', '', approved ? 'Approved: ' : 'Denied: '), cmd);
    box.dataset.state = approved ? 'approved' : 'denied';
  }
  function showError(text) {
    const view = run ? run.view : addAssistant('error');
    addNotice(view, 'error', text, 'error');
  }

  function renderHistory(messages) {
    let view = null;
    for (const m of messages) {
      if (m.role === 'user') { view = null; addUser(textOf(m)); continue; }
      if (!view) view = addAssistant('done');
      if (m.role === 'assistant') {
        setModel(view, modelOf(m));
        const thinking = thinkingOf(m), text = textOf(m);
        if (thinking) appendThinking(view, thinking, false);
        if (text) setText(view, text);
        for (const t of parts(m).filter((p) => p.type === 'toolCall')) addTool(view, t);
      } else if (m.role === 'toolResult') {
        const box = view.tools.get(m.toolCallId) || addTool(view, { id: m.toolCallId, name: m.toolName });
        setToolResult(box, textOf(m), m.isError);
      }
    }
    collapseAllThinking();
    scrollDown();
  }
  function collapseAllThinking() { for (const d of ui.messages.querySelectorAll('details.thinking')) d.open = false; }

  // ---------- runs
  function updateComposer() {
    const busy = !!run;
    ui.send.hidden = busy; ui.stop.hidden = !busy;
    ui.send.disabled = !connected || busy;
    ui.app.dataset.busy = busy ? 'true' : 'false';
  }

  async function sendMessage() {
    const text = ui.input.value.trim();
    if (!text || run || !connected) return;
    ui.input.value = ''; autosize();
    addUser(text);
    const view = addAssistant('streaming');
    scrollDown();
    if (!sessionKey) { sessionKey = `agent:main:web-${uuid().slice(0, 12)}`; store.set(KEY.session, sessionKey); }
    // The run id is ours (the request's idempotency key): events can be matched before the answer.
    const mine = run = { runId: uuid(), sessionKey, view, abortRequested: false };
    const model = ui.model.value;
    setModel(view, model);
    updateComposer();
    try {
      // The model belongs to the session: set it when it changes.
      const current = sessionModels.get(sessionKey) || defaultModel;
      if (model && model !== current) {
        await request('sessions.patch', { key: sessionKey, model });
        sessionModels.set(sessionKey, model);
      }
      if (run !== mine) return;
      await request('chat.send', { sessionKey, message: text, idempotencyKey: mine.runId });
      if (run !== mine) return;
      mine.started = true;
      loadSessions().catch(() => {});
      if (mine.abortRequested) abort();
    } catch (err) {
      if (run === mine) endRun('error', err.message);
    }
  }

  function ownRun(p) { return run && !run.ended && p && p.runId === run.runId ? run : null; }

  function onChat(p) {
    const r = ownRun(p);
    if (!r) return;
    const v = r.view;
    switch (p.state) {
      case 'delta': {
        const thinking = thinkingOf(p.message);
        if (thinking.length > v.thinking.length) appendThinking(v, thinking.slice(v.thinking.length), true);
        if (p.deltaText) appendText(v, p.deltaText);
        break;
      }
      case 'final': {
        const m = p.message;
        if (!v.text && textOf(m)) setText(v, textOf(m));
        setModel(v, modelOf(m));
        const u = m && m.usage;
        if (u && (u.input || u.output)) v.info.textContent = `${u.input || 0} → ${u.output || 0} tokens`;
        endRun('done');
        break;
      }
      case 'error': endRun('error', p.errorMessage || 'The run failed.'); break;
      case 'aborted': endRun('aborted'); break;
    }
  }

  function onAgent(p) {
    const r = ownRun(p);
    if (!r) return;
    const v = r.view, d = p.data || {};
    if (p.stream === 'tool') {
      let box = v.tools.get(d.toolCallId);
      if (d.phase === 'start' || !box) box = box || addTool(v, { id: d.toolCallId, name: d.name, arguments: d.args });
      if (d.phase === 'result') setToolResult(box, textOf(d.result), d.isError);
    } else if (p.stream === 'lifecycle') {
      if (d.phase === 'model') setModel(v, d.provider ? `${d.provider}/${d.model}` : d.model);
      if (d.phase === 'fallback_step') {
        const from = d.fallbackStepFromModel, to = d.fallbackStepToModel, kind = d.fallbackStepFromFailureReason, why = d.fallbackStepFromFailureDetail;
        addNotice(v, 'notice', `${from || 'model'} failed${kind ? ` (${kind})` : ''}${why ? ': ' + why : ''} — falling back to ${to || 'the next model'}`, 'fallback');
        setModel(v, to);
      }
    }
  }

  function onApprovalRequested(p) {
    const r = run && !run.ended && p.request && p.request.runId === run.runId ? run : null;
    if (r && !approvals.has(p.id)) addApproval(r.view, p);
  }
  function onApprovalResolved(p) {
    const a = approvals.get(p.id);
    if (!a || a.box.dataset.state) return;
    settleApproval(a.box, a.cmd, p.decision);
  }

  function endRun(state, message) {
    if (!run) return;
    const v = run.view;
    run.ended = true;
    v.body.querySelector('.typing')?.remove();
    v.root.dataset.state = state;
    if (state === 'error') addNotice(v, 'error', message, 'error');
    if (state === 'aborted') addNotice(v, 'notice stopped', 'Stopped.', 'aborted');
    for (const b of v.root.querySelectorAll('.tool[data-state="running"]')) b.dataset.state = state === 'done' ? 'ok' : state;
    collapseThinking(v);
    run = null;
    updateComposer();
    if (connected) loadSessions().catch(() => {});
    if (document.activeElement === ui.stop || document.activeElement === document.body) ui.input.focus();
  }

  async function abort() {
    const r = run;
    if (!r) return;
    r.abortRequested = true;
    ui.stop.disabled = true;
    if (!r.started) { ui.stop.disabled = false; return; } // sent as soon as chat.send answers
    try {
      const res = await request('chat.abort', { sessionKey: r.sessionKey, runId: r.runId });
      // The `aborted` event ends the run; if it never comes (run already over), end it here.
      setTimeout(() => { if (run === r) endRun(res && res.aborted === false ? 'done' : 'aborted'); }, res && res.aborted ? 5000 : 1000);
    } catch (err) {
      if (run === r) endRun('error', 'Could not stop: ' + err.message);
    } finally { ui.stop.disabled = false; }
  }

  // ---------- composer
  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, 220) + 'px';
  }
  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  ui.stop.addEventListener('click', abort);
  ui.input.addEventListener('input', autosize);
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
    else if (e.key === 'Escape' && run) abort();
  });

  // copy buttons in code blocks (event delegation)
  ui.messages.addEventListener('click', async (e) => {
    const btn = e.target.closest('button.copy');
    if (!btn) return;
    const code = btn.closest('.code').querySelector('code').textContent;
    try { await navigator.clipboard.writeText(code); }
    catch {
      const ta = el('textarea'); ta.value = code; document.body.append(ta); ta.select();
      document.execCommand('copy'); ta.remove();
    }
    btn.textContent = 'Copied';
    setTimeout(() => { btn.textContent = 'Copy'; }, 1200);
  });

  // narrow screens: the session list is a drawer
  function closeDrawer() { ui.app.classList.remove('drawer'); ui.menu.setAttribute('aria-expanded', 'false'); ui.backdrop.hidden = true; }
  ui.menu.addEventListener('click', () => {
    const open = !ui.app.classList.contains('drawer');
    ui.app.classList.toggle('drawer', open); ui.menu.setAttribute('aria-expanded', String(open)); ui.backdrop.hidden = !open;
  });
  ui.backdrop.addEventListener('click', closeDrawer);

  // ---------- markdown (small and safe: every piece of source text goes through esc())
  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  function emph(s) { // s is already escaped; only adds tags
    return s
      .replace(/\*\*(?=\S)([^*]*?\S)\*\*/g, '<strong>$1</strong>')
      .replace(/(^|[^\w])__(?=\S)([^_]*?\S)__(?!\w)/g, '$1<strong>$2</strong>')
      .replace(/(^|[^*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?!\*)/g, '$1<em>$2</em>')
      .replace(/(^|[^\w])_(?=[^\s_])([^_\n]*?[^\s_])_(?!\w)/g, '$1<em>$2</em>')
      .replace(/~~(?=\S)([^~]*?\S)~~/g, '<del>$1</del>');
  }
  function link(url, html) { return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${html}</a>`; }
  const INLINE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>()"']+[^\s<>()"'.,;:!?])/gi;
  function inline(raw) {
    let out = '', last = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(raw))) {
      out += emph(esc(raw.slice(last, m.index)));
      if (m[1]) out += `<code>${esc(m[2].trim() || m[2])}</code>`;
      else if (m[3]) out += link(m[4], emph(esc(m[3])));
      else out += link(m[5], esc(m[5]));
      last = INLINE.lastIndex;
    }
    return out + emph(esc(raw.slice(last)));
  }
  function codeBlock(code, lang) {
    const l = (lang || '').replace(/[^\w+#.-]/g, '').slice(0, 24);
    return `<div class="code"><div class="code-head"><span class="code-lang">${esc(l || 'text')}</span>` +
      '<button type="button" class="copy" data-testid="copy-code" aria-label="Copy code">Copy</button></div>' +
      `<pre><code${l ? ` class="language-${esc(l)}"` : ''}>${esc(code)}</code></pre></div>`;
  }
  const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
  const LIST = /^(\s*)([-*+]|\d{1,9}[.)])\s+/;
  const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
  const QUOTE = /^ {0,3}>\s?/;
  const startsBlock = (l) => FENCE.test(l) || HEADING.test(l) || LIST.test(l) || QUOTE.test(l) || RULE.test(l);
  function renderMarkdown(src, depth = 0) {
    const lines = String(src).replace(/\r\n?/g, '\n').split('\n');
    let out = '', i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let m;
      if ((m = FENCE.exec(line))) {
        const body = [];
        for (i++; i < lines.length && !lines[i].trim().startsWith(m[1]); i++) body.push(lines[i]);
        i++; // closing fence (absent while a reply still streams)
        out += codeBlock(body.join('\n'), m[2]);
      } else if (!line.trim()) {
        i++;
      } else if ((m = HEADING.exec(line))) {
        const n = Math.min(m[1].length + 2, 6);
        out += `<h${n}>${inline(m[2])}</h${n}>`; i++;
      } else if (RULE.test(line)) {
        out += '<hr>'; i++;
      } else if (QUOTE.test(line) && depth < 4) {
        const body = [];
        for (; i < lines.length && QUOTE.test(lines[i]); i++) body.push(lines[i].replace(QUOTE, ''));
        out += `<blockquote>${renderMarkdown(body.join('\n'), depth + 1)}</blockquote>`;
      } else if ((m = LIST.exec(line))) {
        const ordered = /\d/.test(m[2]);
        const items = [];
        for (; i < lines.length; i++) {
          const l = lines[i], lm = LIST.exec(l);
          if (lm && /\d/.test(lm[2]) === ordered && lm[1].length <= m[1].length + 1) items.push(l.slice(lm[0].length));
          else if (items.length && l.trim() && (/^\s/.test(l) || !startsBlock(l)) && !(lm && lm[1].length <= m[1].length)) items[items.length - 1] += '\n' + l.trim();
          else break;
        }
        const tag = ordered ? 'ol' : 'ul';
        const start = ordered && parseInt(m[2], 10) !== 1 ? ` start="${parseInt(m[2], 10)}"` : '';
        out += `<${tag}${start}>${items.map((t) => `<li>${listItem(t, depth)}</li>`).join('')}</${tag}>`;
      } else {
        const para = [];
        for (; i < lines.length && lines[i].trim() && (para.length === 0 || !startsBlock(lines[i])); i++) para.push(lines[i]);
        out += `<p>${inline(para.join('\n').trim()).replace(/\n/g, '<br>')}</p>`;
      }
    }
    return out;
  }
  function listItem(text, depth) { // a nested list inside an item
    const nl = text.indexOf('\n');
    if (nl < 0 || depth >= 3) return inline(text).replace(/\n/g, '<br>');
    const rest = text.slice(nl + 1);
    if (LIST.test(rest)) return inline(text.slice(0, nl)) + renderMarkdown(rest, depth + 1);
    return inline(text).replace(/\n/g, '<br>');
  }
  window.openclawMarkdown = renderMarkdown; // for tests

  // ---------- start
  autosize();
  updateComposer();
  connect();
  ui.input.focus();
})();
