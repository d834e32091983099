// A small argv parser driven by per-command option specs, and the help text generated from them.
// Syntax: <command> [positionals] [--flag value | --flag=value | --bool | --no-bool] [--set key=value ...]
import { didYouMean } from "../util/suggest.js";

export type OptionType = "string" | "number" | "boolean" | "string[]";

export interface OptionSpec {
  /** The flag without dashes, kebab-case ("out-dir"); the parsed value is under the camelCase key (outDir). */
  readonly name: string;
  readonly type: OptionType;
  readonly description: string;
  readonly default?: string | number | boolean | readonly string[];
  readonly required?: boolean;
  /** A one-letter alias: "o" for -o. */
  readonly short?: string;
  /** The placeholder in help and errors: --out <dir>. Default by type: <value>, <n>, <item>. */
  readonly valueName?: string;
  /** The only values a string option takes. */
  readonly choices?: readonly string[];
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** Takes all remaining arguments (last positional only). */
  readonly variadic?: boolean;
}

type ValueType<T extends OptionType> = T extends "string"
  ? string
  : T extends "number"
    ? number
    : T extends "boolean"
      ? boolean
      : string[];

type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

// Booleans default to false and lists to []; other options may be absent unless required or defaulted.
type ValueOf<S extends OptionSpec> = S["type"] extends "boolean" | "string[]"
  ? ValueType<S["type"]>
  : S extends { required: true } | { default: unknown }
    ? ValueType<S["type"]>
    : ValueType<S["type"]> | undefined;

/** The parsed values of a list of specs, keyed by camelCased name and typed by each spec. */
export type OptionValues<O extends readonly OptionSpec[]> = {
  [S in O[number] as CamelCase<S["name"]>]: ValueOf<S>;
};

export interface ParsedArgs<O extends readonly OptionSpec[]> {
  options: OptionValues<O>;
  positionals: string[];
}

/** Problems with the command line itself (exit code 2); all found in one pass are reported together. */
export class UsageError extends Error {
  constructor(
    readonly problems: string[],
    /** The command whose help to point at, if known. */
    readonly command?: string,
  ) {
    super(problems.join("\n"));
    this.name = "UsageError";
  }
}

/** Options every command takes. */
export const GLOBAL_OPTIONS = [
  {
    name: "config",
    type: "string",
    valueName: "file",
    description: "Pipeline configuration file (JSON or YAML); defaults when not given",
  },
  {
    name: "set",
    type: "string[]",
    valueName: "key=value",
    description: "Override one configuration key, e.g. --set classifier.epochs=3 (repeatable)",
  },
  { name: "quiet", short: "q", type: "boolean", description: "Print only warnings, errors and summaries" },
  { name: "verbose", type: "boolean", description: "Print debug messages, and stack traces with errors" },
  { name: "help", short: "h", type: "boolean", description: "Show help" },
  { name: "version", type: "boolean", description: "Show the version" },
] as const satisfies readonly OptionSpec[];

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function valueName(o: OptionSpec): string {
  return o.valueName ?? (o.type === "number" ? "n" : o.type === "string[]" ? "item" : "value");
}

const isNumeric = (s: string): boolean => s.trim() !== "" && Number.isFinite(Number(s));

/**
 * Parses argv (the command name already removed) against option and positional specs. Throws a
 * UsageError listing every problem: unknown flags (with a suggestion), missing values, wrong types,
 * values outside choices, missing required options or arguments, extra arguments.
 */
