"use strict";
// The arangomesos web UI. It talks only to the scheduler's /v1 API, with
// relative URLs, so it works under a path prefix (DC/OS: /service/<name>/).
// The API token is kept in sessionStorage once the user signed in.

const $ = id => document.getElementById(id);
const token = () => sessionStorage.getItem("arangomesos-token") || "";
let names = {};   // server id -> member name, for the shard view
const lastDone = {}; // role -> the last finished scale step, from the events
const named = id => names[id] ? names[id] + " (" + id + ")" : id;
const ROLES = [["agents", "agent", "Agents"], ["dbservers", "dbserver", "DBServers"], ["coordinators", "coordinator", "Coordinators"]];

// api calls the scheduler; it shows the sign-in form on 401 and throws the
// server's error message on any other failure.
async function api(method, path, body) {
  const opts = {method, headers: {Authorization: "Bearer " + token()}};
  if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const r = await fetch(path, opts);
  if (r.status === 401) { signedOut(); throw new Error("sign in first"); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}

function signedOut() {
  $("login").hidden = false; $("app").hidden = true; $("signout").hidden = true;
  $("health").textContent = "sign in to see the cluster";
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
    if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c instanceof Node ? c : String(c));
  return n;
}

function uptime(s) {
  if (!s) return "—";
  s = Math.floor(s);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
}

function renderState(s) {
  const h = s.health;
  $("health").textContent = h.status + " (" + h.code + "): " + h.reason;
  $("health").className = h.status;
  // Role cards with the scale buttons and the pending change.
  const roles = $("roles");
  roles.replaceChildren();
  for (const [plural, single, title] of ROLES) {
    const c = (h.roles && h.roles[plural]) || {desired: 0, running: 0, healthy: 0};
    const leaving = s.retired.filter(r => r.role === single);
    const parts = [];
    if (c.running < c.desired) parts.push("launching " + (c.desired - c.running));
    if (c.running > c.desired && !leaving.length) parts.push(single === "dbserver" ?
      "cleaning out " + (c.running - c.desired) + " (its shards move first)" : "stopping " + (c.running - c.desired));
    if (leaving.length) parts.push("removing " + leaving.map(r => r.name + " (" + (r.retired || r.phase) + ")").join(", "));
    const pending = parts.join("; ");
    const done = parts.length ? "" : (lastDone[single] || "");
    const step = single === "agent" ? 2 : 1;
    roles.append(el("div", {class: "card", "data-role": plural},
      el("h3", {}, title),
      el("p", {}, el("span", {"aria-label": title + " running"}, c.running), " running, ",
        el("span", {"aria-label": title + " healthy"}, c.healthy), " healthy of ",
        el("span", {"aria-label": title + " desired"}, c.desired), " desired"),
      el("button", {class: "step", type: "button", "aria-label": "remove one " + single, onclick: () => scale(plural, c.desired - step)}, "−"),
      " ",
      el("button", {class: "step", type: "button", "aria-label": "add one " + single, onclick: () => scale(plural, c.desired + step)}, "+"),
      el("p", {class: "pending", "aria-label": title + " pending change"}, pending),
      done ? el("p", {class: "time", "aria-label": title + " last change"}, done) : ""));
  }
  // Members.
  const body = $("members");
  body.replaceChildren();
  names = {};
  for (const m of [...s.retired, ...s.members]) names[m.serverId] = m.name;
  for (const m of s.members) {
    const ok = m.taskState === "TASK_RUNNING" && (m.health === "GOOD" || m.role === "agent");
    body.append(el("tr", {"data-member": m.name, class: ok ? "" : "attention", title: m.message || ""},
      el("td", {}, m.name), el("td", {}, m.role), el("td", {}, m.serverId),
      el("td", {}, m.host ? m.host + ":" + m.port : "—"),
      el("td", {class: m.taskState || ""}, m.taskState || m.phase, m.waiting ? " — " + m.waiting : ""),
      el("td", {class: m.health || ""}, m.health || "—"),
      el("td", {}, m.restarts), el("td", {}, uptime(m.uptimeSeconds)),
      el("td", {},
        el("button", {type: "button", "aria-label": "restart " + m.name, onclick: () => act(m.name, "restart")}, "Restart"), " ",
        el("button", {type: "button", "aria-label": "replace " + m.name, onclick: () => act(m.name, "replace")}, "Replace"))));
  }
  const retired = $("retired");
  retired.replaceChildren(...s.retired.map(r => el("li", {}, r.name + " " + r.serverId + ": " + (r.retired || r.phase) + (r.taskState ? ", task " + r.taskState : ""))));
  $("retired-box").hidden = s.retired.length === 0;
}

