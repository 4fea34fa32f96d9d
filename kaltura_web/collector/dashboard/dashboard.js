// kaltura-web collector dashboard: plain JS, no dependencies.
//
// Events arrive over Server-Sent Events (/dev/stream); the live table and the
// session timelines are drawn from them here.  The totals and the quartile
// funnel come from /dev/summary, the findings from /dev/verify, and each
// session's protocol (guide, kava, both) and KAVA VIEWs from /dev/playbacks,
// all computed by the collector (the same code as report.getTable).
"use strict";

const MAX_EVENTS = 5000;      // kept in memory
const MAX_ROWS = 300;         // rows in the live table
const MAX_SESSIONS = 50;      // session cards
const QUARTILES = {4: 25, 5: 50, 6: 75, 7: 100};
const KAVA_QUARTILES = {11: 25, 12: 50, 13: 75, 14: 100, 15: 90};
const KAVA_LIMIT = 10000;     // analytics ids below this are KAVA playback events
const KAVA_VIEW = 99;

const state = {
  events: [],
  names: {stats: {}, analytics: {}, kava: {}},
  filter: {app: "", entry: ""},
  apps: new Set(),
  entries: new Set(),
  refreshTimer: null,
  playbacks: new Map(),       // session id -> /dev/playbacks row
  flagged: new Set(),         // seqs with a linter violation
};

// ---------------------------------------------------------------- helpers

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fields(ev) { return ev.fields || {}; }

// the event's own application field first, then the stored app_id (filters.event_app)
function appOf(ev) {
  const f = fields(ev);
  return f.kalturaApplication || f.applicationId || f.application || ev.app_id || "";
}

function timeOf(ev) {
  return ev.event_timestamp != null ? Number(ev.event_timestamp) : Number(ev.received_at);
}

function clock(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], {hour12: false});
}

