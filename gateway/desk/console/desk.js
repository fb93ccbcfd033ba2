// The registration desk: check-in with every legal field, wristband and badge binding at the
// enrolment reader, everyone in the area live, and the actions on a person.
import { api } from "./api.js";
import { banner, clearErrors, requireFields, showErrors, text } from "./forms.js";
import { el, fillSelect, fmtDuration, fmtTime, label, localToMs, msToLocal, t } from "./util.js";

let site = null;
let clockSkew = 0;
let persons = [];
let awaiting = null; // the form whose tag field the next enrolment read fills
let current = null;  // the person shown in the dialog

export function now() { return Date.now() + clockSkew; }

function zoneName(id) {
  if (!id) return null;
  const zone = site.zones.find((z) => z.id === id);
  return zone ? (zone.name || `${label("zone_type", zone.type)} ${zone.id}`) : id;
}

export function initDesk(siteInfo) {
  site = siteInfo;
  clockSkew = site.now - Date.now();
  const checkin = document.getElementById("checkin-form");
  const enrol = document.getElementById("enrol-form");
  for (const select of document.querySelectorAll("#desk-view select[data-vocab]")) {
    fillSelect(select, site.vocab[select.dataset.vocab], select.dataset.vocab);
  }
  fillSelect(enrol.elements.role, [...site.vocab.staff_roles, "guardian"], "roles");
  fillSelect(checkin.elements.basis, site.vocab.bases, "bases");
  if (!checkin.elements.arrived.value) checkin.elements.arrived.value = msToLocal(now());
  const welfare = document.getElementById("welfare-buttons");
  welfare.replaceChildren(...site.vocab.welfare_kinds.map((kind) =>
    el("button", { type: "button", class: "welfare", dataset: { kind }, text: label("welfare_kinds", kind),
                   onclick: () => act("/desk/v1/welfare", { kind }, "welfare.done", { kind: label("welfare_kinds", kind) }) })));
  const enrolReaders = site.readers.filter((r) => r.enrolment).map((r) => r.id);
  for (const form of [checkin, enrol]) {
    const button = form.querySelector(".read-tag");
    button.hidden = enrolReaders.length === 0;
    button.onclick = () => armTag(form);
  }
  checkin.onsubmit = (e) => { e.preventDefault(); submitCheckin(checkin); };
  enrol.onsubmit = (e) => { e.preventDefault(); submitEnrol(enrol); };
  enrol.elements.role.onchange = () => { enrol.elements.for.disabled = enrol.elements.role.value !== "guardian"; };
  enrol.elements.for.disabled = true;
  bindActions();
}

// ---- wristband / badge binding --------------------------------------------------------------------

function armTag(form) {
  for (const f of document.querySelectorAll("form.awaiting-tag")) f.classList.remove("awaiting-tag");
  awaiting = form;
  form.classList.add("awaiting-tag");
  const hint = form.querySelector(".tag-hint");
  hint.textContent = t("tag.present");
  hint.className = "hint tag-hint waiting";
  hint.hidden = false;
  form.elements.tag.focus();
}

export function onEnrolmentRead(message) {
  const form = awaiting || (document.activeElement && document.activeElement.name === "tag" ? document.activeElement.form : null);
  if (!form) return;
  form.elements.tag.value = message.tag;
  form.classList.remove("awaiting-tag");
  awaiting = null;
  const hint = form.querySelector(".tag-hint");
  hint.hidden = false;
  if (message.worn_by) {
    hint.textContent = t("tag.worn", { tag: message.tag, person: message.worn_by });
    hint.className = "hint tag-hint warn";
  } else {
    hint.textContent = t("tag.read_at", { tag: message.tag, reader: message.reader, time: fmtTime(message.ts, false) });
    hint.className = "hint tag-hint ok";
  }
}

// ---- check-in and enrolment -----------------------------------------------------------------------

