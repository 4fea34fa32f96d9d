#!/usr/bin/env bash
# System packages that `make setup` needs, installed only when missing.
#
#   chromium  the browser the e2e tests and benchmarks drive (Playwright cannot download its own here)
#   ffmpeg    makes the short test video
#   curl      the collector tests drive it as an independent HTTP client
#   node/npm  installs and runs the browser runtimes (Pyodide, PyScript, MicroPython)
#
# Node.js is often installed from NodeSource, whose `nodejs` package already contains npm and
# conflicts with Debian's `npm`: apt is asked for nodejs/npm only when neither node nor npm
# works.  With node present but npm missing nothing apt offers is safe, so we stop and say so.
#
# Only bash builtins and apt-get are used, so a test can run this with a fake apt-get on PATH.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

packages=()
reasons=()
need() { packages+=("$1"); reasons+=("$2"); }

have chromium || need chromium "chromium (e2e tests, benchmarks)"
have ffmpeg || need ffmpeg "ffmpeg (test video)"
have curl || need curl "curl (collector tests)"
if ! have node && ! have npm; then
  need nodejs "nodejs (browser runtimes)"
  need npm "npm (browser runtimes)"
elif ! have npm; then
  echo "ERROR: node is installed but npm is not. Install npm the way node was installed" \
       "(NodeSource's nodejs package includes npm); Debian's npm would conflict with it." >&2
  exit 1
elif ! have node; then
  echo "ERROR: npm is installed but node is not: reinstall Node.js (nodejs package)." >&2
  exit 1
fi

if ((${#packages[@]})); then
  why=$(printf '%s; ' "${reasons[@]}")
  echo "setup: apt-get install ${packages[*]} (missing: ${why%; })"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

missing=()
for c in chromium ffmpeg curl node npm; do have "$c" || missing+=("$c"); done
if ((${#missing[@]})); then
  echo "ERROR: still missing after set-up: ${missing[*]}" >&2
  exit 1
fi
