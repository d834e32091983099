import { test } from "node:test";
import {
  adaptiveAvgPool2d,
  avgPool2d,
  batchNorm,
  bceWithLogits,
  conv2d,
  crossEntropy,
  interpolate,
  linear,
  logSoftmax,
  maxPool2d,
  mseLoss,
  pad2d,
  softmax,
  tensor,
} from "../src/engine/ops.js";
import type { Tensor } from "../src/engine/tensor.js";
import { gradcheck } from "./helpers/gradcheck.js";

// A fixed, non-trivial projection so every output element influences the scalar being checked.
const weighted = (y: Tensor): Tensor => {
  const n = y.numel;
  const w = tensor(
    Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1)),
    y.shape,
    "float64",
  );
  return y.mul(w).sum();
};

test("conv2d gradients: stride, padding, dilation", () => {
  gradcheck(
    ([x, w, b]) => weighted(conv2d(x, w, b, { stride: 2, padding: 1, dilation: 1 })),
    [{ shape: [2, 3, 5, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }],
  );
  gradcheck(
    ([x, w]) => weighted(conv2d(x, w, null, { padding: 2, dilation: 2 })),
    [{ shape: [1, 2, 6, 6] }, { shape: [3, 2, 3, 3] }],
  );
});

test("conv2d gradients: grouped and depthwise", () => {
  gradcheck(
    ([x, w]) => weighted(conv2d(x, w, null, { padding: 1, groups: 2 })),
    [{ shape: [1, 4, 4, 4] }, { shape: [6, 2, 3, 3] }],
  );
  gradcheck(
    ([x, w, b]) => weighted(conv2d(x, w, b, { stride: 2, padding: 1, groups: 3 })),
    [{ shape: [2, 3, 5, 5] }, { shape: [3, 1, 3, 3] }, { shape: [3] }],
  );
});

test("batch norm gradients in training and eval mode", () => {
  gradcheck(
    ([x, w, b]) => weighted(batchNorm(x, { weight: w, bias: b, training: true })),
    [{ shape: [3, 2, 2, 2] }, { shape: [2] }, { shape: [2] }],
  );
  const rm = tensor(Float64Array.of(0.1, -0.2), [2], "float64");
  const rv = tensor(Float64Array.of(0.5, 2.0), [2], "float64");
  gradcheck(
    ([x, w, b]) =>
      weighted(batchNorm(x, { weight: w, bias: b, runningMean: rm, runningVar: rv, training: false })),
    [{ shape: [2, 2, 2, 2] }, { shape: [2] }, { shape: [2] }],
  );
});

test("activation gradients: relu, relu6, sigmoid, tanh, softmax, log-softmax", () => {
  // Scale into (-8, 8) so relu6's upper kink is exercised; keep points away from kinks (eps ≪ spacing).
  const data = Float64Array.from({ length: 24 }, (_, i) => -7.9 + i * 0.6871);
  gradcheck(([x]) => weighted(x.relu()), [{ shape: [24], data: data.slice() }]);
  gradcheck(([x]) => weighted(x.relu6()), [{ shape: [24], data: data.slice() }]);
  gradcheck(([x]) => weighted(x.sigmoid()), [{ shape: [2, 5] }]);
  gradcheck(([x]) => weighted(x.tanh()), [{ shape: [2, 5] }]);
  gradcheck(([x]) => weighted(softmax(x, 1)), [{ shape: [2, 4, 3] }]);
  gradcheck(([x]) => weighted(logSoftmax(x, 1)), [{ shape: [2, 4, 3] }]);
});

test("pooling gradients: max, average, adaptive average", () => {
  gradcheck(([x]) => weighted(maxPool2d(x, 2)), [{ shape: [1, 2, 4, 4] }]);
  gradcheck(([x]) => weighted(maxPool2d(x, 3, { stride: 2, padding: 1 })), [{ shape: [1, 1, 5, 5] }]);
  gradcheck(([x]) => weighted(avgPool2d(x, 2, { stride: 1 })), [{ shape: [1, 2, 3, 3] }]);
  gradcheck(([x]) => weighted(adaptiveAvgPool2d(x, 1)), [{ shape: [2, 3, 3, 4] }]);
  gradcheck(([x]) => weighted(adaptiveAvgPool2d(x, [2, 3])), [{ shape: [1, 2, 5, 7] }]);
});

test("interpolate gradients: bilinear with and without align_corners, nearest", () => {
  gradcheck(([x]) => weighted(interpolate(x, [7, 5], "bilinear", false)), [{ shape: [1, 2, 3, 4] }]);
  gradcheck(([x]) => weighted(interpolate(x, [7, 5], "bilinear", true)), [{ shape: [1, 2, 3, 4] }]);
  gradcheck(([x]) => weighted(interpolate(x, [6, 8], "nearest")), [{ shape: [1, 1, 3, 4] }]);
});

test("linear, padding and elementwise gradients", () => {
  gradcheck(([x, w, b]) => weighted(linear(x, w, b)), [{ shape: [3, 4] }, { shape: [2, 4] }, { shape: [2] }]);
  gradcheck(([x]) => weighted(pad2d(x, [1, 2, 0, 1], 0.5)), [{ shape: [1, 1, 2, 3] }]);
  gradcheck(
    ([a, b]) =>
      weighted(
        a
          .mul(b)
          .add(a.div(b.square().add(1)))
          .sub(b.exp()),
      ),
    [{ shape: [2, 3] }, { shape: [2, 3] }],
  );
  gradcheck(([a, b]) => a.matmul(b).square().mean(), [{ shape: [3, 4] }, { shape: [4, 2] }]);
  gradcheck(([a]) => weighted(a.amax(1)).add(a.logsumexp(0).sum()), [{ shape: [3, 4] }]);
});

test("loss gradients: BCE-with-logits, cross-entropy (ignore index, pixel weights), MSE", () => {
  const target = tensor(Float64Array.of(1, 0, 1, 0, 0, 1), [2, 3], "float64");
  gradcheck(([x]) => bceWithLogits(x, target), [{ shape: [2, 3] }]);
  const w = tensor(Float64Array.of(0.5, 2, 1, 0.1, 3, 1), [2, 3], "float64");
  gradcheck(([x]) => bceWithLogits(x, target, { weight: w, reduction: "sum" }), [{ shape: [2, 3] }]);
  // [N=1, C=3, H=2, W=2] logits; one pixel ignored (255).
  const labels = tensor(BigInt64Array.of(0n, 2n, 255n, 1n), [1, 2, 2], "int64");
  gradcheck(([x]) => crossEntropy(x, labels, { ignoreIndex: 255 }), [{ shape: [1, 3, 2, 2] }]);
  const pw = tensor(Float64Array.of(0.2, 1.0, 5.0, 0.7), [1, 2, 2], "float64");
  gradcheck(
    ([x]) => crossEntropy(x, labels, { ignoreIndex: 255, pixelWeight: pw }),
    [{ shape: [1, 3, 2, 2] }],
  );
  gradcheck(([a, b]) => mseLoss(a, b), [{ shape: [2, 3] }, { shape: [2, 3] }]);
});
