// The Tensor class and deterministic memory management.
//
// Every Tensor owns one native handle. Tensors created inside `tidy(fn)` are freed when fn returns, except
// those it returns or `keep()`s; anything else is freed by `dispose()`. The handle's own finaliser frees
// native memory if a tensor is garbage-collected undisposed: a safety net, not the mechanism.
import { isDevice, type Device } from "./device.js";
import { native, type Handle } from "./native.js";

export type DType = "float32" | "float64" | "float16" | "int64" | "int32" | "uint8" | "bool";
export type TypedArrayFor<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "float64"
    ? Float64Array
    : D extends "int64"
      ? BigInt64Array
      : D extends "int32"
        ? Int32Array
        : D extends "float16"
          ? Uint16Array
          : Uint8Array;
export type AnyTypedArray =
  Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;
export type Operand = Tensor | number;

const scopes: Set<Tensor>[] = [];
let liveCount = 0;

function track(t: Tensor): void {
  liveCount++;
  const scope = scopes[scopes.length - 1];
  if (scope) scope.add(t);
}

/** Number of tensors created and not yet disposed (for leak tests). */
export function liveTensors(): number {
  return liveCount;
}

export class Tensor {
  #handle: Handle | null;
  #shape: number[] | null = null;

  /** Wraps a native handle; library code only. */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  get handle(): Handle {
    if (this.#handle === null) throw new Error("tensor was disposed");
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  get shape(): number[] {
    this.#shape ??= native.shape(this.handle) as number[];
    return this.#shape.slice();
  }

  get rank(): number {
    return this.shape.length;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get dtype(): DType {
    return native.dtype(this.handle) as DType;
  }

  /** Where the data lives: "cpu" or "cuda:N". */
  get device(): Device {
    return native.device(this.handle) as Device;
  }

  /** Frees the native memory now. Safe to call twice. */
  dispose(): void {
    if (this.#handle === null) return;
    native.dispose(this.#handle);
    this.#handle = null;
    liveCount--;
    for (const s of scopes) s.delete(this);
  }

  /**
   * Copies the data out into a typed array (float16 as raw Uint16 bits, bool as Uint8); a device tensor is
   * copied back to host memory first.
   */
  toArray(): AnyTypedArray {
    return native.toArray(this.handle);
  }

  toFloat32Array(): Float32Array {
    if (this.dtype === "float32") return native.toArray(this.handle);
    return tidy(() => this.to("float32").toArray() as Float32Array);
  }

  /** The single value as a number (from a device tensor: a synchronising copy to the host). */
  item(): number {
    return native.item(this.handle);
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(", ")}])`;
  }

  // ---- elementwise ----
  add(o: Operand): Tensor {
    return binary("add", this, o);
  }
  sub(o: Operand): Tensor {
    return binary("sub", this, o);
  }
  mul(o: Operand): Tensor {
    return binary("mul", this, o);
  }
  div(o: Operand): Tensor {
    return binary("div", this, o);
  }
  pow(o: Operand): Tensor {
    return binary("pow", this, o);
  }
  maximum(o: Operand): Tensor {
    return binary("maximum", this, o);
  }
  minimum(o: Operand): Tensor {
    return binary("minimum", this, o);
  }
  eq(o: Operand): Tensor {
    return binary("eq", this, o);
  }
  ne(o: Operand): Tensor {
    return binary("ne", this, o);
  }
  lt(o: Operand): Tensor {
    return binary("lt", this, o);
  }
  le(o: Operand): Tensor {
    return binary("le", this, o);
  }
  gt(o: Operand): Tensor {
    return binary("gt", this, o);
  }
  ge(o: Operand): Tensor {
    return binary("ge", this, o);
  }
  logicalAnd(o: Tensor): Tensor {
    return binary("logical_and", this, o);
  }
  logicalOr(o: Tensor): Tensor {
    return binary("logical_or", this, o);
  }
  logicalNot(): Tensor {
    return unary("logical_not", this);
  }
  matmul(o: Tensor): Tensor {
    return binary("matmul", this, o);
  }
  neg(): Tensor {
    return unary("neg", this);
  }
  abs(): Tensor {
    return unary("abs", this);
  }
  exp(): Tensor {
    return unary("exp", this);
  }
  log(): Tensor {
    return unary("log", this);
  }
  log1p(): Tensor {
    return unary("log1p", this);
  }
  sqrt(): Tensor {
    return unary("sqrt", this);
  }
  rsqrt(): Tensor {
    return unary("rsqrt", this);
  }
  square(): Tensor {
    return unary("square", this);
  }
  reciprocal(): Tensor {
    return unary("reciprocal", this);
  }
  sign(): Tensor {
    return unary("sign", this);
  }
  floor(): Tensor {
    return unary("floor", this);
  }
  ceil(): Tensor {
    return unary("ceil", this);
  }
  round(): Tensor {
    return unary("round", this);
  }
  sigmoid(): Tensor {
    return unary("sigmoid", this);
  }
  tanh(): Tensor {
    return unary("tanh", this);
  }
  relu(): Tensor {
    return unary("relu", this);
  }
  relu6(): Tensor {
    return unary("relu6", this);
  }
  isFinite(): Tensor {
    return unary("isfinite", this);
  }
  clamp(min?: number, max?: number): Tensor {
    return new Tensor(native.clamp(this.handle, min ?? null, max ?? null));
  }
  /**
   * A copy converted to a dtype, or on a device. Moving to the device the tensor is already on returns a
   * new handle to the same data (no copy). nonBlocking lets a copy from pinned host memory overlap compute.
   */
  to(dtypeOrDevice: DType | Device, nonBlocking = false): Tensor {
    if (isDevice(dtypeOrDevice)) return new Tensor(native.toDevice(this.handle, dtypeOrDevice, nonBlocking));
    return new Tensor(native.cast(this.handle, dtypeOrDevice));
  }
  /**
   * Moves this tensor's data to a device in place: the handle is re-pointed (requiresGrad kept), so every
   * reference to this Tensor follows. For long-lived tensors such as parameters; a no-op when already there.
   */
  moveTo_(device: Device): this {
    native.moveTo(this.handle, device);
    return this;
  }
  /** A copy in page-locked host memory (for non-blocking copies to a GPU); itself without CUDA. */
  pinMemory(): Tensor {
    return new Tensor(native.pinMemory(this.handle));
  }
  get isPinned(): boolean {
    return native.isPinned(this.handle) as boolean;
  }
  clone(): Tensor {
    return unary("clone", this);
  }
  contiguous(): Tensor {
    return unary("contiguous", this);
  }
  /** A tensor sharing data with this one but cut from the autograd graph. */
  detach(): Tensor {
    return unary("detach", this);
  }

  // ---- reductions ----
  sum(dims: number | number[] = [], keepDim = false): Tensor {
    return reduce("sum", this, dims, keepDim);
  }
  mean(dims: number | number[] = [], keepDim = false): Tensor {
    return reduce("mean", this, dims, keepDim);
  }
  amax(dims: number | number[] = [], keepDim = false): Tensor {
    return reduce("amax", this, dims, keepDim);
  }
  amin(dims: number | number[] = [], keepDim = false): Tensor {
    return reduce("amin", this, dims, keepDim);
  }
  logsumexp(dims: number | number[], keepDim = false): Tensor {
    return reduce("logsumexp", this, dims, keepDim);
  }
  /** Max along a dimension: values and int64 indices. */
  max(dim: number, keepDim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.maxDim(this.handle, dim, keepDim) as [Handle, Handle];
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim?: number, keepDim = false): Tensor {
    return new Tensor(native.argmax(this.handle, dim ?? null, keepDim));
  }
  equal(o: Tensor): boolean {
    return native.equal(this.handle, o.handle);
  }

  // ---- views and shape ----
  reshape(shape: number[]): Tensor {
    return new Tensor(native.reshape(this.handle, shape));
  }
  permute(dims: number[]): Tensor {
    return new Tensor(native.permute(this.handle, dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return new Tensor(native.transpose(this.handle, d0, d1));
  }
  expand(shape: number[]): Tensor {
    return new Tensor(native.expand(this.handle, shape));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, dim));
  }
  /** Elements start..end (exclusive) with a step along dim; negative indices count from the end. */
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    const size = this.shape[dim < 0 ? this.rank + dim : dim];
    return new Tensor(native.slice(this.handle, dim, start, end ?? size, step));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.maskedSelect(this.handle, mask.handle));
  }
  flip(dims: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dims));
  }
  repeat(times: number[]): Tensor {
    return new Tensor(native.repeat(this.handle, times));
  }
  oneHot(numClasses: number): Tensor {
    return new Tensor(native.oneHot(this.handle, numClasses));
  }

  // ---- in-place (use inside noGrad for parameters) ----
  /** this += alpha · o */
  add_(o: Operand, alpha = 1): this {
    native.inplace("add", this.handle, operand(o), alpha);
    return this;
  }
  mul_(o: Operand): this {
    native.inplace("mul", this.handle, operand(o));
    return this;
  }
  /** this += value · a · b */
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    native.inplace("addcmul", this.handle, a.handle, b.handle, value);
    return this;
  }
  /** this += value · a / b */
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    native.inplace("addcdiv", this.handle, a.handle, b.handle, value);
    return this;
  }
  copy_(src: Tensor): this {
    native.inplace("copy", this.handle, src.handle);
    return this;
  }
  zero_(): this {
    native.inplace("zero", this.handle);
    return this;
  }
  fill_(v: number): this {
    native.inplace("fill", this.handle, v);
    return this;
  }
  clamp_(min?: number, max?: number): this {
    native.inplace("clamp", this.handle, min ?? null, max ?? null);
    return this;
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }
  backward(grad?: Tensor, retainGraph = false): void {
    native.backward(this.handle, grad?.handle ?? null, retainGraph);
  }
  /** The accumulated gradient (a new Tensor sharing its storage), or null before any backward. */
  get grad(): Tensor | null {
    const h = native.grad(this.handle) as Handle | null;
    return h === null ? null : new Tensor(h);
  }
  clearGrad(): void {
    native.clearGrad(this.handle);
  }
}

function operand(o: Operand): Handle | number {
  return typeof o === "number" ? o : o.handle;
}
function unary(op: string, t: Tensor): Tensor {
  return new Tensor(native.unary(op, t.handle));
}
function binary(op: string, a: Operand, b: Operand): Tensor {
  return new Tensor(native.binary(op, operand(a), operand(b)));
}
function reduce(op: string, t: Tensor, dims: number | number[], keepDim: boolean): Tensor {
  return new Tensor(native.reduce(op, t.handle, typeof dims === "number" ? [dims] : dims, keepDim));
}

// ---- scopes ----

function collectTensors(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): Set<Tensor> {
  if (value instanceof Tensor) out.add(value);
  else if (value !== null && typeof value === "object" && !seen.has(value)) {
    seen.add(value);
    if (Array.isArray(value)) for (const v of value) collectTensors(v, out, seen);
    else if (value instanceof Map) for (const v of value.values()) collectTensors(v, out, seen);
    else if (Object.getPrototypeOf(value) === Object.prototype)
      for (const v of Object.values(value)) collectTensors(v, out, seen);
  }
  return out;
}

/**
 * Runs fn and frees every tensor it created, except the tensors in its result (found in arrays, plain
 * objects and Maps) and those passed to keep(). Synchronous only: an async fn would let other work's
 * tensors land in this scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T | undefined;
  let ok = false;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error("tidy() needs a synchronous function");
    ok = true;
    return result;
  } finally {
    scopes.pop();
    const survivors = ok ? collectTensors(result, new Set()) : new Set<Tensor>();
    const parent = scopes[scopes.length - 1];
    for (const t of scope) {
      if (survivors.has(t)) parent?.add(t);
      else t.dispose();
    }
  }
}

/** Removes tensors from every open scope so tidy() will not free them; returns its argument. */
export function keep<T>(value: T): T {
  for (const t of collectTensors(value, new Set())) for (const s of scopes) s.delete(t);
  return value;
}

/** Disposes every tensor found in value (arrays, plain objects, Maps). */
export function dispose(value: unknown): void {
  for (const t of collectTensors(value, new Set())) t.dispose();
}

/** Runs fn with autograd recording off (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const before = native.setGradEnabled(false) as boolean;
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error("noGrad() needs a synchronous function");
    return r;
  } finally {
    native.setGradEnabled(before);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
