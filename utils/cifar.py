"""Notebook 05's training recipes for VGG19 on CIFAR-10, shared with its benchmark and tests.

Three recipes, as dicts of plain numbers so that the notebook can print them side by side:

- :data:`SOURCE`: the source tutorial's (SGD with Nesterov momentum 0.9, batch 128,
  0.01 / 0.005 / 0.001 with drops at 40% and 70% of 200 epochs, L2 1e-4, dropout 0.5,
  Keras' default BatchNorm momentum 0.99);
- ``RECIPE["quick"]``: a short run on two CPU cores, an eighth of the filters, a
  warm-up + cosine decay of the learning rate, label smoothing and BatchNorm momentum
  0.9, because moving averages with momentum 0.99 lag behind a short run's fast-changing
  weights (notebook 05 compares both over 50 steps), and flips without shifts: in four
  epochs the network underfits (benchmarks/README.md has the measurements);
- ``RECIPE["full"]``: the full-width network on a GPU, a schedule short enough to
  finish in one Colab session.

Every run keeps the source's optimiser (SGD, Nesterov momentum 0.9), its L2 penalty on
every kernel, its flips (and, but for quick mode, its shifts), and its Caffe-style input
(:func:`utils.transfer.preprocess_caffe`).

Long runs survive an interrupted session: :func:`fit_or_resume` trains with
``keras.callbacks.BackupAndRestore`` inside the run's folder, so running the cell again
resumes from the last finished epoch, and a training that finished earlier in that
folder is loaded instead of repeated. :func:`run_dir` picks the folder: the newest run
of this mode that has not finished, or a new one.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from . import config, data

#: The notebook's output folder under ``outputs/``.
NAME = "05_vgg19_cifar10"
#: A file that marks a run folder whose notebook has not finished yet (see :func:`run_dir`).
UNFINISHED = "UNFINISHED"
#: The ImageNet means in Caffe's (BGR) order, subtracted after the channels are reversed.
MEAN_BGR = (103.939, 116.779, 123.68)

#: The source tutorial's recipe (CURRICULUM, notebook 05).
SOURCE = {
    "width": 1.0, "fc_units": 4096, "dropout": 0.5, "batch_size": 128, "epochs": 200,
    "schedule": "piecewise", "learning_rate": 0.01, "warmup": 0.0, "label_smoothing": 0.0,
    "l2": 1e-4, "batch_norm_momentum": 0.99, "shift": 0.125,
}

#: The recipes this notebook trains with, by run mode.
RECIPE = {
    # A short run that fits a laptop CPU: 4 epochs with an eighth of the filters (8 to 64). Wider or
    # longer runs score higher but cost more (a fifth epoch: about 2 points for a quarter more
    # time); benchmarks/README.md gives the measured accuracy of each width and length
    # (benchmarks/vgg19_cifar10.py).
    # No shifts: a run this short underfits (its training accuracy stays near its validation accuracy).
    "quick": {
        "width": 0.125, "fc_units": 256, "dropout": 0.0, "batch_size": 128, "epochs": 4,
        "schedule": "warmup-cosine", "learning_rate": 0.1, "warmup": 0.15, "label_smoothing": 0.1,
        "l2": 5e-5, "batch_norm_momentum": 0.9, "shift": 0.0,
    },
    # One GPU (a Colab T4): the source's network and head, 30 epochs instead of 200.
    "full": {
        "width": 1.0, "fc_units": 4096, "dropout": 0.5, "batch_size": 128, "epochs": 30,
        "schedule": "warmup-cosine", "learning_rate": 0.05, "warmup": 0.15, "label_smoothing": 0.1,
        "l2": 2.5e-4, "batch_norm_momentum": 0.9, "shift": 0.125,
    },
}

_KEYS = tuple(SOURCE)
_SCHEDULES = ("piecewise", "warmup-cosine")


def check_recipe(recipe: dict) -> dict:
    """Return ``recipe`` if it has every key of :data:`SOURCE` with a sensible value.

    Raises:
        ValueError: Naming the first missing, unknown or bad entry, e.g.
            ``"... Received: recipe['epochs']=0"``.
    """
    if not isinstance(recipe, dict):
        raise ValueError(f"recipe must be a dict with the keys {', '.join(_KEYS)}. "
                         f"Received: recipe of type {type(recipe).__name__}")
    missing = [k for k in _KEYS if k not in recipe]
    unknown = [k for k in recipe if k not in _KEYS]
    if missing or unknown:
        raise ValueError(f"recipe must have exactly the keys {', '.join(_KEYS)}. "
                         f"Received: missing {missing}, unknown {unknown}")

    def bad(key, expected):
        raise ValueError(f"recipe[{key!r}] must be {expected}. Received: recipe[{key!r}]={recipe[key]!r}")

    def number(key):
        value = recipe[key]
        return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
            and np.isfinite(value)

    for key in ("batch_size", "fc_units"):
        if isinstance(recipe[key], bool) or not isinstance(recipe[key], (int, np.integer)) or recipe[key] < 1:
            bad(key, "a positive integer")
    if not number("epochs") or recipe["epochs"] <= 0:
        bad("epochs", "a positive number")
    for key in ("width", "learning_rate"):
        if not number(key) or recipe[key] <= 0:
            bad(key, "a positive number")
    for key, high in (("dropout", 1.0), ("warmup", 1.0), ("label_smoothing", 1.0), ("batch_norm_momentum", 1.0),
                      ("shift", 0.5)):
        if not number(key) or not 0 <= recipe[key] < high:
            bad(key, f"a number in [0, {high:g})")
    if not number("l2") or recipe["l2"] < 0:
        bad("l2", "a number >= 0")
    if recipe["schedule"] not in _SCHEDULES:
        bad("schedule", f"one of {', '.join(_SCHEDULES)}")
    return recipe


def steps(recipe: dict, images: int) -> int:
    """Training steps of a run: ``epochs`` times the batches per epoch (a partial epoch counts its batches)."""
    check_recipe(recipe)
    if isinstance(images, bool) or not isinstance(images, (int, np.integer)) or images < 1:
        raise ValueError(f"images must be a positive integer. Received: images={images!r}")
    per_epoch = -(-int(images) // recipe["batch_size"])
    return max(1, int(round(recipe["epochs"] * per_epoch)))


def split_validation(x, y, per_class: int, seed: int = 0):
    """Hold out ``per_class`` training images of each class for validation.

    Epochs, variants and learning rates are chosen on this split, never on the test set.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``, each in the original order.

    Raises:
        ValueError: If ``per_class`` is not a positive integer smaller than every class.
    """
    y = np.asarray(y)
    counts = np.bincount(y)
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or not 0 < per_class < counts.min():
        raise ValueError(f"per_class must be an integer from 1 to {counts.min() - 1} (the smallest class "
                         f"has {counts.min()} images). Received: per_class={per_class!r}")
    groups = [np.flatnonzero(y == c) for c in range(len(counts))]
    held = np.sort(np.concatenate(data.pick_per_class(groups, int(per_class), seed=seed)).astype(int))
    keep = np.setdiff1d(np.arange(len(y)), held)
    return (x[keep], y[keep]), (x[held], y[held])


def select_classes(x, y, classes):
    """Keep the images of ``classes`` and renumber their labels 0, 1, ... in that order.

    For the transfer experiment: a source task and a target task of disjoint CIFAR-10 classes.

    Raises:
        ValueError: For an empty, repeated or out-of-range list of classes.
    """
    classes = list(classes)
    if not classes or len(set(classes)) != len(classes) or any(
            isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < 10 for c in classes):
        raise ValueError(f"classes must be distinct CIFAR-10 labels from 0 to 9. Received: classes={classes!r}")
    y = np.asarray(y)
    keep = np.isin(y, classes)
    remap = np.full(10, -1, dtype=np.int64)
    remap[classes] = np.arange(len(classes))
    return x[keep], remap[y[keep]]


def dataset(x, y, batch_size: int, *, training: bool, shift: float = 0.125, classes: int = 10, seed: int = 0,
            bgr: bool = True):
    """A ``tf.data`` pipeline of Caffe-style batches with one-hot labels.

    Training batches are shuffled every epoch, flipped left-right at random and shifted
    by up to ``shift`` of the side in each direction, the uncovered border filled with
    zeros (the source's augmentation); then every batch is turned into the input of
    Keras' ImageNet VGG weights: channels reversed to BGR, minus the ImageNet means
    (:func:`utils.transfer.preprocess_caffe` in TensorFlow ops). The labels are one-hot
    so that the loss can smooth them.

    Args:
        x: uint8 images ``(N, 32, 32, 3)``, RGB.
        y: Integer labels ``(N,)``.
        batch_size: Images per batch.
        training: Shuffle and augment (True) or keep the order and the images (False).
        shift: The largest shift, as a fraction of the side. Defaults to 0.125 (4 pixels).
        classes: Length of the one-hot labels. Defaults to 10.
        seed: Seed of the shuffle and of the augmentation. Defaults to 0.
        bgr: Caffe's BGR order (True), or the source's RGB order with the same means
            subtracted from R, G, B (False: what the source fed its network). Defaults to True.

    Returns:
        A ``tf.data.Dataset`` of ``(images, one_hot_labels)``, prefetched, without autotuning
        (:func:`utils.data.without_autotune`: otherwise each epoch could end with seconds of idle CPU).
    """
    import keras
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 4 or x.shape[-1] != 3 or len(x) != len(y) or len(x) == 0:
        raise ValueError("x must be images (N, height, width, 3) and y N labels, N > 0. "
                         f"Received: x of shape {x.shape}, y of shape {y.shape}")
    mean = tf.constant(MEAN_BGR if bgr else MEAN_BGR[::-1], dtype="float32")
    # dtype="float32": Keras layers otherwise follow the global precision policy, and under
    # mixed_float16 they would return float16 images (the mean is float32, and the batches
    # must not depend on the policy). The model casts its inputs itself, as Keras'
    # mixed-precision guide does: the pipeline always yields float32.
    layers = [keras.layers.RandomFlip("horizontal", seed=seed, dtype="float32")]
    if shift:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="constant", fill_value=0.0, seed=seed,
                                                     dtype="float32"))
    augment = keras.Sequential(layers, name="augment")

    def prepare(images, labels):
        images = tf.cast(images, "float32")
        if training:
            images = tf.cast(augment(images, training=True), "float32")  # whatever the policy
        if bgr:
            images = images[..., ::-1]
        return images - mean, tf.one_hot(labels, classes)

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return data.without_autotune(ds)  # an iterator that ends at once, every epoch


def build_model(recipe: dict, *, classes: int = 10, input_shape=(32, 32, 3), kernel_initializer="he_normal",
                config: str = "E", name: str | None = None):
    """VGG19 with BatchNorm and the CIFAR head, at the recipe's width, head and BatchNorm momentum.

    The convolutions carry ``keras.applications.VGG19``'s names, so ImageNet weights
    load by name into a full-width build (:mod:`utils.transfer`). ``config`` builds
    another configuration of the paper's Table 1 the same way (the source's VGG11-16).
    """
    import keras

    from . import vgg

    check_recipe(recipe)
    return vgg.vgg(config, input_shape=input_shape, classes=classes, width=recipe["width"],
                   fc_units=recipe["fc_units"], dropout=recipe["dropout"], batch_norm=True,
                   batch_norm_momentum=recipe["batch_norm_momentum"], kernel_initializer=kernel_initializer,
                   kernel_regularizer=keras.regularizers.L2(recipe["l2"]) if recipe["l2"] else None, name=name)


def learning_rate(recipe: dict, total_steps: int, peak: float | None = None):
    """The recipe's learning-rate schedule over ``total_steps`` steps.

    ``"piecewise"``: the source's, ``peak`` (0.01) then half of it from 40% of the run,
    a tenth from 70% (0.01 / 0.005 / 0.001). ``"warmup-cosine"``: a linear warm-up from 0 to
    ``peak`` over the first ``warmup`` share of the steps, then a cosine decay to 0.

    Args:
        recipe: A recipe dict.
        total_steps: Steps of the whole run, a positive integer.
        peak: The highest rate; defaults to ``recipe["learning_rate"]``.

    Returns:
        A ``keras.optimizers.schedules.LearningRateSchedule``.
    """
    import keras

    check_recipe(recipe)
    if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive integer. Received: total_steps={total_steps!r}")
    peak = float(recipe["learning_rate"] if peak is None else peak)
    if recipe["schedule"] == "piecewise":
        drops = [max(1, int(round(share * total_steps))) for share in (0.4, 0.7)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries=[drops[0] - 1, max(drops[1], drops[0] + 1) - 1], values=[peak, peak / 2, peak / 10])
    warmup = int(round(recipe["warmup"] * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else peak, decay_steps=max(1, int(total_steps) - warmup), alpha=0.0,
        warmup_target=peak if warmup else None, warmup_steps=warmup)


def compile_model(model, recipe: dict, total_steps: int, *, peak: float | None = None):
    """Compile with the source's optimiser: SGD, Nesterov momentum 0.9, the recipe's schedule.

    The loss is categorical cross-entropy with the recipe's label smoothing (the
    labels of :func:`dataset` are one-hot); the metric accuracy. Traced steps, except
    under ``CONVNET_SMOKE_STEPS`` (:func:`smoke_steps`), where they run eagerly.

    Returns:
        The same model, compiled.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model. Received: model of type {type(model).__name__}")
    schedule = learning_rate(recipe, total_steps, peak)
    # Under CONVNET_SMOKE_STEPS (the tests' run of full mode, one step per epoch) tracing the
    # full-width network's steps would take most of the time: there the steps run eagerly.
    model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
                  metrics=["accuracy"], run_eagerly=smoke_steps() is not None)
    return model


