import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import {
  decodeSafetensors,
  encodeSafetensors,
  float16Bits,
  float16ToFloat32,
  float16Value,
  float32ToFloat16,
  loadSafetensors,
  saveSafetensors,
  tensorToFloat32,
  type SafeTensor,
} from "../src/engine/safetensors.js";
import { InputError } from "../src/util/errors.js";

/** Hand-builds a safetensors file from a header (object or raw JSON text) and data bytes. */
function build(header: unknown, data: Uint8Array | number[] = [], opts: { pad?: boolean } = {}): Buffer {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  if (opts.pad !== false) json = json.padEnd(Math.ceil(json.length / 8) * 8, " ");
  const h = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(out, 8);
  out.set(data, 8 + h.length);
  return out;
}

function expectInputError(fn: () => unknown, pattern: RegExp, file = "bad.safetensors"): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

const allDtypes = (): Record<string, SafeTensor> => ({
  f32: { dtype: "F32", shape: [2, 3], data: Float32Array.from([1.5, -2, 0, 3.25, 1e-30, -Infinity]) },
  f64: { dtype: "F64", shape: [3], data: Float64Array.from([Math.PI, -1e300, 5e-324]) },
  f16: { dtype: "F16", shape: [2, 2], data: Uint16Array.from([0x3c00, 0x7bff, 0x0001, 0xfc00]) },
  i64: { dtype: "I64", shape: [2], data: BigInt64Array.from([-(2n ** 62n), 2n ** 62n + 7n]) },
  i32: { dtype: "I32", shape: [1, 3], data: Int32Array.from([-2147483648, 0, 2147483647]) },
  u8: { dtype: "U8", shape: [5], data: Uint8Array.from([0, 1, 127, 128, 255]) },
  bool: { dtype: "BOOL", shape: [2, 1], data: Uint8Array.from([1, 0]) },
  scalar: { dtype: "F32", shape: [], data: Float32Array.from([42]) },
  empty: { dtype: "I32", shape: [0, 4], data: new Int32Array(0) },
});

describe("safetensors encode/decode", () => {
  it("round-trips every dtype, scalars and empty tensors", () => {
    const tensors = allDtypes();
    const back = decodeSafetensors(encodeSafetensors(tensors));
    assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back.tensors[name]!;
      assert.equal(b.dtype, t.dtype, name);
      assert.deepEqual(b.shape, t.shape, name);
      assert.equal(b.data.constructor, t.data.constructor, name);
      assert.deepEqual(
        Array.from(b.data as ArrayLike<unknown>),
        Array.from(t.data as ArrayLike<unknown>),
        name,
      );
    }
    assert.deepEqual(back.metadata, {});
  });

  it("round-trips metadata and omits an empty __metadata__", () => {
    const meta = { source: "x.tflite", licence: "Apache-2.0", ünïcode: '✓ "quoted"' };
    const buf = encodeSafetensors({ a: allDtypes().u8 }, meta);
    assert.deepEqual(decodeSafetensors(buf).metadata, meta);
    const plain = encodeSafetensors({ a: allDtypes().u8 }, {});
    assert.ok(!plain.toString("utf8").includes("__metadata__"));
  });

  it("pads the header with spaces to 8 bytes and aligns every tensor to its element size", () => {
    const buf = encodeSafetensors(allDtypes(), { k: "v" });
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const text = buf.subarray(8, 8 + n).toString("utf8");
    assert.match(text, /^\{.*\} *$/);
    const header = JSON.parse(text) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, U8: 1, BOOL: 1 };
    let end = 0;
    for (const [name, e] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      assert.equal(e.data_offsets[0] % size[e.dtype]!, 0, `${name} is misaligned`);
      end = Math.max(end, e.data_offsets[1]);
    }
    assert.equal(buf.length, 8 + n + end);
  });

  it("decodes from an unaligned Buffer view and does not alias it", () => {
    const enc = encodeSafetensors({ x: { dtype: "F64", shape: [2], data: Float64Array.from([1, 2]) } });
    const big = new Uint8Array(enc.length + 3);
    big.set(enc, 3);
    const view = Buffer.from(big.buffer, 3, enc.length);
    const t = decodeSafetensors(view).tensors.x!;
    assert.deepEqual(Array.from(t.data as Float64Array), [1, 2]);
    big.fill(0);
    assert.deepEqual(Array.from(t.data as Float64Array), [1, 2]);
  });

  it("accepts a header whose tensors are listed out of offset order", () => {
    const data = new Uint8Array(8);
    new Float32Array(data.buffer).set([7, 9]);
    const buf = build(
      {
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
        a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      },
      data,
    );
    const { tensors } = decodeSafetensors(buf);
    assert.equal((tensors.a!.data as Float32Array)[0], 7);
    assert.equal((tensors.b!.data as Float32Array)[0], 9);
  });

  it("refuses to encode inconsistent tensors", () => {
    assert.throws(
      () => encodeSafetensors({ a: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
      /2 elements but shape \[3\]/,
    );
    assert.throws(
      () =>
        encodeSafetensors({
          a: { dtype: "F32", shape: [2], data: new Float64Array(2) } as unknown as SafeTensor,
        }),
      /needs a Float32Array/,
    );
    assert.throws(() => encodeSafetensors({ __metadata__: allDtypes().u8 }), /reserved/);
  });
});

