"""Unit tests of the start-up helpers in utils/config.py: the quiet TensorFlow import
(which ``import utils`` runs, so that the setup cell prints nothing from TensorFlow's
C++ start-up) and the pydot install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from utils import config

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_import_utils_imports_tensorflow_without_writing_to_stderr():
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "PYTHONPATH")}
    code = ("import sys, os; import utils; print('tensorflow' in sys.modules, os.environ['TF_CPP_MIN_LOG_LEVEL'],"
            " os.environ['TF_ENABLE_ONEDNN_OPTS']);"
            "import sys; sys.stderr.write('still open\\n')")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "3", "1"]  # oneDNN's CPU kernels on: see import_tensorflow_quietly
    assert result.stderr == "still open\n"  # nothing from TensorFlow, and stderr works again


def test_import_tensorflow_quietly_keeps_a_level_already_set(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    config.import_tensorflow_quietly()  # TensorFlow is imported already: only the default applies
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_import_tensorflow_quietly_keeps_a_onednn_setting_already_made(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # a learner who wants TensorFlow's default back
    config.import_tensorflow_quietly()
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_ensure_pydot_installs_only_when_missing(monkeypatch):
    import importlib.util

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kwargs: calls.append(args))
    config.ensure_pydot()
    assert calls == [] or importlib.util.find_spec("pydot") is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    config.ensure_pydot()
    assert calls[-1] == [sys.executable, "-m", "pip", "install", "-q", "pydot"]


def test_shown_path_is_relative_inside_the_repository_and_whole_outside(tmp_path):
    inside = config.REPO_ROOT / "outputs" / "05_vgg19_cifar10" / "quick-20261201-141011"
    assert config.shown_path(inside) == str(Path("outputs", "05_vgg19_cifar10", "quick-20261201-141011"))
    assert config.shown_path(tmp_path / "drive" / "run") == str((tmp_path / "drive" / "run").resolve())
