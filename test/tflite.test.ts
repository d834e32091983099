import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { loadSafetensors } from "../src/engine/safetensors.js";
import {
  convertMobileNetV2Model,
  convertMobileNetV2Tflite,
  MOBILENETV2_LAYERS,
  MOBILENETV2_STRIDES,
  tfliteSamePadding,
  type ConvertedTensor,
} from "../src/nn/mobilenetv2-weights.js";
import { dequantizeTensor, parseTflite, readTfliteSync, type TfliteModel } from "../src/nn/tflite.js";
import { InputError } from "../src/util/errors.js";
import { requireSharedFiles, SHARED_DIR } from "./helpers/shared.js";

/** The repository root: the nearest folder above this file with a package.json (works from dist/ too). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("repository root not found");
    dir = up;
  }
  return dir;
}

const WEIGHTS = join(SHARED_DIR, "weights");
const UINT8_MODEL = join(WEIGHTS, "mobilenet_v2_1.0_224_quant.tflite");
const INT8_MODEL = join(WEIGHTS, "tf2_mobilenet_v2_1.0_224_ptq.tflite");

function correlation(x: Float32Array, y: Float32Array): number {
  let mx = 0;
  let my = 0;
  for (let i = 0; i < x.length; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= x.length;
  my /= y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function expectInputError(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, pattern);
    return true;
  });
}

// Converted once and shared: each conversion parses and dequantizes ~3.5 M weights.
let cache: { u8: Record<string, ConvertedTensor>; i8: Record<string, ConvertedTensor> } | undefined;
function converted() {
  cache ??= { u8: convertMobileNetV2Tflite(UINT8_MODEL), i8: convertMobileNetV2Tflite(INT8_MODEL) };
  return cache;
}

describe("MobileNetV2 layer table", () => {
  it("lists 52 backbone convs and the classifier with torchvision names and strides", () => {
    assert.equal(MOBILENETV2_LAYERS.length, 53);
    assert.equal(MOBILENETV2_LAYERS.filter((l) => l.name.startsWith("features.")).length, 52);
    assert.deepEqual(
      MOBILENETV2_LAYERS.filter((l) => l.stride === 2).map((l) => l.name),
      [
        "features.0.0",
        "features.2.conv.1.0",
        "features.4.conv.1.0",
        "features.7.conv.1.0",
        "features.14.conv.1.0",
      ],
    );
    assert.equal(MOBILENETV2_STRIDES["features.0.0"], 2);
    assert.equal(MOBILENETV2_STRIDES["features.3.conv.1.0"], 1);
    const projections = MOBILENETV2_LAYERS.filter((l) => /^features\.\d+\.conv\.(1|2)$/.test(l.name));
    assert.deepEqual(
      projections.map((l) => l.outChannels),
      [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320],
    );
    assert.ok(projections.every((l) => l.activation === "none"));
  });

  it("computes TFLite SAME padding with the extra pixel after", () => {
    assert.deepEqual(tfliteSamePadding(224, 3, 2), [0, 1]);
    assert.deepEqual(tfliteSamePadding(225, 3, 2), [1, 1]);
    assert.deepEqual(tfliteSamePadding(112, 3, 1), [1, 1]);
    assert.deepEqual(tfliteSamePadding(7, 1, 1), [0, 0]);
    assert.deepEqual(tfliteSamePadding(14, 3, 1, 2), [2, 2]);
  });
});

describe("TFLite reader", () => {
  before(() => requireSharedFiles([UINT8_MODEL, INT8_MODEL]));
  it("reads the uint8 model's graph", () => {
    const m = readTfliteSync(UINT8_MODEL);
    assert.equal(m.version, 3);
    assert.deepEqual(m.tensors[m.inputs[0]!]!.shape, [1, 224, 224, 3]);
    assert.deepEqual(m.tensors[m.outputs[0]!]!.shape, [1, 1001]);
    const counts: Record<string, number> = {};
    for (const op of m.operators) counts[op.opName] = (counts[op.opName] ?? 0) + 1;
    assert.equal(counts.CONV_2D, 36);
    assert.equal(counts.DEPTHWISE_CONV_2D, 17);
    assert.equal(counts.ADD, 10);
    const first = m.operators[0]!;
    assert.deepEqual(first.options, {
      kind: "conv2d",
      padding: "SAME",
      strideW: 2,
      strideH: 2,
      activation: "RELU6",
      dilationW: 1,
      dilationH: 1,
    });
  });

  it("dequantizes uint8 weights as scale × (q − zero_point) and int32 biases with input × weight scale", () => {
    const m = readTfliteSync(UINT8_MODEL);
    const op = m.operators[0]!;
    const [x, w, b] = op.inputs.map((i) => m.tensors[i]!);
    const wq = w!.quantization!;
    assert.equal(w!.type, "UINT8");
    assert.equal(wq.scale.length, 1);
    const raw = m.buffers[w!.buffer]!;
    const wf = dequantizeTensor(m, op.inputs[1]!);
    for (const i of [0, 7, 100, raw.length - 1]) {
      assert.equal(wf[i], Math.fround(wq.scale[0]! * (raw[i]! - wq.zeroPoint[0]!)));
    }
    assert.equal(b!.type, "INT32");
    const expected = x!.quantization!.scale[0]! * wq.scale[0]!;
    assert.ok(
      Math.abs(b!.quantization!.scale[0]! / expected - 1) < 1e-5,
      "bias scale = input scale × weight scale",
    );
    const bf = dequantizeTensor(m, op.inputs[2]!);
    const bq = new DataView(m.buffers[b!.buffer]!.buffer, m.buffers[b!.buffer]!.byteOffset);
    assert.ok(Math.abs(bf[3]! - b!.quantization!.scale[0]! * bq.getInt32(12, true)) < 1e-6);
  });

  it("reads per-channel int8 quantization along quantized_dimension", () => {
    const m = readTfliteSync(INT8_MODEL);
    const dw = m.operators.find((op) => op.opName === "DEPTHWISE_CONV_2D")!;
    const w = m.tensors[dw.inputs[1]!]!;
    assert.equal(w.type, "INT8");
    assert.equal(w.quantization!.quantizedDimension, 3);
    assert.equal(w.quantization!.scale.length, w.shape[3]);
    const wf = dequantizeTensor(m, dw.inputs[1]!);
    const raw = new Int8Array(m.buffers[w.buffer]!.buffer, m.buffers[w.buffer]!.byteOffset, wf.length);
    const c = w.shape[3]!;
    for (const i of [0, 1, c + 5, wf.length - 1]) {
      const s = w.quantization!.scale[i % c]!;
      assert.equal(wf[i], Math.fround(s * (raw[i]! - w.quantization!.zeroPoint[i % c]!)));
    }
  });
});

describe("MobileNetV2 conversion", () => {
  before(() => requireSharedFiles([UINT8_MODEL, INT8_MODEL]));
  it("converts the uint8 model: all 52 convs + classifier with the exact shapes", () => {
    const { u8 } = converted();
    const expected: Record<string, number[]> = {};
    for (const l of MOBILENETV2_LAYERS) {
      expected[`${l.name}.weight`] =
        l.kind === "linear"
          ? [l.outChannels, l.inChannels]
          : l.kind === "depthwise"
            ? [l.outChannels, 1, l.kernel, l.kernel]
            : [l.outChannels, l.inChannels, l.kernel, l.kernel];
      expected[`${l.name}.bias`] = [l.outChannels];
    }
    assert.deepEqual(Object.keys(u8).sort(), Object.keys(expected).sort());
    assert.equal(Object.keys(u8).length, 106);
    for (const [name, shape] of Object.entries(expected)) {
      assert.deepEqual(u8[name]!.shape, shape, name);
      assert.equal(
        u8[name]!.data.length,
        shape.reduce((a, b) => a * b, 1),
        name,
      );
    }
    const spot: Record<string, number[]> = {
      "features.0.0.weight": [32, 3, 3, 3],
      "features.1.conv.0.0.weight": [32, 1, 3, 3],
      "features.1.conv.1.weight": [16, 32, 1, 1],
      "features.2.conv.0.0.weight": [96, 16, 1, 1],
      "features.2.conv.1.0.weight": [96, 1, 3, 3],
      "features.2.conv.2.weight": [24, 96, 1, 1],
      "features.14.conv.1.0.weight": [576, 1, 3, 3],
      "features.17.conv.2.weight": [320, 960, 1, 1],
      "features.18.0.weight": [1280, 320, 1, 1],
      "features.18.0.bias": [1280],
      "classifier.1.weight": [1001, 1280],
      "classifier.1.bias": [1001],
    };
    for (const [name, shape] of Object.entries(spot)) assert.deepEqual(u8[name]!.shape, shape, name);
  });

  it("produces finite, plausibly scaled weights and non-zero folded biases", () => {
    const { u8 } = converted();
    for (const [name, t] of Object.entries(u8)) {
      let maxAbs = 0;
      let sumSq = 0;
      let nonZero = 0;
      for (const v of t.data) {
        assert.ok(Number.isFinite(v), `${name} has a non-finite value`);
        maxAbs = Math.max(maxAbs, Math.abs(v));
        sumSq += v * v;
        if (v !== 0) nonZero++;
      }
      const rms = Math.sqrt(sumSq / t.data.length);
      assert.ok(maxAbs < 100, `${name}: max |w| ${maxAbs} is implausible`);
      assert.ok(rms > 1e-3, `${name}: rms ${rms} is implausibly small`);
      if (name.endsWith(".bias")) assert.ok(nonZero / t.data.length > 0.9, `${name}: biases are mostly zero`);
      else assert.ok(nonZero / t.data.length > 0.5, `${name}: weights are mostly zero`);
    }
  });

  it("transposes OHWI → OIHW and 1HWC → [C,1,H,W]", () => {
    const { u8 } = converted();
    const m = readTfliteSync(UINT8_MODEL);
    const convs = m.operators.filter((op) => op.opName === "CONV_2D" || op.opName === "DEPTHWISE_CONV_2D");
    // features.0.0: OHWI [32, 3, 3, 3] → OIHW [32, 3, 3, 3].
    const raw0 = dequantizeTensor(m, convs[0]!.inputs[1]!);
    const w0 = u8["features.0.0.weight"]!.data;
    for (const [o, i, h, w] of [
      [0, 0, 0, 0],
      [5, 2, 1, 0],
      [31, 1, 2, 2],
    ] as const) {
      assert.equal(w0[((o * 3 + i) * 3 + h) * 3 + w], raw0[((o * 3 + h) * 3 + w) * 3 + i]);
    }
    // features.1.conv.0.0: [1, 3, 3, 32] → [32, 1, 3, 3].
    const raw1 = dequantizeTensor(m, convs[1]!.inputs[1]!);
    const w1 = u8["features.1.conv.0.0.weight"]!.data;
    for (const [c, h, w] of [
      [0, 0, 0],
      [7, 1, 2],
      [31, 2, 1],
    ] as const) {
      assert.equal(w1[(c * 3 + h) * 3 + w], raw1[(h * 3 + w) * 32 + c]);
    }
    // classifier: [1001, 1, 1, 1280] → [1001, 1280] unchanged.
    assert.deepEqual(u8["classifier.1.weight"]!.data, dequantizeTensor(m, convs[52]!.inputs[1]!));
  });

  it("converts the per-channel int8 model to the same names and shapes, correlated with the uint8 weights", () => {
    const { u8, i8 } = converted();
    assert.deepEqual(Object.keys(i8).sort(), Object.keys(u8).sort());
    for (const name of Object.keys(u8)) assert.deepEqual(i8[name]!.shape, u8[name]!.shape, name);
    for (const name of [
      "features.0.0.weight",
      "features.1.conv.0.0.weight",
      "features.4.conv.1.0.weight",
      "features.9.conv.0.0.weight",
      "features.17.conv.2.weight",
      "features.18.0.weight",
      "classifier.1.weight",
      "classifier.1.bias",
    ]) {
      const r = correlation(u8[name]!.data, i8[name]!.data);
      assert.ok(r > 0.9, `${name}: correlation ${r.toFixed(3)}`);
    }
  });

  it("rejects a graph that is not MobileNetV2", () => {
    const m = readTfliteSync(UINT8_MODEL);
    const dropped: TfliteModel = { ...m, operators: m.operators.filter((_, i) => i !== 4) };
    expectInputError(() => convertMobileNetV2Model(dropped), UINT8_MODEL, /found 52 CONV_2D.*expected 53/);

    const swapped: TfliteModel = { ...m, operators: [...m.operators] };
    [swapped.operators[1], swapped.operators[2]] = [swapped.operators[2]!, swapped.operators[1]!];
    expectInputError(
      () => convertMobileNetV2Model(swapped),
      UINT8_MODEL,
      /operator 2 \(CONV_2D\) should be features\.1\.conv\.0\.0 \(depthwise 3×3 stride 1, 32 channels\), but it is a CONV_2D/,
    );

    const restrided: TfliteModel = {
      ...m,
      operators: m.operators.map((op, i) =>
        i === 4 && op.options?.kind === "depthwise_conv2d"
          ? { ...op, options: { ...op.options, strideW: 1, strideH: 1 } }
          : op,
      ),
    };
    expectInputError(
      () => convertMobileNetV2Model(restrided),
      UINT8_MODEL,
      /features\.2\.conv\.1\.0.*stride is 1×1/,
    );
  });
});

describe("TFLite errors", () => {
  before(() => requireSharedFiles([UINT8_MODEL, INT8_MODEL]));
  const dir = mkdtempSync(join(tmpdir(), "aepsl-tflite-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("rejects a text file as not a TFLite file, naming the file", () => {
    const path = join(dir, "notes.tflite");
    writeFileSync(path, "this is not a model, just some text\n");
    expectInputError(() => readTfliteSync(path), path, /not a TFLite file/);
    expectInputError(() => convertMobileNetV2Tflite(path), path, /not a TFLite file/);
    const tiny = join(dir, "tiny.tflite");
    writeFileSync(tiny, "abc");
    expectInputError(() => readTfliteSync(tiny), tiny, /not a TFLite file/);
  });

  it("rejects truncated copies, naming the file", () => {
    const bytes = readFileSync(UINT8_MODEL);
    // The file ends with a zip of associated files (the labels) that the graph never references, so
    // cuts are made inside the flatbuffer proper.
    for (const n of [16, 4096, 1_000_000, 3_500_000]) {
      const path = join(dir, `cut-${n}.tflite`);
      writeFileSync(path, bytes.subarray(0, n));
      expectInputError(() => convertMobileNetV2Tflite(path), path, /truncated/);
    }
    expectInputError(() => parseTflite(bytes.subarray(0, 2000), "mem.tflite"), "mem.tflite", /truncated/);
  });
});

describe("converted weights file", () => {
  before(() => requireSharedFiles([UINT8_MODEL, INT8_MODEL]));
  const file = join(repoRoot(), "weights", "mobilenet_v2_1.0_imagenet.safetensors");

  it("matches a fresh conversion of the uint8 model and records its origin", async () => {
    const { tensors, metadata } = await loadSafetensors(file);
    assert.equal(metadata.licence, "Apache-2.0");
    assert.equal(metadata.origin, "google-coral/test_data");
    assert.equal(metadata.source, "mobilenet_v2_1.0_224_quant.tflite");
    const { u8 } = converted();
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(u8).sort());
    for (const [name, t] of Object.entries(tensors)) {
      assert.equal(t.dtype, "F32", name);
      assert.deepEqual(t.shape, u8[name]!.shape, name);
      assert.deepEqual(t.data, u8[name]!.data, name);
    }
  });
});
