// Devices: where tensors live. "cpu" is the default and costs nothing extra; "cuda"/"cuda:N" needs a
// libtorch built with CUDA (the addon detects one at build time) and a visible GPU.
import { native } from "./native.js";
import { Tensor } from "./tensor.js";

export type Device = "cpu" | "cuda" | `cuda:${number}`;
export type DeviceSetting = "auto" | Device;

const DEVICE_PATTERN = /^(cpu|cuda|cuda:\d+)$/;

export function isDevice(s: string): s is Device {
  return DEVICE_PATTERN.test(s);
}

export interface CudaDeviceInfo {
  index: number;
  name: string;
  /** Bytes of device memory. */
  totalMemory: number;
  capability: string;
}

export interface CudaInfo {
  /** The addon was built against a libtorch with CUDA (libtorch_cuda found at build time). */
  built: boolean;
  /** libtorch sees at least one CUDA GPU. */
  available: boolean;
  deviceCount: number;
  devices: CudaDeviceInfo[];
}

export function cudaInfo(): CudaInfo {
  return native.cudaInfo() as CudaInfo;
}

export interface DeviceResolution {
  setting: DeviceSetting;
  device: Device;
  /** Why this device, in words ("CPU only: libtorch built without CUDA", "NVIDIA H100, 80 GiB"). */
  reason: string;
  cuda: CudaInfo;
}

function cpuReason(cuda: CudaInfo): string {
  return cuda.built ? "no GPU visible" : "CPU only: libtorch built without CUDA";
}

/** The device a setting means on this machine; an explicit CUDA device that is absent is an error. */
export function resolveDevice(setting: DeviceSetting): DeviceResolution {
  const cuda = cudaInfo();
  const gpu = (i: number): string => {
    const d = cuda.devices[i];
    return d ? `${d.name}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB` : `GPU ${i}`;
  };
  if (setting === "cpu") return { setting, device: "cpu", reason: "device: cpu in the configuration", cuda };
  if (setting === "auto") {
    if (cuda.available && cuda.deviceCount > 0) return { setting, device: "cuda:0", reason: gpu(0), cuda };
    return { setting, device: "cpu", reason: cpuReason(cuda), cuda };
  }
  const index = setting === "cuda" ? 0 : Number(setting.slice(5));
  if (!cuda.available)
    throw new Error(`device '${setting}' is not available: ${cpuReason(cuda)} (use device: auto or cpu)`);
  if (index >= cuda.deviceCount)
    throw new Error(`device '${setting}' is not available: ${cuda.deviceCount} CUDA GPU(s) visible`);
  return { setting, device: `cuda:${index}`, reason: gpu(index), cuda };
}

let currentDevice: Device = "cpu";

/**
 * The device creation functions (tensor, zeros, rand, …) use when none is given. Stages set it once from
 * config.device; on "cpu" nothing changes from a CPU-only engine.
 */
export function setDefaultDevice(device: Device): void {
  if (!isDevice(device)) throw new Error(`unknown device '${device}' (cpu, cuda, cuda:N)`);
  if (device !== "cpu") resolveDevice(device);
  currentDevice = device;
}

export function defaultDevice(): Device {
  return currentDevice;
}

/** The device argument for the native creation functions: undefined (CPU, the addon's default) or a string. */
export function deviceArg(device: Device | undefined): Device | undefined {
  const d = device ?? currentDevice;
  return d === "cpu" ? undefined : d;
}

let ampEnabled = false;

/** Turns bf16 autocast for forward passes on or off (CUDA only: on a CPU engine, on = an error). */
export function setAmp(on: boolean): void {
  if (on && !currentDevice.startsWith("cuda"))
    throw new Error("amp: true needs a CUDA device (config.device is cpu here); set amp: false");
  ampEnabled = on;
}

export function ampIsEnabled(): boolean {
  return ampEnabled;
}

/** Runs fn under bf16 autocast when amp is on (parameters stay float32); otherwise just runs fn. */
export function autocast<T>(fn: () => T): T {
  if (!ampEnabled) return fn();
  const before = native.setAutocast(true) as boolean;
  try {
    return fn();
  } finally {
    native.setAutocast(before);
  }
}

/** Waits for queued device work (timing); a no-op on CPU. */
export function synchronize(): void {
  native.synchronize();
}

/** Bytes held by live tensors on a CUDA device (0 without CUDA). */
export function cudaMemoryAllocated(index = 0): number {
  return native.cudaMemoryAllocated(index) as number;
}

/**
 * A forward pass under amp: fn runs under bf16 autocast and its bf16 output is cast back to float32
 * (differentiably), so losses and CAM arithmetic run in float32. Without amp: fn(), untouched.
 */
export function autocastForward<R extends Tensor | Record<string, Tensor>>(fn: () => R): R {
  if (!ampEnabled) return fn();
  const out = autocast(fn);
  const f32 = (t: Tensor): Tensor => {
    if (t.dtype === "float32") return t;
    const c = t.to("float32");
    t.dispose();
    return c;
  };
  if (out instanceof Tensor) return f32(out) as R;
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, f32(t)])) as R;
}
