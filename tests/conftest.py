"""Fixtures shared by the unit tests."""

import pytest


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder with mode 0o555 (like the read-only data mirror), made writable again afterwards."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
