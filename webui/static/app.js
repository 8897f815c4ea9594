"use strict";
// The arangomesos web UI. It talks only to the scheduler's /v1 API, with
// relative URLs, so it works under a path prefix (DC/OS: /service/<name>/).
// The API token is kept in sessionStorage once the user signed in.

const $ = id => document.getElementById(id);
const token = () => sessionStorage.getItem("arangomesos-token") || "";
let names = {};   // server id -> member name, for the shard view
const lastDone = {}; // role -> the last finished scale step, from the events
const lastEnded = {}; // member name -> {time, state, message} of its last "failed" event
const named = id => names[id] ? names[id] + " (" + id + ")" : id;
const plural = (n, one, many) => n + " " + (n === 1 ? one : (many || one + "s"));
const ROLES = [["agents", "agent", "Agents"], ["dbservers", "dbserver", "DBServers"], ["coordinators", "coordinator", "Coordinators"]];

// api calls the scheduler; it shows the sign-in form on 401 and throws the
// server's error message on any other failure.
async function api(method, path, body) {
  const opts = {method, headers: {Authorization: "Bearer " + token()}};
  if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const r = await fetch(path, opts);
  if (r.status === 401) { signedOut(); throw new Error("sign in first"); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(data.error || ("HTTP " + r.status)), {status: r.status});
  return data;
}

function signedOut() {
  $("login").hidden = false; $("app").hidden = true; $("signout").hidden = true;
  $("health").textContent = "sign in to see the cluster";
  $("health").className = "";
  $("token").focus();
}

$("login").addEventListener("submit", async e => {
  e.preventDefault();
  sessionStorage.setItem("arangomesos-token", $("token").value);
  try { await api("GET", "v1/state"); $("login-error").textContent = ""; start(); }
  catch (err) { $("login-error").textContent = "That token was refused."; }
});

function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== "" && c !== null && c !== undefined) n.append(c instanceof Node ? c : String(c));
  return n;
}

// patch makes parent's children look like nodes, built afresh with el()
// on every refresh, while keeping the page's existing elements wherever
// they match (same tag, same data-key): a focused button, a button being
// pressed, a text selection and an opened <details> survive the refresh.
// Event handlers stay those of the first rendering, so they must not
// capture data that changes (they read it when called).
function patch(parent, nodes) {
  nodes = nodes.filter(n => n !== "" && n !== null && n !== undefined)
    .map(n => n instanceof Node ? n : document.createTextNode(String(n)));
  for (let i = 0; i < nodes.length; i++) {
    const want = nodes[i], have = parent.childNodes[i];
    if (have && sameNode(have, want)) { update(have, want); continue; }
    let found = null;
    if (want.nodeType === 1 && want.dataset.key) {
      for (let j = i + 1; j < parent.childNodes.length && !found; j++) {
        if (sameNode(parent.childNodes[j], want)) found = parent.childNodes[j];
      }
    }
    if (found) { parent.insertBefore(found, have); update(found, want); }
    else parent.insertBefore(want, have || null);
  }
  while (parent.childNodes.length > nodes.length) parent.lastChild.remove();
}
function sameNode(a, b) {
  if (a.nodeType !== b.nodeType) return false;
  if (a.nodeType !== 1) return true;
  return a.tagName === b.tagName && (a.dataset.key || "") === (b.dataset.key || "");
}
function update(have, want) {
  if (have.nodeType !== 1) { if (have.nodeValue !== want.nodeValue) have.nodeValue = want.nodeValue; return; }
  for (const a of [...have.attributes]) {
    if (!want.hasAttribute(a.name) && !(a.name === "open" && have.tagName === "DETAILS")) have.removeAttribute(a.name);
  }
  for (const a of [...want.attributes]) {
    if (a.name === "open" && have.tagName === "DETAILS") continue; // the user opens and closes it
    if (have.getAttribute(a.name) !== a.value) have.setAttribute(a.name, a.value);
  }
  patch(have, [...want.childNodes]);
}

function uptime(s) {
  if (!s) return "—";
  s = Math.floor(s);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : Math.round(n)) + " " + units[i];
}

