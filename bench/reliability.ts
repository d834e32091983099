// node --import tsx bench/reliability.ts — how aepsl behaves on bad input, interruption and repetition:
//  1. the bad-input corpus of test/cli-bad-input.test.ts through the library: each case's exact error
//     message (or "accepted"), plus dataset-wide and configuration mistakes;
//  2. the mutation fuzzers of test/fuzz.test.ts: cases and outcome tallies;
//  3. kill/resume: `aepsl train-cls` on samples/voc-mini SIGKILLed after its first checkpoint, resumed,
//     final weights compared bytewise with an uninterrupted run;
//  4. determinism: two identical runs, same comparison (with 1 thread and with every core);
//  5. peak RSS of each stage command (train-cls, cam, mine, pseudo-labels, train-seg) run as its own
//     process on one run folder with a quick configuration.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { openRun } from "../src/cli/run-folder.js";
import { openDataset, validateDataset } from "../src/data/dataset.js";
import { packageRoot } from "../src/engine/native.js";
import { decodeSafetensors } from "../src/engine/safetensors.js";
import { defaultConfig, resolveConfig } from "../src/util/config.js";
import { createLogger } from "../src/util/log.js";
import { writeBenchResults } from "./common.js";
import { writeBadCorpus } from "../test/cli-bad-input.test.js";
import {
  fuzzConfig,
  fuzzDatasetIndex,
  fuzzImages,
  fuzzSafetensors,
  type FuzzTally,
} from "../test/fuzz.test.js";

const COMMAND = "node --import tsx bench/reliability.ts";
// `node --import tsx`, not tsx's own CLI: that one runs the script in a child process, which a SIGKILL of
// the wrapper leaves running (and whose memory the wrapper's peak RSS does not show).
const CLI = ["--import", "tsx", join(packageRoot, "src", "cli", "main.ts")];
const VOC_MINI = join(packageRoot, "samples", "voc-mini");
const { NODE_TEST_CONTEXT: _runner, ...userEnv } = process.env;
const tmp = mkdtempSync(join(tmpdir(), "aepsl-reliability-"));

const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const seconds = (t0: number) => +((performance.now() - t0) / 1000).toFixed(1);
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

// ---- 1. the bad-input corpus ----

interface CaseOutcome {
  case: string;
  what: string;
  expected: "accepted" | "refused";
  outcome: string;
  as_expected: boolean;
}

async function badInput() {
  const data = join(tmp, "bad corpus");
  const cases = await writeBadCorpus(data);
  const t0 = performance.now();
  const ds = await openDataset(data, { split: "train" });
  let fullMessage = "";
  try {
    await validateDataset(ds);
  } catch (err) {
    fullMessage = errorText(err);
  }
  const validateMs = Math.round(performance.now() - t0);
  const { items, skipped } = await validateDataset(await openDataset(data, { split: "train" }), {
    skipBad: true,
  });
  const reasons = new Map(skipped.map((s) => [s.id, s.reason]));
  const outcomes: CaseOutcome[] = cases.map((c) => {
    const reason = reasons.get(c.id);
    const outcome = reason ?? (items.some((it) => it.id === c.id) ? "accepted" : "missing");
    return {
      case: c.id,
      what: c.what,
      expected: c.bad ? "refused" : "accepted",
      outcome: outcome.replaceAll(data, "<data>"),
      as_expected: c.bad ? reason !== undefined && c.error!.test(reason) : outcome === "accepted",
    };
  });

  // Mistakes about the dataset or the configuration as a whole.
  const wide: { case: string; outcome: string }[] = [];
  const attempt = async (name: string, fn: () => Promise<unknown> | unknown) => {
    try {
      await fn();
      wide.push({ case: name, outcome: "accepted" });
    } catch (err) {
      wide.push({ case: name, outcome: errorText(err).replaceAll(data, "<data>").replaceAll(tmp, "<tmp>") });
    }
  };
  await attempt("split file missing (data.trainSplit=holdout)", async () =>
    validateDataset(await openDataset(data, { split: "holdout" })),
  );
  await attempt("dataset folder does not exist", () => openDataset(join(tmp, "no such folder")));
  const json = join(tmp, "bad config.json");
  writeFileSync(
    json,
    JSON.stringify({ classifier: { epochs: "three", cropSize: -5 }, cam: { flip: "yes" } }),
  );
  await attempt("config.json with wrong types", () => resolveConfig({ path: json }));
  const yaml = join(tmp, "bad.yaml");
  writeFileSync(yaml, "classifier:\n  batchSize: 0\nerasing:\n  steps: [1, 2]\n  retrain: scratch\n");
  await attempt("config.yaml with wrong types", () => resolveConfig({ path: yaml }));
  const tab = join(tmp, "tab.yaml");
  writeFileSync(tab, "classifier:\n  epochs: 2\n\tcropSize: 64\n");
  await attempt("config.yaml indented with a tab", () => resolveConfig({ path: tab }));
  await attempt("--set classifier.epochs=0 --set cam.scalse=[1]", () =>
    resolveConfig({ overrides: { "classifier.epochs": "0", "cam.scalse": "[1]" } }),
  );
  const quiet = createLogger({ quiet: true });
  const ctx = (seed: number) => ({
    config: { ...defaultConfig(), seed, data: { ...defaultConfig().data, dir: data } },
    log: quiet,
    out: () => {},
    overrides: [["seed", String(seed)]] as [string, string][],
    program: "aepsl",
    version: "bench",
  });
  const runDir = join(tmp, "reused run");
  await openRun({ out: runDir, create: true }, ctx(1));
  await attempt("run folder reused with a different --set", () =>
    openRun({ out: runDir, create: true }, ctx(2)),
  );
  return {
    dataset: {
      items: cases.length,
      bad: cases.filter((c) => c.bad).length,
      validate_ms: validateMs,
    },
    cases: outcomes,
    dataset_wide: wide,
    full_message: fullMessage.replaceAll(data, "<data>"),
  };
}

