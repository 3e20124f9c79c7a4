"""Settings shared by every notebook: folders, run mode, seeds and the setup banner.

Every notebook's setup cell calls :func:`start`, which seeds everything, picks the run
mode and prints one banner, so a learner always sees the same facts in the same place.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Environment variable naming the folder that holds (or receives) the datasets.
DATA_DIR_ENV = "CONVNET_DATA_DIR"
#: Environment variable naming the folder for decoded-array caches.
CACHE_DIR_ENV = "CONVNET_CACHE_DIR"
#: Environment variable naming another folder for what notebooks write (e.g. on Google Drive).
OUTPUT_DIR_ENV = "CONVNET_OUTPUT_DIR"
#: Environment variable forcing the run mode: ``quick`` or ``full``.
MODE_ENV = "CONVNET_MODE"
MODES = ("quick", "full")


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """Return the folder where datasets live or are downloaded to.

    Args:
        path: An explicit folder. Defaults to None, which means: the environment
            variable ``CONVNET_DATA_DIR`` if it is set, else the repository's ``data/``.

    Returns:
        The folder as an absolute ``Path``. It is not created here: a read-only
        mirror must stay untouched, and a download creates it when needed.
    """
    if path is not None:
        return Path(path).expanduser().resolve()
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return REPO_ROOT / "data"


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """Return the folder for caches (decoded arrays), creating it if needed.

    Caches are kept apart from the data folder because that folder may be a
    read-only mirror.

    Args:
        path: An explicit folder. Defaults to None, which means: ``CONVNET_CACHE_DIR``
            if it is set, else ``data/cache`` in the repository (ignored by git).

    Returns:
        The folder as an absolute ``Path``.
    """
    if path is None:
        env = os.environ.get(CACHE_DIR_ENV, "").strip()
        path = env or REPO_ROOT / "data" / "cache"
    folder = Path(path).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_dir(*parts: str) -> Path:
    """Return (and create) a folder under ``outputs/``, which git ignores.

    Notebooks write saved models, logs and diagrams only here. ``CONVNET_OUTPUT_DIR``
    names another folder instead (in Colab, one on Google Drive outlives the machine).

    Args:
        *parts: Sub-folder names, for example ``output_dir("01_vgg16")``.

    Returns:
        The folder as an absolute ``Path``.
    """
    env = os.environ.get(OUTPUT_DIR_ENV, "").strip()
    folder = (Path(env).expanduser().resolve() if env else REPO_ROOT / "outputs").joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as a notebook should print it: relative to the repository when inside it.

    A stored output then names no machine's folders (``outputs/05_vgg19_cifar10/...``);
    a folder elsewhere (``CONVNET_OUTPUT_DIR`` on Google Drive) is printed whole.
    """
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def new_run_dir(name: str, mode: str) -> Path:
    """Return a new, empty folder ``outputs/<name>/<mode>-<UTC time>`` for one training run.

    Every run gets its own folder, so a re-run never overwrites the model, checkpoints
    or logs a learner trained before (delete old runs by hand to free the disk).

    Args:
        name: The notebook's output folder, e.g. ``"05_vgg19_cifar10"``.
        mode: The run mode, ``"quick"`` or ``"full"``, put in front of the time.

    Returns:
        The created folder as an absolute ``Path``.

    Raises:
        ValueError: If ``mode`` is not ``"quick"`` or ``"full"``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}. Received: mode={mode!r}")
    import datetime

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    parent = output_dir(name)
    for suffix in ["", *(f"-{i}" for i in range(2, 1000))]:
        folder = parent / f"{mode}-{stamp}{suffix}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:  # two runs in the same second
            continue
    raise RuntimeError(f"Could not make a new run folder in {parent}")


def new_file(path: str | os.PathLike) -> Path:
    """Return ``path`` as a ``Path`` if nothing is there yet, so a model can be saved to it.

    Call it before the work that makes what will be saved (before training, not after),
    so that a learner's earlier model is never overwritten and no work is lost.

    Raises:
        FileExistsError: If something exists at ``path`` already; it is left as it is.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists already; not overwriting it. Move it away or choose another name.")
    return path


def accelerators() -> list[str]:
    """Return the kinds of accelerator TensorFlow can see, e.g. ``["GPU", "GPU"]``."""
    import tensorflow as tf

    kinds = [d.device_type for d in tf.config.list_logical_devices() if d.device_type in ("GPU", "TPU")]
    if not kinds and os.environ.get("COLAB_TPU_ADDR"):
        kinds = ["TPU"]
    return kinds


