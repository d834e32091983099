import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { imageSize, loadRgb, resizeRgb, saveJpeg, savePng, type RgbImage } from "../src/data/image.js";
import { InputError } from "../src/util/errors.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "aepsl data ü 画像-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function findUp(rel: string): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, rel))) return join(d, rel);
    if (dirname(d) === d) throw new Error(`${rel} not found above the tests`);
  }
}

/** Left half red, right half blue. */
function halves(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(x < width / 2 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
  }
  return { width, height, data };
}

const pixel = (img: RgbImage, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];

async function rejectsInput(p: Promise<unknown>, ...fragments: RegExp[]) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${err}`);
    for (const f of fragments) assert.match(err.message, f);
    return true;
  });
}

describe("loadRgb", () => {
  test("RGB PNG round-trips exactly through savePng, in a folder with spaces and non-ASCII", async () => {
    const img = halves(9, 5);
    img.data[0] = 17;
    const path = join(dir, "round trip é.png");
    await savePng(path, img);
    const back = await loadRgb(path);
    assert.deepEqual(back, { width: 9, height: 5, data: img.data });
    assert.deepEqual(await imageSize(path), { width: 9, height: 5, format: "png" });
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes(".tmp-")),
      [],
      "no temp files left",
    );
  });

  test("JPEG decodes to HWC RGB close to the original", async () => {
    const path = join(dir, "photo.jpg");
    await saveJpeg(path, halves(32, 16), 95);
    const img = await loadRgb(path);
    assert.equal(img.data.length, 32 * 16 * 3);
    for (const [x, rgb] of [
      [2, [255, 0, 0]],
      [29, [0, 0, 255]],
    ] as const) {
      pixel(img, x, 8).forEach((v, c) => assert.ok(Math.abs(v - rgb[c]) < 40, `x=${x} c=${c} v=${v}`));
    }
  });

  test("EXIF orientation 6 is applied: the left half ends up on top", async () => {
    const buf = await sharp(halves(40, 20).data, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const path = join(dir, "rotated.jpg");
    await writeFile(path, buf);
    const img = await loadRgb(path);
    assert.equal(img.width, 20);
    assert.equal(img.height, 40);
    assert.ok(pixel(img, 10, 3)[0] > 200 && pixel(img, 10, 3)[2] < 60, "top is red");
    assert.ok(pixel(img, 10, 36)[2] > 200 && pixel(img, 10, 36)[0] < 60, "bottom is blue");
    assert.deepEqual(await imageSize(path), { width: 20, height: 40, format: "jpeg" });
  });

  test("RGBA is flattened onto black; grayscale becomes three equal channels", async () => {
    const rgba = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128]);
    const img = await loadRgb(
      await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } })
        .png()
        .toBuffer(),
    );
    assert.deepEqual(pixel(img, 0, 0), [255, 0, 0]);
    assert.deepEqual(pixel(img, 1, 0), [0, 0, 0]);
    assert.ok(Math.abs(pixel(img, 2, 0)[2] - 128) <= 1);
    const gray = await sharp(Uint8Array.from([0, 77, 200, 255]), {
      raw: { width: 2, height: 2, channels: 1 },
    })
      .toColourspace("b-w")
      .png()
      .toBuffer();
    const g = await loadRgb(gray, { name: "gray.png" });
    assert.deepEqual(Array.from(g.data), [0, 0, 0, 77, 77, 77, 200, 200, 200, 255, 255, 255]);
  });

  test("16-bit PNG comes back as 8-bit values", async () => {
    const src = halves(4, 2);
    const buf = await sharp(src.data, { raw: { width: 4, height: 2, channels: 3 } })
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    assert.equal((await sharp(buf).metadata()).depth, "ushort", "fixture must be 16-bit");
    const img = await loadRgb(buf);
    assert.deepEqual(img.data, src.data);
  });

  test("CMYK JPEG is converted to RGB", async () => {
    const buf = await sharp(halves(16, 8).data, { raw: { width: 16, height: 8, channels: 3 } })
      .toColourspace("cmyk")
      .jpeg({ quality: 95 })
      .toBuffer();
    assert.equal((await sharp(buf).metadata()).space, "cmyk", "fixture must be CMYK");
    const img = await loadRgb(buf);
    assert.equal(img.data.length, 16 * 8 * 3);
    const [r, g, b] = pixel(img, 2, 4);
    assert.ok(r > 150 && g < 100 && b < 100, `left is reddish: ${[r, g, b]}`);
  });

  test("a 1×1 image loads", async () => {
    const img = await loadRgb(
      await sharp(Uint8Array.from([1, 2, 3]), { raw: { width: 1, height: 1, channels: 3 } })
        .png()
        .toBuffer(),
    );
    assert.deepEqual(img, { width: 1, height: 1, data: Uint8Array.from([1, 2, 3]) });
  });
});

describe("loadRgb errors name the file", () => {
  test("zero-byte, truncated, text-as-.jpg and missing files are InputErrors", async () => {
    const empty = join(dir, "empty file.jpg");
    await writeFile(empty, "");
    await rejectsInput(loadRgb(empty), /empty file\.jpg: empty file \(0 bytes\)/);

    const full = await sharp(halves(64, 48).data, { raw: { width: 64, height: 48, channels: 3 } })
      .jpeg()
      .toBuffer();
    const cut = join(dir, "cut ü.jpg");
    for (const keep of [0.1, 0.5, 0.9]) {
      await writeFile(cut, full.subarray(0, Math.round(full.length * keep)));
      await rejectsInput(loadRgb(cut), /cut ü\.jpg: /, /(cannot decode|not a readable image)/);
    }

    const text = join(dir, "notes.jpg");
    await writeFile(text, "this is not an image\n");
    await rejectsInput(loadRgb(text), /notes\.jpg: /);

    await rejectsInput(loadRgb(join(dir, "nope.jpg")), /nope\.jpg: file not found/);
    await rejectsInput(imageSize(text), /notes\.jpg/);
  });

  test("images over the pixel limit are refused before decoding", async () => {
    const path = join(dir, "big.png");
    await savePng(path, halves(40, 30));
    await rejectsInput(loadRgb(path, { maxPixels: 1000 }), /big\.png/, /40×30/, /limit/);
    assert.equal((await loadRgb(path, { maxPixels: 1200 })).width, 40);
  });
});

describe("resizeRgb", () => {
  test("bilinear with pixel centres: [0, 255] upsampled ×2 is [0, 64, 191, 255]", () => {
    const img = { width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 255, 255, 255]) };
    const out = resizeRgb(img, 4, 1);
    assert.deepEqual(
      Array.from(out.data).filter((_, i) => i % 3 === 0),
      [0, 64, 191, 255],
    );
    assert.deepEqual(resizeRgb(img, 2, 1), img, "same size is identity");
  });

  test("downsampling a constant image stays constant", () => {
    const data = new Uint8Array(30 * 20 * 3).fill(93);
    const out = resizeRgb({ width: 30, height: 20, data }, 7, 5);
    assert.equal(out.data.length, 7 * 5 * 3);
    assert.ok(out.data.every((v) => v === 93));
  });
});

test("real images from samples/voc-mini load at their listed sizes", async () => {
  const root = findUp("samples/voc-mini");
  const rows = readFileSync(join(root, "image_labels.csv"), "utf8").trim().split("\n").slice(1, 4);
  for (const row of rows) {
    const [id, w, h] = row.split(",");
    const img = await loadRgb(join(root, "JPEGImages", `${id}.jpg`));
    assert.equal(img.width, Number(w));
    assert.equal(img.height, Number(h));
    assert.equal(Math.max(img.width, img.height), 320);
    const mean = img.data.reduce((s, v) => s + v, 0) / img.data.length;
    assert.ok(mean > 10 && mean < 245, "a real photo, not a blank");
  }
});