#: Set to 1 to use full mode's mixed-precision policy without an accelerator (the tests' run of
#: full mode on a CPU, so that it executes what a GPU runtime executes), 0 to keep float32.
MIXED_PRECISION_ENV = "CONVNET_MIXED_PRECISION"


def precision_policy(mode: str, accelerators) -> str:
    """The global precision policy of a notebook-05 run: ``mixed_float16`` in full mode on a GPU.

    Mixed precision computes in float16 (bfloat16 on a TPU) and keeps the weights in
    float32: on a modern GPU it roughly doubles the speed. On a CPU it is slow, so quick
    mode and CPU runs keep ``float32``. ``CONVNET_MIXED_PRECISION=1`` forces full mode's
    policy without an accelerator (``mixed_float16``), ``=0`` forces ``float32``.

    Args:
        mode: ``"quick"`` or ``"full"``.
        accelerators: The accelerators present, e.g. ``config.accelerators()``: ``["GPU"]``.

    Returns:
        ``"mixed_float16"``, ``"mixed_bfloat16"`` or ``"float32"``.

    Raises:
        ValueError: For another mode, or a value of ``CONVNET_MIXED_PRECISION`` other than 0 or 1.
    """
    if mode not in RECIPE:
        raise ValueError(f"mode must be one of {', '.join(RECIPE)}. Received: mode={mode!r}")
    forced = os.environ.get(MIXED_PRECISION_ENV, "").strip()
    if forced not in ("", "0", "1"):
        raise ValueError(f"{MIXED_PRECISION_ENV} must be 0 or 1. Received: {MIXED_PRECISION_ENV}={forced!r}")
    if forced == "0" or mode == "quick" or not (accelerators or forced == "1"):
        return "float32"
    return "mixed_bfloat16" if "TPU" in list(accelerators) else "mixed_float16"


