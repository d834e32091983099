/**
 * Resampling on typed arrays. Every resize/crop/flip goes through one per-axis coordinate map, so an
 * image (bilinear) and its label maps (nearest) sampled with the same maps stay pixel-aligned.
 * Convention: pixel centres, as align_corners=false in PyTorch and OpenCV's resize.
 */

/** For each output position along one axis: source neighbours, blend weight, nearest source, or -1 = padding. */
export interface AxisMap {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float64Array;
  nearest: Int32Array;
}

/**
 * Maps `outLen` output positions onto a source axis of `srcLen` pixels that has been scaled to
 * `scaledLen` pixels and then read from `offset` on (negative offset = padding before the image),
 * optionally mirrored. Positions outside the scaled image get -1.
 */
export function axisMap(
  outLen: number,
  srcLen: number,
  scaledLen: number,
  offset = 0,
  flip = false,
): AxisMap {
  const map: AxisMap = {
    i0: new Int32Array(outLen),
    i1: new Int32Array(outLen),
    w1: new Float64Array(outLen),
    nearest: new Int32Array(outLen),
  };
  const ratio = srcLen / scaledLen;
  for (let o = 0; o < outLen; o++) {
    const s = (flip ? outLen - 1 - o : o) + offset;
    if (s < 0 || s >= scaledLen) {
      map.i0[o] = map.i1[o] = map.nearest[o] = -1;
      continue;
    }
    const u = Math.min(Math.max((s + 0.5) * ratio - 0.5, 0), srcLen - 1);
    const i0 = Math.floor(u);
    map.i0[o] = i0;
    map.i1[o] = Math.min(i0 + 1, srcLen - 1);
    map.w1[o] = u - i0;
    map.nearest[o] = Math.min(Math.floor((s + 0.5) * ratio), srcLen - 1);
  }
  return map;
}

export type ResampleMode = "bilinear" | "nearest";

/** Resamples an HWC uint8 array through axis maps; padding pixels get `fill` (one value per channel). */
export function remapU8(
  src: Uint8Array,
  width: number,
  channels: number,
  mx: AxisMap,
  my: AxisMap,
  fill: ArrayLike<number>,
  mode: ResampleMode,
): Uint8Array {
  const outW = mx.i0.length;
  const outH = my.i0.length;
  const out = new Uint8Array(outW * outH * channels);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = my.i0[oy];
    for (let ox = 0; ox < outW; ox++) {
      const o = (oy * outW + ox) * channels;
      const x0 = mx.i0[ox];
      if (y0 < 0 || x0 < 0) {
        for (let c = 0; c < channels; c++) out[o + c] = fill[c];
      } else if (mode === "nearest") {
        const s = (my.nearest[oy] * width + mx.nearest[ox]) * channels;
        for (let c = 0; c < channels; c++) out[o + c] = src[s + c];
      } else {
        const wx = mx.w1[ox];
        const wy = my.w1[oy];
        const r0 = y0 * width;
        const r1 = my.i1[oy] * width;
        const x1 = mx.i1[ox];
        for (let c = 0; c < channels; c++) {
          const top = src[(r0 + x0) * channels + c] * (1 - wx) + src[(r0 + x1) * channels + c] * wx;
          const bottom = src[(r1 + x0) * channels + c] * (1 - wx) + src[(r1 + x1) * channels + c] * wx;
          out[o + c] = Math.round(top * (1 - wy) + bottom * wy); // stays in 0..255: convex blend
        }
      }
    }
  }
  return out;
}

/** Resamples a single-channel float32 HW array through axis maps; padding pixels get `fill`. */
export function remapF32(
  src: Float32Array,
  width: number,
  mx: AxisMap,
  my: AxisMap,
  fill: number,
  mode: ResampleMode,
): Float32Array {
  const outW = mx.i0.length;
  const outH = my.i0.length;
  const out = new Float32Array(outW * outH);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = my.i0[oy];
    for (let ox = 0; ox < outW; ox++) {
      const o = oy * outW + ox;
      const x0 = mx.i0[ox];
      if (y0 < 0 || x0 < 0) {
        out[o] = fill;
      } else if (mode === "nearest") {
        out[o] = src[my.nearest[oy] * width + mx.nearest[ox]];
      } else {
        const wx = mx.w1[ox];
        const wy = my.w1[oy];
        const r0 = y0 * width;
        const r1 = my.i1[oy] * width;
        const x1 = mx.i1[ox];
        const top = src[r0 + x0] * (1 - wx) + src[r0 + x1] * wx;
        const bottom = src[r1 + x0] * (1 - wx) + src[r1 + x1] * wx;
        out[o] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}
