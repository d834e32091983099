// Typed-array images to normalised NCHW tensors for the MobileNetV2 backbone (x / 127.5 − 1).
import type { RgbImage } from "../data/types.js";
import { tensor } from "../engine/ops.js";
import { tidy, type Tensor } from "../engine/tensor.js";

/** Same-sized RGB images → float32 [N, 3, H, W] in [−1, 1]. */
export function imagesToTensor(images: readonly RgbImage[]): Tensor {
  const { width, height } = images[0];
  const packed = new Uint8Array(images.length * width * height * 3);
  images.forEach((img, i) => {
    if (img.width !== width || img.height !== height)
      throw new Error(`batch images differ in size: ${img.width}×${img.height} vs ${width}×${height}`);
    packed.set(img.data, i * width * height * 3);
  });
  return tidy(() =>
    tensor(packed, [images.length, height, width, 3], "uint8")
      .permute([0, 3, 1, 2])
      .to("float32")
      .div(127.5)
      .sub(1),
  );
}

/** Fills the pixels where mask is non-zero with a colour (adversarial erasing uses the dataset mean). */
export function eraseRegions(
  img: RgbImage,
  mask: Uint8Array,
  fill: readonly [number, number, number],
): RgbImage {
  if (mask.length !== img.width * img.height)
    throw new Error(`erase mask has ${mask.length} pixels, image ${img.width}×${img.height}`);
  const data = img.data.slice();
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      data[i * 3] = fill[0];
      data[i * 3 + 1] = fill[1];
      data[i * 3 + 2] = fill[2];
    }
  }
  return { width: img.width, height: img.height, data };
}
