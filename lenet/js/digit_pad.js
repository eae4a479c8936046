// Draw a digit (chapters 6 and 7, lenet.widgets.DigitPad): a canvas to draw on with a mouse, a
// finger or a pen; the drawing is prepared as MNIST's digits were (toMnist below, the JavaScript
// of lenet.draw.to_mnist), normalised and padded as each network was trained, and read by the
// book's trained networks, whose weights travel in the widget's state: the ten class scores and
// the feature maps of every layer, computed here, with no kernel. For the tests, the element
// carries el.lenet = {size, drawing, image28, results: {label: {input, maps, shapes, scores, digit}}}.

/* ------------------------------------------------------------------ lenet.draw.to_mnist */

function roundHalfEven(x) {
  // Python's round() and torch.round(): halves go to the even neighbour.
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function cropInk(x, h, w) {
  let r0 = h, r1 = -1, c0 = w, c1 = -1;
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) if (x[i * w + j] > 0) {
    if (i < r0) r0 = i; if (i > r1) r1 = i; if (j < c0) c0 = j; if (j > c1) c1 = j;
  }
  const nh = r1 - r0 + 1, nw = c1 - c0 + 1;
  const out = new Float64Array(nh * nw);
  for (let i = 0; i < nh; i++) for (let j = 0; j < nw; j++) out[i * nw + j] = x[(i + r0) * w + j + c0];
  return [out, nh, nw];
}

function medianLow(values) {
  // torch.median: the lower of the two middle values for an even count.
  const s = Float64Array.from(values).sort();
  return s[Math.floor((s.length - 1) / 2)];
}

function strokeWidth(x, h, w) {
  // lenet.draw.stroke_width: the median length of the ink runs along rows and along columns, the smaller.
  const runs = (get, n, m) => {
    const lengths = [];
    for (let a = 0; a < n; a++) {
      let run = 0;
      for (let b = 0; b <= m; b++) {
        const ink = b < m && get(a, b) > 0.25;
        if (ink) run++;
        else if (run) { lengths.push(run); run = 0; }
      }
    }
    return lengths;
  };
  const out = [];
  for (const r of [runs((a, b) => x[a * w + b], h, w), runs((a, b) => x[b * w + a], w, h)]) {
    if (r.length) out.push(medianLow(r));
  }
  return out.length ? Math.min(...out) : 0;
}

