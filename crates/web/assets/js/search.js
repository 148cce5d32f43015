//! Search: the incidents and reports the user may see whose text matches, from the node's
//! `GET /api/tandem/search` (the server decides what matches on the user's own copies; the page
//! only shows the answer, page by page with `next`). The query is kept in the hash route
//! (`#/search/<text>`), so a search can be linked and the back button returns to it.

import { h, mount } from "./dom.js";
import { api } from "./api.js";
import { t } from "./i18n.js";

export async function render(main, params) {
  const text = params[0] || "";
  const input = h("input#search-q", { type: "search", value: text, maxlength: "256", "aria-label": t("search"), dir: "auto" });
  const form = h("form.inline#search-form", {
    role: "search",
    onsubmit: (e) => { e.preventDefault(); location.hash = `#/search/${encodeURIComponent(input.value.trim())}`; },
  }, input, " ", h("button#search-submit", { type: "submit" }, t("search")));
  const list = h("ul.feed#search-results", { "aria-live": "polite" });
  const more = h("button#search-more", { type: "button", hidden: true }, t("more"));
  mount(main, h("section.page", h("h1", t("search")), form, h("p.muted", t("search_help")), list, more));
  input.focus();
  if (!text) return;
  const item = (o) => h("li",
    h("span.tag", o.type === "report" ? t("report_type") : t("incident_type")), " ",
    o.type === "incident" ? h("a", { href: `#/incident/${encodeURIComponent(o.id)}` }, o.name || o.id) : h("span", o.name || o.id),
    o.description ? h("span.muted", ` · ${o.description}`) : null);
  let next = null;
  const load = async () => {
    more.hidden = true;
    const q = `q=${encodeURIComponent(text)}&limit=50${next ? `&next=${encodeURIComponent(next)}` : ""}`;
    try {
      const res = await api(`/api/tandem/search?${q}`);
      for (const o of res.objects || []) list.append(item(o));
      if (!list.children.length) list.append(h("li.muted", t("no_results")));
      next = res.next || null;
      more.hidden = !next;
      document.body.dataset.searchResults = String(list.querySelectorAll("li:not(.muted)").length);
    } catch (e) {
      list.append(h("li.error#search-error", String(e.message)));
      document.body.dataset.searchResults = "error";
    }
  };
  more.addEventListener("click", load);
  delete document.body.dataset.searchResults;
  await load();
}
