"""Unit tests of utils/distribute.py.

The CPU is split into two logical devices, which TensorFlow allows only before it
initialises its devices, so the training comparison runs in a fresh Python process.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tensorflow as tf

from utils import distribute

REPO_ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from utils import distribute

    rng = np.random.default_rng(0)
    images = rng.standard_normal((16, 8, 8, 3)).astype("float32")
    labels = rng.integers(0, 4, 16)

    def tiny():
        return keras.Sequential([
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="softmax", name="dense"),
        ])

    def one_step(strategy):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = tiny()
            model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                          loss="sparse_categorical_crossentropy")
        before = [w.numpy().tolist() for w in model.weights]
        model.fit(images, labels, batch_size=16, epochs=1, shuffle=False, verbose=0)
        return before, [w.numpy().tolist() for w in model.weights]

    mirrored = distribute.strategy(["/cpu:0", "/cpu:1"])
    detected = distribute.strategy()
    out = {
        "logical_cpus": len(tf.config.list_logical_devices("CPU")),
        "mirrored": [type(mirrored).__name__, mirrored.num_replicas_in_sync, distribute.describe(mirrored)],
        "detected": [type(detected).__name__, detected.num_replicas_in_sync],
        "single": one_step(tf.distribute.get_strategy()),
        "two_cpus": one_step(mirrored),
    }
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def result():
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(REPO_ROOT)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cpu_splits_into_two_mirrored_replicas(result):
    assert result["logical_cpus"] == 2
    assert result["mirrored"] == ["MirroredStrategy", 2, "MirroredStrategy with 2 replicas (cpu:0, cpu:1)"]


def test_without_accelerators_the_helper_uses_one_cpu(result):
    assert result["detected"] == ["OneDeviceStrategy", 1]


def test_one_step_on_two_replicas_matches_one_device(result):
    import numpy as np

    (start_1, after_1), (start_2, after_2) = result["single"], result["two_cpus"]
    for a, b in zip(start_1, start_2):
        np.testing.assert_array_equal(np.array(a), np.array(b))  # same seed, same initial weights
    assert not np.allclose(np.array(after_1[0]), np.array(start_1[0]))  # the step changed something
    for a, b in zip(after_1, after_2):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)


def test_bad_device_lists_are_refused():
    for bad in ([], "/cpu:0", [0]):
        with pytest.raises(ValueError, match="non-empty list of device names. Received"):
            distribute.strategy(bad)


def test_describe_one_device():
    chosen = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert distribute.describe(chosen) == "OneDeviceStrategy with 1 replica (cpu:0)"
