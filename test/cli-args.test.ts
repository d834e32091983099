import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import {
  findCommand,
  formatCommandHelp,
  GLOBAL_OPTIONS,
  parseArgs,
  parseSets,
  UsageError,
  wrap,
  type OptionSpec,
} from "../src/cli/args.js";
import { registerCommand, unregisterCommand } from "../src/cli/commands.js";
import { runCli } from "../src/cli/main.js";
import type { ProgressStream } from "../src/util/progress.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const SPEC = [
  { name: "out-dir", type: "string", valueName: "dir", description: "Where to write", required: true },
  { name: "epochs", type: "number", description: "Epochs", default: 5 },
  { name: "lr", type: "number", description: "Learning rate" },
  { name: "flip", type: "boolean", description: "Flip images", default: true },
  { name: "dry-run", type: "boolean", short: "n", description: "Do nothing" },
  { name: "class", type: "string[]", valueName: "name", description: "Only these classes" },
  { name: "background", type: "string", choices: ["cam", "saliency"], description: "Background source" },
] as const satisfies readonly OptionSpec[];

/** The problems of the UsageError that fn throws. */
function usageProblems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${err}`);
    return err.problems;
  }
  assert.fail("expected a UsageError");
}

describe("parseArgs", () => {
  it("parses every syntax into typed, camelCased options", () => {
    const r = parseArgs(
      [
        "data",
        "--out-dir",
        "runs/a",
        "--epochs=3",
        "--lr",
        "-0.5",
        "--no-flip",
        "-n",
        "--class",
        "cat",
        "--class=dog",
      ],
      { options: SPEC, positionals: [{ name: "data", description: "Dataset", required: true }] },
    );
    // Compile-time check of the inferred types: required/defaulted options are never undefined.
    const out: string = r.options.outDir;
    const epochs: number = r.options.epochs;
    const lr: number | undefined = r.options.lr;
    const classes: string[] = r.options.class;
    assert.deepEqual(
      { out, epochs, lr, classes },
      { out: "runs/a", epochs: 3, lr: -0.5, classes: ["cat", "dog"] },
    );
    assert.equal(r.options.flip, false);
    assert.equal(r.options.dryRun, true);
    assert.equal(r.options.background, undefined);
    assert.deepEqual(r.positionals, ["data"]);
  });

  it("fills defaults: the spec's, false for booleans, [] for lists", () => {
    const r = parseArgs(["--out-dir=x"], { options: SPEC });
    assert.deepEqual(r.options, {
      outDir: "x",
      epochs: 5,
      lr: undefined,
      flip: true,
      dryRun: false,
      class: [],
      background: undefined,
    });
  });

  it("accepts --bool=value, last-wins repeats, '-' and negative numbers as values, and -- to end flags", () => {
    const r = parseArgs(
      [
        "--out-dir",
        "-",
        "--flip=false",
        "--dry-run=yes",
        "--epochs",
        "2",
        "--epochs",
        "4",
        "-3",
        "--",
        "--not-a-flag",
      ],
      { options: SPEC, positionals: [{ name: "rest", description: "", variadic: true }] },
    );
    assert.equal(r.options.outDir, "-");
    assert.equal(r.options.flip, false);
    assert.equal(r.options.dryRun, true);
    assert.equal(r.options.epochs, 4);
    assert.deepEqual(r.positionals, ["-3", "--not-a-flag"]);
  });

  it("reports unknown flags with a suggestion", () => {
    assert.deepEqual(
      usageProblems(() => parseArgs(["--out-dir=x", "--epoch", "3"], { options: SPEC })),
      ["unknown option --epoch (did you mean --epochs?)"],
    );
    assert.deepEqual(
      usageProblems(() => parseArgs(["--out-dir=x", "--no-flp"], { options: SPEC })),
      ["unknown option --no-flp (did you mean --no-flip?)"],
    );
    assert.deepEqual(
      usageProblems(() => parseArgs(["--out-dir=x", "-epochs", "3", "-x"], { options: SPEC })),
      ["unknown option -epochs (did you mean --epochs?)", "unknown option -x"],
    );
    assert.deepEqual(
      usageProblems(() => parseArgs(["--zzz"], { options: [] })),
      ["unknown option --zzz"],
    );
  });

  it("reports missing values, wrong types and values outside the choices", () => {
    assert.deepEqual(
      usageProblems(() =>
        parseArgs(
          [
            "--out-dir",
            "--epochs",
            "five",
            "--flip=maybe",
            "--background",
            "sky",
            "--no-lr",
            "--no-flip=1",
            "--class",
          ],
          {
            options: SPEC,
          },
        ),
      ),
      [
        "--out-dir: missing value (expected --out-dir <dir>)",
        '--epochs: expected a number, got "five"',
        '--flip: expected true or false, got "maybe"',
        '--background: expected one of "cam", "saliency", got "sky"',
        "--no-lr: only on/off options can be negated (--lr takes a value)",
        "--no-flip: takes no value",
        "--class: missing value (expected --class <name>)",
        "missing required option --out-dir <dir>",
      ],
    );
    assert.deepEqual(
      usageProblems(() => parseArgs(["--lr="], { options: [SPEC[2]] })),
      ['--lr: expected a number, got ""'],
    );
  });

  it("checks positionals: missing required ones and extras", () => {
    const positionals = [
      { name: "data", description: "", required: true },
      { name: "out", description: "", required: true },
    ];
    assert.deepEqual(
      usageProblems(() => parseArgs([], { options: [], positionals })),
      ["missing argument <data>", "missing argument <out>"],
    );
    assert.deepEqual(
      usageProblems(() => parseArgs(["a", "b", "c", "d"], { options: [], positionals })),
      ['unexpected arguments "c" "d"'],
    );
    assert.deepEqual(
      usageProblems(() => parseArgs(["x"], { options: [] })),
      ['unexpected argument "x"'],
    );
  });

  it("does not pile an 'unexpected argument' on an unknown flag's value", () => {
    assert.deepEqual(
      usageProblems(() => parseArgs(["--bogus", "value"], { options: [] })),
      ["unknown option --bogus"],
    );
  });

  it("keeps the command on the error for the help hint", () => {
    assert.throws(
      () => parseArgs(["--x"], { options: [], command: "info" }),
      (e: Error) => e instanceof UsageError && e.command === "info",
    );
  });
});

describe("parseSets and findCommand", () => {
  it("splits key=value at the first '='", () => {
    assert.deepEqual(parseSets(["classifier.epochs=3", "data.dir=/a=b", "cam.scales= 1, 2"]), [
      ["classifier.epochs", "3"],
      ["data.dir", "/a=b"],
      ["cam.scales", " 1, 2"],
    ]);
    assert.deepEqual(
      usageProblems(() => parseSets(["classifier.epochs", "=3"])),
      ['--set: expected key=value, got "classifier.epochs"', '--set: expected key=value, got "=3"'],
    );
  });

  it("finds the command after global flags and their values", () => {
    assert.deepEqual(findCommand(["info"]), { index: 0, name: "info" });
    assert.deepEqual(findCommand(["--config", "x.json", "-q", "--set", "a=b", "info", "p"]), {
      index: 5,
      name: "info",
    });
    assert.deepEqual(findCommand(["--config=x.json", "info"]), { index: 1, name: "info" });
    assert.equal(findCommand(["--help"]), undefined);
    assert.equal(findCommand(["--", "info"]), undefined);
  });
});

describe("help text", () => {
  it("shows usage, options with their notes, global options and examples", () => {
    const help = formatCommandHelp({
      program: "aepsl",
      name: "train-cls",
      summary: "Train the classifier",
      description: "A longer description.",
      options: SPEC,
      positionals: [{ name: "data", description: "Dataset folder", required: true }],
      examples: ["aepsl train-cls data --out-dir runs/a"],
    });
    assert.ok(
      help.startsWith(
        "Usage: aepsl train-cls [options] <data>\n\nTrain the classifier\n\nA longer description.\n",
      ),
    );
    assert.match(help, /\nArguments:\n {2}<data> {2}Dataset folder\n/);
    assert.match(help, /\n {2}--out-dir <dir> +Where to write \(required\)\n/);
    assert.match(help, /\n {2}--epochs <n> +Epochs \(default: 5\)\n/);
    assert.match(help, /\n {2}--\[no-\]flip +Flip images \(on by default\)\n/);
    assert.match(help, /\n {2}-n, --dry-run +Do nothing\n/);
    assert.match(help, /\n {2}--class <name> +Only these classes \(repeatable\)\n/);
    assert.match(help, /\n {2}--background <value> +Background source \(one of: cam, saliency\)\n/);
    for (const o of GLOBAL_OPTIONS) assert.ok(help.includes(`--${o.name}`));
    assert.ok(help.endsWith("Examples:\n  aepsl train-cls data --out-dir runs/a\n"));
  });

  it("wraps long text", () => {
    const text = wrap("word ".repeat(30).trim(), 20, 4);
    for (const line of text.split("\n")) assert.ok(line.length <= 20, line);
    assert.ok(text.split("\n")[1]!.startsWith("    word"));
  });
});

// ---- the entry point, in-process ----

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const stderr: ProgressStream = { write: (s: string) => err.push(s), isTTY: false };
  const env: NodeJS.ProcessEnv = {};
  return {
    io: { stdout: (s: string) => void out.push(s), stderr, env },
    out: () => out.join(""),
    err: () => err.join(""),
    env,
  };
}

async function cli(...argv: string[]) {
  const t = io();
  const code = await runCli(argv, t.io);
  return { code, out: t.out(), err: t.err(), env: t.env };
}

describe("runCli", () => {
  const tmp = mkdtempSync(join(tmpdir(), "aepsl-cli-"));
  let seen: unknown;
  registerCommand({
    name: "t-echo",
    summary: "Test command that shows what it got",
    options: [
      { name: "count", type: "number", description: "A number", default: 1 },
      { name: "out-dir", type: "string", description: "A folder" },
    ],
    positionals: [{ name: "items", description: "Anything", variadic: true }],
    run(args, ctx) {
      seen = { options: args.options, positionals: args.positionals, epochs: ctx.config.classifier.epochs };
      ctx.log.info("to stderr");
      ctx.log.debug("debug line");
      ctx.out("to stdout\n");
      return args.options.count === 7 ? 3 : undefined;
    },
  });
  registerCommand({
    name: "t-fail",
    summary: "Test command that throws",
    options: [],
    run() {
      throw new Error("boom");
    },
  });
  after(() => {
    unregisterCommand("t-echo");
    unregisterCommand("t-fail");
    rmSync(tmp, { recursive: true, force: true });
  });

  it("lists commands on --help and help, and shows the version", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const r = await cli(...argv);
      assert.equal(r.code, 0);
      assert.match(r.out, /^aepsl \d+\.\d+\.\d+: /);
      assert.match(r.out, /\nCommands:\n {2}info +Show the engine/);
      assert.match(r.out, /\n {2}t-echo +Test command/);
      assert.equal(r.err, "");
    }
    const v = await cli("--version");
    assert.match(v.out, /^aepsl \d+\.\d+\.\d+\n$/);
  });

  it("prints the help to stderr with exit code 2 when no command is given", async () => {
    const r = await cli();
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    assert.match(r.err, /Commands:/);
    const bad = await cli("--bogus");
    assert.equal(bad.code, 2);
    assert.equal(bad.err, "error: unknown option --bogus\n");
  });

  it("shows a command's help with help <cmd> and <cmd> --help (even beside bad flags)", async () => {
    const a = await cli("help", "info");
    const b = await cli("info", "--help", "--bogus");
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    assert.equal(a.out, b.out);
    assert.match(a.out, /^Usage: aepsl info \[options\]\n/);
    assert.match(a.out, /--keys/);
  });

  it("suggests a command for a typo and exits 2", async () => {
    const r = await cli("inof");
    assert.equal(r.code, 2);
    assert.equal(
      r.err,
      `error: unknown command "inof" (did you mean "info"?); run 'aepsl --help' for the list\n`,
    );
    const h = await cli("help", "t-ehco");
    assert.equal(h.code, 2);
    assert.match(h.err, /did you mean "t-echo"/);
  });

  it("reports flag errors with a pointer to the command's help and exits 2", async () => {
    const r = await cli("t-echo", "--cout", "3", "--set", "nokey");
    assert.equal(r.code, 2);
    assert.equal(
      r.err,
      "error: unknown option --cout (did you mean --count?)\nRun 'aepsl t-echo --help' for usage.\n",
    );
    const s = await cli("t-echo", "--set", "nokey");
    assert.equal(
      s.err,
      `error: --set: expected key=value, got "nokey"\nRun 'aepsl t-echo --help' for usage.\n`,
    );
  });

  it("passes the command its own options, positionals and the resolved config", async () => {
    const cfg = join(tmp, "run.json");
    writeFileSync(cfg, JSON.stringify({ classifier: { epochs: 2 }, threads: 3 }));
    const r = await cli(
      "--config",
      cfg,
      "t-echo",
      "a",
      "--out-dir",
      "o",
      "b",
      "--set",
      "classifier.epochs=4",
    );
    assert.equal(r.code, 0);
    assert.deepEqual(seen, { options: { count: 1, outDir: "o" }, positionals: ["a", "b"], epochs: 4 });
    assert.equal(r.out, "to stdout\n");
    assert.equal(r.err, "to stderr\n");
    assert.equal(r.env.AEPSL_THREADS, "3", "config.threads reaches libtorch through the environment");

    const q = await cli("t-echo", "-q", "--count", "7");
    assert.equal(q.code, 3, "a returned number is the exit code");
    assert.equal(q.err, "");
    const v = await cli("t-echo", "--verbose");
    assert.equal(v.err, "to stderr\ndebug: debug line\n");
  });

  it("prints config errors and command errors as 'error: ...' with exit code 1; stacks only with --verbose", async () => {
    const c = await cli("t-echo", "--set", "classifier.epochs=x", "--set", "erasing.retrain=scratch");
    assert.equal(c.code, 1);
    assert.equal(
      c.err,
      "error: invalid configuration (--set):\n" +
        '  - classifier.epochs: expected a positive integer, got "x"\n' +
        '  - erasing.retrain: expected one of "imagenet", "fine-tune", got "scratch"\n',
    );
    const missing = await cli("t-echo", "--config", join(tmp, "nope.json"));
    assert.equal(missing.code, 1);
    assert.equal(missing.err, `error: ${join(tmp, "nope.json")}: config file not found\n`);

    const f = await cli("t-fail");
    assert.equal(f.code, 1);
    assert.equal(f.err, "error: boom\n");
    const fv = await cli("t-fail", "--verbose");
    assert.match(fv.err, /^error: boom\nError: boom\n {4}at /);
  });

  it("info --keys lists the configuration keys without loading the engine", async () => {
    const r = await cli("info", "--keys");
    assert.equal(r.code, 0);
    assert.match(r.out, /\n {2}classifier\.epochs +a positive integer \(default: 5\)\n/);
  });

  const addonBuilt = existsSync(join(root, "native", "build", "Release", "aepsl.node"));
  it(
    "info shows the engine and the merged config",
    { skip: !addonBuilt && "native addon not built" },
    async () => {
      const r = await cli("info", "--json", "--set", "classifier.epochs=3", "--set", "profile=quick");
      assert.equal(r.code, 0, r.err);
      const obj = JSON.parse(r.out);
      assert.match(obj.engine.torchVersion, /^\d+\.\d+/);
      assert.equal(obj.configSource, "--set");
      assert.equal(obj.config.classifier.epochs, 3);
      assert.equal(obj.config.classifier.cropSize, 160);
      const text = await cli("info", "--set", "seed=4");
      assert.match(text.out, /\nengine: libtorch \d+\.\d+\.\d+, \d+ threads?, SIMD \S+\n/);
      assert.match(
        text.out,
        /\nconfig \(--set, profile "default"\):\n\{\n {2}"profile": "default",\n {2}"seed": 4,/,
      );
    },
  );

  it("rejects bad command specs at registration", () => {
    const base = { summary: "", run() {} };
    assert.throws(() => registerCommand({ ...base, name: "info", options: [] }), /already registered/);
    assert.throws(() => registerCommand({ ...base, name: "help", options: [] }), /already registered/);
    assert.throws(() => registerCommand({ ...base, name: "Bad_Name", options: [] }), /kebab-case/);
    assert.throws(
      () =>
        registerCommand({
          ...base,
          name: "t-x",
          options: [{ name: "config", type: "string", description: "" }],
        }),
      /clashes with a global option/,
    );
    assert.throws(
      () =>
        registerCommand({
          ...base,
          name: "t-y",
          options: [{ name: "v", short: "q", type: "boolean", description: "" }],
        }),
      /-q is invalid or taken/,
    );
  });
});

// ---- the real executable ----

describe("aepsl executable", () => {
  const run = promisify(execFile);
  const aepsl = (...args: string[]) =>
    run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  it("runs --help and reports a bad --set value", async () => {
    const [help, bad] = await Promise.all([aepsl("--help"), aepsl("info", "--set", "classifier.epochs=x")]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Commands:\n {2}info /);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.equal(
      bad.stderr,
      'error: invalid configuration (--set):\n  - classifier.epochs: expected a positive integer, got "x"\n',
    );
  });
});
