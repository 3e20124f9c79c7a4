"""Receptive fields of convolutional networks, layer by layer, from a Keras model.

A. Araujo, W. Norris, J. Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019 (doi:10.23915/distill.00021). Every layer's output unit sees a
window of the input image; per spatial axis that window is described by three numbers:

- the *receptive field size* r, in input pixels;
- the *effective stride* or *jump* j: how far, in input pixels, the windows of two
  neighbouring output units lie apart;
- the *start* u: the input coordinate of the first pixel of output unit 0's window
  (negative when it begins in the padding). The article's *effective padding* is -u.

Output unit i of a layer sees the input pixels u + i*j to u + i*j + r - 1. Walking from
the input (r = 1, j = 1, u = 0) to the output, a layer with kernel k, stride s and left
padding p changes them as (the article's Eq. for r, written forwards)::

    r_out = r_in + (k - 1) * j_in        j_out = j_in * s        u_out = u_in - p * j_in

A dilated kernel counts with its effective size d*(k - 1) + 1. The closed forms (article,
"Single-path networks") are :func:`stack_field` and :func:`field_of_stack`; the layer by
layer walk over a model is :func:`receptive_fields`, and :func:`plot_fields` draws it.

What each kind of layer does:

- ``Conv2D``, ``DepthwiseConv2D``, ``SeparableConv2D``, ``MaxPooling2D``,
  ``AveragePooling2D``: kernel (dilated), stride and padding as above. ``"valid"`` pads
  nothing; ``"same"`` pads what TensorFlow pads on the left for that layer's input size:
  ``total // 2`` of ``total = max((ceil(n / s) - 1) * s + k - n, 0)`` (the rest goes on the
  right, so TensorFlow's "same" is asymmetric when ``total`` is odd).
- ``ZeroPadding2D`` and ``Cropping2D``: move the start; ``InputLayer`` and every layer
  that works pixel by pixel (activations, BatchNorm, Dropout, LRN, ...) pass through.
- Merges (``Add``, ``Concatenate``, ``Multiply``, ...): the union of the branches' windows
  (from the smallest start to the largest end); the branches must have the same jump.
- ``GlobalAveragePooling2D``, ``GlobalMaxPooling2D``, ``Flatten``: the output depends on
  every unit of its input, so its field is the union of all their windows (which covers
  the whole image and then some); the table marks such rows ``global`` and gives them no
  jump. Layers after them (``Dense``, ...) stay global.
- A nested model is walked through, its layers named ``outer/inner``.
- Anything else raises a ``ValueError`` naming the layer and its class: a calculator that
  guessed would give wrong tables silently.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import keras

__all__ = ["Field", "stack_field", "field_of_stack", "same_padding", "receptive_fields", "plot_fields",
           "PASSTHROUGH_LAYERS", "MERGE_LAYERS"]


class Field(NamedTuple):
    """The receptive field of a layer along one axis.

    Attributes:
        size: Receptive field size r, in input pixels.
        jump: Effective stride j, in input pixels (0 once the field is global).
        start: Input coordinate of the first pixel seen by output unit 0 (-effective padding).
    """

    size: int
    jump: int
    start: int

    @property
    def padding(self) -> int:
        """The Distill article's effective padding P = -start."""
        return -self.start


# ------------------------------------------------------------------ closed forms


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return value


def stack_field(k: int, n: int) -> int:
    """Receptive field of n stacked k x k convolutions with stride 1 (VGG paper, Sec. 2.3).

    Each layer after the first widens the field by k - 1 pixels: r = k + (k - 1)(n - 1).
    Two 3x3 layers see 5x5, three see 7x7.

    Args:
        k: Kernel size (per axis).
        n: Number of stacked layers.

    Returns:
        The field size in pixels, per axis.

    Raises:
        ValueError: If ``k`` or ``n`` is not a positive integer.
    """
    k, n = _positive_int(k, "k"), _positive_int(n, "n")
    return k + (k - 1) * (n - 1)


