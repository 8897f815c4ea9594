"use strict";
// Status page: health and members from the scheduler's /v1 API (relative
// URLs, so it works under a path prefix).
const token = () => localStorage.getItem("arangomesos-token") || "";
async function api(path) {
  const r = await fetch(path, {headers: {Authorization: "Bearer " + token()}});
  if (r.status === 401) { document.getElementById("login").hidden = false; throw new Error("sign in"); }
  return r.json();
}
document.getElementById("login").addEventListener("submit", e => {
  e.preventDefault();
  localStorage.setItem("arangomesos-token", document.getElementById("token").value);
  document.getElementById("login").hidden = true;
  refresh();
});
function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
async function refresh() {
  try {
    const s = await api("v1/state");
    const h = document.getElementById("health");
    h.textContent = s.health.status + ": " + s.health.reason;
    h.className = s.health.status;
    const body = document.getElementById("members");
    body.replaceChildren();
    for (const m of s.members) {
      const tr = document.createElement("tr");
      cell(tr, m.name); cell(tr, m.role); cell(tr, m.serverId);
      cell(tr, m.host ? m.host + ":" + m.port : "—"); cell(tr, m.taskState || m.phase);
      cell(tr, m.health || "—", m.health); cell(tr, String(m.restarts));
      body.appendChild(tr);
    }
  } catch (e) { /* shown by the login form or retried */ }
}
refresh();
setInterval(refresh, 2000);
