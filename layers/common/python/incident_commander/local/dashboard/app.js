// Incident Commander dashboard: one static page that polls the REST API.
// config.json (next to this file) says where the API is and how to sign in:
//   {"api": "", "auth": "local"}                       -- `incident-commander serve`
//   {"api": "https://...", "auth": "cognito",
//    "cognito": {"domain": "https://<prefix>.auth.<region>.amazoncognito.com", "clientId": "...",
//                "redirectUri": "https://<dashboard>/"}}  -- written by the CDK app next to the page
"use strict";

const params = new URLSearchParams(location.search);
const POLL_MS = Math.max(250, Number(params.get("poll")) || 2000);
const state = {config: null, me: null, selected: params.get("incident"), detail: null, detailAt: 0,
               listAt: 0, timer: null, answering: false};

// --- small helpers ------------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells, attrs) {
  const tr = document.createElement("tr");
  for (const c of cells) { const td = el("td"); if (c instanceof Node) td.append(c); else td.textContent = c ?? ""; tr.append(td); }
  for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
  return tr;
}
const money = (v) => "$" + Math.round(v || 0).toLocaleString("en-US");
function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const hh = Math.floor(s / 3600), mm = Math.floor(s / 60) % 60, ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
}
function banner(text) { const b = $("banner"); b.hidden = !text; b.textContent = text || ""; }

// --- authentication -----------------------------------------------------------------------------------
function localUser() { return localStorage.getItem("ic-user") || "dashboard-user"; }

async function pkce() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const verifier = btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, (c) => ({"+": "-", "/": "_", "=": ""}[c]));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const challenge = btoa(String.fromCharCode(...digest)).replace(/[+/=]/g, (c) => ({"+": "-", "/": "_", "=": ""}[c]));
  return {verifier, challenge};
}