async function scale(role, n) {
  $("scale-message").textContent = "";
  try { await api("PUT", "v1/scale", {[role]: n}); refresh(); }
  catch (err) { $("scale-message").textContent = "Refused: " + err.message; }
}

async function act(name, action) {
  const what = action === "restart" ? "Restart " + name + " on its host with its data?" :
    "Replace " + name + " elsewhere with a new, empty member? Its data is copied from the other replicas.";
  if (!confirm(what)) return;
  try { await api("POST", "v1/members/" + encodeURIComponent(name) + "/" + action); refresh(); }
  catch (err) { $("scale-message").textContent = action + " " + name + " refused: " + err.message; }
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
    const obs = a.roles && a.roles[role] && a.roles[role].observed;
    const p = document.querySelector(`[data-observed="${role}"]`);
    if (p) p.textContent = obs && obs.values ? "observed over " + obs.members + " members: " +
      Object.entries(obs.values).map(([k, v]) => k + " " + Number(v).toFixed(1)).join(", ") : "";
  }
  const decisions = (a.decisions || []).slice(-10).reverse();
  if (!decisions.length) { $("decisions").replaceChildren(el("li", {class: "time"}, "none yet")); return; }
  $("decisions").replaceChildren(...decisions.map(d =>
    el("li", {}, el("span", {class: "time"}, new Date(d.time).toLocaleTimeString()), d.role + " " + d.from + " → " + d.to + ": " + d.reason + (d.error ? " (refused: " + d.error + ")" : ""))));
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

function renderShards(v) {
  $("load").replaceChildren(...Object.entries(v.load).sort().map(([id, l]) =>
    el("div", {class: "card", "data-server": id}, el("h3", {}, named(id)), l.leaders + " leaders, " + l.copies + " shard copies")));
  if (!v.collections.length) { $("shards").replaceChildren(el("p", {}, "No collections yet.")); return; }
  $("shards").replaceChildren(...v.collections.map(c => el("div", {},
    el("h3", {}, c.name),
    el("div", {class: "scroll"}, el("table", {"aria-label": "shards of " + c.name},
      el("thead", {}, el("tr", {}, el("th", {}, "Shard"), el("th", {}, "Leader"), el("th", {}, "Followers"), el("th", {}, "In sync"))),
      el("tbody", {}, ...c.shards.map(s => el("tr", {},
        el("td", {}, s.shard), el("td", {}, named(s.leader)), el("td", {}, s.followers.map(named).join(", ") || "—"),
        el("td", {class: s.synced ? "GOOD" : "BAD"}, s.synced ? "yes" : "syncing (in sync: " + (s.inSync.map(named).join(", ") || "none") + ")")))))))));
}

$("rebalance").addEventListener("click", async () => {
  try { const r = await api("POST", "v1/rebalance"); $("rebalance-message").textContent = r.message; }
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
      if (r.status === 401) { streaming = false; signedOut(); return; }
      if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
      $("live").textContent = "live";
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += dec.decode(value, {stream: true});
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          for (const line of block.split("\n")) if (line.startsWith("data: ")) addEvent(JSON.parse(line.slice(6)));
        }
      }
    } catch (err) { /* the scheduler restarted or the network blinked: retry */ }
    $("live").textContent = "reconnecting…";
    await new Promise(res => setTimeout(res, 2000));
  }
}

// refresh reads the state, the autoscale policy and the shards; a round
// still under way (a slow coordinator) is not started twice.
let refreshing = false;
async function refresh() {
  if (refreshing) return;
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
    catch (err) { $("shards").replaceChildren(el("p", {class: "BAD"}, "Shards unavailable: " + err.message)); }
  } finally { refreshing = false; }
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
