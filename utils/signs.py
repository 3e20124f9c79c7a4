"""Hand-sign photos for notebook 04: the open Sign Language Digits set and the course's SIGNS files.

Two datasets, one layout (x uint8 ``(N, size, size, 3)`` RGB, y int64 labels):

- :func:`load_sign_digits` (the default): Arda Mavi's Sign Language Digits dataset,
  Apache License 2.0 (github.com/ardamavi/Sign-Language-Digits-Dataset; cite
  arXiv:2011.08927). 2062 photos of the digits 0-9, pinned at :data:`SIGN_DIGITS_COMMIT`,
  read in place from the data folder (the offline mirror) or downloaded there from
  GitHub, verified, decoded with their EXIF orientation applied, split and cached.
- :func:`load_signs`: the deeplearning.ai course's SIGNS HDF5 files (digits 0-5). They
  are not redistributed: a learner who has them puts them in the data folder.

Every image goes through :func:`load_photo` (and a learner's own photo through
:func:`prepare_photo`), and every model input through :func:`preprocess`, so training
and the "your own photo" cell see exactly the same pixels.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import tempfile
import urllib.parse
import zipfile
from pathlib import Path

import numpy as np

from . import config, data
from .data import DatasetError

SIGN_DIGITS_COMMIT = "4b09433ef9d5c60602e8805bb54b8aa2428527f8"
#: The folder GitHub's archive of that commit unpacks to, looked for in the data folder.
SIGN_DIGITS_FOLDER = f"Sign-Language-Digits-Dataset-{SIGN_DIGITS_COMMIT}"
SIGN_DIGITS_URL = f"https://github.com/ardamavi/Sign-Language-Digits-Dataset/archive/{SIGN_DIGITS_COMMIT}.zip"
#: Photos per class in ``Dataset/<digit>/`` (2062 in all).
SIGN_DIGITS_COUNTS = (205, 206, 206, 206, 207, 207, 207, 206, 208, 204)
#: The folder digest (:func:`utils.data.folder_digest`) of the pinned commit, 2074 files.
SIGN_DIGITS_DIGEST = "3ba167690e76d35b90fe6de76d0488233a1cbbafcc847479c208d7e0f26e01dd"
SIGN_DIGITS_CLASSES = [str(d) for d in range(10)]
#: The course's SIGNS set: hand signs of the digits 0-5.
SIGNS_CLASSES = [str(d) for d in range(6)]
#: The side of the square images the loaders return by default (the course's 64x64).
IMAGE_SIZE = 64
#: Test photos per digit in the documented split: 400 test, the other 1662 train.
TEST_PER_CLASS = 40
#: Where :func:`load_signs` looks, inside the data folder, first (then the data folder itself).
SIGNS_FOLDER = "signs"
SIGNS_FILES = {"train": "train_signs.h5", "test": "test_signs.h5"}
#: Changed whenever decoding changes, so that caches of the old pixels are rebuilt.
_DECODE_VERSION = "exif-rgb-centercrop-box-v1"
_IMAGE_SUFFIXES = (".jpg", ".jpeg")
_MAX_SIZE = 1024
_VERIFY = ("counts", "digest")
_HINT = f"set {config.DATA_DIR_ENV} to a folder containing {SIGN_DIGITS_FOLDER}/ (see data/README.md)"


# ---------------------------------------------------------------- arguments


def _check_int(name: str, value, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value > high):
        allowed = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
        raise ValueError(f"{name} must be {allowed}. Received: {name}={value!r}")


def _check_size(size) -> None:
    _check_int("size", size, 1, _MAX_SIZE)


# ---------------------------------------------------------------- the folder


def _class_files(root: Path) -> list[list[Path]]:
    # Checks the per-class photo counts of a Sign Language Digits folder and lists the photos.
    dataset = root / "Dataset"
    missing = [d for d in SIGN_DIGITS_CLASSES if not (dataset / d).is_dir()]
    if missing:
        raise DatasetError(f"{dataset} lacks the class folder(s) {', '.join(missing)}; expected all 10 (0-9). "
                           f"Delete {root} and run again to download it, or {_HINT}.")
    groups = []
    for name, expected in zip(SIGN_DIGITS_CLASSES, SIGN_DIGITS_COUNTS, strict=True):
        files = sorted(e.name for e in os.scandir(dataset / name)
                       if e.name.lower().endswith(_IMAGE_SUFFIXES) and e.is_file())
        if len(files) != expected:
            raise DatasetError(f"{dataset / name} holds {len(files)} .JPG photos, expected {expected}: the copy is "
                               f"incomplete or altered. Delete {root} and run again to download it, or {_HINT}.")
        groups.append([dataset / name / f for f in files])
    return groups


def verify_sign_digits(root: str | os.PathLike, *, verify: str = "counts") -> list[list[Path]]:
    """Check a Sign Language Digits folder and list its photos, decoding nothing.

    Args:
        root: The ``Sign-Language-Digits-Dataset-<commit>`` folder.
        verify: ``"counts"`` (default) checks the number of photos in each class folder
            against :data:`SIGN_DIGITS_COUNTS`; ``"digest"`` also checks the folder digest
            (:data:`SIGN_DIGITS_DIGEST`, about 0.2 s), so any changed byte is found.

    Returns:
        Ten lists of photo paths, one per digit, each sorted by file name.

    Raises:
        ValueError: If ``verify`` is unknown.
        DatasetError: If the folder or a class folder is missing, a class holds the wrong
            number of photos, or (``"digest"``) the digest differs.
    """
    if verify not in _VERIFY:
        raise ValueError(f"verify must be one of {', '.join(map(repr, _VERIFY))}. Received: verify={verify!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Expected the folder {root}, found nothing: {_HINT}.")
    groups = _class_files(root)
    if verify == "digest" and (found := data.folder_digest(root)) != SIGN_DIGITS_DIGEST:
        raise DatasetError(f"{root} has the folder digest {found}, expected {SIGN_DIGITS_DIGEST}: a file was "
                           f"changed, added or removed. Delete {root} and run again to download it, or {_HINT}.")
    return groups


def _download_sign_digits(folder: Path) -> None:
    # GitHub builds its archive zips on request and does not promise the same bytes each
    # time, so a zip hash could reject a good download: the unpacked folder is verified
    # by its per-class photo counts instead (and, on request, by its folder digest).
    target = folder / SIGN_DIGITS_FOLDER
    if not data._writable(folder):
        raise DatasetError(f"{target} is missing and {folder} is read-only, so it cannot be downloaded there. "
                           f"Point {config.DATA_DIR_ENV} at a writable folder, or at one that holds it.")
    data.check_network(urllib.parse.urlsplit(SIGN_DIGITS_URL).hostname, hint=_HINT)
    folder.mkdir(parents=True, exist_ok=True)
    import keras  # here, not at the top: it loads TensorFlow

    # Everything happens in a temporary folder beside the target and only a verified
    # folder is renamed into place, so an interrupted run leaves no half copy behind.
    work = Path(tempfile.mkdtemp(dir=folder, prefix=".sign-digits-"))
    try:
        try:
            archive = keras.utils.get_file(f"{SIGN_DIGITS_FOLDER}.zip", origin=SIGN_DIGITS_URL,
                                           cache_dir=str(work), cache_subdir="")
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(work / "unpacked")  # extractall drops absolute and ".." parts of names
        except Exception as err:  # get_file raises plain Exception; a bad zip gives BadZipFile
            raise DatasetError(f"Downloading {SIGN_DIGITS_URL} into {folder} failed ({err}). "
                               "Check the network and run again.") from err
        unpacked = work / "unpacked" / SIGN_DIGITS_FOLDER
        if not unpacked.is_dir():
            raise DatasetError(f"The archive {SIGN_DIGITS_URL} did not hold the folder {SIGN_DIGITS_FOLDER}. "
                               f"Run again, or {_HINT}.")
        _class_files(unpacked)
        os.replace(unpacked, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sign_digits_folder(data_dir: str | os.PathLike | None = None, *, download: bool = True,
                       verify: str = "counts") -> Path:
    """Return the verified Sign Language Digits folder, downloading it when needed.

    ``<data_dir>/Sign-Language-Digits-Dataset-<commit>`` is used in place when it exists
    (the offline mirror is read, never written). Otherwise, with ``download``, the network
    is checked first (a clear error within seconds when there is none), GitHub's archive
    of the pinned commit is downloaded into the data folder, unpacked and verified.

    Args:
        data_dir: The data folder; None means :func:`utils.config.data_dir`.
        download: Download the dataset when it is absent. Defaults to True.
        verify: ``"counts"`` (default) or ``"digest"``: see :func:`verify_sign_digits`.

    Returns:
        The folder, as an absolute ``Path``.

    Raises:
        ValueError: If ``verify`` is unknown.
        DatasetError: If the folder is absent (and ``download`` is False, the data folder is
            read-only or there is no network), or fails verification.
    """
    if verify not in _VERIFY:
        raise ValueError(f"verify must be one of {', '.join(map(repr, _VERIFY))}. Received: verify={verify!r}")
    folder = config.data_dir(data_dir)
    target = folder / SIGN_DIGITS_FOLDER
    if not target.is_dir():
        if not download:
            raise DatasetError(f"Expected the folder {target}, found nothing: {_HINT}, or pass download=True.")
        _download_sign_digits(folder)
    verify_sign_digits(target, verify=verify)
    return target


def example_photos(data_dir: str | os.PathLike | None = None) -> dict[int, Path]:
    """Return the upstream example photos, one per digit (not part of the training data).

    Args:
        data_dir: The data folder; None means :func:`utils.config.data_dir`. The dataset
            is downloaded there if absent, as by :func:`sign_digits_folder`.

    Returns:
        ``{digit: Path}`` for ``Examples/example_<digit>.JPG``, digits 0 to 9.

    Raises:
        DatasetError: If the dataset is unavailable, or an example photo is missing.
    """
    root = sign_digits_folder(data_dir)
    photos = {d: root / "Examples" / f"example_{d}.JPG" for d in range(10)}
    missing = [str(p) for p in photos.values() if not p.is_file()]
    if missing:
        raise DatasetError(f"Expected the example photo(s) {', '.join(missing)}, found nothing. "
                           f"Delete {root} and run again to download it, or {_HINT}.")
    return photos


# ---------------------------------------------------------------- one photo


def _fit(image, size: int):
    # Center-crops to a square (a no-op for the dataset's square photos; a phone photo
    # keeps its proportions instead of being squashed), then resizes with PIL's BOX
    # filter: each output pixel is the average of the input pixels it covers (area
    # averaging, antialiased), so a 3024x3024 photo shrinks without aliasing.
    from PIL import Image

    width, height = image.size
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BOX)
    return image


def _to_array(image) -> np.ndarray:
    import keras  # here, not at the top: it loads TensorFlow

    return keras.utils.img_to_array(image, dtype="uint8")


def load_photo(path, size: int = IMAGE_SIZE) -> np.ndarray:
    """Decode one photo the way the whole project does: upright, RGB, square, resized.

    The file is opened with PIL and its EXIF orientation applied
    (``PIL.ImageOps.exif_transpose``): ``keras.utils.load_img`` does not do that in
    Keras 3, and three class-7 photos of the dataset are stored sideways with such a tag.
    The upright image is converted to RGB, center-cropped to a square and resized with
    area averaging (PIL's BOX filter), then made an array by ``keras.utils.img_to_array``.

    Args:
        path: The image file (str or Path), its bytes, or a binary file object (such as
            an upload in Colab).
        size: The side of the square result, 1 to 1024. Defaults to 64.

    Returns:
        uint8 array ``(size, size, 3)``.

    Raises:
        ValueError: If ``size`` is not an integer from 1 to 1024.
        TypeError: If ``path`` is of another type.
        FileNotFoundError: If the file does not exist.
        DatasetError: If the file is not an image PIL can decode (or is cut off); the
            message names it.
    """
    from PIL import Image, ImageOps

    _check_size(size)
    if isinstance(path, (bytes, bytearray)):
        name, source = "the image bytes", io.BytesIO(path)
    elif isinstance(path, (str, os.PathLike)):
        name = source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"No image file at {source}. Received: path={str(path)!r}")
    elif hasattr(path, "read"):
        name, source = getattr(path, "name", "the image file object"), path
    else:
        raise TypeError(f"path must be a file path, bytes or a binary file object. Received: path={path!r}")
    try:
        with Image.open(source) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")  # convert() decodes every pixel
    except (OSError, SyntaxError, ValueError) as err:  # what PIL raises for garbage or cut-off files
        raise DatasetError(f"{name} could not be decoded as an image ({err}): the file is damaged or is "
                           "not a photo. Replace it with a good copy.") from err
    return _to_array(_fit(image, size))


def preprocess(images):
    """Scale pixels for the model: ``float32 images / 255``, so 0..255 becomes 0..1.

    The one preprocessing of the notebook: training, evaluation and
    :func:`prepare_photo` all call it, so the model always sees the same scale. It
    adds no layer to the model (the course's ResNet50 has a fixed layer list).

    Args:
        images: Pixels from 0 to 255, any shape: a NumPy array (uint8 or float), or a
            TensorFlow tensor (inside ``tf.data`` too).

    Returns:
        float32 in [0, 1], a NumPy array for NumPy input, a tensor for a tensor.

    Raises:
        ValueError: If a NumPy input holds values outside 0..255.
    """
    tf = sys.modules.get("tensorflow")  # no tensor can exist before TensorFlow is imported
    if tf is not None and tf.is_tensor(images):
        return tf.cast(images, tf.float32) / 255.0
    array = np.asarray(images)
    if array.dtype != np.uint8 and array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError("images must hold pixels from 0 to 255. "
                         f"Received: images with values from {array.min()} to {array.max()}")
    return array.astype(np.float32) / np.float32(255.0)


def prepare_photo(photo, size: int = IMAGE_SIZE) -> np.ndarray:
    """Turn one photo into what the model eats: a float32 batch of one, ``(1, size, size, 3)``.

    The shared preprocessing for a learner's own photo: decoded as :func:`load_photo`
    decodes the dataset, then scaled by :func:`preprocess`, as in training.

    Args:
        photo: An image file (str or Path), its bytes, a binary file object, a PIL image
            (EXIF orientation applied), or an array of pixels 0..255: ``(H, W, 3)``,
            ``(H, W, 4)`` (alpha dropped), ``(H, W)`` or ``(H, W, 1)`` (gray), or a batch
            of one of these. uint8 or float; an array of another size is center-cropped and
            resized like a file (float pixels are rounded to uint8 first).
        size: The side of the model's input. Defaults to 64.

    Returns:
        float32 array ``(1, size, size, 3)`` with values in [0, 1].

    Raises:
        ValueError: For a bad ``size``, or an array of another shape, a non-numeric dtype,
            values outside 0..255, or values that look already scaled to [0, 1].
        TypeError: For another type of ``photo``.
        FileNotFoundError, DatasetError: As :func:`load_photo`, for a file.
    """
    _check_size(size)
    if isinstance(photo, (str, os.PathLike, bytes, bytearray)) or hasattr(photo, "read"):
        return preprocess(load_photo(photo, size))[np.newaxis]
    from PIL import Image, ImageOps

    if isinstance(photo, Image.Image):
        return preprocess(_to_array(_fit(ImageOps.exif_transpose(photo).convert("RGB"), size)))[np.newaxis]
    if not hasattr(photo, "shape") and not isinstance(photo, (list, tuple)):
        raise TypeError("photo must be a file path, bytes, a file object, a PIL image or an array. "
                        f"Received: photo of type {type(photo).__name__}")
    array = np.asarray(photo)
    shape = array.shape
    if array.ndim == 4 and shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))) or 0 in array.shape:
        raise ValueError("photo must be an image array (H, W, 3), (H, W, 4), (H, W, 1) or (H, W), or a batch of "
                         f"one. Received: photo.shape={shape}")
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"photo must hold numbers from 0 to 255. Received: photo.dtype={array.dtype}")
    if array.min() < 0 or array.max() > 255:
        raise ValueError(f"photo must hold pixels from 0 to 255. Received: values from {array.min()} to {array.max()}")
    if np.issubdtype(array.dtype, np.floating) and array.max() <= 1 and np.any(array != np.round(array)):
        raise ValueError("photo looks already scaled to [0, 1]; pass pixels from 0 to 255 (prepare_photo scales "
                         f"them itself). Received: values from {array.min()} to {array.max()}")
    if array.dtype != np.uint8:
        array = np.round(array).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 3 and array.shape[:2] == (size, size):
        return preprocess(array)[np.newaxis]
    # A uint8 (H, W), (H, W, 3) or (H, W, 4) array gives mode L, RGB or RGBA by itself; naming
    # the mode is deprecated (Colab's Pillow 11.3 warns).
    image = Image.fromarray(array)
    return preprocess(_to_array(_fit(image.convert("RGB"), size)))[np.newaxis]


# ---------------------------------------------------------------- the dataset


def split_sign_digits(groups, test_per_class: int = TEST_PER_CLASS, seed: int = 0):
    """Split each class deterministically into train and test.

    One ``numpy.random.default_rng(seed)`` permutes each class in turn (digit 0 first);
    the first ``test_per_class`` of a permutation go to test, the rest to train. Each
    part keeps the classes' own order (by file name).

    Args:
        groups: One sequence per class, as :func:`verify_sign_digits` returns.
        test_per_class: Test items per class.
        seed: The seed; the same seed gives the same split.

    Returns:
        ``(train, test)``: each one list per class.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for group in groups:
        order = rng.permutation(len(group))
        chosen = set(order[:test_per_class].tolist())
        test.append([g for i, g in enumerate(group) if i in chosen])
        train.append([g for i, g in enumerate(group) if i not in chosen])
    return train, test


def _decode(groups, size: int):
    paths = [p for group in groups for p in group]
    x = np.empty((len(paths), size, size, 3), np.uint8)
    for i, path in enumerate(paths):
        x[i] = load_photo(path, size)
    return x, np.repeat(np.arange(len(groups), dtype=np.int64), [len(g) for g in groups])


def _stamp(root: Path, paths) -> str:
    # Count, total size and newest change time (as for CIFAR-10), plus the photos' names
    # and classes: moving a photo between class folders changes its label.
    names = hashlib.sha256("\n".join(str(p.relative_to(root)) for p in paths).encode()).hexdigest()[:16]
    return f"{data._fingerprint(paths)}, names {names}, decode {_DECODE_VERSION}"


def load_sign_digits(data_dir: str | os.PathLike | None = None, *, size: int = IMAGE_SIZE,
                     test_per_class: int = TEST_PER_CLASS, seed: int = 0, cache: bool = True,
                     cache_dir: str | os.PathLike | None = None):
    """Load the Sign Language Digits photos, verified, split and cached.

    The folder comes from :func:`sign_digits_folder` (used in place, or downloaded).
    Each class is split by :func:`split_sign_digits`: with the defaults 40 test photos
    per digit, 400 test and 1662 train. Every photo is decoded by :func:`load_photo`
    (EXIF orientation applied, area-averaged to ``size``). Labels are the digits 0-9
    (:data:`SIGN_DIGITS_CLASSES`); the arrays are sorted by label, then by file name.
    Nothing is printed.

    Args:
        data_dir: The data folder; None means :func:`utils.config.data_dir`.
        size: The side of the square images, 1 to 1024. Defaults to 64.
        test_per_class: Test photos per digit, 1 to 203. Defaults to 40.
        seed: Seed of the split. Defaults to 0.
        cache: Keep the arrays in an ``.npz`` in the cache folder and reuse them while the
            photos' count, names, total size and newest change time stay the same; a
            damaged cache is rebuilt. Defaults to True.
        cache_dir: The cache folder; None means :func:`utils.config.cache_dir`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x uint8 ``(N, size, size, 3)`` RGB, y int64 ``(N,)``.

    Raises:
        ValueError: For a bad ``size``, ``test_per_class``, ``seed`` or ``cache``, before any work.
        DatasetError: If the data is missing, incomplete or damaged, or cannot be downloaded.
    """
    _check_size(size)
    _check_int("test_per_class", test_per_class, 1, min(SIGN_DIGITS_COUNTS) - 1)
    _check_int("seed", seed, 0)
    if cache is not True and cache is not False:
        raise ValueError(f"cache must be True or False. Received: cache={cache!r}")
    root = sign_digits_folder(data_dir)
    groups = verify_sign_digits(root)
    train, test = split_sign_digits(groups, test_per_class, seed)

    def build():
        return _decode(train, size), _decode(test, size)

    if not cache:
        return build()
    stamp = _stamp(root, [p for group in groups for p in group])
    path = config.cache_dir(cache_dir) / f"sign-digits-{size}px-test{test_per_class}-seed{seed}.npz"
    return data._cached(path, stamp, build, shape=(size, size, 3))


# ---------------------------------------------------------------- SIGNS (the course's HDF5 files)


def _signs_candidates(folder: Path, split: str) -> list[Path]:
    return [folder / SIGNS_FOLDER / SIGNS_FILES[split], folder / SIGNS_FILES[split]]


def signs_h5_paths(data_dir: str | os.PathLike | None = None) -> dict[str, Path | None]:
    """Find the course's SIGNS files: ``<data_dir>/signs/<file>``, else ``<data_dir>/<file>``.

    Args:
        data_dir: The data folder; None means :func:`utils.config.data_dir`.

    Returns:
        ``{"train": path or None, "test": path or None}`` for ``train_signs.h5`` and
        ``test_signs.h5``.
    """
    folder = config.data_dir(data_dir)
    return {split: next((p for p in _signs_candidates(folder, split) if p.is_file()), None) for split in SIGNS_FILES}


def signs_h5_available(data_dir: str | os.PathLike | None = None) -> bool:
    """Return True when both SIGNS files are in the data folder (see :func:`signs_h5_paths`)."""
    return all(p is not None for p in signs_h5_paths(data_dir).values())


def _read_signs_file(path: Path, split: str):
    import h5py

    keys = (f"{split}_set_x", f"{split}_set_y", "list_classes")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(f"{path} is not a readable HDF5 file ({err}). Replace it with the course's "
                           f"{SIGNS_FILES[split]}.") from err
    with handle:
        found = sorted(handle.keys())
        for key in keys:
            if not isinstance(handle.get(key), h5py.Dataset):
                raise DatasetError(f"{path} lacks the dataset '{key}': expected the keys {', '.join(keys)}. "
                                   f"Received: keys {', '.join(found) or 'none'}")
        x, y, classes = (handle[key][()] for key in keys)
    x_key, y_key = keys[:2]
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (64, 64, 3):
        raise DatasetError(f"{path}: '{x_key}' must be uint8 images (N, 64, 64, 3). "
                           f"Received: {x.dtype} {x.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
        raise DatasetError(f"{path}: '{y_key}' must hold integer labels. Received: dtype {y.dtype}")
    if y.ndim == 2 and 1 in y.shape:  # the course's code keeps labels as (1, N) too
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != len(x):
        raise DatasetError(f"{path}: '{y_key}' must be one label per image of '{x_key}', shape ({len(x)},). "
                           f"Received: shape {y.shape}")
    if (not np.issubdtype(classes.dtype, np.integer) or classes.ndim != 1 or len(classes) == 0
            or len(np.unique(classes)) != len(classes) or classes.min() < 0 or classes.max() >= len(SIGNS_CLASSES)):
        raise DatasetError(f"{path}: 'list_classes' must be distinct integer labels from 0 to "
                           f"{len(SIGNS_CLASSES) - 1}. Received: {classes.dtype} {classes.tolist()}")
    bad = np.setdiff1d(y, classes)
    if bad.size:
        raise DatasetError(f"{path}: '{y_key}' holds labels outside list_classes {classes.tolist()}. "
                           f"Received: labels {bad.tolist()}")
    return x, y.astype(np.int64), classes.astype(np.int64)


def load_signs(data_dir: str | os.PathLike | None = None):
    """Load the deeplearning.ai course's SIGNS set (hand signs of 0-5, 64x64) from its HDF5 files.

    The files are the course's and are not redistributed: a learner who has them puts
    ``train_signs.h5`` and ``test_signs.h5`` in ``<data_dir>/signs/`` (or directly in the
    data folder). Files are checked by content, never by hash: keys ``<split>_set_x``
    (uint8 ``(N, 64, 64, 3)``), ``<split>_set_y`` (N integer labels) and ``list_classes``
    (labels from 0 to 5); a file that differs is rejected with the reason.

    Args:
        data_dir: The data folder; None means :func:`utils.config.data_dir`.

    Returns:
        ``(x_train, y_train), (x_test, y_test), classes``: x uint8 ``(N, 64, 64, 3)``,
        y int64 ``(N,)``, classes the test file's ``list_classes`` as int64.

    Raises:
        DatasetError: If a file is absent (the message says where to put it), is not
            HDF5, or has a missing key, a wrong shape or dtype, or a bad label.
    """
    folder = config.data_dir(data_dir)
    paths = signs_h5_paths(folder)
    missing = [split for split, p in paths.items() if p is None]
    if missing:
        wanted = " and ".join(str(_signs_candidates(folder, s)[0]) for s in missing)
        raise DatasetError(
            f"The course's SIGNS file(s) were not found: put them at {wanted} (or directly in {folder}). "
            "They are the deeplearning.ai course's files and this project does not redistribute them. "
            "Without them, use the open Sign Language Digits dataset (load_sign_digits), the default.")
    x_train, y_train, train_classes = _read_signs_file(paths["train"], "train")
    x_test, y_test, classes = _read_signs_file(paths["test"], "test")
    if not np.array_equal(np.sort(train_classes), np.sort(classes)):
        raise DatasetError(f"{paths['train']} and {paths['test']} list different classes. "
                           f"Received: {train_classes.tolist()} and {classes.tolist()}")
    return (x_train, y_train), (x_test, y_test), classes


# ---------------------------------------------------------------- labels


def one_hot(labels, classes) -> np.ndarray:
    """One-hot encode labels with ``keras.utils.to_categorical``.

    Args:
        labels: Integer labels, shape ``(N,)`` (or ``(N, 1)``, ``(1, N)``).
        classes: The number of classes, or the list of class names.

    Returns:
        float32 array ``(N, number of classes)``.

    Raises:
        ValueError: If ``classes`` is empty or not a count, or a label is not an integer
            from 0 to the number of classes - 1.
    """
    count = classes if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool) else None
    if count is None:
        try:
            count = len(classes)
        except TypeError:
            count = None
    if count is None or count < 1 or isinstance(classes, (str, bool)):
        raise ValueError(f"classes must be a positive count or a list of class names. Received: classes={classes!r}")
    array = np.asarray(labels)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1 or array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of integers. Received: labels.shape={np.shape(labels)}, "
                         f"dtype={array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= count):
        raise ValueError(f"labels must be from 0 to {count - 1}. Received: labels from {array.min()} to {array.max()}")
    import keras  # here, not at the top: it loads TensorFlow

    return keras.utils.to_categorical(array, num_classes=int(count)).astype(np.float32)


# -------------------------------------------------------------- training


#: Notebook 04's training recipe, per run mode. Quick: 5 epochs, minutes on a laptop CPU.
#: ``momentum`` is BatchNorm's (see :func:`utils.resnet.resnet50`); ``validation_per_class``
#: photos of each digit are held out of the training split to choose the checkpoint;
#: ``patience`` is early stopping's, in epochs without a lower validation loss (``None``:
#: no early stopping).
RECIPE = {
    "quick": {"epochs": 5, "batch_size": 32, "learning_rate": 1e-3, "momentum": 0.9, "validation_per_class": 16,
              "patience": None},
    "full": {"epochs": 40, "batch_size": 32, "learning_rate": 1e-3, "momentum": 0.9, "validation_per_class": 16,
             "patience": 8},
}

#: What chooses the checkpoint and stops early. Not the validation accuracy: on 160
#: validation photos it moves in steps of one photo and stops changing once every photo is
#: right, so it cannot tell the later epochs apart. The loss keeps measuring how sure the
#: model is of the right answers.
MONITOR = "val_loss"


def hold_out(x, y, per_class: int, seed: int = 0):
    """Split ``per_class`` examples of each label off a training set, for validation.

    Args:
        x: The images, first axis the examples.
        y: Their integer labels, ``(N,)``.
        per_class: How many of each label go to the validation part, at least 1 and
            fewer than the smallest class.
        seed: Seed of ``numpy.random.default_rng``, which picks them.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``, each in the order of the input.

    Raises:
        ValueError: If x and y differ in length, y is not 1-D integers, or ``per_class``
            does not leave at least one example of every label for training.
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or len(x) != len(y):
        raise ValueError(f"x and y must have the same length and y must be 1-D integer labels. "
                         f"Received: len(x)={len(x)}, y.shape={y.shape}, y.dtype={y.dtype}")
    smallest = int(np.unique(y, return_counts=True)[1].min()) if y.size else 0
    _check_int("per_class", per_class, 1)
    if per_class >= smallest:
        raise ValueError(f"per_class must leave training examples of every label (the smallest has {smallest}). "
                         f"Received: per_class={per_class}")
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(y), bool)
    for label in np.unique(y):
        chosen[rng.permutation(np.flatnonzero(y == label))[:per_class]] = True
    return (x[~chosen], y[~chosen]), (x[chosen], y[chosen])


def augmenter(seed: int = 0):
    """The augmentation for hand photos: small shifts, rotations, zoom and brightness changes.

    Every transform keeps the digit a hand shows: shifts of up to 10% of the side,
    rotations of up to 0.05 turn (18 degrees), zoom of up to 10% either way, brightness
    changed by up to 0.2 of the [0, 1] range; pixels moved in from outside repeat the
    edge (``fill_mode="nearest"``), as the plain backgrounds continue. No flips: see
    notebook 04, section 3, for why (``make_dataset(..., augment=...)`` takes another).

    Args:
        seed: Seed of the random transforms.

    Returns:
        A ``keras.Sequential`` of preprocessing layers, applied with ``training=True``
        to batches of images scaled to [0, 1].
    """
    import keras  # here, not at the top: it loads TensorFlow

    return keras.Sequential([
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed),
        keras.layers.RandomRotation(0.05, fill_mode="nearest", seed=seed + 1),
        keras.layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 2),
        keras.layers.RandomBrightness(0.2, value_range=(0.0, 1.0), seed=seed + 3),
    ], name="augment")


def make_dataset(x, y, classes, *, batch_size: int = 32, training: bool = False, seed: int = 0, augment=None):
    """A ``tf.data`` pipeline: (shuffle,) batch, :func:`preprocess`, (augment,) prefetch.

    Args:
        x: uint8 images ``(N, H, W, 3)``.
        y: Integer labels ``(N,)``, one-hot encoded here with :func:`one_hot`.
        classes: The number of classes or their names.
        batch_size: Images per batch, a positive integer.
        training: Shuffle every epoch (seeded) and augment. Defaults to False.
        seed: Seed of the shuffling and of the default augmentation.
        augment: The augmentation applied in training, a callable taking a batch and
            ``training=True`` (a Keras layer or ``keras.Sequential``), for example
            ``keras.Sequential([augmenter(seed), keras.layers.RandomFlip("horizontal")])``.
            Defaults to None: ``augmenter(seed)``. Ignored when ``training`` is False.

    Returns:
        A ``tf.data.Dataset`` of ``(images float32 in [0, 1], one-hot labels)`` batches, without
        autotuning (:func:`utils.data.without_autotune`).

    Raises:
        ValueError: For images that are not uint8 ``(N, H, W, 3)``, labels of another
            length, or a bad ``batch_size``, before anything is built.
        TypeError: If ``augment`` is neither None nor callable.
    """
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be None or a callable such as a keras.Sequential of Random* layers. "
                        f"Received: augment of type {type(augment).__name__}")
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"x must be uint8 images (N, height, width, 3). Received: x.dtype={x.dtype}, x.shape={x.shape}")
    _check_int("batch_size", batch_size, 1)
    labels = one_hot(y, classes)
    if len(labels) != len(x):
        raise ValueError(f"x and y must have the same length. Received: {len(x)} images and {len(labels)} labels")
    import tensorflow as tf  # here, not at the top

    dataset = tf.data.Dataset.from_tensor_slices((x, labels))
    if training:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(lambda images, onehot: (preprocess(images), onehot),
                                            num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        augment = augmenter(seed) if augment is None else augment
        dataset = dataset.map(lambda images, onehot: (augment(images, training=True), onehot),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return data.without_autotune(dataset.prefetch(tf.data.AUTOTUNE))  # iterators that end at once


def compile_model(model, learning_rate: float, steps: int):
    """Compile a classifier with notebook 04's optimizer, loss and metric.

    Adam whose learning rate follows a cosine decay
    (``keras.optimizers.schedules.CosineDecay``) from ``learning_rate`` at the first
    step to 0 after ``steps`` steps; categorical cross-entropy (the labels of
    :func:`make_dataset` are one-hot); accuracy. Notebook 04 writes these lines out in its
    section 4.1; ``benchmarks/resnet50_signs.py`` calls this function, so it trains as the
    notebook does.

    Args:
        model: A ``keras.Model`` with a softmax output.
        learning_rate: The first learning rate, a positive finite number (e.g.
            ``RECIPE[mode]["learning_rate"]``).
        steps: Training steps over which it decays to 0, a positive integer: usually
            ``epochs * len(train_dataset)``.

    Returns:
        The same model, compiled.

    Raises:
        TypeError: If ``model`` is not a ``keras.Model``.
        ValueError: For a bad ``learning_rate`` or ``steps``, before anything is compiled.
    """
    import keras  # here, not at the top: it loads TensorFlow

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model. Received: model of type {type(model).__name__}")
    if (isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.integer, np.floating))
            or not np.isfinite(learning_rate) or learning_rate <= 0):
        raise ValueError(f"learning_rate must be a positive finite number. Received: learning_rate={learning_rate!r}")
    _check_int("steps", steps, 1)
    schedule = keras.optimizers.schedules.CosineDecay(float(learning_rate), int(steps))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def training_callbacks(checkpoint, patience: int | None = None) -> list:
    """Notebook 04's callbacks: keep the best model, and stop early if asked.

    ``keras.callbacks.ModelCheckpoint`` saves the whole model to ``checkpoint`` at every
    epoch whose validation loss (:data:`MONITOR`) is the lowest so far; with
    ``patience``, ``keras.callbacks.EarlyStopping`` ends training after that many epochs
    without a lower one and puts the best epoch's weights back into the model. Notebook 04
    writes these callbacks out in its section 4.3; ``benchmarks/resnet50_signs.py`` calls
    this function, so it chooses as the notebook does.

    Args:
        checkpoint: Path of the ``.keras`` file to write. It must not exist yet: a model
            trained earlier is never overwritten.
        patience: Epochs to wait for a lower validation loss, an integer >= 1, or ``None``
            (the default) for no early stopping (``RECIPE[mode]["patience"]``).

    Returns:
        A list of callbacks for ``model.fit``.

    Raises:
        ValueError: If ``checkpoint`` does not end in ``.keras`` or ``patience`` is not
            ``None`` or an integer >= 1.
        FileExistsError: If ``checkpoint`` exists already.
    """
    path = Path(checkpoint)
    if path.suffix != ".keras":
        raise ValueError(f"checkpoint must be a path ending in .keras (Keras' native format). "
                         f"Received: checkpoint={str(checkpoint)!r}")
    if patience is not None:
        _check_int("patience", patience, 1)
    config.new_file(path)
    import keras  # here, not at the top: it loads TensorFlow

    callbacks = [keras.callbacks.ModelCheckpoint(str(path), monitor=MONITOR, mode="min", save_best_only=True)]
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=MONITOR, mode="min", patience=int(patience),
                                                       restore_best_weights=True))
    return callbacks
