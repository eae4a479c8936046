// Shared by the book's live widgets (lenet/widgets.py and lenet/draw.py prepend it to each
// widget's module): decoding the arrays Python sends, the arithmetic of lenet.kernels,
// lenet.pooling and lenet.draw written once more in JavaScript, and drawing arrays on canvases.
// Every function here mirrors a Python function named in its comment; the browser tests
// (tests/test_book_browser.py) check that both compute the same numbers.

/* ------------------------------------------------------------------ arrays from Python */

function decodeFloat32(b64) {
  // Python: base64 of numpy float32 bytes (little endian), see lenet.widgets._b64.
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function minMax(a) {
  let lo = Infinity, hi = -Infinity;
  for (const v of a) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

/* ------------------------------------------------------------------ lenet.kernels.apply_kernel */

function applyKernel(img, h, w, k, kh, kw, clip) {
  // 'same' size: edge-replicated padding, then a cross-correlation (F.conv2d) with the kernel.
  const ph = Math.floor(kh / 2), pw = Math.floor(kw / 2);
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = 0; i < kh; i++) {
        const yy = Math.min(h - 1, Math.max(0, y + i - ph));
        for (let j = 0; j < kw; j++) {
          const xx = Math.min(w - 1, Math.max(0, x + j - pw));
          s += img[yy * w + xx] * k[i * kw + j];
        }
      }
      out[y * w + x] = s;
    }
  }
  if (clip) {
    const [lo, hi] = minMax(img);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(hi, Math.max(lo, out[i]));
  }
  return out;
}

/* ------------------------------------------------------------------ lenet.widgets.pool_image */

const AMPLITUDE = 1.7159, SLOPE = 2 / 3;   // lenet.pooling.ScaledTanh
function squash(a) { return AMPLITUDE * Math.tanh(SLOPE * a); }

function poolImage(img, h, w, mode, k, coefficient, bias) {
  // Non-overlapping k x k windows (stride k); 'subsampling' is S2 of the 1998 paper:
  // f(coefficient * window sum + bias).
  const oh = Math.floor(h / k), ow = Math.floor(w / k);
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0, m = -Infinity;
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const v = img[(y * k + i) * w + x * k + j];
          s += v;
          if (v > m) m = v;
        }
      }
      out[y * ow + x] = mode === "max" ? m : mode === "avg" ? s / (k * k) : squash(coefficient * s + bias);
    }
  }
  return [out, oh, ow];
}

/* ------------------------------------------------------------------ drawing on canvases */

function grayPixels(a, vmin, vmax) {
  // matplotlib's imshow(cmap="gray", vmin, vmax): 256 levels, level = floor(256 x), clipped.
  const span = vmax - vmin;
  const px = new Uint8ClampedArray(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = span > 0 ? (a[i] - vmin) / span : 0;
    px[i] = Math.min(255, Math.max(0, Math.floor(x * 256)));
  }
  return px;
}

function canvasFor(h, w, cssWidth, title) {
  const box = document.createElement("figure");
  box.className = "lenet-panel";
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = cssWidth + "px";
  canvas.style.height = Math.round(cssWidth * h / w) + "px";
  canvas.style.imageRendering = "pixelated";
  const caption = document.createElement("figcaption");
  caption.textContent = title || "";
  box.append(canvas, caption);
  return { box, canvas, caption };
}

function paintGray(canvas, levels, h, w, invert) {
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const g = invert ? 255 - levels[i] : levels[i];
    data.data[4 * i] = data.data[4 * i + 1] = data.data[4 * i + 2] = g;
    data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

function paintDiverging(canvas, a, h, w) {
  // Red positive, blue negative, white zero, on a scale symmetric about 0 (lenet.viz.plot_kernel).
  const [lo, hi] = minMax(a);
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const t = a[i] / m;
    const r = t < 0 ? 255 * (1 + t) : 255, b = t > 0 ? 255 * (1 - t) : 255, g = 255 * (1 - Math.abs(t));
    data.data[4 * i] = r; data.data[4 * i + 1] = g; data.data[4 * i + 2] = b; data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

function el_(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "style") Object.assign(e.style, v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

const LENET_CSS = `
.lenet-widget { font-family: var(--pst-font-family-base, sans-serif); font-size: 0.9rem; margin: 0.5rem 0; }
.lenet-widget .lenet-row { display: flex; flex-wrap: wrap; gap: 0.8rem; align-items: flex-start; }
.lenet-widget figure.lenet-panel { margin: 0; text-align: center; }
.lenet-widget figcaption { font-size: 0.8rem; color: #444; margin-top: 0.2rem; }
.lenet-widget label { margin-right: 0.6rem; }
.lenet-widget input[type=number] { width: 4.6rem; }
.lenet-widget .lenet-grid3 { display: grid; grid-template-columns: repeat(3, 4.8rem); gap: 0.2rem; }
.lenet-widget .lenet-note { color: #555; font-size: 0.8rem; }
.lenet-widget canvas { border: 1px solid #ccc; }
.lenet-widget .lenet-results { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.lenet-widget { --lenet-pad-size: min(200px, 46vw); }
.lenet-widget .lenet-padrow { display: flex; flex-wrap: wrap; gap: 0.6rem 1.2rem; align-items: flex-start; }
.lenet-widget .lenet-padcol { display: flex; gap: 0.5rem; align-items: flex-start; }
.lenet-widget .lenet-seencol { display: flex; flex-direction: column; align-items: center; flex: 0 0 auto; }
.lenet-widget .lenet-seencol figcaption { font-size: 0.7rem; max-width: 88px; }
.lenet-widget .lenet-answers { display: flex; flex-direction: column; gap: 0.5rem; flex: 1 1 12rem; min-width: 0; }
.lenet-widget .lenet-answer b { font-size: 1.05rem; }
.lenet-widget .lenet-results { margin-top: 0.6rem; gap: 0.6rem 1.5rem; }
.lenet-widget .lenet-net-detail { flex: 1 1 14rem; min-width: 0; }
.lenet-widget .lenet-bar { height: 0.6rem; min-width: 1px; }
.lenet-widget table.lenet-scores { border-collapse: collapse; margin: 0.2rem 0; }
.lenet-widget table.lenet-scores td { padding: 0 0.3rem; border: none; line-height: 1.1; font-size: 0.8rem; }
.lenet-widget .lenet-maps { margin: 0.3rem 0; display: flex; flex-wrap: wrap; gap: 2px; align-items: center; }
.lenet-widget .lenet-maps .lenet-note { width: 100%; }
.lenet-widget button { margin-top: 0.3rem; }
.lenet-widget .lenet-scalebox { width: 100%; margin-top: 0.2rem; }
.lenet-widget .lenet-scalebox canvas { border: 1px solid #ccc; }
.lenet-widget .lenet-ticks { display: flex; justify-content: space-between; font-size: 0.75rem; color: #444; }
.lenet-widget .lenet-presets button { margin: 0.2rem 0.3rem 0 0; font-size: 0.8rem; }
`;

function addStyle(el) {
  el.classList.add("lenet-widget");
  const style = document.createElement("style");
  style.textContent = LENET_CSS;
  el.append(style);
}
