// The property room: intake (label, proposed slot, record, open), the ledger as the banks look,
// work orders requested by one custodian and approved by another, opening slots, seizures
// awaiting intake with their 24 h countdown, items out and overdue.
import { api } from "./api.js";
import { banner, clearErrors, field, requireFields, showErrors, text } from "./forms.js";
import { now } from "./desk.js";
import { el, fillSelect, fmtDuration, fmtTime, label, localToMs, t } from "./util.js";

let site = null;
let me = null;
let ledger = null;
let selected = null; // "bank/slot" shown in the slot panel

export function initProperty(siteInfo, user) {
  site = siteInfo;
  me = user;
  const intake = document.getElementById("intake-form");
  const order = document.getElementById("order-form");
  const banks = site.banks.map((b) => b.id);
  for (const form of [intake, order]) {
    form.elements.bank.replaceChildren(...banks.map((b) => el("option", { value: b, text: b })));
  }
  fillSelect(order.elements.action, site.vocab.workorder_actions, "workorder_actions");
  // Handlers as properties: initProperty runs again on a language switch and must not add twice.
  field(intake, "owner").onchange = () => propose(intake, true);
  field(intake, "bank").onchange = () => propose(intake, false);
  field(intake, "item").onkeydown = (e) => {
    if (e.key === "Enter") { e.preventDefault(); field(intake, "case").focus(); } // a label scanner types + Enter
  };
  intake.onsubmit = (e) => { e.preventDefault(); submitIntake(intake); };
  field(order, "item").onchange = () => fillFromItem(order);
  order.onsubmit = (e) => { e.preventDefault(); submitOrder(order); };
  const seizure = document.getElementById("seizure-form");
  seizure.onsubmit = (e) => { e.preventDefault(); submitSeizure(seizure); };
  document.getElementById("slot-unlock").onclick = () => selected && unlock(selected, document.getElementById("slot-errors"));
  propose(intake, true);
}

async function propose(form, pickBank) {
  const owner = Boolean(text(form, "owner"));
  const query = new URLSearchParams({ owner: String(owner) });
  if (!pickBank) query.set("bank", form.elements.bank.value);
  try {
    const proposal = await api("GET", `/desk/v1/intake-slot?${query}`);
    if (proposal.bank) {
      form.elements.bank.value = proposal.bank;
      form.elements.slot.value = proposal.slot;
    } else {
      form.elements.slot.value = "";
      banner(t("intake.no_empty"), "warn");
    }
  } catch (error) {
    showErrors(form.querySelector(".errors"), error, form);
  }
}

async function submitIntake(form) {
  const errors = form.querySelector(".errors");
  const missing = requireFields(form, ["item", "case", "slot"]);
  if (missing) { showErrors(errors, missing, form); return; }
  const body = { item: text(form, "item"), case: text(form, "case"), bank: form.elements.bank.value,
                 slot: Number(form.elements.slot.value) };
  if (text(form, "owner")) body.owner = text(form, "owner");
  const seized = localToMs(form.elements.seized.value);
  if (seized !== null) body.seized_ts = seized;
  try {
    await api("POST", "/desk/v1/intakes", body);
    clearErrors(errors, form);
    banner(t("intake.done", { item: body.item, slot: `${body.bank}/${body.slot}` }), "ok");
    selectSlot(`${body.bank}/${body.slot}`);
    await unlock(`${body.bank}/${body.slot}`, errors);
    form.reset();
    await propose(form, true);
  } catch (error) {
    showErrors(errors, error, form);
  }
  await refreshLedger();
}

async function unlock(key, errors) {
  const [bank, slot] = key.split("/");
  try {
    await api("POST", `/desk/v1/slots/${encodeURIComponent(bank)}/${encodeURIComponent(slot)}/unlock`);
    clearErrors(errors);
    banner(t("slot.unlocked", { slot: key }), "ok");
  } catch (error) {
    showErrors(errors, error);
    banner(t("slot.refused", { slot: key }), "warn");
  }
  await refreshLedger();
}

function fillFromItem(form) {
  if (!ledger) return;
  for (const bank of ledger.banks) {
    for (const slot of bank.slots) {
      if (slot.items.some((i) => i.item === text(form, "item"))) {
        form.elements.bank.value = bank.id;
        form.elements.slot.value = slot.slot;
        return;
      }
    }
  }
  const out = ledger.out.find((i) => i.item === text(form, "item"));
  if (out && out.slot_key) {
    const [bank, slot] = out.slot_key.split("/");
    form.elements.bank.value = bank;
    form.elements.slot.value = slot;
    form.elements.action.value = "return";
  }
}

