"""Tests of utils/data.py: verification, digests, downloads without network, CIFAR-10 loading.

The CIFAR-10 tests read the offline mirror (``CONVNET_DATA_DIR``, else ``../shared/data``
beside the repository) and never write to it: damaged copies are trees of symlinks in
``tmp_path``, and every cache goes to ``tmp_path``. No test opens a network connection.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from utils import config, data

MIRROR = Path(os.environ.get(config.DATA_DIR_ENV, "").strip() or Path(config.REPO_ROOT).parent / "shared" / "data")
IMAGES = MIRROR / data.CIFAR10_IMAGES
#: The CIFAR-10-images folder digest published in the mirror's README.
IMAGES_DIGEST = "d4692ca9b519d443f05881c72311c92258960a57bbdee26ec866b8d1a8fa38fb"

needs_mirror = pytest.mark.skipif(
    not IMAGES.is_dir(),
    reason=f"offline data mirror not found: no {IMAGES} (set {config.DATA_DIR_ENV} to the mirror folder)",
)


@pytest.fixture
def fake_keras(monkeypatch):
    """A stand-in ``keras`` module whose get_file records its calls (and never downloads)."""
    calls = []

    def get_file(fname, **kwargs):
        calls.append((fname, kwargs))
        return str(Path(kwargs["cache_dir"]) / fname)

    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace(utils=types.SimpleNamespace(get_file=get_file)))
    return calls


@pytest.fixture
def no_unpickling(monkeypatch):
    """Make every way of unpickling fail the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a file was unpickled")

    for owner in (pickle, data._BatchUnpickler):
        monkeypatch.setattr(owner, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(data, "read_cifar_batch", refuse)


def _no_network(monkeypatch):
    def unreachable(address, *args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)


# ---------------------------------------------------------------- generic helpers


def test_verify_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    assert data.sha256_file(path) == good
    assert data.verify_file(path, sha256=good, size=3) == path
    with pytest.raises(data.DatasetError, match=rf"{re.escape(str(path))} is 3 bytes, expected 4"):
        data.verify_file(path, size=4)
    with pytest.raises(data.DatasetError, match=rf"{re.escape(str(path))} has sha256 {good}, expected 0+.*Delete it"):
        data.verify_file(path, sha256="0" * 64)
    with pytest.raises(data.DatasetError, match="found nothing"):
        data.verify_file(tmp_path / "absent")


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs GNU sha256sum to compare with")
def test_folder_digest_matches_the_shell_recipe(tmp_path):
    # Names that sort differently bytewise than by locale, and the three that sha256sum escapes.
    for name in ("b", "B", "a-b", "a/b", "a/c d", "z\\y", "n\nl", "c\rr", "é"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / "link").symlink_to(tmp_path / "b")  # find -type f skips symlinks
    recipe = "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"
    shell = subprocess.run(recipe, shell=True, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert data.folder_digest(tmp_path) == shell.stdout.split()[0]


def test_check_network_fails_fast_when_unreachable(monkeypatch):
    _no_network(monkeypatch)
    start = time.monotonic()
    with pytest.raises(data.DatasetError, match=r"No network: could not reach example\.org:443.*CONVNET_DATA_DIR"):
        data.check_network("example.org", timeout=5.0)
    assert time.monotonic() - start < 1.0


def test_check_network_gives_up_after_timeout_when_connect_hangs(monkeypatch):
    release = threading.Event()
    hang = lambda *a, **k: (release.wait(30), types.SimpleNamespace(close=lambda: None))[1]  # noqa: E731
    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.monotonic()
    try:
        with pytest.raises(data.DatasetError, match="timed out"):
            data.check_network("example.org", timeout=0.3)
        assert time.monotonic() - start < 2.0
    finally:
        release.set()


def test_check_network_passes_when_reachable(monkeypatch):
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: types.SimpleNamespace(close=lambda: None))
    data.check_network("example.org", timeout=1.0)


def test_download_reuses_a_verified_file_without_network(tmp_path, monkeypatch, fake_keras):
    _no_network(monkeypatch)
    (tmp_path / "f.bin").write_bytes(b"abc")
    sha = data.sha256_file(tmp_path / "f.bin")
    assert data.download("https://example.org/f.bin", "f.bin", sha256=sha, data_dir=tmp_path) == tmp_path / "f.bin"
    assert fake_keras == [("f.bin", dict(origin="https://example.org/f.bin", cache_dir=str(tmp_path),
                                         cache_subdir="", file_hash=sha, extract=False))]


def test_download_without_network_raises_before_keras(tmp_path, monkeypatch, fake_keras):
    _no_network(monkeypatch)
    with pytest.raises(data.DatasetError, match="No network"):
        data.download("https://example.org/f.tar.gz", "f.tar.gz", sha256="0" * 64, data_dir=tmp_path)
    assert fake_keras == []


def test_download_into_read_only_folder_refuses(read_only_folder, monkeypatch, fake_keras):
    monkeypatch.setattr(data, "check_network", lambda *a, **k: pytest.fail("network checked"))
    with pytest.raises(data.DatasetError, match="read-only"):
        data.download("https://example.org/f.tar.gz", "f.tar.gz", sha256="0" * 64, data_dir=read_only_folder)
    assert fake_keras == [] and not any(read_only_folder.iterdir())


def test_failed_download_is_removed_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "check_network", lambda *a, **k: None)

    def bad_get_file(fname, **kwargs):
        (Path(kwargs["cache_dir"]) / fname).write_bytes(b"not the archive")
        raise ValueError("Incomplete or corrupted file detected.")

    keras = types.SimpleNamespace(utils=types.SimpleNamespace(get_file=bad_get_file))
    monkeypatch.setitem(sys.modules, "keras", keras)
    with pytest.raises(data.DatasetError, match="Incomplete or corrupted"):
        data.download("https://example.org/f.tar.gz", "f.tar.gz", sha256="0" * 64, data_dir=tmp_path)
    assert not (tmp_path / "f.tar.gz").exists()


