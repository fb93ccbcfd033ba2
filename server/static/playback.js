"use strict";
// The trail page's track playback: reads the inert JSON the page carries and hands it to
// FloorPlan.playback (floorplan.js); times and durations are formatted by app.js's Custody.
(() => {
  const root = document.getElementById("playback");
  if (!root) return;
  const data = JSON.parse(document.getElementById("playback-data").textContent);
  const T = JSON.parse(document.getElementById("playback-i18n").textContent || "{}");
  const L = T.labels || {};
  const word = (msgid) => (msgid && msgid in L ? L[msgid] : msgid || "");
  FloorPlan.playback(root, data, {
    title: T.title, play: T.play, pause: T.pause, unknown: T.unknown, absent: T.absent, unrecorded: T.unrecorded,
    zoneLabel: (zone) => `${word(zone.type)} ${zone.id}`,
    typeLabel: (zone) => word(zone.type),
    personLabel: (p) => (p.kind === "subject" ? p.id : `${p.id} · ${word("officer")}`),
    ruleLabel: (rule) => (T.rules || {})[rule] || word(rule),
    formatTs: (ms) => Custody.formatTs(ms, data.timezone),
    formatDuration: (ms) => Custody.formatDuration(ms),
  });
})();
