// Basic layers. Initialisation follows torch.nn defaults (kaiming-uniform with a = √5).
import { batchNorm, conv2d, dropout, linear, ones, pad2d, rand, zeros } from "../engine/ops.js";
import { tidy, type Tensor } from "../engine/tensor.js";
import { Module } from "./module.js";

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : v);

/** U(−bound, bound) */
function uniform(shape: number[], bound: number): Tensor {
  return tidy(() =>
    rand(shape)
      .mul(2 * bound)
      .sub(bound),
  );
}

export interface Conv2dOptions {
  stride?: Pair;
  /** A number/pair for symmetric zero padding, or "same" for TensorFlow/TFLite SAME padding (extra pixel on the right/bottom). */
  padding?: Pair | "same";
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly padding: [number, number] | "same";
  readonly kernel: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernel: Pair,
    o: Conv2dOptions = {},
  ) {
    super();
    this.kernel = pair(kernel);
    this.stride = pair(o.stride ?? 1);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    this.padding = o.padding === "same" ? "same" : pair(o.padding ?? 0);
    if (inChannels % this.groups || outChannels % this.groups)
      throw new Error(`Conv2d: channels ${inChannels}→${outChannels} not divisible by groups ${this.groups}`);
    const fanIn = (inChannels / this.groups) * this.kernel[0] * this.kernel[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.param(
      "weight",
      uniform([outChannels, inChannels / this.groups, ...this.kernel], bound),
    );
    this.bias = o.bias === false ? null : this.param("bias", uniform([outChannels], bound));
  }

  forward(x: Tensor): Tensor {
    if (this.padding !== "same")
      return conv2d(x, this.weight, this.bias, {
        stride: this.stride,
        padding: this.padding,
        dilation: this.dilation,
        groups: this.groups,
      });
    const [pt, pb, pl, pr] = samePadding(x.shape[2], x.shape[3], this.kernel, this.stride, this.dilation);
    const opts = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (pt === pb && pl === pr) return conv2d(x, this.weight, this.bias, { ...opts, padding: [pt, pl] });
    return tidy(() => conv2d(pad2d(x, [pl, pr, pt, pb]), this.weight, this.bias, opts));
  }
}

/** TensorFlow "SAME" padding [top, bottom, left, right]: output = ceil(input / stride), extra pixel after. */
export function samePadding(
  h: number,
  w: number,
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
): [number, number, number, number] {
  const one = (size: number, k: number, s: number, d: number): [number, number] => {
    const eff = (k - 1) * d + 1;
    const out = Math.ceil(size / s);
    const total = Math.max(0, (out - 1) * s + eff - size);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  return [...one(h, kernel[0], stride[0], dilation[0]), ...one(w, kernel[1], stride[1], dilation[1])];
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(
    readonly channels: number,
    readonly o: { eps?: number; momentum?: number } = {},
  ) {
    super();
    this.weight = this.param("weight", ones([channels]));
    this.bias = this.param("bias", zeros([channels]));
    this.runningMean = this.buffer("running_mean", zeros([channels]));
    this.runningVar = this.buffer("running_var", ones([channels]));
  }

  forward(x: Tensor): Tensor {
    return batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: this.training,
      momentum: this.o.momentum ?? 0.1,
      eps: this.o.eps ?? 1e-5,
    });
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: { bias?: boolean } = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param("weight", uniform([outFeatures, inFeatures], bound));
    this.bias = o.bias === false ? null : this.param("bias", uniform([outFeatures], bound));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return x.relu6();
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

/** Runs its children in order; children are named "0", "1", … as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.module(String(i), m));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = x;
      for (const m of this.layers) y = m.forward(y);
      return y;
    });
  }
}
