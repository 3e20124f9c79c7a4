"""utils.cifar: notebook 05's recipes, pipeline, schedules, freezing and resumable training."""

from __future__ import annotations

import copy

import keras
import numpy as np
import pytest

from utils import cifar, config, transfer

TINY = {**cifar.RECIPE["quick"], "width": 0.0625, "fc_units": 8, "batch_size": 8, "epochs": 2}


def _images(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 4


def test_recipes_have_every_key_and_keep_the_source_optimiser_settings():
    for recipe in (cifar.SOURCE, *cifar.RECIPE.values()):
        assert cifar.check_recipe(recipe) is recipe
    assert cifar.SOURCE["schedule"] == "piecewise" and cifar.SOURCE["batch_norm_momentum"] == 0.99
    # Short runs need faster BatchNorm averages (notebook 04's finding); full mode shifts as the source did,
    # quick mode's four epochs only flip (shifts cost an underfitting run accuracy: notebook 05, section 4).
    assert all(r["batch_norm_momentum"] == 0.9 for r in cifar.RECIPE.values())
    assert cifar.RECIPE["full"]["shift"] == cifar.SOURCE["shift"] == 0.125 and cifar.RECIPE["quick"]["shift"] == 0.0
    assert cifar.RECIPE["full"]["width"] == 1.0 and cifar.RECIPE["quick"]["width"] == 0.125


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "recipe['epochs'] must be a positive number. Received: recipe['epochs']=0"),
    ({"batch_size": 2.5}, "recipe['batch_size'] must be a positive integer"),
    ({"dropout": 1.0}, "recipe['dropout'] must be a number in [0, 1)"),
    ({"schedule": "cosine"}, "recipe['schedule'] must be one of piecewise, warmup-cosine"),
    ({"l2": -1}, "recipe['l2'] must be a number >= 0"),
    ({"extra": 1}, "unknown ['extra']"),
])
def test_bad_recipes_are_refused_with_what_was_received(change, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        cifar.check_recipe({**cifar.SOURCE, **change})
    with pytest.raises(ValueError, match="missing \\['epochs'\\]"):
        cifar.check_recipe({k: v for k, v in cifar.SOURCE.items() if k != "epochs"})


def test_steps_count_the_last_partial_batch():
    assert cifar.steps(cifar.SOURCE, 50_000) == 200 * 391
    assert cifar.steps({**cifar.SOURCE, "epochs": 2.5, "batch_size": 256}, 45_000) == round(2.5 * 176)
    with pytest.raises(ValueError, match="images must be a positive integer. Received: images=0"):
        cifar.steps(cifar.SOURCE, 0)


def test_split_validation_holds_out_per_class_and_is_disjoint():
    y = np.repeat(np.arange(3), 10)
    x = np.arange(30)[:, None]
    (xt, yt), (xv, yv) = cifar.split_validation(x, y, per_class=2, seed=0)
    assert np.bincount(yv).tolist() == [2, 2, 2] and np.bincount(yt).tolist() == [8, 8, 8]
    assert set(xt[:, 0]).isdisjoint(xv[:, 0]) and len(xt) + len(xv) == 30
    (_, _), (xv2, _) = cifar.split_validation(x, y, per_class=2, seed=0)
    assert np.array_equal(xv, xv2)
    with pytest.raises(ValueError, match="per_class must be an integer from 1 to 9.*Received: per_class=10"):
        cifar.split_validation(x, y, per_class=10)


def test_select_classes_renumbers_in_the_given_order():
    y = np.array([0, 5, 9, 5, 3])
    x = np.arange(5)
    xs, ys = cifar.select_classes(x, y, [5, 9])
    assert xs.tolist() == [1, 2, 3] and ys.tolist() == [0, 1, 0]
    for bad in ([], [1, 1], [10], [True]):
        with pytest.raises(ValueError, match="distinct CIFAR-10 labels"):
            cifar.select_classes(x, y, bad)


def test_dataset_is_caffe_input_with_one_hot_labels():
    x, y = _images(10)
    images, labels = next(iter(cifar.dataset(x, y, 10, training=False, classes=4)))
    np.testing.assert_allclose(images.numpy(), transfer.preprocess_caffe(x), atol=1e-4)
    assert labels.numpy().tolist() == np.eye(4)[y].tolist()
    rgb, _ = next(iter(cifar.dataset(x, y, 10, training=False, classes=4, bgr=False)))
    np.testing.assert_allclose(rgb.numpy(), transfer.preprocess_source_rgb(x), atol=1e-4)
    train = cifar.dataset(x, y, 4, training=True, classes=4)
    batch, _ = next(iter(train))
    assert batch.shape == (4, 32, 32, 3) and len(train) == 3
    assert train.options().autotune.enabled is False  # its iterators end at once (data.without_autotune)
    with pytest.raises(ValueError, match="Received: x of shape \\(10, 32, 32, 3\\), y of shape \\(3,\\)"):
        cifar.dataset(x, y[:3], 4, training=False)


def test_piecewise_schedule_is_the_source_one():
    rate = cifar.learning_rate(cifar.SOURCE, 200)
    got = [round(float(rate(s)), 6) for s in (0, 79, 80, 139, 140, 199)]
    assert got == [0.01, 0.01, 0.005, 0.005, 0.001, 0.001]


def test_warmup_cosine_warms_up_then_decays_to_zero():
    rate = cifar.learning_rate({**cifar.RECIPE["quick"], "warmup": 0.2}, 100)
    values = np.array([float(rate(s)) for s in range(101)])
    assert values[0] == 0 and np.argmax(values) == 20 and np.isclose(values.max(), cifar.RECIPE["quick"]["learning_rate"])
    assert np.all(np.diff(values[:21]) > 0) and np.all(np.diff(values[20:]) <= 1e-9) and values[-1] < 1e-6


def test_build_model_uses_the_recipe_momentum_width_and_names():
    model = cifar.build_model(TINY, classes=4)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 19 and {layer.momentum for layer in norms} == {0.9}
    assert model.get_layer("block1_conv1").filters == 4 and model.output.shape[-1] == 4
    source = cifar.build_model({**cifar.SOURCE, "width": 0.0625, "fc_units": 8})
    assert {layer.momentum for layer in source.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.99}


def test_run_dir_continues_an_unfinished_run_and_not_a_finished_one(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVNET_OUTPUT_DIR", str(tmp_path))
    first = cifar.run_dir("quick")
    assert (first / cifar.UNFINISHED).is_file() and cifar.run_dir("quick") == first
    assert cifar.run_dir("full") != first
    cifar.finish_run(first)
    second = cifar.run_dir("quick")
    assert second != first and first.is_dir()


def _compiled(seed=0, *, eagerly=False):
    keras.utils.set_random_seed(seed)
    model = cifar.build_model(TINY, classes=4)
    model = cifar.compile_model(model, TINY, total_steps=6)
    # Eager steps where what is under test is fit_or_resume's bookkeeping, not the traced step: tracing a
    # 16-conv net costs several seconds per model and per stack.
    model.run_eagerly = eagerly or model.run_eagerly
    return model


def test_steps_are_traced_except_in_the_tests_tiny_full_mode_run(monkeypatch):
    monkeypatch.delenv("CONVNET_SMOKE_STEPS", raising=False)
    assert _compiled().run_eagerly is False  # what the notebooks run: traced steps
    monkeypatch.setenv("CONVNET_SMOKE_STEPS", "2")
    model = _compiled()
    assert model.run_eagerly is True
    x, y = _images()
    history = model.fit(cifar.dataset(x, y, 8, training=True, classes=4), epochs=1, steps_per_epoch=2, verbose=0,
                        shuffle=False)  # the pipeline shuffles
    assert np.isfinite(history.history["loss"][0])


def test_fit_or_resume_trains_logs_and_then_reloads(tmp_path, capsys):
    x, y = _images()
    ds = cifar.dataset(x, y, 8, training=True, classes=4)
    model = _compiled(eagerly=True)
    history = cifar.fit_or_resume(model, ds, epochs=2, folder=tmp_path, tag="main", verbose=0)
    assert len(history["loss"]) == 2 and (tmp_path / "main.weights.h5").is_file()
    assert not (tmp_path / "backup-main").exists()  # BackupAndRestore cleans up after a finished fit
    again = _compiled(seed=1, eagerly=True)
    history2 = cifar.fit_or_resume(again, ds, epochs=2, folder=tmp_path, tag="main", verbose=0)
    assert "weights loaded" in capsys.readouterr().out and history2 == history
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_or_resume_keyed_by_settings_trains_a_changed_configuration_afresh(tmp_path, capsys):
    x, y = _images()
    ds = cifar.dataset(x, y, 8, training=True, classes=4)
    cifar.fit_or_resume(_compiled(eagerly=True), ds, epochs=1, folder=tmp_path, tag="main", verbose=0,
                        settings={**TINY, "seed": 0})
    cifar.fit_or_resume(_compiled(eagerly=True), ds, epochs=1, folder=tmp_path, tag="main", verbose=0,
                        settings={**TINY, "seed": 0})
    assert "weights loaded" in capsys.readouterr().out  # the same configuration: reloaded, and said so
    cifar.fit_or_resume(_compiled(eagerly=True), ds, epochs=1, folder=tmp_path, tag="main", verbose=0,
                        settings={**TINY, "seed": 0, "l2": 1e-3})
    assert "weights loaded" not in capsys.readouterr().out  # a changed setting: trained afresh
    assert len(list(tmp_path.glob("main-*.weights.h5"))) == 2 and len(list(tmp_path.glob("main-*.json"))) == 2
    assert cifar.settings_tag("main", {"a": 1}) == cifar.settings_tag("main", {"a": 1}) != cifar.settings_tag("main", {"a": 2})
    with pytest.raises(ValueError, match="settings must be a non-empty dict. Received: settings={}"):
        cifar.settings_tag("main", {})


def test_fit_or_resume_resumes_after_an_interruption(tmp_path, capsys):
    x, y = _images()
    ds = cifar.dataset(x, y, 8, training=True, classes=4)

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt  # what a dropped session or a stopped kernel does

    model = _compiled(eagerly=True)
    original_fit = model.fit
    model.fit = lambda *a, callbacks=(), **k: original_fit(*a, callbacks=[*callbacks, Interrupt()], **k)
    with pytest.raises(KeyboardInterrupt):
        cifar.fit_or_resume(model, ds, epochs=3, folder=tmp_path, tag="long", verbose=0)
    assert (tmp_path / "backup-long").is_dir() and not (tmp_path / "long.weights.h5").exists()
    resumed = _compiled(seed=1, eagerly=True)
    history = cifar.fit_or_resume(resumed, ds, epochs=3, folder=tmp_path, tag="long", verbose=0)
    assert "resuming the interrupted training" in capsys.readouterr().out
    assert len(history["loss"]) == 3  # epoch 1 from the first call, epochs 2 and 3 from the second


def test_fit_or_resume_refuses_bad_arguments(tmp_path):
    model = _compiled()
    with pytest.raises(ValueError, match="tag must be letters"):
        cifar.fit_or_resume(model, None, epochs=1, folder=tmp_path, tag="a/b")
    with pytest.raises(ValueError, match="epochs must be a positive integer. Received: epochs=0"):
        cifar.fit_or_resume(model, None, epochs=0, folder=tmp_path, tag="a")
    with pytest.raises(ValueError, match="folder must be an existing folder"):
        cifar.fit_or_resume(model, None, epochs=1, folder=tmp_path / "nope", tag="a")


def test_smoke_steps(monkeypatch):
    monkeypatch.delenv("CONVNET_SMOKE_STEPS", raising=False)
    assert cifar.smoke_steps() is None
    monkeypatch.setenv("CONVNET_SMOKE_STEPS", "2")
    assert cifar.smoke_steps() == 2
    monkeypatch.setenv("CONVNET_SMOKE_STEPS", "two")
    with pytest.raises(ValueError, match="Received: CONVNET_SMOKE_STEPS='two'"):
        cifar.smoke_steps()


@pytest.fixture
def mixed_float16():
    """Full mode's policy on a GPU, set for one test and restored afterwards whatever happens."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def test_pipelines_yield_float32_under_mixed_precision(mixed_float16):
    x, y = _images(8)
    for training, shift in ((True, 0.125), (True, 0.0), (False, 0.125)):
        images, labels = next(iter(cifar.dataset(x, y, 8, training=training, shift=shift, classes=4)))
        assert images.dtype == "float32" and labels.dtype == "float32", (training, shift)
    evaluation, _ = next(iter(cifar.dataset(x, y, 8, training=False, classes=4)))
    np.testing.assert_allclose(evaluation.numpy(), transfer.preprocess_caffe(x), atol=1e-4)


def test_one_step_of_the_full_recipe_runs_under_mixed_precision(mixed_float16, monkeypatch):
    monkeypatch.delenv("CONVNET_SMOKE_STEPS", raising=False)
    full = {**cifar.RECIPE["full"], "batch_size": 4}
    model = cifar.build_model(full, name="vgg19_bn_cifar10")
    assert model.count_params() == 39_002_738  # the full-width network with the source's head
    assert model.get_layer("block1_conv1").compute_dtype == "float16"
    assert model.get_layer("predictions").compute_dtype == "float32"  # the class scores stay float32
    cifar.compile_model(model, full, total_steps=10)
    model.run_eagerly = True  # one step: tracing the full-width network would cost more than it runs
    x, y = _images(4)
    images, labels = next(iter(cifar.dataset(x, y, 4, training=True, shift=full["shift"])))
    logs = model.train_on_batch(images, labels, return_dict=True)
    assert np.isfinite(logs["loss"]), logs  # training mode: BatchNorm uses the batch's statistics


def test_precision_policy_is_mixed_only_in_full_mode_with_an_accelerator_or_when_forced(monkeypatch):
    monkeypatch.delenv(cifar.MIXED_PRECISION_ENV, raising=False)
    assert cifar.precision_policy("full", ["GPU"]) == "mixed_float16"
    assert cifar.precision_policy("full", ["TPU"]) == "mixed_bfloat16"
    assert cifar.precision_policy("full", []) == "float32"
    assert cifar.precision_policy("quick", ["GPU"]) == "float32"
    monkeypatch.setenv(cifar.MIXED_PRECISION_ENV, "1")
    assert cifar.precision_policy("full", []) == "mixed_float16"
    assert cifar.precision_policy("quick", []) == "float32"
    monkeypatch.setenv(cifar.MIXED_PRECISION_ENV, "0")
    assert cifar.precision_policy("full", ["GPU"]) == "float32"
    monkeypatch.setenv(cifar.MIXED_PRECISION_ENV, "yes")
    with pytest.raises(ValueError, match="must be 0 or 1. Received: CONVNET_MIXED_PRECISION='yes'"):
        cifar.precision_policy("full", [])
    with pytest.raises(ValueError, match="Received: mode='fast'"):
        cifar.precision_policy("fast", [])


def test_memory_growth_is_asked_for_every_gpu(monkeypatch):
    import tensorflow as tf

    asked = []
    gpus = [tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU"),
            tf.config.PhysicalDevice("/physical_device:GPU:1", "GPU")]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])

    def grow(device, enable):
        if device.name.endswith("1"):
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        asked.append((device.name, enable))

    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", grow)
    assert config.allow_memory_growth() == ["/physical_device:GPU:0"]
    assert asked == [("/physical_device:GPU:0", True)]


def test_recipes_are_not_changed_by_use():
    before = copy.deepcopy(cifar.RECIPE)
    cifar.build_model(TINY)
    cifar.learning_rate(cifar.RECIPE["quick"], 10)
    assert cifar.RECIPE == before
