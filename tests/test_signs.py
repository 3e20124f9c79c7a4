"""Tests of utils/signs.py: the Sign Language Digits loader, photos, SIGNS HDF5 files, one-hot.

The mirror tests read the offline mirror (``CONVNET_DATA_DIR``, else ``../shared/data``
beside the repository) and never write to it: damaged copies are small fake folders or
trees of symlinks in ``tmp_path``, and every cache goes to a temporary folder. The 2062
photos are decoded once per session at most. No test opens a network connection.
"""

from __future__ import annotations

import io
import os
import re
import socket
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from utils import config, data, signs

MIRROR = Path(os.environ.get(config.DATA_DIR_ENV, "").strip() or Path(config.REPO_ROOT).parent / "shared" / "data")
DIGITS = MIRROR / signs.SIGN_DIGITS_FOLDER
SIGNS_DIR = MIRROR / "signs"
#: The three class-7 photos stored sideways with an EXIF orientation tag.
SIDEWAYS = ("IMG_5874.JPG", "IMG_5935.JPG", "IMG_5978.JPG")

needs_mirror = pytest.mark.skipif(
    not DIGITS.is_dir(),
    reason=f"offline data mirror not found: no {DIGITS} (set {config.DATA_DIR_ENV} to the mirror folder)",
)
needs_signs = pytest.mark.skipif(
    not (SIGNS_DIR / "train_signs.h5").is_file(),
    reason=f"SIGNS files not found: no {SIGNS_DIR / 'train_signs.h5'} (set {config.DATA_DIR_ENV} to the mirror folder)",
)


def _no_network(monkeypatch):
    def unreachable(address, *args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)


def _jpeg(color, size=(20, 20), fmt="JPEG", mode="RGB") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    """The default load of the mirror (decoded once), and its cache folder."""
    if not DIGITS.is_dir():
        pytest.skip(f"offline data mirror not found: no {DIGITS}")
    cache = tmp_path_factory.mktemp("signs-cache")
    start = time.monotonic()
    loaded = signs.load_sign_digits(MIRROR, cache_dir=cache)
    return loaded, cache, time.monotonic() - start


@pytest.fixture
def fake_digits(tmp_path, monkeypatch):
    """A small fake dataset in tmp_path/data: 3 photos per digit, each digit its own color."""
    monkeypatch.setattr(signs, "SIGN_DIGITS_COUNTS", (3,) * 10)
    root = tmp_path / "data" / signs.SIGN_DIGITS_FOLDER
    for d in range(10):
        (root / "Dataset" / str(d)).mkdir(parents=True)
        for i in range(3):
            (root / "Dataset" / str(d) / f"IMG_{d}{i}.JPG").write_bytes(_jpeg((25 * d, 100, 250 - 25 * d)))
    (root / "Examples").mkdir()
    for d in range(10):
        (root / "Examples" / f"example_{d}.JPG").write_bytes(_jpeg((0, 0, 0)))
    return root


# ---------------------------------------------------------------- constants and arguments


def test_constants():
    assert sum(signs.SIGN_DIGITS_COUNTS) == 2062 and len(signs.SIGN_DIGITS_COUNTS) == 10
    assert signs.SIGN_DIGITS_URL == ("https://github.com/ardamavi/Sign-Language-Digits-Dataset/archive/"
                                     "4b09433ef9d5c60602e8805bb54b8aa2428527f8.zip")
    assert signs.SIGN_DIGITS_FOLDER.endswith(signs.SIGN_DIGITS_COMMIT)
    assert signs.SIGN_DIGITS_CLASSES == list("0123456789") and signs.SIGNS_CLASSES == list("012345")
    assert (signs.IMAGE_SIZE, signs.TEST_PER_CLASS) == (64, 40)


