#!/usr/bin/env bash
# Set up the environments and run every test: bash scripts/test.sh [--stack STACK] [PYTEST_ARGS]
#
# Two stacks are tested (scripts/setup.sh builds each in its own virtual environment):
#   pinned  requirements.txt, in .venv: the versions the series is developed on;
#   colab   requirements-colab.txt, in .venv-colab: Colab's runtime, where learners run it.
#
# --stack pinned  1. notebook hygiene: JSON normalized, badges, exercise copies up to date;
#                 2. the unit tests of utils/ and of the tools (tests/);
#                 3. nbval on all of notebooks/: re-run in quick mode, stored outputs compared
#                    strictly (only the patterns in tests/nbval_sanitize.cfg masked).
# --stack colab   2. the unit tests again, on Colab's versions, with notebook 05's full-mode
#                    smoke test (tests/test_notebook05_full.py: full mode, what a Colab GPU
#                    runtime chooses, on a tiny budget);
#                 3. nbval on exercises/02-03, the copies learners open in Colab (they keep
#                    every stored output but those of the exercise and check cells, whose
#                    solutions the unit tests run on both stacks).
# --stack both (the default, what CI runs) runs the unit tests on both stacks and compares
#   every notebook's stored outputs once: 01, 04 and 05 on the pinned stack (notebooks/),
#   02 and 03 on Colab's (through their exercise copies; the pinned stack's nbval of
#   notebooks/02-03 would repeat the same cells). The work runs in two lanes at once, since
#   one lane leaves much of a two-core machine idle (the unit tests use one core; see
#   CONTRIBUTING.md, "Two lanes"): lane 1 the hygiene, three of the pinned stack's unit-test
#   files and notebooks 04 and 05, lane 2 Colab's share, then the other pinned unit tests and
#   notebook 01. Each output line starts with its share's name. It fails if any share fails or a stack
#   cannot be built (where Python 3.13 is missing the pinned stack's whole share still runs,
#   and the run fails).
# Extra arguments go to pytest, e.g. bash scripts/test.sh --stack colab -k vgg -x
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# What each share runs (tests/test_project.py checks that --stack both compares every notebook).
PINNED_TARGETS=(tests notebooks)
COLAB_TARGETS=(tests exercises/02_receptive_fields.ipynb exercises/03_residual_blocks.ipynb)
# --stack both splits the pinned stack's unit tests between its two lanes, to even them out:
# lane 1 runs the test files it names (test_config and test_distribute each start a fresh
# TensorFlow process, about a minute together; CONTRIBUTING.md, "Two lanes"), lane 2 all the
# others (it is passed --ignore for lane 1's).
BOTH_LANE1_PINNED=(tests/test_notebooks.py tests/test_config.py tests/test_distribute.py
                   notebooks/04_resnet50_signs.ipynb notebooks/05_vgg19_cifar10.ipynb)
# Run on Colab's stack only under --stack both: cloning this repository and importing its utils in a
# fresh Python is the same on both stacks, and Colab is where the notebooks' bootstrap clones it. The
# bootstrap's own lines run on both (tests against a stand-in repository); --stack pinned runs it too.
BOTH_LANE1_DESELECT=(tests/test_notebooks.py::test_bootstrap_clones_this_repository)
BOTH_LANE2_PINNED=(tests notebooks/01_vgg16_from_the_paper.ipynb)

stack=both
if [ "${1:-}" = "--stack" ]; then
  stack="${2:-}"
  shift 2 || shift $#
elif [[ "${1:-}" == --stack=* ]]; then
  stack="${1#--stack=}"
  shift
fi
case "$stack" in
  both|pinned|colab) ;;
  *)
    echo "error: expected --stack both, pinned or colab. Received: --stack ${stack:-(nothing)}" >&2
    exit 2
    ;;
esac

# Build (or reuse) stack $1's environment; with $2 = nosystem, leave Graphviz to the other one.
setup_stack() {
  (
    export CONVNET_STACK="$1"
    if [ "${2:-}" = nosystem ]; then export CONVNET_SETUP_SYSTEM=0; fi
    source "$ROOT/scripts/setup.sh"
  )
}

# Run pytest on stack $1 over the targets that follow, up to "--", then pytest's own options.
run_pytest() {
  local stack_name="$1"
  shift
  local targets=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do targets+=("$1"); shift; done
  [ "$#" -gt 0 ] && shift
  (
    export CONVNET_STACK="$stack_name"
    export CONVNET_SETUP_SYSTEM=0  # setup_stack ran before: no second Graphviz install
    source "$ROOT/scripts/setup.sh" >/dev/null
    cd "$ROOT"
    export CONVNET_MODE=quick        # the stored outputs are those of quick mode
    export TF_CPP_MIN_LOG_LEVEL=3    # TensorFlow C++ logs carry timestamps; see the bootstrap block
    export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}"  # as `import utils` sets it, for tests that import TensorFlow first
    export PYTHONUNBUFFERED=1        # lines reach the log as they happen
    if [ "$stack_name" = colab ]; then
      # Full mode is what a Colab GPU runtime chooses: its smoke test runs on Colab's versions.
      export CONVNET_FULL_SMOKE="${CONVNET_FULL_SMOKE:-1}"
    fi
    echo "test.sh: $stack_name stack: $(python -V 2>&1), $(python -c 'import tensorflow as tf, keras, numpy; print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {numpy.__version__}")' 2>/dev/null); pytest ${targets[*]}"
    # --durations: every run says where its time went (CI has a budget: CONTRIBUTING.md, "The CI budget").
    exec python -m pytest "${targets[@]}" \
      --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
      --nbval-cell-timeout=1800 --durations=25 "$@"
  )
}

