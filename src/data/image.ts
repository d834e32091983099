/** Photo decoding/encoding through sharp, normalised to 8-bit sRGB RGB in HWC typed arrays. */
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { InputError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { axisMap, remapU8 } from "./resample.js";
import { DEFAULT_MAX_PIXELS, type RgbImage } from "./types.js";

export type { RgbImage } from "./types.js";

export interface LoadRgbOptions {
  /** Refuse larger images (width × height). Default 40 megapixels. */
  maxPixels?: number;
  /** Name used in error messages when the input is a Buffer. */
  name?: string;
}

/**
 * Decodes a JPEG/PNG/WebP/TIFF/... file or buffer to 8-bit sRGB RGB: EXIF orientation applied,
 * grayscale/CMYK/16-bit converted, alpha flattened onto black. Unreadable input is an InputError
 * naming the file.
 */
export async function loadRgb(src: string | Uint8Array, opts: LoadRgbOptions = {}): Promise<RgbImage> {
  const name = typeof src === "string" ? src : (opts.name ?? "<buffer>");
  const input = typeof src === "string" ? await readInput(src) : src;
  if (input.length === 0) throw new InputError(name, "empty file (0 bytes), expected an image");

  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const meta = await readImageHeader(input, name);
  if (meta.width * meta.height > maxPixels) {
    const mp = (meta.width * meta.height) / 1e6;
    throw new InputError(
      name,
      `image is ${meta.width}×${meta.height} (${mp.toFixed(1)} megapixels), over the limit of ` +
        `${(maxPixels / 1e6).toFixed(1)} megapixels; downscale it or raise maxPixels`,
    );
  }

  try {
    // failOn "error": truncated data fails, benign libjpeg warnings (extraneous bytes) do not.
    const { data, info } = await sharp(input, { failOn: "error", limitInputPixels: maxPixels })
      .rotate()
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (err) {
    throw new InputError(name, `cannot decode image: ${(err as Error).message}`);
  }
}

/** Reads only the header: size (before EXIF rotation) and format. Throws InputError if not an image. */
export async function readImageHeader(
  input: Uint8Array,
  name: string,
): Promise<{ width: number; height: number; format: string }> {
  try {
    const meta = await sharp(input).metadata();
    if (!meta.width || !meta.height) throw new Error("no image size in header");
    // EXIF orientations 5..8 swap the displayed width and height.
    const swap = (meta.orientation ?? 1) >= 5;
    return {
      width: swap ? meta.height : meta.width,
      height: swap ? meta.width : meta.height,
      format: meta.format ?? "unknown",
    };
  } catch (err) {
    throw new InputError(name, `not a readable image: ${(err as Error).message}`);
  }
}

/** Header-only size of an image file as displayed (EXIF orientation applied). */
export async function imageSize(path: string): Promise<{ width: number; height: number; format: string }> {
  const input = await readInput(path);
  if (input.length === 0) throw new InputError(path, "empty file (0 bytes), expected an image");
  return readImageHeader(input, path);
}

async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(path, code === "ENOENT" ? "file not found" : `cannot read file (${code ?? err})`);
  }
}

function checkImage(img: RgbImage): void {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(
      `RGB image data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`,
    );
  }
}

function fromRaw(img: RgbImage): sharp.Sharp {
  checkImage(img);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  return fromRaw(img).jpeg({ quality }).toBuffer();
}

export async function encodePng(img: RgbImage): Promise<Buffer> {
  return fromRaw(img).png().toBuffer();
}

/** Writes a JPEG atomically (temp file + rename), creating parent folders. */
export async function saveJpeg(path: string, img: RgbImage, quality = 90): Promise<void> {
  await writeFileAtomic(path, await encodeJpeg(img, quality));
}

/** Writes an RGB PNG atomically (temp file + rename), creating parent folders. */
export async function savePng(path: string, img: RgbImage): Promise<void> {
  await writeFileAtomic(path, await encodePng(img));
}

/** Bilinear resize (pixel-centre convention), the same sampler the augmentations use. */
export function resizeRgb(img: RgbImage, width: number, height: number): RgbImage {
  checkImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resizeRgb: bad target size ${width}×${height}`);
  }
  const mx = axisMap(width, img.width, width);
  const my = axisMap(height, img.height, height);
  return { width, height, data: remapU8(img.data, img.width, 3, mx, my, [0, 0, 0], "bilinear") };
}
