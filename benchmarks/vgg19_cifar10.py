"""Benchmark: VGG19 with notebook 05's CIFAR-10 head, ours against keras.applications.VGG19.

Usage: python benchmarks/vgg19_cifar10.py [--train-per-class 100] [--test-per-class 50]
       [--epochs 2] [--batch 128] [--fc-units 512] [--steps 2] [--rounds 6]

Three full-width VGG19s on 32x32 CIFAR-10, each with the same head (Flatten, two FC
layers with BatchNorm, ReLU and dropout 0.5, 10 classes with BatchNorm and softmax),
trained in one process with the notebook's quick-mode recipe (SGD with Nesterov
momentum 0.9, learning rate 0.01, L2 1e-4, flips and shifts), on the same images:

- ``keras.applications``: ``keras.applications.VGG19(weights=None, include_top=False)``
  plus the head: the reference;
- ``ours, no BN``: ``utils.vgg.vgg("E", batch_norm=False)``, the same network, started
  from the reference's initial weights (copied by layer name), so that the two must
  reach the same accuracy and any difference in speed is the builder's (goal: ratio >= 0.97);
- ``ours, BN``: the notebook's model, BatchNorm after every convolution, he_normal
  initialisation: the recipe of the source, whose speed ratio shows what BatchNorm costs.

Prints the test accuracy after that short training (16 steps by default: it shows that
ours and the reference train alike from the same start, not what full mode reaches), and
training images/s from the median step time, measured on one prepared batch (the input
pipeline left out) after an untimed step that traces, alternating the models round by
round, each round starting with another one; and the ratio to the reference. On a machine
shared with other work the ratio varies by 10-30% from run to run. A benchmark, not a
test: it asserts nothing.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils import data, transfer, vgg  # noqa: E402


def _with_head(base, args, regularizer, initializer, name):
    x = vgg.vgg_head(base.output, 10, fc_units=args.fc_units, dropout=0.5, batch_norm=True,
                     kernel_initializer=initializer, kernel_regularizer=regularizer)
    return keras.Model(base.input, x, name=name)


def _add_l2(model, regularizer):
    # keras.applications takes no regulariser: give its convolution kernels the same L2
    # (Keras 3 collects a variable's regulariser into model.losses).
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.kernel.regularizer = regularizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--fc-units", type=int, default=512)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per model and round")
    parser.add_argument("--rounds", type=int, default=6, help="alternations of the three models")
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = data.load_cifar10(
        train_per_class=args.train_per_class, test_per_class=args.test_per_class, seed=0)
    x_test_in = transfer.preprocess_caffe(x_test)
    augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=1),
        keras.layers.RandomTranslation(0.125, 0.125, fill_mode="constant", fill_value=0.0, seed=2),
    ])
    mean_bgr = tf.constant([103.939, 116.779, 123.68])

    def pipeline():
        def prepare(images, labels):
            images = augment(tf.cast(images, "float32"), training=True)
            return images[..., ::-1] - mean_bgr, labels
        return (tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(x_train), seed=0)
                .batch(args.batch).map(prepare).prefetch(2))

    regularizer = keras.regularizers.L2(1e-4)
    keras.utils.set_random_seed(0)
    reference = _with_head(keras.applications.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3)),
                           args, regularizer, "glorot_uniform", "keras_applications_vgg19")
    _add_l2(reference, regularizer)
    keras.utils.set_random_seed(0)
    plain = vgg.vgg("E", input_shape=(32, 32, 3), classes=10, fc_units=args.fc_units, dropout=0.5,
                    batch_norm=False, kernel_regularizer=regularizer, include_top=False)
    plain = _with_head(plain, args, regularizer, "glorot_uniform", "ours_no_bn")
    vgg.copy_weights(reference, plain)
    keras.utils.set_random_seed(0)
    ours = vgg.vgg("E", input_shape=(32, 32, 3), classes=10, fc_units=args.fc_units, dropout=0.5,
                   batch_norm=True, kernel_initializer="he_normal", kernel_regularizer=regularizer)

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores; "
          f"{len(x_train)} training images, {len(x_test)} test images, {args.epochs} epoch(s), batch {args.batch}")
    models = {"keras.applications": reference, "ours, no BN": plain, "ours, BN": ours}
    accuracy = {}
    for label, model in models.items():
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(pipeline(), epochs=args.epochs, verbose=0, shuffle=False)
        accuracy[label] = model.evaluate(x_test_in, y_test, batch_size=250, verbose=0)[1]

    # Speed: training steps on one prepared batch (the input pipeline left out), after a
    # traced and untimed step, alternating the models so that drift in machine speed hits all alike.
    images, labels = next(iter(pipeline()))
    for model in models.values():
        model.train_on_batch(images, labels)
    seconds = {label: [] for label in models}
    order = list(models)
    for r in range(args.rounds):
        for label in order[r % 3:] + order[:r % 3]:  # each round starts with another model
            model = models[label]
            for _ in range(args.steps):
                start = time.perf_counter()
                model.train_on_batch(images, labels)
                seconds[label].append(time.perf_counter() - start)
    # The median step: robust to the outliers a machine shared with other work produces.
    rate = {label: args.batch / float(np.median(s)) for label, s in seconds.items()}
    for label, model in models.items():
        print(f"{label:>20}: {model.count_params():>11,} parameters, test accuracy {accuracy[label]:6.1%}, "
              f"{rate[label]:6.1f} training images/s (median of {len(seconds[label])} steps)")
    for label in ("ours, no BN", "ours, BN"):
        print(f"ratio {label} / keras.applications: {rate[label] / rate['keras.applications']:.3f}")


if __name__ == "__main__":
    main()
