// computeCams' score gate: the other scales run only where the native-scale scores ask for them.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import sharp from "sharp";
import { manualSeed } from "../src/engine/ops.js";
import { liveTensors } from "../src/engine/tensor.js";
import { CamClassifier } from "../src/nn/cam-classifier.js";
import { computeCams, extractCams, storedScores } from "../src/stages/cam.js";
import type { RgbImage } from "../src/data/types.js";

const tmp = mkdtempSync(join(tmpdir(), "aepsl-cam-scales-"));
manualSeed(3);
const model = new CamClassifier(3, { imagenet: false, outputStride: 32 });
model.eval();
after(() => {
  model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

function image(seed: number, width = 72, height = 56): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + seed * 71 + ((i / 97) | 0) * 5) & 255;
  return { width, height, data };
}

const multi = { scales: [1, 0.5, 1.5], flip: true };

test("a gate that accepts gives the full multi-scale CAMs; one that refuses, the native-scale pass alone", () => {
  const live = liveTensors();
  const img = image(1);
  const full = computeCams(model, img, [1, 3], multi);
  const calls: Float32Array[] = [];
  const accepted = computeCams(model, img, [1, 3], multi, (s) => (calls.push(s), true));
  assert.equal(full.scales, undefined);
  assert.equal(accepted.scales, undefined);
  assert.deepEqual([...accepted.cams], [...full.cams]);
  assert.equal(calls.length, 1, "the gate is asked once");
  assert.deepEqual([...calls[0]!], [...full.scores], "with the native-scale scores");

  const refused = computeCams(model, img, [1, 3], multi, () => false);
  assert.deepEqual(refused.scales, [1]);
  assert.deepEqual([...refused.scores], [...full.scores], "scores do not depend on the gate");
  const native = computeCams(model, img, [1, 3], { scales: [1], flip: true });
  assert.deepEqual([...refused.cams], [...native.cams]);
  assert.notDeepEqual([...refused.cams], [...full.cams], "the multi-scale average differs from scale 1");
  assert.equal(liveTensors(), live, "no tensor left behind");
});

test("without scale 1 the first scale gives the scores, and the gate stops after it", () => {
  const img = image(2);
  const o = { scales: [0.5, 1.5], flip: false };
  const full = computeCams(model, img, [2], o);
  const refused = computeCams(model, img, [2], o, () => false);
  assert.deepEqual(refused.scales, [0.5]);
  assert.deepEqual([...refused.scores], [...full.scores]);
});

test("extractCams: the gate sees each item, and records.jsonl says which images got fewer scales", async () => {
  const items = [];
  for (const [k, id] of ["a", "b"].entries()) {
    const img = image(10 + k);
    const path = join(tmp, `${id}.png`);
    writeFileSync(
      path,
      await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .png()
        .toBuffer(),
    );
    items.push({ id, imagePath: path, labels: [1, 2] });
  }
  const seen: string[] = [];
  const store = await extractCams({
    ...multi,
    dir: join(tmp, "cams"),
    model,
    items,
    fullScales: (item, scores) => {
      seen.push(item.id);
      assert.equal(scores.length, 3);
      return item.id === "a";
    },
  });
  assert.deepEqual(seen, ["a", "b"]);
  const lines = readFileSync(join(tmp, "cams", "records.jsonl"), "utf8")
    .trim()
    .split("\n");
  const recs = Object.fromEntries(lines.map((l) => [JSON.parse(l).id, JSON.parse(l)]));
  assert.equal(recs.a.scales, undefined);
  assert.deepEqual(recs.b.scales, [1]);
  assert.deepEqual((await store.get("b")).record.scales, [1]);
});

test("storedScores keeps 5 decimals, as records.jsonl does", () => {
  assert.deepEqual(storedScores(Float32Array.from([0.799996, 0.123456789, 1])), [0.8, 0.12346, 1]);
});

test("allScalesGate: none at step 1 or without a score gate; later, all scales only where a tagged class passes", async () => {
  const { allScalesGate } = await import("../src/stages/mine.js");
  assert.equal(allScalesGate({ minScore: 0.8 }, 1), undefined);
  assert.equal(allScalesGate({ minScore: 0 }, 2), undefined);
  const gate = allScalesGate({ minScore: 0.8 }, 2)!;
  const scores = Float32Array.from([0.9, 0.3, 0.7999996]); // classes 1, 2, 3
  assert.equal(gate({ labels: [1] }, scores), true);
  assert.equal(gate({ labels: [2] }, scores), false);
  assert.equal(gate({ labels: [2, 3] }, scores), true, "0.7999996 is kept as 0.8, as mining reads it");
  assert.equal(gate({ labels: [] }, scores), false);
});
