// Puts a run on its configured device: resolves config.device ("auto" → CUDA when present), makes it the
// engine's default device (models, batches, CAMs, losses and optimiser state are created there), turns
// amp on or off, and records the resolution in <runDir>/device.json. Image I/O, PNG and the CRF work on
// host typed arrays and never see it.
import { join } from "node:path";
import { resolveDevice, setAmp, setDefaultDevice, type DeviceResolution } from "../engine/device.js";
import type { Config } from "../util/config.js";
import { writeFileAtomic } from "../util/fs.js";

export async function useConfiguredDevice(runDir: string | null, config: Config): Promise<DeviceResolution> {
  const r = resolveDevice(config.device);
  setDefaultDevice(r.device);
  if (config.amp && r.device === "cpu")
    throw new Error(`amp: true needs CUDA, but device "${config.device}" resolved to cpu (${r.reason})`);
  setAmp(config.amp);
  if (runDir) {
    const record = {
      setting: r.setting,
      device: r.device,
      reason: r.reason,
      amp: config.amp,
      cudaBuilt: r.cuda.built,
      cudaAvailable: r.cuda.available,
      gpus: r.cuda.devices,
      at: new Date().toISOString(),
    };
    await writeFileAtomic(join(runDir, "device.json"), `${JSON.stringify(record, null, 2)}\n`);
  }
  return r;
}
