// The development and CI machines keep their read-only data (Google's TFLite files, the U²-Netp ONNX file
// and its reference pair) in ../shared beside the checkout; AEPSL_SHARED=<dir> points a checkout elsewhere
// (a clone in /tmp) at it. Tests that read it fail, not skip, when it is missing: it is part of the
// environment, and a skip would hide the conversion tests.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO } from "./cli.js";

export const SHARED_DIR = resolve(process.env.AEPSL_SHARED ?? join(REPO, "..", "shared"));

/** Throws one error naming the missing files and how to point the tests at the shared folder (a bare ENOENT
 * from deep in a reader said neither). Call it in a suite's `before` hook (each test of it fails with the message)
 * or first in a test. */
export function requireSharedFiles(paths: readonly string[]): void {
  const missing = paths.filter((path) => !existsSync(path));
  if (missing.length === 0) return;
  throw new Error(
    `missing from the shared folder ${SHARED_DIR}: ${missing.join(", ")}. These tests read the read-only ` +
      `shared folder beside the checkout (../shared); set AEPSL_SHARED=<dir> to point a checkout elsewhere at it.`,
  );
}
