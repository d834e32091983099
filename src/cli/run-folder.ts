// Run-folder rules shared by the pipeline commands: a new run saves its resolved config; an existing
// run resumes with the config it was started with; --force starts over.
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
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
  checkRunLock(runDir); // before --force may delete a folder another process is writing
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
      lockRunDir(runDir);
      return { runDir, config };
    }
    if (asked && formatConfigJson(devicesOf(saved)) !== formatConfigJson(config))
      throw new Error(
        `${runDir} was started with a different configuration (${savedPath}); ` +
          "resume it without --config/--set/--data, choose a new --out, or start over with --force",
      );
    ctx.log.setRunDir(runDir);
    lockRunDir(runDir);
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
  lockRunDir(runDir);
  ctx.log.setRunDir(runDir);
  return { runDir, config };
}

// ---- one writer per run folder ----
// <run>/run.lock holds the pid of the process writing the folder. A second command on the folder refuses
// at once, naming that process; a lock whose process is gone (a killed run) is taken over, so resuming
// after SIGKILL works. Removed when the process exits.

export const LOCK_FILE = "run.lock";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

/** Throws when another live process holds runDir's lock. */
export function checkRunLock(runDir: string): void {
  const path = join(runDir, LOCK_FILE);
  let held: { pid?: unknown; command?: unknown; started?: unknown };
  try {
    held = JSON.parse(readFileSync(path, "utf8")) as typeof held;
  } catch {
    return; // no lock, or a half-written one from a killed process
  }
  const pid = typeof held.pid === "number" ? held.pid : NaN;
  if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid))
    throw new Error(
      `${runDir} is in use by process ${pid}` +
        `${typeof held.command === "string" ? ` (${held.command})` : ""}` +
        `${typeof held.started === "string" ? `, started ${held.started}` : ""}; ` +
        `wait for it to finish or stop it (${path})`,
    );
}

const held = new Set<string>();

/** Takes runDir's lock for this process (after checkRunLock); released when the process exits. */
export function lockRunDir(runDir: string): void {
  checkRunLock(runDir);
  const path = join(runDir, LOCK_FILE);
  mkdirSync(runDir, { recursive: true });
  const body = JSON.stringify({
    pid: process.pid,
    command: process.argv.slice(2).join(" "),
    started: new Date().toISOString(),
  });
  try {
    writeFileSync(path, body, { flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    checkRunLock(runDir); // another process may have taken it between the two checks
    writeFileSync(path, body); // stale: its process is gone
  }
  if (held.has(runDir)) return;
  held.add(runDir);
  if (held.size === 1)
    process.once("exit", () => {
      for (const dir of held) {
        try {
          const mine = (JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")) as { pid?: number }).pid;
          if (mine === process.pid) unlinkSync(join(dir, LOCK_FILE));
        } catch {
          // already gone (e.g. the folder was deleted)
        }
      }
    });
}