let targets = {}; // the desired counts as last read or set
function renderState(s) {
  const h = s.health;
  $("health").textContent = h.status + " (" + h.code + "): " + h.reason;
  $("health").className = h.status;
  targets = s.targets || {};
  // Role cards with the scale buttons and the pending change.
  patch($("roles"), ROLES.map(([plural, single, title]) => {
    const c = (h.roles && h.roles[plural]) || {desired: 0, running: 0, healthy: 0};
    const leaving = s.retired.filter(r => r.role === single);
    const parts = [];
    if (c.running < c.desired) parts.push("launching " + (c.desired - c.running));
    if (c.running > c.desired && !leaving.length) parts.push(single === "dbserver" ?
      "cleaning out " + (c.running - c.desired) + " (its shards move first)" : "stopping " + (c.running - c.desired));
    if (leaving.length) parts.push("removing " + leaving.map(r => r.name + " (" + (r.retired || r.phase) + ")").join(", "));
    const done = parts.length ? "" : (lastDone[single] || "");
    return el("div", {class: "card", "data-key": plural, "data-role": plural},
      el("h3", {}, title),
      el("p", {}, el("span", {"aria-label": title + " running"}, c.running), " running, ",
        el("span", {"aria-label": title + " healthy"}, c.healthy), " healthy of ",
        el("span", {"aria-label": title + " desired"}, c.desired), " desired"),
      el("button", {class: "step", type: "button", "aria-label": "remove one " + single, onclick: () => scale(plural, "down")}, "−"),
      " ",
      el("button", {class: "step", type: "button", "aria-label": "add one " + single, onclick: () => scale(plural, "up")}, "+"),
      single === "agent" ? el("span", {class: "time"}, " the Agency stays odd: 3 or 5") : "",
      el("p", {class: "pending", "aria-label": title + " pending change"}, parts.join("; ")),
      done ? el("p", {class: "time", "aria-label": title + " last change"}, done) : "");
  }));
  // Members.
  names = {};
  for (const m of [...s.retired, ...s.members]) names[m.serverId] = m.name;
  patch($("members"), s.members.map(m => {
    const ok = m.taskState === "TASK_RUNNING" && (m.health === "GOOD" || m.role === "agent");
    const ended = lastEnded[m.name];
    return el("tr", {"data-key": m.name, "data-member": m.name, class: ok ? "" : "attention", title: m.message || ""},
      el("td", {class: "head"}, m.name), el("td", {"data-label": "Role"}, m.role), el("td", {"data-label": "Server id"}, m.serverId),
      el("td", {"data-label": "Host:port"}, m.host ? m.host + ":" + m.port : "—"),
      el("td", {"data-label": "Task", class: m.taskState || ""}, m.taskState || m.phase, m.waiting ? " — " + m.waiting : "",
        !ok && m.message ? el("div", {class: "note"}, m.message.length > 160 ? m.message.slice(0, 160) + "…" : m.message) : ""),
      el("td", {"data-label": "Supervision", class: m.health || ""}, m.health || "—"),
      el("td", {"data-label": "Restarts"}, m.restarts,
        ended ? el("div", {class: "note", title: ended.message}, "last ended " + ended.time + (ended.state ? " (" + ended.state + ")" : "")) : ""),
      el("td", {"data-label": "Uptime"}, uptime(m.uptimeSeconds)),
      el("td", {class: "actions"},
        el("button", {type: "button", "aria-label": "restart " + m.name, onclick: () => act(m.name, "restart")}, "Restart"), " ",
        el("button", {type: "button", "aria-label": "replace " + m.name, onclick: () => act(m.name, "replace")}, "Replace")));
  }));
  patch($("retired"), s.retired.map(r => el("li", {"data-key": r.serverId},
    r.name + " " + r.serverId + ": " + (r.retired || r.phase) + (r.taskState ? ", task " + r.taskState : ""))));
  $("retired-box").hidden = s.retired.length === 0;
}

// scale steps a role up or down by the scheduler's step (agents by two).
async function scale(role, dir) {
  $("scale-message").textContent = "";
  try {
    const t = await api("POST", "v1/scale/" + role + "/" + dir);
    const card = document.querySelector(`[data-role="${role}"] [aria-label$=" desired"]`);
    if (card && t[role] !== undefined) card.textContent = t[role];
    refresh();
  }
  catch (err) { $("scale-message").textContent = "Refused: " + err.message; }
}

