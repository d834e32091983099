// CAM extraction streams: 5,000 images go through extractCams one at a time (decode → network → PNG +
// one records.jsonl line) with resident memory flat once warmed up, and every image gets its record.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import sharp from "sharp";
import type { DatasetItem } from "../src/data/dataset.js";
import { manualSeed } from "../src/engine/ops.js";
import { liveTensors } from "../src/engine/tensor.js";
import { CamClassifier } from "../src/nn/cam-classifier.js";
import { extractCams } from "../src/stages/cam.js";

const N = 5000;
const SIZE = 24;
const tmp = mkdtempSync(join(tmpdir(), "aepsl-memory-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** N small JPEGs (a gradient with a per-image offset), encoded 100 at a time. */
async function writeImages(dir: string): Promise<DatasetItem[]> {
  mkdirSync(dir, { recursive: true });
  const items: DatasetItem[] = [];
  for (let start = 0; start < N; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, N - start) }, async (_, k) => {
        const i = start + k;
        const px = new Uint8Array(SIZE * SIZE * 3);
        for (let p = 0; p < px.length; p++) px[p] = (p * 7 + i * 31) & 255;
        const jpg = await sharp(px, { raw: { width: SIZE, height: SIZE, channels: 3 } })
          .jpeg({ quality: 80 })
          .toBuffer();
        const id = `img${String(i).padStart(5, "0")}`;
        writeFileSync(join(dir, `${id}.jpg`), jpg);
        items[i] = { id, imagePath: join(dir, `${id}.jpg`), labels: i % 3 === 0 ? [1, 2] : [1 + (i % 2)] };
      }),
    );
  }
  return items;
}

test(`extractCams over ${N} images: RSS flat after warm-up, every record written`, async (t) => {
  const t0 = performance.now();
  const items = await writeImages(join(tmp, "images"));
  const tGen = performance.now();
  manualSeed(0);
  const live = liveTensors();
  const model = new CamClassifier(2, { imagenet: false, outputStride: 32 });
  const rss = new Map<number, number>();
  const dir = join(tmp, "cams");
  try {
    const store = await extractCams({
      dir,
      model,
      items,
      scales: [1],
      flip: false,
      onImage: (done) => {
        if (done % 500 === 0) rss.set(done, process.memoryUsage().rss);
      },
    });
    assert.equal(store.records.size, N);
  } finally {
    model.dispose();
  }
  const tCams = performance.now();
  assert.equal(liveTensors(), live, "no tensor kept per image");

  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  t.diagnostic(
    `generated ${N} ${SIZE}×${SIZE} JPEGs in ${((tGen - t0) / 1000).toFixed(1)} s; ` +
      `CAMs in ${((tCams - tGen) / 1000).toFixed(1)} s (${((tCams - tGen) / N).toFixed(2)} ms/image)`,
  );
  t.diagnostic(`RSS MB at ${[...rss].map(([n, b]) => `${n}: ${mb(b)}`).join(", ")}`);
  assert.equal(rss.size, N / 500);
  const growth = rss.get(N)! - rss.get(1000)!;
  assert.ok(growth < 100 * 2 ** 20, `RSS grew ${mb(growth)} MB from image 1,000 to ${N}`);

  // Every image has its PNG and exactly one index line, in a store that reopens complete.
  const lines = readFileSync(join(dir, "records.jsonl"), "utf8").trim().split("\n");
  assert.equal(lines.length, N);
  assert.equal(new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size, N);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith(".png")).length, N);
  const first = JSON.parse(lines[0]) as { width: number; height: number; labels: number[]; scores: number[] };
  assert.deepEqual([first.width, first.height, first.labels, first.scores.length], [SIZE, SIZE, [1, 2], 2]);
});
