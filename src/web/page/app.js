// chatd's browser client: chatd's own line protocol (docs/protocol.md) over
// a WebSocket, one line per text message. Plain ES2020, no build step, no
// library. User text only ever reaches the page through textContent: the
// server's Content-Security-Policy enforces Trusted Types with no policy,
// so any HTML sink would throw.
'use strict';

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// ---- state ----

let ws = null;
let me = null;            // our name, once joined
let wanted = null;        // { name, password } to JOIN with (kept for reconnects)
let joined = false;
let leaving = false;      // the user asked to leave: no reconnect
let rejoining = false;    // joining again by itself after the connection dropped
let offlineLeft = 0;      // MSG/MCAST lines still to come from OK JOIN pending=<n>
let retry = 0;
let retryTimer = null;
const sent = [];          // commands awaiting their OK/ERR, in order: { cmd, entry }
const convs = new Map();  // key -> { key, kind, title, names, items, seen, unread }
const online = new Map(); // folded name -> name as spelled
let current = '*';

const fold = (n) => n.toLowerCase();

// ---- conversations ----

function conv(key, kind, title, names) {
  let c = convs.get(key);
  if (!c) {
    c = { key, kind, title, names: names || [], items: [], seen: new Set(), unread: 0 };
    convs.set(key, c);
    renderConvs();
  }
  return c;
}

const everyone = () => conv('*', 'all', 'Everyone');

function dmConv(name) {
  return conv('dm:' + fold(name), 'dm', name, [name]);
}

// A group is its members other than us, whoever wrote.
function groupConv(names) {
  const seen = new Set();
  const others = [];
  for (const n of names) {
    const f = fold(n);
    if (f !== fold(me || '') && !seen.has(f)) { seen.add(f); others.push(n); }
  }
  if (others.length === 1) return dmConv(others[0]);
  others.sort((a, b) => fold(a) < fold(b) ? -1 : 1);
  return conv('grp:' + others.map(fold).join(','), 'group', others.join(', '), others);
}

// Adds an item (kept in time order); returns false for a duplicate (a stored
// message is also in HISTORY, and a reconnect replays HISTORY).
function add(c, item) {
  if (item.id) {
    if (c.seen.has(item.id)) return false;
    c.seen.add(item.id);
    // Our own message, sent from this page, coming back in HISTORY.
    const own = c.items.find((o) => !o.id && o.from === item.from && o.text === item.text && o.kind === 'msg' &&
      Math.abs(o.ts - item.ts) < 120000);
    if (own) { own.id = item.id; return false; }
  }
  // Live lines go last, in arrival order; HISTORY lines by their time.
  let i = c.items.length;
  if (item.history) while (i > 0 && c.items[i - 1].ts > item.ts) i--;
  c.items.splice(i, 0, item);
  if (c.key === current) {
    if (i === c.items.length - 1) appendItem(item, c.items[i - 1]); else renderLog();
  } else if (item.unread) {
    c.unread++;
    renderConvs();
  }
  updateTitle();
  return true;
}

function system(c, text) {
  add(c, { kind: 'system', ts: new Date(), text });
}

// ---- rendering ----