export function parseArgs<const O extends readonly OptionSpec[]>(
  argv: readonly string[],
  spec: { options: O; positionals?: readonly PositionalSpec[]; command?: string },
): ParsedArgs<O> {
  const options: readonly OptionSpec[] = spec.options;
  const byName = new Map(options.map((o) => [o.name, o]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o]));
  const values = new Map<string, unknown>();
  const positionals: string[] = [];
  const problems: string[] = [];
  let unknownFlags = false;

  const flagNames = (): string[] => [
    ...options.map((o) => `--${o.name}`),
    ...options.filter((o) => o.type === "boolean").map((o) => `--no-${o.name}`),
  ];

  function assign(o: OptionSpec, flag: string, raw: string): void {
    if (o.type === "number") {
      if (!isNumeric(raw)) problems.push(`${flag}: expected a number, got ${JSON.stringify(raw)}`);
      else values.set(o.name, Number(raw));
    } else if (o.type === "string[]") {
      values.set(o.name, [...((values.get(o.name) as string[] | undefined) ?? []), raw]);
    } else if (o.choices && !o.choices.includes(raw)) {
      const list = o.choices.map((c) => JSON.stringify(c)).join(", ");
      problems.push(`${flag}: expected one of ${list}, got ${JSON.stringify(raw)}`);
    } else {
      values.set(o.name, raw);
    }
  }

  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let o: OptionSpec | undefined;
    let flag: string;
    let inline: string | undefined;
    let negated = false;
    if (tok.startsWith("--")) {
      const eq = tok.indexOf("=");
      const name = eq >= 0 ? tok.slice(2, eq) : tok.slice(2);
      inline = eq >= 0 ? tok.slice(eq + 1) : undefined;
      flag = `--${name}`;
      o = byName.get(name);
      if (!o && name.startsWith("no-") && byName.has(name.slice(3))) {
        o = byName.get(name.slice(3))!;
        if (o.type !== "boolean") {
          problems.push(`${flag}: only on/off options can be negated (--${o.name} takes a value)`);
          continue;
        }
        negated = true;
      }
      if (!o) {
        const guess = didYouMean(flag, flagNames());
        problems.push(`unknown option ${flag}${guess ? ` (did you mean ${guess}?)` : ""}`);
        unknownFlags = true;
        continue;
      }
    } else if (tok.startsWith("-") && tok.length > 1 && !isNumeric(tok)) {
      flag = tok;
      o = tok.length === 2 ? byShort.get(tok[1]!) : undefined;
      if (!o) {
        const long = byName.has(tok.slice(1)) ? `--${tok.slice(1)}` : didYouMean(tok, flagNames());
        problems.push(`unknown option ${tok}${long ? ` (did you mean ${long}?)` : ""}`);
        unknownFlags = true;
        continue;
      }
    } else {
      positionals.push(tok);
      continue;
    }

    if (o.type === "boolean") {
      if (inline === undefined) values.set(o.name, !negated);
      else if (negated) problems.push(`${flag}: takes no value`);
      else if (/^(true|yes|on|1)$/i.test(inline)) values.set(o.name, true);
      else if (/^(false|no|off|0)$/i.test(inline)) values.set(o.name, false);
      else problems.push(`${flag}: expected true or false, got ${JSON.stringify(inline)}`);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      // A following flag means the value was forgotten; "-" and negative numbers are values.
      if (next === undefined || next.startsWith("--")) {
        problems.push(`${flag}: missing value (expected ${flag} <${valueName(o)}>)`);
        continue;
      }
      raw = next;
      i++;
    }
    assign(o, flag, raw);
  }

  const out: Record<string, unknown> = {};
  for (const o of options) {
    let v = values.get(o.name);
    if (v === undefined) {
      if (o.required) problems.push(`missing required option --${o.name} <${valueName(o)}>`);
      v = Array.isArray(o.default)
        ? [...o.default]
        : (o.default ?? (o.type === "boolean" ? false : o.type === "string[]" ? [] : undefined));
    }
    out[camelCase(o.name)] = v;
  }

  // After an unknown flag its value would show up here as an "unexpected argument": don't pile on.
  if (!unknownFlags) {
    const specs = spec.positionals ?? [];
    const variadic = specs.length > 0 && specs[specs.length - 1]!.variadic === true;
    for (let k = positionals.length; k < specs.length; k++) {
      if (specs[k]!.required) problems.push(`missing argument <${specs[k]!.name}>`);
    }
    if (!variadic && positionals.length > specs.length) {
      const extra = positionals.slice(specs.length).map((p) => JSON.stringify(p));
      problems.push(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.join(" ")}`);
    }
  }

  if (problems.length > 0) throw new UsageError(problems, spec.command);
  return { options: out as OptionValues<O>, positionals };
}

/** ["a.b=1", ...] from --set into [key, value] pairs; a value may itself contain "=". */
export function parseSets(sets: readonly string[], command?: string): [string, string][] {
  const problems: string[] = [];
  const pairs: [string, string][] = [];
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) problems.push(`--set: expected key=value, got ${JSON.stringify(s)}`);
    else pairs.push([s.slice(0, eq).trim(), s.slice(eq + 1)]);
  }
  if (problems.length > 0) throw new UsageError(problems, command);
  return pairs;
}

/**
 * Where the command name is in argv: the first argument that is neither a flag nor the value of a global
 * flag before it. Command-specific flags go after the command.
 */
export function findCommand(argv: readonly string[]): { index: number; name: string } | undefined {
  const takesValue = new Set(GLOBAL_OPTIONS.filter((o) => o.type !== "boolean").map((o) => `--${o.name}`));
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === "--") return undefined;
    if (tok.startsWith("-") && tok.length > 1) {
      if (takesValue.has(tok)) i++;
      continue;
    }
    return { index: i, name: tok };
  }
  return undefined;
}

// ---- help text ----

const WIDTH = 80;

/** Word-wraps text to width, indenting continuation lines (and the first, if first is true). */
export function wrap(text: string, width: number, indent: number, first = false): string {
  const pad = " ".repeat(indent);
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/\s+/).filter(Boolean)) {
      const limit = width - (lines.length === 0 && !first ? 0 : indent);
      if (line && line.length + 1 + word.length > limit) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines.map((l, k) => (k === 0 && !first ? l : pad + l)).join("\n");
}

function optionLeft(o: OptionSpec): string {
  const short = o.short ? `-${o.short}, ` : "";
  if (o.type === "boolean") return `${short}--${o.default === true ? "[no-]" : ""}${o.name}`;
  return `${short}--${o.name} <${valueName(o)}>`;
}

function optionRight(o: OptionSpec): string {
  const notes: string[] = [];
  if (o.choices) notes.push(`one of: ${o.choices.join(", ")}`);
  if (o.required) notes.push("required");
  if (o.type === "string[]" && !/repeatable/.test(o.description)) notes.push("repeatable");
  if (o.default !== undefined && o.type !== "boolean") notes.push(`default: ${JSON.stringify(o.default)}`);
  if (o.default === true) notes.push("on by default");
  return notes.length > 0 ? `${o.description} (${notes.join("; ")})` : o.description;
}

/** Two columns: names on the left, wrapped descriptions on the right (below, if a name is long). */
export function formatTable(rows: [string, string][], maxLeft = 28): string {
  const left = Math.min(maxLeft, Math.max(0, ...rows.map(([l]) => l.length)));
  const col = 2 + left + 2;
  return rows
    .map(([l, r]) => {
      const desc = wrap(r, WIDTH, col);
      return l.length <= left ? `  ${l.padEnd(left)}  ${desc}` : `  ${l}\n${" ".repeat(col)}${desc}`;
    })
    .join("\n");
}

export interface HelpSpec {
  program: string;
  name: string;
  summary: string;
  description?: string;
  options: readonly OptionSpec[];
  positionals?: readonly PositionalSpec[];
  examples?: readonly string[];
}

/** The help page of one command: usage line, description, arguments, options, global options, examples. */
export function formatCommandHelp(spec: HelpSpec): string {
  const pos = (spec.positionals ?? []).map((p) => {
    const n = `${p.name}${p.variadic ? "..." : ""}`;
    return p.required ? `<${n}>` : `[${n}]`;
  });
  const usage = [spec.program, spec.name, ...(spec.options.length > 0 ? ["[options]"] : []), ...pos].join(
    " ",
  );
  const parts = [`Usage: ${usage}`, wrap(spec.summary, WIDTH, 0)];
  if (spec.description) parts.push(wrap(spec.description, WIDTH, 0));
  if (spec.positionals && spec.positionals.length > 0) {
    parts.push(`Arguments:\n${formatTable(spec.positionals.map((p) => [`<${p.name}>`, p.description]))}`);
  }
  if (spec.options.length > 0) {
    parts.push(`Options:\n${formatTable(spec.options.map((o) => [optionLeft(o), optionRight(o)]))}`);
  }
  parts.push(`Global options:\n${formatTable(GLOBAL_OPTIONS.map((o) => [optionLeft(o), optionRight(o)]))}`);
  if (spec.examples && spec.examples.length > 0) {
    parts.push(`Examples:\n${spec.examples.map((e) => `  ${e}`).join("\n")}`);
  }
  return `${parts.join("\n\n")}\n`;
}

/** Lines for the option specs of the global options (for the main help). */
export function formatGlobalOptions(): string {
  return formatTable(GLOBAL_OPTIONS.map((o) => [optionLeft(o), optionRight(o)]));
}
