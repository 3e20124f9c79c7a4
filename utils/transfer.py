"""Transfer learning for the VGG builds: ImageNet weights by layer name, and the input they expect.

Keras' ImageNet VGG16/VGG19 weights come from the authors' Caffe models, so they
expect Caffe-style input: channels in BGR order, minus the per-channel ImageNet mean
(103.939, 116.779, 123.68 for B, G, R), no scaling. :func:`preprocess_caffe` is that
preprocessing (``keras.applications.vgg19.preprocess_input``); :func:`preprocess_source_rgb`
is the RGB-order mean subtraction of the notebook 05 source, which feeds the first
convolution's blue filters with red pixels.

Our BatchNorm VGG (``utils.vgg.vgg(..., batch_norm=True)``) names its convolutions as
``keras.applications`` does (``block1_conv1`` ... ``block5_conv4``), so the convolution
kernels and biases of a reference model load into it by name; its BatchNorm layers and
its CIFAR head have no counterpart in ImageNet VGG and keep their initial values.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from . import data, vgg

#: Per-channel ImageNet means in RGB order (the source subtracts them in this order).
IMAGENET_MEAN_RGB = (123.680, 116.779, 103.939)
#: The host Keras downloads the ImageNet weights from.
WEIGHTS_HOST = "storage.googleapis.com"
#: ``keras.applications`` builder of each configuration that has ImageNet weights.
_REFERENCES = {"D": "VGG16", "E": "VGG19"}
UNAVAILABLE = "ImageNet weights unavailable ({reason}): training from the {init} initialisation instead"
#: Environment variable naming a weights file to use instead of Keras' download (offline
#: machines that have the file; the tests' stand-in weights).
WEIGHTS_FILE_ENV = "CONVNET_IMAGENET_WEIGHTS"


def preprocess_caffe(images) -> np.ndarray:
    """Prepare RGB images for Keras' ImageNet VGG weights: RGB -> BGR, minus the ImageNet mean.

    This is ``keras.applications.vgg19.preprocess_input`` (mode ``"caffe"``), applied to
    a float32 copy: Keras' function works in place on float arrays, which would change
    the caller's images.

    Args:
        images: Array-like of shape ``(..., height, width, 3)``, RGB, values 0-255.

    Returns:
        A new float32 array of the same shape: channel 0 is blue - 103.939, channel 1
        green - 116.779, channel 2 red - 123.68.
    """
    x = np.array(images, dtype="float32", copy=True)
    return np.asarray(keras.applications.vgg19.preprocess_input(x), dtype="float32")


def preprocess_source_rgb(images) -> np.ndarray:
    """The source's preprocessing: the ImageNet means subtracted in RGB order, channels kept RGB.

    It centres the inputs as well as :func:`preprocess_caffe`, but ImageNet VGG weights
    read channel 0 as blue: with this input their first layer sees red where it
    expects blue (and blue where it expects red).

    Args:
        images: Array-like of shape ``(..., height, width, 3)``, RGB, values 0-255.

    Returns:
        A new float32 array: red - 123.68, green - 116.779, blue - 103.939.
    """
    return np.asarray(images, dtype="float32") - np.asarray(IMAGENET_MEAN_RGB, dtype="float32")


def without_top(model: keras.Model, *, last: str = "block5_pool", name: str = "vgg19") -> keras.Model:
    """A copy of ``model``'s convolutional base, shaped like ``keras.applications.VGG19(include_top=False)``.

    The copy has the model's input and every layer up to ``last`` (the fifth pool), with
    the same names (``block1_conv1`` ... ``block5_pool``, and ``block1_conv1_bn`` ... for a
    BatchNorm build) and a copy of their weights, but no weight penalty, as
    ``keras.applications`` builds it. So a base pretrained here is used exactly like
    Keras' ImageNet base: ``base.trainable = False``, ``base(x, training=False)``. The
    original model is left as it is.

    Args:
        model: Our VGG (``utils.vgg.vgg``), trained.
        last: The name of the base's last layer. Defaults to ``"block5_pool"``.
        name: The base's name. Defaults to ``"vgg19"``, as Keras names its VGG19.

    Returns:
        A new ``keras.Model``.

    Raises:
        ValueError: If ``model`` has no layer named ``last``.
    """
    if last not in {layer.name for layer in model.layers}:
        raise ValueError(f"model must have a layer named {last!r} (build it with utils.vgg.vgg). "
                         f"Received: a model named {model.name!r} without it")
    part = keras.Model(model.input, model.get_layer(last).output)

    def fresh(layer):  # the same layer, new weights, no kernel penalty
        settings = layer.get_config()
        if "kernel_regularizer" in settings:
            settings["kernel_regularizer"] = None
        return layer.__class__.from_config(settings)

    base = keras.models.clone_model(part, clone_function=fresh)
    base.set_weights(part.get_weights())
    base.name = name
    return base


def conv_layer_names(model: keras.Model) -> list[str]:
    """Return the names of the model's ``Conv2D`` layers, in order."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _check_config(config: str) -> str:
    key = vgg.resolve_config(config)
    if key not in _REFERENCES:
        raise ValueError(
            f"ImageNet weights exist only for configurations D (VGG16) and E (VGG19). Received: config={config!r}"
        )
    return key


