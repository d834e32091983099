// Segmentation network: dilated MobileNetV2 backbone + DeepLab-LargeFOV-style head (Chen et al., ICLR 2015:
// a 3×3 conv with dilation 12 for a large field of view, ReLU, dropout, then 1×1 class scores).
import { interpolate } from "../engine/ops.js";
import { tidy, type Tensor } from "../engine/tensor.js";
import { Conv2d, Dropout, ReLU, Sequential } from "./layers.js";
import { loadImageNetWeights, MobileNetV2, MOBILENETV2_CHANNELS, type OutputStride } from "./mobilenetv2.js";
import { Module } from "./module.js";

export interface DeepLabOptions {
  numClasses: number;
  outputStride?: OutputStride;
  headChannels?: number;
  /** Dilation of the head's 3×3 conv (LargeFOV uses 12). */
  headDilation?: number;
  imagenet?: boolean;
}

export class DeepLabLargeFov extends Module {
  readonly backbone: MobileNetV2;
  readonly head: Sequential;

  constructor(readonly o: DeepLabOptions) {
    super();
    this.backbone = this.module(
      "backbone",
      new MobileNetV2({ outputStride: o.outputStride ?? 16, norm: "folded" }),
    );
    if (o.imagenet ?? true) loadImageNetWeights(this.backbone);
    const ch = o.headChannels ?? 256;
    const d = o.headDilation ?? 12;
    this.head = this.module(
      "head",
      new Sequential(
        new Conv2d(MOBILENETV2_CHANNELS, ch, 3, { padding: d, dilation: d }),
        new ReLU(),
        new Dropout(0.5),
        new Conv2d(ch, o.numClasses, 1),
      ),
    );
  }

  /** Class scores at the feature stride [N, C, H/os, W/os]. */
  logitsLowRes(x: Tensor): Tensor {
    return tidy(() => this.head.forward(this.backbone.extract(x)));
  }

  /** Class scores bilinearly upsampled to the input size [N, C, H, W]. */
  forward(x: Tensor): Tensor {
    return tidy(() => interpolate(this.logitsLowRes(x), [x.shape[2], x.shape[3]], "bilinear", false));
  }

  paramGroups(lrBackbone: number, lrHead: number) {
    return [
      { name: "backbone", params: this.backbone.parameters(), lr: lrBackbone },
      { name: "head", params: this.head.parameters(), lr: lrHead },
    ];
  }
}
