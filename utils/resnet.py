"""ResNet's bottleneck blocks, with the course's layer names.

K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition",
CVPR 2016, arXiv:1512.03385.

Two blocks make every ResNet-50/101/152 (paper, Sec. 3.3 and Fig. 5 right, the
"bottleneck" design): :func:`identity_block`, whose output has the shape of its input so
the shortcut is the input itself, and :func:`convolutional_block`, whose shortcut is a
strided 1x1 convolution ("projection shortcut", option B of Sec. 3.3) because the
shapes differ. Their layers are named as in the course these notebooks follow:
``res{stage}{block}_branch2a/2b/2c`` for the main path's convolutions,
``res{stage}{block}_branch1`` for the shortcut's, and ``bn...`` for the BatchNorm after
each. The ReLUs and the addition are named too (``..._relu``, ``res{stage}{block}_add``),
so that a model's summary is the same on every build.

The blocks are made of Keras layers and hold no state of their own, so BatchNorm's
mode is chosen the Keras 3 way: ``model(x, training=True)`` normalises with the batch's
statistics, ``training=False`` (the default outside ``fit``) with the moving averages.
"""

from __future__ import annotations

import keras

__all__ = ["identity_block", "convolutional_block", "block_params"]


# ----------------------------------------------------------------- arguments


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_filters(filters) -> tuple[int, int, int]:
    ok = isinstance(filters, (list, tuple)) and len(filters) == 3 and all(_is_int(n) and n > 0 for n in filters)
    if not ok:
        raise ValueError(
            "filters must be three positive integers [F1, F2, F3]: the filters of the main "
            f"path's 1x1, fxf and 1x1 convolutions. Received: filters={filters!r}"
        )
    return tuple(filters)


def _check_f(f) -> int:
    if not (_is_int(f) and f > 0 and f % 2 == 1):
        raise ValueError(
            "f must be a positive odd integer (the middle convolution is f x f with 'same' "
            f"padding, which is centred only for odd f). Received: f={f!r}"
        )
    return f


def _check_s(s) -> int:
    if not (_is_int(s) and s >= 1):
        raise ValueError(f"s must be an integer of at least 1 (the stride of the block). Received: s={s!r}")
    return s


def _check_input(x, where: str) -> int:
    """Return the number of channels of ``x``, a 4-D (batch, height, width, channels) tensor."""
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 4 or shape[-1] is None:
        raise ValueError(
            f"{where} expects a 4-D tensor (batch, height, width, channels) with a known number "
            f"of channels. Received: x with shape {None if shape is None else tuple(shape)}"
        )
    return int(shape[-1])


def _initializer(kernel_initializer):
    """Return a fresh initialiser, so that no two layers share one object.

    The default is ``GlorotUniform(seed=0)``, as in the course. A seeded initialiser
    draws the same numbers every time it is called, so two layers with kernels of the
    same shape start equal; that is the course's convention, and it is what makes the
    blocks' outputs repeatable.
    """
    if kernel_initializer is None:
        return keras.initializers.GlorotUniform(seed=0)
    if isinstance(kernel_initializer, keras.initializers.Initializer):
        return kernel_initializer.__class__.from_config(kernel_initializer.get_config())
    return keras.initializers.get(kernel_initializer)


# -------------------------------------------------------------------- blocks


def _main_path(x, f, filters, name, *, strides, kernel_initializer):
    """The bottleneck path: 1x1 (stride ``strides``) -> f x f -> 1x1, each with BatchNorm."""
    f1, f2, f3 = filters
    conv, bn = f"res{name}_branch", f"bn{name}_branch"
    x = keras.layers.Conv2D(f1, 1, strides=strides, padding="valid", name=f"{conv}2a",
                            kernel_initializer=_initializer(kernel_initializer))(x)
    x = keras.layers.BatchNormalization(axis=3, name=f"{bn}2a")(x)
    x = keras.layers.Activation("relu", name=f"{conv}2a_relu")(x)
    x = keras.layers.Conv2D(f2, f, padding="same", name=f"{conv}2b",
                            kernel_initializer=_initializer(kernel_initializer))(x)
    x = keras.layers.BatchNormalization(axis=3, name=f"{bn}2b")(x)
    x = keras.layers.Activation("relu", name=f"{conv}2b_relu")(x)
    x = keras.layers.Conv2D(f3, 1, padding="valid", name=f"{conv}2c",
                            kernel_initializer=_initializer(kernel_initializer))(x)
    return keras.layers.BatchNormalization(axis=3, name=f"{bn}2c")(x)


def _merge(main, shortcut, name):
    x = keras.layers.Add(name=f"res{name}_add")([main, shortcut])
    return keras.layers.Activation("relu", name=f"res{name}_relu")(x)