async function act(name, action) {
  const what = action === "restart" ? "Restart " + name + " on its host with its data?" :
    "Replace " + name + " elsewhere with a new, empty member? Its data is copied from the other replicas.";
  if (!confirm(what)) return;
  $("scale-message").textContent = "";
  const path = "v1/members/" + encodeURIComponent(name) + "/" + action;
  try { await api("POST", path); refresh(); }
  catch (err) {
    $("scale-message").textContent = action + " " + name + " refused: " + err.message;
    // A replace that would lose data or the Agency's quorum is refused
    // with the reason; the operator may still force it, once more asked.
    if (action !== "replace" || err.status !== 409 || !/force=true/.test(err.message)) return;
    if (!confirm("Replacing " + name + " was refused:\n\n" + err.message.replace(/ \(add \?force=true.*\)$/, "") +
        "\n\nReplace it anyway? Data that only " + name + " holds is lost.")) return;
    try { await api("POST", path + "?force=true"); $("scale-message").textContent = "replacing " + name + " (forced)"; refresh(); }
    catch (err2) { $("scale-message").textContent = action + " " + name + " refused: " + err2.message; }
  }
}

// Autoscale policy form.
const METRICS = {coordinators: ["requests_per_second", "latency_p99_ms"],
  dbservers: ["documents_per_dbserver", "data_bytes_per_dbserver", "cpu_per_dbserver"]};
const FIELDS = [["enabled", "checkbox"], ["min", "number"], ["max", "number"], ["metric", "select"],
  ["scaleUpAbove", "number"], ["scaleDownBelow", "number"], ["window", "text"], ["cooldown", "text"]];
let policyShown = false;
function renderAutoscale(a) {
  if (!policyShown) {
    const box = $("policies");
    box.replaceChildren();
    for (const role of ["coordinators", "dbservers"]) {
      const p = a.policy[role];
      const card = el("fieldset", {class: "card", "data-policy": role}, el("legend", {}, role));
      for (const [f, type] of FIELDS) {
        let input;
        if (type === "select") {
          const opts = METRICS[role].includes(p[f]) ? METRICS[role] : [p[f], ...METRICS[role]];
          input = el("select", {name: role + "." + f, "aria-label": role + " " + f}, ...opts.map(m => el("option", {value: m}, m)));
        } else input = el("input", {type, name: role + "." + f, "aria-label": role + " " + f});
        if (type === "checkbox") input.checked = !!p[f]; else input.value = p[f];
        if (type === "number") input.step = "any";
        card.append(el("label", {}, f + " ", input));
      }
      card.append(el("p", {class: "time", "data-observed": role}));
      box.append(card);
    }
    policyShown = true;
  }
  for (const role of ["coordinators", "dbservers"]) {
    const r = (a.roles && a.roles[role]) || {};
    const obs = r.observed;
    const parts = [];
    if (obs && obs.values) parts.push("observed over " + plural(obs.members, "member") + ": " +
      Object.entries(obs.values).sort().map(([k, v]) => k + " " + Number(v).toFixed(1)).join(", "));
    if (r.samples) parts.push(plural(r.samples, "sample") + " of " + r.metric + " in the window");
    if (r.cooldownUntil && new Date(r.cooldownUntil) > new Date()) parts.push("cooling down until " + new Date(r.cooldownUntil).toLocaleTimeString());
    const p = document.querySelector(`[data-observed="${role}"]`);
    if (p) p.textContent = parts.join("; ");
  }
  const decisions = (a.decisions || []).slice(-10).reverse();
  if (!decisions.length) { patch($("decisions"), [el("li", {class: "time"}, "none yet")]); return; }
  patch($("decisions"), decisions.map(d =>
    el("li", {"data-key": d.time + d.role}, el("span", {class: "time"}, new Date(d.time).toLocaleTimeString()),
      d.role + " " + d.from + " → " + d.to + ": " + d.reason + (d.error ? " (refused: " + d.error + ")" : ""))));
}

