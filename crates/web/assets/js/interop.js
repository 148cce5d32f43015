//! Import and export: the web UI's side of `POST /api/tandem/import` and `GET /api/tandem/export`
//! (`#/interop`). An upload is converted on the node and first run dry (`dry_run=true`): the
//! conversion report (counts, every rejected row or record with its line or index and why, every
//! field not carried and why, what would be stored) is shown before anything is stored, and the
//! import itself is offered only for the file and options that dry run checked. The releasability
//! the import applies is the API's: the markings CSV rows get, the MISP distribution mapping.
//! Downloads take the endpoint's filters and are the user's own view (the server decides).

import { h, mount } from "./dom.js";
import { api, ApiError } from "./api.js";
import { t, num } from "./i18n.js";

const FORMATS = ["csv", "misp", "stix"];

/** A MISP distribution mapping from its fields (codes comma-separated; sharing groups one per
 * line as `key = CODE, CODE`), or null when none is filled. Throws on a malformed line. */
function mappingOf(f) {
  const codes = (s) => s.split(/[\s,]+/).map((c) => c.trim()).filter(Boolean);
  const m = {};
  for (const level of ["community", "connected", "all"]) {
    const c = codes(f[level].value);
    if (c.length) m[level] = c;
  }
  const groups = {};
  for (const [i, line] of f.groups.value.split("\n").entries()) {
    if (!line.trim()) continue;
    const at = line.lastIndexOf("=");
    const key = at > 0 ? line.slice(0, at).trim() : "";
    const c = at > 0 ? codes(line.slice(at + 1)) : [];
    if (!key || !c.length) throw new Error(t("io_bad_group_line", { n: i + 1 }));
    groups[key] = c;
  }
  if (Object.keys(groups).length) m.sharing_groups = groups;
  return Object.keys(m).length ? m : null;
}

function mappingFields(prefix) {
  const f = {
    community: h(`input#${prefix}-map-community`, { dir: "ltr", placeholder: "USA, IRQ" }),
    connected: h(`input#${prefix}-map-connected`, { dir: "ltr" }),
    all: h(`input#${prefix}-map-all`, { dir: "ltr" }),
    groups: h(`textarea#${prefix}-map-groups`, { rows: 2, dir: "ltr", placeholder: "sharing-group-uuid = IRQ, LVNT" }),
  };
  f.box = h(`fieldset#${prefix}-mapping`, h("legend", t("io_mapping")), h("p.muted", t("io_mapping_help")),
    h("div.field", h("label", { for: f.community.id }, t("io_dist_1")), f.community),
    h("div.field", h("label", { for: f.connected.id }, t("io_dist_2")), f.connected),
    h("div.field", h("label", { for: f.all.id }, t("io_dist_3")), f.all),
    h("div.field", h("label", { for: f.groups.id }, t("io_dist_4")), f.groups));
  return f;
}

/** The conversion report as the node wrote it. */
function reportView(report, dryRun) {
  const counts = Object.entries(report.counts || {});
  const rejected = report.rejected || [];
  const notCarried = Object.entries(report.not_carried || {});
  const planned = report.planned || [];
  const where = (at) => t(report.__format === "csv" ? "io_line" : "io_index", { n: at });
  const PLANNED_SHOWN = 200;
  return h("div#imp-report-body", { "data-dry-run": dryRun ? "1" : "0", "data-rejected": String(rejected.length) },
    h("h3", dryRun ? t("io_dry_report") : t("io_import_report")),
    h("table#imp-counts", h("tbody", counts.map(([k, v]) => h("tr", { "data-count": k }, h("th", { translate: "no" }, k), h("td", num(v)))))),
    h("h4", t("io_rejected", { n: rejected.length })),
    rejected.length
      ? h("ul.feed#imp-rejected", rejected.map((r) => h("li", { "data-at": String(r.at), "data-key": r.key || "" },
        h("span.tag", where(r.at)), " ", r.key ? h("span", { translate: "no" }, r.key) : null, " ",
        h("span", { translate: "no" }, r.reason))))
      : h("p.muted#imp-rejected-none", t("io_none")),
    h("h4", t("io_not_carried", { n: notCarried.length })),
    notCarried.length
      ? h("ul.feed#imp-not-carried", notCarried.map(([field, nc]) => h("li", { "data-field": field },
        h("span", { translate: "no" }, field), ` (${num(nc.count)}×): `, h("span", { translate: "no" }, nc.why))))
      : h("p.muted", t("io_none")),
    planned.length ? h("h4", t("io_planned", { n: planned.length })) : null,
    planned.length ? h("ul.feed#imp-planned", planned.slice(0, PLANNED_SHOWN).map((p) => h("li",
      h("span.tag", where(p.at)), " ", h("span", { translate: "no" }, `${p.type} ${p.id}${p.key ? ` (${p.key})` : ""}`)))) : null,
    planned.length > PLANNED_SHOWN ? h("p.muted", t("io_more", { n: planned.length - PLANNED_SHOWN })) : null);
}

