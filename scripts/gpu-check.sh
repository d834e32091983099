#!/usr/bin/env bash
# scripts/gpu-check.sh — the device check of issue #13, for a machine with one NVIDIA GPU and a pip PyTorch.
#
# NOT RUN YET: written on a machine without a GPU (CPU-only libtorch, no CUDA). Nothing it measures has
# been measured; a session with a GPU runs it and reports what it wrote.
#
# What it does (about 5 minutes on one modern GPU, each step under its own timeout, 8 minutes in all):
#   1. builds the addon against the pip PyTorch's libtorch (LIBTORCH=<site-packages>/torch, torch_cuda linked)
#   2. `aepsl info` (CUDA available? GPU name and memory)
#   3. the engine tests, which must run their "on cuda" variants (a skip there is a failure here)
#   4. bench:engine with BENCH_DEVICE=cuda: aepsl vs PyTorch eager, same GPU, same model, one run, ratio
#   5. `aepsl demo` (the bundled samples/voc-mini pipeline) on cuda, fp32 and then amp (bf16), timed, with
#      each run's final losses and mIoU for the amp-vs-fp32 comparison
# Everything goes into one folder: $OUT if set (the device tool's output folder), else gpu-check/<date>/.
#
# Such a machine may have no Node.js and no network. Prepare what it needs HERE, on the development
# machine, in an ignored folder of the repository that travels with the working tree:
#     bash scripts/gpu-check.sh --pack      # writes .gpu-carry/: node.xz (a copy of $(command -v node),
#                                           # xz-compressed to fit the carry limit), node's headers, and
#                                           # node_modules.tar.xz (runtime + build deps, no ONNX runtimes)
# then on the GPU machine, from the repository root (node is unpacked into .gpu-carry/node if absent;
# or give your own with NODE=/path/to/node):
#     PYTHON=python3 bash scripts/gpu-check.sh
# (the device tool: run with carry [".gpu-carry"] and that command). PYTHON must import torch (CUDA build)
# and torchvision (bench:engine's PyTorch side); g++ and make must be present for node-gyp.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CARRY="$ROOT/.gpu-carry"

if [[ "${1:-}" == "--pack" ]]; then
  mkdir -p "$CARRY/nodedir/include"
  # xz-compressed (node is ~95 MB, the device tool carries 64 MiB in all); unpacked on arrival by python.
  [[ -f "$CARRY/node.xz" && "$CARRY/node.xz" -nt "$(readlink -f "$(command -v node)")" ]] ||
    xz -9 -T2 -c "$(readlink -f "$(command -v node)")" >"$CARRY/node.xz"
  nodeinc=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node
  [[ -d "$nodeinc" ]] || nodeinc=/usr/include/node
  # The addon uses N-API only: node's headers without the 53 MB of OpenSSL ones.
  rm -rf "$CARRY/nodedir/include/node" && mkdir -p "$CARRY/nodedir/include/node"
  (cd "$nodeinc" && tar -cf - --exclude=openssl .) | tar -xf - -C "$CARRY/nodedir/include/node"
  # The big optional packages (ONNX runtimes, the browser driver, formatters) stay behind.
  tar -cJf "$CARRY/node_modules.tar.xz" --exclude='node_modules/onnxruntime-node' \
    --exclude='node_modules/onnxruntime-web' --exclude='node_modules/playwright-core' \
    --exclude='node_modules/prettier' --exclude='node_modules/typescript' node_modules
  du -sh "$CARRY"
  exit 0
fi

PYTHON=${PYTHON:-python3}
if [[ -z "${NODE:-}" && ! -x "$(command -v node || true)" && -f "$CARRY/node.xz" ]]; then
  "$PYTHON" -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
    "$CARRY/node.xz" "$CARRY/node" && chmod +x "$CARRY/node"
  NODE="$CARRY/node"
fi
NODE=$(readlink -f "${NODE:-$(command -v node || true)}")
[[ -x "$NODE" ]] || { echo "gpu-check: no Node.js: set NODE=/path/to/node (see this script's header)" >&2; exit 2; }
RESULTS=${OUT:-$ROOT/gpu-check/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$RESULTS"
export PATH="$(dirname "$NODE"):$PATH" OPENBLAS_NUM_THREADS=1
summary="$RESULTS/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }
step() { # step <name> <seconds> <command...>: runs with a timeout, log in $RESULTS/<name>.log, wall time noted
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s.%N) rc=0
  timeout "$limit" "$@" >"$RESULTS/$name.log" 2>&1 || rc=$?
  note "$name: rc $rc, $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s"
  return $rc
}

