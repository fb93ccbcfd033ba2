// The desk console's floor-plan tab: the site's plan (GET /desk/v1/plan, fetched once) drawn by
// floorplan.js (the global FloorPlan, a copy of the center's renderer), with everyone located as a
// dot (subjects circles, staff and guardians squares) and the zones of open alerts highlighted.
// The people are the people list's own data (/desk/v1/persons) plus the enrolled staff
// (/desk/v1/people), reloaded on the live feed's `changed.persons` like the list.
import { api } from "./api.js";
import { el, label, t } from "./util.js";

let site = null;
let view = null;
let drawing = null;  // the one fetch of the plan under way

function zoneName(zone) {
  const known = site ? site.zones.find((z) => z.id === zone.id) : null;
  return known && known.name ? known.name : `${label("zone_type", zone.type)} ${zone.id}`;
}

function personLabel(p) {
  return [p.id, p.name, label("roles", p.role), p.case ? t("case", { case: p.case }) : null].filter(Boolean).join(" · ");
}

export function initPlan(siteInfo) {
  site = siteInfo;
  // Drawn again on the next refresh (in the current language).
  view = null;
}

export function planShown() {
  return !document.getElementById("plan-view").hidden;
}

async function draw() {
  const canvas = document.getElementById("plan-canvas");
  try {
    const plan = await api("GET", "/desk/v1/plan");
    // FloorPlan: the `const` floorplan.js (a classic script loaded before this module) declares globally
    view = FloorPlan.create(canvas, plan, {
      zoneLabel: zoneName, typeLabel: (zone) => label("zone_type", zone.type), personLabel, title: t("plan.title"),
    });
  } catch (error) {
    canvas.replaceChildren(el("p", { class: "error", text: t("plan.failed", { error: String(error.message || error) }) }));
  }
}

export async function refreshPlan() {
  if (view === null) {
    drawing = drawing || draw().finally(() => { drawing = null; });
    await drawing;
  }
  if (view === null) return;
  const [persons, people] = await Promise.all([api("GET", "/desk/v1/persons"), api("GET", "/desk/v1/people")]);
  const dots = [];
  const alertZones = new Set();
  for (const p of persons.persons) {
    // someone out on a temporary exit has no zone: listed beside the plan, not drawn
    dots.push({ id: p.person, kind: "subject", zone: p.zone, name: p.name, role: p.role, case: p.case, out: p.flags.out });
    for (const a of p.alerts) if (a.zone) alertZones.add(a.zone);
  }
  for (const p of people.people) {
    if (p.zone) dots.push({ id: p.person, kind: "staff", zone: p.zone, role: p.role });
  }
  const unplaced = view.update(dots, [...alertZones]);
  const items = unplaced.map((p) => el("li", {
    class: `fp-unplaced ${p.kind}`, dataset: { person: p.id },
    text: `${personLabel(p)} — ${p.out ? t("plan.out") : p.zone ? t("plan.zone_not_drawn", { zone: p.zone }) : t("where.unknown")}`,
  }));
  if (!items.length) items.push(el("li", { class: "empty", text: t("plan.nobody") }));
  document.getElementById("plan-unplaced").replaceChildren(...items);
}
