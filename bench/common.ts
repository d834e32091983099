// Shared helpers of the benchmarks: medians and result files under bench/results/.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseSets } from "../src/cli/args.js";
import { packageRoot } from "../src/engine/native.js";
import { applyOverrides, defaultConfig, type SegmentationConfig } from "../src/util/config.js";
import { writeFileAtomicSync } from "../src/util/fs.js";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The read-only development data beside the checkout (the VOC subset, the original weight files);
 * AEPSL_SHARED=<dir> points a checkout elsewhere at it.
 */
export const SHARED_DIR = resolve(process.env.AEPSL_SHARED ?? join(packageRoot, "..", "shared"));

/**
 * bench:quality's segmentation settings: the defaults at 2 epochs (the product's 4 would double every
 * row) with BENCH_SEG's `key=value,…` on top, validated like the CLI's --set, PSL off (rows turn it on).
 * "epochs=4" is the only way to another length, so such rows get their own folder (quality-seg-…) and
 * never reuse a 2-epoch network.
 */
export function benchSegmentation(set: string): SegmentationConfig {
  const overrides = sectionOverrides("segmentation", set, "bench:quality (BENCH_SEG)");
  const epochs: [string, string][] = overrides.some(([k]) => k === "segmentation.epochs")
    ? []
    : [["segmentation.epochs", "2"]];
  return { ...applyOverrides(defaultConfig(), [...epochs, ...overrides]).segmentation, psl: false };
}

/** A benchmark's `key=value,…` (BENCH_SEG, BENCH_PSEUDO) as --set pairs under one config section. */
export function sectionOverrides(section: string, set: string, command: string): [string, string][] {
  return parseSets(
    set.split(",").filter((kv) => kv.trim()),
    command,
  ).map(([k, v]): [string, string] => [`${section}.${k}`, v.trim()]);
}

/** Writes bench/results/<name>.json and .md and prints where, with the command that reproduces them. */
export function writeBenchResults(name: string, json: { command: string }, markdown: string): void {
  const dir = join(packageRoot, "bench", "results");
  writeFileAtomicSync(join(dir, `${name}.json`), JSON.stringify(json, null, 2) + "\n");
  writeFileAtomicSync(join(dir, `${name}.md`), `${markdown}\nReproduce: \`${json.command}\`\n`);
  console.log(markdown);
  console.log(`wrote bench/results/${name}.json and ${name}.md — reproduce with: ${json.command}`);
}

/**
 * Before a benchmark rewrites <dir>/<name>.json and .md from the rows it can still read (`stillHere`),
 * copies them to <dir>/history/<name>-<date of the old file>.{json,md} if any of their rows would be lost
 * (measured on a run folder that is gone: another machine, another erasing run), so a rewrite never drops
 * a measurement that the README or a note quotes. Returns the history file's path, or null when nothing
 * would be lost.
 */
export function keepSupersededResults(
  dir: string,
  name: string,
  stillHere: (row: string) => boolean,
): string | null {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) return null;
  const old = JSON.parse(readFileSync(file, "utf8")) as { date?: string; rows?: { name: string }[] };
  if (!(old.rows ?? []).some((r) => !stillHere(r.name))) return null;
  const kept = join(dir, "history", `${name}-${(old.date ?? "undated").slice(0, 10)}`);
  mkdirSync(join(dir, "history"), { recursive: true });
  for (const ext of [".json", ".md"])
    if (existsSync(join(dir, `${name}${ext}`)) && !existsSync(`${kept}${ext}`))
      copyFileSync(join(dir, `${name}${ext}`), `${kept}${ext}`);
  return `${kept}.json`;
}
