// Prints what the addon needs to build against a libtorch: `include` / `lib` directories, `libs` (the
// -l flags), `defines`, `std` (the C++ standard its headers need) and `cuda` ("1" or "0").
// LIBTORCH=/path overrides Debian's libtorch-dev. It may be an unpacked libtorch (CPU or CUDA, 1.13 or
// 2.x) or the `torch/` folder of a pip-installed PyTorch (same include/ + lib/ layout). CUDA support is
// detected by libtorch_cuda.so beside libtorch_cpu.so; then torch_cuda and c10_cuda are linked too and
// AEPSL_WITH_CUDA is defined (device_ops.cc compiles its CUDA-only parts).
const fs = require("node:fs");
const path = require("node:path");

function detectLibtorch(root) {
  if (!root) {
    return {
      include: ["/usr/include", "/usr/include/torch/csrc/api/include"],
      lib: ["/usr/lib/x86_64-linux-gnu"],
      cuda: fs.existsSync("/usr/lib/x86_64-linux-gnu/libtorch_cuda.so"),
    };
  }
  const lib = path.join(root, "lib");
  const include = path.join(root, "include");
  if (!fs.existsSync(path.join(lib, "libtorch_cpu.so")))
    throw new Error(`LIBTORCH=${root}: no lib/libtorch_cpu.so there (expected an unpacked libtorch or a pip PyTorch's torch/ folder)`);
  if (!fs.existsSync(path.join(include, "torch/csrc/api/include/torch/torch.h")))
    throw new Error(`LIBTORCH=${root}: no include/torch/csrc/api/include/torch/torch.h (a pip PyTorch without headers?)`);
  return {
    include: [include, path.join(include, "torch/csrc/api/include")],
    lib: [lib],
    cuda: fs.existsSync(path.join(lib, "libtorch_cuda.so")),
  };
}

// The major version from torch/version.h (libtorch 2.x moved the defines to torch/headeronly/version.h).
function torchMajorVersion(includeDirs) {
  for (const dir of includeDirs) {
    for (const rel of ["torch/headeronly/version.h", "torch/version.h"]) {
      const file = path.join(dir, rel);
      if (!fs.existsSync(file)) continue;
      const m = /#define\s+TORCH_VERSION_MAJOR\s+(\d+)/.exec(fs.readFileSync(file, "utf8"));
      if (m) return Number(m[1]);
    }
  }
  return null;
}

function buildSettings(root) {
  const d = detectLibtorch(root);
  // libtorch 2.x headers use C++20 (bit-field default initialisers in AutogradState.h); 1.13 is C++17.
  const major = torchMajorVersion(d.include);
  const cudaIncludes = [];
  if (d.cuda) {
    // cuda_runtime_api.h: from CUDA_HOME, a pip nvidia-cuda-runtime wheel beside torch/, or /usr/local/cuda.
    const candidates = [
      process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, "include"),
      // a pip PyTorch's own CUDA runtime wheel first: it matches the CUDA that torch was built with
      root && path.join(root, "../nvidia/cuda_runtime/include"),
      "/usr/local/cuda/include",
    ].filter(Boolean);
    const found = candidates.find((c) => fs.existsSync(path.join(c, "cuda_runtime_api.h")));
    if (found) cudaIncludes.push(found);
  }
  return {
    include: [...d.include, ...cudaIncludes],
    lib: d.lib,
    libs: d.cuda ? ["-ltorch", "-ltorch_cpu", "-lc10", "-ltorch_cuda", "-lc10_cuda"] : ["-ltorch", "-ltorch_cpu", "-lc10"],
    defines: [
      ...(d.cuda ? ["AEPSL_WITH_CUDA"] : []),
      // pip PyTorch wheels before 2.6 use the old C++ ABI; the caller says which (torch._C._GLIBCXX_USE_CXX11_ABI).
      ...(process.env.AEPSL_CXX11_ABI ? [`_GLIBCXX_USE_CXX11_ABI=${process.env.AEPSL_CXX11_ABI}`] : []),
    ],
    std: [major !== null && major >= 2 ? "-std=c++20" : "-std=c++17"],
    cuda: d.cuda,
  };
}

module.exports = { detectLibtorch, buildSettings, torchMajorVersion };

if (require.main === module) {
  const what = process.argv[2];
  const s = buildSettings(process.env.LIBTORCH);
  if (what === "cuda") console.log(s.cuda ? "1" : "0");
  else if (what === "ldflags") console.log([...s.lib.map((d) => `-L${d} -Wl,-rpath,${d}`), ...s.libs].join(" "));
  else if (what in s) console.log(s[what].join(" "));
  else throw new Error(`libtorch-paths.cjs: unknown query '${what}' (include, lib, libs, ldflags, defines, std, cuda)`);
}
