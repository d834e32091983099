// Runs the aepsl CLI from source as a user runs it: a separate process, not a child of the test runner.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
export const CLI_MAIN = join(REPO, "src", "cli", "main.ts");
const { NODE_TEST_CONTEXT: _runner, ...userEnv } = process.env;
/** The user's environment without the test runner's marker, one libtorch thread. */
export const CLI_ENV = { ...userEnv, AEPSL_THREADS: "1" };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI_MAIN, ...args], {
      cwd: REPO,
      env: CLI_ENV,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
