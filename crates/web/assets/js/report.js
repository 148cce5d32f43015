//! The report form: create or edit an incident. Place search (Arabic or Latin) through the
//! gazetteer, a date window with precision, actors, casualties, materiel, sources with grading,
//! releasability with the preview of exactly who will receive it (the server's own decision),
//! "paste a text" through the extraction endpoint. Submits a STIX envelope (the incident and its
//! location) through the TAXII POST; validation errors are shown next to their field.

import { h, mount, field, toast } from "./dom.js";
import { api, intelCollection, forgetIncidents } from "./api.js";
import { t, num, eventName, subEventName, precisionName, vocab, prefs } from "./i18n.js";
import { EVENT_TYPES } from "./incidents.js";
import { INCIDENT_EXT, whoSummary } from "./incident.js";

const SUB_TYPES = {
  "Battles": ["Armed clash", "Government regains territory", "Non-state actor overtakes territory"],
  "Explosions/Remote violence": ["Chemical weapon", "Air/drone strike", "Suicide bomb", "Shelling/artillery/missile attack", "Remote explosive/landmine/IED", "Grenade"],
  "Violence against civilians": ["Sexual violence", "Attack", "Abduction/forced disappearance"],
  "Protests": ["Peaceful protest", "Protest with intervention", "Excessive force against protesters"],
  "Riots": ["Violent demonstration", "Mob violence"],
  "Strategic developments": ["Agreement", "Arrests", "Change to group/activity", "Disrupted weapons use", "Headquarters or base established", "Looting/property destruction", "Non-violent transfer of territory", "Other"],
};
const PRECISIONS = ["day", "days", "week", "month", "year"];
const PLACE_PRECISION = ["1", "2", "3", "admin"];
const ROLES = ["perpetrator", "target", "responder", "claimant", "other"];
const ACTIONS = ["seized", "destroyed"];

