// Orleans.Im web chat: plain modules, the official SignalR client, the edge host's HTTP API and chat hub.
// State lives here; the server's log is the truth: on (re)connect the page syncs and pulls what it missed.

const $ = (id) => document.getElementById(id);

/** A call to the edge host's HTTP API; its JSON body. */
async function request(path, options = {}, token = null) {
  const response = await fetch(path, {
    ...options,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...options.headers },
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw Object.assign(new Error(body?.detail ?? response.statusText), { code: body?.code, status: response.status });
  return { body };
}

/** A call as the signed-in user. */
const api = async (path, options = {}) => (await request(path, options, await accessToken())).body;

const pageTitle = document.title;

// One device per page: the server keeps one connection per device, so two tabs under one id took each other's pushes
// (the newer replaced the older's registration, and closing it left the older one deaf). The browser's part is kept
// (localStorage), so that the ids read as this browser's; the page's own part is new at every load, because session
// storage cannot tell a reload from a duplicated tab (which copies it).
const browserId = localStorage.getItem('im.deviceId') ?? `web-${crypto.randomUUID().slice(0, 8)}`;
localStorage.setItem('im.deviceId', browserId);
const deviceId = `${browserId}.${crypto.randomUUID().slice(0, 6)}`;

const state = {
  token: sessionStorage.getItem('im.token'),
  userId: sessionStorage.getItem('im.userId'),
  sessionId: sessionStorage.getItem('im.sessionId'),
  refreshToken: sessionStorage.getItem('im.refreshToken'),
  expiresAt: Number(sessionStorage.getItem('im.expiresAt') ?? 0), // the access token's, on the server's clock, ms
  refreshAt: Number(sessionStorage.getItem('im.refreshAt') ?? 0), // this page's clock, ms
  hub: null,
  version: 0,
  conversations: new Map(), // id → entry
  groupNames: new Map(),
  nameSeqs: new Map(),     // group id → the seq its name is as of (a rename notice's, or the group's last when names were asked)
  dissolved: new Set(),    // groups their owner dissolved: read-only, no composer
  open: null,              // conversation id
  messages: new Map(),     // seq → message (open conversation)
  quoted: new Map(),       // seq → message quoted by one the pane shows but older than what it shows (open conversation)
  quoting: new Set(),      // seqs of quoted messages being pulled (open conversation)
  replyTo: null,           // { conversationId, seq } the composer's next message answers, or null
  pane: 0,                 // the pane's generation: a new one when another conversation opens or the pane starts over
  loadingOlder: false,
  historyStart: 0,         // the seq after which the user's history of the open conversation starts (a group that hid what came before)
  pending: new Map(),      // clientMsgId → { text, element, conversationId }, also kept in the outbox (localStorage)
  paneChangesSeen: null,   // the latest change (edit, recall) the pane has, as the list dates it (loadChanges)
  peerReadSeq: 0,
  typingTimer: null,
  typingUser: null,        // who the typing indicator shows (clearTyping)
  catchingUp: null,        // the catch-up running (catchUp), and whether one more was asked meanwhile
  catchUpAgain: false,
  lastTypingSent: 0,
  leaving: false,          // signed out or kicked: a closed connection is not opened again
  connectedAt: 0,          // when the current hub connection came up (backOnline)
  bounces: 0,              // connections in a row the edge closed soon after they came up (a draining edge's)
};

/** Connections the edge closes within this of coming up count as bounces, and the next try waits longer. */
const BOUNCE_WINDOW_MS = 10000;

// ---- tokens: access tokens live minutes (15 by default); the refresh token renews them while the page is open ----

function keepTokens({ body: tokens }) {
  // Renewed at four fifths of its life, counted from now by the seconds the server gives (expiresIn): a page whose
  // clock is off still renews in time.
  const expiresAt = Date.parse(tokens.expiresAt);
  adoptTokens({
    token: tokens.accessToken,
    userId: tokens.userId,
    sessionId: tokens.sessionId,
    refreshToken: tokens.refreshToken,
    expiresAt, // the server's clock, ms
    refreshAt: Date.now() + lifeOf(tokens) * 0.8,
  });
  shareTokens();
}

/** The access token's life in ms: the server's expiresIn, or (an older server) its expiry less this clock, at least 30 s. */
function lifeOf(tokens) {
  if (tokens.expiresIn > 0) return tokens.expiresIn * 1000;
  return Math.max(30_000, (Date.parse(tokens.expiresAt) || 0) - Date.now());
}

function adoptTokens(tokens) {
  Object.assign(state, tokens);
  for (const key of tokenKeys) sessionStorage.setItem(`im.${key}`, String(state[key]));
}

const tokenKeys = ['token', 'userId', 'sessionId', 'refreshToken', 'expiresAt', 'refreshAt'];

// Tabs of one session: a duplicated tab copies this one's session storage, tokens included, and each renewal spends the
// refresh token. So a tab that renews hands the new tokens to its siblings, and a tab whose renewal is refused asks them
// before signing out (one may have renewed while this one was asleep). Which tokens are newer is told by the server's
// expiry, not this machine's clock; refreshAt (this browser's clock) carries over, the tabs sharing it.
const siblings = 'BroadcastChannel' in self ? new BroadcastChannel('im.tokens') : null;
siblings?.addEventListener('message', ({ data }) => {
  if (!state.refreshToken || data?.sessionId !== state.sessionId) return;
  const tokens = data.tokens;
  if (data.kind === 'tokens' && tokens?.sessionId === state.sessionId && tokens.userId === state.userId
      && tokens.refreshToken !== state.refreshToken && tokens.expiresAt >= state.expiresAt) {
    adoptTokens(tokens);
  }
  if (data.kind === 'ask') shareTokens();
});

function shareTokens() {
  const tokens = Object.fromEntries(tokenKeys.map((key) => [key, state[key]]));
  siblings?.postMessage({ kind: 'tokens', sessionId: state.sessionId, tokens });
}

/** Whether a sibling tab answered with other tokens of this session than the spent ones within a moment. */
async function tokensFromSiblings(spent, waitMs = 500) {
  if (!siblings) return false;
  siblings.postMessage({ kind: 'ask', sessionId: state.sessionId });
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  return state.refreshToken !== spent;
}

let renewing = null;

/** The access token for the next call or (re)connect, renewed first when it is due. */
async function accessToken() {
  if (!state.refreshToken || Date.now() < state.refreshAt) return state.token;
  // One renewal at a time: each replaces the refresh token, and only the one just replaced may repeat its renewal.
  renewing ??= renew().finally(() => { renewing = null; });
  return renewing;
}

async function renew() {
  // Newer tokens first, if a sibling tab has them: presenting a refresh token a sibling already spent (after the
  // server's short grace) ends the session for every tab, as a stolen token would.
  if (await tokensFromSiblings(state.refreshToken, 300) && Date.now() < state.refreshAt) return state.token;
  const sent = state.refreshToken;
  try {
    const answer = await request('/api/auth/refresh', {
      method: 'POST',
      body: JSON.stringify({ userId: state.userId, sessionId: state.sessionId, refreshToken: sent }),
    });
    // A slow answer must not take the page back to older tokens than a sibling handed over meanwhile.
    if (state.refreshToken === sent || Date.parse(answer.body.expiresAt) >= state.expiresAt) keepTokens(answer);
  } catch (error) {
    // Refused: a sibling tab spent this refresh token (then it has handed over the new one, maybe while this request was
    // out, or has it to give), or the session ended (signed out elsewhere, revoked, expired): sign in again. Anything
    // else (the edge unreachable for now): keep the token, and the next call or reconnect tries again.
    if (error.status === 401 && state.refreshToken === sent && !(await tokensFromSiblings(sent))) signedOut();
  }
  return state.token;
}

function signedOut() {
  state.leaving = true;
  closeNotifications();
  // However the session ended (signed out here or elsewhere, revoked, kicked): what it had not sent is not left behind
  // in this browser for whoever uses it next.
  forgetAllUnsent();
  sessionStorage.clear();
  location.reload();
}

/**
 * Kicked: the session ended (signed out elsewhere, revoked), which signs out here too; or only this page was made to
 * leave (the user opened more web pages than the device limit, the longest connected going first; or another device
 * took this device id), the session alive. Then the page stops where it is, keeping the session and what was not sent:
 * connecting again by itself would push out the page that took its place, and that one the next. The user reloads to
 * use it here again.
 */
async function kicked(reason) {
  state.leaving = true;
  setOnline(false);
  state.hub.stop().catch(() => {});
  if (await tokenRefused()) {
    signedOut();
    return;
  }
  const note = $('page-note');
  note.textContent = `This page was disconnected (${reason || 'signed in elsewhere'}). Reload it to use it here again.`;
  note.hidden = false;
}

// ---- sign in / out ----

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  // Asked on the click that signs in (browsers want a gesture); not awaited: signing in does not wait for the answer.
  // (Promise.resolve: older Safari's requestPermission takes a callback and returns nothing.)
  if ('Notification' in self && Notification.permission === 'default') Promise.resolve(Notification.requestPermission()).catch(() => {});
  $('login-error').textContent = '';
  // One sign-in at a time: a second submit made a second login and a second connection as the same device, which the
  // server answers by signing the first out (and with it this page).
  $('login-submit').disabled = true;
  try {
    keepTokens(await request('/api/auth/login', {
      method: 'POST',
      body: JSON.stringify({ userId: $('login-user').value.trim(), password: $('login-password').value, deviceId, platform: 'web' }),
    }));
  } catch (error) {
    $('login-error').textContent = error.code === 'rate_limited' ? 'Too many attempts; wait a minute.'
      : error.status === 401 ? 'Wrong user id or password.'
      : 'Could not sign in now (the server did not answer); try again.';
    $('login-submit').disabled = false;
    return;
  }

  await start();
});

