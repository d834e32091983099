// Tensor creation and functional neural-network ops (all differentiable through libtorch's autograd).
import { deviceArg, type Device } from "./device.js";
import { native, type Handle } from "./native.js";
import { Tensor, type AnyTypedArray, type DType, type Operand } from "./tensor.js";

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : v);

function defaultDType(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint16Array) return "float16";
  return "uint8";
}

/**
 * A tensor holding a copy of data (a typed array, or numbers as float32) with the given shape. Creation
 * functions put the tensor on `device`, or on the default device (defaultDevice(), CPU unless set).
 */
export function tensor(
  data: AnyTypedArray | number[],
  shape?: number[],
  dtype?: DType,
  device?: Device,
): Tensor {
  const arr = Array.isArray(data) ? Float32Array.from(data) : data;
  return new Tensor(
    native.fromArray(arr, shape ?? [arr.length], dtype ?? defaultDType(arr), deviceArg(device)),
  );
}
export const scalar = (v: number, dtype: DType = "float32", device?: Device): Tensor =>
  tensor(Float64Array.of(v), [], dtype, device);
export const zeros = (shape: number[], dtype: DType = "float32", device?: Device): Tensor =>
  new Tensor(native.zeros(shape, dtype, deviceArg(device)));
export const ones = (shape: number[], dtype: DType = "float32", device?: Device): Tensor =>
  new Tensor(native.ones(shape, dtype, deviceArg(device)));
export const full = (shape: number[], value: number, dtype: DType = "float32", device?: Device): Tensor =>
  new Tensor(native.full(shape, value, dtype, deviceArg(device)));
/** Uniform [0, 1). */
export const rand = (shape: number[], dtype: DType = "float32", device?: Device): Tensor =>
  new Tensor(native.rand(shape, dtype, deviceArg(device)));
export const randn = (shape: number[], dtype: DType = "float32", device?: Device): Tensor =>
  new Tensor(native.randn(shape, dtype, deviceArg(device)));
/** Integers in [low, high) as int64. */
export const randint = (low: number, high: number, shape: number[]): Tensor =>
  new Tensor(native.randint(low, high, shape));
export const randperm = (n: number): Tensor => new Tensor(native.randperm(n));
export const arange = (
  start: number,
  end: number,
  step = 1,
  dtype: DType = "int64",
  device?: Device,
): Tensor => new Tensor(native.arange(start, end, step, dtype, deviceArg(device)));

export const cat = (ts: Tensor[], dim = 0): Tensor => new Tensor(native.cat(handles(ts), dim));
export const stack = (ts: Tensor[], dim = 0): Tensor => new Tensor(native.stack(handles(ts), dim));
export const where = (cond: Tensor, a: Operand, b: Operand): Tensor =>
  new Tensor(native.where(cond.handle, op(a), op(b)));

function handles(ts: Tensor[]): Handle[] {
  return ts.map((t) => t.handle);
}
function op(o: Operand): Handle | number {
  return typeof o === "number" ? o : o.handle;
}

// ---- neural-network functions ----

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, o: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.conv2d(
      x.handle,
      weight.handle,
      bias?.handle ?? null,
      pair(o.stride ?? 1),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.groups ?? 1,
    ),
  );
}

/** Constant padding of the last two dims: [left, right, top, bottom]. */
export function pad2d(x: Tensor, lrtb: [number, number, number, number], value = 0): Tensor {
  return new Tensor(native.pad(x.handle, lrtb, value));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  training: boolean;
  momentum?: number;
  eps?: number;
}

export function batchNorm(x: Tensor, o: BatchNormOptions): Tensor {
  return new Tensor(
    native.batchNorm(
      x.handle,
      o.weight?.handle ?? null,
      o.bias?.handle ?? null,
      o.runningMean?.handle ?? null,
      o.runningVar?.handle ?? null,
      o.training,
      o.momentum ?? 0.1,
      o.eps ?? 1e-5,
    ),
  );
}

export function maxPool2d(
  x: Tensor,
  kernel: Pair,
  o: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {},
): Tensor {
  return new Tensor(
    native.maxPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      pair(o.dilation ?? 1),
      o.ceilMode ?? false,
    ),
  );
}

export function avgPool2d(
  x: Tensor,
  kernel: Pair,
  o: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {},
): Tensor {
  return new Tensor(
    native.avgPool2d(
      x.handle,
      pair(kernel),
      pair(o.stride ?? kernel),
      pair(o.padding ?? 0),
      o.ceilMode ?? false,
      o.countIncludePad ?? true,
    ),
  );
}

export const adaptiveAvgPool2d = (x: Tensor, size: Pair): Tensor =>
  new Tensor(native.adaptiveAvgPool2d(x.handle, pair(size)));
