// The consoles' entry: language (zh-CN first, English switch), login with a desk account, the
// registration desk and property room tabs by role, the floor plan for everyone, and the live feed
// from the gateway.
import { api, liveStream, loggedIn, setToken, setUnauthorizedHandler, stopStream } from "./api.js";
import { initDesk, onEnrolmentRead, refreshPersons, tickBars } from "./desk.js";
import { initPlan, planShown, refreshPlan } from "./plan.js";
import { initProperty, onLocker, refreshLedger, tickCountdowns } from "./property.js";
import { applyStatic, currentLang, fmtClock, loadLang, setZone, t } from "./util.js";
import { showErrors } from "./forms.js";

const LANG_KEY = "custody-console-lang";
const DESK_ROLES = ["desk", "supervisor"];
const PROPERTY_ROLES = ["custodian", "supervisor"];
let me = null;
let site = null;
let reloadTimer = null;
let live = false;
const pending = { persons: false, ledger: false };

function show(id) {
  for (const view of ["login-view", "desk-view", "property-view", "plan-view"]) {
    document.getElementById(view).hidden = view !== id;
  }
  for (const tab of document.querySelectorAll("#tabs .tab")) {
    tab.classList.toggle("active", `${tab.dataset.tab}-view` === id);
    tab.setAttribute("aria-selected", String(`${tab.dataset.tab}-view` === id));
  }
  if (id === "plan-view" && me) refreshPlan().catch(failed);
}

function failed(error) {
  document.getElementById("banner").hidden = false;
  document.getElementById("banner").textContent = String(error.message || error);
}

function setLangButton() {
  const button = document.getElementById("lang-switch");
  button.textContent = currentLang() === "zh-CN" ? "English" : "中文";
  button.lang = currentLang() === "zh-CN" ? "en" : "zh-CN";
}

async function switchLang() {
  const next = currentLang() === "zh-CN" ? "en" : "zh-CN";
  localStorage.setItem(LANG_KEY, next);
  await loadLang(next);
  applyStatic();
  setLangButton();
  showLive();
  // Messages shown before the switch were in the other language.
  document.getElementById("banner").hidden = true;
  for (const hint of document.querySelectorAll(".tag-hint")) hint.hidden = true;
  if (me) await start(false);
}

function loggedOut() {
  stopStream();
  setToken(null);
  me = null;
  document.getElementById("tabs").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  liveState(false);
  show("login-view");
}

function showLive() {
  const node = document.getElementById("live-state");
  node.className = live ? "on" : "off";
  node.textContent = t(live ? "live.on" : "live.off");
}

function liveState(on) {
  live = on;
  showLive();
  if (on && me) { pending.persons = pending.ledger = true; scheduleReload(); }  // caught up after a reconnect
}

// Reloads a view at most every 300 ms however fast the changes come (event-driven, not polling).
function scheduleReload() {
  if (reloadTimer) return;
  reloadTimer = setTimeout(async () => {
    reloadTimer = null;
    const { persons, ledger } = pending;
    pending.persons = pending.ledger = false;
    try {
      if (persons && canDesk()) await refreshPersons();
      if (persons && planShown()) await refreshPlan();
      if (ledger && canProperty()) await refreshLedger();
    } catch (error) {
      failed(error);
    }
  }, 300);
}

const canDesk = () => me && DESK_ROLES.includes(me.role);
const canProperty = () => me && PROPERTY_ROLES.includes(me.role);

function onLive(type, message) {
  if (type === "enrolment_read") onEnrolmentRead(message);
  else if (type === "changed") {
    if (message.persons) pending.persons = true;
    if (message.ledger) pending.ledger = true;
    if (canProperty()) for (const change of message.lockers || []) onLocker(change);
    scheduleReload();
  }
}

async function start(withStream = true) {
  me = await api("GET", "/desk/v1/me");
  site = await api("GET", "/desk/v1/site");
  setZone(site.timezone);
  document.getElementById("site-name").textContent = site.name;
  document.getElementById("who").textContent = t("login.as", { user: me.username, role: t(`role.${me.role}`) });
  document.getElementById("logout").hidden = false;
  const tabs = document.getElementById("tabs");
  tabs.hidden = false;
  tabs.querySelector('[data-tab="desk"]').hidden = !canDesk();
  tabs.querySelector('[data-tab="property"]').hidden = !canProperty();
  tabs.querySelector('[data-tab="plan"]').hidden = false;
  initPlan(site);
  if (canDesk()) { initDesk(site); await refreshPersons(); }
  if (canProperty()) { initProperty(site, me); await refreshLedger(); }
  const visible = [...document.querySelectorAll("main > .view")].find((v) => !v.hidden);
  if (!visible || (visible.id === "desk-view" && !canDesk()) || (visible.id === "property-view" && !canProperty())) {
    show(canDesk() ? "desk-view" : "property-view");
  } else if (visible.id === "plan-view") await refreshPlan();
  if (withStream) liveStream(onLive, liveState);
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("login-error");
  try {
    const answer = await api("POST", "/desk/v1/login", {
      username: form.elements.username.value, password: form.elements.password.value });
    setToken(answer.token);
    form.reset();
    error.hidden = true;
    await start();
  } catch (exc) {
    const list = document.createElement("ul");
    showErrors(list, exc);
    error.textContent = list.textContent;
    error.hidden = false;
  }
}

async function logout() {
  try { await api("POST", "/desk/v1/logout"); } catch { /* the gateway may not keep sessions server-side */ }
  loggedOut();
}

async function boot() {
  const saved = localStorage.getItem(LANG_KEY);
  await loadLang(saved || "zh-CN");
  applyStatic();
  setLangButton();
  showLive();
  setUnauthorizedHandler(loggedOut);
  document.getElementById("lang-switch").onclick = switchLang;
  document.getElementById("logout").onclick = logout;
  document.getElementById("login-form").onsubmit = login;
  for (const tab of document.querySelectorAll("#tabs .tab")) tab.onclick = () => show(`${tab.dataset.tab}-view`);
  setInterval(() => {
    tickBars();
    tickCountdowns();
    if (site) document.getElementById("clock").textContent = fmtClock(Date.now());
  }, 1000);
  if (loggedIn()) {
    try { await start(); return; } catch { loggedOut(); return; }
  }
  show("login-view");
}

boot();
