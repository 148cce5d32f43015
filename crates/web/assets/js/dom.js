//! Tiny DOM helpers: building elements without innerHTML, so no data ever becomes markup.

/** `h("a.cls#id", {href: "#"}, "text", child)`: attributes starting with `on` become listeners. */
export function h(tag, attrs, ...children) {
  const m = tag.match(/^([a-z0-9-]+)((?:[.#][\w-]+)*)$/i);
  const el = document.createElement(m ? m[1] : tag);
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === ".") el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled") el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field: the label is tied to the control and the error slot sits beside it. */
export function field(label, control, { hint, name } = {}) {
  const id = control.id || `f-${name || Math.random().toString(36).slice(2)}`;
  control.id = id;
  const err = h("span.field-error", { id: `${id}-err`, role: "alert" });
  control.setAttribute("aria-describedby", `${id}-err`);
  if (name) control.dataset.field = name;
  return h("div.field", { "data-for": name || "" }, h("label", { for: id }, label), control,
    hint ? h("small.hint", hint) : null, err);
}

export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  const t = h(`div.toast.${kind}`, text);
  box.append(t);
  setTimeout(() => t.remove(), 6000);
}