async function submitOrder(form) {
  const errors = form.querySelector(".errors");
  const missing = requireFields(form, ["item", "slot"]);
  if (missing) { showErrors(errors, missing, form); return; }
  const body = { item: text(form, "item"), action: form.elements.action.value, bank: form.elements.bank.value,
                 slot: Number(form.elements.slot.value) };
  const due = localToMs(form.elements.due.value);
  if (due !== null) body.due_ts = due;
  try {
    const made = await api("POST", "/desk/v1/workorders/requests", body);
    clearErrors(errors, form);
    banner(t("order.requested", { id: made.id }), "ok");
    form.reset();
  } catch (error) {
    showErrors(errors, error, form);
  }
  await refreshLedger();
}

async function submitSeizure(form) {
  const errors = form.querySelector(".errors");
  const missing = requireFields(form, ["item", "case"]);
  if (missing) { showErrors(errors, missing, form); return; }
  const body = { item: text(form, "item"), case: text(form, "case") };
  const seized = localToMs(form.elements.seized.value);
  if (seized !== null) body.seized_ts = seized;
  try {
    await api("POST", "/desk/v1/seizures", body);
    clearErrors(errors, form);
    banner(t("seizure.done", { item: body.item }), "ok");
    form.reset();
  } catch (error) {
    showErrors(errors, error, form);
  }
  await refreshLedger();
}

// ---- the ledger -------------------------------------------------------------------------------------

export async function refreshLedger() {
  ledger = await api("GET", "/desk/v1/ledger");
  renderBanks();
  renderSlot();
  renderOrders();
  renderSeizures();
  renderOut();
  tickCountdowns();
  const items = new Set();
  for (const bank of ledger.banks) for (const slot of bank.slots) for (const i of slot.items) items.add(i.item);
  for (const i of ledger.out) items.add(i.item);
  document.getElementById("known-items").replaceChildren(...[...items].sort().map((i) => el("option", { value: i })));
}

function renderBanks() {
  document.getElementById("banks").replaceChildren(...ledger.banks.map((bank) =>
    el("section", { class: "bank", dataset: { bank: bank.id } },
      el("h3", { text: `${bank.id}${bank.zone_type ? ` · ${label("zone_type", bank.zone_type)}` : ""}` }),
      el("div", { class: "slots" }, ...bank.slots.map((slot) => {
        const key = `${bank.id}/${slot.slot}`;
        return el("button", {
          type: "button", class: `slot status-${slot.status}${selected === key ? " selected" : ""}`,
          dataset: { slot: key, status: slot.status }, title: `${key} · ${t(`slot.${slot.status}`)}`,
          onclick: () => selectSlot(key),
        }, el("span", { class: "n", text: String(slot.slot) }),
        el("span", { class: "c", text: slot.items.length ? String(slot.items.length) : "" }));
      })))));
}

function selectSlot(key) {
  selected = key;
  clearErrors(document.getElementById("slot-errors"));
  if (ledger) { renderBanks(); renderSlot(); }
}

function findSlot(key) {
  const [bankId, n] = key.split("/");
  const bank = ledger.banks.find((b) => b.id === bankId);
  return bank ? bank.slots.find((s) => s.slot === Number(n)) : null;
}

function renderSlot() {
  const panel = document.getElementById("slot-panel");
  if (!selected || !ledger) { panel.hidden = true; return; }
  const slot = findSlot(selected);
  if (!slot) { panel.hidden = true; return; }
  panel.hidden = false;
  panel.dataset.slot = selected;
  panel.dataset.state = slot.state;
  document.getElementById("slot-title").textContent = t("slot.title", { slot: selected });
  const cover = slot.coverage
    ? t(slot.coverage.by === "intake" ? "cover.intake" : "cover.order",
        { id: slot.coverage.workorder || "", until: fmtTime(slot.coverage.until_ts, false) })
    : t("cover.none");
  const board = slot.board ? t(slot.board.online ? "board.online" : "board.offline", { id: slot.board.id }) : t("board.none");
  document.getElementById("slot-state").replaceChildren(
    el("span", { class: `door door-${slot.state}`, text: t(`door.${slot.state}`) }), " · ", cover, " · ", board,
    ...(slot.sensed ? [el("span", { class: "sensed", text: ` · ${t("slot.sensed", { items: slot.sensed.join("、") || "—" })}` })] : []));
  document.getElementById("slot-items").replaceChildren(...(slot.items.length ? slot.items.map((i) =>
    el("li", { dataset: { item: i.item } }, el("strong", { text: i.item }),
      ` · ${t("case", { case: i.case || "—" })}`, i.owner ? ` · ${t("owner", { owner: i.owner })}` : "",
      i.intake_ts ? ` · ${t("intake.at", { time: fmtTime(i.intake_ts) })}` : "")) : [el("li", { class: "empty", text: t("slot.no_items") })]));
  document.getElementById("slot-history").replaceChildren(...slot.history.slice().reverse().map((h) =>
    el("li", {}, el("time", { text: fmtTime(h.ts) }), " ", historyText(h))));
}

