"""Unit tests of utils/transfer.py: preprocessing, and ImageNet-layout weights loaded by name.

ImageNet weights cannot be downloaded where the tests run, so each test saves the
weights of a ``keras.applications`` VGG itself, in the layouts Keras reads, and loads
them into our BatchNorm VGG.
"""

import keras
import numpy as np
import pytest

from utils import data, transfer, vgg


@pytest.fixture(autouse=True)
def _clear():
    yield
    keras.backend.clear_session()


def _images():
    return np.random.default_rng(0).integers(0, 256, size=(3, 5, 4, 3)).astype("uint8")


def test_preprocess_caffe_is_bgr_minus_the_imagenet_mean():
    x = _images()
    expected = x[..., ::-1].astype("float32") - np.array([103.939, 116.779, 123.68], dtype="float32")
    np.testing.assert_allclose(transfer.preprocess_caffe(x), expected, rtol=0, atol=1e-4)
    reference = keras.applications.vgg19.preprocess_input(x.astype("float32"))
    np.testing.assert_array_equal(transfer.preprocess_caffe(x), reference)
    np.testing.assert_array_equal(transfer.preprocess_caffe(x), keras.applications.vgg16.preprocess_input(
        x.astype("float32")))


def test_preprocess_caffe_leaves_the_input_alone():
    x = _images().astype("float32")
    before = x.copy()
    transfer.preprocess_caffe(x)
    np.testing.assert_array_equal(x, before)  # Keras' function alone would change a float input


def test_source_preprocessing_differs_only_in_channel_order():
    x = _images()
    source, caffe = transfer.preprocess_source_rgb(x), transfer.preprocess_caffe(x)
    np.testing.assert_allclose(source, x.astype("float32") - np.array([123.68, 116.779, 103.939]), atol=1e-4)
    np.testing.assert_allclose(source, caffe[..., ::-1], atol=1e-4)
    assert not np.allclose(source, caffe)


def _ours(width=1.0):
    return vgg.vgg("E", input_shape=(32, 32, 3), classes=10, fc_units=16, batch_norm=True, width=width,
                   kernel_initializer="he_normal")


def _save(reference, folder, layout):
    if layout == "weights.h5":  # Keras 3's weights file
        path = folder / "vgg19_notop.weights.h5"
        reference.save_weights(path)
    else:  # the legacy HDF5 layout of the downloaded ImageNet files (layer_names, weight_names)
        path = folder / "vgg19_notop.h5"
        reference.save(path)
    return path


@pytest.mark.parametrize("layout", ["weights.h5", "legacy h5"])
def test_conv_weights_load_by_name_into_the_batchnorm_vgg(tmp_path, layout):
    keras.utils.set_random_seed(1)
    reference = keras.applications.VGG19(weights=None, include_top=False)
    path = _save(reference, tmp_path, layout)
    keras.utils.set_random_seed(2)
    ours = _ours()
    bn_before = [w.numpy().copy() for w in ours.get_layer("block1_conv1_bn").weights]
    head_before = ours.get_layer("fc1").kernel.numpy().copy()

    copied = transfer.copy_conv_weights_from_file(ours, path)

    names = transfer.conv_layer_names(reference)
    assert len(names) == 16 and copied == 32
    assert transfer.conv_layer_names(ours) == names
    for name in names:
        for mine, theirs in zip(ours.get_layer(name).weights, reference.get_layer(name).weights):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=f"{name}/{mine.name}")
    # What ImageNet VGG does not have keeps its values.
    for before, after in zip(bn_before, ours.get_layer("block1_conv1_bn").weights):
        np.testing.assert_array_equal(before, after.numpy())
    np.testing.assert_array_equal(head_before, ours.get_layer("fc1").kernel.numpy())


def test_a_narrow_model_is_refused_with_the_shapes(tmp_path):
    path = _save(keras.applications.VGG19(weights=None, include_top=False), tmp_path, "weights.h5")
    with pytest.raises(ValueError, match="block1_conv1.*Received"):
        transfer.copy_conv_weights_from_file(_ours(width=0.25), path)


def test_only_d_and_e_have_imagenet_weights():
    with pytest.raises(ValueError, match="D \\(VGG16\\) and E \\(VGG19\\). Received: config='A'"):
        transfer.load_imagenet_conv_weights(_ours(), config="A")


def _offline(host, port=443, timeout=5.0):
    raise data.DatasetError(f"No network: could not reach {host}")


