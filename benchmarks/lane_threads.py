"""Benchmark: two trainings at once on two cores, with TensorFlow's default threads and with one.

Usage: python benchmarks/lane_threads.py [--repeats 2] [--seconds 40]

``scripts/test.sh --stack both`` (what CI runs) works in two lanes at once, and most of the
time each lane is training a network: two TensorFlow processes on a two-core machine.
By default each sizes its thread pools for the whole machine, so four busy threads
share two cores. This runs the pair that way and with ``TF_NUM_INTRAOP_THREADS=1`` in
both (one thread for each op's own work; the inter-op pool is left as it is), the two
settings alternating so that drift in machine speed hits both alike.

The pair, as in CI's two lanes: notebook 04's ResNet50 at 64x64 (batches of 32) beside
notebook 05's quick-mode VGG19-BN (batches of 128), on random data, op determinism on.
Each traces for a few steps, waits for the other, then trains for ``--seconds``. Prints
each run's images/s and the CPU seconds it used per image, the medians of each setting,
and the ratio of one thread to the default. A benchmark, not a test: it asserts nothing.
The figures measured so far, with date and machine, are in benchmarks/README.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import os, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import utils  # noqa: F401  (TF_ENABLE_ONEDNN_OPTS=1, as in the notebooks)
import keras
from utils import cifar, config, resnet
config.set_seeds(0)
net, seconds, ready, go = sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
if net == "resnet50":
    model, shape, batch = resnet.resnet50((64, 64, 3), classes=10, momentum=0.9), (64, 64, 3), 32
else:
    recipe = cifar.recipe("quick")
    model, shape, batch = cifar.build_model(recipe), (32, 32, 3), recipe["batch_size"]
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
y = np.arange(batch) % 10
for _ in range(3):
    model.train_on_batch(x, y)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
started, cpu0, steps = time.perf_counter(), cpu(), 0
while time.perf_counter() - started < seconds:
    model.train_on_batch(x, y)
    steps += 1
wall, used = time.perf_counter() - started, cpu() - cpu0
print(steps * batch / wall, used / (steps * batch))
"""

NETS = ("resnet50", "vgg19")


def measure_pair(threads: str | None, seconds: float) -> dict[str, tuple[float, float]]:
    """Train both nets at once; return {net: (images/s, CPU seconds per image)}."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CONVNET_MODE": "quick"}
    env.pop("TF_NUM_INTRAOP_THREADS", None)
    if threads:
        env["TF_NUM_INTRAOP_THREADS"] = threads
    with tempfile.TemporaryDirectory() as tmp:
        go = Path(tmp, "go")
        children = {net: subprocess.Popen(
            [sys.executable, "-c", CHILD, str(ROOT), net, str(seconds), str(Path(tmp, net)), str(go)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for net in NETS}
        while not all(Path(tmp, net).exists() for net in NETS):
            if any(child.poll() not in (None, 0) for child in children.values()):
                raise RuntimeError(f"a training child failed before its timed steps (threads={threads})")
            time.sleep(0.05)
        go.touch()
        out = {}
        for net, child in children.items():
            stdout, _ = child.communicate(timeout=1800)
            if child.returncode:
                raise RuntimeError(f"{net} child exited with status {child.returncode} (threads={threads})")
            speed, cpu = map(float, stdout.split()[-2:])
            out[net] = (speed, cpu)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="pairs run with each setting (default 2)")
    parser.add_argument("--seconds", type=float, default=40, help="timed training of each pair (default 40)")
    args = parser.parse_args()
    if args.repeats < 1 or args.seconds <= 0:
        parser.error(f"--repeats and --seconds must be positive. Received: {args.repeats}, {args.seconds}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    runs: dict[str, dict[str, list]] = {s: {net: [] for net in NETS} for s in ("default", "1")}
    for r in range(args.repeats):
        for setting in (("default", "1") if r % 2 == 0 else ("1", "default")):
            pair = measure_pair(None if setting == "default" else setting, args.seconds)
            for net, (speed, cpu) in pair.items():
                runs[setting][net].append((speed, cpu))
                print(f"{net:8s} intra-op threads {setting:7s}: {speed:6.1f} images/s, "
                      f"{cpu * 1000:5.2f} CPU ms/image", flush=True)
    for net in NETS:
        speed = {s: statistics.median(v[0] for v in runs[s][net]) for s in runs}
        cpu = {s: statistics.median(v[1] for v in runs[s][net]) for s in runs}
        print(f"{net}: median images/s default {speed['default']:.1f}, one thread {speed['1']:.1f} "
              f"(ratio {speed['1'] / speed['default']:.2f}); CPU ms/image {cpu['default'] * 1000:.2f} "
              f"and {cpu['1'] * 1000:.2f} (ratio {cpu['1'] / cpu['default']:.2f})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
