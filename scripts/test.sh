#!/usr/bin/env bash
# Set up the environments and run every test: bash scripts/test.sh [--stack STACK] [PYTEST_ARGS]
#
# Two stacks are tested (scripts/setup.sh builds each in its own virtual environment):
#   pinned  requirements.txt, in .venv: the versions the series is developed on;
#   colab   requirements-colab.txt, in .venv-colab: Colab's runtime, where learners run it.
# Each stack runs its share of the tests:
#   pinned  1. notebook hygiene: JSON normalized, badges, exercise copies up to date;
#           2. unit tests of utils/ and of the tools (tests/);
#           3. nbval on notebooks/: re-run in quick mode, stored outputs compared strictly
#              (only the patterns in tests/nbval_sanitize.cfg masked);
#   colab   2. the unit tests again, on Colab's versions, with notebook 05's full-mode smoke
#              test (tests/test_notebook05_full.py: full mode on a tiny budget);
#           3. nbval on exercises/02-03, copies learners open in Colab (they keep every stored
#              output but those of the exercise and check cells, whose solutions the unit
#              tests run on both stacks).
# --stack both (the default) runs pinned, then colab, and fails if either fails or cannot
# be built (where Python 3.13 is missing the pinned stack still runs, and the run fails).
# --stack pinned or --stack colab runs that share alone.
# Extra arguments go to pytest, e.g. bash scripts/test.sh --stack colab -k vgg -x
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

stack=both
if [ "${1:-}" = "--stack" ]; then
  stack="${2:-}"
  shift 2 || shift $#
elif [[ "${1:-}" == --stack=* ]]; then
  stack="${1#--stack=}"
  shift
fi

case "$stack" in
  both)
    # Each stack runs in a process of its own, so the two environments never mix. Python
    # 3.13 is looked for first, so that its absence is said before the long pinned run too.
    colab_missing=""
    if ! colab_check="$(CONVNET_STACK=colab CONVNET_SETUP_CHECK_ONLY=1 bash -c 'source "$1/scripts/setup.sh"' _ "$ROOT" 2>&1)"; then
      colab_missing="$colab_check"
      echo "$colab_missing" >&2
    fi
    status=0
    start=$SECONDS
    bash "$ROOT/scripts/test.sh" --stack pinned "$@" || status=$?
    echo "test.sh: pinned stack finished with exit status $status in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
    if [ -n "$colab_missing" ]; then
      echo "$colab_missing" >&2
      echo "test.sh: the colab stack was NOT tested, so this run fails; run 'bash scripts/test.sh --stack pinned' to test the pinned stack alone." >&2
      exit 3
    fi
    colab_status=0
    start=$SECONDS
    bash "$ROOT/scripts/test.sh" --stack colab "$@" || colab_status=$?
    echo "test.sh: colab stack finished with exit status $colab_status in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
    # pytest's 5 is "no tests collected". With pytest options (e.g. -k vgg) one share may
    # select nothing, and only both doing so is 5; without options every share must run tests.
    if [ $# -gt 0 ]; then
      if [ "$status" = 5 ] && [ "$colab_status" = 5 ]; then exit 5; fi
      if [ "$status" = 5 ]; then status=0; fi
      if [ "$colab_status" = 5 ]; then colab_status=0; fi
    fi
    if [ "$status" != 0 ]; then exit "$status"; fi
    exit "$colab_status"
    ;;
  pinned) targets=(tests notebooks) ;;
  # The copies of notebooks 02 and 03: their outputs are compared on Colab's stack too. The
  # copies of 01, 04 and 05 (the step timings of 01, about 11 min of training each in 04 and 05
  # on two cores) are left to the pinned stack's nbval of notebooks/01, 04 and 05, whose cells
  # and outputs they share (tools/nbtools.py exercises --check): with them the CI run would
  # take another 25 minutes. Run them with: bash scripts/test.sh --stack colab exercises
  # Full mode is what a Colab GPU runtime chooses: notebook 05's full-mode smoke test
  # (tests/test_notebook05_full.py, about 7 minutes) runs on Colab's versions, once per run.
  colab) targets=(tests exercises/02_receptive_fields.ipynb exercises/03_residual_blocks.ipynb)
         export CONVNET_FULL_SMOKE="${CONVNET_FULL_SMOKE:-1}" ;;
  *)
    echo "error: expected --stack both, pinned or colab. Received: --stack ${stack:-(nothing)}" >&2
    exit 2
    ;;
esac

export CONVNET_STACK="$stack"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
export CONVNET_MODE=quick          # the stored outputs are those of quick mode
export TF_CPP_MIN_LOG_LEVEL=3   # TensorFlow C++ logs carry timestamps; see the bootstrap block
export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}"  # as `import utils` sets it, for tests that import TensorFlow first
echo "test.sh: $stack stack: $(python -V 2>&1), $(python -c 'import tensorflow as tf, keras, numpy; print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {numpy.__version__}")' 2>/dev/null); pytest ${targets[*]}"
if [ "$stack" = pinned ]; then  # hygiene does not depend on the stack: checked once
  python tools/nbtools.py fmt --check
  python tools/nbtools.py exercises --check
fi
# --durations: every run says where its time went (CI has a budget: README.md, "Two commands").
exec python -m pytest "${targets[@]}" \
  --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
  --nbval-cell-timeout=1800 --durations=25 "$@"
