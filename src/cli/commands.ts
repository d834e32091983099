// The command registry. A stage module registers its command at import time:
//
//   registerCommand({
//     name: "train-cls",
//     summary: "Train the multi-label classifier",
//     options: [{ name: "out", type: "string", valueName: "dir", description: "Run folder", required: true }],
//     examples: ["aepsl train-cls --config run.yaml --out runs/voc"],
//     async run({ options }, ctx) { const { trainClassifier } = await import("../stages/train-cls.js"); ... },
//   });
//
// and src/cli/all-commands.ts imports that module. Keep the engine (and anything importing it) behind an
// `await import()` inside run(), so help and argument errors work without the native addon.
import type { Config } from "../util/config.js";
import type { Logger } from "../util/log.js";
import { GLOBAL_OPTIONS, type OptionSpec, type OptionValues, type PositionalSpec } from "./args.js";

export interface CommandContext {
  /** The resolved configuration: defaults < profile < --config file < --set overrides. */
  config: Config;
  log: Logger;
  /** Writes a command's results to stdout (kept apart from the logs on stderr, so it can be piped). */
  out(text: string): void;
  /** The --config file, if one was given. */
  configPath?: string;
  /** The --set overrides, in order. */
  overrides: [string, string][];
  program: string;
  version: string;
}

export interface CommandArgs<O extends readonly OptionSpec[]> {
  options: OptionValues<O>;
  positionals: string[];
}

export interface CommandSpec<O extends readonly OptionSpec[] = readonly OptionSpec[]> {
  /** kebab-case, e.g. "train-cls". */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Further paragraphs for the command's help page. */
  description?: string;
  options: O;
  positionals?: readonly PositionalSpec[];
  /** Full command lines, e.g. "aepsl info --config run.yaml". */
  examples?: readonly string[];
  /** Returns the exit code (default 0); throwing prints "error: <message>" and exits 1. */
  run(args: CommandArgs<O>, ctx: CommandContext): number | void | Promise<number | void>;
}

const registry = new Map<string, CommandSpec>();
const RESERVED = new Set(["help"]);

/** Adds a command; a bad spec (duplicate names, clashes with global options) throws at import time. */
export function registerCommand<const O extends readonly OptionSpec[]>(spec: CommandSpec<O>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.name))
    throw new Error(`command name ${JSON.stringify(spec.name)} must be kebab-case`);
  if (registry.has(spec.name) || RESERVED.has(spec.name))
    throw new Error(`command "${spec.name}" is already registered`);
  const names = new Set<string>(GLOBAL_OPTIONS.map((o) => o.name));
  const shorts = new Set<string>(GLOBAL_OPTIONS.flatMap((o) => ("short" in o ? [o.short] : [])));
  for (const o of spec.options as readonly OptionSpec[]) {
    if (names.has(o.name) || names.has(`no-${o.name}`)) {
      throw new Error(
        `command "${spec.name}": option --${o.name} is defined twice or clashes with a global option`,
      );
    }
    if (o.short !== undefined && (o.short.length !== 1 || shorts.has(o.short))) {
      throw new Error(`command "${spec.name}": short option -${o.short} is invalid or taken`);
    }
    names.add(o.name);
    if (o.short !== undefined) shorts.add(o.short);
  }
  registry.set(spec.name, spec as unknown as CommandSpec);
}

export function getCommand(name: string): CommandSpec | undefined {
  return registry.get(name);
}

/** Registered commands in registration order (all-commands.ts lists them in pipeline order). */
export function listCommands(): CommandSpec[] {
  return [...registry.values()];
}

/** For tests that register throwaway commands. */
export function unregisterCommand(name: string): boolean {
  return registry.delete(name);
}
