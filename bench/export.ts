// npm run bench:export [-- <run dir>] — the exported model: its size, ms per image in onnxruntime-node vs
// the engine on the same images and threads, and ms per image in the exported web page (headless Chromium,
// onnxruntime-web wasm, 2 threads), with how often each agrees with the engine's argmax. Also writes the
// README's screenshot of the page (docs/web-page-screenshot.png).
// Images: the first BENCH_IMAGES (default 20) of the voc12-subset's train.txt, else the bundled sample.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import sharp from "sharp";
import { loadRgb } from "../src/data/image.js";
import type { RgbImage } from "../src/data/types.js";
import { packageRoot } from "../src/engine/native.js";
import { setNumThreads } from "../src/engine/ops.js";
import { exportWebSite } from "../src/export.js";
import { OnnxSegmenter } from "../src/onnx/segmenter.js";
import { Segmenter } from "../src/segmenter.js";
import { serveStatic } from "../src/web/serve.js";
import { median, writeBenchResults } from "./common.js";
import { VOC_DIR } from "./voc.js";

const THREADS = 2;
const COUNT = Number(process.env.BENCH_IMAGES ?? 20);
const runArg = process.argv[2];
const RUN = resolve(
  runArg ??
    [join(packageRoot, "runs", "voc"), join(packageRoot, "runs", "demo")].find((d) =>
      existsSync(join(d, "segmentation", "model.json")),
    ) ??
    "runs/voc",
);
if (!existsSync(join(RUN, "segmentation", "model.json")))
  throw new Error(
    `${RUN}: no trained segmentation model; pass a run folder: npm run bench:export -- <run dir>`,
  );

function imageFiles(): { files: string[]; source: string } {
  const list = join(VOC_DIR, "ImageSets", "Segmentation", "train.txt");
  if (existsSync(list)) {
    const ids = readFileSync(list, "utf8").split(/\s+/).filter(Boolean).slice(0, COUNT);
    return {
      files: ids.map((id) => join(VOC_DIR, "JPEGImages", `${id}.jpg`)),
      source: `the first ${ids.length} images of the voc12-subset's train.txt`,
    };
  }
  const dir = join(packageRoot, "samples", "voc-mini", "JPEGImages");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".jpg"))
    .sort()
    .slice(0, COUNT)
    .map((f) => join(dir, f));
  return { files, source: `${files.length} photos of the bundled sample` };
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