const timeFmt = { hour: '2-digit', minute: '2-digit' };
const dayFmt = { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' };

function appendItem(item, prev) {
  const log = $('log');
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  if (!prev || prev.ts.toDateString() !== item.ts.toDateString()) {
    log.append(el('li', 'day', item.ts.toLocaleDateString([], dayFmt)));
  }
  const li = el('li', item.kind);
  const time = el('time', null, item.ts.toLocaleTimeString([], timeFmt));
  time.dateTime = item.ts.toISOString();
  time.title = item.ts.toLocaleString();
  li.append(time);
  if (item.kind !== 'system') {
    li.append(el('span', 'from', item.from));
    if (item.from === me) li.classList.add('mine');
  }
  li.append(el('span', 'text', item.text));
  if (item.away) {
    li.classList.add('away');
    li.append(el('span', 'tag', '(sent while you were away)'));
  }
  if (item.state != null) {
    item.stateEl = el('span', 'state', item.state);
    li.append(item.stateEl);
  }
  log.append(li);
  if (nearBottom || item.from === me) log.scrollTop = log.scrollHeight;
}

function renderLog() {
  const c = convs.get(current) || everyone();
  $('log').replaceChildren();
  let prev = null;
  for (const item of c.items) { appendItem(item, prev); prev = item; }
  $('log').scrollTop = $('log').scrollHeight;
  $('conv-title').textContent = c.kind === 'dm' ? 'Private: ' + c.title : c.kind === 'group' ? 'Group: ' + c.title : 'Everyone';
  $('text').placeholder = c.kind === 'all' ? 'Write to everyone' : 'Write to ' + c.title;
}

function setState(item, text, failed) {
  item.state = text;
  if (item.stateEl) {
    item.stateEl.textContent = text;
    item.stateEl.classList.toggle('failed', !!failed);
  }
}

function renderConvs() {
  const ul = $('convs');
  ul.replaceChildren();
  for (const c of convs.values()) {
    const b = el('button', 'plain');
    b.type = 'button';
    b.dataset.conv = c.key;
    b.append(el('span', null, c.kind === 'all' ? 'Everyone' : c.title));
    if (c.unread > 0) {
      b.classList.add('unread');
      const badge = el('span', 'badge', String(c.unread));
      badge.setAttribute('aria-label', c.unread + ' unread');
      b.append(badge);
    }
    if (c.key === current) b.setAttribute('aria-current', 'true');
    b.addEventListener('click', () => open(c.key));
    const li = el('li');
    li.append(b);
    ul.append(li);
  }
}

function renderOnline() {
  const ul = $('online');
  ul.replaceChildren();
  const names = [...online.values()].sort((a, b) => fold(a) < fold(b) ? -1 : 1);
  for (const n of names) {
    const li = el('li');
    li.dataset.name = n;
    if (fold(n) === fold(me || '')) {
      li.append(el('span', null, n + ' (you)'));
    } else {
      const b = el('button', 'plain', n);
      b.type = 'button';
      b.title = 'Write to ' + n + ' privately';
      b.addEventListener('click', () => { open(dmConv(n).key); $('text').focus(); });
      li.append(b);
    }
    ul.append(li);
  }
  $('online-count').textContent = '(' + names.length + ')';
}

function updateTitle() {
  let n = 0;
  for (const c of convs.values()) n += c.unread;
  document.title = n > 0 ? '(' + n + ') chatd' : 'chatd';
}

function open(key) {
  current = key;
  const c = convs.get(key);
  if (c) c.unread = 0;
  renderConvs();
  renderLog();
  updateTitle();
}

function setStatus(text, bad) {
  $('status').textContent = text;
  $('status').classList.toggle('bad', !!bad);
}

function showChat(on) {
  $('join-view').hidden = on;
  $('chat-view').hidden = !on;
  $('leave-btn').hidden = !on;
  $('me').textContent = on ? me : '';
  $('register-user').value = on ? me : '';
}

// ---- the connection ----

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  setStatus('connecting…');
  const sock = new WebSocket(scheme + location.host + '/ws', 'text.chatd');
  ws = sock;
  sock.onmessage = (ev) => { if (ws === sock) line(String(ev.data)); };
  sock.onclose = () => { if (ws === sock) closed(); };
}

function send(cmd, text, entry) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(text);
  sent.push({ cmd, entry });
  return true;
}

function closed() {
  ws = null;
  sent.length = 0;
  const wasJoined = joined;
  joined = false;
  online.clear();
  if (leaving || !wanted) {
    setStatus('not connected');
    showChat(false);
    return;
  }
  if (!wasJoined && retry === 0 && !me) {
    setStatus('could not connect', true);
    $('join-error').textContent = 'The server could not be reached. Trying again…';
  }
  if (wasJoined || rejoining) rejoining = true;
  const wait = Math.min(30, 2 ** retry);
  retry++;
  setStatus('disconnected; reconnecting in ' + wait + ' s', true);
  if (me) system(everyone(), 'Connection lost; reconnecting…');
  retryTimer = setTimeout(connect, wait * 1000);
}

// One server line.
function line(l) {
  const sp = l.indexOf(' ');
  const kind = sp < 0 ? l : l.slice(0, sp);
  const rest = sp < 0 ? '' : l.slice(sp + 1);
  switch (kind) {
    case 'HELLO':
      setStatus('connected');
      if (wanted) join();
      break;
    case 'OK': ok(rest); break;
    case 'ERR': err(rest); break;
    case 'ALL': case 'MSG': case 'MCAST': message(kind, rest); break;
    case 'HISTORY': history(rest); break;
    case 'JOINED': case 'LEFT': presence(kind, rest); break;
    case 'NOTICE':
      system(convs.get(current) || everyone(), 'Server: ' + split(rest, 1)[1]);
      break;
    default: break; // PONG, HELP lines: nothing to show
  }
}

