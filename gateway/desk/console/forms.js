// Form helpers: read values, show the API's refusals next to the form, naming the field.
import { ApiError, fieldLabel } from "./api.js";
import { el, t } from "./util.js";

export function showErrors(list, error, form = null) {
  if (form) for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const problems = error instanceof ApiError ? error.problems() : [{ field: null, text: String(error.message || error) }];
  list.replaceChildren(...problems.map((p) => {
    const input = form && p.field ? field(form, p.field) : null;
    if (input) input.setAttribute("aria-invalid", "true");
    return el("li", { dataset: p.field ? { field: p.field } : {} },
      p.field ? el("strong", { text: `${fieldLabel(p.field)}: ` }) : null, p.text);
  }));
  list.hidden = false;
}

export function clearErrors(list, form = null) {
  list.replaceChildren();
  list.hidden = true;
  if (form) for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// A required field left empty: said in the console's language before anything is sent.
export function requireFields(form, names) {
  const missing = names.filter((n) => !String(field(form, n).value || "").trim());
  if (!missing.length) return null;
  return new ApiError(422, { detail: missing.map((n) => ({ loc: ["body", n], msg: t("error.required") })) });
}

// A form control by name (`form.elements.item` would be the collection's item() method).
export function field(form, name) {
  return form.elements.namedItem(name);
}

export function text(form, name) {
  const value = String(field(form, name).value || "").trim();
  return value || undefined;
}

export function banner(message, kind = "info") {
  const node = document.getElementById("banner");
  node.textContent = message;
  node.className = kind;
  node.hidden = false;
  clearTimeout(banner.timer);
  banner.timer = setTimeout(() => { node.hidden = true; }, 8000);
}