$('logout').addEventListener('click', async () => {
  try { await api('/api/auth/logout', { method: 'POST' }); } catch { /* signed out either way */ }
  signedOut();
});

// ---- account: signed-in devices and the password ----

$('account').addEventListener('toggle', () => {
  if ($('account').open) {
    loadDevices();
    loadGroupAdds();
  }
});

async function loadGroupAdds() {
  try {
    $('group-adds-contacts').checked = (await api('/api/me/settings/group-adds')).groupAdds === 'contacts';
  } catch {
    $('privacy-note').textContent = 'Could not load the privacy setting.';
  }
}

$('group-adds-contacts').addEventListener('change', async (event) => {
  const box = event.currentTarget;
  const groupAdds = box.checked ? 'contacts' : 'everyone';
  box.disabled = true;
  try {
    await api('/api/me/settings/group-adds', { method: 'PUT', body: JSON.stringify({ groupAdds }) });
    $('privacy-note').textContent = box.checked ? 'Only your friends can add you to groups now.' : 'Anyone can add you to groups now.';
  } catch {
    box.checked = !box.checked;
    $('privacy-note').textContent = 'Could not change the setting; try again.';
  } finally {
    box.disabled = false;
  }
});

async function loadDevices() {
  const list = $('devices');
  try {
    const sessions = await api('/api/me/sessions');
    list.replaceChildren(...sessions.map((session) => {
      const item = document.createElement('li');
      item.dataset.testid = 'device';
      item.dataset.session = session.sessionId;
      const name = document.createElement('span');
      name.textContent = session.platform ? `${session.deviceId} (${session.platform})` : session.deviceId;
      const when = document.createElement('span');
      when.className = 'when';
      when.textContent = session.connectedSince
        ? `online since ${new Date(session.connectedSince).toLocaleString()}`
        : `active ${new Date(session.lastRefreshedAt).toLocaleString()}`;
      item.append(name, when);
      if (session.current) {
        const here = document.createElement('span');
        here.textContent = 'this device';
        item.append(here);
      } else {
        const end = document.createElement('button');
        end.className = 'link';
        end.textContent = 'Sign out';
        end.setAttribute('aria-label', `Sign out ${session.deviceId}`);
        end.addEventListener('click', () => deviceAction(end, `/api/me/sessions/${encodeURIComponent(session.sessionId)}`, `${session.deviceId} is signed out.`));
        item.append(end);
      }
      return item;
    }));
  } catch {
    const item = document.createElement('li');
    item.textContent = 'Could not load the devices.';
    list.replaceChildren(item);
  }
}

$('devices-end-others').addEventListener('click', (event) => {
  if (confirm('Sign out all your other devices?')) deviceAction(event.currentTarget, '/api/me/sessions', 'Your other devices are signed out.');
});

/** Signs out a device (or all others) and says how it went. */
async function deviceAction(button, path, done) {
  const note = $('devices-note');
  button.disabled = true;
  try {
    await api(path, { method: 'DELETE' });
    note.textContent = done;
  } catch (error) {
    note.textContent = error.code === 'not_found' ? 'That device was signed out already.' : 'Could not sign it out; try again.';
  } finally {
    button.disabled = false;
  }
  await loadDevices();
}

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const note = $('password-note');
  try {
    await api('/api/me/password', {
      method: 'PUT',
      body: JSON.stringify({ currentPassword: $('password-current').value, newPassword: $('password-new').value }),
    });
    $('password-form').reset();
    note.textContent = 'Password changed. Your other devices are signed out.';
    await loadDevices();
  } catch (error) {
    // A wrong current password is 403, not 401: this page's own session is fine.
    note.textContent = {
      wrong_password: 'The current password is wrong.',
      rate_limited: 'Too many attempts; wait a minute.',
      invalid_request: error.message,
    }[error.code] ?? 'Could not change the password; try again.';
  }
});

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = state.userId;
  $('password-user').value = state.userId; // for password managers, which pair a new password with its account
  const hub = new signalR.HubConnectionBuilder()
    // WebSockets without the negotiate round trip: behind a balancer with no sticky sessions, a negotiate answered by
    // one edge host and a connect sent to another would fail; one WebSocket request lands on one host.
    .withUrl(`/hubs/chat?deviceId=${encodeURIComponent(deviceId)}`, {
      // Asked at every (re)connect: a page left open past its token's life reconnects with a renewed one.
      accessTokenFactory: accessToken,
      skipNegotiation: true,
      transport: signalR.HttpTransportType.WebSockets,
    })
    // Never gives up while the page is open (the default stops after four tries, ~40 s, and leaves the page offline
    // for good after an edge restart or a longer outage).
    .withAutomaticReconnect({
      nextRetryDelayInMilliseconds: ({ previousRetryCount }) => {
        // Made to leave (kicked): not connected again by itself.
        if (state.leaving) return null;
        // A session revoked while the page was offline is refused at every reconnect, with no kick to say so: every
        // third try an API call asks, and a refused token means signing in again.
        if (previousRetryCount > 0 && previousRetryCount % 3 === 0) tokenRefused().then((refused) => refused && signedOut());
        return retryDelay(previousRetryCount);
      },
    })
    .build();
  hub.on('Events', onEvents);
  hub.onreconnecting(() => setOnline(false));
  hub.onreconnected(backOnline);
  hub.onclose(connectAgain);
  state.hub = hub;
  restoreUnsent();
  // Away while the page is hidden; contacts who share presence see it.
  document.addEventListener('visibilitychange', () => {
    if (hub.state === signalR.HubConnectionState.Connected) hub.invoke('SetPresence', document.hidden).catch(() => {});
  });
  if (!(await connect(0))) return;
  await loadGroupNames();
  await backOnline();
}

/**
 * Starts the hub connection, trying again (at the pace of a reconnect, from `firstAttempt` on) until it is up: false when
 * the page signs out instead.
 */
async function connect(firstAttempt) {
  for (let attempt = firstAttempt; !state.leaving; attempt++) {
    try {
      await state.hub.start();
      return true;
    } catch {
      // The edge is unreachable (tried again, like a reconnect), or it no longer takes this session's token (a
      // rotated signing key, an ended session), which only an API call can tell from here: then sign in again.
      if (await tokenRefused()) {
        signedOut();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, retryDelay(attempt)));
    }
  }
  return false;
}

/**
 * The edge closed the connection itself: after a drain's `redirect`, a login storm, a failover, a page that read too
 * slowly. SignalR's automatic reconnect covers only a connection lost on the way; a close the server makes leaves the
 * client disconnected for good, and the page would stay offline (what was typed meanwhile never sent) until reloaded.
 * Connected again here, through the balancer to another edge. One closed soon after it came up (a reconnect that landed
 * on the draining edge again) makes the next wait longer, so pages do not bounce off it several times a second.
 */
async function connectAgain() {
  setOnline(false);
  if (state.leaving) return;
  state.bounces = Date.now() - state.connectedAt < BOUNCE_WINDOW_MS ? state.bounces + 1 : 0;
  await new Promise((resolve) => setTimeout(resolve, retryDelay(state.bounces)));
  if (await connect(state.bounces)) await backOnline();
}

/** At once, after ~2, ~5 and ~10 s, then every 15-30 s (jittered, so a restarted edge is not met by every page at once). */
function retryDelay(previousRetries) {
  const base = [0, 2000, 5000, 10000][previousRetries] ?? 15000;
  return base + Math.random() * Math.max(base, 1000) * (previousRetries < 4 ? 0.5 : 1);
}

