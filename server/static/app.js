"use strict";
// The center's pages: live board, overview, alert queue. No build step, no framework.
// Data carries times as epoch ms; formatTs/formatDuration below are the only formatters.
const Custody = (() => {
  const T = JSON.parse(document.getElementById("i18n").textContent || "{}");
  const LABELS = T.labels || {};
  // Page strings by key, then run-time words (rule ids, roles, zone types, states) by msgid.
  const t = (key) => (key in T && typeof T[key] === "string" ? T[key] : key in LABELS ? LABELS[key] : key);
  // A second-layer value by its field (server/web/labels.py SECOND_LAYER): word("outcome", "released").
  const word = (field, value) => (value === null || value === undefined ? t("none") : LABELS[`${field}:${value}`] || value);
  // The duration patterns come from the catalogue (core_ext/i18n/formatting.py uses the same ones).
  const fill = (pattern, values) => pattern.replace(/%\((\w+)\)d/g, (_, name) => String(values[name]));

  // Site wall time as `2026-11-21 14:05:09` (or `14:05` for chart ticks), like format_ts on the server.
  function formatTs(ms, tz, style) {
    if (ms === null || ms === undefined || ms === "" || ms === "None") return t("none");
    const opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    opts.timeZone = tz || "Asia/Shanghai";  // the default site time zone (core_ext/i18n/formatting.py)
    const parts = {};
    for (const part of new Intl.DateTimeFormat("en-US", opts).formatToParts(new Date(Number(ms)))) parts[part.type] = part.value;
    if (style === "time") return `${parts.hour}:${parts.minute}`;
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
  }

  function formatDuration(ms) {
    if (ms === null || ms === undefined || ms === "" || ms === "None") return t("none");
    const total = Math.floor(Math.abs(Number(ms)) / 1000);
    const hours = Math.floor(total / 3600), minutes = Math.floor((total % 3600) / 60), seconds = total % 60;
    const body = hours > 0 ? fill(LABELS.duration_hm, { hours, minutes })
      : fill(LABELS.duration_ms, { minutes, seconds });
    return Number(ms) < 0 ? `-${body}` : body;
  }

  function formatAll(root) {
    root.querySelectorAll("[data-ts]").forEach((node) => {
      const zone = node.closest("[data-tz]");
      node.textContent = formatTs(node.dataset.ts, zone ? zone.dataset.tz : undefined, node.dataset.format);
    });
    root.querySelectorAll("[data-duration]").forEach((node) => { node.textContent = formatDuration(node.dataset.duration); });
  }

  // Builds DOM with textContent only, so data from the wire can never become markup.
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    // The API's own `detail` is English (a contract for programs); people read the page's words for the status.
    if (!response.ok) throw new Error(T[`http_${response.status}`] || `HTTP ${response.status}`);
    return data;
  }

  function live(url, eventName, onData) {
    const state = document.getElementById("live-state");
    const source = new EventSource(url);
    source.addEventListener(eventName, (event) => {
      if (state) { state.textContent = t("connected"); state.className = "live-state on"; }
      onData(JSON.parse(event.data));
    });
    // The server ends the stream when the login expires or is revoked: back to the login form.
    source.addEventListener("expired", () => { source.close(); window.location.reload(); });
    source.onerror = () => { if (state) { state.textContent = t("reconnecting"); state.className = "live-state off"; } };
    return source;
  }

  function custodyClock(subject, now) {
    if (!subject.arrived_ts) return null;
    const elapsed = now - subject.arrived_ts;
    const remaining = subject.deadline_ts ? subject.deadline_ts - now : null;
    const share = subject.limit_ms ? Math.min(100, Math.max(0, (100 * elapsed) / subject.limit_ms)) : 0;
    const level = remaining === null ? "" : remaining < 0 ? "over" : remaining < 3600000 ? "warn" : "ok";
    // The bar's width is set through the CSSOM: a style attribute would break style-src 'self'.
    const fill = h("div", { class: "fill" });
    fill.style.width = `${share.toFixed(1)}%`;
    return h("div", { class: `clock ${level}`, "data-arrived": subject.arrived_ts, "data-deadline": subject.deadline_ts || "", "data-limit": subject.limit_ms || "" },
      h("span", { class: "elapsed" }, formatDuration(elapsed)),
      remaining === null ? null : h("span", { class: "remaining" }, remaining < 0 ? `${t("overdue")} ${formatDuration(-remaining)}` : `${formatDuration(remaining)} ${t("remaining")}`),
      h("div", { class: "bar" }, fill));
  }

  // Time left until a deadline (transfer after a decision, back from an exit, next meal), ticking.
  function countdownText(deadline, now) {
    const remaining = deadline - now;
    return remaining < 0 ? `${t("overdue_by")} ${formatDuration(-remaining)}` : `${formatDuration(remaining)} ${t("remaining")}`;
  }

  function countdown(deadline, now) {
    return h("span", { class: `countdown ${deadline < now ? "over" : deadline - now < 3600000 ? "warn" : "ok"}`, "data-countdown": deadline },
      countdownText(deadline, now));
  }

  // The second layer on a subject's card (DESIGN §3, §6.2): protections, guardians, exit, decision, meals.
  function secondLayer(s, tz, now) {
    const flags = [];
    if (s.minor) flags.push(h("span", { class: "flag minor" }, t("minor")));
    if (s.vulnerable) flags.push(h("span", { class: "flag vulnerable" }, t("vulnerable")));
    if (s.minor || (s.guardians || []).length) {
      const names = (s.guardians || []).map((g) => g.person).join(", ");
      flags.push(h("span", { class: `flag guardian ${s.guardian_present ? "present" : "absent"}` },
        s.guardian_present ? t("guardian_present") : t("guardian_absent"), names ? ` (${names})` : ""));
    }
    const lines = [];
    if (s.out) {
      lines.push(h("div", { class: "out-line" }, h("strong", {}, t("out_until"), " ", s.out.until_ts ? formatTs(s.out.until_ts, tz, "time") : t("none")),
        " · ", word("leave_reason", s.out.reason), s.out.approved_by ? ` · ${t("approved_by")} ${s.out.approved_by}` : "",
        s.out.until_ts ? [" · ", countdown(s.out.until_ts, now)] : null));
    }
    if (s.decision) {
      lines.push(h("div", { class: "decision-line" }, h("strong", {}, word("decision", s.decision.kind)), " ",
        formatTs(s.decision.ts, tz, "time"), " · ", t("transfer_by"), " ", formatTs(s.decision.transfer_deadline_ts, tz, "time"), " · ",
        countdown(s.decision.transfer_deadline_ts, now)));
    }
    lines.push(h("div", { class: "meal-line" }, t("last_meal"), " ", s.last_meal_ts ? formatTs(s.last_meal_ts, tz, "time") : t("no_meal_yet"),
      s.meal_due_ts ? [" · ", t("meal_due"), " ", formatTs(s.meal_due_ts, tz, "time"), " · ", countdown(s.meal_due_ts, now)] : null));
    return [flags.length ? h("div", { class: "flags" }, flags) : null, ...lines];
  }

  function tickClocks() {
    const now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach((node) => {
      const deadline = Number(node.dataset.countdown);
      node.textContent = countdownText(deadline, now);
      node.className = `countdown ${deadline < now ? "over" : deadline - now < 3600000 ? "warn" : "ok"}`;
    });
    document.querySelectorAll(".clock[data-arrived]").forEach((clock) => {
      const arrived = Number(clock.dataset.arrived), deadline = Number(clock.dataset.deadline), limit = Number(clock.dataset.limit);
      clock.querySelector(".elapsed").textContent = formatDuration(now - arrived);
      const remainingNode = clock.querySelector(".remaining");
      if (remainingNode && deadline) {
        const remaining = deadline - now;
        remainingNode.textContent = remaining < 0 ? `${t("overdue")} ${formatDuration(-remaining)}` : `${formatDuration(remaining)} ${t("remaining")}`;
        clock.className = `clock ${remaining < 0 ? "over" : remaining < 3600000 ? "warn" : "ok"}`;
      }
      if (limit) clock.querySelector(".fill").style.width = `${Math.min(100, (100 * (now - arrived)) / limit).toFixed(1)}%`;
    });
  }

  function alertItem(alert, tz, canHandle, onChange) {
    const item = h("li", { class: `alert status-${alert.status}${alert.cleared_ts ? " cleared" : ""}`, "data-alert-id": alert.id },
      h("strong", { title: (T.descriptions || {})[alert.rule] || null }, t(alert.rule)), " ", alert.subject, alert.zone ? ` @ ${alert.zone}` : "",
      h("div", { class: "meta" }, formatTs(alert.raised_ts, tz), " · ", t(`status_${alert.status}`),
        alert.cleared_ts ? ` · ${t("cleared")} ${formatTs(alert.cleared_ts, tz, "time")}` : ` · ${t("active")}`,
        alert.acknowledged_by ? ` · ${t("acknowledged_by")} ${alert.acknowledged_by}` : ""));
    if (canHandle && alert.status === "open") {
      item.append(h("button", { class: "ack", onclick: async (event) => {
        event.target.disabled = true;
        try { await api("POST", `/api/v1/alerts/${alert.id}/acknowledge`, { comment: "" }); onChange(); }
        catch (error) { event.target.disabled = false; window.alert(`${t("failed")}: ${error.message}`); }
      } }, t("acknowledge")));
    }
    return item;
  }

  function boardPage(root) {
    const site = root.dataset.site, tz = root.dataset.tz;
    const canTrail = root.dataset.trails === "yes", canHandle = root.dataset.handle === "yes";
    const person = (s) => h("li", { class: "subject", "data-person": s.person },
      canTrail ? h("a", { href: `/sites/${encodeURIComponent(site)}/subjects/${encodeURIComponent(s.person)}` }, s.person) : s.person,
      h("span", { class: "tags" }, [t(s.role || ""), s.sex ? t(s.sex) : null, s.case ? `${t("case")} ${s.case}` : null].filter(Boolean).join(" · ")),
      // after a decision the summons clock has stopped: the transfer countdown replaces it
      s.decision ? null : custodyClock(s, Date.now()),
      secondLayer(s, tz, Date.now()));
    const refresh = () => fetch(`/api/v1/sites/${encodeURIComponent(site)}/board`, { credentials: "same-origin" }).then((r) => r.json()).then(render);
    function render(board) {
      document.getElementById("zones").replaceChildren(...board.zones.map((zone) => h("article", {
        class: `zone type-${zone.type}${zone.subjects.length ? " occupied" : ""}`, "data-zone": zone.id },
        h("h3", {}, zone.name || zone.id, " ", h("small", {}, t(zone.type))),
        h("ul", { class: "people" }, zone.subjects.map(person)),
        h("ul", { class: "staff" }, zone.staff.map((s) => h("li", { "data-person": s.person }, s.person, " ", h("small", {}, t(s.role || ""))))),
        (zone.guardians || []).length ? h("ul", { class: "guardians" }, zone.guardians.map((g) => h("li", { "data-person": g.person }, g.person, " ", h("small", {}, t("guardian"))))) : null,
        zone.subjects.length || zone.staff.length || (zone.guardians || []).length ? null : h("p", { class: "empty" }, t("no_one")))));
      document.getElementById("unlocated").replaceChildren(...board.unlocated.map(person));
      const outList = document.getElementById("out-of-area");
      if (outList) {
        const out = (board.out_of_area || []).map(person);
        outList.replaceChildren(...(out.length ? out : [h("li", { class: "empty" }, t("no_one_out"))]));
      }
      const alerts = board.alerts.map((a) => alertItem(a, tz, canHandle, refresh));
      document.getElementById("board-alerts").replaceChildren(...(alerts.length ? alerts : [h("li", { class: "empty" }, t("no_alerts"))]));
      const conflicts = document.getElementById("chain-conflicts");
      if (conflicts) {
        const marks = board.chain_conflicts || [];
        conflicts.hidden = !marks.length;
        conflicts.querySelector("ul").replaceChildren(...marks.map((c) => h("li", { "data-gateway": c.gateway_id },
          `${c.gateway_id} · seq ${c.seq} · ${formatTs(c.ts, tz)}`, h("div", { class: "meta" }, c.detail))));
      }
      // other views of the same board (the floor plan: board-plan.js) follow this event
      document.dispatchEvent(new CustomEvent("custody:board", { detail: board }));
      document.querySelectorAll("#item-counts [data-count]").forEach((node) => {
        node.textContent = board.items[node.dataset.count];
        node.classList.toggle("attention", node.dataset.count === "overdue" && board.items.overdue > 0);
      });
    }
    live(`/api/v1/live?site_id=${encodeURIComponent(site)}`, "board", render);
    setInterval(tickClocks, 1000);
  }

  function overviewPage() {
    const body = document.querySelector("#overview tbody");
    live("/api/v1/live", "overview", (overview) => {
      body.replaceChildren(...overview.sites.map((s) => h("tr", { "data-site": s.site_id, class: s.unacknowledged_alerts || s.chain_conflicts ? "attention" : "" },
        h("td", {}, h("a", { href: `/sites/${encodeURIComponent(s.site_id)}` }, s.name), " ", h("small", {}, t(s.kind)),
          s.chain_conflicts ? h("span", { class: "chain-conflict", title: t("chain_conflict_help") }, " ", t("chain_conflict")) : null),
        h("td", { class: "num" }, s.subjects_in_custody), h("td", { class: "num" }, s.staff_present),
        h("td", { class: "num" }, s.open_alerts), h("td", { class: "num" }, s.unacknowledged_alerts),
        h("td", {}, formatTs(s.next_deadline_ts, s.timezone)),
        h("td", { class: "last-report" }, formatTs(s.last_report_ts, s.timezone)))));
    });
  }

  function alertsPage() {
    const table = document.getElementById("alert-queue"), form = document.getElementById("alert-filter");
    const canHandle = table.dataset.handle === "yes", canTrail = table.dataset.trails === "yes";
    const timezones = JSON.parse(table.dataset.timezones || "{}");
    async function load() {
      const params = new URLSearchParams();
      for (const [key, value] of new FormData(form).entries()) if (value) params.set(key, value);
      const data = await api("GET", `/api/v1/alerts?${params}`);
      document.getElementById("alert-total").textContent = data.total ? `${t("total")}: ${data.total}` : t("no_results");
      table.querySelector("tbody").replaceChildren(...data.alerts.map((a) => {
        const comment = h("input", { class: "comment", placeholder: t("comment"), "aria-label": t("comment") });
        const act = (action) => async (event) => {
          if (action === "resolve" && !comment.value.trim()) { window.alert(t("comment_required")); return; }
          event.target.disabled = true;
          try { await api("POST", `/api/v1/alerts/${a.id}/${action}`, { comment: comment.value }); await load(); }
          catch (error) { event.target.disabled = false; window.alert(`${t("failed")}: ${error.message}`); }
        };
        const subjectLink = canTrail && !a.subject.includes("/")
          ? h("a", { href: `/sites/${encodeURIComponent(a.site_id)}/subjects/${encodeURIComponent(a.subject)}` }, a.subject) : a.subject;
        return h("tr", { "data-alert-id": a.id, class: `status-${a.status}` },
          h("td", {}, formatTs(a.raised_ts, timezones[a.site_id])), h("td", {}, a.site_id), h("td", { title: (T.descriptions || {})[a.rule] || null }, t(a.rule)), h("td", {}, subjectLink),
          h("td", {}, a.zone || t("none")),
          h("td", { class: "status" }, t(`status_${a.status}`), a.cleared_ts ? ` · ${t("cleared")}` : ` · ${t("active")}`,
            a.acknowledged_by ? h("div", { class: "meta" }, `${t("acknowledged_by")} ${a.acknowledged_by} ${formatTs(a.acknowledged_ts, timezones[a.site_id])}`) : null,
            a.resolved_by ? h("div", { class: "meta" }, `${t("resolved_by")} ${a.resolved_by}: ${a.resolve_comment}`) : null),
          h("td", {}, canHandle && a.status !== "resolved" ? [comment,
            a.status === "open" ? h("button", { class: "ack", onclick: act("acknowledge") }, t("acknowledge")) : null,
            h("button", { class: "resolve", onclick: act("resolve") }, t("resolve"))] : null));
      }));
    }
    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    let pending = null;
    live("/api/v1/live", "overview", () => { clearTimeout(pending); pending = setTimeout(load, 200); });
    load();
  }

  formatAll(document);
  return { formatTs, formatDuration, formatAll, boardPage, overviewPage, alertsPage, word };
})();

// Each page names its script in <body data-page>: the pages carry no inline script or handler
// (Content-Security-Policy script-src 'self').
(() => {
  const pages = {
    board: () => Custody.boardPage(document.getElementById("board")),
    overview: () => Custody.overviewPage(),
    alerts: () => Custody.alertsPage(),
  };
  const start = pages[document.body.dataset.page || ""];
  if (start) start();
  document.querySelectorAll("[data-action=print]").forEach((button) => button.addEventListener("click", () => window.print()));
})();