function areaResize(x, h, w, nh, nw) {
  // F.interpolate(mode="area") = adaptive average pooling: output i averages input rows
  // floor(i h / nh) to ceil((i + 1) h / nh) - 1 (and the same for columns).
  const out = new Float64Array(nh * nw);
  for (let i = 0; i < nh; i++) {
    const y0 = Math.floor(i * h / nh), y1 = Math.ceil((i + 1) * h / nh);
    for (let j = 0; j < nw; j++) {
      const x0 = Math.floor(j * w / nw), x1 = Math.ceil((j + 1) * w / nw);
      let s = 0;
      for (let a = y0; a < y1; a++) for (let b = x0; b < x1; b++) s += x[a * w + b];
      out[i * nw + j] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

function toMnist(drawing, h, w, prep) {
  const { box, field, stroke_px: strokePx, blur_sigma: sigma } = prep;
  let max = 0;
  const x0 = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) { x0[i] = Math.max(0, drawing[i]); if (x0[i] > max) max = x0[i]; }
  if (max <= 0) return null;
  for (let i = 0; i < h * w; i++) x0[i] /= max;
  let [x, ch, cw] = cropInk(x0, h, w);
  // a higher resolution (about 4x the final box) for smooth thickening and scaling
  const up = Math.max(1, Math.ceil(4 * box / Math.max(ch, cw)));
  let hh = ch * up, ww = cw * up;
  let hi = new Float64Array(hh * ww);
  for (let i = 0; i < hh; i++) for (let j = 0; j < ww; j++) hi[i * ww + j] = x[Math.floor(i / up) * cw + Math.floor(j / up)];
  const finalPerHi = box / (Math.max(ch, cw) * up);
  const missing = strokePx / finalPerHi - strokeWidth(x, ch, cw) * up;
  if (missing >= 2) {
    const k = Math.floor(Math.floor(missing) / 2) * 2 + 1, r = Math.floor(k / 2);
    const ph = hh + 2 * r, pw = ww + 2 * r;           // room to grow at the edges
    const grown = new Float64Array(ph * pw);
    for (let i = 0; i < ph; i++) for (let j = 0; j < pw; j++) {
      let m = -Infinity;
      for (let a = i - 2 * r; a <= i; a++) for (let b = j - 2 * r; b <= j; b++) {
        const v = a >= 0 && a < hh && b >= 0 && b < ww ? hi[a * ww + b] : 0;
        if (v > m) m = v;
      }
      grown[i * pw + j] = m;
    }
    [hi, hh, ww] = cropInk(grown, ph, pw);
  }
  const scale = box / Math.max(hh, ww);
  const nh = Math.max(1, roundHalfEven(hh * scale)), nw = Math.max(1, roundHalfEven(ww * scale));
  const small = areaResize(hi, hh, ww, nh, nw);
  let mass = 0, my = 0, mx = 0;
  for (let i = 0; i < nh; i++) for (let j = 0; j < nw; j++) {
    const v = small[i * nw + j];
    mass += v; my += v * i; mx += v * j;
  }
  const centre = (field - 1) / 2;
  const top = Math.min(Math.max(roundHalfEven(centre - my / mass), 0), field - nh);
  const left = Math.min(Math.max(roundHalfEven(centre - mx / mass), 0), field - nw);
  let img = new Float64Array(field * field);
  for (let i = 0; i < nh; i++) for (let j = 0; j < nw; j++) img[(top + i) * field + left + j] = small[i * nw + j];
  if (sigma > 0) {   // a Gaussian blur, zero padding (lenet.draw._gaussian_kernel)
    const radius = Math.max(1, Math.ceil(2 * sigma)), n = 2 * radius + 1;
    const g = [];
    for (let t = -radius; t <= radius; t++) g.push(Math.exp(-(t * t) / (2 * sigma * sigma)));
    const gs = g.reduce((a, b) => a + b, 0);
    const blurred = new Float64Array(field * field);
    for (let i = 0; i < field; i++) for (let j = 0; j < field; j++) {
      let s = 0;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) {
        const y = i + a - radius, xx = j + b - radius;
        if (y >= 0 && y < field && xx >= 0 && xx < field) s += img[y * field + xx] * (g[a] / gs) * (g[b] / gs);
      }
      blurred[i * field + j] = s;
    }
    img = blurred;
  }
  let top2 = 0;
  for (const v of img) if (v > top2) top2 = v;
  const out = new Uint8Array(field * field);
  for (let i = 0; i < img.length; i++) out[i] = Math.min(255, Math.max(0, roundHalfEven((img[i] / top2) * 255)));
  return out;
}

/* ------------------------------------------------------------------ the two LeNet-5s */

function conv2d(x, c, h, w, weight, bias, o, k, pad) {
  // F.conv2d with zero padding: x (c, h, w), weight (o, c, k, k) -> (o, h + 2 pad - k + 1, ...)
  const oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
  const out = new Float32Array(o * oh * ow);
  for (let f = 0; f < o; f++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let s = bias[f];
    for (let ci = 0; ci < c; ci++) for (let i = 0; i < k; i++) {
      const yy = y + i - pad;
      if (yy < 0 || yy >= h) continue;
      for (let j = 0; j < k; j++) {
        const xi = xx + j - pad;
        if (xi < 0 || xi >= w) continue;
        s += x[(ci * h + yy) * w + xi] * weight[((f * c + ci) * k + i) * k + j];
      }
    }
    out[(f * oh + y) * ow + xx] = s;
  }
  return [out, oh, ow];
}

function pool2(x, c, h, w, kind, coef, bias) {
  // 2x2, stride 2: "max" (nn.MaxPool2d) or "sum" times a coefficient plus a bias, squashed (S2, S4).
  const oh = h >> 1, ow = w >> 1, out = new Float32Array(c * oh * ow);
  for (let f = 0; f < c; f++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    const at = (i, j) => x[(f * h + 2 * y + i) * w + 2 * xx + j];
    const v = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
    out[(f * oh + y) * ow + xx] = kind === "max" ? Math.max(...v) : squash(coef[f] * (v[0] + v[1] + v[2] + v[3]) + bias[f]);
  }
  return out;
}

function linear(x, weight, bias, o) {
  const n = x.length, out = new Float32Array(o);
  for (let i = 0; i < o; i++) {
    let s = bias[i];
    for (let j = 0; j < n; j++) s += weight[i * n + j] * x[j];
    out[i] = s;
  }
  return out;
}

const map = (a, f) => Float32Array.from(a, f);
const relu = (v) => (v > 0 ? v : 0);

function forward(net, image28) {
  // The input, as lenet.train.input_transform prepares it: the model's normalisation, then (1998
  // network) 2 pixels of background on each side.
  const p = net.pad, size = 28 + 2 * p, x = new Float32Array(size * size).fill(net.shift);
  for (let i = 0; i < 28; i++) for (let j = 0; j < 28; j++) x[(i + p) * size + j + p] = image28[i * 28 + j] * net.scale + net.shift;
  const L = net.layers, maps = {}, shapes = {};
  const keep = (name, a, shape) => { maps[name] = a; shapes[name] = shape; return a; };
  let scores;
  if (net.kind === "classic") {
    let [a, h, w] = conv2d(x, 1, size, size, L["C1.weight"], L["C1.bias"], 6, 5, 0);
    a = keep("C1", map(a, squash), [6, h, w]);
    a = keep("S2", pool2(a, 6, h, w, "sum", L["S2.coefficient"], L["S2.bias"]), [6, h / 2, w / 2]);
    [a, h, w] = conv2d(a, 6, h / 2, w / 2, L["C3.weight"], L["C3.bias"], 16, 5, 0);
    a = keep("C3", map(a, squash), [16, h, w]);
    a = keep("S4", pool2(a, 16, h, w, "sum", L["S4.coefficient"], L["S4.bias"]), [16, h / 2, w / 2]);
    [a] = conv2d(a, 16, h / 2, w / 2, L["C5.weight"], L["C5.bias"], 120, 5, 0);
    a = keep("C5", map(a, squash), [120]);
    a = keep("F6", map(linear(a, L["F6.weight"], L["F6.bias"], 84), squash), [84]);
    const c = L["output.centres"];
    scores = new Float32Array(10);
    for (let d = 0; d < 10; d++) { let s = 0; for (let j = 0; j < 84; j++) { const t = a[j] - c[d * 84 + j]; s += t * t; } scores[d] = s; }
  } else {
    let [a, h, w] = conv2d(x, 1, size, size, L["conv1.weight"], L["conv1.bias"], 6, 5, 2);
    keep("conv1", a, [6, h, w]);
    a = keep("pool1", map(pool2(a, 6, h, w, "max"), relu), [6, h / 2, w / 2]);
    [a, h, w] = conv2d(a, 6, h / 2, w / 2, L["conv2.weight"], L["conv2.bias"], 16, 5, 0);
    keep("conv2", a, [16, h, w]);
    a = keep("pool2", map(pool2(a, 16, h, w, "max"), relu), [16, h / 2, w / 2]);
    a = keep("fc1", map(linear(a, L["fc1.weight"], L["fc1.bias"], 120), relu), [120]);
    a = keep("fc2", map(linear(a, L["fc2.weight"], L["fc2.bias"], 84), relu), [84]);
    scores = linear(a, L["fc3.weight"], L["fc3.bias"], 10);
  }
  // probabilities: a softmax of the logits, or of minus the penalties (lenet.draw.classify_drawing)
  const z = net.kind === "classic" ? map(scores, (v) => -v) : scores;
  const zmax = Math.max(...z), e = map(z, (v) => Math.exp(v - zmax)), se = e.reduce((a, b) => a + b, 0);
  const probs = map(e, (v) => v / se);
  let digit = 0;
  for (let d = 1; d < 10; d++) if (z[d] > z[digit]) digit = d;
  return { input: x, inputShape: [size, size], maps, shapes, scores, probs, digit };
}

/* ------------------------------------------------------------------ the widget */

function mapsPanel(name, a, shape) {
  // A layer's maps side by side; a layer of units as a grid (84 units as 12 x 7, like the bitmaps).
  const row = el_("div", { className: "lenet-maps" }, el_("div", { className: "lenet-note" }, `${name} ${shape.join("x")}`));
  const list = shape.length === 3 ? [...Array(shape[0]).keys()].map((f) => [a.subarray(f * shape[1] * shape[2], (f + 1) * shape[1] * shape[2]), shape[1], shape[2]])
    : [[a, shape[0] === 84 ? 12 : shape[0] === 120 ? 12 : 1, shape[0] === 84 ? 7 : shape[0] === 120 ? 10 : shape[0]]];
  const [lo, hi] = minMax(a);
  for (const [m, h, w] of list) {
    const c = document.createElement("canvas");
    c.width = w; c.height = h;
    const px = Math.max(2, Math.round((shape.length === 1 ? 72 : 42) / Math.max(h, w)));
    c.style.width = w * px + "px"; c.style.height = h * px + "px"; c.style.imageRendering = "pixelated";
    paintGray(c, grayPixels(m, lo, hi), h, w);
    row.append(c);
  }
  return row;
}

function confidence(z, digit) {
  // The winner's probability and its complement 1 - p, computed without cancellation (in doubles),
  // so that a confident answer is not rounded to 100%; and the margin of z over the runner-up.
  let others = 0, second = -Infinity, runnerUp = -1;
  for (let d = 0; d < z.length; d++) {
    if (d === digit) continue;
    others += Math.exp(z[d] - z[digit]);
    if (z[d] > second) { second = z[d]; runnerUp = d; }
  }
  return { p: 1 / (1 + others), q: others / (1 + others), margin: z[digit] - second, runnerUp };
}

function percent(p, q) {
  // A probability in percent, with the digits it needs: 3 significant digits, or for p near 1 as
  // many decimals as show the first two digits of 1 - p ("99.9987%"); "100%" only if 1 - p is 0.
  if (p < 0.999) {
    const v = 100 * p;
    return (v >= 0.001 || v === 0 ? v.toPrecision(3) : v.toExponential(1)) + "%";
  }
  if (q <= 0) return "100%";
  const decimals = Math.min(12, Math.max(1, Math.ceil(-Math.log10(100 * q)) + 1));
  return (100 - 100 * q).toFixed(decimals) + "%";
}

function penalty(v) {
  // An RBF penalty with 3 significant digits: the winner's is small but never 0 (chapter 5).
  return v >= 1000 ? v.toFixed(0) : v.toPrecision(3);
}

function render({ model, el }) {
  addStyle(el);
  el.dataset.lenetWidget = "digit-pad";
  const size = model.get("size");
  const nets = model.get("models").map((m) => ({ ...m, layers: Object.fromEntries(Object.entries(m.layers).map(([k, v]) => [k, decodeFloat32(v)])) }));
  const prep = model.get("prep");

  // The layout keeps everything a reader looks at while drawing in one screen: the pad, the 28x28
  // image the networks read, and each network's answer beside or under them (1280x900, and a 390 px
  // phone); the scores and the feature maps follow.
  const pad = canvasFor(size, size, 200, "draw a digit here");
  pad.canvas.style.touchAction = "none";
  pad.canvas.style.cursor = "crosshair";
  pad.canvas.className = "lenet-pad";
  pad.canvas.style.imageRendering = "auto";
  pad.canvas.style.width = pad.canvas.style.height = "var(--lenet-pad-size)";
  const seen = canvasFor(28, 28, 84, "what the networks read (28x28)");
  seen.canvas.classList.add("lenet-seen");
  const clear = el_("button", { type: "button", className: "lenet-clear" }, "Clear");
  const answers = el_("div", { className: "lenet-answers" });
  const results = el_("div", { className: "lenet-results" });
  el.append(el_("div", { className: "lenet-padrow" },
    el_("div", { className: "lenet-padcol" }, pad.box, el_("div", { className: "lenet-seencol" }, seen.box, clear)),
    answers), results);

  const ctx = pad.canvas.getContext("2d");
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.strokeStyle = "black";
  ctx.lineWidth = size / 12;

  function drawing() {
    const a = ctx.getImageData(0, 0, size, size).data, out = new Float32Array(size * size);
    for (let i = 0; i < size * size; i++) out[i] = a[4 * i + 3] / 255;
    return out;
  }

  function show(raw) {
    answers.replaceChildren();
    results.replaceChildren();
    const image28 = toMnist(raw, size, size, prep);
    el.lenet = { size, drawing: raw, image28, results: {}, example };
    if (!image28) {
      paintGray(seen.canvas, new Uint8Array(784), 28, 28, true);
      answers.append(el_("div", { className: "lenet-note" }, "Draw a digit: press, move, release."));
      return;
    }
    paintGray(seen.canvas, image28, 28, 28, true);
    for (const net of nets) {
      const r = forward(net, image28);
      el.lenet.results[net.label] = r;
      const classic = net.kind === "classic";
      const z = classic ? map(r.scores, (v) => -v) : r.scores;
      const c = confidence(z, r.digit);
      r.confidence = c;
      const detail = classic
        ? `penalty ${penalty(r.scores[r.digit])}; next smallest ${penalty(r.scores[c.runnerUp])} (${c.runnerUp})`
        : `probability ${percent(c.p, c.q)}; logit margin ${c.margin.toFixed(1)} over ${c.runnerUp}`;
      answers.append(el_("div", { className: "lenet-net lenet-answer", "data-net": net.label },
        el_("b", {}, `${net.title}: reads ${r.digit}`), el_("div", { className: "lenet-note" }, detail)));
      const table = el_("table", { className: "lenet-scores" });
      for (let d = 0; d < 10; d++) {
        const pd = d === r.digit ? c.p : Math.exp(z[d] - z[r.digit]) * c.p;
        const bar = el_("div", { className: "lenet-bar", style: { width: Math.round(90 * pd) + "px", background: d === r.digit ? "#c0392b" : "#7f8c8d" } });
        const value = classic ? penalty(r.scores[d]) : percent(pd, d === r.digit ? c.q : 1 - pd);
        table.append(el_("tr", {}, el_("td", {}, String(d)), el_("td", {}, bar), el_("td", { className: "lenet-note" }, value)));
      }
      const what = classic ? "RBF penalties; the smallest wins (bars: softmax of minus the penalties)" : "softmax probabilities";
      const maps = el_("details", {}, el_("summary", {}, "feature maps, layer by layer"),
        ...Object.keys(r.maps).map((name) => mapsPanel(name, r.maps[name], r.shapes[name])));
      results.append(el_("div", { className: "lenet-net-detail", "data-net-detail": net.label },
        el_("div", { className: "lenet-note" }, `${net.title}: ${what}`), table, maps));
    }
  }

  // A drawing that comes with the widget is an example: the reader's first stroke replaces it.
  let example = false;
  let down = false, last = null;
  const at = (e) => {
    const b = pad.canvas.getBoundingClientRect();
    return [(e.clientX - b.left) * size / b.width, (e.clientY - b.top) * size / b.height];
  };
  pad.canvas.addEventListener("pointerdown", (e) => {
    if (example) {
      ctx.clearRect(0, 0, size, size);
      example = false;
      pad.caption.textContent = "draw a digit here";
    }
    down = true; last = at(e);
    pad.canvas.setPointerCapture?.(e.pointerId);
    ctx.beginPath(); ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fillStyle = "black"; ctx.fill();
  });
  pad.canvas.addEventListener("pointermove", (e) => {
    if (!down) return;
    const p = at(e);
    ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke();
    last = p;
  });
  const finish = () => {
    if (!down) return;
    down = false;
    const raw = drawing();
    show(raw);
    let s = "";
    const bytes = new Uint8Array(raw.buffer);
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    model.set("drawing", btoa(s));
    model.save_changes();
  };
  pad.canvas.addEventListener("pointerup", finish);
  pad.canvas.addEventListener("pointerleave", finish);
  clear.addEventListener("click", () => {
    ctx.clearRect(0, 0, size, size);
    example = false;
    pad.caption.textContent = "draw a digit here";
    show(drawing()); model.set("drawing", ""); model.save_changes();
  });

  const initial = model.get("drawing");
  if (initial) {   // a drawing that came with the widget: paint it into the canvas
    const a = decodeFloat32(initial), img = ctx.createImageData(size, size);
    for (let i = 0; i < size * size; i++) img.data[4 * i + 3] = Math.round(255 * a[i]);
    ctx.putImageData(img, 0, 0);
    example = true;
    pad.caption.textContent = "an example: your first stroke replaces it";
  }
  show(drawing());
}

export default { render };