async function tokenRefused() {
  try {
    // One grain call (the list of groups calls every group the user is in).
    await api('/api/me/profile');
    return false;
  } catch (error) {
    // Only a token still within its life, refused, says the session ended. An expired one whose renewal could not be
    // made (the cluster down, the edge up) says nothing: signing out then would send every page whose token lapsed
    // during an outage back to the login form; a refused renewal signs out by itself (renew).
    // (Told by this browser's clock: before the renewal is due, the token is well within its life.)
    return error.status === 401 && Date.now() < state.refreshAt;
  }
}

/** Connected (again): what was written meanwhile goes out, and the list and open conversation catch up. */
async function backOnline() {
  state.connectedAt = Date.now();
  setOnline(true);
  // A new connection starts present: a page hidden meanwhile says it is away again, or contacts see it online.
  if (document.hidden) state.hub.invoke('SetPresence', true).catch(() => {});
  for (const [clientMsgId, pending] of state.pending) if (pending.unanswered) send(clientMsgId);
  await catchUp();
}

function setOnline(online) { $('status').classList.toggle('online', online); }

// ---- conversation list ----

/**
 * Catches up; when the edge refuses for the moment (its request budget: `rate_limited`) or the call fails, again after
 * a pause that doubles, jittered, while connected. A reconnect catches up by itself.
 */
async function catchUp() {
  // One at a time: asked while one runs (a push with a gap in each message of a busy group, a resync), it runs once
  // more after, and the callers wait for that one. Side by side they multiplied the calls just when the edge was
  // refusing them for the moment, and their syncs' versions could land out of order.
  if (state.catchingUp) {
    state.catchUpAgain = true;
    return state.catchingUp;
  }
  state.catchingUp = (async () => {
    try {
      do {
        state.catchUpAgain = false;
        await catchUpWithRetries();
      } while (state.catchUpAgain);
    } finally {
      state.catchingUp = null;
    }
  })();
  return state.catchingUp;
}

async function catchUpWithRetries() {
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      await catchUpOnce();
      return;
    } catch {
      if (attempt === 5 || state.hub?.state !== signalR.HubConnectionState.Connected) return;
      await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 500 * (0.75 + Math.random() / 2)));
    }
  }
}

/** Answers worth asking again: the edge could not answer for now (a silo failing over, its request budget). */
function transient(error) {
  return error === 'unavailable' || error === 'rate_limited';
}

async function catchUpOnce() {
  const sync = await state.hub.invoke('Sync', state.version);
  for (const entry of sync.conversations) state.conversations.set(entry.conversationId, merged(state.conversations.get(entry.conversationId), entry));
  state.version = sync.version;
  // Read while the page was away (its receipt pushed into the lost connection): the open chat's "Sent" turns "Read".
  const open = state.open && state.conversations.get(state.open);
  if (open?.peerReadSeq) peerReadUpTo(open.peerReadSeq);
  // A group may have been renamed while the page was away (its notice anywhere among what it missed): the names of
  // groups with news are asked again.
  if (sync.conversations.some((e) => e.conversationId.startsWith('grp:') && e.lastSeq > (state.nameSeqs.get(e.conversationId) ?? 0))) {
    await loadGroupNames();
  }
  renderList();
  // A pull the edge could not answer (a silo failing over) is tried again with the rest (catchUp): dropped, the open
  // chat would lack what was said while the page was away, and show recalled messages, until its next message.
  if (state.open && (!(await loadNewer()) || !(await loadChanges()))) throw new Error('the open conversation did not catch up');
}

/** The peer of the open chat has read up to `seq`: only the own messages that newly covers change (Sent → Read). */
function peerReadUpTo(seq) {
  const before = state.peerReadSeq;
  state.peerReadSeq = Math.max(before, seq);
  for (const message of state.messages.values()) {
    if (message.senderId === state.userId && message.seq > before && message.seq <= state.peerReadSeq) upsert(message);
  }
}

/**
 * Edits and recalls made while the page was away to messages the pane shows: pushed while it was gone, and a Pull goes
 * forward from the newest shown, so it would never show them. Asked when the list says the conversation changed later
 * than the last change the pane saw. False when the edge did not answer (the caller tries again).
 */
async function loadChanges() {
  const pane = paneNow();
  const changedAt = state.conversations.get(pane.id)?.changedAt;
  const seen = state.paneChangesSeen;
  if (!changedAt || (seen && Date.parse(changedAt) <= Date.parse(seen))) return true;
  const result = await tryInvoke('PullChanges', pane.id, seen, MaxPull);
  if (!isShowing(pane)) return true;
  if (result.error) return !transient(result.error);
  for (const message of result.changes.messages) {
    // Only what the pane shows, and only newer: a change pushed while this answer was on its way is not undone.
    const known = state.messages.get(message.seq);
    if (known && (known.revision ?? 0) < message.revision) upsert(message);
    else noteQuotedChange(message);
  }
  state.paneChangesSeen = result.changes.hasMore ? result.changes.messages.at(-1)?.revisedAt ?? seen : changedAt;
  return true;
}

/** Pages of group names asked at most (the server answers up to 200 groups a page). */
const MaxGroupPages = 50;

async function loadGroupNames() {
  // The names answered are at least as new as each group's last message known now; a rename told while they are on
  // their way is newer than them.
  const asked = new Map(Array.from(state.conversations.values(), (c) => [c.conversationId, c.lastSeq ?? 0]));
  const namedBefore = new Map(state.nameSeqs);
  try {
    // A page at a time, in id order, until one comes back empty.
    let after = '';
    for (let page = 0; page < MaxGroupPages; page++) {
      const groups = await api(`/api/groups${after ? `?after=${encodeURIComponent(after)}` : ''}`);
      if (groups.length === 0) break;
      for (const group of groups) {
        const id = group.conversationId;
        if ((state.nameSeqs.get(id) ?? 0) === (namedBefore.get(id) ?? 0)) {
          state.groupNames.set(id, group.name);
          state.nameSeqs.set(id, Math.max(state.nameSeqs.get(id) ?? 0, asked.get(id) ?? 0));
        }
        if (group.dissolvedAt) noteDissolved(id);
      }
      after = groups[groups.length - 1].conversationId;
    }
  } catch { /* names are a nicety */ }
}

function titleOf(id) {
  if (id.startsWith('p2p:')) return id.slice(4).split(':').find((u) => u !== state.userId) ?? id;
  return state.groupNames.get(id) ?? id;
}

function timeOf(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString();
}

function previewOf(last) {
  if (!last) return '';
  if (last.state === 'recalled') return 'Message recalled';
  if (last.state === 'deleted') return 'Deleted';
  // Superseded: its successor is on its way (or the list is about to get it at the next sync).
  if (last.state === 'collapsed') return '';
  return last.text ?? `[${last.type ?? 'message'}]`;
}

/** Unread messages the user has not seen: every conversation's, the open one's too while the page is hidden. */
function unseen(entry) {
  return entry.conversationId === state.open && !document.hidden ? 0 : entry.unread ?? 0;
}

function renderList() {
  // The tab's title counts what is unread, so a background tab shows there is something new.
  const shown = (c) => !c.removed && !c.hidden;
  const total = [...state.conversations.values()].filter((c) => shown(c) && (!c.muted || c.mentioned)).reduce((sum, c) => sum + unseen(c), 0);
  document.title = total > 0 ? `(${total}) ${pageTitle}` : pageTitle;
  const list = $('conversations');
  list.replaceChildren();
  const entries = [...state.conversations.values()]
    .filter(shown)
    .sort((a, b) => (b.pinned - a.pinned) || (Date.parse(b.lastMessage?.serverTime ?? 0) - Date.parse(a.lastMessage?.serverTime ?? 0)));
  for (const entry of entries) {
    const item = document.createElement('li');
    item.dataset.conversation = entry.conversationId;
    item.dataset.testid = 'conversation';
    item.classList.toggle('active', entry.conversationId === state.open);
    const unread = unseen(entry);
    item.innerHTML = `<span class="title"></span><span class="time"></span><span class="preview"></span><span class="badge" data-testid="unread"></span>`;
    item.querySelector('.title').textContent = titleOf(entry.conversationId);
    item.querySelector('.time').textContent = timeOf(entry.lastMessage?.serverTime);
    item.querySelector('.preview').textContent = previewOf(entry.lastMessage);
    const badge = item.querySelector('.badge');
    badge.dataset.count = String(unread);
    badge.textContent = unread > 0 ? String(unread) : '';
    // Reachable and opened from the keyboard too (Tab to it, Enter or Space), and announced as what it is.
    item.tabIndex = 0;
    item.setAttribute('role', 'button');
    if (entry.conversationId === state.open) item.setAttribute('aria-current', 'true');
    item.addEventListener('click', () => openConversation(entry.conversationId));
    item.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      openConversation(entry.conversationId);
    });
    list.append(item);
  }
}

