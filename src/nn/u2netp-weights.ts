// Converts the U²-Netp ONNX export (batch norm folded, opset 11) into safetensors under the names of
// src/nn/u2netp.ts. The export's convolution weights carry anonymous names ("1967"), so they are mapped
// by order: the graph runs its Conv nodes in the same order as U2NetP registers its convolutions. Each
// node's kernel, dilation and padding are checked against the module it is mapped to, so a graph that
// differs in structure is refused rather than loaded wrongly.
import type { SafeTensor } from "../engine/safetensors.js";
import { attribute, decodeModel, tensorFloats, type OnnxTensor } from "../onnx/proto.js";
import type { Conv2d } from "./layers.js";
import type { Module } from "./module.js";

/** The convolutions of a module tree in registration order, with their dotted names. */
function convolutions(root: Module, isConv: (m: Module) => m is Conv2d): [string, Conv2d][] {
  const out: [string, Conv2d][] = [];
  const walk = (m: Module, prefix: string) => {
    if (isConv(m)) out.push([prefix.slice(0, -1), m]);
    for (const [name, child] of m.children()) walk(child, `${prefix}${name}.`);
  };
  walk(root, "");
  return out;
}

export function convertU2NetPOnnx(
  bytes: Uint8Array,
  model: Module,
  isConv: (m: Module) => m is Conv2d,
  source = "u2netp.onnx",
): Record<string, SafeTensor> {
  const onnx = decodeModel(bytes, source);
  const initializers = new Map<string, OnnxTensor>(onnx.graph.initializer.map((t) => [t.name, t]));
  const nodes = onnx.graph.node.filter((n) => n.opType === "Conv");
  const convs = convolutions(model, isConv);
  if (nodes.length !== convs.length)
    throw new Error(`${source}: ${nodes.length} Conv nodes, but U²-Netp has ${convs.length} convolutions`);
  const out: Record<string, SafeTensor> = {};
  nodes.forEach((node, i) => {
    const [name, conv] = convs[i]!;
    const where = `${source}: Conv node ${i} (${node.output[0]}) → ${name}`;
    const ints = (key: string, fallback: number[]) => attribute(node, key)?.ints ?? fallback;
    const expect = (what: string, got: number[], want: number[]) => {
      if (got.join(",") !== want.join(",")) throw new Error(`${where}: ${what} [${got}], expected [${want}]`);
    };
    const pad = conv.padding === "same" ? [-1, -1] : conv.padding;
    expect("kernel", ints("kernel_shape", []), conv.kernel);
    expect("dilation", ints("dilations", [1, 1]), conv.dilation);
    expect("pads", ints("pads", [0, 0, 0, 0]), [pad[0], pad[1], pad[0], pad[1]]);
    expect("strides", ints("strides", [1, 1]), conv.stride);
    const tensorFor = (input: string | undefined, param: string, shape: number[]) => {
      const t = input === undefined ? undefined : initializers.get(input);
      if (!t) throw new Error(`${where}: ${param} initializer "${input}" not found`);
      expect(`${param} shape`, t.dims, shape);
      out[`${name}.${param}`] = { dtype: "F32", shape, data: tensorFloats(t, source) };
    };
    tensorFor(node.input[1], "weight", conv.weight.shape);
    if (!conv.bias) throw new Error(`${where}: the module has no bias`);
    tensorFor(node.input[2], "bias", conv.bias.shape);
  });
  return out;
}