// The first n space-separated fields, then the rest of the line.
function split(s, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const sp = s.indexOf(' ');
    if (sp < 0) { out.push(s); s = ''; continue; }
    out.push(s.slice(0, sp));
    s = s.slice(sp + 1);
  }
  out.push(s);
  return out;
}

const when = (ts) => { const d = new Date(ts); return isNaN(d) ? new Date() : d; };

function join() {
  const { name, password } = wanted;
  $('join-error').textContent = '';
  send('JOIN', password ? 'JOIN ' + name + ' ' + password : 'JOIN ' + name);
}

function ok(rest) {
  const [cmd, args] = split(rest, 1);
  const head = sent.shift();
  switch (cmd) {
    case 'JOIN': {
      const [name, pending] = split(args, 1);
      if (me && fold(me) !== fold(name)) {
        // Someone else on this page now: not the last user's conversations.
        convs.clear();
        current = '*';
      }
      me = name;
      joined = true;
      rejoining = false;
      retry = 0;
      offlineLeft = parseInt((pending.match(/pending=(\d+)/) || [0, '0'])[1], 10);
      everyone();
      showChat(true);
      renderOnline();
      open(current);
      setStatus(offlineLeft > 0 ? 'connected; ' + offlineLeft + ' message(s) kept while you were away' : 'connected');
      send('WHO', 'WHO');
      send('HISTORY', 'HISTORY 100');
      if (!document.activeElement || document.activeElement === document.body || document.activeElement.id === 'name' ||
          document.activeElement.id === 'password' || document.activeElement.id === 'join-btn') {
        $('text').focus();
      }
      break;
    }
    case 'WHO': {
      const [, names] = split(args, 1);
      online.clear();
      for (const n of names.split(' ').filter(Boolean)) online.set(fold(n), n);
      renderOnline();
      break;
    }
    case 'MSG': {
      const [, outcome] = split(args, 1);
      if (head && head.entry) setState(head.entry, outcome === 'stored' ? 'stored: they will get it when they join' : outcome);
      break;
    }
    case 'MCAST': {
      const d = (args.match(/delivered=(\S+)/) || [0, '-'])[1];
      const s = (args.match(/stored=(\S+)/) || [0, '-'])[1];
      const parts = [];
      if (d !== '-') parts.push('delivered to ' + d.split(',').join(', '));
      if (s !== '-') parts.push('stored for ' + s.split(',').join(', '));
      if (head && head.entry) setState(head.entry, parts.join('; '));
      break;
    }
    case 'ALL': {
      const n = (args.match(/delivered=(\d+)/) || [0, '0'])[1];
      const to = n === '0' ? 'nobody else is here (it is in the history)' : n === '1' ? 'delivered to 1 person' : 'delivered to ' + n + ' people';
      if (head && head.entry) setState(head.entry, to);
      break;
    }
    case 'REGISTER':
      $('register-msg').textContent = 'Saved: joining as ' + me + ' now needs this password.';
      if (head && head.password) wanted.password = head.password;
      break;
    case 'LEAVE':
      leaving = true;
      break;
    default: break;
  }
}

function err(rest) {
  const [code, text] = split(rest, 1);
  const head = sent.shift();
  if (!head) {
    // Not an answer to anything we sent (a join timeout, say).
    system(convs.get(current) || everyone(), text);
    return;
  }
  switch (head.cmd) {
    case 'JOIN': {
      if (joined) break;
      if (rejoining && code === 'NAME_TAKEN') {
        // Our old connection, not yet noticed as gone (it will be within
        // two ping intervals): keep trying, with the same backoff.
        setStatus('the old connection is still open; retrying…', true);
        if (ws) ws.close();
        break;
      }
      rejoining = false;
      $('join-error').textContent = text;
      const pw = $('password-row');
      if (code === 'AUTH_REQUIRED' || code === 'AUTH_FAILED') {
        pw.hidden = false;
        $('password').value = '';
        $('password').focus();
      } else {
        $('name').focus();
      }
      showChat(false);
      setStatus('connected');
      // The next Join says what to try; a reconnect must not retry this.
      wanted = null;
      break;
    }
    case 'REGISTER':
      $('register-msg').textContent = text;
      break;
    default:
      if (head.entry) setState(head.entry, 'not sent: ' + text, true);
      else system(convs.get(current) || everyone(), text);
  }
}

