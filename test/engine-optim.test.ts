import assert from "node:assert/strict";
import { test } from "node:test";
import { clipGradNorm, tensor } from "../src/engine/ops.js";
import { Adam, SGD, cosineLr, polyLr } from "../src/engine/optim.js";
import { dispose, tidy, type Tensor } from "../src/engine/tensor.js";

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6): void => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) < tol, `element ${i}: ${a[i]} vs ${b[i]}`);
};

/** Sets p.grad to g by backpropagating sum(p * g). */
function setGrad(p: Tensor, g: number[]): void {
  tidy(() =>
    p
      .mul(tensor(g, p.shape, p.dtype))
      .sum()
      .backward(),
  );
}

test("SGD with momentum, weight decay and dampening matches hand-computed updates", () => {
  const p = tensor(Float64Array.of(1, -2), [2], "float64").requiresGrad_();
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
  // step 1: d = g + wd·p = [0.5+0.5, 1-1] = [1, 0]; buf = d; p = p − 0.1·buf
  setGrad(p, [0.5, 1]);
  opt.step();
  close(p.toArray() as Float64Array, [0.9, -2]);
  opt.zeroGrad();
  // step 2: g = [1, 1]; d = [1 + 0.45, 1 − 1] = [1.45, 0]; buf = 0.9·[1,0] + d = [2.35, 0]
  setGrad(p, [1, 1]);
  opt.step();
  close(p.toArray() as Float64Array, [0.9 - 0.235, -2]);
  dispose([p]);
  opt.dispose();
});

test("SGD with Nesterov momentum", () => {
  const p = tensor(Float64Array.of(1), [1], "float64").requiresGrad_();
  const opt = new SGD([p], { lr: 1, momentum: 0.5, nesterov: true });
  setGrad(p, [1]); // buf = 1; d = 1 + 0.5·1 = 1.5
  opt.step();
  close(p.toArray() as Float64Array, [-0.5]);
  opt.zeroGrad();
  setGrad(p, [1]); // buf = 0.5 + 1 = 1.5; d = 1 + 0.75 = 1.75
  opt.step();
  close(p.toArray() as Float64Array, [-2.25]);
  assert.throws(() => new SGD([p], { lr: 1, nesterov: true }), /nesterov/);
  p.dispose();
  opt.dispose();
});

test("parameter groups use their own learning rates and schedules scale them", () => {
  const a = tensor(Float64Array.of(0), [1], "float64").requiresGrad_();
  const b = tensor(Float64Array.of(0), [1], "float64").requiresGrad_();
  const opt = new SGD(
    [
      { params: [a], lr: 0.01 },
      { params: [b], lr: 0.1 },
    ],
    { lr: 0 },
  );
  setGrad(a, [1]);
  setGrad(b, [1]);
  opt.setLrFactor(0.5);
  opt.step();
  close(a.toArray() as Float64Array, [-0.005]);
  close(b.toArray() as Float64Array, [-0.05]);
  dispose([a, b]);
});

test("Adam and AdamW match the reference update", () => {
  for (const decoupled of [false, true]) {
    const p = tensor(Float64Array.of(1), [1], "float64").requiresGrad_();
    const opt = new Adam([p], { lr: 0.1, weightDecay: 0.1, decoupled });
    let x = 1;
    let m = 0;
    let v = 0;
    for (let t = 1; t <= 3; t++) {
      const g0 = 2 * t;
      setGrad(p, [g0]);
      opt.step();
      opt.zeroGrad();
      if (decoupled) x *= 1 - 0.1 * 0.1;
      const g = decoupled ? g0 : g0 + 0.1 * x;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      const mhat = m / (1 - 0.9 ** t);
      const denom = Math.sqrt(v) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
      x -= (0.1 * mhat) / denom;
    }
    close(p.toArray() as Float64Array, [x], 1e-9);
    p.dispose();
    opt.dispose();
  }
});

test("poly and cosine schedules", () => {
  const poly = polyLr(100, 0.9);
  assert.equal(poly.factor(0), 1);
  assert.ok(Math.abs(poly.factor(50) - 0.5 ** 0.9) < 1e-12);
  assert.equal(poly.factor(100), 0);
  const warm = polyLr(100, 0.9, 10);
  assert.equal(warm.factor(0), 0.1);
  const cos = cosineLr(100, 0.1);
  assert.equal(cos.factor(0), 1);
  assert.ok(Math.abs(cos.factor(50) - 0.55) < 1e-12);
  assert.ok(Math.abs(cos.factor(100) - 0.1) < 1e-12);
});

test("gradient clipping rescales to the max norm and reports the norm before", () => {
  const a = tensor(Float64Array.of(0, 0), [2], "float64").requiresGrad_();
  const b = tensor(Float64Array.of(0), [1], "float64").requiresGrad_();
  setGrad(a, [3, 0]);
  setGrad(b, [4]);
  const norm = clipGradNorm([a, b], 1);
  assert.ok(Math.abs(norm - 5) < 1e-9);
  tidy(() => {
    close(a.grad!.toArray() as Float64Array, [0.6, 0], 1e-5);
    close(b.grad!.toArray() as Float64Array, [0.8], 1e-5);
  });
  dispose([a, b]);
});
