"""Unit tests of utils/resnet.py: shapes, parameter counts, names, outputs, errors.

The expected outputs are computed here with NumPy, from the block's definition
(ResNet paper, Sec. 3.2-3.3 and 4.1, Fig. 5 right), not from Keras.
"""

import keras
import numpy as np
import pytest

from utils import resnet

EPS = 1e-3  # keras.layers.BatchNormalization's default epsilon


def build(block_fn, input_shape, *args, **kwargs):
    inputs = keras.Input(shape=input_shape)
    return keras.Model(inputs, block_fn(inputs, *args, **kwargs))


def seeded_input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# ------------------------------------------------------------ NumPy reference


def np_conv(x, kernel, bias, stride=1, padding="valid"):
    """A direct 2-D convolution (cross-correlation, as Keras computes it), NHWC."""
    k = kernel.shape[0]
    if padding == "same":  # TensorFlow's rule: the odd pixel of padding goes after
        assert stride == 1
        before, after = (k - 1) // 2, k // 2
        x = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    n, h, w, _ = x.shape
    out_h, out_w = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, out_h, out_w, kernel.shape[3]), dtype="float64")
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, i * stride : i * stride + k, j * stride : j * stride + k, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


def np_bn(x, training, gamma=1.0, beta=0.0, mean=0.0, var=1.0):
    if training:  # the batch's statistics, over batch, height and width
        mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    return gamma * (x - mean) / np.sqrt(var + EPS) + beta


def relu(x):
    return np.maximum(x, 0)


def np_block(x, weights, f, s, training, projection):
    """The block in NumPy; ``weights`` maps a conv name suffix to (kernel, bias)."""
    y = relu(np_bn(np_conv(x, *weights["2a"], stride=s), training))
    y = relu(np_bn(np_conv(y, *weights["2b"], padding="same"), training))
    y = np_bn(np_conv(y, *weights["2c"]), training)
    shortcut = np_bn(np_conv(x, *weights["1"], stride=s), training) if projection else x
    return relu(y + shortcut)


def weights_of(model, stage_block):
    return {
        part: tuple(w.numpy() for w in model.get_layer(f"res{stage_block}_branch{part}").weights)
        for part in ("2a", "2b", "2c", "1")
        if f"res{stage_block}_branch{part}" in [l.name for l in model.layers]
    }


# ------------------------------------------------------------------- shapes


@pytest.mark.parametrize("shape, f, filters", [
    ((4, 4, 6), 3, [2, 4, 6]),
    ((5, 7, 8), 1, [3, 5, 8]),
    ((9, 9, 16), 5, [4, 4, 16]),
    ((None, None, 6), 3, [2, 4, 6]),
])
def test_identity_block_keeps_the_shape(shape, f, filters):
    model = build(resnet.identity_block, shape, f, filters, 2, "a")
    assert tuple(model.output.shape) == (None, *shape)


@pytest.mark.parametrize("shape, s, expected", [
    ((4, 4, 6), 2, (2, 2, 8)),
    ((4, 4, 6), 1, (4, 4, 8)),
    ((7, 7, 3), 2, (4, 4, 8)),  # 'valid' 1x1 with stride 2 keeps rows 0, 2, 4, 6
    ((7, 9, 3), 3, (3, 3, 8)),
])
def test_convolutional_block_shapes(shape, s, expected):
    model = build(resnet.convolutional_block, shape, 3, [2, 4, 8], 3, "a", s=s)
    assert tuple(model.output.shape) == (None, *expected)
    concrete = resnet.convolutional_block(seeded_input((2, *shape)), 3, [2, 4, 8], 3, "a", s=s)
    assert tuple(concrete.shape) == (2, *expected)


# ---------------------------------------------------------- parameter counts


