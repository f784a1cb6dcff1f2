// cnnlab web lab: plain JavaScript, no build step, no libraries.  Talks to the JSON API under /api.
"use strict";

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────────────
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") node.style.cssText = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) throw new Error((body && body.detail) || `${res.status} ${res.statusText}`);
  return body;
}

function formOf(fields) {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    if (value instanceof Blob) data.append(key, value, value.name || "image.png");
    else data.append(key, String(value));
  }
  return data;
}

function say(tab, text, info = false) {
  const box = $(`#${tab}-message`);
  if (!box) return;
  box.textContent = text || "";
  box.classList.toggle("info", info);
}

const pct = (p) => `${(100 * p).toFixed(p >= 0.9995 || p < 0.0005 ? 0 : 1)}%`;
const fmt = (v, d = 4) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d));

// Colour maps: viridis for activations (dark = low, yellow = high); blue-white-red for signed weights.
const VIRIDIS = (() => {
  const stops = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129],
                 [92, 200, 99], [170, 220, 50], [253, 231, 37]];
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1), k = Math.min(Math.floor(t), stops.length - 2), f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = stops[k][c] + f * (stops[k + 1][c] - stops[k][c]);
  }
  return lut;
})();

function diverging(v) {  // v in [-1, 1] → [r, g, b]
  const t = Math.max(-1, Math.min(1, v));
  const [r, g, b] = t < 0 ? [59, 76, 192] : [180, 4, 38];
  const a = Math.abs(t);
  return [255 + a * (r - 255), 255 + a * (g - 255), 255 + a * (b - 255)];
}

function base64Bytes(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function barList(container, items, { highlight = 0, onClick = null, selected = null } = {}) {
  container.replaceChildren(...items.map((item, i) => el("div", {
    class: `bar${i === highlight ? " top" : ""}${selected === item.class ? " selected" : ""}`,
    title: `${item.class}: ${(100 * item.p).toFixed(2)}%`,
    onclick: onClick ? () => onClick(item) : null,
  }, el("span", { class: "name", text: item.class }),
     el("span", { class: "track" }, el("span", { class: "fill", style: `width:${(100 * item.p).toFixed(2)}%` })),
     el("span", { class: "pct", text: pct(item.p) }))));
}

// ── state, runs, tabs ───────────────────────────────────────────────────────────────────────────────────
const state = {
  config: null,
  runs: [],
  inputs: {},        // source name ("draw" | "upload") → {blob, run, mode, face, label}
  insideSource: null,
  insideClass: null,
  inside: null,      // the last explain answer
  tab: "draw",
};

async function loadRuns() {
  const { runs } = await api("/api/runs");
  state.runs = runs;
  $("#run-count").textContent = `${runs.length} run${runs.length === 1 ? "" : "s"}`;
  for (const select of $$(".run-select")) fillRunSelect(select);
  return runs;
}

function fillRunSelect(select) {
  const kinds = select.dataset.kinds.split(",");
  const usable = state.runs.filter((r) => r.has_model && kinds.includes(r.kind));
  usable.sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || (b.test_acc || 0) - (a.test_acc || 0));
  const keep = select.value;
  select.replaceChildren(...usable.map((r) => el("option", { value: r.name },
    `${r.name}${r.test_acc != null ? ` (${(100 * r.test_acc).toFixed(1)}%)` : ""}`)));
  if (!usable.length) select.append(el("option", { value: "" }, "no suitable run"));
  if (usable.some((r) => r.name === keep)) select.value = keep;
}

function showTab(name) {
  if (!document.getElementById(`tab-${name}`)) name = "draw";
  state.tab = name;
  for (const section of $$(".tab")) section.hidden = section.id !== `tab-${name}`;
  for (const link of $$("#tabs a")) link.classList.toggle("active", link.dataset.tab === name);
  if (name === "inside") refreshInside();
  if (name === "runs") refreshRunsTab();
  if (name === "playground") refreshPlayground();
}

window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
document.addEventListener("click", (e) => {
  const go = e.target.closest("[data-goto]");
  if (go) location.hash = go.dataset.goto;
});

function setInput(source, input) {
  state.inputs[source] = input;
  state.insideSource = source;
  state.insideClass = null;
  state.inside = null;
}

// ── 1. Draw ─────────────────────────────────────────────────────────────────────────────────────────────
const draw = { ctx: null, drawing: false, last: null, dirty: false, busy: false, pending: false, lastSent: 0 };
const BRUSH = 18;  // CSS pixels on the 280-pixel canvas; the server brings any pen width to MNIST's
window.drawBusy = () => draw.busy || draw.pending;  // for scripted checks: a prediction is still on its way

function setupDraw() {
  const canvas = $("#draw-canvas");
  const dpr = window.devicePixelRatio || 1;
  canvas.width = 280 * dpr;
  canvas.height = 280 * dpr;
  draw.ctx = canvas.getContext("2d");
  draw.ctx.scale(dpr, dpr);
  clearDrawing();

  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (280 / r.width), (e.clientY - r.top) * (280 / r.height)];
  };
  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    draw.drawing = true;
    draw.last = point(e);
    stroke(draw.last, draw.last);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!draw.drawing) return;
    const p = point(e);
    stroke(draw.last, p);
    draw.last = p;
    if (performance.now() - draw.lastSent > 120) predictDrawing();
  });
  const end = () => {
    if (!draw.drawing) return;
    draw.drawing = false;
    predictDrawing();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("#draw-clear").addEventListener("click", () => {
    clearDrawing();
    $("#draw-bars").replaceChildren();
    $("#draw-seen").removeAttribute("src");
    $("#draw-verdict").textContent = "Draw a digit…";
    $("#draw-verdict").className = "verdict muted";
    $("#draw-timing").textContent = "";
    delete state.inputs.draw;
  });
  $("#draw-inside").addEventListener("click", () => { if (state.inputs.draw) state.insideSource = "draw"; location.hash = "inside"; });
  $("#draw-run").addEventListener("change", () => { if (draw.dirty) predictDrawing(); });
}

function clearDrawing() {
  const ctx = draw.ctx;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, 280, 280);
  draw.dirty = false;
}