def field_of_stack(layers: Iterable[Sequence[int]]) -> Field:
    """Receptive field of a single-path stack, by the article's closed forms.

    With kernels k_l, strides s_l and left paddings p_l, for l = 1..L from the input::

        r = 1 + sum_l (k_l - 1) * prod_{i<l} s_i      (Distill, Eq. 2)
        j = prod_l s_l
        u = -sum_l p_l * prod_{i<l} s_i               (Distill, effective padding P = -u)

    Args:
        layers: One ``(k, s)`` or ``(k, s, p)`` per layer, input first; ``p`` defaults to 0.

    Returns:
        A :class:`Field`. An empty stack gives ``Field(1, 1, 0)``: a pixel sees itself.

    Raises:
        ValueError: For an entry that is not 2 or 3 integers with k, s >= 1 and p >= 0.
    """
    size, start, jump = 1, 0, 1
    for entry in layers:
        entry = tuple(entry)
        if len(entry) not in (2, 3) or not all(isinstance(v, int) and not isinstance(v, bool) for v in entry):
            raise ValueError(f"Each layer must be (k, s) or (k, s, p) with integers. Received: {entry!r}")
        k, s, p = (*entry, 0)[:3]
        if k < 1 or s < 1 or p < 0:
            raise ValueError(f"Each layer needs k >= 1, s >= 1, p >= 0. Received: (k, s, p)={(k, s, p)!r}")
        size += (k - 1) * jump  # jump is prod_{i<l} s_i here
        start -= p * jump
        jump *= s
    return Field(size, jump, start)


