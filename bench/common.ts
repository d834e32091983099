// Shared helpers of the benchmarks: medians and result files under bench/results/.
import { join } from "node:path";
import { packageRoot } from "../src/engine/native.js";
import { writeFileAtomicSync } from "../src/util/fs.js";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Writes bench/results/<name>.json and .md and prints where, with the command that reproduces them. */
export function writeBenchResults(name: string, json: { command: string }, markdown: string): void {
  const dir = join(packageRoot, "bench", "results");
  writeFileAtomicSync(join(dir, `${name}.json`), JSON.stringify(json, null, 2) + "\n");
  writeFileAtomicSync(join(dir, `${name}.md`), `${markdown}\nReproduce: \`${json.command}\`\n`);
  console.log(markdown);
  console.log(`wrote bench/results/${name}.json and ${name}.md — reproduce with: ${json.command}`);
}
