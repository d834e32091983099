// U²-Netp (Qin et al., "U²-Net: Going deeper with nested U-structure for salient object detection",
// Pattern Recognition 2020): the small (1.13 M parameter) salient-object detector, with the authors'
// module and parameter names. Batch norm is folded into the convolutions (as in the shipped weights), so
// each REBNCONV is a 3×3 conv with bias + ReLU.
//
// Modules are registered in forward order, so `namedParameters()` lists the convolutions in the order a
// traced export executes them (scripts/convert-u2netp.ts relies on that to map the ONNX file's weights).
import { cat, interpolate, maxPool2d } from "../engine/ops.js";
import { tidy, type Tensor } from "../engine/tensor.js";
import { Conv2d } from "./layers.js";
import { Module } from "./module.js";

/** Conv 3×3 (dilation d, padding d) + ReLU; "REBNCONV" with its batch norm folded. */
class RebnConv extends Module {
  readonly conv: Conv2d;
  constructor(inC: number, outC: number, dilation = 1) {
    super();
    this.conv = this.module("conv_s1", new Conv2d(inC, outC, 3, { padding: dilation, dilation }));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.conv.forward(x).relu());
  }
}

const pool = (x: Tensor) => maxPool2d(x, 2, { stride: 2, ceilMode: true });
/** Bilinear (align_corners = false) resize of `x` to `like`'s spatial size. */
const upsampleLike = (x: Tensor, like: Tensor) =>
  interpolate(x, [like.shape[2], like.shape[3]], "bilinear", false);

/**
 * RSU-L: conv-in, a small U-Net of depth L (L−1 encoder convs with 2× pooling between them, a dilation-2
 * conv at the bottom, L−1 decoder convs on [upsampled, skip]), plus the conv-in residual.
 */
class Rsu extends Module {
  readonly convIn: RebnConv;
  readonly encoder: RebnConv[] = [];
  readonly bottom: RebnConv;
  readonly decoder: RebnConv[] = [];

  constructor(
    readonly depth: number,
    inC: number,
    midC: number,
    outC: number,
  ) {
    super();
    this.convIn = this.module("rebnconvin", new RebnConv(inC, outC));
    for (let i = 1; i < depth; i++)
      this.encoder.push(this.module(`rebnconv${i}`, new RebnConv(i === 1 ? outC : midC, midC)));
    this.bottom = this.module(`rebnconv${depth}`, new RebnConv(midC, midC, 2));
    for (let i = depth - 1; i >= 1; i--)
      this.decoder.push(this.module(`rebnconv${i}d`, new RebnConv(2 * midC, i === 1 ? outC : midC)));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const xin = this.convIn.forward(x);
      const skips: Tensor[] = [];
      let h = xin;
      for (let i = 0; i < this.encoder.length; i++) {
        if (i > 0) h = pool(h);
        h = this.encoder[i]!.forward(h);
        skips.push(h);
      }
      h = this.bottom.forward(h);
      for (let i = 0; i < this.decoder.length; i++) {
        const skip = skips[skips.length - 1 - i]!;
        if (i > 0) h = upsampleLike(h, skip);
        h = this.decoder[i]!.forward(cat([h, skip], 1));
      }
      return h.add(xin);
    });
  }
}

/** RSU-4F: RSU-4 with dilations 1, 2, 4, 8 instead of pooling, so the resolution never changes. */
class RsuF extends Module {
  readonly convIn: RebnConv;
  readonly encoder: RebnConv[] = [];
  readonly decoder: RebnConv[] = [];

  constructor(inC: number, midC: number, outC: number) {
    super();
    this.convIn = this.module("rebnconvin", new RebnConv(inC, outC));
    [1, 2, 4, 8].forEach((d, i) =>
      this.encoder.push(this.module(`rebnconv${i + 1}`, new RebnConv(i === 0 ? outC : midC, midC, d))),
    );
    [4, 2, 1].forEach((d, i) =>
      this.decoder.push(this.module(`rebnconv${3 - i}d`, new RebnConv(2 * midC, d === 1 ? outC : midC, d))),
    );
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const xin = this.convIn.forward(x);
      const skips: Tensor[] = [];
      let h = xin;
      for (const conv of this.encoder) skips.push((h = conv.forward(h)));
      for (let i = 0; i < this.decoder.length; i++)
        h = this.decoder[i]!.forward(cat([h, skips[skips.length - 2 - i]!], 1));
      return h.add(xin);
    });
  }
}

export const U2NETP_MEAN = [0.485, 0.456, 0.406] as const;
export const U2NETP_STD = [0.229, 0.224, 0.225] as const;

/** U²-Netp: six RSU encoder stages, five decoder stages, six side outputs fused by a 1×1 conv. */
export class U2NetP extends Module {
  readonly encoder: Module[];
  readonly decoder: Module[];
  readonly sides: Conv2d[];
  readonly fuse: Conv2d;

  constructor() {
    super();
    const [mid, out] = [16, 64];
    this.encoder = [
      new Rsu(7, 3, mid, out),
      new Rsu(6, out, mid, out),
      new Rsu(5, out, mid, out),
      new Rsu(4, out, mid, out),
      new RsuF(out, mid, out),
      new RsuF(out, mid, out),
    ].map((m, i) => this.module(`stage${i + 1}`, m));
    this.decoder = [
      new RsuF(2 * out, mid, out),
      new Rsu(4, 2 * out, mid, out),
      new Rsu(5, 2 * out, mid, out),
      new Rsu(6, 2 * out, mid, out),
      new Rsu(7, 2 * out, mid, out),
    ].map((m, i) => this.module(`stage${5 - i}d`, m));
    this.sides = [1, 2, 3, 4, 5, 6].map((i) =>
      this.module(`side${i}`, new Conv2d(out, 1, 3, { padding: 1 })),
    );
    this.fuse = this.module("outconv", new Conv2d(6, 1, 1));
  }

  /**
   * Saliency logits d0 [N, 1, H, W] (apply sigmoid for the map). Input: RGB in [0, 1] normalised by
   * U2NETP_MEAN / U2NETP_STD (see normalizeU2NetP). Any size works; the deepest stage sees H/32.
   */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const skips: Tensor[] = [];
      let h = x;
      for (let i = 0; i < this.encoder.length; i++) {
        if (i > 0) h = pool(h);
        h = this.encoder[i]!.forward(h);
        skips.push(h);
      }
      // Decoder outputs from the deepest (stage 6 itself) to the shallowest (stage 1d).
      const stageOutputs = [h];
      for (let i = 0; i < this.decoder.length; i++) {
        const skip = skips[skips.length - 2 - i]!;
        h = this.decoder[i]!.forward(cat([upsampleLike(h, skip), skip], 1));
        stageOutputs.unshift(h);
      }
      const d1 = this.sides[0]!.forward(stageOutputs[0]!);
      const sides = stageOutputs.map((s, i) => (i === 0 ? d1 : upsampleLike(this.sides[i]!.forward(s), d1)));
      return this.fuse.forward(cat(sides, 1));
    });
  }
}

/** RGB uint8/float NCHW in [0, 255] → the input U²-Netp was trained on: (x/255 − mean)/std per channel. */
export function normalizeU2NetP(x: Tensor): Tensor {
  return tidy(() => {
    const channels = [0, 1, 2].map((c) =>
      x
        .slice(1, c, c + 1)
        .to("float32")
        .div(255 * U2NETP_STD[c]!)
        .sub(U2NETP_MEAN[c]! / U2NETP_STD[c]!),
    );
    return cat(channels, 1);
  });
}
