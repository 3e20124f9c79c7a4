"""tools/colab_stack.py: requirements-colab.txt rewritten from a copy of Colab's pip freeze."""

from __future__ import annotations

import shutil

import pytest

from tools import colab_stack  # the repository root is on sys.path (pyproject.toml: pythonpath)

FILES = ("requirements.txt", "requirements-colab.txt", "environment.yml", "README.md")


@pytest.fixture
def checkout(tmp_path):
    """A copy of the files the tool reads and writes."""
    for name in FILES:
        shutil.copy(colab_stack.REPO_ROOT / name, tmp_path / name)
    return tmp_path


def freeze_of(root, **changed) -> str:
    """A pip freeze naming every Colab-versioned package of requirements-colab.txt, some changed."""
    pins = colab_stack.read_pins((root / "requirements-colab.txt").read_text(encoding="utf-8"))
    lines = ["# a comment, as Colab's file has", "some-other-package==1.0", "google-colab @ file:///colabtools/x.tar.gz"]
    for name, pin in pins.items():
        if not pin.pinned:
            lines.append(f"{pin.name}=={changed.get(name, pin.version)}")
    return "\n".join(lines) + "\n"


def test_update_rewrites_versions_header_and_readme(checkout):
    before = (checkout / "requirements-colab.txt").read_text(encoding="utf-8")
    old = colab_stack.read_pins(before)
    changes = colab_stack.update(checkout, freeze_of(checkout, keras="3.99.0", numpy="2.9.9"), "2030-01-02", "3.14")
    after = (checkout / "requirements-colab.txt").read_text(encoding="utf-8")
    assert "keras==3.99.0" in after.splitlines() and "numpy==2.9.9" in after.splitlines()
    assert "# Colab list of: 2030-01-02" in after and "# Python: 3.14" in after
    assert "nbval==0.11.0  # pinned" in after.splitlines()  # the pinned version, comment kept
    assert len(after.splitlines()) == len(before.splitlines())  # comments kept, nothing added
    assert changes[:2] == [f"keras: {old['keras'].version} -> 3.99.0", f"numpy: {old['numpy'].version} -> 2.9.9"]
    assert changes[-1].startswith("Python: ") and changes[-1].endswith(" -> 3.14")
    readme = (checkout / "README.md").read_text(encoding="utf-8")
    assert colab_stack.tested_on_line(checkout) in readme.splitlines()
    assert "Keras 3.99.0" in colab_stack.tested_on_line(checkout) and "2030-01-02" in readme


def test_update_with_the_same_list_changes_nothing(checkout):
    before = {name: (checkout / name).read_text(encoding="utf-8") for name in FILES}
    date = colab_stack.colab_header(before["requirements-colab.txt"])[0]
    assert colab_stack.update(checkout, freeze_of(checkout), date) == []
    assert {name: (checkout / name).read_text(encoding="utf-8") for name in FILES} == before


def test_update_refuses_a_list_without_a_package(checkout):
    freeze = "\n".join(line for line in freeze_of(checkout).splitlines() if not line.startswith("pydot=="))
    before = (checkout / "requirements-colab.txt").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"Received: a list without pydot\. .*'# pinned'"):
        colab_stack.update(checkout, freeze, "2030-01-02")
    assert (checkout / "requirements-colab.txt").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("date, python, message", [
    ("19 Aug 2026", None, r"Expected --date as YYYY-MM-DD\. Received: '19 Aug 2026'"),
    ("2026-08-19", "3", r"Expected --python as X.Y, e\.g\. 3\.13\. Received: '3'"),
])
def test_update_checks_its_arguments(checkout, date, python, message):
    with pytest.raises(ValueError, match=message):
        colab_stack.update(checkout, freeze_of(checkout), date, python)


def test_cli_prints_changes_and_exits_2_on_errors(checkout, capsys):
    freeze = checkout / "pip-freeze.gpu.txt"
    freeze.write_text(freeze_of(checkout, pandas="9.0.0"), encoding="utf-8")
    assert colab_stack.main(["--root", str(checkout), "update", str(freeze), "--date", "2030-01-02"]) == 0
    out = capsys.readouterr().out
    assert "pandas: " in out and " -> 9.0.0" in out and "bash scripts/test.sh --stack colab" in out
    assert colab_stack.main(["--root", str(checkout), "update", str(checkout / "missing.txt"), "--date", "2030-01-02"]) == 2
    assert "colab_stack: error:" in capsys.readouterr().err
    assert colab_stack.main(["--root", str(checkout), "tested-on"]) == 0
    assert capsys.readouterr().out == colab_stack.tested_on_line(checkout) + "\n"


def test_tested_on_line_refuses_a_readme_without_one(checkout):
    (checkout / "README.md").write_text("# ConvNet Classics\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"expected one line beginning with '\*\*Tested on:\*\*'\. Received: 0"):
        colab_stack.write_tested_on(checkout)
