"""Unit tests of utils/profiling.py and utils/config.py."""

import re

import keras
import numpy as np
import pytest

from utils import config, profiling, vgg


def small_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    outputs = keras.layers.Dense(5, name="dense")(x)
    return keras.Model(inputs, outputs)


def test_layer_costs_by_hand():
    costs = profiling.layer_costs(small_model())
    assert list(costs.index) == ["conv", "pool", "flat", "dense"]
    assert costs.loc["conv", "params"] == 3 * 3 * 3 * 4 + 4
    assert costs.loc["conv", "MACs"] == 8 * 8 * 4 * 3 * 3 * 3
    assert costs.loc["conv", "activations"] == 8 * 8 * 4
    assert costs.loc["pool", "output shape"] == (4, 4, 4)
    assert costs.loc["dense", "MACs"] == 64 * 5
    assert costs.loc["pool", "MACs"] == 0


def test_layer_costs_vgg16_totals():
    costs = profiling.layer_costs(vgg.vgg("D"))
    assert costs["params"].sum() == 138_357_544
    assert costs["MACs"].sum() == 15_470_264_320
    assert costs["activations"].sum() == 15_112_168
    assert costs.loc["fc1", "params"] == 102_764_544
    keras.backend.clear_session()


def test_layer_costs_needs_fixed_input():
    with pytest.raises(ValueError, match="fixed input size"):
        profiling.layer_costs(vgg.vgg("A", include_top=False, width=0.125))


def test_training_memory_estimate():
    est = profiling.training_memory_estimate(1000, 50, 8)
    assert est == {"parameters_bytes": 12_000, "activations_bytes": 3_200, "total_bytes": 15_200}
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        profiling.training_memory_estimate(1000, 50, 0)


def test_time_steps_counts_and_validates():
    calls = []
    timing = profiling.time_steps(lambda: calls.append(1) or np.zeros(1), burn_in=2, steps=3)
    assert len(calls) == 5 and len(timing.seconds) == 3
    assert timing.std >= 0 and "over 3 batches" in str(timing) and "±" in str(timing)
    # One or two samples give no useful spread: the mean alone.
    assert str(profiling.Timing([1.0, 3.0])) == "2.000 s per batch (mean of 2 batches)"
    assert str(profiling.Timing([1.5])) == "1.500 s per batch (mean of 1 batch)"
    with pytest.raises(ValueError, match="Received: burn_in=0, steps=0"):
        profiling.time_steps(lambda: 0, burn_in=0, steps=0)


def test_forward_and_backward_steps_run():
    model = small_model()
    x = np.ones((2, 8, 8, 3), "float32")
    assert tuple(np.asarray(profiling.forward_step(model, x)()).shape) == (2, 5)
    loss = profiling.forward_backward_step(model, x, np.array([0, 1]))()
    assert np.isfinite(float(loss))


def test_peak_rss_during_sees_an_allocation():
    grown = profiling.peak_rss_during(lambda: np.ones(50_000_000, dtype=np.uint8).sum())
    assert grown >= 20_000_000


def test_matmul_gflops_positive():
    assert profiling.matmul_gflops(256, burn_in=1, steps=2) > 0


def test_human_bytes():
    assert profiling.human_bytes(512) == "512 B"
    assert profiling.human_bytes(1536) == "1.50 KiB"
    assert profiling.human_bytes(3 * 1024**3) == "3.00 GiB"


def test_run_mode(monkeypatch):
    monkeypatch.setenv("CONVNET_MODE", "full")
    assert config.run_mode()[0] == "full"
    monkeypatch.setenv("CONVNET_MODE", "QUICK")
    assert config.run_mode()[0] == "quick"
    monkeypatch.setenv("CONVNET_MODE", "fast")
    with pytest.raises(ValueError, match="Received: CONVNET_MODE='fast'"):
        config.run_mode()
    monkeypatch.delenv("CONVNET_MODE")
    monkeypatch.setattr(config, "accelerators", lambda: [])
    assert config.run_mode()[0] == "quick"
    monkeypatch.setattr(config, "accelerators", lambda: ["GPU"])
    assert config.run_mode()[0] == "full"


