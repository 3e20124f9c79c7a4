"""Unit tests of utils/vgg.py: the configuration table, the builder and the weight copy."""

import keras
import numpy as np
import pytest

from utils import vgg
from utils.checks import VGG_PARAMS

# Exact parameter counts at 224x224x3 with 1000 classes: the table the exercise checker
# of notebook 01 uses. The tests below build every configuration and check each count
# against it, and against Table 2's rounding; D is also counted by hand, and D and E are
# compared with keras.applications.VGG16/VGG19.
EXACT_PARAMS = VGG_PARAMS


def conv_params(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def test_table_has_the_paper_configurations():
    assert list(vgg.CONFIGS) == ["A", "A-LRN", "B", "C", "D", "E"]
    assert [vgg.weight_layers(c) for c in vgg.CONFIGS] == [11, 11, 13, 16, 16, 19]
    # Configuration C differs from D only in the 1x1 convolutions ending blocks 3-5.
    for block_c, block_d in zip(vgg.CONFIGS["C"][2:], vgg.CONFIGS["D"][2:]):
        assert block_c[:-1] == block_d[:-1]
        assert block_c[-1].startswith("conv1-") and block_d[-1].startswith("conv3-")


@pytest.mark.parametrize("config", list(EXACT_PARAMS))
def test_parameter_counts_match_table_2(config):
    model = vgg.vgg(config)
    assert model.count_params() == EXACT_PARAMS[config]
    assert round(model.count_params() / 1e6) == vgg.PAPER_PARAMS_MILLIONS[config]
    keras.backend.clear_session()


def test_hand_count_of_configuration_d():
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    total = sum(conv_params(3, i, o) for i, o in convs)
    total += 7 * 7 * 512 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert total == EXACT_PARAMS["D"]


@pytest.mark.parametrize("config, reference", [("D", keras.applications.VGG16), ("E", keras.applications.VGG19)])
def test_same_layers_as_keras_applications(config, reference):
    ours, ref = vgg.vgg(config), reference(weights=None)
    sig = lambda m: [(l.name, type(l).__name__, tuple(l.output.shape), l.count_params()) for l in m.layers[1:]]
    assert sig(ours) == sig(ref)
    keras.backend.clear_session()


def test_copy_weights_gives_identical_outputs():
    ref = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    ours = vgg.vgg("vgg16", include_top=False, input_shape=(64, 64, 3))
    copied = vgg.copy_weights(ref, ours)
    assert len(copied) == 13
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), ref.predict(x, verbose=0), rtol=0, atol=1e-5)


def test_weights_file_loads_by_builder(tmp_path):
    source = vgg.vgg("A", input_shape=(32, 32, 3), classes=10, width=0.25, fc_units=32)
    path = tmp_path / "narrow.weights.h5"
    source.save_weights(path)
    loaded = vgg.vgg("A", input_shape=(32, 32, 3), classes=10, width=0.25, fc_units=32, weights=str(path))
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_copy_weights_rejects_mismatched_shapes():
    a = vgg.vgg("A", input_shape=(32, 32, 3), classes=10, width=0.25, fc_units=32)
    b = vgg.vgg("A", input_shape=(32, 32, 3), classes=10, width=0.5, fc_units=32)
    with pytest.raises(ValueError, match="block1_conv1.*Received"):
        vgg.copy_weights(a, b)


def test_narrow_batch_norm_variant_and_names():
    model = vgg.vgg("E", input_shape=(32, 32, 3), classes=10, width=0.125, fc_units=64, dropout=0.5,
                    batch_norm=True, kernel_initializer="he_normal")
    names = [l.name for l in model.layers]
    assert "block5_conv4" in names and "block5_conv4_bn" in names and "block5_conv4_relu" in names
    assert names[-3:] == ["predictions_dense", "predictions_bn", "predictions"]
    assert model.output.shape == (None, 10)
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert len(convs) == 16 and all(l.activation.__name__ == "linear" for l in convs)


def test_batch_norm_momentum_reaches_every_batch_norm_layer():
    model = vgg.vgg("A", input_shape=(32, 32, 3), classes=10, width=0.125, fc_units=16,
                    batch_norm=True, batch_norm_momentum=0.9)
    layers = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert len(layers) == 8 + 3 and all(l.momentum == 0.9 for l in layers)
    default = vgg.vgg("A", include_top=False, input_shape=(32, 32, 3), width=0.125, batch_norm=True)
    assert {l.momentum for l in default.layers if isinstance(l, keras.layers.BatchNormalization)} == {0.99}
    for bad in (1.0, -0.1, "0.9", True):
        with pytest.raises(ValueError, match=f"in \\[0, 1\\).*Received: batch_norm_momentum={bad!r}"):
            vgg.vgg("A", batch_norm=True, batch_norm_momentum=bad)


def test_lrn_configuration_runs_and_has_no_weights():
    model = vgg.vgg("A-LRN", include_top=False, input_shape=(32, 32, 3), width=0.125)
    lrn = model.get_layer("block1_lrn")
    assert lrn.count_params() == 0
    out = model(np.ones((1, 32, 32, 3), "float32"))
    assert tuple(out.shape) == (1, 1, 1, 64)


def test_without_top_pooling_and_any_input_size():
    model = vgg.vgg("B", include_top=False, pooling="avg", width=0.25)
    assert tuple(model.output.shape) == (None, 128)
    out = model(np.zeros((1, 96, 64, 3), "float32"))
    assert tuple(out.shape) == (1, 128)


@pytest.mark.parametrize("kwargs, message", [
    ({"config": "F"}, "config must be one of"),
    ({"config": 16}, "Received: config=16"),
    ({"classes": 0}, "Received: classes=0"),
    ({"classes": 2.5}, "Received: classes=2.5"),
    ({"input_shape": (16, 16, 3)}, "at least 32"),
    ({"input_shape": (224, 224)}, "Received: input_shape=(224, 224)"),
    ({"input_shape": (None, None, 3)}, "include_top=True"),
    ({"pooling": "mean", "include_top": False}, "Received: pooling='mean'"),
    ({"weights": 1}, "Received: weights=1"),
    ({"width": 0}, "Received: width=0"),
    ({"dropout": 1.0}, "Received: dropout=1.0"),
])
def test_bad_arguments_raise_before_building(kwargs, message, monkeypatch):
    # No layer may be built before the check: make building one fail loudly.
    monkeypatch.setattr(vgg, "vgg_block", lambda *a, **k: pytest.fail("a layer was built"))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        vgg.vgg(**kwargs)


def test_parse_layer():
    assert vgg.parse_layer("conv3-64") == ("conv", 3, 64)
    assert vgg.parse_layer("conv1-512") == ("conv", 1, 512)
    assert vgg.parse_layer("LRN") == ("lrn", 0, 0)
    with pytest.raises(ValueError, match="Received: 'maxpool'"):
        vgg.parse_layer("maxpool")