// ---- 2. fuzzing ----

async function fuzz() {
  const t0 = performance.now();
  const dir = join(tmp, "fuzz");
  mkdirSync(dir);
  const { jpeg, png } = await fuzzImages(1, dir);
  const dataset = await fuzzDatasetIndex(2);
  const config = fuzzConfig(3, dir);
  const safetensors = fuzzSafetensors(4);
  const tallies: Record<string, FuzzTally> = {
    "JPEG → loadRgb": jpeg,
    "indexed PNG → decodeIndexedPng": png,
    "classes.txt / labels.csv / split → openDataset + validateDataset": dataset,
    "config object → validateConfig": config.structured,
    "config YAML text → parseYaml + validateConfig": config.yaml,
    "config JSON file → resolveConfig": config.json,
    "safetensors → decodeSafetensors": safetensors,
  };
  const total = Object.values(tallies).reduce((a, t) => a + t.cases, 0);
  return { seconds: seconds(t0), total_cases: total, tallies };
}

// ---- CLI runs ----

interface CliRun {
  code: number | null;
  stderr: string;
  seconds: number;
  peak_rss_mb?: number;
}

const TIME = "/usr/bin/time";
const hasTime = existsSync(TIME);
// Without /usr/bin/time, a preloaded module prints the process's own peak RSS as it exits.
const RSS_HOOK =
  "data:text/javascript," +
  encodeURIComponent(
    'process.on("exit", () => process.stderr.write(`\\nmaxrss-kb ${process.resourceUsage().maxRSS}\\n`));',
  );