async function submitCheckin(form) {
  const errors = form.querySelector(".errors");
  const missing = requireFields(form, ["person", "case", "tag"]);
  if (missing) { showErrors(errors, missing, form); return; }
  const body = {
    person: text(form, "person"), role: form.elements.role.value, sex: form.elements.sex.value,
    tag: text(form, "tag"), basis: form.elements.basis.value, case: text(form, "case"),
    extended: form.elements.extended.checked, minor: form.elements.minor.checked,
  };
  for (const key of ["name", "id_card", "guardian"]) if (text(form, key)) body[key] = text(form, key);
  if (text(form, "age") !== undefined) body.age = Number(form.elements.age.value);
  if (form.elements.pregnant.checked) body.pregnant = true;
  const arrived = localToMs(form.elements.arrived.value);
  if (arrived !== null && arrived < now() - 60_000) body.arrived_ts = arrived;
  try {
    await api("POST", "/desk/v1/checkins", body);
    clearErrors(errors, form);
    banner(t("checkin.done", { person: body.person }), "ok");
    form.reset();
    form.elements.arrived.value = msToLocal(now());
    form.querySelector(".tag-hint").hidden = true;
    await refreshPersons();
  } catch (error) {
    showErrors(errors, error, form);
  }
}

async function submitEnrol(form) {
  const errors = form.querySelector(".errors");
  const guardian = form.elements.role.value === "guardian";
  const missing = requireFields(form, guardian ? ["person", "for", "tag"] : ["person", "tag"]);
  if (missing) { showErrors(errors, missing, form); return; }
  const body = { person: text(form, "person"), sex: form.elements.sex.value, tag: text(form, "tag") };
  try {
    if (guardian) await api("POST", "/desk/v1/guardians", { ...body, for: text(form, "for") });
    else await api("POST", "/desk/v1/staff", { ...body, role: form.elements.role.value });
    clearErrors(errors, form);
    banner(t("enrol.done", { person: body.person }), "ok");
    form.reset();
    form.elements.for.disabled = true;
    form.querySelector(".tag-hint").hidden = true;
  } catch (error) {
    showErrors(errors, error, form);
  }
}

// ---- everyone in the area -------------------------------------------------------------------------

export async function refreshPersons() {
  const data = await api("GET", "/desk/v1/persons");
  clockSkew = data.now - Date.now();
  persons = data.persons;
  renderPersons();
  tickBars();
  if (current) {
    const again = persons.find((p) => p.person === current.person);
    if (again) { current = again; renderFacts(); } else document.getElementById("person-dialog").close();
  }
}

function flagsOf(p) {
  const flags = [];
  if (p.flags.minor) flags.push(["minor", t("flag.minor")]);
  if (p.flags.vulnerable) flags.push(["vulnerable", t("flag.vulnerable")]);
  if (p.flags.guardian_present) flags.push(["guardian", t("flag.guardian_present")]);
  if (p.flags.out) flags.push(["out", t("flag.out", { until: fmtTime(p.out.until_ts, false) })]);
  if (p.flags.decided) flags.push(["decided", label("decision_kinds", p.decision.kind)]);
  if (p.extended) flags.push(["extended", t("flag.extended")]);
  return flags;
}

function deadlineOf(p) {
  if (p.decision) return { start: p.decision.ts, end: p.decision.transfer_by_ts, warn: p.decision.transfer_by_ts, transfer: true };
  if (p.deadline_ts === null) return null;
  return { start: p.arrived_ts, end: p.deadline_ts, warn: p.warn_ts, transfer: false };
}