$('new-chat').addEventListener('submit', async (event) => {
  event.preventDefault();
  const other = $('new-chat-user').value.trim();
  if (!other || other === state.userId) return;
  const id = `p2p:${[state.userId, other].sort().join(':')}`;
  if (!state.conversations.has(id)) {
    state.conversations.set(id, { conversationId: id, kind: 'p2p', lastSeq: 0, readSeq: 0, unread: 0 });
  }
  $('new-chat-user').value = '';
  renderList();
  await openConversation(id);
});

/** The request id of the group being created: kept until it is, so a double click or a retry after an error makes one group. */
let groupRequestId = null;

$('new-group').addEventListener('submit', async (event) => {
  event.preventDefault();
  const memberIds = $('new-group-members').value.split(',').map((m) => m.trim()).filter(Boolean);
  groupRequestId ??= crypto.randomUUID();
  try {
    const group = await api('/api/groups', {
      method: 'POST',
      body: JSON.stringify({ name: $('new-group-name').value.trim(), memberIds, requestId: groupRequestId, hidesHistoryFromNewMembers: !$('new-group-history').checked }),
    });
    groupRequestId = null;
    state.groupNames.set(group.conversationId, group.name);
    // Users who let only friends add them are left out; the creator is told, to ask them first.
    $('new-group-note').textContent = group.notAdded?.length
      ? `Not added (only their friends can add them): ${group.notAdded.join(', ')}`
      : '';
    $('new-group-name').value = '';
    $('new-group-members').value = '';
    $('new-group-history').checked = false;
    await catchUp();
    await openConversation(group.conversationId);
  } catch (error) {
    // Refused for good (a bad name, too many members): nothing was made, and what is sent next is another request.
    if (error.status >= 400 && error.status < 500) groupRequestId = null;
    alert(`Could not create the group: ${error.message}`);
  }
});

// ---- one conversation ----

/** Messages shown when a conversation opens, and loaded per scroll to the top: a screenful or so. */
const PageSize = 30;

/** The most one Pull answers (the server's MessageLimits.MaxPullLimit). */
const MaxPull = 200;

/** A Pull's beforeSeq that bounds nothing: with a beforeSeq the server answers the newest of the range, not the oldest. */
const NoUpperBound = Number.MAX_SAFE_INTEGER;

/**
 * Messages the pane keeps while the user follows the newest: past it the oldest leave (scrolling up loads them again),
 * so a conversation left open for days does not grow the page, and its upserts and read receipts, without end.
 */
const MaxShown = 500;

/** The most of a quoted message's text a quote shows. */
const QuoteLength = 80;

/** The pane as a call found it: an answer is shown only if the same conversation, in the same pane, is still open. */
const paneNow = () => ({ id: state.open, generation: state.pane });
const isShowing = (pane) => state.open === pane.id && state.pane === pane.generation;

/** The newest and the oldest seq the pane shows; 0 when it shows none. (A loop: spreading thousands of keys into Math.max can throw.) */
function newestSeq() {
  let newest = 0;
  for (const seq of state.messages.keys()) if (seq > newest) newest = seq;
  return newest;
}

function oldestSeq() {
  let oldest = 0;
  for (const seq of state.messages.keys()) if (oldest === 0 || seq < oldest) oldest = seq;
  return oldest;
}

/**
 * A hub call whose failure (offline, or the edge gone mid-call) answers like a refusal instead of throwing: the callers
 * handle `error` already, and a call thrown from a push or a click was an unhandled rejection. What it was for is done
 * again by the catch-up once the page is back online (a read mark by the next one).
 */
async function tryInvoke(method, ...args) {
  try {
    return await state.hub.invoke(method, ...args);
  } catch {
    return { error: 'unavailable' };
  }
}

/** A new pane: what an answer asked for the one before brings is dropped (see isShowing). Unsent messages stay. */
function startPane() {
  state.pane += 1;
  state.messages.clear();
  state.quoted.clear();
  state.quoting.clear();
  state.historyStart = 0;
  $('messages').querySelector('.history-start')?.remove();
  // What the pane pulls comes as it is now: changes up to the list's latest are no news to it.
  state.paneChangesSeen = state.conversations.get(state.open)?.changedAt ?? null;
  for (const element of $('messages').querySelectorAll('[data-seq]')) element.remove();
}

/** No one is shown typing: the indicator belonged to the conversation that was open. */
function clearTyping() {
  clearTimeout(state.typingTimer);
  state.typingUser = null;
  $('typing').textContent = '';
}

async function openConversation(id) {
  state.open = id;
  clearTyping();
  cancelReply();
  startPane();
  state.peerReadSeq = state.conversations.get(id)?.peerReadSeq ?? 0;
  $('messages').replaceChildren();
  // Its unsent messages come back with it (refused, or waiting for the connection): below the history, as they were.
  for (const pending of state.pending.values()) if (pending.conversationId === id) $('messages').append(pending.element);
  showComposer();
  renderList();
  const pane = paneNow();
  // The newest page, whatever the list's entry says (it may lag behind the conversation, or not be known yet). Not
  // answered (a silo failing over), it is asked again after a pause, the pane saying so: an empty pane looked like an
  // empty conversation.
  let result = await tryInvoke('Pull', id, 0, NoUpperBound, PageSize);
  // Not once something else (a catch-up, a push's gap filled) has loaded the pane meanwhile.
  for (let retries = 1; transient(result.error) && retries <= PaneRetries && isShowing(pane) && newestSeq() === 0; retries++) {
    showPaneNote(`Could not load the messages (${result.error}); trying again…`);
    await new Promise((resolve) => setTimeout(resolve, retryDelay(retries)));
    if (isShowing(pane) && newestSeq() === 0) result = await tryInvoke('Pull', id, 0, NoUpperBound, PageSize);
  }
  // The user opened another conversation meanwhile: this history is not for the pane any more, nor is marking it read.
  if (!isShowing(pane)) return;
  if (result.error) {
    if (newestSeq() > 0) showPaneNote(null);
    else showPaneNote(transient(result.error)
      ? `Could not load the messages (${result.error}): open the conversation again to retry.`
      : `Could not load the messages (${result.error}).`);
    return;
  }
  showPaneNote(null);
  showHistory(result.history);
  fetchMissingQuotes();
  fillPane();
  await markRead();
  $('composer-text').focus();
}

/** Times the opening Pull of a conversation is asked again when the edge does not answer it (about a minute in all). */
const PaneRetries = 5;

/** A line at the top of the pane saying why it shows nothing (or null: none). */
function showPaneNote(text) {
  const box = $('messages');
  let note = box.querySelector('.pane-note');
  if (!text) {
    note?.remove();
    return;
  }
  if (!note) {
    note = document.createElement('p');
    note.className = 'note pane-note';
    note.dataset.testid = 'pane-note';
    box.prepend(note);
  }
  note.textContent = text;
}

/**
 * Catches the pane up with the conversation: the newest page when it shows nothing (its history is still coming, or
 * did not come), else the newest messages after the ones it shows, in one Pull. When more were written meanwhile than
 * one Pull answers, the pane starts over from those newest: it never shows a hole, which scrolling up could not fill.
 * False when the edge did not answer (the caller tries again).
 */
async function loadNewer() {
  const pane = paneNow();
  const after = newestSeq();
  const limit = after === 0 ? PageSize : MaxPull;
  const result = await tryInvoke('Pull', pane.id, after, NoUpperBound, limit);
  if (!isShowing(pane)) return true;
  // A refusal for good (no longer a member) is not asked again; one for now is, by the caller.
  if (result.error) return !transient(result.error);
  showPaneNote(null);
  if (after > 0 && result.history.lastSeq - after > limit) startPane();
  showHistory(result.history);
  // A first page (the opening Pull failed, or the pane started over): older ones until it can scroll.
  if (after === 0) fillPane();
  await markRead();
  return true;
}

/** Pages of older history loaded at most in one go without the user scrolling (fillPane, a page of hidden messages). */
const MaxPagesUnasked = 5;

/** The page of history before the oldest the pane holds, the view kept where it was; false when none came. */
async function loadOlder() {
  const box = $('messages');
  const first = oldestSeq();
  // Nothing older to load: the conversation's first message, or the first of the user's history in it.
  if (!state.open || state.loadingOlder || first === 0 || first <= state.historyStart + 1) return false;
  state.loadingOlder = true;
  const pane = paneNow();
  const height = box.scrollHeight;
  try {
    const result = await tryInvoke('Pull', pane.id, 0, first, PageSize);
    if (!isShowing(pane) || result.error) return false;
    showHistory(result.history);
    box.scrollTop = box.scrollHeight - height;
    return result.history.messages.length > 0;
  } finally {
    state.loadingOlder = false;
  }
}

