// The per-image part of the report: for a few images, the photo, each labelled class's CAM at every
// erasing step, the erased image after each step, the mined regions per step and their union, the
// pseudo-label, the prediction without and with CRF, and the ground truth.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openDataset, validateDataset } from "../data/dataset.js";
import { loadRgb, resizeRgb } from "../data/image.js";
import { readIndexedPng } from "../data/png.js";
import { readGroundTruthMask } from "../data/mask.js";
import type { RgbImage } from "../data/types.js";
import { mbdSaliency } from "../saliency/mbd.js";
import { unionRegions, type MinedRegions, type OverlapRule } from "../stages/regions.js";
import { esc, paletteCss } from "./html.js";
import {
  applyErase,
  camOverlay,
  readCamBands,
  greyImage,
  thumbSize,
  writeLabelThumb,
  writeRgbThumb,
} from "./images.js";
import type { RunData } from "./run-data.js";

export interface SampleItem {
  id: string;
  imagePath?: string;
  maskPath?: string;
  labels: number[];
}

export interface SampleSelection {
  items: SampleItem[];
  /** Every item of the split (for measurements over the split). */
  all: SampleItem[];
  /** The split the images come from (null: every image of a generic dataset, or unknown). */
  split: string | null;
  /** "eval" or "train": which of the run's splits. */
  role: "eval" | "train" | "run";
  /** Why photos / ground truth may be missing. */
  note?: string;
}

/** `count` items spread evenly over the list (sorted by id), always the same for the same list. */
export function spreadPick<T extends { id: string }>(items: readonly T[], count: number): T[] {
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (count >= sorted.length) return sorted;
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(sorted[Math.floor(((i + 0.5) * sorted.length) / count)]);
  return out;
}

/** Picks the sample images: from the eval split when the run has one, else from the training images. */
export async function selectSamples(run: RunData, count: number): Promise<SampleSelection> {
  const info = run.dataset;
  const cfg = run.config?.data;
  const evalSplit = info?.evalSplit ?? cfg?.evalSplit ?? null;
  const trainSplit = info?.trainSplit ?? cfg?.trainSplit ?? null;
  const root = info?.root ?? cfg?.dir;
  const role: "eval" | "train" = evalSplit ? "eval" : "train";
  const split = evalSplit ?? trainSplit ?? null;
  let items: SampleItem[] = [];
  let note: string | undefined;
  if (root) {
    try {
      const ds = await openDataset(root, split ? { split } : {});
      try {
        items = (await validateDataset(ds, { checkImages: false, skipBad: true })).items;
      } catch {
        items = ds.items;
      }
    } catch (err) {
      note = `the dataset could not be opened (${(err as Error).message}), so photos and ground truth are missing`;
    }
  } else note = "the run does not say where its dataset is";
  if (items.length === 0) {
    // Fall back to what the run itself holds: images with CAMs, or with pseudo-labels.
    const ids = new Map<string, number[]>();
    for (const t of run.steps()) for (const r of run.camRecords(t).values()) ids.set(r.id, r.labels);
    if (ids.size === 0 && run.exists("pseudo-labels"))
      for (const f of readdirSync(run.path("pseudo-labels")))
        if (f.endsWith(".png")) ids.set(f.slice(0, -4), []);
    return {
      items: spreadPick(
        [...ids].map(([id, labels]) => ({ id, labels })),
        count,
      ),
      all: [],
      split,
      role: "run",
      note,
    };
  }
  return { items: spreadPick(items, count), all: items, split, role, note };
}

/** Writes the report's images; remembers every file it wrote (relative to the report folder). */
export class ImageSink {
  readonly written = new Set<string>();
  constructor(readonly reportDir: string) {}

  async rgb(name: string, img: RgbImage): Promise<string> {
    const rel = `img/${name}.jpg`;
    await writeRgbThumb(join(this.reportDir, rel), img);
    this.written.add(rel);
    return rel;
  }

  async labels(name: string, labels: Uint8Array, width: number, height: number, palette: Uint8Array) {
    const rel = `img/${name}.png`;
    await writeLabelThumb(join(this.reportDir, rel), labels, width, height, palette);
    this.written.add(rel);
    return rel;
  }
}

interface Pic {
  src?: string;
  width?: number;
  height?: number;
  alt: string;
  caption: string;
  /** Shown instead of the image when src is absent. */
  missing?: string;
}

function figure(p: Pic): string {
  const body = p.src
    ? `<img src="${esc(p.src)}" width="${p.width}" height="${p.height}" alt="${esc(p.alt)}"${p.src.endsWith(".png") ? ' class="labels"' : ""}>`
    : `<div class="ph" role="img" aria-label="${esc(p.alt)}: not available">${esc(p.missing ?? "not available yet")}</div>`;
  return `<figure>${body}<figcaption>${p.caption}</figcaption></figure>`;
}

