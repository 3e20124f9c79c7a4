"""Benchmark: VGG16 forward and forward+backward, ours against keras.applications.

Usage: python benchmarks/vgg16_speed.py [--batch 32] [--size 224] [--burn-in 1] [--steps 3]

Runs in one process, alternating the two models so that both see the same machine
state: images/s of each, our/reference ratio (goal >= 0.97: the builder must cost
nothing), the achieved GFLOP/s and its fraction of a large float32 matmul's rate.
A benchmark, not a test: it asserts nothing and prints numbers. Record what you
measure, with date and machine, in benchmarks/README.md.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils import profiling, vgg  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--burn-in", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of ours/reference")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    ours = vgg.vgg("D", input_shape=(args.size, args.size, 3))
    reference = keras.applications.VGG16(weights=None, input_shape=(args.size, args.size, 3))
    vgg.copy_weights(reference, ours)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (args.batch, args.size, args.size, 3)).astype("float32"))
    labels = tf.constant(rng.integers(0, 1000, args.batch))
    flop = 2 * profiling.layer_costs(ours)["MACs"].sum() * args.batch

    peak = profiling.matmul_gflops()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores, "
          f"batch {args.batch}, {args.size}x{args.size}")
    print(f"matmul 4096x4096 float32: {peak:.1f} GFLOP/s")
    results = {}
    for kind, factor in (("forward", 1), ("forward+backward", 3)):
        steps = {}
        for name, model in (("ours", ours), ("keras.applications", reference)):
            steps[name] = (profiling.forward_step(model, images) if factor == 1
                           else profiling.forward_backward_step(model, images, labels))
            profiling.time_steps(steps[name], burn_in=args.burn_in, steps=1)  # trace and warm up
        seconds = {name: [] for name in steps}
        for _ in range(args.rounds):  # alternate, so drift in machine speed hits both alike
            for name, step in steps.items():
                seconds[name] += profiling.time_steps(step, burn_in=0, steps=args.steps).seconds
        for name, secs in seconds.items():
            timing = profiling.Timing(secs)
            rate = factor * flop / timing.mean / 1e9
            results[(kind, name)] = args.batch / timing.mean
            print(f"{kind:>16} {name:>18}: {timing}, {args.batch / timing.mean:6.2f} images/s, "
                  f"{rate:6.1f} GFLOP/s ({rate / peak:.0%} of matmul)")
        ratio = results[(kind, "ours")] / results[(kind, "keras.applications")]
        print(f"{kind:>16} ratio ours/reference: {ratio:.3f}")


if __name__ == "__main__":
    main()