def same_padding(n: int, k: int, s: int) -> int:
    """Left padding of TensorFlow's ``"same"`` for an input of length n, kernel k, stride s.

    The output has ceil(n / s) units; the total padding that needs is
    max((ceil(n / s) - 1) * s + k - n, 0), of which TensorFlow puts ``total // 2`` on the
    left and the rest on the right.

    Args:
        n: Input length along the axis.
        k: Effective kernel size (dilation included).
        s: Stride.

    Returns:
        The number of padded pixels on the left (top).
    """
    out = -(-n // s)
    return max((out - 1) * s + k - n, 0) // 2


# ------------------------------------------------------------------ layer kinds

L = keras.layers
#: Layers that work pixel by pixel (or channel by channel) and keep the geometry.
PASSTHROUGH_LAYERS: tuple[type, ...] = tuple(
    getattr(L, name) for name in (
        "InputLayer", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "BatchNormalization",
        "LayerNormalization", "GroupNormalization", "UnitNormalization", "Dropout", "SpatialDropout2D",
        "GaussianNoise", "GaussianDropout", "AlphaDropout", "Rescaling", "Normalization", "Identity",
        "ActivityRegularization",
    ) if hasattr(L, name)
)
#: Layers that merge branches elementwise (or along the channels, for Concatenate).
MERGE_LAYERS: tuple[type, ...] = tuple(
    getattr(L, name) for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
    if hasattr(L, name)
)
_CONVS = (L.Conv2D, L.DepthwiseConv2D, L.SeparableConv2D)
_POOLS = (L.MaxPooling2D, L.AveragePooling2D)
_GLOBAL = (L.GlobalAveragePooling2D, L.GlobalMaxPooling2D, L.Flatten)
_CONV_TRANSPOSE = tuple(getattr(L, n) for n in ("Conv2DTranspose",) if hasattr(L, n))


@functools.lru_cache(maxsize=1)
def _passthrough_extra() -> tuple[type, ...]:
    """The series' own pixel-wise layers (VGG's LRN), if utils.vgg is importable."""
    try:
        from utils.vgg import LocalResponseNormalization
    except ImportError:  # pragma: no cover - utils.vgg ships with this module
        return ()
    return (LocalResponseNormalization,)


class _Geometry(NamedTuple):
    """Per-tensor state of the walk: one Field per spatial axis, the spatial size, global flag."""

    fields: tuple[Field, Field]
    size: tuple[int | None, int | None]
    is_global: bool = False


def _spatial(tensor, data_format: str) -> tuple[int | None, int | None]:
    shape = tuple(tensor.shape)
    if len(shape) != 4:
        return None, None
    return (shape[2], shape[3]) if data_format == "channels_first" else (shape[1], shape[2])


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _window(layer, geometry: _Geometry, name: str):
    """Kernel (effective), stride and left padding of a conv or pooling layer, per axis."""
    if isinstance(layer, _CONVS):
        kernel, dilation = _pair(layer.kernel_size), _pair(layer.dilation_rate)
    else:
        kernel, dilation = _pair(layer.pool_size), (1, 1)
    strides = _pair(layer.strides if layer.strides is not None else kernel)
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padding = str(layer.padding).lower()
    if padding == "valid":
        pads = (0, 0)
    elif padding == "same":
        if any(s > 1 for s in strides) and any(n is None for n in geometry.size):
            raise ValueError(
                f"Layer '{name}' uses 'same' padding with strides {strides} on an input of unknown size; "
                "TensorFlow's padding then depends on the size: build the model with a fixed input size. "
                f"Received: input size {geometry.size}"
            )
        # With stride 1 the total padding is k - 1 whatever the size (left: (k - 1) // 2).
        pads = tuple((k - 1) // 2 if n is None else same_padding(n, k, s)
                     for n, k, s in zip(geometry.size, effective, strides))
    else:
        raise ValueError(f"Layer '{name}': padding must be 'valid' or 'same'. Received: padding={layer.padding!r}")
    return effective, strides, pads


def _apply(field: Field, k: int, s: int, p: int) -> Field:
    return Field(field.size + (k - 1) * field.jump, field.jump * s, field.start - p * field.jump)


def _merge(geometries: list[_Geometry], name: str, kind: str) -> _Geometry:
    if any(g.is_global for g in geometries):
        if not all(g.is_global for g in geometries):
            raise ValueError(f"Layer '{name}' ({kind}) merges a global tensor with a spatial one; "
                             "the receptive field of such a merge is not defined here.")
        fields = tuple(Field(max(g.fields[a].start + g.fields[a].size for g in geometries)
                             - min(g.fields[a].start for g in geometries), 0,
                             min(g.fields[a].start for g in geometries)) for a in (0, 1))
        return _Geometry(fields, (None, None), True)
    fields = []
    for axis, axis_name in enumerate(("height", "width")):
        jumps = sorted({g.fields[axis].jump for g in geometries})
        if len(jumps) > 1:
            raise ValueError(
                f"Layer '{name}' ({kind}) merges branches with different effective strides along the "
                f"{axis_name}: {jumps[0]} and {jumps[1]} pixels, so its units have no single receptive "
                "field. Give the branches the same total stride."
            )
        start = min(g.fields[axis].start for g in geometries)
        end = max(g.fields[axis].start + g.fields[axis].size for g in geometries)
        fields.append(Field(end - start, jumps[0], start))
    return _Geometry(tuple(fields), geometries[0].size)


def _unknown(layer, name: str) -> ValueError:
    return ValueError(
        "The receptive field calculator does not know how this layer changes the geometry; "
        "pass its class in passthrough=(...) if it works pixel by pixel. "
        f"Received: layer '{name}' of class {type(layer).__name__}"
    )


def _step(layer, node, inputs: list[_Geometry], name: str, passthrough: tuple[type, ...]):
    """The output geometry of one layer call, and the kernel/stride/padding it applied."""
    data_format = getattr(layer, "data_format", None) or "channels_last"
    size = _spatial(node.output_tensors[0], data_format)
    unit = ((1, 1), (1, 1), (0, 0))
    if isinstance(layer, MERGE_LAYERS):
        if isinstance(layer, L.Concatenate) and not inputs[0].is_global:
            axis = layer.axis % 4
            if axis in ((2, 3) if data_format == "channels_first" else (1, 2)):
                raise ValueError(f"Layer '{name}' (Concatenate) joins tensors along a spatial axis "
                                 f"(axis={layer.axis}); only channel concatenation keeps a receptive field.")
        merged = _merge(inputs, name, type(layer).__name__)
        return merged._replace(size=size if not merged.is_global else (None, None)), unit
    if len(inputs) != 1:
        raise _unknown(layer, name)
    geometry = inputs[0]
    if geometry.is_global:  # no spatial axes left: every later layer sees everything
        return geometry, None
    if isinstance(layer, PASSTHROUGH_LAYERS + _passthrough_extra() + tuple(passthrough)):
        return geometry._replace(size=size), unit
    if isinstance(layer, L.Dense):  # on a 4-D tensor Dense acts on each pixel's channels
        return geometry._replace(size=size), unit
    if isinstance(layer, _CONV_TRANSPOSE):
        raise _unknown(layer, name)
    if isinstance(layer, _CONVS + _POOLS):
        kernel, strides, pads = _window(layer, geometry, name)
        fields = tuple(_apply(f, k, s, p) for f, k, s, p in zip(geometry.fields, kernel, strides, pads))
        return _Geometry(fields, size), (kernel, strides, pads)
    if isinstance(layer, (L.ZeroPadding2D, L.Cropping2D)):
        amounts = layer.padding if isinstance(layer, L.ZeroPadding2D) else layer.cropping
        sign = 1 if isinstance(layer, L.ZeroPadding2D) else -1
        pads = tuple(sign * int(amounts[a][0]) for a in (0, 1))
        fields = tuple(_apply(f, 1, 1, p) for f, p in zip(geometry.fields, pads))
        return _Geometry(fields, size), ((1, 1), (1, 1), pads)
    if isinstance(layer, _GLOBAL):
        if any(n is None for n in geometry.size):
            raise ValueError(f"Layer '{name}' pools over the whole input, whose size is unknown: build the model "
                             f"with a fixed input size. Received: input size {geometry.size}")
        fields = tuple(Field(f.size + (n - 1) * f.jump, 0, f.start) for f, n in zip(geometry.fields, geometry.size))
        return _Geometry(fields, (None, None), True), None
    raise _unknown(layer, name)


def _check_model(model) -> None:
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model. Received: an object of class {type(model).__name__}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError) as error:
        raise ValueError(f"The model has no defined input: build it with keras.Input(shape=...) first. "
                         f"Received: model '{model.name}' ({error})") from None
    if not inputs or not model.outputs:
        raise ValueError(f"The model has no defined input: build it with keras.Input(shape=...) first. "
                         f"Received: model '{model.name}'")
    shapes = [tuple(t.shape) for t in inputs]
    if len(shapes) != 1 or len(shapes[0]) != 4:
        raise ValueError("Expected a model with one image input of shape (batch, height, width, channels). "
                         f"Received: input shapes {shapes}")