async function main(): Promise<void> {
  setNumThreads(THREADS);
  const { files, source } = imageFiles();
  const images: RgbImage[] = await Promise.all(files.map((f) => loadRgb(f)));
  const tmp = mkdtempSync(join(tmpdir(), "aepsl-bench-export-"));
  try {
    const site = await exportWebSite(RUN, join(tmp, "site"));
    const engine = await Segmenter.load(RUN);
    const ort = await OnnxSegmenter.load(site.file, { threads: THREADS });
    // Warm up both, then alternate image by image so load drifts hit both alike.
    for (const img of images.slice(0, 2)) (engine.probabilities(img), await ort.probabilities(img));
    const engineMs: number[] = [];
    const ortMs: number[] = [];
    const ratios: number[] = [];
    const ortAgree: number[] = [];
    const engineLabels: Uint8Array[] = [];
    for (const img of images) {
      let t0 = performance.now();
      const a = await engine.segment(img);
      const te = performance.now() - t0;
      t0 = performance.now();
      const b = await ort.segment(img);
      const to = performance.now() - t0;
      engineMs.push(te);
      ortMs.push(to);
      ratios.push(te / to);
      ortAgree.push(agreement(a.labelMap, b.labelMap));
      engineLabels.push(a.labelMap);
    }
    ort.dispose();

    // The page, in headless Chromium, 2 wasm threads (cross-origin isolated through serveStatic).
    const { chromium } = await import("playwright-core");
    const server = await serveStatic(site.dir, { port: 0 });
    const browser = await chromium.launch({
      executablePath: process.env.AEPSL_CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    const pageMs: number[] = [];
    const pageAgree: number[] = [];
    let browserVersion = "";
    try {
      browserVersion = browser.version();
      const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await tab.goto(`${server.url}?threads=${THREADS}`);
      await tab.waitForFunction(() => document.body.dataset.state !== "loading", null, { timeout: 120_000 });
      for (let i = 0; i < images.length + 1; i++) {
        const img = images[i % images.length]!;
        // PNG input: the page decodes exactly the engine's pixels, so agreement measures the network alone.
        const png = join(tmp, `img-${i}.png`);
        await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
          .png()
          .toFile(png);
        await tab.evaluate(() => (document.body.dataset.state = "ready"));
        await tab.setInputFiles("#file", png);
        await tab.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state ?? ""), null, {
          timeout: 120_000,
        });
        const last = await tab.evaluate(() => {
          const l = (window as unknown as { aepsl: { last: { labels: Uint8Array; inferenceMs: number } } })
            .aepsl.last;
          return { labels: Array.from(l.labels), ms: l.inferenceMs };
        });
        if (i === 0) continue; // warm-up
        pageMs.push(last.ms);
        pageAgree.push(agreement(engineLabels[i % images.length]!, Uint8Array.from(last.labels)));
      }
      // The README's screenshot: a photo of the bundled sample (a cat and a dog… whatever the model sees).
      const shotPhoto = join(packageRoot, "samples", "voc-mini", "JPEGImages", "2007_000876.jpg");
      if (existsSync(shotPhoto)) {
        await tab.setViewportSize({ width: 1100, height: 820 });
        await tab.evaluate(() => (document.body.dataset.state = "ready"));
        await tab.setInputFiles("#file", shotPhoto);
        await tab.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 120_000 });
        await tab.screenshot({ path: join(packageRoot, "docs", "web-page-screenshot.png"), fullPage: true });
      }
    } finally {
      await browser.close();
      await server.close();
      engine.dispose();
    }

    const ms = (v: number) => Number(v.toFixed(1));
    const json = {
      command: `BENCH_IMAGES=${COUNT} npm run bench:export -- ${relative(packageRoot, RUN) || "."}`,
      run: relative(packageRoot, RUN),
      images: images.length,
      image_source: source,
      cpu: cpus()[0]?.model ?? "",
      node: process.version,
      browser: `Chromium ${browserVersion}`,
      threads: THREADS,
      load_average_1min_at_end: Number(loadavg()[0]!.toFixed(2)),
      model_bytes: site.bytes,
      export_check: site.verification,
      engine_ms_median: ms(median(engineMs)),
      onnxruntime_node_ms_median: ms(median(ortMs)),
      engine_over_onnxruntime_time_ratio_median: Number(median(ratios).toFixed(3)),
      onnxruntime_node_argmax_agreement_min: Number(Math.min(...ortAgree).toFixed(5)),
      browser_wasm_ms_median: ms(median(pageMs)),
      browser_argmax_agreement_min: Number(Math.min(...pageAgree).toFixed(5)),
    };
    const md = `# Export benchmark: the ONNX model in onnxruntime-node and in the browser

Model: ${relative(packageRoot, RUN) || RUN}'s segmentation network exported with \`aepsl export\`
(${(site.bytes / 1e6).toFixed(1)} MB, ${site.classes.length} classes; checked at export: max |Δlogit|
${site.verification?.maxAbsDiff.toExponential(1) ?? "n/a"}, argmax agreement ${site.verification ? (100 * site.verification.argmaxAgreement).toFixed(3) : "n/a"} %).
Images: ${source}, each at its own size; time of segment() on decoded pixels (network, softmax,
argmax; the page: the network alone), ${THREADS} threads everywhere; engine and onnxruntime-node alternate image by image. ${json.cpu}, Node ${process.version},
${json.browser} (headless, onnxruntime-web wasm, cross-origin isolated via \`aepsl serve\`'s headers).

| runtime | ms/image (median) | argmax = engine (worst image) |
| --- | --- | --- |
| engine (libtorch) | ${json.engine_ms_median} | — |
| onnxruntime-node | ${json.onnxruntime_node_ms_median} | ${(100 * json.onnxruntime_node_argmax_agreement_min).toFixed(3)} % |
| browser page (onnxruntime-web wasm, ${THREADS} threads) | ${json.browser_wasm_ms_median} | ${(100 * json.browser_argmax_agreement_min).toFixed(3)} % |

Engine time ÷ onnxruntime-node time, median of per-image ratios: ${json.engine_over_onnxruntime_time_ratio_median}
(below 1: the engine is faster). Load average at the end: ${json.load_average_1min_at_end} on ${cpus().length} cores.
`;
    writeBenchResults("export", json, md);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
