import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadRgb } from "../src/data/image.js";
import { readIndexedPng } from "../src/data/png.js";
import type { FloatMap, RgbImage } from "../src/data/types.js";
import { fastMbd, foregroundAuc, mbdSaliency } from "../src/saliency/mbd.js";

const VOC_MINI = join(dirname(fileURLToPath(import.meta.url)), "..", "samples", "voc-mini");

// Deterministic LCG so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Paints `inside(x, y)` pixels with `fg`, the rest with `bg`, plus uniform noise of ±noise/2 per channel. */
function scene(
  width: number,
  height: number,
  inside: (x: number, y: number) => boolean,
  fg: [number, number, number],
  bg: [number, number, number],
  noise: number,
  seed = 1,
): { image: RgbImage; mask: Uint8Array } {
  const rand = rng(seed);
  const data = new Uint8Array(width * height * 3);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const on = inside(x, y);
      mask[i] = on ? 1 : 0;
      const col = on ? fg : bg;
      for (let c = 0; c < 3; c++) {
        data[i * 3 + c] = Math.min(255, Math.max(0, Math.round(col[c] + (rand() - 0.5) * noise)));
      }
    }
  }
  return { image: { width, height, data }, mask };
}

function means(map: FloatMap, mask: Uint8Array): { fg: number; bg: number } {
  let fg = 0;
  let nf = 0;
  let bg = 0;
  let nb = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 255) continue;
    if (mask[i] === 0) {
      bg += map.data[i];
      nb++;
    } else {
      fg += map.data[i];
      nf++;
    }
  }
  return { fg: fg / nf, bg: bg / nb };
}

function assertValidMap(map: FloatMap, width: number, height: number): void {
  assert.equal(map.width, width);
  assert.equal(map.height, height);
  assert.equal(map.data.length, width * height);
  for (let i = 0; i < map.data.length; i++) {
    const v = map.data[i];
    assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `value ${v} at ${i} is not in [0,1]`);
  }
}

const disc = (cx: number, cy: number, r: number) => (x: number, y: number) =>
  (x - cx) ** 2 + (y - cy) ** 2 <= r * r;

for (const [name, noise] of [
  ["uniform", 0],
  ["textured", 50],
] as const) {
  test(`a bright disc on a ${name} dark background is salient, the border is not`, () => {
    const { image, mask } = scene(240, 180, disc(130, 85, 40), [225, 215, 200], [40, 45, 60], noise);
    const map = mbdSaliency(image);
    assertValidMap(map, 240, 180);
    const { fg, bg } = means(map, mask);
    const auc = foregroundAuc(map.data, mask);
    assert.ok(fg > 0.6, `mean saliency inside the disc ${fg.toFixed(3)} <= 0.6`);
    assert.ok(bg < 0.25, `mean saliency outside the disc ${bg.toFixed(3)} >= 0.25`);
    assert.ok(auc > 0.95, `AUC ${auc.toFixed(3)} <= 0.95`);
  });
}

test("an object touching one border still stands out from the background", () => {
  // A red block glued to the left border on a textured green-grey background.
  const { image, mask } = scene(
    200,
    150,
    (x, y) => x < 70 && y >= 45 && y < 110,
    [200, 40, 40],
    [90, 120, 90],
    40,
    3,
  );
  const map = mbdSaliency(image);
  assertValidMap(map, 200, 150);
  const { fg, bg } = means(map, mask);
  assert.ok(fg > bg + 0.2, `object ${fg.toFixed(3)} vs background ${bg.toFixed(3)}`);
  assert.ok(foregroundAuc(map.data, mask) > 0.8);
});

test("a uniform image gives a constant map without NaNs", () => {
  const { image } = scene(64, 48, () => false, [0, 0, 0], [120, 130, 140], 0);
  const map = mbdSaliency(image);
  assertValidMap(map, 64, 48);
  const min = Math.min(...map.data);
  const max = Math.max(...map.data);
  assert.ok(max - min < 1e-3, `uniform image: map spans ${min}..${max}`);
});

