"""Tests of utils/receptive_field.py: the published tables, brute force, and the errors.

The published figures are those of A. Araujo, W. Norris, J. Sim, "Computing Receptive
Fields of Convolutional Neural Networks", Distill 2019, Table 1 (computed there with
TF-slim's models): vgg_16 212 / 32 / 90 and resnet_v1_50 483 / 32 / 239 (receptive
field, effective stride, effective padding of the last layer).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from utils import checks
from utils import receptive_field as rf
from utils import vgg

L = keras.layers


def _row(table, name):
    rows = table[table["layer"] == name]
    assert len(rows) == 1, f"no single row named {name!r}"
    return rows.iloc[0]


# ---------------------------------------------------------------- closed forms


def test_stack_field():
    assert [rf.stack_field(3, n) for n in (1, 2, 3, 4)] == [3, 5, 7, 9]
    assert rf.stack_field(5, 2) == 9 and rf.stack_field(1, 10) == 1
    with pytest.raises(ValueError, match=r"Received: n=0"):
        rf.stack_field(3, 0)


def test_field_of_stack_closed_form():
    assert rf.field_of_stack([]) == rf.Field(1, 1, 0)
    assert rf.field_of_stack([(3, 1)] * 3) == rf.Field(7, 1, 0)
    # VGG16 up to pool5: 13 convs (k3, s1, p1) and 5 pools (k2, s2).
    layers = []
    for convs in (2, 2, 3, 3, 3):
        layers += [(3, 1, 1)] * convs + [(2, 2, 0)]
    field = rf.field_of_stack(layers)
    assert field == rf.Field(212, 32, -90) and field.padding == 90
    with pytest.raises(ValueError, match="Received"):
        rf.field_of_stack([(3, 0)])


def test_same_padding_matches_tensorflow():
    import tensorflow as tf

    for n in (5, 6, 7, 8):
        for k in (1, 2, 3, 4):
            for s in (1, 2, 3):
                left = rf.same_padding(n, k, s)
                # TensorFlow's "same" equals an explicit left pad `left`, right pad the rest, then "valid".
                x = tf.reshape(tf.range(n, dtype=tf.float32) + 1, (1, n, 1, 1))
                w = tf.ones((k, 1, 1, 1))
                same = tf.nn.conv2d(x, w, strides=(s, 1), padding="SAME")
                out = -(-n // s)
                total = max((out - 1) * s + k - n, 0)
                padded = tf.pad(x, [[0, 0], [left, total - left], [0, 0], [0, 0]])
                valid = tf.nn.conv2d(padded, w, strides=(s, 1), padding="VALID")
                np.testing.assert_array_equal(same.numpy(), valid.numpy(), err_msg=f"n={n} k={k} s={s}")


# ---------------------------------------------------------------- published tables


#: VGG16 per layer, derived by hand with r += (k - 1) * j, j *= s, start -= p * j.
VGG16_EXPECTED = {
    "block1_conv1": (3, 1, -1), "block1_conv2": (5, 1, -2), "block1_pool": (6, 2, -2),
    "block2_conv1": (10, 2, -4), "block2_conv2": (14, 2, -6), "block2_pool": (16, 4, -6),
    "block3_conv1": (24, 4, -10), "block3_conv2": (32, 4, -14), "block3_conv3": (40, 4, -18),
    "block3_pool": (44, 8, -18), "block4_conv1": (60, 8, -26), "block4_conv2": (76, 8, -34),
    "block4_conv3": (92, 8, -42), "block4_pool": (100, 16, -42), "block5_conv1": (132, 16, -58),
    "block5_conv2": (164, 16, -74), "block5_conv3": (196, 16, -90), "block5_pool": (212, 32, -90),
}


@pytest.fixture(scope="module")
def vgg16_table():
    return rf.receptive_fields(vgg.vgg("D", include_top=False, input_shape=(224, 224, 3)))


def test_vgg16_every_layer(vgg16_table):
    got = {row.layer: (row.field, row.jump, row.start)
           for row in vgg16_table.itertuples() if row.layer in VGG16_EXPECTED}
    assert got == VGG16_EXPECTED
    last = vgg16_table.iloc[-1]
    assert (last["layer"], last["field"], last["jump"], -last["start"]) == ("block5_pool", 212, 32, 90)  # Distill
    assert list(vgg16_table.columns) == ["layer", "class", "output", "kernel", "stride", "pad", "field", "jump",
                                         "start", "global"]
    assert vgg16_table["output"].tolist()[-1] == 7


def test_keras_vgg16_same_as_utils(vgg16_table):
    reference = rf.receptive_fields(keras.applications.VGG16(weights=None, include_top=False,
                                                             input_shape=(224, 224, 3)))
    columns = ["layer", "field", "jump", "start"]
    ours = vgg16_table[columns].iloc[1:].reset_index(drop=True)
    assert reference[columns].iloc[1:].reset_index(drop=True).equals(ours)


def test_vgg_with_top_is_global():
    table = rf.receptive_fields(vgg.vgg("E", include_top=True, input_shape=(64, 64, 3), fc_units=8, classes=3))
    assert _row(table, "block5_pool")[["output", "field", "jump"]].tolist() == [2, 268, 32]
    flatten = _row(table, "flatten")
    assert bool(flatten["global"]) and flatten["output"] == "global"
    # The union of the 2x2 pool5 windows: 268 + 1 * 32 pixels, from the same start.
    assert flatten["field"] == 268 + 1 * 32 and flatten["start"] == _row(table, "block5_pool")["start"]
    assert bool(_row(table, "predictions")["global"])


def _slim_resnet_v1_50_skeleton():
    """TF-slim's resnet_v1_50 geometry, one channel per layer (what Distill measured).

    slim: conv2d_same 7x7/2 (explicit symmetric padding 3), max_pool 3x3/2 'SAME', then
    bottleneck units whose *3x3* convolution carries the stride, in the *last* unit of
    blocks 1-3 (conv2d_same again: explicit padding 1, then 'valid'); block4 has stride 1.
    """
    inputs = keras.Input((224, 224, 1))
    x = L.ZeroPadding2D(3)(inputs)
    x = L.Conv2D(1, 7, strides=2)(x)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    for units, stride in ((3, 2), (4, 2), (6, 2), (3, 1)):
        for unit in range(units):
            s = stride if unit == units - 1 else 1
            shortcut = L.MaxPooling2D(1, strides=s)(x) if unit else L.Conv2D(1, 1, strides=s)(x)
            y = L.Conv2D(1, 1)(x)
            y = L.ZeroPadding2D(1)(y) if s > 1 else y
            y = L.Conv2D(1, 3, strides=s, padding="valid" if s > 1 else "same")(y)
            y = L.Conv2D(1, 1)(y)
            x = L.ReLU()(L.Add()([shortcut, y]))
    return keras.Model(inputs, x)


def test_resnet_v1_50_distill_table():
    last = rf.receptive_fields(_slim_resnet_v1_50_skeleton()).iloc[-1]
    assert (last["field"], last["jump"], -last["start"]) == (483, 32, 239)


def test_keras_resnet50():
    table = rf.receptive_fields(keras.applications.ResNet50(weights=None, include_top=False,
                                                            input_shape=(224, 224, 3)))
    assert _row(table, "conv1_conv")[["field", "jump", "start"]].tolist() == [7, 2, -3]
    assert _row(table, "pool1_pool")[["field", "jump", "start"]].tolist() == [11, 4, -5]
    assert _row(table, "conv2_block3_out")[["field", "jump"]].tolist() == [35, 4]
    assert _row(table, "conv3_block4_out")[["field", "jump"]].tolist() == [99, 8]
    assert _row(table, "conv4_block6_out")[["field", "jump"]].tolist() == [291, 16]
    last = table.iloc[-1]
    # Size and stride are Distill's 483 and 32. The effective padding is 241, not 239:
    # Keras pads the max-pool explicitly by 1 on each side (ZeroPadding2D(1) then "valid"),
    # whereas TF-slim's max_pool 3x3/2 "SAME" on 112 pixels pads 0 on the left (and 1 on
    # the right): one pixel at jump 2 is 2 input pixels. Keras' stride on the first 1x1
    # convolution of a stage (slim: on the 3x3 of the last unit) moves no field edge here.
    assert (last["layer"], last["field"], last["jump"], -last["start"]) == ("conv5_block3_out", 483, 32, 241)
    # Rows come in a topological order: each addition after both of its branches.
    index = {name: i for i, name in enumerate(table["layer"])}
    assert max(index["conv2_block1_0_bn"], index["conv2_block1_3_bn"]) < index["conv2_block1_add"]


# ---------------------------------------------------------------- brute force


def _influence(model):
    """For every output unit (channel 0), which input pixels change it: a boolean array (oh, ow, h, w).

    All weights are positive and the input positive, so nothing cancels: raising one input
    pixel by a lot raises (or, through a max-pool, eventually wins) every unit it reaches.
    """
    h, w = model.inputs[0].shape[1:3]
    batch = np.ones((h * w + 1, h, w, 1), "float32")
    for i in range(h * w):
        batch[i + 1, i // w, i % w, 0] += 1000.0
    out = model.predict(batch, verbose=0)[..., 0]
    changed = np.abs(out[1:] - out[0]) > 1e-3 * (1 + np.abs(out[0]))  # (h * w, oh, ow)
    return np.moveaxis(changed, 0, -1).reshape(*out.shape[1:], h, w)


def _extent(mask):
    """(rows min..max, cols min..max) of a 2-D boolean mask, or None if it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return None if not rows.size else ((int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1])))