def conv(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def test_parameter_counts_by_hand():
    # Identity block, 256 channels in, f=3, [64, 64, 256] (ResNet-50 stage 2).
    convs = conv(1, 256, 64) + conv(3, 64, 64) + conv(1, 64, 256)
    bn = 4 * (64 + 64 + 256)
    model = build(resnet.identity_block, (8, 8, 256), 3, [64, 64, 256], 2, "b")
    assert model.count_params() == convs + bn == 71_552
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 2 * (64 + 64 + 256)
    assert resnet.block_params(256, 3, [64, 64, 256], projection=False) == {
        "trainable": convs + bn // 2, "non_trainable": bn // 2, "total": 71_552}
    # Convolutional block, 64 channels in: the shortcut adds a 1x1 conv and a BatchNorm.
    convs = conv(1, 64, 64) + conv(3, 64, 64) + conv(1, 64, 256) + conv(1, 64, 256)
    bn = 4 * (64 + 64 + 256 + 256)
    model = build(resnet.convolutional_block, (8, 8, 64), 3, [64, 64, 256], 2, "a", s=1)
    assert model.count_params() == convs + bn == 76_928
    assert resnet.block_params(64, 3, [64, 64, 256], projection=True)["total"] == 76_928


@pytest.mark.parametrize("channels, f, filters", [(6, 3, [2, 4, 6]), (5, 5, [3, 7, 11]), (1, 1, [1, 1, 1])])
def test_block_params_matches_built_blocks(channels, f, filters):
    conv_block = build(resnet.convolutional_block, (6, 6, channels), f, filters, 1, "a")
    counted = resnet.block_params(channels, f, filters, projection=True)
    assert counted["total"] == conv_block.count_params()
    assert counted["non_trainable"] == sum(int(np.prod(w.shape)) for w in conv_block.non_trainable_weights)
    ident = build(resnet.identity_block, (6, 6, filters[2]), f, filters, 1, "b")
    assert resnet.block_params(filters[2], f, filters, projection=False)["total"] == ident.count_params()


# -------------------------------------------------------------------- names


def test_layer_names_follow_the_course():
    model = build(resnet.convolutional_block, (4, 4, 6), 3, [2, 4, 6], 3, "a")
    names = [l.name for l in model.layers[1:]]
    assert {"res3a_branch2a", "bn3a_branch2a", "res3a_branch2b", "bn3a_branch2b", "res3a_branch2c",
            "bn3a_branch2c", "res3a_branch1", "bn3a_branch1", "res3a_add", "res3a_relu"} <= set(names)
    assert names[-1] == "res3a_relu"
    assert model.get_layer("res3a_branch2a").strides == (2, 2)  # the FIRST 1x1 conv has the stride
    assert model.get_layer("res3a_branch2b").strides == (1, 1)
    assert model.get_layer("res3a_branch1").strides == (2, 2)
    assert model.get_layer("res3a_branch2b").padding == "same"
    assert model.get_layer("res3a_branch2a").padding == model.get_layer("res3a_branch2c").padding == "valid"
    assert all(model.get_layer(f"bn3a_branch{p}").axis in (3, -1) for p in ("2a", "2b", "2c", "1"))
    ident = build(resnet.identity_block, (4, 4, 6), 3, [2, 4, 6], 4, "c")
    assert [l.name for l in ident.layers[1:]] == [
        "res4c_branch2a", "bn4c_branch2a", "res4c_branch2a_relu", "res4c_branch2b", "bn4c_branch2b",
        "res4c_branch2b_relu", "res4c_branch2c", "bn4c_branch2c", "res4c_add", "res4c_relu"]


def test_default_initialiser_is_glorot_uniform_seed_0_per_layer():
    model = build(resnet.convolutional_block, (4, 4, 6), 3, [2, 4, 6], 2, "a")
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert len({id(l.kernel_initializer) for l in convs}) == 4
    for layer in convs:
        expected = keras.initializers.GlorotUniform(seed=0)(tuple(layer.kernel.shape))
        np.testing.assert_array_equal(layer.kernel.numpy(), np.asarray(expected))
    again = build(resnet.convolutional_block, (4, 4, 6), 3, [2, 4, 6], 2, "a")
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ------------------------------------------------------------------ outputs


@pytest.mark.parametrize("training", [False, True])
def test_identity_block_constant_weights_against_numpy(training):
    x = seeded_input((3, 4, 4, 6))
    model = build(resnet.identity_block, (4, 4, 6), 3, [2, 4, 6], 1, "a",
                  kernel_initializer=keras.initializers.Constant(0.1))
    weights = {"2a": (np.full((1, 1, 6, 2), 0.1), 0.0), "2b": (np.full((3, 3, 2, 4), 0.1), 0.0),
               "2c": (np.full((1, 1, 4, 6), 0.1), 0.0)}
    expected = np_block(x.astype("float64"), weights, 3, 1, training, projection=False)
    np.testing.assert_allclose(np.asarray(model(x, training=training)), expected, rtol=1e-4, atol=1e-5)


def test_constant_weights_tiny_case_by_hand():
    # One pixel, one image, f=1, filters [1, 1, 2], all kernels 0.5, inference mode:
    # each BatchNorm divides by sqrt(1 + eps) and each conv sums its inputs times 0.5.
    x = np.array([[[[1.0, 3.0]]]], dtype="float32")
    out = resnet.identity_block(x, 1, [1, 1, 2], 1, "a", kernel_initializer=keras.initializers.Constant(0.5))
    d = np.sqrt(1 + EPS)
    a = max(0.5 * (1 + 3) / d, 0)  # 2a -> bn -> relu
    b = max(0.5 * a / d, 0)  # 2b -> bn -> relu
    c = 0.5 * b / d  # 2c -> bn, the same in both channels
    np.testing.assert_allclose(np.asarray(out), [[[[1 + c, 3 + c]]]], rtol=1e-6)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("s", [1, 2])
def test_convolutional_block_glorot_weights_against_numpy(training, s):
    x = seeded_input((3, 4, 4, 6), seed=1)
    model = build(resnet.convolutional_block, (4, 4, 6), 3, [2, 4, 5], 2, "a", s=s)
    expected = np_block(x.astype("float64"), weights_of(model, "2a"), 3, s, training, projection=True)
    np.testing.assert_allclose(np.asarray(model(x, training=training)), expected, rtol=1e-4, atol=1e-5)


# The course's public tests call identity_block with f=2: an even kernel, which Keras
# pads "same" with the odd pixel at the bottom and right. utils.resnet accepts it too.


def hand_built_identity_block(inputs, f, filters, stage, block):
    """The identity block written out with plain Keras layers, as the course builds it."""
    f1, f2, f3 = filters
    conv, bn = f"res{stage}{block}_branch", f"bn{stage}{block}_branch"
    glorot = lambda: keras.initializers.GlorotUniform(seed=0)  # noqa: E731
    x = keras.layers.Conv2D(f1, 1, padding="valid", kernel_initializer=glorot(), name=conv + "2a")(inputs)
    x = keras.layers.Activation("relu")(keras.layers.BatchNormalization(axis=3, name=bn + "2a")(x))
    x = keras.layers.Conv2D(f2, f, padding="same", kernel_initializer=glorot(), name=conv + "2b")(x)
    x = keras.layers.Activation("relu")(keras.layers.BatchNormalization(axis=3, name=bn + "2b")(x))
    x = keras.layers.Conv2D(f3, 1, padding="valid", kernel_initializer=glorot(), name=conv + "2c")(x)
    x = keras.layers.BatchNormalization(axis=3, name=bn + "2c")(x)
    return keras.layers.Activation("relu")(keras.layers.Add()([x, inputs]))


@pytest.mark.parametrize("f", [2, 4])
@pytest.mark.parametrize("training", [False, True])
def test_even_f_matches_a_hand_built_keras_block(f, training):
    x = seeded_input((3, 4, 4, 3))
    ours = build(resnet.identity_block, (4, 4, 3), f, [2, 4, 3], 1, "a")
    inputs = keras.Input(shape=(4, 4, 3))
    theirs = keras.Model(inputs, hand_built_identity_block(inputs, f, [2, 4, 3], 1, "a"))
    assert tuple(ours.output.shape) == (None, 4, 4, 3)
    assert ours.get_layer("res1a_branch2b").kernel.shape == (f, f, 2, 4)
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(np.asarray(ours(x, training=training)), np.asarray(theirs(x, training=training)),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("training", [False, True])
def test_even_f_pads_the_extra_pixel_after(training):
    # Against the NumPy block, whose "same" padding puts (f - 1) // 2 pixels before and
    # f // 2 after: for f=2, none at the top and left, one at the bottom and right.
    x = seeded_input((3, 4, 4, 3), seed=2)
    for make, projection in ((resnet.identity_block, False), (resnet.convolutional_block, True)):
        kwargs = {"s": 1} if projection else {}
        model = build(make, (4, 4, 3), 2, [2, 4, 3], 1, "a", **kwargs)
        expected = np_block(x.astype("float64"), weights_of(model, "1a"), 2, 1, training, projection=projection)
        np.testing.assert_allclose(np.asarray(model(x, training=training)), expected, rtol=1e-4, atol=1e-5)
    # The same rule seen directly: a 2x2 kernel that keeps only its window's top-left
    # pixel returns the image unchanged, because no padding comes before it.
    kernel = np.zeros((2, 2, 1, 1), "float32")
    kernel[0, 0] = 1.0
    layer = keras.layers.Conv2D(1, 2, padding="same", use_bias=False)
    layer.build((None, 3, 3, 1))
    layer.kernel.assign(kernel)
    image = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(np.asarray(layer(image)), image)
    assert resnet.block_params(3, 2, [2, 4, 3], projection=False)["total"] == build(
        resnet.identity_block, (4, 4, 3), 2, [2, 4, 3], 1, "a").count_params()


def test_training_flag_switches_batch_norm():
    x = seeded_input((3, 4, 4, 6))
    model = build(resnet.identity_block, (4, 4, 6), 3, [2, 4, 6], 1, "a")
    inference = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(inference, np.asarray(model(x)))  # inference is the default
    expected = np_block(x.astype("float64"), weights_of(model, "1a"), 3, 1, False, projection=False)
    np.testing.assert_allclose(inference, expected, rtol=1e-4, atol=1e-5)
    training = np.asarray(model(x, training=True))
    assert not np.allclose(inference, training)
    # A training-mode call also moves BatchNorm's moving averages (momentum 0.99) towards
    # the batch's statistics, so inference afterwards differs slightly from before.
    moving_mean = model.get_layer("bn1a_branch2a").moving_mean.numpy()
    assert np.any(moving_mean != 0)
    assert not np.array_equal(inference, np.asarray(model(x, training=False)))


def test_concrete_input_runs_in_inference_mode():
    x = seeded_input((3, 4, 4, 6))
    concrete = np.asarray(resnet.identity_block(x, 3, [2, 4, 6], 1, "a"))
    model = build(resnet.identity_block, (4, 4, 6), 3, [2, 4, 6], 1, "a")
    np.testing.assert_allclose(concrete, np.asarray(model(x, training=False)), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize("block_fn, args, kwargs, message", [
    (resnet.identity_block, (3, [2, 4]), {}, "Received: filters=[2, 4]"),
    (resnet.identity_block, (3, [2, 0, 6]), {}, "three positive integers"),
    (resnet.identity_block, (3, (2.0, 4, 6)), {}, "Received: filters=(2.0, 4, 6)"),
    (resnet.identity_block, (3, "246"), {}, "Received: filters='246'"),
    (resnet.identity_block, (0, [2, 4, 6]), {}, "positive integer.*Received: f=0"),
    (resnet.identity_block, (2.0, [2, 4, 6]), {}, "Received: f=2.0"),
    (resnet.identity_block, (True, [2, 4, 6]), {}, "Received: f=True"),
    (resnet.identity_block, (3, [2, 4, 8]), {}, r"6 != 8.*Received: x with 6 channels, filters=[2, 4, 8]"),
    (resnet.convolutional_block, (3, [2, 4, 8]), {"s": 0}, "Received: s=0"),
    (resnet.convolutional_block, (3, [2, 4, 8]), {"s": 1.5}, "Received: s=1.5"),
    (resnet.convolutional_block, (-1, [2, 4, 8]), {}, "Received: f=-1"),
])
def test_bad_arguments_raise_before_building(block_fn, args, kwargs, message, monkeypatch):
    monkeypatch.setattr(resnet, "_main_path", lambda *a, **k: pytest.fail("a layer was built"))
    monkeypatch.setattr(keras.layers, "Conv2D", lambda *a, **k: pytest.fail("a layer was built"))
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        block_fn(keras.Input(shape=(4, 4, 6)), *args, 2, "a", **kwargs)


def test_input_must_be_four_dimensional():
    with pytest.raises(ValueError, match=r"4-D.*Received: x with shape \(None, 6\)"):
        resnet.identity_block(keras.Input(shape=(6,)), 3, [2, 4, 6], 2, "a")
    with pytest.raises(ValueError, match="Received: channels=0"):
        resnet.block_params(0, 3, [2, 4, 6], projection=True)


# ------------------------------------------------------------------ ResNet50


@pytest.fixture(scope="module")
def course_resnet50():
    return resnet.resnet50((64, 64, 3), 6)


def test_resnet50_counts_as_in_the_course(course_resnet50):
    model = course_resnet50
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert (model.count_params(), non_trainable) == (23_600_006, 53_120)
    assert model.output.shape == (None, 6) and model.layers[-1].name == "fc6"


def test_resnet50_counts_agree_with_block_params(course_resnet50):
    # Independent count: stem + the blocks' formula + the head.
    total, channels = 7 * 7 * 3 * 64 + 64 + 4 * 64, 64
    for _, filters, _, identities in resnet.RESNET50_STAGES:
        total += resnet.block_params(channels, 3, list(filters), projection=True)["total"]
        total += identities * resnet.block_params(filters[2], 3, list(filters), projection=False)["total"]
        channels = filters[2]
    total += 2048 * 6 + 6
    assert total == course_resnet50.count_params()


def test_resnet50_structure_and_names(course_resnet50):
    names = [layer.name for layer in course_resnet50.layers]
    for name in ("conv1_pad", "conv1", "bn_conv1", "pool1", "res2a_branch1", "res2c_branch2c", "res3d_branch2a",
                 "res4f_branch2b", "res5c_branch2c", "bn5c_branch2c", "avg_pool", "flatten", "fc6"):
        assert name in names
    convs = [layer for layer in course_resnet50.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 53  # 1 + 16 blocks x 3 + 4 projection shortcuts: the "50" counts 1 + 48 + fc
    sizes = resnet.stage_sizes(64)
    for stage, block in ((2, "c"), (3, "d"), (4, "f"), (5, "c")):
        shape = course_resnet50.get_layer(f"res{stage}{block}_relu").output.shape
        assert shape[1] == shape[2] == sizes[f"stage{stage}"]
    assert course_resnet50.get_layer("avg_pool").output.shape[1:] == (1, 1, 2048)


def test_resnet50_other_sizes_and_classes():
    model = resnet.resnet50((128, 80, 3), 10, momentum=0.9)
    assert model.output.shape == (None, 10)
    h, w = resnet.stage_sizes(128)["avg_pool"], resnet.stage_sizes(80)["avg_pool"]
    assert model.get_layer("flatten").output.shape[1] == h * w * 2048 == 2 * 1 * 2048
    assert {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    assert model.predict(np.zeros((2, 128, 80, 3), "float32"), verbose=0).shape == (2, 10)


def test_stage_sizes_and_min_input_size():
    assert resnet.stage_sizes(64) == {"input": 64, "conv1": 32, "pool1": 15, "stage2": 15, "stage3": 8,
                                      "stage4": 4, "stage5": 2, "avg_pool": 1}
    assert resnet.stage_sizes(224)["stage5"] == 7
    smallest = resnet.min_input_size()
    assert smallest == 37 and resnet.stage_sizes(smallest - 1)["avg_pool"] < 1
    resnet.resnet50((smallest, smallest, 3), 2)  # builds
    with pytest.raises(ValueError, match="size must be a positive integer"):
        resnet.stage_sizes(0)


@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": (36, 64, 3)}, r"height is too small for ResNet50: it must be at least 37 .*stage5 1, avg_pool 0"),
    ({"input_shape": (64, 20, 3)}, r"width is too small .*Received: input_shape=\(64, 20, 3\)"),
    ({"input_shape": (64, 64)}, r"input_shape must be three positive integers"),
    ({"input_shape": (64, 64, 3), "classes": 0}, r"classes must be a positive integer. Received: classes=0"),
    ({"input_shape": (64, 64, 3), "momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
])
def test_resnet50_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resnet.resnet50(**kwargs)


def test_block_momentum_is_checked_and_used():
    inputs = keras.Input((4, 4, 8))
    with pytest.raises(ValueError, match="momentum must be a number"):
        resnet.identity_block(inputs, 3, [2, 2, 8], 2, "a", momentum=-0.1)
    out = resnet.convolutional_block(inputs, 3, [2, 2, 8], 2, "a", momentum=0.5)
    bns = [layer for layer in keras.Model(inputs, out).layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 4 and {layer.momentum for layer in bns} == {0.5}