# ---------------------------------------------------------------- CIFAR-10, python batches


def _write_batch(path: Path, labels, seed: int) -> np.ndarray:
    """Write a fake batch in the CIFAR python format; return its images as (N, 32, 32, 3)."""
    rows = np.random.default_rng(seed).integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    batch = {b"batch_label": b"fake batch", b"labels": [int(v) for v in labels], b"data": rows,
             b"filenames": [b"img_%d.png" % i for i in range(len(labels))]}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def test_read_cifar_batch_layout(tmp_path):
    labels = [3, 1, 4, 1, 5]
    images = _write_batch(tmp_path / "data_batch_1", labels, seed=0)
    rows = pickle.loads((tmp_path / "data_batch_1").read_bytes(), encoding="bytes")[b"data"]
    x, y = data.read_cifar_batch(tmp_path / "data_batch_1")
    assert x.shape == (5, 32, 32, 3) and x.dtype == np.uint8 and x.flags.c_contiguous
    assert y.dtype == np.int64 and y.tolist() == labels
    np.testing.assert_array_equal(x, images)
    # Pixel (row 2, column 7) of image 4 is red at 2*32+7, green 1024 later, blue 2048 later.
    assert x[4, 2, 7].tolist() == [rows[4, 71], rows[4, 1024 + 71], rows[4, 2048 + 71]]


def test_read_cifar_batch_refuses_foreign_objects(tmp_path):
    import collections

    (tmp_path / "evil").write_bytes(pickle.dumps({b"data": collections.OrderedDict()}, protocol=2))
    with pytest.raises(data.DatasetError, match="not a readable CIFAR batch.*collections.OrderedDict"):
        data.read_cifar_batch(tmp_path / "evil")
    (tmp_path / "short").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(data.DatasetError, match=r"expected \(N, 3072\)"):
        data.read_cifar_batch(tmp_path / "short")


