"use strict";
// Floor plan renderer: a site's plan (the JSON of GET /api/v1/sites/{id}/plan, made by
// core_ext/layout.py) with people as dots, and a track playback over a subject's trail.
// Standalone: no other script needed, no markup from data (createElementNS + textContent only),
// nothing inline, so it runs under `script-src 'self'` and can be copied as is to another console.
// One renderer, two copies: server/static/floorplan.js (the center) is the original and
// gateway/desk/console/floorplan.js (the gateway's desk console, which may not import server/) is a
// byte-for-byte copy; tests/gateway/test_console_assets.py fails if they differ. Edit the original, copy it.
//
//   const view = FloorPlan.create(svgParent, plan, { zoneLabel, typeLabel, personLabel, title });
//   const unplaced = view.update(people, alertZoneIds);  // people: [{id, kind: "subject"|"staff", zone, label?}]
//   FloorPlan.positionsAt(trail, t)    // who is where at t by the trail's stays (mirrors server/web/floorplan.py)
//   FloorPlan.dotPoints(zone, n)       // n dot centres inside a plan zone (mirrors server/web/floorplan.py)
//   FloorPlan.playback(root, data, strings)  // slider + play (1×, 10×, 60×) over a trail
const FloorPlan = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const DOT_SPACING_M = 0.8, LABEL_GAP_M = 1.1, DOT_R = 0.32;

  function el(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const title = (text) => el("title", {}, text);

  // --- geometry (mirrors core_ext/geometry.py contains / edge_distance) ------------------
  function contains(points, x, y) {
    let inside = false;
    for (let i = 0; i < points.length; i++) {
      const [x1, y1] = points[i], [x2, y2] = points[(i + 1) % points.length];
      if ((y1 > y) !== (y2 > y) && x < ((x2 - x1) * (y - y1)) / (y2 - y1) + x1) inside = !inside;
    }
    return inside;
  }

  function edgeDistance(points, x, y) {
    let best = Infinity;
    for (let i = 0; i < points.length; i++) {
      const [x1, y1] = points[i], [x2, y2] = points[(i + 1) % points.length];
      const dx = x2 - x1, dy = y2 - y1, length2 = dx * dx + dy * dy;
      const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / length2));
      const px = x1 + t * dx - x, py = y1 + t * dy - y;
      best = Math.min(best, Math.sqrt(px * px + py * py));
    }
    return best;
  }

  const round3 = (v) => Math.round(v * 1000) / 1000;

  // The middle of the longest stretch of wall two outlines share, with the wall's unit normal.
  function sharedWall(a, b) {
    let best = null, bestLength = 1e-6;
    for (let i = 0; i < a.length; i++) {
      const [x1, y1] = a[i], [x2, y2] = a[(i + 1) % a.length];
      const len = Math.hypot(x2 - x1, y2 - y1);
      if (len === 0) continue;
      const ux = (x2 - x1) / len, uy = (y2 - y1) / len;
      for (let j = 0; j < b.length; j++) {
        const p = b[j], q = b[(j + 1) % b.length];
        const off = (px, py) => (px - x1) * -uy + (py - y1) * ux;  // distance from a's edge line
        if (Math.abs(off(p[0], p[1])) > 1e-6 || Math.abs(off(q[0], q[1])) > 1e-6) continue;
        const along = (px, py) => (px - x1) * ux + (py - y1) * uy;
        const lo = Math.max(0, Math.min(along(p[0], p[1]), along(q[0], q[1])));
        const hi = Math.min(len, Math.max(along(p[0], p[1]), along(q[0], q[1])));
        if (hi - lo > bestLength) {
          bestLength = hi - lo;
          const mid = (lo + hi) / 2;
          best = [x1 + ux * mid, y1 + uy * mid, -uy, ux];
        }
      }
    }
    return best;
  }

  function dotPoints(zone, n, spacing) {
    if (n <= 0) return [];
    const pts = zone.points, [lx, ly] = zone.label;
    const ax = lx, ay = ly + LABEL_GAP_M;
    const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
    const size = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    let step = spacing || DOT_SPACING_M;
    for (let round = 0; round < 3; round++) {
      const reach = Math.min(60, Math.ceil(size / step) + 1);
      const candidates = [];
      for (let j = -reach; j <= reach; j++) {
        for (let i = -reach; i <= reach; i++) {
          const x = ax + i * step, y = ay + j * step;
          // rows at and below the anchor first (above it sits the label), then nearest first
          if (contains(pts, x, y) && edgeDistance(pts, x, y) >= step * 0.45) candidates.push([j < 0 ? 1 : 0, i * i + j * j, j, i, x, y]);
        }
      }
      if (candidates.length >= n) {
        candidates.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3]);
        return candidates.slice(0, n).map((c) => [round3(c[4]), round3(c[5])]);
      }
      step /= 2;
    }
    return Array.from({ length: n }, () => [lx, ly]);
  }

  // --- who is where at t (mirrors server/web/floorplan.py positions_at) -----------------
  function positionsAt(trail, t) {
    const stays = trail.stays || [];
    const start = trail.checkin_ts !== null && trail.checkin_ts !== undefined ? trail.checkin_ts
      : stays.length ? Math.min(...stays.map((s) => s.enter_ts)) : null;
    if (start === null || t < start || (trail.checkout_ts !== null && trail.checkout_ts !== undefined && t >= trail.checkout_ts)) return [];
    let current = null;
    for (const stay of stays) {
      if (stay.enter_ts <= t && (stay.leave_ts === null || stay.leave_ts === undefined || t < stay.leave_ts)) current = stay;
    }
    const out = [{ id: trail.person, kind: "subject", zone: current ? current.zone : null }];
    if (current && current.zone !== null) {
      for (const officer of [...(current.officers || [])].sort()) out.push({ id: officer, kind: "staff", zone: current.zone });
    }
    return out;
  }

  // --- the plan ------------------------------------------------------------------------
  function create(parent, plan, options) {
    const opts = options || {};
    const zoneLabel = opts.zoneLabel || ((zone) => zone.id);
    const personLabel = opts.personLabel || ((person) => person.id);
    const [x0, y0, x1, y1] = plan.bounds, margin = 1;
    const svg = el("svg", {
      class: "floorplan", viewBox: `${x0 - margin} ${y0 - margin} ${x1 - x0 + 2 * margin} ${y1 - y0 + 2 * margin}`,
      role: "img", "aria-label": opts.title || "",
      preserveAspectRatio: "xMidYMid meet",
    });
    svg.append(el("defs", {}, el("marker", { id: `fp-arrow-${plan.zones.length}`, class: "fp-arrowhead", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse" },
      el("path", { d: "M0 0 L10 5 L0 10 z" }))));
    const zonesById = {};
    const zoneNodes = {};
    const zoneLayer = el("g", { class: "fp-zones" });
    for (const zone of plan.zones) {
      zonesById[zone.id] = zone;
      const label = zoneLabel(zone);
      const shape = el("polygon", { class: `fp-zone type-${zone.type || "unknown"}`, points: zone.points.map((p) => p.join(",")).join(" "), "data-zone": zone.id }, title(label));
      zoneNodes[zone.id] = shape;
      zoneLayer.append(shape);
      const [lx, ly] = zone.label;
      // two lines: the zone type's word in the page's language, then the zone id
      const typeWord = opts.typeLabel ? opts.typeLabel(zone) : "";
      zoneLayer.append(el("text", { class: "fp-label", x: lx, y: ly - 0.25, "text-anchor": "middle", "data-zone": zone.id }, title(label),
        typeWord ? el("tspan", { x: lx, class: "fp-type" }, typeWord) : null,
        el("tspan", { x: lx, dy: typeWord ? "1.1em" : null, class: "fp-id" }, zone.id)));
    }
    svg.append(zoneLayer);
    // one-way steps of the flow: an arrow across the wall the two zones share (two-way steps and
    // zones that share no wall get none; they would only add clutter)
    const flow = plan.flow || [], pairs = new Set(flow.map(([a, b]) => `${a}\u0000${b}`));
    const arrows = el("g", { class: "fp-flow" });
    for (const [a, b] of flow) {
      if (pairs.has(`${b}\u0000${a}`) || !zonesById[a] || !zonesById[b]) continue;
      const wall = sharedWall(zonesById[a].points, zonesById[b].points);
      if (!wall) continue;
      const [mx, my, nx, ny] = wall, [ax, ay] = zonesById[a].label;
      const sign = (ax - mx) * nx + (ay - my) * ny > 0 ? -1 : 1;  // point away from a, into b
      arrows.append(el("line", { x1: mx - sign * nx * 0.7, y1: my - sign * ny * 0.7, x2: mx + sign * nx * 0.7, y2: my + sign * ny * 0.7,
        "marker-end": `url(#fp-arrow-${plan.zones.length})`, "data-flow": `${a}>${b}` }));
    }
    svg.append(arrows);
    const marks = el("g", { class: "fp-marks" });
    for (const door of plan.doors || []) {
      marks.append(el("rect", { class: "fp-door", x: door.at[0] - 0.3, y: door.at[1] - 0.3, width: 0.6, height: 0.6, "data-door": door.id }, title(door.id)));
    }
    for (const bank of plan.lockers || []) {
      marks.append(el("rect", { class: "fp-locker", x: bank.at[0] - 0.6, y: bank.at[1] - 0.25, width: 1.2, height: 0.5, "data-locker": bank.id }, title(bank.id)));
    }
    svg.append(marks);
    const peopleLayer = el("g", { class: "fp-people" });
    svg.append(peopleLayer);
    // <title> shows on hover; a tap or keyboard focus shows the same label under the plan
    const caption = document.createElement("p");
    caption.className = "fp-caption";
    caption.setAttribute("aria-live", "polite");
    const describe = (event) => {
      const dot = event.target.closest ? event.target.closest(".fp-dot, .fp-zone") : null;
      if (dot) caption.textContent = dot.querySelector("title") ? dot.querySelector("title").textContent : "";
    };
    svg.addEventListener("click", describe);
    svg.addEventListener("focusin", describe);
    parent.replaceChildren(svg, caption);

    function update(people, alertZones) {
      const alerting = new Set(alertZones || []);
      for (const [id, node] of Object.entries(zoneNodes)) node.classList.toggle("fp-alert", alerting.has(id));
      const byZone = new Map(), unplaced = [];
      for (const person of people) {
        if (person.zone !== null && person.zone !== undefined && zonesById[person.zone]) {
          if (!byZone.has(person.zone)) byZone.set(person.zone, []);
          byZone.get(person.zone).push(person);
        } else unplaced.push(person);
      }
      const dots = [];
      for (const zoneId of [...byZone.keys()].sort()) {
        const group = byZone.get(zoneId).sort((a, b) => (a.kind !== "subject") - (b.kind !== "subject") || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const points = dotPoints(zonesById[zoneId], group.length);
        group.forEach((person, i) => {
          const [x, y] = points[i];
          const attrs = { "data-person": person.id, "data-zone": zoneId, "data-kind": person.kind, tabindex: 0 };
          // subjects are circles, staff squares: told apart by shape as well as colour
          const shape = person.kind === "subject"
            ? el("circle", { class: "fp-dot fp-subject", cx: x, cy: y, r: DOT_R, ...attrs }, title(personLabel(person)))
            : el("rect", { class: "fp-dot fp-staff", x: x - DOT_R * 0.85, y: y - DOT_R * 0.85, width: DOT_R * 1.7, height: DOT_R * 1.7, ...attrs }, title(personLabel(person)));
          dots.push(shape);
        });
      }
      peopleLayer.replaceChildren(...dots);
      return unplaced;
    }
    return { svg, update };
  }

  // --- track playback --------------------------------------------------------------------
  // data: {plan, trail: {person, checkin_ts, checkout_ts, stays, alerts}, start_ts, end_ts, timezone}
  // strings: {zoneLabel(zone), personLabel(person), formatTs(ms), ruleLabel(rule), unknown, unrecorded, play, pause}
  function playback(root, data, strings) {
    const S = strings;
    const start = data.start_ts, end = Math.max(data.end_ts, data.start_ts + 1000);
    const view = create(root.querySelector(".pb-plan"), data.plan, { zoneLabel: S.zoneLabel, typeLabel: S.typeLabel, personLabel: S.personLabel, title: S.title });
    const slider = root.querySelector(".pb-slider"), button = root.querySelector(".pb-play");
    const speedSelect = root.querySelector(".pb-speed"), clock = root.querySelector(".pb-time");
    const where = root.querySelector(".pb-where"), track = root.querySelector(".pb-track");
    slider.min = String(start);
    slider.max = String(end);
    slider.step = "1000";
    slider.value = String(start);
    // marks along the slider: each stay, the time it went unrecorded, each alert
    const width = 1000, x = (ts) => ((Math.min(Math.max(ts, start), end) - start) / (end - start)) * width;
    const marks = el("svg", { class: "pb-marks", viewBox: `0 0 ${width} 24`, preserveAspectRatio: "none", role: "img" });
    for (const stay of data.trail.stays || []) {
      const x1 = x(stay.enter_ts), x2 = x(stay.leave_ts === null || stay.leave_ts === undefined ? end : stay.leave_ts);
      const label = `${stay.zone === null ? S.unknown : S.zoneLabel({ id: stay.zone, type: stay.zone_type })}: ${S.formatTs(stay.enter_ts)}`;
      marks.append(el("rect", { class: `pb-stay${stay.zone === null ? " pb-unknown" : ""}`, x: x1, y: 2, width: Math.max(1, x2 - x1), height: 10, "data-enter": stay.enter_ts }, title(label)));
      if (stay.unrecorded_ms) {
        // the trail keeps how long a stay went unrecorded, not when: the whole stay is marked
        marks.append(el("rect", { class: "pb-gap", x: x1, y: 12, width: Math.max(2, x2 - x1), height: 4, "data-unrecorded": stay.unrecorded_ms },
          title(`${S.unrecorded}: ${S.formatDuration(stay.unrecorded_ms)}`)));
      }
    }
    for (const alert of data.trail.alerts || []) {
      const ax = x(alert.raised_ts);
      marks.append(el("path", { class: "pb-alert", d: `M${ax} 16 l-6 8 h12 z`, "data-rule": alert.rule, "data-ts": alert.raised_ts },
        title(`${S.ruleLabel(alert.rule)} ${S.formatTs(alert.raised_ts)}`)));
    }
    track.replaceChildren(marks);

    function show(t) {
      const people = positionsAt(data.trail, t);
      const alertZones = (data.trail.alerts || []).filter((a) => a.zone && a.raised_ts <= t && (a.cleared_ts === null || a.cleared_ts === undefined || t < a.cleared_ts)).map((a) => a.zone);
      const unplaced = view.update(people, alertZones);
      clock.textContent = S.formatTs(t);
      root.dataset.t = String(t);
      const subject = people.find((p) => p.kind === "subject");
      where.textContent = !subject ? S.absent : subject.zone === null ? S.unknown
        : `${S.zoneLabel({ id: subject.zone, type: (data.plan.zones.find((z) => z.id === subject.zone) || {}).type })}${unplaced.length ? ` (${S.unknown})` : ""}`;
    }
    let timer = null, last = 0;
    function stop() { if (timer !== null) { clearInterval(timer); timer = null; } button.textContent = S.play; button.setAttribute("aria-pressed", "false"); }
    function play() {
      if (Number(slider.value) >= end) slider.value = String(start);
      last = performance.now();
      timer = setInterval(() => {
        const now = performance.now(), speed = Number(speedSelect.value) || 1;
        const t = Math.min(end, Number(slider.value) + (now - last) * speed);
        last = now;
        slider.value = String(t);
        show(Number(slider.value));
        if (t >= end) stop();
      }, 100);
      button.textContent = S.pause;
      button.setAttribute("aria-pressed", "true");
    }
    button.addEventListener("click", () => (timer === null ? play() : stop()));
    slider.addEventListener("input", () => show(Number(slider.value)));
    show(start);
    return { show, play, stop, view };
  }

  return { create, update: null, positionsAt, dotPoints, contains, playback };
})();
