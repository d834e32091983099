#!/usr/bin/env node
// The `aepsl` entry point: finds the command, parses its flags, resolves the configuration, runs it.
// Exit codes: 0 success, 1 error, 2 usage error (unknown command or bad flags).
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { resolveConfig } from "../util/config.js";
import { installInterruptHandler, StageInterrupted } from "../util/interrupt.js";
import { createLogger } from "../util/log.js";
import type { ProgressStream } from "../util/progress.js";
import { didYouMean } from "../util/suggest.js";
import "./all-commands.js";
import {
  findCommand,
  formatCommandHelp,
  formatGlobalOptions,
  formatTable,
  GLOBAL_OPTIONS,
  parseArgs,
  parseSets,
  UsageError,
  camelCase,
  type OptionSpec,
} from "./args.js";
import { getCommand, listCommands, type CommandSpec } from "./commands.js";

const PROGRAM = "aepsl";

export interface CliIo {
  /** Command results (default process.stdout). */
  stdout: (text: string) => void;
  /** Logs, progress, errors (default process.stderr). */
  stderr: ProgressStream;
  /** Where AEPSL_THREADS is set from config.threads (default process.env). */
  env: NodeJS.ProcessEnv;
}

/** The package version, from the package.json above this file (src/cli or dist/src/cli). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === PROGRAM) return pkg.version ?? "0.0.0";
    }
    const parent = dirname(dir);
    if (parent === dir) return "0.0.0";
    dir = parent;
  }
}

export function formatMainHelp(version: string): string {
  const rows: [string, string][] = listCommands().map((c) => [c.name, c.summary]);
  rows.push(["help", "Show help for a command"]);
  return (
    [
      `${PROGRAM} ${version}: weakly-supervised semantic segmentation from image-level tags (AE-PSL)`,
      `Usage: ${PROGRAM} <command> [arguments] [options]`,
      `Commands:\n${formatTable(rows)}`,
      `Global options:\n${formatGlobalOptions()}`,
      [
        `Run '${PROGRAM} help <command>' or '${PROGRAM} <command> --help' for a command's options.`,
        `Any configuration key can be set with --set key=value; '${PROGRAM} info --keys' lists them.`,
        `Exit codes: 0 success, 1 error, 2 usage error.`,
      ].join("\n"),
    ].join("\n\n") + "\n"
  );
}

function helpFor(cmd: CommandSpec): string {
  return formatCommandHelp({ program: PROGRAM, ...cmd });
}

function unknownCommand(name: string): UsageError {
  const guess = didYouMean(name, [...listCommands().map((c) => c.name), "help"]);
  return new UsageError([
    `unknown command "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}; run '${PROGRAM} --help' for the list`,
  ]);
}

/** Runs the CLI on argv (without node and the script) and returns the exit code; never throws. */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const stdout = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const flags = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  const verbose = flags.includes("--verbose");
  const version = packageVersion();
  let commandName: string | undefined;

  try {
    const found = findCommand(argv);
    const wantsHelp = flags.includes("--help") || flags.includes("-h");
    if (!found) {
      // Surface unknown or malformed global flags before anything else.
      const parsed = parseArgs(argv, { options: GLOBAL_OPTIONS });
      if (parsed.options.help) return (stdout(formatMainHelp(version)), 0);
      if (parsed.options.version) return (stdout(`${PROGRAM} ${version}\n`), 0);
      stderr.write(formatMainHelp(version));
      return 2;
    }
    commandName = found.name;
    const rest = [...argv.slice(0, found.index), ...argv.slice(found.index + 1)];

    if (found.name === "help") {
      const target = rest.find((a) => !a.startsWith("-"));
      if (target === undefined) return (stdout(formatMainHelp(version)), 0);
      const cmd = getCommand(target);
      if (!cmd) throw unknownCommand(target);
      stdout(helpFor(cmd));
      return 0;
    }

    const cmd = getCommand(found.name);
    if (!cmd) throw unknownCommand(found.name);
    if (wantsHelp) return (stdout(helpFor(cmd)), 0);

    const parsed = parseArgs(rest, {
      options: [...GLOBAL_OPTIONS, ...(cmd.options as readonly OptionSpec[])],
      positionals: cmd.positionals,
      command: cmd.name,
    });
    const g = parsed.options as {
      config?: string;
      set: string[];
      quiet: boolean;
      verbose: boolean;
      version: boolean;
    };
    if (g.version) return (stdout(`${PROGRAM} ${version}\n`), 0);
    const overrides = parseSets(g.set, cmd.name);
    const config = resolveConfig({ path: g.config, overrides });
    // libtorch reads its thread count when the engine is first imported, which commands do lazily.
    if (config.threads > 0) env.AEPSL_THREADS = String(config.threads);

    const own: Record<string, unknown> = {};
    for (const o of cmd.options as readonly OptionSpec[]) {
      const key = camelCase(o.name);
      own[key] = (parsed.options as Record<string, unknown>)[key];
    }
    const log = createLogger({ quiet: g.quiet, verbose: g.verbose, stream: stderr });
    installInterruptHandler((signal) =>
      log.warn(`${signal}: stopping after the current step with a checkpoint (again to quit at once)`),
    );
    const code = await cmd.run(
      { options: own as never, positionals: parsed.positionals },
      { config, log, out: stdout, configPath: g.config, overrides, program: PROGRAM, version },
    );
    return typeof code === "number" ? code : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      for (const p of err.problems) stderr.write(`error: ${p}\n`);
      const cmd = err.command ?? (commandName && getCommand(commandName) ? commandName : undefined);
      if (cmd) stderr.write(`Run '${PROGRAM} ${cmd} --help' for usage.\n`);
      return 2;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    // A run stopped by Ctrl-C with its work saved (a checkpoint, or the finished images of a per-image
    // stage): not an error, but not a success either (130 = SIGINT).
    if (e instanceof StageInterrupted) {
      stderr.write(`${e.message}\n`);
      return 130;
    }
    stderr.write(`error: ${e.message}\n`);
    if (verbose && e.stack) stderr.write(`${e.stack}\n`);
    return 1;
  }
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    // realpath: npm's bin link is a symlink to this file.
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  // `aepsl info | head` closes stdout early: that's not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await runCli(process.argv.slice(2));
}