function stroke(a, b) {
  const ctx = draw.ctx;
  ctx.strokeStyle = "#111";
  ctx.lineWidth = BRUSH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0] + (a[0] === b[0] && a[1] === b[1] ? 0.01 : 0), b[1]);
  ctx.stroke();
  draw.dirty = true;
}

function predictDrawing() {
  const run = $("#draw-run").value;
  if (!draw.dirty) return;
  if (!run) { say("draw", "No MNIST-style run found: train one with `cnnlab train mnist-mini`, then reload."); return; }
  if (draw.busy) { draw.pending = true; return; }
  draw.busy = true;
  draw.lastSent = performance.now();
  $("#draw-canvas").toBlob(async (blob) => {
    const file = new File([blob], "drawing.png", { type: "image/png" });
    const t0 = performance.now();
    try {
      const out = await api("/api/predict", { method: "POST", body: formOf({ file, run, mode: "digit", top_k: 10 }) });
      setInput("draw", { blob: file, run, mode: "digit", face: 0, label: "your drawing" });
      showDrawResult(out, performance.now() - t0);
      say("draw", "");
    } catch (err) {
      say("draw", err.message);
    } finally {
      draw.busy = false;
      if (draw.pending) { draw.pending = false; predictDrawing(); }
    }
  }, "image/png");
}

function showDrawResult(out, ms) {
  $("#draw-seen").src = out.input;
  const byClass = [...out.top].sort((a, b) => Number(a.class) - Number(b.class) || String(a.class).localeCompare(b.class));
  const best = out.top[0];
  barList($("#draw-bars"), byClass, { highlight: byClass.findIndex((x) => x.class === best.class) });
  const verdict = $("#draw-verdict");
  verdict.className = "verdict";
  verdict.replaceChildren(el("span", { class: "big", text: best.class }), `${pct(best.p)} sure`);
  $("#draw-timing").textContent = `server ${out.ms.toFixed(1)} ms · round trip ${ms.toFixed(0)} ms`;
}

// ── 2. Upload ───────────────────────────────────────────────────────────────────────────────────────────
const upload = { file: null, image: null, stream: null };

function setupUpload() {
  const drop = $("#drop"), input = $("#upload-file");
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") input.click(); });
  input.addEventListener("change", () => { if (input.files[0]) useUpload(input.files[0]); input.value = ""; });
  for (const name of ["dragenter", "dragover"]) drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const name of ["dragleave", "drop"]) drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  drop.addEventListener("drop", (e) => { const f = e.dataTransfer.files[0]; if (f) useUpload(f); });
  $("#upload-run").addEventListener("change", () => { if (upload.file) predictUpload(); });
  $("#upload-inside").addEventListener("click", () => { if (state.inputs.upload) state.insideSource = "upload"; location.hash = "inside"; });
  $("#webcam-start").addEventListener("click", startWebcam);
  $("#webcam-snap").addEventListener("click", snapWebcam);
}

async function startWebcam() {
  const video = $("#webcam");
  if (upload.stream) { stopWebcam(); return; }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say("upload", "This browser gives no camera access here (it needs http://127.0.0.1 or https).");
    return;
  }
  try {
    upload.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    video.srcObject = upload.stream;
    video.hidden = false;
    $("#webcam-snap").hidden = false;
    $("#webcam-start").textContent = "Stop webcam";
    say("upload", "");
  } catch (err) {
    say("upload", `No webcam: ${err.message || err.name}`);
  }
}

function stopWebcam() {
  for (const track of upload.stream.getTracks()) track.stop();
  upload.stream = null;
  $("#webcam").hidden = true;
  $("#webcam-snap").hidden = true;
  $("#webcam-start").textContent = "Use webcam";
}

function snapWebcam() {
  const video = $("#webcam");
  const canvas = el("canvas", { width: video.videoWidth, height: video.videoHeight });
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => useUpload(new File([blob], "webcam.png", { type: "image/png" })), "image/png");
}

function useUpload(file) {
  const limit = (state.config && state.config.max_upload_bytes) || 10 * 1024 * 1024;
  if (file.size > limit) { say("upload", `${file.name}: ${(file.size / 1048576).toFixed(1)} MB is more than the ${(limit / 1048576).toFixed(0)} MB limit`); return; }
  upload.file = file;
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.onload = () => { upload.image = img; predictUpload(); };
  img.onerror = () => { upload.image = null; predictUpload(); };  // the server names the problem
  img.src = url;
}

async function predictUpload() {
  const run = $("#upload-run").value;
  if (!run) { say("upload", "No image model found: train one first (e.g. on FER2013 or mnist-mini)."); return; }
  const t0 = performance.now();
  try {
    const out = await api("/api/predict", { method: "POST", body: formOf({ file: upload.file, run, top_k: 5 }) });
    setInput("upload", { blob: upload.file, run, mode: "auto", face: 0, faces: (out.faces || []).length, label: upload.file.name });
    showUploadResult(out, performance.now() - t0);
    say("upload", "");
  } catch (err) {
    say("upload", err.message);
  }
}

