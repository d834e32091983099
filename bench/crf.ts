// Dense CRF timing: 320×240 image, 21 labels (VOC), 10 mean-field iterations, default kernels.
// Reports the median of 5 timed runs (after one warm-up) for a synthetic scene and for pure noise (the
// worst case for the permutohedral lattice: almost every pixel gets its own vertices).
// Writes bench/results/crf.json and bench/results/crf.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../src/engine/native.js";
import { CRF_DEFAULTS, denseCrf, type CrfImage } from "../src/postprocess/crf.js";

const COMMAND = "node --import tsx bench/crf.ts";
const WIDTH = 320;
const HEIGHT = 240;
const CLASSES = 21;
const RUNS = 5;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A few flat-coloured discs on a gradient background with mild noise; labels follow the discs. */
function scene(noiseOnly: boolean): { image: CrfImage; probs: Float32Array } {
  const rand = rng(noiseOnly ? 2 : 1);
  const n = WIDTH * HEIGHT;
  const data = new Uint8Array(n * 3);
  const label = new Uint8Array(n);
  const discs = Array.from({ length: 6 }, (_, k) => ({
    x: rand() * WIDTH,
    y: rand() * HEIGHT,
    r: 20 + rand() * 50,
    cls: 1 + ((k * 7) % (CLASSES - 1)),
    rgb: [rand() * 255, rand() * 255, rand() * 255],
  }));
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = y * WIDTH + x;
      let rgb = [(x / WIDTH) * 120, (y / HEIGHT) * 120, 60];
      for (const d of discs) {
        if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r ** 2) {
          rgb = d.rgb;
          label[i] = d.cls;
        }
      }
      for (let c = 0; c < 3; c++) {
        const v = noiseOnly ? rand() * 256 : rgb[c]! + (rand() - 0.5) * 12;
        data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  // A noisy prediction: the true label gets most of the mass, the rest is random.
  const probs = new Float32Array(CLASSES * n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < CLASSES; c++) {
      const v = rand() + (c === label[i] ? 3 : 0);
      probs[c * n + i] = v;
      s += v;
    }
    for (let c = 0; c < CLASSES; c++) probs[c * n + i]! /= s;
  }
  return { image: { width: WIDTH, height: HEIGHT, data }, probs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const cases = [
  { name: "scene", ...scene(false) },
  { name: "noise (worst case)", ...scene(true) },
].map(({ name, image, probs }) => {
  denseCrf(image, probs, CLASSES); // warm-up
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    denseCrf(image, probs, CLASSES, { iterations: 10 });
    ms.push(performance.now() - t0);
  }
  return { name, medianMs: +median(ms).toFixed(1), runsMs: ms.map((v) => +v.toFixed(1)) };
});

const result = {
  benchmark: "denseCrf",
  command: COMMAND,
  date: new Date().toISOString(),
  width: WIDTH,
  height: HEIGHT,
  classes: CLASSES,
  iterations: 10,
  options: CRF_DEFAULTS,
  runs: RUNS,
  threads: availableParallelism(),
  cpu: cpus()[0]?.model ?? "unknown",
  node: process.version,
  cases,
};

const dir = join(packageRoot, "bench", "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "crf.json"), JSON.stringify(result, null, 2) + "\n");
const md = [
  `# denseCrf: ${WIDTH}×${HEIGHT}, ${CLASSES} labels, 10 iterations`,
  "",
  `Median of ${RUNS} runs after a warm-up; ${result.threads} threads on ${result.cpu}; Node ${result.node}; ${result.date}.`,
  `Kernels: w1=${CRF_DEFAULTS.w1}, θα=${CRF_DEFAULTS.thetaAlpha}, θβ=${CRF_DEFAULTS.thetaBeta}, w2=${CRF_DEFAULTS.w2}, θγ=${CRF_DEFAULTS.thetaGamma}.`,
  "",
  "| input | median ms | runs ms |",
  "| --- | ---: | --- |",
  ...cases.map((c) => `| ${c.name} | ${c.medianMs} | ${c.runsMs.join(", ")} |`),
  "",
  `Reproduce: \`${COMMAND}\``,
  "",
].join("\n");
writeFileSync(join(dir, "crf.md"), md);
process.stdout.write(md);
console.log(`wrote ${join(dir, "crf.json")} and crf.md`);
