#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install the pinned
# requirements. Sourced by scripts/lab.sh and scripts/test.sh; safe to run again: pip
# only runs when requirements.txt changed since the last successful install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${CONVNET_VENV:-$ROOT/.venv}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON was not found. Install Python 3.10-3.12 (or set PYTHON=/path/to/python)." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating the virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing the pinned requirements (first run: a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
  echo "$want" > "$stamp"
fi

# Graphviz's `dot` draws the model diagrams (keras.utils.plot_model). It is a system
# program, not a pip package: install it where we can, explain where we cannot.
if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Graphviz with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null
  else
    echo "warning: Graphviz's 'dot' is missing, so model diagrams cannot be drawn." >&2
    echo "  Debian/Ubuntu: sudo apt-get install graphviz   macOS: brew install graphviz" >&2
    echo "  Windows: winget install graphviz (or choco install graphviz), then reopen the shell" >&2
  fi
fi

# Datasets: the offline mirror beside the checkout, when there is one and nothing else was chosen.
if [ -z "${CONVNET_DATA_DIR:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  export CONVNET_DATA_DIR="$(cd "$ROOT/../shared/data" && pwd)"
fi
export PATH="$VENV/bin:$PATH"
