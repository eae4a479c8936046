// The pooling explorer of chapter 3 (lenet.widgets.pooling_explorer): max pooling, average pooling
// or the 1998 subsampling f(coefficient x window sum + bias), for a window of k x k, computed here
// with poolImage (common.js), which computes lenet.widgets.pool_image. Images are drawn as the
// chapters draw digits (matplotlib's gray_r): ink dark on a light background; a scale under the
// output says what each grey means. For the tests, the element carries
// el.lenet = {pooled, height, width, mode, window, coefficient, bias, scale, outputLevels}.

const MODES = [["max", "max pooling"], ["avg", "average pooling"], ["subsampling", "1998 subsampling"]];
// The sliders' ranges reach the settings chapter 3 names: quasi-linear (0.1, 0), noisy OR (4, -2),
// noisy AND (4, -14), and a negative coefficient (light on dark).
const COEFFICIENT = { min: -5, max: 5, step: 0.05 };
const BIAS = { min: -16, max: 16, step: 0.1 };
// The chapter's settings, one click each ("average" is 1/k^2, the window's mean).
const PRESETS = [["average: 1/k\u00b2, 0", null, 0], ["quasi-linear: 0.1, 0", 0.1, 0], ["noisy OR: 4, \u22122", 4, -2],
  ["noisy AND: 4, \u221214", 4, -14]];

function scaleBar(vmin, vmax, labels) {
  // A gray_r colour scale from vmin (white) to vmax (black), with its values written under it.
  const bar = document.createElement("canvas");
  bar.width = 256; bar.height = 1;
  bar.className = "lenet-scale";
  Object.assign(bar.style, { width: "100%", height: "0.7rem", imageRendering: "pixelated", display: "block" });
  const ramp = new Float32Array(256).map((_, i) => vmin + (vmax - vmin) * (i + 0.5) / 256);
  paintGray(bar, grayPixels(ramp, vmin, vmax), 1, 256, true);
  const ticks = el_("div", { className: "lenet-ticks" }, ...labels.map((t) => el_("span", {}, t)));
  return el_("div", { className: "lenet-scalebox" }, bar, ticks);
}

function render({ model, el }) {
  addStyle(el);
  el.dataset.lenetWidget = "pooling-explorer";
  const h = model.get("height"), w = model.get("width");
  const image = decodeFloat32(model.get("image"));
  const [lo, hi] = minMax(image);

  const radios = MODES.map(([value, label]) => {
    const r = el_("input", { type: "radio", name: "mode-" + Math.random().toString(36).slice(2), value });
    return [r, el_("label", {}, r, " " + label)];
  });
  const slider = (name, range) => {
    const input = el_("input", { type: "range", min: range.min, max: range.max, step: range.step, className: "lenet-" + name });
    const shown = el_("span", { className: "lenet-value" });
    return [input, shown, el_("label", {}, `${name} `, input, " ", shown)];
  };
  const [win, winShown, winLabel] = slider("window", { min: 2, max: 4, step: 1 });
  const [coef, coefShown, coefLabel] = slider("coefficient", COEFFICIENT);
  const [bias, biasShown, biasLabel] = slider("bias", BIAS);
  const presets = PRESETS.map(([label, c, b]) => {
    const button = el_("button", { type: "button", className: "lenet-preset" }, label);
    button.addEventListener("click", () => {
      const k = model.get("window");
      model.set("mode", "subsampling");
      model.set("coefficient", c === null ? 1 / (k * k) : c);
      model.set("bias", b);
      model.save_changes();
    });
    return button;
  });
  const note = el_("div", { className: "lenet-note" },
    "Coefficient and bias act in the 1998 subsampling only: f(coefficient \u00d7 window sum + bias), f(a) = 1.7159 tanh(2a/3). " +
    "Ink is dark, as in the chapters' figures; under each image its grey scale: the subsampling's output lies in " +
    "\u00b11.7159, from white (\u22121.7159) through mid grey (0) to black (+1.7159).");
  const controls = el_("div", {}, el_("div", {}, ...radios.map((r) => r[1])), winLabel, el_("br"), coefLabel, biasLabel,
    el_("div", { className: "lenet-presets" }, el_("span", { className: "lenet-note" }, "1998 settings: "), ...presets), note);
  const cssWidth = Math.max(160, Math.min(256, 4 * w));   // room for the scale's labels under each image
  const inPanel = canvasFor(h, w, cssWidth, `input ${h}x${w}`);
  const outPanel = canvasFor(h, w, cssWidth, "output");
  for (const panel of [inPanel, outPanel]) panel.box.style.width = cssWidth + "px";
  inPanel.canvas.classList.add("lenet-input");
  outPanel.canvas.classList.add("lenet-output");
  inPanel.box.append(scaleBar(lo, hi, [fmt(lo), fmt((lo + hi) / 2), fmt(hi)]));
  const outScaleBox = el_("div", {});
  outPanel.box.append(outScaleBox);
  el.append(controls, el_("div", { className: "lenet-row" }, inPanel.box, outPanel.box));
  paintGray(inPanel.canvas, grayPixels(image, lo, hi), h, w, true);

  function fmt(v) { return Number.isInteger(v) ? String(v) : v.toFixed(2).replace("-", "\u2212"); }

  let shownScale = "";
  function update() {
    const mode = model.get("mode"), k = model.get("window");
    const c = model.get("coefficient"), b = model.get("bias");
    radios.forEach(([r]) => { r.checked = r.value === mode; });
    win.value = k; winShown.textContent = k;
    coef.value = c; coefShown.textContent = c.toFixed(2);
    bias.value = b; biasShown.textContent = b.toFixed(1);
    coef.disabled = bias.disabled = mode !== "subsampling";
    const [pooled, oh, ow] = poolImage(image, h, w, mode, k, c, b);
    const [vmin, vmax] = mode === "subsampling" ? [-AMPLITUDE, AMPLITUDE] : [lo, hi];
    outPanel.canvas.width = ow;
    outPanel.canvas.height = oh;
    const levels = grayPixels(pooled, vmin, vmax);
    paintGray(outPanel.canvas, levels, oh, ow, true);
    const key = mode === "subsampling" ? "f" : "input";
    if (key !== shownScale) {   // the output's colour scale: the input's range, or f's range with 0 as mid grey
      outScaleBox.replaceChildren(mode === "subsampling"
        ? scaleBar(vmin, vmax, ["\u22121.7159", "0", "+1.7159"])
        : scaleBar(vmin, vmax, [fmt(lo), fmt((lo + hi) / 2), fmt(hi)]));
      shownScale = key;
    }
    const label = MODES.find((m) => m[0] === mode)[1];
    outPanel.caption.textContent = `${label}, ${k}x${k}: ${oh}x${ow}`;
    el.lenet = { image, imageHeight: h, imageWidth: w, pooled, height: oh, width: ow, mode, window: k, coefficient: c, bias: b,
                 scale: [vmin, vmax], outputLevels: levels };
  }

  radios.forEach(([r]) => r.addEventListener("change", () => { model.set("mode", r.value); model.save_changes(); }));
  win.addEventListener("input", () => { model.set("window", parseInt(win.value, 10)); model.save_changes(); });
  coef.addEventListener("input", () => { model.set("coefficient", parseFloat(coef.value)); model.save_changes(); });
  bias.addEventListener("input", () => { model.set("bias", parseFloat(bias.value)); model.save_changes(); });
  for (const name of ["mode", "window", "coefficient", "bias"]) model.on("change:" + name, update);
  update();
}

export default { render };