function slug(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60) || "image";
}

export interface SampleContext {
  run: RunData;
  sink: ImageSink;
  classNames: string[];
  palette: Uint8Array;
  /** Split whose predictions/<split>/ to show (the evaluated split), if any. */
  predictionSplit?: string;
  overlap: OverlapRule;
}

const className = (names: string[], c: number): string => (c === 255 ? "ignore" : (names[c] ?? `class ${c}`));

/** One sample's card. Never throws: each picture that cannot be made says why in its place. */
export async function renderSample(ctx: SampleContext, item: SampleItem, index: number): Promise<string> {
  const { run, sink, classNames, palette } = ctx;
  const base = `${String(index + 1).padStart(2, "0")}-${slug(item.id)}`;
  const why = (err: unknown) => `could not be read: ${(err as Error).message ?? err}`.slice(0, 200);
  const pics: Pic[] = [];

  // The photo, at the size every run artefact uses.
  let photo: RgbImage | undefined;
  let photoNote = "not available";
  if (item.imagePath && existsSync(item.imagePath)) {
    try {
      photo = await loadRgb(item.imagePath);
    } catch (err) {
      photoNote = why(err);
    }
  } else if (item.imagePath) photoNote = "image file not found";
  const steps = run.steps();
  const records = steps.map((t) => run.camRecords(t).get(item.id));
  const firstRec = records.find((r) => r);
  const W = photo?.width ?? firstRec?.width;
  const H = photo?.height ?? firstRec?.height;
  const dims = (w: number, h: number) => thumbSize(w, h);
  const labels = item.labels.length ? item.labels : (firstRec?.labels ?? []);

  /** Reads an indexed PNG label map if present: [labels, w, h] or a reason. */
  const readLabels = async (
    file: string | undefined,
    groundTruth = false,
  ): Promise<{ map?: { indices: Uint8Array; width: number; height: number }; note: string }> => {
    if (!file || !existsSync(file)) return { note: "not available yet" };
    try {
      const png = groundTruth ? await readGroundTruthMask(item) : await readIndexedPng(file);
      return { map: png, note: "" };
    } catch (err) {
      return { note: why(err) };
    }
  };
  const labelPic = async (name: string, file: string | undefined, alt: string, caption: string) => {
    const { map, note } = await readLabels(file, file !== undefined && file === item.maskPath);
    if (!map) return { alt, caption, missing: note } satisfies Pic;
    const src = await sink.labels(`${base}-${name}`, map.indices, map.width, map.height, palette);
    return { src, ...dims(map.width, map.height), alt, caption } satisfies Pic;
  };

  if (photo) {
    const src = await sink.rgb(`${base}-photo`, photo);
    pics.push({ src, ...dims(photo.width, photo.height), alt: `Photo ${item.id}`, caption: "Photo" });
  } else pics.push({ alt: `Photo ${item.id}`, caption: "Photo", missing: photoNote });

  pics.push(
    await labelPic("gt", item.maskPath, `Ground truth of ${item.id}`, "Ground truth").then((p) =>
      item.maskPath ? p : { ...p, missing: "no ground-truth mask" },
    ),
  );

  // The background cue: the run's stored salient-object map (U²-Netp by default) beside MB+, the
  // unsupervised cue it replaced, computed here from the photo.
  const stored = run.path("saliency", `${item.id}.png`);
  const detector = run.saliencyDetector();
  const detectorName = detector === "mbplus" ? "MB+" : "U²-Netp";
  if (existsSync(stored)) {
    try {
      const map = await readIndexedPng(stored);
      const src = await sink.rgb(`${base}-saliency`, greyMap(map.indices, map.width, map.height));
      pics.push({
        src,
        ...dims(map.width, map.height),
        alt: `${detectorName} saliency of ${item.id}`,
        caption: `Saliency (${detectorName})`,
      });
    } catch (err) {
      pics.push({ alt: `Saliency of ${item.id}`, caption: `Saliency (${detectorName})`, missing: why(err) });
    }
  } else
    pics.push({
      alt: `Saliency of ${item.id}`,
      caption: `Saliency (${detectorName})`,
      missing: "not available yet",
    });
  if (photo && detector !== "mbplus") {
    const mb = mbdSaliency(photo);
    const bytes = new Uint8Array(mb.data.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, mb.data[i]!)) * 255);
    const src = await sink.rgb(`${base}-mbplus`, greyMap(bytes, mb.width, mb.height));
    pics.push({
      src,
      ...dims(mb.width, mb.height),
      alt: `MB+ saliency of ${item.id}`,
      caption: "Saliency (MB+)",
    });
  }

  // Steps: CAM per class on the image the classifier saw, mined regions, erased image after the step.
  const stepRows: string[] = [];
  const mined: MinedRegions[] = [];
  const minedSteps: number[] = [];
  let prevErase: Uint8Array | undefined;
  const nLabels = Math.max(labels.length, ...records.map((r) => r?.labels.length ?? 0));
  for (let k = 0; k < steps.length; k++) {
    const t = steps[k];
    const done = run.stepDone(t);
    if (done?.stopped) {
      stepRows.push(
        `<div class="rowhead"><b>Step ${t}</b>stopped</div><div style="grid-column: span ${nLabels + 2}" class="na">Erasing stopped at step ${t}: ${esc(done.reason ?? "no reason given")}</div>`,
      );
      break;
    }
    const rec = records[k];
    const cells: string[] = [];
    // The image this step's classifier saw: the photo erased by the previous steps' mask.
    let seen: RgbImage | undefined;
    if (photo && rec) {
      seen =
        photo.width === rec.width && photo.height === rec.height
          ? photo
          : resizeRgb(photo, rec.width, rec.height);
      if (prevErase && prevErase.length === rec.width * rec.height)
        seen = applyErase(seen, prevErase, run.meanPixel);
    } else if (rec) seen = greyImage(rec.width, rec.height);
    let bands: Uint8Array | undefined;
    let camNote = "not available yet";
    if (rec) {
      try {
        const file = run.path("steps", String(t), "cams", `${item.id}.png`);
        if (!existsSync(file)) throw new Error("CAM file not found");
        bands = await readCamBands(file, rec.width, rec.height, rec.labels.length);
      } catch (err) {
        camNote = why(err);
      }
    }
    const n = rec ? rec.width * rec.height : 0;
    for (let j = 0; j < nLabels; j++) {
      const c = rec?.labels[j] ?? labels[j];
      const cname = c === undefined ? "—" : className(classNames, c);
      const alt = `CAM of ${cname} at erasing step ${t} for ${item.id}`;
      const score = c !== undefined ? rec?.scores?.[c - 1] : undefined;
      const caption =
        `${esc(cname)}` +
        (typeof score === "number"
          ? ` · <span title="classifier score">score ${score.toFixed(2)}</span>`
          : "");
      if (rec && bands && seen && j < rec.labels.length) {
        const over = camOverlay(seen, bands.subarray(j * n, (j + 1) * n));
        const src = await sink.rgb(`${base}-s${t}-cam${j}`, over);
        cells.push(figure({ src, ...dims(over.width, over.height), alt, caption }));
      } else cells.push(figure({ alt, caption, missing: rec ? camNote : "not available yet" }));
    }
    // Mined regions at this step (kept with their CAM values for the union).
    const regionFile = run.path("steps", String(t), "regions", `${item.id}.png`);
    const { map: reg, note: regNote } = await readLabels(regionFile);
    if (reg) {
      const src = await sink.labels(`${base}-s${t}-regions`, reg.indices, reg.width, reg.height, palette);
      cells.push(
        figure({
          src,
          ...dims(reg.width, reg.height),
          alt: `Regions mined at step ${t} for ${item.id}`,
          caption: `Mined at step ${t}`,
        }),
      );
      const value = new Float32Array(reg.indices.length);
      if (rec && bands && reg.indices.length === n) {
        rec.labels.forEach((c, j) => {
          for (let i = 0; i < n; i++) {
            const v = bands![j * n + i];
            if (reg.indices[i] === c || (reg.indices[i] === 255 && v > value[i])) value[i] = v;
          }
        });
      }
      if (!mined.length || mined[0].cls.length === reg.indices.length) {
        mined.push({ cls: reg.indices, value });
        minedSteps.push(t);
      }
    } else
      cells.push(
        figure({
          alt: `Regions mined at step ${t} for ${item.id}`,
          caption: `Mined at step ${t}`,
          missing: regNote,
        }),
      );
    // The erased image after this step: the saved one when there is one, else made from the mask.
    const eraseFile = run.path("steps", String(t), "erase", `${item.id}.png`);
    const savedErased = run.path("steps", String(t), "erased", `${item.id}.jpg`);
    const erasedAlt = `${item.id} with the regions of steps 1–${t} erased`;
    const erasedCaption = `Erased after step ${t}`;
    let erase: Uint8Array | undefined;
    const { map: em, note: eraseNote } = await readLabels(eraseFile);
    if (em) erase = em.indices;
    try {
      let img: RgbImage | undefined;
      if (existsSync(savedErased)) img = await loadRgb(savedErased);
      else if (photo && em) {
        const p =
          photo.width === em.width && photo.height === em.height
            ? photo
            : resizeRgb(photo, em.width, em.height);
        img = applyErase(p, em.indices, run.meanPixel);
      }
      if (img) {
        const src = await sink.rgb(`${base}-s${t}-erased`, img);
        cells.push(figure({ src, ...dims(img.width, img.height), alt: erasedAlt, caption: erasedCaption }));
      } else
        cells.push(
          figure({ alt: erasedAlt, caption: erasedCaption, missing: em ? "photo not available" : eraseNote }),
        );
    } catch (err) {
      cells.push(figure({ alt: erasedAlt, caption: erasedCaption, missing: why(err) }));
    }
    prevErase = erase;
    stepRows.push(
      `<div class="rowhead"><b>Step ${t}</b>${t === 1 ? "original image" : `after erasing step${t > 2 ? "s 1–" : " "}${t - 1}`}</div>${cells.join("")}`,
    );
  }

  // Union of mined regions, pseudo-label, predictions.
  if (mined.length) {
    const union = unionRegions(mined, ctx.overlap);
    const w = W && W * (H ?? 0) === union.cls.length ? W : (firstRec?.width ?? 0);
    const h = w ? union.cls.length / w : 0;
    if (w && Number.isInteger(h)) {
      const src = await sink.labels(`${base}-union`, union.cls, w, h, palette);
      pics.push({
        src,
        ...dims(w, h),
        alt: `Union of the regions mined at steps ${minedSteps.join(", ")} for ${item.id}`,
        caption: `Mined regions, union of step${minedSteps.length > 1 ? "s" : ""} ${minedSteps.length > 1 ? `${minedSteps[0]}–${minedSteps.at(-1)}` : minedSteps[0]}`,
      });
    } else
      pics.push({ alt: "Union of mined regions", caption: "Mined regions (union)", missing: "size unknown" });
  } else
    pics.push({
      alt: `Union of mined regions for ${item.id}`,
      caption: "Mined regions (union)",
      missing: "not available yet",
    });
  pics.push(
    await labelPic(
      "pseudo",
      run.path("pseudo-labels", `${item.id}.png`),
      `Pseudo-label of ${item.id}`,
      "Pseudo-label",
    ),
  );
  const split = ctx.predictionSplit;
  const predMissing = (p: Pic) =>
    p.src || !split || ctx.run.exists("predictions", split) ? p : { ...p, missing: "not available yet" };
  pics.push(
    predMissing(
      await labelPic(
        "pred",
        split ? run.path("predictions", split, `${item.id}.png`) : undefined,
        `Predicted segmentation of ${item.id}`,
        "Prediction",
      ),
    ),
  );
  pics.push(
    predMissing(
      await labelPic(
        "pred-crf",
        split ? run.path("predictions", `${split}-crf`, `${item.id}.png`) : undefined,
        `Predicted segmentation of ${item.id} after the dense CRF`,
        "Prediction + CRF",
      ),
    ),
  );

  const tags = labels
    .map(
      (c) =>
        `<span class="tag"><span class="swatch" style="background:${paletteCss(palette, c)}"></span>${esc(className(classNames, c))}</span>`,
    )
    .join(" ");
  const cols = nLabels + 2;
  const stepGrid = stepRows.length
    ? `<div class="scroll stepsbox"><div class="steps" style="grid-template-columns: 84px repeat(${cols}, minmax(112px, 150px)); min-width: ${84 + cols * 122}px">` +
      `<div></div>${Array.from({ length: nLabels }, (_, j) => `<div class="rowhead"><b>CAM · ${esc(labels[j] === undefined ? "—" : className(classNames, labels[j]))}</b>on the step's input</div>`).join("")}` +
      `<div class="rowhead"><b>Mined</b>regions of the step</div><div class="rowhead"><b>Erased</b>next step's input</div>` +
      stepRows.join("") +
      `</div></div>`
    : `<div class="stepsbox"><p class="na">Erasing steps: not available yet.</p></div>`;
  return (
    `<article class="sample" id="sample-${index + 1}">` +
    `<div class="sample-head"><h3>${esc(item.id)}</h3>${tags}</div>` +
    `<div class="sample-body"><div class="overview">${pics.map(figure).join("")}</div>` +
    stepGrid +
    `</div>` +
    `</article>`
  );
}

/** An 8-bit map as a grey RGB image. */
function greyMap(values: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) data.fill(values[i]!, i * 3, i * 3 + 3);
  return { width, height, data };
}