function showUploadResult(out, ms) {
  $("#upload-timing").textContent = `server ${out.ms.toFixed(1)} ms · round trip ${ms.toFixed(0)} ms`;
  const canvas = $("#upload-canvas");
  const faces = out.faces || [];
  if (upload.image) {
    const img = upload.image;
    const scale = Math.min(1, 460 / img.naturalWidth, 380 / img.naturalHeight);
    canvas.width = Math.round(img.naturalWidth * scale);
    canvas.height = Math.round(img.naturalHeight * scale);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const sx = canvas.width / out.image_size[0], sy = canvas.height / out.image_size[1];
    faces.forEach((face, i) => {
      const b = face.box, top = face.top[0];
      ctx.lineWidth = 3;
      ctx.strokeStyle = i === 0 ? "#f0a020" : "#39c";
      ctx.strokeRect(b.x * sx, b.y * sy, b.w * sx, b.h * sy);
      const label = `${top.class} ${pct(top.p)}`;
      ctx.font = "bold 15px system-ui, sans-serif";
      const w = ctx.measureText(label).width + 10;
      const y = b.y * sy > 22 ? b.y * sy - 22 : b.y * sy + b.h * sy;
      ctx.fillStyle = i === 0 ? "#f0a020" : "#39c";
      ctx.fillRect(b.x * sx - 1.5, y, w, 22);
      ctx.fillStyle = "#fff";
      ctx.fillText(label, b.x * sx + 4, y + 16);
    });
    canvas.hidden = false;
  } else {
    canvas.hidden = true;
  }
  const list = $("#upload-faces");
  list.replaceChildren(...faces.map((face, i) => {
    const bars = el("div", { class: "bars" });
    barList(bars, face.top.slice(0, 3));
    return el("div", { class: "face" }, el("img", { src: face.input, class: "pixelated", alt: `face ${i + 1}` }),
      el("div", {}, el("div", { class: "face-title", text: `face ${i + 1}: ${face.top[0].class}` }), bars));
  }));
  const verdict = $("#upload-verdict");
  verdict.className = "verdict";
  const best = out.top[0];
  const what = out.mode === "faces" ? (faces.length ? `${faces.length} face${faces.length > 1 ? "s" : ""} found; the largest:` : "no face found; the whole image:") :
    out.mode === "digit" ? "as a centred digit:" : "the whole image:";
  verdict.replaceChildren(el("span", { class: "muted", style: "font-weight:400;font-size:1rem;margin-right:.5rem", text: what }),
    el("span", { class: "label-main", text: `${best.class} ${pct(best.p)}` }));
  barList($("#upload-bars"), out.top);
}

// ── 3. Inside ───────────────────────────────────────────────────────────────────────────────────────────
function setupInside() {
  $("#inside-source").addEventListener("change", (e) => { state.insideSource = e.target.value; state.inside = null; state.insideClass = null; refreshInside(); });
  $("#dot-close").addEventListener("click", () => { $("#dot-card").hidden = true; $$(".tile.picked").forEach((t) => t.classList.remove("picked")); });
}

async function refreshInside(force = false) {
  const sources = Object.keys(state.inputs);
  $("#inside-empty").hidden = sources.length > 0;
  $("#inside-body").hidden = sources.length === 0;
  if (!sources.length) return;
  if (!state.inputs[state.insideSource]) state.insideSource = sources[sources.length - 1];
  const select = $("#inside-source");
  select.replaceChildren(...sources.map((s) => el("option", { value: s }, s === "draw" ? "drawing" : "upload")));
  select.value = state.insideSource;
  const input = state.inputs[state.insideSource];
  if (state.inside && state.inside.source === input && !force) return;
  const t0 = performance.now();
  say("inside", "Computing…", true);
  try {
    const out = await api("/api/explain", { method: "POST", body: formOf({ file: input.blob, run: input.run, mode: input.mode, face: input.face, class: state.insideClass }) });
    out.source = input;
    state.inside = out;
    renderInside(out, performance.now() - t0);
    say("inside", "");
  } catch (err) {
    say("inside", err.message);
  }
}

function renderInside(out, ms) {
  const input = out.source;
  $("#inside-timing").textContent = `server ${out.ms.toFixed(0)} ms · round trip ${ms.toFixed(0)} ms`;
  const [c, h, w] = out.input_shape;
  const which = input.faces ? ` (the largest of ${input.faces} face${input.faces > 1 ? "s" : ""})` : "";
  $("#inside-input-note").textContent = `${input.label}${which} as the model sees it: ${w}×${h}${c === 3 ? " RGB" : " gray"}, run ${input.run}`;
  drawInputCanvas(out, null);
  if (out.cam) {
    $("#inside-cam").src = out.cam.overlay;
    $("#inside-cam-note").textContent = `evidence for “${out.cam.class}” in layer ${out.cam.layer}`;
  }
  barList($("#inside-bars"), out.top, {
    selected: out.cam ? out.cam.class : null,
    onClick: (item) => { state.insideClass = item.class; refreshInside(true); },
  });
  renderKernels(out.kernels);
  renderLayers(out.layers);
  $("#dot-card").hidden = true;
}

function drawInputCanvas(out, box) {
  const canvas = $("#inside-input");
  const img = new Image();
  img.onload = () => {
    const scale = Math.max(1, Math.floor(196 / Math.max(img.width, img.height)));
    canvas.width = img.width * scale;
    canvas.height = img.height * scale;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    if (box) {  // the kernel's window on the input: [row, col, kh, kw]
      ctx.strokeStyle = "#f0a020";
      ctx.lineWidth = 2;
      ctx.strokeRect(box[1] * scale, box[0] * scale, box[3] * scale, box[2] * scale);
    }
  };
  img.src = out.input;
}

function renderKernels(kernels) {
  const box = $("#inside-kernels");
  if (!kernels) { box.replaceChildren(el("p", { class: "muted", text: "This model has no convolution layer." })); return; }
  const [o, cin, kh, kw] = kernels.shape;
  $("#kernels-note").textContent = `layer ${kernels.layer}: ${o} kernels of ${cin}×${kh}×${kw}`;
  const zoom = Math.max(4, Math.floor(44 / Math.max(kh, kw)));
  box.replaceChildren(...kernels.values.map((k, i) => {
    const canvas = el("canvas", { width: kw, height: kh, style: `width:${kw * zoom}px;height:${kh * zoom}px` });
    const ctx = canvas.getContext("2d");
    const data = ctx.createImageData(kw, kh);
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
      let rgb;
      if (cin === 3) rgb = [0, 1, 2].map((ch) => 127.5 + 127.5 * k[ch][y][x] / kernels.limit);
      else rgb = diverging(k[0][y][x] / kernels.limit);
      const j = (y * kw + x) * 4;
      data.data.set([rgb[0], rgb[1], rgb[2], 255], j);
    }
    ctx.putImageData(data, 0, 0);
    return el("div", { class: "tile", title: `kernel ${i}` }, canvas, el("span", { text: i }));
  }));
}

