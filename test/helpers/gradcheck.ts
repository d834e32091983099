// Finite-difference gradient check in float64: compares autograd's gradient of a scalar function with
// central differences, element by element.
import assert from "node:assert/strict";
import { tensor } from "../../src/engine/ops.js";
import { tidy, type Tensor } from "../../src/engine/tensor.js";

export interface GradInput {
  shape: number[];
  data?: Float64Array;
}

function randomData(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/**
 * Checks d f(inputs) / d input_k for every input k. f must return a scalar float64 tensor.
 * Returns the largest absolute error seen.
 */
export function gradcheck(
  f: (xs: Tensor[]) => Tensor,
  inputs: GradInput[],
  o: { eps?: number; atol?: number; rtol?: number; seed?: number } = {},
): number {
  const eps = o.eps ?? 1e-6;
  const atol = o.atol ?? 1e-5;
  const rtol = o.rtol ?? 1e-4;
  const datas = inputs.map(
    (inp, k) =>
      inp.data ??
      randomData(
        inp.shape.reduce((a, b) => a * b, 1),
        (o.seed ?? 7) + k,
      ),
  );
  const evalAt = (ds: Float64Array[]): number =>
    tidy(() => f(ds.map((d, k) => tensor(d, inputs[k].shape, "float64"))).item());

  const analytic = tidy(() => {
    const xs = datas.map((d, k) => tensor(d, inputs[k].shape, "float64").requiresGrad_(true));
    const y = f(xs);
    assert.deepEqual(y.shape, [], "gradcheck: f must return a scalar");
    y.backward();
    return xs.map((x) => {
      const g = x.grad;
      return g ? (g.toArray() as Float64Array) : new Float64Array(x.numel);
    });
  });

  let worst = 0;
  datas.forEach((d, k) => {
    for (let i = 0; i < d.length; i++) {
      const orig = d[i];
      d[i] = orig + eps;
      const up = evalAt(datas);
      d[i] = orig - eps;
      const down = evalAt(datas);
      d[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(numeric - analytic[k][i]);
      worst = Math.max(worst, err);
      assert.ok(
        err <= atol + rtol * Math.abs(numeric),
        `input ${k} element ${i}: autograd ${analytic[k][i]} vs finite difference ${numeric}`,
      );
    }
  });
  return worst;
}
