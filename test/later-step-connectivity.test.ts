// bench:later-step-connectivity's gate: a later-step region counts only where it grows out of the same
// class's earlier regions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectedToEarlier, gateStepsByConnectivity } from "../bench/later-step-connectivity.js";
import type { StepRegions } from "../src/stages/pseudo-labels.js";

const regions = (cls: number[]): StepRegions => ({
  cls: Uint8Array.from(cls),
  value: Float32Array.from(cls, (c, i) => (c ? 0.5 + i / 100 : 0)),
  maxCam: new Float32Array(cls.length),
});

// 5×3 image. Earlier: dog (12) at (0,0). Later: a dog blob at (1,0)-(1,1) touching it, a lone dog pixel at
// (4,2), a person (15) pixel at (0,2) touching no earlier person, a dog pixel at (2,2) touching the blob only
// diagonally (so it is part of the blob's component), and a collision (255) at (3,0).
const earlier = Uint8Array.from([12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const later = regions([0, 12, 0, 255, 0, 0, 12, 0, 0, 0, 15, 0, 12, 0, 12]);

test("connectedToEarlier: keeps components touching the same class, drops the rest", () => {
  const out = connectedToEarlier(later, earlier, 5, 3);
  assert.deepEqual([...out.cls], [0, 12, 0, 0, 0, 0, 12, 0, 0, 0, 0, 0, 12, 0, 0]);
  assert.equal(out.value[1], later.value[1], "kept pixels keep their CAM value");
  assert.equal(out.value[14], 0, "dropped pixels lose theirs");
});

test("connectedToEarlier: another class's earlier region does not count", () => {
  const personEarlier = Uint8Array.from([15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const out = connectedToEarlier(later, personEarlier, 5, 3);
  assert.deepEqual([...out.cls], new Array(15).fill(0));
});

test("gateStepsByConnectivity: step 3 may grow out of what step 2 kept", () => {
  const step1 = regions([12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const step2 = regions([0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12]);
  const step3 = regions([0, 0, 12, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0, 0]);
  const [s1, s2, s3] = gateStepsByConnectivity([step1, step2, step3], 5, 3);
  assert.equal(s1, step1, "step 1 is not gated");
  assert.deepEqual([...s2!.cls], [0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...s3!.cls], [0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test("connectedToEarlier: sizes that differ are an error", () => {
  assert.throws(() => connectedToEarlier(later, earlier.subarray(1), 5, 3), /pixels/);
});
