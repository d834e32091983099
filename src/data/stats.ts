// Dataset statistics.
import type { DatasetItem } from "./dataset.js";
import { loadRgb } from "./image.js";

/**
 * The mean RGB pixel of a set of images (of an evenly spaced sample of at most maxImages of them, which
 * pins the mean to well under one grey level): what adversarial erasing fills erased regions with.
 */
export async function meanPixel(
  items: readonly DatasetItem[],
  maxImages = 300,
): Promise<[number, number, number]> {
  if (!items.length) throw new Error("meanPixel: no images");
  const stride = Math.max(1, Math.floor(items.length / maxImages));
  const sum = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < items.length; i += stride) {
    const { data } = await loadRgb(items[i].imagePath);
    for (let p = 0; p < data.length; p += 3) {
      sum[0] += data[p];
      sum[1] += data[p + 1];
      sum[2] += data[p + 2];
    }
    count += data.length / 3;
  }
  return [Math.round(sum[0] / count), Math.round(sum[1] / count), Math.round(sum[2] / count)];
}
