// DOM, time and i18n helpers shared by the consoles. Data reaches the page only through
// textContent and attributes set here (never as HTML).

let catalogue = {};
let lang = "zh-CN";
let zone = "Asia/Shanghai";
export const LANGS = ["zh-CN", "en"];

export function currentLang() { return lang; }

export async function loadLang(wanted) {
  const chosen = LANGS.includes(wanted) ? wanted : "zh-CN";
  const response = await fetch(`/console/i18n/${chosen}.json`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`catalogue ${chosen}: HTTP ${response.status}`);
  catalogue = await response.json();
  lang = chosen;
  document.documentElement.lang = chosen;
  document.title = t("app.document_title");
}

export function t(key, params) {
  let text = Object.prototype.hasOwnProperty.call(catalogue, key) ? catalogue[key] : key;
  if (params) text = text.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
  return text;
}

export function has(key) { return Object.prototype.hasOwnProperty.call(catalogue, key); }

// A vocabulary value's label: `v.<group>.<value>` first, then `v.<value>`, else the value itself.
export function label(group, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (has(`v.${group}.${value}`)) return t(`v.${group}.${value}`);
  if (has(`v.${value}`)) return t(`v.${value}`);
  return String(value);
}

export function applyStatic(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function fillSelect(select, values, group, keep = true) {
  const before = select.value;
  select.replaceChildren(...values.map((v) => el("option", { value: v, text: label(group, v) })));
  if (keep && values.includes(before)) select.value = before;
}

// ---- times in the site's zone ------------------------------------------------------------------

export function setZone(name) { zone = name; }
export function siteZone() { return zone; }

function parts(ms) {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const out = {};
  for (const p of fmt.formatToParts(new Date(ms))) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

const pad = (n) => String(n).padStart(2, "0");

export function fmtTime(ms, withDate = true) {
  if (ms === null || ms === undefined) return "—";
  const p = parts(ms);
  const time = `${pad(p.hour)}:${pad(p.minute)}`;
  return withDate ? `${p.year}-${pad(p.month)}-${pad(p.day)} ${time}` : time;
}

export function fmtClock(ms) {
  const p = parts(ms);
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

function offset(ms) {
  const p = parts(ms);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

// "YYYY-MM-DDTHH:MM" of a datetime-local input, read as site time -> epoch ms.
export function localToMs(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  const first = guess - offset(guess);
  return guess - offset(first);
}

export function msToLocal(ms) {
  const p = parts(ms);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

export function fmtDuration(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? t("dur.hm", { h, m }) : t("dur.m", { m });
}

export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
