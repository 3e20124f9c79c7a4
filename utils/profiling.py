"""Where a network's cost lives: parameters, activations, multiply-adds, time and memory.

The per-layer table is computed from the model itself (layer types, kernel sizes and
output shapes), never typed in, so the notebooks can compare it with the paper.
"""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

BYTES_PER_FLOAT32 = 4


def output_shape(layer) -> tuple:
    """Return a layer's output shape without the batch axis (Keras 3 has no ``layer.output_shape``)."""
    return tuple(layer.output.shape[1:])


def _macs(layer) -> int:
    """Multiply-adds of one layer for one image (convolutions and dense layers only)."""
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        c_in = layer.input.shape[-1]
        h, w, c_out = output_shape(layer)
        return int(h * w * c_out * kh * kw * c_in)
    if isinstance(layer, keras.layers.Dense):
        return int(layer.input.shape[-1] * layer.units)
    return 0


def layer_costs(model: keras.Model) -> pd.DataFrame:
    """Tabulate parameters, activations and multiply-adds of each layer, for one image.

    Args:
        model: A built functional or Sequential model whose input size is known.

    Returns:
        A DataFrame indexed by layer name with columns ``type``, ``output shape``,
        ``params``, ``activations`` (numbers in the layer's output) and ``MACs``
        (multiply-accumulates; a MAC is two FLOPs).

    Raises:
        ValueError: If the model's input height or width is unknown (None).
    """
    if any(d is None for d in model.inputs[0].shape[1:]):
        raise ValueError(
            "layer_costs needs a model with a fixed input size. "
            f"Received: a model with input shape {tuple(model.inputs[0].shape)}"
        )
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = output_shape(layer)
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "output shape": shape,
            "params": layer.count_params(),
            "activations": int(np.prod(shape)),
            "MACs": _macs(layer),
        })
    return pd.DataFrame(rows).set_index("layer")


def training_memory_estimate(params: int, activations_per_image: int, batch_size: int) -> dict:
    """Estimate the memory a training step needs, as the source tutorial did.

    Weights, their gradients and the optimizer's momentum are three copies of the
    parameters; each activation is stored in the forward pass and its gradient made
    in the backward pass, two copies per image; all in float32.

    Args:
        params: Number of parameters.
        activations_per_image: Numbers in all layer outputs for one image.
        batch_size: Images per step.

    Returns:
        A dict with ``parameters_bytes``, ``activations_bytes`` and ``total_bytes``.

    Raises:
        ValueError: If an argument is not a positive integer.
    """
    for name, value in (("params", params), ("activations_per_image", activations_per_image),
                        ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    parameters_bytes = int(params) * 3 * BYTES_PER_FLOAT32
    activations_bytes = int(activations_per_image) * int(batch_size) * 2 * BYTES_PER_FLOAT32
    return {
        "parameters_bytes": parameters_bytes,
        "activations_bytes": activations_bytes,
        "total_bytes": parameters_bytes + activations_bytes,
    }


@dataclasses.dataclass
class Timing:
    """Seconds per timed step, with the statistics the notebooks print."""

    seconds: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.seconds))

    @property
    def std(self) -> float:
        return float(np.std(self.seconds))

    def __str__(self) -> str:
        n = len(self.seconds)
        if n < 3:  # the spread of one or two samples says little: give the mean alone
            return f"{self.mean:.3f} s per batch (mean of {n} batch{'es' if n != 1 else ''})"
        return f"{self.mean:.3f} ± {self.std:.3f} s per batch over {n} batches"