function renderLayers(layers) {
  const box = $("#inside-layers");
  box.replaceChildren(...layers.map((layer) => {
    const bytes = base64Bytes(layer.data);
    const { height: h, width: w } = layer;
    const zoom = Math.max(1, Math.min(4, Math.round(64 / Math.max(h, w))));
    const size = Math.max(40, Math.min(112, Math.max(h, w) * zoom));
    const tiles = layer.channels.map((channel, i) => {
      const canvas = el("canvas", { width: w, height: h, style: `width:${size * w / Math.max(h, w)}px;height:${size * h / Math.max(h, w)}px`, class: "fmap" });
      const ctx = canvas.getContext("2d");
      const img = ctx.createImageData(w, h);
      for (let p = 0; p < h * w; p++) {
        const v = bytes[i * h * w + p];
        img.data.set([VIRIDIS[v * 3], VIRIDIS[v * 3 + 1], VIRIDIS[v * 3 + 2], 255], p * 4);
      }
      ctx.putImageData(img, 0, 0);
      const tile = el("div", { class: "tile", title: `map ${channel}: ${fmt(layer.min[i], 3)} … ${fmt(layer.max[i], 3)} — click a pixel` }, canvas, el("span", { text: channel }));
      canvas.addEventListener("click", (e) => {
        const r = canvas.getBoundingClientRect();
        const row = Math.min(h - 1, Math.floor((e.clientY - r.top) / r.height * h));
        const col = Math.min(w - 1, Math.floor((e.clientX - r.left) / r.width * w));
        $$(".tile.picked").forEach((t) => t.classList.remove("picked"));
        tile.classList.add("picked");
        showDot(layer, channel, row, col);
      });
      return tile;
    });
    const shown = layer.channels.length < layer.count ? `the ${layer.channels.length} most active of ${layer.count} maps` : `${layer.count} maps`;
    return el("div", { class: "card layer" },
      el("div", { class: "card-head" }, el("h2", { text: `Layer ${layer.index + 1}: ${layer.label}` }),
        el("span", { class: "hint", text: `${shown}, ${h}×${w}${layer.dead ? ` · ${layer.dead} all zero` : ""}` })),
      el("div", { class: "tiles" }, tiles));
  }));
}

function matrixTable(m, colour) {
  return el("table", { class: "mat" }, m.map((row) => el("tr", {}, row.map((v) => {
    const [r, g, b] = colour(v);
    const dark = 0.299 * r + 0.587 * g + 0.114 * b < 120;
    return el("td", { style: `background:rgb(${r},${g},${b});color:${dark ? "#fff" : "#111"}`, text: fmt(v, 2) });
  }))));
}

async function showDot(layer, channel, row, col) {
  const input = state.inside.source;
  try {
    const d = await api("/api/explain/dot", { method: "POST", body: formOf({ file: input.blob, run: input.run, mode: input.mode, face: input.face, layer: layer.index, channel, row, col }) });
    renderDot(d);
  } catch (err) {
    say("inside", err.message);
  }
}

function renderDot(d) {
  const card = $("#dot-card");
  card.hidden = false;
  $("#dot-title").textContent = `Layer ${d.layer + 1}, map ${d.channel}, position (row ${d.row}, column ${d.col})`;
  const body = $("#dot-body");
  const [kh, kw] = d.kernel_size;
  const parts = [];
  if (d.in_channels === 1) {
    const win = d.channels[0].window, ker = d.channels[0].kernel;
    const lim = Math.max(1e-6, ...ker.flat().map(Math.abs));
    const wl = Math.max(1e-6, ...win.flat().map(Math.abs));
    const prod = win.map((r, i) => r.map((v, j) => v * ker[i][j]));
    const pl = Math.max(1e-6, ...prod.flat().map(Math.abs));
    parts.push(el("div", { class: "mat-wrap" },
      el("div", {}, el("h3", { text: d.layer === 0 ? "input window (normalised)" : "input window" }), matrixTable(win, (v) => { const g = 255 * (0.5 + 0.5 * v / wl); return [g, g, g]; })),
      el("span", { class: "op", text: "⊙" }),
      el("div", {}, el("h3", { text: "kernel" }), matrixTable(ker, (v) => diverging(v / lim))),
      el("span", { class: "op", text: "=" }),
      el("div", {}, el("h3", { text: "products" }), matrixTable(prod, (v) => diverging(v / pl)))));
  } else {
    const rows = d.channels.map((c) => el("tr", {}, el("td", { text: c.in_channel }), el("td", { text: fmt(c.sum, 4) })));
    const shown = d.channels.reduce((s, c) => s + c.sum, 0);
    parts.push(el("div", {}, el("h3", { text: `the ${d.channels.length} input channels that add most (of ${d.in_channels})` }),
      el("table", { class: "channels-table" }, el("tr", {}, el("th", { text: "input map" }), el("th", { text: `Σ window·kernel (${kh}×${kw})` })), rows,
        el("tr", {}, el("td", { text: `other ${d.in_channels - d.channels.length}` }), el("td", { text: fmt(d.sum - d.bias - shown, 4) })))));
  }
  const activation = d.after && !d.after.startsWith("(") ? d.after : "";
  parts.push(el("div", { class: "explain-text" },
    el("p", {}, `The ${kh}×${kw} kernel lies on the ${d.layer === 0 ? "input" : "previous layer's maps"} at rows ${d.window_origin[0]}…${d.window_origin[0] + kh - 1}, columns ${d.window_origin[1]}…${d.window_origin[1] + kw - 1}` +
      `${d.padding[0] || d.padding[1] ? " (outside the image counts as 0: zero padding)" : ""}. Multiply pixel by weight and add up${d.in_channels > 1 ? ` over all ${d.in_channels} input maps` : ""}:`),
    el("p", {}, "Σ window · kernel + bias = ", el("b", { text: fmt(d.sum - d.bias, 4) }), " + ", el("b", { text: fmt(d.bias, 4) }), " = ", el("b", { text: fmt(d.sum, 4) }),
      el("span", { class: "muted", text: `  (the layer computed ${fmt(d.conv_output, 4)})` })),
    activation ? el("p", {}, `then ${activation}: `, el("b", { text: fmt(d.activated, 4) }), " — the value of the pixel you clicked.") : null));
  body.replaceChildren(...parts);
  if (d.layer === 0) drawInputCanvas(state.inside, [d.window_origin[0], d.window_origin[1], kh, kw]);
  card.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

// ── 4. Convolution playground ───────────────────────────────────────────────────────────────────────────
const pg = { kernels: [], examples: [], ready: false, timer: null, example: null, step: 0, playing: null };

async function refreshPlayground() {
  const select = $("#pg-source");
  const keep = select.value;
  select.replaceChildren(el("option", { value: "sample" }, "sample scene"),
    ...Object.keys(state.inputs).map((s) => el("option", { value: s }, s === "draw" ? "your drawing" : "your upload")),
    ...(pg.own ? [el("option", { value: "own" }, pg.own.name)] : []));
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "sample";
  if (pg.ready) return applyFilter();
  pg.ready = true;
  try {
    const [{ kernels }, { examples }] = await Promise.all([api("/api/filters"), api("/api/examples")]);
    pg.kernels = kernels;
    pg.examples = examples;
    $("#pg-kernel").replaceChildren(...kernels.map((k) => el("option", { value: k.name }, k.label)), el("option", { value: "custom" }, "your own (type below)"));
    $("#pg-kernel").value = kernels.some((k) => k.name === "sobel-x") ? "sobel-x" : kernels[0].name;
    pickKernel();
    $("#ex-select").replaceChildren(...examples.map((e, i) => el("option", { value: i }, e.title)));
    showExample(0);
  } catch (err) {
    say("playground", err.message);
  }
}

function setupPlayground() {
  $("#pg-kernel").addEventListener("change", pickKernel);
  $$("input[name=pg-size]").forEach((r) => r.addEventListener("change", () => { buildGrid(Number(r.value), null); $("#pg-kernel").value = "custom"; scheduleFilter(); }));
  $("#pg-display").addEventListener("change", scheduleFilter);
  $("#pg-source").addEventListener("change", scheduleFilter);
  $("#pg-file").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (!f) return;
    pg.own = f;
    refreshPlayground().then(() => { $("#pg-source").value = "own"; applyFilter(); });
  });
  $("#ex-select").addEventListener("change", (e) => showExample(Number(e.target.value)));
  $("#ex-prev").addEventListener("click", () => { stopPlay(); stepExample(-1); });
  $("#ex-next").addEventListener("click", () => { stopPlay(); stepExample(1); });
  $("#ex-play").addEventListener("click", () => {
    if (pg.playing) { stopPlay(); return; }
    $("#ex-play").textContent = "❚❚ pause";
    pg.playing = setInterval(() => stepExample(1, true), 900);
  });
}

