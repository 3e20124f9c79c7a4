"""VGG networks built from one table of the paper's configurations.

K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556.

``CONFIGS`` is Table 1 of the paper written as data: five blocks per configuration,
each a list of layers in the paper's own notation (``conv3-64`` is a 3x3 convolution
with 64 filters, ``conv1-256`` a 1x1 convolution, ``LRN`` local response
normalisation); every block ends with a 2x2 max-pool of stride 2. One builder,
:func:`vgg`, turns any row of the table into a Keras model, with the layer names of
``keras.applications.VGG16``/``VGG19`` (``block1_conv1`` ... ``block5_pool``,
``flatten``, ``fc1``, ``fc2``, ``predictions``), so weight files made for the
reference models load into ours by name.
"""

from __future__ import annotations

import re

import keras
import tensorflow as tf

#: Table 1 of the paper: the layers of each block, per configuration.
CONFIGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "A": (
        ("conv3-64",),
        ("conv3-128",),
        ("conv3-256", "conv3-256"),
        ("conv3-512", "conv3-512"),
        ("conv3-512", "conv3-512"),
    ),
    "A-LRN": (
        ("conv3-64", "LRN"),
        ("conv3-128",),
        ("conv3-256", "conv3-256"),
        ("conv3-512", "conv3-512"),
        ("conv3-512", "conv3-512"),
    ),
    "B": (
        ("conv3-64", "conv3-64"),
        ("conv3-128", "conv3-128"),
        ("conv3-256", "conv3-256"),
        ("conv3-512", "conv3-512"),
        ("conv3-512", "conv3-512"),
    ),
    "C": (
        ("conv3-64", "conv3-64"),
        ("conv3-128", "conv3-128"),
        ("conv3-256", "conv3-256", "conv1-256"),
        ("conv3-512", "conv3-512", "conv1-512"),
        ("conv3-512", "conv3-512", "conv1-512"),
    ),
    "D": (
        ("conv3-64", "conv3-64"),
        ("conv3-128", "conv3-128"),
        ("conv3-256", "conv3-256", "conv3-256"),
        ("conv3-512", "conv3-512", "conv3-512"),
        ("conv3-512", "conv3-512", "conv3-512"),
    ),
    "E": (
        ("conv3-64", "conv3-64"),
        ("conv3-128", "conv3-128"),
        ("conv3-256", "conv3-256", "conv3-256", "conv3-256"),
        ("conv3-512", "conv3-512", "conv3-512", "conv3-512"),
        ("conv3-512", "conv3-512", "conv3-512", "conv3-512"),
    ),
}

#: Table 2 of the paper: number of parameters, in millions.
PAPER_PARAMS_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}

#: Common names of the configurations (VGG16 is D; C also has 16 weight layers).
ALIASES = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}

_CONV = re.compile(r"conv(\d+)-(\d+)$")


def parse_layer(spec: str) -> tuple[str, int, int]:
    """Parse one entry of ``CONFIGS``.

    Args:
        spec: ``"conv<k>-<filters>"`` or ``"LRN"``.

    Returns:
        ``("conv", kernel_size, filters)`` or ``("lrn", 0, 0)``.

    Raises:
        ValueError: If ``spec`` is neither.
    """
    if spec == "LRN":
        return "lrn", 0, 0
    match = _CONV.match(spec)
    if not match:
        raise ValueError(f"A layer spec must look like 'conv3-64' or be 'LRN'. Received: {spec!r}")
    return "conv", int(match.group(1)), int(match.group(2))


def weight_layers(config: str) -> int:
    """Count the weight layers of a configuration (convolutions plus the three FC layers).

    Args:
        config: A key of ``CONFIGS`` (or an alias such as ``"vgg16"``).

    Returns:
        11 for A, 13 for B, 16 for C and D, 19 for E (the paper's "weight layers").
    """
    blocks = CONFIGS[resolve_config(config)]
    return sum(parse_layer(s)[0] == "conv" for block in blocks for s in block) + 3


