// MobileNetV2 (Sandler et al., CVPR 2018), torchvision's architecture and parameter names, with
// DeepLab-style dilation for output stride 16 or 8 so class activation maps keep spatial detail.
//
// Two variants: "folded" — batch norm folded into conv biases, TFLite "SAME" padding (the extra pixel
// right/bottom on stride-2 convs), as the shipped ImageNet weights were trained; "batchnorm" — exactly
// torchvision's model (conv without bias + BatchNorm2d, symmetric padding), for comparisons with PyTorch.
import { join } from "node:path";
import { adaptiveAvgPool2d } from "../engine/ops.js";
import { packageRoot } from "../engine/native.js";
import { loadTensors } from "../engine/serialize.js";
import { dispose, tidy, type Tensor } from "../engine/tensor.js";
import { BatchNorm2d, Conv2d, Dropout, Linear, ReLU6, Sequential } from "./layers.js";
import { Module } from "./module.js";
import { INVERTED_RESIDUAL_SETTINGS } from "./mobilenetv2-weights.js";

export type OutputStride = 8 | 16 | 32;

export interface MobileNetV2Options {
  /** 32 = the ImageNet network; 16 or 8 replace the last strides with dilation. */
  outputStride?: OutputStride;
  norm?: "folded" | "batchnorm";
  /** Size of the ImageNet-style linear head; 0 for a backbone only. */
  numClasses?: number;
}

export const MOBILENETV2_CHANNELS = 1280;

function convUnit(
  norm: "folded" | "batchnorm",
  inC: number,
  outC: number,
  kernel: number,
  o: { stride?: number; dilation?: number; groups?: number; act: boolean },
): Module[] {
  const stride = o.stride ?? 1;
  const dilation = o.dilation ?? 1;
  const padding = norm === "folded" ? ("same" as const) : ((kernel - 1) / 2) * dilation;
  const conv = new Conv2d(inC, outC, kernel, {
    stride,
    dilation,
    groups: o.groups ?? 1,
    padding,
    bias: norm === "folded",
  });
  const layers: Module[] = [conv];
  if (norm === "batchnorm") layers.push(new BatchNorm2d(outC));
  if (o.act) layers.push(new ReLU6());
  return layers;
}

export class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly residual: boolean;

  constructor(
    norm: "folded" | "batchnorm",
    inC: number,
    outC: number,
    stride: number,
    expand: number,
    dilation: number,
  ) {
    super();
    const hidden = inC * expand;
    const parts: Module[] = [];
    if (expand !== 1) parts.push(new Sequential(...convUnit(norm, inC, hidden, 1, { act: true })));
    parts.push(
      new Sequential(...convUnit(norm, hidden, hidden, 3, { stride, dilation, groups: hidden, act: true })),
    );
    // The linear projection: conv (+ BN) directly in this Sequential, as torchvision names it.
    parts.push(...convUnit(norm, hidden, outC, 1, { act: false }));
    this.conv = this.module("conv", new Sequential(...parts));
    this.residual = stride === 1 && inC === outC;
  }

  forward(x: Tensor): Tensor {
    if (!this.residual) return this.conv.forward(x);
    return tidy(() => x.add(this.conv.forward(x)));
  }
}

export class MobileNetV2 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential | null;
  readonly outputStride: OutputStride;
  readonly norm: "folded" | "batchnorm";

  constructor(o: MobileNetV2Options = {}) {
    super();
    this.outputStride = o.outputStride ?? 32;
    this.norm = o.norm ?? "folded";
    const blocks: Module[] = [new Sequential(...convUnit(this.norm, 3, 32, 3, { stride: 2, act: true }))];
    let stride = 2;
    let dilation = 1;
    let inC = 32;
    for (const [t, c, n, s] of INVERTED_RESIDUAL_SETTINGS) {
      for (let i = 0; i < n; i++) {
        let blockStride = i === 0 ? s : 1;
        let blockDilation = dilation;
        // DeepLab: once the target stride is reached, a stride becomes a dilation for the layers after it.
        if (blockStride > 1 && stride * blockStride > this.outputStride) {
          dilation *= blockStride;
          blockStride = 1;
        } else if (blockStride > 1) {
          stride *= blockStride;
        }
        if (i > 0) blockDilation = dilation;
        blocks.push(new InvertedResidual(this.norm, inC, c, blockStride, t, blockDilation));
        inC = c;
      }
    }
    blocks.push(new Sequential(...convUnit(this.norm, inC, MOBILENETV2_CHANNELS, 1, { act: true })));
    this.features = this.module("features", new Sequential(...blocks));
    this.classifier = o.numClasses
      ? this.module(
          "classifier",
          new Sequential(new Dropout(0.2), new Linear(MOBILENETV2_CHANNELS, o.numClasses)),
        )
      : null;
  }

  /** Feature map [N, 1280, H/os, W/os]. Input: RGB scaled to [−1, 1] (see normalizeImage). */
  extract(x: Tensor): Tensor {
    return this.features.forward(x);
  }

  /** ImageNet logits (needs numClasses). */
  forward(x: Tensor): Tensor {
    if (!this.classifier) throw new Error("MobileNetV2 was built without a classifier head");
    return tidy(() => {
      const f = adaptiveAvgPool2d(this.extract(x), 1);
      return this.classifier!.forward(f.reshape([f.shape[0], MOBILENETV2_CHANNELS]));
    });
  }
}

/** The MobileNetV2 input normalisation the TFLite weights expect: x / 127.5 − 1. */
export function normalizeImage(x: Tensor): Tensor {
  return tidy(() => x.to("float32").div(127.5).sub(1));
}

export const IMAGENET_WEIGHTS = join(packageRoot, "weights", "mobilenet_v2_1.0_imagenet.safetensors");

/**
 * Loads the shipped ImageNet weights (converted from the TFLite model, Apache-2.0, see weights/NOTICE).
 * With numClasses 0 the 1001-way ImageNet head is skipped.
 */
export function loadImageNetWeights(model: MobileNetV2, path = IMAGENET_WEIGHTS): void {
  if (model.norm !== "folded")
    throw new Error("the shipped ImageNet weights are batch-norm folded: use norm 'folded'");
  const { tensors } = loadTensors(path);
  try {
    if (!model.classifier)
      for (const k of [...tensors.keys()])
        if (k.startsWith("classifier.")) (tensors.get(k)!.dispose(), tensors.delete(k));
    model.loadStateDict(tensors);
  } finally {
    dispose(tensors);
  }
}

/** A MobileNetV2 with ImageNet weights: the 1001-way classifier, or a backbone (numClasses 0) for dense tasks. */
export function mobilenetV2ImageNet(
  o: { outputStride?: OutputStride; withClassifier?: boolean } = {},
): MobileNetV2 {
  const model = new MobileNetV2({
    outputStride: o.outputStride ?? 32,
    norm: "folded",
    numClasses: o.withClassifier ? 1001 : 0,
  });
  loadImageNetWeights(model);
  return model;
}
