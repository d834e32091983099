#!/usr/bin/env bash
# Installs what aepsl needs and builds it; safe to run again (each step is skipped when already done).
#   - Debian's libtorch-dev (and OpenBLAS, the fast BLAS it then uses) unless LIBTORCH=/path is set
#   - npm packages (npm ci), the native addon (node-gyp), the TypeScript build
#   (playwright-core, for the report's browser test, comes with npm ci; that test's Chromium is installed
#   by scripts/test.sh, since only the tests need it)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "[setup] need root (or sudo) to run: $*" >&2; exit 1
  fi
}

apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "[setup] apt-get is not available: install $* with your package manager," >&2
    echo "        or point LIBTORCH at an unpacked libtorch (https://pytorch.org) and rerun." >&2
    exit 1
  fi
  say "installing $* (apt)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "[setup] aepsl needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

need=()
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
if [ -z "${LIBTORCH:-}" ]; then
  [ -f /usr/include/torch/csrc/api/include/torch/torch.h ] || need+=(libtorch-dev)
  # Debian's libtorch links the generic libblas.so.3; OpenBLAS provides a fast one.
  ls /usr/lib/x86_64-linux-gnu/libopenblas*.so* /usr/lib/*/libopenblas*.so* >/dev/null 2>&1 || need+=(libopenblas0)
elif [ ! -d "$LIBTORCH/include/torch" ]; then
  echo "[setup] LIBTORCH=$LIBTORCH does not look like a libtorch folder (no include/torch)" >&2
  exit 1
fi
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  # onnxruntime-node's post-install would download CUDA files (and fail offline); its CPU build ships in
  # the package itself, so the download is skipped.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

addon=native/build/Release/aepsl.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null)" ] || \
   [ "${LIBTORCH:-system}" != "$(cat native/build/.libtorch 2>/dev/null)" ]; then
  say "building the native addon (libtorch: ${LIBTORCH:-Debian libtorch-dev}; about a minute)"
  npx node-gyp rebuild --nodedir="${NODEDIR:-/usr}" --directory native -j 2 --loglevel=error >/dev/null
  echo "${LIBTORCH:-system}" > native/build/.libtorch
fi

if [ ! -f dist/.stamp ] || [ -n "$(find src bench tsconfig.json -newer dist/.stamp -name '*.ts' -o -newer dist/.stamp -name '*.json' 2>/dev/null | head -1)" ]; then
  say "compiling TypeScript"
  npx tsc -p tsconfig.json
  touch dist/.stamp
fi
say "ready"
