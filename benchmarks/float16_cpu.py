"""Benchmark: one training step of the full-width VGG19 under mixed_float16 and float32, on this CPU.

Usage: python benchmarks/float16_cpu.py [--batch 2 8] [--policy mixed_float16 float32] [--eager]

Why: notebook 05's full-mode smoke test (tests/test_notebook05_full.py) runs under
``mixed_float16``, the policy full mode sets on a GPU. Many CPUs have no float16
arithmetic, and TensorFlow's float16 gradients run very slowly on them, so the smoke test
keeps its batches tiny. This prints, for each policy and batch size, the time of a first
and a second ``train_on_batch`` of ``keras.applications.VGG19(weights=None,
include_top=False)`` with a small head on 32x32 images, and of one ``predict``.

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--policy", nargs="+", default=["mixed_float16", "float32"])
    parser.add_argument("--eager", action="store_true", help="run the steps eagerly, as the smoke test does")
    args = parser.parse_args(argv)
    tf.config.run_functions_eagerly(args.eager)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, intra-op threads "
          f"{os.environ.get('TF_NUM_INTRAOP_THREADS', 'default')}, eager {args.eager}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    for policy in args.policy:
        for batch in args.batch:
            first, second, predict = step_times(policy, batch)
            print(f"{policy:>13}, batch {batch:>3}: first step {first:6.1f} s, second {second:6.1f} s "
                  f"({second / batch:.2f} s per image), predict {predict:.2f} s", flush=True)


if __name__ == "__main__":
    main()
