import assert from "node:assert/strict";
import { test } from "node:test";
import { bceWithLogits, adaptiveAvgPool2d, randn, rand } from "../src/engine/ops.js";
import { SGD } from "../src/engine/optim.js";
import { liveTensors, tidy } from "../src/engine/tensor.js";
import { BatchNorm2d, Conv2d, ReLU6, Sequential } from "../src/nn/layers.js";

test("2,000 training steps keep RSS flat (< 50 MB growth) and leak no tensors", () => {
  const net = new Sequential(
    new Conv2d(3, 16, 3, { padding: 1 }),
    new BatchNorm2d(16),
    new ReLU6(),
    new Conv2d(16, 16, 3, { padding: 1, groups: 16 }),
    new Conv2d(16, 4, 1),
  );
  const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const x = randn([8, 3, 16, 16]);
  const y = rand([8, 4]).gt(0.5).to("float32");
  const step = (): number =>
    tidy(() => {
      opt.zeroGrad();
      const loss = bceWithLogits(adaptiveAvgPool2d(net.forward(x), 1).reshape([8, 4]), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
  for (let i = 0; i < 200; i++) step(); // warm-up: allocator pools and optimiser state settle
  const live = liveTensors();
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let first = 0;
  let last = 0;
  for (let i = 0; i < 2000; i++) {
    last = step();
    if (i === 0) first = last;
  }
  global.gc?.();
  const growthMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.equal(liveTensors(), live, "no tensors leaked");
  assert.ok(growthMb < 50, `RSS grew ${growthMb.toFixed(1)} MB`);
  assert.ok(last < first, `loss went down (${first} → ${last})`);
  opt.dispose();
  net.dispose();
  x.dispose();
  y.dispose();
});
