/**
 * Seeded, resumable batch loading with background prefetch, plus packing of samples into NCHW
 * Float32Arrays. Order and per-sample randomness depend only on (seed, epoch, item), never on
 * timing or on where a run was resumed, so a resumed run sees the same batches.
 */
import { performance } from "node:perf_hooks";
import { deriveSeed, mulberry32, type Rng } from "./augment.js";
import { IMAGENET_MEAN, IMAGENET_STD, type FloatMap, type LabelMap, type RgbImage } from "./types.js";

export interface LoaderPosition {
  epoch: number;
  /** Batch index within the epoch. */
  batch: number;
}

export interface Batch<I, S> extends LoaderPosition {
  items: I[];
  samples: S[];
}

export interface BatchLoaderOptions<I, S> {
  items: readonly I[];
  /** Decodes/augments one item; `rng` is seeded from (seed, epoch, item index). */
  prepare: (item: I, rng: Rng) => Promise<S>;
  batchSize: number;
  seed: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Drop the last incomplete batch of each epoch (default true: fixed batch shapes). */
  dropLast?: boolean;
  /** Batches loaded ahead in the background (default 2). */
  prefetch?: number;
  /** Where to start, e.g. a checkpoint's position() (default epoch 0, batch 0). */
  start?: LoaderPosition;
  /** Stop before this epoch index (default: never stop). */
  epochs?: number;
}

export interface LoaderStats {
  /** Total time next() spent waiting for data that was not ready yet. */
  waitMs: number;
  batches: number;
}

/** The item order of one epoch: a Fisher–Yates shuffle seeded by (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number, shuffle = true): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (!shuffle) return order;
  const rng = mulberry32(deriveSeed(seed, epoch, 0x5eed));
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

export class BatchLoader<I, S> implements AsyncIterable<Batch<I, S>> {
  readonly batchesPerEpoch: number;
  private readonly opts: BatchLoaderOptions<I, S>;
  private readonly prefetch: number;
  private readonly epochs: number;
  private queue: Array<{ pos: LoaderPosition; promise: Promise<Batch<I, S>> }> = [];
  private cursor: LoaderPosition; // next batch to start loading
  private delivered: LoaderPosition; // next batch next() hands out
  private orders = new Map<number, Uint32Array>();
  private waitMs = 0;
  private batches = 0;
  private closed = false;

  constructor(opts: BatchLoaderOptions<I, S>) {
    const { items, batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batchSize must be ≥ 1, got ${batchSize}`);
    this.batchesPerEpoch =
      (opts.dropLast ?? true) ? Math.floor(items.length / batchSize) : Math.ceil(items.length / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new RangeError(
        `${items.length} item(s) make no batch of ${batchSize}${(opts.dropLast ?? true) ? " (dropLast)" : ""}`,
      );
    }
    const start = opts.start ?? { epoch: 0, batch: 0 };
    if (start.batch < 0 || start.batch >= this.batchesPerEpoch || start.epoch < 0) {
      throw new RangeError(
        `start position ${JSON.stringify(start)} outside 0..${this.batchesPerEpoch - 1} batches`,
      );
    }
    this.opts = opts;
    this.prefetch = Math.max(0, opts.prefetch ?? 2);
    this.epochs = opts.epochs ?? Infinity;
    this.cursor = { ...start };
    this.delivered = { ...start };
  }

  /** Position of the next batch to be handed out: save it with a checkpoint, pass it back as `start`. */
  position(): LoaderPosition {
    return { ...this.delivered };
  }

  stats(): LoaderStats {
    return { waitMs: this.waitMs, batches: this.batches };
  }

  /** The next batch, or null after the last epoch or close(). A failed prepare rejects this call only. */
  async next(): Promise<Batch<I, S> | null> {
    if (this.closed) return null;
    this.fill(Math.max(1, this.prefetch));
    const head = this.queue.shift();
    if (!head) return null;
    this.fill(this.prefetch); // keep loading while the caller computes on this batch
    this.delivered = this.advance(head.pos);
    const t0 = performance.now();
    try {
      return await head.promise;
    } finally {
      this.waitMs += performance.now() - t0;
      this.batches++;
    }
  }

  /** Stops prefetching; batches already loading finish but are dropped. */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  /** Iterates to the end; leaving the loop early (break) closes the loader. */
  async *[Symbol.asyncIterator](): AsyncIterator<Batch<I, S>> {
    try {
      for (let b = await this.next(); b; b = await this.next()) yield b;
    } finally {
      this.close();
    }
  }

  private advance(pos: LoaderPosition): LoaderPosition {
    return pos.batch + 1 < this.batchesPerEpoch
      ? { epoch: pos.epoch, batch: pos.batch + 1 }
      : { epoch: pos.epoch + 1, batch: 0 };
  }

  private fill(target: number): void {
    while (this.queue.length < target && this.cursor.epoch < this.epochs) {
      const pos = this.cursor;
      const promise = this.load(pos);
      promise.catch(() => {}); // observed later by next(); avoids an unhandled rejection meanwhile
      this.queue.push({ pos, promise });
      this.cursor = this.advance(pos);
    }
  }

  private order(epoch: number): Uint32Array {
    let order = this.orders.get(epoch);
    if (!order) {
      order = epochOrder(this.opts.items.length, this.opts.seed, epoch, this.opts.shuffle ?? true);
      this.orders.set(epoch, order);
      this.orders.delete(epoch - 2); // keep memory flat over many epochs
    }
    return order;
  }

  private async load(pos: LoaderPosition): Promise<Batch<I, S>> {
    const { items, batchSize, seed, prepare } = this.opts;
    const order = this.order(pos.epoch);
    const indices = Array.from(order.subarray(pos.batch * batchSize, (pos.batch + 1) * batchSize));
    const batchItems = indices.map((i) => items[i]);
    const samples = await Promise.all(
      indices.map((i) => prepare(items[i], mulberry32(deriveSeed(seed, pos.epoch, i)))),
    );
    return { ...pos, items: batchItems, samples };
  }
}

