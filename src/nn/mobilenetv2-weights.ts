// Converts the TFLite MobileNetV2 (width 1.0, batch norm folded into conv biases, ReLU6) into
// torchvision-style parameter names and OIHW float32 layouts. Both shipped models (uint8 per-tensor
// and int8 per-channel) have the same graph: 52 backbone convs then a 1×1 logits conv.
import { readFileSync } from "node:fs";

import { InputError } from "../util/errors.js";
import { dequantizeTensor, parseTflite, type TfliteModel, type TfliteOperator } from "./tflite.js";

export interface MobileNetV2LayerSpec {
  /** Parameter prefix: `${name}.weight` and `${name}.bias`. */
  name: string;
  kind: "conv" | "depthwise" | "linear";
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** Activation that follows the conv (ReLU6 everywhere except the linear bottleneck projections). */
  activation: "relu6" | "none";
}

export interface ConvertedTensor {
  shape: number[];
  data: Float32Array;
}

/** torchvision MobileNetV2 inverted-residual settings: expansion t, channels c, repeats n, stride s. */
export const INVERTED_RESIDUAL_SETTINGS: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export const MOBILENETV2_NUM_CLASSES = 1001;
export const MOBILENETV2_FEATURES = 1280;

function buildLayers(): MobileNetV2LayerSpec[] {
  const layers: MobileNetV2LayerSpec[] = [
    {
      name: "features.0.0",
      kind: "conv",
      inChannels: 3,
      outChannels: 32,
      kernel: 3,
      stride: 2,
      activation: "relu6",
    },
  ];
  let inC = 32;
  let block = 1;
  for (const [t, c, n, s] of INVERTED_RESIDUAL_SETTINGS) {
    for (let j = 0; j < n; j++, block++) {
      const stride = j === 0 ? s : 1;
      const hidden = inC * t;
      const p = `features.${block}.conv`;
      if (t !== 1) {
        layers.push({
          name: `${p}.0.0`,
          kind: "conv",
          inChannels: inC,
          outChannels: hidden,
          kernel: 1,
          stride: 1,
          activation: "relu6",
        });
      }
      const dw = t === 1 ? `${p}.0.0` : `${p}.1.0`;
      layers.push({
        name: dw,
        kind: "depthwise",
        inChannels: hidden,
        outChannels: hidden,
        kernel: 3,
        stride,
        activation: "relu6",
      });
      const proj = t === 1 ? `${p}.1` : `${p}.2`;
      layers.push({
        name: proj,
        kind: "conv",
        inChannels: hidden,
        outChannels: c,
        kernel: 1,
        stride: 1,
        activation: "none",
      });
      inC = c;
    }
  }
  layers.push({
    name: "features.18.0",
    kind: "conv",
    inChannels: inC,
    outChannels: MOBILENETV2_FEATURES,
    kernel: 1,
    stride: 1,
    activation: "relu6",
  });
  layers.push({
    name: "classifier.1",
    kind: "linear",
    inChannels: MOBILENETV2_FEATURES,
    outChannels: MOBILENETV2_NUM_CLASSES,
    kernel: 1,
    stride: 1,
    activation: "none",
  });
  return layers;
}

/** Every conv layer in execution order (52 backbone convs, then the classifier), with its stride. */
export const MOBILENETV2_LAYERS: readonly MobileNetV2LayerSpec[] = Object.freeze(buildLayers());

/** Per-layer strides in execution order, keyed by parameter prefix. */
export const MOBILENETV2_STRIDES: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(MOBILENETV2_LAYERS.map((l) => [l.name, l.stride])),
);

/**
 * TFLite/TensorFlow "SAME" padding along one axis: output size ceil(in / stride), and when the total
 * padding is odd the extra pixel goes after (right/bottom), unlike PyTorch's symmetric padding.
 * Returns [before, after].
 */
export function tfliteSamePadding(
  inSize: number,
  kernel: number,
  stride: number,
  dilation = 1,
): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function describe(l: MobileNetV2LayerSpec): string {
  const k = `${l.kernel}×${l.kernel}`;
  if (l.kind === "depthwise")
    return `${l.name} (depthwise ${k} stride ${l.stride}, ${l.inChannels} channels)`;
  return `${l.name} (${l.kind === "linear" ? "logits 1×1" : k} conv stride ${l.stride}, ${l.inChannels}→${l.outChannels})`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** OHWI → OIHW. */
function ohwiToOihw(src: Float32Array, o: number, h: number, w: number, i: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let oo = 0; oo < o; oo++) {
    for (let hh = 0; hh < h; hh++) {
      for (let ww = 0; ww < w; ww++) {
        const s = ((oo * h + hh) * w + ww) * i;
        for (let ii = 0; ii < i; ii++) out[((oo * i + ii) * h + hh) * w + ww] = src[s + ii]!;
      }
    }
  }
  return out;
}

