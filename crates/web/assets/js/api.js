//! The one way the UI talks to its node: same origin, the session cookie, and the CSRF header on
//! every state change (the server refuses a cookie-authenticated change without it).

export const session = { user: null, member: null, member_name: null, roles: [], csrf: null };

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (method !== "GET" && method !== "HEAD" && session.csrf) h["X-Tandem-CSRF"] = session.csrf;
  let payload = body;
  // A file (an import's upload) goes as it is; other objects as JSON.
  if (body !== undefined && typeof body !== "string" && !(body instanceof Blob)) {
    payload = JSON.stringify(body);
    if (!h["Content-Type"]) h["Content-Type"] = "application/json";
  }
  const res = await fetch(path, { method, headers: h, body: payload, credentials: "same-origin" });
  if (raw) return res;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const msg = (data && (data.description || data.title || data.message)) || `HTTP ${res.status}`;
    if (res.status === 401 && !path.startsWith("/ui/api/login") && !path.startsWith("/ui/api/session")) {
      location.hash = "#/login";
    }
    throw new ApiError(res.status, data, msg);
  }
  return data;
}

export async function login(username, password) {
  const s = await api("/ui/api/login", { method: "POST", body: { username, password } });
  Object.assign(session, s);
  return s;
}

export async function restore() {
  try {
    Object.assign(session, await api("/ui/api/session"));
    return true;
  } catch {
    return false;
  }
}

export async function logout() {
  try {
    await api("/ui/api/logout", { method: "POST" });
  } finally {
    Object.assign(session, { user: null, member: null, roles: [], csrf: null });
  }
}

/** The incident list, fetched once per session and shared by map, timeline and cell pages; kept
 * current from the live stream (see `freshen`). */
let incidentsPromise = null;
export function incidents(reload = false) {
  if (reload || !incidentsPromise) {
    incidentsPromise = api("/ui/api/incidents").then((d) => d.incidents || []);
    incidentsPromise.catch(() => (incidentsPromise = null));
  }
  return incidentsPromise;
}
/** The list if it was already fetched, else null: a page that only wants a detail of it never
 * triggers the whole download. */
export function cachedIncidents() {
  return incidentsPromise;
}
export function forgetIncidents() {
  incidentsPromise = null;
}

// ---- keeping the list current: the live stream names incidents that changed (a new version,
// a revocation, a deletion); their compact entries are fetched again through the UI's own
// endpoint, as the user (the stream's copy is not what the map draws: the point comes from a
// location the user must also see), and replace, join or leave the cached list.
const pendingIds = new Set();
const freshListeners = new Set();
let freshTimer = null;
/** `fn(list, changedIds)` after the cached list changed in place. */
export function onIncidentsChanged(fn) { freshListeners.add(fn); return () => freshListeners.delete(fn); }
/** Marks an incident id as changed; the entries are fetched in one request shortly after. */
export function freshen(id) {
  if (!incidentsPromise || typeof id !== "string" || !id.startsWith("incident--")) return;
  pendingIds.add(id);
  if (!freshTimer) freshTimer = setTimeout(flushFresh, 300);
}
async function flushFresh() {
  freshTimer = null;
  const promise = incidentsPromise;
  if (!promise || !pendingIds.size) { pendingIds.clear(); return; }
  const ids = [...pendingIds].slice(0, 200);
  ids.forEach((i) => pendingIds.delete(i));
  if (pendingIds.size) freshTimer = setTimeout(flushFresh, 0);
  let fresh;
  try {
    fresh = (await api(`/ui/api/incidents?ids=${ids.map(encodeURIComponent).join(",")}`)).incidents || [];
  } catch {
    // The next visit of the map reads the whole list again.
    forgetIncidents();
    return;
  }
  if (promise !== incidentsPromise) return; // the list was dropped or reloaded meanwhile
  const list = await promise;
  const byId = new Map(fresh.map((r) => [r.id, r]));
  const asked = new Set(ids);
  // In place: the map's index and every holder of the list see the same array.
  let w = 0;
  for (let r = 0; r < list.length; r++) {
    const rec = list[r];
    if (!asked.has(rec.id)) { list[w++] = rec; continue; }
    const now = byId.get(rec.id);
    if (now) { list[w++] = now; byId.delete(rec.id); }
  }
  list.length = w;
  for (const rec of byId.values()) list.push(rec);
  for (const f of freshListeners) f(list, ids);
}
/** After a `reset` of the stream (the roster changed: what the user may see changed): the whole
 * list again, in place. */
export async function refreshAll() {
  const promise = incidentsPromise;
  if (!promise) return;
  let all;
  try { all = (await api("/ui/api/incidents")).incidents || []; } catch { forgetIncidents(); return; }
  if (promise !== incidentsPromise) return;
  const list = await promise;
  list.length = 0;
  for (const r of all) list.push(r);
  for (const f of freshListeners) f(list, null);
}

let collectionPromise = null;
/** The id of the node's intel collection (where reports are posted). */
export function intelCollection() {
  if (!collectionPromise) {
    collectionPromise = api("/api/collections/", { headers: { Accept: "application/taxii+json;version=2.1" } })
      .then((d) => {
        const cols = (d && d.collections) || [];
        const c = cols.find((c) => c.can_write && /intel/i.test(`${c.id} ${c.title}`)) || cols.find((c) => c.can_write);
        if (!c) throw new Error("no writable collection");
        return c.id;
      });
    collectionPromise.catch(() => (collectionPromise = null));
  }
  return collectionPromise;
}
