// Loads the libtorch addon. Thread settings must be in the environment before libtorch (and the BLAS it
// links) initialises: OpenBLAS threads otherwise fight libtorch's OpenMP pool and steps get 3–10× slower.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

process.env.OPENBLAS_NUM_THREADS ??= "1";
process.env.OMP_WAIT_POLICY ??= "PASSIVE";
process.env.MKL_NUM_THREADS ??= "1";

/** An opaque native tensor handle (an N-API External holding a torch::Tensor). */
export type Handle = { readonly __brand: "TensorHandle" };

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "native"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`aepsl: cannot find the package root above ${start}`);
    dir = parent;
  }
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
const addonPath = join(packageRoot, "native", "build", "Release", "aepsl.node");
if (!existsSync(addonPath)) {
  throw new Error(
    `aepsl: the native addon is not built (${addonPath} is missing). Run 'make setup' (or 'npm run build:native').`,
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const native: any = createRequire(import.meta.url)(addonPath);

const threads = Number(process.env.AEPSL_THREADS ?? availableParallelism());
native.setNumThreads(Math.max(1, Math.floor(threads)));
