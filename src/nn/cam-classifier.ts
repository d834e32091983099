// The multi-label classifier of stage 1: MobileNetV2 (ImageNet init, dilated) + 1×1 conv class scores +
// global average pooling. Because the scoring conv is linear, GAP(conv(f)) = conv(GAP(f)) and the
// class activation map conv(f) is exactly what the image-level score averages (Zhou et al., CVPR 2016).
import { adaptiveAvgPool2d } from "../engine/ops.js";
import { noGrad, tidy, type Tensor } from "../engine/tensor.js";
import { Conv2d } from "./layers.js";
import { loadImageNetWeights, MobileNetV2, MOBILENETV2_CHANNELS, type OutputStride } from "./mobilenetv2.js";
import { Module } from "./module.js";

export class CamClassifier extends Module {
  readonly backbone: MobileNetV2;
  readonly classifier: Conv2d;

  constructor(
    readonly numClasses: number,
    o: { outputStride?: OutputStride; imagenet?: boolean } = {},
  ) {
    super();
    this.backbone = this.module(
      "backbone",
      new MobileNetV2({ outputStride: o.outputStride ?? 16, norm: "folded" }),
    );
    if (o.imagenet ?? true) loadImageNetWeights(this.backbone);
    this.classifier = this.module(
      "classifier",
      new Conv2d(MOBILENETV2_CHANNELS, numClasses, 1, { bias: false }),
    );
    // Small init keeps the first steps' sigmoid outputs near 0.5 instead of saturating.
    noGrad(() => this.classifier.weight.mul_(0.1));
  }

  /** Image-level logits [N, K]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const pooled = adaptiveAvgPool2d(this.backbone.extract(x), 1);
      return this.classifier.forward(pooled).reshape([x.shape[0], this.numClasses]);
    });
  }

  /** Class activation maps [N, K, h, w] (before ReLU) at the feature stride, plus image-level logits. */
  camsAndLogits(x: Tensor): { cams: Tensor; logits: Tensor } {
    return tidy(() => {
      const cams = this.classifier.forward(this.backbone.extract(x));
      return { cams, logits: cams.mean([2, 3]) };
    });
  }

  /** Parameter groups: the pretrained backbone and the new head learn at different rates. */
  paramGroups(lrBackbone: number, lrHead: number) {
    return [
      { name: "backbone", params: this.backbone.parameters(), lr: lrBackbone },
      { name: "head", params: this.classifier.parameters(), lr: lrHead },
    ];
  }
}
