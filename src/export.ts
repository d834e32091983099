// `aepsl export`: a run's segmentation network as an ONNX file, checked against the engine, or as a static
// web page that segments photos in the browser with onnxruntime-web (page sources in web/).
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { loadRgb } from "./data/image.js";
import type { RgbImage } from "./data/types.js";
import { packageRoot } from "./engine/native.js";
import { noGrad, tidy } from "./engine/index.js";
import type { DeepLabLargeFov } from "./nn/deeplab.js";
import { exportSegmentationModel } from "./onnx/export.js";
import { encodeModel } from "./onnx/proto.js";
import { rgbToChannelsFirst } from "./onnx/segmenter.js";
import { loadSegmentationNetwork } from "./segmenter.js";
import { imagesToTensor } from "./stages/tensorize.js";
import { writeFileAtomic, writeFileAtomicSync } from "./util/fs.js";

/** The images an export is checked on: the bundled sample's photos (odd and even sizes). */
export const VERIFY_IMAGES_DIR = join(packageRoot, "samples", "voc-mini", "JPEGImages");

export interface ExportVerification {
  images: number;
  /** Largest |engine logit − onnxruntime logit| over every pixel and class. */
  maxAbsDiff: number;
  /** Share of pixels whose argmax agrees. */
  argmaxAgreement: number;
}

export interface OnnxExportResult {
  file: string;
  bytes: number;
  classes: string[];
  /** One RGB triple per class, as model.json gives them. */
  colours: number[][];
  /** null when onnxruntime-node is not installed (the export is then unchecked). */
  verification: ExportVerification | null;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}

function networkToOnnx(runDir: string): {
  bytes: Uint8Array;
  model: DeepLabLargeFov;
  classes: string[];
  colours: number[][];
} {
  const { model, info } = loadSegmentationNetwork(runDir);
  const colours: number[][] = [];
  for (let i = 0; i + 2 < info.palette.length; i += 3) colours.push(info.palette.slice(i, i + 3));
  try {
    const onnx = exportSegmentationModel(model, {
      classNames: info.classNames,
      palette: info.palette,
      outputStride: info.outputStride,
      producerVersion: packageVersion(),
    });
    return { bytes: encodeModel(onnx), model, classes: info.classNames, colours };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Runs images through the engine and onnxruntime-node and compares their logits. */
export async function verifyOnnxExport(
  model: DeepLabLargeFov,
  onnxBytes: Uint8Array,
  images: RgbImage[],
): Promise<ExportVerification | null> {
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch {
    return null;
  }
  const session = await ort.InferenceSession.create(onnxBytes);
  let maxAbsDiff = 0;
  let agree = 0;
  let pixels = 0;
  try {
    for (const img of images) {
      const ref = noGrad(() => tidy(() => model.forward(imagesToTensor([img])).toArray() as Float32Array));
      const input = new ort.Tensor("float32", rgbToChannelsFirst(img), [1, 3, img.height, img.width]);
      const got = (await session.run({ image: input })).logits!.data as Float32Array;
      if (got.length !== ref.length)
        throw new Error(`onnxruntime returned ${got.length} scores, the engine ${ref.length}`);
      const px = img.width * img.height;
      const c = ref.length / px;
      for (let i = 0; i < ref.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref[i]! - got[i]!));
      for (let i = 0; i < px; i++) {
        let a = 0;
        let b = 0;
        for (let k = 1; k < c; k++) {
          if (ref[k * px + i]! > ref[a * px + i]!) a = k;
          if (got[k * px + i]! > got[b * px + i]!) b = k;
        }
        if (a === b) agree++;
      }
      pixels += px;
    }
  } finally {
    await session.release();
  }
  return { images: images.length, maxAbsDiff, argmaxAgreement: agree / pixels };
}

async function verificationImages(count: number): Promise<RgbImage[]> {
  if (!existsSync(VERIFY_IMAGES_DIR)) return [];
  const files = readdirSync(VERIFY_IMAGES_DIR)
    .filter((f) => f.endsWith(".jpg"))
    .sort()
    .slice(0, count);
  return Promise.all(files.map((f) => loadRgb(join(VERIFY_IMAGES_DIR, f))));
}

/** Tolerances an export must meet against the engine (issue #14). */
export const EXPORT_TOLERANCE = { maxAbsDiff: 1e-3, argmaxAgreement: 0.999 } as const;

function checkVerification(v: ExportVerification | null): void {
  if (
    v &&
    (v.maxAbsDiff > EXPORT_TOLERANCE.maxAbsDiff || v.argmaxAgreement < EXPORT_TOLERANCE.argmaxAgreement)
  )
    throw new Error(
      `the exported graph disagrees with the engine (max |Δlogit| ${v.maxAbsDiff.toExponential(2)}, ` +
        `argmax agreement ${(100 * v.argmaxAgreement).toFixed(3)} %): not written`,
    );
}

/** Writes <outFile> (atomically), after checking it against the engine on a few sample photos. */
export async function exportOnnx(
  runDir: string,
  outFile: string,
  o: { verifyImages?: number } = {},
): Promise<OnnxExportResult> {
  const { bytes, model, classes, colours } = networkToOnnx(runDir);
  try {
    const verification = await verifyOnnxExport(model, bytes, await verificationImages(o.verifyImages ?? 3));
    checkVerification(verification);
    mkdirSync(dirname(resolve(outFile)), { recursive: true });
    await writeFileAtomic(outFile, bytes);
    return { file: resolve(outFile), bytes: bytes.length, classes, colours, verification };
  } finally {
    model.dispose();
  }
}

/** The onnxruntime-web files a page needs: the wasm-only ES module bundle and its wasm binary. */
const ORT_WEB_FILES = ["ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm"];
const SITE_MARKER = "aepsl-site.json";

function onnxruntimeWebDist(): { dir: string; version: string } {
  const require = createRequire(join(packageRoot, "package.json"));
  let entry: string;
  try {
    entry = require.resolve("onnxruntime-web");
  } catch {
    throw new Error("export --format web needs the onnxruntime-web package (npm install onnxruntime-web)");
  }
  // Its package.json is not in the package's "exports": walk up from the entry point to it.
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pkgPath = join(dir, "package.json");
    if (!existsSync(pkgPath)) continue;
    const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { name?: string; version: string };
    if (pkg.name === "onnxruntime-web") return { dir: join(dir, "dist"), version: pkg.version };
  }
  throw new Error(`onnxruntime-web: no package.json above ${entry}`);
}

