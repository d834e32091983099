// U²-Netp: the shipped weights (converted from the ONNX file by scripts/convert-u2netp.ts) reproduce the
// reference output of onnxruntime on the reference input, and the converter refuses graphs it cannot map.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadRgb } from "../src/data/image.js";
import { tensor } from "../src/engine/ops.js";
import { loadSafetensorsSync } from "../src/engine/safetensors.js";
import { dispose, liveTensors, noGrad, tidy } from "../src/engine/tensor.js";
import { Conv2d } from "../src/nn/layers.js";
import type { Module } from "../src/nn/module.js";
import { U2NetP } from "../src/nn/u2netp.js";
import { convertU2NetPOnnx } from "../src/nn/u2netp-weights.js";
import { decodeModel, encodeModel } from "../src/onnx/proto.js";
import { loadU2NetP, U2NETP_WEIGHTS, U2NetPSaliency } from "../src/saliency/u2netp.js";
import { requireSharedFiles, SHARED_DIR } from "./helpers/shared.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHARED = join(SHARED_DIR, "weights", "u2netp");
const ONNX = join(SHARED, "u2netp.onnx");
const isConv = (m: Module): m is Conv2d => m instanceof Conv2d;

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

test("the shipped U²-Netp weights and their licence notice are in weights/u2netp", () => {
  for (const f of ["u2netp.safetensors", "LICENSE-Apache-2.0.txt", "NOTICE"])
    assert.ok(existsSync(join(ROOT, "weights", "u2netp", f)), `weights/u2netp/${f} missing`);
  const { tensors, metadata } = loadSafetensorsSync(U2NETP_WEIGHTS);
  assert.equal(Object.keys(tensors).length, 238);
  assert.equal(metadata.license, "Apache-2.0");
});

test("U²-Netp on the reference input matches onnxruntime's output (max abs difference ≤ 1e-4)", () => {
  requireSharedFiles([join(SHARED, "check", "pets-input.f32"), join(SHARED, "check", "pets-output.f32")]);
  const input = f32(join(SHARED, "check", "pets-input.f32"));
  const expected = f32(join(SHARED, "check", "pets-output.f32"));
  const before = liveTensors();
  const model = loadU2NetP();
  const got = noGrad(() =>
    tidy(
      () =>
        model
          .forward(tensor(input, [1, 3, 320, 320]))
          .sigmoid()
          .toArray() as Float32Array,
    ),
  );
  dispose(model.stateDict());
  assert.equal(got.length, expected.length);
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
  assert.ok(maxDiff <= 1e-4, `max abs difference ${maxDiff}`);
  assert.equal(liveTensors(), before, "tensors leaked");
});

test("the saliency wrapper maps a photo at its own size, salient where the animal is", async () => {
  const img = await loadRgb(join(ROOT, "samples", "voc-mini", "JPEGImages", "2007_000876.jpg"));
  const net = U2NetPSaliency.load({ inputSize: 160 });
  try {
    const [a, b] = net.mapBatch([img, img]);
    assert.equal(a!.width, img.width);
    assert.equal(a!.height, img.height);
    assert.deepEqual(a!.data, b!.data, "batching changes nothing");
    let lo = 0;
    let hi = 0;
    for (const v of a!.data) v < 0.1 ? lo++ : v > 0.9 ? hi++ : 0;
    assert.ok(lo > 0 && hi > 0, `expected both clear background and clear object pixels (${lo}, ${hi})`);
  } finally {
    net.dispose();
  }
  assert.throws(() => U2NetPSaliency.load({ inputSize: 100 }), /multiple of 32/);
});

test("the converter reproduces the shipped weights and refuses a graph of another structure", () => {
  requireSharedFiles([ONNX]);
  const bytes = readFileSync(ONNX);
  const model = new U2NetP();
  try {
    const converted = convertU2NetPOnnx(bytes, model, isConv, ONNX);
    const shipped = loadSafetensorsSync(U2NETP_WEIGHTS).tensors;
    assert.deepEqual(Object.keys(converted).sort(), Object.keys(shipped).sort());
    for (const [k, t] of Object.entries(converted)) assert.deepEqual(t.data, shipped[k]!.data, k);

    const onnx = decodeModel(bytes);
    const firstConv = onnx.graph.node.findIndex((n) => n.opType === "Conv");
    onnx.graph.node.splice(firstConv, 1);
    assert.throws(
      () => convertU2NetPOnnx(encodeModel(onnx), model, isConv, "cut.onnx"),
      /cut\.onnx: 118 Conv nodes, but U²-Netp has 119/,
    );
    const dilated = decodeModel(bytes);
    const conv = dilated.graph.node.find((n) => n.opType === "Conv")!;
    conv.attribute!.find((a) => a.name === "dilations")!.ints = [2, 2];
    assert.throws(
      () => convertU2NetPOnnx(encodeModel(dilated), model, isConv, "d.onnx"),
      /d\.onnx: Conv node 0 .* dilation \[2,2\], expected \[1,1\]/,
    );
    assert.throws(
      () => convertU2NetPOnnx(Buffer.from("not onnx at all"), model, isConv, "junk.onnx"),
      /junk\.onnx/,
    );
  } finally {
    dispose(model.stateDict());
  }
});