test("the output has the input's size, also when downscaled internally and for odd shapes", () => {
  for (const [w, h] of [
    [333, 177],
    [97, 410],
    [200, 1],
    [1, 37],
    [1, 1],
    [2, 3],
    [3, 3],
  ]) {
    const rand = rng(w * 1000 + h);
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
    const map = mbdSaliency({ width: w, height: h, data });
    assertValidMap(map, w, h);
  }
  assert.throws(() => mbdSaliency({ width: 0, height: 5, data: new Uint8Array(0) }), RangeError);
  assert.throws(() => mbdSaliency({ width: 4, height: 4, data: new Uint8Array(10) }), RangeError);
});

test("fastMbd measures the highest barrier a path from the border must cross", () => {
  // 7×7: background 10, a ring of 200 at Chebyshev radius 2 around a centre of 20, with a gap of 60.
  const w = 7;
  const feat = new Uint8Array(w * w).fill(10);
  for (let y = 1; y <= 5; y++) {
    for (let x = 1; x <= 5; x++) {
      const r = Math.max(Math.abs(x - 3), Math.abs(y - 3));
      feat[y * w + x] = r === 2 ? 200 : 20;
    }
  }
  let dist = fastMbd(feat, w, w, 3);
  assert.equal(dist[3 * w + 3], 190, "enclosed: barrier from 10 up to 200");
  assert.equal(dist[0], 0, "border pixels are seeds");
  feat[1 * w + 3] = 60; // a gap in the ring at the top
  dist = fastMbd(feat, w, w, 3);
  assert.equal(dist[3 * w + 3], 50, "through the gap: 10 → 60 → 20");
  assert.equal(dist[1 * w + 1], 190, "a ring pixel itself: 10 → 200");
});

test("foregroundAuc", () => {
  const mask = Uint8Array.from([0, 0, 1, 2, 255]);
  assert.equal(foregroundAuc([0.1, 0.2, 0.8, 0.9, 0], mask), 1);
  assert.equal(foregroundAuc([0.9, 0.8, 0.1, 0.2, 1], mask), 0);
  assert.equal(foregroundAuc([0.5, 0.5, 0.5, 0.5, 0.5], mask), 0.5);
  assert.ok(Number.isNaN(foregroundAuc([0.5, 0.5], Uint8Array.from([0, 0]))));
});

async function loadSample(id: string): Promise<{ image: RgbImage; mask: Uint8Array }> {
  const image = await loadRgb(join(VOC_MINI, "JPEGImages", `${id}.jpg`));
  const png = await readIndexedPng(join(VOC_MINI, "SegmentationClass", `${id}.png`));
  assert.equal(png.width, image.width);
  assert.equal(png.height, image.height);
  return { image, mask: png.indices };
}

test("on a real photo the objects are more salient than the background", async () => {
  // A cat on a plain background: a photo where a decent salient-object detector has no excuse.
  const { image, mask } = await loadSample("2009_002460");
  const map = mbdSaliency(image);
  assertValidMap(map, image.width, image.height);
  const { fg, bg } = means(map, mask);
  assert.ok(fg > bg + 0.3, `foreground ${fg.toFixed(3)} vs background ${bg.toFixed(3)}`);
});

test("foreground/background AUC averaged over all of voc-mini is > 0.7", async () => {
  const ids: string[] = [];
  for (const split of ["train", "val"]) {
    const text = readFileSync(join(VOC_MINI, "ImageSets", "Segmentation", `${split}.txt`), "utf8");
    ids.push(...text.split(/\s+/).filter(Boolean));
  }
  assert.equal(ids.length, 60);
  let sum = 0;
  let scored = 0;
  for (const id of ids) {
    const { image, mask } = await loadSample(id);
    const auc = foregroundAuc(mbdSaliency(image).data, mask);
    if (Number.isNaN(auc)) continue; // the mask has no background (or no foreground) pixel
    sum += auc;
    scored++;
  }
  const mean = sum / scored;
  console.log(`voc-mini: mean foreground AUC of MB+ saliency ${mean.toFixed(4)} over ${scored}/60 images`);
  assert.ok(scored >= 55, `only ${scored} images have both foreground and background`);
  assert.ok(mean > 0.7, `mean AUC ${mean.toFixed(4)} <= 0.7`);
});
