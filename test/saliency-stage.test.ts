// The saliency stage: one 8-bit map per image in the run folder, resumable, refusing other settings, and
// clear errors for a missing, unreadable or wrongly sized map.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { savePng } from "../src/data/image.js";
import type { DatasetItem } from "../src/data/dataset.js";
import { computeSaliencyMaps, readSaliencyMap, saliencyPath } from "../src/stages/saliency.js";
import type { SaliencyConfig } from "../src/util/config.js";

/** A bright square on a dark background. */
async function photo(dir: string, id: string, width: number, height: number): Promise<DatasetItem> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const inside = Math.abs(x - width / 2) < width / 5 && Math.abs(y - height / 2) < height / 5;
      data.fill(inside ? 230 : 30, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  const imagePath = join(dir, `${id}.png`);
  await savePng(imagePath, { width, height, data });
  return { id, imagePath, labels: [1] };
}

const MBPLUS: SaliencyConfig = { detector: "mbplus", inputSize: 224, batchSize: 2 };

test("saliency maps are written once per image at its size, and a stopped stage resumes", async () => {
  const root = mkdtempSync(join(tmpdir(), "aepsl-sal-"));
  try {
    const items = [
      await photo(root, "a", 64, 48),
      await photo(root, "b", 40, 56),
      await photo(root, "c", 50, 50),
    ];
    const dir = join(root, "run", "saliency");
    await computeSaliencyMaps({ dir, items, config: MBPLUS });
    const a = await readSaliencyMap(dir, "a", { width: 64, height: 48 });
    assert.equal(a.length, 64 * 48);
    assert.ok(a[24 * 64 + 32]! > a[0]!, "the bright square is more salient than the corner");
    assert.ok(a.every((v) => v >= 0 && v <= 1));

    // Resume: only the missing map is computed again; the others are left untouched.
    const mtimeA = statSync(saliencyPath(dir, "a")).mtimeMs;
    rmSync(saliencyPath(dir, "b"));
    const seen: number[] = [];
    await computeSaliencyMaps({ dir, items, config: MBPLUS, onImage: (d) => seen.push(d) });
    assert.deepEqual(seen, [3], "one image computed, counted after the two already there");
    assert.equal(statSync(saliencyPath(dir, "a")).mtimeMs, mtimeA);
    assert.equal((await readSaliencyMap(dir, "b", { width: 40, height: 56 })).length, 40 * 56);

    await assert.rejects(
      computeSaliencyMaps({ dir, items, config: { ...MBPLUS, detector: "u2netp" } }),
      /saliency maps were made with mbplus at 224 px, not u2netp at 224 px; delete the folder/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a missing, corrupt or wrongly sized saliency map is an error naming the file", async () => {
  const root = mkdtempSync(join(tmpdir(), "aepsl-sal-"));
  try {
    const items = [await photo(root, "a", 32, 32)];
    const dir = join(root, "saliency");
    await computeSaliencyMaps({ dir, items, config: MBPLUS });
    await assert.rejects(
      readSaliencyMap(dir, "zz", { width: 32, height: 32 }),
      (err: Error) => err.message.includes(join(dir, "zz.png")) && /saliency map missing/.test(err.message),
    );
    await assert.rejects(
      readSaliencyMap(dir, "a", { width: 32, height: 40 }),
      (err: Error) =>
        err.message.includes(join(dir, "a.png")) && /is 32×32, the image is 32×40/.test(err.message),
    );
    writeFileSync(saliencyPath(dir, "a"), "not a png");
    await assert.rejects(
      readSaliencyMap(dir, "a", { width: 32, height: 32 }),
      (err: Error) => err.message.includes(join(dir, "a.png")) && /unreadable saliency map/.test(err.message),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
