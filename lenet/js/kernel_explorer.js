// The kernel explorer of chapter 2 (lenet.widgets.kernel_explorer): choose a kernel or type the
// 3x3 weights; the image is filtered here, in the browser, with applyKernel (common.js), which
// computes lenet.kernels.apply_kernel. Works with a kernel (Jupyter, Colab) and without (the HTML
// book). For the tests, the element carries el.lenet = {image, filtered, kernel, height, width, ...}.

function render({ model, el }) {
  addStyle(el);
  el.dataset.lenetWidget = "kernel-explorer";
  const h = model.get("height"), w = model.get("width");
  const image = decodeFloat32(model.get("image"));
  const kernels = model.get("kernels");
  const [lo, hi] = minMax(image);

  const select = el_("select", { className: "lenet-kernel" });
  for (const k of kernels) select.append(el_("option", { value: k.name }, k.title));
  select.append(el_("option", { value: "custom" }, "Custom 3x3 (edit the grid)"));
  const cells = [];
  const grid = el_("div", { className: "lenet-grid3" });
  for (let i = 0; i < 9; i++) {
    const c = el_("input", { type: "number", step: "0.1", className: "lenet-cell" });
    cells.push(c);
    grid.append(c);
  }
  const clip = el_("input", { type: "checkbox", className: "lenet-clip" });
  const note = el_("span", { className: "lenet-note" });
  const controls = el_("div", {},
    el_("label", {}, "Kernel ", select),
    el_("div", { className: "lenet-note" }, "Kernel weights (typing switches to Custom):"), grid,
    el_("label", {}, clip, " clip to the input's range"), note);

  const size = Math.min(256, 2 * w);
  const inPanel = canvasFor(h, w, size, `input ${h}x${w}`);
  const kPanel = canvasFor(5, 5, 110, "kernel");
  const outPanel = canvasFor(h, w, size, "output");
  el.append(el_("div", { className: "lenet-row" }, controls, inPanel.box, kPanel.box, outPanel.box));
  paintGray(inPanel.canvas, grayPixels(image, lo, hi), h, w);

  function current() {
    const name = model.get("kernel");
    if (name === "custom") return { name, title: "custom kernel", kh: 3, kw: 3, weights: Float32Array.from(model.get("custom")) };
    const k = kernels.find((k) => k.name === name);
    return { name, title: k.title, kh: k.shape[0], kw: k.shape[1], weights: Float32Array.from(k.weights) };
  }

  function update() {
    const k = current();
    select.value = k.name;
    clip.checked = model.get("clip");
    const fits = k.kh === 3 && k.kw === 3;
    cells.forEach((c, i) => {
      c.disabled = !fits && k.name !== "custom";
      if (document.activeElement !== c) c.value = fits ? +k.weights[i].toFixed(4) : "";
    });
    note.textContent = fits ? "" : ` (${k.kh}x${k.kw}: not shown in the grid)`;
    const filtered = applyKernel(image, h, w, k.weights, k.kh, k.kw, model.get("clip"));
    const [olo, ohi] = model.get("clip") ? [lo, hi] : minMax(filtered);
    paintGray(outPanel.canvas, grayPixels(filtered, olo, ohi), h, w);
    const [flo, fhi] = minMax(filtered);
    outPanel.caption.textContent = `output, range [${flo.toFixed(2)}, ${fhi.toFixed(2)}]`;
    kPanel.canvas.width = k.kw;
    kPanel.canvas.height = k.kh;
    paintDiverging(kPanel.canvas, k.weights, k.kh, k.kw);
    kPanel.caption.textContent = k.title;
    el.lenet = { image, filtered, kernel: Array.from(k.weights), kernelShape: [k.kh, k.kw], height: h, width: w,
                 outputLevels: grayPixels(filtered, olo, ohi) };
  }

  select.addEventListener("change", () => {
    const chosen = select.value;   // read first: each model.set below redraws, and resets the menu
    if (chosen === "custom") {     // start from the weights the grid shows
      model.set("custom", cells.map((c) => parseFloat(c.value) || 0));
    }
    model.set("kernel", chosen);
    model.save_changes();
  });
  cells.forEach((c) => c.addEventListener("input", () => {
    model.set("custom", cells.map((c) => parseFloat(c.value) || 0));
    model.set("kernel", "custom");
    model.save_changes();
  }));
  clip.addEventListener("change", () => { model.set("clip", clip.checked); model.save_changes(); });
  model.on("change:kernel", update);
  model.on("change:custom", update);
  model.on("change:clip", update);
  update();
}

export default { render };
