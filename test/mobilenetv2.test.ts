import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { softmax, tensor, zeros } from "../src/engine/ops.js";
import { packageRoot } from "../src/engine/native.js";
import { tidy } from "../src/engine/tensor.js";
import { MobileNetV2, mobilenetV2ImageNet, normalizeImage } from "../src/nn/mobilenetv2.js";

const labels = readFileSync(join(packageRoot, "weights", "imagenet_labels.txt"), "utf8")
  .trim()
  .split("\n");

async function load224(file: string) {
  const { data } = await sharp(file)
    .removeAlpha()
    .resize(224, 224, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return tidy(() =>
    normalizeImage(tensor(new Uint8Array(data), [1, 224, 224, 3], "uint8").permute([0, 3, 1, 2])),
  );
}

test("ImageNet head reproduces the expected top-1 labels on sample photos", async () => {
  const model = mobilenetV2ImageNet({ withClassifier: true }).eval();
  const expected: Record<string, string> = {
    "cat.jpg": "Egyptian cat",
    "bird.jpg": "chickadee",
    "dragonfly.jpg": "dragonfly",
  };
  for (const [file, want] of Object.entries(expected)) {
    const x = await load224(join(packageRoot, "test", "fixtures", "photos", file));
    const { top, p } = tidy(() => {
      const probs = softmax(model.forward(x), 1);
      const top = probs.argmax(1).item();
      return { top, p: probs.amax().item() };
    });
    x.dispose();
    assert.equal(labels[top].split(",")[0], want, `${file}: got ${labels[top]} (p=${p.toFixed(2)})`);
    assert.ok(p > 0.3, `${file}: confident (${p})`);
  }
  model.dispose();
});

test("output stride 32/16/8 via dilation, and the batch-norm variant's shapes and names", () => {
  for (const os of [32, 16, 8] as const) {
    const m = new MobileNetV2({ outputStride: os });
    tidy(() => assert.deepEqual(m.extract(zeros([1, 3, 64, 64])).shape, [1, 1280, 64 / os, 64 / os]));
    m.dispose();
  }
  const bn = new MobileNetV2({ norm: "batchnorm", numClasses: 20 });
  const names = bn.namedParameters().map(([k]) => k);
  // torchvision's names
  for (const k of [
    "features.0.1.weight",
    "features.1.conv.0.0.weight",
    "features.1.conv.2.weight",
    "features.2.conv.3.bias",
    "features.18.1.weight",
    "classifier.1.weight",
  ])
    assert.ok(names.includes(k), k);
  assert.equal(names.length, 52 + 52 * 2 + 2);
  bn.dispose();
});
