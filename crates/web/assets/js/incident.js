//! The incident page: every field of the caller's copy, sources with grading, who can see it
//! (resolved against the current roster by the server), withheld properties marked, the versions
//! with a diff, linked cells, and correlated reports from other members with merge / undo.

import { h, mount, toast } from "./dom.js";
import { api, session, cachedIncidents } from "./api.js";
import { t, num, eventName, subEventName, precisionName, vocab, prefs } from "./i18n.js";

export const INCIDENT_EXT = "extension-definition--447704c2-c7f8-4c08-993a-83a938df3ee7";
const REDACTION_EXT = "extension-definition--2f5b8c1e-6f0a-4d4e-9a55-8c7f1b3e9d21";

export async function render(main, [id]) {
  const [d, markings] = await Promise.all([api(`/ui/api/incidents/${encodeURIComponent(id)}`), api("/ui/api/markings").catch(() => [])]);
  const markingName = new Map((markings || []).map((m) => [m.id, m.name]));
  const o = d.object || {};
  const ext = (o.extensions && o.extensions[INCIDENT_EXT]) || {};
  const redacted = new Set(d.redacted || (o.extensions && o.extensions[REDACTION_EXT]?.redacted) || []);
  const withheld = (sel) => [...redacted].some((r) => r === sel || r.endsWith(`.${sel}`) || r.includes(`${sel}`));
  const val = (sel, v, fmt = (x) => x) =>
    v === undefined || v === null ? (withheld(sel) ? h("span.withheld", { title: sel }, t("withheld")) : h("span.muted", "—")) : fmt(v);
  const time = ext.time || {};
  const cached = cachedIncidents();
  const rec = cached ? (await cached.catch(() => [])).find((r) => r.id === id) : null;
  const count = (c) => `${num(c.best)}${c.low !== undefined || c.high !== undefined ? ` (${num(c.low ?? "?")}–${num(c.high ?? "?")})` : ""}`;
  // Data (names, places, free text, ids) is marked `translate="no"`: it is what the reports say,
  // in whatever language they were written; every label around it comes from i18n.
  const data = (text) => h("span", { translate: "no" }, text);
  const yes = (b) => t(b ? "yes" : "no");
  const rows = [
    [t("title"), val("name", o.name, data)],
    [t("event_type"), val("event_type", ext.event_type, eventName)],
    [t("sub_event_type"), val("sub_event_type", ext.sub_event_type, subEventName)],
    [t("date"), val("time", ext.time, () => [`${time.start ? `${num(time.start)} – ` : ""}${num(time.end)} (${vocab("date_precisions", time.precision)}`,
      time.expression ? [", “", data(time.expression), "”"] : null, ")"])],
    [t("place"), val("place", ext.place, (p) => [rec && rec.place && rec.place !== p.description ? [data(rec.place), " · "] : null,
      data(p.admin1), ` · ${precisionName(p.precision)}`, p.description ? [" · ", data(p.description)] : null,
      rec && rec.radius_km ? ` (± ${t("reason_km", { km: rec.radius_km })})` : null])],
    [t("fatalities"), val("fatalities", ext.fatalities, count)],
    [t("injured"), val("injured", ext.injured, count)],
    [t("arrested"), val("arrested", ext.arrested, count)],
    [t("actors"), val("actors", ext.actors, (a) => a.map((x, k) => [k ? "; " : "", data(x.name || x.actor_ref), ` (${vocab("roles", x.role)})`]))],
    [t("materiel"), val("materiel", ext.materiel, (m) => m.map((x, k) => [k ? "; " : "", data(x.item),
      `${x.quantity != null ? ` ×${num(x.quantity)}` : x.quantity_min != null ? ` ×≥${num(x.quantity_min)}` : ""} (${vocab("actions", x.action)})`]))],
    [t("flags"), `${yes(ext.claimed_only)} / ${yes(ext.confirmed)} / ${yes(ext.civilian_targeting)}`],
    [t("notes"), val("notes", ext.notes, data)],
    [t("description"), val("description", o.description, data)],
    [t("markings"), (o.object_marking_refs || []).length
      ? o.object_marking_refs.map((m) => h("span.chip", { title: m, translate: "no" }, markingName.get(m) || m)) : "—"],
    [t("id_version"), [data(o.id), ` · ${num(o.modified || "")}`]],
  ];
  const who = d.who_can_see || {};
  const sources = ext.sources || [];
  const versions = d.versions || [];
  const corr = d.correlated || [];
  const mergeBox = h("div#merge-state");
  mount(main, h("article.page.incident",
    // Only the originator's users edit: another member's version under this id would be its own claim.
    h("p", h("a", { href: "#/map" }, `← ${t("map")}`), d.member === session.member ? [" · ",
      h("a#edit-link", { href: `#/report/${encodeURIComponent(o.id)}` }, t("edit"))] : null,
      d.member ? h("span.muted", ` · ${t("member")}: `, data(d.member)) : null),
    h("h1", { translate: "no" }, o.name || o.id),
    redacted.size ? h("p.withheld-note#withheld", `${t("withheld")}: `,
      [...redacted].map((r) => r.replace(`extensions.${INCIDENT_EXT}.`, "")).join(", ")) : null,
    h("dl.fields", rows.map(([k, v]) => [h("dt", k), h("dd", v)])),
    h("section", h("h2", t("sources")), sources.length ? h("table",
      h("thead", h("tr", h("th", t("source_name")), h("th", t("grading")), h("th", t("url")), h("th", t("date")))),
      h("tbody", sources.map((s) => h("tr", h("td", { translate: "no" }, s.name || s.identity_ref || "—"),
        h("td", h("span.grade", `${s.reliability}${num(s.credibility)}`)),
        h("td", s.url ? h("a", { href: s.url, rel: "noreferrer noopener", target: "_blank", translate: "no" }, s.url) : "—"),
        h("td", num(s.published || "—")))))) : val("sources", undefined)),
    h("section#who-can-see", h("h2", t("who_can_see")), h("p", whoSummary(who)),
      h("p", `${t("members")}: `, (who.members || []).map((m) => h("span.chip", { translate: "no" }, `${m.name} (${m.code})`))),
      (who.groups || []).length ? h("p", `${t("groups")}: `, who.groups.map((g) => h("span.chip", { translate: "no" }, `${g.name} (${g.code})`))) : null),
    h("section", h("h2", t("linked_cells")), (d.cells || []).length
      ? h("ul", d.cells.map((c) => h("li", h("a", { href: `#/cell/${encodeURIComponent(c.id)}`, translate: "no" }, c.name || c.id))))
      : h("p.muted", "—")),
    h("section#correlated", h("h2", t("correlated")), corr.length ? h("ul", corr.map((c) => h("li", { "data-id": c.id },
      h("a", { href: `#/incident/${encodeURIComponent(c.id)}`, translate: "no" }, c.id), " · ", data(c.member),
      ` · ${t("score")} ${num(Number(c.score).toFixed(2))} · `, reasons(c), " ",
      session.roles.includes("analyst") || !session.roles.includes("auditor") ? h("button.small.merge", { type: "button", onclick: () => merge(o.id, c.id, mergeBox) }, t("merge")) : null)))
      : h("p.muted", "—"), mergeBox,
      (d.merges || []).length ? [h("h3", t("merges")), h("ul#merges", d.merges.map((m) => mergeItem(m)))] : null),
    h("section#versions", h("h2", t("versions")), h("ol", versions.map((v, k) => h("li",
      h("details", { open: k === versions.length - 1 && k > 0 ? true : null }, h("summary", num(v.modified || "")),
        k === 0 ? h("p.muted", t("first_version")) : diffTable(versions[k - 1], v))))))));
}

