#!/usr/bin/env bash
# Set up the environment and open the series in JupyterLab: bash scripts/lab.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONVNET_STACK=pinned  # JupyterLab is in the pinned stack only (Colab is its own front end)
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
extra=()
# Jupyter refuses to run as root unless told; containers (and CI machines) often are root.
if [ "$(id -u)" = "0" ]; then extra+=(--allow-root); fi
exec jupyter lab notebooks/ "${extra[@]}" "$@"