describe("safetensors malformed files", () => {
  const f = "bad.safetensors";
  const f32 = (begin: number, end: number, shape = [1]) => ({
    dtype: "F32",
    shape,
    data_offsets: [begin, end],
  });

  it("reports a file too short for the header length", () => {
    expectInputError(() => decodeSafetensors(Buffer.from([1, 2, 3]), f), /truncated.*3 bytes/);
  });

  it("reports a header length past the end of the file", () => {
    const buf = build({ a: f32(0, 4) }, new Uint8Array(4));
    expectInputError(() => decodeSafetensors(buf.subarray(0, 20), f), /truncated.*header/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(2n ** 60n, 0);
    expectInputError(() => decodeSafetensors(huge, f), /implausibly large/);
  });

  it("reports a truncated data section as offsets out of range", () => {
    const buf = build({ a: f32(0, 8, [2]) }, new Uint8Array(8));
    expectInputError(() => decodeSafetensors(buf.subarray(0, buf.length - 3), f), /out of range.*5 bytes/);
  });

  it("reports bad header JSON", () => {
    expectInputError(
      () => decodeSafetensors(build('{"a": {"dtype": "F32",'), f),
      /bad safetensors header JSON/,
    );
    expectInputError(() => decodeSafetensors(build("[1, 2]"), f), /expected an object/);
    expectInputError(() => decodeSafetensors(build({ a: 5 }), f), /"a".*must be an object/);
  });

  it("reports bad dtypes, shapes and metadata", () => {
    const one = new Uint8Array(4);
    expectInputError(
      () => decodeSafetensors(build({ a: { dtype: "Q4", shape: [1], data_offsets: [0, 4] } }, one), f),
      /unsupported dtype "Q4"/,
    );
    expectInputError(() => decodeSafetensors(build({ a: f32(0, 4, [-1]) }, one), f), /invalid shape/);
    expectInputError(
      () => decodeSafetensors(build({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, one), f),
      /data_offsets must be two/,
    );
    expectInputError(
      () => decodeSafetensors(build({ __metadata__: { n: 3 }, a: f32(0, 4) }, one), f),
      /"__metadata__"."n" must be a string/,
    );
  });

  it("reports offsets out of range", () => {
    expectInputError(
      () => decodeSafetensors(build({ a: f32(0, 8, [2]) }, new Uint8Array(4)), f),
      /out of range/,
    );
  });

  it("reports offsets that end before they begin", () => {
    expectInputError(() => decodeSafetensors(build({ a: f32(4, 0) }, new Uint8Array(4)), f), /end before/);
  });

  it("reports overlapping offsets", () => {
    const buf = build({ a: f32(0, 8, [2]), b: f32(4, 8) }, new Uint8Array(8));
    expectInputError(() => decodeSafetensors(buf, f), /"b".*overlap tensor "a"/);
  });

  it("reports holes and trailing bytes", () => {
    expectInputError(() => decodeSafetensors(build({ a: f32(4, 8) }, new Uint8Array(8)), f), /hole/);
    expectInputError(
      () => decodeSafetensors(build({ a: f32(0, 4) }, new Uint8Array(6)), f),
      /2 trailing bytes/,
    );
  });

  it("reports shape × dtype size that disagrees with the byte length", () => {
    const buf = build({ a: { dtype: "F16", shape: [3], data_offsets: [0, 4] } }, new Uint8Array(4));
    expectInputError(() => decodeSafetensors(buf, f), /shape \[3\] × F16 is 6 bytes but data_offsets span 4/);
  });
});

describe("safetensors files", () => {
  it("saves atomically, loads back, and names the path in errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aepsl-st-"));
    try {
      const path = join(dir, "sub", "t.safetensors");
      await saveSafetensors(path, allDtypes(), { origin: "test" });
      assert.deepEqual(readdirSync(join(dir, "sub")), ["t.safetensors"]);
      const back = await loadSafetensors(path);
      assert.equal(back.metadata.origin, "test");
      assert.deepEqual(
        Array.from(back.tensors.f32!.data as Float32Array),
        Array.from(allDtypes().f32.data as Float32Array),
      );

      const bad = join(dir, "cut.safetensors");
      writeFileSync(bad, encodeSafetensors(allDtypes()).subarray(0, 30));
      await assert.rejects(loadSafetensors(bad), (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(err.file, bad);
        assert.match(err.message, /truncated/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("float16", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65519, 0x7bff], // just below the tie with 65536: stays finite
    [65520, 0x7c00], // the tie rounds to even, which is infinity
    [1e6, 0x7c00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [1023.5 * 2 ** -24, 0x0400], // tie between the largest subnormal and the smallest normal → even
    [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even (0)
    [1.5 * 2 ** -24, 0x0002], // tie between 1 and 2 units → even (2)
    [2.5 * 2 ** -24, 0x0002], // tie between 2 and 3 units → even (2)
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10 → even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie between mantissa 1 and 2 → 2
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie rounds up
    [0.1, 0x2e66],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
  ];

  it("encodes hand-computed values with round-to-nearest-even", () => {
    for (const [x, bits] of cases) {
      assert.equal(float16Bits(x), bits, `float16Bits(${x})`);
      assert.equal(float32ToFloat16(Float32Array.of(x))[0], bits, `float32ToFloat16(${x})`);
      assert.equal(float32ToFloat16([x])[0], bits, `float32ToFloat16([${x}])`);
    }
  });

  it("encodes NaN as a NaN", () => {
    for (const h of [float16Bits(NaN), float32ToFloat16(Float32Array.of(NaN))[0]!]) {
      assert.equal(h & 0x7c00, 0x7c00);
      assert.notEqual(h & 0x03ff, 0);
    }
  });

  it("decodes hand-computed values", () => {
    assert.equal(float16Value(0x3c00), 1);
    assert.equal(float16Value(0x7bff), 65504);
    assert.equal(float16Value(0x0001), 2 ** -24);
    assert.equal(float16Value(0x0400), 2 ** -14);
    assert.equal(float16Value(0xc000), -2);
    assert.equal(float16Value(0x7c00), Infinity);
    assert.equal(float16Value(0xfc00), -Infinity);
    assert.ok(Object.is(float16Value(0x8000), -0));
    assert.ok(Number.isNaN(float16Value(0x7e00)));
  });

  it("round-trips all 65536 bit patterns (NaNs stay NaN)", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = float16ToFloat32(all);
    const back = float32ToFloat16(f);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(f[i]!)) assert.ok(Number.isNaN(float16Value(back[i]!)));
      else assert.equal(back[i], i, `bits 0x${i.toString(16)}`);
    }
  });

  it("bit-level float32 path agrees with the exact scalar rounding on random float32 values", () => {
    const xs = new Float32Array(20000);
    const u = new Uint32Array(xs.buffer);
    let s = 12345;
    for (let i = 0; i < u.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // Exponents concentrated around the half range, including subnormals and overflow.
      u[i] = ((s & 0x80000000) | (((100 + (s % 60)) & 0xff) << 23) | (s >>> 9)) >>> 0;
    }
    const fast = float32ToFloat16(xs);
    for (let i = 0; i < xs.length; i++) assert.equal(fast[i], float16Bits(xs[i]!), `value ${xs[i]}`);
  });

  it("stores F16 tensors and converts them to float32", () => {
    const values = Float32Array.from([0.25, -3.5, 1000, 0.333]);
    const t: SafeTensor = { dtype: "F16", shape: [4], data: float32ToFloat16(values) };
    const back = decodeSafetensors(encodeSafetensors({ cam: t })).tensors.cam!;
    const f = tensorToFloat32(back);
    assert.deepEqual(Array.from(f.subarray(0, 3)), [0.25, -3.5, 1000]);
    assert.ok(Math.abs(f[3]! - 0.333) < 2e-4);
    assert.throws(
      () => tensorToFloat32({ dtype: "I32", shape: [0], data: new Int32Array(0) }),
      /floating-point/,
    );
  });
});