function renderPersons() {
  const list = document.getElementById("persons");
  document.getElementById("persons-count").textContent = String(persons.length);
  document.getElementById("persons-empty").hidden = persons.length > 0;
  list.replaceChildren(...persons.map((p) => {
    const where = p.flags.out ? t("where.out", { reason: label("leave_reasons", p.out.reason), until: fmtTime(p.out.until_ts, false) })
      : p.zone ? zoneName(p.zone) : t("where.unknown");
    const companions = p.companions.length
      ? p.companions.map((c) => `${c.person}（${label("roles", c.role)}）`).join("、") : t("with.nobody");
    return el("li", { class: `person${p.alerts.length ? " has-alerts" : ""}`, dataset: { person: p.person } },
      el("div", { class: "who" },
        el("strong", { class: "pid", text: p.person }),
        p.name ? el("span", { class: "name", text: p.name }) : null,
        el("span", { class: "meta", text: [label("roles", p.role), label("sexes", p.sex),
          p.age !== null && p.age !== undefined ? t("age", { age: p.age }) : null, label("bases", p.basis),
          t("case", { case: p.case })].filter(Boolean).join(" · ") }),
        el("span", { class: "flags" }, ...flagsOf(p).map(([k, txt]) => el("span", { class: `flag flag-${k}`, text: txt })))),
      el("div", { class: "where" }, el("span", { class: "zone", text: where }),
        el("span", { class: "companions", text: `${t("with")}: ${companions}` })),
      bar(p),
      p.alerts.length ? el("ul", { class: "alerts" }, ...p.alerts.map((a) =>
        el("li", { class: `alert sev-${a.severity}`, dataset: { rule: a.rule } },
          label("rules", a.rule), el("time", { text: fmtTime(a.ts, false) })))) : null,
      el("button", { type: "button", class: "open-person", text: t("person.actions"), onclick: () => openPerson(p) }));
  }));
}

function bar(p) {
  const d = deadlineOf(p);
  if (!d) return el("div", { class: "clock" });
  return el("div", { class: "clock", dataset: { start: d.start, end: d.end, warn: d.warn, transfer: d.transfer ? "1" : "" } },
    el("div", { class: "bar" }, el("div", { class: "fill" })),
    el("span", { class: "remaining" }),
    el("span", { class: "limits", text: d.transfer
      ? t("clock.transfer_by", { time: fmtTime(d.end) })
      : t("clock.arrived_deadline", { arrived: fmtTime(d.start), deadline: fmtTime(d.end) }) }));
}

// Once a second, from the browser's clock (no request): bars, colours, time left.
export function tickBars() {
  const at = now();
  for (const clock of document.querySelectorAll(".clock[data-end]")) {
    const start = Number(clock.dataset.start), end = Number(clock.dataset.end), warn = Number(clock.dataset.warn);
    const share = Math.max(0, Math.min(1, (at - start) / Math.max(1, end - start)));
    const fill = clock.querySelector(".fill");
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    const state = at >= end ? "over" : at >= warn ? "warn" : "ok";
    clock.classList.remove("ok", "warn", "over");
    clock.classList.add(state);
    const left = end - at;
    clock.querySelector(".remaining").textContent = left >= 0
      ? t(clock.dataset.transfer ? "clock.transfer_left" : "clock.left", { d: fmtDuration(left) })
      : t("clock.over", { d: fmtDuration(-left) });
  }
}

// ---- actions on a person --------------------------------------------------------------------------

function openPerson(p) {
  current = p;
  const dialog = document.getElementById("person-dialog");
  clearErrors(document.getElementById("pd-errors"));
  renderFacts();
  const tiers = site.tiers_h[p.basis] || [];
  fillSelect(document.querySelector("#act-extend select[name=limit_h]"),
    tiers.map(String), "tiers");
  for (const option of document.querySelectorAll("#act-extend option")) option.textContent = t("hours", { h: option.value });
  document.querySelector("#act-leave input[name=until]").value = msToLocal(now() + 2 * 3_600_000);
  if (!dialog.open) dialog.showModal();
}

