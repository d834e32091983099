// `aepsl export`: the segmentation network as ONNX must give the engine's logits in onnxruntime-node
// (max |Δ| ≤ 1e-3, argmax on ≥ 99.9 % of pixels), load through loadSegmenter() without the native addon,
// and become a web page whose mask in Chromium matches the engine's prediction (≥ 99 % of pixels).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { VOC_CLASS_NAMES, vocColor } from "../src/data/classes.js";
import { loadRgb } from "../src/data/image.js";
import type { RgbImage } from "../src/data/types.js";
import { saveCheckpoint } from "../src/engine/checkpoint.js";
import { manualSeed } from "../src/engine/ops.js";
import { SGD } from "../src/engine/optim.js";
import { liveTensors } from "../src/engine/tensor.js";
import { EXPORT_TOLERANCE, exportOnnx, exportWebSite, VERIFY_IMAGES_DIR } from "../src/export.js";
import { loadSegmenter } from "../src/index.js";
import { DeepLabLargeFov } from "../src/nn/deeplab.js";
import { METADATA } from "../src/onnx/metadata.js";
import { decodeModel } from "../src/onnx/proto.js";
import { Segmenter } from "../src/segmenter.js";
import { serveStatic } from "../src/web/serve.js";
import { launchChromium } from "./helpers/browser.js";
import { cli, CLI_ENV, REPO } from "./helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "aepsl-export-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const runDir = join(tmp, "run");
const onnxFile = join(tmp, "model.onnx");
const samples = readdirSync(VERIFY_IMAGES_DIR)
  .filter((f) => f.endsWith(".jpg"))
  .sort()
  .slice(0, 4)
  .map((f) => join(VERIFY_IMAGES_DIR, f));