def test_without_network_one_line_and_nothing_copied(monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", "/nonexistent-keras-home")
    monkeypatch.setattr(transfer.data, "check_network", _offline)
    ours = _ours()
    before = ours.get_layer("block1_conv1").kernel.numpy().copy()
    assert transfer.load_imagenet_conv_weights(ours) == 0
    out = capsys.readouterr().out
    assert out == ("ImageNet weights unavailable (no network): "
                   "training from the he_normal initialisation instead\n")
    np.testing.assert_array_equal(before, ours.get_layer("block1_conv1").kernel.numpy())


def test_a_failed_download_is_one_line_too(monkeypatch, capsys):
    monkeypatch.setattr(transfer, "imagenet_weights_available", lambda config, timeout: (True, ""))

    def failing(config, weights):
        raise OSError("connection reset")

    monkeypatch.setattr(transfer, "_reference", failing)
    assert transfer.load_imagenet_conv_weights(_ours()) == 0
    assert capsys.readouterr().out.strip().splitlines() == [
        "ImageNet weights unavailable (download failed: OSError): training from the he_normal initialisation instead"]


def test_with_weights_at_hand_every_conv_is_copied(monkeypatch, tmp_path):
    keras.utils.set_random_seed(3)
    path = _save(keras.applications.VGG19(weights=None, include_top=False), tmp_path, "legacy h5")
    monkeypatch.setattr(transfer, "imagenet_weights_available", lambda config, timeout: (True, ""))
    real = transfer._reference
    # Stand in for the download: the builder reads our file where it would read the ImageNet one.
    monkeypatch.setattr(transfer, "_reference", lambda config, weights: real(config, str(path)))
    ours = _ours()
    assert transfer.load_imagenet_conv_weights(ours) == 32
    saved = keras.applications.VGG19(weights=str(path), include_top=False)
    np.testing.assert_array_equal(ours.get_layer("block5_conv4").kernel.numpy(),
                                  saved.get_layer("block5_conv4").kernel.numpy())


def test_a_model_with_other_names_is_refused(tmp_path):
    path = _save(keras.applications.VGG19(weights=None, include_top=False), tmp_path, "weights.h5")
    other = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(64, 3, name="conv_a")], name="other")
    with pytest.raises(ValueError, match="no layers named like the reference's convolutions.*Received: a model named 'other'"):
        transfer.copy_conv_weights_from_file(other, path)


def test_a_weights_file_named_in_the_environment_is_used(monkeypatch, tmp_path):
    # Stand-in "ImageNet" weights: a keras.applications VGG19 without the top, saved by the test.
    reference = keras.applications.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3))
    path = tmp_path / "standin.weights.h5"
    reference.save_weights(path)
    monkeypatch.setenv(transfer.WEIGHTS_FILE_ENV, str(path))
    monkeypatch.setattr(transfer.data, "check_network", lambda *a, **k: pytest.fail("no network look-up expected"))
    model = vgg.vgg("E", input_shape=(32, 32, 3), classes=10, fc_units=16, batch_norm=True)
    assert transfer.imagenet_weights_available() == (True, "")
    assert transfer.load_imagenet_conv_weights(model) == 32
    np.testing.assert_array_equal(model.get_layer("block5_conv4").kernel.numpy(),
                                  reference.get_layer("block5_conv4").kernel.numpy())
    monkeypatch.setenv(transfer.WEIGHTS_FILE_ENV, str(tmp_path / "missing.h5"))
    available, reason = transfer.imagenet_weights_available()
    assert not available and "is not a file" in reason


def test_without_top_copies_the_base_like_keras_applications():
    model = vgg.vgg("E", input_shape=(32, 32, 3), classes=5, width=0.0625, fc_units=8, batch_norm=True,
                    kernel_regularizer=keras.regularizers.L2(1e-4), name="pretrained")
    base = transfer.without_top(model)
    assert base.name == "vgg19" and tuple(base.output.shape) == (None, 1, 1, 32)
    names = [layer.name for layer in base.layers]
    assert names[1:4] == ["block1_conv1", "block1_conv1_bn", "block1_conv1_relu"] and names[-1] == "block5_pool"
    assert base.get_layer("block1_conv1").kernel_regularizer is None  # as keras.applications builds it
    images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    part = keras.Model(model.input, model.get_layer("block5_pool").output)
    np.testing.assert_allclose(base(images, training=False), part(images, training=False), atol=1e-5)
    base.trainable = False  # a copy: the original keeps its own weights and flags
    assert model.get_layer("block1_conv1").trainable and model.get_layer("block1_conv1") is not base.get_layer("block1_conv1")
    with pytest.raises(ValueError, match="must have a layer named 'block6_pool'.*Received: a model named 'pretrained'"):
        transfer.without_top(model, last="block6_pool")


def test_imagenet_weights_names_the_file_or_the_download(monkeypatch, tmp_path):
    monkeypatch.delenv(transfer.WEIGHTS_FILE_ENV, raising=False)
    assert transfer.imagenet_weights() == "imagenet"
    monkeypatch.setenv(transfer.WEIGHTS_FILE_ENV, str(tmp_path / "w.h5"))
    assert transfer.imagenet_weights() == str(tmp_path / "w.h5")
