import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { buildPalette } from "../src/data/classes.js";
import { decodeIndexedPng, encodeIndexedPng, PngFilter, type PngBitDepth } from "../src/data/png.js";
import { mulberry32 } from "../src/data/augment.js";
import { InputError } from "../src/util/errors.js";

const vocPalette = () => buildPalette();

/** The demo sample, found from this file up (works from test/ and from dist/test/). */
function findUp(rel: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, rel))) return join(dir, rel);
    if (dirname(dir) === dir) throw new Error(`${rel} not found above the tests`);
  }
}

/** Builds a PNG from raw parts with zlib's CRC, independent of the module under test. */
function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function png(
  width: number,
  height: number,
  bitDepth: number,
  colourType: number,
  raw: Uint8Array,
  plte?: Uint8Array,
) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    ...(plte ? [chunk("PLTE", plte)] : []),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

function randomIndices(n: number, max: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng() * (max + 1)));
}

function expectInputError(fn: () => unknown, ...fragments: RegExp[]) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${err}`);
    for (const f of fragments) assert.match(err.message, f);
    return true;
  });
}

describe("indexed PNG", () => {
  test("round-trips indices and palette at every bit depth, odd widths, every filter", () => {
    const palette = vocPalette();
    for (const bitDepth of [1, 2, 4, 8] as PngBitDepth[]) {
      for (const [w, h] of [
        [1, 1],
        [13, 7],
        [64, 3],
      ]) {
        for (const filter of Object.values(PngFilter)) {
          const indices = randomIndices(w * h, (1 << bitDepth) - 1, w * 100 + bitDepth + filter);
          const buf = encodeIndexedPng(indices, w, h, palette, { bitDepth, filter });
          assert.equal(buf[24], bitDepth, "IHDR bit depth");
          assert.equal(buf[25], 3, "IHDR colour type");
          const out = decodeIndexedPng(buf, "rt.png");
          assert.equal(out.width, w);
          assert.equal(out.height, h);
          assert.deepEqual(out.indices, indices, `bitDepth ${bitDepth} ${w}x${h} filter ${filter}`);
          assert.deepEqual(out.palette, palette.subarray(0, Math.min(256, 1 << bitDepth) * 3));
        }
      }
    }
  });

  test("hand-built rows exercise Sub, Up, Average (sum > 255), Paeth (a, b, c and ties) and None", () => {
    // Filtered bytes computed by hand / a separate reference; pixels are what must come back.
    // Paeth picks per column of row 3: b, b, a (pa == pc tie), c, c, b (pb == pc tie).
    const filtered = Uint8Array.from([
      ...[1, 10, 10, 10, 10, 10, 10],
      ...[2, 2, 102, 205, 1, 40, 31],
      ...[3, 194, 196, 190, 73, 189, 216],
      ...[4, 1, 254, 217, 153, 172, 40],
      ...[0, 0, 255, 128, 7, 1, 2],
    ]);
    const pixels = [
      [10, 20, 30, 40, 50, 60],
      [12, 122, 235, 41, 90, 91],
      [200, 101, 102, 144, 50, 30],
      [201, 99, 60, 255, 60, 70],
      [0, 255, 128, 7, 1, 2],
    ].flat();
    const out = decodeIndexedPng(png(6, 5, 8, 3, filtered, vocPalette()), "hand.png");
    assert.deepEqual(Array.from(out.indices), pixels);
  });

  test("hand-built 1-bit rows unpack MSB first with the Sub filter on packed bytes", () => {
    // Row 0 bytes 0b10110010, 0b11000000 (None); row 1 the same bits with Sub: byte1 = 0xC0 - 0xB2.
    const raw = Uint8Array.from([0, 0b10110010, 0b11000000, 1, 0b10110010, (0xc0 - 0xb2) & 0xff]);
    const out = decodeIndexedPng(
      png(10, 2, 1, 3, raw, Uint8Array.from([0, 0, 0, 255, 255, 255])),
      "bits.png",
    );
    const row = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1];
    assert.deepEqual(Array.from(out.indices), [...row, ...row]);
  });

  test("8-bit grayscale PNG values are read as indices", async () => {
    const values = Uint8Array.from([0, 1, 2, 3, 20, 255]);
    const buf = await sharp(values, { raw: { width: 3, height: 2, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toBuffer();
    assert.equal(buf[25], 0, "fixture must be colour type 0");
    const out = decodeIndexedPng(buf, "gray.png");
    assert.deepEqual(out.indices, values);
    assert.equal(out.palette, undefined);
  });

  test("sharp's interlaced 4-bit palette PNG decodes to the same colours sharp sees", async () => {
    const w = 37;
    const h = 23;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++)
      rgb.set([(i % w) * 6, Math.floor(i / w) * 10, (i * 7) % 3 === 0 ? 200 : 0], i * 3);
    const buf = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .png({ palette: true, colours: 16, progressive: true, dither: 0 })
      .toBuffer();
    assert.equal(buf[28], 1, "fixture must be interlaced");
    const out = decodeIndexedPng(buf, "sharp.png");
    const seen = await sharp(buf).removeAlpha().raw().toBuffer();
    for (let i = 0; i < w * h; i++) {
      const p = out.indices[i] * 3;
      assert.deepEqual(
        [...out.palette!.subarray(p, p + 3)],
        [...seen.subarray(i * 3, i * 3 + 3)],
        `pixel ${i}`,
      );
    }
  });

  test("a real VOC mask keeps its indices (0..20, 255) and the VOC palette", async () => {
    const root = findUp("samples/voc-mini");
    const id = readFileSync(join(root, "ImageSets/Segmentation/train.txt"), "utf8").split("\n")[0];
    const path = join(root, "SegmentationClass", `${id}.png`);
    const out = decodeIndexedPng(readFileSync(path), path);
    const values = new Set(out.indices);
    assert.ok(values.has(0) && [...values].some((v) => v > 0 && v <= 20));
    for (const v of values) assert.ok(v <= 20 || v === 255, `value ${v}`);
    assert.deepEqual([...out.palette!.subarray(255 * 3, 256 * 3)], [224, 224, 192]);
    const rgb = await sharp(path).removeAlpha().raw().toBuffer();
    for (let i = 0; i < out.indices.length; i += 97) {
      const p = out.indices[i] * 3;
      assert.deepEqual([...out.palette!.subarray(p, p + 3)], [...rgb.subarray(i * 3, i * 3 + 3)]);
    }
  });
});

describe("indexed PNG errors", () => {
  const rgbPng = () =>
    sharp({ create: { width: 4, height: 4, channels: 3, background: "#f00" } })
      .png()
      .toBuffer();

  test("an RGB PNG is refused, naming the file and saying it is RGB, not indexed", async () => {
    expectInputError(() => decodeIndexedPng(Buffer.from([]), "x"), /empty/);
    const buf = await rgbPng();
    expectInputError(
      () => decodeIndexedPng(buf, "masks/cat 1.png"),
      /^masks\/cat 1\.png: /,
      /\bRGB\b/,
      /not indexed/,
    );
  });

  test("RGBA and 16-bit grayscale PNGs are refused", async () => {
    const rgba = await sharp({ create: { width: 2, height: 2, channels: 4, background: "#f008" } })
      .png()
      .toBuffer();
    expectInputError(() => decodeIndexedPng(rgba, "a.png"), /RGBA/, /not indexed/);
    const gray16 = png(2, 1, 16, 0, Uint8Array.from([0, 0, 1, 0, 2]));
    expectInputError(() => decodeIndexedPng(gray16, "g16.png"), /16-bit/);
  });

  test("zero bytes, text, bad CRC, bad filter type, missing PLTE are InputErrors", () => {
    expectInputError(() => decodeIndexedPng(new Uint8Array(0), "z.png"), /^z\.png: empty file/);
    expectInputError(() => decodeIndexedPng(Buffer.from("hello, not a png"), "t.png"), /not a PNG/);
    const good = encodeIndexedPng(Uint8Array.from([0, 1, 2, 3]), 2, 2, vocPalette());
    const badCrc = Buffer.from(good);
    badCrc[30] ^= 0xff; // IHDR's stored CRC (bytes 29..32)
    expectInputError(() => decodeIndexedPng(badCrc, "c.png"), /CRC|corrupt/);
    const badFilter = png(2, 1, 8, 3, Uint8Array.from([9, 0, 0]), vocPalette());
    expectInputError(() => decodeIndexedPng(badFilter, "f.png"), /filter type 9/);
    expectInputError(() => decodeIndexedPng(png(2, 1, 8, 3, Uint8Array.from([0, 0, 0])), "p.png"), /PLTE/);
  });

  test("every truncation of a valid PNG is an InputError, never a crash", () => {
    const good = encodeIndexedPng(randomIndices(40 * 30, 20, 1), 40, 30, vocPalette());
    for (let len = 0; len < good.length; len++) {
      expectInputError(() => decodeIndexedPng(good.subarray(0, len), "cut.png"), /^cut\.png: /);
    }
  });

  test("random byte corruption decodes or throws InputError, nothing else", () => {
    const good = encodeIndexedPng(randomIndices(16 * 16, 20, 2), 16, 16, vocPalette());
    const rng = mulberry32(7);
    let refused = 0;
    for (let trial = 0; trial < 300; trial++) {
      const bad = Buffer.from(good);
      const at = 8 + Math.floor(rng() * (bad.length - 8));
      bad[at] ^= 1 + Math.floor(rng() * 255);
      try {
        decodeIndexedPng(bad, "fuzz.png");
      } catch (err) {
        assert.ok(err instanceof InputError, `trial ${trial}: ${err}`);
        refused++;
      }
    }
    assert.ok(refused > 250, `CRC should catch nearly every flip (${refused}/300)`);
  });

  test("encode refuses indices that the palette or bit depth cannot hold", () => {
    assert.throws(
      () => encodeIndexedPng(Uint8Array.from([0, 4]), 2, 1, vocPalette(), { bitDepth: 2 }),
      RangeError,
    );
    assert.throws(
      () => encodeIndexedPng(Uint8Array.from([0, 3]), 2, 1, Uint8Array.from([0, 0, 0, 1, 1, 1])),
      RangeError,
    );
    assert.throws(() => encodeIndexedPng(Uint8Array.from([0]), 2, 1, vocPalette()), RangeError);
  });
});

// Evidence for docs/architecture.md: fast-png (a maintained PNG codec) as a replacement for src/data/png.ts.
describe("fast-png, evaluated against the hand-written codec", () => {
  const width = 37;
  const height = 11;
  const indices = new Uint8Array(width * height).map((_, i) => (i * 73 + 11) & 255); // all 256 values
  const palette = vocPalette();
  const paletteRows = Array.from({ length: 256 }, (_, i) => [...palette.subarray(i * 3, i * 3 + 3)]);

  test("8-bit palette PNGs: exact indices and palette both ways", async () => {
    const fastPng = await import("fast-png");
    const decoded = fastPng.decode(encodeIndexedPng(indices, width, height, palette));
    assert.deepEqual([decoded.depth, decoded.channels], [8, 1]);
    assert.deepEqual([...decoded.data], [...indices]);
    assert.deepEqual(decoded.palette, paletteRows);
    const theirs = fastPng.encode({
      width,
      height,
      data: indices,
      depth: 8,
      channels: 1,
      palette: paletteRows,
    });
    const ours = decodeIndexedPng(Buffer.from(theirs), "fast-png.png");
    assert.deepEqual([...ours.indices], [...indices]);
    assert.deepEqual([...ours.palette!], [...palette]);
  });

  test("1-, 2- and 4-bit palette PNGs come back packed, several pixels a byte, not one index per pixel", async () => {
    const fastPng = await import("fast-png");
    for (const bitDepth of [1, 2, 4] as const) {
      const small = indices.map((v) => v % (1 << bitDepth));
      const decoded = fastPng.decode(encodeIndexedPng(small, width, height, palette, { bitDepth }));
      assert.equal(decoded.depth, bitDepth);
      assert.equal(decoded.data.length, Math.ceil((width * bitDepth) / 8) * height, `${bitDepth}-bit`);
      assert.notEqual(decoded.data.length, small.length);
      // The hand-written decoder gives one index per pixel at every depth.
      const ours = decodeIndexedPng(encodeIndexedPng(small, width, height, palette, { bitDepth }), "m.png");
      assert.deepEqual([...ours.indices], [...small]);
    }
  });

  test("an RGB PNG decodes without complaint (a mask reader must check channels and palette itself)", async () => {
    const fastPng = await import("fast-png");
    const rgb = await sharp(new Uint8Array(4 * 3 * 3).fill(9), { raw: { width: 4, height: 3, channels: 3 } })
      .png()
      .toBuffer();
    const decoded = fastPng.decode(rgb);
    assert.deepEqual([decoded.channels, decoded.palette], [3, undefined]);
    assert.throws(() => decodeIndexedPng(rgb, "rgb.png"), /rgb\.png: is an RGB PNG, not indexed/);
  });
});
