// npm run bench:cam-gate [-- images] — the score-gated CAM pass of later erasing steps. At step t ≥ 2 an
// image is mined only if a tagged class scores ≥ erasing.minScore on the erased image, so the other scales
// (0.5, 1.5) run only for those; the rest keep the native-scale CAM. This re-runs step 2's CAM pass of
// runs/voc (its classifier, the images erased by step 1) on the first N images (default 300) both ways,
// timing each, and mines both with step 2's rule: the regions must equal each other and those step 2
// stored. Needs runs/voc with erasing step 2 finished (aepsl run --config configs/voc-protocol.yaml).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readIndexedPng } from "../src/data/png.js";
import { loadModelWeights } from "../src/engine/checkpoint.js";
import { CamClassifier } from "../src/nn/cam-classifier.js";
import { extractCams } from "../src/stages/cam.js";
import { classesToMine } from "../src/stages/regions.js";
import { readDone, stepDir } from "../src/stages/run-dir.js";
import { allScalesGate, mineStepRegions, type StepSummary } from "../src/stages/mine.js";
import { loadTrainingImage } from "../src/stages/train-cls.js";
import { writeBenchResults } from "./common.js";
import { benchLog, CAM, CLASSIFIER, ERASING, loadProtocol, RUN_DIR } from "./voc.js";

const STEP = 2;
const count = Number(process.argv[2] ?? 300);
const p = await loadProtocol();
const mining = readDone<StepSummary>(stepDir(RUN_DIR, STEP)).mining;
if (!mining) throw new Error(`${stepDir(RUN_DIR, STEP)}: no recorded mining settings`);
if (!(mining.minScore > 0)) throw new Error(`${RUN_DIR}: step ${STEP} was mined without a score gate`);
const items = [...p.train, ...p.evaluation].slice(0, count);
const prevErase = join(stepDir(RUN_DIR, STEP - 1), "erase");
const model = new CamClassifier(p.classNames.length - 1, {
  outputStride: CLASSIFIER.outputStride,
  imagenet: false,
});
const tmp = mkdtempSync(join(tmpdir(), "aepsl-cam-gate-"));
try {
  loadModelWeights(join(stepDir(RUN_DIR, STEP), "classifier"), model);
  const pass = async (name: string, gated: boolean) => {
    const t0 = performance.now();
    const store = await extractCams({
      ...CAM,
      dir: join(tmp, name),
      model,
      items,
      loadImage: (item) => loadTrainingImage(item, prevErase, p.meanPixel),
      fullScales: gated ? allScalesGate(mining, STEP) : undefined,
    });
    const seconds = (performance.now() - t0) / 1000;
    benchLog(`${name}: ${items.length} images in ${seconds.toFixed(1)} s`);
    return { store, seconds };
  };
  // Full first, then gated, then full again: the mean of the two full passes evens out drift.
  const full = await pass("full", false);
  const gated = await pass("gated", true);
  const full2 = await pass("full-again", false);
  let mined = 0;
  let differ = 0;
  let differStored = 0;
  let partial = 0;
  for (const item of items) {
    const erased = (await readIndexedPng(join(prevErase, `${item.id}.png`))).indices;
    const regions: Uint8Array[] = [];
    for (const store of [full.store, gated.store]) {
      const { record, cams } = await store.get(item.id);
      if (store === gated.store && record.scales) partial++;
      if (store === full.store && classesToMine(record.labels, record.scores, STEP, mining.minScore).length)
        mined++;
      regions.push(mineStepRegions(record, cams, STEP, mining, erased).cls);
    }
    const stored = (await readIndexedPng(join(stepDir(RUN_DIR, STEP), "regions", `${item.id}.png`))).indices;
    if (!regions[0]!.every((v, i) => v === regions[1]![i])) differ++;
    if (!regions[1]!.every((v, i) => v === stored[i])) differStored++;
  }
  const fullSeconds = (full.seconds + full2.seconds) / 2;
  const json = {
    command: `npm run bench:cam-gate${process.argv[2] ? ` -- ${process.argv[2]}` : ""}`,
    date: new Date().toISOString(),
    run: RUN_DIR,
    step: STEP,
    images: items.length,
    scales: CAM.scales,
    flip: CAM.flip,
    min_score: mining.minScore,
    images_mined: mined,
    images_native_scale_only: partial,
    seconds_full: [full.seconds, full2.seconds],
    seconds_gated: gated.seconds,
    speedup: fullSeconds / gated.seconds,
    images_whose_regions_differ_full_vs_gated: differ,
    images_whose_regions_differ_from_stored: differStored,
    erasing: ERASING,
  };
  const md = [
    "# Score-gated CAMs at later erasing steps",
    "",
    `Step ${STEP} of ${RUN_DIR}: its classifier on the first ${items.length} images erased by step 1, CAM scales ` +
      `${CAM.scales.join(", ")}${CAM.flip ? " with flips" : ""}; score gate ${mining.minScore}.`,
    "",
    "| CAM pass | seconds | images with all scales |",
    "| --- | --- | --- |",
    `| every image at every scale (two runs) | ${full.seconds.toFixed(1)}, ${full2.seconds.toFixed(1)} | ${items.length} |`,
    `| other scales only where a class passes the gate | ${gated.seconds.toFixed(1)} | ${items.length - partial} |`,
    "",
    `${(fullSeconds / gated.seconds).toFixed(2)}× faster (mean of the two full runs ÷ gated). Regions mined by ` +
      `step ${STEP}'s rule differ in ${differ} of ${items.length} images between the two passes, and in ` +
      `${differStored} from those step ${STEP} stored.`,
    "",
  ].join("\n");
  writeBenchResults("cam-gate", json, md);
} finally {
  model.dispose();
  rmSync(tmp, { recursive: true, force: true });
}