def test_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVNET_DATA_DIR", str(tmp_path / "d"))
    assert config.data_dir() == tmp_path / "d"
    assert config.data_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("CONVNET_DATA_DIR")
    assert config.data_dir() == config.REPO_ROOT / "data"
    monkeypatch.setenv("CONVNET_CACHE_DIR", str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    monkeypatch.setenv("CONVNET_OUTPUT_DIR", str(tmp_path / "o"))
    assert config.output_dir("05") == tmp_path / "o" / "05" and (tmp_path / "o" / "05").is_dir()
    monkeypatch.delenv("CONVNET_OUTPUT_DIR")
    assert config.output_dir() == config.REPO_ROOT / "outputs"


def test_seeds_repeat_and_validate():
    config.set_seeds(3)
    a = keras.random.uniform((4,)).numpy()
    config.set_seeds(3)
    b = keras.random.uniform((4,)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="Received: seed=-1"):
        config.set_seeds(-1)


def test_start_prints_banner(monkeypatch, capsys):
    monkeypatch.setenv("CONVNET_MODE", "quick")
    run = config.start(seed=0)
    out = capsys.readouterr().out
    assert run.quick and run.pick(1, 2) == 1
    assert "Run mode: quick (set by CONVNET_MODE)" in out and "Seed: 0" in out


def test_training_step_memory_in_a_fresh_process():
    measured = profiling.training_step_memory("A", batch_size=2, input_size=32, timed_steps=2)
    # Configuration A at 32x32 has ~32M parameters (fc1 is 512x4096): building it must
    # show their ~129 MB; the step must need more on top (activations, gradients). How
    # much more depends on what TensorFlow frees early, so only growth is asserted.
    params = vgg.vgg("A", input_shape=(32, 32, 3)).count_params()
    assert measured["weights_and_inputs"] >= 0.8 * params * 4
    assert measured["total"] == measured["weights_and_inputs"] + measured["step"]
    assert measured["step"] > 0
    assert measured["device"] == "CPU (resident memory)"
    # Two steps timed after the measured one (notebook 01 times VGG16's forward+backward so).
    assert len(measured["timing"].seconds) == 2 and all(s > 0 for s in measured["timing"].seconds)


@pytest.mark.parametrize("arguments, message", [
    ({"config": "F"}, "config must be one of A, A-LRN, B, C, D, E. Received: config='F'"),
    ({"config": ["D"]}, "config must be one of"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1. Received: batch_size=0"),
    ({"input_size": 16}, "input_size must be an integer >= 32. Received: input_size=16"),
    ({"timed_steps": -1}, "timed_steps must be an integer >= 0. Received: timed_steps=-1"),
    ({"timed_steps": 1.5}, "timed_steps must be an integer >= 0. Received: timed_steps=1.5"),
    ({"timed_steps": True}, "timed_steps must be an integer >= 0. Received: timed_steps=True"),
    ({"timed_steps": "2"}, "timed_steps must be an integer >= 0. Received: timed_steps='2'"),
    ({"burn_in": 0}, "burn_in must be an integer >= 1. Received: burn_in=0"),
])
def test_training_step_memory_refuses_bad_input_before_starting_a_process(arguments, message, monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError("a process was started")

    monkeypatch.setattr("subprocess.run", no_process)
    with pytest.raises(ValueError, match=re.escape(message)):
        profiling.training_step_memory(**{"config": "A", "batch_size": 2, "input_size": 32, **arguments})


def test_training_step_memory_passes_its_counts_and_times_nothing_by_default(monkeypatch):
    import subprocess

    calls = []

    def child(command, **kwargs):
        calls.append(command)
        line = '{"after_import": 10, "before_step": 30, "peak": 70, "device": "CPU (resident memory)", "seconds": []}'
        return subprocess.CompletedProcess(command, 0, stdout="a warning\n" + line + "\n", stderr="")

    monkeypatch.setattr("subprocess.run", child)
    measured = profiling.training_step_memory("E", batch_size=np.int64(8), input_size=64)
    assert calls[0][-5:] == ["E", "8", "64", "1", "0"]  # config, batch, size, burn-in, timed steps
    assert measured == {"device": "CPU (resident memory)", "weights_and_inputs": 20, "step": 40, "total": 60,
                        "timing": None}
    profiling.training_step_memory("E", batch_size=8, input_size=64, timed_steps=3, burn_in=2)
    assert calls[1][-2:] == ["2", "3"]


def test_new_run_dir_never_reuses_a_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    first = config.new_run_dir("05_demo", "quick")
    (first / "model.keras").write_text("a learner's model")
    second = config.new_run_dir("05_demo", "quick")
    assert first != second and first.parent == second.parent == tmp_path / "outputs" / "05_demo"
    assert (first / "model.keras").read_text() == "a learner's model" and not any(second.iterdir())
    assert second.name.startswith("quick-")
    with pytest.raises(ValueError, match="Received: mode='fast'"):
        config.new_run_dir("05_demo", "fast")


def test_new_file_refuses_what_exists(tmp_path):
    path = tmp_path / "model.keras"
    assert config.new_file(str(path)) == path and not path.exists()
    path.write_bytes(b"a learner's model")
    with pytest.raises(FileExistsError, match="model.keras exists already; not overwriting it"):
        config.new_file(path)
    assert path.read_bytes() == b"a learner's model"
