/**
 * Indexed (palette) PNG decode/encode by hand. Label masks must keep their exact indices, and sharp
 * expands palettes to RGB, so masks go through this module instead.
 */
import { readFile } from "node:fs/promises";
import { deflateSync, inflateSync } from "node:zlib";
import { InputError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { DEFAULT_MAX_PIXELS } from "./types.js";

export interface IndexedPng {
  width: number;
  height: number;
  /** One index per pixel, row-major. */
  indices: Uint8Array;
  /** RGB triplets from PLTE (3 bytes per entry); absent for grayscale PNGs. */
  palette?: Uint8Array;
}

export type PngBitDepth = 1 | 2 | 4 | 8;

/** PNG row filter types (spec section 9). */
export const PngFilter = { None: 0, Sub: 1, Up: 2, Average: 3, Paeth: 4 } as const;
export type PngFilterType = (typeof PngFilter)[keyof typeof PngFilter];

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const COLOUR_TYPE_NAMES: Record<number, string> = {
  0: "grayscale",
  2: "RGB",
  3: "indexed",
  4: "grayscale+alpha",
  6: "RGBA",
};

// Adam7 passes: [xStart, yStart, xStep, yStep].
const ADAM7: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlace: number;
}

/**
 * Decodes a palette PNG (bit depth 1/2/4/8) or a grayscale PNG (bit depth 1/2/4/8, values read as
 * indices) without expanding the palette. `file` only names the source in error messages.
 * Anything else (RGB, RGBA, 16-bit, truncated, bad CRC) is an InputError, never a crash.
 */
export function decodeIndexedPng(
  buf: Uint8Array,
  file = "<buffer>",
  opts: { maxPixels?: number } = {},
): IndexedPng {
  const fail = (reason: string): never => {
    throw new InputError(file, reason);
  };
  if (buf.length === 0) fail("empty file (0 bytes), expected an indexed PNG");
  if (buf.length < 8 || !SIGNATURE.every((b, i) => buf[i] === b)) fail("not a PNG file (bad signature)");

  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let sawEnd = false;

  for (let pos = 8; pos < buf.length && !sawEnd;) {
    if (pos + 8 > buf.length) fail("truncated PNG (chunk header cut off)");
    const length = view.getUint32(pos);
    const type = String.fromCharCode(buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]);
    if (length > 0x7fffffff || pos + 12 + length > buf.length) fail(`truncated PNG (${type} chunk cut off)`);
    const data = buf.subarray(pos + 8, pos + 8 + length);
    const critical = (buf[pos + 4] & 0x20) === 0; // lowercase first letter = ancillary
    if (crc32(buf.subarray(pos + 4, pos + 8 + length)) !== view.getUint32(pos + 8 + length)) {
      fail(`corrupt PNG (CRC mismatch in ${type} chunk)`);
    }
    pos += 12 + length;

    if (!header && type !== "IHDR") fail("corrupt PNG (first chunk is not IHDR)");
    switch (type) {
      case "IHDR":
        header = parseHeader(data, fail);
        break;
      case "PLTE":
        if (length % 3 !== 0 || length === 0 || length > 768) fail("corrupt PNG (bad PLTE length)");
        palette = Uint8Array.from(data);
        break;
      case "IDAT":
        idat.push(data);
        break;
      case "IEND":
        sawEnd = true;
        break;
      default:
        // Ancillary chunks (tRNS, gAMA, text...) do not affect indices.
        if (critical) fail(`unsupported critical PNG chunk ${type}`);
    }
  }
  if (!header) return fail("truncated PNG (no IHDR)");
  if (!sawEnd) fail("truncated PNG (no IEND chunk)");
  if (idat.length === 0) fail("corrupt PNG (no image data)");

  const { width, height, bitDepth, colourType, interlace } = header;
  if (colourType !== 3 && colourType !== 0) {
    fail(
      `is an ${COLOUR_TYPE_NAMES[colourType] ?? `colour type ${colourType}`} PNG, not indexed: ` +
        "a mask must be a palette (or 8-bit grayscale) PNG whose values are class indices",
    );
  }
  if (bitDepth === 16) fail("is a 16-bit grayscale PNG, expected an 8-bit indexed mask");
  if (colourType === 3 && !palette) fail("corrupt PNG (indexed PNG without PLTE)");
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (width * height > maxPixels) {
    fail(`PNG is ${width}×${height}, over the limit of ${maxPixels} pixels`);
  }

  const passes = interlace ? ADAM7 : [[0, 0, 1, 1] as const];
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) expected += ph * (1 + Math.ceil((pw * bitDepth) / 8));
  }
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (err) {
    return fail(`corrupt or truncated PNG image data (${(err as Error).message})`);
  }
  if (raw.length < expected) fail("truncated PNG (image data shorter than the image)");

  const indices = new Uint8Array(width * height);
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const stride = Math.ceil((pw * bitDepth) / 8);
    const rows = unfilter(raw.subarray(offset, offset + ph * (1 + stride)), stride, ph, fail);
    offset += ph * (1 + stride);
    for (let r = 0; r < ph; r++) {
      const row = rows.subarray(r * stride, (r + 1) * stride);
      const outRow = (y0 + r * dy) * width;
      for (let c = 0; c < pw; c++) indices[outRow + x0 + c * dx] = unpack(row, c, bitDepth);
    }
  }
  return palette ? { width, height, indices, palette } : { width, height, indices };
}

