"""A live progress line for ``model.fit`` that leaves one line behind, not hundreds.

Keras' ``verbose=1`` redraws a progress bar after every batch; in a notebook each redraw
is stored as output, so a saved notebook holds hundreds of them. The series trains
with ``verbose=2`` (one line per epoch) and, where an epoch takes long enough to
wait for, adds :func:`live_progress`: one line that updates in place while the
epoch runs (an IPython display updated by its ``display_id``), so a saved notebook
keeps only its last state.
"""

from __future__ import annotations

import time

__all__ = ["live_progress"]


def _notebook_display():
    """Return a function that shows a line in place in a notebook, or None elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:  # not a kernel (Jupyter, Colab)
        return None
    handle = None

    def show(text: str) -> None:
        nonlocal handle
        if handle is None:
            handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            handle.update({"text/plain": text}, raw=True)

    return show


def live_progress(every_seconds: float = 1.0, show=None):
    """Return a Keras callback that shows the step of the running epoch, live.

    The line reads ``epoch 3/8, step 20/47`` and is redrawn at most every
    ``every_seconds`` seconds; at the end it says how many epochs ran. Outside a Jupyter
    kernel (a script, a terminal) it shows nothing, and ``verbose=2`` does the job.

    Args:
        every_seconds: Least time between two redraws, a positive number. Defaults to 1.0.
        show: Where the line goes, a function of one string. Defaults to None, meaning
            the notebook's output area in place (nothing outside a notebook).

    Returns:
        A ``keras.callbacks.Callback``.

    Raises:
        ValueError: If ``every_seconds`` is not a positive number.
    """
    if isinstance(every_seconds, bool) or not isinstance(every_seconds, (int, float)) or not every_seconds > 0:
        raise ValueError(f"every_seconds must be a positive number. Received: every_seconds={every_seconds!r}")
    import keras  # here, not at the top: it loads TensorFlow

    output = show if show is not None else _notebook_display()

    class LiveProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self._epochs = self.params.get("epochs")
            self._steps = self.params.get("steps")
            self._epoch, self._last = 0, 0.0

        def _draw(self, text: str, force: bool = False) -> None:
            now = time.monotonic()
            if output is not None and (force or now - self._last >= every_seconds):
                self._last = now
                output(text)

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch + 1
            self._draw(f"epoch {self._epoch}/{self._epochs}, starting", force=True)

        def on_train_batch_end(self, batch, logs=None):
            steps = f"/{self._steps}" if self._steps else ""
            self._draw(f"epoch {self._epoch}/{self._epochs}, step {batch + 1}{steps}")

        def on_train_end(self, logs=None):
            self._draw(f"done: {self._epoch} of {self._epochs} epochs", force=True)

    return LiveProgress()