function cli(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; rss?: boolean; onSpawn?: (kill: () => void) => void } = {},
) {
  return new Promise<CliRun>((done, fail) => {
    const t0 = performance.now();
    const rssFile = join(tmp, `rss-${Math.random().toString(36).slice(2)}.txt`);
    const node = [process.execPath, ...(o.rss && !hasTime ? ["--import", RSS_HOOK] : []), ...CLI, ...args];
    const argv = o.rss && hasTime ? [TIME, "-f", "%M", "-o", rssFile, ...node] : node;
    const child = spawn(argv[0], argv.slice(1), { cwd: packageRoot, env: { ...userEnv, ...o.env } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.stdout.resume();
    child.on("error", fail);
    o.onSpawn?.(() => child.kill("SIGKILL"));
    child.on("close", (code) => {
      let peak: number | undefined;
      if (o.rss && hasTime && existsSync(rssFile))
        peak = Number(readFileSync(rssFile, "utf8").trim().split("\n").at(-1));
      const m = /maxrss-kb (\d+)/.exec(stderr);
      if (o.rss && !hasTime && m) peak = Number(m[1]);
      done({
        code,
        stderr,
        seconds: seconds(t0),
        ...(peak ? { peak_rss_mb: +(peak / 1024).toFixed(0) } : {}),
      });
    });
  });
}

function mustSucceed(r: CliRun, what: string): CliRun {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr}`);
  return r;
}

// ---- 3 + 4. kill/resume and determinism ----

const TRAIN = (out: string) => [
  "train-cls",
  "--data",
  VOC_MINI,
  "--out",
  out,
  "--quiet",
  "--set",
  "classifier.epochs=4",
  "--set",
  "classifier.cropSize=128",
  "--set",
  "classifier.batchSize=4",
  "--set",
  "seed=7",
];

function finalTensors(runDir: string) {
  const dir = join(runDir, "steps", "1", "classifier");
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { file: string; epoch: number };
  return {
    epoch: state.epoch,
    tensors: decodeSafetensors(readFileSync(join(dir, state.file)), state.file).tensors,
  };
}

/** "bit-identical", or how far apart the two runs' final tensors are. */
function compareRuns(a: string, b: string) {
  const ta = finalTensors(a);
  const tb = finalTensors(b);
  let differing = 0;
  let maxAbs = 0;
  let compared = 0;
  for (const [name, x] of Object.entries(ta.tensors)) {
    const y = tb.tensors[name];
    if (!y || y.dtype !== x.dtype) {
      differing++;
      continue;
    }
    compared++;
    const bx = Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    const by = Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    if (bx.equals(by)) continue;
    differing++;
    if (x.dtype === "F32" || x.dtype === "F64") {
      const xs = x.data as Float32Array;
      const ys = y.data as Float32Array;
      for (let i = 0; i < xs.length; i++) maxAbs = Math.max(maxAbs, Math.abs(xs[i] - ys[i]));
    }
  }
  const modelTensors = Object.keys(ta.tensors).filter((k) => k.startsWith("model.")).length;
  return {
    epochs: [ta.epoch, tb.epoch],
    tensors_compared: compared,
    model_tensors: modelTensors,
    differing_tensors: differing,
    result: differing === 0 ? "bit-identical" : `max abs difference ${maxAbs.toExponential(2)}`,
  };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function killResumeAndDeterminism(threads: number) {
  const env = { AEPSL_THREADS: String(threads) };
  const dir = join(tmp, `train-${threads}t`);
  const a = join(dir, "a");
  const b = join(dir, "b");
  const c = join(dir, "c");
  const ra = mustSucceed(await cli(TRAIN(a), { env }), "uninterrupted run");
  mustSucceed(await cli(TRAIN(c), { env }), "second uninterrupted run");

  const state = join(b, "steps", "1", "classifier", "state.json");
  let kill = () => {};
  const killed = cli(TRAIN(b), { env, onSpawn: (k) => (kill = k) });
  await waitFor(() => existsSync(state), 120_000);
  kill();
  const k = await killed;
  const epochAtKill = (JSON.parse(readFileSync(state, "utf8")) as { epoch: number }).epoch;
  await new Promise((r) => setTimeout(r, 2000));
  const epochAfter = (JSON.parse(readFileSync(state, "utf8")) as { epoch: number }).epoch;
  if (k.code !== null || epochAtKill >= 4 || epochAfter !== epochAtKill)
    throw new Error(
      `the kill did not stop training mid-run (exit ${k.code}, epoch ${epochAtKill} → ${epochAfter})`,
    );
  const resumed = mustSucceed(await cli(TRAIN(b), { env: { ...env } }), "resumed run");
  return {
    threads,
    epochs: 4,
    seconds_per_run: ra.seconds,
    kill_resume: {
      killed_with: "SIGKILL",
      exit_code_at_kill: k.code,
      checkpoint_epoch_at_kill: epochAtKill,
      resume_seconds: resumed.seconds,
      ...compareRuns(a, b),
    },
    determinism: compareRuns(a, c),
  };
}

// ---- 5. peak RSS per stage ----

const QUICK = [
  "data.trainSplit=train",
  "data.evalSplit=val",
  "classifier.epochs=1",
  "classifier.cropSize=128",
  "classifier.batchSize=4",
  "cam.scales=[1]",
  "cam.flip=false",
  "erasing.steps=2",
  "erasing.epochsPerStep=1",
  "erasing.stopMapRatio=0",
  "segmentation.epochs=1",
  "segmentation.cropSize=128",
  "segmentation.batchSize=4",
];

async function stageMemory() {
  const out = join(tmp, "stages");
  const rows: { stage: string; peak_rss_mb: number | null; seconds: number }[] = [];
  for (const stage of ["train-cls", "cam", "mine", "pseudo-labels", "train-seg"]) {
    const first = stage === "train-cls" ? ["--data", VOC_MINI, ...QUICK.flatMap((s) => ["--set", s])] : [];
    const r = mustSucceed(await cli([stage, "--out", out, "--quiet", ...first], { rss: true }), stage);
    rows.push({ stage, peak_rss_mb: r.peak_rss_mb ?? null, seconds: r.seconds });
    log(`stage ${stage}: ${r.peak_rss_mb} MB peak RSS, ${r.seconds} s`);
  }
  const idle = await cli(["--version"], { rss: true });
  return {
    images: "45 train + 15 val (samples/voc-mini)",
    config: QUICK,
    baseline_cli_mb: idle.peak_rss_mb,
    stages: rows,
  };
}

// ---- report ----

const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map(
      (r) => `| ${r.map((c) => String(c).replaceAll("|", "\\|").replaceAll("\n", " ")).join(" | ")} |`,
    ),
  ].join("\n");

function topReasons(t: FuzzTally, n = 4): string {
  return Object.entries(t.reasons)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([r, k]) => `${k}× ${r}`)
    .join("; ");
}

async function main(): Promise<void> {
  const t0 = performance.now();
  log("bad-input corpus");
  const bad = await badInput();
  log("fuzzing");
  const fz = await fuzz();
  log(`kill/resume and determinism (${availableParallelism()} threads, then 1)`);
  const runs = [await killResumeAndDeterminism(availableParallelism()), await killResumeAndDeterminism(1)];
  log("peak RSS per stage");
  const memory = await stageMemory();
  rmSync(tmp, { recursive: true, force: true });

  const result = {
    command: COMMAND,
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: availableParallelism(), node: process.version },
    total_seconds: seconds(t0),
    bad_input: bad,
    fuzz: fz,
    training_runs: runs,
    peak_rss: { tool: hasTime ? "/usr/bin/time -f %M" : "process.resourceUsage().maxRSS", ...memory },
  };

  const md = [
    "# Reliability: bad input, fuzzing, interruption, determinism, memory",
    "",
    `${result.date}; ${result.machine.cores} cores (${result.machine.cpu}); Node ${result.machine.node}; ${result.total_seconds} s in all.`,
    "",
    `## Bad-input corpus (${bad.dataset.items} items, ${bad.dataset.bad} bad; openDataset + validateDataset ${bad.dataset.validate_ms} ms)`,
    "",
    "Through `openDataset` + `validateDataset` (the outcome column is the skipBad reason, i.e. the exact error line; without skipBad all of them come in one error).",
    "",
    table(
      ["case", "what", "expected", "outcome", "ok"],
      bad.cases.map((c) => [c.case, c.what, c.expected, c.outcome, c.as_expected ? "yes" : "**NO**"]),
    ),
    "",
    table(
      ["dataset-wide or config mistake", "error"],
      bad.dataset_wide.map((w) => [w.case, w.outcome]),
    ),
    "",
    `## Mutation fuzzing (${fz.total_cases} cases, ${fz.seconds} s; every refusal was the parser's own error type naming the file, key or line)`,
    "",
    table(
      ["input → parser", "cases", "accepted", "refused", "most frequent refusals"],
      Object.entries(fz.tallies).map(([k, t]) => [k, t.cases, t.accepted, t.rejected, topReasons(t)]),
    ),
    "",
    "## Kill/resume and determinism (`aepsl train-cls` on samples/voc-mini, 4 epochs, 128 px crops, batch 4)",
    "",
    table(
      ["threads", "run s", "killed after epoch", "resumed vs uninterrupted", "two identical runs"],
      runs.map((r) => [
        r.threads,
        r.seconds_per_run,
        r.kill_resume.checkpoint_epoch_at_kill,
        `${r.kill_resume.result} (${r.kill_resume.tensors_compared} tensors)`,
        `${r.determinism.result} (${r.determinism.tensors_compared} tensors)`,
      ]),
    ),
    "",
    `## Peak RSS per stage (each stage command its own process on one run folder; ${memory.images}; ${result.peak_rss.tool})`,
    "",
    table(
      ["stage", "peak RSS MB", "seconds"],
      [
        ...memory.stages.map((s) => [s.stage, s.peak_rss_mb ?? "n/a", s.seconds]),
        ["(`aepsl --version`)", memory.baseline_cli_mb ?? "n/a", ""],
      ],
    ),
    "",
    `Quick configuration: ${memory.config.map((s) => `\`${s}\``).join(", ")}.`,
    "",
  ].join("\n");
  writeBenchResults("reliability", result, md);
}

await main();
