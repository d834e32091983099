// Run-folder rules shared by the pipeline commands: a new run saves its resolved config; an existing
// run resumes with the config it was started with; --force starts over.
import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  formatConfigJson,
  requireDataDir,
  saveResolvedConfig,
  validateConfig,
  type Config,
} from "../util/config.js";
import { readJson } from "../stages/run-dir.js";
import type { CommandContext } from "./commands.js";

export interface OpenRunOptions {
  out: string;
  data?: string;
  force?: boolean;
  /** Refuse to reuse a non-empty folder that is not an aepsl run. */
  create: boolean;
}

export async function openRun(
  o: OpenRunOptions,
  ctx: CommandContext,
): Promise<{ runDir: string; config: Config }> {
  const runDir = resolve(o.out);
  let config = ctx.config;
  if (o.data) config = { ...config, data: { ...config.data, dir: o.data } };
  if (config.data.dir) config = { ...config, data: { ...config.data, dir: resolve(config.data.dir) } };
  const savedPath = join(runDir, "config.json");
  if (o.force && existsSync(runDir)) {
    if (existsSync(runDir) && readdirSync(runDir).length && !existsSync(savedPath))
      throw new Error(`${runDir} is not an aepsl run folder (no config.json): refusing to delete it`);
    await rm(runDir, { recursive: true, force: true });
  }
  if (existsSync(savedPath)) {
    const saved = validateConfig(readJson(savedPath), savedPath);
    const asked = ctx.configPath || ctx.overrides.length || o.data;
    // Checkpoints are device-neutral: a run may resume on another device (--set device=cpu) or with amp
    // switched, so those two keys do not count as a different configuration.
    config = { ...config, device: asked ? config.device : saved.device, amp: asked ? config.amp : saved.amp };
    const devicesOf = (c: Config) => ({ ...c, device: config.device, amp: config.amp });
    // A run refused before any stage started (e.g. on a dataset problem) may be retried with new settings.
    const started = existsSync(join(runDir, "dataset.json"));
    if (asked && !started && formatConfigJson(saved) !== formatConfigJson(config)) {
      requireDataDir(config);
      await saveResolvedConfig(runDir, config);
      ctx.log.setRunDir(runDir);
      ctx.log.info(`${runDir}: no stage had started; using the new configuration`);
      return { runDir, config };
    }
    if (asked && formatConfigJson(devicesOf(saved)) !== formatConfigJson(config))
      throw new Error(
        `${runDir} was started with a different configuration (${savedPath}); ` +
          "resume it without --config/--set/--data, choose a new --out, or start over with --force",
      );
    ctx.log.setRunDir(runDir);
    ctx.log.info(`resuming ${runDir}`);
    return { runDir, config: devicesOf(saved) };
  }
  if (!o.create) throw new Error(`${runDir}: not an aepsl run folder (no config.json)`);
  if (existsSync(runDir) && readdirSync(runDir).length)
    throw new Error(
      `${runDir} exists and is not an aepsl run: choose another --out (or --force to replace it)`,
    );
  requireDataDir(config);
  await saveResolvedConfig(runDir, config);
  ctx.log.setRunDir(runDir);
  return { runDir, config };
}