def run_dir(mode: str, name: str = NAME) -> Path:
    """The folder of this notebook run: the newest unfinished one of ``mode``, or a new one.

    A new folder gets an :data:`UNFINISHED` marker, which :func:`finish_run` removes at
    the end of the notebook. So after an interrupted session (a dropped Colab
    connection, a restarted kernel), running the notebook again continues in the same
    folder, where :func:`fit_or_resume` resumes or reloads each training; once the
    notebook has finished, the next run gets a new folder and nothing is overwritten.
    """
    parent = config.output_dir(name)
    unfinished = sorted((p for p in parent.glob(f"{mode}-*") if (p / UNFINISHED).is_file()),
                        key=lambda p: p.name)
    if unfinished:
        return unfinished[-1]
    folder = config.new_run_dir(name, mode)
    (folder / UNFINISHED).write_text("this notebook run has not finished; running it again continues here\n")
    return folder


def finish_run(folder) -> None:
    """Mark a run folder of :func:`run_dir` as finished: the next run of the notebook gets a new one."""
    marker = Path(folder) / UNFINISHED
    if marker.is_file():
        marker.unlink()


def _read_log(path: Path) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    history: dict = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch":  # CSVLogger writes NA for a value an epoch did not log
                history.setdefault(key, []).append(float("nan") if value in ("NA", "", None) else float(value))
    return {key: values for key, values in history.items() if not all(np.isnan(values))}