export async function render(main) {
  const markings = await api("/ui/api/markings").catch(() => []);

  // ---- import
  const file = h("input#imp-file", { type: "file", accept: ".csv,.json,text/csv,application/json" });
  const format = h("select#imp-format", FORMATS.map((f) => h("option", { value: f }, t(`io_format_${f}`))));
  const deletions = h("input#imp-deletions", { type: "checkbox" });
  const relBoxes = (markings || []).map((m) => h("label.check", h("input", { type: "checkbox", value: m.id, "data-marking": m.name }),
    h("span", { translate: "no" }, m.name), m.kind === "releasability" && m.rel_to ? h("span.muted", { translate: "no" }, ` → ${m.rel_to.join(", ")}`) : null));
  const previewBox = h("div.preview#imp-preview", { "aria-live": "polite" });
  const chosen = () => relBoxes.map((l) => l.querySelector("input")).filter((c) => c.checked).map((c) => c.value);
  const csvBox = h("fieldset#imp-csv", h("legend", t("releasability")), h("p.muted", t("io_csv_markings_help")), relBoxes, previewBox,
    h("label.check", deletions, t("io_deletions")));
  const impMap = mappingFields("imp");
  const msg = h("p#imp-msg", { role: "status" });
  const reportBox = h("div#imp-report", { "aria-live": "polite" });
  const dryBtn = h("button#imp-dry", { type: "button" }, t("io_dry_run"));
  const runBtn = h("button.primary#imp-run", { type: "button", disabled: true }, t("io_import"));

  let previewSeq = 0;
  const preview = async () => {
    const seq = ++previewSeq;
    try {
      const p = await api("/ui/api/releasability/preview", { method: "POST", body: { object_marking_refs: chosen() } });
      if (seq !== previewSeq) return;
      mount(previewBox, h("strong", `${t("preview")}: `), (p.members || []).length
        ? p.members.map((m) => h("span.chip.member", { "data-code": m.code, translate: "no" }, `${m.name} (${m.code})`))
        : h("span.muted", t("who_none")));
    } catch (e) { mount(previewBox, h("span.error", e.message)); }
  };

  // What the last successful dry run checked: the import is offered for exactly that.
  let checked = null;
  const query = (dryRun) => {
    const q = new URLSearchParams({ format: format.value });
    if (dryRun) q.set("dry_run", "true");
    if (format.value === "csv") {
      if (deletions.checked) q.set("deletions", "true");
      else if (chosen().length) q.set("markings", chosen().join(","));
    }
    if (format.value === "misp") {
      const m = mappingOf(impMap);
      if (m) q.set("misp_mapping", JSON.stringify(m));
    }
    return q.toString();
  };
  const invalidate = () => { checked = null; runBtn.disabled = true; };
  const sync = () => {
    csvBox.hidden = format.value !== "csv";
    impMap.box.hidden = format.value !== "misp";
    relBoxes.forEach((l) => { l.querySelector("input").disabled = deletions.checked; });
    invalidate();
  };
  for (const el of [file, format, deletions, impMap.community, impMap.connected, impMap.all, impMap.groups]) {
    el.addEventListener("change", sync);
    el.addEventListener("input", invalidate);
  }
  relBoxes.forEach((l) => l.querySelector("input").addEventListener("change", () => { invalidate(); preview(); }));

  const send = async (dryRun) => {
    msg.textContent = "";
    msg.className = "";
    const f = file.files[0];
    if (!f) { msg.textContent = t("io_choose_file"); msg.className = "error"; return; }
    let q;
    try { q = query(dryRun); } catch (e) { msg.textContent = e.message; msg.className = "error"; return; }
    if (!dryRun && (!checked || checked.file !== f || checked.query !== query(true))) {
      msg.textContent = t("io_dry_first"); msg.className = "error"; return;
    }
    dryBtn.disabled = runBtn.disabled = true;
    delete document.body.dataset.importDone;
    msg.textContent = dryRun ? t("io_checking") : t("io_importing");
    try {
      const report = await api(`/api/tandem/import?${q}`, { method: "POST", body: f,
        headers: { "Content-Type": format.value === "csv" ? "text/csv" : "application/json" } });
      report.__format = format.value;
      mount(reportBox, reportView(report, dryRun));
      msg.textContent = dryRun ? t("io_dry_done") : t("io_import_done", { n: report.counts?.stored || 0 });
      if (dryRun) checked = { file: f, query: q };
      else checked = null;
      document.body.dataset.importDone = dryRun ? "dry" : "stored";
    } catch (e) {
      msg.textContent = e instanceof ApiError && e.status === 413 ? t("io_too_large") : `${t("io_failed")}: ${e.message}`;
      msg.className = "error";
      document.body.dataset.importDone = "error";
    } finally {
      dryBtn.disabled = false;
      runBtn.disabled = !checked;
    }
  };
  dryBtn.addEventListener("click", () => send(true));
  runBtn.addEventListener("click", () => send(false));

  // ---- export
  const expFormat = h("select#exp-format", FORMATS.map((f) => h("option", { value: f }, t(`io_format_${f}`))));
  const types = h("input#exp-types", { dir: "ltr", placeholder: "incident, location" });
  const addedAfter = h("input#exp-added-after", { type: "datetime-local" });
  const since = h("input#exp-since", { type: "date" });
  const until = h("input#exp-until", { type: "date" });
  const allVersions = h("input#exp-all-versions", { type: "checkbox" });
  const stixBox = h("fieldset#exp-stix", h("legend", t("filters")),
    h("div.field", h("label", { for: types.id }, t("io_types")), types),
    h("div.field", h("label", { for: addedAfter.id }, t("io_added_after")), addedAfter),
    h("div.field", h("label", { for: since.id }, t("io_since")), since),
    h("div.field", h("label", { for: until.id }, t("io_until")), until),
    h("label.check", allVersions, t("io_all_versions")));
  const expMap = mappingFields("exp");
  const expMsg = h("p#exp-msg", { role: "status" });
  const expBtn = h("button.primary#exp-download", { type: "button" }, t("io_download"));
  const expSync = () => { stixBox.hidden = expFormat.value !== "stix"; expMap.box.hidden = expFormat.value !== "misp"; };
  expFormat.addEventListener("change", expSync);
  expBtn.addEventListener("click", async () => {
    expMsg.textContent = "";
    expMsg.className = "";
    const q = new URLSearchParams({ format: expFormat.value });
    try {
      if (expFormat.value === "stix") {
        const list = types.value.split(/[\s,]+/).filter(Boolean);
        if (list.length) q.set("type", list.join(","));
        // The browser's local time, sent as UTC.
        if (addedAfter.value) q.set("added_after", new Date(addedAfter.value).toISOString());
        if (since.value) q.set("since", `${since.value}T00:00:00Z`);
        if (until.value) q.set("until", `${until.value}T23:59:59.999Z`);
        if (allVersions.checked) q.set("all_versions", "true");
      }
      if (expFormat.value === "misp") {
        const m = mappingOf(expMap);
        if (m) q.set("misp_mapping", JSON.stringify(m));
      }
    } catch (e) { expMsg.textContent = e.message; expMsg.className = "error"; return; }
    expBtn.disabled = true;
    expMsg.textContent = t("io_exporting");
    delete document.body.dataset.exportDone;
    try {
      const res = await api(`/api/tandem/export?${q}`, { raw: true });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        throw new ApiError(res.status, body, (body && (body.description || body.title)) || `HTTP ${res.status}`);
      }
      // A download cut short ends with an error, which `blob()` raises: never a short file.
      const blob = await res.blob();
      const name = `tandem-export-${new Date().toISOString().slice(0, 10)}.${expFormat.value === "csv" ? "csv" : "json"}`;
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      expMsg.textContent = t("io_downloaded", { name, n: blob.size });
      document.body.dataset.exportDone = "1";
    } catch (e) {
      expMsg.textContent = `${t("io_failed")}: ${e.message}`;
      expMsg.className = "error";
      document.body.dataset.exportDone = "error";
    } finally {
      expBtn.disabled = false;
    }
  });

  mount(main, h("section.page.interop",
    h("h1", t("interop")),
    h("h2", t("io_import_title")), h("p.muted", t("io_import_help")),
    h("div.field", h("label", { for: file.id }, t("io_file")), file),
    h("div.field", h("label", { for: format.id }, t("io_format")), format),
    csvBox, impMap.box,
    h("p", dryBtn, " ", runBtn), msg, reportBox,
    h("h2", t("io_export_title")), h("p.muted", t("io_export_help")),
    h("div.field", h("label", { for: expFormat.id }, t("io_format")), expFormat),
    stixBox, expMap.box,
    h("p", expBtn), expMsg));
  sync();
  expSync();
  preview();
}
