// The review desk page: plain JavaScript against the desk's JSON API, no build step.
"use strict";
const TOKEN = new URLSearchParams(location.search).get("token");
const FLAG_LABELS = {over_budget: "over budget", fast: "fast >1.1x", translation: "translation problem",
  glossary_forced: "glossary forced", speaker: "low speaker conf.", asr: "low ASR conf."};

async function api(path, options = {}) {
  const headers = Object.assign({"Content-Type": "application/json"}, options.headers || {});
  if (TOKEN) headers["X-Review-Token"] = TOKEN;
  const response = await fetch(path, Object.assign({}, options, {headers}));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail ? JSON.stringify(body.detail) : response.statusText);
  return body;
}

function withToken(url) {
  if (!TOKEN || !url) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

const fmt = (s) => Number(s).toFixed(2);
const app = document.getElementById("app");

async function showList() {
  document.getElementById("where").textContent = "";
  const reports = await api("/api/reports");
  const rows = reports.map((r) => el("tr", {"data-report": r.id},
    el("td", {}, el("a", {href: "#/r/" + encodeURIComponent(r.id)}, r.episode)), el("td", {}, r.locale),
    el("td", {}, String(r.lines)), el("td", {}, String(r.flagged)), el("td", {}, String(r.approved)),
    el("td", {}, String(r.stale)),
    el("td", {}, r.qc ? el("a", {href: withToken(r.qc), target: "_blank"}, "QC page") : "")));
  app.replaceChildren(el("h2", {}, "Episodes × markets"),
    el("table", {id: "reports"}, el("tr", {}, ["episode", "market", "lines", "flagged", "approved", "stale", ""]
      .map((h) => el("th", {}, h))), rows));
}

let current = null;  // the episode page's report

function timeline(report) {
  const lanes = [...new Set(report.segments.map((s) => s.character))];
  const width = 1000, lane = 26, height = lanes.length * lane + 18, duration = report.source.duration;
  const x = (t) => (t / duration) * width;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width + 110} ${height}`);
  svg.setAttribute("class", "timeline");
  const add = (tag, attrs, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    svg.append(node);
    return node;
  };
  lanes.forEach((name, i) => add("text", {x: 4, y: i * lane + 17, "font-size": 11}, name));
  for (const s of report.segments) {
    const y = lanes.indexOf(s.character) * lane + 4;
    const src = add("rect", {x: 110 + x(s.start), y, width: Math.max(x(s.end - s.start), 1), height: 9, fill: "#9db8d9"});
    const dub = add("rect", {x: 110 + x(s.dub_start), y: y + 10, width: Math.max(x((s.dub_end || s.end) - s.dub_start), 1),
      height: 9, fill: s.stale ? "#e0a800" : (s.flags.length ? "#d9534f" : "#2e6da4")});
    for (const node of [src, dub]) {
      node.style.cursor = "pointer";
      node.addEventListener("click", () => seek(s.start));
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = `#${s.id} ${s.character}: ${s.text}`;
      node.append(title);
    }
  }
  return svg;
}

function seek(t) {
  const player = document.getElementById("player");
  player.currentTime = t;
  player.play().catch(() => {});
}

function playLine(id, which) {
  const audio = new Audio(withToken(`/api/reports/${encodeURIComponent(current.review.id)}/segments/${id}/audio/${which}`));
  audio.play().catch((e) => setStatus("cannot play: " + e, true));
}

function setStatus(text, error = false) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.className = error ? "err" : "";
}

async function patchLine(id, body) {
  try {
    await api(`/api/reports/${encodeURIComponent(current.review.id)}/segments/${id}`,
      {method: "PATCH", body: JSON.stringify(body)});
    await refresh(false);
  } catch (e) { setStatus(String(e), true); }
}

function lineRow(s, speakers) {
  const flags = s.flags.map((f) => el("span", {class: "flag"}, FLAG_LABELS[f] || f));
  if (s.stale) flags.push(el("span", {class: "flag stale", title: s.stale_because.join(", ")}, "stale: " + s.stale_because.join(", ")));
  const text = el("textarea", {rows: 2, "data-field": "text", onchange: (ev) => patchLine(s.id, {text: ev.target.value})}, s.text);
  const who = el("select", {"data-field": "speaker", onchange: (ev) => patchLine(s.id, {speaker: ev.target.value})},
    speakers.map((p) => el("option", {value: p.id, selected: p.id === s.speaker}, `${current.characters[p.id] || p.id}`)));
  const approved = el("input", {type: "checkbox", "data-field": "approved", checked: s.approved,
    onchange: (ev) => patchLine(s.id, {approved: ev.target.checked})});
  return el("tr", {"data-id": s.id, class: (s.stale ? "is-stale " : "") + (s.approved ? "is-approved" : "")},
    el("td", {}, String(s.id)), el("td", {}, el("a", {href: "javascript:void 0", onclick: () => seek(s.start)},
      `${fmt(s.start)}–${fmt(s.end)}`)),
    el("td", {}, who),
    el("td", {}, s.source_text, el("br"), el("span", {class: "origin"}, (s.origin || "").toUpperCase()
      + (s.asr_confidence != null ? ` · ASR ${s.asr_confidence}` : "")
      + (s.speaker_confidence != null ? ` · speaker ${s.speaker_confidence}` : ""))),
    el("td", {}, text), el("td", {}, `${s.speed}× / ${s.stretch}×`),
    el("td", {}, flags), el("td", {}, approved),
    el("td", {}, el("button", {onclick: () => playLine(s.id, "original"), title: "original line"}, "▶ orig"),
      el("button", {onclick: () => playLine(s.id, "dub"), title: "dub line"}, "▶ dub")));
}

