"""Unit tests of utils/progress.py: the live progress line of model.fit."""

import keras
import numpy as np
import pytest

from utils import progress


def test_live_progress_shows_epochs_and_steps_and_ends_with_a_summary():
    lines = []
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[progress.live_progress(1e-9, show=lines.append)])
    assert lines[0] == "epoch 1/2, starting"
    assert "epoch 1/2, step 2/2" in lines and "epoch 2/2, step 2/2" in lines
    assert lines[-1] == "done: 2 of 2 epochs"


def test_live_progress_outside_a_notebook_shows_nothing():
    callback = progress.live_progress()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 3)), np.zeros((4, 1)), epochs=1, verbose=0, callbacks=[callback])  # no error, no output


@pytest.mark.parametrize("bad", [0, -1, "1", True])
def test_live_progress_bad_interval(bad):
    with pytest.raises(ValueError, match=f"positive number. Received: every_seconds={bad!r}"):
        progress.live_progress(bad)