def settings_tag(tag: str, settings: dict) -> str:
    """``tag`` followed by a short fingerprint of ``settings``, e.g. ``"main-3fa2c1d0"``.

    The same settings give the same fingerprint in every session, and any change of a
    value gives another: a training keyed this way resumes only its own configuration.
    """
    import hashlib
    import json

    if not isinstance(settings, dict) or not settings:
        raise ValueError(f"settings must be a non-empty dict. Received: settings={settings!r}")
    text = json.dumps(settings, sort_keys=True, default=repr)
    return f"{tag}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def fit_or_resume(model, train_ds, *, epochs: int, folder, tag: str, validation_data=None, verbose: int = 2,
                  steps_per_epoch: int | None = None, tensorboard: bool = True, settings: dict | None = None) -> dict:
    """Train ``model`` for ``epochs`` epochs, resuming an interrupted run and never repeating a finished one.

    In ``folder``: ``backup-<tag>/`` holds ``keras.callbacks.BackupAndRestore``'s state
    after every epoch (so a new call resumes at the last finished epoch), ``<tag>.csv``
    the log of every epoch, and ``<tag>.weights.h5`` the weights once training has
    finished. If those weights exist already, they are loaded (and it says so) and
    nothing is trained. With ``settings`` (the recipe, the data sizes, the seed: whatever
    defines the training), the tag carries their fingerprint (:func:`settings_tag`) and
    ``<tag>.json`` records them: a changed setting trains afresh instead of resuming or
    loading another configuration's weights.

    Args:
        model: A compiled ``keras.Model``.
        train_ds: The training dataset.
        epochs: Epochs to train, a positive integer.
        folder: The run's folder (:func:`run_dir`).
        tag: A short name of this training in the folder, e.g. ``"main"``: letters, digits, ``-``, ``_``.
        validation_data: Evaluated after every epoch, as in ``fit``. Defaults to None.
        verbose: ``fit``'s verbosity. Defaults to 2: one line per epoch, and in a
            notebook a live line of the running epoch's step (:func:`progress.live_progress`).
        steps_per_epoch: As in ``fit``. Defaults to None (the whole dataset).
        tensorboard: Also write TensorBoard logs to ``logs/<tag>/`` where the
            ``tensorboard`` package is installed. Defaults to True.
        settings: What defines this training, a dict of plain values; its fingerprint
            is added to ``tag``. Defaults to None (the tag alone).

    Returns:
        The history of every epoch (a dict of lists, as ``History.history``), read from
        the log so that epochs of an earlier, interrupted call are included.
    """
    import re

    import keras

    if not isinstance(tag, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", tag):
        raise ValueError(f"tag must be letters, digits, '-' or '_'. Received: tag={tag!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer. Received: epochs={epochs!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing folder (see cifar.run_dir). Received: folder={str(folder)!r}")
    if settings is not None:
        import json

        tag = settings_tag(tag, settings)
        (folder / f"{tag}.json").write_text(json.dumps(settings, sort_keys=True, indent=1, default=repr) + "\n")
    weights, log = folder / f"{tag}.weights.h5", folder / f"{tag}.csv"
    if weights.is_file():
        model.load_weights(weights)
        print(f"{tag}: trained earlier in {folder.name}/, weights loaded (delete {weights.name} to train again)")
        return _read_log(log) if log.is_file() else {}
    backup = folder / f"backup-{tag}"
    if not backup.is_dir() and log.is_file():
        log.unlink()  # a log without a backup is from a run that died before its first epoch ended
    if backup.is_dir():
        print(f"{tag}: resuming the interrupted training in {folder.name}/")
    callbacks = [keras.callbacks.BackupAndRestore(str(backup)), keras.callbacks.CSVLogger(str(log), append=True)]
    if tensorboard:
        try:
            import tensorboard as _  # noqa: F401  (TensorFlow 2.21 no longer installs it; Colab has it)
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(folder / "logs" / tag)))
        except ImportError:
            pass  # the CSV log is kept either way
    if verbose:
        from utils import progress  # a live "epoch 1/30, step 120/352" line in a notebook

        callbacks.append(progress.live_progress())
    model.fit(train_ds, epochs=int(epochs), validation_data=validation_data, callbacks=callbacks,
              verbose=verbose, steps_per_epoch=steps_per_epoch,
              shuffle=False)  # the pipeline shuffles (this only silences Keras' note that it would not)
    model.save_weights(weights)
    return _read_log(log)


