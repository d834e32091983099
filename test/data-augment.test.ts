import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  applyAugment,
  augment,
  deriveSeed,
  flipRgb,
  mulberry32,
  sampleAugmentParams,
  type AugmentOptions,
} from "../src/data/augment.js";
import type { FloatMap, LabelMap, RgbImage } from "../src/data/types.js";

/** A colour that encodes the label, so image/label misalignment shows up as a colour mismatch. */
const colourOf = (label: number) => [(label * 12) % 256, 255 - ((label * 12) % 256), (label * 37) % 256];
const FILL = [1, 2, 3] as const;

/** Random labels in 4×3-pixel grid blocks (interiors exist at every scale), image coloured by label. */
function fixture(
  width: number,
  height: number,
  seed: number,
): { image: RgbImage; label: LabelMap; map: FloatMap } {
  const rng = mulberry32(seed);
  const blocks = Array.from({ length: Math.ceil(width / 4) * Math.ceil(height / 3) }, () =>
    Math.floor(rng() * 21),
  );
  const label = new Uint8Array(width * height);
  const image = new Uint8Array(width * height * 3);
  const map = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = blocks[Math.floor(y / 3) * Math.ceil(width / 4) + Math.floor(x / 4)];
      label[y * width + x] = l;
      image.set(colourOf(l), (y * width + x) * 3);
      map[y * width + x] = l + 0.5;
    }
  }
  return {
    image: { width, height, data: image },
    label: { width, height, data: label },
    map: { width, height, data: map },
  };
}

describe("mulberry32 / deriveSeed", () => {
  test("same seed, same stream; different seeds differ; values in [0, 1)", () => {
    const a = Array.from({ length: 1000 }, mulberry32(42));
    assert.deepEqual(a, Array.from({ length: 1000 }, mulberry32(42)));
    assert.notDeepEqual(a, Array.from({ length: 1000 }, mulberry32(43)));
    assert.ok(a.every((v) => v >= 0 && v < 1));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
    assert.equal(deriveSeed(1, 2, 3), deriveSeed(1, 2, 3));
    assert.notEqual(deriveSeed(1, 2, 3), deriveSeed(1, 3, 2));
  });
});

