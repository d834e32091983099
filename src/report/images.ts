// The report's pictures: small JPEG thumbnails of photos and heat maps, palette-coloured label maps as
// small indexed PNGs (exact class colours, no JPEG ringing, a few KB each). No tensor engine involved.
import sharp from "sharp";
import { buildPalette } from "../data/classes.js";
import { encodeIndexedPng } from "../data/png.js";
import type { RgbImage } from "../data/types.js";
import { writeFileAtomic } from "../util/fs.js";
import { heatmapOverlay } from "../viz/colormap.js";

/** Longest side of the report's thumbnails, in pixels (about twice their on-screen size). */
export const THUMB_SIDE = 320;

export function thumbSize(
  width: number,
  height: number,
  side = THUMB_SIDE,
): { width: number; height: number } {
  const s = Math.min(1, side / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** Writes an RGB image as a JPEG no larger than `side` on its longest side. */
export async function writeRgbThumb(path: string, img: RgbImage, side = THUMB_SIDE): Promise<void> {
  const t = thumbSize(img.width, img.height, side);
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (t.width !== img.width || t.height !== img.height) s = s.resize(t.width, t.height, { fit: "fill" });
  await writeFileAtomic(path, await s.jpeg({ quality: 82, mozjpeg: true }).toBuffer());
}

/** Nearest-neighbour resize of a label map (labels must never be blended). */
export function resizeLabels(
  labels: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
): Uint8Array {
  if (outW === width && outH === height) return labels;
  const out = new Uint8Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / outH));
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / outW));
      out[y * outW + x] = labels[sy * width + sx];
    }
  }
  return out;
}

/** Writes a label map as an indexed PNG coloured with `palette` (768 bytes), downscaled to `side`. */
export async function writeLabelThumb(
  path: string,
  labels: Uint8Array,
  width: number,
  height: number,
  palette: Uint8Array,
  side = THUMB_SIDE,
): Promise<void> {
  const t = thumbSize(width, height, side);
  const small = resizeLabels(labels, width, height, t.width, t.height);
  await writeFileAtomic(path, encodeIndexedPng(small, t.width, t.height, palette));
}

/** The image with erased pixels (mask ≠ 0) replaced by `fill`, as the next erasing step's classifier sees it. */
export function applyErase(
  img: RgbImage,
  mask: Uint8Array,
  fill: readonly [number, number, number],
): RgbImage {
  const data = img.data.slice();
  const n = Math.min(mask.length, img.width * img.height);
  for (let i = 0; i < n; i++) {
    if (mask[i]) {
      data[i * 3] = fill[0];
      data[i * 3 + 1] = fill[1];
      data[i * 3 + 2] = fill[2];
    }
  }
  return { width: img.width, height: img.height, data };
}

/** A CAM band (8-bit, 0..255) blended over the image with the jet colour map. */
export function camOverlay(base: RgbImage, band: Uint8Array, alpha = 0.5): RgbImage {
  const heat = new Float32Array(base.width * base.height);
  for (let i = 0; i < heat.length; i++) heat[i] = (band[i] ?? 0) / 255;
  return heatmapOverlay(base, heat, alpha);
}

/** A flat grey image (stands in for a photo that cannot be found). */
export function greyImage(width: number, height: number, v = 128): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(v) };
}

/** The 256-entry palette as 768 bytes; short or missing palettes are padded with the VOC colour map. */
export function fullPalette(flat: ArrayLike<number> | undefined): Uint8Array {
  const out = buildPalette();
  if (flat) for (let i = 0; i < Math.min(768, flat.length); i++) out[i] = Number(flat[i]) & 255;
  return out;
}

/** Reads a CAM file (8-bit bands stacked vertically, one per label; written as grey or RGB by sharp). */
export async function readCamBands(
  path: string,
  width: number,
  height: number,
  bands: number,
): Promise<Uint8Array> {
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const nb = Math.max(1, bands);
  if (info.width !== width || info.height !== height * nb)
    throw new Error(`${path}: CAM image is ${info.width}×${info.height}, expected ${width}×${height * nb}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}