/**
 * Older pages until the pane can scroll: a tall window, or a newest page mostly of hidden (superseded) notifications,
 * showed no scrollbar, so no scroll to the top could ever load what came before.
 */
function fillPane() {
  const box = $('messages');
  return loadOlderWhile(() => box.scrollHeight <= box.clientHeight);
}

/** Older pages, at most MaxPagesUnasked, while `more()` holds and the pane is the one it started for. */
async function loadOlderWhile(more) {
  const pane = paneNow();
  for (let pages = 0; pages < MaxPagesUnasked && isShowing(pane) && more(); pages++) {
    if (!(await loadOlder())) return;
  }
}

// Scrolling to the top loads older history; a page that drew nothing (hidden messages) leaves it at the top: the next.
$('messages').addEventListener('scroll', () => loadOlderWhile(() => $('messages').scrollTop === 0));

/**
 * A page of history into the pane. In a group that keeps what was said before the user joined from them, the page says
 * where their history starts: scrolling up stops there, and once the pane shows its first message it says why.
 */
function showHistory(history) {
  state.historyStart = Math.max(state.historyStart, history.historyStartsAfterSeq ?? 0);
  for (const message of history.messages) upsert(message);
  showHistoryStart();
}

/** Above the first message of the user's history, when it is not the conversation's first: a note that says why. */
function showHistoryStart() {
  const box = $('messages');
  const shown = box.querySelector('.history-start');
  const atStart = state.historyStart > 0 && oldestSeq() === state.historyStart + 1;
  if (!atStart) {
    shown?.remove();
  } else if (!shown) {
    const note = document.createElement('p');
    note.className = 'note history-start';
    note.dataset.testid = 'history-start';
    note.textContent = 'Messages from before you joined are not shown to you.';
    box.prepend(note);
  }
}

function upsert(message) {
  // One-way pushes keep no order: a message pushed after its own change (a superseded notice told as collapsed first)
  // must not draw it again as it was.
  if ((state.messages.get(message.seq)?.revision ?? 0) > (message.revision ?? 0)) return;
  if (message.content?.customType === 'im.group.dissolved') noteDissolved(message.conversationId ?? state.open);
  if (message.content?.customType === 'im.group.renamed') noteRenamed(message.conversationId ?? state.open, message);
  const box = $('messages');
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  state.messages.set(message.seq, message);
  let element = box.querySelector(`[data-seq="${message.seq}"]`);
  const pending = state.pending.get(message.clientMsgId);
  if (!element && pending && message.senderId === state.userId) {
    element = pending.element;
    dropPending(message.clientMsgId);
  }
  if (!element) element = document.createElement('div');
  render(element, message);
  // Quotes of it show it as it is now (edited, recalled).
  refreshQuotes(message.seq);
  // Keep seq order: insert before the first later message, looked for from the end, where new ones go.
  let later = null;
  for (let other = box.lastElementChild; other; other = other.previousElementSibling) {
    if (other === element || !other.dataset.seq) continue;
    if (Number(other.dataset.seq) < message.seq) break;
    later = other;
  }
  // With none later, before what is still unsent: a sent message that was drawn pending below a failed one (kept
  // unsent) moves up to its place, or it would stay below it, and every message after it would come above it.
  const anchor = later ?? [...box.querySelectorAll('.pending')].find((other) => other !== element) ?? null;
  if (element.parentElement !== box || (anchor && element.nextSibling !== anchor)) box.insertBefore(element, anchor);
  if (atBottom) {
    dropOldest();
    box.scrollTop = box.scrollHeight;
  }
}

/** Past MaxShown, the oldest messages leave the pane (only while the user is at the newest: never what they read). */
function dropOldest() {
  const excess = state.messages.size - MaxShown;
  if (excess <= 0) return;
  const oldest = Array.from(state.messages.keys()).sort((a, b) => a - b).slice(0, excess);
  for (const seq of oldest) {
    state.messages.delete(seq);
    $('messages').querySelector(`[data-seq="${seq}"]`)?.remove();
  }
  showHistoryStart();
}

/**
 * The open conversation's title and composer: a group its owner dissolved says so and takes no more messages (the
 * server refuses them; its history stays).
 */
function showComposer() {
  const dissolved = state.dissolved.has(state.open);
  $('chat-title').textContent = dissolved ? `${titleOf(state.open)} (dissolved)` : titleOf(state.open);
  $('composer').hidden = dissolved;
  if (dissolved) cancelReply();
}

/**
 * A group's notice that it was renamed (live, or in the history the pane pulls): its new name, when it is newer than
 * the name the page shows (an older one scrolled up to must not undo a later rename).
 */
function noteRenamed(conversationId, message) {
  if (message.seq <= (state.nameSeqs.get(conversationId) ?? 0)) return;
  let name;
  try {
    name = JSON.parse(message.content.customData ?? '{}').name;
  } catch {
    return;
  }
  if (typeof name !== 'string' || !name) return;
  state.nameSeqs.set(conversationId, message.seq);
  if (state.groupNames.get(conversationId) === name) return;
  state.groupNames.set(conversationId, name);
  renderList();
  if (state.open === conversationId) showComposer();
}

/** Learnt from the group list, or from its notice (live, or in the history the pane pulls). */
function noteDissolved(conversationId) {
  if (state.dissolved.has(conversationId)) return;
  state.dissolved.add(conversationId);
  if (state.open === conversationId) {
    showComposer();
    for (const button of $('messages').querySelectorAll('button.reply')) button.remove();
  }
}

/** A group's notice of a change to it ("alice added bob"): the group's record, not a member's message. */
function isNotice(message) {
  return message.content?.type === 'custom' && (message.content.customType?.startsWith('im.group.') ?? false);
}

function render(element, message) {
  element.dataset.seq = String(message.seq);
  element.dataset.testid = 'message';
  // A notification superseded by a newer one with its collapse key: kept in place (seqs stay dense) but not drawn, so
  // an order's "paid" goes once its "shipped" has come.
  element.hidden = message.state === 'collapsed';
  if (element.hidden) {
    element.className = 'message collapsed';
    element.replaceChildren();
    return;
  }
  if (isNotice(message) && message.state !== 'deleted') {
    // A line of its own across the pane, with nothing to edit or recall (the server refuses both).
    element.className = 'message notice';
    element.innerHTML = '<div class="text"></div>';
    element.querySelector('.text').textContent = message.content.text;
    return;
  }
  const mine = message.senderId === state.userId;
  element.className = `message${mine ? ' mine' : ''}${message.state === 'recalled' ? ' recalled' : ''}`;
  const text = message.state === 'recalled' ? 'Message recalled'
    : message.state === 'deleted' ? 'Deleted'
    : message.content?.text ?? `[${message.content?.type ?? 'message'}]`;
  const read = mine && state.open?.startsWith('p2p:') && message.seq <= state.peerReadSeq;
  element.innerHTML = `<div class="text"></div><div class="meta"><span class="who"></span><span class="when"></span><span class="status"></span></div>`;
  element.querySelector('.text').textContent = text;
  if (message.content?.replyToSeq) element.prepend(quoteElement(message.content.replyToSeq));
  element.querySelector('.who').textContent = mine ? '' : message.senderId;
  element.querySelector('.when').textContent = timeOf(message.serverTime) + (message.state === 'edited' ? ' · edited' : '');
  element.querySelector('.status').textContent = mine ? (read ? 'Read' : 'Sent') : '';
  element.querySelector('.status').dataset.testid = 'delivery';
  if (mine && message.state !== 'recalled') {
    const edit = Object.assign(document.createElement('button'), { className: 'small', textContent: 'edit', title: 'Edit' });
    edit.addEventListener('click', async () => {
      const next = prompt('Edit message', message.content?.text ?? '');
      if (!next) return;
      if (tooLarge(next)) return alert(tooLargeText(next));
      const result = await tryInvoke('Edit', state.open, message.seq, { type: 'text', text: next });
      if (result.error) alert(actionRefused(result.error, 'Too late to edit.'));
    });
    const recall = Object.assign(document.createElement('button'), { className: 'small', textContent: 'recall', title: 'Recall' });
    recall.addEventListener('click', async () => {
      const result = await tryInvoke('Recall', state.open, message.seq);
      if (result.error) alert(actionRefused(result.error, 'Too late to recall.'));
    });
    element.querySelector('.meta').append(edit, recall);
  }
  if (message.state !== 'recalled' && message.state !== 'deleted' && !state.dissolved.has(state.open)) {
    const reply = Object.assign(document.createElement('button'), { className: 'small reply', textContent: 'reply', title: 'Reply to this message' });
    reply.addEventListener('click', () => startReply(message.seq));
    element.querySelector('.meta').append(reply);
  }
}