def _computed_field(table, unit):
    """The calculator's field of output unit (row, col): ((top, bottom), (left, right)), unclipped."""
    last = table.iloc[-1]
    field = []
    for axis, i in zip(("h", "w"), unit):
        get = (lambda n: int(last[n])) if "field" in table.columns else (lambda n: int(last[f"{n}_{axis}"]))
        lo = get("start") + i * get("jump")
        field.append((lo, lo + get("field") - 1))
    return tuple(field)


def _ones():
    return keras.initializers.Constant(1.0)


def _toy_stacks():
    """Small models with positive weights: (name, model).

    Their fields have no holes (a dilated kernel whose taps lie further apart than the
    field below it would leave some: the calculator, as the article, gives the extent),
    so the pixels that influence a unit are exactly the field clipped to the image.
    """
    def conv(filters, k, **kw):
        return L.Conv2D(filters, k, kernel_initializer=_ones(), bias_initializer="zeros", **kw)

    stacks = {}
    # 1-D: 8 inputs through three 3-wide valid convolutions (images of 8 x 1 pixels).
    stacks["1d_three_3wide"] = keras.Sequential([keras.Input((8, 1, 1))] + [conv(1, (3, 1)) for _ in range(3)])
    stacks["1d_stride_dilation"] = keras.Sequential([
        keras.Input((23, 1, 1)), conv(1, (3, 1), strides=(2, 1)), conv(1, (3, 1), dilation_rate=(2, 1), padding="same"),
        L.AveragePooling2D((2, 1)), conv(1, (2, 1), padding="same"),
    ])
    stacks["2d_same_stride_pool"] = keras.Sequential([
        keras.Input((40, 36, 1)), conv(2, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
        conv(2, 3, strides=2, padding="same", activation="relu"), L.ZeroPadding2D(((1, 0), (2, 1))),
        conv(1, (3, 2), padding="valid"), L.BatchNormalization(),
    ])
    stacks["2d_asymmetric"] = keras.Sequential([
        keras.Input((20, 45, 1)), conv(1, (5, 3), strides=(1, 2), padding="same"),
        L.MaxPooling2D((2, 3), padding="same"), L.DepthwiseConv2D(3, depthwise_initializer=_ones(), padding="same"),
    ])
    inputs = keras.Input((20, 20, 1))
    a = conv(1, 3, padding="same")(inputs)
    a = conv(1, 3, strides=2, padding="same")(a)
    b = conv(1, 1, strides=2)(inputs)
    b = L.ZeroPadding2D(2)(b)
    b = L.Cropping2D(2)(b)
    c = L.Concatenate()([L.Add()([a, b]), conv(1, 5, strides=2, padding="same")(inputs)])
    c = L.SeparableConv2D(1, 3, depthwise_initializer=_ones(), pointwise_initializer=_ones(), padding="same")(c)
    stacks["2d_branches"] = keras.Model(inputs, c)
    return stacks


@pytest.mark.parametrize("name", list(_toy_stacks()))
def test_toy_stack_against_brute_force(name):
    model = _toy_stacks()[name]
    table = rf.receptive_fields(model)
    influence = _influence(model)
    h, w = influence.shape[2:]
    interior = 0
    for unit in np.ndindex(*influence.shape[:2]):
        (top, bottom), (left, right) = _computed_field(table, unit)
        measured = _extent(influence[unit])
        if 0 <= top and bottom < h and 0 <= left and right < w:
            # A field inside the image: the pixels that matter span exactly the computed field.
            assert measured == ((top, bottom), (left, right)), f"{name}: unit {unit}"
            interior += 1
        elif measured is not None:
            # At the border part of the field is padding, which no pixel can change (padding
            # added deep in the net even hides pixels the field covers): the pixels that
            # matter lie inside the computed field.
            (r0, r1), (c0, c1) = measured
            assert top <= r0 and r1 <= bottom and left <= c0 and c1 <= right, f"{name}: unit {unit}"
    assert interior >= 1, f"{name}: no output unit with its whole field inside the image"


def test_one_d_picture():
    table = rf.receptive_fields(_toy_stacks()["1d_three_3wide"])
    assert table["field_h"].tolist() == [1, 3, 5, 7] and table["output_h"].tolist()[-1] == 2
    assert table["field_w"].tolist() == [1, 1, 1, 1]


def test_dilated_stack_interior_unit():
    # Dilation 2 on stride 1: no holes; the unit in the middle sees exactly its field.
    model = keras.Sequential([keras.Input((24, 24, 1))] + [
        L.Conv2D(1, 3, dilation_rate=2, kernel_initializer=_ones()), L.MaxPooling2D(2),
        L.Conv2D(1, 3, kernel_initializer=_ones())])
    table = rf.receptive_fields(model)
    assert table["field"].iloc[-1] == 5 + 1 + 2 * 2 and table["jump"].iloc[-1] == 2
    unit = (4, 4)
    assert _extent(_influence(model)[unit]) == _computed_field(table, unit)


def test_nested_model_is_walked():
    inner_in = keras.Input((None, None, 3))
    inner = keras.Model(inner_in, L.Conv2D(4, 3)(L.Conv2D(4, 3)(inner_in)), name="inner")
    inputs = keras.Input((32, 32, 3))
    outer = keras.Model(inputs, L.MaxPooling2D()(inner(inputs)))
    table = rf.receptive_fields(outer)
    assert table["layer"].tolist()[1:3] == [f"inner/{layer.name}" for layer in inner.layers[1:]]
    assert table["field"].tolist()[-1] == 6 and table["jump"].tolist()[-1] == 2


def test_plot_fields_returns_a_figure(vgg16_table):
    import matplotlib

    matplotlib.use("Agg")
    fig = rf.plot_fields(vgg16_table)
    assert isinstance(fig, matplotlib.figure.Figure)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "block5_pool" in labels and "input size (224 px)" in [t.get_text() for t in fig.axes[0].get_legend().texts]
    assert labels[0] == "input_layer" or labels[0].startswith("input")
    assert fig.axes[0].get_yscale() == "linear"  # a step's height is what the layer adds
    assert rf.plot_fields(vgg16_table, log=True).axes[0].get_yscale() == "log"
    fig = rf.plot_fields(vgg16_table, layers=["block1_pool", "block5_pool"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["block1_pool", "block5_pool"]
    with pytest.raises(ValueError, match="Received: unknown"):
        rf.plot_fields(vgg16_table, layers=["fc1"])


# ---------------------------------------------------------------- errors


def test_unknown_layer_is_named():
    class Shift(L.Layer):
        def call(self, x):
            return x

    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, Shift(name="x")(L.Conv2D(1, 3)(inputs)))
    with pytest.raises(ValueError, match=r"Received: layer 'x' of class Shift"):
        rf.receptive_fields(model)
    # Declared pixel-wise, it passes.
    assert rf.receptive_fields(model, passthrough=(Shift,))["field"].tolist() == [1, 3, 3]
    upsample = keras.Sequential([keras.Input((8, 8, 1)), L.UpSampling2D(name="up")])
    with pytest.raises(ValueError, match=r"layer 'up' of class UpSampling2D"):
        rf.receptive_fields(upsample)


def test_merge_with_different_strides_is_an_error():
    inputs = keras.Input((16, 16, 1))
    a = L.MaxPooling2D(2)(L.Conv2D(1, 3, padding="same")(inputs))  # 8 x 8, jump 2
    b = L.Conv2D(1, 9)(inputs)  # 8 x 8, jump 1
    model = keras.Model(inputs, L.Add(name="merge")([a, b]))
    with pytest.raises(ValueError, match=r"Layer 'merge' \(Add\) .* strides along the height: 1 and 2 pixels"):
        rf.receptive_fields(model)


def test_bad_inputs():
    with pytest.raises(ValueError, match="Expected a keras.Model. Received: an object of class str"):
        rf.receptive_fields("vgg16")
    with pytest.raises(ValueError, match="Expected a keras.Model"):
        rf.receptive_fields(L.Conv2D(1, 3))
    with pytest.raises(ValueError, match="no defined input"):
        rf.receptive_fields(keras.Sequential([L.Conv2D(1, 3)]))
    flat = keras.Sequential([keras.Input((10,)), L.Dense(3)])
    with pytest.raises(ValueError, match=r"one image input .* Received: input shapes \[\(None, 10\)\]"):
        rf.receptive_fields(flat)
    unknown_size = keras.Sequential([keras.Input((None, None, 1)), L.Conv2D(1, 3, strides=2, padding="same")])
    with pytest.raises(ValueError, match="fixed input size"):
        rf.receptive_fields(unknown_size)
    # Stride 1 "same" padding does not depend on the size: fine without one.
    ok = keras.Sequential([keras.Input((None, None, 1)), L.Conv2D(1, 3, padding="same"), L.MaxPooling2D()])
    assert rf.receptive_fields(ok)["field"].tolist() == [1, 3, 4]


# ---------------------------------------------------------------- the notebook's checkers


def test_checkers_accept_right_and_reject_wrong_answers():
    assert checks.check_stack_field(lambda layers: rf.field_of_stack(layers).size)
    wrong = checks.check_stack_field(lambda layers: 1 + sum(k - 1 for k, s in layers))
    assert not wrong and "expected" in repr(wrong)
    assert checks.check_layers_for_field(lambda target, k: -(-(target - 1) // (k - 1)))
    off = checks.check_layers_for_field(lambda target, k: (target - 1) // (k - 1))
    assert not off and "layers_for_field" in repr(off)
    def window(layers, i):
        field = rf.field_of_stack(layers)
        return field.start + i * field.jump, field.start + i * field.jump + field.size - 1

    assert checks.check_unit_window(window)
    assert all(checks.unit_window(layers, i) == window(layers, i) for _, layers, i in checks.UNIT_WINDOW_CASES)
    no_padding = checks.check_unit_window(lambda layers, i: window([(k, s, 0) for k, s, p in layers], i))
    assert not no_padding and "padding moves the window" in repr(no_padding)
