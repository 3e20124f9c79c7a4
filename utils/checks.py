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
        \"\"\"Exercise 2: the number of weights and biases of VGG16's fc1.\"\"\"
        result = run_check("2", fn)  # calls the learner's function, catching what it raises
        return result.finish(  # compares; a call that raised stays the report
            [expect_equal("fc1 parameters", 7 * 7 * 512 * 4096 + 4096, result.value)],
            summary="fc1 has 102,764,544 parameters",
        )

The exercise number is the one of the notebook's heading ("Exercise 2"), so that the
report the learner reads names the exercise they just did.

What a checker shows must be the same on every run (nbval compares it): no
timings, no memory addresses, no values that depend on the machine.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "CheckResult", "run_check", "expect_equal",
    "check_block_output_shapes", "check_block_macs", "vgg16_block_macs", "check_vgg_params",
    "check_preact_block", "check_option_a_block", "check_block_params",
    "check_stage3", "check_feature_map_sizes", "check_prepare_photo", "warmup_cosine", "check_warmup_cosine",
    "check_caffe_preprocess", "check_transfer_model", "check_short_run_schedule",
    "check_stack_field", "check_layers_for_field", "unit_window", "check_unit_window",
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

#: Convolutions per block and channels after each block of VGG16 (configuration D).
_VGG16_CONVS = (2, 2, 3, 3, 3)
_VGG16_CHANNELS = (64, 128, 256, 512, 512)


