"""Notebook 05's full mode, run on a tiny budget, so that no learner is the first to execute it.

nbval runs every notebook in quick mode; the full-mode branches (the full-width network,
the ImageNet fine-tuning, the opt-in long runs, resuming in an unfinished run folder)
would otherwise run for the first time on a learner's GPU. Here the notebook runs top
to bottom with ``CONVNET_MODE=full`` and ``CONVNET_SMOKE_STEPS=1``: one step per
epoch, at most two epochs per training, batches of 8, a few images per class, and
stand-in "ImageNet" weights (a ``keras.applications.VGG19`` without the top, saved by
this test) named by ``CONVNET_IMAGENET_WEIGHTS``. Its outputs are not compared: the
test asserts that every cell ran and that the full-mode paths printed what they do.
What stays untested here: mixed precision and the GPU memory path (no GPU in CI).

It runs where ``CONVNET_FULL_SMOKE=1``: ``scripts/test.sh`` sets it for the colab stack,
Colab's own versions, since full mode is what a Colab GPU runtime chooses (6.6 to 7.2 minutes in CI,
beside the other lane, on two CPU cores). The pinned stack
skips it, so that CI pays for it once; run it there with
``CONVNET_FULL_SMOKE=1 python -m pytest tests/test_notebook05_full.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import nbformat
import pytest

from tools import nbtools

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO_ROOT / "notebooks" / "05_vgg19_cifar10.ipynb"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


@pytest.mark.skipif(os.environ.get("CONVNET_FULL_SMOKE") != "1",
                    reason="run on the colab stack only (CONVNET_FULL_SMOKE=1 there): 3 to 7 minutes on two cores, "
                           "paid once per CI run")
def test_full_mode_runs_top_to_bottom_on_a_tiny_budget(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    weights = tmp_path / "vgg19_standin_notop.weights.h5"
    keras.applications.VGG19(weights=None, include_top=False).save_weights(weights)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    km = nbtools._kernel_manager()
    client = NotebookClient(nb, km=km, timeout=900, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    env = {**os.environ, "CONVNET_MODE": "full", "CONVNET_SMOKE_STEPS": "1",
           "CONVNET_IMAGENET_WEIGHTS": str(weights), "CONVNET_OUTPUT_DIR": str(tmp_path / "outputs"),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        client.execute(env=env)
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    text = "\n".join(_text(cell) for cell in nb.cells if cell.cell_type == "code")
    assert "Run mode: full (set by CONVNET_MODE)" in text
    assert "vgg19_bn_cifar10: 39,002,738 parameters" in text  # the full-width network and the source's head
    assert "tensors copied from ImageNet VGG19: 32" in text and "ImageNet VGG19 fine-tuned at 64x64" in text
    assert "the source's recipe: best validation accuracy" in text  # the opt-in cells ran their code
    assert "VGG11" in text and "Skipped by default" not in text
    runs = list((tmp_path / "outputs" / "05_vgg19_cifar10").glob("full-*"))
    assert len(runs) == 1 and not (runs[0] / "UNFINISHED").exists()  # the last cell marked the run finished
    for tag in ("main", "pretrain", "scratch", "source-way", "guide-head", "guide-all", "imagenet-head", "imagenet-all"):
        assert (runs[0] / f"{tag}.weights.h5").is_file() and (runs[0] / f"{tag}.csv").is_file(), tag