def _reference(config: str, weights):
    builder = getattr(keras.applications, _REFERENCES[_check_config(config)])
    return builder(weights=weights, include_top=False)


def _copy_convs(reference: keras.Model, model: keras.Model) -> int:
    names = conv_layer_names(reference)
    missing = [name for name in names if name not in {layer.name for layer in model.layers}]
    if missing:
        raise ValueError(
            f"The model has no layers named like the reference's convolutions {missing[:3]}...; build it with "
            f"utils.vgg.vgg so that the names match. Received: a model named {model.name!r}"
        )
    copied = vgg.copy_weights(reference, model, layers=names)
    return sum(len(model.get_layer(name).weights) for name in copied)


def copy_conv_weights_from_file(model: keras.Model, path: str | os.PathLike, config: str = "E") -> int:
    """Load a ``keras.applications`` VGG weights file (without the top) into our convolutions.

    The file is read the way Keras reads the ImageNet file it downloads: a
    ``keras.applications.VGG19`` (``VGG16`` for ``"D"``) without the top is built with
    ``weights=path``, then its convolution kernels and biases are copied into the
    layers of ``model`` with the same names.

    Args:
        model: Our VGG, e.g. ``vgg.vgg("E", batch_norm=True, include_top=True, ...)``,
            at full width (the weight shapes must match).
        path: A weights file saved from that reference model, in either of Keras'
            layouts (``.weights.h5``, or the legacy ``.h5`` of the ImageNet files).
        config: ``"E"`` (VGG19) or ``"D"`` (VGG16). Defaults to ``"E"``.

    Returns:
        The number of tensors copied: a kernel and a bias per convolution (32 for VGG19).

    Raises:
        ValueError: If the configuration has no ``keras.applications`` counterpart, or
            if a convolution is missing from ``model`` or has another shape.
    """
    return _copy_convs(_reference(config, str(path)), model)


def imagenet_weights() -> str:
    """What to pass as ``weights=`` to ``keras.applications.VGG19`` for the ImageNet weights.

    ``"imagenet"`` (Keras downloads the file once and caches it), or the file that
    ``CONVNET_IMAGENET_WEIGHTS`` names (an offline machine that has a copy; the tests'
    stand-in weights).
    """
    return os.environ.get(WEIGHTS_FILE_ENV, "").strip() or "imagenet"


def imagenet_weights_available(config: str = "E", timeout: float = 3.0) -> tuple[bool, str]:
    """Say whether Keras could download the ImageNet weights now.

    Args:
        config: ``"E"`` (VGG19) or ``"D"`` (VGG16). Defaults to ``"E"``.
        timeout: Seconds to wait for the weights' host. Defaults to 3.

    Returns:
        ``(True, "")`` if the weights are in Keras' cache or their host answers within
        ``timeout`` seconds, else ``(False, reason)``.
    """
    named = os.environ.get(WEIGHTS_FILE_ENV, "").strip()
    if named:
        return (True, "") if os.path.isfile(named) else (False, f"{WEIGHTS_FILE_ENV}={named} is not a file")
    cache = os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras")), "models")
    fname = f"{_REFERENCES[_check_config(config)].lower()}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if os.path.exists(os.path.join(cache, fname)):
        return True, ""
    try:
        data.check_network(WEIGHTS_HOST, timeout=timeout)
    except data.DatasetError:
        return False, "no network"
    return True, ""


def load_imagenet_conv_weights(model: keras.Model, config: str = "E", *, timeout: float = 3.0,
                               init: str = "he_normal") -> int:
    """Copy Keras' ImageNet VGG convolution weights into ``model`` by layer name, if they can be had.

    Where the weights can be downloaded (or are cached), builds
    ``keras.applications.VGG19(weights="imagenet", include_top=False)`` (``VGG16`` for
    ``"D"``) and copies its 16 (13) convolutions' kernels and biases. Where they cannot,
    prints one line saying so and leaves ``model`` as it is. If ``CONVNET_IMAGENET_WEIGHTS``
    names a weights file, that file is used instead (see :func:`copy_conv_weights_from_file`).

    Args:
        model: Our full-width VGG with ``keras.applications`` layer names.
        config: ``"E"`` (VGG19) or ``"D"`` (VGG16). Defaults to ``"E"``.
        timeout: Seconds to wait for the weights' host. Defaults to 3.
        init: The name of the model's initialiser, for the message. Defaults to ``"he_normal"``.

    Returns:
        The number of tensors copied (32 for VGG19, 26 for VGG16), or 0 if the weights
        were unavailable.

    Raises:
        ValueError: For a configuration without ImageNet weights, or a model whose
            convolutions do not match (e.g. a narrow one).
    """
    _check_config(config)
    available, reason = imagenet_weights_available(config, timeout)
    if not available:
        print(UNAVAILABLE.format(reason=reason, init=init))
        return 0
    named = os.environ.get(WEIGHTS_FILE_ENV, "").strip()
    if named:
        return copy_conv_weights_from_file(model, named, config)
    try:
        reference = _reference(config, "imagenet")
    except Exception as error:  # a download that failed half-way, a firewall, a bad cache
        print(UNAVAILABLE.format(reason=f"download failed: {type(error).__name__}", init=init))
        return 0
    return _copy_convs(reference, model)
