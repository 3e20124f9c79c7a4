"""ResNet's bottleneck blocks, with the course's layer names.

K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition",
CVPR 2016, arXiv:1512.03385.

Two blocks make every ResNet-50/101/152 (paper, Sec. 4.1, "Deeper Bottleneck
Architectures", and Fig. 5 right): :func:`identity_block`, whose output has the shape
of its input so the shortcut is the input itself, and :func:`convolutional_block`,
whose shortcut is a strided 1x1 convolution ("projection shortcut", option B of
Sec. 3.3) because the shapes differ. Their layers are named as in the course these notebooks follow:
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

__all__ = ["identity_block", "convolutional_block", "block_params", "RESNET50_STAGES", "stage_sizes",
           "min_input_size", "resnet50"]


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
    # Even sizes are accepted, as Keras and the course accept them (the course's tests
    # use f=2); see identity_block's docstring for what they do to the centring.
    if not (_is_int(f) and f > 0):
        raise ValueError(
            "f must be a positive integer (the size of the middle f x f convolution). "
            f"Received: f={f!r}"
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


def _check_momentum(momentum) -> float:
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be a number in [0, 1) (BatchNorm's moving-average momentum). "
                         f"Received: momentum={momentum!r}")
    return float(momentum)


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


def _main_path(x, f, filters, name, *, strides, kernel_initializer, momentum=0.99):
    """The bottleneck path: 1x1 (stride ``strides``) -> f x f -> 1x1, each with BatchNorm."""
    f1, f2, f3 = filters
    conv, bn = f"res{name}_branch", f"bn{name}_branch"
    x = keras.layers.Conv2D(f1, 1, strides=strides, padding="valid", name=f"{conv}2a",
                            kernel_initializer=_initializer(kernel_initializer))(x)
    x = keras.layers.BatchNormalization(axis=3, momentum=momentum, name=f"{bn}2a")(x)
    x = keras.layers.Activation("relu", name=f"{conv}2a_relu")(x)
    x = keras.layers.Conv2D(f2, f, padding="same", name=f"{conv}2b",
                            kernel_initializer=_initializer(kernel_initializer))(x)
    x = keras.layers.BatchNormalization(axis=3, momentum=momentum, name=f"{bn}2b")(x)
    x = keras.layers.Activation("relu", name=f"{conv}2b_relu")(x)
    x = keras.layers.Conv2D(f3, 1, padding="valid", name=f"{conv}2c",
                            kernel_initializer=_initializer(kernel_initializer))(x)
    return keras.layers.BatchNormalization(axis=3, momentum=momentum, name=f"{bn}2c")(x)


def _merge(main, shortcut, name):
    x = keras.layers.Add(name=f"res{name}_add")([main, shortcut])
    return keras.layers.Activation("relu", name=f"res{name}_relu")(x)


def identity_block(x, f, filters, stage, block, *, kernel_initializer=None, momentum=0.99):
    """The identity block: a bottleneck main path added to the unchanged input, then ReLU.

    ResNet paper, Sec. 3.2 (Eq. 1, y = F(x) + x) and Fig. 5 right. Main path:
    1x1 conv (F1, 'valid') -> BatchNorm -> ReLU -> f x f conv (F2, 'same') -> BatchNorm
    -> ReLU -> 1x1 conv (F3, 'valid') -> BatchNorm; then add ``x`` and apply ReLU. The
    output has the shape of the input, which is why the shortcut needs no weights.

    Args:
        x: The input, a 4-D tensor (batch, height, width, channels): a symbolic
            ``keras.Input`` (to build a model) or a concrete tensor/array (the new layers
            then run at once, in inference mode).
        f: The size of the middle convolution's kernel, a positive integer. An odd f
            (ResNet uses 3) is centred on each pixel. An even f is accepted, as Keras
            and the course accept it: 'same' padding then pads one pixel more at the
            bottom and right than at the top and left ((f - 1) // 2 before, f // 2
            after), so each output pixel's window is centred half a pixel below and to
            the right of it, and the feature map shifts by half a pixel per block.
        filters: ``[F1, F2, F3]``, the filters of the three convolutions. F3 must equal
            the input's channels.
        stage: The stage's number (an int, e.g. 2), used in the layer names.
        block: The block's letter within the stage (e.g. ``"a"``), used in the names.
        kernel_initializer: Initialiser of the three kernels (a fresh copy per layer).
            Defaults to None, meaning ``keras.initializers.GlorotUniform(seed=0)``.
        momentum: The BatchNorm layers' momentum. Defaults to 0.99 (Keras' default).

    Returns:
        The block's output, with the shape of ``x``.

    Raises:
        ValueError: Before any layer is built, if ``filters`` is not three positive
            integers, ``f`` is not a positive integer, ``x`` is not 4-D, or the
            input's channels differ from F3.
    """
    filters = _check_filters(filters)
    f = _check_f(f)
    _check_momentum(momentum)
    channels = _check_input(x, "identity_block")
    if channels != filters[2]:
        raise ValueError(
            "An identity block adds its input to the main path's output, so the input's "
            f"channels must equal F3, the last of filters: here {channels} != {filters[2]}. "
            "Use convolutional_block to change the number of channels. "
            f"Received: x with {channels} channels, filters={list(filters)!r}"
        )
    name = f"{stage}{block}"
    main = _main_path(x, f, filters, name, strides=1, kernel_initializer=kernel_initializer, momentum=momentum)
    return _merge(main, x, name)


def convolutional_block(x, f, filters, stage, block, s=2, *, kernel_initializer=None, momentum=0.99):
    """The convolutional block: a bottleneck main path plus a projection shortcut.

    ResNet paper, Sec. 3.3 (option B: projections where the dimensions change) and
    Fig. 5 right. The main path is that of :func:`identity_block` with stride ``s`` in
    its first 1x1 convolution; the shortcut is a 1x1 convolution (F3, stride ``s``)
    followed by BatchNorm, so that both paths end with the same shape; add; ReLU.

    Args:
        x: The input, a 4-D tensor (batch, height, width, channels), symbolic or concrete.
        f: The size of the middle convolution's kernel, a positive integer; an even f
            shifts the window half a pixel down and right (see :func:`identity_block`).
        filters: ``[F1, F2, F3]``, the filters of the three main-path convolutions; the
            block outputs F3 channels.
        stage: The stage's number, used in the layer names.
        block: The block's letter within the stage, used in the names.
        s: The stride of the first main-path convolution and of the shortcut, an
            integer of at least 1. Defaults to 2 (halves height and width).
        kernel_initializer: Initialiser of the four kernels (a fresh copy per layer).
            Defaults to None, meaning ``keras.initializers.GlorotUniform(seed=0)``.
        momentum: The BatchNorm layers' momentum. Defaults to 0.99 (Keras' default).

    Returns:
        The block's output: height and width divided by ``s`` (rounded up), F3 channels.

    Raises:
        ValueError: Before any layer is built, if ``filters`` is not three positive
            integers, ``f`` is not a positive integer, ``s`` is not an integer of at
            least 1, or ``x`` is not 4-D.
    """
    filters = _check_filters(filters)
    f = _check_f(f)
    s = _check_s(s)
    _check_momentum(momentum)
    _check_input(x, "convolutional_block")
    name = f"{stage}{block}"
    main = _main_path(x, f, filters, name, strides=s, kernel_initializer=kernel_initializer, momentum=momentum)
    shortcut = keras.layers.Conv2D(filters[2], 1, strides=s, padding="valid", name=f"res{name}_branch1",
                                   kernel_initializer=_initializer(kernel_initializer))(x)
    shortcut = keras.layers.BatchNormalization(axis=3, momentum=momentum, name=f"bn{name}_branch1")(shortcut)
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


# ------------------------------------------------------------------ ResNet50

#: The course's ResNet50, stage by stage: (stage, filters [F1, F2, F3], stride of the
#: convolutional block, number of identity blocks after it). Paper, Table 1, "50-layer".
RESNET50_STAGES = (
    (2, (64, 64, 256), 1, 2),
    (3, (128, 128, 512), 2, 3),
    (4, (256, 256, 1024), 2, 5),
    (5, (512, 512, 2048), 2, 2),
)


def _conv_out(size: int, kernel: int, stride: int) -> int:
    """Output length of a 'valid' convolution or pooling window."""
    return (size - kernel) // stride + 1


def stage_sizes(size: int) -> dict[str, int]:
    """The height (or width) of the feature map after each part of :func:`resnet50`.

    Args:
        size: The input's height (or width), in pixels.

    Returns:
        ``{"input": size, "conv1": ..., "pool1": ..., "stage2": ..., "stage3": ...,
        "stage4": ..., "stage5": ..., "avg_pool": ...}``. A value below 1 means the input
        is too small for that part; :func:`min_input_size` gives the smallest that works.
    """
    if not (_is_int(size) and size > 0):
        raise ValueError(f"size must be a positive integer (pixels). Received: size={size!r}")
    sizes = {"input": size}
    size = _conv_out(size + 6, 7, 2)  # ZeroPadding2D(3), then the 7x7 convolution, stride 2
    sizes["conv1"] = size
    size = _conv_out(size, 3, 2)  # 3x3 max pooling, stride 2, 'valid'
    sizes["pool1"] = size
    for stage, _, stride, _ in RESNET50_STAGES:
        # A 1x1 'valid' convolution with stride s keeps pixels 0, s, 2s, ...: ceil(size / s).
        size = -(-size // stride) if size > 0 else size
        sizes[f"stage{stage}"] = size
    sizes["avg_pool"] = _conv_out(size, 2, 2)  # 2x2 average pooling, 'valid'
    return sizes


def min_input_size() -> int:
    """The smallest height (and width) :func:`resnet50` accepts: 37 pixels."""
    return next(n for n in range(1, 1000) if stage_sizes(n)["avg_pool"] >= 1 and stage_sizes(n)["pool1"] >= 1)


def resnet50(input_shape=(64, 64, 3), classes: int = 6, *, kernel_initializer=None, momentum: float = 0.99,
             name: str = "ResNet50"):
    """The course's ResNet50 for small images, built from :func:`convolutional_block` and :func:`identity_block`.

    ZeroPadding2D(3) -> conv 7x7/2, 64 (``conv1``) -> BatchNorm (``bn_conv1``) -> ReLU ->
    max pooling 3x3/2 -> stages 2 to 5 (:data:`RESNET50_STAGES`: a convolutional block,
    then identity blocks; middle kernels 3x3) -> average pooling 2x2 (``avg_pool``) ->
    Flatten -> Dense(classes, softmax) (``fc{classes}``). At 64x64x3 with 6 classes it has
    23,600,006 parameters, 53,120 of them (BatchNorm's moving means and variances)
    not trainable. Unlike ``keras.applications.ResNet50``, it pools 2x2 instead of
    globally, so the size of the Dense layer depends on the input size.

    Args:
        input_shape: ``(height, width, channels)``; height and width at least
            :func:`min_input_size` (37). Defaults to (64, 64, 3).
        classes: The number of classes, a positive integer. Defaults to 6 (SIGNS).
        kernel_initializer: Initialiser of every kernel (a fresh copy per layer).
            Defaults to None, meaning ``keras.initializers.GlorotUniform(seed=0)`` as in
            the course.
        momentum: BatchNorm's momentum for its moving mean and variance. Defaults to
            0.99 (Keras' default, as in the course); a short training run (a few hundred
            steps) is better served by 0.9, whose averages forget their start faster.
        name: The model's name.

    Returns:
        A ``keras.Model`` from images to class probabilities; the last layer's output is
        float32 whatever the global precision policy.

    Raises:
        ValueError: Before any layer is built, for a malformed ``input_shape``, an image
            too small for the network (the message gives the size after each stage), or
            a bad ``classes``.
    """
    shape_ok = (isinstance(input_shape, (tuple, list)) and len(input_shape) == 3
                and all(_is_int(n) and n > 0 for n in input_shape))
    if not shape_ok:
        raise ValueError("input_shape must be three positive integers (height, width, channels). "
                         f"Received: input_shape={input_shape!r}")
    if not (_is_int(classes) and classes > 0):
        raise ValueError(f"classes must be a positive integer. Received: classes={classes!r}")
    _check_momentum(momentum)
    for axis, size in zip(("height", "width"), input_shape[:2]):
        sizes = stage_sizes(size)
        if min(sizes.values()) < 1:
            shown = ", ".join(f"{k} {v}" for k, v in sizes.items())
            raise ValueError(
                f"The input's {axis} is too small for ResNet50: it must be at least {min_input_size()} pixels "
                f"so that the 2x2 average pooling gets a feature map of at least 2x2 (sizes after each part: "
                f"{shown}). Received: input_shape={tuple(input_shape)}"
            )
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = keras.layers.ZeroPadding2D((3, 3), name="conv1_pad")(inputs)
    x = keras.layers.Conv2D(64, 7, strides=2, name="conv1", kernel_initializer=_initializer(kernel_initializer))(x)
    x = keras.layers.BatchNormalization(axis=3, momentum=momentum, name="bn_conv1")(x)
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, filters, stride, identities in RESNET50_STAGES:
        x = convolutional_block(x, 3, list(filters), stage, "a", s=stride, kernel_initializer=kernel_initializer,
                                momentum=momentum)
        for block in "bcdefghijklmnopqrstuvwxyz"[:identities]:
            x = identity_block(x, 3, list(filters), stage, block, kernel_initializer=kernel_initializer,
                               momentum=momentum)
    x = keras.layers.AveragePooling2D(2, name="avg_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name=f"fc{classes}", dtype="float32",
                                 kernel_initializer=_initializer(kernel_initializer))(x)
    return keras.Model(inputs, outputs, name=name)
