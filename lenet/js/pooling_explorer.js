// The pooling explorer of chapter 3 (lenet.widgets.pooling_explorer): max pooling, average pooling
// or the 1998 subsampling f(coefficient x window sum + bias), for a window of k x k, computed here
// with poolImage (common.js), which computes lenet.widgets.pool_image. For the tests, the element
// carries el.lenet = {pooled, height, width, mode, window}.

const MODES = [["max", "max pooling"], ["avg", "average pooling"], ["subsampling", "1998 subsampling"]];

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
  const slider = (name, min, max, step) => {
    const input = el_("input", { type: "range", min, max, step, className: "lenet-" + name });
    const shown = el_("span", {});
    return [input, shown, el_("label", {}, `${name} `, input, " ", shown)];
  };
  const [win, winShown, winLabel] = slider("window", 2, 4, 1);
  const [coef, coefShown, coefLabel] = slider("coefficient", -1, 1, 0.05);
  const [bias, biasShown, biasLabel] = slider("bias", -2, 2, 0.1);
  const note = el_("div", { className: "lenet-note" },
    "Coefficient and bias act in the 1998 subsampling only: f(coefficient x window sum + bias), f(a) = 1.7159 tanh(2a/3).");
  const controls = el_("div", {}, el_("div", {}, ...radios.map((r) => r[1])), winLabel, el_("br"), coefLabel, biasLabel, note);
  const inPanel = canvasFor(h, w, 2 * Math.min(128, w * 2), `input ${h}x${w}`);
  const outPanel = canvasFor(h, w, 2 * Math.min(128, w * 2), "output");
  el.append(controls, el_("div", { className: "lenet-row" }, inPanel.box, outPanel.box));
  paintGray(inPanel.canvas, grayPixels(image, lo, hi), h, w);

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
    paintGray(outPanel.canvas, levels, oh, ow);
    const label = MODES.find((m) => m[0] === mode)[1];
    outPanel.caption.textContent = `${label}, ${k}x${k}: ${oh}x${ow}`;
    el.lenet = { image, imageHeight: h, imageWidth: w, pooled, height: oh, width: ow, mode, window: k, coefficient: c, bias: b, outputLevels: levels };
  }

  radios.forEach(([r]) => r.addEventListener("change", () => { model.set("mode", r.value); model.save_changes(); }));
  win.addEventListener("input", () => { model.set("window", parseInt(win.value, 10)); model.save_changes(); });
  coef.addEventListener("input", () => { model.set("coefficient", parseFloat(coef.value)); model.save_changes(); });
  bias.addEventListener("input", () => { model.set("bias", parseFloat(bias.value)); model.save_changes(); });
  for (const name of ["mode", "window", "coefficient", "bias"]) model.on("change:" + name, update);
  update();
}

export default { render };
