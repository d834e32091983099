// ONNX files (ModelProto) read and written with protobufjs. The schema below is the subset of onnx.proto
// (the onnx/onnx repository) that aepsl uses, with the same field numbers, so files it writes are standard
// ONNX and files it reads may carry any other fields (protobuf skips unknown ones).
import protobuf from "protobufjs";

const tensorDataType = {
  values: {
    UNDEFINED: 0,
    FLOAT: 1,
    UINT8: 2,
    INT8: 3,
    INT32: 6,
    INT64: 7,
    STRING: 8,
    BOOL: 9,
    FLOAT16: 10,
    DOUBLE: 11,
  },
};

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: "string", id: 1 },
            type: { type: "int32", id: 20 },
            f: { type: "float", id: 2 },
            i: { type: "int64", id: 3 },
            s: { type: "bytes", id: 4 },
            t: { type: "TensorProto", id: 5 },
            floats: { rule: "repeated", type: "float", id: 7 },
            ints: { rule: "repeated", type: "int64", id: 8 },
            strings: { rule: "repeated", type: "bytes", id: 9 },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: "string", id: 1 },
            type: { type: "TypeProto", id: 2 },
            docString: { type: "string", id: 3 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: "repeated", type: "string", id: 1 },
            output: { rule: "repeated", type: "string", id: 2 },
            name: { type: "string", id: 3 },
            opType: { type: "string", id: 4 },
            domain: { type: "string", id: 7 },
            attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: "int64", id: 1 },
            opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
            producerName: { type: "string", id: 2 },
            producerVersion: { type: "string", id: 3 },
            domain: { type: "string", id: 4 },
            modelVersion: { type: "int64", id: 5 },
            docString: { type: "string", id: 6 },
            graph: { type: "GraphProto", id: 7 },
            metadataProps: { rule: "repeated", type: "StringStringEntryProto", id: 14 },
          },
        },
        StringStringEntryProto: {
          fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 } },
        },
        GraphProto: {
          fields: {
            node: { rule: "repeated", type: "NodeProto", id: 1 },
            name: { type: "string", id: 2 },
            initializer: { rule: "repeated", type: "TensorProto", id: 5 },
            docString: { type: "string", id: 10 },
            input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
            output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
            valueInfo: { rule: "repeated", type: "ValueInfoProto", id: 13 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: "repeated", type: "int64", id: 1 },
            dataType: { type: "int32", id: 2 },
            floatData: { rule: "repeated", type: "float", id: 4, options: { packed: true } },
            int32Data: { rule: "repeated", type: "int32", id: 5, options: { packed: true } },
            int64Data: { rule: "repeated", type: "int64", id: 7, options: { packed: true } },
            name: { type: "string", id: 8 },
            rawData: { type: "bytes", id: 9 },
            doubleData: { rule: "repeated", type: "double", id: 10, options: { packed: true } },
            dataLocation: { type: "int32", id: 14 },
          },
          nested: { DataType: tensorDataType },
        },
        TensorShapeProto: {
          fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
              fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ["tensorType"] } },
          fields: { tensorType: { type: "Tensor", id: 1 } },
          nested: {
            Tensor: {
              fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } },
            },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(SCHEMA);
const ModelType = root.lookupType("onnx.ModelProto");

/** ONNX element types aepsl reads or writes (TensorProto.DataType). */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  dataLocation?: number;
}

export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  type?: {
    tensorType?: { elemType: number; shape?: { dim: ({ dimValue: number } | { dimParam: string })[] } };
  };
  docString?: string;
}

export interface OnnxGraph {
  name?: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: { domain?: string; version: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  graph: OnnxGraph;
  metadataProps?: { key: string; value: string }[];
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  bytes: Uint8Array,
  defaults: false,
  arrays: true,
};

/** Decodes an ONNX file's bytes; `source` names the file in errors. */
export function decodeModel(bytes: Uint8Array, source = "ONNX model"): OnnxModel {
  let message: protobuf.Message;
  try {
    message = ModelType.decode(bytes);
  } catch (err) {
    throw new Error(`${source}: not a readable ONNX file (${(err as Error).message})`);
  }
  const model = ModelType.toObject(message, TO_OBJECT) as OnnxModel;
  if (!model.graph) throw new Error(`${source}: not an ONNX model (no graph)`);
  model.graph.node ??= [];
  model.graph.initializer ??= [];
  model.graph.input ??= [];
  model.graph.output ??= [];
  return model;
}

/** Encodes a model as ONNX bytes. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const problem = ModelType.verify(model);
  if (problem) throw new Error(`invalid ONNX model: ${problem}`);
  return ModelType.encode(ModelType.fromObject(model)).finish();
}

/** A FLOAT initializer's values, whether stored as raw little-endian bytes or as float_data. */
export function tensorFloats(t: OnnxTensor, source = "ONNX model"): Float32Array {
  if (t.dataType !== DataType.FLOAT)
    throw new Error(`${source}: tensor "${t.name}" is not float32 (type ${t.dataType})`);
  if (t.dataLocation === 1)
    throw new Error(`${source}: tensor "${t.name}" has external data, which is not supported`);
  const count = (t.dims ?? []).reduce((a, b) => a * b, 1);
  let values: Float32Array;
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    values = new Float32Array(raw.length / 4);
    new Uint8Array(values.buffer).set(raw.subarray(0, values.length * 4));
  } else {
    values = Float32Array.from(t.floatData ?? []);
  }
  if (values.length !== count) {
    throw new Error(
      `${source}: tensor "${t.name}" holds ${values.length} values, its shape [${t.dims}] needs ${count}`,
    );
  }
  return values;
}

/** A float32 initializer tensor stored as raw little-endian bytes (the compact form exporters use). */
export function floatTensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  const bytes = new Uint8Array(values.byteLength);
  bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return { name, dims, dataType: DataType.FLOAT, rawData: bytes };
}

/** An int64 initializer tensor (shapes, axes). */
export function int64Tensor(name: string, dims: number[], values: number[]): OnnxTensor {
  return { name, dims, dataType: DataType.INT64, int64Data: values };
}

/** An attribute's value by name: ints, floats, int, float or string. */
export function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}