function pickKernel() {
  const name = $("#pg-kernel").value;
  const k = pg.kernels.find((x) => x.name === name);
  if (k) {
    buildGrid(k.weights.length, k.weights);
    $$("input[name=pg-size]").forEach((r) => { r.checked = Number(r.value) === k.weights.length; });
    $("#pg-caption").textContent = `${k.label}${k.display !== "clip" ? ` · shown ${k.display === "abs" ? "as |value|" : "signed"}` : ""}`;
  }
  scheduleFilter();
}

function buildGrid(n, weights) {
  const grid = $("#pg-grid");
  const old = readGrid();
  grid.style.gridTemplateColumns = `repeat(${n}, auto)`;
  const cells = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let v = weights ? weights[i][j] : (old && old.length === n ? old[i][j] : (i === (n - 1) / 2 && j === (n - 1) / 2 ? 1 : 0));
    v = Math.round(v * 10000) / 10000;
    const input = el("input", { type: "text", value: String(v), inputmode: "decimal", "aria-label": `weight row ${i + 1} column ${j + 1}` });
    input.addEventListener("input", () => { $("#pg-kernel").value = "custom"; $("#pg-caption").textContent = "your kernel"; scheduleFilter(); });
    cells.push(input);
  }
  grid.replaceChildren(...cells);
}

function readGrid() {
  const cells = $$("#pg-grid input");
  if (!cells.length) return null;
  const n = Math.round(Math.sqrt(cells.length));
  const rows = [];
  for (let i = 0; i < n; i++) rows.push(cells.slice(i * n, i * n + n).map((c) => c.value.trim()));
  return rows;
}

function scheduleFilter() {
  clearTimeout(pg.timer);
  pg.timer = setTimeout(applyFilter, 150);
}

async function applyFilter() {
  if (!pg.kernels.length) return;
  const source = $("#pg-source").value;
  const file = source === "own" ? pg.own : source === "sample" ? null : state.inputs[source] && state.inputs[source].blob;
  const name = $("#pg-kernel").value;
  const fields = { display: $("#pg-display").value, file };
  if (name === "custom") fields.weights = readGrid().map((r) => r.join(" ")).join("; ");
  else fields.kernel = name;
  try {
    const out = await api("/api/filter", { method: "POST", body: formOf(fields) });
    $("#pg-original").src = out.original;
    $("#pg-filtered").src = out.filtered;
    const small = Math.max(...out.size) < 100;
    $("#pg-original").classList.toggle("pixelated", small);
    $("#pg-filtered").classList.toggle("pixelated", small);
    $("#pg-filtered-cap").textContent = `filtered (shown ${out.display === "clip" ? "clipped to 0–255" : out.display === "abs" ? "as |value|" : "signed: gray = 0"})`;
    $("#pg-range").textContent = `output range ${out.min.toFixed(0)} … ${out.max.toFixed(0)}`;
    say("playground", "");
  } catch (err) {
    say("playground", err.message);
  }
}

function stopPlay() {
  clearInterval(pg.playing);
  pg.playing = null;
  $("#ex-play").textContent = "▶ play";
}

function gridTable(table, m, cls) {
  table.replaceChildren(...m.map((row, i) => el("tr", {}, row.map((v, j) => el("td", { class: cls ? cls(i, j) : null, text: v })))));
}

function showExample(i) {
  stopPlay();
  pg.example = pg.examples[i];
  pg.step = pg.example.focus ? pg.example.focus[0] * pg.example.feature_map[0].length + pg.example.focus[1] : 0;
  const ex = pg.example;
  $("#ex-title").textContent = ex.title + (ex.matches ? "  ✓ matches the course" : "");
  $("#ex-note").textContent = ex.note || "";
  $("#ex-input-title").textContent = ex.padding ? `input, zero-padded by ${ex.padding}` : "input";
  gridTable($("#ex-kernel"), ex.kernel);
  $("#ex-pool-wrap").hidden = !ex.pooled;
  if (ex.pooled) {
    $("#ex-pool-title").textContent = `max pooling ${ex.pool}×${ex.pool}`;
    gridTable($("#ex-pool"), ex.pooled);
  }
  renderStep();
}