/** Normalises an RGB image to CHW float32: (v / 255 - mean) / std per channel. */
export function toCHWFloat(
  img: RgbImage,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
  out = new Float32Array(3 * img.width * img.height),
  offset = 0,
): Float32Array {
  const plane = img.width * img.height;
  if (img.data.length !== plane * 3) throw new RangeError("toCHWFloat: image data is not HWC RGB");
  if (out.length < offset + plane * 3) throw new RangeError("toCHWFloat: output too small");
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]);
    const shift = mean[c] / std[c];
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = img.data[i * 3 + c] * scale - shift;
  }
  return out;
}

export interface Packed<T> {
  data: T;
  shape: number[];
}

function commonSize(maps: ReadonlyArray<{ width: number; height: number }>, what: string): [number, number] {
  if (maps.length === 0) throw new RangeError(`${what}: empty batch`);
  const { width, height } = maps[0];
  for (const m of maps) {
    if (m.width !== width || m.height !== height) {
      throw new RangeError(
        `${what}: sizes differ (${width}×${height} vs ${m.width}×${m.height}); crop or resize first`,
      );
    }
  }
  return [height, width];
}

/** Packs same-size images into one normalised NCHW Float32Array. */
export function packImages(
  images: readonly RgbImage[],
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): Packed<Float32Array> {
  const [h, w] = commonSize(images, "packImages");
  const data = new Float32Array(images.length * 3 * h * w);
  images.forEach((img, n) => toCHWFloat(img, mean, std, data, n * 3 * h * w));
  return { data, shape: [images.length, 3, h, w] };
}

/** Packs same-size label maps into one NHW Uint8Array. */
export function packLabelMaps(maps: readonly LabelMap[]): Packed<Uint8Array> {
  const [h, w] = commonSize(maps, "packLabelMaps");
  const data = new Uint8Array(maps.length * h * w);
  maps.forEach((m, n) => data.set(m.data, n * h * w));
  return { data, shape: [maps.length, h, w] };
}

/** Packs same-size float maps into one NHW Float32Array. */
export function packFloatMaps(maps: readonly FloatMap[]): Packed<Float32Array> {
  const [h, w] = commonSize(maps, "packFloatMaps");
  const data = new Float32Array(maps.length * h * w);
  maps.forEach((m, n) => data.set(m.data, n * h * w));
  return { data, shape: [maps.length, h, w] };
}

/** Packs equal-length vectors (e.g. multi-hot labels) into one N×K Float32Array. */
export function packVectors(vectors: readonly Float32Array[]): Packed<Float32Array> {
  if (vectors.length === 0) throw new RangeError("packVectors: empty batch");
  const k = vectors[0].length;
  const data = new Float32Array(vectors.length * k);
  vectors.forEach((v, n) => {
    if (v.length !== k) throw new RangeError(`packVectors: lengths differ (${k} vs ${v.length})`);
    data.set(v, n * k);
  });
  return { data, shape: [vectors.length, k] };
}