def _walk(model, entry: list[_Geometry], prefix: str, key: tuple, passthrough, rows: list):
    """Walk one (possibly nested) model from its inputs to its outputs; return the outputs' geometry.

    Each layer call appends ``(sort key, layer, name, geometry, window)`` to ``rows``; the
    sort key puts the rows in the order of ``model.layers`` (a topological order).
    """
    geometry: dict[int, _Geometry] = {id(t): g for t, g in zip(model.inputs, entry)}
    done: set[int] = set()
    position = {id(layer): i for i, layer in enumerate(model.layers)}

    def node_of(tensor):
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            raise ValueError(f"Cannot trace a tensor back to a layer of model '{model.name}'. Received: {tensor!r}")
        return history[0]._inbound_nodes[history[1]]

    # Depth-first, without recursion (ResNets are deep): a node is computed once all the
    # tensors it reads have their geometry.
    stack = [node_of(t) for t in reversed(model.outputs) if id(t) not in geometry]
    while stack:
        node = stack[-1]
        if id(node) in done:
            stack.pop()
            continue
        missing = [node_of(t) for t in node.input_tensors if id(t) not in geometry]
        missing = [n for n in missing if id(n) not in done]
        if missing:
            stack.extend(reversed(missing))
            continue
        stack.pop()
        done.add(id(node))
        layer = node.operation
        name = prefix + layer.name
        ins = [geometry[id(t)] for t in node.input_tensors]
        here = key + (position.get(id(layer), len(position)), len(rows))
        if isinstance(layer, keras.Model):
            if len(ins) != 1:
                raise ValueError(f"Nested model '{name}' has {len(ins)} inputs; only single-input submodels "
                                 f"are supported. Received: layer '{name}' of class {type(layer).__name__}")
            outs = _walk(layer, ins, name + "/", here, passthrough, rows)
            for t, g in zip(node.output_tensors, outs):
                geometry[id(t)] = g
            continue
        out, window = _step(layer, node, ins, name, passthrough)
        for t in node.output_tensors:
            geometry[id(t)] = out
        rows.append((here, layer, name, out, window))
    return [geometry[id(t)] for t in model.outputs]