function stepExample(delta, wrap = false) {
  const ex = pg.example;
  const total = ex.feature_map.length * ex.feature_map[0].length;
  let next = pg.step + delta;
  if (wrap) next = (next + total) % total;
  pg.step = Math.max(0, Math.min(total - 1, next));
  renderStep();
}

function renderStep() {
  const ex = pg.example;
  const ow = ex.feature_map[0].length, oh = ex.feature_map.length;
  const r = Math.floor(pg.step / ow), c = pg.step % ow;
  const k = ex.kernel.length, s = ex.stride, p = ex.padding;
  const n = ex.padded.length, m = ex.padded[0].length;
  gridTable($("#ex-input"), ex.padded, (i, j) => {
    const inWin = i >= r * s && i < r * s + k && j >= c * s && j < c * s + k;
    const pad = i < p || j < p || i >= n - p || j >= m - p;
    return [inWin ? "win" : "", pad ? "pad" : ""].join(" ").trim() || null;
  });
  gridTable($("#ex-output"), ex.feature_map.map((row, i) => row.map((v, j) => (i * ow + j <= pg.step ? v : "·"))),
    (i, j) => (i === r && j === c ? "cur" : i * ow + j < pg.step ? "done" : "future"));
  $("#ex-output-title").textContent = `feature map ${oh}×${ow}`;
  $("#ex-pos").textContent = `cell ${pg.step + 1} of ${oh * ow}`;
  $("#ex-equation").textContent = ex.cells[r][c];
}

// ── 5. Runs ─────────────────────────────────────────────────────────────────────────────────────────────
const runsView = { selected: [], job: null, source: null, poll: null };

async function refreshRunsTab() {
  try {
    await loadRuns();
  } catch (err) {
    say("runs", err.message);
    return;
  }
  renderRunsTable();
  runsView.selected = runsView.selected.filter((n) => state.runs.some((r) => r.name === n));
  if (!runsView.selected.length && state.runs.length) runsView.selected = [state.runs[state.runs.length - 1].name];
  renderRunsTable();
  renderRunDetails();
  setupTrainForm();
}

function renderRunsTable() {
  const body = $("#runs-table tbody");
  $("#runs-empty").hidden = state.runs.length > 0;
  body.replaceChildren(...state.runs.map((r) => {
    const ticked = runsView.selected.includes(r.name);
    const box = el("input", { type: "checkbox", title: "compare", checked: ticked });
    box.addEventListener("click", (e) => { e.stopPropagation(); toggleRun(r.name, box.checked); });
    const best = r.best && r.best.value != null ? `${r.best.monitor} ${fmt(r.best.value)} (ep ${r.best.epoch})` : "–";
    return el("tr", { class: ticked ? "selected" : null, onclick: () => { runsView.selected = [r.name]; renderRunsTable(); renderRunDetails(); } },
      el("td", {}, box), el("td", { class: "name", text: r.name }), el("td", { text: r.dataset || "–" }),
      el("td", { text: r.model || "–" }), el("td", {}, el("span", { class: `badge ${r.status}`, text: r.status })),
      el("td", { text: `${r.epochs_run}${r.epochs ? ` / ${r.epochs}` : ""}` }), el("td", { text: best }),
      el("td", { text: r.test_acc != null ? `${(100 * r.test_acc).toFixed(2)}%` : "–" }));
  }));
}

function toggleRun(name, on) {
  const sel = runsView.selected.filter((n) => n !== name);
  if (on) sel.push(name);
  runsView.selected = sel.slice(-2);
  renderRunsTable();
  renderRunDetails();
}

async function renderRunDetails() {
  const box = $("#run-details");
  try {
    const details = await Promise.all(runsView.selected.map((n) => api(`/api/runs/${encodeURIComponent(n)}`)));
    box.replaceChildren(...details.map(runCard));
    for (const d of details) drawRunCharts(d);
  } catch (err) {
    say("runs", err.message);
  }
}

function runCard(d) {
  const m = d.metrics || {};
  const report = m.test || m.val;
  const split = m.test ? "test" : "val";
  const cfg = d.config || {};
  const kv = [["data", d.dataset], ["model", d.model], ["input", d.input_shape ? d.input_shape.join("×") : "–"],
    ["classes", d.classes.length], ["optimizer", `${cfg.optimizer || "–"}, lr ${cfg.lr ?? "default"}, batch ${cfg.batch_size}`],
    ["epochs", `${d.epochs_run} of ${d.epochs}`], ["augment", cfg.augment || "none"],
    [`${split} accuracy`, report ? `${(100 * report.acc).toFixed(2)}%` : "–"], [`${split} loss`, report ? fmt(report.loss) : "–"],
    ["time", m.seconds != null ? `${m.seconds.toFixed(1)} s` : "–"]];
  const id = d.name.replace(/[^A-Za-z0-9_-]/g, "_");
  return el("div", { class: "card run-card" },
    el("div", { class: "card-head" }, el("h2", { class: "run-title", text: d.name }), el("span", { class: `badge ${d.status}`, text: d.status })),
    el("dl", { class: "kv" }, kv.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
    el("div", { class: "section-title", text: "curves" }),
    el("canvas", { class: "chart", id: `loss-${id}` }), el("canvas", { class: "chart", id: `acc-${id}` }),
    report ? [el("div", { class: "section-title", text: `confusion matrix (${split})` }), confusionTable(report.confusion_matrix, d.classes),
      el("div", { class: "section-title", text: "per class" }), perClassTable(report.per_class)] :
      el("p", { class: "hint", text: "No metrics yet (the run has not finished)." }));
}

function confusionTable(matrix, classes) {
  const short = classes.map((c) => String(c).slice(0, 7));
  return el("table", { class: "confusion" },
    el("tr", {}, el("th", { class: "axis", text: "true ↓ / predicted →" }), short.map((c) => el("th", { text: c }))),
    matrix.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      return el("tr", {}, el("th", { text: short[i] }), row.map((v, j) => {
        const f = v / total;
        const bg = i === j ? `rgba(18,128,92,${0.1 + 0.85 * f})` : `rgba(192,54,44,${Math.min(0.9, 2.5 * f)})`;
        return el("td", { style: `background:${v ? bg : "#f7f8fb"};color:${f > 0.5 ? "#fff" : "#1d2330"}`, title: `true ${classes[i]}, predicted ${classes[j]}: ${v}`, text: v });
      }));
    }));
}

