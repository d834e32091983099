// Reader and writer for the safetensors format: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then raw
// little-endian tensor data. Offsets are relative to the start of the data section.
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { endianness } from "node:os";

import { InputError } from "../util/errors.js";
import { writeFileAtomic, writeFileAtomicSync } from "../util/fs.js";

export type SafetensorsDtype = "F32" | "F64" | "F16" | "I64" | "I32" | "U8" | "BOOL";

/** The typed array that holds each dtype's elements. F16 is kept as raw IEEE half bits. */
export interface SafetensorsArrayFor {
  F32: Float32Array;
  F64: Float64Array;
  F16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

export type SafetensorsArray = SafetensorsArrayFor[SafetensorsDtype];

export type SafeTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: SafetensorsArrayFor[D] };
}[SafetensorsDtype];

export type SafetensorsMetadata = Record<string, string>;

export interface SafetensorsContents {
  tensors: Record<string, SafeTensor>;
  metadata: SafetensorsMetadata;
}

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F32: 4,
  F64: 8,
  F16: 2,
  I64: 8,
  I32: 4,
  U8: 1,
  BOOL: 1,
};

const ARRAY_CTOR = {
  F32: Float32Array,
  F64: Float64Array,
  F16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as const;

/** Same limit as the reference implementation: a larger header is a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;

export const SAFETENSORS_DTYPES: readonly SafetensorsDtype[] = Object.keys(ITEM_SIZE) as SafetensorsDtype[];

export function dtypeItemSize(dtype: SafetensorsDtype): number {
  return ITEM_SIZE[dtype];
}

function isDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === "string" && Object.prototype.hasOwnProperty.call(ITEM_SIZE, x);
}

function assertLittleEndianHost(): void {
  // Tensor bytes are copied verbatim into typed arrays, which use the host byte order.
  if (endianness() !== "LE") throw new Error("safetensors: big-endian hosts are not supported");
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

// ---------------------------------------------------------------------------------------------------
// Encoding

/**
 * Serialises tensors to a safetensors buffer. Tensors are laid out by decreasing item size, then by
 * name, so every tensor starts at an offset aligned to its element size (as the Python writer does).
 */
export function encodeSafetensors(
  tensors: Record<string, SafeTensor>,
  metadata?: SafetensorsMetadata,
): Buffer {
  assertLittleEndianHost();
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === "__metadata__")
      throw new Error(`safetensors: "__metadata__" is reserved, not a tensor name`);
    const t = tensors[name]!;
    if (!isDtype(t.dtype))
      throw new Error(`safetensors: tensor "${name}" has unsupported dtype ${String(t.dtype)}`);
    if (!isValidShape(t.shape)) {
      throw new Error(`safetensors: tensor "${name}" has an invalid shape ${JSON.stringify(t.shape)}`);
    }
    if (!(t.data instanceof ARRAY_CTOR[t.dtype])) {
      throw new Error(`safetensors: tensor "${name}" (${t.dtype}) needs a ${ARRAY_CTOR[t.dtype].name}`);
    }
    if (t.data.length !== elementCount(t.shape)) {
      throw new Error(
        `safetensors: tensor "${name}" has ${t.data.length} elements but shape [${t.shape.join(", ")}] needs ${elementCount(t.shape)}`,
      );
    }
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new Error(`safetensors: metadata "${k}" must be a string`);
    }
  }

  names.sort((a, b) => {
    const d = ITEM_SIZE[tensors[b]!.dtype] - ITEM_SIZE[tensors[a]!.dtype];
    return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
  });

  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const end = offset + t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  // Pad with spaces so the data section starts 8-byte aligned.
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + headerLen + offset, 0x20);
  out.writeBigUInt64LE(BigInt(headerLen), 0);
  json.copy(out, 8);
  let pos = 8 + headerLen;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/**
 * Parses a safetensors buffer. Tensor data is copied into fresh, aligned typed arrays, so the result
 * does not alias `buf`. Every structural problem throws an InputError naming `file`.
 */