@pytest.mark.parametrize("kwargs, received", [
    ({"size": 0}, "size=0"),
    ({"size": True}, "size=True"),
    ({"size": 64.0}, "size=64.0"),
    ({"size": 5000}, "size=5000"),
    ({"test_per_class": 0}, "test_per_class=0"),
    ({"test_per_class": 204}, "test_per_class=204"),
    ({"seed": -1}, "seed=-1"),
    ({"seed": None}, "seed=None"),
    ({"cache": "yes"}, "cache='yes'"),
])
def test_bad_arguments_raise_before_any_work(tmp_path, kwargs, received):
    # The data folder does not exist: a ValueError proves the check came first.
    with pytest.raises(ValueError, match=re.escape(f"Received: {received}")):
        signs.load_sign_digits(tmp_path / "absent", cache_dir=tmp_path / "cache", **kwargs)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "absent").exists()


def test_unknown_verify_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="Received: verify='sha'"):
        signs.sign_digits_folder(tmp_path, verify="sha")


# ---------------------------------------------------------------- the mirror


@needs_mirror
def test_mirror_folder_is_used_in_place_and_verified(monkeypatch):
    monkeypatch.setattr(data, "check_network", lambda *a, **k: pytest.fail("network checked"))
    assert signs.sign_digits_folder(MIRROR, download=False) == DIGITS
    assert signs.sign_digits_folder(MIRROR, verify="digest") == DIGITS
    groups = signs.verify_sign_digits(DIGITS)
    assert tuple(len(g) for g in groups) == signs.SIGN_DIGITS_COUNTS
    for d, group in enumerate(groups):
        assert {p.parent.name for p in group} == {str(d)}
        assert [p.name for p in group] == sorted(p.name for p in group)


@needs_mirror
def test_example_photos():
    photos = signs.example_photos(MIRROR)
    assert sorted(photos) == list(range(10))
    assert all(p.is_file() and p.name == f"example_{d}.JPG" for d, p in photos.items())
    assert signs.load_photo(photos[5]).shape == (64, 64, 3)


@needs_mirror
def test_split_sizes_shapes_and_labels(digits):
    ((x_train, y_train), (x_test, y_test)), _, _ = digits
    assert x_train.shape == (1662, 64, 64, 3) and x_test.shape == (400, 64, 64, 3)
    assert x_train.dtype == x_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert np.bincount(y_test).tolist() == [40] * 10
    assert np.bincount(y_train).tolist() == [n - 40 for n in signs.SIGN_DIGITS_COUNTS]
    assert np.all(np.diff(y_train) >= 0) and np.all(np.diff(y_test) >= 0)  # grouped by label
    # The rows are the photos the split names, in its order.
    train, test = signs.split_sign_digits(signs.verify_sign_digits(DIGITS), 40, seed=0)
    for row, path in ((0, train[0][0]), (700, [p for g in train for p in g][700]), (-1, train[9][-1])):
        np.testing.assert_array_equal(x_train[row], signs.load_photo(path))
    np.testing.assert_array_equal(x_test[123], signs.load_photo([p for g in test for p in g][123]))


@needs_mirror
def test_split_is_stratified_disjoint_and_seeded():
    groups = signs.verify_sign_digits(DIGITS)
    train, test = signs.split_sign_digits(groups, 40, seed=0)
    for group, tr, te in zip(groups, train, test, strict=True):
        assert len(te) == 40 and len(tr) == len(group) - 40
        assert not set(tr) & set(te) and set(tr) | set(te) == set(group)
        assert tr == sorted(tr) and te == sorted(te)
    assert signs.split_sign_digits(groups, 40, seed=0) == (train, test)
    other = signs.split_sign_digits(groups, 40, seed=1)
    assert other[1] != test and all(len(t) == 40 for t in other[1])