/** A run folder holding a segmentation model: ImageNet backbone, seeded random 21-class head. */
async function writeSegmentationRun(dir: string): Promise<void> {
  manualSeed(7);
  const model = new DeepLabLargeFov({ numClasses: 21, outputStride: 16 });
  const segDir = join(dir, "segmentation");
  mkdirSync(segDir, { recursive: true });
  const optimizer = new SGD(model.parameters(), { lr: 0 });
  await saveCheckpoint(segDir, model, optimizer, { epoch: 1, step: 0 });
  optimizer.dispose();
  model.dispose();
  writeFileSync(
    join(segDir, "model.json"),
    JSON.stringify({
      architecture: "deeplab-largefov-mobilenetv2",
      outputStride: 16,
      classNames: [...VOC_CLASS_NAMES],
      palette: VOC_CLASS_NAMES.flatMap((_, i) => vocColor(i)),
    }),
  );
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

before(async () => {
  await writeSegmentationRun(runDir);
});

describe("ONNX export", () => {
  test("the graph gives the engine's logits in onnxruntime-node, with the metadata a reader needs", async () => {
    const live = liveTensors();
    const r = await exportOnnx(runDir, onnxFile, { verifyImages: 4 });
    assert.ok(r.verification, "onnxruntime-node is a devDependency: the export must be checked");
    assert.equal(r.verification.images, 4);
    assert.ok(
      r.verification.maxAbsDiff <= EXPORT_TOLERANCE.maxAbsDiff,
      `max |Δlogit| ${r.verification.maxAbsDiff}`,
    );
    assert.ok(r.verification.argmaxAgreement >= 0.999, `argmax agreement ${r.verification.argmaxAgreement}`);
    assert.equal(liveTensors(), live, "the export frees the network it loaded");

    const model = decodeModel(await readFile(onnxFile), onnxFile);
    assert.ok(model.opsetImport.some((o) => (o.domain ?? "") === "" && o.version >= 13));
    const ops = new Set(model.graph.node.map((n) => n.opType));
    assert.ok(!ops.has("BatchNormalization"), "batch norm is folded into the convolutions");
    assert.ok(ops.has("Conv") && ops.has("Resize"));
    const dims = model.graph.input[0]!.type!.tensorType!.shape!.dim;
    assert.deepEqual(
      dims.map((d) => ("dimParam" in d ? d.dimParam : d.dimValue)),
      ["batch", 3, "height", "width"],
    );
    const meta = new Map(model.metadataProps!.map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(meta.get(METADATA.classes)!), VOC_CLASS_NAMES);
    assert.deepEqual(JSON.parse(meta.get(METADATA.palette)!)[1], [128, 0, 0]);
    assert.match(meta.get(METADATA.input)!, /0\.\.255/);
  });

  test("loadSegmenter(.onnx) segments like the engine's Segmenter, odd sizes and flip included", async () => {
    const engine = await Segmenter.load(runDir);
    const onnx = await loadSegmenter(onnxFile);
    try {
      assert.deepEqual(onnx.classes, engine.classes);
      assert.deepEqual(onnx.palette, engine.palette);
      for (const file of samples.slice(0, 2)) {
        const img = await loadRgb(file);
        // An odd-sized crop exercises the size-dependent "same" padding of the strided convolutions.
        const odd: RgbImage = await sharp(Buffer.from(img.data), {
          raw: { width: img.width, height: img.height, channels: 3 },
        })
          .extract({ left: 0, top: 0, width: img.width - 7, height: img.height - 3 })
          .raw()
          .toBuffer()
          .then((data) => ({ width: img.width - 7, height: img.height - 3, data: new Uint8Array(data) }));
        for (const input of [img, odd])
          for (const flip of [false, true]) {
            const a = await engine.segment(input, { flip });
            const b = await onnx.segment(input, { flip });
            assert.deepEqual([b.width, b.height], [a.width, a.height]);
            assert.ok(agreement(a.labelMap, b.labelMap) >= 0.999, `${file} flip=${flip}`);
            let maxDiff = 0;
            for (let i = 0; i < a.probabilities.length; i++)
              maxDiff = Math.max(maxDiff, Math.abs(a.probabilities[i]! - b.probabilities[i]!));
            assert.ok(maxDiff < 1e-4, `probabilities differ by ${maxDiff}`);
          }
      }
    } finally {
      engine.dispose();
      onnx.dispose();
    }
  });

  test("a service that only predicts from .onnx never loads the native addon or libtorch", async () => {
    const script =
      `import { loadSegmenter } from ${JSON.stringify(join(REPO, "src", "index.ts"))};\n` +
      `import { readFileSync } from "node:fs";\n` +
      `const seg = await loadSegmenter(${JSON.stringify(onnxFile)});\n` +
      `const r = await seg.segment(${JSON.stringify(samples[0])});\n` +
      `const maps = readFileSync("/proc/self/maps", "utf8");\n` +
      `console.log(JSON.stringify({ pixels: r.labelMap.length, addon: maps.includes("aepsl.node"), torch: /libtorch|libc10/.test(maps) }));\n` +
      `seg.dispose();\n`;
    const file = join(tmp, "service.mts");
    writeFileSync(file, script);
    const out = await new Promise<string>((done, fail) => {
      const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: REPO, env: CLI_ENV });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d));
      child.stderr.on("data", (d: Buffer) => (stderr += d));
      child.on("close", (code) => (code === 0 ? done(stdout) : fail(new Error(`exit ${code}: ${stderr}`))));
    });
    const r = JSON.parse(out.trim().split("\n").pop()!);
    assert.ok(r.pixels > 0);
    assert.equal(r.addon, false, "the aepsl addon was loaded");
    assert.equal(r.torch, false, "libtorch was loaded");
  });

  test("bad inputs: no model in the run, a file that is not ONNX, an ONNX file that is not aepsl's", async () => {
    const empty = join(tmp, "empty-run");
    mkdirSync(empty, { recursive: true });
    await assert.rejects(exportOnnx(empty, join(tmp, "x.onnx")), /no trained segmentation model/);
    assert.ok(!existsSync(join(tmp, "x.onnx")), "nothing written");
    const junk = join(tmp, "junk.onnx");
    writeFileSync(junk, Buffer.from("this is not a protobuf \xff\xfe"));
    await assert.rejects(
      loadSegmenter(junk),
      new RegExp(`${junk.replace(/[.]/g, "\\.")}: not (a readable ONNX file|an ONNX model)`),
    );
    await assert.rejects(loadSegmenter(join(tmp, "missing.onnx")), /missing\.onnx: no such file/);
    // A real ONNX graph without aepsl's metadata.
    const { encodeModel } = await import("../src/onnx/proto.js");
    const foreign = join(tmp, "foreign.onnx");
    writeFileSync(
      foreign,
      encodeModel({
        irVersion: 8,
        opsetImport: [{ domain: "", version: 17 }],
        graph: {
          node: [{ opType: "Identity", input: ["x"], output: ["y"] }],
          initializer: [],
          input: [{ name: "x" }],
          output: [{ name: "y" }],
        },
      }),
    );
    await assert.rejects(loadSegmenter(foreign), /not an aepsl segmentation model/);
  });

  test("CLI: export writes and checks the model, predict runs it on onnxruntime", async () => {
    const file = join(tmp, "cli", "my-model.onnx");
    const r = await cli(["export", "--run", runDir, "--out", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /checked against the engine on 3 sample photos/);
    assert.ok(existsSync(file));
    const bad = await cli(["export", "--run", runDir, "--out", join(tmp, "model.bin")]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ending in \.onnx/);
    const p = await cli(["predict", "--run", file, "--out", join(tmp, "cli", "pred"), samples[0]!]);
    assert.equal(p.code, 0, p.stderr);
    const id = samples[0]!.split("/").pop()!.replace(".jpg", "");
    assert.ok(existsSync(join(tmp, "cli", "pred", `${id}.png`)));
  });
});