// ---- replies: a message may answer an earlier one, shown above it as it is now ----

/** A quote of message seq of the open conversation: from the pane, or pulled once when the pane does not show it. */
function quoteElement(seq) {
  const quote = Object.assign(document.createElement('div'), { className: 'quote', textContent: quoteText(seq) });
  quote.dataset.replyTo = String(seq);
  quote.dataset.testid = 'quote';
  if (!state.messages.has(seq)) fetchQuoted(seq);
  return quote;
}

/** Who wrote message seq and what it says now, shortened; only its number while it is not known here. */
function quoteText(seq) {
  const quoted = state.messages.get(seq) ?? state.quoted.get(seq);
  if (!quoted) return seq <= state.historyStart ? 'A message from before you joined' : `Message #${seq}`;
  const what = quoted.state === 'recalled' ? 'Message recalled'
    : quoted.state === 'deleted' ? 'Deleted'
    : quoted.content?.text ?? `[${quoted.content?.type ?? 'message'}]`;
  const who = quoted.senderId === state.userId ? 'You' : quoted.senderId;
  // Cut between code points: a cut inside a surrogate pair would show a broken character.
  const points = Array.from(what);
  return `${who}: ${points.length > QuoteLength ? `${points.slice(0, QuoteLength).join('')}…` : what}`;
}

function refreshQuotes(seq) {
  for (const quote of $('messages').querySelectorAll(`.quote[data-reply-to="${seq}"]`)) quote.textContent = quoteText(seq);
  if (state.replyTo?.conversationId === state.open && state.replyTo.seq === seq) $('reply-text').textContent = `Replying to ${quoteText(seq)}`;
}

/** A quoted message older than the pane's history (or not visible to this user: it stays a number). */
async function fetchQuoted(seq) {
  // Said before the user joined a group that keeps it from them: no pull would answer it.
  if (seq <= state.historyStart || state.quoted.has(seq) || state.quoting.has(seq)) return;
  const pane = paneNow();
  state.quoting.add(seq);
  const result = await tryInvoke('Pull', pane.id, seq - 1, seq + 1, 1);
  if (!isShowing(pane)) return;
  state.quoting.delete(seq);
  const quoted = result.error ? null : result.history.messages.find((m) => m.seq === seq);
  if (!quoted) return;
  state.quoted.set(seq, quoted);
  refreshQuotes(seq);
}

/** A change to a message the pane does not show but quotes (pulled for a quote): its quotes show it as it is now. */
function noteQuotedChange(message) {
  const known = state.quoted.get(message.seq);
  if (!known || (known.revision ?? 0) >= message.revision) return;
  state.quoted.set(message.seq, message);
  refreshQuotes(message.seq);
}

/** Quotes in the pane of messages it does not hold (an unsent reply restored from the outbox, history older than the page). */
function fetchMissingQuotes() {
  for (const quote of $('messages').querySelectorAll('.quote[data-reply-to]')) {
    const seq = Number(quote.dataset.replyTo);
    if (!state.messages.has(seq)) fetchQuoted(seq);
  }
}

function startReply(seq) {
  // A group dissolved while its messages were shown: their reply buttons may still be there, its composer is not.
  if (state.dissolved.has(state.open)) return;
  state.replyTo = { conversationId: state.open, seq };
  $('reply-bar').hidden = false;
  refreshQuotes(seq);
  $('composer-text').focus();
}

function cancelReply() {
  state.replyTo = null;
  $('reply-bar').hidden = true;
}

$('reply-cancel').addEventListener('click', () => { cancelReply(); $('composer-text').focus(); });

/** What goes out for an unsent message: its text, and what it answers. */
function contentOf(pending) {
  return pending.replyToSeq ? { type: 'text', text: pending.text, replyToSeq: pending.replyToSeq } : { type: 'text', text: pending.text };
}

/** What to tell the user when an edit or a recall is refused. */
function actionRefused(code, tooLate) {
  if (code === 'not_allowed') return tooLate;
  if (code === 'rate_limited') return 'Too many requests; try again in a moment.';
  if (code === 'unavailable') return 'Could not do that now (offline?); try again in a moment.';
  return `Could not do that (${code}).`;
}

async function markRead() {
  const id = state.open;
  const entry = state.conversations.get(id);
  const last = newestSeq();
  if (!entry || last <= (entry.readSeq ?? 0) || document.hidden) return;
  const result = await tryInvoke('MarkRead', id, last);
  // Kept under the conversation it was asked for (the user may have opened another meanwhile), unless messages pushed
  // while it was out are newer than it.
  if (result.conversation) state.conversations.set(id, merged(state.conversations.get(id), result.conversation));
  renderList();
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) closeNotifications();
  renderList();
  if (!document.hidden && state.open) markRead();
});

// ---- sending: pending → sent, with retry ----

/**
 * MessageLimits.MaxContentBytes: the server refuses more as too_large. Checked here first: a text far over it (a paste)
 * is over the hub's message size too, and SignalR answers that by closing the connection, which the page took for a drop
 * and sent it again at every reconnect and reload.
 */
const MAX_CONTENT_BYTES = 16 * 1024;

function tooLarge(text) {
  return new TextEncoder().encode(text).length > MAX_CONTENT_BYTES;
}

function tooLargeText(text) {
  const kb = Math.ceil(new TextEncoder().encode(text).length / 1024);
  return `Too long to send: ${kb} KB, at most ${MAX_CONTENT_BYTES / 1024} KB.`;
}

$('composer-text').addEventListener('input', () => $('composer-text').setCustomValidity(''));

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('composer-text').value.trim();
  if (!text || !state.open) return;
  if (tooLarge(text)) {
    // Kept in the box, for the user to shorten.
    $('composer-text').setCustomValidity(tooLargeText(text));
    $('composer-text').reportValidity();
    return;
  }
  $('composer-text').value = '';
  const replyToSeq = state.replyTo?.conversationId === state.open ? state.replyTo.seq : undefined;
  cancelReply();
  const clientMsgId = crypto.randomUUID().replaceAll('-', '');
  const element = pendingElement(text, replyToSeq);
  $('messages').append(element);
  $('messages').scrollTop = $('messages').scrollHeight;
  const pending = { text, element, conversationId: state.open, replyToSeq };
  state.pending.set(clientMsgId, pending);
  keepUnsent(clientMsgId, pending);
  await send(clientMsgId);
});

/** How a message of this page's user shows until the server has it. */
function pendingElement(text, replyToSeq) {
  const element = document.createElement('div');
  element.className = 'message mine pending';
  element.dataset.testid = 'message';
  element.innerHTML = `<div class="text"></div><div class="meta"><span class="status" data-testid="delivery">Sending…</span></div>`;
  element.querySelector('.text').textContent = text;
  if (replyToSeq) element.prepend(quoteElement(replyToSeq));
  return element;
}

/** The server has it (acked, or pushed back as stored): no longer this page's to send. */
function dropPending(clientMsgId) {
  state.pending.delete(clientMsgId);
  forgetUnsent(clientMsgId);
}

// ---- the outbox: what was written and not yet stored, kept in this browser until the server has it ----
// Before, unsent messages lived in the page alone: a reload (often the answer to the grey dot) or a tab closed while
// offline lost them. One localStorage entry per message, so that two tabs of one user never overwrite each other's; a
// message both tabs send goes once (the server stores a client message id once, and answers the other as a duplicate).

// Keyed `im.outbox.{user}:{clientMsgId}`: ids may contain '.', never ':', so no user's keys start like another's (with '.'
// as the separator, `john`'s prefix was the start of `john.smith`'s keys, whose messages `john` then sent as his own).
const outboxPrefix = () => `im.outbox.${state.userId}:`;

/** The client message id of one of this user's outbox entries; null for any other key (another user's included). */
function unsentIdOf(key) {
  if (key.startsWith(outboxPrefix())) return key.slice(outboxPrefix().length);
  // Kept by a page from before ':' (`im.outbox.{user}.{id}`): this user's only when a bare id follows, since
  // `im.outbox.john.smith.{id}` (or `…john.smith:{id}`) starts like `john`'s and is john.smith's.
  const legacy = `im.outbox.${state.userId}.`;
  const rest = key.startsWith(legacy) ? key.slice(legacy.length) : '';
  return /^[A-Za-z0-9_-]+$/.test(rest) ? rest : null;
}

/**
 * How long an unsent message is kept in the browser. Tokens live in the tab, the outbox in the browser: on a shared
 * computer a tab closed without signing out would otherwise leave what was written in it for good.
 */
const OUTBOX_TTL_MS = 24 * 60 * 60 * 1000;

