"""The checkers behind the notebooks' exercises.

An exercise cell defines a function; the check cell after it is one expression calling
a checker of this module, which calls that function, compares what it returns with
what is expected and returns a :class:`CheckResult`. The notebook displays the result:
one line when the exercise passed, one line per problem when it did not. A checker
never raises, not even when the learner's function does (for example the
``NotImplementedError`` of an exercise not done yet), so that a notebook still runs
from top to bottom.

Every checker follows the same pattern::

    def check_fc1_params(fn) -> CheckResult:
        \"\"\"Exercise 1.2: the number of weights and biases of VGG16's fc1.\"\"\"
        result = run_check("1.2", fn)  # calls the learner's function, catching what it raises
        return result.finish(  # compares; a call that raised stays the report
            [expect_equal("fc1 parameters", 7 * 7 * 512 * 4096 + 4096, result.value)],
            summary="fc1 has 102,764,544 parameters",
        )

What a checker shows must be the same on every run (nbval compares it): no
timings, no memory addresses, no values that depend on the machine.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "CheckResult", "run_check", "expect_equal", "check_fc1_params", "check_block_output_shapes", "check_vgg_params",
    "check_identity_block", "check_convolutional_block", "check_block_params",
    "check_stage3", "check_feature_map_sizes", "check_prepare_photo",
    "check_caffe_preprocess", "check_freeze_base", "cifar_head_params", "check_head_params",
    "check_stack_field", "check_layers_for_field", "stack_savings", "check_stack_savings",
]

_MAX_SHOWN = 200  # characters of a value shown in a message
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _show(value: Any) -> str:
    """Return a short repr of ``value``, the same on every run."""
    text = _ADDRESS.sub("", repr(value))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


@dataclasses.dataclass
class CheckResult:
    """The verdict of a checker.

    Attributes:
        exercise: The exercise's number, e.g. ``"1.2"``.
        passed: Whether the exercise passed. ``bool(result)`` is the same.
        messages: When passed, a one-line summary of what was checked; when failed,
            one line per problem, saying what was expected and what was received.
        value: What the learner's function returned, kept by :func:`run_check` for the
            checker to compare. It is not shown and not compared.
    """

    exercise: str
    passed: bool
    messages: list[str] = dataclasses.field(default_factory=list)
    value: Any = dataclasses.field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        if self.passed:
            summary = "; ".join(self.messages) or "all checks passed"
            return f"✓ Exercise {self.exercise} passed: {summary}"
        problems = self.messages or ["(no details)"]
        lines = [f"✗ Exercise {self.exercise} failed:"]
        for problem in problems:
            lines.extend("    " + line for line in str(problem).splitlines() or [""])
        return "\n".join(lines)

    def finish(self, problems: Iterable[str | None], summary: str) -> CheckResult:
        """Conclude a check from its problems.

        Args:
            problems: One entry per comparison: None when it matched, else the
                message, as :func:`expect_equal` returns.
            summary: The one line shown when nothing is wrong.

        Returns:
            This result, failed with the problems as messages if there are any, else
            passed with ``summary`` as its message. A result that has failed already
            (the learner's function raised) is returned unchanged: that is its report.
        """
        if not self.passed:
            return self
        found = [problem for problem in problems if problem]
        self.passed = not found
        self.messages = found if found else [summary]
        return self


def run_check(exercise: str, fn: Callable, *args, **kwargs) -> CheckResult:
    """Call the learner's function and catch whatever goes wrong.

    Args:
        exercise: The exercise's number, e.g. ``"1.2"``.
        fn: The learner's function.
        *args: Positional arguments for ``fn``.
        **kwargs: Keyword arguments for ``fn``.

    Returns:
        A failed result when ``fn`` is not callable or raises: for
        ``NotImplementedError`` the message starts with "not implemented yet"; for any
        other exception it gives the exception's type and message (no traceback).
        Otherwise a passed result with no messages, whose ``value`` is what ``fn``
        returned, for the checker to compare and then :meth:`CheckResult.finish`.
    """
    name = getattr(fn, "__name__", "the function")
    if not callable(fn):
        return CheckResult(
            exercise, False, [f"expected a function to call, received {type(fn).__name__} {_show(fn)}"]
        )
    try:
        value = fn(*args, **kwargs)
    except NotImplementedError:
        return CheckResult(
            exercise,
            False,
            [f"not implemented yet: {name}() still raises NotImplementedError; "
             "replace that line in the exercise cell with your code, run it, then this cell."],
        )
    except Exception as error:  # the learner's code may raise anything: report it
        detail = _ADDRESS.sub("", str(error)).strip()
        return CheckResult(
            exercise, False, [f"{name}() raised {type(error).__name__}" + (f": {detail}" if detail else "")]
        )
    return CheckResult(exercise, True, [], value=value)


def expect_equal(name: str, expected: Any, received: Any) -> str | None:
    """Compare one value with what is expected.

    Arrays (anything with a ``shape``) are equal when their shapes and all their
    elements are (a wrong shape is reported as such); other values when ``==`` says so.

    Args:
        name: What the value is, as the learner would say it ("fc1 parameters").
        expected: The right value.
        received: The learner's value.

    Returns:
        None when they are equal, else a message ``"<name>: expected <expected>,
        received <received>"``.
    """
    if hasattr(expected, "shape") or hasattr(received, "shape"):
        import numpy as np

        try:
            shapes = np.shape(expected), np.shape(received)
            same = shapes[0] == shapes[1] and bool(np.array_equal(expected, received))
        except Exception:  # values numpy cannot compare are simply not equal
            shapes, same = None, False
        if shapes and shapes[0] != shapes[1]:
            return f"{name}: expected shape {shapes[0]}, received shape {shapes[1]}"
    else:
        try:
            same = bool(expected == received)
        except Exception:
            same = False
    if same:
        return None
    return f"{name}: expected {_show(expected)}, received {_show(received)}"


# --- Notebook 01: VGG16, rebuilt from the paper ---------------------------------------

#: Exact parameter counts of the VGG configurations at 224x224x3 with 1000 classes
#: (tests/test_checks.py checks them against models built by utils.vgg).
VGG_PARAMS = {
    "A": 132_863_336,
    "A-LRN": 132_863_336,
    "B": 133_047_848,
    "C": 133_638_952,
    "D": 138_357_544,
    "E": 143_667_240,
}


def check_fc1_params(fn) -> CheckResult:
    """Exercise 1.1: the number of weights and biases of VGG16's ``fc1``."""
    result = run_check("1.1", fn)
    expected = 7 * 7 * 512 * 4096 + 4096
    problem = expect_equal("fc1 parameters", expected, result.value)
    if problem and result.value == 7 * 7 * 512 * 4096:
        problem += " (the weights are right: add one bias per unit)"
    return result.finish([problem], summary=f"fc1 has {expected:,} parameters (74% of VGG16's)")


def check_block_output_shapes(fn) -> CheckResult:
    """Exercise 1.2: the output shape of each of VGG16's five blocks, for several input sizes."""
    channels = [64, 128, 256, 512, 512]
    problems = []
    result = None
    for size in (224, 32, 100):
        result = run_check("1.2", fn, size)
        if not result.passed:
            return result
        expected = [(size // 2**b, size // 2**b, c) for b, c in enumerate(channels, start=1)]
        received = result.value
        if isinstance(received, Iterable) and not isinstance(received, (str, bytes)):
            received = [tuple(s) if isinstance(s, Iterable) else s for s in received]
        problems.append(expect_equal(f"shapes for a {size}x{size} input", expected, received))
    return result.finish(problems, summary="224 -> (7, 7, 512) after block 5; odd sizes round down at each pool")


def check_vgg_params(fn) -> CheckResult:
    """Exercise 1.3: parameter counts of every configuration, computed from the table."""
    problems = []
    result = None
    for config, expected in VGG_PARAMS.items():
        result = run_check("1.3", fn, config)
        if not result.passed:
            return result
        problems.append(expect_equal(f"vgg_params({config!r})", expected, result.value))
    return result.finish(problems, summary="all six configurations counted exactly from the table")


# --- Notebook 03: residual blocks -------------------------------------------------------

#: The seeded input the block checks feed (batch of three), per input shape.
_BLOCK_INPUT_SEED = 0
#: How close the learner's outputs must be to the reference's (float32 round-off).
_BLOCK_TOLERANCE = 1e-4


def _block_problems(fn, reference_fn, shape, args, kwargs, exercise, where=None) -> tuple[CheckResult, list[str]]:
    """Build the learner's block and the reference block on the same input and compare them.

    Layers are matched by name (the course's ``res…``/``bn…`` names), so the order in
    which the learner builds the two paths does not matter. Returns the learner call's
    result and the problems found, the first difference only: later ones follow from it.
    """
    import keras
    import numpy as np

    where = where or f"for an input of shape {(None, *shape)}, " + ", ".join(
        [f"f={args[0]}", f"filters={list(args[1])}", f"stage={args[2]!r}", f"block={args[3]!r}"]
        + [f"{k}={v!r}" for k, v in kwargs.items()])
    inputs = keras.Input(shape=shape)
    result = run_check(exercise, fn, inputs, *args, **kwargs)
    if not result:
        return result, []
    out = result.value
    if not isinstance(out, keras.KerasTensor):
        return result, [f"{where}: expected the block's output tensor, received {_show(out)}"]
    try:
        learner = keras.Model(inputs, out)
    except Exception as error:
        return result, [f"{where}: could not make a model from the input to your output "
                        f"({type(error).__name__}: {_ADDRESS.sub('', str(error)).strip()})"]
    ref_inputs = keras.Input(shape=shape)
    reference = keras.Model(ref_inputs, reference_fn(ref_inputs, *args, **kwargs))
    if tuple(learner.output.shape) != tuple(reference.output.shape):
        return result, [f"{where}: output shape: expected {tuple(reference.output.shape)}, "
                        f"received {tuple(learner.output.shape)}"]

    named = [layer for layer in reference.layers if layer.weights]
    theirs = {layer.name: layer for layer in learner.layers}
    for layer in named:
        kind = type(layer).__name__
        other = theirs.get(layer.name)
        if other is None:
            return result, [f"{where}: no layer named {layer.name!r} ({kind}); name the layers as the "
                            "course does (res/bn + stage + block + _branch2a, 2b, 2c, 1)"]
        if type(other) is not type(layer):
            return result, [f"{where}: layer {layer.name!r}: expected a {kind}, received a {type(other).__name__}"]
        want, got = [tuple(w.shape) for w in layer.weights], [tuple(w.shape) for w in other.weights]
        if want != got:
            return result, [f"{where}: layer {layer.name!r}: expected weight shapes {want}, received {got}"]
        if isinstance(layer, keras.layers.Conv2D):
            for attr in ("strides", "padding"):
                if getattr(layer, attr) != getattr(other, attr):
                    return result, [f"{where}: layer {layer.name!r}: expected {attr}={getattr(layer, attr)!r}, "
                                    f"received {attr}={getattr(other, attr)!r}"]
            if not all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(layer.weights, other.weights)):
                return result, [f"{where}: layer {layer.name!r}: its initial weights differ from the reference's; "
                                "give every convolution its own keras.initializers.GlorotUniform(seed=0)"]
    extra = sorted(name for name, l in theirs.items() if l.weights and name not in {l.name for l in named})
    if extra:
        return result, [f"{where}: layers with weights that the block does not have: {extra}"]

    x = np.random.default_rng(_BLOCK_INPUT_SEED).standard_normal((3, *shape)).astype("float32")
    probes = [keras.Model(m.input, [m.get_layer(l.name).output for l in named] + [m.output])
              for m in (reference, learner)]
    for training in (False, True):  # inference first: a training call moves BatchNorm's averages
        expected, received = (probe(x, training=training) for probe in probes)
        mode = "training" if training else "inference"
        for name, a, b in zip([l.name for l in named] + [None], expected, received):
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape or not np.allclose(a, b, rtol=_BLOCK_TOLERANCE, atol=_BLOCK_TOLERANCE):
                if name is None:
                    return result, [f"{where}: in {mode} mode every named layer matches but the block's "
                                    "output differs: check the addition of the two paths and the final ReLU"]
                return result, [f"{where}: in {mode} mode the first layer whose output differs is {name!r}: "
                                "check it and what feeds it"]
    return result, []


def _check_block(exercise, fn, reference_fn, cases, summary) -> CheckResult:
    result = None
    for shape, args, kwargs in cases:
        result, problems = _block_problems(fn, reference_fn, shape, args, kwargs, exercise)
        if not result or problems:
            return result.finish(problems, summary)
    return result.finish([], summary)


def check_identity_block(fn) -> CheckResult:
    """Exercise 3.1: the identity block, compared with ``utils.resnet.identity_block``."""
    from utils import resnet

    cases = [((4, 4, 6), (3, [2, 4, 6], 1, "a"), {}), ((5, 5, 8), (1, [4, 3, 8], 2, "b"), {})]
    return _check_block("3.1", fn, resnet.identity_block, cases,
                        summary="same layers, weights and outputs as utils.resnet.identity_block, "
                                "in inference and training mode")


def check_convolutional_block(fn) -> CheckResult:
    """Exercise 3.2: the convolutional block, compared with ``utils.resnet.convolutional_block``."""
    from utils import resnet

    cases = [((4, 4, 6), (3, [2, 4, 6], 1, "a"), {"s": 2}), ((5, 5, 3), (3, [4, 3, 8], 3, "b"), {"s": 1})]
    return _check_block("3.2", fn, resnet.convolutional_block, cases,
                        summary="same layers, weights and outputs as utils.resnet.convolutional_block, "
                                "in inference and training mode")


#: (channels in, f, filters, projection) of the blocks Exercise 3.3 counts: ResNet-50's.
BLOCK_PARAMS_CASES = [
    (64, 3, (64, 64, 256), True),
    (256, 3, (64, 64, 256), False),
    (256, 3, (128, 128, 512), True),
    (1024, 3, (512, 512, 2048), True),
    (2048, 3, (512, 512, 2048), False),
]


def check_block_params(fn) -> CheckResult:
    """Exercise 3.3: the parameters of a block (as ``model.count_params()`` counts them)."""
    from utils import resnet

    problems = []
    result = None
    for channels, f, filters, projection in BLOCK_PARAMS_CASES:
        result = run_check("3.3", fn, channels, f, list(filters), projection)
        if not result:
            return result
        counts = resnet.block_params(channels, f, filters, projection=projection)
        problem = expect_equal(f"block_params({channels}, {f}, {list(filters)}, projection={projection})",
                               counts["total"], result.value)
        biases = sum(filters) + (filters[2] if projection else 0)
        if problem and result.value == counts["trainable"]:
            problem += " (BatchNorm's moving mean and variance count too: 4 numbers per channel, 2 of them trained)"
        elif problem and result.value == counts["total"] - biases:
            problem += " (each convolution also has one bias per filter)"
        elif problem and projection and result.value == resnet.block_params(
                channels, f, filters, projection=False)["total"]:
            problem += " (a convolutional block also has the shortcut's 1x1 convolution and its BatchNorm)"
        problems.append(problem)
    return result.finish(problems, summary="ResNet-50's blocks counted exactly, shortcuts and BatchNorm included")


# --- Notebook 04: ResNet50 on hand signs ----------------------------------------------------

#: Exercise 4.1's input: what stage 2 of the course's ResNet50 gives at 64x64.
_STAGE3_INPUT = (15, 15, 256)


def _stage3_reference(x):
    from utils import resnet

    x = resnet.convolutional_block(x, 3, [128, 128, 512], 3, "a", s=2)
    for block in "bcd":
        x = resnet.identity_block(x, 3, [128, 128, 512], 3, block)
    return x


def check_stage3(fn) -> CheckResult:
    """Exercise 4.1: stage 3 of ResNet50 from the blocks, compared layer by layer with the reference."""
    result, problems = _block_problems(fn, _stage3_reference, _STAGE3_INPUT, (), {}, "4.1",
                                       where=f"stage 3 on an input of shape {(None, *_STAGE3_INPUT)}")
    return result.finish(problems, summary="a convolutional block (s=2) and three identity blocks, named 3a-3d: "
                                           "same layers, weights and outputs as in utils.resnet.resnet50")


#: The input sizes Exercise 4.2 is asked about.
FEATURE_MAP_CASES = (64, 224, 100, 37, 50)


def check_feature_map_sizes(fn) -> CheckResult:
    """Exercise 4.2: the feature-map size after each part of ResNet50, for several input sizes."""
    from utils import resnet

    problems, result = [], None
    for size in FEATURE_MAP_CASES:
        result = run_check("4.2", fn, size)
        if not result:
            return result
        expected = {k: v for k, v in resnet.stage_sizes(size).items() if k != "input"}
        received = result.value
        if isinstance(received, dict) and set(received) != set(expected):
            problems.append(f"feature_map_sizes({size}): expected the keys {sorted(expected)}, "
                            f"received {sorted(map(str, received))}")
            break
        problem = expect_equal(f"feature_map_sizes({size})", expected, received)
        if problem and isinstance(received, dict) and received.get("pool1") == expected["conv1"] // 2:
            problem += " (the 3x3 max pooling is 'valid': (n - 3) // 2 + 1, not n / 2)"
        problems.append(problem)
    return result.finish(problems, summary="sizes after conv1, pool1, each stage and the average pooling, "
                                           "for inputs of 64, 224, 100, 37 and 50 pixels")


def _photo_files(folder):
    """Two test photos: a plain JPEG and one stored sideways with an EXIF orientation tag."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(4)
    ramp = np.linspace(0, 255, 96, dtype="float32")
    pixels = np.stack([ramp[:, None] + 0 * ramp[None, :], 0 * ramp[:, None] + ramp[None, :],
                       np.full((96, 96), 90.0)], axis=-1)
    plain = folder / "plain.jpg"
    Image.fromarray(np.clip(pixels + rng.normal(0, 8, pixels.shape), 0, 255).astype("uint8")).save(plain, quality=95)
    sideways = folder / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: "rotate 90 degrees clockwise to display"
    Image.fromarray(pixels.astype("uint8")).transpose(Image.Transpose.ROTATE_90).save(
        sideways, quality=95, exif=exif)
    return [plain, sideways]


def check_prepare_photo(fn) -> CheckResult:
    """Exercise 4.3: a photo file to the model's input, as ``utils.signs.prepare_photo`` makes it."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from utils import signs

    with tempfile.TemporaryDirectory() as folder:
        problems, result = [], None
        for path in _photo_files(Path(folder)):
            result = run_check("4.3", fn, str(path))
            if not result:
                return result
            expected = signs.prepare_photo(path)
            try:
                received = np.asarray(result.value)
            except Exception:
                return result.finish([f"expected an array, received {_show(result.value)}"], "")
            if received.shape != expected.shape or received.dtype != expected.dtype:
                problems.append(f"{path.name}: expected a {expected.dtype} array of shape {expected.shape}, "
                                f"received {received.dtype} {received.shape}")
                break
            if not np.allclose(received, expected, atol=1.5 / 255):
                if received.max() > 1.0:
                    hint = "scale the pixels to [0, 1] (divide by 255), as in training"
                elif path.name == "sideways.jpg" and min(  # closer to a quarter turn than to the upright photo
                        np.abs(received[0] - np.rot90(expected[0], k)).mean() for k in (1, 3)) < 0.5 * np.abs(
                        received[0] - expected[0]).mean():
                    hint = "the photo came out sideways: apply its EXIF orientation (PIL.ImageOps.exif_transpose)"
                else:
                    hint = ("pixels differ from the training preprocessing by up to "
                            f"{np.abs(received - expected).max() * 255:.0f}/255; resize with "
                            "PIL's Image.Resampling.BOX after converting to RGB")
                problems.append(f"{path.name}: {hint}")
        return result.finish(problems, summary="a plain and an EXIF-rotated photo give exactly the training input, "
                                               "shape (1, 64, 64, 3) in [0, 1]")


# --- Notebook 05: VGG19 fine-tuned on CIFAR-10 --------------------------------------------

#: The ImageNet means Keras' VGG weights expect, per channel in BGR order (Caffe).
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _caffe_reference(images):
    import numpy as np

    return images[..., ::-1].astype("float32") - np.array(_CAFFE_MEAN_BGR, dtype="float32")


def check_caffe_preprocess(fn) -> CheckResult:
    """Exercise 5.1: Caffe-style preprocessing (RGB -> BGR, minus the ImageNet mean), input untouched."""
    import numpy as np

    images = np.random.default_rng(5).integers(0, 256, size=(4, 6, 5, 3)).astype("float32")
    original = images.copy()
    result = run_check("5.1", fn, images)
    if not result:
        return result
    expected = _caffe_reference(original)
    try:
        received = np.asarray(result.value, dtype="float32")
    except Exception:
        return result.finish([f"expected an array, received {_show(result.value)}"], "")
    problems = []
    if received.shape != expected.shape:
        problems.append(f"output shape: expected {expected.shape}, received {received.shape}")
    elif not np.allclose(received, expected, atol=1e-3):
        rgb_order = original - np.array(_CAFFE_MEAN_BGR[::-1], dtype="float32")
        if np.allclose(received, rgb_order, atol=1e-3):
            problems.append("you subtracted the means in RGB order, as the source did; "
                            "the weights want the channels reversed to BGR first")
        elif np.allclose(received, original[..., ::-1] - np.array(_CAFFE_MEAN_BGR[::-1], dtype="float32"),
                         atol=1e-3):
            problems.append("the channels are in BGR order, but the means are not: channel 0 (blue) "
                            "loses 103.939, channel 2 (red) 123.68")
        else:
            where = tuple(int(i) for i in np.argwhere(~np.isclose(received, expected, atol=1e-3))[0])
            problems.append(f"value at index {where}: expected {expected[where]:.3f}, received {received[where]:.3f}")
    if not np.array_equal(images, original):
        problems.append("your function changed its input array in place; work on a copy "
                        "(Keras' preprocess_input does change a float input)")
    return result.finish(problems, summary="BGR order, ImageNet mean subtracted, input left unchanged")


def _freeze_model():
    """A small VGG19 with BatchNorm and the CIFAR head, built the same on every call."""
    import keras

    from . import vgg

    keras.utils.set_random_seed(0)
    return vgg.vgg("E", input_shape=(32, 32, 3), classes=4, width=0.0625, fc_units=8, batch_norm=True,
                   batch_norm_momentum=0.9, name="exercise_5_2")


def check_freeze_base(fn) -> CheckResult:
    """Exercise 5.2: freeze the convolutional base for fine-tuning, BatchNorm included, head trainable.

    Calls ``fn(model)`` on a small VGG19, then checks every layer's ``trainable`` flag and
    trains one step: the base's kernels and BatchNorm statistics must stay as they
    were, the head must change.
    """
    import keras
    import numpy as np

    model = _freeze_model()
    result = run_check("5.2", fn, model)
    if not result:
        return result
    problems = []
    base = [layer for layer in model.layers if layer.name.startswith("block") and layer.weights]
    head = [layer for layer in model.layers if layer.weights and not layer.name.startswith("block")]
    if model.trainable is False:
        problems.append("model.trainable is False: that freezes the head too, and the head must learn; "
                        "freeze the layers of the base one by one")
    still = [layer.name for layer in base if layer.trainable]
    if still:
        batchnorm = [n for n in still if n.endswith("_bn")]
        problems.append(f"{len(still)} base layers are still trainable, e.g. {still[0]!r}"
                        + (" (BatchNorm layers too: frozen, they run in inference mode and keep their statistics)"
                           if batchnorm else ""))
    frozen_head = [layer.name for layer in head if not layer.trainable]
    if frozen_head and model.trainable is not False:
        problems.append(f"head layers must stay trainable; frozen: {', '.join(frozen_head)}")
    if problems:
        return result.finish(problems, summary="")
    before = {layer.name: [w.numpy().copy() for w in layer.weights] for layer in base + head}
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.normal(size=(8, 32, 32, 3)).astype("float32"), np.eye(4, dtype="float32")[np.arange(8) % 4])
    moved = [layer.name for layer in base
             if any(not np.array_equal(b, w.numpy()) for b, w in zip(before[layer.name], layer.weights))]
    if moved:
        problems.append(f"after one training step these base layers changed: {', '.join(moved[:3])}")
    if not any(any(not np.array_equal(b, w.numpy()) for b, w in zip(before[layer.name], layer.weights))
               for layer in head):
        problems.append("after one training step the head did not change: it must be trainable")
    return result.finish(problems, summary=f"{len(base)} base layers frozen (BatchNorm in inference mode), "
                                           f"{len(head)} head layers trainable; one step moved only the head")


def cifar_head_params(flat_features: int, fc_units: int, classes: int) -> dict:
    """Parameters of the CIFAR head (fc1, fc2, predictions_dense, each with a bias and a BatchNorm).

    Returns:
        A dict with ``total`` (as ``count_params`` counts: BatchNorm's four numbers per
        channel) and ``trainable`` (BatchNorm's gamma and beta only).
    """
    dense = flat_features * fc_units + fc_units + fc_units * fc_units + fc_units + fc_units * classes + classes
    channels = 2 * fc_units + classes
    return {"total": dense + 4 * channels, "trainable": dense + 2 * channels}


#: (flattened features, fc units, classes) of the heads Exercise 5.3 counts.
HEAD_PARAMS_CASES = [(512, 4096, 10), (128, 512, 10), (512, 4096, 100), (2048, 256, 7)]


def check_head_params(fn) -> CheckResult:
    """Exercise 5.3: the parameters of the CIFAR head, BatchNorm included."""
    problems = []
    result = None
    for flat, units, classes in HEAD_PARAMS_CASES:
        result = run_check("5.3", fn, flat, units, classes)
        if not result:
            return result
        counts = cifar_head_params(flat, units, classes)
        problem = expect_equal(f"head_params({flat}, {units}, {classes})", counts["total"], result.value)
        plain = counts["total"] - 4 * (2 * units + classes)
        if problem and result.value == counts["trainable"]:
            problem += " (count BatchNorm's moving mean and variance too: 4 numbers per channel, 2 of them trained)"
        elif problem and result.value == plain:
            problem += " (each Dense layer is followed by a BatchNorm layer: 4 numbers per channel)"
        elif problem and result.value == counts["total"] - 4 * classes:
            problem += " (the output layer has its BatchNorm too, predictions_bn)"
        problems.append(problem)
    vgg19_head = cifar_head_params(512, 4096, 10)["total"]
    return result.finish(problems, summary=f"the head counted exactly: VGG19's CIFAR head has {vgg19_head:,} parameters")


# --- Notebook 02: receptive fields ---------------------------------------------------------

#: The stacks Exercise 2.1 measures: (name, [(kernel, stride), ...] from the input).
STACK_FIELD_CASES = [
    ("two 3x3 convolutions", [(3, 1), (3, 1)]),
    ("three 3x3 convolutions", [(3, 1)] * 3),
    ("conv3, pool2, conv3", [(3, 1), (2, 2), (3, 1)]),
    ("VGG16 to pool5", ([(3, 1)] * 2 + [(2, 2)]) * 2 + ([(3, 1)] * 3 + [(2, 2)]) * 3),
    ("a 7x7/2 stem, a 3x3/2 pool, two 3x3", [(7, 2), (3, 2), (3, 1), (3, 1)]),
    ("a 1x1 convolution on a 5x5/3", [(5, 3), (1, 1), (3, 1)]),
]


def _stack_field(layers) -> int:
    size, jump = 1, 1
    for k, s in layers:
        size, jump = size + (k - 1) * jump, jump * s
    return size


def check_stack_field(fn) -> CheckResult:
    """Exercise 2.1: the receptive field size of a stack of (kernel, stride) layers."""
    problems = []
    result = None
    for name, layers in STACK_FIELD_CASES:
        result = run_check("2.1", fn, [tuple(layer) for layer in layers])
        if not result:
            return result
        expected = _stack_field(layers)
        problem = expect_equal(f"field of {name} {layers if len(layers) < 6 else '(18 layers)'}", expected,
                               result.value)
        if problem and result.value == 1 + sum(k - 1 for k, _ in layers):
            problem += (" (a layer's k - 1 counts in units of the jump before it: "
                        "multiply by the product of the earlier strides)")
        problems.append(problem)
    return result.finish(problems, summary="fields of six stacks, strides included: VGG16's pool5 sees 212 pixels")


#: (target field, kernel size) pairs of Exercise 2.2.
LAYERS_FOR_FIELD_CASES = [(5, 3), (7, 3), (8, 3), (224, 3), (212, 3), (9, 5), (3, 3), (224, 7)]


def check_layers_for_field(fn) -> CheckResult:
    """Exercise 2.2: the fewest stacked k x k stride-1 convolutions whose field reaches a target."""
    problems = []
    result = None
    for target, k in LAYERS_FOR_FIELD_CASES:
        result = run_check("2.2", fn, target, k)
        if not result:
            return result
        expected = -(-(target - 1) // (k - 1))
        problem = expect_equal(f"layers_for_field(target={target}, k={k})", expected, result.value)
        if problem and isinstance(result.value, (int, float)) and result.value == expected - 1:
            problem += f" (that many layers see only {k + (k - 1) * (expected - 2)} pixels: round up)"
        problems.append(problem)
    return result.finish(problems, summary="112 stacked 3x3 convolutions would be needed to see 224 pixels "
                                           "without any stride")


def stack_savings(channels: int, n: int, k: int = 3) -> dict:
    """Parameters of n stacked k x k convolutions (C -> C channels) and of the one layer with their field.

    Returns:
        ``{"stack": ..., "single": ...}``, weights and biases as ``count_params`` counts them.
    """
    big = k + (k - 1) * (n - 1)
    return {"stack": n * (k * k * channels * channels + channels),
            "single": big * big * channels * channels + channels}


#: (channels, layers, kernel) of Exercise 2.3.
STACK_SAVINGS_CASES = [(64, 2, 3), (64, 3, 3), (512, 3, 3), (10, 4, 3), (32, 2, 5)]


def check_stack_savings(fn) -> CheckResult:
    """Exercise 2.3: parameters of a stack of small convolutions against one large one."""
    problems = []
    result = None
    for channels, n, k in STACK_SAVINGS_CASES:
        result = run_check("2.3", fn, channels, n, k)
        if not result:
            return result
        expected = stack_savings(channels, n, k)
        received = result.value
        problem = expect_equal(f"stack_savings({channels}, {n}, k={k})", expected, received)
        if problem and isinstance(received, dict):
            without = {key: value - (n if key == "stack" else 1) * channels for key, value in expected.items()}
            if received == without:
                problem += " (count one bias per filter in every layer)"
            elif set(received) != set(expected):
                problem += " (return a dict with the keys 'stack' and 'single')"
        problems.append(problem)
    seven = stack_savings(512, 3)
    return result.finish(problems, summary=f"three 3x3 layers of 512 channels: {seven['stack']:,} parameters "
                                           f"against {seven['single']:,} for one 7x7")