/** Depthwise 1HWC → [C, 1, H, W]. */
function hwcToChw(src: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let hh = 0; hh < h; hh++) {
    for (let ww = 0; ww < w; ww++) {
      const s = (hh * w + ww) * c;
      for (let cc = 0; cc < c; cc++) out[(cc * h + hh) * w + ww] = src[s + cc]!;
    }
  }
  return out;
}

/** Maps an already-parsed TFLite MobileNetV2 to torchvision-style float32 parameters. */
export function convertMobileNetV2Model(model: TfliteModel): Record<string, ConvertedTensor> {
  const bad = (reason: string) => new InputError(model.file, `not the expected MobileNetV2 graph: ${reason}`);
  const convs = model.operators.filter((op) => op.opName === "CONV_2D" || op.opName === "DEPTHWISE_CONV_2D");
  if (convs.length !== MOBILENETV2_LAYERS.length) {
    throw bad(
      `found ${convs.length} CONV_2D/DEPTHWISE_CONV_2D operators, expected ${MOBILENETV2_LAYERS.length}`,
    );
  }

  const out: Record<string, ConvertedTensor> = {};
  MOBILENETV2_LAYERS.forEach((layer, li) => {
    const op: TfliteOperator = convs[li]!;
    const where = `operator ${op.index} (${op.opName}) should be ${describe(layer)}`;
    const wantOp = layer.kind === "depthwise" ? "DEPTHWISE_CONV_2D" : "CONV_2D";
    if (op.opName !== wantOp) throw bad(`${where}, but it is a ${op.opName}`);
    if (op.inputs.length < 3 || op.inputs[1]! < 0 || op.inputs[2]! < 0) {
      throw bad(`${where}, but it lacks a weight or bias input (BN must be folded into a bias)`);
    }
    const o = op.options;
    if (o === null || o.kind === "fully_connected") throw bad(`${where}, but it has no conv options`);
    if (o.strideH !== layer.stride || o.strideW !== layer.stride) {
      throw bad(`${where}, but its stride is ${o.strideH}×${o.strideW}`);
    }
    if (o.dilationH !== 1 || o.dilationW !== 1)
      throw bad(`${where}, but it is dilated ${o.dilationH}×${o.dilationW}`);
    if (layer.kernel > 1 && o.padding !== "SAME") throw bad(`${where}, but its padding is ${o.padding}`);
    if (o.kind === "depthwise_conv2d" && o.depthMultiplier !== 1) {
      throw bad(`${where}, but its depth multiplier is ${o.depthMultiplier}`);
    }
    const wantAct = layer.activation === "relu6" ? "RELU6" : "NONE";
    if (o.activation !== wantAct)
      throw bad(`${where} with ${wantAct}, but its fused activation is ${o.activation}`);

    const wT = model.tensors[op.inputs[1]!]!;
    const bT = model.tensors[op.inputs[2]!]!;
    const k = layer.kernel;
    const wantW =
      layer.kind === "depthwise" ? [1, k, k, layer.outChannels] : [layer.outChannels, k, k, layer.inChannels];
    if (!sameShape(wT.shape, wantW)) throw bad(`${where}: weight shape [${wT.shape}] is not [${wantW}]`);
    if (!sameShape(bT.shape, [layer.outChannels]))
      throw bad(`${where}: bias shape [${bT.shape}] is not [${layer.outChannels}]`);

    const w = dequantizeTensor(model, op.inputs[1]!);
    const b = dequantizeTensor(model, op.inputs[2]!);
    if (layer.kind === "depthwise") {
      out[`${layer.name}.weight`] = {
        shape: [layer.outChannels, 1, k, k],
        data: hwcToChw(w, k, k, layer.outChannels),
      };
    } else if (layer.kind === "linear") {
      // A 1×1 kernel in OHWI is already [out, in] row-major.
      out[`${layer.name}.weight`] = { shape: [layer.outChannels, layer.inChannels], data: w };
    } else {
      out[`${layer.name}.weight`] = {
        shape: [layer.outChannels, layer.inChannels, k, k],
        data: ohwiToOihw(w, layer.outChannels, k, k, layer.inChannels),
      };
    }
    out[`${layer.name}.bias`] = { shape: [layer.outChannels], data: b };
  });
  return out;
}

/** Reads a TFLite MobileNetV2 file and returns torchvision-style, BN-folded float32 parameters. */
export function convertMobileNetV2Tflite(path: string): Record<string, ConvertedTensor> {
  return convertMobileNetV2Model(parseTflite(readFileSync(path), path));
}