/** "Who can see this" in the reader's language, from what the server decided. */
export function whoSummary(who) {
  const names = (who.members || []).map((m) => m.name);
  const base = { none: () => t("who_none"), all: () => t("who_all", { n: names.length }),
    originator: () => t("who_originator", { name: names[0] }), some: () => t("who_some", { names: names.join("، ") }) }[who.kind];
  if (!base) return who.summary || "";
  const c = who.classification ? ` ${t("who_cleared", { c: vocab("classifications", who.classification) })}` : "";
  return `${base()}${c}`;
}

/** Why two reports may be the same event, in the reader's language. */
function reasons(c) {
  const out = [];
  if (typeof c.km === "number") out.push(t("reason_km", { km: Math.round(c.km * 10) / 10 }));
  if (c.overlap_days != null) out.push(t("reason_overlap", { n: c.overlap_days }));
  if ((c.shared_actors || []).length) out.push(t("reason_actors", { a: c.shared_actors.join(", ") }));
  return out.join(prefs.lang === "ar" ? "، " : ", ");
}

/** A confirmed merge naming this incident; its member's users may undo it. */
function mergeItem(m) {
  const link = (id) => h("a", { href: `#/incident/${encodeURIComponent(id)}`, translate: "no" }, id);
  const li = h("li", { "data-id": m.id }, link(m.duplicate), ` ${t("duplicate_of")} `, link(m.of), " · ", h("span", { translate: "no" }, m.member), " ",
    m.mine && !session.roles.includes("auditor") ? h("button.small.undo", { type: "button", onclick: async () => {
      try {
        await api(`/api/tandem/analytics/correlations/${encodeURIComponent(m.id)}`, { method: "DELETE" });
        mount(li, h("span.undone", t("undo"), " ✓"));
      } catch (e) { toast(e.message, "error"); }
    } }, t("undo")) : null);
  return li;
}

async function merge(dup, of, box) {
  try {
    const r = await api("/api/tandem/analytics/correlations", { method: "POST", body: { duplicate: dup, of } });
    const rel = (r && (r.id || r.relationship || r.relationship_id)) || null;
    mount(box, h("p#merge-done", { "data-relationship": rel || "" }, `${t("merged")}: `, h("span", { translate: "no" }, rel || "✓"), " ",
      rel ? h("button.small#merge-undo", { type: "button", onclick: async () => {
        try {
          await api(`/api/tandem/analytics/correlations/${encodeURIComponent(rel)}`, { method: "DELETE" });
          mount(box, h("p#merge-undone", t("undo"), " ✓"));
        } catch (e) { toast(e.message, "error"); }
      } }, t("undo")) : null));
  } catch (e) { toast(e.message, "error"); }
}

/** Every JSON path whose value differs between two versions. */
function diffTable(a, b) {
  const fa = flat(a), fb = flat(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter((k) => fa[k] !== fb[k] && k !== "modified").sort();
  if (!keys.length) return h("p.muted", "—");
  return h("table.diff", h("caption", t("diff")), h("tbody", keys.map((k) =>
    h("tr", h("th", { scope: "row", translate: "no" }, k), h("td.del", { translate: "no" }, fa[k] ?? ""), h("td.ins", { translate: "no" }, fb[k] ?? "")))));
}
function flat(v, p = "", out = {}) {
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) flat(x, p ? `${p}.${k.replace(INCIDENT_EXT, "incident")}` : k.replace(INCIDENT_EXT, "incident"), out);
  } else out[p] = JSON.stringify(v);
  return out;
}
