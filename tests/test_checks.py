"""Unit tests of the notebook checkers in utils/checks.py (beyond the notebook's own
solution/stub tests in test_notebooks.py): wrong answers fail with useful messages."""

import pytest

from utils import checks


def test_block_shapes_wrong_answers():
    channels = [64, 128, 256, 512, 512]
    assert checks.check_block_output_shapes(
        lambda size: [(size // 2**b, size // 2**b, c) for b, c in enumerate(channels, start=1)])

    def off_by_one_pool(size):
        return [(size // 2**b, size // 2**b, c) for b, c in enumerate(channels)]
    result = checks.check_block_output_shapes(off_by_one_pool)
    assert not result and "shapes for a 224x224 input" in repr(result) and "block 1 already halves" in repr(result)
    assert repr(result).startswith("✗ Exercise 1 failed:")

    def rounds_up(size):
        import math
        return [(math.ceil(size / 2**b),) * 2 + (c,) for b, c in enumerate(channels, 1)]
    result = checks.check_block_output_shapes(rounds_up)
    assert not result and "100x100" in repr(result) and "224x224" not in repr(result)
    assert "round down" in repr(result)

    def true_division(size):  # right values at 224 and 32, but floats
        return [(size / 2**b, size / 2**b, c) for b, c in enumerate(channels, 1)]
    result = checks.check_block_output_shapes(true_division)
    assert not result and "224x224" in repr(result) and "divide with //" in repr(result)

    def keeps_doubling(size):
        return [(size // 2**b, size // 2**b, 64 * 2 ** (b - 1)) for b in range(1, 6)]
    result = checks.check_block_output_shapes(keeps_doubling)
    assert not result and "block 5 keeps 512" in repr(result)


def _block_macs(block, size, *, pooled=False, first_from_out=False, flops=False, biases=False, kernel=9,
                convs=None, as_float=False):
    """A learner's block_macs with one chosen mistake (none by default)."""
    channels, n_convs = [3, 64, 128, 256, 512, 512], [2, 2, 3, 3, 3]
    side = size // 2 ** (block - 1)
    if pooled:
        side //= 2
    c_in, c_out = channels[block - 1], channels[block]
    if first_from_out:
        c_in = c_out
    total = 0
    for _ in range(convs or n_convs[block - 1]):
        total += side * side * kernel * c_in * c_out + (side * side * c_out if biases else 0)
        c_in = c_out
    total *= 2 if flops else 1
    return float(total) if as_float else total


@pytest.mark.parametrize("mistake, hint", [
    ({"pooled": True}, "before the block's pool"),
    ({"first_from_out": True}, "previous block's channels"),
    ({"flops": True}, "twice the count"),
    ({"biases": True}, "biases add no multiplications"),
    ({"kernel": 1}, "count the kernel's 3x3"),
    ({"convs": 1}, "count every one"),
])
def test_block_macs_wrong_answers_name_the_cause(mistake, hint):
    result = checks.check_block_macs(lambda block, size: _block_macs(block, size, **mistake))
    assert not result and hint in repr(result), repr(result)
    assert repr(result).startswith("✗ Exercise 2 failed:")


def test_block_macs():
    result = checks.check_block_macs(_block_macs)
    assert result
    assert repr(result) == "✓ Exercise 2 passed: block 3 of VGG16 does 4.62 G multiply-adds per 224x224 image"
    # The reference agrees with the per-layer costs that the notebook tabulates.
    assert checks.vgg16_block_macs(3, 224) == 924_844_032 + 2 * 1_849_688_064
    assert checks.vgg16_block_macs(1, 224) == 86_704_128 + 1_849_688_064
    import numpy as np
    assert checks.check_block_macs(lambda block, size: np.int64(_block_macs(block, size)))
    floats = checks.check_block_macs(lambda block, size: _block_macs(block, size, as_float=True))
    assert not floats and "received the float" in repr(floats) and "the right value" in repr(floats)
    assert "return an int" in repr(floats)
    nothing = checks.check_block_macs(lambda block, size: None)
    assert not nothing and "does the function end with a return?" in repr(nothing)


def test_block_macs_matches_layer_costs():
    import keras

    from utils import profiling, vgg

    costs = profiling.layer_costs(vgg.vgg("D", input_shape=(100, 100, 3), include_top=False))
    for block in range(1, 6):
        in_block = [name.startswith(f"block{block}_conv") for name in costs.index]
        assert checks.vgg16_block_macs(block, 100) == costs.loc[in_block, "MACs"].sum()
    keras.backend.clear_session()


def _vgg_params(config, *, conv_bias=True, fc_bias=True, lrn_as_conv=False, flatten_side=7, as_float=False):
    """A learner's vgg_params with one chosen mistake (none by default)."""
    from utils import vgg

    total, channels = 0, 3
    for block in vgg.CONFIGS[config]:
        for spec in block:
            kind, k, filters = vgg.parse_layer(spec)
            if kind == "conv" or lrn_as_conv:
                total += k * k * channels * filters + (filters if conv_bias else 0)
                channels = filters
    units = [flatten_side * flatten_side * channels, 4096, 4096, 1000]
    total += sum(n_in * n_out + (n_out if fc_bias else 0) for n_in, n_out in zip(units, units[1:]))
    return float(total) if as_float else total


@pytest.mark.parametrize("mistake, hint", [
    ({"conv_bias": False}, "the convolutions' biases are missing"),
    ({"fc_bias": False}, "the FC layers' biases are missing"),
    ({"conv_bias": False, "fc_bias": False}, "no biases counted"),
    ({"lrn_as_conv": True}, "LRN has no weights"),
    ({"flatten_side": 14}, "fc1 takes the output of the fifth pool"),
    ({"as_float": True}, "return an int"),
])
def test_vgg_params_wrong_answers_name_the_cause(mistake, hint):
    result = checks.check_vgg_params(lambda config: _vgg_params(config, **mistake))
    assert not result and hint in repr(result), repr(result)
    assert repr(result).startswith("✗ Exercise 3 failed:")


def test_vgg_params_wrong_answers():
    assert checks.check_vgg_params(_vgg_params)
    result = checks.check_vgg_params(lambda config: checks.VGG_PARAMS["D"])
    assert not result and "vgg_params('A')" in repr(result) and "vgg_params('D')" not in repr(result)
    raising = checks.check_vgg_params(lambda config: {}[config])
    assert not raising and "raised KeyError" in repr(raising)


# --- Notebook 02: receptive fields ------------------------------------------------------


def _field_walk(layers, *, jump_after=False, size_from=1, add_k=False, strides=True):
    """Exercise 1's field size, with switchable mistakes."""
    size, jump = size_from, 1
    for k, s in layers:
        if jump_after:
            jump *= s if strides else 1
        size += (k if add_k else k - 1) * (jump if strides else 1)
        if not jump_after:
            jump *= s
    return size


@pytest.mark.parametrize("mistake, hint", [
    ({"strides": False}, "multiply by the product of the earlier strides"),
    ({"jump_after": True}, "add to the size first, then multiply the jump by the stride"),
    ({"size_from": 0}, "start from r = 1"),
    ({"add_k": True}, "adds k - 1 jumps to the size, not k"),
])
def test_stack_field_wrong_answers_name_the_cause(mistake, hint):
    result = checks.check_stack_field(lambda layers: _field_walk(layers, **mistake))
    assert not result and hint in repr(result)
    assert repr(result).startswith("✗ Exercise 1 failed:")


def test_stack_field_right_answer_and_floats():
    passed = checks.check_stack_field(_field_walk)
    assert passed and repr(passed).startswith("✓ Exercise 1 passed:") and "212" in repr(passed)
    as_float = checks.check_stack_field(lambda layers: float(_field_walk(layers)))
    assert not as_float and "received the float 5.0 (the right value)" in repr(as_float)
    assert "return an int" in repr(as_float)
    assert "received None" in repr(checks.check_stack_field(lambda layers: None))


def test_layers_for_field_wrong_answers_name_the_cause():
    import math

    import numpy as np

    right = checks.check_layers_for_field(lambda target, k: -(-(target - 1) // (k - 1)))
    assert right and repr(right).startswith("✓ Exercise 2 passed:")
    rounds_down = checks.check_layers_for_field(lambda target, k: (target - 1) // (k - 1))
    assert not rounds_down and "layers_for_field(target=8, k=3): expected 4, received 3 (that many layers see only 7 " \
                               "pixels: round up)" in repr(rounds_down)
    # Forgetting the first pixel: the same as the right answer for every k = 3 case, caught by (6, 5) and (224, 7).
    for no_minus_one in (lambda target, k: target // (k - 1), lambda target, k: math.ceil(target / (k - 1))):
        result = checks.check_layers_for_field(no_minus_one)
        assert not result and "take the 1 off the target first" in repr(result)
        assert "round up)" not in repr(result).replace("then round up", "")
    as_float = checks.check_layers_for_field(lambda target, k: np.ceil((target - 1) / (k - 1)))
    assert not as_float and "(the right value), but a number of layers is a whole number" in repr(as_float)


def _window_walk(layers, i, *, pad="before", sign=-1, end=-1, shift="jump", size="before"):
    """Exercise 3's (first, last), with switchable mistakes."""
    r, j, u = 1, 1, 0
    for k, s, p in layers:
        units = {"before": j, "after": j * s, "one": 1, "none": 0}
        r += (k - 1) * units[size]
        u += sign * p * units[pad]
        j *= s
    first = u + i * {"jump": j, "none": 0, "one": 1}[shift]
    return first, first + r + end


@pytest.mark.parametrize("mistake, hint", [
    ({"pad": "none"}, "padding moves the window"),
    ({"pad": "after"}, "padding, like its k - 1, counts in units of the jump *before* it"),
    ({"pad": "one"}, "padding, like its k - 1, counts in units of the jump *before* it"),
    ({"sign": 1}, "padding moves the start to the left"),
    ({"end": 0}, "a window of r pixels ends r - 1 pixels after its first one"),
    ({"shift": "none"}, "lies i jumps to the right of unit 0's"),
    ({"shift": "one"}, "j input pixels apart, not 1"),
    ({"size": "one"}, "the size is wrong"),
    ({"size": "after"}, "the size is wrong"),
])
def test_unit_window_wrong_answers_name_the_cause(mistake, hint):
    result = checks.check_unit_window(lambda layers, i: _window_walk(layers, i, **mistake))
    assert not result and repr(result).startswith("✗ Exercise 3 failed:")
    # Every case names a cause; where two slips give the same answer, the other one may be named.
    lines = repr(result).splitlines()[1:]
    assert lines and all(line.endswith(")") for line in lines), repr(result)
    assert sum(hint in line for line in lines) > len(lines) / 2, repr(result)


def test_unit_window_right_answers_and_types():
    import numpy as np

    from utils import receptive_field as rf

    def from_library(layers, i):
        field = rf.field_of_stack(layers)
        return field.start + i * field.jump, field.start + i * field.jump + field.size - 1

    passed = checks.check_unit_window(from_library)
    assert passed and "pixels 6 to 217" in repr(passed)
    assert checks.check_unit_window(lambda layers, i: list(from_library(layers, i)))
    assert checks.check_unit_window(lambda layers, i: np.array(from_library(layers, i)))
    floats = checks.check_unit_window(lambda layers, i: tuple(float(v) for v in from_library(layers, i)))
    assert not floats and "expected two ints, received (1.0, 7.0) (float, float)" in repr(floats)
    first_only = checks.check_unit_window(lambda layers, i: from_library(layers, i)[0])
    assert not first_only and "expected a pair (first, last) of input pixels, received 1" in repr(first_only)
    size_not_last = checks.check_unit_window(lambda layers, i: (from_library(layers, i)[0], rf.field_of_stack(layers).size))
    assert not size_not_last and "not the field size r" in repr(size_not_last)
    assert "received None" in repr(checks.check_unit_window(lambda layers, i: None))


# --- Notebook 03: residual blocks -------------------------------------------------------


def _preact(x, f, filters, stage, block, *, post=False, relu_after_add=False, skip_first_bn=False,
            initializer=None, names=True, late_shortcut=False, scaled_sum=False):
    """A hand-written pre-activation identity block with switchable mistakes."""
    import keras

    init = initializer or (lambda: keras.initializers.GlorotUniform(seed=0))
    name = (lambda n: n) if names else (lambda n: None)
    base, shortcut = f"{stage}{block}", x
    for step, n, k in zip("abc", filters, (1, f, 1)):
        pad = "same" if step == "b" else "valid"
        if not post and not (skip_first_bn and step == "a"):
            x = keras.layers.BatchNormalization(axis=3, name=name(f"bn{base}_branch2{step}"))(x)
            x = keras.layers.Activation("relu")(x)
            if late_shortcut and step == "a":  # x was overwritten before the shortcut was kept
                shortcut = x
        x = keras.layers.Conv2D(n, k, padding=pad, name=name(f"res{base}_branch2{step}"), kernel_initializer=init())(x)
        if post:  # the course's order: convolution, then BatchNorm and ReLU
            x = keras.layers.BatchNormalization(axis=3, name=name(f"bn{base}_branch2{step}"))(x)
            x = keras.layers.Activation("relu")(x)
    x = keras.layers.Add()([x, shortcut])
    if scaled_sum:
        x = keras.layers.Rescaling(0.5)(x)
    return keras.layers.Activation("relu")(x) if relu_after_add else x


def test_preact_block_checker_passes_a_hand_written_block():
    result = checks.check_preact_block(_preact)
    assert result and repr(result).startswith("✓ Exercise 1 passed")


@pytest.mark.parametrize("mistake, hint", [
    ({"post": True}, "each BatchNorm comes before its convolution: bn1a_branch2a normalises the block's input"),
    ({"relu_after_add": True}, "ends with a ReLU after the addition: the pre-activation block returns the sum itself"),
    ({"skip_first_bn": True}, "no layer named 'bn1a_branch2a' (BatchNormalization): yours has 2"),
    ({"initializer": lambda: "he_normal"}, "give every convolution its own keras.initializers.GlorotUniform(seed=0)"),
    ({"names": False}, "name the layers as the course does"),
    ({"late_shortcut": True}, "your shortcut starts after the first BatchNorm and ReLU"),
    ({"scaled_sum": True}, "the block returns x + F(x): its input plus the last convolution's output"),
])
def test_preact_block_wrong_answers_name_the_cause(mistake, hint):
    result = checks.check_preact_block(lambda *a: _preact(*a, **mistake))
    assert not result and hint in repr(result), repr(result)
    assert repr(result).startswith("✗ Exercise 1 failed")


def test_preact_block_missing_layer_is_not_called_misnamed():
    result = checks.check_preact_block(lambda *a: _preact(*a, skip_first_bn=True))
    assert "name the layers" not in repr(result)


def test_preact_block_checker_bad_returns():
    result = checks.check_preact_block(lambda *a: 42)
    assert not result and "expected the block's output tensor, received 42" in repr(result)
    result = checks.check_preact_block(lambda *a: 1 / 0)
    assert not result and "raised ZeroDivisionError" in repr(result)


def _option_a(x, f, filters, stage, block, s=2, *, projection=False, pad_before=False, pool=False,
              subsample=True, relu_after_add=True, stride_in_2b=False):
    """A hand-written convolutional block with an option A shortcut, with switchable mistakes."""
    import keras

    init = lambda: keras.initializers.GlorotUniform(seed=0)  # noqa: E731
    f1, f2, f3 = filters
    conv, bn = f"res{stage}{block}_branch", f"bn{stage}{block}_branch"
    if projection:  # the convolutional block's shortcut, where option A has none
        shortcut = keras.layers.Conv2D(f3, 1, strides=s, name=conv + "1", kernel_initializer=init())(x)
        shortcut = keras.layers.BatchNormalization(axis=3, name=bn + "1")(shortcut)
    else:
        shortcut = keras.layers.MaxPooling2D(s, padding="same")(x) if pool else x[:, ::s, ::s, :] if subsample else x
        extra = f3 - x.shape[-1]
        shortcut = keras.ops.pad(shortcut, [[0, 0], [0, 0], [0, 0], [extra, 0] if pad_before else [0, extra]])
    y = keras.layers.Conv2D(f1, 1, strides=1 if stride_in_2b else s, name=conv + "2a", kernel_initializer=init())(x)
    y = keras.layers.Activation("relu")(keras.layers.BatchNormalization(axis=3, name=bn + "2a")(y))
    y = keras.layers.Conv2D(f2, f, strides=s if stride_in_2b else 1, padding="same", name=conv + "2b",
                            kernel_initializer=init())(y)
    y = keras.layers.Activation("relu")(keras.layers.BatchNormalization(axis=3, name=bn + "2b")(y))
    y = keras.layers.Conv2D(f3, 1, name=conv + "2c", kernel_initializer=init())(y)
    y = keras.layers.BatchNormalization(axis=3, name=bn + "2c")(y)
    y = keras.layers.Add()([y, shortcut])
    return keras.layers.Activation("relu")(y) if relu_after_add else y


def test_option_a_block_checker_passes_a_hand_written_block():
    result = checks.check_option_a_block(_option_a)
    assert result and repr(result).startswith("✓ Exercise 2 passed")


@pytest.mark.parametrize("mistake, hint", [
    ({"projection": True}, "option A's shortcut has no weights"),
    ({"pad_before": True}, "the zeros go after the input's channels"),
    ({"pool": True}, "option A subsamples, it does not pool"),
    ({"relu_after_add": False}, "the block ends with a ReLU after the addition"),
    ({"subsample": False}, "the shortcut must have the main path's shape"),
    ({"stride_in_2b": True}, "the stride s goes on the first 1x1 convolution"),
])
def test_option_a_block_wrong_answers_name_the_cause(mistake, hint):
    result = checks.check_option_a_block(lambda *a, **k: _option_a(*a, **k, **mistake))
    assert not result and hint in repr(result), repr(result)
    assert repr(result).startswith("✗ Exercise 2 failed")


def test_block_params_checker():
    from utils import resnet

    right = lambda c, f, filters, projection: resnet.block_params(c, f, filters, projection=projection)["total"]
    assert checks.check_block_params(right)
    trainable = checks.check_block_params(
        lambda c, f, filters, projection: resnet.block_params(c, f, filters, projection=projection)["trainable"])
    assert not trainable and "moving mean and variance" in repr(trainable)
    assert repr(trainable).startswith("✗ Exercise 3 failed")
    no_shortcut = checks.check_block_params(lambda c, f, filters, projection: right(c, f, filters, False))
    assert not no_shortcut and "shortcut's 1x1 convolution" in repr(no_shortcut)
    assert "projection=False" not in repr(no_shortcut)  # the identity blocks were right

    def no_bias(c, f, filters, projection):
        return right(c, f, filters, projection) - sum(filters) - (filters[2] if projection else 0)

    result = checks.check_block_params(no_bias)
    assert not result and "one bias per filter" in repr(result)

    def no_shortcut_bn(c, f, filters, projection):
        return right(c, f, filters, projection) - (4 * filters[2] if projection else 0)

    result = checks.check_block_params(no_shortcut_bn)
    assert not result and "but not the BatchNorm after it" in repr(result)

    def no_shortcut_conv(c, f, filters, projection):
        return right(c, f, filters, projection) - ((c + 1) * filters[2] if projection else 0)

    result = checks.check_block_params(no_shortcut_conv)
    assert not result and "but not its 1x1 convolution" in repr(result)
    assert "raised KeyError" in repr(checks.check_block_params(lambda *a: {}["x"]))


# --- Notebook 05: VGG19 fine-tuned on CIFAR-10 --------------------------------------------


def test_caffe_preprocess_checker_agrees_with_keras():
    from utils import transfer

    assert checks.check_caffe_preprocess(transfer.preprocess_caffe)
    import keras

    in_place = checks.check_caffe_preprocess(keras.applications.vgg19.preprocess_input)
    assert not in_place and "changed its input array in place" in repr(in_place)


def test_caffe_preprocess_wrong_answers():
    import numpy as np

    rgb = checks.check_caffe_preprocess(lambda x: x - np.array([123.68, 116.779, 103.939]))
    assert not rgb and "RGB order, as the Zhihu tutorial did" in repr(rgb)
    means_swapped = checks.check_caffe_preprocess(lambda x: x[..., ::-1] - np.array([123.68, 116.779, 103.939]))
    assert not means_swapped and "the means are not" in repr(means_swapped)
    scaled = checks.check_caffe_preprocess(lambda x: (x[..., ::-1] - np.array([103.939, 116.779, 123.68])) / 255)
    assert not scaled and "value at index (0, 0, 0, 0)" in repr(scaled)
    assert "output shape" in repr(checks.check_caffe_preprocess(lambda x: x[..., :2]))


def test_caffe_preprocess_float64_is_named():
    import numpy as np

    wide = checks.check_caffe_preprocess(lambda x: np.asarray(x)[..., ::-1] - np.array([103.939, 116.779, 123.68]))
    assert not wide and "expected a float32 array, received float64" in repr(wide)


def _transfer_model(base, classes, *, freeze=True, preprocess=True, training=False, activation="softmax"):
    import keras

    base.trainable = not freeze
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    if preprocess:
        x = keras.applications.vgg19.preprocess_input(x)
    x = base(x, training=training)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation=activation)(x))


def _unfreeze(base, *, keep_batchnorm_frozen=True):
    import keras

    base.trainable = True
    for layer in base.layers if keep_batchnorm_frozen else []:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def test_transfer_model_solution_passes():
    result = checks.check_transfer_model(_transfer_model, _unfreeze)
    assert result, repr(result)
    assert "base(x, training=False)" in repr(result)


def test_transfer_model_check_holds_under_mixed_precision():
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")  # what notebook 05's full mode sets on a GPU
    try:
        result = checks.check_transfer_model(_transfer_model, _unfreeze)
        assert result, repr(result)
        assert keras.mixed_precision.global_policy().name == "mixed_float16"  # restored by the checker
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_transfer_model_wrong_answers():
    import functools

    def wrong(unfreeze=_unfreeze, **change):
        return checks.check_transfer_model(functools.partial(_transfer_model, **change), unfreeze)

    result = wrong(freeze=False)
    assert not result and "base.trainable = False" in repr(result)
    result = wrong(preprocess=False)
    assert not result and "received raw pixels" in repr(result)
    result = wrong(training=None)
    assert not result and "base(x, training=False)" in repr(result)
    result = wrong(activation=None)
    assert not result and "sum to 1" in repr(result)
    result = wrong(unfreeze=functools.partial(_unfreeze, keep_batchnorm_frozen=False))
    assert not result and "BatchNorm layers are trainable again" in repr(result)
    result = wrong(unfreeze=lambda base: None)
    assert not result and "must become trainable" in repr(result)
    result = checks.check_transfer_model(lambda base, classes: None, _unfreeze)
    assert not result and "expected a keras.Model" in repr(result)


def _schedule(peak, epochs, steps_per_epoch, warmup, *, start=0.0, in_epochs=False, decay_all=False):
    import keras

    total = epochs * steps_per_epoch
    warmup_steps = round(warmup * (epochs if in_epochs else total))
    return keras.optimizers.schedules.CosineDecay(start, total if decay_all else total - warmup_steps,
                                                  warmup_target=peak, warmup_steps=warmup_steps)


def test_short_run_schedule_solution_passes_and_wrong_ones_are_named():
    import functools

    assert checks.check_short_run_schedule(_schedule)
    result = checks.check_short_run_schedule(functools.partial(_schedule, start=None))
    assert not result
    result = checks.check_short_run_schedule(
        lambda p, e, s, w: __import__("keras").optimizers.schedules.CosineDecay(p, e * s))
    assert not result and "start at 0" in repr(result)
    result = checks.check_short_run_schedule(functools.partial(_schedule, in_epochs=True))
    assert not result and "not epochs" in repr(result)
    result = checks.check_short_run_schedule(functools.partial(_schedule, decay_all=True))
    assert not result and "decay_steps counts the steps after the warm-up" in repr(result)
    result = checks.check_short_run_schedule(lambda *a: 0.1)
    assert not result and "expected a schedule" in repr(result)


# --- Notebook 04 ---------------------------------------------------------------------


def _stage3(stride=2, blocks="bcd", names=None):
    def build(x):
        from utils import resnet

        x = resnet.convolutional_block(x, 3, [128, 128, 512], 3, "a", s=stride)
        for block in blocks:
            x = resnet.identity_block(x, 3, [128, 128, 512], names or 3, block)
        return x
    return build


def test_stage3_wrong_answers():
    assert checks.check_stage3(_stage3())
    no_stride = checks.check_stage3(_stage3(stride=1))
    assert not no_stride and "output shape: expected (None, 8, 8, 512), received (None, 15, 15, 512)" in repr(no_stride)
    short = checks.check_stage3(_stage3(blocks="bc"))
    assert not short and "no layer named 'res3d_branch2a'" in repr(short)
    assert "yours has 10 Conv2D layers, the reference 13: 3 missing" in repr(short)  # missing, not misnamed
    assert "name the layers as the course does" not in repr(short)
    renamed = checks.check_stage3(_stage3(names=4))
    assert not renamed and "no layer named 'res3b_branch2a'" in repr(renamed)
    assert "name the layers as the course does" in repr(renamed)  # as many layers: misnamed
    assert repr(checks.check_stage3(_stage3())).startswith("✓ Exercise 1 passed")  # the heading's number
    assert "expected the block's output tensor" in repr(checks.check_stage3(lambda x: 3))


def test_feature_map_sizes_wrong_answers():
    from utils import resnet

    def right(size):
        return {k: v for k, v in resnet.stage_sizes(size).items() if k != "input"}

    assert checks.check_feature_map_sizes(right)
    halved_pool = checks.check_feature_map_sizes(lambda n: {**right(n), "pool1": right(n)["conv1"] // 2})
    assert not halved_pool and "(the 3x3 max pooling is 'valid'" in repr(halved_pool)
    keys = checks.check_feature_map_sizes(lambda n: {"conv1": right(n)["conv1"]})
    assert not keys and "expected the keys ['avg_pool', 'conv1'," in repr(keys)
    assert repr(checks.check_feature_map_sizes(right)).startswith("✓ Exercise 2 passed")


def test_feature_map_sizes_blames_the_pooling_only_when_it_is_wrong():
    from utils import resnet

    def rounded_down(size):  # the strided stages as n // 2: pool1 is right, and for 37 and 50 equals conv1 // 2
        sizes = {k: v for k, v in resnet.stage_sizes(size).items() if k != "input"}
        for k in (3, 4, 5):
            sizes[f"stage{k}"] = sizes[f"stage{k - 1}"] // 2
        sizes["avg_pool"] = (sizes["stage5"] - 2) // 2 + 1 if sizes["stage5"] >= 2 else 0
        return sizes

    result = checks.check_feature_map_sizes(rounded_down)
    assert not result and "max pooling" not in repr(result)
    assert "(n - 1) // 2 + 1, which rounds an odd size up, not n // 2" in repr(result)

    def wrong_head(size):  # pool1 right (= conv1 // 2 for 37 and 50), the average pooling wrong
        sizes = {k: v for k, v in resnet.stage_sizes(size).items() if k != "input"}
        return {**sizes, "avg_pool": sizes["stage5"]}

    result = checks.check_feature_map_sizes(wrong_head)
    assert not result and "max pooling" not in repr(result) and "feature_map_sizes(37)" in repr(result)


def _photo(path, *, exif=True, box=True, scale=True):
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image = (ImageOps.exif_transpose(image) if exif else image).convert("RGB")
    image = image.resize((64, 64), Image.Resampling.BOX if box else Image.Resampling.NEAREST)
    array = np.asarray(image, dtype="float32")
    return (array / 255 if scale else array)[np.newaxis]


@pytest.mark.parametrize("kwargs, message", [
    ({"exif": False}, "sideways.jpg: the photo came out sideways: apply its EXIF orientation"),
    ({"scale": False}, "plain.jpg: scale the pixels to [0, 1]"),
    ({"box": False}, "resize with PIL's Image.Resampling.BOX"),
])
def test_prepare_photo_wrong_answers(kwargs, message):
    assert checks.check_prepare_photo(_photo)
    result = checks.check_prepare_photo(lambda path: _photo(path, **kwargs))
    assert not result and message in repr(result)


def test_prepare_photo_wrong_shape():
    result = checks.check_prepare_photo(lambda path: _photo(path)[0])
    assert not result and "expected a float32 array of shape (1, 64, 64, 3), received float32 (64, 64, 3)" in repr(result)


def _photo_without_rgb(path):
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)  # no .convert("RGB")
        image = image.resize((64, 64), Image.Resampling.BOX)
    return (np.asarray(image, dtype="float32") / 255)[np.newaxis]


def _photo_rgb_after_resize(path):
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image).resize((64, 64), Image.Resampling.BOX).convert("RGB")
    return (np.asarray(image, dtype="float32") / 255)[np.newaxis]


def test_prepare_photo_needs_rgb():
    result = checks.check_prepare_photo(_photo_without_rgb)
    assert not result and "grey.jpg: expected a float32 array of shape (1, 64, 64, 3), received float32 (1, 64, 64)" in repr(result)
    assert 'convert the image to RGB with .convert("RGB")' in repr(result)
    late = checks.check_prepare_photo(_photo_rgb_after_resize)  # RGBA resized with its alpha, then converted
    assert not late and "clear.png: pixels differ" in repr(late)
    assert repr(checks.check_prepare_photo(_photo)).startswith("✓ Exercise 3 passed")


def test_warmup_cosine_reference_matches_keras():
    import keras

    for peak, total, warmup in checks.WARMUP_CASES:
        schedule = keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=peak, warmup_steps=warmup)
        for step in (0, 1, warmup - 1, warmup, warmup + 1, total // 2, total - 1, total, total + 10):
            assert abs(float(schedule(step)) - checks.warmup_cosine(step, peak, total, warmup)) <= 1e-6 * peak


def test_warmup_cosine_checker():
    import math

    import keras

    def solution(peak, total, warmup):
        return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=peak, warmup_steps=warmup)

    assert repr(checks.check_warmup_cosine(solution)).startswith("✓ Exercise 4 passed")

    def by_hand(peak, total, warmup):  # a plain function of the step passes too
        return lambda step: (peak * step / warmup if step < warmup
                             else peak * 0.5 * (1 + math.cos(math.pi * min(step - warmup, total - warmup) / (total - warmup))))

    assert checks.check_warmup_cosine(by_hand)
    no_warmup = checks.check_warmup_cosine(lambda peak, total, warmup: keras.optimizers.schedules.CosineDecay(peak, total))
    assert not no_warmup and "should start at 0 and climb to the peak" in repr(no_warmup)
    too_long = checks.check_warmup_cosine(lambda peak, total, warmup: keras.optimizers.schedules.CosineDecay(
        0.0, total, warmup_target=peak, warmup_steps=warmup))
    assert not too_long and "decay_steps counts the steps after the warm-up" in repr(too_long)
    from_peak = checks.check_warmup_cosine(lambda peak, total, warmup: keras.optimizers.schedules.CosineDecay(
        peak, total - warmup, warmup_target=peak, warmup_steps=warmup))  # a flat "warm-up" at the peak
    assert not from_peak and "should start at 0" in repr(from_peak)
    number = checks.check_warmup_cosine(lambda peak, total, warmup: peak)
    assert not number and "expected a schedule, a function of the step" in repr(number)
    broken = checks.check_warmup_cosine(lambda peak, total, warmup: lambda: peak)  # takes no step
    assert not broken and "calling the schedule with a step number raised TypeError" in repr(broken)