def resolve_config(config: str) -> str:
    """Return the ``CONFIGS`` key for a configuration name or alias.

    Raises:
        ValueError: If the name is unknown.
    """
    if isinstance(config, str):
        key = ALIASES.get(config.lower(), config.upper() if config.upper() in CONFIGS else config)
        if key in CONFIGS:
            return key
    raise ValueError(
        f"config must be one of {sorted(CONFIGS)} or an alias in {sorted(ALIASES)}. "
        f"Received: config={config!r}"
    )


@keras.saving.register_keras_serializable(package="convnet_classics")
class LocalResponseNormalization(keras.layers.Layer):
    """Local Response Normalisation across channels, as in AlexNet (used by VGG A-LRN).

    VGG paper, Sec. 2.1 and 4.1: configuration A-LRN adds it after the first layer and
    shows that it does not help. Defaults are AlexNet's (n=5, k=2, alpha=1e-4, beta=0.75).
    It has no weights.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs, depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "depth_radius": self.depth_radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }


def _check_args(config, include_top, weights, input_shape, pooling, classes, width, fc_units, dropout):
    """Validate the builder's arguments before any layer is built (STYLE.md)."""
    key = resolve_config(config)
    if not isinstance(include_top, bool):
        raise ValueError(f"include_top must be True or False. Received: include_top={include_top!r}")
    if weights is not None and not isinstance(weights, str):
        raise ValueError(
            "weights must be None (random initialisation) or the path to a weights file. "
            f"Received: weights={weights!r}"
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"pooling must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive integer. Received: classes={classes!r}")
    if not (isinstance(width, (int, float)) and width > 0):
        raise ValueError(f"width must be a positive number. Received: width={width!r}")
    if isinstance(fc_units, bool) or not isinstance(fc_units, int) or fc_units < 1:
        raise ValueError(f"fc_units must be a positive integer. Received: fc_units={fc_units!r}")
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ValueError(f"dropout must be a number in [0, 1). Received: dropout={dropout!r}")
    if input_shape is None:
        input_shape = (224, 224, 3) if include_top else (None, None, 3)
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    ok = shape is not None and len(shape) == 3 and all(d is None or (isinstance(d, int) and d > 0) for d in shape)
    if not ok or shape[2] is None:
        raise ValueError(
            "input_shape must be (height, width, channels) with positive integers "
            f"(height and width may be None without the top). Received: input_shape={input_shape!r}"
        )
    if include_top and (shape[0] is None or shape[1] is None):
        raise ValueError(
            "With include_top=True the height and width must be known, because the first "
            f"fully connected layer's size depends on them. Received: input_shape={input_shape!r}"
        )
    if any(d is not None and d < 32 for d in shape[:2]):
        raise ValueError(
            "VGG halves the image five times, so height and width must be at least 32. "
            f"Received: input_shape={input_shape!r}"
        )
    return key, shape


def vgg_block(x, layers, block, *, width=1.0, batch_norm=False, kernel_initializer="glorot_uniform",
              kernel_regularizer=None, batch_norm_momentum=0.99):
    """One block of a VGG: its convolutions (each followed by ReLU), then a 2x2 max-pool.

    VGG paper, Sec. 2.1: 3x3 (or 1x1) convolutions with stride 1 and "same" padding, so
    a block keeps the spatial size until its pool halves it.

    Args:
        x: The input tensor (symbolic or concrete).
        layers: The block's entries of ``CONFIGS``, e.g. ``("conv3-64", "conv3-64")``.
        block: The block's number, 1 to 5, used in the layer names.
        width: Multiplier of every convolution's filter count. Defaults to 1.0.
        batch_norm: Put BatchNormalization between each convolution and its ReLU.
            Defaults to False (the paper has no BatchNorm).
        kernel_initializer: Initialiser of the convolution kernels. Defaults to
            ``"glorot_uniform"``, Keras' default.
        kernel_regularizer: Regulariser of the kernels (e.g. L2 weight decay). Defaults to None.
        batch_norm_momentum: Momentum of the BatchNorm layers' moving averages. Defaults to
            0.99 (Keras' default); short runs want about 0.9 (notebook 04).

    Returns:
        The output tensor of the block's pool.
    """
    conv_index = 0
    for spec in layers:
        kind, size, filters = parse_layer(spec)
        if kind == "lrn":
            x = LocalResponseNormalization(name=f"block{block}_lrn")(x)
            continue
        conv_index += 1
        name = f"block{block}_conv{conv_index}"
        conv = keras.layers.Conv2D(
            max(1, round(filters * width)), size, padding="same",
            activation=None if batch_norm else "relu",
            kernel_initializer=kernel_initializer, kernel_regularizer=kernel_regularizer, name=name,
        )
        x = conv(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_bn")(x)
            x = keras.layers.Activation("relu", name=f"{name}_relu")(x)
    return keras.layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)


