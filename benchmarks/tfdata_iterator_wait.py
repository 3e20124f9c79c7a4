"""Benchmark: how long deleting a tf.data iterator takes, with tf.data's autotuning on and off.

Usage: python benchmarks/tfdata_iterator_wait.py [--lives 0.3 1.5 3 7 12]

Keras makes a new iterator over the training data every epoch of ``fit`` (and over the
validation data, and for every ``evaluate`` and ``predict``), and deletes the old one.
With autotuning on, tf.data's default, deleting an iterator waits for the autotuner's next
round; the rounds start 10 ms apart and double, up to 10 s. So an iterator that lived
t seconds can take up to about t seconds (at most 10) to delete, with the CPU idle.
:func:`utils.data.without_autotune` turns autotuning off in the series' pipelines.

For each lifetime, in one process, alternating on and off: it builds the same pipeline
(a parallel ``map`` and a ``prefetch``, both ``AUTOTUNE``), pulls elements from it for that
many seconds, deletes the iterator, and prints how long the deletion took. The figures
measured so far, with date and machine, are in benchmarks/README.md.

A benchmark, not a test: it asserts nothing.
"""

import argparse
import gc
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from utils import data  # noqa: E402


def pipeline(autotune: bool):
    ds = tf.data.Dataset.range(10**12).map(lambda i: i * 2, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds if autotune else data.without_autotune(ds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lives", type=float, nargs="+", default=[0.3, 1.5, 3.0, 7.0, 12.0],
                        help="how long each iterator is used before it is deleted, in seconds")
    args = parser.parse_args(argv)
    bad = [life for life in args.lives if not 0 < life <= 600]
    if bad:
        parser.error(f"expected lifetimes in (0, 600] seconds. Received: {bad}")
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores")
    for life in args.lives:
        for autotune in (True, False):
            iterator = iter(pipeline(autotune))
            started = time.perf_counter()
            while time.perf_counter() - started < life:
                next(iterator)
            deleting = time.perf_counter()
            del iterator
            gc.collect()
            print(f"used {life:5.1f} s, autotuning {'on ' if autotune else 'off'}: "
                  f"deleting the iterator took {time.perf_counter() - deleting:.2f} s", flush=True)


if __name__ == "__main__":
    main()