$("autoscale").addEventListener("submit", async e => {
  e.preventDefault();
  const policy = {};
  for (const role of ["coordinators", "dbservers"]) {
    policy[role] = {};
    for (const [f, type] of FIELDS) {
      const input = document.querySelector(`[name="${role}.${f}"]`);
      policy[role][f] = type === "checkbox" ? input.checked : type === "number" ? Number(input.value) : input.value;
    }
  }
  try {
    await api("PUT", "v1/autoscale", policy);
    $("autoscale-message").textContent = "Saved at " + new Date().toLocaleTimeString() + ".";
    policyShown = false; // show the policy as the scheduler keeps it
    refresh();
  }
  catch (err) { $("autoscale-message").textContent = "Refused: " + err.message; }
});

// Shards: the DBServers' load, then every collection of every database;
// a collection is a <details> the user can close.
function renderShards(v) {
  patch($("load"), Object.entries(v.load).sort().map(([id, l]) =>
    el("div", {class: "card", "data-key": id, "data-server": id}, el("h3", {}, named(id)),
      el("p", {}, plural(l.leaders, "leader") + ", " + plural(l.copies, "shard copy", "shard copies")),
      l.documents !== undefined ? el("p", {class: "time"}, plural(Math.round(l.documents), "document") + ", " + bytes(l.dataBytes) +
        " (copies included; read " + new Date(l.measuredAt).toLocaleTimeString() + ")") : "")));
  const total = v.collections.reduce((n, c) => n + c.shards.length, 0);
  const behind = v.collections.reduce((n, c) => n + c.shards.filter(s => !s.synced).length, 0);
  $("shard-summary").textContent = v.collections.length ? plural(v.collections.length, "collection") + ", " + plural(total, "shard") +
    (behind ? ", " + behind + " not in sync" : ", all in sync") : "";
  $("shard-summary").className = behind ? "BAD" : "";
  if (!v.collections.length) { patch($("shards"), [el("p", {}, "No collections yet.")]); return; }
  patch($("shards"), v.collections.map(c => {
    const title = c.database === "_system" ? c.name : c.database + "/" + c.name;
    const bad = c.shards.filter(s => !s.synced).length;
    return el("details", {"data-key": c.database + "/" + c.name, open: true},
      el("summary", {}, el("b", {}, title), " ", el("span", {class: bad ? "BAD" : "time"},
        plural(c.shards.length, "shard") + (bad ? ", " + bad + " not in sync" : ""))),
      el("div", {class: "scroll"}, el("table", {class: "stack", "aria-label": "shards of " + title},
        el("thead", {}, el("tr", {}, el("th", {}, "Shard"), el("th", {}, "Leader"), el("th", {}, "Followers"), el("th", {}, "In sync"))),
        el("tbody", {}, ...c.shards.map(s => el("tr", {"data-key": s.shard},
          el("td", {class: "head"}, s.shard), el("td", {"data-label": "Leader"}, named(s.leader)),
          el("td", {"data-label": "Followers"}, s.followers.map(named).join(", ") || "—"),
          el("td", {"data-label": "In sync", class: s.synced ? "GOOD" : "BAD"}, s.synced ? "yes" : "syncing (in sync: " + (s.inSync.map(named).join(", ") || "none") + ")")))))));
  }));
}

$("rebalance").addEventListener("click", async () => {
  $("rebalance-message").textContent = "asking…";
  try { const r = await api("POST", "v1/rebalance"); $("rebalance-message").textContent = r.message; refresh(); }
  catch (err) { $("rebalance-message").textContent = "Refused: " + err.message; }
});

