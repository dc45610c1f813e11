/* The console: plain JavaScript over /api/v1 only; the token lives in sessionStorage. */
"use strict";
const $ = (sel, el) => (el || document).querySelector(sel);
const main = $("#main");
let me = null, timer = null;

function esc(v) {
  return String(v === undefined || v === null ? "" : v).replace(/[&<>"']/g,
    c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
function show(v) { return typeof v === "string" ? v : JSON.stringify(v); }

const TEXT_MAX = 4000; /* the API's limit of a note or reason, in UTF-8 bytes */

async function api(method, path, body) {
  const opt = {method, headers: {"Authorization": "Bearer " + sessionStorage.getItem("token")}};
  if (body !== undefined) {
    opt.headers["Content-Type"] = "application/json";
    opt.body = JSON.stringify(body);
  }
  const r = await fetch("/api/v1" + path, opt);
  const j = await r.json().catch(() => ({error: "not JSON"}));
  if (r.status === 401) { signOut(); throw new Error(j.error); }
  if (!r.ok) throw Object.assign(new Error(j.error || ("HTTP " + r.status)), {text: j.text});
  return j;
}

/* A queue's open items at each day's end as bars: plain inline SVG, each bar titled. */
function depthChart(name, days, counts) {
  const w = 16, gap = 4, h = 40, max = Math.max(1, ...counts);
  const bars = days.map((d, i) => {
    const n = counts[i] || 0, bh = Math.round(n / max * (h - 4));
    return `<rect x="${i * (w + gap)}" y="${h - bh}" width="${w}" height="${Math.max(bh, 1)}" class="${n ? "bar" : "bar zero"}"><title>${esc(d)}: ${n} open</title></rect>`;
  }).join("");
  return `<svg class="depth" id="depth-${esc(name)}" width="${days.length * (w + gap)}" height="${h}" role="img" aria-label="${esc(name)}: open items at each day's end">${bars}</svg>`;
}

function can(role) {
  if (!me) return false;
  if (me.role === "admin") return true;
  return me.role === role;
}

function signOut() {
  sessionStorage.removeItem("token");
  me = null;
  location.hash = "";
  location.reload();
}

function table(cols, rows, id) {
  return `<table class="rows"${id ? ` id="${id}"` : ""}><thead><tr>${cols.map(c => `<th>${esc(c[0])}</th>`).join("")}</tr></thead><tbody>` +
    (rows.length ? rows.map(r => `<tr>${cols.map(c => `<td data-label="${esc(c[0])}">${c[1](r)}</td>`).join("")}</tr>`).join("")
                 : `<tr><td colspan="${cols.length}">nothing here</td></tr>`) + "</tbody></table>";
}

const pages = {
  async dashboard() {
    const m = await api("GET", "/metrics");
    const all = Object.values(m.scenarios || {});
    const cmp = {below: (v, t) => v < t, at_most: (v, t) => v <= t, above: (v, t) => v > t, at_least: (v, t) => v >= t};
    const num = t => typeof t === "string" && t.endsWith("%") ? parseFloat(t) / 100 : Number(t);
    /* the figure over the target's scope: a scenario, a queue, or everything */
    const figure = (metric, t) => {
      if (metric === "queue_depth") {
        const q = m.queues || {};
        return t && t.queue ? (q[t.queue] || 0) : Object.values(q).reduce((a, x) => a + x, 0);
      }
      const s = t && t.scenario ? [m.scenarios[t.scenario] || {}] : all;
      const sum = k => s.reduce((a, x) => a + (x[k] || 0), 0);
      const execs = sum("executions");
      return execs ? sum(metric === "failure_rate" ? "failures" : "holds") / execs : 0;
    };
    const pct = v => (v * 100).toFixed(1) + "%";
    const card = metric => {
      const found = Object.entries(m.targets || {}).find(([, x]) => x.metric === metric);
      const t = found && found[1];
      const v = figure(metric, t);
      const fmt = metric === "queue_depth" ? String : pct;
      let line = "no target";
      if (t) {
        const op = Object.keys(cmp).find(k => t[k] !== undefined);
        const met = op && cmp[op](v, num(t[op]));
        line = `target ${esc(found[0])}: ${esc(op.replace("_", " "))} ${esc(t[op])}${t.scenario ? " (" + esc(t.scenario) + ")" : ""}${t.queue ? " (" + esc(t.queue) + ")" : ""}: ` +
          `<b class="${met ? "ok" : "error"}">${met ? "met" : "breached"}</b>`;
      }
      return `<div class="card" id="metric-${metric}"><div>${esc(metric.replace("_", " "))}</div>` +
        `<div class="big">${fmt(v)}</div><div class="target">${line}</div></div>`;
    };
    main.innerHTML = `<h1>Dashboard (last 7 days)</h1><div class="cards">` +
      card("failure_rate") + card("hold_rate") + card("queue_depth") + `</div>`;
  },

  async executions(q) {
    const p = new URLSearchParams(q);
    main.innerHTML = `<h1>Executions</h1><form class="filters" id="filters">
      <label>Scenario <input name="scenario" value="${esc(p.get("scenario") || "")}"></label>
      <label>Status <select name="status">${["", "success", "warning", "error", "running", "held"].map(s =>
        `<option${p.get("status") === s ? " selected" : ""}>${s}</option>`).join("")}</select></label>
      <label>Since <input name="since" type="datetime-local" value="${esc(p.get("since") || "")}"></label>
      <button type="submit">Filter</button>
      <label><span><input type="checkbox" id="live" checked> live</span></label></form><div id="list"></div>`;
    $("#filters").onsubmit = e => {
      e.preventDefault();
      const f = new URLSearchParams(new FormData(e.target));
      for (const [k, v] of [...f]) if (!v) f.delete(k);
      location.hash = "#/executions?" + f.toString();
    };
    const load = async () => {
      const a = new URLSearchParams();
      if (p.get("scenario")) a.set("scenario", p.get("scenario"));
      if (p.get("status")) a.set("status", p.get("status"));
      if (p.get("since")) a.set("since", String(Date.parse(p.get("since"))));
      const r = await api("GET", "/executions?" + a.toString());
      $("#list").innerHTML = table([
        ["Execution", x => `<a href="#/execution/${esc(x.id)}">${esc(x.id)}</a>`],
        ["Scenario", x => esc(x.scenario)],
        ["Status", x => `<span class="status-${esc(x.status)}">${esc(x.status)}</span>`],
        ["Version", x => esc(x.version)], ["Started", x => esc(x.started_at || "")],
        ["Took", x => esc(x.duration_ms) + " ms"],
      ], r.executions, "executions");
    };
    await load();
    timer = setInterval(() => { if ($("#live") && $("#live").checked) load().catch(() => {}); }, 2000);
  },

  async execution(id) {
    const x = await api("GET", "/executions/" + encodeURIComponent(id));
    main.innerHTML = `<h1>Execution ${esc(x.id)}</h1>
      <p>Scenario <b>${esc(x.scenario)}</b> version ${esc(x.version)} · status <span class="status-${esc(x.status)}" id="status">${esc(x.status)}</span> · attempts ${esc(x.attempts)}</p>` +
      table([
        ["Step", s => `<a href="#/step/${encodeURIComponent(x.scenario)}/${encodeURIComponent(x.version)}/${encodeURIComponent(s.step || s.id)}">${esc(s.step || s.id)}</a>`],
        ["Module", s => esc(s.module)],
        ["Status", s => `<span class="status-${esc(s.status)}">${esc(s.status)}</span>`],
        ["Duration", s => esc(s.duration_ms) + " ms"],
        ["Output", s => `<pre>${esc(JSON.stringify(s.output ?? null, null, 1))}</pre>`],
        ["Error", s => s.error ? `<span class="error">${esc(show(s.error.message || s.error))}</span>` : ""],
      ], x.steps || [], "steps") + (x.error ? `<p class="error">${esc(show(x.error.message || x.error))}</p>` : "") +
      await auditTable({execution: x.id}, "Writes and decisions (audit log)");
  },

  async incomplete() {
    const r = await api("GET", "/incomplete?state=all");
    const op = can("operator");
    main.innerHTML = `<h1>Incomplete</h1>${op ? `<div class="actions"><button id="retry-all">Retry all open</button><span id="msg"></span></div>` : ""}` +
      table([
        ["Execution", x => `<a href="#/execution/${esc(x.execution)}">${esc(x.execution)}</a>`],
        ["Scenario", x => esc(x.scenario)], ["Step", x => esc(x.step)], ["State", x => esc(x.state)],
        ["Error", x => esc(x.error && x.error.message)],
        ["", x => op && (x.state === "pending" || x.state === "exhausted") ?
          ["retry", "resolve", "discard"].map(a => `<button class="secondary" data-act="${a}" data-id="${esc(x.execution)}">${a}</button>`).join(" ") : ""],
      ], r.incomplete, "incomplete");
    main.querySelectorAll("button[data-act]").forEach(b => b.onclick = async () => {
      try { await api("POST", `/incomplete/${b.dataset.id}/${b.dataset.act}`, {}); route(); }
      catch (e) { alert(e.message); }
    });
    if (op) $("#retry-all").onclick = async () => {
      const j = await api("POST", "/incomplete/retry", {});
      $("#msg").textContent = `${j.recorded.length} recorded, ${j.already_waiting} already waiting`;
    };
  },

  async holds() {
    const r = await api("GET", "/holds?state=all");
    main.innerHTML = `<h1>Holds</h1>` + table([
      ["Hold", h => `<a href="#/hold/${h.id}">${h.id}</a>`], ["Scenario", h => esc(h.scenario)],
      ["Execution", h => `<a href="#/execution/${esc(h.execution)}">${esc(h.execution)}</a>`],
      ["Reason", h => esc(h.reason)], ["State", h => esc(h.state)],
      ["Decided by", h => esc(h.decided_by || "")],
    ], r.holds, "holds");
  },

  async hold(id) {
    const h = await api("GET", "/holds/" + id);
    const diff = Array.isArray(h.diff) ? h.diff : [];
    main.innerHTML = `<h1>Hold ${esc(h.id)}: ${esc(h.reason)}</h1>
      <p>Scenario <b>${esc(h.scenario)}</b> · execution <a href="#/execution/${esc(h.execution)}">${esc(h.execution)}</a> · state <b id="state">${esc(h.state)}</b>${h.decided_by ? ` by <b id="decided-by">${esc(h.decided_by)}</b>` : ""}</p>
      <div class="diff" id="diff"><div class="h">Field</div><div class="h">HRIS value</div><div class="h">Offer value</div>` +
      diff.map(d => `<div>${esc(d.field)}</div><div class="changed">${esc(show(d.left))}</div><div class="changed">${esc(show(d.right))}</div>`).join("") +
      (diff.length ? "" : (h.diff ? `<div>all</div><div>${esc(show(h.diff))}</div><div></div>` : `<div>(no diff recorded)</div><div></div><div></div>`)) + `</div>` +
      (h.state === "pending" && can("approver") ? `<div class="actions"><label>Reason <input id="reason"></label>
        <button id="approve">Approve</button><button class="danger" id="reject">Reject</button></div>` : "") +
      `<h1>Decisions</h1>` + table([["By", d => esc(d.decided_by)], ["Action", d => esc(d.action)],
        ["Reason", d => esc(d.reason || "")], ["State", d => esc(d.state)], ["Outcome", d => esc(d.outcome || "")]],
        h.decisions || [], "decisions");
    for (const act of ["approve", "reject"]) {
      const b = $("#" + act);
      if (b) b.onclick = async () => {
        const reason = $("#reason").value.trim(), bytes = new TextEncoder().encode(reason).length;
        if (act === "reject" && !reason) { $("#reason").focus(); alert("Write why the hold is rejected first: the reason is kept with the decision."); return; }
        if (bytes > TEXT_MAX) { $("#reason").focus(); alert(`The reason is ${bytes} bytes (UTF-8); keep it to ${TEXT_MAX}.`); return; }
        try { await api("POST", `/holds/${h.id}/${act}`, reason ? {reason} : {}); route(); }
        catch (e) { alert(e.message); }
      };
    }
  },

  async queues(q) {
    const [r, depth] = await Promise.all([api("GET", "/queues"), api("GET", "/queues/depth?days=7")]);
    const names = [...new Set([...Object.keys(r.queues), ...Object.keys(depth.queues)])].sort();
    let html = `<h1>Queues</h1>` + table([["Queue", n => `<a href="#/queues?name=${encodeURIComponent(n)}">${esc(n)}</a>`],
      ["Open", n => esc((r.queues[n] || {}).open || 0)], ["Last 7 days", n => esc((r.queues[n] || {}).recent || 0)],
      ["Depth, 7 days", n => depthChart(n, depth.days, depth.queues[n] || [])]], names, "queues");
    const name = new URLSearchParams(q).get("name");
    if (name) html += await queueItems(name);
    main.innerHTML = html;
    main.querySelectorAll("button[data-item]").forEach(b => b.onclick = () => resolveItem(b));
  },

  async audit(q) {
    const p = new URLSearchParams(q);
    main.innerHTML = `<h1>Audit log</h1><form class="filters" id="audit-filters">
      <label>Scenario <input name="scenario" value="${esc(p.get("scenario") || "")}"></label>
      <label>Execution <input name="execution" value="${esc(p.get("execution") || "")}"></label>
      <button type="submit">Filter</button></form>` +
      await auditTable({scenario: p.get("scenario") || "", execution: p.get("execution") || ""}, "");
    $("#audit-filters").onsubmit = e => {
      e.preventDefault();
      const f = new URLSearchParams(new FormData(e.target));
      for (const [k, v] of [...f]) if (!v) f.delete(k);
      location.hash = "#/audit?" + f.toString();
    };
  },

  async versions(q) {
    const r = await api("GET", "/versions");
    const admin = can("admin");
    let html = `<h1>Versions</h1>` + table([
      ["Scenario", v => `<a href="#/versions?name=${encodeURIComponent(v.scenario)}">${esc(v.scenario)}</a>`],
      ["Current", v => esc(v.number)], ["Deployed", v => esc(v.created_at)], ["Message", v => esc(v.message || "")]],
      r.scenarios, "versions");
    if (r.drafts.length)
      html += `<h1>Drafts this daemon serves</h1>` + table([["Scenario", n => esc(n)],
        ["", n => admin ? `<button class="secondary" data-deploy="${esc(n)}">deploy</button>` : ""]], r.drafts, "drafts");
    if (admin)
      html += `<h1>Deploy or promote</h1><form class="filters" id="deploy-file">
        <label>Scenario file <input type="file" id="file" accept=".yaml,.yml" required></label>
        <label>Message <input id="deploy-message"></label><button type="submit">Deploy file</button></form>
        <form class="filters" id="promote"><label>Scenario <input id="promote-name" required></label>
        <label>From org <input id="promote-from" required></label>
        <label>Version <input id="promote-version" type="number" min="1" placeholder="current"></label>
        <label>Reason <input id="promote-reason"></label><button type="submit">Promote</button></form>
        <p id="msg"></p><pre id="problems" hidden></pre>`;
    const name = new URLSearchParams(q).get("name");
    if (name) {
      const h = await api("GET", `/scenarios/${encodeURIComponent(name)}/versions`);
      html += `<h1>${esc(name)}: history</h1>` + table([["Version", v => esc(v.number)], ["Deployed", v => esc(v.created_at)],
        ["Origin", v => esc(v.origin)], ["Message", v => esc(v.message || "")],
        ["", v => admin && v.number !== h.versions[h.versions.length - 1].number ?
          `<button class="secondary" data-to="${esc(v.number)}">roll back to this</button>` : ""]], h.versions, "history");
    }
    main.innerHTML = html;
    main.querySelectorAll("button[data-to]").forEach(b => b.onclick = async () => {
      const reason = (prompt("Why roll back?") || "").trim(); /* a blank reason is left out: the API refuses one */
      try { await api("POST", `/scenarios/${encodeURIComponent(name)}/rollback`, reason ? {to: Number(b.dataset.to), reason} : {to: Number(b.dataset.to)}); route(); }
      catch (e) { alert(e.message); }
    });
    if (!admin) return;
    /* a deploy or promote's answer: to the scenario's history, or what refused it */
    const done = async (scenario, call) => {
      try {
        await call();
        location.hash = "#/versions?name=" + encodeURIComponent(scenario);
        if (name === scenario) route();
      } catch (e) {
        $("#msg").innerHTML = `<span class="error" id="refused">${esc(e.message)}</span>`;
        $("#problems").hidden = !e.text;
        $("#problems").textContent = e.text || "";
      }
    };
    main.querySelectorAll("button[data-deploy]").forEach(b => b.onclick = () =>
      done(b.dataset.deploy, () => api("POST", `/scenarios/${encodeURIComponent(b.dataset.deploy)}/deploy`, {})));
    $("#deploy-file").onsubmit = async e => {
      e.preventDefault();
      const yaml = await $("#file").files[0].text();
      const m = /^name:\s*["']?([A-Za-z0-9_-]+)/m.exec(yaml);
      const msg = $("#deploy-message").value.trim();
      done(m ? m[1] : "", () => api("POST", `/scenarios/${encodeURIComponent(m ? m[1] : "-")}/deploy`, msg ? {yaml, message: msg} : {yaml}));
    };
    $("#promote").onsubmit = e => {
      e.preventDefault();
      const n = $("#promote-name").value.trim(), b = {from: $("#promote-from").value.trim()};
      if ($("#promote-version").value) b.version = Number($("#promote-version").value);
      if ($("#promote-reason").value.trim()) b.reason = $("#promote-reason").value.trim();
      done(n, () => api("POST", `/scenarios/${encodeURIComponent(n)}/promote`, b));
    };
  },

  async step(arg) {
    const [name, version, id] = arg.split("/").map(decodeURIComponent);
    const x = await api("GET", `/scenarios/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/steps/${encodeURIComponent(id)}`);
    main.innerHTML = `<h1>Step ${esc(id)}</h1><p>Scenario <b>${esc(x.scenario)}</b> · version <b id="step-version">${esc(x.version)}</b>` +
      (x.file ? ` · file ${esc(x.file)}` : "") + `</p><pre id="step">${esc(JSON.stringify(x.step, null, 2))}</pre>`;
  },
};

/* A queue's open items, each with a note field (resolving asks one: the next person has
 * only it), and the items resolved lately with who, when and the note. */
async function queueItems(name) {
  const q = encodeURIComponent(name);
  const [open, done] = await Promise.all([api("GET", `/queues/${q}/items`), api("GET", `/queues/${q}/items?state=resolved&order=newest&limit=50`)]);
  const op = can("operator");
  return `<h1>${esc(name)}: open items</h1>` + table([["Item", e => esc(e.id)], ["Created", e => esc(e.created_at)],
    ["Content", e => `<pre>${esc(JSON.stringify(e.item))}</pre>`],
    ["", e => op ? `<span class="resolve"><input class="note" id="note-${e.id}" placeholder="what was done (required)">` +
      `<button class="secondary" data-item="${e.id}">resolve</button></span>` : ""]], open.items, "items") +
    `<h1>${esc(name)}: resolved</h1>` + table([["Item", e => esc(e.id)], ["Resolved", e => esc(e.done_at || "")],
      ["By", e => esc(e.done_by || "")], ["Note", e => esc(e.note || e.resolution || "")],
      ["Content", e => `<pre>${esc(JSON.stringify(e.item))}</pre>`]], done.items, "resolved");
}

async function resolveItem(b) {
  const input = $("#note-" + b.dataset.item);
  const note = input ? input.value.trim() : "";
  if (!note) { input && input.focus(); alert("Write what was done about the item first: the note is kept with it."); return; }
  const bytes = new TextEncoder().encode(note).length; /* the server counts UTF-8 bytes */
  if (bytes > TEXT_MAX) { input.focus(); alert(`The note is ${bytes} bytes (UTF-8); keep it to ${TEXT_MAX}: what was done, and link the rest.`); return; }
  try { await api("POST", `/queue-items/${b.dataset.item}/resolve`, {note}); route(); }
  catch (e) { alert(e.message); }
}

/* Audit rows (writes, and people's decisions) matching filter, with the person each is owed to. */
async function auditTable(filter, title) {
  const a = new URLSearchParams({order: "newest", limit: "200"});
  for (const [k, v] of Object.entries(filter)) if (v) a.set(k, v);
  const r = await api("GET", "/audit?" + a.toString());
  return (title ? `<h1>${esc(title)}</h1>` : "") + table([["#", e => esc(e.id)], ["At", e => esc(e.at)],
    ["Scenario", e => esc(e.scenario || "")], ["Step", e => esc(e.step || "")], ["Action", e => esc(e.method)],
    ["Sent to", e => esc(e.sent_to)], ["Status", e => esc(e.status ?? "")], ["Outcome", e => esc(e.outcome)],
    ["By", e => e.by ? `<b>${esc(e.by)}</b>` : "(engine)"]], r.entries, "audit");
}

async function route() {
  clearInterval(timer);
  const h = location.hash.replace(/^#\/?/, "") || "dashboard";
  const [path, q] = h.split("?");
  const [page, arg] = path.split("/");
  main.dataset.ready = "";
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("on", a.getAttribute("href") === "#/" + page));
  try {
    if (page === "execution") await pages.execution(decodeURIComponent(arg));
    else if (page === "hold") await pages.hold(arg);
    else if (page === "step") await pages.step(path.split("/").slice(1).join("/"));
    else await (pages[page] || pages.dashboard)(q || "");
  } catch (e) {
    main.innerHTML = `<p class="error" id="error">${esc(e.message)}</p>`;
  }
  main.dataset.ready = location.hash || "#/dashboard"; /* the page is drawn (tests wait for it) */
}

async function start() {
  me = await api("GET", "/me");
  $("#who").innerHTML = `${esc(me.name)} (${esc(me.role)}) <button class="secondary" id="signout">Sign out</button>`;
  $("#signout").onclick = signOut;
  $("#nav").hidden = false;
  window.onhashchange = route;
  route();
}

if (sessionStorage.getItem("token")) {
  start().catch(() => {});
} else {
  $("#login").onsubmit = async e => {
    e.preventDefault();
    sessionStorage.setItem("token", $("#token").value.trim());
    const r = await fetch("/api/v1/me", {headers: {"Authorization": "Bearer " + sessionStorage.getItem("token")}});
    if (!r.ok) {
      sessionStorage.removeItem("token");
      $("#login-error").textContent = (await r.json()).error;
      return;
    }
    start();
  };
}