if [[ ! -d node_modules && -f "$CARRY/node_modules.tar.xz" ]]; then
  "$PYTHON" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall('.')" "$CARRY/node_modules.tar.xz"
fi
NODEDIR=${NODEDIR:-$CARRY/nodedir}
[[ -d "$NODEDIR/include/node" ]] || NODEDIR=/usr

TORCH_DIR=$("$PYTHON" -c "import os, torch; print(os.path.dirname(torch.__file__))")
ABI=$("$PYTHON" -c "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))")
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" | tee -a "$summary"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$summary" 2>&1 || true
[[ -f "$TORCH_DIR/lib/libtorch_cuda.so" ]] || { note "gpu-check: $TORCH_DIR/lib has no libtorch_cuda.so (a CPU PyTorch?)"; exit 2; }

# 1. the addon against the pip PyTorch (LIBTORCH=torch/, its include/ and lib/; C++ ABI as torch was built)
export LIBTORCH="$TORCH_DIR" AEPSL_CXX11_ABI="$ABI"
step build 240 "$NODE" node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir="$NODEDIR" --directory native -j "$(nproc)"
export LD_LIBRARY_PATH="$TORCH_DIR/lib:${LD_LIBRARY_PATH:-}"

# 2. what the engine sees
step info 30 "$NODE" --import tsx src/cli/main.ts info --json || true
cp "$RESULTS/info.log" "$RESULTS/info.json" 2>/dev/null || true

# 3. engine tests on cuda: every "on cuda" test must run (a skip means the GPU was not used)
step engine-tests 90 "$NODE" --import tsx --test --test-reporter=spec test/engine-device.test.ts test/engine-tensor.test.ts \
  test/engine-grad.test.ts test/engine-memory.test.ts test/engine-optim.test.ts || true
if grep -q "no CUDA device" "$RESULTS/engine-tests.log"; then note "engine-tests: CUDA variants were SKIPPED"; fi

# 4. bench:engine on the GPU (writes bench/results/engine-cuda0.*; copied here)
export BENCH_DEVICE=cuda:0 BENCH_PYTHON="$(command -v "$PYTHON")"
step bench-engine 150 "$NODE" --import tsx bench/engine.ts || true
cp bench/results/engine-cuda0.* "$RESULTS/" 2>/dev/null || true

# 5. the demo pipeline on the GPU, fp32 then amp (bf16); compare with the 2-core CPU demo (~3 min, README)
for mode in fp32 amp; do
  amp=false; [[ $mode == amp ]] && amp=true
  step "demo-$mode" 120 "$NODE" --import tsx src/cli/main.ts demo --out "$RESULTS/demo-$mode" --force \
    --set device=cuda:0 --set amp=$amp || true
  "$NODE" -e '
    const fs = require("fs"), path = require("path"), dir = process.argv[1];
    const walk = (d) => fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]) : [];
    const files = walk(dir);
    const out = { device: files.find((f) => f.endsWith("device.json")), losses: {}, miou: {} };
    for (const f of files.filter((f) => f.endsWith("state.json")))
      try { const s = JSON.parse(fs.readFileSync(f, "utf8")); const m = s.metrics ?? [];
        if (m.length) out.losses[path.relative(dir, f)] = m[m.length - 1].loss; } catch {}
    for (const f of files.filter((f) => /eval.*\.json$/.test(f)))
      try { const s = JSON.parse(fs.readFileSync(f, "utf8")); if (s.mIoU ?? s.miou) out.miou[path.relative(dir, f)] = s.mIoU ?? s.miou; } catch {}
    if (out.device) out.device = JSON.parse(fs.readFileSync(out.device, "utf8"));
    console.log(JSON.stringify(out, null, 2));' "$RESULTS/demo-$mode" >"$RESULTS/demo-$mode.json" 2>&1 || true
  cp "$RESULTS/demo-$mode/timings.json" "$RESULTS/demo-$mode-timings.json" 2>/dev/null || true
  rm -rf "$RESULTS/demo-$mode/report" # keep the folder small; the metrics stay
done

note "results in $RESULTS"
