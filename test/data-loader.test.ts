import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { augment, type Rng } from "../src/data/augment.js";
import { foregroundMultiHot, openDataset, type DatasetItem } from "../src/data/dataset.js";
import { loadRgb } from "../src/data/image.js";
import {
  BatchLoader,
  epochOrder,
  packFloatMaps,
  packImages,
  packLabelMaps,
  packVectors,
  toCHWFloat,
  type Batch,
} from "../src/data/loader.js";
import { readIndexedPng } from "../src/data/png.js";
import { IMAGENET_MEAN, IMAGENET_STD } from "../src/data/types.js";

function findUp(rel: string): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, rel))) return join(d, rel);
    if (dirname(d) === d) throw new Error(`${rel} not found above the tests`);
  }
}

const items = Array.from({ length: 10 }, (_, i) => i);
const prepare = async (item: number, rng: Rng) => ({ item, r: rng() });

async function take<I, S>(loader: BatchLoader<I, S>, n: number): Promise<Batch<I, S>[]> {
  const out: Batch<I, S>[] = [];
  for (let i = 0; i < n; i++) out.push((await loader.next())!);
  return out;
}

describe("epochOrder", () => {
  test("a seeded permutation that changes per epoch", () => {
    const a = epochOrder(50, 7, 0);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(a, epochOrder(50, 7, 0));
    assert.notDeepEqual(a, epochOrder(50, 7, 1));
    assert.notDeepEqual(a, epochOrder(50, 8, 0));
    assert.deepEqual([...epochOrder(5, 7, 3, false)], [0, 1, 2, 3, 4]);
  });
});

describe("BatchLoader", () => {
  test("each epoch covers distinct items; dropLast drops the remainder; ends after `epochs`", async () => {
    const loader = new BatchLoader({ items, prepare, batchSize: 3, seed: 1, epochs: 2 });
    assert.equal(loader.batchesPerEpoch, 3);
    const batches: Batch<number, { item: number; r: number }>[] = [];
    for await (const b of loader) batches.push(b);
    assert.deepEqual(
      batches.map((b) => [b.epoch, b.batch]),
      [
        [0, 0],
        [0, 1],
        [0, 2],
        [1, 0],
        [1, 1],
        [1, 2],
      ],
    );
    for (const epoch of [0, 1]) {
      const seen = batches.filter((b) => b.epoch === epoch).flatMap((b) => b.items);
      assert.equal(new Set(seen).size, 9);
    }
    assert.deepEqual(
      batches[0].samples.map((s) => s.item),
      batches[0].items,
    );
    assert.notDeepEqual(batches[0].items, batches[3].items);
    assert.equal(loader.stats().batches, 6);

    const all = new BatchLoader({
      items,
      prepare,
      batchSize: 3,
      seed: 1,
      epochs: 1,
      dropLast: false,
      shuffle: false,
    });
    const sizes: number[] = [];
    for await (const b of all) sizes.push(b.items.length);
    assert.deepEqual(sizes, [3, 3, 3, 1]);
  });

  test("same seed, same batches and per-sample randomness; resuming from position() continues exactly", async () => {
    const full = await take(new BatchLoader({ items, prepare, batchSize: 4, seed: 3 }), 7);
    assert.deepEqual(
      full,
      await take(new BatchLoader({ items, prepare, batchSize: 4, seed: 3, prefetch: 0 }), 7),
    );
    assert.notDeepEqual(full, await take(new BatchLoader({ items, prepare, batchSize: 4, seed: 4 }), 7));

    const first = new BatchLoader({ items, prepare, batchSize: 4, seed: 3 });
    await take(first, 3);
    const position = first.position();
    assert.deepEqual(position, { epoch: 1, batch: 1 });
    first.close();
    const resumed = await take(
      new BatchLoader({ items, prepare, batchSize: 4, seed: 3, start: position }),
      4,
    );
    assert.deepEqual(resumed, full.slice(3));
  });

  test("prefetch starts the next batches while the caller works, and cuts the waiting time", async () => {
    const started: number[] = [];
    const slow = async (item: number) => {
      started.push(item);
      await sleep(40);
      return item;
    };
    const run = async (prefetch: number) => {
      const loader = new BatchLoader({ items, prepare: slow, batchSize: 2, seed: 0, prefetch, epochs: 1 });
      for await (const b of loader) {
        if (prefetch > 0 && b.batch === 0)
          assert.ok(started.length >= 6, `batches 1 and 2 already loading (${started.length})`);
        await sleep(60); // the "training step"
      }
      return loader.stats();
    };
    const eager = await run(2);
    started.length = 0;
    const lazy = await run(0);
    assert.equal(eager.batches, 5);
    assert.ok(lazy.waitMs > 150, `without prefetch each batch waits (${lazy.waitMs})`);
    assert.ok(eager.waitMs < lazy.waitMs * 0.6, `prefetch ${eager.waitMs} ms vs none ${lazy.waitMs} ms`);
  });

  test("a failing prepare rejects only its own batch", async () => {
    const flaky = async (item: number) => {
      if (item === 4) throw new Error("bad item 4");
      return item;
    };
    const loader = new BatchLoader({
      items,
      prepare: flaky,
      batchSize: 2,
      seed: 0,
      shuffle: false,
      epochs: 1,
    });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      results.push(
        await loader.next().then(
          (b) => b!.items.join(","),
          (e: Error) => e.message,
        ),
      );
    }
    assert.deepEqual(results, ["0,1", "2,3", "bad item 4", "6,7", "8,9"]);
    assert.equal(await loader.next(), null);
  });

  test("break closes the loader; bad sizes and positions are refused", async () => {
    const loader = new BatchLoader({ items, prepare, batchSize: 2, seed: 0 });
    for await (const b of loader) if (b.batch === 1) break;
    assert.equal(await loader.next(), null);
    assert.throws(() => new BatchLoader({ items, prepare, batchSize: 11, seed: 0 }), RangeError);
    assert.throws(
      () => new BatchLoader({ items, prepare, batchSize: 2, seed: 0, start: { epoch: 0, batch: 5 } }),
      RangeError,
    );
  });
});