function castTable(report) {
  return el("table", {class: "cast"}, el("tr", {}, ["speaker", "character", "voice", "pitch", "lines", ""].map((h) => el("th", {}, h))),
    report.speakers.map((p) => {
      const name = el("input", {value: current.characters[p.id] || p.id, "data-field": "name"});
      const voice = el("input", {value: (p.voice || {}).name || "", list: "voices", "data-field": "voice"});
      const pitch = el("input", {value: (p.voice || {}).pitch ?? 0, type: "number", step: "0.5", style: "width:60px"});
      const save = async () => {
        const body = {};
        if (name.value !== (current.characters[p.id] || p.id)) body.name = name.value;
        if (voice.value !== ((p.voice || {}).name || "") || Number(pitch.value) !== Number((p.voice || {}).pitch || 0)) {
          body.voice = voice.value; body.pitch = Number(pitch.value);
        }
        try {
          await api(`/api/reports/${encodeURIComponent(report.review.id)}/speakers/${encodeURIComponent(p.id)}`,
            {method: "PATCH", body: JSON.stringify(body)});
          await refresh(false);
        } catch (e) { setStatus(String(e), true); }
      };
      return el("tr", {"data-speaker": p.id}, el("td", {}, p.id), el("td", {}, name), el("td", {}, voice),
        el("td", {}, pitch), el("td", {}, String(p.segments)), el("td", {}, el("button", {onclick: save}, "Save")));
    }));
}

async function render() {
  const id = current.review.id;
  try {
    const {job} = await api(`/api/reports/${encodeURIComponent(id)}/render`, {method: "POST"});
    setStatus("rendering…");
    document.getElementById("render").disabled = true;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const state = await api(`/api/jobs/${job}`);
      if (state.state === "done") {
        await refresh(true);
        setStatus(`done: ${state.lines_revoiced} line(s) re-voiced in ${Number(state.seconds || 0).toFixed(1)} s`);
        break;
      }
      if (state.state === "failed") { setStatus("render failed: " + state.error, true); break; }
      setStatus(`${state.state}…`);
    }
  } catch (e) { setStatus(String(e), true); }
  document.getElementById("render").disabled = false;
}

async function refresh(reloadPlayer) {
  const id = current.review.id;
  current = await api(`/api/reports/${encodeURIComponent(id)}`);
  const rows = current.segments.map((s) => lineRow(s, current.speakers));
  document.getElementById("lines").replaceChildren(lineHead(), ...rows);
  document.getElementById("timeline").replaceChildren(timeline(current));
  document.getElementById("cast").replaceChildren(castTable(current));
  const r = current.review;
  document.getElementById("counts").textContent = `${r.lines} lines · ${r.flagged} flagged · ${r.approved} approved · ${r.stale} stale`;
  if (reloadPlayer) {
    const player = document.getElementById("player");
    player.src = withToken(`${r.video}?v=${r.video_version}`);
    player.load();
  }
}

function lineHead() {
  return el("tr", {}, ["#", "time", "character", "source", "translation", "speed / stretch", "flags", "ok", "play"]
    .map((h) => el("th", {}, h)));
}

async function showReport(id) {
  current = await api(`/api/reports/${encodeURIComponent(id)}`);
  document.getElementById("where").textContent = " / " + id;
  const voices = await api(`/api/reports/${encodeURIComponent(id)}/voices`).catch(() => []);
  const r = current.review;
  app.replaceChildren(
    el("datalist", {id: "voices"}, voices.map((v) => el("option", {value: v.name}, `${v.name} (${v.gender || ""})`))),
    el("div", {class: "bar"}, el("h2", {style: "margin:0"}, id),
      el("button", {id: "render", class: "primary", onclick: render}, "Render"),
      el("button", {onclick: async () => { await api(`/api/reports/${encodeURIComponent(id)}/approve`,
        {method: "POST", body: "{}"}); await refresh(false); }}, "Approve episode"),
      r.qc ? el("a", {href: withToken(r.qc), target: "_blank"}, "QC page") : "",
      el("span", {id: "counts"}), el("span", {id: "status"})),
    el("div", {class: "top"},
      el("video", {id: "player", controls: true, preload: "metadata", src: withToken(`${r.video}?v=${r.video_version}`)}),
      el("div", {class: "side"}, el("div", {id: "timeline"}), el("h3", {}, "Cast"), el("div", {id: "cast"}))),
    el("h3", {}, "Lines"), el("table", {id: "lines"}));
  await refresh(false);
}

async function route() {
  const match = location.hash.match(/^#\/r\/(.+)$/);
  try {
    if (match) await showReport(decodeURIComponent(match[1]));
    else await showList();
  } catch (e) {
    app.replaceChildren(el("p", {class: "err"}, String(e)));
  }
}

window.addEventListener("hashchange", route);
route();