def receptive_fields(model, *, passthrough: Iterable[type] = (), include_input: bool = True):
    """Receptive field size, jump and start of every layer of a Keras model (Distill 2019).

    Works on Sequential and functional models, with branches that merge, and walks into
    nested models. The walk follows the model's graph (``model.outputs`` back to
    ``model.inputs``), so each row is one layer call, with the shape its output really has.

    Args:
        model: A built ``keras.Model`` with one image input ``(batch, height, width,
            channels)`` (``channels_first`` layers are read as such). "same" padding with a
            stride needs a known height and width, as TensorFlow's padding depends on them.
        passthrough: Extra layer classes that keep the geometry (pixel-wise layers of
            your own). Defaults to none.
        include_input: Keep the input layer's row (field 1, jump 1, start 0). Defaults to True.

    Returns:
        A ``pandas.DataFrame``, one row per layer call in the order of ``model.layers``,
        with columns ``layer``, ``class``, ``output`` (spatial size), ``kernel`` (effective,
        dilation included), ``stride``, ``pad`` (left/top padding the layer adds),
        ``field``, ``jump``, ``start`` (``-start`` is the article's effective padding) and
        ``global`` (True from a global pooling or Flatten on; those rows have field = the
        union of all windows and jump, kernel, stride, pad = <NA>). When height and width
        differ anywhere, each of these numbers becomes two columns, ``field_h``,
        ``field_w`` and so on; otherwise one value stands for both.

    Raises:
        ValueError: If ``model`` is not a built Keras model with one 4-D input; for a
            layer the calculator does not know (naming the layer and its class); for
            branches merging with different jumps (naming the layer and both jumps).
    """
    import pandas as pd

    _check_model(model)
    passthrough = tuple(passthrough)
    if not all(isinstance(c, type) for c in passthrough):
        raise ValueError(f"passthrough must hold layer classes. Received: passthrough={passthrough!r}")
    data_format = getattr(model.layers[0], "data_format", None) or "channels_last"
    for layer in model.layers:  # the input's format is the one its first spatial layer reads
        if hasattr(layer, "data_format") and not isinstance(layer, L.InputLayer):
            data_format = layer.data_format or "channels_last"
            break
    size = _spatial(model.inputs[0], data_format)
    start = _Geometry((Field(1, 1, 0), Field(1, 1, 0)), size)
    rows: list = []
    _walk(model, [start], "", (), passthrough, rows)
    rows.sort(key=lambda row: row[0])
    if include_input:  # the walk starts from the input tensor, so the input layer has no row yet
        input_layer = model.inputs[0]._keras_history[0]
        rows.insert(0, ((), input_layer, input_layer.name, start, ((1, 1), (1, 1), (0, 0))))

    na = pd.NA
    records = []
    for _, layer, name, geometry, window in rows:
        kernel, strides, pads = window if window else ((na, na), (na, na), (na, na))
        record = {"layer": name, "class": type(layer).__name__}
        for axis, suffix in ((0, "_h"), (1, "_w")):
            field = geometry.fields[axis]
            record["output" + suffix] = "global" if geometry.is_global else geometry.size[axis]
            record["kernel" + suffix] = kernel[axis]
            record["stride" + suffix] = strides[axis]
            record["pad" + suffix] = pads[axis]
            record["field" + suffix] = field.size
            record["jump" + suffix] = na if geometry.is_global else field.jump
            record["start" + suffix] = field.start
        record["global"] = geometry.is_global
        records.append(record)
    table = pd.DataFrame.from_records(records)
    numbers = ["output", "kernel", "stride", "pad", "field", "jump", "start"]
    symmetric = all(table[n + "_h"].astype(object).equals(table[n + "_w"].astype(object)) for n in numbers)
    columns = ["layer", "class"]
    for n in numbers:
        if symmetric:
            table[n] = table[n + "_h"]
            columns.append(n)
        else:
            columns += [n + "_h", n + "_w"]
    columns.append("global")
    table = table[columns]
    for column in columns[2:-1]:
        if not any(table[column].astype(object) == "global"):
            table[column] = table[column].astype("Int64")
    table.attrs["input_size"] = size
    table.attrs["model"] = model.name
    return table