def time_steps(step, *, burn_in: int = 1, steps: int = 3) -> Timing:
    """Time a callable after burn-in calls (tracing, memory pools and caches warm up).

    Args:
        step: A function of no arguments that runs one batch and returns a tensor or
            array; its result is brought to the host so the time includes the work.
        burn_in: Calls made before timing. Defaults to 1.
        steps: Timed calls. Defaults to 3.

    Returns:
        A :class:`Timing`.

    Raises:
        ValueError: If ``burn_in`` < 0 or ``steps`` < 1.
    """
    if burn_in < 0 or steps < 1:
        raise ValueError(f"Need burn_in >= 0 and steps >= 1. Received: burn_in={burn_in}, steps={steps}")
    for _ in range(burn_in):
        _to_host(step())
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        _to_host(step())
        seconds.append(time.perf_counter() - start)
    return Timing(seconds)


def _to_host(result):
    if isinstance(result, (list, tuple)):
        return [_to_host(r) for r in result]
    return np.asarray(result)


def forward_step(model: keras.Model, images):
    """Return a compiled function that runs one inference forward pass on ``images``."""
    @tf.function(jit_compile=False)
    def step():
        return model(images, training=False)
    return step


def forward_backward_step(model: keras.Model, images, labels):
    """Return a compiled function that runs forward and backward (loss and gradients, no update)."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function(jit_compile=False)
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        # Reduce the gradients to one number so the timing includes computing all of them.
        return loss + tf.add_n([tf.reduce_sum(g) for g in grads]) * 0.0
    return step


def matmul_gflops(n: int = 4096, *, burn_in: int = 2, steps: int = 8) -> float:
    """Measure this machine's float32 matrix-multiply rate, the practical arithmetic peak.

    A peak is the best the machine does, so this is the rate of the fastest timed
    product: on a shared or frequency-scaling CPU single products vary by a factor of
    two, and the mean would understate what the hardware can do.

    Args:
        n: Size of the square matrices. Defaults to 4096.
        burn_in: Untimed multiplications. Defaults to 2.
        steps: Timed multiplications. Defaults to 8.

    Returns:
        GFLOP/s (one n x n by n x n product is 2 n^3 FLOPs) of the fastest product.
    """
    a = tf.random.stateless_uniform((n, n), seed=(1, 2))
    b = tf.random.stateless_uniform((n, n), seed=(3, 4))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    timing = time_steps(matmul, burn_in=burn_in, steps=steps)
    return 2 * n**3 / min(timing.seconds) / 1e9


def peak_rss_during(fn, *, interval: float = 0.005) -> int:
    """Run ``fn`` once and return how much the process's resident memory grew at its peak.

    On a CPU, TensorFlow has no allocator statistics to ask, so a background thread
    samples the resident set size (RSS) while ``fn`` runs. On a GPU, use
    ``tf.config.experimental.get_memory_info("GPU:0")["peak"]`` instead.

    Args:
        fn: A function of no arguments; its result is brought to the host.
        interval: Seconds between samples. Defaults to 0.005.

    Returns:
        Peak RSS during the call minus RSS before it, in bytes (0 if it did not grow).
    """
    import threading

    import psutil

    process = psutil.Process()
    before = process.memory_info().rss
    peak = before
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _to_host(fn())
    finally:
        done.set()
        sampler.join()
    peak = max(peak, process.memory_info().rss)
    return max(0, peak - before)


_MEMORY_SCRIPT = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np, psutil, tensorflow as tf
from utils import profiling, vgg
config, batch, size, burn_in, timed = sys.argv[2], *map(int, sys.argv[3:7])
tf.config.experimental.enable_op_determinism()  # as every notebook's config.start: timings compare with theirs
after_import = psutil.Process().memory_info().rss
model = vgg.vgg(config, input_shape=(size, size, 3))
rng = np.random.default_rng(0)
images = tf.constant(rng.uniform(0, 255, (batch, size, size, 3)).astype("float32"))
labels = tf.constant(rng.integers(0, 1000, batch))
step = profiling.forward_backward_step(model, images, labels)
if tf.config.list_logical_devices("GPU"):  # the device's own allocator knows its peak
    info = tf.config.experimental.get_memory_info
    after_import, before_step = 0, info("GPU:0")["current"]
    tf.config.experimental.reset_memory_stats("GPU:0")
    step().numpy()
    peak, device = info("GPU:0")["peak"], "GPU:0"
else:
    before_step = psutil.Process().memory_info().rss
    peak, device = before_step + profiling.peak_rss_during(step), "CPU (resident memory)"
# The measured step is the first of the burn-in (it traced the graph): the timed steps come after it.
seconds = profiling.time_steps(step, burn_in=burn_in - 1, steps=timed).seconds if timed else []
print(json.dumps({"after_import": after_import, "before_step": before_step, "peak": peak, "device": device,
                  "seconds": seconds}))
"""


