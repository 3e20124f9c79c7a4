"""Benchmark: notebook 05's fine-tuning comparison, over several seeds.

Usage: python benchmarks/vgg19_transfer.py [--seeds 0 1 2] [--epochs 9] [--head-epochs 3]
           [--rate 1e-3] [--head-rate RATE] [--low-rate 1e-4] [--labels-per-class 100] [--pretrain-epochs 3]

For each seed, in one process, as notebook 05 does in quick mode: a VGG19 with an
eighth of the filters and a 128-wide head is pretrained on the five CIFAR-10 classes
airplane ... deer (22,500 images, Caffe input, the quick recipe); its base without the
top (``transfer.without_top``) is then fine-tuned on the other five classes from
``--labels-per-class`` labelled images per class, three ways, on the same images with
the same number of epochs and the notebook's model (raw pixels in, flips, Keras'
``vgg19.preprocess_input``, the base, global average pooling, dropout 0.2, a softmax):

- ``from scratch``: a base of the same shape with random weights, Adam at ``--rate``
  for ``--epochs``;
- ``all at once``: the pretrained base, trainable from the first step (its BatchNorm
  layers too), Adam at ``--rate`` for ``--epochs``: the Zhihu tutorial's way;
- ``two phases``: the Keras guide's: the base frozen, the head trained at ``--head-rate``
  (default: ``--rate``) for ``--head-epochs``; then the base unfrozen but its BatchNorm layers kept frozen (in
  Keras 3, ``fit``'s ``training=True`` overrides the ``training=False`` of the base's
  call), recompiled at ``--low-rate`` and trained for the remaining epochs.

It prints, per seed and way, the accuracy on the target task's 5,000 test images and
the pretrained base's accuracy on the source task's test images with Caffe (BGR) input
and with the source tutorial's RGB order; then the range (min to max) of each over the
seeds. The model-building lines are those of notebook 05's fine-tuning cells: change
both together.

A benchmark, not a test: it asserts nothing. The figures measured so far, with date and
machine, are in benchmarks/README.md.
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

from utils import cifar, data, transfer, vgg  # noqa: E402

SOURCE_CLASSES, TARGET_CLASSES = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


def new_model(base, classes=len(TARGET_CLASSES)):
    """Notebook 05's transfer model: raw RGB pixels in, class probabilities out."""
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.applications.vgg19.preprocess_input(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def fit(model, rate, epochs, train, val):
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model.fit(*train, batch_size=64, epochs=epochs, validation_data=val, verbose=0).history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--head-epochs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1e-3)
    parser.add_argument("--head-rate", type=float, default=None, help="the head phase's rate (default: --rate)")
    parser.add_argument("--low-rate", type=float, default=1e-4)
    parser.add_argument("--labels-per-class", type=int, default=100)
    parser.add_argument("--pretrain-epochs", type=int, default=3)
    parser.add_argument("--cache", default="", help="a folder to keep each seed's pretrained weights in, "
                        "so that runs with other fine-tuning settings skip the pretraining")
    args = parser.parse_args(argv)
    head_rate = args.rate if args.head_rate is None else args.head_rate

    (x_all, y_all), (x_test, y_test) = data.load_cifar10()
    (x_train, y_train), (x_val, y_val) = cifar.split_validation(x_all, y_all, per_class=500, seed=0)
    source_train = cifar.select_classes(x_train, y_train, SOURCE_CLASSES)
    source_val = cifar.select_classes(x_val, y_val, SOURCE_CLASSES)
    source_test = cifar.select_classes(x_test, y_test, SOURCE_CLASSES)
    _, target_train = cifar.split_validation(*cifar.select_classes(x_train, y_train, TARGET_CLASSES),
                                             per_class=args.labels_per_class, seed=1)
    _, target_val = cifar.split_validation(*cifar.select_classes(x_val, y_val, TARGET_CLASSES), per_class=200, seed=2)
    target_test = cifar.select_classes(x_test, y_test, TARGET_CLASSES)
    recipe = {**cifar.RECIPE["quick"], "fc_units": 128, "epochs": args.pretrain_epochs}
    print(f"pretraining {args.pretrain_epochs} epochs on {len(source_train[1]):,} images; fine-tuning on "
          f"{len(target_train[1])} labelled images, {args.epochs} epochs (two phases: {args.head_epochs} + "
          f"{args.epochs - args.head_epochs}), Adam {args.rate:g} (head phase {head_rate:g}, "
          f"second phase {args.low_rate:g})", flush=True)

    rows = []
    for seed in args.seeds:
        started = time.perf_counter()
        keras.utils.set_random_seed(seed)
        source_ds = cifar.dataset(*source_train, recipe["batch_size"], training=True, shift=0.0, classes=5, seed=seed)
        pretrained = cifar.build_model(recipe, classes=5)
        cached = Path(args.cache) / f"pretrained-{cifar.settings_tag('seed', {**recipe, 'seed': seed})}.weights.h5" \
            if args.cache else None
        cifar.compile_model(pretrained, recipe, recipe["epochs"] * len(source_ds))  # evaluate needs it too
        if cached is not None and cached.is_file():
            pretrained.load_weights(cached)
        else:
            pretrained.fit(source_ds, epochs=recipe["epochs"], verbose=0, shuffle=False)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                pretrained.save_weights(cached)
        row = {"seed": seed}
        for order in ("BGR", "RGB"):
            row[f"source {order}"] = pretrained.evaluate(
                cifar.dataset(*source_test, 500, training=False, classes=5, bgr=order == "BGR"), verbose=0)[1]

        # 1. from scratch: the same base, random weights (its BatchNorm layers learn their statistics)
        keras.utils.set_random_seed(seed)
        scratch = vgg.vgg("E", include_top=False, input_shape=(32, 32, 3), width=recipe["width"], batch_norm=True,
                          batch_norm_momentum=0.9, kernel_initializer="he_normal", name="vgg19")
        model = new_model(scratch)
        fit(model, args.rate, args.epochs, target_train, target_val)
        row["from scratch"] = model.evaluate(*target_test, verbose=0)[1]
        # 2. all at once: the pretrained base trainable from the first step
        keras.utils.set_random_seed(seed)
        base = transfer.without_top(pretrained)
        model = new_model(base)
        fit(model, args.rate, args.epochs, target_train, target_val)
        row["all at once"] = model.evaluate(*target_test, verbose=0)[1]
        # 3. two phases: the head on the frozen base, then everything at a low rate
        keras.utils.set_random_seed(seed)
        base = transfer.without_top(pretrained)
        base.trainable = False
        model = new_model(base)
        fit(model, head_rate, args.head_epochs, target_train, target_val)
        row["head only"] = model.evaluate(*target_test, verbose=0)[1]
        base.trainable = True
        for layer in base.layers:  # BatchNorm stays frozen: fit's training=True overrides training=False
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        fit(model, args.low_rate, args.epochs - args.head_epochs, target_train, target_val)
        row["two phases"] = model.evaluate(*target_test, verbose=0)[1]
        row["minutes"] = (time.perf_counter() - started) / 60
        rows.append(row)
        print("  ".join(f"{k} {v:.1%}" if isinstance(v, float) and k != "minutes" else f"{k} {v:.1f}"
                        if k == "minutes" else f"{k} {v}" for k, v in row.items()), flush=True)

    print("\nrange over seeds", args.seeds)
    for key in ("from scratch", "all at once", "head only", "two phases", "source BGR", "source RGB"):
        values = [r[key] for r in rows]
        print(f"  {key:>13}: {min(values):.1%} to {max(values):.1%}")
    for key in ("all at once", "two phases"):
        leads = [100 * (r[key] - r["from scratch"]) for r in rows]
        print(f"  lead of {key} over scratch: {min(leads):.1f} to {max(leads):.1f} points")
    losses = [100 * (r["source BGR"] - r["source RGB"]) for r in rows]
    print(f"  RGB order costs the pretrained base {min(losses):.1f} to {max(losses):.1f} points")


if __name__ == "__main__":
    main()
