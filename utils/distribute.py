"""One helper that picks a ``tf.distribute`` strategy using every accelerator present.

Build and compile the model inside ``strategy.scope()``; ``model.fit`` then splits each
batch between the replicas and sums their gradients. The same notebook code runs on a
TPU (Colab), on several GPUs, on one GPU and on the CPU.
"""

from __future__ import annotations

import os

import tensorflow as tf


def _tpu_resolver():
    """Return a connected TPU cluster resolver, or None when there is no TPU."""
    if not (os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME")
            or tf.config.list_logical_devices("TPU")):
        return None  # asking the resolver without a TPU can wait on metadata servers
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return resolver
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None


def strategy(devices: list[str] | None = None) -> tf.distribute.Strategy:
    """Return the strategy that uses every accelerator TensorFlow can see.

    In order: a ``TPUStrategy`` if a TPU is reachable; a ``MirroredStrategy`` over all
    GPUs if there are several; a ``OneDeviceStrategy`` on the GPU if there is one; a
    ``OneDeviceStrategy`` on the CPU otherwise.

    Args:
        devices: Device names to use instead, e.g. ``["/cpu:0", "/cpu:1"]`` after the CPU
            was split into logical devices: a ``MirroredStrategy`` over them if there
            are several, a ``OneDeviceStrategy`` if one. Defaults to None (detect).

    Returns:
        A ``tf.distribute.Strategy``.

    Raises:
        ValueError: If ``devices`` is given but empty or not a list of names.
    """
    if devices is not None:
        if isinstance(devices, str) or not devices or not all(isinstance(d, str) for d in devices):
            raise ValueError(f"devices must be a non-empty list of device names. Received: devices={devices!r}")
        if len(devices) == 1:
            return tf.distribute.OneDeviceStrategy(devices[0])
        return tf.distribute.MirroredStrategy(list(devices))
    resolver = _tpu_resolver()
    if resolver is not None:
        return tf.distribute.TPUStrategy(resolver)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([gpu.name for gpu in gpus])
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    return tf.distribute.OneDeviceStrategy("/cpu:0")


def describe(chosen: tf.distribute.Strategy) -> str:
    """One line naming the strategy, its replicas and their devices (the same on every run)."""
    extended = chosen.extended
    devices = getattr(extended, "worker_devices", None) or ()
    names = ", ".join(d.split("/")[-1].lower().replace("device:", "") for d in devices) or "TPU cores"
    replicas = chosen.num_replicas_in_sync
    return f"{type(chosen).__name__} with {replicas} replica{'s' if replicas != 1 else ''} ({names})"