@needs_mirror
def test_cache_is_reused_and_a_damaged_cache_rebuilt(digits, tmp_path, monkeypatch):
    ((x_train, y_train), (x_test, y_test)), cache, _ = digits
    name = "sign-digits-64px-test40-seed0.npz"
    assert [p.name for p in cache.iterdir()] == [name]  # and no temporary file left
    mine = tmp_path / "cache"
    mine.mkdir()
    (mine / name).write_bytes((cache / name).read_bytes())
    decoded = []
    monkeypatch.setattr(signs, "_decode", lambda groups, size: pytest.fail("decoded despite the cache"))
    start = time.monotonic()
    (a, b), (c, d) = signs.load_sign_digits(MIRROR, cache_dir=mine)
    assert time.monotonic() - start < 2.0
    for got, want in ((a, x_train), (b, y_train), (c, x_test), (d, y_test)):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype

    def fake_decode(groups, size):
        decoded.append(sum(len(g) for g in groups))
        n = sum(len(g) for g in groups)
        return np.zeros((n, size, size, 3), np.uint8), np.zeros(n, np.int64)

    monkeypatch.setattr(signs, "_decode", fake_decode)
    (mine / name).write_bytes((mine / name).read_bytes()[:1000])  # cut off: must be rebuilt, not trusted
    (a, _), _ = signs.load_sign_digits(MIRROR, cache_dir=mine)
    assert decoded == [1662, 400] and not a.any()
    with np.load(mine / name, allow_pickle=False) as f:  # rewritten whole
        assert f["x_train"].shape == (1662, 64, 64, 3)
    signs.load_sign_digits(MIRROR, cache_dir=mine, size=32)  # another size: another cache file
    assert decoded == [1662, 400] * 2 and (mine / "sign-digits-32px-test40-seed0.npz").is_file()


@needs_mirror
def test_changed_photo_invalidates_cache(tmp_path, monkeypatch):
    # A tree of symlinks to the mirror, class 0 a real folder of links (replaceable one by one).
    root = tmp_path / "data" / signs.SIGN_DIGITS_FOLDER
    (root / "Dataset").mkdir(parents=True)
    for d in range(10):
        if d == 0:
            (root / "Dataset" / "0").mkdir()
            for entry in os.scandir(DIGITS / "Dataset" / "0"):
                os.symlink(entry.path, root / "Dataset" / "0" / entry.name)
        else:
            os.symlink(DIGITS / "Dataset" / str(d), root / "Dataset" / str(d))
    decoded = []

    def fake_decode(groups, size):
        n = sum(len(g) for g in groups)
        decoded.append(n)
        return np.zeros((n, size, size, 3), np.uint8), np.zeros(n, np.int64)

    monkeypatch.setattr(signs, "_decode", fake_decode)
    kwargs = {"size": 8, "cache_dir": tmp_path / "cache"}
    signs.load_sign_digits(tmp_path / "data", **kwargs)
    signs.load_sign_digits(tmp_path / "data", **kwargs)
    assert decoded == [1662, 400]
    link = min((root / "Dataset" / "0").iterdir())
    assert link.is_symlink()  # never write through a link into the mirror
    link.unlink()
    link.write_bytes(_jpeg((1, 2, 3), (100, 100)))
    signs.load_sign_digits(tmp_path / "data", **kwargs)
    assert decoded == [1662, 400] * 2


@needs_mirror
def test_load_timings_are_reasonable(digits):
    # Not a benchmark: only a guard against a loader that became very slow.
    assert digits[2] < 60


# ---------------------------------------------------------------- EXIF orientation


def _corr(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel())[0, 1])


@needs_mirror
def test_exif_rotated_photos_come_out_upright():
    from PIL import Image

    class7 = signs.verify_sign_digits(DIGITS)[7]
    photos = {p.name: signs.load_photo(p) for p in class7}
    # The mean of the other (upright, 100x100) class-7 photos is a template of the pose.
    template = np.mean([x for name, x in photos.items() if name not in SIDEWAYS], axis=0)
    for name in SIDEWAYS:
        with Image.open(DIGITS / "Dataset" / "7" / name) as raw:
            assert raw.size == (3024, 3024) and raw.getexif().get(0x0112) == 6  # stored sideways
        upright = photos[name]
        assert upright.shape == (64, 64, 3) and upright.dtype == np.uint8
        scores = [_corr(np.rot90(upright, k), template) for k in range(4)]
        assert scores[0] > 0.4 and scores[0] > max(scores[1:]) + 0.2, (name, scores)


