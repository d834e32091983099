#!/usr/bin/env bash
# The test command: sets everything up if needed, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# The report's browser test drives Debian's Chromium through playwright-core (a devDependency). Chromium
# is only needed for tests, so it is installed here rather than by setup.sh; when it cannot be installed
# the browser test is skipped with a message instead of failing.
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo -n"
    printf '\033[1m[test]\033[0m installing chromium (apt) for the report browser test\n'
    { $sudo_ apt-get update -qq && \
      $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } ||
      echo "[test] could not install chromium: the report browser test will be skipped" >&2
  else
    echo "[test] chromium not installed (no apt-get/root): the report browser test will be skipped" >&2
  fi
fi

npm test