function num(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function percent(ratio) { return `${Math.round(ratio * 1000) / 10}%`; }

// the protocol an event belongs to: stats.collect is the guide's, analytics ids below 10000 are KAVA
function protocolOf(ev) {
  if (ev.service !== "analytics") return "guide";
  return ev.event_type < KAVA_LIMIT ? "kava" : "app";
}

function describeKava(type) {
  const name = state.names.kava[type] || `KAVA ${type}`;
  if (type === 3 || type === 4 || type === 34) return [name, "play"];
  if (type in KAVA_QUARTILES) return [name, "quartile"];
  if (type === 45 || type === 46) return [name, "buffer"];
  if (type === 35) return [name, "seek"];
  if (type === KAVA_VIEW) return [name, "view"];
  return [name, ""];
}

function describe(ev) {
  // [label, css class] of an event
  const type = ev.event_type;
  if (protocolOf(ev) === "kava") return describeKava(type);
  if (ev.service === "analytics") {
    const f = fields(ev);
    const name = state.names.analytics[type] || `analytics ${type}`;
    const detail = f.pageType || f.buttonName || "";
    return [detail ? `${name} ${detail}` : name, "app"];
  }
  const name = state.names.stats[type] || `type ${type}`;
  if (type === 3 || type === 16) return [name, "play"];
  if (type in QUARTILES) return [name, "quartile"];
  if (type === 12 || type === 13) return [name, "buffer"];
  if (type === 17) return [name, "seek"];
  return [name, ""];
}

function matches(ev) {
  const {app, entry} = state.filter;
  return (!app || appOf(ev) === app) && (!entry || ev.entry_id === entry);
}

// ---------------------------------------------------------------- incoming events

function addEvent(ev) {
  state.events.push(ev);
  if (state.events.length > MAX_EVENTS) state.events.shift();
  noteOption(state.apps, appOf(ev), "filter-app");
  noteOption(state.entries, ev.entry_id, "filter-entry");
  if (matches(ev)) prependRow(ev, true);
  scheduleRefresh();
}

function noteOption(seen, value, selectId) {
  if (!value || seen.has(value)) return;
  seen.add(value);
  const select = $(selectId);
  const options = [...select.options].slice(1).map((o) => o.value).concat(value).sort();
  const chosen = select.value;
  select.replaceChildren(select.options[0], ...options.map((v) => el("option", {value: v}, v)));
  select.value = chosen;
}

function eventRow(ev, fresh) {
  const [label, kind] = describe(ev);
  const repeat = ev.duplicate_of != null;  // the beacon arrived again: stored and counted again
  const classes = [fresh ? "fresh" : "", repeat ? "repeat" : ""].join(" ").trim();
  const row = el("tr", {"data-seq": ev.seq, "data-type": ev.event_type, class: classes},
    el("td", {class: "num", title: repeat ? `repeats beacon ${ev.beacon_id} of #${ev.duplicate_of}` : ""},
      repeat ? `${ev.seq} ↻${ev.duplicate_of}` : String(ev.seq)),
    el("td", {class: "num"}, clock(timeOf(ev))),
    el("td", {}, el("span", {class: `tag ${kind}`}, label)),
    el("td", {class: "protocol"}, protocolOf(ev)),
    el("td", {}, ev.session_id || "—"),
    el("td", {}, ev.entry_id || "—"),
    el("td", {}, ev.user_id || "—"),
    el("td", {}, appOf(ev) || "—"));
  return row;
}

function prependRow(ev, fresh) {
  const body = $("event-stream");
  body.prepend(eventRow(ev, fresh));
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  updateStreamCount();
}

function renderStream() {
  const rows = state.events.filter(matches).slice(-MAX_ROWS).reverse().map((ev) => eventRow(ev, false));
  $("event-stream").replaceChildren(...rows);
  updateStreamCount();
}

function updateStreamCount() {
  const shown = $("event-stream").rows.length;
  $("stream-count").textContent = shown ? `(latest ${shown})` : "";
}

function clearAll() {
  state.events = [];
  state.playbacks = new Map();
  state.flagged = new Set();
  state.apps.clear();
  state.entries.clear();
  for (const id of ["filter-app", "filter-entry"]) {
    const select = $(id);
    select.replaceChildren(select.options[0]);
  }
  state.filter = {app: "", entry: ""};
  renderStream();
  scheduleRefresh();
}

// ---------------------------------------------------------------- sessions

function buildSessions() {
  const sessions = new Map();
  for (const ev of state.events) {
    if (!ev.session_id || !matches(ev)) continue;
    let s = sessions.get(ev.session_id);
    if (!s) {
      s = {id: ev.session_id, entry: ev.entry_id, user: ev.user_id, app: appOf(ev), events: [],
           duration: null, furthest: 0, reached: new Set(), lastSeq: 0, sent: new Set()};
      sessions.set(ev.session_id, s);
    }
    s.events.push(ev);
    s.lastSeq = Math.max(s.lastSeq, ev.seq);
    s.user = s.user || ev.user_id;
    const f = fields(ev);
    const duration = num(f.duration);
    if (duration && duration > 0) s.duration = duration;
    const point = num(f.currentPoint);
    if (point !== null && point > s.furthest) s.furthest = point;
    const protocol = protocolOf(ev);
    if (protocol !== "app") s.sent.add(protocol);
    if (ev.event_type in QUARTILES && protocol === "guide") s.reached.add(QUARTILES[ev.event_type]);
    if (ev.event_type in KAVA_QUARTILES && protocol === "kava") s.reached.add(KAVA_QUARTILES[ev.event_type]);
  }
  return [...sessions.values()].sort((a, b) => b.lastSeq - a.lastSeq).slice(0, MAX_SESSIONS);
}

function progressBar(s) {
  // furthest playhead over the duration, with the quartile points marked
  const width = 400;
  const bar = svg("svg", {class: "progress", viewBox: `0 0 ${width} 14`, preserveAspectRatio: "none"});
  bar.append(svg("rect", {class: "track", x: 0, y: 3, width, height: 8, rx: 4}));
  let reach = s.reached.size ? Math.max(...s.reached) / 100 : 0;
  if (s.duration) reach = Math.min(Math.max(reach, s.furthest / s.duration), 1);
  bar.append(svg("rect", {class: "fill", x: 0, y: 3, width: reach * width, height: 8, rx: 4}));
  for (const q of s.sent.has("kava") ? [25, 50, 75, 90, 100] : [25, 50, 75, 100]) {
    const x = Math.min(q / 100 * width, width - 2);
    bar.append(svg("line", {class: s.reached.has(q) ? "tick reached" : "tick", x1: x, x2: x, y1: 0, y2: 14}));
  }
  return bar;
}

function protocolBadge(s) {
  // the collector's answer (which pairs a guide and a KAVA session into "both"), else what the events say
  const known = state.playbacks.get(s.id);
  const protocol = known ? known.protocol : (s.sent.size === 2 ? "both" : [...s.sent][0]);
  if (!protocol) return "";
  const paired = known && known.paired_with.length ? ` with ${known.paired_with.join(", ")}` : "";
  return el("span", {class: "protocol", "data-protocol": protocol,
                     title: "guide: stats.collect; kava: analytics.trackEvent playback events; both: the two"},
    `${protocol}${paired}`);
}

function viewTimeline(s) {
  // each KAVA VIEW of the session: offset from the session's start and playTimeSum
  const known = state.playbacks.get(s.id);
  if (!known || !known.views.length) return "";
  const marks = known.views.map((v) => {
    const bad = state.flagged.has(v.seq) ? " bad" : "";
    const played = v.playTimeSum === null ? "no playTimeSum" : `played ${Math.round(v.playTimeSum * 10) / 10}s`;
    const at = v.offset === null ? "?" : `+${Math.round(v.offset * 10) / 10}s`;
    return el("li", {class: `view-mark${bad}`, "data-seq": v.seq,
                     title: `seq ${v.seq} · eventIndex ${v.eventIndex ?? "—"} · position ${v.position ?? "—"}`},
      el("b", {}, at), played);
  });
  return el("div", {class: "views"}, el("span", {}, "VIEWs"), el("ol", {}, ...marks));
}

function renderSessions() {
  const sessions = buildSessions();
  const box = $("sessions");
  if (!sessions.length) {
    box.replaceChildren(el("p", {class: "empty"}, "No sessions yet."));
    return;
  }
  box.replaceChildren(...sessions.map((s) => {
    const start = timeOf(s.events[0]);
    const chips = s.events.map((ev) => {
      const [label, kind] = describe(ev);
      const offset = Math.round((timeOf(ev) - start) * 10) / 10;
      return el("span", {class: `tag ${kind}`, "data-seq": ev.seq}, label, el("small", {}, `+${offset}s`));
    });
    const reached = s.reached.size ? `reached ${[...s.reached].sort((a, b) => a - b).join("/")}%` : "no quartile";
    return el("article", {class: "session", "data-session": s.id},
      el("header", {},
        el("b", {}, s.id),
        protocolBadge(s),
        el("span", {}, `entry ${s.entry || "—"}`),
        el("span", {}, `user ${s.user || "—"}`),
        el("span", {}, `app ${s.app || "—"}`),
        el("span", {}, `${s.events.length} events`),
        el("span", {}, `started ${clock(start)}`),
        el("span", {}, reached)),
      progressBar(s),
      el("div", {class: "timeline"}, ...chips),
      viewTimeline(s));
  }));
}

// ---------------------------------------------------------------- funnel and totals

function renderFunnel(totals) {
  const steps = [
    ["loads", "Loads", totals.loads],
    ["plays", "Plays", totals.plays],
    ["25", "25%", totals.reach["25"]],
    ["50", "50%", totals.reach["50"]],
    ["75", "75%", totals.reach["75"]],
    ["100", "100%", totals.reach["100"]],
  ];
  const top = Math.max(1, ...steps.map((s) => s[2]));
  const chart = $("funnel");
  const rowHeight = 36, left = 56, width = 260;
  chart.replaceChildren();
  steps.forEach(([key, label, value], i) => {
    const y = 8 + i * rowHeight;
    const quartile = key !== "loads" && key !== "plays";
    const share = quartile && totals.plays ? `${percent(value / totals.plays)} of plays` : "";
    const g = svg("g", {"data-step": key});
    g.append(svg("text", {class: "label", x: 0, y: y + 17}, label));
    g.append(svg("rect", {class: "track", x: left, y, width, height: 24, rx: 4}));
    g.append(svg("rect", {class: `bar-rect ${key}`, x: left, y, width: (value / top) * width, height: 24, rx: 4}));
    g.append(svg("text", {class: "value", "data-step": key, x: left + width + 8, y: y + 17}, String(value)));
    if (share) g.append(svg("text", {class: "label", x: left + width + 44, y: y + 17}, share));
    chart.append(g);
  });
}

function renderTotals(totals) {
  $("kpi-events").textContent = totals.events;
  $("kpi-plays").textContent = totals.plays;
  $("kpi-sessions").textContent = totals.sessions;
  $("kpi-completion").textContent = percent(totals.avgCompletion);
  $("kpi-buffers").textContent = totals.bufferEvents;
  $("kpi-pages").textContent = totals.pageLoads;
  $("kpi-clicks").textContent = totals.buttonClicks;
}

function findingItem(f) {
  return el("li", {"data-rule": f.rule, "data-severity": f.severity, class: f.severity},
    el("span", {class: "rule"}, f.rule), f.message,
    el("span", {class: "where"}, `session ${f.session_id} · seq ${f.seq}`));
}

function renderFindings(findings, warnings) {
  // violations (counted in the totals), then the warnings (advice, not counted)
  const visible = new Set(state.events.filter(matches).map((ev) => ev.session_id));
  const filtered = state.filter.app || state.filter.entry;
  const keep = (f) => !filtered || visible.has(f.session_id);
  const shown = findings.filter(keep);
  const advice = warnings.filter(keep);
  state.flagged = new Set(findings.map((f) => f.seq));
  $("kpi-findings").textContent = shown.length;
  $("findings-count").textContent = advice.length ? `(${shown.length} + ${advice.length} warnings)` : "";
  const items = shown.length ? shown.map(findingItem)
    : [el("li", {class: "empty"}, "No findings: the stored events follow the protocol rules.")];
  $("findings").replaceChildren(...items, ...advice.map(findingItem));
}

async function getJSON(url) {
  const response = await fetch(url, {cache: "no-store"});
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function refresh() {
  const query = new URLSearchParams();
  if (state.filter.app) query.set("app", state.filter.app);
  if (state.filter.entry) query.set("entry", state.filter.entry);
  renderSessions();
  try {
    const [summary, verify, playbacks] = await Promise.all(
      [getJSON(`/dev/summary?${query}`), getJSON("/dev/verify"), getJSON("/dev/playbacks")]);
    renderTotals(summary.totals);
    renderFunnel(summary.totals);
    renderFindings(verify.findings, verify.warnings || []);
    state.playbacks = new Map(playbacks.sessions.map((p) => [p.session_id, p]));
    renderSessions();
  } catch (err) {
    console.warn("dashboard refresh failed", err);
  }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 150);
}

// ---------------------------------------------------------------- wiring

function setStatus(kind, text) {
  const status = $("status");
  status.dataset.state = kind;
  status.textContent = text;
}

function connect() {
  const source = new EventSource("/dev/stream?backlog=500");
  source.onopen = () => setStatus("live", "live");
  source.onerror = () => setStatus("offline", "reconnecting…");
  source.onmessage = (message) => addEvent(JSON.parse(message.data));
  source.addEventListener("reset", clearAll);
  window.addEventListener("beforeunload", () => source.close());
}

function onFilterChange() {
  state.filter = {app: $("filter-app").value, entry: $("filter-entry").value};
  renderStream();
  refresh();
}

async function main() {
  try {
    const catalog = await getJSON("/dev/catalog");
    state.names = catalog;
  } catch (err) {
    console.warn("no event catalog", err);
  }
  $("filter-app").addEventListener("change", onFilterChange);
  $("filter-entry").addEventListener("change", onFilterChange);
  $("clear-filters").addEventListener("click", () => {
    $("filter-app").value = "";
    $("filter-entry").value = "";
    onFilterChange();
  });
  renderFunnel({loads: 0, plays: 0, reach: {"25": 0, "50": 0, "75": 0, "100": 0}});
  connect();
  refresh();
}

main();
