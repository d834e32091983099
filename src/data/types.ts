/** Shared in-memory image types for the data layer: plain typed arrays, row-major, no tensor engine. */

/** 8-bit sRGB image, HWC interleaved: data[(y * width + x) * 3 + c]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Per-pixel class indices, HW: data[y * width + x]; 255 means void/ignore. */
export interface LabelMap {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Per-pixel float values (scores, attention, soft masks), HW. */
export interface FloatMap {
  width: number;
  height: number;
  data: Float32Array;
}

/** VOC's value for "void / ignore this pixel" in label maps. */
export const IGNORE_INDEX = 255;

/** ImageNet channel statistics in 0..1 units, which pretrained backbones expect. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** The ImageNet mean as 8-bit RGB: padding with it becomes ~0 after normalisation. */
export const IMAGENET_MEAN_U8: readonly [number, number, number] = [124, 116, 104];

/** Refuse images bigger than this unless told otherwise: a 40 MP RGB decode is already ~120 MB. */
export const DEFAULT_MAX_PIXELS = 40_000_000;