// Events: a live server-sent event stream read with fetch (EventSource
// cannot send the token), reconnecting when it ends.
// A reconnect asks for every event the scheduler still has and skips those
// shown already (by seq and time): a restarted scheduler (its event log is
// in memory) counts seq from 1 again, and its events must not be lost.
const seen = new Set();
const scaling = new Set(); // members a scale step is adding or removing
const roleOf = name => (name || "").replace(/-\d+$/, "");
function addEvent(e) {
  const key = e.seq + "@" + e.time;
  if (seen.has(key)) return;
  seen.add(key);
  const t = new Date(e.time).toLocaleTimeString();
  // The last finished scale step per role: a member a scale step added
  // that now runs, or one that left.
  if (e.kind === "scale" && e.member) scaling.add(e.member);
  if (e.kind === "running" && scaling.has(e.member)) {
    scaling.delete(e.member);
    lastDone[roleOf(e.member)] = "last change: " + e.member + " added, running since " + t;
  }
  if (e.kind === "removed" && e.member) lastDone[roleOf(e.member)] = "last change: " + e.member + " removed at " + t;
  if ((e.kind === "failed" || e.kind === "lost") && e.member) {
    const state = (e.message.match(/\bTASK_[A-Z_]+/) || [""])[0];
    lastEnded[e.member] = {time: t, state, message: e.message};
  }
  const list = $("events");
  const msg = e.message.length > 240 ? e.message.slice(0, 240) + "…" : e.message;
  const li = el("li", {class: "ev-" + e.kind, title: e.message, "data-kind": e.kind, "data-key": key}, el("span", {class: "time"}, t), el("b", {}, e.kind), ": " + msg);
  li.hidden = !matches(li);
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove(); // (still in seen: a reconnect must not bring it back)
}
// The event filter: a kind and a free text (member name, word).
function matches(li) {
  const kind = $("event-kind").value, q = $("event-filter").value.trim().toLowerCase();
  return (!kind || li.dataset.kind === kind) && (!q || li.textContent.toLowerCase().includes(q));
}
function filterEvents() { for (const li of $("events").children) li.hidden = !matches(li); }
$("event-kind").addEventListener("change", filterEvents);
$("event-filter").addEventListener("input", filterEvents);

let streaming = false;
async function streamEvents() {
  if (streaming) return;
  streaming = true;
  for (;;) {
    try {
      const r = await fetch("v1/events", {headers: {Authorization: "Bearer " + token(), Accept: "text/event-stream"}});
      if (r.status === 401) { streaming = false; $("live").textContent = ""; signedOut(); return; }
      if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
      $("live").textContent = "live";
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += dec.decode(value, {stream: true}).replace(/\r\n?/g, "\n");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          const data = block.split("\n").filter(l => l.startsWith("data:")).map(l => l.slice(5).replace(/^ /, "")).join("\n");
          if (data) { try { addEvent(JSON.parse(data)); } catch (err) { /* not an event */ } }
        }
      }
    } catch (err) { /* the scheduler restarted or the network blinked: retry */ }
    $("live").textContent = "reconnecting…";
    await new Promise(res => setTimeout(res, 2000));
  }
}

// refresh reads the state, the autoscale policy and the shards; a round
// still under way (a slow coordinator) is not started twice. Each finished
// round counts in <body data-refreshes>.
let refreshing = false, refreshes = 0;
async function refresh() {
  if (refreshing || !$("login").hidden) return; // signed out: nothing to ask until the next sign-in
  refreshing = true;
  try {
    try { renderState(await api("GET", "v1/state")); $("stale").hidden = true; }
    catch (err) {
      if (!$("login").hidden) return;
      $("stale").hidden = false;
      $("stale").textContent = "The scheduler does not answer (" + err.message + "); showing what it said last.";
      return;
    }
    try { renderAutoscale(await api("GET", "v1/autoscale")); } catch (err) { /* shown next round */ }
    try { renderShards(await api("GET", "v1/shards")); }
    catch (err) {
      $("shard-summary").textContent = "";
      patch($("shards"), [el("p", {class: "BAD"}, "Shards unavailable: " + err.message)]);
    }
  } finally {
    refreshing = false;
    document.body.dataset.refreshes = ++refreshes;
  }
}

let timer = 0;
function start() {
  $("login").hidden = true; $("app").hidden = false; $("signout").hidden = false;
  refresh();
  if (!timer) timer = setInterval(refresh, 2000);
  streamEvents();
}

$("signout").addEventListener("click", () => {
  sessionStorage.removeItem("arangomesos-token");
  location.reload();
});

(async () => {
  try { await api("GET", "v1/state"); start(); } catch (err) { signedOut(); }
})();