def vgg_head(x, classes, *, fc_units=4096, dropout=0.5, batch_norm=False, classifier_activation="softmax",
             kernel_initializer="glorot_uniform", kernel_regularizer=None, batch_norm_momentum=0.99):
    """The classifier: Flatten, two FC layers with ReLU and dropout, then the output layer.

    VGG paper, Sec. 2.1 (4096, 4096, 1000 with softmax) and Sec. 3.1 (dropout 0.5 on the
    first two FC layers).

    Args:
        x: The output of the last block.
        classes: Number of classes of the output layer.
        fc_units: Width of ``fc1`` and ``fc2``. Defaults to 4096.
        dropout: Dropout rate after ``fc1`` and ``fc2``; 0 adds no Dropout layer. Defaults to 0.5.
        batch_norm: Put BatchNormalization after each Dense layer, before its activation
            (the CIFAR-10 recipe of notebook 05). Defaults to False.
        classifier_activation: Activation of the output layer. Defaults to ``"softmax"``.
        kernel_initializer: Initialiser of the Dense kernels. Defaults to ``"glorot_uniform"``.
        kernel_regularizer: Regulariser of the Dense kernels. Defaults to None.
        batch_norm_momentum: Momentum of the BatchNorm layers' moving averages. Defaults to 0.99.

    Returns:
        The class scores.
    """
    x = keras.layers.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = keras.layers.Dense(fc_units, activation=None if batch_norm else "relu", name=f"fc{i}",
                               kernel_initializer=kernel_initializer, kernel_regularizer=kernel_regularizer)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=batch_norm_momentum, name=f"fc{i}_bn")(x)
            x = keras.layers.Activation("relu", name=f"fc{i}_relu")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"fc{i}_dropout")(x)
    # The class scores are computed in float32 even under a mixed-precision policy: a
    # softmax in float16 can overflow (Keras' mixed-precision guide).
    if batch_norm:
        x = keras.layers.Dense(classes, name="predictions_dense", kernel_initializer=kernel_initializer,
                               kernel_regularizer=kernel_regularizer)(x)
        x = keras.layers.BatchNormalization(momentum=batch_norm_momentum, name="predictions_bn")(x)
        return keras.layers.Activation(classifier_activation, name="predictions", dtype="float32")(x)
    return keras.layers.Dense(classes, activation=classifier_activation, name="predictions", dtype="float32",
                              kernel_initializer=kernel_initializer, kernel_regularizer=kernel_regularizer)(x)


