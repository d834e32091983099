// The trained segmentation network (MobileNetV2 + LargeFOV head) as a standard ONNX graph, written by the
// project itself on protobufjs (src/onnx/proto.ts). The graph takes RGB pixel values as they come from
// an image decoder, normalises inside the graph, and returns class scores at the input size:
//   image  float32 [N, 3, H, W], RGB 0..255 (any H, W)
//   logits float32 [N, C, H, W]; argmax over C gives the class index
// Batch norm is already folded into the convolutions: the shipped ImageNet weights are trained that way
// (src/nn/mobilenetv2.ts, norm "folded"), so the graph has only Conv, Clip, Relu, Add and one Resize.
import { Conv2d, Dropout, ReLU, ReLU6, Sequential } from "../nn/layers.js";
import type { DeepLabLargeFov } from "../nn/deeplab.js";
import { InvertedResidual, MobileNetV2 } from "../nn/mobilenetv2.js";
import type { Module } from "../nn/module.js";
import type { Tensor } from "../engine/tensor.js";
import {
  DataType,
  floatTensor,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from "./proto.js";
import { INPUT_CONVENTION, METADATA, OUTPUT_CONVENTION } from "./metadata.js";

/** The opset the graph is written for (Shape with start/end needs 15; ORT and onnxruntime-web run 17). */
export const EXPORT_OPSET = 17;
/** ONNX IR version 8 goes with opsets up to 17. */
const IR_VERSION = 8;

export interface SegmentationExportInfo {
  classNames: string[];
  /** RGB triples of the classes' colours, flattened (3 × classes). */
  palette: number[];
  outputStride: number;
  producerVersion?: string;
}

// AttributeProto.AttributeType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;
const attrInt = (name: string, i: number): OnnxAttribute => ({ name, type: ATTR.INT, i });
const attrInts = (name: string, ints: number[]): OnnxAttribute => ({ name, type: ATTR.INTS, ints });
const attrString = (name: string, s: string): OnnxAttribute => ({
  name,
  type: ATTR.STRING,
  s: new TextEncoder().encode(s),
});

/** Collects nodes and initializers; values get short unique names. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  #count = 0;

  node(opType: string, inputs: string[], attribute: OnnxAttribute[] = [], hint = opType): string {
    const output = `${hint}_${this.#count++}`;
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute });
    return output;
  }

  weights(name: string, t: Tensor): string {
    this.initializers.push(floatTensor(name, t.shape, t.toArray() as Float32Array));
    return name;
  }

  floats(name: string, values: number[]): string {
    this.initializers.push(floatTensor(name, [], Float32Array.from(values)));
    return name;
  }
}

/**
 * ONNX pads for the engine's Conv2d. TensorFlow "SAME" padding depends on the input size only for strided
 * convolutions, where ONNX's auto_pad SAME_UPPER says the same (output ceil(in / stride), extra pixel at the
 * end); onnxruntime refuses SAME_UPPER with dilation, and the network never dilates a strided conv.
 */
function convPadding(conv: Conv2d, path: string): OnnxAttribute[] {
  if (conv.padding !== "same") {
    const [ph, pw] = conv.padding;
    return [attrInts("pads", [ph, pw, ph, pw])];
  }
  const strided = conv.stride[0] > 1 || conv.stride[1] > 1;
  if (strided) {
    if (conv.dilation[0] > 1 || conv.dilation[1] > 1)
      throw new Error(`${path}: a strided, dilated "same" convolution has no ONNX equivalent`);
    return [attrString("auto_pad", "SAME_UPPER")];
  }
  const pads = [0, 1].map((a) => (conv.kernel[a] - 1) * conv.dilation[a]);
  const before = pads.map((p) => Math.floor(p / 2));
  return [attrInts("pads", [...before, pads[0] - before[0], pads[1] - before[1]])];
}

function emit(g: GraphBuilder, m: Module, x: string, path: string): string {
  if (m instanceof Conv2d) {
    const inputs = [x, g.weights(`${path}.weight`, m.weight)];
    if (m.bias) inputs.push(g.weights(`${path}.bias`, m.bias));
    return g.node(
      "Conv",
      inputs,
      [
        attrInts("kernel_shape", m.kernel),
        attrInts("strides", m.stride),
        attrInts("dilations", m.dilation),
        attrInt("group", m.groups),
        ...convPadding(m, path),
      ],
      "conv",
    );
  }
  if (m instanceof ReLU6) return g.node("Clip", [x, "zero", "six"], [], "relu6");
  if (m instanceof ReLU) return g.node("Relu", [x], [], "relu");
  if (m instanceof Dropout) return x; // eval mode: identity
  if (m instanceof Sequential) {
    let y = x;
    m.layers.forEach((layer, i) => (y = emit(g, layer, y, `${path}.${i}`)));
    return y;
  }
  if (m instanceof InvertedResidual) {
    const y = emit(g, m.conv, x, `${path}.conv`);
    return m.residual ? g.node("Add", [x, y], [], "residual") : y;
  }
  if (m instanceof MobileNetV2) return emit(g, m.features, x, `${path}.features`);
  throw new Error(`${path}: cannot export a ${m.constructor.name} to ONNX`);
}

/** The segmentation network as an ONNX model (weights copied from the engine's tensors). */
export function exportSegmentationModel(model: DeepLabLargeFov, info: SegmentationExportInfo): OnnxModel {
  if (info.palette.length !== info.classNames.length * 3)
    throw new Error(
      `export: ${info.classNames.length} classes need ${info.classNames.length * 3} palette values, got ${info.palette.length}`,
    );
  const g = new GraphBuilder();
  g.floats("zero", [0]);
  g.floats("six", [6]);
  const scaled = g.node("Div", ["image", g.floats("half_range", [127.5])], [], "normalise");
  const normalised = g.node("Sub", [scaled, g.floats("one", [1])], [], "normalise");
  const features = emit(g, model.backbone, normalised, "backbone");
  const lowRes = emit(g, model.head, features, "head");
  // sizes = [N, C] of the low-resolution scores ++ [H, W] of the input, so H and W stay dynamic.
  const batchAndClasses = g.node("Shape", [lowRes], [attrInt("start", 0), attrInt("end", 2)], "shape");
  const inputSize = g.node("Shape", ["image"], [attrInt("start", 2), attrInt("end", 4)], "shape");
  const sizes = g.node("Concat", [batchAndClasses, inputSize], [attrInt("axis", 0)], "sizes");
  // Bilinear upsampling as torch's align_corners=False (the engine's interpolate): half-pixel centres.
  const up = g.node(
    "Resize",
    [lowRes, "", "", sizes],
    [attrString("mode", "linear"), attrString("coordinate_transformation_mode", "half_pixel")],
    "upsample",
  );
  g.nodes.push({ opType: "Identity", input: [up], output: ["logits"], name: "logits" });

  const dim = (name: string) => ({ dimParam: name });
  const floatType = (dims: ({ dimValue: number } | { dimParam: string })[]) => ({
    tensorType: { elemType: DataType.FLOAT, shape: { dim: dims } },
  });
  const colours: number[][] = [];
  for (let i = 0; i < info.palette.length; i += 3) colours.push(info.palette.slice(i, i + 3));
  return {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: EXPORT_OPSET }],
    producerName: "aepsl",
    producerVersion: info.producerVersion ?? "",
    docString: "aepsl weakly-supervised segmentation: DeepLab-LargeFOV head on MobileNetV2",
    graph: {
      name: "aepsl_segmentation",
      node: g.nodes,
      initializer: g.initializers,
      input: [
        { name: "image", type: floatType([dim("batch"), { dimValue: 3 }, dim("height"), dim("width")]) },
      ],
      output: [
        {
          name: "logits",
          type: floatType([dim("batch"), { dimValue: info.classNames.length }, dim("height"), dim("width")]),
        },
      ],
    },
    metadataProps: [
      { key: METADATA.classes, value: JSON.stringify(info.classNames) },
      { key: METADATA.palette, value: JSON.stringify(colours) },
      { key: METADATA.input, value: INPUT_CONVENTION },
      { key: METADATA.output, value: OUTPUT_CONVENTION },
      { key: METADATA.architecture, value: "deeplab-largefov-mobilenetv2" },
      { key: METADATA.outputStride, value: String(info.outputStride) },
    ],
  };
}