function perClassTable(perClass) {
  return el("table", { class: "per-class" }, el("tr", {}, ["class", "precision", "recall", "F1", "support"].map((h) => el("th", { text: h }))),
    Object.entries(perClass || {}).map(([c, v]) => el("tr", {}, el("td", { text: c }), el("td", { text: fmt(v.precision, 3) }),
      el("td", { text: fmt(v.recall, 3) }), el("td", { text: fmt(v.f1, 3) }), el("td", { text: v.support }))));
}

function drawRunCharts(d) {
  const id = d.name.replace(/[^A-Za-z0-9_-]/g, "_");
  const h = d.history || [];
  const pts = (key) => h.filter((r) => r[key] != null).map((r) => [r.epoch, r[key]]);
  lineChart($(`#loss-${id}`), { title: "loss", fromZero: false, series: [{ name: "train", color: "#3451c6", points: pts("train_loss") }, { name: "val", color: "#e8590c", points: pts("val_loss") }] });
  lineChart($(`#acc-${id}`), { title: "accuracy", percent: true, fromZero: false, series: [{ name: "train", color: "#3451c6", points: pts("train_acc") }, { name: "val", color: "#e8590c", points: pts("val_acc") }] });
}

// A line chart on a <canvas>: axes with round ticks, a legend, one polyline (and dots) per series.
function lineChart(canvas, { title, series, percent = false, xMax = null, fromZero = true }) {
  if (!canvas) return;
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth || 400, H = canvas.clientHeight || 240;
  canvas.width = W * dpr;
  canvas.height = H * dpr;
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, W, H);
  const all = series.flatMap((s) => s.points);
  const pad = { l: 52, r: 14, t: 26, b: 30 };
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = "#1d2330";
  ctx.font = "600 13px system-ui, sans-serif";
  ctx.fillText(title, pad.l, 16);
  if (!all.length) {
    ctx.fillStyle = "#667085";
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText("no data yet", pad.l, H / 2);
    return;
  }
  let x1 = Math.max(xMax || 0, ...all.map((p) => p[0]), 1);
  let x0 = fromZero || x1 <= 1 ? 0 : Math.min(...all.map((p) => p[0]));
  let y0 = Math.min(...all.map((p) => p[1])), y1 = Math.max(...all.map((p) => p[1]));
  if (percent) { y0 = Math.max(0, Math.floor(y0 * 10) / 10); y1 = Math.min(1, Math.ceil(y1 * 10) / 10 || 1); }
  else { y0 = Math.min(0, y0); y1 = y1 * 1.05 || 1; }
  if (y1 - y0 < 1e-9) y1 = y0 + 1;
  const X = (x) => pad.l + (x - x0) / (x1 - x0) * (W - pad.l - pad.r);
  const Y = (y) => H - pad.b - (y - y0) / (y1 - y0) * (H - pad.t - pad.b);
  ctx.strokeStyle = "#e3e6ee";
  ctx.fillStyle = "#667085";
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  const ystep = niceStep((y1 - y0) / 5);
  for (let v = Math.ceil(y0 / ystep) * ystep; v <= y1 + 1e-9; v += ystep) {
    ctx.beginPath(); ctx.moveTo(pad.l, Y(v)); ctx.lineTo(W - pad.r, Y(v)); ctx.stroke();
    const label = percent ? `${Math.round(v * 100)}%` : (Math.abs(v) < 10 ? v.toFixed(ystep < 0.1 ? 2 : 1) : v.toFixed(0));
    ctx.fillText(label, pad.l - 6 - ctx.measureText(label).width, Y(v) + 4);
  }
  const xstep = Math.max(1, niceStep((x1 - x0) / 8));
  for (let v = x0; v <= x1 + 1e-9; v += xstep) {
    ctx.fillText(String(v), X(v) - 3, H - pad.b + 15);
  }
  ctx.fillText("epoch", W - pad.r - 34, H - 4);
  ctx.strokeStyle = "#98a2b3";
  ctx.beginPath(); ctx.moveTo(pad.l, pad.t - 4); ctx.lineTo(pad.l, H - pad.b); ctx.lineTo(W - pad.r, H - pad.b); ctx.stroke();
  let lx = W - pad.r;
  for (const s of [...series].reverse()) {
    if (!s.points.length) continue;
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dashed ? [5, 4] : []);
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
    ctx.setLineDash([]);
    if (!s.noDots) for (const [x, y] of s.points) { ctx.beginPath(); ctx.arc(X(x), Y(y), 3, 0, 2 * Math.PI); ctx.fill(); }
    ctx.font = "12px system-ui, sans-serif";
    const w = ctx.measureText(s.name).width;
    lx -= w + 26;
    ctx.fillRect(lx, 8, 14, 3);
    ctx.fillStyle = "#1d2330";
    ctx.fillText(s.name, lx + 18, 13);
  }
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

// ── training from the page ──────────────────────────────────────────────────────────────────────────────
let trainFormReady = false;

function setupTrainForm() {
  const cfg = state.config;
  $("#train-off").hidden = cfg.allow_train;
  $("#train-form").hidden = !cfg.allow_train;
  if (!cfg.allow_train || trainFormReady) return;
  trainFormReady = true;
  const data = [...new Set(["mnist-mini", ...cfg.datasets, ...cfg.run_data])];
  $("#train-data").replaceChildren(...data.map((d) => el("option", { value: d }, d.length > 38 ? `…${d.slice(-36)}` : d)));
  $("#train-model").replaceChildren(...cfg.models.map((m) => el("option", { value: m }, m)));
  $("#train-model").value = cfg.models.includes("cnn") ? "cnn" : cfg.models[0];
  $("#train-form").addEventListener("submit", startTraining);
  $("#train-cancel").addEventListener("click", async () => {
    if (!runsView.job) return;
    try { await api(`/api/jobs/${runsView.job.id}/cancel`, { method: "POST" }); } catch (err) { say("runs", err.message); }
  });
  if (cfg.running_job) followJob({ id: cfg.running_job, request: {} });
}