export const adaptiveMaxPool2d = (x: Tensor, size: Pair): Tensor =>
  new Tensor(native.adaptiveMaxPool2d(x.handle, pair(size)));

/** Resizes NCHW to [h, w]; labels use 'nearest', images and score maps 'bilinear'. */
export function interpolate(
  x: Tensor,
  size: [number, number],
  mode: "bilinear" | "nearest" = "bilinear",
  alignCorners = false,
): Tensor {
  return new Tensor(native.interpolate(x.handle, size, mode, alignCorners));
}

export const dropout = (x: Tensor, p: number, training: boolean): Tensor =>
  new Tensor(native.dropout(x.handle, p, training));
export const linear = (x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor =>
  new Tensor(native.linear(x.handle, weight.handle, bias?.handle ?? null));
export const softmax = (x: Tensor, dim: number): Tensor => new Tensor(native.softmax(x.handle, dim));
export const logSoftmax = (x: Tensor, dim: number): Tensor => new Tensor(native.logSoftmax(x.handle, dim));

export type Reduction = "mean" | "sum" | "none";

/** Multi-label loss: sigmoid + binary cross-entropy, numerically stable. */
export function bceWithLogits(
  logits: Tensor,
  target: Tensor,
  o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {},
): Tensor {
  return new Tensor(
    native.bceWithLogits(
      logits.handle,
      target.handle,
      o.weight?.handle ?? null,
      o.posWeight?.handle ?? null,
      o.reduction ?? "mean",
    ),
  );
}

/**
 * Cross-entropy over dim 1 of logits [N, C, ...] against int64 targets [N, ...]. Pixels equal to
 * ignoreIndex contribute nothing. With pixelWeight [N, ...], the loss is Σ w·ce / Σ w over non-ignored
 * pixels (reduction 'mean') — the form PSL needs for confidence-weighted online labels. A batch with no
 * labelled pixel has loss 0 (libtorch would give NaN).
 */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  o: { ignoreIndex?: number; classWeight?: Tensor; pixelWeight?: Tensor; reduction?: Reduction } = {},
): Tensor {
  const ignoreIndex = o.ignoreIndex ?? -100;
  const reduction = o.reduction ?? "mean";
  if (!o.pixelWeight && (reduction !== "mean" || o.classWeight)) {
    return new Tensor(
      native.crossEntropy(
        logits.handle,
        target.handle,
        o.classWeight?.handle ?? null,
        ignoreIndex,
        reduction,
      ),
    );
  }
  if (!o.pixelWeight) {
    // Mean over non-ignored pixels, but 0 (not libtorch's NaN) when a batch has no labelled pixel.
    const total = new Tensor(native.crossEntropy(logits.handle, target.handle, null, ignoreIndex, "sum"));
    const count = target.ne(ignoreIndex).sum().clamp(1);
    const out = total.div(count);
    total.dispose();
    count.dispose();
    return out;
  }
  const perPixel = new Tensor(
    native.crossEntropy(logits.handle, target.handle, o.classWeight?.handle ?? null, ignoreIndex, "none"),
  );
  const valid = target.ne(ignoreIndex).to(perPixel.dtype);
  const w = o.pixelWeight.mul(valid);
  const weighted = perPixel.mul(w);
  const out =
    reduction === "none"
      ? weighted
      : reduction === "sum"
        ? weighted.sum()
        : weighted.sum().div(w.sum().clamp(1e-12));
  for (const t of [perPixel, valid, w]) t.dispose();
  if (out !== weighted) weighted.dispose();
  return out;
}

export const mseLoss = (a: Tensor, b: Tensor, reduction: Reduction = "mean"): Tensor =>
  new Tensor(native.mseLoss(a.handle, b.handle, reduction));

/** Rescales gradients in place so their global L2 norm is at most maxNorm; returns the norm before. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return native.clipGradNorm(handles(params), maxNorm);
}

// ---- engine ----

export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
/** The default CPU generator's state (a uint8 tensor), for checkpoints. */
export const getRngState = (): Tensor => new Tensor(native.getRngState());
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

export interface EngineInfo {
  torchVersion: string;
  threads: number;
  /** e.g. "AVX2": the SIMD level libtorch's CPU kernels dispatch to. */
  simd: string;
  config: string;
}

export function engineInfo(): EngineInfo {
  const raw = native.engineInfo() as {
    torchVersion: string;
    threads: number;
    config: string;
    parallel: string;
  };
  const simd = /CPU capability usage: (\S+)/.exec(raw.config)?.[1] ?? "unknown";
  return { torchVersion: raw.torchVersion, threads: raw.threads, simd, config: raw.config };
}
