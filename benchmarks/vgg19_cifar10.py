"""Benchmark: notebook 05's VGG19 on CIFAR-10, trained from a cold start; and its speed against keras.applications.

Usage: python benchmarks/vgg19_cifar10.py [--recipe quick|full|source] [--epochs N] [--shift S] [--width W]
           [--learning-rate LR] [--seed 0]
       python benchmarks/vgg19_cifar10.py --speed [--train-per-class 100] [--test-per-class 50]
           [--epochs 2] [--batch 128] [--fc-units 512] [--steps 2] [--rounds 6]

Default (cold start): in one fresh process, loads CIFAR-10 (the cache counts as load
time, not training), holds out 500 training images per class as notebook 05 does,
builds the recipe's VGG19 (``utils.cifar.RECIPE``; ``--recipe source`` is the source's
recipe at the quick mode's width), trains it with ``fit`` on the other 45,000 images
exactly as the notebook's main run does, and prints the wall time of ``fit``, training
images per second, and the accuracy on the validation split and on the whole
10,000-image test set. Op determinism is on, as in the notebook (``config.set_seeds``).
``--epochs``, ``--shift`` (the largest random shift, a fraction of the side; the
source's is 0.125, quick mode's 0), ``--width`` (the filters' multiplier; quick mode's is
0.125) and ``--learning-rate`` (the peak) override the recipe's, e.g. to measure what
shifts cost a short run, or a wider network on the same budget.

``--speed``: three full-width VGG19s with the notebook's CIFAR head, trained in one
process with the same recipe on the same images (SGD with Nesterov momentum 0.9,
learning rate 0.01, L2 1e-4, flips and shifts):

- ``keras.applications``: ``keras.applications.VGG19(weights=None, include_top=False)``
  plus the head: the reference;
- ``ours, no BN``: ``utils.vgg.vgg("E", batch_norm=False)``, the same network, started
  from the reference's initial weights (copied by layer name), so that the two must
  reach the same accuracy and any difference in speed is the builder's (goal: ratio >= 0.97);
- ``ours, BN``: BatchNorm after every convolution, he_normal initialisation: the
  source's network, whose speed ratio shows what BatchNorm costs.

It prints the test accuracy after that short training (16 steps by default: it shows that
ours and the reference train alike from the same start, not what full mode reaches), and
training images/s from the median step time, measured on one prepared batch (the input
pipeline left out) after an untimed step that traces, alternating the models round by
round, each round starting with another one; and the ratio to the reference. On a machine
shared with other work the ratio varies from run to run: run it on an idle one.

The figures measured so far, with date and machine, are in benchmarks/README.md.

A benchmark, not a test: it asserts nothing.
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

from utils import cifar, config, data, transfer, vgg  # noqa: E402


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


def cold_start(args):
    started = time.perf_counter()
    if args.recipe == "source":
        quick = cifar.RECIPE["quick"]
        recipe = {**cifar.SOURCE, "width": quick["width"], "fc_units": quick["fc_units"]}
    else:
        recipe = dict(cifar.RECIPE[args.recipe])
    for key in ("epochs", "shift", "width", "learning_rate"):  # the options that override the recipe's
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    cifar.check_recipe(recipe)  # a bad --epochs, --shift, --width or --learning-rate: refused before any data loads
    config.set_seeds(args.seed)
    (x_all, y_all), (x_test, y_test) = data.load_cifar10(seed=0)
    (x_train, y_train), (x_val, y_val) = cifar.split_validation(x_all, y_all, per_class=500, seed=0)
    train_ds = cifar.dataset(x_train, y_train, recipe["batch_size"], training=True, shift=recipe["shift"],
                             seed=args.seed)
    total = recipe["epochs"] * len(train_ds)
    model = cifar.compile_model(cifar.build_model(recipe), recipe, total)
    loaded = time.perf_counter() - started
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores; recipe {args.recipe}: "
          f"{recipe}; {len(x_train):,} training images, {total} steps; {model.count_params():,} parameters; "
          f"start-up and data {loaded:.0f} s")
    started = time.perf_counter()
    history = model.fit(train_ds, epochs=recipe["epochs"], validation_data=cifar.dataset(x_val, y_val, 500, training=False),
                        verbose=2, shuffle=False).history  # the pipeline shuffles
    fit_seconds = time.perf_counter() - started
    test = model.evaluate(cifar.dataset(x_test, y_test, 500, training=False), verbose=0)[1]
    print(f"fit: {fit_seconds:.0f} s ({fit_seconds / 60:.1f} min), {total * recipe['batch_size'] / fit_seconds:.0f} "
          f"training images/s; validation accuracy {history['val_accuracy'][-1]:.2%} (5,000 images); "
          f"test accuracy {test:.2%} on {len(y_test):,} test images")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", action="store_true", help="ours against keras.applications instead")
    parser.add_argument("--recipe", choices=["quick", "full", "source"], default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's (--speed: 2)")
    parser.add_argument("--shift", type=float, default=None, help="the largest random shift; default: the recipe's")
    parser.add_argument("--width", type=float, default=None, help="the width multiplier; default: the recipe's")
    parser.add_argument("--learning-rate", type=float, default=None, help="the peak learning rate; default: the recipe's")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--fc-units", type=int, default=512)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per model and round")
    parser.add_argument("--rounds", type=int, default=6, help="alternations of the three models")
    args = parser.parse_args()
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be a positive integer. Received: --epochs {args.epochs}")
    speed_fixes = {"shift": "the source's shifts (0.125)", "width": "full-width VGG19s", "learning_rate": "rate 0.01"}
    for name, fixed in speed_fixes.items():
        if args.speed and getattr(args, name) is not None:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} applies to the cold start only; --speed trains with {fixed}. "
                         f"Received: --speed {flag} {getattr(args, name)}")
    if args.speed:
        speed(args)
    else:
        cold_start(args)


def speed(args):
    args.epochs = 2 if args.epochs is None else args.epochs
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
