// Colour maps for looking at results: heat maps of CAMs and palette colouring of label maps.
import type { RgbImage } from "../data/types.js";

/** The "jet" colour map: 0 → dark blue, 0.5 → green/yellow, 1 → dark red. */
export function jet(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)));
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** Blends a [0,1] heat map (same size as the image) over the image: alpha · jet(v) + (1 − alpha) · image. */
export function heatmapOverlay(img: RgbImage, heat: Float32Array, alpha = 0.5): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < heat.length; i++) {
    const c = jet(heat[i]);
    for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round(alpha * c[k] + (1 - alpha) * img.data[i * 3 + k]);
  }
  return { width: img.width, height: img.height, data: out };
}

/** Colours a label map with a palette (768 bytes, RGB per index), optionally blended over an image. */
export function colorizeLabels(
  labels: Uint8Array,
  width: number,
  height: number,
  palette: Uint8Array,
  over?: RgbImage,
  alpha = 0.6,
): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    for (let k = 0; k < 3; k++) {
      const c = palette[l * 3 + k];
      out[i * 3 + k] = over ? Math.round(alpha * c + (1 - alpha) * over.data[i * 3 + k]) : c;
    }
  }
  return { width, height, data: out };
}