async function startTraining(e) {
  e.preventDefault();
  const body = {};
  for (const [k, v] of new FormData($("#train-form")).entries()) if (v !== "") body[k] = v;
  try {
    const job = await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    say("runs", "");
    followJob(job);
  } catch (err) {
    say("runs", err.message);
  }
}

function followJob(job) {
  runsView.job = { id: job.id, events: [], live: { steps: [], epochs: [] }, epochs: (job.request && job.request.epochs) || 1 };
  $("#train-live").hidden = false;
  $("#train-start").disabled = true;
  $("#train-cancel").disabled = false;
  setJobState("running");
  drawLive();
  if (runsView.source) runsView.source.close();
  if (window.EventSource) {
    const source = new EventSource(`/api/jobs/${job.id}/events`);
    runsView.source = source;
    source.addEventListener("progress", (m) => onJobEvent(JSON.parse(m.data)));
    source.addEventListener("done", (m) => { source.close(); jobDone(JSON.parse(m.data)); });
    source.onerror = () => { source.close(); pollJob(job.id, runsView.job.events.length); };
  } else {
    pollJob(job.id, 0);
  }
}

async function pollJob(id, since) {
  try {
    const out = await api(`/api/jobs/${id}?since=${since}`);
    for (const e of out.events) onJobEvent(e);
    if (out.state === "running" || out.state === "queued") setTimeout(() => pollJob(id, out.next), 1000);
    else jobDone(out);
  } catch (err) {
    say("runs", err.message);
  }
}

function onJobEvent(e) {
  const job = runsView.job;
  if (!job || job.events.some((x) => x.seq === e.seq)) return;
  job.events.push(e);
  const live = job.live;
  if (e.event === "data") { job.run = e.run_dir; job.data = e; }
  if (e.event === "start") job.epochs = e.epochs;
  if (e.event === "step") live.steps.push([e.epoch - 1 + e.step / e.steps, e.loss, e.acc]);
  if (e.event === "epoch_end") live.epochs.push(e);
  const status = $("#train-status");
  if (e.event === "data") status.textContent = `data ${e.name}: ${Object.entries(e.splits).map(([k, v]) => `${k} ${v}`).join(", ")} · model ${e.model} · run ${e.run_dir}`;
  if (e.event === "step") status.textContent = `epoch ${e.epoch}/${job.epochs} · step ${e.step}/${e.steps} · loss ${fmt(e.loss)} · acc ${pct(e.acc)} · ${Math.round(e.images_per_s)} images/s`;
  if (e.event === "epoch_end") status.textContent = `epoch ${e.epoch}/${job.epochs} done · train loss ${fmt(e.train_loss)} · val acc ${e.val_acc != null ? pct(e.val_acc) : "–"} · ${e.seconds.toFixed(1)} s`;
  if (e.event === "cancelling") status.textContent = "cancelling at the next progress report…";
  if (["step", "epoch_end", "start"].includes(e.event)) drawLive();
  if (e.event === "epoch_end") loadRuns().then(renderRunsTable).catch(() => {});  // the new run, epoch by epoch
}

function drawLive() {
  const job = runsView.job;
  const live = job.live;
  const xMax = job.epochs || 1;
  lineChart($("#train-loss"), { title: "loss (live)", xMax, series: [
    { name: "train (running)", color: "#9aa9d9", points: live.steps.map((s) => [s[0], s[1]]), noDots: true },
    { name: "train", color: "#3451c6", points: live.epochs.map((e) => [e.epoch, e.train_loss]) },
    { name: "val", color: "#e8590c", points: live.epochs.filter((e) => e.val_loss != null).map((e) => [e.epoch, e.val_loss]) }] });
  lineChart($("#train-acc"), { title: "accuracy (live)", percent: true, xMax, series: [
    { name: "train (running)", color: "#9aa9d9", points: live.steps.map((s) => [s[0], s[2]]), noDots: true },
    { name: "train", color: "#3451c6", points: live.epochs.map((e) => [e.epoch, e.train_acc]) },
    { name: "val", color: "#e8590c", points: live.epochs.filter((e) => e.val_acc != null).map((e) => [e.epoch, e.val_acc]) }] });
}

function setJobState(s) {
  const badge = $("#train-state");
  badge.textContent = s;
  badge.className = `badge ${s}`;
}

async function jobDone(job) {
  setJobState(job.state);
  $("#train-start").disabled = false;
  $("#train-cancel").disabled = true;
  const status = $("#train-status");
  if (job.state === "finished") {
    const end = runsView.job.events.find((e) => e.event === "end");
    const acc = end && end.reports ? Object.entries(end.reports).map(([k, v]) => `${k} acc ${pct(v.acc)}`).join(" · ") : "";
    status.textContent = `finished: ${job.run} ${acc ? "· " + acc : ""}`;
    runsView.selected = [job.run];
  } else if (job.state === "failed") {
    status.textContent = `failed: ${job.error}`;
  } else {
    status.textContent = `${job.state}.`;
  }
  await refreshRunsTab();
}

// ── start ───────────────────────────────────────────────────────────────────────────────────────────────
async function main() {
  setupDraw();
  setupUpload();
  setupInside();
  setupPlayground();
  try {
    state.config = await api("/api/config");
    $("#version").textContent = state.config.version;
    $("#upload-limit").textContent = (state.config.max_upload_bytes / 1048576).toFixed(0);
    await loadRuns();
    if (!state.runs.length) say("draw", "No runs found. Train one with `cnnlab train mnist-mini`, then reload this page.", true);
  } catch (err) {
    say("draw", `The server did not answer: ${err.message}`);
  }
  showTab(location.hash.slice(1) || "draw");
  document.body.dataset.ready = "1";
}

main();