describe("packing", () => {
  test("toCHWFloat normalises per channel into CHW order", () => {
    const img = { width: 2, height: 1, data: Uint8Array.from([255, 0, 128, 0, 255, 64]) };
    const out = toCHWFloat(img);
    const expect = (v: number, c: number) => (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    const want = [expect(255, 0), expect(0, 0), expect(0, 1), expect(255, 1), expect(128, 2), expect(64, 2)];
    out.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${i}: ${v} vs ${want[i]}`));
    assert.deepEqual(
      Array.from(toCHWFloat(img, [0, 0, 0], [1, 1, 1])).map((v) => Math.round(v * 255)),
      [255, 0, 0, 255, 128, 64],
    );
  });

  test("packImages / packLabelMaps / packFloatMaps / packVectors build NCHW / NHW / NK arrays", () => {
    const a = { width: 2, height: 2, data: new Uint8Array(12).fill(255) };
    const b = { width: 2, height: 2, data: new Uint8Array(12) };
    const packed = packImages([a, b], [0, 0, 0], [1, 1, 1]);
    assert.deepEqual(packed.shape, [2, 3, 2, 2]);
    assert.deepEqual(Array.from(packed.data), [...new Array(12).fill(1), ...new Array(12).fill(0)]);
    const labels = packLabelMaps([
      { width: 2, height: 1, data: Uint8Array.from([1, 2]) },
      { width: 2, height: 1, data: Uint8Array.from([3, 255]) },
    ]);
    assert.deepEqual(
      [labels.shape, Array.from(labels.data)],
      [
        [2, 1, 2],
        [1, 2, 3, 255],
      ],
    );
    const maps = packFloatMaps([{ width: 1, height: 2, data: Float32Array.from([0.5, 1.5]) }]);
    assert.deepEqual(
      [maps.shape, Array.from(maps.data)],
      [
        [1, 2, 1],
        [0.5, 1.5],
      ],
    );
    const vecs = packVectors([foregroundMultiHot([1], 3), foregroundMultiHot([2], 3)]);
    assert.deepEqual(
      [vecs.shape, Array.from(vecs.data)],
      [
        [2, 2],
        [1, 0, 0, 1],
      ],
    );
    assert.throws(() => packImages([a, { width: 1, height: 4, data: new Uint8Array(12) }]), RangeError);
    assert.throws(() => packVectors([]), RangeError);
  });
});

test("end to end on samples/voc-mini: decode, augment, batch", async () => {
  const ds = await openDataset(findUp("samples/voc-mini"), { split: "train" });
  const prepareItem = async (item: DatasetItem, rng: Rng) => {
    const [image, mask] = await Promise.all([loadRgb(item.imagePath), readIndexedPng(item.maskPath!)]);
    const label = { width: mask.width, height: mask.height, data: mask.indices };
    const out = augment({ image, labels: [label] }, { scale: [0.5, 1], crop: 96 }, rng);
    return { image: out.image, label: out.labels![0], tags: foregroundMultiHot(item.labels, 21) };
  };
  const loader = new BatchLoader({
    items: ds.items,
    prepare: prepareItem,
    batchSize: 4,
    seed: 0,
    prefetch: 1,
  });
  const [b0, b1] = await take(loader, 2);
  loader.close();
  for (const b of [b0, b1]) {
    const images = packImages(b.samples.map((s) => s.image));
    assert.deepEqual(images.shape, [4, 3, 96, 96]);
    assert.ok(images.data.every(Number.isFinite));
    const labels = packLabelMaps(b.samples.map((s) => s.label));
    assert.ok(labels.data.every((v) => v <= 20 || v === 255));
    b.samples.forEach((s, i) => {
      for (const c of new Set(s.label.data))
        if (c > 0 && c < 255)
          assert.equal(s.tags[c - 1], 1, `${b.items[i].id}: class ${c} in the mask is tagged`);
    });
  }
  assert.equal(loader.stats().batches, 2);
});