def training_step_memory(config: str = "D", batch_size: int = 32, input_size: int = 224, *,
                         timed_steps: int = 0, burn_in: int = 1) -> dict:
    """Measure the memory of one VGG forward+backward step in a fresh Python process, and optionally time more.

    A fresh process, because memory freed earlier in a notebook stays with the
    allocator and would hide part of the growth. The result counts from just after
    ``import tensorflow`` (the framework's own memory left out), so it holds the
    weights, the gradients, the activations and TensorFlow's working buffers.

    Args:
        config: VGG configuration to build. Defaults to ``"D"`` (VGG16).
        batch_size: Images in the batch. Defaults to 32.
        input_size: Side of the square input. Defaults to 224.
        timed_steps: Steps to time after the burn-in. Defaults to 0. Timing here rather
            than in the notebook saves a notebook one burn-in step and the memory of a
            second model. Op determinism is on, as every notebook's ``config.start`` sets it.
        burn_in: Untimed steps before the timed ones, the measured step first (it traces
            the graph). Defaults to 1.

    On a GPU the device allocator's own statistics are used instead
    (``tf.config.experimental.get_memory_info``), counted from zero.

    Returns:
        A dict with ``device`` (what was measured), ``weights_and_inputs`` (bytes
        allocated by building the model and the batch), ``step`` (extra bytes at the
        peak of the step), ``total``, and ``timing``: a :class:`Timing` of the timed
        steps, or None where ``timed_steps`` is 0.

    Raises:
        ValueError: For an unknown ``config``, or a ``batch_size`` < 1, an ``input_size``
            < 32 (five poolings), a ``timed_steps`` < 0 or a ``burn_in`` < 1 or any of them
            not an integer, before a process is started.
        RuntimeError: If the measuring process fails (its error output is included).
    """
    from utils import data, vgg

    if not isinstance(config, str) or config not in vgg.CONFIGS:
        raise ValueError(f"config must be one of {', '.join(vgg.CONFIGS)}. Received: config={config!r}")
    for name, value, low in (("batch_size", batch_size, 1), ("input_size", input_size, 32),
                             ("timed_steps", timed_steps, 0), ("burn_in", burn_in, 1)):
        data._check_count(name, value, low, None)  # the loaders' check: "an integer >= low"
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, root, config,
         *(str(int(n)) for n in (batch_size, input_size, burn_in, timed_steps))],
        capture_output=True, text=True, timeout=1800,
        # Memory growth in the child too: it measures its own peak and leaves the rest of the GPU alone.
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_FORCE_GPU_ALLOW_GROWTH": "true"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"The memory measurement failed:\n{done.stderr[-2000:]}")
    numbers = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "device": numbers["device"],
        "weights_and_inputs": numbers["before_step"] - numbers["after_import"],
        "step": numbers["peak"] - numbers["before_step"],
        "total": numbers["peak"] - numbers["after_import"],
        "timing": Timing(numbers["seconds"]) if numbers["seconds"] else None,
    }


def human_bytes(n: float) -> str:
    """Format a byte count with binary units, e.g. ``1.50 GiB``."""
    if n < 1024:
        return f"{int(n)} B"
    exponent = min(int(math.log(n, 1024)), 4)
    return f"{n / 1024**exponent:.2f} {['B', 'KiB', 'MiB', 'GiB', 'TiB'][exponent]}"
