// The run folder: every stage reads and writes its own sub-folder and marks it finished with DONE.json,
// so `aepsl run` resumes by skipping finished stages (as IRN's stage runner does).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs.js";
import { StageInterrupted } from "../util/interrupt.js";

export function isDone(stageDir: string): boolean {
  return existsSync(join(stageDir, "DONE.json"));
}

export async function markDone(stageDir: string, summary: Record<string, unknown>): Promise<void> {
  await writeFileAtomic(
    join(stageDir, "DONE.json"),
    JSON.stringify({ finished: new Date().toISOString(), ...summary }, null, 2),
  );
}

export function readDone<T = Record<string, unknown>>(stageDir: string): T {
  return JSON.parse(readFileSync(join(stageDir, "DONE.json"), "utf8")) as T;
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

export function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    throw new Error(`${path}: cannot read JSON (${(err as Error).message})`);
  }
}

/** Folder of erasing step t (1-based): its classifier, CAMs and mined regions. */
export const stepDir = (runDir: string, t: number): string => join(runDir, "steps", String(t));

/**
 * `<run>/timings.json`: seconds per stage, and under ERASING_PARTS the erasing stage's own parts
 * ("step 1 train-cls", "step 1 cams", "step 1 mining", …), which its "erasing" entry already includes.
 */
export type RunTimings = Record<string, number | Record<string, number>>;
export const ERASING_PARTS = "erasing parts";

/**
 * Times a stage into `into[name]` (seconds, added to what earlier runs of the folder spent) and rewrites
 * `path` with `timings`, which holds `into`. A stage stopped by Ctrl-C/SIGTERM (StageInterrupted) keeps
 * the time it spent, so a resumed run's timings.json holds all its work; one that fails writes nothing
 * (a dataset refused up front leaves the run folder empty).
 */
export function stageTimer(path: string, timings: RunTimings, into: Record<string, number>) {
  const record = async (name: string, t0: number) => {
    into[name] = (into[name] ?? 0) + (performance.now() - t0) / 1000;
    await writeJson(path, timings);
  };
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (err instanceof StageInterrupted) await record(name, t0);
      throw err;
    }
    await record(name, t0);
    return result;
  };
}