def identity_block(x, f, filters, stage, block, *, kernel_initializer=None):
    """The identity block: a bottleneck main path added to the unchanged input, then ReLU.

    ResNet paper, Sec. 3.2 (Eq. 1, y = F(x) + x) and Fig. 5 right. Main path:
    1x1 conv (F1, 'valid') -> BatchNorm -> ReLU -> f x f conv (F2, 'same') -> BatchNorm
    -> ReLU -> 1x1 conv (F3, 'valid') -> BatchNorm; then add ``x`` and apply ReLU. The
    output has the shape of the input, which is why the shortcut needs no weights.

    Args:
        x: The input, a 4-D tensor (batch, height, width, channels): a symbolic
            ``keras.Input`` (to build a model) or a concrete tensor/array (the new layers
            then run at once, in inference mode).
        f: The size of the middle convolution's kernel, a positive odd integer.
        filters: ``[F1, F2, F3]``, the filters of the three convolutions. F3 must equal
            the input's channels.
        stage: The stage's number (an int, e.g. 2), used in the layer names.
        block: The block's letter within the stage (e.g. ``"a"``), used in the names.
        kernel_initializer: Initialiser of the three kernels (a fresh copy per layer).
            Defaults to None, meaning ``keras.initializers.GlorotUniform(seed=0)``.

    Returns:
        The block's output, with the shape of ``x``.

    Raises:
        ValueError: Before any layer is built, if ``filters`` is not three positive
            integers, ``f`` is not a positive odd integer, ``x`` is not 4-D, or the
            input's channels differ from F3.
    """
    filters = _check_filters(filters)
    f = _check_f(f)
    channels = _check_input(x, "identity_block")
    if channels != filters[2]:
        raise ValueError(
            "An identity block adds its input to the main path's output, so the input's "
            f"channels must equal F3, the last of filters: here {channels} != {filters[2]}. "
            "Use convolutional_block to change the number of channels. "
            f"Received: x with {channels} channels, filters={list(filters)!r}"
        )
    name = f"{stage}{block}"
    main = _main_path(x, f, filters, name, strides=1, kernel_initializer=kernel_initializer)
    return _merge(main, x, name)


def convolutional_block(x, f, filters, stage, block, s=2, *, kernel_initializer=None):
    """The convolutional block: a bottleneck main path plus a projection shortcut.

    ResNet paper, Sec. 3.3 (option B: projections where the dimensions change) and
    Fig. 5 right. The main path is that of :func:`identity_block` with stride ``s`` in
    its first 1x1 convolution; the shortcut is a 1x1 convolution (F3, stride ``s``)
    followed by BatchNorm, so that both paths end with the same shape; add; ReLU.

    Args:
        x: The input, a 4-D tensor (batch, height, width, channels), symbolic or concrete.
        f: The size of the middle convolution's kernel, a positive odd integer.
        filters: ``[F1, F2, F3]``, the filters of the three main-path convolutions; the
            block outputs F3 channels.
        stage: The stage's number, used in the layer names.
        block: The block's letter within the stage, used in the names.
        s: The stride of the first main-path convolution and of the shortcut, an
            integer of at least 1. Defaults to 2 (halves height and width).
        kernel_initializer: Initialiser of the four kernels (a fresh copy per layer).
            Defaults to None, meaning ``keras.initializers.GlorotUniform(seed=0)``.

    Returns:
        The block's output: height and width divided by ``s`` (rounded up), F3 channels.

    Raises:
        ValueError: Before any layer is built, if ``filters`` is not three positive
            integers, ``f`` is not a positive odd integer, ``s`` is not an integer of at
            least 1, or ``x`` is not 4-D.
    """
    filters = _check_filters(filters)
    f = _check_f(f)
    s = _check_s(s)
    _check_input(x, "convolutional_block")
    name = f"{stage}{block}"
    main = _main_path(x, f, filters, name, strides=s, kernel_initializer=kernel_initializer)
    shortcut = keras.layers.Conv2D(filters[2], 1, strides=s, padding="valid", name=f"res{name}_branch1",
                                   kernel_initializer=_initializer(kernel_initializer))(x)
    shortcut = keras.layers.BatchNormalization(axis=3, name=f"bn{name}_branch1")(shortcut)
    return _merge(main, shortcut, name)


def block_params(channels, f, filters, *, projection) -> dict[str, int]:
    """Count a block's parameters from its arguments, without building it.

    Each convolution has k*k*C_in*C_out weights and C_out biases; each BatchNorm has
    4*C numbers, of which gamma and beta (2*C) are trained and the moving mean and
    variance (2*C) are not.

    Args:
        channels: The input's channels.
        f: The middle convolution's kernel size.
        filters: ``[F1, F2, F3]``.
        projection: True for a convolutional block (with the shortcut's 1x1 convolution
            and BatchNorm), False for an identity block.

    Returns:
        ``{"trainable": ..., "non_trainable": ..., "total": ...}``, as Keras counts them.

    Raises:
        ValueError: For bad ``filters`` or ``f``, or channels that are not a positive int.
    """
    f1, f2, f3 = _check_filters(filters)
    f = _check_f(f)
    if not (_is_int(channels) and channels > 0):
        raise ValueError(f"channels must be a positive integer. Received: channels={channels!r}")
    convs = [(1, channels, f1), (f, f1, f2), (1, f2, f3)] + ([(1, channels, f3)] if projection else [])
    weights = sum(k * k * c_in * c_out + c_out for k, c_in, c_out in convs)
    normalised = sum(c_out for _, _, c_out in convs)
    trainable, non_trainable = weights + 2 * normalised, 2 * normalised
    return {"trainable": trainable, "non_trainable": non_trainable, "total": trainable + non_trainable}