function message(kind, rest) {
  let c, ts, from, text, to;
  if (kind === 'MCAST') {
    [ts, from, to, text] = split(rest, 3);
    c = groupConv([...to.split(','), from]);
  } else {
    [ts, from, text] = split(rest, 2);
    c = kind === 'ALL' ? everyone() : dmConv(from);
    to = kind === 'ALL' ? '*' : me;
  }
  let away = false;
  if (kind !== 'ALL' && offlineLeft > 0) { offlineLeft--; away = true; }
  add(c, { kind: 'msg', ts: when(ts), from, text, away, unread: true, id: ts + '|' + from + '|' + fold(to) + '|' + text });
}

function history(rest) {
  const [ts, from, to, text] = split(rest, 3);
  let c;
  if (to === '*') c = everyone();
  else if (to.includes(',')) c = groupConv([...to.split(','), from]);
  else c = dmConv(fold(from) === fold(me) ? to : from);
  const mine = fold(from) === fold(me);
  add(c, { kind: 'msg', ts: when(ts), from: mine ? me : from, text, history: true,
    id: ts + '|' + from + '|' + fold(to) + '|' + text });
}

function presence(kind, rest) {
  const [, name, reason] = split(rest, 2);
  if (kind === 'JOINED') {
    online.set(fold(name), name);
    system(everyone(), name + ' joined');
  } else {
    online.delete(fold(name));
    system(everyone(), name + ' left' + (reason ? ' (' + reason + ')' : ''));
  }
  renderOnline();
}

// ---- the user's actions ----

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('name').value.trim();
  const password = $('password-row').hidden ? '' : $('password').value;
  if (!name) { $('join-error').textContent = 'Type a name first.'; $('name').focus(); return; }
  if (/\s/.test(name)) { $('join-error').textContent = 'A name has no spaces.'; $('name').focus(); return; }
  wanted = { name, password };
  leaving = false;
  rejoining = false;
  if (ws && ws.readyState === WebSocket.OPEN) join(); else if (!ws) connect();
});

$('name').addEventListener('input', () => {
  // Another name may not need the password.
  $('password-row').hidden = true;
  $('join-error').textContent = '';
});

$('send-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $('text');
  const text = input.value.replace(/[\r\n]+/g, ' ').trim();
  if (!text || !joined) return;
  const c = convs.get(current) || everyone();
  let cmd, wire;
  if (c.kind === 'all') { cmd = 'ALL'; wire = 'ALL ' + text; }
  else if (c.kind === 'dm') { cmd = 'MSG'; wire = 'MSG ' + c.names[0] + ' ' + text; }
  else { cmd = 'MCAST'; wire = 'MCAST ' + c.names.join(',') + ' ' + text; }
  const entry = { kind: 'msg', ts: new Date(), from: me, text, state: 'sending…' };
  if (!send(cmd, wire, entry)) return;
  input.value = '';
  add(c, entry);
});

$('group-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const names = $('group-names').value.split(/[\s,]+/).filter(Boolean);
  if (names.length === 0) return;
  $('group-names').value = '';
  open(groupConv(names).key);
  $('text').focus();
});

$('register-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const pw = $('register-pw').value;
  if (!pw) return;
  if (/\s/.test(pw)) { $('register-msg').textContent = 'A password has no spaces.'; return; }
  $('register-pw').value = '';
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send('REGISTER ' + pw);
    sent.push({ cmd: 'REGISTER', password: pw });
    $('register-msg').textContent = 'Saving…';
  }
});

$('leave-btn').addEventListener('click', () => {
  leaving = true;
  wanted = null;
  if (ws && ws.readyState === WebSocket.OPEN) send('LEAVE', 'LEAVE'); else closed();
});

// Alt+Up / Alt+Down: previous / next conversation.
document.addEventListener('keydown', (ev) => {
  if (!ev.altKey || (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') || !joined) return;
  const keys = [...convs.keys()];
  const i = keys.indexOf(current);
  const next = keys[(i + (ev.key === 'ArrowDown' ? 1 : keys.length - 1)) % keys.length];
  if (next) { ev.preventDefault(); open(next); }
});

// Back online after the machine slept or the network came back: try now.
window.addEventListener('online', () => { if (retryTimer) connect(); });