/** Drops every user's unsent messages older than the outbox keeps them (and entries that do not read). */
function pruneOutbox() {
  for (const key of Object.keys(localStorage)) {
    if (!key.startsWith('im.outbox.')) continue;
    let at = 0;
    try { at = Number(JSON.parse(localStorage.getItem(key))?.at ?? 0); } catch { /* unreadable: dropped */ }
    if (!(Date.now() - at < OUTBOX_TTL_MS)) localStorage.removeItem(key);
  }
}

pruneOutbox();

// Another tab of this browser stored or discarded one of this user's unsent messages: no longer this page's to send
// (a discarded one would otherwise still go out from here; a stored one comes back as the user's message from elsewhere).
window.addEventListener('storage', (event) => {
  if (event.storageArea !== localStorage || event.newValue !== null || !state.userId || !event.key) return;
  const clientMsgId = unsentIdOf(event.key);
  const pending = clientMsgId === null ? undefined : state.pending.get(clientMsgId);
  if (!pending) return;
  state.pending.delete(clientMsgId);
  pending.element.remove();
});

function keepUnsent(clientMsgId, pending) {
  try {
    localStorage.setItem(outboxPrefix() + clientMsgId, JSON.stringify({
      conversationId: pending.conversationId, text: pending.text, replyToSeq: pending.replyToSeq, at: pending.at ?? Date.now(), sessionId: state.sessionId,
    }));
  } catch {
    // Storage full or refused (a private window's quota): the message lives in this page only, as before.
  }
}

function forgetUnsent(clientMsgId) { localStorage.removeItem(outboxPrefix() + clientMsgId); }

/**
 * This session's unsent messages (and those of no session: kept by a page from before sessions were noted), not those of
 * the user's other tabs, which are signed in still (a sign-out, a kick here ends this tab's session only) and would lose
 * theirs unsent.
 */
function forgetAllUnsent() {
  if (!state.userId) return;
  for (const key of Object.keys(localStorage)) {
    if (unsentIdOf(key) === null) continue;
    let sessionId;
    try { sessionId = JSON.parse(localStorage.getItem(key))?.sessionId; } catch { /* unreadable: dropped */ }
    if (!sessionId || sessionId === state.sessionId) localStorage.removeItem(key);
  }
}

/** Takes back what an earlier page (or another tab) left unsent, oldest first, to go out with the next connection. */
function restoreUnsent() {
  pruneOutbox();
  const kept = [];
  for (const key of Object.keys(localStorage)) {
    const clientMsgId = unsentIdOf(key);
    if (clientMsgId === null) continue;
    let entry = null;
    try { entry = JSON.parse(localStorage.getItem(key)); } catch { /* unreadable: dropped below */ }
    if (typeof entry?.conversationId !== 'string' || typeof entry.text !== 'string') {
      localStorage.removeItem(key);
      continue;
    }

    if (!key.startsWith(outboxPrefix())) {
      // Kept under the old key: moved under the new one, which sending or discarding it removes.
      localStorage.setItem(outboxPrefix() + clientMsgId, localStorage.getItem(key));
      localStorage.removeItem(key);
    }

    kept.push({ clientMsgId, ...entry });
  }
  kept.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  for (const { clientMsgId, conversationId, text, replyToSeq } of kept) {
    if (state.pending.has(clientMsgId)) continue;
    const answers = Number.isSafeInteger(replyToSeq) && replyToSeq > 0 ? replyToSeq : undefined;
    const element = pendingElement(text, answers);
    element.querySelector('.status').textContent = 'Not sent yet (it goes once connected)';
    state.pending.set(clientMsgId, { text, element, conversationId, replyToSeq: answers, unanswered: true });
  }
}

/**
 * Refusals for the moment (PROTOCOL: retry with the same ids): the cluster did not answer, the user's send budget is
 * spent, the connection is closing (a reconnect follows). The others (`blocked`, `not_found`, `too_large`, …) stand.
 */
const TRANSIENT_SEND_ERRORS = new Set(['unavailable', 'rate_limited', 'closed']);

/** Sends refused for the moment that are tried again by themselves, after ~1, 2, 4 and 8 s (jittered). */
const MAX_SEND_RETRIES = 4;

async function send(clientMsgId) {
  const pending = state.pending.get(clientMsgId);
  if (!pending) return;
  pending.unanswered = false;
  pending.element.classList.remove('failed');
  pending.element.querySelector('.status').textContent = 'Sending…';
  try {
    // One kept from before this check (the outbox of an older page): refused as the server would, not sent.
    if (tooLarge(pending.text)) throw Object.assign(new Error('too_large'), { refused: true });
    const ack = await state.hub.invoke('Send', pending.conversationId, { clientMsgId, content: contentOf(pending) });
    if (ack.error) throw Object.assign(new Error(ack.error), { refused: !TRANSIENT_SEND_ERRORS.has(ack.error), transient: TRANSIENT_SEND_ERRORS.has(ack.error) });
    pending.retries = 0;
    const sent = { conversationId: pending.conversationId, seq: ack.seq, clientMsgId, senderId: state.userId, serverTime: ack.serverTime, state: 'normal', content: contentOf(pending) };
    // The server does not push a message back to the device that sent it: taken as that push would be, it moves the
    // conversation up the list with its preview, and shows in the pane when that conversation is open. Answered after
    // the user moved to another conversation (a resend after a reconnect, a slow ack), it shows when that one is opened
    // again, loaded from the server.
    await onEvents([{ type: 'message', conversationId: pending.conversationId, seq: ack.seq, message: sent }]);
    if (pending.conversationId !== state.open) dropPending(clientMsgId);
    // Still drawn as pending (its ack left a gap, and the pull that fills it failed): it is stored all the same, and
    // the next catch-up draws it in its place.
    else if (state.pending.get(clientMsgId) === pending) pending.element.querySelector('.status').textContent = 'Sent';
  } catch (error) {
    // Same clientMsgId on retry: the server stores it once, whatever happened to the first try. One that never got an
    // answer (the connection was down or dropped) goes again by itself once the page is back online.
    pending.unanswered = !error.refused;
    pending.element.classList.add('failed');
    const status = pending.element.querySelector('.status');
    if (error.transient && error.message !== 'closed' && (pending.retries ?? 0) < MAX_SEND_RETRIES) {
      // Refused for the moment on a live connection (a reconnect would resend it, but none may come): again shortly.
      const delay = 2 ** (pending.retries ?? 0) * 1000 * (0.75 + Math.random() / 2);
      pending.retries = (pending.retries ?? 0) + 1;
      status.textContent = `Not sent yet (${error.message}); trying again…`;
      setTimeout(() => {
        // Unless a reconnect sent it meanwhile, or the message was dropped from the pane.
        if (state.pending.get(clientMsgId) === pending && pending.unanswered && state.hub?.state === signalR.HubConnectionState.Connected) send(clientMsgId);
      }, delay);
      return;
    }
    // A refusal for the moment whose retries are spent shows its reason; a reconnect still sends it.
    const offline = pending.unanswered && !(error.transient && error.message !== 'closed');
    status.textContent = offline ? 'Not sent (offline; it goes when the connection is back) ' : `Not sent (${error.message}) `;
    const retry = Object.assign(document.createElement('button'), { className: 'small', textContent: 'retry' });
    retry.addEventListener('click', () => send(clientMsgId));
    // Kept in the outbox until sent, it would otherwise be tried again at every reconnect and page load, for ever.
    const discard = Object.assign(document.createElement('button'), { className: 'small', textContent: 'discard' });
    discard.dataset.testid = 'discard';
    discard.addEventListener('click', () => {
      if (state.pending.get(clientMsgId) !== pending) return;
      dropPending(clientMsgId);
      pending.element.remove();
    });
    status.append(retry, ' ', discard);
  }
}

// Typing: at most one notice every 3 s; shown for 4 s.
$('composer-text').addEventListener('input', () => {
  const now = Date.now();
  if (state.open && now - state.lastTypingSent > 3000) {
    state.lastTypingSent = now;
    state.hub.invoke('Typing', state.open).catch(() => {});
  }
});

// ---- notifications: a message while the page is hidden, unless its conversation is muted (a mention still is) ----

const notifications = new Map(); // conversation id → { notification, seq }: the notification shown for it, and its message

function notify(conversationId, message, entry) {
  if (!document.hidden || !('Notification' in self) || Notification.permission !== 'granted') return;
  const mentions = message.mentions ?? [];
  if (entry?.muted && !mentions.includes(state.userId) && !mentions.includes('all')) return;
  try {
    const notification = new Notification(titleOf(conversationId), {
      body: message.content?.text ?? `[${message.content?.type ?? 'message'}]`,
      tag: conversationId, // one per conversation: a newer message replaces the older notification
    });
    notification.onclick = () => {
      window.focus();
      openConversation(conversationId).catch(() => {});
      notification.close();
    };
    notifications.set(conversationId, { notification, seq: message.seq });
  } catch {
    // Some browsers (Chrome on Android) allow notifications only from a service worker: the page goes on without.
  }
}