function renderFacts() {
  const p = current;
  document.getElementById("pd-title").textContent = `${p.person} · ${label("roles", p.role)}`;
  const facts = [
    ["name", p.name || "—"], ["id_card", maskId(p.id_card)],
    ["case", p.case], ["basis", label("bases", p.basis)], ["arrived", fmtTime(p.arrived_ts)],
    ["deadline", fmtTime(p.deadline_ts)], ["zone", p.zone ? zoneName(p.zone) : t("where.unknown")],
    ["guardian", p.guardian || "—"], ["last_meal", p.last_meal_ts ? fmtTime(p.last_meal_ts) : "—"],
    ["welfare", p.welfare.length ? p.welfare.map((w) => `${fmtTime(w.ts, false)} ${label("welfare_kinds", w.kind)}`).join("、") : "—"],
    ["exits", p.exits.length ? p.exits.map((x) => `${label("leave_reasons", x.reason)} ${fmtTime(x.leave_ts, false)}–${fmtTime(x.return_ts, false)}`).join("、") : "—"],
  ];
  document.getElementById("pd-facts").replaceChildren(...facts.flatMap(([k, v]) => [
    el("dt", { text: t(`f.${k}`) }), el("dd", { text: v, dataset: { fact: k } })]));
  document.getElementById("act-return").hidden = !p.flags.out;
  document.getElementById("act-leave").hidden = p.flags.out;
  document.getElementById("act-extend").hidden = p.flags.vulnerable || p.flags.decided;
}

// An ID card number on screen: the first 6 and last 4 digits (the full number is in the journal).
function maskId(value) {
  if (!value) return "—";
  return value.length > 10 ? `${value.slice(0, 6)}${"*".repeat(value.length - 10)}${value.slice(-4)}` : value;
}

async function act(path, extra, doneKey, doneParams = {}) {
  const errors = document.getElementById("pd-errors");
  try {
    await api("POST", path, { person: current.person, ...extra });
    clearErrors(errors);
    banner(t(doneKey, { person: current.person, ...doneParams }), "ok");
    await refreshPersons();
    return true;
  } catch (error) {
    showErrors(errors, error);
    return false;
  }
}

function bindActions() {
  const form = (id) => document.getElementById(id);
  form("act-extend").onsubmit = async (e) => {
    e.preventDefault();
    const f = e.target;
    const missing = requireFields(f, ["approver"]);
    if (missing) { showErrors(form("pd-errors"), missing); return; }
    if (await act("/desk/v1/extensions", { limit_h: Number(f.elements.limit_h.value), approved_by: text(f, "approver") },
                  "extend.done")) f.elements.approver.value = "";
  };
  form("act-leave").onsubmit = async (e) => {
    e.preventDefault();
    const f = e.target;
    const missing = requireFields(f, ["approved_by", "until"]);
    if (missing) { showErrors(form("pd-errors"), missing); return; }
    if (await act("/desk/v1/leaves", { reason: f.elements.reason.value, until_ts: localToMs(f.elements.until.value),
                                       approved_by: text(f, "approved_by") }, "leave.done")) f.elements.approved_by.value = "";
  };
  form("act-return").onsubmit = async (e) => { e.preventDefault(); await act("/desk/v1/returns", {}, "return.done"); };
  form("act-decision").onsubmit = async (e) => {
    e.preventDefault();
    await act("/desk/v1/decisions", { kind: e.target.elements.kind.value }, "decision.done");
  };
  form("act-checkout").onsubmit = async (e) => {
    e.preventDefault();
    const f = e.target;
    const body = { outcome: f.elements.outcome.value, belongings: f.elements.belongings.value };
    if (text(f, "released_to")) body.released_to = text(f, "released_to");
    if (text(f, "belongings_reason")) body.belongings_reason = text(f, "belongings_reason");
    if (await act("/desk/v1/checkouts", body, "checkout.done")) {
      f.reset();
      document.getElementById("person-dialog").close();
    }
  };
  document.getElementById("person-dialog").onclose = () => { current = null; };
}
