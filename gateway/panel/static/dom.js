// Building the page without innerHTML: every text goes in as text, so nothing a
// customer writes can become markup.
import { t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let counter = 0;
export const uid = (prefix) => `${prefix}-${++counter}`;

// A labelled control with a place for its field error (read out with the field).
export function field(labelText, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute("aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
  return h("div", { class: "field" },
    h("label", { for: id }, labelText),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    control,
    h("p", { class: "field-error", id: errorId, "data-field-error": control.name || "" }));
}

export function showErrors(form, error) {
  const box = form.querySelector(".form-error");
  for (const p of form.querySelectorAll(".field-error")) p.textContent = "";
  for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  if (!error) { if (box) box.textContent = ""; return; }
  const fields = error.fields || {};
  for (const [name, messages] of Object.entries(fields)) {
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      const p = form.querySelector(`#${CSS.escape(control.id)}-error`);
      if (p) p.textContent = messages.join(" ");
    }
  }
  if (box) {
    box.textContent = error.message || t("error.generic");
    box.focus();
  }
}

export function formError() {
  return h("p", { class: "form-error", role: "alert", tabindex: "-1" });
}

export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("show"), 4000);
}

// Disables the form's buttons while a request runs, and shows its error.
export async function submitting(form, work) {
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    showErrors(form, null);
    return await work();
  } catch (error) {
    showErrors(form, error);
    return undefined;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute("aria-busy");
  }
}

export function mount(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.flat().filter(Boolean));
  const heading = main.querySelector("h1");
  document.title = `${heading ? heading.textContent + " – " : ""}${t("app.name")}`;
}
