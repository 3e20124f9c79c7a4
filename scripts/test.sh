#!/usr/bin/env bash
# Set up the environment and run every test: bash scripts/test.sh
#   1. notebook hygiene: JSON normalized, badges, exercise copies up to date;
#   2. unit tests of utils/ and of the tools (tests/);
#   3. nbval: every notebook and its exercise copy re-run in quick mode, stored
#      outputs compared strictly (only the patterns in tests/nbval_sanitize.cfg masked).
# Extra arguments go to pytest, e.g. bash scripts/test.sh -k vgg
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
export CONVNET_MODE=quick          # the stored outputs are those of quick mode
export TF_CPP_MIN_LOG_LEVEL=3   # TensorFlow C++ logs carry timestamps; see the bootstrap block
python tools/nbtools.py fmt --check
python tools/nbtools.py exercises --check
exec python -m pytest tests notebooks exercises \
  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
  --nbval-cell-timeout=1800 "$@"