/** Seen now (the tab is back) or signed out: what was notified leaves the system's notification list. */
function closeNotifications() {
  for (const { notification } of notifications.values()) notification.close();
  notifications.clear();
}

// ---- pushes ----

/**
 * The server's entry for a conversation, as pushed, unless messages pushed after it was made are newer than it: entries
 * and messages come by different paths, so an entry from before the last message (one made when the chat was opened,
 * say) must not take that message, or its unread count, back out of the list and the title.
 */
function merged(known, pushed) {
  if (!known || (known.lastSeq ?? 0) <= (pushed.lastSeq ?? 0)) return pushed;
  // The page's own count stands (it counted the newer messages, and none of its own), unless the entry says everything
  // up to the newest was read (on another device); a newer message brings a hidden conversation back.
  const unread = (pushed.readSeq ?? 0) >= known.lastSeq ? 0 : known.unread ?? 0;
  return { ...pushed, lastSeq: known.lastSeq, lastMessage: known.lastMessage, unread, awaited: unread ? known.awaited : undefined, counted: unread ? known.counted : undefined, hidden: false };
}

/**
 * The most seqs a conversation remembers having counted as unread itself, from pushes. A change that takes one of them
 * back (recalled, deleted, superseded) takes it out of the count again: the server's entry says so too where it tracks
 * every message, but not for large groups and official accounts until the next sync. Only the page's own counting is
 * undone: a count the server gave already leaves out what the server knew was taken back.
 */
const MaxCounted = 256;

function countedWith(entry, seq) {
  const counted = new Set(entry?.counted);
  counted.add(seq);
  while (counted.size > MaxCounted) counted.delete(counted.values().next().value);
  return counted;
}

/** States in which a message is no longer there to read. */
const GoneStates = new Set(['recalled', 'deleted', 'collapsed']);

/**
 * The most seqs a conversation waits for after a push skipped them: pushes travel as one-way calls, which the cluster
 * does not keep in order, so one message now and then comes right after the next. A wider gap is lost pushes, not late
 * ones; the resync the edge then asks for brings the server's count.
 */
const MaxAwaited = 32;

/**
 * The seqs a conversation waits for once a push of <seq> has come: those it skipped, which may come late and then count
 * as unread (the count only grows with newer seqs otherwise), added to those it still waited for. Only for a
 * conversation the page knew: one it first hears of by a push has its history before that, not late pushes.
 */
function awaitedAfter(entry, seq) {
  const skipped = entry ? seq - entry.lastSeq - 1 : 0;
  if (!(skipped > 0) || skipped > MaxAwaited) return entry?.awaited;
  const awaited = new Set(entry.awaited);
  for (let s = entry.lastSeq + 1; s < seq; s++) awaited.add(s);
  // Oldest first out, so a conversation that keeps losing pushes holds a bounded set.
  while (awaited.size > MaxAwaited) awaited.delete(awaited.values().next().value);
  return awaited;
}

async function onEvents(events) {
  let listChanged = false;
  let openChanged = false;
  for (const event of events) {
    const entry = state.conversations.get(event.conversationId);
    switch (event.type) {
      case 'message': {
        const message = event.message;
        // An instant message (call signalling: seq 0, never stored) is no line of the conversation, nor a read
        // position; this page places no calls.
        if (!(message.seq > 0)) break;
        const known = entry ?? { conversationId: event.conversationId, lastSeq: 0, readSeq: 0, unread: 0 };
        const mine = message.senderId === state.userId;
        // Already taken back or superseded when it came (told again after a restart, or after its own change): it moves
        // the list on but is nothing to read.
        const gone = GoneStates.has(message.state);
        if (message.seq > known.lastSeq) {
          state.conversations.set(event.conversationId, {
            ...known,
            hidden: false, // a new message brings a hidden conversation back (the server's entry does the same)
            lastSeq: message.seq,
            // Writing is reading what came before; the group's notice of the user's own change is not, nor counts.
            unread: mine ? (isNotice(message) ? known.unread : 0) : gone ? known.unread : known.unread + 1,
            // Writing is reading what came before: a late push of one of those no longer counts.
            awaited: mine ? undefined : awaitedAfter(entry, message.seq),
            counted: mine ? (isNotice(message) ? known.counted : undefined) : gone ? known.counted : countedWith(known, message.seq),
            lastMessage: { seq: message.seq, senderId: message.senderId, type: message.content?.type, text: message.content?.text, serverTime: message.serverTime, state: message.state },
          });
          listChanged = true;
          if (isNotice(message)) {
            if (message.content.customType === 'im.group.dissolved') noteDissolved(event.conversationId);
            if (message.content.customType === 'im.group.renamed') noteRenamed(event.conversationId, message);
            // A group this page has no name for yet (the user was just added to it): the list asks for the names again.
            if (!state.groupNames.has(event.conversationId)) loadGroupNames().then(renderList);
          } else if (!mine && !gone) notify(event.conversationId, message, entry);
        } else if (known.awaited?.has(message.seq)) {
          // Pushed after a newer one: it still counts once, unless read meanwhile.
          const awaited = new Set(known.awaited);
          awaited.delete(message.seq);
          const counts = !mine && !gone && message.seq > (known.readSeq ?? 0);
          const unread = counts ? known.unread + 1 : known.unread;
          state.conversations.set(event.conversationId, { ...known, awaited, unread, counted: counts ? countedWith(known, message.seq) : known.counted });
          listChanged = true;
        }
        if (event.conversationId === state.open) {
          // Its sender is no longer typing it: the indicator goes with the message, not seconds after.
          if (state.typingUser === message.senderId) clearTyping();
          // A gap the Pull could not fill now (the edge did not answer) is filled by a catch-up, tried again after pauses:
          // the message itself is not drawn, which would leave a hole above it.
          if (message.seq > newestSeq() + 1) {
            if (!(await loadNewer())) catchUp();
          }
          // Older than the pane's oldest (pushed late, after the pane dropped or skipped those): history, which
          // scrolling up loads; drawn now it would leave a hole above it.
          else if (message.seq >= oldestSeq()) upsert(message);
          openChanged = true;
        }
        break;
      }
      case 'changed': {
        if (entry?.counted?.has(event.seq) && GoneStates.has(event.message.state) && event.seq > (entry.readSeq ?? 0)) {
          // Counted here as unread, and no longer there to read: out of the count, once.
          const counted = new Set(entry.counted);
          counted.delete(event.seq);
          state.conversations.set(event.conversationId, { ...entry, counted, unread: Math.max(0, (entry.unread ?? 0) - 1) });
          listChanged = true;
        }
        // Recalled or deleted: the system notification showing its text goes too (a password sent by mistake stayed there).
        if (GoneStates.has(event.message.state) && notifications.get(event.conversationId)?.seq === event.seq) {
          notifications.get(event.conversationId).notification.close();
          notifications.delete(event.conversationId);
        }
        if (event.conversationId === state.open && state.messages.has(event.seq)) upsert(event.message);
        else if (event.conversationId === state.open) noteQuotedChange(event.message);
        const listed = state.conversations.get(event.conversationId);
        if (listed?.lastMessage?.seq === event.seq) { listed.lastMessage = { ...listed.lastMessage, text: event.message.content?.text, state: event.message.state }; listChanged = true; }
        break;
      }
      case 'readReceipt':
        if (entry && event.userId !== state.userId) entry.peerReadSeq = Math.max(entry.peerReadSeq ?? 0, event.seq);
        if (event.conversationId === state.open && event.userId !== state.userId) peerReadUpTo(event.seq);
        break;
      case 'conversation':
        state.conversations.set(event.conversationId, merged(entry, event.conversation));
        listChanged = true;
        break;
      case 'typing':
        if (event.conversationId === state.open && event.userId !== state.userId) {
          $('typing').textContent = `${event.userId} is typing…`;
          state.typingUser = event.userId;
          clearTimeout(state.typingTimer);
          // As long as the server says it holds (unless another comes), not a guess of the page's own.
          state.typingTimer = setTimeout(clearTyping, event.expiresInMs > 0 ? event.expiresInMs : 6000);
        }
        break;
      case 'resync':
        await catchUp();
        break;
      case 'redirect':
        // This edge host is draining and closes the connection next; connectAgain lands on another one (through the
        // balancer in front of the edges).
        setOnline(false);
        break;
      case 'kick':
        await kicked(event.reason);
        return;
    }
  }
  if (listChanged) renderList();
  // Marked read once for the whole push, not once per message: a busy conversation sends many at a time, and a call
  // each left the page ever further behind them.
  if (openChanged) await markRead();
}

if (state.token) start();
