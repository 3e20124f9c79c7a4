"""Dataset helpers: verified files, folder digests, safe downloads and the CIFAR-10 loader.

Every helper fails with :class:`DatasetError` when data is missing, partial or damaged,
so a notebook stops with a message that says how to fix it instead of training on a
half-copied folder. Later loaders build on the generic helpers at the top.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import socket
import tempfile
import threading
import urllib.parse
from pathlib import Path

import numpy as np

from . import config

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
#: The sha256 that ``keras.datasets.cifar10`` checks for that archive.
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_IMAGES = "CIFAR-10-images"
CIFAR10_BATCHES = "cifar-10-batches-py"
#: Images per class in each split.
CIFAR10_PER_CLASS = {"train": 5000, "test": 1000}
#: Sizes of the extracted archive's files: checked, before anything is unpickled, for a
#: copy whose archive (and so its hash) is gone.
CIFAR10_BATCH_SIZES = {"data_batch_1": 31035704, "data_batch_2": 31035320, "data_batch_3": 31035999,
                       "data_batch_4": 31035696, "data_batch_5": 31035623, "test_batch": 31035526,
                       "batches.meta": 158}
SOURCES = ("auto", "images", "keras")
_HINT = f"set {config.DATA_DIR_ENV} to a folder containing {CIFAR10_IMAGES}/ (see data/README.md)"
_REDOWNLOAD = "Delete it and run again to re-download it."
_REDOWNLOAD_FOLDER = "Delete the folder that holds it and run again to re-download it."


class DatasetError(Exception):
    """Data is missing, incomplete or damaged, or cannot be downloaded.

    The message names the file or folder, what was expected and found, and the fix.
    """


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file (read in chunks, so big archives are fine)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_file(path: str | os.PathLike, *, sha256: str | None = None, size: int | None = None) -> Path:
    """Check that a file exists and has the expected size and sha256.

    Args:
        path: The file.
        sha256: The expected hex digest, or None to skip the hash.
        size: The expected size in bytes, or None. Checked first: it is free.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        DatasetError: If the file is absent or differs; the message gives expected and actual.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"Expected the file {path}, found nothing. Download it again, or copy it there.")
    if size is not None and (found := path.stat().st_size) != size:
        raise DatasetError(f"{path} is {found} bytes, expected {size}: the copy is incomplete. {_REDOWNLOAD}")
    if sha256 is not None and (found := sha256_file(path)) != sha256.lower():
        raise DatasetError(f"{path} has sha256 {found}, expected {sha256}: it is damaged. {_REDOWNLOAD}")
    return path


def folder_digest(path: str | os.PathLike) -> str:
    """Return a folder's digest as the data README defines it.

    That is ``find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum``
    inside the folder: the sha256 of the lines ``"<hex>  ./relative/path\\n"`` of every
    regular file (symlinks are skipped, as by ``find -type f``), in bytewise path order.

    Args:
        path: The folder.

    Returns:
        The hex digest.

    Raises:
        DatasetError: If the folder does not exist.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"Expected the folder {root}, found nothing.")
    names = []
    for parent, _, files in os.walk(root):
        for name in files:
            full = os.path.join(parent, name)
            if os.path.isfile(full) and not os.path.islink(full):
                names.append(os.fsencode("./" + os.path.relpath(full, root).replace(os.sep, "/")))
    total = hashlib.sha256()
    for rel in sorted(names):  # bytes order is the order of LC_ALL=C sort
        # sha256sum escapes these three characters, and then marks the line with a backslash.
        shown = rel.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
        mark = b"\\" if shown != rel else b""
        total.update(mark + sha256_file(root / os.fsdecode(rel)).encode() + b"  " + shown + b"\n")
    return total.hexdigest()


def check_network(host: str, port: int = 443, timeout: float = 5.0, hint: str | None = None) -> None:
    """Fail within ``timeout`` seconds when ``host`` cannot be reached, so no network never hangs.

    Args:
        host: The server a download will use.
        port: Its port. Defaults to 443 (HTTPS).
        timeout: Seconds to wait at most, the name lookup included. Defaults to 5.
        hint: What to do instead of downloading, ending the message. Defaults to the
            CIFAR-10 folder hint.

    Raises:
        DatasetError: If no connection opened in time.
    """
    outcome = []

    def attempt():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except Exception as err:  # OSError mostly; a malformed host name gives UnicodeError
            outcome.append(err)

    # The name lookup ignores the socket timeout: run the attempt in a thread and stop waiting.
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    if outcome[:1] != [None]:
        reason = outcome[0] if outcome else "timed out"
        raise DatasetError(f"No network: could not reach {host}:{port} within {timeout:g} s ({reason}). "
                           f"Connect to the internet, or {hint or _HINT}.")


def _writable(folder: Path) -> bool:
    # The mode bits count too: root may write anywhere, and the shared mirror is
    # read-only by its mode alone.
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def download(url: str, fname: str, *, sha256: str, data_dir: str | os.PathLike | None = None,
             extract: bool = False) -> Path:
    """Download a file into the data folder, or reuse the verified copy already there.

    A file already there is hashed first and never re-downloaded silently; downloading
    first checks that the folder is writable and the network is up. Keras shows a
    progress bar while it downloads.

    Args:
        url: Where to download from.
        fname: The file name in the data folder, with its extension (``.tar.gz``...).
        sha256: The expected hex sha256 of the file.
        data_dir: The data folder; None means :func:`utils.config.data_dir`.
        extract: Also unpack the archive, into ``<data_dir>/<fname before its first dot>_extracted``.

    Returns:
        The file, or the extraction folder when ``extract`` is True.

    Raises:
        ValueError: If ``fname`` has no extension while ``extract`` is True.
        DatasetError: If the file fails verification, the folder is read-only, there is no
            network or the download fails.
    """
    if extract and "." not in fname:
        raise ValueError(f"fname must name the archive with its extension. Received: fname={fname!r}")
    folder = config.data_dir(data_dir)
    target = folder / fname
    existed = target.exists()
    if existed:
        verify_file(target, sha256=sha256)  # a bad file stops here, unopened
    elif not _writable(folder):
        raise DatasetError(f"{target} is missing and {folder} is read-only, so it cannot be downloaded there. "
                           f"Point {config.DATA_DIR_ENV} at a writable folder.")
    else:
        check_network(urllib.parse.urlsplit(url).hostname)
        folder.mkdir(parents=True, exist_ok=True)
    import keras  # here, not at the top: it loads TensorFlow, which only downloads need

    try:
        path = keras.utils.get_file(fname, origin=url, cache_dir=str(folder), cache_subdir="",
                                    file_hash=sha256, extract=extract)
    except Exception as err:  # get_file raises plain Exception/ValueError for fetch and hash failures
        if not existed and target.exists():
            target.unlink()  # so that a bad download never passes for a good copy later
        raise DatasetError(f"Downloading {url} to {target} failed ({err}). Check the network and run again.") from err
    return Path(path)


def list_cifar10_images(folder: str | os.PathLike, split: str) -> list[list[Path]]:
    """Check one split of a ``CIFAR-10-images`` folder and list its files, decoding nothing.

    Args:
        folder: The ``CIFAR-10-images`` folder.
        split: ``"train"`` or ``"test"``.

    Returns:
        Ten lists of ``.jpg`` paths, one per class in label order, each sorted by file name.

    Raises:
        ValueError: If ``split`` is unknown.
        DatasetError: If a class folder is missing or holds the wrong number of images.
    """
    if split not in CIFAR10_PER_CLASS:
        raise ValueError(f"split must be 'train' or 'test'. Received: split={split!r}")
    split_dir, expected = Path(folder) / split, CIFAR10_PER_CLASS[split]
    missing = [c for c in CIFAR10_CLASSES if not (split_dir / c).is_dir()]
    if missing:
        raise DatasetError(f"{split_dir} lacks the class folder(s) {', '.join(missing)}; expected all 10 "
                           f"({', '.join(CIFAR10_CLASSES)}). Copy the dataset again, or {_HINT}.")
    groups = []
    for name in CIFAR10_CLASSES:
        files = sorted(e.name for e in os.scandir(split_dir / name) if e.name.endswith(".jpg") and e.is_file())
        if len(files) != expected:
            raise DatasetError(f"{split_dir / name} holds {len(files)} .jpg files, expected {expected}. "
                               f"Copy the dataset again, or {_HINT}.")
        groups.append([split_dir / name / f for f in files])
    return groups


def pick_per_class(groups, n: int | None, seed: int = 0) -> list[list]:
    """Pick ``n`` items of each group with ``numpy.random.default_rng(seed)``, keeping their order.

    Args:
        groups: One sequence per class.
        n: Items to keep per class, or None to keep all.
        seed: The seed; the same seed picks the same items.

    Returns:
        One list per class.
    """
    if n is None:
        return [list(g) for g in groups]
    rng = np.random.default_rng(seed)
    return [[g[i] for i in np.sort(rng.choice(len(g), size=n, replace=False))] for g in groups]


def without_autotune(dataset):
    """Return ``dataset`` with tf.data's autotuning turned off, so that its iterators end at once.

    With autotuning on (tf.data's default), deleting an iterator waits for the autotuner's
    next round, and those rounds come up to 10 s apart: Keras deletes an iterator after
    every epoch of ``fit`` and after every ``evaluate`` and ``predict``, so each of them
    could end with seconds of idle CPU (TensorFlow 2.20 and 2.21 both wait:
    ``python benchmarks/tfdata_iterator_wait.py``, figures in benchmarks/README.md).
    Turned off, the batches are the same and
    ``num_parallel_calls=tf.data.AUTOTUNE`` still runs a map on several threads.

    Args:
        dataset: A ``tf.data.Dataset``.

    Returns:
        The same pipeline, with ``options().autotune.enabled`` False.

    Raises:
        TypeError: If ``dataset`` is not a ``tf.data.Dataset``.
    """
    import tensorflow as tf  # here, not at the top: the rest of this module needs only NumPy

    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"dataset must be a tf.data.Dataset. Received: {type(dataset).__name__}")
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def batches(x, y, batch_size: int, *, shuffle: bool = False, seed: int = 0):
    """Arrays as a ``tf.data`` pipeline of ``(x, y)`` batches, for ``fit``, ``evaluate`` and ``predict``.

    What Keras does with arrays (``model.fit(x, y, batch_size=...)``), in a pipeline whose
    iterators end at once (:func:`without_autotune`). With ``shuffle`` the order changes
    every epoch, drawn from ``seed``.

    Args:
        x: An array of N examples (``(N, ...)``).
        y: N labels, or None for inputs alone (``predict``).
        batch_size: Examples per batch, a positive integer; the last batch may be smaller.
        shuffle: Shuffle all N examples anew every epoch. Defaults to False.
        seed: The shuffle's seed. Defaults to 0.

    Returns:
        A ``tf.data.Dataset`` of ``(x, y)`` batches (of ``x`` batches if ``y`` is None).

    Raises:
        ValueError: For a bad ``batch_size``, no examples, or ``x`` and ``y`` of different
            lengths, before anything is built.
    """
    _check_count("batch_size", batch_size, 1, None)
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must hold at least one example (shape (N, ...), N > 0). Received: x of shape {x.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"x and y must hold the same number of examples. Received: x of shape {x.shape}, "
                             f"y of shape {y.shape}")
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return without_autotune(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def decode_images(paths, size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Decode image files into one uint8 RGB array of shape ``(N, height, width, 3)``.

    Args:
        paths: The files.
        size: The required ``(width, height)``; any other size is an error (no resizing).

    Returns:
        The images, in the order of ``paths``.

    Raises:
        DatasetError: Naming the first file that cannot be decoded or has another size.
    """
    from PIL import Image

    out = np.empty((len(paths), size[1], size[0], 3), np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                if image.size != tuple(size):
                    raise DatasetError(f"{path} is {image.size[0]}x{image.size[1]} pixels, expected "
                                       f"{size[0]}x{size[1]}. Replace the dataset with a good copy.")
                out[i] = np.asarray(image.convert("RGB"))
        except (OSError, SyntaxError, ValueError) as err:  # what PIL raises for garbage or cut-off files
            raise DatasetError(f"{path} could not be decoded ({err}): the file is damaged. "
                               "Replace the dataset with a good copy.") from err
    return out


class _BatchUnpickler(pickle.Unpickler):
    # A CIFAR batch holds only dicts, lists, bytes, ints and NumPy arrays: refusing every
    # other global means even an unverified file cannot run code.
    _ALLOWED = {("numpy._core.multiarray", "_reconstruct"), ("numpy._core.numeric", "_frombuffer"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if module.startswith("numpy.core."):  # the original batches were pickled by NumPy 1
            module = "numpy._core." + module[len("numpy.core."):]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Parse one python-pickle CIFAR batch such as ``data_batch_1`` or ``test_batch``.

    Args:
        path: The batch file.

    Returns:
        ``(x, y)``: x uint8 ``(N, 32, 32, 3)`` RGB, y int64 ``(N,)``, in the file's order.

    Raises:
        DatasetError: If the file is not a CIFAR batch.
    """
    try:
        with open(path, "rb") as f:
            batch = _BatchUnpickler(f, encoding="bytes").load()
        x, y = np.asarray(batch[b"data"], np.uint8), np.asarray(batch[b"labels"], np.int64)
    except Exception as err:  # whatever fails here, the file is not what it should be
        raise DatasetError(f"{path} is not a readable CIFAR batch ({err!r}). {_REDOWNLOAD_FOLDER}") from err
    if x.ndim != 2 or x.shape[1] != 3072 or y.shape != (len(x),):
        raise DatasetError(f"{path} holds data {x.shape} and labels {y.shape}, expected (N, 3072) and (N,). "
                           + _REDOWNLOAD_FOLDER)
    # A row is 1024 red, then 1024 green, then 1024 blue values, each plane row by row.
    return np.ascontiguousarray(x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)), y


def _cifar10_batches(folder: Path) -> Path:
    # An extracted copy is used as found (sizes checked); else the archive is downloaded
    # or reused, and extracted only once its hash matched.
    for batch_dir in (folder / CIFAR10_BATCHES, folder / "cifar-10-python_extracted" / CIFAR10_BATCHES):
        if batch_dir.is_dir():
            break
    else:
        extracted = download(CIFAR10_URL, "cifar-10-python.tar.gz", sha256=CIFAR10_SHA256, data_dir=folder,
                             extract=True)
        batch_dir = extracted / CIFAR10_BATCHES
    for name, size in CIFAR10_BATCH_SIZES.items():
        path = batch_dir / name
        found = f"{path.stat().st_size} bytes" if path.is_file() else "no file"
        if found != f"{size} bytes":
            raise DatasetError(f"{path}: expected {size} bytes, found {found}. The extracted copy is incomplete: "
                               f"delete the folder {batch_dir} and run again to re-download it.")
    return batch_dir


def _keras_split(batch_dir: Path, split: str, n: int | None, seed: int):
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    x, y = (np.concatenate(a) for a in zip(*(read_cifar_batch(batch_dir / name) for name in names)))
    counts = np.bincount(y, minlength=10) if len(y) and y.min() >= 0 else np.zeros(0, int)
    if len(counts) != 10 or any(counts != CIFAR10_PER_CLASS[split]):
        raise DatasetError(f"The {split} batches in {batch_dir} hold {counts.tolist()} images per label, expected "
                           f"{CIFAR10_PER_CLASS[split]} of each of 10. {_REDOWNLOAD_FOLDER}")
    chosen = np.concatenate(pick_per_class([np.flatnonzero(y == c) for c in range(10)], n, seed))
    return x[chosen], y[chosen]


def _image_split(groups, n: int | None, seed: int):
    chosen = pick_per_class(groups, n, seed)
    x = decode_images([path for group in chosen for path in group])
    return x, np.repeat(np.arange(10, dtype=np.int64), [len(g) for g in chosen])


def _fingerprint(paths) -> str:
    stats = [os.stat(p) for p in paths]
    return f"{len(stats)} files, {sum(s.st_size for s in stats)} bytes, newest {max(s.st_mtime_ns for s in stats)}"


def _cached(path: Path, stamp: str, build, shape: tuple[int, ...] = (32, 32, 3)):
    # ``shape`` is one image's (height, width, channels): a cache holding any other is rebuilt.
    try:
        with np.load(path, allow_pickle=False) as f:
            pairs = [(f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])]
            if str(f["fingerprint"]) == stamp and all(
                    x.dtype == np.uint8 and x.shape[1:] == tuple(shape) and y.dtype == np.int64
                    and y.shape == x.shape[:1] for x, y in pairs):
                return tuple(pairs)
    except Exception:  # absent, cut-off or foreign: rebuild it below, never trust it
        pass
    result = build()
    if _writable(path.parent):
        # Written beside the target and then renamed, so an interrupted run leaves no half file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                (x_train, y_train), (x_test, y_test) = result
                np.savez(f, fingerprint=np.array(stamp), x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return result


def _check_count(name: str, value, low: int, high: int | None) -> None:
    if value is None and high is not None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high and value > high):
        allowed = f"None (all) or an integer from {low} to {high}" if high else f"an integer >= {low}"
        raise ValueError(f"{name} must be {allowed}. Received: {name}={value!r}")


def load_cifar10(data_dir: str | os.PathLike | None = None, *, source: str = "auto",
                 train_per_class: int | None = None, test_per_class: int | None = None, seed: int = 0,
                 cache: bool = True, cache_dir: str | os.PathLike | None = None):
    """Load CIFAR-10, whole or as a class-balanced subset, verified and cached.

    Both sources give the same layout and the label ids of ``keras.datasets.cifar10``
    (:data:`CIFAR10_CLASSES`), sorted by label, then by file name (``"images"``) or by
    place in the batches (``"keras"``). Nothing is printed, except Keras' progress bar
    the one time the archive is downloaded.

    Args:
        data_dir: The data folder; None means :func:`utils.config.data_dir`.
        source: ``"images"`` reads ``<data_dir>/CIFAR-10-images/{train,test}/<class>/*.jpg``
            (the offline mirror's JPEGs, slightly lossy). ``"keras"`` reads the original
            batches in ``<data_dir>/cifar-10-batches-py`` (or Keras' extraction folder),
            downloading and verifying the archive when neither exists. ``"auto"`` (default)
            is ``"images"`` when that folder exists, else ``"keras"``.
        train_per_class: Keep this many training images of each class, picked with
            ``numpy.random.default_rng(seed)`` (only those are decoded); None keeps all 5000.
        test_per_class: The same for the test split (all 1000 by default).
        seed: Seed of the subset choice; each split starts a fresh generator from it.
        cache: Keep the arrays in an ``.npz`` in the cache folder and reuse them while the
            source's file count, total size and newest change time stay the same.
        cache_dir: The cache folder; None means :func:`utils.config.cache_dir`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x uint8 ``(N, 32, 32, 3)`` RGB, y int64 ``(N,)``.

    Raises:
        ValueError: For an unknown ``source`` or a bad subset size or seed, before any work.
        DatasetError: If the data is missing, incomplete or damaged, or cannot be downloaded.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(map(repr, SOURCES))}. Received: source={source!r}")
    _check_count("train_per_class", train_per_class, 1, CIFAR10_PER_CLASS["train"])
    _check_count("test_per_class", test_per_class, 1, CIFAR10_PER_CLASS["test"])
    _check_count("seed", seed, 0, None)
    folder = config.data_dir(data_dir)
    if source == "auto":
        source = "images" if (folder / CIFAR10_IMAGES).is_dir() else "keras"
    if source == "images":
        root = folder / CIFAR10_IMAGES
        if not root.is_dir():
            raise DatasetError(f"Expected the folder {root}, found nothing: {_HINT}, or use source='keras'.")
        groups = [list_cifar10_images(root, split) for split in ("train", "test")]
        stamp = _fingerprint(p for split in groups for group in split for p in group)
        loaders = [lambda: _image_split(groups[0], train_per_class, seed),
                   lambda: _image_split(groups[1], test_per_class, seed)]
    else:
        batch_dir = _cifar10_batches(folder)
        stamp = _fingerprint(batch_dir / name for name in CIFAR10_BATCH_SIZES)
        loaders = [lambda: _keras_split(batch_dir, "train", train_per_class, seed),
                   lambda: _keras_split(batch_dir, "test", test_per_class, seed)]

    def build():
        return loaders[0](), loaders[1]()

    if not cache:
        return build()
    name = f"cifar10-{source}-train{train_per_class or 'all'}-test{test_per_class or 'all'}"
    if train_per_class or test_per_class:
        name += f"-seed{seed}"  # the seed only matters for a subset
    return _cached(config.cache_dir(cache_dir) / f"{name}.npz", stamp, build)