// Cognito hosted UI, authorization code flow with PKCE; the ID token is kept for this tab only.
async function cognitoToken() {
  const c = state.config.cognito;
  const saved = sessionStorage.getItem("ic-id-token");
  if (saved && JSON.parse(atob(saved.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000 > Date.now() + 30000) {
    return saved;
  }
  const code = params.get("code");
  if (code && params.get("state") === sessionStorage.getItem("ic-oauth-state")) {
    const r = await fetch(`${c.domain}/oauth2/token`, {method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded"},
      body: new URLSearchParams({grant_type: "authorization_code", client_id: c.clientId, code,
                                 redirect_uri: c.redirectUri, code_verifier: sessionStorage.getItem("ic-pkce") || ""})});
    if (!r.ok) throw new Error(`sign-in failed: ${r.status}`);
    const token = (await r.json()).id_token;
    sessionStorage.setItem("ic-id-token", token);
    history.replaceState(null, "", c.redirectUri);
    return token;
  }
  const {verifier, challenge} = await pkce();
  const nonce = crypto.getRandomValues(new Uint32Array(4)).join("");
  sessionStorage.setItem("ic-pkce", verifier);
  sessionStorage.setItem("ic-oauth-state", nonce);
  location.assign(`${c.domain}/oauth2/authorize?` + new URLSearchParams({response_type: "code", client_id: c.clientId,
    redirect_uri: c.redirectUri, scope: "openid email", state: nonce, code_challenge: challenge,
    code_challenge_method: "S256"}));
  return new Promise(() => {});  // the page is navigating away
}

async function api(method, path, body) {
  const headers = {"Content-Type": "application/json"};
  if (state.config.auth === "cognito") headers.Authorization = await cognitoToken();
  else {
    headers["X-IC-User"] = localUser();
    if (params.get("role")) headers["X-IC-Role"] = params.get("role");  // local mode: try a lower role
  }
  const r = await fetch(state.config.api + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  let data = null;
  try { data = await r.json(); } catch (e) { data = {error: `${r.status} ${r.statusText}`}; }
  if (r.status === 401 && state.config.auth === "cognito") sessionStorage.removeItem("ic-id-token");
  return {status: r.status, data};
}

// --- who am I, scenarios ---------------------------------------------------------------------------------
async function loadMe() {
  const {status, data} = await api("GET", "/me");
  const box = $("me");
  box.textContent = "";
  if (status !== 200) { box.textContent = data.error; return; }
  state.me = data;
  if (data.auth_mode === "local") {
    const input = el("input"); input.id = "user-name"; input.value = localUser(); input.size = 14;
    input.title = "local auth mode: you name yourself (X-IC-User)";
    input.addEventListener("change", () => { localStorage.setItem("ic-user", input.value.trim() || "dashboard-user"); loadMe(); });
    box.append(el("span", "LOCAL AUTH MODE ", "warn"), input);
  } else {
    box.append(el("span", data.name));
  }
  box.append(el("span", ` ${data.role}`, "badge role"));
  if (data.may.includes("admin")) loadScenarios();
}

async function loadScenarios() {
  const {status, data} = await api("GET", "/scenarios");
  if (status !== 200 || !data.enabled) return;
  const select = $("scenario-select");
  select.textContent = "";
  for (const s of data.scenarios) {
    const o = el("option", `${s.name} (${s.complexity}, ${money(s.impact_per_minute)}/min)`);
    o.value = s.name; select.append(o);
  }
  $("scenario-bar").hidden = false;
}

async function playScenario() {
  const name = $("scenario-select").value;
  $("play").disabled = true;
  $("scenario-status").textContent = `playing ${name}…`;
  const speed = Number(params.get("speed")) || 1;
  const {status, data} = await api("POST", `/scenarios/${encodeURIComponent(name)}`, {speed});
  $("play").disabled = false;
  $("scenario-status").textContent = status === 202
    ? `${name}: ${data.accepted_alerts} alerts delivered (run ${data.run_id})` : `${name}: ${data.error}`;
  refresh();
}

// --- incident list ----------------------------------------------------------------------------------------
async function loadList() {
  const {status, data} = await api("GET", "/incidents?limit=50");
  if (status !== 200) { banner(`incidents: ${data.error}`); return; }
  banner("");
  const body = $("incidents").tBodies[0];
  body.textContent = "";
  for (const inc of data.incidents) {
    const title = el("div", inc.title);
    title.append(el("div", `${inc.alerts} alerts` + (inc.services.length ? ` · ${inc.services.join(", ")}` : ""), "muted"));
    const tr = row([el("span", inc.status, `badge status-${inc.status}`), title, inc.stage, clock(inc.mttr_seconds),
                    money(inc.cost_so_far)], {"data-id": inc.id});
    if (inc.id === state.selected) tr.classList.add("selected");
    tr.addEventListener("click", () => select(inc.id));
    body.append(tr);
  }
  $("no-incidents").hidden = data.incidents.length > 0;
  $("list-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  if (!state.selected && data.incidents.length) {  // start with the incident that costs the most
    const top = data.incidents.reduce((a, b) => (b.cost_per_minute > a.cost_per_minute
      || (b.cost_per_minute === a.cost_per_minute && b.alerts > a.alerts) ? b : a));
    select(top.id);
  }
}

function select(id) {
  state.selected = id;
  for (const tr of $("incidents").tBodies[0].rows) tr.classList.toggle("selected", tr.dataset.id === id);
  loadDetail();
}

// --- incident detail ----------------------------------------------------------------------------------------
async function loadDetail() {
  if (!state.selected) return;
  const id = state.selected;
  const [{status, data}, tl] = await Promise.all([api("GET", `/incidents/${encodeURIComponent(id)}`),
                                                  api("GET", `/incidents/${encodeURIComponent(id)}/timeline`)]);
  if (id !== state.selected) return;
  if (status !== 200) { banner(`incident ${id}: ${data.error}`); return; }
  state.detail = data;
  state.detailAt = Date.now();
  renderDetail(data);
  if (tl.status === 200) renderTimeline(tl.data);
}

function renderDetail(d) {
  $("detail").hidden = false;
  $("detail").dataset.id = d.id;
  $("inc-title").textContent = d.title;
  $("inc-status").textContent = d.status;
  $("inc-status").className = `badge status-${d.status}`;
  $("inc-severity").textContent = d.severity;
  $("inc-severity").className = `badge sev-${d.severity}`;
  $("users").textContent = (d.users_affected || 0).toLocaleString("en-US");
  $("alert-count").textContent = d.alerts;
  $("delivery-count").textContent = `${d.deliveries} deliveries`;
  $("cost-rate").textContent = `${money(d.cost_per_minute)}/min`;
  const m = d.metrics || {};
  const span = (v) => (v === null || v === undefined ? "—" : clock(v));
  $("response-times").textContent = `detected ${span(m.ttd_seconds)} · acknowledged ${span(m.tta_seconds)}`
    + (m.acknowledged_by ? ` by ${m.acknowledged_by}` : "") + ` · mitigated ${span(m.ttm_seconds)}`;
  tick();

  const pipe = $("pipeline");
  pipe.textContent = "";
  for (const st of d.pipeline) {
    const li = el("li", null, `stage ${st.state}`);
    li.id = `stage-${st.stage}`;
    li.dataset.state = st.state;
    li.append(el("div", st.stage, "stage-name"), el("div", st.state, "stage-state"), el("div", st.detail, "muted"));
    pipe.append(li);
  }

  const dec = d.decision_detail;
  const rc = d.root_cause;
  $("decision-summary").textContent = dec
    ? `${dec.kind.replace("_", " ").toUpperCase()} — ${rc ? `${rc.category} @ ${rc.service}` : "no root cause"} (confidence ${dec.confidence.toFixed(2)})`
    : "not decided yet";
  $("decision-reason").textContent = dec ? dec.reason : "";
  const waiting = d.escalation && d.escalation.open && !d.human;
  const mayAnswer = state.me && state.me.may.includes("responder");
  $("answer").hidden = !(waiting && mayAnswer);
  if (d.human) {
    $("decision-outcome").textContent = `${d.human.response} by ${d.human.by}` + (d.human.reason ? `: ${d.human.reason}` : "");
  } else if (waiting) {
    $("decision-outcome").textContent = `waiting for on-call level ${d.escalation.level}` + (mayAnswer ? "" : " (responders may answer)");
  } else {
    $("decision-outcome").textContent = "";
  }

  const hyp = $("hypotheses");
  hyp.textContent = "";
  for (const [agent, hs] of Object.entries(d.hypotheses)) {
    const box = el("div", null, "agent");
    box.append(el("h4", agent));
    if (!hs.length) box.append(el("p", "no hypothesis", "muted"));
    for (const h of hs.slice(0, 3)) {
      const item = el("div", null, "hypothesis");
      item.append(el("strong", `${h.category} @ ${h.service ?? "?"} — ${(h.confidence * 100).toFixed(0)}%`));
      if (h.summary) item.append(el("div", h.summary, "muted"));
      if (h.causal_path.length) item.append(el("div", `causal path: ${h.causal_path.join(" → ")}`, "path"));
      const ev = el("ul", null, "evidence");
      for (const e of h.evidence.slice(0, 6)) ev.append(el("li", `${e.supports ? "+" : "−"} ${e.kind}: ${e.detail || e.ref}`, e.supports ? "" : "against"));
      item.append(ev);
      box.append(item);
    }
    hyp.append(box);
  }
  for (const f of d.faults) hyp.append(el("p", `${f.agent}: ${f.kind} — ${f.reason}`, "fault"));

  const votes = $("votes").tBodies[0];
  votes.textContent = "";
  for (const v of (dec ? dec.votes : [])) {
    votes.append(row([v.agent, v.weight.toFixed(2), v.category ? `${v.category} @ ${v.service}` : "—",
                      v.confidence ? v.confidence.toFixed(2) : "", v.excluded || (v.outlier ? "outlier" : "")]));
  }

  const impact = $("impact").tBodies[0];
  impact.textContent = "";
  for (const [svc, s] of Object.entries(d.impact.services)) {
    impact.append(row([svc, `${Math.round(s.degradation * 100)}%`, s.via ?? "own alerts", money(s.cost_per_minute), s.users.toLocaleString("en-US")]));
  }
  for (const svc of d.impact.unpriced) impact.append(row([svc, "?", "not in the topology", "—", "—"]));

  const alerts = $("alerts").tBodies[0];
  alerts.textContent = "";
  for (const a of d.alerts_detail) {
    const why = a.grouped_because || {};
    alerts.append(row([a.name, a.service ?? a.label ?? "?", a.source, a.status + (a.flapping ? " (flapping)" : ""),
                       `${why.rule ?? ""}${why.detail ? ": " + why.detail : ""}`]));
  }
}

function renderTimeline(t) {
  $("chain").textContent = t.verified ? "hash chain verified" : `BROKEN: ${t.verification.problem}`;
  $("chain").className = `badge ${t.verified ? "ok" : "bad"}`;
  const list = $("timeline");
  list.textContent = "";
  for (const e of t.events) {
    const li = el("li");
    li.append(el("span", new Date(e.at).toLocaleTimeString(), "muted"), el("span", ` ${e.type} `, "etype"),
              el("span", `by ${e.actor}`, "muted"));
    li.title = `seq ${e.seq} · hash ${e.hash.slice(0, 16)}…`;
    list.append(li);
  }
}

// MTTR and cost move every second between polls: from the server's numbers plus the time since.
function tick() {
  const d = state.detail;
  if (!d) return;
  const running = !d.resolved_at;
  const elapsed = running ? (Date.now() - state.detailAt) / 1000 : 0;
  $("mttr").textContent = clock((d.mttr_seconds || 0) + elapsed);
  $("cost").textContent = money(d.cost_so_far + (running ? d.cost_per_minute * elapsed / 60 : 0));
}

async function answer(decision) {
  const id = state.selected;
  state.answering = true;
  $("approve").disabled = $("reject").disabled = true;
  const {status, data} = await api("POST", `/incidents/${encodeURIComponent(id)}/decision`,
                                   {decision, reason: $("answer-reason").value});
  state.answering = false;
  $("approve").disabled = $("reject").disabled = false;
  $("decision-outcome").textContent = status === 202 ? `${data.decision} sent by ${data.by}` : `refused: ${data.error}`;
  await loadDetail();
}

async function refresh() {
  try {
    await loadList();
    if (!state.answering) await loadDetail();
  } catch (e) {
    banner(`cannot reach the API: ${e.message}`);
  }
}

async function main() {
  try {
    state.config = await (await fetch("config.json", {cache: "no-store"})).json();
  } catch (e) {
    state.config = {api: "", auth: "local"};
  }
  state.config.api = (state.config.api || "").replace(/\/$/, "");
  $("play").addEventListener("click", playScenario);
  $("approve").addEventListener("click", () => answer("approve"));
  $("reject").addEventListener("click", () => answer("reject"));
  await loadMe();
  await refresh();
  setInterval(refresh, POLL_MS);
  setInterval(tick, 1000);
}

main();