export interface WebExportResult extends OnnxExportResult {
  dir: string;
  files: string[];
}

/**
 * Writes a static folder: index.html + app.js + style.css (from web/), model.onnx, model-info.json (classes,
 * colours) and onnxruntime-web's wasm files under ort/. Built beside the target and renamed into place, so
 * a failed export leaves no half-written folder; an existing folder is replaced only if aepsl wrote it.
 */
export async function exportWebSite(runDir: string, outDir: string): Promise<WebExportResult> {
  const target = resolve(outDir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new Error(`${target}: exists and is not a folder`);
    if (readdirSync(target).length && !existsSync(join(target, SITE_MARKER)))
      throw new Error(
        `${target}: folder exists and was not written by aepsl export (no ${SITE_MARKER}): not replaced`,
      );
  }
  const ortWeb = onnxruntimeWebDist();
  const staging = `${target}.partial-${randomBytes(4).toString("hex")}`;
  mkdirSync(join(staging, "ort"), { recursive: true });
  try {
    const model = await exportOnnx(runDir, join(staging, "model.onnx"));
    writeFileAtomicSync(
      join(staging, "model-info.json"),
      JSON.stringify(
        { classes: model.classes, colours: model.colours, producer: `aepsl ${packageVersion()}` },
        null,
        2,
      ),
    );
    for (const f of ["index.html", "app.js", "style.css"])
      copyFileSync(join(packageRoot, "web", f), join(staging, f));
    for (const f of ORT_WEB_FILES) {
      const src = join(ortWeb.dir, f);
      if (!existsSync(src)) throw new Error(`${src}: missing from the onnxruntime-web package`);
      copyFileSync(src, join(staging, "ort", f));
    }
    writeFileAtomicSync(join(staging, "ort", "NOTICE.txt"), ortNotice(ortWeb.version));
    writeFileAtomicSync(
      join(staging, SITE_MARKER),
      JSON.stringify(
        { producer: `aepsl ${packageVersion()}`, onnxruntimeWeb: ortWeb.version, run: resolve(runDir) },
        null,
        2,
      ),
    );
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    const files = listRelative(target);
    return { ...model, file: join(target, "model.onnx"), dir: target, files };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

function listRelative(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listRelative(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

function ortNotice(version: string): string {
  return `onnxruntime-web ${version} (https://github.com/microsoft/onnxruntime), copied from its npm package.

MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;
}