describe("augment", () => {
  test("image, label map and float map stay aligned under random scale, crop, padding and flip", () => {
    const opts: AugmentOptions = { scale: [0.5, 1.5], crop: 32, flipProbability: 0.5, fill: FILL };
    let flips = 0;
    let padded = 0;
    let checked = 0;
    for (let seed = 0; seed < 40; seed++) {
      const { image, label, map } = fixture(37 + (seed % 5), 29, seed);
      const rng = mulberry32(seed);
      const params = sampleAugmentParams(image.width, image.height, opts, mulberry32(seed));
      const out = augment({ image, labels: [label], maps: [map] }, opts, rng);
      if (params.flip) flips++;
      const L = out.labels![0];
      const M = out.maps![0];
      assert.equal(out.image.width, 32);
      assert.equal(L.height, 32);
      assert.equal(M.data.length, 32 * 32);
      for (let y = 1; y < 31; y++) {
        for (let x = 1; x < 31; x++) {
          const l = L.data[y * 32 + x];
          let uniform = true;
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) uniform &&= L.data[(y + dy) * 32 + x + dx] === l;
          if (!uniform) continue;
          checked++;
          const rgb = [...out.image.data.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
          const where = `seed ${seed} (${x},${y}) label ${l}`;
          if (l === 255) {
            padded++;
            assert.deepEqual(rgb, [...FILL], where);
            assert.equal(M.data[y * 32 + x], 0, where);
          } else {
            rgb.forEach((v, c) =>
              assert.ok(Math.abs(v - colourOf(l)[c]) <= 1, `${where}: ${rgb} vs ${colourOf(l)}`),
            );
            assert.ok(Math.abs(M.data[y * 32 + x] - (l + 0.5)) < 1e-4, where);
          }
        }
      }
    }
    assert.ok(flips > 5 && flips < 35, `flips ${flips}/40`);
    assert.ok(padded > 100, `padding exercised (${padded})`);
    assert.ok(checked > 40 * 30 * 30 * 0.2, `enough pixels checked (${checked})`);
  });

  test("sub-pixel alignment: coordinate ramps agree between nearest labels, bilinear maps and the image", () => {
    // Each layer stores the source x (or y): after any scale/crop/flip, nearest must be the bilinear
    // coordinate rounded (|diff| <= 0.5) and the image ramp must match the map up to 8-bit rounding.
    const W = 40;
    const H = 30;
    const xs = new Uint8Array(W * H);
    const ys = new Uint8Array(W * H);
    const fx = new Float32Array(W * H);
    const fy = new Float32Array(W * H);
    const rgb = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        xs[i] = fx[i] = x;
        ys[i] = fy[i] = y;
        rgb.set([x * 6, y * 6, 0], i * 3);
      }
    }
    const layer = <T>(data: T) => ({ width: W, height: H, data });
    const opts: AugmentOptions = { scale: [0.5, 2], crop: 36, mapFill: -1 };
    for (let seed = 0; seed < 20; seed++) {
      const out = augment(
        { image: layer(rgb), labels: [layer(xs), layer(ys)], maps: [layer(fx), layer(fy)] },
        opts,
        mulberry32(seed),
      );
      const flip = sampleAugmentParams(W, H, opts, mulberry32(seed)).flip;
      for (let i = 0; i < 36 * 36; i++) {
        const [lx, ly] = [out.labels![0].data[i], out.labels![1].data[i]];
        const [mx, my] = [out.maps![0].data[i], out.maps![1].data[i]];
        if (lx === 255) {
          assert.ok(
            ly === 255 && mx === -1 && my === -1,
            `seed ${seed} pixel ${i}: padding differs between layers`,
          );
          continue;
        }
        assert.ok(
          Math.abs(lx - mx) <= 0.5 + 1e-4 && Math.abs(ly - my) <= 0.5 + 1e-4,
          `seed ${seed} px ${i}: ${lx},${ly} vs ${mx},${my}`,
        );
        assert.ok(
          Math.abs(out.image.data[i * 3] / 6 - mx) <= 0.1 &&
            Math.abs(out.image.data[i * 3 + 1] / 6 - my) <= 0.1,
        );
        if (i % 36 < 35 && out.labels![0].data[i + 1] !== 255) {
          assert.equal(Math.sign(out.maps![0].data[i + 1] - mx), flip ? -1 : 1, `seed ${seed}: x direction`);
        }
      }
    }
  });

  test("a forced flip mirrors image and labels exactly; scale 1 without crop is the identity", () => {
    const { image, label } = fixture(9, 4, 3);
    const flipped = augment({ image, labels: [label] }, { flipProbability: 1 }, mulberry32(0));
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 9; x++) {
        assert.equal(flipped.labels![0].data[y * 9 + x], label.data[y * 9 + 8 - x]);
        assert.deepEqual(
          [...flipped.image.data.subarray((y * 9 + x) * 3, (y * 9 + x) * 3 + 3)],
          [...image.data.subarray((y * 9 + 8 - x) * 3, (y * 9 + 8 - x) * 3 + 3)],
        );
      }
    }
    assert.deepEqual(flipRgb(image), flipped.image);
    const same = augment({ image, labels: [label] }, { flipProbability: 0 }, mulberry32(0));
    assert.deepEqual(same, { image, labels: [label] });
  });

  test("an image smaller than the crop is placed inside padding (image fill, label 255, map 0)", () => {
    const { image, label, map } = fixture(10, 6, 1);
    const out = augment(
      { image, labels: [label], maps: [map] },
      { crop: { width: 20, height: 8 }, flipProbability: 0, fill: FILL, mapFill: 0 },
      mulberry32(5),
    );
    const ignored = out.labels![0].data.filter((v) => v === 255).length;
    assert.equal(ignored, 20 * 8 - 10 * 6);
    assert.equal(out.maps![0].data.filter((v) => v === 0).length, ignored);
    const fills = out.image.data.filter(
      (_, i) => i % 3 === 0 && out.image.data[i] === 1 && out.image.data[i + 1] === 2,
    );
    assert.equal(fills.length, ignored);
    assert.equal(
      out.labels![0].data.reduce((s, v) => s + (v === 255 ? 0 : v), 0),
      label.data.reduce((s, v) => s + v, 0),
      "all the original pixels are inside the crop",
    );
  });

  test("deterministic for a seed; parameters replay through applyAugment", () => {
    const { image, label } = fixture(30, 20, 9);
    const opts: AugmentOptions = { scale: [0.7, 1.3], crop: 16 };
    const a = augment({ image, labels: [label] }, opts, mulberry32(11));
    const b = augment({ image, labels: [label] }, opts, mulberry32(11));
    assert.deepEqual(a, b);
    const c = augment({ image, labels: [label] }, opts, mulberry32(12));
    assert.notDeepEqual(a.labels, c.labels);
    const rng = mulberry32(11);
    const params = sampleAugmentParams(30, 20, opts, rng);
    assert.deepEqual(applyAugment({ image, labels: [label] }, params, opts), a);
    // Exactly four draws, so callers can interleave their own randomness predictably.
    const ref = mulberry32(11);
    for (let i = 0; i < 4; i++) ref();
    assert.equal(rng(), ref());
  });

  test("tiny images and bad inputs", () => {
    const one = { width: 1, height: 1, data: Uint8Array.from([9, 8, 7]) };
    const out = augment({ image: one }, { scale: [0.3, 0.3] }, mulberry32(1));
    assert.deepEqual(out.image, one);
    const { image, label } = fixture(8, 6, 2);
    assert.throws(
      () => augment({ image, labels: [{ ...label, width: 6, height: 8 }] }, {}, mulberry32(1)),
      RangeError,
    );
    assert.throws(() => augment({ image }, { scale: [2, 1] }, mulberry32(1)), RangeError);
    assert.throws(() => augment({ image }, { crop: 0 }, mulberry32(1)), RangeError);
  });
});
