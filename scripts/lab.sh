#!/usr/bin/env bash
# Set up the environment and open the series in JupyterLab: bash scripts/lab.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec jupyter lab notebooks/ "$@"
