#!/usr/bin/env bash
# Create (or reuse) a virtual environment for one of the two tested stacks and install its
# requirements. Sourced by scripts/lab.sh and scripts/test.sh; safe to run again: pip only
# runs when the requirements file changed since the last successful install.
#
#   CONVNET_STACK=pinned (default)  requirements.txt, in .venv (or CONVNET_VENV), made with
#                                   PYTHON (default python3), Python 3.11-3.13
#   CONVNET_STACK=colab             requirements-colab.txt (Colab's runtime), in .venv-colab
#                                   (or CONVNET_COLAB_VENV), made with Python 3.13: the
#                                   CONVNET_COLAB_PYTHON interpreter, else python3.13, else
#                                   one that pyenv installed
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The Python versions each stack supports: the pinned one a range, Colab's the one its list
# names ("# Python: X.Y" in requirements-colab.txt). README.md and CONTRIBUTING.md state the
# same (tests/test_project.py checks it).
PINNED_PYTHON_MIN=3.11
PINNED_PYTHON_MAX=3.13
COLAB_PYTHON="$(sed -n 's/^# Python: *\([0-9][0-9.]*\) *$/\1/p' "$ROOT/requirements-colab.txt")"

STACK="${CONVNET_STACK:-pinned}"

# Print the "X.Y" version of the interpreter $1, or nothing if it does not run.
python_version() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

# True if version $1 lies in [$2, $3] (versions "X.Y").
version_between() {
  [ "$(printf '%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ] &&
    [ "$(printf '%s\n' "$1" "$3" | sort -V | head -n 1)" = "$1" ]
}

case "$STACK" in
  pinned)
    REQUIREMENTS="$ROOT/requirements.txt"
    VENV="${CONVNET_VENV:-$ROOT/.venv}"
    PYTHON="${PYTHON:-python3}"
    if [ ! -x "$VENV/bin/python" ]; then
      found="$(python_version "$PYTHON")"
      if [ -z "$found" ]; then
        echo "error: $PYTHON was not found. Install Python $PINNED_PYTHON_MIN-$PINNED_PYTHON_MAX (or set PYTHON=/path/to/python)." >&2
        exit 1
      fi
      if ! version_between "$found" "$PINNED_PYTHON_MIN" "$PINNED_PYTHON_MAX"; then
        echo "error: expected Python $PINNED_PYTHON_MIN-$PINNED_PYTHON_MAX for the pinned stack. Received: $PYTHON is Python $found (set PYTHON=/path/to/python)." >&2
        exit 1
      fi
    fi
    ;;
  colab)
    REQUIREMENTS="$ROOT/requirements-colab.txt"
    if [ -z "$COLAB_PYTHON" ]; then
      echo "error: expected a line '# Python: X.Y' in $REQUIREMENTS (the Python of Colab's runtime). Received: none" >&2
      exit 1
    fi
    VENV="${CONVNET_COLAB_VENV:-$ROOT/.venv-colab}"
    PYTHON=""
    # A pyenv shim named python3.13 exists even where 3.13 is not selected and then fails:
    # every candidate is run, not just looked up.
    for candidate in ${CONVNET_COLAB_PYTHON:+"$CONVNET_COLAB_PYTHON"} "python$COLAB_PYTHON" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$COLAB_PYTHON"*/bin/"python$COLAB_PYTHON"; do
      if [ "$(python_version "$candidate")" = "$COLAB_PYTHON" ]; then
        PYTHON="$candidate"
        break
      fi
    done
    if [ -z "$PYTHON" ] && [ ! -x "$VENV/bin/python" ]; then
      echo "error: the colab stack needs Python $COLAB_PYTHON (Colab's) and none was found: install it (pyenv install $COLAB_PYTHON, Ubuntu: apt install python$COLAB_PYTHON-venv from the deadsnakes PPA, or python.org) or set CONVNET_COLAB_PYTHON=/path/to/python$COLAB_PYTHON." >&2
      exit 1
    fi
    ;;
  *)
    echo "error: expected CONVNET_STACK=pinned or CONVNET_STACK=colab. Received: CONVNET_STACK=$STACK" >&2
    exit 1
    ;;
esac

# scripts/test.sh asks first whether a stack can be built at all, before a long run.
if [ "${CONVNET_SETUP_CHECK_ONLY:-0}" = 1 ]; then return 0; fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating the virtual environment in $VENV ($STACK stack, $("$PYTHON" -V 2>&1))"
  "$PYTHON" -m venv "$VENV"
fi
if [ "$STACK" = colab ] && [ "$(python_version "$VENV/bin/python")" != "$COLAB_PYTHON" ]; then
  echo "error: expected Python $COLAB_PYTHON in $VENV. Received: Python $(python_version "$VENV/bin/python"); delete $VENV and run again." >&2
  exit 1
fi
# The stamp of the pinned stack keeps its old name, so that existing .venv folders stay valid.
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # uv, where it is installed (CONVNET_UV names it, else the uv on PATH), installs the same
  # pinned versions several times faster than pip; CONVNET_INSTALLER=pip forces pip.
  uv="${CONVNET_UV:-$(command -v uv 2>/dev/null || true)}"
  if [ "${CONVNET_INSTALLER:-auto}" = pip ] || [ -z "$uv" ] || ! "$uv" --version >/dev/null 2>&1; then
    uv=""
  fi
  if [ -n "$uv" ]; then
    echo "Installing $(basename "$REQUIREMENTS") into $VENV with $("$uv" --version) (first run: under a minute)"
    "$uv" pip install --quiet --python "$VENV/bin/python" -r "$REQUIREMENTS" ||
      { echo "warning: uv could not install $(basename "$REQUIREMENTS"); trying pip" >&2; uv=""; }
  fi
  if [ -z "$uv" ]; then
    echo "Installing $(basename "$REQUIREMENTS") into $VENV with pip (first run: a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS"
  fi
  echo "$want" > "$stamp"
fi

# Graphviz's `dot` draws the model diagrams (keras.utils.plot_model). It is a system
# program, not a pip package: install it where we can, explain where we cannot.
# CONVNET_SETUP_SYSTEM=0 skips this (scripts/test.sh: the other stack's setup does it).
if [ "${CONVNET_SETUP_SYSTEM:-1}" != 0 ] && ! command -v dot >/dev/null 2>&1; then
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