hygiene() {  # does not depend on the stack: checked once, on the pinned one
  (
    export CONVNET_STACK=pinned CONVNET_SETUP_SYSTEM=0
    source "$ROOT/scripts/setup.sh" >/dev/null
    cd "$ROOT"
    python tools/nbtools.py fmt --check && python tools/nbtools.py exercises --check
  )
}

# Prefix every line of standard input with "[$1] ", as each line arrives (awk may wait for a
# whole block of input first, mawk does).
label() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    printf '[%s] %s\n' "$1" "$line"
  done
}

# pytest's 5 means "no tests collected". With pytest options (e.g. -k vgg) one share may
# select nothing; without options every share must run tests. Prints the combined status.
combine() {
  local with_options="$1"
  shift
  local all_five=1 s
  for s in "$@"; do [ "$s" = 5 ] || all_five=0; done
  if [ "$all_five" = 1 ]; then echo 5; return; fi
  for s in "$@"; do
    if [ "$s" = 5 ] && [ "$with_options" = 1 ]; then continue; fi
    if [ "$s" != 0 ]; then echo "$s"; return; fi
  done
  echo 0
}

with_options=0
if [ $# -gt 0 ]; then with_options=1; fi

case "$stack" in
  pinned)
    setup_stack pinned
    hygiene
    run_pytest pinned "${PINNED_TARGETS[@]}" -- "$@"
    ;;
  colab)
    setup_stack colab
    run_pytest colab "${COLAB_TARGETS[@]}" -- "$@"
    ;;
  both)
    # Python 3.13 is looked for first, so that its absence is said before the long run too.
    if ! colab_check="$(CONVNET_STACK=colab CONVNET_SETUP_CHECK_ONLY=1 bash -c 'source "$1/scripts/setup.sh"' _ "$ROOT" 2>&1)"; then
      echo "$colab_check" >&2
      status=0
      start=$SECONDS
      bash "$ROOT/scripts/test.sh" --stack pinned "$@" || status=$?
      echo "test.sh: pinned stack finished with exit status $status in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
      echo "$colab_check" >&2
      echo "test.sh: the colab stack was NOT tested, so this run fails; run 'bash scripts/test.sh --stack pinned' to test the pinned stack alone." >&2
      exit 3
    fi
    # Two lanes on two cores: by default each TensorFlow process sizes its op pools for the whole
    # machine, so two trainings run four busy threads. One intra-op thread each did more work per
    # CPU second, for both networks the lanes train (python benchmarks/lane_threads.py; figures in
    # benchmarks/README.md). Notebooks and child processes inherit it; set TF_NUM_INTRAOP_THREADS
    # yourself to override. Single-stack runs keep TensorFlow's default.
    export TF_NUM_INTRAOP_THREADS="${TF_NUM_INTRAOP_THREADS:-1}"
    echo "test.sh: TF_NUM_INTRAOP_THREADS=$TF_NUM_INTRAOP_THREADS in both lanes"
    start=$SECONDS
    # Both environments at once (mostly downloads and unpacking); Graphviz by the pinned one.
    setup_status=0 colab_setup_status=0
    { setup_stack colab nosystem 2>&1 | label "colab setup"; } &
    colab_setup_pid=$!
    setup_stack pinned 2>&1 | label "pinned setup" || setup_status=$?
    wait "$colab_setup_pid" || colab_setup_status=$?
    echo "test.sh: environments ready after $(( SECONDS - start )) s"
    if [ "$setup_status" != 0 ] || [ "$colab_setup_status" != 0 ]; then
      echo "test.sh: expected both environments to build. Received: exit status $setup_status (pinned), $colab_setup_status (colab)" >&2
      exit 1
    fi
    lane1() {
      local s=0
      hygiene 2>&1 | label "pinned hygiene" || s=$?
      if [ "$s" != 0 ]; then return "$s"; fi
      local t deselect=()
      for t in "${BOTH_LANE1_DESELECT[@]}"; do deselect+=("--deselect=$t"); done
      run_pytest pinned "${BOTH_LANE1_PINNED[@]}" -- "${deselect[@]}" -v "$@" 2>&1 | label "pinned unit A+04-05" || s=$?
      echo "test.sh: lane 1 (pinned hygiene, part of the unit tests, notebooks 04-05) finished with exit status $s after $(( SECONDS - start )) s"
      return "$s"
    }
    lane2() {
      local c=0 p=0 t ignore=()
      for t in "${BOTH_LANE1_PINNED[@]}"; do
        if [[ "$t" == tests/* ]]; then ignore+=("--ignore=$t"); fi  # lane 1 runs these
      done
      run_pytest colab "${COLAB_TARGETS[@]}" -- -v "$@" 2>&1 | label "colab" || c=$?
      echo "test.sh: colab stack finished with exit status $c after $(( SECONDS - start )) s"
      run_pytest pinned "${BOTH_LANE2_PINNED[@]}" -- "${ignore[@]}" -v "$@" 2>&1 | label "pinned unit B+01" || p=$?
      echo "test.sh: lane 2 (colab; the rest of the pinned unit tests, notebook 01) finished with exit statuses $c, $p after $(( SECONDS - start )) s"
      combine "$with_options" "$c" "$p" > "$lane2_status_file"
    }
    lane2_status_file="$(mktemp)"
    trap 'rm -f "$lane2_status_file"' EXIT
    lane2 "$@" &
    lane2_pid=$!
    lane1_status=0
    lane1 "$@" || lane1_status=$?
    wait "$lane2_pid" || true
    lane2_status="$(cat "$lane2_status_file")"
    lane2_status="${lane2_status:-1}"  # no status written: the lane itself failed
    echo "test.sh: both stacks finished after $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s (lane statuses $lane1_status, $lane2_status)"
    exit "$(combine "$with_options" "$lane1_status" "$lane2_status")"
    ;;
esac