export async function render(main, [editId]) {
  let existing = null;
  if (editId) existing = (await api(`/ui/api/incidents/${encodeURIComponent(editId)}`)).object;
  const ex = (existing && existing.extensions && existing.extensions[INCIDENT_EXT]) || {};
  const markings = await api("/ui/api/markings").catch(() => []);

  const el = {};
  const inp = (name, attrs = {}) => (el[name] = h(`input#r-${name}`, { name, ...attrs }));
  const title = inp("name", { required: true, value: existing?.name || "" });
  const evSel = (el.event_type = h("select#r-event_type", { name: "event_type", required: true },
    EVENT_TYPES.map((e) => h("option", { value: e, selected: ex.event_type === e }, eventName(e)))));
  const subSel = (el.sub_event_type = h("select#r-sub_event_type", { name: "sub_event_type" }));
  const fillSub = () => mount(subSel, (SUB_TYPES[evSel.value] || []).map((s) => h("option", { value: s, selected: ex.sub_event_type === s }, subEventName(s))));
  evSel.addEventListener("change", fillSub);
  fillSub();
  const start = inp("start", { type: "date", value: ex.time?.start || "" });
  const end = inp("end", { type: "date", required: true, value: ex.time?.end || new Date().toISOString().slice(0, 10) });
  const prec = (el.precision = h("select#r-precision", PRECISIONS.map((p) => h("option", { value: p, selected: (ex.time?.precision || "day") === p }, vocab("date_precisions", p)))));

  // place search
  let place = null; // {name, lat, lon, admin1}
  const placeQ = inp("place", { type: "search", autocomplete: "off", placeholder: "Deir ez-Zor / دير الزور", role: "combobox", "aria-expanded": "false", "aria-controls": "r-place-results" });
  const placeResults = h("ul.results#r-place-results", { role: "listbox" });
  const placeChosen = h("p.chosen#r-place-chosen", { translate: "no" });
  const placePrec = (el.place_precision = h("select#r-place_precision", PLACE_PRECISION.map((v) => h("option", { value: v, selected: String(ex.place?.precision ?? "1") === v }, precisionName(v)))));
  const admin1 = inp("admin1", { value: ex.place?.admin1 || "", placeholder: "SY-DY", pattern: "[A-Z]{2}-[A-Z0-9]{1,3}" });
  const choose = (p) => {
    place = p;
    admin1.value = p.admin1;
    placeChosen.textContent = `${p.name}${p.name_ar ? ` · ${p.name_ar}` : ""} (${num(p.lat.toFixed(3))}, ${num(p.lon.toFixed(3))}) ${p.admin1}`;
    mount(placeResults);
    placeQ.setAttribute("aria-expanded", "false");
  };
  let searchTimer = null;
  placeQ.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = placeQ.value.trim();
      if (q.length < 2) { mount(placeResults); return; }
      try {
        const res = await api(`/api/tandem/places?q=${encodeURIComponent(q)}&limit=8`);
        const hits = (res.places || []).map((c) => {
          const p = c.place || c;
          return { name: p.name, name_ar: (p.arabic_names || [])[0] || "", lat: p.lat, lon: p.lon, admin1: p.admin1 };
        });
        mount(placeResults, hits.length ? hits.map((p, k) => h("li", { role: "option", translate: "no" },
          h("button.link", { type: "button", id: `r-place-opt-${k}`, onclick: () => choose(p) },
            `${prefs.lang === "ar" && p.name_ar ? p.name_ar : p.name} — ${prefs.lang === "ar" ? p.name : p.name_ar} (${p.admin1})`)))
          : h("li.muted", t("no_results")));
        placeQ.setAttribute("aria-expanded", hits.length ? "true" : "false");
      } catch (e) { mount(placeResults, h("li.error", e.message)); }
    }, 200);
  });

  // repeated rows
  const rows = (kind, make, initial) => {
    const box = h(`div.rows#r-${kind}`);
    const add = (v) => {
      const r = make(v || {});
      box.append(h("div.row-item", r.nodes, h("button.small", { type: "button", "aria-label": t("remove_row"), onclick: (e) => e.target.closest(".row-item").remove() }, "×")));
      box.lastChild.read = r.read;
    };
    (initial && initial.length ? initial : [null]).forEach(add);
    return { box, add, read: () => [...box.children].map((c) => c.read()).filter(Boolean) };
  };
  let uid = 0;
  const small = (label, control) => { control.id = `r-x${++uid}`; return h("span.mini", h("label", { for: control.id }, label), control); };
  const actors = rows("actors", (v) => {
    const n = h("input", { value: v.name || "", placeholder: v.actor_ref || "" }), r = h("select", ROLES.map((x) => h("option", { value: x, selected: v.role === x }, vocab("roles", x))));
    // An edit keeps what the form does not show (an actor_ref, a note): rows start from the stored item.
    return { nodes: [small(t("actor_name"), n), small(t("role"), r)], read: () => {
      const name = n.value.trim();
      if (!name && !v.actor_ref) return null;
      const out = { ...v, role: r.value };
      if (name) out.name = name; else delete out.name;
      return out;
    } };
  }, ex.actors);
  const materiel = rows("materiel", (v) => {
    const it = h("input", { value: v.item || "" });
    const q = h("input", { type: "number", min: 1, value: v.quantity ?? "", placeholder: v.quantity_min != null ? `≥ ${v.quantity_min}` : "" });
    const a = h("select", ACTIONS.map((x) => h("option", { value: x, selected: v.action === x }, vocab("actions", x))));
    return { nodes: [small(t("item"), it), small(t("quantity"), q), small(t("action"), a)], read: () => {
      if (!it.value.trim()) return null;
      const out = { ...v, item: it.value.trim(), action: a.value };
      if (q.value !== "") { out.quantity = +q.value; delete out.quantity_min; } else delete out.quantity;
      return out;
    } };
  }, ex.materiel);
  const sources = rows("sources", (v) => {
    const n = h("input", { value: v.name || "", "data-role": "source-name", placeholder: v.identity_ref || "" }), u = h("input", { type: "url", value: v.url || "" });
    const rel = h("select", "ABCDEF".split("").map((x) => h("option", { value: x, selected: (v.reliability || "C") === x }, x)));
    const cred = h("select", [1, 2, 3, 4, 5, 6].map((x) => h("option", { value: x, selected: (v.credibility || 3) === x }, String(x))));
    return { nodes: [small(t("source_name"), n), small(t("reliability"), rel), small(t("credibility"), cred), small(t("url"), u)],
      read: () => {
        const name = n.value.trim();
        if (!name && !v.identity_ref) return null;
        const out = { ...v, reliability: rel.value, credibility: +cred.value };
        if (name) out.name = name; else delete out.name;
        if (u.value) out.url = u.value; else delete out.url;
        return out;
      } };
  }, ex.sources);
  const fat = { best: inp("fat_best", { type: "number", min: 0, value: ex.fatalities?.best ?? "" }),
    low: inp("fat_low", { type: "number", min: 0, value: ex.fatalities?.low ?? "" }),
    high: inp("fat_high", { type: "number", min: 0, value: ex.fatalities?.high ?? "" }) };
  const notes = (el.notes = h("textarea#r-notes", { rows: 3 }, ex.notes || ""));

  // releasability
  const current = new Set(existing?.object_marking_refs || []);
  const relBoxes = (markings || []).map((m) => h("label.check", h("input", { type: "checkbox", value: m.id, "data-marking": m.name,
    checked: current.has(m.id), onchange: () => preview() }), h("span", { translate: "no" }, m.name),
    m.kind === "releasability" && m.rel_to ? h("span.muted", { translate: "no" }, ` → ${m.rel_to.join(", ")}`) : null));
  const previewBox = h("div.preview#r-preview", { "aria-live": "polite" });
  const chosenMarkings = () => relBoxes.map((l) => l.querySelector("input")).filter((c) => c.checked).map((c) => c.value);
  let previewSeq = 0;
  async function preview() {
    const seq = ++previewSeq;
    const refs = chosenMarkings();
    try {
      const p = await api("/ui/api/releasability/preview", { method: "POST", body: { object_marking_refs: refs } });
      if (seq !== previewSeq) return;
      mount(previewBox, h("strong", `${t("preview")}: `), (p.members || []).map((m) => h("span.chip.member", { "data-code": m.code, translate: "no" }, `${m.name} (${m.code})`)),
        p.summary ? h("p.muted", whoSummary(p)) : null);
    } catch (e) { mount(previewBox, h("span.error", e.message)); }
  }
  el.markings = h("div", relBoxes);

  // paste a text
  const pasteText = h("textarea#r-paste", { rows: 4 });
  const pasteMsg = h("p#r-paste-msg", { role: "status" });
  const extract = async () => {
    pasteMsg.textContent = "";
    try {
      const res = await api(`/api/tandem/extract?published=${new Date().toISOString().slice(0, 10)}`, { method: "POST", body: pasteText.value,
        // JSON or TAXII: an /api/ path the node does not have then answers 404, not 406.
        headers: { "Content-Type": "text/plain; charset=utf-8", Accept: "application/json, application/taxii+json;version=2.1" } });
      // The node answers the drafts as a STIX bundle (incidents with the extension, their
      // locations) beside the extraction with its text spans.
      const objects = (res && res.bundle && Array.isArray(res.bundle.objects)) ? res.bundle.objects : [];
      const drafts = objects.filter((o) => o.type === "incident");
      const d = drafts[0];
      if (!d) { pasteMsg.textContent = t("no_results"); return; }
      const x = (d.extensions && d.extensions[INCIDENT_EXT]) || {};
      const locId = x.place && Array.isArray(x.place.location_refs) ? x.place.location_refs[0] : null;
      prefill({ ...d, location: objects.find((o) => o.id === locId) });
      pasteMsg.textContent = `✓ ${drafts.length}`;
    } catch (e) {
      pasteMsg.textContent = e.status === 404 ? t("extract_missing") : e.message;
    }
  };
  const prefill = (d) => {
    const x = (d.extensions && d.extensions[INCIDENT_EXT]) || d;
    if (d.name) title.value = d.name;
    if (x.event_type) { evSel.value = x.event_type; fillSub(); }
    if (x.sub_event_type) subSel.value = x.sub_event_type;
    if (x.time) { start.value = x.time.start || ""; end.value = x.time.end || end.value; prec.value = x.time.precision || prec.value; }
    if (x.place) { admin1.value = x.place.admin1 || admin1.value; placePrec.value = String(x.place.precision ?? placePrec.value); }
    if (x.fatalities) { fat.best.value = x.fatalities.best ?? ""; fat.low.value = x.fatalities.low ?? ""; fat.high.value = x.fatalities.high ?? ""; }
    if (d.location) choose({ name: d.location.name, lat: d.location.latitude, lon: d.location.longitude, admin1: d.location.administrative_area || admin1.value });
    (x.actors || []).forEach((a) => actors.add(a));
    (x.sources || []).forEach((s) => sources.add(s));
  };

  const status = h("p#r-status", { role: "status" });
  const form = h("form.report#report-form", { novalidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
    h("h1", existing ? [`${t("edit")}: `, h("span", { translate: "no" }, existing.name)] : t("report")),
    h("details.paste", h("summary", t("paste")), field(t("paste"), pasteText), h("button#r-extract", { type: "button", onclick: extract }, t("extract")), pasteMsg),
    field(t("title"), title, { name: "name" }),
    h("div.cols", field(t("event_type"), evSel, { name: "event_type" }), field(t("sub_event_type"), subSel, { name: "sub_event_type" })),
    h("fieldset", h("legend", t("date")), h("div.cols", field(t("window_start"), start, { name: "start" }), field(t("window_end"), end, { name: "end" }),
      field(t("date_precision"), prec, { name: "precision" }))),
    h("fieldset", h("legend", t("place")), field(t("search_place"), placeQ, { name: "place" }), placeResults, placeChosen,
      h("div.cols", field(t("precision"), placePrec, { name: "place_precision" }), field("ISO 3166-2", admin1, { name: "admin1" }))),
    h("fieldset", h("legend", t("actors")), actors.box, h("button.small", { type: "button", onclick: () => actors.add() }, t("add")), h("span.field-error#r-actors-err", { role: "alert" })),
    h("fieldset", h("legend", t("casualties")), h("div.cols", field(t("best"), fat.best, { name: "fatalities" }), field(t("low"), fat.low, { name: "fat_low" }), field(t("high"), fat.high, { name: "fat_high" }))),
    h("fieldset", h("legend", t("materiel")), materiel.box, h("button.small", { type: "button", onclick: () => materiel.add() }, t("add")), h("span.field-error#r-materiel-err", { role: "alert" })),
    h("fieldset", h("legend", t("sources")), sources.box, h("button.small", { type: "button", onclick: () => sources.add() }, t("add")), h("span.field-error#r-sources-err", { role: "alert" })),
    field(t("notes"), notes, { name: "notes" }),
    h("fieldset#r-rel", h("legend", t("releasability")), el.markings, h("span.field-error#r-markings-err", { role: "alert" }), previewBox),
    h("button.primary#r-submit", { type: "submit" }, t("submit")), status);
  mount(main, h("section.page", form));
  preview();

  function setError(name, msg) {
    const target = document.getElementById(`r-${name}-err`) || document.getElementById("r-status");
    target.textContent = target.textContent ? `${target.textContent}; ${msg}` : msg;
    const control = document.getElementById(`r-${name}`);
    if (control) control.setAttribute("aria-invalid", "true");
  }
  function clearErrors() {
    form.querySelectorAll(".field-error").forEach((e) => (e.textContent = ""));
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
    status.textContent = "";
  }

  async function submit() {
    clearErrors();
    const errs = [];
    if (!title.value.trim()) errs.push(["name", t("required")]);
    if (!end.value) errs.push(["end", t("required")]);
    if (start.value && end.value && start.value > end.value) errs.push(["start", t("start_after_end")]);
    if (!admin1.value.match(/^[A-Z]{2}-[A-Z0-9]{1,3}$/)) errs.push(["admin1", t("required")]);
    if (placePrec.value !== "admin" && !place && !existing) errs.push(["place", t("required")]);
    const fb = fat.best.value === "" ? null : +fat.best.value;
    if (fb !== null && fat.low.value !== "" && +fat.low.value > fb) errs.push(["fat_low", t("low_gt_best")]);
    if (fb !== null && fat.high.value !== "" && +fat.high.value < fb) errs.push(["fat_high", t("high_lt_best")]);
    const srcs = sources.read();
    if (!srcs.length) errs.push(["sources", t("required")]);
    const refs = chosenMarkings();
    if (!refs.length) errs.push(["markings", t("at_least_one_rel")]);
    if (errs.length) { errs.forEach(([n, m]) => setError(n, m)); document.getElementById(`r-${errs[0][0]}`)?.focus(); return; }

    const now = new Date().toISOString();
    const objects = [];
    const locRefs = [];
    if (place) {
      const loc = { type: "location", spec_version: "2.1", id: `location--${crypto.randomUUID()}`, created: now, modified: now,
        name: place.name, latitude: place.lat, longitude: place.lon, country: place.admin1.slice(0, 2),
        administrative_area: place.admin1, object_marking_refs: refs };
      objects.push(loc);
      locRefs.push(loc.id);
    } else if (ex.place?.location_refs) locRefs.push(...ex.place.location_refs);
    // An edit starts from the stored version: what the form does not show is kept as it was.
    const body = {
      ...ex,
      extension_type: "property-extension", event_type: evSel.value, sub_event_type: subSel.value,
      // A day is one date: the window's start is sent only for coarser precisions.
      time: { ...(start.value && prec.value !== "day" ? { start: start.value } : {}), end: end.value, precision: prec.value },
      place: { ...(ex.place || {}), location_refs: locRefs, precision: placePrec.value === "admin" ? "admin" : +placePrec.value, admin1: admin1.value },
      sources: srcs,
    };
    if (!locRefs.length) delete body.place.location_refs;
    if (ex.time && ex.time.expression && prec.value === ex.time.precision) body.time.expression = ex.time.expression;
    const acts = actors.read();
    if (acts.length) body.actors = acts; else delete body.actors;
    const mat = materiel.read();
    if (mat.length) body.materiel = mat; else delete body.materiel;
    if (fb !== null) {
      body.fatalities = { ...(ex.fatalities || {}), best: fb };
      for (const k of ["low", "high"]) if (fat[k].value !== "") body.fatalities[k] = +fat[k].value; else delete body.fatalities[k];
    } else delete body.fatalities;
    if (notes.value.trim()) body.notes = notes.value.trim(); else delete body.notes;
    const inc = { ...(existing || {}), type: "incident", spec_version: "2.1", id: existing?.id || `incident--${crypto.randomUUID()}`,
      created: existing?.created || now, modified: now, name: title.value.trim(), object_marking_refs: refs,
      extensions: { ...((existing && existing.extensions) || {}), [INCIDENT_EXT]: body } };
    // The node's redaction note is about a copy, not part of the report.
    delete inc.extensions["extension-definition--2f5b8c1e-6f0a-4d4e-9a55-8c7f1b3e9d21"];
    objects.push(inc);
    try {
      const col = await intelCollection();
      const res = await api(`/api/collections/${encodeURIComponent(col)}/objects/`, { method: "POST",
        headers: { "Content-Type": "application/taxii+json;version=2.1", Accept: "application/taxii+json;version=2.1" },
        body: JSON.stringify({ objects }) });
      const failures = (res && res.failures) || [];
      const mine = failures.filter((f) => !f.id || f.id === inc.id || f.id.startsWith("location--"));
      if (mine.length) { mine.forEach((f) => String(f.message || f).split("; ").forEach(routeError)); return; }
      forgetIncidents();
      status.textContent = `${t("saved")} ${inc.id}`;
      status.dataset.id = inc.id;
      toast(t("saved"));
    } catch (e) {
      routeError(e.message);
    }
  }
  /** A server validation message names its property; show it beside that field. */
  function routeError(msg) {
    const m = String(msg).replace(`extensions.${INCIDENT_EXT}.`, "");
    const table = [["sub_event_type", "sub_event_type"], ["event_type", "event_type"], ["time.start", "start"], ["time.end", "end"],
      ["time.precision", "precision"], ["time", "end"], ["admin1", "admin1"], ["place", "place"], ["fatalities", "fat_best"],
      ["sources", "sources"], ["actors", "actors"], ["materiel", "materiel"], ["name", "name"], ["marking", "markings"]];
    const hit = table.find(([k]) => m.includes(k));
    setError(hit ? hit[1] : "status", m);
  }
}