def _fake_batches(folder: Path, monkeypatch):
    """Write a small fake cifar-10-batches-py (10 train and 2 test images per class)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    splits = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        labels = rng.permutation(np.repeat(np.arange(10), 2))
        images = _write_batch(folder / name, labels, seed=10 + i)
        xs, ys = splits.setdefault("test" if name == "test_batch" else "train", ([], []))
        xs.append(images)
        ys.append(labels)
    meta = {b"label_names": [c.encode() for c in data.CIFAR10_CLASSES], b"num_cases_per_batch": 20}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    monkeypatch.setattr(data, "CIFAR10_BATCH_SIZES", {p.name: p.stat().st_size for p in folder.iterdir()})
    monkeypatch.setattr(data, "CIFAR10_PER_CLASS", {"train": 10, "test": 2})
    expected = {}
    for split, (xs, ys) in splits.items():
        x, y = np.concatenate(xs), np.concatenate(ys)
        order = np.argsort(y, kind="stable")  # by label, then place in the batches
        expected[split] = x[order], y[order]
    return expected


def test_keras_source_on_fake_batches(tmp_path, monkeypatch, fake_keras):
    _no_network(monkeypatch)
    expected = _fake_batches(tmp_path / "data" / data.CIFAR10_BATCHES, monkeypatch)
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(tmp_path / "data", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(x_train, expected["train"][0])
    np.testing.assert_array_equal(y_train, expected["train"][1])
    np.testing.assert_array_equal(x_test, expected["test"][0])
    assert y_train.dtype == y_test.dtype == np.int64 and y_test.tolist() == np.repeat(np.arange(10), 2).tolist()
    assert (tmp_path / "cache" / "cifar10-keras-trainall-testall.npz").is_file()
    (x_sub, y_sub), _ = data.load_cifar10(tmp_path / "data", source="keras", train_per_class=3, cache=False)
    assert y_sub.tolist() == np.repeat(np.arange(10), 3).tolist()
    picked = data.pick_per_class([np.arange(10)] * 10, 3, seed=0)
    rows = np.concatenate([10 * c + np.array(p) for c, p in enumerate(picked)])  # class c fills rows 10c..10c+9
    np.testing.assert_array_equal(x_sub, expected["train"][0][rows])
    assert fake_keras == []


def test_extracted_batches_of_wrong_size_are_not_unpickled(tmp_path, no_unpickling):
    folder = tmp_path / data.CIFAR10_BATCHES
    folder.mkdir()
    for name in data.CIFAR10_BATCH_SIZES:
        (folder / name).write_bytes(b"short")
    expected = r"data_batch_1: expected 31035704 bytes, found 5 bytes.*delete the folder"
    with pytest.raises(data.DatasetError, match=expected):
        data.load_cifar10(tmp_path, source="keras", cache_dir=tmp_path / "cache")


def test_corrupt_archive_fails_verification_and_is_not_unpickled(tmp_path, monkeypatch, fake_keras, no_unpickling):
    _no_network(monkeypatch)
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + os.urandom(2000))
    with pytest.raises(data.DatasetError) as err:
        data.load_cifar10(tmp_path, cache_dir=tmp_path / "cache")
    message = str(err.value)
    assert str(archive) in message and data.CIFAR10_SHA256 in message and "Delete it and run again" in message
    assert fake_keras == [] and archive.exists() and not (tmp_path / "cifar-10-python_extracted").exists()


def test_keras_source_without_network_fails_fast(tmp_path, monkeypatch, fake_keras):
    _no_network(monkeypatch)
    start = time.monotonic()
    with pytest.raises(data.DatasetError, match=r"No network: could not reach www\.cs\.toronto\.edu"):
        data.load_cifar10(tmp_path, cache_dir=tmp_path / "cache")
    assert time.monotonic() - start < 2.0 and fake_keras == []


def test_keras_source_extracts_a_verified_archive_with_real_get_file(tmp_path, monkeypatch):
    import tarfile

    _no_network(monkeypatch)  # the archive is already there: no network needed
    expected = _fake_batches(tmp_path / "build" / data.CIFAR10_BATCHES, monkeypatch)
    archive = tmp_path / "data" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "build" / data.CIFAR10_BATCHES, arcname=data.CIFAR10_BATCHES)
    monkeypatch.setattr(data, "CIFAR10_SHA256", data.sha256_file(archive))
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(tmp_path / "data", cache=False)
    assert (tmp_path / "data" / "cifar-10-python_extracted" / data.CIFAR10_BATCHES / "test_batch").is_file()
    np.testing.assert_array_equal(x_test, expected["test"][0])
    np.testing.assert_array_equal(y_train, expected["train"][1])


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize("kwargs, received", [
    (dict(source="x"), "source='x'"),
    (dict(source="images", train_per_class=0), "train_per_class=0"),
    (dict(train_per_class=5001), "train_per_class=5001"),
    (dict(train_per_class=2.5), "train_per_class=2.5"),
    (dict(train_per_class=True), "train_per_class=True"),
    (dict(test_per_class="3"), "test_per_class='3'"),
    (dict(test_per_class=1001), "test_per_class=1001"),
    (dict(seed=-1), "seed=-1"),
    (dict(seed=None), "seed=None"),
])
def test_bad_arguments_raise_before_any_work(tmp_path, kwargs, received):
    # The data folder does not exist: a ValueError proves the check came first.
    with pytest.raises(ValueError, match=re.escape(f"Received: {received}")):
        data.load_cifar10(tmp_path / "absent", cache_dir=tmp_path / "cache", **kwargs)
    assert not (tmp_path / "cache").exists()


def test_unknown_split_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="Received: split='val'"):
        data.list_cifar10_images(tmp_path, "val")


# ---------------------------------------------------------------- CIFAR-10, images (the mirror)


@needs_mirror
def test_list_cifar10_images_counts_whole_mirror():
    for split, per_class in (("train", 5000), ("test", 1000)):
        groups = data.list_cifar10_images(IMAGES, split)
        assert [len(g) for g in groups] == [per_class] * 10
        for name, group in zip(data.CIFAR10_CLASSES, groups):
            assert {p.parent.name for p in group} == {name}
            assert [p.name for p in group] == sorted(p.name for p in group)


@needs_mirror
def test_subset_from_mirror():
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(
        MIRROR, train_per_class=4, test_per_class=3, seed=7, cache=False)
    assert x_train.shape == (40, 32, 32, 3) and x_test.shape == (30, 32, 32, 3)
    assert x_train.dtype == x_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == [4] * 10 and np.bincount(y_test).tolist() == [3] * 10
    assert np.all(np.diff(y_train) >= 0)  # grouped by class id
    # Each image is the file the same seed picks, from the folder named by its label.
    chosen = [p for g in data.pick_per_class(data.list_cifar10_images(IMAGES, "train"), 4, seed=7) for p in g]
    assert [data.CIFAR10_CLASSES.index(p.parent.name) for p in chosen] == y_train.tolist()
    np.testing.assert_array_equal(x_train, data.decode_images(chosen))
    again = data.load_cifar10(MIRROR, source="images", train_per_class=4, test_per_class=3, seed=7, cache=False)
    np.testing.assert_array_equal(again[0][0], x_train)
    np.testing.assert_array_equal(again[1][0], x_test)
    other = data.load_cifar10(MIRROR, train_per_class=4, test_per_class=3, seed=8, cache=False)
    assert not np.array_equal(other[0][0], x_train)


@needs_mirror
def test_cache_hit_skips_decoding_and_broken_cache_is_rebuilt(tmp_path, monkeypatch):
    decoded = []
    real_decode = data.decode_images
    monkeypatch.setattr(data, "decode_images", lambda paths, *a: decoded.append(len(paths)) or real_decode(paths, *a))
    cache = tmp_path / "cache"
    first = data.load_cifar10(MIRROR, train_per_class=2, test_per_class=3, seed=5, cache_dir=cache)
    assert decoded == [20, 30]
    files = [p.name for p in cache.iterdir()]
    assert files == ["cifar10-images-train2-test3-seed5.npz"]  # and no temporary file left
    second = data.load_cifar10(MIRROR, train_per_class=2, test_per_class=3, seed=5, cache_dir=cache)
    assert decoded == [20, 30]
    for a, b in zip([*first[0], *first[1]], [*second[0], *second[1]]):
        np.testing.assert_array_equal(a, b)
    assert second[0][0].dtype == np.uint8 and second[0][1].dtype == np.int64
    npz = cache / files[0]
    npz.write_bytes(npz.read_bytes()[:500])  # a cut-off cache must be rebuilt, not trusted
    third = data.load_cifar10(MIRROR, train_per_class=2, test_per_class=3, seed=5, cache_dir=cache)
    assert decoded == [20, 30] * 2
    np.testing.assert_array_equal(third[1][0], first[1][0])
    with np.load(npz, allow_pickle=False) as f:
        assert f["x_test"].shape == (30, 32, 32, 3)


def _symlink_tree(tmp_path: Path, real_dir: str = "test/cat") -> Path:
    """Build a CIFAR-10-images copy of symlinks to the mirror in tmp_path.

    Class folders are links to the mirror's, except ``real_dir``, a real folder of one
    link per file, so that files in it can be removed or replaced without touching the mirror.
    """
    root = tmp_path / "data" / data.CIFAR10_IMAGES
    for split in ("train", "test"):
        (root / split).mkdir(parents=True)
        for name in data.CIFAR10_CLASSES:
            if f"{split}/{name}" == real_dir:
                (root / split / name).mkdir()
                for entry in os.scandir(IMAGES / split / name):
                    os.symlink(entry.path, root / split / name / entry.name)
            else:
                os.symlink(IMAGES / split / name, root / split / name)
    return root


def _replace(link: Path, content: bytes) -> None:
    assert link.is_symlink()  # never write through a link into the mirror
    link.unlink()
    link.write_bytes(content)


@needs_mirror
def test_missing_class_folder(tmp_path):
    root = _symlink_tree(tmp_path)
    (root / "test" / "dog").unlink()
    with pytest.raises(data.DatasetError, match=rf"{re.escape(str(root / 'test'))} lacks the class folder\(s\) dog"):
        data.load_cifar10(tmp_path / "data", train_per_class=1, test_per_class=1, cache_dir=tmp_path / "cache")


@needs_mirror
def test_missing_file_is_a_count_mismatch(tmp_path):
    root = _symlink_tree(tmp_path)
    (root / "test" / "cat" / "0500.jpg").unlink()
    folder = re.escape(str(root / "test" / "cat"))
    with pytest.raises(data.DatasetError, match=rf"{folder} holds 999 .jpg files, expected 1000"):
        data.load_cifar10(tmp_path / "data", train_per_class=1, test_per_class=1, cache_dir=tmp_path / "cache")


def _jpeg(size) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


@needs_mirror
@pytest.mark.parametrize("damage, message", [
    (lambda good: good[: len(good) // 2], "could not be decoded"),
    (lambda good: b"not a jpeg " * 100, "could not be decoded"),
    (lambda good: _jpeg((16, 16)), "is 16x16 pixels, expected 32x32"),
])
def test_damaged_image_is_named(tmp_path, damage, message):
    root = _symlink_tree(tmp_path)
    # Damage a file that the subset below is sure to decode.
    victim = data.pick_per_class(data.list_cifar10_images(root, "test"), 2, seed=0)[3][1]
    _replace(victim, damage(victim.read_bytes()))
    with pytest.raises(data.DatasetError, match=re.escape(str(victim)) + ".*" + message):
        data.load_cifar10(tmp_path / "data", train_per_class=1, test_per_class=2, cache_dir=tmp_path / "cache")


@needs_mirror
def test_changed_source_invalidates_cache(tmp_path, monkeypatch):
    root = _symlink_tree(tmp_path)
    kwargs = dict(train_per_class=1, test_per_class=1, cache_dir=tmp_path / "cache")
    first = data.load_cifar10(tmp_path / "data", **kwargs)
    # Replace a file the subset does not use with another valid 32x32 image.
    chosen = data.pick_per_class(data.list_cifar10_images(root, "test"), 1, seed=0)[3]
    other = next(p for p in sorted((root / "test" / "cat").iterdir()) if p not in chosen)
    _replace(other, _jpeg((32, 32)))
    decoded = []
    real_decode = data.decode_images
    monkeypatch.setattr(data, "decode_images", lambda paths, *a: decoded.append(len(paths)) or real_decode(paths, *a))
    second = data.load_cifar10(tmp_path / "data", **kwargs)
    assert decoded == [10, 10]  # rebuilt, with the same result
    np.testing.assert_array_equal(second[1][0], first[1][0])


@needs_mirror
def test_folder_digest_of_mirror_matches_readme():
    # Last on purpose: it also shows that the tests above left the mirror untouched.
    assert data.folder_digest(IMAGES) == IMAGES_DIGEST


def test_without_autotune_turns_autotuning_off_and_keeps_the_batches():
    import tensorflow as tf

    ds = tf.data.Dataset.range(10).map(lambda i: i * 2, num_parallel_calls=tf.data.AUTOTUNE).batch(4)
    assert ds.options().autotune.enabled is not False  # tf.data's default: autotuning on
    off = data.without_autotune(ds)
    assert off.options().autotune.enabled is False
    expected = [[0, 2, 4, 6], [8, 10, 12, 14], [16, 18]]
    assert [b.numpy().tolist() for b in off] == [b.numpy().tolist() for b in ds] == expected
    with pytest.raises(TypeError, match="must be a tf.data.Dataset. Received: ndarray"):
        data.without_autotune(np.arange(3))


def test_batches_are_what_fit_makes_of_arrays():
    x, y = np.arange(10 * 3, dtype=np.float32).reshape(10, 3), np.arange(10) % 2
    ds = data.batches(x, y, 4)
    assert ds.options().autotune.enabled is False
    parts = list(ds)
    assert [len(b[0]) for b in parts] == [4, 4, 2]  # the last batch smaller, as in fit(x, y, batch_size=4)
    assert np.array_equal(np.concatenate([b[0].numpy() for b in parts]), x)  # in order
    assert np.array_equal(np.concatenate([b[1].numpy() for b in parts]), y)
    only_x = list(data.batches(x, None, 8))  # for predict
    assert [tuple(b.shape) for b in only_x] == [(8, 3), (2, 3)]


def test_batches_shuffle_anew_every_epoch_and_alike_with_a_seed():
    x = np.arange(50)

    def epoch(ds):
        return np.concatenate([b[0].numpy() for b in ds])

    ds = data.batches(x, x % 5, 8, shuffle=True, seed=3)
    first, second = epoch(ds), epoch(ds)
    assert sorted(first) == sorted(second) == list(range(50))  # every example once an epoch
    assert not np.array_equal(first, x) and not np.array_equal(first, second)
    assert np.array_equal(epoch(data.batches(x, x % 5, 8, shuffle=True, seed=3)), first)
    pairs = np.concatenate([np.stack([b[0].numpy(), b[1].numpy()], 1) for b in ds])
    assert np.array_equal(pairs[:, 1], pairs[:, 0] % 5)  # labels travel with their examples


@pytest.mark.parametrize("x, y, batch_size, received", [
    (np.zeros((4, 2)), np.zeros(4), 0, "batch_size=0"),
    (np.zeros((4, 2)), np.zeros(4), 2.0, "batch_size=2.0"),
    (np.zeros((4, 2)), np.zeros(4), True, "batch_size=True"),
    (np.zeros((0, 2)), np.zeros(0), 2, "x of shape (0, 2)"),
    (np.float32(1), None, 2, "x of shape ()"),
    (np.zeros((4, 2)), np.zeros(3), 2, "x of shape (4, 2), y of shape (3,)"),
])
def test_batches_bad_input_is_refused_before_any_work(x, y, batch_size, received):
    with pytest.raises(ValueError, match=re.escape(f"Received: {received}")):
        data.batches(x, y, batch_size)