function parseHeader(data: Uint8Array, fail: (reason: string) => never): Header {
  if (data.length !== 13) fail("corrupt PNG (bad IHDR length)");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header = {
    width: view.getUint32(0),
    height: view.getUint32(4),
    bitDepth: data[8],
    colourType: data[9],
    interlace: data[12],
  };
  if (header.width === 0 || header.height === 0) fail("corrupt PNG (zero width or height)");
  if (data[10] !== 0 || data[11] !== 0 || header.interlace > 1) fail("corrupt PNG (unknown method in IHDR)");
  const validDepths: Record<number, number[]> = {
    0: [1, 2, 4, 8, 16],
    2: [8, 16],
    3: [1, 2, 4, 8],
    4: [8, 16],
    6: [8, 16],
  };
  if (!validDepths[header.colourType]?.includes(header.bitDepth)) {
    fail(`corrupt PNG (colour type ${header.colourType} with bit depth ${header.bitDepth})`);
  }
  return header;
}

function unpack(row: Uint8Array, i: number, bitDepth: number): number {
  if (bitDepth === 8) return row[i];
  const perByte = 8 / bitDepth;
  const shift = 8 - bitDepth * ((i % perByte) + 1);
  return (row[Math.floor(i / perByte)] >> shift) & ((1 << bitDepth) - 1);
}

/** Reverses the per-row filters. Index images have 1 byte per pixel at most, so bpp is always 1. */
function unfilter(
  filtered: Uint8Array,
  stride: number,
  rows: number,
  fail: (reason: string) => never,
): Uint8Array {
  const out = new Uint8Array(stride * rows);
  for (let r = 0; r < rows; r++) {
    const type = filtered[r * (stride + 1)];
    const src = filtered.subarray(r * (stride + 1) + 1, (r + 1) * (stride + 1));
    const cur = r * stride;
    const prev = cur - stride; // only read when r > 0
    for (let i = 0; i < stride; i++) {
      const a = i > 0 ? out[cur + i - 1] : 0;
      const b = r > 0 ? out[prev + i] : 0;
      const c = i > 0 && r > 0 ? out[prev + i - 1] : 0;
      let predictor: number;
      switch (type) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4:
          predictor = paeth(a, b, c);
          break;
        default:
          return fail(`corrupt PNG (unknown filter type ${type} on row ${r})`);
      }
      out[cur + i] = (src[i] + predictor) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

function filterRows(packed: Uint8Array, stride: number, rows: number, type: PngFilterType): Uint8Array {
  const out = new Uint8Array(rows * (stride + 1));
  for (let r = 0; r < rows; r++) {
    out[r * (stride + 1)] = type;
    for (let i = 0; i < stride; i++) {
      const x = packed[r * stride + i];
      const a = i > 0 ? packed[r * stride + i - 1] : 0;
      const b = r > 0 ? packed[(r - 1) * stride + i] : 0;
      const c = i > 0 && r > 0 ? packed[(r - 1) * stride + i - 1] : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][type];
      out[r * (stride + 1) + 1 + i] = (x - predictor) & 0xff;
    }
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes indices as a palette PNG. `palette` is RGB triplets (at most 256 entries) and must cover
 * every index used; bitDepth defaults to 8 (what VOC masks use). `filter` exists mostly for tests:
 * None is what the PNG spec recommends for palette images.
 */
export function encodeIndexedPng(
  indices: Uint8Array,
  width: number,
  height: number,
  palette: Uint8Array,
  opts: { bitDepth?: PngBitDepth; filter?: PngFilterType } = {},
): Buffer {
  const bitDepth = opts.bitDepth ?? 8;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodeIndexedPng: bad size ${width}×${height}`);
  }
  if (indices.length !== width * height) {
    throw new RangeError(`encodeIndexedPng: ${indices.length} indices for a ${width}×${height} image`);
  }
  if (palette.length === 0 || palette.length % 3 !== 0 || palette.length > 768) {
    throw new RangeError("encodeIndexedPng: palette must be 1..256 RGB triplets");
  }
  const entries = Math.min(palette.length / 3, 1 << bitDepth);
  let maxIndex = 0;
  for (let i = 0; i < indices.length; i++) if (indices[i] > maxIndex) maxIndex = indices[i];
  if (maxIndex >= entries) {
    throw new RangeError(
      `encodeIndexedPng: index ${maxIndex} does not fit ${bitDepth}-bit / a ${palette.length / 3}-entry palette`,
    );
  }

  const stride = Math.ceil((width * bitDepth) / 8);
  const packed = new Uint8Array(stride * height);
  const perByte = 8 / bitDepth;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = indices[y * width + x];
      if (bitDepth === 8) packed[y * stride + x] = v;
      else packed[y * stride + Math.floor(x / perByte)] |= v << (8 - bitDepth * ((x % perByte) + 1));
    }
  }

  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = 3;
  return Buffer.concat([
    Buffer.from(SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("PLTE", palette.subarray(0, entries * 3)),
    chunk("IDAT", deflateSync(filterRows(packed, stride, height, opts.filter ?? PngFilter.None))),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** Reads and decodes an indexed PNG file; a missing/unreadable file is an InputError too. */
export async function readIndexedPng(path: string, opts: { maxPixels?: number } = {}): Promise<IndexedPng> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(path, code === "ENOENT" ? "file not found" : `cannot read file (${code ?? err})`);
  }
  return decodeIndexedPng(buf, path, opts);
}

/** Encodes and writes an indexed PNG atomically (temp file + rename). */
export async function writeIndexedPng(
  path: string,
  indices: Uint8Array,
  width: number,
  height: number,
  palette: Uint8Array,
): Promise<void> {
  await writeFileAtomic(path, encodeIndexedPng(indices, width, height, palette));
}