def run_mode() -> tuple[str, str]:
    """Return the run mode and why it was chosen.

    ``quick`` is what CI runs on two CPU cores (each notebook in a few minutes);
    ``full`` is what a learner runs on a GPU. ``CONVNET_MODE`` forces one; otherwise
    the mode is ``full`` when a GPU or TPU is present and ``quick`` when not.

    Returns:
        A pair ``(mode, reason)``.

    Raises:
        ValueError: If ``CONVNET_MODE`` is set to something other than ``quick``/``full``.
    """
    forced = os.environ.get(MODE_ENV, "").strip().lower()
    if forced:
        if forced not in MODES:
            raise ValueError(
                f"{MODE_ENV} must be one of {', '.join(MODES)} (or unset for automatic). "
                f"Received: {MODE_ENV}={os.environ[MODE_ENV]!r}"
            )
        return forced, f"set by {MODE_ENV}"
    if accelerators():
        return "full", "automatic: an accelerator is present"
    return "quick", f"automatic: no GPU/TPU found; set {MODE_ENV}=full to override"


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up log muted (``import utils`` calls this).

    TensorFlow's C++ code writes its start-up notes (CUDA stubs, CPU features) straight
    to the process's standard error, with timestamps that differ on every run, before
    any Python logging setting can apply. So: ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3
    (errors only; Python errors and warnings still show), and while TensorFlow is
    imported, file descriptor 2 points at ``os.devnull``. After the first import this
    does nothing.

    It also turns on TensorFlow's oneDNN kernels on the CPU (``TF_ENABLE_ONEDNN_OPTS=1``)
    unless that variable is set already. TensorFlow enables them by default only on
    CPUs with AVX-512 neural-network instructions, so on other x86 CPUs (many AMD ones,
    older Intel laptops, two-core CI machines) convolutions run on slower kernels, and
    the series' trainings run much faster with oneDNN (``python benchmarks/onednn.py``;
    its figures are in benchmarks/README.md). They change float round-off, so trained
    numbers differ slightly from a run without them; set ``TF_ENABLE_ONEDNN_OPTS=0``
    before ``import utils`` to go back. A GPU is unaffected.
    """
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if "tensorflow" in sys.modules:
        return
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def ensure_pydot() -> None:
    """Install pydot (for ``keras.utils.plot_model``) with pip if it is missing.

    TensorFlow, Keras and NumPy come with Colab; pydot is the one package the notebooks
    use that it may lack. Graphviz itself is a system package, which Colab has. A
    failed install is not an error here: only the model diagrams would then fail.
    """
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("pydot") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pydot"], check=False)


def set_seeds(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic.

    Args:
        seed: The seed. Defaults to 0.
        deterministic: Also turn on TensorFlow's op determinism, so that a re-run on
            the same machine repeats exactly. Defaults to True.

    Raises:
        ValueError: If ``seed`` is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


@dataclasses.dataclass(frozen=True)
class Run:
    """What the setup cell decided: the run mode and the seed."""

    mode: str
    seed: int

    @property
    def quick(self) -> bool:
        """True in quick mode (CPU, CI)."""
        return self.mode == "quick"

    def pick(self, quick, full):
        """Return ``quick`` in quick mode and ``full`` in full mode."""
        return quick if self.quick else full


def _describe_data_dir() -> str:
    folder = data_dir()
    source = f"from {DATA_DIR_ENV}" if os.environ.get(DATA_DIR_ENV, "").strip() else "default"
    try:
        shown = os.path.relpath(folder, REPO_ROOT)
    except ValueError:  # another drive on Windows
        shown = str(folder)
    return f"{shown} ({source})"


def allow_memory_growth() -> list[str]:
    """Let TensorFlow take GPU memory as it needs it instead of all of it at once.

    By default TensorFlow reserves nearly all of a GPU's memory for the process that
    first uses it, so a second process (``profiling.training_step_memory`` measures in
    one) then finds none free and fails. Memory growth must be set before the GPU is
    first used: :func:`start` calls this first thing. Where a GPU was used already,
    TensorFlow refuses the change; that GPU is left as it is and not returned.

    Returns:
        The names of the GPUs set to grow (none on a machine without GPUs).
    """
    import tensorflow as tf

    grown = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
            grown.append(gpu.name)
        except RuntimeError:  # "Physical devices cannot be modified after being initialized"
            pass
    return grown


def start(seed: int = 0) -> Run:
    """Seed everything, choose the run mode and print the setup banner.

    Args:
        seed: The seed for Python, NumPy and TensorFlow. Defaults to 0.

    Also installs pydot if it is missing (:func:`ensure_pydot`).

    Returns:
        A :class:`Run` with the mode and the seed.
    """
    import_tensorflow_quietly()
    ensure_pydot()
    import keras
    import numpy as np
    import tensorflow as tf

    allow_memory_growth()  # before anything touches the GPU
    mode, reason = run_mode()
    set_seeds(seed)
    kinds = accelerators()
    devices = ", ".join(f"{k} x{kinds.count(k)}" for k in sorted(set(kinds))) or "none"
    print(f"TensorFlow {tf.__version__} | Keras {keras.__version__} | NumPy {np.__version__} | Python {platform.python_version()}")
    print(f"Accelerators: {devices} | CPU cores: {os.cpu_count()}")
    print(f"Data folder: {_describe_data_dir()}")
    print(f"Run mode: {mode} ({reason})")
    print(f"Seed: {seed}, op determinism on")
    return Run(mode=mode, seed=seed)