function historyText(h) {
  switch (h.event) {
    case "intake": return t("hist.intake", { item: h.item, by: h.by || "—" });
    case "workorder": return t("hist.workorder", { id: h.workorder, action: label("workorder_actions", h.action), item: h.item });
    case "unlock": return t("hist.unlock", { by: h.by || "—" });
    case "open": return t("hist.open");
    case "closed": return h.items ? t("hist.closed_items", { items: h.items.join("、") || "—" }) : t("hist.closed");
    case "alert": return t("hist.alert", { rule: label("rules", h.rule) });
    default: return h.event;
  }
}

function renderOrders() {
  const rows = [];
  for (const r of ledger.requests) {
    const own = r.requested_by === me.username;
    rows.push(el("tr", { class: "request", dataset: { request: r.id } },
      el("td", { text: r.id }), el("td", { text: r.item }), el("td", { text: label("workorder_actions", r.action) }),
      el("td", { text: `${r.bank}/${r.slot}` }), el("td", { text: r.requested_by }),
      el("td", { text: t("order.pending") }),
      el("td", {}, el("button", { type: "button", class: "approve", text: t("order.approve"), title: own ? t("order.own") : null,
                                  onclick: () => approve(r.id) }),
        own ? el("button", { type: "button", class: "cancel", text: t("order.cancel"), onclick: () => cancel(r.id) }) : null)));
  }
  for (const o of ledger.orders) {
    const at = now();
    const active = o.authorised && !o.done_ts && o.valid_from <= at && at <= o.valid_until;
    const status = o.done_ts ? t("order.done", { time: fmtTime(o.done_ts, false) })
      : !o.authorised ? t("order.unapproved")
      : active ? t("order.active", { until: fmtTime(o.valid_until, false) }) : t("order.expired");
    rows.push(el("tr", { class: "order", dataset: { order: o.id } },
      el("td", { text: o.id }), el("td", { text: o.item }), el("td", { text: label("workorder_actions", o.action) }),
      el("td", { text: `${o.bank}/${o.slot}` }),
      el("td", { text: o.approved_by ? `${o.requested_by || o.by || "—"} → ${o.approved_by}` : (o.requested_by || o.by || "—") }),
      el("td", { text: status }),
      el("td", {}, active ? el("button", { type: "button", class: "open-slot primary", text: t("slot.unlock"),
        onclick: () => { selectSlot(`${o.bank}/${o.slot}`); unlock(`${o.bank}/${o.slot}`, document.getElementById("orders-errors")); } }) : null)));
  }
  document.getElementById("orders").replaceChildren(...rows);
}

async function approve(id) {
  const errors = document.getElementById("orders-errors");
  try {
    await api("POST", `/desk/v1/workorders/requests/${encodeURIComponent(id)}/approve`);
    clearErrors(errors);
    banner(t("order.approved", { id }), "ok");
  } catch (error) {
    showErrors(errors, error);
  }
  await refreshLedger();
}

async function cancel(id) {
  const errors = document.getElementById("orders-errors");
  try {
    await api("DELETE", `/desk/v1/workorders/requests/${encodeURIComponent(id)}`);
    clearErrors(errors);
  } catch (error) {
    showErrors(errors, error);
  }
  await refreshLedger();
}

function renderSeizures() {
  document.getElementById("seizures-empty").hidden = ledger.seizures.length > 0;
  document.getElementById("seizures").replaceChildren(...ledger.seizures.map((s) =>
    el("li", { class: s.overdue ? "overdue" : "", dataset: { item: s.item } },
      el("strong", { text: s.item }), ` · ${t("case", { case: s.case })} · ${t("seizure.by", { by: s.by || "—", time: fmtTime(s.seized_ts) })} · `,
      el("span", { class: "countdown", dataset: { end: s.deadline_ts } }))));
}

function renderOut() {
  const overdue = new Set(ledger.overdue.map((i) => i.item));
  document.getElementById("out-empty").hidden = ledger.out.length > 0;
  document.getElementById("out-items").replaceChildren(...ledger.out.map((i) =>
    el("li", { class: overdue.has(i.item) ? "overdue" : "", dataset: { item: i.item } },
      el("strong", { text: i.item }), ` · ${t("case", { case: i.case || "—" })} · ${i.slot_key} · `,
      i.due_ts ? el("span", { class: "countdown", dataset: { end: i.due_ts } }) : t("out.no_due"))));
}

export function tickCountdowns() {
  const at = now();
  for (const node of document.querySelectorAll("#property-view .countdown[data-end]")) {
    const left = Number(node.dataset.end) - at;
    node.textContent = left >= 0 ? t("due.left", { d: fmtDuration(left) }) : t("due.over", { d: fmtDuration(-left) });
    node.classList.toggle("over", left < 0);
  }
}

export function onLocker(change) {
  const key = `${change.bank}/${change.slot}`;
  if (change.state === "open") banner(t("slot.now_open", { slot: key }), "info");
  else banner(change.items ? t("slot.now_closed_items", { slot: key, items: change.items.join("、") || "—" })
                           : t("slot.now_closed", { slot: key }), "info");
}