def smoke_steps() -> int | None:
    """Steps per epoch under ``CONVNET_SMOKE_STEPS`` (tests run full mode on a tiny budget), else None."""
    value = os.environ.get("CONVNET_SMOKE_STEPS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"CONVNET_SMOKE_STEPS must be a positive integer. Received: CONVNET_SMOKE_STEPS={value!r}")
    return int(value)


def train_and_validate(recipe: dict, train, val, *, epochs: int, config: str = "E",
                       kernel_initializer: str = "he_normal", classes: int = 10, seed: int = 0,
                       steps_per_epoch: int | None = None, strategy=None) -> dict:
    """Train a fresh network with ``recipe`` and report its best epoch on the validation split.

    For comparisons (recipes, depths, weight decays, initialisers): every variant sees
    the same images in the same order, and the epoch reported is chosen on ``val``,
    never on the test set.

    Args:
        recipe: A recipe dict (its ``epochs`` is replaced by ``epochs``).
        train: ``(x, y)`` training images and labels.
        val: ``(x, y)`` validation images and labels.
        epochs: Epochs to train.
        config: VGG configuration. Defaults to ``"E"``.
        kernel_initializer: Defaults to ``"he_normal"``.
        classes: Defaults to 10.
        seed: Seeds the weights, the shuffle and the augmentation. Defaults to 0.
        steps_per_epoch: Fewer steps per epoch (tests). Defaults to None (all).
        strategy: A ``tf.distribute`` strategy to build the model in. Defaults to None.

    Returns:
        A dict: ``best_val_accuracy``, ``best_epoch`` (counting from 1) and ``history``.
    """
    import contextlib

    import keras

    recipe = check_recipe({**recipe, "epochs": epochs})
    keras.utils.set_random_seed(seed)
    train_ds = dataset(*train, recipe["batch_size"], training=True, shift=recipe["shift"], classes=classes, seed=seed)
    val_ds = dataset(*val, 500, training=False, classes=classes)
    per_epoch = steps_per_epoch or len(train_ds)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = build_model(recipe, classes=classes, config=config, kernel_initializer=kernel_initializer)
        compile_model(model, recipe, total_steps=int(epochs) * per_epoch)
    history = model.fit(train_ds, epochs=int(epochs), validation_data=val_ds, verbose=0,
                        steps_per_epoch=steps_per_epoch, shuffle=False).history  # the pipeline shuffles
    best = int(np.argmax(history["val_accuracy"]))
    return {"best_val_accuracy": float(history["val_accuracy"][best]), "best_epoch": best + 1, "history": history}


def recipe(mode: str) -> dict:
    """A copy of ``RECIPE[mode]``; under ``CONVNET_SMOKE_STEPS`` (tests) at most 2 epochs of batches of 2."""
    if mode not in RECIPE:
        raise ValueError(f"mode must be one of {', '.join(RECIPE)}. Received: mode={mode!r}")
    chosen = dict(RECIPE[mode])
    chosen["epochs"] = epochs(chosen["epochs"])
    if smoke_steps():
        # Full width under mixed_float16 on a CPU: a training step costs seconds per image there
        # (CPUs lack fast float16 gradients), so the tests' run trains on as few images as it can.
        chosen["batch_size"] = 2
    return chosen


def epochs(n: int) -> int:
    """``n`` epochs, or at most 2 under ``CONVNET_SMOKE_STEPS`` (the tests' tiny run of full mode)."""
    return min(n, 2) if smoke_steps() else n
