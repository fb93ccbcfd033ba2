"use strict";
// The board's floor-plan tab: draws the site's plan once (GET /api/v1/sites/{id}/plan) and moves
// the dots on every board the live feed delivers (app.js dispatches `custody:board`).
(() => {
  const tabs = document.getElementById("board-tabs");
  if (!tabs) return;
  const site = tabs.dataset.site;
  const T = JSON.parse(document.getElementById("floorplan-i18n").textContent || "{}");
  const L = T.labels || {};
  const word = (msgid) => (msgid && msgid in L ? L[msgid] : msgid || "");
  const cards = document.getElementById("board"), planView = document.getElementById("plan-view");
  const canvas = document.getElementById("plan-canvas"), unplacedList = document.getElementById("plan-unplaced");
  let view = null, latest = null;

  function select(name) {
    const plan = name === "plan";
    cards.hidden = plan;
    planView.hidden = !plan;
    for (const button of tabs.querySelectorAll("[data-view]")) button.setAttribute("aria-selected", String(button.dataset.view === name));
    if (window.location.hash !== (plan ? "#plan" : "") && (plan || window.location.hash)) {
      history.replaceState(null, "", plan ? "#plan" : window.location.pathname + window.location.search);
    }
  }
  tabs.addEventListener("click", (event) => {
    const button = event.target.closest("[data-view]");
    if (button) select(button.dataset.view);
  });
  select(window.location.hash === "#plan" ? "plan" : "cards");

  const zoneLabel = (zone) => `${word(zone.type)} ${zone.id}`;
  const personLabel = (p) => [p.id, word(p.role), p.case ? `${T.case} ${p.case}` : null].filter(Boolean).join(" · ");

  function render(board) {
    latest = board;
    if (view === null) return;
    const people = [];
    for (const zone of board.zones) {
      for (const s of zone.subjects) people.push({ id: s.person, kind: "subject", zone: zone.id, role: s.role, case: s.case });
      for (const s of zone.staff) people.push({ id: s.person, kind: "staff", zone: zone.id, role: s.role });
      // guardians are drawn like staff (a square), labelled with their role
      for (const g of zone.guardians || []) people.push({ id: g.person, kind: "staff", zone: zone.id, role: g.role || "guardian" });
    }
    const alertZones = board.alerts.filter((a) => a.zone && !a.cleared_ts).map((a) => a.zone);
    const unplaced = view.update(people, alertZones);
    for (const s of board.unlocated) unplaced.push({ id: s.person, kind: "subject", zone: null, role: s.role, case: s.case });
    const items = unplaced.map((p) => {
      const li = document.createElement("li");
      li.className = `fp-unplaced ${p.kind}`;
      li.dataset.person = p.id;
      li.textContent = personLabel(p) + (p.zone ? ` (${p.zone}: ${T.zone_not_drawn})` : "");
      return li;
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = T.no_one;
      items.push(li);
    }
    unplacedList.replaceChildren(...items);
  }

  document.addEventListener("custody:board", (event) => render(event.detail));
  const get = (url) => fetch(url, { credentials: "same-origin" }).then((r) => {
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  });
  get(`/api/v1/sites/${encodeURIComponent(site)}/plan`).then((plan) => {
    view = FloorPlan.create(canvas, plan, { zoneLabel, typeLabel: (zone) => word(zone.type), personLabel, title: T.title });
    return latest ? render(latest) : get(`/api/v1/sites/${encodeURIComponent(site)}/board`).then((board) => { if (!latest) render(board); });
  }).catch((error) => { canvas.textContent = `${T.title}: ${error.message}`; });
})();
