"""Benchmark: TensorFlow's oneDNN CPU kernels on and off, for the series' two training nets.

Usage: python benchmarks/onednn.py [--repeats 3] [--steps 8]

``import utils`` sets ``TF_ENABLE_ONEDNN_OPTS=1`` (see ``utils.config.import_tensorflow_quietly``):
TensorFlow turns oneDNN on by itself only on CPUs with AVX-512 neural-network
instructions. This measures what that buys on this machine. The variable is read once,
when TensorFlow loads, so every measurement is a fresh process, and the two settings
alternate (on, off, off, on, ...) so that drift in machine speed hits both alike.

Each process trains, with op determinism on as in the notebooks (``config.set_seeds``):
- ``resnet50``: notebook 04's ResNet50 at 64x64, batches of 32;
- ``vgg19``: notebook 05's VGG19-BN at its quick-mode width, batches of 128;
on random data (speed does not depend on the values), a few untimed steps that trace,
then ``--steps`` timed steps. Prints images/s of each run, the median of each setting,
and the ratio on/off. A benchmark, not a test: it asserts nothing. The figures measured
so far, with date and machine, are in benchmarks/README.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import utils  # noqa: F401  (keeps a TF_ENABLE_ONEDNN_OPTS set by the caller)
import keras
from utils import cifar, config, resnet
config.set_seeds(0)
net, steps = sys.argv[2], int(sys.argv[3])
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
started = time.perf_counter()
for _ in range(steps):
    model.train_on_batch(x, y)
print(steps * batch / (time.perf_counter() - started))
"""


def measure(net: str, onednn: str, steps: int) -> float:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3", "CONVNET_MODE": "quick"}
    result = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), net, str(steps)], env=env,
                            capture_output=True, text=True, timeout=1800, check=True)
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each setting (default 3)")
    parser.add_argument("--steps", type=int, default=8, help="timed training steps a run (default 8)")
    args = parser.parse_args()
    if args.repeats < 1 or args.steps < 1:
        parser.error(f"--repeats and --steps must be positive. Received: {args.repeats}, {args.steps}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for net in ("resnet50", "vgg19"):
        speeds = {"1": [], "0": []}
        for r in range(args.repeats):
            for onednn in (("1", "0") if r % 2 == 0 else ("0", "1")):
                speeds[onednn].append(measure(net, onednn, args.steps))
                print(f"{net}: oneDNN {'on ' if onednn == '1' else 'off'} {speeds[onednn][-1]:7.1f} images/s", flush=True)
        on, off = statistics.median(speeds["1"]), statistics.median(speeds["0"])
        print(f"{net}: median on {on:.1f}, off {off:.1f} images/s, ratio on/off {on / off:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
