"""Unit tests of the notebook checkers in utils/checks.py (beyond the notebook's own
solution/stub tests in test_notebooks.py): wrong answers fail with useful messages."""

import pytest

from utils import checks


def test_fc1_wrong_answers():
    assert checks.check_fc1_params(lambda: 102_764_544)
    missing_bias = checks.check_fc1_params(lambda: 7 * 7 * 512 * 4096)
    assert not missing_bias and "add one bias" in repr(missing_bias)
    assert "expected 102764544, received 5" in repr(checks.check_fc1_params(lambda: 5))


def test_block_shapes_wrong_answers():
    def off_by_one_pool(size):
        return [(size // 2**b, size // 2**b, c) for b, c in enumerate([64, 128, 256, 512, 512])]
    result = checks.check_block_output_shapes(off_by_one_pool)
    assert not result and "shapes for a 224x224 input" in repr(result)

    def rounds_up(size):
        import math
        return [(math.ceil(size / 2**b),) * 2 + (c,) for b, c in enumerate([64, 128, 256, 512, 512], 1)]
    result = checks.check_block_output_shapes(rounds_up)
    assert not result and "100x100" in repr(result) and "224x224" not in repr(result)


def test_vgg_params_wrong_answers():
    result = checks.check_vgg_params(lambda config: checks.VGG_PARAMS["D"])
    assert not result and "vgg_params('A')" in repr(result) and "vgg_params('D')" not in repr(result)
    raising = checks.check_vgg_params(lambda config: {}[config])
    assert not raising and "raised KeyError" in repr(raising)


# --- Notebook 03: residual blocks -------------------------------------------------------


def _course_block(x, f, filters, stage, block, s=None, *, skip_relu_2a=False, shortcut_first=False,
                  initializer=None, names=True):
    """A hand-written block with switchable mistakes (projection shortcut when s is given)."""
    import keras

    init = initializer or (lambda: keras.initializers.GlorotUniform(seed=0))
    f1, f2, f3 = filters
    base = f"{stage}{block}"
    name = (lambda n: n) if names else (lambda n: None)

    def shortcut():
        if s is None:
            return x
        y = keras.layers.Conv2D(f3, 1, strides=s, name=name(f"res{base}_branch1"), kernel_initializer=init())(x)
        return keras.layers.BatchNormalization(axis=3, name=name(f"bn{base}_branch1"))(y)

    short = shortcut() if shortcut_first else None
    y = keras.layers.Conv2D(f1, 1, strides=s or 1, name=name(f"res{base}_branch2a"), kernel_initializer=init())(x)
    y = keras.layers.BatchNormalization(axis=3, name=name(f"bn{base}_branch2a"))(y)
    if not skip_relu_2a:
        y = keras.layers.Activation("relu")(y)
    y = keras.layers.Conv2D(f2, f, padding="same", name=name(f"res{base}_branch2b"), kernel_initializer=init())(y)
    y = keras.layers.BatchNormalization(axis=3, name=name(f"bn{base}_branch2b"))(y)
    y = keras.layers.Activation("relu")(y)
    y = keras.layers.Conv2D(f3, 1, name=name(f"res{base}_branch2c"), kernel_initializer=init())(y)
    y = keras.layers.BatchNormalization(axis=3, name=name(f"bn{base}_branch2c"))(y)
    y = keras.layers.Add()([y, short if shortcut_first else shortcut()])
    return keras.layers.Activation("relu")(y)


def test_identity_block_checker_passes_a_hand_written_block():
    assert checks.check_identity_block(_course_block)


def test_identity_block_checker_names_the_first_layer_that_differs():
    result = checks.check_identity_block(lambda *a: _course_block(*a, skip_relu_2a=True))
    assert not result
    assert "first layer whose output differs is 'res1a_branch2b'" in repr(result)
    assert "inference mode" in repr(result)


def test_identity_block_checker_wrong_initialiser_names_and_return():
    result = checks.check_identity_block(lambda *a: _course_block(*a, initializer=lambda: "he_normal"))
    assert not result and "'res1a_branch2a'" in repr(result) and "GlorotUniform(seed=0)" in repr(result)
    result = checks.check_identity_block(lambda *a: _course_block(*a, names=False))
    assert not result and "no layer named 'res1a_branch2a' (Conv2D)" in repr(result)
    result = checks.check_identity_block(lambda *a: 42)
    assert not result and "expected the block's output tensor, received 42" in repr(result)
    result = checks.check_identity_block(lambda *a: 1 / 0)
    assert not result and "raised ZeroDivisionError" in repr(result)


def test_identity_block_checker_without_final_relu():
    def no_final_relu(x, f, filters, stage, block):
        out = _course_block(x, f, filters, stage, block)
        return out._keras_history.operation.input  # the Add's output, before the ReLU

    result = checks.check_identity_block(no_final_relu)
    assert not result and "every named layer matches but the block's output differs" in repr(result)


def test_convolutional_block_checker():
    assert checks.check_convolutional_block(lambda x, f, filters, stage, block, s=2: _course_block(
        x, f, filters, stage, block, s, shortcut_first=True))
    # Downsampling with a pool after the block instead of strided 1x1 convolutions.
    import keras

    from utils import resnet

    def stride_in_2b(x, f, filters, stage, block, s=2):
        out = resnet.convolutional_block(x, f, filters, stage, block, s=1)
        return keras.layers.MaxPooling2D(s, name="pool")(out) if s > 1 else out

    result = checks.check_convolutional_block(stride_in_2b)
    assert not result and "'res1a_branch2a': expected strides=(2, 2), received strides=(1, 1)" in repr(result)
    result = checks.check_convolutional_block(lambda x, f, filters, stage, block, s=2: _course_block(
        x, f, filters, stage, block, None))
    assert not result and "output shape: expected (None, 2, 2, 6)" in repr(result)


def test_block_params_checker():
    from utils import resnet

    right = lambda c, f, filters, projection: resnet.block_params(c, f, filters, projection=projection)["total"]
    assert checks.check_block_params(right)
    trainable = checks.check_block_params(
        lambda c, f, filters, projection: resnet.block_params(c, f, filters, projection=projection)["trainable"])
    assert not trainable and "moving mean and variance" in repr(trainable)
    no_shortcut = checks.check_block_params(lambda c, f, filters, projection: right(c, f, filters, False))
    assert not no_shortcut and "shortcut's 1x1 convolution" in repr(no_shortcut)
    assert "projection=False" not in repr(no_shortcut)  # the identity blocks were right

    def no_bias(c, f, filters, projection):
        return right(c, f, filters, projection) - sum(filters) - (filters[2] if projection else 0)

    result = checks.check_block_params(no_bias)
    assert not result and "one bias per filter" in repr(result)
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
    assert not rgb and "RGB order, as the source did" in repr(rgb)
    means_swapped = checks.check_caffe_preprocess(lambda x: x[..., ::-1] - np.array([123.68, 116.779, 103.939]))
    assert not means_swapped and "the means are not" in repr(means_swapped)
    scaled = checks.check_caffe_preprocess(lambda x: (x[..., ::-1] - np.array([103.939, 116.779, 123.68])) / 255)
    assert not scaled and "value at index (0, 0, 0, 0)" in repr(scaled)
    assert "output shape" in repr(checks.check_caffe_preprocess(lambda x: x[..., :2]))


def _freeze_solution(model):
    for layer in model.layers:
        if layer.name.startswith("block"):
            layer.trainable = False


def test_freeze_base_solution_passes():
    result = checks.check_freeze_base(_freeze_solution)
    assert result, repr(result)
    assert "base layers frozen" in repr(result)


def test_freeze_base_wrong_answers():
    def whole_model(model):
        model.trainable = False

    def convolutions_only(model):
        import keras
        for layer in model.layers:
            if layer.name.startswith("block") and isinstance(layer, keras.layers.Conv2D):
                layer.trainable = False

    def everything(model):
        for layer in model.layers:
            layer.trainable = False

    result = checks.check_freeze_base(whole_model)
    assert not result and "model.trainable is False" in repr(result)
    result = checks.check_freeze_base(convolutions_only)
    assert not result and "BatchNorm layers too" in repr(result) and "block1_conv1_bn" in repr(result)
    result = checks.check_freeze_base(everything)
    assert not result and "head layers must stay trainable" in repr(result)
    result = checks.check_freeze_base(lambda model: None)
    assert not result and "base layers are still trainable, e.g. 'block1_conv1'" in repr(result)


@pytest.mark.parametrize("flat, units, classes", checks.HEAD_PARAMS_CASES[:2])
def test_head_params_match_the_built_head(flat, units, classes):
    import keras

    from utils import vgg

    inputs = keras.Input((1, 1, flat))
    head = keras.Model(inputs, vgg.vgg_head(inputs, classes, fc_units=units, batch_norm=True, dropout=0.5))
    counts = checks.cifar_head_params(flat, units, classes)
    assert head.count_params() == counts["total"]
    assert sum(int(w.numpy().size) for w in head.trainable_weights) == counts["trainable"]
    keras.backend.clear_session()


def test_head_params_wrong_answers():
    trainable = checks.check_head_params(lambda f, u, c: checks.cifar_head_params(f, u, c)["trainable"])
    assert not trainable and "moving mean and variance" in repr(trainable)
    no_bn = checks.check_head_params(lambda f, u, c: f * u + u + u * u + u + u * c + c)
    assert not no_bn and "followed by a BatchNorm" in repr(no_bn)
    no_out_bn = checks.check_head_params(lambda f, u, c: checks.cifar_head_params(f, u, c)["total"] - 4 * c)
    assert not no_out_bn and "predictions_bn" in repr(no_out_bn)
    assert "18,956,338 parameters" in repr(checks.check_head_params(
        lambda f, u, c: checks.cifar_head_params(f, u, c)["total"]))


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
    renamed = checks.check_stage3(_stage3(names=4))
    assert not renamed and "no layer named 'res3b_branch2a'" in repr(renamed)
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
