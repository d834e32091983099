// @ts-check
// The exported page: loads model.onnx with onnxruntime-web (wasm), segments a dropped or picked photo and
// draws the mask over it. The graph takes float32 [1, 3, H, W] RGB 0..255 and returns logits [1, C, H, W]
// (model-info.json: class names and colours). For tests, the last result is window.aepsl.last and
// <body data-state> says loading | ready | busy | done | error.
import * as ort from "./ort/ort.wasm.bundle.min.mjs";

/** Photos larger than this (longest side, pixels) are scaled down first; ?maxSide=N changes it. */
const params = new URLSearchParams(location.search);
const MAX_SIDE = Number(params.get("maxSide") ?? 1024);
// Threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (aepsl serve).
const threads = self.crossOriginIsolated
  ? Number(params.get("threads") ?? Math.min(4, navigator.hardwareConcurrency || 1))
  : 1;
ort.env.wasm.numThreads = threads;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const statusLine = $("status");
const state = (/** @type {string} */ s, /** @type {string} */ text) => {
  document.body.dataset.state = s;
  statusLine.textContent = text;
};

/** @type {{ ready: Promise<void>, last: null | { width: number, height: number, labels: Uint8Array, inferenceMs: number, totalMs: number, threads: number } }} */
const api = { ready: Promise.resolve(), last: null };
// @ts-ignore
window.aepsl = api;

/** @type {import("onnxruntime-web").InferenceSession} */
let session;
/** @type {{ classes: string[], colours: number[][] }} */
let info;

async function load() {
  if (location.protocol === "file:")
    throw new Error("this page was opened from disk, where browsers block its scripts and wasm: run `aepsl serve <this folder>` and open the address it prints");
  const res = await fetch("model-info.json");
  if (!res.ok) throw new Error(`model-info.json: HTTP ${res.status}`);
  info = await res.json();
  session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
  $("all-classes").replaceChildren(...info.classes.map((name, i) => legendItem(name, info.colours[i])));
  $("about").textContent = `${info.classes.length} classes · onnxruntime-web ${ort.env.versions?.web ?? ""} · wasm, ${threads} thread${threads > 1 ? "s" : ""}`;
}

/** @param {string} name @param {number[]} rgb @param {string} [extra] */
function legendItem(name, rgb, extra) {
  const li = document.createElement("li");
  const sw = document.createElement("span");
  sw.className = "swatch";
  sw.style.background = `rgb(${rgb.join(",")})`;
  li.append(sw, document.createTextNode(name));
  if (extra) {
    const s = document.createElement("span");
    s.className = "share";
    s.textContent = extra;
    li.append(s);
  }
  return li;
}

/** Decodes (EXIF orientation applied), scales down if needed, returns the pixels. @param {Blob} file */
async function decode(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return ctx.getImageData(0, 0, width, height);
}

/** @param {ImageData} image */
async function segment(image) {
  const { width, height, data } = image;
  const pixels = width * height;
  const input = new Float32Array(3 * pixels);
  for (let i = 0; i < pixels; i++) {
    input[i] = data[i * 4];
    input[pixels + i] = data[i * 4 + 1];
    input[2 * pixels + i] = data[i * 4 + 2];
  }
  const t0 = performance.now();
  const out = await session.run({ image: new ort.Tensor("float32", input, [1, 3, height, width]) });
  const inferenceMs = performance.now() - t0;
  const logits = /** @type {Float32Array} */ (out.logits.data);
  const classes = info.classes.length;
  const labels = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    let best = 0;
    let bestScore = logits[i];
    for (let c = 1; c < classes; c++) {
      const v = logits[c * pixels + i];
      if (v > bestScore) (bestScore = v), (best = c);
    }
    labels[i] = best;
  }
  out.logits.dispose?.();
  return { labels, inferenceMs };
}

/** @param {ImageData} image @param {Uint8Array} labels */
function draw(image, labels) {
  const { width, height } = image;
  const maskData = new ImageData(width, height);
  for (let i = 0; i < labels.length; i++) {
    const rgb = info.colours[labels[i]] ?? [0, 0, 0];
    maskData.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  const mask = /** @type {HTMLCanvasElement} */ ($("mask"));
  const overlay = /** @type {HTMLCanvasElement} */ ($("overlay"));
  for (const c of [mask, overlay]) (c.width = width), (c.height = height);
  /** @type {CanvasRenderingContext2D} */ (mask.getContext("2d")).putImageData(maskData, 0, 0);
  const photo = new OffscreenCanvas(width, height);
  /** @type {OffscreenCanvasRenderingContext2D} */ (photo.getContext("2d")).putImageData(image, 0, 0);
  const paint = () => {
    const ctx = /** @type {CanvasRenderingContext2D} */ (overlay.getContext("2d"));
    ctx.globalAlpha = 1;
    ctx.drawImage(photo, 0, 0);
    ctx.globalAlpha = Number(/** @type {HTMLInputElement} */ ($("opacity")).value) / 100;
    ctx.drawImage(mask, 0, 0);
  };
  paint();
  $("opacity").oninput = paint;
  const counts = new Array(info.classes.length).fill(0);
  for (const l of labels) counts[l]++;
  const present = counts.map((n, c) => ({ n, c })).filter((e) => e.n / labels.length >= 0.001).sort((a, b) => b.n - a.n);
  $("legend").replaceChildren(
    ...present.map((e) => legendItem(info.classes[e.c], info.colours[e.c], `${((100 * e.n) / labels.length).toFixed(1)} %`)),
  );
}

/** @param {Blob} file */
async function run(file) {
  state("busy", `Segmenting ${/** @type {File} */ (file).name ?? "the photo"}…`);
  const t0 = performance.now();
  try {
    const image = await decode(file);
    const { labels, inferenceMs } = await segment(image);
    draw(image, labels);
    const totalMs = performance.now() - t0;
    api.last = { width: image.width, height: image.height, labels, inferenceMs, totalMs, threads };
    $("result").hidden = false;
    $("timing").textContent = `${image.width}×${image.height} px: the network took ${inferenceMs.toFixed(0)} ms (wasm, ${threads} thread${threads > 1 ? "s" : ""}); ${totalMs.toFixed(0)} ms with decoding and drawing.`;
    state("done", "Done: drop another photo to segment it.");
  } catch (err) {
    state("error", `Could not segment this file: ${/** @type {Error} */ (err).message}`);
  }
}

const drop = $("drop");
const picker = /** @type {HTMLInputElement} */ ($("file"));
picker.addEventListener("change", () => picker.files?.[0] && run(picker.files[0]));
drop.addEventListener("dragover", (e) => (e.preventDefault(), drop.classList.add("over")));
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files?.[0];
  if (file) run(file);
});

api.ready = load().then(
  () => state("ready", "Ready: drop or pick a photo."),
  (err) => {
    state("error", `The model did not load: ${err.message}`);
    throw err;
  },
);
