// The run logger: short human lines on stderr, and a timestamped record in <runDir>/log.txt.
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

import {
  progress,
  writeAboveProgress,
  type ProgressBar,
  type ProgressOptions,
  type ProgressStream,
} from "./progress.js";

export type Level = "debug" | "info" | "warn" | "error";

export interface LoggerOptions {
  /** When set, every message (debug included) is appended to <runDir>/log.txt. */
  runDir?: string;
  /** Only warnings, errors and progress summaries on stderr. */
  quiet?: boolean;
  /** Debug messages on stderr too. */
  verbose?: boolean;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Clock for the file's timestamps; default the real one. */
  now?: () => Date;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Starts (or moves) the file record to <runDir>/log.txt, for commands that pick their run folder late. */
  setRunDir(runDir: string): void;
  readonly logFile: string | undefined;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** A progress bar on the logger's stream that honours quiet; its plain lines and summary also go to the file. */
  progress(opts: Omit<ProgressOptions, "stream">): ProgressBar;
}

const PREFIX: Record<Level, string> = { debug: "debug: ", info: "", warn: "warning: ", error: "error: " };

export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const quiet = opts.quiet ?? false;
  const verbose = opts.verbose ?? false;
  const now = opts.now ?? (() => new Date());
  let logFile: string | undefined;

  function toFile(level: Level, message: string): void {
    if (!logFile) return;
    const stamp = now().toISOString();
    const tag = level.toUpperCase().padEnd(5);
    const text = message
      .split("\n")
      .map((line) => `${stamp} ${tag} ${line}\n`)
      .join("");
    try {
      appendFileSync(logFile, text);
    } catch (err) {
      // A full disk shouldn't end a long run; say so once and keep going without the file.
      const failed = logFile;
      logFile = undefined;
      writeAboveProgress(stream, () =>
        stream.write(`warning: cannot write ${failed} (${(err as Error).message}); file logging stopped\n`),
      );
    }
  }

  function log(level: Level, message: string): void {
    toFile(level, message);
    const show = level === "warn" || level === "error" || (level === "info" ? !quiet : verbose && !quiet);
    if (show) writeAboveProgress(stream, () => stream.write(`${PREFIX[level]}${message}\n`));
  }

  function setRunDir(runDir: string): void {
    mkdirSync(runDir, { recursive: true });
    logFile = join(runDir, "log.txt");
  }
  if (opts.runDir !== undefined) setRunDir(opts.runDir);

  return {
    debug: (m) => log("debug", m),
    info: (m) => log("info", m),
    warn: (m) => log("warn", m),
    error: (m) => log("error", m),
    setRunDir,
    get logFile() {
      return logFile;
    },
    quiet,
    verbose,
    progress: (p) =>
      progress({
        ...p,
        stream,
        quiet: p.quiet ?? quiet,
        onLine: (line) => {
          toFile("info", line);
          p.onLine?.(line);
        },
      }),
  };
}
