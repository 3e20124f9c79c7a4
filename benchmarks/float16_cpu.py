"""Benchmark: one training step of the full-width VGG19 under mixed_float16 and float32, on this CPU.

Usage: python benchmarks/float16_cpu.py [--batch 2 8] [--policy mixed_float16 float32] [--eager]
       python benchmarks/float16_cpu.py --ops [--batch 1 2 8]

Why: notebook 05's full-mode smoke test (tests/test_notebook05_full.py) runs under
``mixed_float16``, the policy full mode sets on a GPU. Many CPUs have no float16
arithmetic, and TensorFlow's float16 gradients run very slowly on them, so the smoke test
keeps its batches tiny. This prints, for each policy and batch size, the time of a first
and a second ``train_on_batch`` of ``keras.applications.VGG19(weights=None,
include_top=False)`` with a small head on 32x32 images, and of one ``predict``.
``--ops`` times the two gradient ops of one 3x3 convolution instead (Conv2DBackpropInput,
Conv2DBackpropFilter), in float32 and float16, on a large image with few channels and on a
small one with many: where the float16 time hardly depends on the layer's size, it is a
cost per image that no smaller layer avoids.

A benchmark, not a test: it asserts nothing. Figures, with date and machine, are in
benchmarks/README.md.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def step_times(policy: str, batch: int) -> tuple[float, float, float]:
    keras.mixed_precision.set_global_policy(policy)
    try:
        base = keras.applications.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3))
        inputs = keras.Input((32, 32, 3))
        x = keras.layers.GlobalAveragePooling2D()(base(inputs))
        outputs = keras.layers.Dense(5, activation="softmax", dtype="float32")(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        images = rng.uniform(0, 255, (batch, 32, 32, 3)).astype("float32")
        labels = rng.integers(0, 5, batch)
        times = []
        for _ in range(2):
            started = time.perf_counter()
            model.train_on_batch(images, labels)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.predict(images, verbose=0)
        times.append(time.perf_counter() - started)
        return tuple(times)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def op_times(dtype: str, batch: int, side: int, channels: int, repeats: int = 3) -> tuple[float, float]:
    """Seconds per call of the input and the filter gradient of a 3x3 convolution, same padding."""
    rng = np.random.default_rng(0)
    x = tf.cast(rng.standard_normal((batch, side, side, channels)), dtype)
    kernel = tf.cast(rng.standard_normal((3, 3, channels, channels)) * 0.05, dtype)
    grad = tf.cast(rng.standard_normal((batch, side, side, channels)), dtype)
    calls = (
        lambda: tf.raw_ops.Conv2DBackpropInput(input_sizes=[batch, side, side, channels], filter=kernel,
                                               out_backprop=grad, strides=[1, 1, 1, 1], padding="SAME"),
        lambda: tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=[3, 3, channels, channels],
                                                out_backprop=grad, strides=[1, 1, 1, 1], padding="SAME"),
    )
    times = []
    for call in calls:
        call().numpy()  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            call().numpy()
        times.append((time.perf_counter() - started) / repeats)
    return times[0], times[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--policy", nargs="+", default=["mixed_float16", "float32"])
    parser.add_argument("--eager", action="store_true", help="run the steps eagerly, as the smoke test does")
    parser.add_argument("--ops", action="store_true", help="time one convolution's gradient ops instead")
    args = parser.parse_args(argv)
    if any(b < 1 for b in args.batch):
        parser.error(f"--batch takes positive integers. Received: --batch {' '.join(map(str, args.batch))}")
    tf.config.run_functions_eagerly(args.eager)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, intra-op threads "
          f"{os.environ.get('TF_NUM_INTRAOP_THREADS', 'default')}, eager {args.eager}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    if args.ops:
        for batch in args.batch:
            for side, channels in ((32, 64), (4, 512)):
                for dtype in ("float32", "float16"):
                    grad_input, grad_filter = op_times(dtype, batch, side, channels)
                    print(f"batch {batch:>3}, {side}x{side}x{channels:<3} {dtype}: input gradient "
                          f"{grad_input * 1000:7.1f} ms, filter gradient {grad_filter * 1000:7.1f} ms", flush=True)
        return
    for policy in args.policy:
        for batch in args.batch:
            first, second, predict = step_times(policy, batch)
            print(f"{policy:>13}, batch {batch:>3}: first step {first:6.1f} s, second {second:6.1f} s "
                  f"({second / batch:.2f} s per image), predict {predict:.2f} s", flush=True)


if __name__ == "__main__":
    main()
