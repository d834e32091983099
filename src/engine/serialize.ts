// State dicts (Map<name, Tensor>) to and from safetensors files.
import {
  loadSafetensorsSync,
  saveSafetensors,
  type SafeTensor,
  type SafetensorsDtype,
} from "./safetensors.js";
import { tensor } from "./ops.js";
import { Tensor, type DType } from "./tensor.js";

const TO_SAFE: Record<DType, SafetensorsDtype> = {
  float32: "F32",
  float64: "F64",
  float16: "F16",
  int64: "I64",
  int32: "I32",
  uint8: "U8",
  bool: "BOOL",
};
const FROM_SAFE: Record<SafetensorsDtype, DType> = {
  F32: "float32",
  F64: "float64",
  F16: "float16",
  I64: "int64",
  I32: "int32",
  U8: "uint8",
  BOOL: "bool",
};

export function toSafeTensors(state: Map<string, Tensor>): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  for (const [name, t] of state) {
    out[name] = { dtype: TO_SAFE[t.dtype], shape: t.shape, data: t.toArray() } as SafeTensor;
  }
  return out;
}

export function fromSafeTensors(tensors: Record<string, SafeTensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, st] of Object.entries(tensors))
    out.set(name, tensor(st.data, st.shape, FROM_SAFE[st.dtype]));
  return out;
}

/** Writes tensors atomically as a safetensors file. */
export async function saveTensors(
  path: string,
  state: Map<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await saveSafetensors(path, toSafeTensors(state), metadata);
}

/** Reads a safetensors file into new tensors (the caller owns and disposes them). */
export function loadTensors(path: string): {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
} {
  const { tensors, metadata } = loadSafetensorsSync(path);
  return { tensors: fromSafeTensors(tensors), metadata };
}