@needs_mirror
def test_keras_load_img_alone_gives_the_sideways_photo():
    # Why load_photo opens files with PIL and applies exif_transpose itself.
    import keras
    from PIL import Image

    for name in SIDEWAYS:
        path = DIGITS / "Dataset" / "7" / name
        raw = keras.utils.load_img(path).resize((64, 64), Image.Resampling.BOX)
        keras_pixels = keras.utils.img_to_array(raw, dtype="uint8").astype(np.int16)
        upright = signs.load_photo(path).astype(np.int16)
        assert np.abs(keras_pixels - np.rot90(upright, 1)).mean() < 1.0  # the upright photo turned 90 degrees
        assert np.abs(keras_pixels - upright).mean() > 20


# ---------------------------------------------------------------- damaged copies


def test_fake_folder_loads_with_correct_labels(fake_digits, tmp_path):
    (x_train, y_train), (x_test, y_test) = signs.load_sign_digits(
        tmp_path / "data", size=16, test_per_class=1, cache_dir=tmp_path / "cache")
    assert x_train.shape == (20, 16, 16, 3) and x_test.shape == (10, 16, 16, 3)
    assert y_test.tolist() == list(range(10)) and np.bincount(y_train).tolist() == [2] * 10
    # Each digit was painted its own color: the label matches the pixels.
    assert np.allclose(x_test[:, 8, 8, 0], 25 * y_test, atol=6)
    assert np.allclose(x_train[:, 8, 8, 0], 25 * y_train, atol=6)


def test_missing_class_folder(fake_digits, tmp_path):
    for f in (fake_digits / "Dataset" / "4").iterdir():
        f.unlink()
    (fake_digits / "Dataset" / "4").rmdir()
    expected = re.escape(str(fake_digits / "Dataset")) + r" lacks the class folder\(s\) 4"
    with pytest.raises(data.DatasetError, match=expected):
        signs.load_sign_digits(tmp_path / "data", test_per_class=1, cache_dir=tmp_path / "cache")


def test_wrong_count_names_folder_and_counts(fake_digits, tmp_path):
    (fake_digits / "Dataset" / "6" / "IMG_61.JPG").unlink()
    folder = re.escape(str(fake_digits / "Dataset" / "6"))
    with pytest.raises(data.DatasetError, match=rf"{folder} holds 2 .JPG photos, expected 3"):
        signs.load_sign_digits(tmp_path / "data", test_per_class=1, cache_dir=tmp_path / "cache")
    (fake_digits / "Dataset" / "6" / "IMG_61.JPG").write_bytes(_jpeg((0, 0, 0)))
    (fake_digits / "Dataset" / "6" / "IMG_62b.jpg").write_bytes(_jpeg((0, 0, 0)))
    with pytest.raises(data.DatasetError, match=rf"{folder} holds 4 .JPG photos, expected 3"):
        signs.sign_digits_folder(tmp_path / "data")


@pytest.mark.parametrize("damage", [
    lambda good: good[: len(good) // 2],  # cut off
    lambda good: b"not a jpeg " * 100,  # not an image, named .JPG
])
def test_damaged_photo_is_named(fake_digits, tmp_path, damage):
    victim = fake_digits / "Dataset" / "3" / "IMG_31.JPG"
    victim.write_bytes(damage(victim.read_bytes()))
    with pytest.raises(data.DatasetError, match=re.escape(str(victim)) + ".*could not be decoded"):
        signs.load_sign_digits(tmp_path / "data", test_per_class=1, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())  # nothing cached


def test_digest_check_finds_a_changed_byte(fake_digits, tmp_path, monkeypatch):
    monkeypatch.setattr(signs, "SIGN_DIGITS_DIGEST", data.folder_digest(fake_digits))
    assert signs.sign_digits_folder(tmp_path / "data", verify="digest") == fake_digits
    (fake_digits / "LICENSE").write_text("changed")
    with pytest.raises(data.DatasetError, match="folder digest .* expected"):
        signs.sign_digits_folder(tmp_path / "data", verify="digest")
    assert signs.sign_digits_folder(tmp_path / "data") == fake_digits  # the counts alone still agree


def test_missing_example_photo(fake_digits, tmp_path):
    (fake_digits / "Examples" / "example_8.JPG").unlink()
    with pytest.raises(data.DatasetError, match=re.escape(str(fake_digits / "Examples" / "example_8.JPG"))):
        signs.example_photos(tmp_path / "data")


# ---------------------------------------------------------------- download


def test_no_network_fails_fast_and_leaves_nothing(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    start = time.monotonic()
    with pytest.raises(data.DatasetError, match=r"No network: could not reach github\.com:443.*CONVNET_DATA_DIR"):
        signs.sign_digits_folder(tmp_path)
    assert time.monotonic() - start < 10
    assert not any(tmp_path.iterdir())
    with pytest.raises(data.DatasetError, match="No network"):
        signs.load_sign_digits(tmp_path, cache_dir=tmp_path / "cache")


def test_absent_folder_without_download(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "check_network", lambda *a, **k: pytest.fail("network checked"))
    with pytest.raises(data.DatasetError, match=rf"{re.escape(str(tmp_path / signs.SIGN_DIGITS_FOLDER))}, found "
                                                r"nothing.*download=True"):
        signs.sign_digits_folder(tmp_path, download=False)


def test_read_only_data_folder_refuses(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "check_network", lambda *a, **k: pytest.fail("network checked"))
    folder = tmp_path / "mirror"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(data.DatasetError, match="read-only"):
            signs.sign_digits_folder(folder)
    finally:
        folder.chmod(0o755)
    assert not any(folder.iterdir())


def _zip_of(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder.parent).as_posix())


@pytest.mark.parametrize("complete", [True, False])
def test_download_unpacks_and_verifies(fake_digits, tmp_path, monkeypatch, complete):
    import keras

    if not complete:
        (fake_digits / "Dataset" / "2" / "IMG_20.JPG").unlink()
    _zip_of(fake_digits, tmp_path / "archive.zip")
    calls = []

    def get_file(fname, origin, cache_dir, cache_subdir):
        calls.append(origin)
        target = Path(cache_dir) / cache_subdir / fname
        target.write_bytes((tmp_path / "archive.zip").read_bytes())
        return str(target)

    monkeypatch.setattr(data, "check_network", lambda *a, **k: None)
    monkeypatch.setattr(keras.utils, "get_file", get_file)
    data_dir = tmp_path / "new"
    if complete:
        folder = signs.sign_digits_folder(data_dir)
        assert folder == data_dir / signs.SIGN_DIGITS_FOLDER
        assert len(signs.verify_sign_digits(folder)[2]) == 3
        assert [p.name for p in data_dir.iterdir()] == [signs.SIGN_DIGITS_FOLDER]  # no zip or temp left
    else:
        with pytest.raises(data.DatasetError, match=r"holds 2 .JPG photos, expected 3"):
            signs.sign_digits_folder(data_dir)
        assert not any(data_dir.iterdir())  # no half copy left behind
    assert calls == [signs.SIGN_DIGITS_URL]


# ---------------------------------------------------------------- load_photo, preprocess, prepare_photo


def test_load_photo_resizes_converts_and_crops(tmp_path):
    from PIL import Image

    path = tmp_path / "gray.png"
    Image.new("L", (30, 10), 77).save(path)
    photo = signs.load_photo(str(path), size=5)
    assert photo.shape == (5, 5, 3) and photo.dtype == np.uint8 and (photo == 77).all()
    # Non-square: the center square is kept, not squashed.
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, 10:20] = 200
    Image.fromarray(wide).save(tmp_path / "wide.png")
    assert (signs.load_photo(tmp_path / "wide.png", size=10) == 200).all()
    # RGBA, bytes and file objects.
    (tmp_path / "rgba.png").write_bytes(_jpeg((10, 20, 30, 0), fmt="PNG", mode="RGBA"))
    assert signs.load_photo(tmp_path / "rgba.png", size=4)[0, 0].tolist() == [10, 20, 30]
    raw = _jpeg((200, 0, 0), (64, 64))
    np.testing.assert_array_equal(signs.load_photo(raw), signs.load_photo(io.BytesIO(raw)))


def test_load_photo_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "absent.jpg"))):
        signs.load_photo(tmp_path / "absent.jpg")
    (tmp_path / "text.JPG").write_text("hello")
    with pytest.raises(data.DatasetError, match=re.escape(str(tmp_path / "text.JPG")) + ".*could not be decoded"):
        signs.load_photo(tmp_path / "text.JPG")
    good = _jpeg((1, 2, 3), (200, 200))
    (tmp_path / "cut.JPG").write_bytes(good[: len(good) // 2])
    with pytest.raises(data.DatasetError, match=re.escape(str(tmp_path / "cut.JPG"))):
        signs.load_photo(tmp_path / "cut.JPG")
    for size in (0, -3, 2.5, "64", 4096):
        with pytest.raises(ValueError, match=re.escape(f"Received: size={size!r}")):
            signs.load_photo(tmp_path / "text.JPG", size=size)
    with pytest.raises(TypeError, match="Received: path=42"):
        signs.load_photo(42)


def test_preprocess_numpy_and_tensors():
    import tensorflow as tf

    x = np.array([[0, 51, 255]], np.uint8)
    out = signs.preprocess(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 0.2, 1]])
    np.testing.assert_array_equal(signs.preprocess(x.astype(np.float64)), out)
    tensor = signs.preprocess(tf.constant(x))
    assert tf.is_tensor(tensor) and tensor.dtype == tf.float32
    np.testing.assert_allclose(tensor.numpy(), out)
    ds = tf.data.Dataset.from_tensor_slices(np.stack([x, x])).map(signs.preprocess)
    np.testing.assert_allclose(next(iter(ds)).numpy(), out)
    with pytest.raises(ValueError, match="Received: images with values from -1.0 to 300.0"):
        signs.preprocess(np.array([-1.0, 300.0]))


def test_prepare_photo_path_and_array_agree(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "p.png")  # lossless, so the file holds exactly `pixels`
    from_path = signs.prepare_photo(tmp_path / "p.png")
    assert from_path.shape == (1, 64, 64, 3) and from_path.dtype == np.float32
    assert 0 <= from_path.min() and from_path.max() <= 1
    for same in (pixels, pixels.astype(np.float32), pixels[np.newaxis], Image.fromarray(pixels),
                 (tmp_path / "p.png").read_bytes(), str(tmp_path / "p.png"),
                 np.concatenate([pixels, np.full((100, 100, 1), 9, np.uint8)], axis=-1),  # alpha dropped
                 signs.load_photo(tmp_path / "p.png")):
        np.testing.assert_array_equal(signs.prepare_photo(same), from_path)
    np.testing.assert_array_equal(signs.prepare_photo(pixels, size=32), signs.preprocess(
        signs.load_photo(tmp_path / "p.png", size=32))[np.newaxis])
    gray = signs.prepare_photo(np.full((64, 64, 1), 51, np.uint8))
    assert gray.shape == (1, 64, 64, 3) and np.allclose(gray, 0.2)


@needs_mirror
def test_prepare_photo_of_an_example_matches_the_training_pixels():
    path = signs.example_photos(MIRROR)[7]
    np.testing.assert_array_equal(signs.prepare_photo(path), signs.preprocess(signs.load_photo(path))[np.newaxis])
    np.testing.assert_array_equal(signs.prepare_photo(path), signs.prepare_photo(signs.load_photo(path)))


@pytest.mark.parametrize("photo, message", [
    (np.zeros((64,), np.uint8), r"Received: photo.shape=\(64,\)"),
    (np.zeros((64, 64, 2), np.uint8), r"Received: photo.shape=\(64, 64, 2\)"),
    (np.zeros((2, 64, 64, 3), np.uint8), r"Received: photo.shape=\(2, 64, 64, 3\)"),
    (np.zeros((0, 64, 3), np.uint8), r"Received: photo.shape=\(0, 64, 3\)"),
    (np.full((8, 8, 3), "a"), "Received: photo.dtype=<U1"),
    (np.full((8, 8, 3), 300.0), "Received: values from 300.0 to 300.0"),
    (np.full((8, 8, 3), 0.5), r"already scaled to \[0, 1\]"),
    ({"not": "a photo"}, "Received: photo of type dict"),
])
def test_prepare_photo_rejects_bad_input(photo, message):
    with pytest.raises((ValueError, TypeError), match=message):
        signs.prepare_photo(photo)


def test_prepare_photo_bad_size():
    with pytest.raises(ValueError, match="Received: size=0"):
        signs.prepare_photo(np.zeros((8, 8, 3), np.uint8), size=0)


# ---------------------------------------------------------------- one-hot


def test_one_hot():
    out = signs.one_hot(np.array([0, 2, 1]), 3)
    assert out.dtype == np.float32 and out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    np.testing.assert_array_equal(signs.one_hot([[5, 0]], signs.SIGNS_CLASSES), np.eye(6, dtype=np.float32)[[5, 0]])
    with pytest.raises(ValueError, match="Received: labels from 0 to 6"):
        signs.one_hot([0, 6], signs.SIGNS_CLASSES)
    with pytest.raises(ValueError, match="Received: labels from -1 to 0"):
        signs.one_hot([-1, 0], 3)
    with pytest.raises(ValueError, match="dtype=float64"):
        signs.one_hot([0.5], 3)
    with pytest.raises(ValueError, match="Received: classes=0"):
        signs.one_hot([0], 0)


# ---------------------------------------------------------------- SIGNS


@needs_signs
def test_load_signs_from_mirror():
    assert signs.signs_h5_available(MIRROR)
    (x_train, y_train), (x_test, y_test), classes = signs.load_signs(MIRROR)
    assert x_train.shape == (1080, 64, 64, 3) and x_test.shape == (120, 64, 64, 3)
    assert x_train.dtype == x_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == [180] * 6 and np.bincount(y_test).tolist() == [20] * 6
    assert classes.tolist() == list(range(6))
    assert signs.one_hot(y_test, classes).shape == (120, 6)


@needs_signs
def test_signs_files_directly_in_the_data_folder(tmp_path):
    for name in signs.SIGNS_FILES.values():
        os.symlink(SIGNS_DIR / name, tmp_path / name)
    assert signs.signs_h5_paths(tmp_path) == {s: tmp_path / n for s, n in signs.SIGNS_FILES.items()}
    (_, y_train), _, _ = signs.load_signs(tmp_path)
    assert len(y_train) == 1080


def test_absent_signs_files_say_where_to_put_them(tmp_path):
    assert not signs.signs_h5_available(tmp_path)
    with pytest.raises(data.DatasetError) as err:
        signs.load_signs(tmp_path)
    message = str(err.value)
    for name in ("train_signs.h5", "test_signs.h5"):
        assert str(tmp_path / "signs" / name) in message
    assert "not redistribute" in message and "load_sign_digits" in message and "default" in message
    _write_signs(tmp_path / "signs", "train")
    with pytest.raises(data.DatasetError, match="test_signs.h5") as err:
        signs.load_signs(tmp_path)
    assert "train_signs.h5" not in str(err.value)


def _write_signs(folder: Path, split: str, n: int = 12, **changes) -> Path:
    """Write a small valid SIGNS file; ``changes`` replace (or, as None, drop) its datasets."""
    import h5py

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    content = {f"{split}_set_x": rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
               f"{split}_set_y": np.arange(n, dtype=np.int64) % 6,
               "list_classes": np.arange(6, dtype=np.int64)}
    content.update(changes)
    path = folder / signs.SIGNS_FILES[split]
    with h5py.File(path, "w") as f:
        for key, value in content.items():
            if value is not None:
                f[key] = value
    return path


def test_small_valid_signs_files(tmp_path):
    _write_signs(tmp_path / "signs", "train", n=12)
    _write_signs(tmp_path / "signs", "test", n=6, test_set_y=np.arange(6, dtype=np.int32).reshape(1, 6))
    (x_train, y_train), (x_test, y_test), classes = signs.load_signs(tmp_path)
    assert x_train.shape == (12, 64, 64, 3) and x_test.shape == (6, 64, 64, 3) and len(y_train) == 12
    assert y_test.tolist() == list(range(6)) and y_test.dtype == np.int64 and classes.tolist() == list(range(6))


@pytest.mark.parametrize("split, changes, message", [
    ("train", {"train_set_y": None}, r"lacks the dataset 'train_set_y'.*Received: keys list_classes, train_set_x"),
    ("test", {"list_classes": None}, "lacks the dataset 'list_classes'"),
    ("train", {"train_set_x": np.zeros((12, 64, 64, 3), np.float32)},
     r"'train_set_x' must be uint8 images \(N, 64, 64, 3\). Received: float32 \(12, 64, 64, 3\)"),
    ("train", {"train_set_x": np.zeros((12, 32, 32, 3), np.uint8)}, r"Received: uint8 \(12, 32, 32, 3\)"),
    ("test", {"test_set_x": np.zeros((12, 64, 64), np.uint8)}, r"Received: uint8 \(12, 64, 64\)"),
    ("train", {"train_set_y": np.zeros(12, np.float64)}, ("'train_set_y' must hold integer labels. Received: dtype "
                                                           "float64")),
    ("train", {"train_set_y": np.full(12, 7)}, (r"labels outside list_classes \[0, 1, 2, 3, 4, 5\]. Received: "
                                                r"labels \[7\]")),
    ("test", {"test_set_y": np.zeros(11, np.int64)}, r"one label per image.*\(12,\). Received: shape \(11,\)"),
    ("train", {"list_classes": np.arange(7)}, r"'list_classes' must be distinct integer labels from 0 to 5"),
])
def test_damaged_signs_file_is_rejected(tmp_path, split, changes, message):
    other = "test" if split == "train" else "train"
    _write_signs(tmp_path / "signs", other)
    path = _write_signs(tmp_path / "signs", split, **changes)
    with pytest.raises(data.DatasetError, match=re.escape(str(path)) + ".*" + message):
        signs.load_signs(tmp_path)


def test_signs_file_that_is_not_hdf5(tmp_path):
    _write_signs(tmp_path / "signs", "test")
    (tmp_path / "signs" / "train_signs.h5").write_bytes(b"PK\x03\x04 not hdf5" * 50)
    with pytest.raises(data.DatasetError, match=re.escape(str(tmp_path / "signs" / "train_signs.h5"))
                       + " is not a readable HDF5 file"):
        signs.load_signs(tmp_path)


@needs_mirror
def test_mirror_is_untouched():
    # Last on purpose: the tests above left the mirror as published.
    assert data.folder_digest(DIGITS) == signs.SIGN_DIGITS_DIGEST