def plot_fields(table, *, layers: Iterable[str] | None = None, input_size: int | None = None,
                title: str | None = None, ax=None, axis: str = "h", max_labels: int = 30, log: bool = False):
    """Plot receptive field size and jump against depth, with the input size for scale.

    The y axis is linear by default, so that a step's height is the pixels a layer adds
    (on a log axis, the larger steps of the deeper blocks would look smaller).

    Args:
        table: What :func:`receptive_fields` returned.
        layers: Plot only the rows of these layers (e.g. the output of each ResNet
            block, leaving out the shortcut branches, whose smaller fields would zigzag).
            Defaults to every row before the global ones.
        input_size: The image size drawn as a dashed line. Defaults to the table's input
            height (or width for ``axis="w"``), if known.
        title: The plot's title. Defaults to the model's name.
        ax: A matplotlib Axes to draw on. Defaults to a new figure.
        axis: ``"h"`` or ``"w"``, for tables with separate height and width columns.
            Defaults to ``"h"``.
        max_labels: At most this many layer names on the x axis (without ``layers``,
            only layers that change the geometry are named, and the input). Defaults to 30.
        log: Draw the y axis on a log scale (base 2). Defaults to False.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if axis not in ("h", "w"):
        raise ValueError(f"axis must be 'h' or 'w'. Received: axis={axis!r}")
    col = (lambda n: n) if "field" in table.columns else (lambda n: f"{n}_{axis}")
    spatial = table[~table["global"].astype(bool)]
    if layers is not None:
        wanted = set(layers)
        missing = sorted(wanted - set(spatial["layer"]))
        if missing:
            raise ValueError(f"layers must name rows of the table (not global ones). Received: unknown {missing}")
        spatial = spatial[spatial["layer"].isin(wanted)]
    x = np.arange(len(spatial))
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4))
    else:
        fig = ax.figure
    ax.plot(x, spatial[col("field")].astype(float), marker="o", ms=3, label="receptive field size r")
    ax.plot(x, spatial[col("jump")].astype(float), marker="s", ms=3, label="jump (effective stride) j")
    sizes = table.attrs.get("input_size") or (None, None)
    if input_size is None:
        input_size = sizes[0 if axis == "h" else 1]
    if input_size:
        ax.axhline(input_size, color="grey", ls="--", lw=1, label=f"input size ({input_size} px)")
    if log:
        ax.set_yscale("log", base=2)
    ax.set_ylabel("pixels of the input" + (" (log scale)" if log else ""))
    changes = [i for i, (k, s, p) in enumerate(zip(spatial[col("kernel")], spatial[col("stride")], spatial[col("pad")]))
               if layers is not None or i == 0 or k > 1 or s > 1 or p != 0]  # the input, and what changes the geometry
    if len(changes) > max_labels:
        changes = changes[:: math.ceil(len(changes) / max_labels)]
    ax.set_xticks(x[changes])
    ax.set_xticklabels(spatial["layer"].iloc[changes], rotation=70, ha="right", fontsize=7)
    ax.set_xlabel("layer (from the input)")
    ax.set_title(title or f"Receptive field by depth: {table.attrs.get('model', '')}".rstrip(": "))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig

