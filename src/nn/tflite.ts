// A minimal hand-written FlatBuffers reader for TFLite models (tensorflow/lite/schema/schema.fbs):
// enough to pull out tensors, quantization parameters, buffers and the operator list, and to
// dequantize constant weights to float32. Field ids below follow the schema's declaration order
// (a union occupies two ids: its type tag, then its value).
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

import { float16ToFloat32 } from "../engine/safetensors.js";
import { InputError } from "../util/errors.js";

export const TFLITE_TENSOR_TYPES = [
  "FLOAT32",
  "FLOAT16",
  "INT32",
  "UINT8",
  "INT64",
  "STRING",
  "BOOL",
  "INT16",
  "COMPLEX64",
  "INT8",
  "FLOAT64",
  "COMPLEX128",
  "UINT64",
  "RESOURCE",
  "VARIANT",
  "UINT32",
  "UINT16",
  "INT4",
] as const;
export type TfliteTensorType = (typeof TFLITE_TENSOR_TYPES)[number] | `UNKNOWN(${number})`;

/** The builtin operator codes this project cares about (schema enum BuiltinOperator). */
export const BuiltinOp = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  PAD: 34,
  MEAN: 40,
  SQUEEZE: 43,
  QUANTIZE: 114,
} as const;

const BUILTIN_OP_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(BuiltinOp).map(([k, v]) => [v, k]),
);

export function builtinOpName(code: number): string {
  return BUILTIN_OP_NAMES[code] ?? `BUILTIN_${code}`;
}

export type TflitePadding = "SAME" | "VALID";
export type TfliteActivation = "NONE" | "RELU" | "RELU_N1_TO_1" | "RELU6" | "TANH" | "SIGN_BIT";
const ACTIVATIONS: TfliteActivation[] = ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"];

export interface TfliteConv2DOptions {
  kind: "conv2d";
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  dilationW: number;
  dilationH: number;
  activation: TfliteActivation;
}

export interface TfliteDepthwiseConv2DOptions {
  kind: "depthwise_conv2d";
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  depthMultiplier: number;
  dilationW: number;
  dilationH: number;
  activation: TfliteActivation;
}

export interface TfliteFullyConnectedOptions {
  kind: "fully_connected";
  activation: TfliteActivation;
}

export type TfliteOptions = TfliteConv2DOptions | TfliteDepthwiseConv2DOptions | TfliteFullyConnectedOptions;

export interface TfliteQuantization {
  scale: Float32Array;
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: TfliteTensorType;
  /** Index into TfliteModel.buffers; 0 (the empty sentinel) for activations. */
  buffer: number;
  quantization: TfliteQuantization | null;
}

export interface TfliteOperator {
  index: number;
  /** The builtin operator code: the larger of deprecated_builtin_code and builtin_code. */
  opcode: number;
  opName: string;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  options: TfliteOptions | null;
}

export interface TfliteModel {
  file: string;
  version: number;
  description: string;
  buffers: Uint8Array[];
  tensors: TfliteTensor[];
  /** Operators of the main subgraph, in execution order. */
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

// BuiltinOptions union tags (schema union BuiltinOptions; 0 is NONE).
const OPTIONS_CONV2D = 1;
const OPTIONS_DEPTHWISE = 2;
const OPTIONS_FULLY_CONNECTED = 8;

/** Bounds-checked access to FlatBuffers tables, vectors and strings. */
class FlatBufferReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(reason: string): never {
    throw new InputError(this.file, reason);
  }

  private check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || pos + size > this.bytes.length) {
      this.fail(
        `truncated or corrupt TFLite file: ${what} at byte ${pos} lies outside the ${this.bytes.length}-byte file`,
      );
    }
  }

  u8(pos: number): number {
    this.check(pos, 1, "a byte");
    return this.view.getUint8(pos);
  }
  i8(pos: number): number {
    this.check(pos, 1, "a byte");
    return this.view.getInt8(pos);
  }
  u16(pos: number): number {
    this.check(pos, 2, "a 16-bit value");
    return this.view.getUint16(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4, "a 32-bit value");
    return this.view.getInt32(pos, true);
  }
  u32(pos: number): number {
    this.check(pos, 4, "a 32-bit value");
    return this.view.getUint32(pos, true);
  }
  f32(pos: number): number {
    this.check(pos, 4, "a float");
    return this.view.getFloat32(pos, true);
  }
  i64(pos: number): number {
    this.check(pos, 8, "a 64-bit value");
    return Number(this.view.getBigInt64(pos, true));
  }
  u64(pos: number): number {
    this.check(pos, 8, "a 64-bit value");
    return Number(this.view.getBigUint64(pos, true));
  }

  /** Position of field `id` in the table at `table`, or 0 when absent. */
  field(table: number, id: number): number {
    const vtable = table - this.i32(table);
    const vtSize = this.u16(vtable);
    if (4 + 2 * id >= vtSize) return 0;
    const off = this.u16(vtable + 4 + 2 * id);
    return off === 0 ? 0 : table + off;
  }

  /** Follows a uoffset stored at `pos`. */
  deref(pos: number): number {
    return pos + this.u32(pos);
  }

  /** The table referenced by field `id`, or 0 when absent. */
  table(table: number, id: number): number {
    const p = this.field(table, id);
    return p === 0 ? 0 : this.deref(p);
  }

  /** [start, length] of the vector referenced by field `id`; length 0 when absent. */
  vector(table: number, id: number, elemSize: number): [number, number] {
    const p = this.field(table, id);
    if (p === 0) return [0, 0];
    const v = this.deref(p);
    const n = this.u32(v);
    this.check(v + 4, n * elemSize, `a ${n}-element vector`);
    return [v + 4, n];
  }

  /** Table positions of a vector of tables. */
  tables(table: number, id: number): number[] {
    const [start, n] = this.vector(table, id, 4);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.deref(start + 4 * i));
    return out;
  }

  i32s(table: number, id: number): number[] {
    const [start, n] = this.vector(table, id, 4);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.i32(start + 4 * i));
    return out;
  }

  f32s(table: number, id: number): Float32Array {
    const [start, n] = this.vector(table, id, 4);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.f32(start + 4 * i);
    return out;
  }

  i64s(table: number, id: number): number[] {
    const [start, n] = this.vector(table, id, 8);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.i64(start + 8 * i));
    return out;
  }

  bytesField(table: number, id: number): Uint8Array {
    const [start, n] = this.vector(table, id, 1);
    return this.bytes.subarray(start, start + n);
  }

  string(table: number, id: number): string {
    return Buffer.from(this.bytesField(table, id)).toString("utf8");
  }

  scalarI32(table: number, id: number, dflt: number): number {
    const p = this.field(table, id);
    return p === 0 ? dflt : this.i32(p);
  }
  scalarU32(table: number, id: number, dflt: number): number {
    const p = this.field(table, id);
    return p === 0 ? dflt : this.u32(p);
  }
  scalarI8(table: number, id: number, dflt: number): number {
    const p = this.field(table, id);
    return p === 0 ? dflt : this.i8(p);
  }
  scalarU8(table: number, id: number, dflt: number): number {
    const p = this.field(table, id);
    return p === 0 ? dflt : this.u8(p);
  }
  scalarU64(table: number, id: number, dflt: number): number {
    const p = this.field(table, id);
    return p === 0 ? dflt : this.u64(p);
  }
}

function activation(r: FlatBufferReader, code: number): TfliteActivation {
  const a = ACTIVATIONS[code];
  if (a === undefined) r.fail(`unknown fused activation function ${code}`);
  return a;
}

function readOptions(r: FlatBufferReader, op: number): TfliteOptions | null {
  const tag = r.scalarU8(op, 3, 0);
  const t = r.table(op, 4);
  if (t === 0) return null;
  // Conv2DOptions: padding, stride_w, stride_h, fused_activation_function, dilation_w, dilation_h.
  if (tag === OPTIONS_CONV2D) {
    return {
      kind: "conv2d",
      padding: r.scalarI8(t, 0, 0) === 1 ? "VALID" : "SAME",
      strideW: r.scalarI32(t, 1, 0),
      strideH: r.scalarI32(t, 2, 0),
      activation: activation(r, r.scalarI8(t, 3, 0)),
      dilationW: r.scalarI32(t, 4, 1),
      dilationH: r.scalarI32(t, 5, 1),
    };
  }
  // DepthwiseConv2DOptions: padding, stride_w, stride_h, depth_multiplier, fused_activation_function,
  // dilation_w, dilation_h.
  if (tag === OPTIONS_DEPTHWISE) {
    return {
      kind: "depthwise_conv2d",
      padding: r.scalarI8(t, 0, 0) === 1 ? "VALID" : "SAME",
      strideW: r.scalarI32(t, 1, 0),
      strideH: r.scalarI32(t, 2, 0),
      depthMultiplier: r.scalarI32(t, 3, 0),
      activation: activation(r, r.scalarI8(t, 4, 0)),
      dilationW: r.scalarI32(t, 5, 1),
      dilationH: r.scalarI32(t, 6, 1),
    };
  }
  if (tag === OPTIONS_FULLY_CONNECTED) {
    return { kind: "fully_connected", activation: activation(r, r.scalarI8(t, 0, 0)) };
  }
  return null;
}

/** Parses a TFLite flatbuffer. Only the first (main) subgraph is read. */
export function parseTflite(bytes: Uint8Array, file = "<buffer>"): TfliteModel {
  const r = new FlatBufferReader(bytes, file);
  if (bytes.length < 8) r.fail(`not a TFLite file: only ${bytes.length} bytes`);
  const ident = Buffer.from(bytes.subarray(4, 8)).toString("latin1");
  if (ident !== "TFL3")
    r.fail(`not a TFLite file: file identifier is ${JSON.stringify(ident)}, expected "TFL3"`);

  // Model: version 0, operator_codes 1, subgraphs 2, description 3, buffers 4.
  const model = r.deref(0);
  const version = r.scalarU32(model, 0, 0);
  if (version !== 3) r.fail(`unsupported TFLite schema version ${version} (expected 3)`);

  // OperatorCode: deprecated_builtin_code (byte) 0, custom_code 1, version 2, builtin_code (int32) 3.
  const opcodes = r.tables(model, 1).map((oc) => Math.max(r.scalarI8(oc, 0, 0), r.scalarI32(oc, 3, 0)));

  // Buffer: data 0, offset 1, size 2 (offset/size locate data outside the flatbuffer in >2 GB files).
  const buffers = r.tables(model, 4).map((b, i) => {
    const offset = r.scalarU64(b, 1, 0);
    if (offset > 1) {
      const size = r.scalarU64(b, 2, 0);
      if (offset + size > bytes.length)
        r.fail(`truncated TFLite file: buffer ${i} lies past the end of the file`);
      return bytes.subarray(offset, offset + size);
    }
    return r.bytesField(b, 0);
  });

  const subgraphs = r.tables(model, 2);
  if (subgraphs.length === 0) r.fail("TFLite model has no subgraphs");
  const sg = subgraphs[0]!;

  // Tensor: shape 0, type 1, buffer 2, name 3, quantization 4.
  const tensors = r.tables(sg, 0).map((t, index): TfliteTensor => {
    const typeCode = r.scalarI8(t, 1, 0);
    const buffer = r.scalarU32(t, 2, 0);
    if (buffer >= buffers.length) r.fail(`tensor ${index} refers to buffer ${buffer} of ${buffers.length}`);
    // QuantizationParameters: min 0, max 1, scale 2, zero_point 3, details (union) 4-5, quantized_dimension 6.
    const q = r.table(t, 4);
    let quantization: TfliteQuantization | null = null;
    if (q !== 0) {
      const scale = r.f32s(q, 2);
      if (scale.length > 0) {
        quantization = { scale, zeroPoint: r.i64s(q, 3), quantizedDimension: r.scalarI32(q, 6, 0) };
      }
    }
    return {
      index,
      name: r.string(t, 3),
      shape: r.i32s(t, 0),
      type: TFLITE_TENSOR_TYPES[typeCode] ?? `UNKNOWN(${typeCode})`,
      buffer,
      quantization,
    };
  });

  // Operator: opcode_index 0, inputs 1, outputs 2, builtin_options_type 3, builtin_options 4.
  const operators = r.tables(sg, 3).map((op, index): TfliteOperator => {
    const opcodeIndex = r.scalarU32(op, 0, 0);
    const opcode = opcodes[opcodeIndex];
    if (opcode === undefined)
      r.fail(`operator ${index} refers to operator code ${opcodeIndex} of ${opcodes.length}`);
    const inputs = r.i32s(op, 1);
    const outputs = r.i32s(op, 2);
    for (const ti of [...inputs, ...outputs]) {
      if (ti < -1 || ti >= tensors.length)
        r.fail(`operator ${index} refers to tensor ${ti} of ${tensors.length}`);
    }
    return { index, opcode, opName: builtinOpName(opcode), inputs, outputs, options: readOptions(r, op) };
  });

  return {
    file,
    version,
    description: r.string(model, 3),
    buffers,
    tensors,
    operators,
    inputs: r.i32s(sg, 1),
    outputs: r.i32s(sg, 2),
  };
}

export async function readTflite(path: string): Promise<TfliteModel> {
  return parseTflite(await readFile(path), path);
}

export function readTfliteSync(path: string): TfliteModel {
  return parseTflite(readFileSync(path), path);
}

const STORAGE: Partial<Record<TfliteTensorType, { size: number; get: (v: DataView, i: number) => number }>> =
  {
    FLOAT32: { size: 4, get: (v, i) => v.getFloat32(4 * i, true) },
    UINT8: { size: 1, get: (v, i) => v.getUint8(i) },
    INT8: { size: 1, get: (v, i) => v.getInt8(i) },
    INT16: { size: 2, get: (v, i) => v.getInt16(2 * i, true) },
    INT32: { size: 4, get: (v, i) => v.getInt32(4 * i, true) },
  };

/**
 * A constant tensor's values as float32. Quantized integer tensors are dequantized as
 * scale × (q − zero_point), per tensor or per channel along quantized_dimension; INT32 biases carry
 * their own scale (input scale × weight scale), so they take the same path.
 */
export function dequantizeTensor(model: TfliteModel, tensorIndex: number): Float32Array {
  const t = model.tensors[tensorIndex];
  const fail = (reason: string): never => {
    throw new InputError(model.file, `tensor ${tensorIndex} ("${t?.name ?? "?"}"): ${reason}`);
  };
  if (t === undefined) fail(`no such tensor (the model has ${model.tensors.length})`);
  const tensor = t!;
  const bytes = model.buffers[tensor.buffer]!;
  if (tensor.buffer === 0 || bytes.length === 0) fail("has no constant data");
  const count = tensor.shape.reduce((a, b) => a * b, 1);

  if (tensor.type === "FLOAT16") {
    if (bytes.length !== count * 2) fail(`FLOAT16 buffer is ${bytes.length} bytes, shape needs ${count * 2}`);
    const copy = new Uint8Array(bytes);
    return float16ToFloat32(new Uint16Array(copy.buffer, 0, count));
  }
  const storage = STORAGE[tensor.type];
  if (storage === undefined) fail(`cannot dequantize a ${tensor.type} tensor`);
  const { size, get } = storage!;
  if (bytes.length !== count * size) {
    fail(
      `${tensor.type} buffer is ${bytes.length} bytes, shape [${tensor.shape.join(", ")}] needs ${count * size}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (tensor.type === "FLOAT32") {
    for (let i = 0; i < count; i++) out[i] = get(view, i);
    return out;
  }

  const q = tensor.quantization;
  if (q === null) fail(`${tensor.type} tensor has no quantization parameters`);
  const { scale, zeroPoint, quantizedDimension: axis } = q!;
  const zp = (c: number) => zeroPoint[c] ?? zeroPoint[0] ?? 0;
  if (scale.length === 1) {
    const s = scale[0]!;
    const z = zp(0);
    for (let i = 0; i < count; i++) out[i] = s * (get(view, i) - z);
    return out;
  }
  const channels = tensor.shape[axis];
  if (channels !== scale.length) {
    fail(
      `has ${scale.length} scales but dimension ${axis} of shape [${tensor.shape.join(", ")}] is ${channels}`,
    );
  }
  // Elements between successive steps of the quantized axis.
  const inner = tensor.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(i / inner) % channels!;
    out[i] = scale[c]! * (get(view, i) - zp(c));
  }
  return out;
}