def vgg(config="D", *, include_top=True, weights=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", width=1.0, fc_units=4096, dropout=0.0, batch_norm=False,
        kernel_initializer="glorot_uniform", kernel_regularizer=None, name=None, batch_norm_momentum=0.99):
    """Build any VGG configuration of the paper's Table 1 (functional API).

    The arguments follow ``keras.applications.VGG16``; the extra ones make the narrow
    and BatchNorm variants the series trains on small images.

    Args:
        config: ``"A"``, ``"A-LRN"``, ``"B"``, ``"C"``, ``"D"`` or ``"E"`` (or ``"vgg11"``,
            ``"vgg13"``, ``"vgg16"``, ``"vgg19"``). Defaults to ``"D"`` (VGG16).
        include_top: Include the three fully connected layers. Defaults to True.
        weights: None for random initialisation, or the path of a weights file saved
            from a model with the same layer names. Defaults to None.
        input_shape: ``(height, width, channels)``. Defaults to (224, 224, 3) with the
            top and (None, None, 3) without it. Height and width must be at least 32.
        pooling: Without the top: None, ``"avg"`` or ``"max"`` global pooling. Defaults to None.
        classes: Number of classes with the top. Defaults to 1000.
        classifier_activation: Activation of the output layer. Defaults to ``"softmax"``.
        width: Multiplier of every convolution's filter count (0.25 gives a narrow VGG).
            Defaults to 1.0.
        fc_units: Width of the two hidden FC layers. Defaults to 4096.
        dropout: Dropout rate after ``fc1`` and ``fc2``. Defaults to 0.0, as
            ``keras.applications`` builds it; the paper trained with 0.5 (Sec. 3.1).
        batch_norm: BatchNorm after every convolution and FC layer (not in the paper).
            Defaults to False.
        kernel_initializer: Initialiser of every kernel. Defaults to ``"glorot_uniform"``.
        kernel_regularizer: Regulariser of every kernel (weight decay). Defaults to None.
        name: The model's name. Defaults to ``"vgg_<config>"``, e.g. ``"vgg_D"``.
        batch_norm_momentum: Momentum of the BatchNorm layers' moving averages, a number
            in [0, 1). Defaults to 0.99 (Keras' default); a short run wants about 0.9, or
            the averages used at evaluation still hold their initial values (notebook 04).

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: For an unknown configuration or a bad argument, before any layer is built.
    """
    key, shape = _check_args(config, include_top, weights, input_shape, pooling, classes, width, fc_units, dropout)
    momentum = batch_norm_momentum
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError("batch_norm_momentum must be a number in [0, 1). "
                         f"Received: batch_norm_momentum={batch_norm_momentum!r}")
    inputs = keras.Input(shape=shape, name="input_layer")
    x = inputs
    for block, layers in enumerate(CONFIGS[key], start=1):
        x = vgg_block(x, layers, block, width=width, batch_norm=batch_norm, batch_norm_momentum=momentum,
                      kernel_initializer=kernel_initializer, kernel_regularizer=kernel_regularizer)
    if include_top:
        x = vgg_head(x, classes, fc_units=fc_units, dropout=dropout, batch_norm=batch_norm,
                     batch_norm_momentum=momentum,
                     classifier_activation=classifier_activation, kernel_initializer=kernel_initializer,
                     kernel_regularizer=kernel_regularizer)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="global_pool")(x)
    model = keras.Model(inputs, x, name=name or f"vgg_{key}")
    if weights is not None:
        model.load_weights(weights)
    return model


def copy_weights(source: keras.Model, target: keras.Model, *, layers=None) -> list[str]:
    """Copy weights layer by layer, matching layers by name.

    Args:
        source: The model to copy from (e.g. ``keras.applications.VGG16``).
        target: The model to copy into.
        layers: Names of the layers to copy. Defaults to every layer with weights
            whose name exists in both models.

    Returns:
        The names of the layers copied, in the target's order.

    Raises:
        ValueError: If a named layer is missing from either model, or if the weight
            shapes of a pair of layers differ (the message names the layer and both shapes).
    """
    src = {layer.name: layer for layer in source.layers}
    names = layers if layers is not None else [l.name for l in target.layers if l.weights and l.name in src]
    copied = []
    for name in names:
        if name not in src:
            raise ValueError(f"Layer {name!r} is not in the source model {source.name!r}. Received: layers={layers!r}")
        layer = target.get_layer(name)
        values = src[name].get_weights()
        want = [tuple(w.shape) for w in layer.weights]
        got = [tuple(v.shape) for v in values]
        if want != got:
            raise ValueError(f"Weights of layer {name!r} do not fit: the target expects shapes {want}. Received: {got}")
        layer.set_weights(values)
        copied.append(name)
    return copied