def _is_int(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _expect_count(name: str, expected: int, received: Any) -> str | None:
    """Like :func:`expect_equal` for a count; anything but an integer is refused, even with the right value."""
    import numbers

    if _is_int(received):
        return expect_equal(name, expected, int(received))
    if isinstance(received, numbers.Real) and not isinstance(received, bool):
        hint = "the right value" if received == expected else f"expected {expected}"
        return (f"{name}: received the {type(received).__name__} {_show(received)} ({hint}), but a count is a "
                "whole number: return an int (divide with //, not /)")
    if received is None:
        return f"{name}: expected an int, received None (does the function end with a return?)"
    return f"{name}: expected an int, received {type(received).__name__} {_show(received)}"


def _block_shapes(size: int, channels=_VGG16_CHANNELS, halve=lambda n: n // 2) -> list[tuple]:
    shapes = []
    for c in channels:
        size = halve(size)
        shapes.append((size, size, c))
    return shapes


def check_block_output_shapes(fn) -> CheckResult:
    """Exercise 1: the output shape of each of VGG16's five blocks, for several input sizes."""
    problems = []
    result = None
    for size in (224, 32, 100):
        result = run_check("1", fn, size)
        if not result.passed:
            return result
        name = f"shapes for a {size}x{size} input"
        expected = _block_shapes(size)
        received = result.value
        if isinstance(received, Iterable) and not isinstance(received, (str, bytes)):
            received = [tuple(s) if isinstance(s, Iterable) else s for s in received]
        numbers_in = [n for s in received if isinstance(s, tuple) for n in s] if isinstance(received, list) else []
        if any(not _is_int(n) for n in numbers_in):
            problems.append(f"{name}: expected whole numbers {_show(expected)}, received {_show(received)} "
                            "(sizes and channels are ints: divide with //, not /)")
            continue
        problem = expect_equal(name, expected, received)
        if problem and received == _block_shapes(size, halve=lambda n: -(-n // 2)):
            problem += " (a 2x2 pool with stride 2 drops the last row and column of an odd size: round down)"
        elif problem and received == _block_shapes(size, channels=(64, 128, 256, 512, 1024)):
            problem += " (the channels stop doubling at 512: block 5 keeps 512)"
        elif problem and received == [(size // 2**b, size // 2**b, c) for b, c in enumerate(_VGG16_CHANNELS)]:
            problem += " (every block ends with its pool: block 1 already halves the size)"
        problems.append(problem)
    return result.finish(problems, summary="224 -> (7, 7, 512) after block 5; odd sizes round down at each pool")


def vgg16_block_macs(block: int, input_size: int) -> int:
    """Multiply-adds of the convolutions of one VGG16 block, for a square input (pools and biases not counted).

    Args:
        block: The block, 1 to 5.
        input_size: Side of the square image fed to the network.

    Returns:
        The sum over the block's 3x3 convolutions of H * W * 9 * C_in * C_out, where
        H = W = input_size // 2**(block - 1) is the size the block receives.
    """
    return _conv_stack_macs(input_size // 2 ** (block - 1), (3, *_VGG16_CHANNELS)[block - 1],
                            _VGG16_CHANNELS[block - 1], _VGG16_CONVS[block - 1])


def _conv_stack_macs(size: int, c_in: int, c_out: int, n: int, k: int = 3) -> int:
    """MACs of n k x k 'same' convolutions on a size x size map, the first from c_in channels, all to c_out."""
    return size * size * k * k * c_out * (c_in + (n - 1) * c_out)


#: (block, input size) pairs Exercise 2 tries: 224 as in the paper, and sizes that round down.
BLOCK_MACS_CASES = [(1, 224), (3, 224), (5, 224), (2, 32), (4, 100), (5, 100)]


def _block_macs_hint(block: int, input_size: int, received: int) -> str:
    """The likely cause of a wrong block MAC count, or an empty string."""
    size = input_size // 2 ** (block - 1)
    c_in, c_out, n = (3, *_VGG16_CHANNELS)[block - 1], _VGG16_CHANNELS[block - 1], _VGG16_CONVS[block - 1]
    expected = vgg16_block_macs(block, input_size)
    if received == 2 * expected:
        return "that is twice the count: one multiply-add counts once (it is 2 FLOPs)"
    if received * 9 == expected:
        return "each output number needs 3 * 3 * C_in multiply-adds: count the kernel's 3x3"
    if received == expected + n * size * size * c_out:
        return "biases add no multiplications: leave them out"
    if received == _conv_stack_macs(size // 2, c_in, c_out, n):
        return ("the convolutions run before the block's pool, at the size the block receives: "
                "input_size // 2**(block - 1)")
    if received == _conv_stack_macs(size, c_out, c_out, n):
        return ("the block's first convolution takes the previous block's channels "
                "(3 for block 1, then 64, 128, 256, 512)")
    if received == _conv_stack_macs(size, c_in, c_out, 1):
        return f"block {block} has {n} convolutions: count every one"
    return ""


def check_block_macs(fn) -> CheckResult:
    """Exercise 2: the multiply-adds of one VGG16 block, for several blocks and input sizes."""
    problems = []
    result = None
    for block, size in BLOCK_MACS_CASES:
        result = run_check("2", fn, block, size)
        if not result.passed:
            return result
        problem = _expect_count(f"block_macs({block}, {size})", vgg16_block_macs(block, size), result.value)
        if problem and _is_int(result.value):
            hint = _block_macs_hint(block, size, int(result.value))
            problem += f" ({hint})" if hint else ""
        problems.append(problem)
    block3 = vgg16_block_macs(3, 224)
    return result.finish(problems,
                         summary=f"block 3 of VGG16 does {block3 / 1e9:.2f} G multiply-adds per 224x224 image")


def check_vgg_params(fn) -> CheckResult:
    """Exercise 3: parameter counts of every configuration, computed from the table."""
    from utils import vgg

    problems = []
    result = None
    a_right = False
    for config, expected in VGG_PARAMS.items():
        result = run_check("3", fn, config)
        if not result.passed:
            return result
        problem = _expect_count(f"vgg_params({config!r})", expected, result.value)
        if config == "A":
            a_right = problem is None
        if problem and _is_int(result.value):
            missing = expected - int(result.value)
            layers = [vgg.parse_layer(spec) for block in vgg.CONFIGS[config] for spec in block]
            conv_biases = sum(filters for kind, _, filters in layers if kind == "conv")
            fc_biases = 4096 + 4096 + 1000
            if missing == conv_biases:
                problem += " (the convolutions' biases are missing: one per filter)"
            elif missing == fc_biases:
                problem += " (the FC layers' biases are missing: one per unit)"
            elif missing == conv_biases + fc_biases:
                problem += " (no biases counted: add one per filter and one per FC unit)"
            elif config == "A-LRN" and a_right:
                problem += " (LRN has no weights and keeps the channels: skip it, and A-LRN counts as A)"
            elif -missing == (14 * 14 - 7 * 7) * 512 * 4096:
                problem += (" (fc1 takes the output of the fifth pool: 224 halved five times is 7, "
                            "so 7 * 7 * 512 inputs)")
        problems.append(problem)
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
            want = sum(type(l) is type(layer) for l in named)
            have = sum(type(l) is type(layer) for l in learner.layers)
            if have < want:  # fewer layers of that kind: one is missing, not misnamed
                return result, [f"{where}: no layer named {layer.name!r} ({kind}): yours has {have} {kind} "
                                f"layers, the reference {want}: {want - have} missing, this one first"]
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


def _check_block(exercise, fn, reference_fn, cases, summary, hint=None) -> CheckResult:
    """Compare the learner's block with ``reference_fn`` on each case; ``hint(problem, case)``
    may return a sentence naming the likely cause of the first problem found."""
    result = None
    for case in cases:
        shape, args, kwargs = case
        result, problems = _block_problems(fn, reference_fn, shape, args, kwargs, exercise)
        if not result and hint:  # the learner's function raised: its message may have a known cause
            cause = hint(result.messages[0], case)
            if cause:
                result.messages = [result.messages[0], cause]
            return result
        if not result or problems:
            cause = hint(problems[0], case) if hint and problems else None
            return result.finish(problems[:1] + ([cause] if cause else []), summary)
    return result.finish([], summary)


def _block_output(fn, shape, args, kwargs):
    """The output of ``fn``'s block in inference mode on the checks' seeded input, or None if it fails."""
    import keras
    import numpy as np

    try:
        inputs = keras.Input(shape=shape)
        model = keras.Model(inputs, fn(inputs, *args, **kwargs))
        x = np.random.default_rng(_BLOCK_INPUT_SEED).standard_normal((3, *shape)).astype("float32")
        return np.asarray(model(x, training=False))
    except Exception:  # a variant the learner's code cannot build is simply not theirs
        return None


def _same_output(fn, variant, case) -> bool:
    """Whether the learner's block ``fn`` computes what ``variant`` (a known mistake) computes."""
    import numpy as np

    mine, theirs = (_block_output(f, *case) for f in (fn, variant))
    return (mine is not None and theirs is not None and mine.shape == theirs.shape
            and bool(np.allclose(mine, theirs, rtol=_BLOCK_TOLERANCE, atol=_BLOCK_TOLERANCE)))


def _preact_block(x, f, filters, stage, block, *, relu_after_add=False, late_shortcut=False):
    """The pre-activation identity block (He et al., "Identity Mappings in Deep Residual
    Networks", arXiv:1603.05027, Fig. 1b): BatchNorm -> ReLU -> conv, three times, plus the
    input, with no ReLU after the addition. ``relu_after_add`` and ``late_shortcut`` (the
    shortcut taken after the first BatchNorm and ReLU) make known mistakes."""
    import keras

    conv, bn = f"res{stage}{block}_branch", f"bn{stage}{block}_branch"
    shortcut = x
    for step, n, k in zip("abc", filters, (1, f, 1)):
        x = keras.layers.BatchNormalization(axis=3, name=f"{bn}2{step}")(x)
        x = keras.layers.Activation("relu")(x)
        if late_shortcut and step == "a":
            shortcut = x
        x = keras.layers.Conv2D(n, k, padding="same" if step == "b" else "valid", name=f"{conv}2{step}",
                                kernel_initializer=keras.initializers.GlorotUniform(seed=0))(x)
    x = keras.layers.Add()([x, shortcut])
    return keras.layers.Activation("relu")(x) if relu_after_add else x


#: (input shape, (f, filters, stage, block), keyword arguments) of the blocks Exercise 1 builds.
PREACT_CASES = [((4, 4, 6), (3, [2, 4, 6], 1, "a"), {}), ((5, 5, 8), (1, [4, 3, 8], 2, "b"), {})]


def _preact_hint(problem: str, case) -> str | None:
    _, (_, _, stage, block), _ = case
    if "expected weight shapes" in problem and f"'bn{stage}{block}_branch2" in problem:
        return (f"in a pre-activation block each BatchNorm comes before its convolution: "
                f"bn{stage}{block}_branch2a normalises the block's input, 2b the output of res{stage}{block}_branch2a")
    if "incompatible shapes" in problem:
        return "the last convolution must give the input's channels back (F3), so that the input can be added"
    return None


def check_preact_block(fn) -> CheckResult:
    """Exercise 1: the pre-activation identity block, compared layer by layer with the reference."""
    def hint(problem, case):
        if "every named layer matches" in problem and _same_output(
                fn, lambda *a, **k: _preact_block(*a, **k, relu_after_add=True), case):
            return "your block ends with a ReLU after the addition: the pre-activation block returns the sum itself"
        if "every named layer matches" in problem and _same_output(
                fn, lambda *a, **k: _preact_block(*a, **k, late_shortcut=True), case):
            return ("your shortcut starts after the first BatchNorm and ReLU: add the block's input itself, "
                    "kept before the first BatchNorm")
        if "every named layer matches" in problem:
            return "the block returns x + F(x): its input plus the last convolution's output, with nothing after"
        return _preact_hint(problem, case)

    return _check_block("1", fn, _preact_block, PREACT_CASES, hint=hint,
                        summary="BatchNorm and ReLU before each convolution, and a clean sum x + F(x): "
                                "same layers, weights and outputs as the reference, in inference and training mode")


def _option_a_block(x, f, filters, stage, block, s=2, *, pad_before=False, pool=False, relu_after_add=True):
    """The convolutional block with the paper's option A shortcut (Sec. 3.3): every s-th pixel
    of the input, its channels followed by zeros up to F3; no weights. The keyword-only
    arguments make known mistakes."""
    import keras

    from utils import resnet

    main = resnet._main_path(x, f, filters, f"{stage}{block}", strides=s, kernel_initializer=None)
    extra = filters[2] - x.shape[-1]
    shortcut = keras.layers.MaxPooling2D(s, padding="same")(x) if pool else x[:, ::s, ::s, :]
    shortcut = keras.ops.pad(shortcut, [[0, 0], [0, 0], [0, 0], [extra, 0] if pad_before else [0, extra]])
    x = keras.layers.Add()([main, shortcut])
    return keras.layers.Activation("relu")(x) if relu_after_add else x


#: The blocks Exercise 2 builds: wider and halved, only wider, and only halved.
OPTION_A_CASES = [((4, 4, 4), (3, [2, 4, 8], 1, "a"), {"s": 2}), ((5, 5, 3), (3, [4, 3, 8], 3, "b"), {"s": 1}),
                  ((6, 6, 8), (1, [4, 4, 8], 2, "c"), {"s": 2})]

_OPTION_A_MISTAKES = [
    ({"pad_before": True}, "the zeros go after the input's channels: pad the last axis with [0, F3 - C_in]"),
    ({"pool": True}, "option A subsamples, it does not pool: keep every s-th pixel, x[:, ::s, ::s, :]"),
    ({"relu_after_add": False}, "the block ends with a ReLU after the addition, as the convolutional block does"),
]


def check_option_a_block(fn) -> CheckResult:
    """Exercise 2: the convolutional block with an option A (zero-padding) shortcut."""
    def hint(problem, case):
        if "every named layer matches" in problem:
            for mistake, cause in _OPTION_A_MISTAKES:
                if _same_output(fn, lambda *a, m=mistake, **k: _option_a_block(*a, **k, **m), case):
                    return cause
            return "check the shortcut: every s-th pixel of the input, then zeros for the new channels"
        if "does not have" in problem and "_branch1" in problem:
            return "option A's shortcut has no weights: subsample and pad with zeros instead of a projection"
        if "incompatible shapes" in problem:
            return ("the shortcut must have the main path's shape: keep every s-th pixel and pad the channels "
                    "with zeros up to F3")
        if "strides" in problem:
            return "the stride s goes on the first 1x1 convolution of the main path, as in the convolutional block"
        return None

    return _check_block("2", fn, _option_a_block, OPTION_A_CASES, hint=hint,
                        summary="a weight-free shortcut (every s-th pixel, zeros for the new channels): "
                                "same layers, weights and outputs as the reference, in inference and training mode")


#: (channels in, f, filters, projection) of the blocks notebook 03's Exercise 3 counts: ResNet-50's.
BLOCK_PARAMS_CASES = [
    (64, 3, (64, 64, 256), True),
    (256, 3, (64, 64, 256), False),
    (256, 3, (128, 128, 512), True),
    (1024, 3, (512, 512, 2048), True),
    (2048, 3, (512, 512, 2048), False),
]


def check_block_params(fn) -> CheckResult:
    """Exercise 3: the parameters of a block (as ``model.count_params()`` counts them)."""
    from utils import resnet

    problems = []
    result = None
    for channels, f, filters, projection in BLOCK_PARAMS_CASES:
        result = run_check("3", fn, channels, f, list(filters), projection)
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
        elif problem and projection and result.value == counts["total"] - 4 * filters[2]:
            problem += " (the shortcut's convolution is counted, but not the BatchNorm after it: 4 numbers per channel)"
        elif problem and projection and result.value == counts["total"] - channels * filters[2] - filters[2]:
            problem += " (the shortcut's BatchNorm is counted, but not its 1x1 convolution: C_in * F3 weights and F3 biases)"
        problems.append(problem)
    return result.finish(problems, summary="ResNet-50's blocks counted exactly, shortcuts and BatchNorm included")


# --- Notebook 04: ResNet50 on hand signs ----------------------------------------------------

#: Notebook 04's Exercise 1 input: what stage 2 of the course's ResNet50 gives at 64x64.
_STAGE3_INPUT = (15, 15, 256)


def _stage3_reference(x):
    from utils import resnet

    x = resnet.convolutional_block(x, 3, [128, 128, 512], 3, "a", s=2)
    for block in "bcd":
        x = resnet.identity_block(x, 3, [128, 128, 512], 3, block)
    return x


def check_stage3(fn) -> CheckResult:
    """Notebook 04, Exercise 1: stage 3 of ResNet50 from the blocks, compared layer by layer with the reference."""
    result, problems = _block_problems(fn, _stage3_reference, _STAGE3_INPUT, (), {}, "1",
                                       where=f"stage 3 on an input of shape {(None, *_STAGE3_INPUT)}")
    return result.finish(problems, summary="a convolutional block (s=2) and three identity blocks, named 3a-3d: "
                                           "same layers, weights and outputs as in utils.resnet.resnet50")


#: The input sizes notebook 04's Exercise 2 is asked about.
FEATURE_MAP_CASES = (64, 224, 100, 37, 50)


def check_feature_map_sizes(fn) -> CheckResult:
    """Notebook 04, Exercise 2: the feature-map size after each part of ResNet50, for several input sizes."""
    from utils import resnet

    problems, result = [], None
    for size in FEATURE_MAP_CASES:
        result = run_check("2", fn, size)
        if not result:
            return result
        expected = {k: v for k, v in resnet.stage_sizes(size).items() if k != "input"}
        received = result.value
        if isinstance(received, dict) and set(received) != set(expected):
            problems.append(f"feature_map_sizes({size}): expected the keys {sorted(expected)}, "
                            f"received {sorted(map(str, received))}")
            break
        problem = expect_equal(f"feature_map_sizes({size})", expected, received)
        if (problem and isinstance(received, dict) and received.get("pool1") != expected["pool1"]
                and received.get("pool1") == expected["conv1"] // 2):  # wrong, and what a halving gives
            problem += " (the 3x3 max pooling is 'valid': (n - 3) // 2 + 1, not n / 2)"
        elif problem and isinstance(received, dict) and any(  # a strided stage rounded down
                isinstance(received.get(f"stage{k - 1}"), int) and received.get(f"stage{k}") != expected[f"stage{k}"]
                and received.get(f"stage{k}") == received[f"stage{k - 1}"] // 2 for k in (3, 4, 5)):
            problem += (" (a 1x1 convolution with stride 2 keeps pixels 0, 2, 4, ...: (n - 1) // 2 + 1, "
                        "which rounds an odd size up, not n // 2)")
        problems.append(problem)
    return result.finish(problems, summary="sizes after conv1, pool1, each stage and the average pooling, "
                                           "for inputs of 64, 224, 100, 37 and 50 pixels")


def _photo_files(folder):
    """Four test photos: a plain JPEG, one stored sideways with an EXIF orientation tag, a
    greyscale JPEG and a PNG with transparency (the last two need ``.convert("RGB")``)."""
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
    grey = folder / "grey.jpg"
    Image.fromarray(pixels[..., 1].astype("uint8")).save(grey, quality=95)  # mode "L": one channel
    clear = folder / "clear.png"
    alpha = np.full((96, 96, 1), 255.0)
    alpha[:, :48] = 0  # the left half fully transparent
    Image.fromarray(np.concatenate([pixels, alpha], axis=-1).astype("uint8")).save(clear)  # mode "RGBA"
    return [plain, sideways, grey, clear]


def check_prepare_photo(fn) -> CheckResult:
    """Notebook 04, Exercise 3: a photo file to the model's input, as ``utils.signs.prepare_photo`` makes it."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from utils import signs

    with tempfile.TemporaryDirectory() as folder:
        problems, result = [], None
        for path in _photo_files(Path(folder)):
            result = run_check("3", fn, str(path))
            if not result:
                return result
            expected = signs.prepare_photo(path)
            try:
                received = np.asarray(result.value)
            except Exception:
                return result.finish([f"expected an array, received {_show(result.value)}"], "")
            if received.shape != expected.shape or received.dtype != expected.dtype:
                problem = (f"{path.name}: expected a {expected.dtype} array of shape {expected.shape}, "
                           f"received {received.dtype} {received.shape}")
                if path.name in ("grey.jpg", "clear.png") and received.shape[:3] == expected.shape[:3] and (
                        received.shape[3:] in ((), (1,), (4,))):
                    problem += (" (convert the image to RGB with .convert(\"RGB\"): a greyscale photo has one "
                                "channel, a PNG with transparency four)")
                problems.append(problem)
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
        return result.finish(problems, summary="a plain, an EXIF-rotated, a greyscale and a transparent photo give "
                                               "exactly the training input, shape (1, 64, 64, 3) in [0, 1]")


def _schedule_rates(schedule, call: str, steps, problems: list) -> list | None:
    """The learning rates a learner's ``schedule`` gives at ``steps``; None, with the reason
    added to ``problems``, if it is not callable or calling it raises."""
    if not callable(schedule):
        problems.append(f"{call}: expected a schedule, a function of the step such as a "
                        f"keras.optimizers.schedules.CosineDecay, received {_show(schedule)}")
        return None
    try:
        return [float(schedule(step)) for step in steps]
    except Exception as error:
        problems.append(f"{call}: calling the schedule with a step number raised {type(error).__name__}: "
                        f"{_ADDRESS.sub('', str(error)).strip()}")
        return None


def warmup_cosine(step: float, peak: float, total_steps: int, warmup_steps: int) -> float:
    """The learning rate at ``step`` of a linear warm-up followed by a cosine decay (plain Python).

    From 0 at step 0 it climbs in a straight line to ``peak`` at ``warmup_steps``, then
    falls along half a cosine to 0 at ``total_steps``, and stays at 0 after it: what
    ``keras.optimizers.schedules.CosineDecay(0.0, total_steps - warmup_steps,
    warmup_target=peak, warmup_steps=warmup_steps)`` computes.
    """
    import math

    if step < warmup_steps:
        return peak * step / warmup_steps
    done = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return peak * 0.5 * (1 + math.cos(math.pi * done))


#: (peak, total steps, warm-up steps) of notebook 04's Exercise 4.
WARMUP_CASES = ((1e-3, 235, 20), (0.1, 1000, 100), (2e-3, 50, 5))


def check_warmup_cosine(fn) -> CheckResult:
    """Notebook 04, Exercise 4: a learning-rate schedule with a linear warm-up, then a cosine decay to 0."""
    import math

    problems, result = [], None
    for peak, total, warmup in WARMUP_CASES:
        result = run_check("4", fn, peak, total, warmup)
        if not result:
            return result
        schedule, call = result.value, f"warmup_cosine({peak}, {total}, {warmup})"
        steps = (0, warmup // 2, warmup, warmup + (total - warmup) // 2, total - 1, total)
        received = _schedule_rates(schedule, call, steps, problems)
        if received is None:
            break
        expected = [warmup_cosine(step, peak, total, warmup) for step in steps]
        if all(math.isclose(a, b, rel_tol=1e-5, abs_tol=peak * 1e-6) for a, b in zip(expected, received)):
            continue
        shown = ", ".join(f"step {s}: {e:.4g} (yours {r:.4g})" for s, e, r in zip(steps, expected, received))
        problem = f"{call}: learning rates {shown}"
        if math.isclose(received[0], peak, rel_tol=1e-3):
            problem += (" (the rate should start at 0 and climb to the peak during the warm-up: "
                        "initial_learning_rate=0.0 with warmup_target=peak and warmup_steps)")
        elif math.isclose(received[2], peak, rel_tol=1e-3) and received[-1] > peak * 1e-3:
            problem += (" (the rate should reach 0 at total_steps: CosineDecay's decay_steps counts the steps "
                        "after the warm-up, total_steps - warmup_steps)")
        problems.append(problem)
    return result.finish(problems, summary="a linear warm-up from 0 to the peak, then a cosine down to 0 at the "
                                           "last step, for three peaks and lengths")


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
    dtype = getattr(result.value, "dtype", None)
    if dtype is None:
        problems.append(f"expected a NumPy array, received {type(result.value).__name__}")
    elif dtype != np.float32:
        problems.append(f"expected a float32 array, received {dtype} (NumPy promotes float32 minus a float64 "
                        "array of means to float64: make the means float32, or cast the result)")
    if received.shape != expected.shape:
        problems.append(f"output shape: expected {expected.shape}, received {received.shape}")
    elif not np.allclose(received, expected, atol=1e-3):
        rgb_order = original - np.array(_CAFFE_MEAN_BGR[::-1], dtype="float32")
        if np.allclose(received, rgb_order, atol=1e-3):
            problems.append("you subtracted the means in RGB order, as the Zhihu tutorial did; "
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


class _Probe:
    """Builds a small VGG19 base (``keras.applications`` interface) that records how it was called.

    Its first layer, an identity, keeps the last concrete input it saw, so that a checker
    can tell whether the learner's model feeds the base preprocessed pixels.
    """

    def __init__(self):
        import keras

        from . import vgg

        import numpy as np

        probe = self

        class Record(keras.layers.Layer):
            def call(self, x, training=None):
                import tensorflow as tf

                if tf.executing_eagerly() and not isinstance(x, keras.KerasTensor):
                    probe.seen = (np.asarray(x),)
                return x

        keras.utils.set_random_seed(0)
        inputs = keras.Input((32, 32, 3))
        x = Record(name="record")(inputs)
        for block, layers in enumerate(vgg.CONFIGS["E"], start=1):
            x = vgg.vgg_block(x, layers, block, width=0.0625, batch_norm=True, batch_norm_momentum=0.9)
        self.base = keras.Model(inputs, x, name="vgg19")  # flat, as keras.applications builds it
        self.seen = None


def check_transfer_model(fn, unfreeze) -> CheckResult:
    """Exercise 5.2, checked in float32 whatever the global precision policy (full mode sets mixed_float16).

    See :func:`_check_transfer_model`; the policy is restored afterwards.
    """
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        return _check_transfer_model(fn, unfreeze)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _check_transfer_model(fn, unfreeze) -> CheckResult:
    """Exercise 5.2: the Keras guide's fine-tuning model on a pretrained base, then its unfreezing.

    Calls ``fn(base, 3)`` on a small VGG19 base and checks that the base is frozen, that
    the model takes raw pixels and preprocesses them itself (Caffe input), that it calls
    the base with ``training=False``, and that it ends in 3 probabilities per image. Then
    calls ``unfreeze(base)`` and trains one step: the convolutions must move, the
    BatchNorm statistics must not.
    """
    import keras
    import numpy as np

    probe = _Probe()
    base = probe.base
    result = run_check("5.2", fn, base, 3)
    if not result:
        return result
    model = result.value
    if not isinstance(model, keras.Model):
        return result.finish([f"transfer_model: expected a keras.Model, received {_show(model)}"], "")
    problems = []
    if base.trainable:
        problems.append("transfer_model: the base is still trainable: set base.trainable = False before the first "
                        "training, so that the new head's large early gradients cannot wreck the pretrained features")
    if not any(layer is base for layer in model.layers):
        problems.append("transfer_model: the model does not use the base it was given: call base(x, training=False)")
        return result.finish(problems, "")
    raw = np.random.default_rng(5).integers(0, 256, size=(4, 32, 32, 3)).astype("float32")
    calls = [node.arguments.kwargs.get("training") for node in getattr(base, "_inbound_nodes", [])]
    try:
        probe.seen = None
        probabilities = np.asarray(model(raw, training=False))  # as predict runs it: no random flips
    except Exception as error:
        return result.finish([f"transfer_model: calling your model on 4 images of shape (4, 32, 32, 3) raised "
                              f"{type(error).__name__}: {_ADDRESS.sub('', str(error)).strip()}"], "")
    if probe.seen is None:
        return result.finish(["transfer_model: the base never ran on the model's input: call base(x, training=False)"],
                             "")
    fed = probe.seen[0]
    caffe = _caffe_reference(raw)
    if fed.shape != caffe.shape:
        problems.append(f"transfer_model: the base received images of shape {fed.shape}; expected {caffe.shape}")
    elif np.allclose(fed, raw, atol=1e-3):
        problems.append("transfer_model: the base received raw pixels: put keras.applications.vgg19.preprocess_input "
                        "inside the model, before the base, so that the model takes raw images")
    elif np.allclose(fed, raw[..., ::-1], atol=1e-3):
        problems.append("transfer_model: the channels are reversed but the ImageNet means are not subtracted: "
                        "use keras.applications.vgg19.preprocess_input")
    elif np.allclose(fed, raw - np.array(_CAFFE_MEAN_BGR[::-1], dtype="float32"), atol=1e-2):
        problems.append("transfer_model: the means are subtracted in RGB order: the weights want BGR "
                        "(keras.applications.vgg19.preprocess_input)")
    elif not np.allclose(fed, caffe, atol=1e-2):
        problems.append("transfer_model: the base did not receive Caffe input (BGR order minus the ImageNet means): "
                        "use keras.applications.vgg19.preprocess_input on the raw pixels")
    if not calls or any(training is not False for training in calls):
        problems.append("transfer_model: call the base with base(x, training=False): then predict and evaluate "
                        "use its BatchNorm statistics, as the base was trained to be used")
    if probabilities.shape != (4, 3):
        problems.append(f"transfer_model: output shape for 4 images and 3 classes: expected (4, 3), "
                        f"received {probabilities.shape}")
    elif not np.allclose(probabilities.sum(axis=1), 1, atol=1e-3) or probabilities.min() < 0:
        problems.append("transfer_model: each row of the output should be probabilities that sum to 1: end with "
                        "Dense(classes, activation=\"softmax\")")
    if problems:
        return result.finish(problems, "")
    unfrozen = run_check("5.2", unfreeze, base)
    if not unfrozen:
        return unfrozen
    batchnorm = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    still_frozen = [layer.name for layer in convs if not layer.trainable]
    if not base.trainable or still_frozen:
        problems.append("unfreeze: the convolutions must become trainable: set base.trainable = True first"
                        + (f" (still frozen: {still_frozen[0]!r} ...)" if still_frozen else ""))
    trainable_bn = [layer.name for layer in batchnorm if layer.trainable]
    if trainable_bn:
        problems.append(f"unfreeze: {len(trainable_bn)} BatchNorm layers are trainable again, e.g. {trainable_bn[0]!r}: "
                        "fit calls the model with training=True, which in Keras 3 overrides the base's "
                        "training=False, so they would update their statistics; set their trainable = False")
    if problems:
        return result.finish(problems, "")
    before = {layer.name: [w.numpy().copy() for w in layer.weights] for layer in batchnorm + convs}
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy")
    model.train_on_batch(raw, np.eye(3, dtype="float32")[np.arange(4) % 3])
    moved = {layer.name for layer in batchnorm + convs
             if any(not np.array_equal(b, w.numpy()) for b, w in zip(before[layer.name], layer.weights))}
    if moved & {layer.name for layer in batchnorm}:
        problems.append("unfreeze: after one training step BatchNorm layers changed: "
                        + ", ".join(sorted(moved & {layer.name for layer in batchnorm})[:3]))
    if not moved & {layer.name for layer in convs}:
        problems.append("unfreeze: after one training step no convolution changed: they must be trainable")
    return result.finish(problems, summary="frozen base, raw pixels in, Caffe preprocessing inside the model, "
                                           "base(x, training=False), 3 probabilities out; unfrozen, one step moved "
                                           "the convolutions and left BatchNorm's statistics alone")


#: (peak, epochs, steps per epoch, warm-up share) of the schedules Exercise 5.3 builds.
SCHEDULE_CASES = ((0.1, 5, 352, 0.15), (0.05, 30, 391, 0.15), (1e-3, 4, 10, 0.25))


def check_short_run_schedule(fn) -> CheckResult:
    """Exercise 5.3: the short run's learning rate, a linear warm-up then a cosine decay to 0."""
    import math

    problems, result = [], None
    for peak, epochs, per_epoch, share in SCHEDULE_CASES:
        result = run_check("5.3", fn, peak, epochs, per_epoch, share)
        if not result:
            return result
        schedule, call = result.value, f"short_run_schedule({peak}, {epochs}, {per_epoch}, {share})"
        total = epochs * per_epoch
        warmup = round(share * total)
        steps = (0, warmup // 2, warmup, warmup + (total - warmup) // 2, total)
        received = _schedule_rates(schedule, call, steps, problems)
        if received is None:
            break
        expected = [warmup_cosine(step, peak, total, warmup) for step in steps]
        if all(math.isclose(a, b, rel_tol=1e-4, abs_tol=peak * 1e-5) for a, b in zip(expected, received)):
            continue
        shown = ", ".join(f"step {s}: {e:.4g} (yours {r:.4g})" for s, e, r in zip(steps, expected, received))
        problem = f"{call}: learning rates {shown}"
        def like(rates):
            return all(math.isclose(a, b, rel_tol=1e-3, abs_tol=peak * 1e-5) for a, b in zip(rates, received))

        def cosine(step, decay_steps, warmup_steps):  # what CosineDecay(0.0, decay_steps, ...) computes
            if step < warmup_steps:
                return peak * step / warmup_steps
            return peak * 0.5 * (1 + math.cos(math.pi * min(step - warmup_steps, decay_steps) / decay_steps))

        if math.isclose(received[0], peak, rel_tol=1e-3):
            problem += " (start at 0 and climb to the peak: initial_learning_rate=0.0, warmup_target=peak)"
        elif like([cosine(t, total - round(share * epochs), round(share * epochs)) for t in steps]):
            problem += " (warmup_steps counts steps, not epochs: the share times epochs times steps per epoch)"
        elif like([cosine(t, total, warmup) for t in steps]):
            problem += (" (the rate should reach 0 at the last step: decay_steps counts the steps after the "
                        "warm-up, total - warmup_steps)")
        problems.append(problem)
    return result.finish(problems, summary="a linear warm-up from 0 to the peak over the first share of the steps, "
                                           "then a cosine down to 0 at the last step, for three runs")


# --- Notebook 02: receptive fields ---------------------------------------------------------


def _whole_number(name: str, expected: int, received: Any, what: str) -> str | None:
    """Compare a count; a float is refused even with the right value, and the message says why."""
    import numbers

    if isinstance(received, numbers.Integral) and not isinstance(received, bool):
        return expect_equal(name, expected, int(received))
    if isinstance(received, numbers.Real) and not isinstance(received, bool):
        verdict = "the right value" if received == expected else f"expected {expected}"
        return (f"{name}: received the {type(received).__name__} {_show(received)} ({verdict}), but {what} is a "
                "whole number: return an int (// divides without making a float; int(math.ceil(x)) rounds up)")
    if received is None:
        return f"{name}: expected an int, received None (does the function end with a return?)"
    return f"{name}: expected an int, received {type(received).__name__} {_show(received)}"


def _first_hint(expected: Any, received: Any, hints: Iterable[tuple[Any, str]]) -> str:
    """The hint of the first likely mistake whose answer is what was received (and is wrong), else ''."""
    for wrong, hint in hints:
        if wrong != expected and wrong == received:
            return f" ({hint})"
    return ""


def _walk(layers, *, size_jump: str = "before", pad_jump: str = "before", pad_sign: int = -1) -> tuple[int, int, int]:
    """(field, jump, start) of a single path of (k, s) or (k, s, p) layers, by the update of the notebook's Sec. 4.

    The keyword arguments switch in the mistakes a learner is likely to make: the jump a
    layer's k - 1 or p is counted in (``"before"`` the layer, the right one; ``"after"`` it;
    ``"one"`` pixel; ``"none"``: padding ignored) and the direction padding moves the start.
    """
    size, jump, start = 1, 1, 0
    for layer in layers:
        k, s, p = (*layer, 0)[:3]
        units = {"before": jump, "after": jump * s, "one": 1, "none": 0}
        size += (k - 1) * units[size_jump]
        start += pad_sign * p * units[pad_jump]
        jump *= s
    return size, jump, start


#: The stacks Exercise 1 measures: (name, [(kernel, stride), ...] from the input).
STACK_FIELD_CASES = [
    ("two 3x3 convolutions", [(3, 1), (3, 1)]),
    ("three 3x3 convolutions", [(3, 1)] * 3),
    ("conv3, pool2, conv3", [(3, 1), (2, 2), (3, 1)]),
    ("VGG16 to pool5", ([(3, 1)] * 2 + [(2, 2)]) * 2 + ([(3, 1)] * 3 + [(2, 2)]) * 3),
    ("a 7x7/2 stem, a 3x3/2 pool, two 3x3", [(7, 2), (3, 2), (3, 1), (3, 1)]),
    ("a 1x1 convolution on a 5x5/3", [(5, 3), (1, 1), (3, 1)]),
]


def check_stack_field(fn) -> CheckResult:
    """Notebook 02, Exercise 1: the receptive field size of a stack of (kernel, stride) layers."""
    problems = []
    result = None
    for name, layers in STACK_FIELD_CASES:
        result = run_check("1", fn, [tuple(layer) for layer in layers])
        if not result:
            return result
        expected = _walk(layers)[0]
        label = f"field of {name} {layers if len(layers) < 6 else '(18 layers)'}"
        problem = _whole_number(label, expected, result.value, "a field size")
        if problem:
            problem += _first_hint(expected, result.value, [
                (1 + sum(k - 1 for k, _ in layers), "a layer's k - 1 counts in units of the jump before it: "
                                                    "multiply by the product of the earlier strides"),
                (_walk(layers, size_jump="after")[0], "a layer's k - 1 counts in units of the jump *before* it: "
                                                      "add to the size first, then multiply the jump by the stride"),
                (expected - 1, "start from r = 1: before any layer, a unit is one pixel"),
                (_walk([(k + 1, s) for k, s in layers])[0], "each layer adds k - 1 jumps to the size, not k"),
            ])
        problems.append(problem)
    return result.finish(problems, summary="fields of six stacks, strides included: VGG16's pool5 sees 212 pixels")


#: (target field, kernel size) pairs of Exercise 2.
LAYERS_FOR_FIELD_CASES = [(5, 3), (7, 3), (8, 3), (224, 3), (212, 3), (9, 5), (6, 5), (3, 3), (224, 7)]


def check_layers_for_field(fn) -> CheckResult:
    """Notebook 02, Exercise 2: the fewest stacked k x k stride-1 convolutions whose field reaches a target."""
    problems = []
    result = None
    for target, k in LAYERS_FOR_FIELD_CASES:
        result = run_check("2", fn, target, k)
        if not result:
            return result
        expected = -(-(target - 1) // (k - 1))
        received = result.value
        problem = _whole_number(f"layers_for_field(target={target}, k={k})", expected, received, "a number of layers")
        if problem:
            problem += _first_hint(expected, received, [
                (target // (k - 1), f"n layers see 1 + n(k - 1) pixels: take the 1 off the target first, "
                                    f"(target - 1) / (k - 1), then round up"),
                (-(-target // (k - 1)), f"n layers see 1 + n(k - 1) pixels: take the 1 off the target first, "
                                        f"(target - 1) / (k - 1), then round up"),
                (expected - 1, f"that many layers see only {k + (k - 1) * (expected - 2)} pixels: round up"),
            ])
        problems.append(problem)
    return result.finish(problems, summary="112 stacked 3x3 convolutions would be needed to see 224 pixels "
                                           "without any stride")


_VGG16_POOL5 = ([(3, 1, 1)] * 2 + [(2, 2, 0)]) * 2 + ([(3, 1, 1)] * 3 + [(2, 2, 0)]) * 3

#: The (name, [(kernel, stride, left padding), ...] from the input, unit index) of Exercise 3.
UNIT_WINDOW_CASES = [
    ("three 3x3 'valid' convolutions", [(3, 1, 0)] * 3, 1),
    ("two 3x3 'same' convolutions", [(3, 1, 1)] * 2, 0),
    ("conv3 'same', pool2, conv3 'same'", [(3, 1, 1), (2, 2, 0), (3, 1, 1)], 2),
    ("a 7x7/2 stem padded 3, a 3x3/2 pool padded 1", [(7, 2, 3), (3, 2, 1)], 5),
    ("VGG16's pool5", _VGG16_POOL5, 0),
    ("VGG16's pool5", _VGG16_POOL5, 3),
    ("VGG16's pool5", _VGG16_POOL5, 6),
]


def unit_window(layers, i: int) -> tuple[int, int]:
    """The first and last input pixel seen by unit ``i`` of a single path of (k, s, p) layers, along one axis.

    The reference of Exercise 3 (Distill, "Computing Receptive Fields"): unit i sees the
    pixels u + i*j to u + i*j + r - 1.
    """
    size, jump, start = _walk(layers)
    return start + i * jump, start + i * jump + size - 1


def _pair_problem(name: str, received: Any) -> str | None:
    """None if ``received`` is a pair of ints, else what is wrong with it."""
    import numbers

    if received is None:
        return f"{name}: expected a pair (first, last), received None (does the function end with a return?)"
    if hasattr(received, "shape") and hasattr(received, "tolist") and getattr(received, "ndim", 0) == 1:
        received = received.tolist()  # a NumPy pair of ints is fine
    if not isinstance(received, (tuple, list)) or len(received) != 2:
        return f"{name}: expected a pair (first, last) of input pixels, received {_show(received)}"
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in received):
        kinds = ", ".join(type(v).__name__ for v in received)
        return (f"{name}: expected two ints, received {_show(received)} ({kinds}): pixels are whole numbers; "
                "keep to integer arithmetic (// and *) or convert with int()")
    return None


def check_unit_window(fn) -> CheckResult:
    """Notebook 02, Exercise 3: which input pixels a unit of a strided, padded stack sees."""
    problems = []
    result = None
    for name, layers, i in UNIT_WINDOW_CASES:
        result = run_check("3", fn, [tuple(layer) for layer in layers], i)
        if not result:
            return result
        label = f"unit {i} of {name}"
        problem = _pair_problem(label, result.value)
        if problem:
            problems.append(problem)
            continue
        value = result.value.tolist() if hasattr(result.value, "tolist") else result.value
        received = tuple(int(v) for v in value)
        expected = unit_window(layers, i)
        problem = expect_equal(label, expected, received)
        if problem:
            size, jump, start = _walk(layers)
            first = start + i * jump

            def window(u=start, r=size, j=jump):  # the window a slip in the walk gives
                return u + i * j, u + i * j + r - 1

            padding_units = "a layer's padding, like its k - 1, counts in units of the jump *before* it"
            size_units = "the size is wrong: a layer's k - 1 counts in units of the jump before it"
            problem += _first_hint(expected, received, [
                (window(u=_walk(layers, pad_jump="none")[2]),
                 "padding moves the window: each layer's p shifts the start left by p times the jump before it"),
                (window(u=_walk(layers, pad_jump="after")[2]), padding_units),
                (window(u=_walk(layers, pad_jump="one")[2]), padding_units),
                (window(u=_walk(layers, pad_sign=1)[2]),
                 "padding moves the start to the left, u <- u - p*j: the first pixel is negative when the window "
                 "begins in the padding"),
                ((first, first + size), "a window of r pixels ends r - 1 pixels after its first one"),
                (window(r=_walk(layers, size_jump="after")[0]), size_units),
                (window(r=_walk(layers, size_jump="one")[0]), size_units),
                ((first, size), "return the last pixel, first + r - 1, not the field size r"),
                (window(j=0), "unit i's window lies i jumps to the right of unit 0's: add i*j"),
                (window(j=1), "neighbouring units' windows are j input pixels apart, not 1: add i*j"),
            ])
        problems.append(problem)
    first, last = unit_window(_VGG16_POOL5, 3)
    return result.finish(problems, summary=f"the centre unit of VGG16's pool5 sees input pixels {first} to {last} "
                                           "on each axis; a corner unit's window begins 90 pixels into the padding")