export function decodeSafetensors(buf: Uint8Array, file = "<buffer>"): SafetensorsContents {
  assertLittleEndianHost();
  const fail = (reason: string): never => {
    throw new InputError(file, reason);
  };
  if (buf.length < 8)
    fail(`truncated safetensors file: ${buf.length} bytes, need at least 8 for the header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLenBig = view.getBigUint64(0, true);
  if (headerLenBig > BigInt(MAX_HEADER_BYTES))
    fail(`safetensors header length ${headerLenBig} is implausibly large`);
  const headerLen = Number(headerLenBig);
  if (8 + headerLen > buf.length) {
    fail(
      `truncated safetensors file: header says ${headerLen} header bytes but only ${buf.length - 8} follow`,
    );
  }

  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, headerLen).toString("utf8"));
  } catch (err) {
    fail(`bad safetensors header JSON: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail("bad safetensors header JSON: expected an object");
  }

  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: SafetensorsMetadata = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] =
    [];

  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw))
        fail(`"__metadata__" must be an object`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`"__metadata__"."${k}" must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (raw === null || typeof raw !== "object") fail(`tensor "${name}": header entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (!isDtype(dtype)) fail(`tensor "${name}": unsupported dtype ${JSON.stringify(dtype)}`);
    if (!isValidShape(shape)) fail(`tensor "${name}": invalid shape ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(
        `tensor "${name}": data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) {
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] out of range (data section is ${dataLen} bytes)`,
      );
    }
    const d = dtype as SafetensorsDtype;
    const s = shape as number[];
    const want = elementCount(s) * ITEM_SIZE[d];
    if (want !== end - begin) {
      fail(
        `tensor "${name}": shape [${s.join(", ")}] × ${d} is ${want} bytes but data_offsets span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: d, shape: s, begin, end });
  }

  // The data section must be covered exactly once, in offset order, with no holes or overlaps.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = "";
  for (const e of sorted) {
    if (e.begin < cursor) {
      fail(
        `tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev}" (ends at ${cursor})`,
      );
    }
    if (e.begin > cursor)
      fail(`tensor "${e.name}": data_offsets start at ${e.begin}, leaving a hole after ${cursor}`);
    cursor = e.end;
    prev = e.name;
  }
  if (cursor !== dataLen) fail(`${dataLen - cursor} trailing bytes after the last tensor`);

  const tensors: Record<string, SafeTensor> = {};
  for (const e of entries) {
    // Copy into a fresh ArrayBuffer: Buffer views are often unaligned for multi-byte typed arrays.
    const bytes = new Uint8Array(e.end - e.begin);
    bytes.set(buf.subarray(dataStart + e.begin, dataStart + e.end));
    const data = new ARRAY_CTOR[e.dtype](bytes.buffer, 0, bytes.length / ITEM_SIZE[e.dtype]);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data } as SafeTensor;
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------------
// Files

/** Writes a safetensors file atomically (temp file + rename), so a crash never leaves half a file. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata?: SafetensorsMetadata,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function saveSafetensorsSync(
  path: string,
  tensors: Record<string, SafeTensor>,
  metadata?: SafetensorsMetadata,
): void {
  writeFileAtomicSync(path, encodeSafetensors(tensors, metadata));
}

export async function loadSafetensors(path: string): Promise<SafetensorsContents> {
  return decodeSafetensors(await readFile(path), path);
}

export function loadSafetensorsSync(path: string): SafetensorsContents {
  return decodeSafetensors(readFileSync(path), path);
}

/** Converts any floating-point tensor (F32, F64, F16) to a Float32Array; other dtypes are refused. */
export function tensorToFloat32(t: SafeTensor, name = "tensor"): Float32Array {
  switch (t.dtype) {
    case "F32":
      return t.data;
    case "F64":
      return Float32Array.from(t.data);
    case "F16":
      return float16ToFloat32(t.data);
    default:
      throw new Error(`${name}: expected a floating-point tensor, got ${t.dtype}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// IEEE 754 half precision

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Rounds a number (exactly, from the double) to the nearest float16, ties to even; returns its bits. */
export function float16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7c00;
  // Subnormal range: units of 2^-24. A result of 1024 is the smallest normal, which the bit layout
  // already encodes correctly.
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  // log2 can be off by one near powers of two.
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  if (e > 15) return sign | 0x7c00;
  // A mantissa that rounds up to 1024 carries into the exponent, which the addition handles.
  const bits = ((e + 15) << 10) + roundHalfEven((a / 2 ** e - 1) * 1024);
  return sign | Math.min(bits, 0x7c00);
}

/** The value of float16 bits. */
export function float16Value(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m !== 0 ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

let f16Table: Float32Array | undefined;

/** Float16 bits → Float32Array, through a 64 Ki-entry table because CAM files are decoded in bulk. */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = float16Value(i);
  }
  const table = f16Table;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/**
 * Values → float16 bits, rounding to nearest even. Float32Array input goes through a bit-level fast
 * path (float32 → float16 is exact rounding); other inputs are rounded from the double.
 */
export function float32ToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  if (!(values instanceof Float32Array)) {
    for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]!);
    return out;
  }
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u32.length; i++) {
    const x = u32[i]!;
    const sign = (x >>> 16) & 0x8000;
    const abs = x & 0x7fffffff;
    let h: number;
    if (abs >= 0x7f800000) {
      h = abs > 0x7f800000 ? 0x7e00 : 0x7c00;
    } else if (abs >= 0x477ff000) {
      // 65520 and above round past 65504 to infinity.
      h = 0x7c00;
    } else if (abs >= 0x38800000) {
      // Normal: rebias the exponent (127 → 15) and round away the low 13 mantissa bits.
      h = (abs >>> 13) - (112 << 10);
      const rem = abs & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
    } else if (abs > 0x33000000) {
      // Subnormal half: value = m × 2^(e-150); in units of 2^-24 that is m >> (126 - e).
      const e = abs >>> 23;
      const m = (abs & 0x7fffff) | 0x800000;
      const shift = 126 - e;
      h = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    } else {
      // At most 2^-25: rounds to zero (2^-25 itself is a tie, and zero is even).
      h = 0;
    }
    out[i] = sign | h;
  }
  return out;
}