describe("web export", () => {
  const site = join(tmp, "site");

  test("writes a self-contained folder and refuses to replace one it did not write", async () => {
    const r = await exportWebSite(runDir, site);
    for (const f of [
      "index.html",
      "app.js",
      "style.css",
      "model.onnx",
      "model-info.json",
      "ort/ort.wasm.bundle.min.mjs",
      "ort/ort-wasm-simd-threaded.wasm",
      "ort/NOTICE.txt",
    ])
      assert.ok(r.files.includes(f), `missing ${f}`);
    const html = await readFile(join(site, "index.html"), "utf8");
    const js = await readFile(join(site, "app.js"), "utf8");
    assert.doesNotMatch(html + js, /https?:\/\/(?!localhost)/, "no external URL");
    // Exporting again replaces the folder; a folder of someone else's files is left alone.
    await exportWebSite(runDir, site);
    const other = join(tmp, "not-a-site");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "mine");
    await assert.rejects(exportWebSite(runDir, other), /was not written by aepsl export/);
    assert.deepEqual(readdirSync(other), ["notes.txt"]);
    assert.ok(!readdirSync(tmp).some((f) => f.includes(".partial-")), "no staging folder left behind");
  });

  test("serve: isolation headers, wasm MIME type, nothing outside the folder", async () => {
    const s = await serveStatic(site, { port: 0 });
    try {
      const page = await fetch(s.url);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
      assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
      const wasm = await fetch(new URL("ort/ort-wasm-simd-threaded.wasm", s.url), { method: "HEAD" });
      assert.equal(wasm.headers.get("content-type"), "application/wasm");
      const escape = await fetch(new URL("/..%2f..%2fetc%2fpasswd", s.url));
      assert.ok(escape.status === 403 || escape.status === 404, `status ${escape.status}`);
      assert.equal((await fetch(new URL("nope.txt", s.url))).status, 404);
    } finally {
      await s.close();
    }
  });

  test("the page in Chromium segments a photo like the engine does", async (t) => {
    const s = await serveStatic(site, { port: 0 });
    const engine = await Segmenter.load(runDir);
    const ctx = await launchChromium(t, tmp).catch(async (err) => {
      (engine.dispose(), await s.close());
      throw err;
    });
    if (!ctx) return (engine.dispose(), s.close());
    try {
      // PNG, so the browser decodes exactly the pixels the engine sees.
      const img = await loadRgb(samples[1]!);
      const png = join(tmp, "photo.png");
      await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
        .png()
        .toFile(png);
      const expected = (await engine.segment(img)).labelMap;
      const tab = await ctx.newPage();
      const problems: string[] = [];
      tab.on("pageerror", (e) => problems.push(e.message));
      tab.on("request", (r) => void (!r.url().startsWith(s.url) && problems.push(`external: ${r.url()}`)));
      await tab.goto(s.url);
      await tab.waitForFunction(() => document.body.dataset.state !== "loading", null, { timeout: 60_000 });
      assert.equal(
        await tab.evaluate(() => document.body.dataset.state),
        "ready",
        (await tab.textContent("#status")) ?? "",
      );
      assert.equal(
        await tab.evaluate(() => self.crossOriginIsolated),
        true,
        "served pages are cross-origin isolated",
      );
      await tab.setInputFiles("#file", png);
      await tab.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state ?? ""), null, {
        timeout: 60_000,
      });
      const got = await tab.evaluate(() => {
        const last = (
          window as unknown as {
            aepsl: {
              last: {
                width: number;
                height: number;
                labels: Uint8Array;
                inferenceMs: number;
                threads: number;
              };
            };
          }
        ).aepsl.last;
        return {
          width: last.width,
          height: last.height,
          labels: Array.from(last.labels),
          ms: last.inferenceMs,
          threads: last.threads,
        };
      });
      assert.deepEqual([got.width, got.height], [img.width, img.height]);
      const share = agreement(expected, Uint8Array.from(got.labels));
      assert.ok(share >= 0.99, `page and engine agree on ${(100 * share).toFixed(2)} % of pixels`);
      const legend = await tab.locator("#legend li").count();
      assert.ok(legend >= 1, "the legend lists the classes in the mask");
      assert.match((await tab.textContent("#timing")) ?? "", /ms/);
      assert.deepEqual(problems, []);
      t.diagnostic(
        `page: ${got.ms.toFixed(0)} ms inference, ${got.threads} threads, agreement ${(100 * share).toFixed(3)} %`,
      );
    } finally {
      engine.dispose();
      await s.close();
      await ctx.close();
    }
  });
});
