"""The notebooks keep the series' conventions (see tools/nbtools.py), and the tool works.

Fast: no notebook is executed. The exercise cells run in this process (each with its
check cell), and the bootstrap block runs in a subprocess against local git copies.

The first part checks every notebooks/*.ipynb and exercises/*.ipynb (none yet is
fine: those tests then have no cases). The second part checks nbtools and the base
of utils/checks.py on a small notebook written to a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import nbformat
import pytest

from tools import nbtools  # the repository root is on sys.path (pyproject.toml: pythonpath)
from utils import checks

REPO_ROOT = Path(__file__).resolve().parents[1]

_META = runpy.run_path(str(REPO_ROOT / "utils" / "_meta.py"))
REPO, REF = _META["GITHUB_REPOSITORY"], _META["GITHUB_REF"]

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
COPIES = sorted((REPO_ROOT / "exercises").glob("*.ipynb"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def _read(path: Path):
    return nbtools.reads(path.read_text(encoding="utf-8"), _rel(path))


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def expected_urls(rel: str) -> list[tuple[str, str]]:
    """The badges' targets, written out here rather than taken from nbtools."""
    return [
        ("colab", f"https://colab.research.google.com/github/{REPO}/blob/{REF}/{rel}"),
        ("github", f"https://github.com/{REPO}/blob/{REF}/{rel}"),
    ]


def _exercise_pairs(paths):
    """(notebook, exercise cell, check cell) for every exercise; broken ones are left to
    test_exercise_cells_are_well_formed, which reports them."""
    pairs = []
    for path in paths:
        try:
            found = nbtools.exercise_cells(_read(path), _rel(path))
        except ValueError:
            continue
        pairs.extend(pytest.param(path, i, j, id=f"{path.name}:cell{i}") for i, j in found)
    return pairs


def run_exercise(exercise_source: str, check_source: str, namespace_checks=checks, where="cell"):
    """Run an exercise cell then its check expression in a fresh namespace; return the result."""
    namespace = {"__name__": "__exercise__", "checks": namespace_checks}
    exec(compile(exercise_source, f"{where} (exercise)", "exec"), namespace)
    return eval(compile(check_source, f"{where} (check)", "eval"), namespace)


# ---------------------------------------------------------------- the notebooks


@pytest.mark.parametrize("path", NOTEBOOKS + COPIES, ids=_rel)
def test_badges_point_at_the_notebook(path):
    assert nbtools.badge_urls(_read(path)) == expected_urls(_rel(path))


@pytest.mark.parametrize("path", NOTEBOOKS + COPIES, ids=_rel)
def test_setup_cell_follows_the_folded_bootstrap_cell(path):
    cells = _read(path).cells
    setup = [i for i, c in enumerate(cells) if c.cell_type == "code" and "setup" in _tags(c)]
    assert len(setup) == 1, f"{_rel(path)}: expected one code cell tagged 'setup', found {len(setup)}"
    boot = [i for i, c in enumerate(cells) if "bootstrap" in _tags(c)]
    assert boot == [setup[0] - 1], f"{_rel(path)}: expected one bootstrap cell right before the setup cell"
    bootstrap = cells[boot[0]]
    assert bootstrap.cell_type == "code" and bootstrap.source == nbtools.bootstrap_cell_source()
    assert bootstrap.metadata["cellView"] == "form" and bootstrap.metadata["jupyter"] == {"source_hidden": True}
    own = cells[setup[0]].source
    assert nbtools.bootstrap_block(own) is None and len(own.splitlines()) <= 15, (
        f"{_rel(path)}: the setup cell a learner reads should be a few lines without the bootstrap"
    )


@pytest.mark.parametrize("path", NOTEBOOKS + COPIES, ids=_rel)
def test_notebook_is_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert nbtools.format_text(text, _rel(path)) == text, (
        f"{_rel(path)} is not formatted: run `python tools/nbtools.py fmt {_rel(path)}`"
    )


# Where a stored output names a folder of the machine that stored it (a temporary output folder,
# a checkout's absolute path, an installed package), the learner reads a path that is not theirs.
MACHINE_PATHS = re.compile(r"/tmp/|/work/|/root/|/home/|site-packages|/content/")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_stored_outputs_name_no_path_of_the_storing_machine(path):
    found = []
    for index, cell in enumerate(_read(path).cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = output.get("text", "") + output.get("data", {}).get("text/plain", "") + "".join(
                output.get("traceback", []))
            found += [f"cell {index}: ...{text[max(0, m.start() - 40):m.end() + 40]!r}..."
                      for m in MACHINE_PATHS.finditer(text)]
    assert not found, (f"{_rel(path)}: expected stored outputs without paths of the machine that stored them "
                       f"(store with the default output folder, outputs/). Received: " + "; ".join(found))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_exercise_copy_is_up_to_date(path):
    copy = REPO_ROOT / nbtools.exercise_path(_rel(path))
    assert copy.exists(), f"{_rel(copy)} is missing: run `python tools/nbtools.py exercises`"
    expected = nbtools.writes(nbtools.make_exercise(_read(path), _rel(path)))
    assert copy.read_text(encoding="utf-8") == expected, (
        f"{_rel(copy)} is out of date: run `python tools/nbtools.py exercises`"
    )


def test_no_stale_exercise_copies():
    stale = [_rel(p) for p in COPIES if not (REPO_ROOT / "notebooks" / p.name).exists()]
    assert not stale, f"exercise copies without a notebook: {stale}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_exercise_cells_are_well_formed(path):
    nb = _read(path)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for k, i in enumerate(code):
        if "exercise" not in _tags(nb.cells[i]):
            continue
        assert nbtools.solution_regions(nb.cells[i].source), f"{_rel(path)}: cell {i}: no solution region"
        assert k + 1 < len(code) and "check" in _tags(nb.cells[code[k + 1]]), (
            f"{_rel(path)}: cell {i}: the next code cell is not tagged 'check'"
        )
    nbtools.exercise_cells(nb, _rel(path))  # the remaining rules, with a clear message


@pytest.mark.parametrize("path, exercise, check", _exercise_pairs(NOTEBOOKS))
def test_exercise_solution_passes(path, exercise, check, monkeypatch):
    monkeypatch.chdir(path.parent)
    monkeypatch.setenv("CONVNET_MODE", "quick")
    nb = _read(path)
    result = run_exercise(nb.cells[exercise].source, nb.cells[check].source, where=f"{_rel(path)}: cell {exercise}")
    assert isinstance(result, checks.CheckResult)
    assert result.passed, repr(result)


@pytest.mark.parametrize("path, exercise, check", _exercise_pairs(NOTEBOOKS))
def test_exercise_stub_reports_not_implemented(path, exercise, check, monkeypatch):
    monkeypatch.chdir(path.parent)
    monkeypatch.setenv("CONVNET_MODE", "quick")
    nb = _read(path)
    stubbed = nbtools.stub_source(nb.cells[exercise].source)
    result = run_exercise(stubbed, nb.cells[check].source, where=f"{_rel(path)}: cell {exercise} (stubbed)")
    assert isinstance(result, checks.CheckResult)
    assert not result.passed
    assert any("not implemented" in m for m in result.messages), repr(result)


# ------------------------------------------------------- a throwaway notebook

DEMO_PATH = "notebooks/99_demo.ipynb"

DEMO_EXERCISE = textwrap.dedent(
    '''\
    def double(x):
        """Return twice x."""
        ### BEGIN SOLUTION
        y = 2 * x
        return y
        ### END SOLUTION


    def triple(x):
        if True:
            ### BEGIN SOLUTION
            return 3 * x
            ### END SOLUTION'''
)

DEMO_STUBBED = textwrap.dedent(
    f'''\
    def double(x):
        """Return twice x."""
        {nbtools.STUB_LINE}


    def triple(x):
        if True:
            {nbtools.STUB_LINE}'''
)


def demo_json() -> dict:
    """A notebook as an editor leaves it: ids missing, metadata noise, stale badges."""

    def lines(text):
        return text.splitlines(keepends=True)

    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"},
            "widgets": {"state": {}},
            "colab": {"name": "99_demo.ipynb", "provenance": [{"file_id": "x"}]},
        },
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {"id": "abc"},
                "source": lines(
                    "# 99 Demo\n\nA one-line promise.\n\n<!-- badges -->\n"
                    "[old](https://example.com/old)\n<!-- /badges -->\n\n## What you will learn\n"
                ),
            },
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {"tags": ["setup"], "scrolled": True, "execution": {"iopub.execute_input": "x"}},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["Seed: 0\n"]}],
                "source": lines("from utils import checks\nseed = 0\n\n"),
            },
            {"cell_type": "markdown", "id": "keep-me", "metadata": {"tags": []}, "source": "## Exercise 99.1"},
            {
                "cell_type": "code",
                "execution_count": 4,
                "metadata": {"tags": ["exercise"], "collapsed": False},
                "outputs": [],
                "source": lines(DEMO_EXERCISE),
            },
            {
                "cell_type": "code",
                "execution_count": 5,
                "metadata": {"tags": ["check"]},
                "outputs": [
                    {
                        "data": {"text/plain": ["✓ Exercise 99.1 passed: double and triple work"]},
                        "execution_count": 5,
                        "metadata": {},
                        "output_type": "execute_result",
                    }
                ],
                "source": "checks.check_demo(double, triple)",
            },
        ],
    }


def demo_nb():
    return nbtools.reads(json.dumps(demo_json()))


def check_demo(double, triple) -> checks.CheckResult:
    """A checker as concrete ones in utils/checks.py are written."""
    result = checks.run_check("99.1", double, 21)
    if not result:
        return result
    second = checks.run_check("99.1", triple, 2)
    if not second:
        return second
    return result.finish(
        [checks.expect_equal("double(21)", 42, result.value), checks.expect_equal("triple(2)", 6, second.value)],
        summary="double and triple work",
    )


DEMO_CHECKS = types.SimpleNamespace(check_demo=check_demo)


def test_normalize_keeps_only_what_matters():
    nb = nbtools.normalize(demo_nb())
    assert nb.nbformat == 4 and nb.nbformat_minor == 5
    assert nb.metadata == {
        "colab": {"provenance": [], "toc_visible": True},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    assert [c.id for c in nb.cells] == ["cell-000", "cell-001", "keep-me", "cell-003", "cell-004"]
    assert [c.metadata for c in nb.cells] == [{}, {"tags": ["setup"]}, {}, {"tags": ["exercise"]}, {"tags": ["check"]}]
    assert nb.cells[1].source == "from utils import checks\nseed = 0"  # trailing blank lines gone
    assert nb.cells[1].outputs and nb.cells[1].execution_count == 3  # outputs are the notebook's
    nbformat.validate(nb)
    assert nbtools.normalize(nb) == nb


def test_normalize_replaces_duplicate_and_invalid_ids():
    nb = demo_nb()
    nb.cells[0]["id"] = "same"
    nb.cells[1]["id"] = "same"
    nb.cells[3]["id"] = "not valid!"
    nb.cells[4]["id"] = "cell-000"  # taken by nobody else first: kept
    ids = [c.id for c in nbtools.normalize(nb).cells]
    assert ids[0] == "same" and ids[2] == "keep-me" and ids[4] == "cell-000"
    assert len(set(ids)) == 5 and ids[1] != "same" and ids[3] != "not valid!"


def test_stamp_writes_badges_and_bootstrap():
    nb = nbtools.stamp(demo_nb(), DEMO_PATH)
    assert nbtools.badge_urls(nb) == expected_urls(DEMO_PATH)
    first = nb.cells[0].source
    assert first.startswith("# 99 Demo\n\nA one-line promise.\n\n<!-- badges -->\n[![Open In Colab]")
    assert first.endswith("<!-- /badges -->\n\n## What you will learn\n")
    assert "example.com/old" not in first
    boot, setup = nb.cells[1], nb.cells[2]
    assert boot.source == nbtools.bootstrap_cell_source() and boot.metadata["tags"] == ["bootstrap"]
    assert boot.source.startswith("#@title ") and boot.metadata["cellView"] == "form"
    assert boot.metadata["jupyter"] == {"source_hidden": True}
    assert setup.source == "from utils import checks\nseed = 0\n\n" and setup.metadata["tags"] == ["setup"]
    assert nbtools.stamp(nb, DEMO_PATH) == nb  # stamping twice changes nothing
    assert nbtools.normalize(nb).cells[1].metadata == boot.metadata  # normalizing keeps the folding


def test_stamp_replaces_an_outdated_block_and_keeps_the_cell_own_lines():
    nb = nbtools.stamp(demo_nb(), DEMO_PATH)
    boot_id = nb.cells[1].id
    old = nb.cells[1].source.replace("timeout=300", "timeout=30").replace("convnet-classics.git", "old.git")
    nb.cells[1].source = old
    again = nbtools.stamp(nb, DEMO_PATH)
    assert again.cells[1].source == nbtools.bootstrap_cell_source() and again.cells[1].id == boot_id
    assert again.cells[2].source == "from utils import checks\nseed = 0\n\n"


def test_stamp_moves_the_older_layout_bootstrap_out_of_the_setup_cell():
    nb = demo_nb()  # the older layout: the setup cell began with the block
    nb.cells[1].source = "\n" + nbtools.bootstrap_source().replace("timeout=300", "timeout=30") + "from utils import checks\nseed = 0\n"
    again = nbtools.stamp(nb, DEMO_PATH)
    assert [_tags(c) for c in again.cells[1:3]] == [["bootstrap"], ["setup"]]
    assert again.cells[1].source == nbtools.bootstrap_cell_source()
    assert again.cells[2].source == "from utils import checks\nseed = 0\n"
    assert again.cells[2].outputs == nb.cells[1].outputs  # the setup cell keeps its outputs


def test_bootstrap_source_names_meta_and_is_short():
    source = nbtools.bootstrap_source()
    lines = source.splitlines()
    assert lines[0] == nbtools.BOOTSTRAP_BEGIN and lines[-1] == nbtools.BOOTSTRAP_END
    assert source.endswith("\n") and len(lines) <= 24  # plumbing: keep it short
    assert lines[-2].startswith("import utils")  # which imports TensorFlow quietly
    assert f'"https://github.com/{REPO}.git"' in source and f'"{REF}"' in source
    assert "# extra code" in source
    compile(source, "bootstrap", "exec")


def test_badges_for_exercise_copies_and_absolute_paths():
    assert nbtools.exercise_path(DEMO_PATH) == "exercises/99_demo.ipynb"
    assert nbtools.expected_badges(REPO_ROOT / DEMO_PATH) == expected_urls(DEMO_PATH)
    nb = nbtools.stamp(demo_nb(), "exercises/99_demo.ipynb")
    assert nbtools.badge_urls(nb) == expected_urls("exercises/99_demo.ipynb")
    with pytest.raises(ValueError, match="inside the repository"):
        nbtools.stamp(demo_nb(), "/somewhere/else/99_demo.ipynb")


def test_stamp_names_notebook_and_cell_on_errors():
    nb = demo_nb()
    nb.cells[0].source = "# 99 Demo"
    with pytest.raises(ValueError, match=r"notebooks/99_demo.ipynb: cell 0: .*badges"):
        nbtools.stamp(nb, DEMO_PATH)
    nb = demo_nb()
    nb.cells[1].metadata = {}
    with pytest.raises(ValueError, match=r"notebooks/99_demo.ipynb: .*tagged 'setup'.*Received: cells \[\]"):
        nbtools.stamp(nb, DEMO_PATH)
    nb = demo_nb()
    nb.cells[1].source = nbtools.BOOTSTRAP_BEGIN + "\nimport os"
    with pytest.raises(ValueError, match=r"notebooks/99_demo.ipynb: cell 1: .*bootstrap"):
        nbtools.stamp(nb, DEMO_PATH)


def test_solution_regions_and_stub_source():
    regions = nbtools.solution_regions(DEMO_EXERCISE)
    assert regions == [nbtools.Region(2, 5, "    "), nbtools.Region(10, 12, "        ")]
    assert nbtools.stub_source(DEMO_EXERCISE) == DEMO_STUBBED
    assert nbtools.solution_regions("x = 1") == []
    assert nbtools.stub_source("x = 1") == "x = 1"


@pytest.mark.parametrize(
    "source, message",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1", r"line 2: .*has no '### END SOLUTION'"),
        ("def f():\n    return 1\n    ### END SOLUTION", r"line 3: .*without a '### BEGIN SOLUTION'"),
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION", r"line 3: .*do not nest"),
        ("def f():\n    ### BEGIN SOLUTION\n    pass\n### END SOLUTION", r"lines 2 and 4: .*same indentation"),
        ("def f():\n    ## BEGIN SOLUTION\n    pass", r"line 2: .*exactly"),
    ],
)
def test_solution_region_errors(source, message):
    with pytest.raises(ValueError, match=message):
        nbtools.solution_regions(source)


@pytest.mark.parametrize("cell, field, value, message", [
    (3, "source", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x",
     r"notebooks/99_demo.ipynb: cell 3: line 2: .*no '### END SOLUTION'"),
    (3, "source", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", r"cell 3: line 1: .*inside a function body"),
    (3, "source", "def f():\n    return 1", r"cell 3: tagged 'exercise' but has no region"),
    (4, "metadata", {}, r"cell 3: .*followed by a code cell tagged 'check'"),
    (4, "source", "result = checks.check_demo(double, triple)", r"cell 4: a check cell must be a single expression"),
    (3, "metadata", {}, r"cell 3: has solution markers but is not tagged 'exercise'"),
])
def test_exercise_rules_name_notebook_and_cell(cell, field, value, message):
    nb = demo_nb()
    nb.cells[cell][field] = value
    with pytest.raises(ValueError, match=message):
        nbtools.make_exercise(nb, DEMO_PATH)


def test_make_exercise():
    source = nbtools.formatted(demo_nb(), DEMO_PATH)
    copy = nbtools.make_exercise(demo_nb(), DEMO_PATH)
    assert nbtools.badge_urls(copy) == expected_urls("exercises/99_demo.ipynb")
    assert [c.id for c in copy.cells] == [c.id for c in source.cells]
    for index in (4, 5):  # the exercise and its check: nothing that gives the answer away
        assert copy.cells[index].outputs == [] and copy.cells[index].execution_count is None
    # every other cell keeps the outputs of the real run, for learners and nbval to compare
    for mine, theirs in zip(copy.cells, source.cells):
        if mine.cell_type == "code" and mine.id not in (copy.cells[4].id, copy.cells[5].id):
            assert mine.outputs == theirs.outputs and mine.execution_count == theirs.execution_count
    assert copy.cells[4].source == DEMO_STUBBED
    assert copy.cells[5].source == source.cells[5].source
    assert copy.cells[1].source == source.cells[1].source  # same bootstrap
    assert copy.cells[2].source == source.cells[2].source  # same own lines
    assert nbtools.formatted(copy, "exercises/99_demo.ipynb") == copy  # fmt leaves it alone
    assert nbtools.make_exercise(nbtools.formatted(demo_nb(), DEMO_PATH), DEMO_PATH) == copy


def test_demo_exercise_solution_passes_and_stub_reports():
    nb = nbtools.formatted(demo_nb(), DEMO_PATH)
    assert nbtools.exercise_cells(nb, DEMO_PATH) == [(4, 5)]
    solved = run_exercise(nb.cells[4].source, nb.cells[5].source, DEMO_CHECKS)
    assert solved.passed and repr(solved) == "✓ Exercise 99.1 passed: double and triple work"
    stubbed = run_exercise(nbtools.stub_source(nb.cells[4].source), nb.cells[5].source, DEMO_CHECKS)
    assert not stubbed.passed
    assert "not implemented" in stubbed.messages[0]
    assert repr(stubbed).startswith("✗ Exercise 99.1 failed:\n    not implemented yet: double()")
    wrong = run_exercise(nb.cells[4].source.replace("2 * x", "x + 2"), nb.cells[5].source, DEMO_CHECKS)
    assert repr(wrong) == "✗ Exercise 99.1 failed:\n    double(21): expected 42, received 23"


def test_formatted_file_text():
    text = nbtools.format_text(json.dumps(demo_json()), DEMO_PATH)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n "cells": [\n  {\n')  # indent 1, sorted keys
    assert "✓ Exercise" in text  # not escaped: ensure_ascii is off
    assert nbtools.format_text(text, DEMO_PATH) == text


def _write_demo(root: Path, name="99_demo.ipynb", data=None) -> Path:
    path = root / "notebooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data or demo_json()), encoding="utf-8")
    return path


def test_cli_fmt(tmp_path, capsys):
    path = _write_demo(tmp_path)
    before = path.read_text(encoding="utf-8")
    assert nbtools.main(["--root", str(tmp_path), "fmt", "--check"]) == 1
    assert "would reformat notebooks/99_demo.ipynb" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == before  # --check changes nothing
    assert nbtools.main(["--root", str(tmp_path), "fmt"]) == 0
    assert nbtools.main(["--root", str(tmp_path), "fmt", "--check", str(path)]) == 0
    assert nbtools.badge_urls(nbtools.reads(path.read_text(encoding="utf-8"))) == expected_urls(DEMO_PATH)


def test_cli_exercises(tmp_path, capsys):
    root = ["--root", str(tmp_path)]
    path = _write_demo(tmp_path)
    assert nbtools.main([*root, "exercises", "--check"]) == 1
    assert "missing: exercises/99_demo.ipynb" in capsys.readouterr().out
    assert nbtools.main([*root, "exercises"]) == 0
    assert nbtools.main([*root, "exercises", "--check"]) == 0
    copy = tmp_path / "exercises" / "99_demo.ipynb"
    assert copy.read_text(encoding="utf-8") == nbtools.writes(nbtools.make_exercise(demo_nb(), DEMO_PATH))
    assert nbtools.main([*root, "fmt", "--check", str(copy)]) == 0  # copies come formatted
    assert nbtools.main([*root, "fmt", "--check", str(path)]) == 1  # the source is not, yet
    capsys.readouterr()

    data = demo_json()
    data["cells"][2]["source"] = "## Exercise 99.1 (edited)"
    _write_demo(tmp_path, data=data)
    (tmp_path / "exercises" / "50_gone.ipynb").write_text("{}", encoding="utf-8")
    assert nbtools.main([*root, "exercises", "--check"]) == 1
    out = capsys.readouterr().out
    assert "out of date: exercises/99_demo.ipynb" in out
    assert "stale" in out and "exercises/50_gone.ipynb" in out
    assert path.exists()


def test_cli_errors_name_notebook_and_cell(tmp_path, capsys):
    data = demo_json()
    data["cells"][3]["source"] = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
    _write_demo(tmp_path, data=data)
    assert nbtools.main(["--root", str(tmp_path), "exercises"]) == 2
    assert "notebooks/99_demo.ipynb: cell 3: line 2" in capsys.readouterr().err
    data = demo_json()
    data["cells"][0]["source"] = "# no badges"
    _write_demo(tmp_path, data=data)
    assert nbtools.main(["--root", str(tmp_path), "fmt"]) == 2
    assert "notebooks/99_demo.ipynb: cell 0:" in capsys.readouterr().err


# ------------------------------------------------------------- utils/checks.py


def test_check_result_report():
    passed = checks.CheckResult("1.2", True, ["fc1 has 102,764,544 parameters"])
    assert repr(passed) == str(passed) == "✓ Exercise 1.2 passed: fc1 has 102,764,544 parameters"
    assert bool(passed) is True
    failed = checks.CheckResult("1.2", False, ["fc1 parameters: expected 1, received 2", "two\nlines"])
    assert repr(failed) == (
        "✗ Exercise 1.2 failed:\n    fc1 parameters: expected 1, received 2\n    two\n    lines"
    )
    assert bool(failed) is False


def test_run_check_reports_instead_of_raising():
    def not_done():
        raise NotImplementedError(nbtools.STUB_LINE)

    def broken():
        raise KeyError("fc1")

    result = checks.run_check("1.2", not_done)
    assert not result and result.messages[0].startswith("not implemented yet: not_done()")
    result = checks.run_check("1.2", broken)
    assert result.messages == ["broken() raised KeyError: 'fc1'"]
    assert "Traceback" not in repr(result)
    result = checks.run_check("1.2", 42)
    assert not result and "expected a function" in result.messages[0]
    result = checks.run_check("1.2", lambda a, b=0: a + b, 1, b=2)
    assert result and result.value == 3
    # A failed call stays the report, even when a checker goes on to compare.
    result = checks.run_check("1.2", not_done).finish([checks.expect_equal("n", 1, None)], "fine")
    assert not result and result.messages[0].startswith("not implemented yet")


def test_expect_equal_is_deterministic():
    import numpy as np

    assert checks.expect_equal("n", 3, 3) is None
    assert checks.expect_equal("shape", (7, 7, 512), [7, 7, 512]) == (
        "shape: expected (7, 7, 512), received [7, 7, 512]"
    )
    assert checks.expect_equal("a", np.arange(3), np.arange(3)) is None
    assert checks.expect_equal("a", np.arange(3), np.arange(4)) == "a: expected shape (3,), received shape (4,)"
    message = checks.expect_equal("f", 1, object())
    assert "0x" not in message and message == "f: expected 1, received <object object>"
    assert len(checks.expect_equal("long", "x" * 1000, "y")) < 300


# ------------------------------------------------------------------ bootstrap


def _git(*args, cwd):
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd, capture_output=True, text=True, check=True, timeout=60,
    )


def run_bootstrap(cwd: Path, url: str, dest: Path) -> subprocess.CompletedProcess:
    """Run the bootstrap block then ``import utils`` in a fresh Python, as Colab would."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(CONVNET_REPO_URL=url, CONVNET_REPO_DIR=str(dest), GIT_TERMINAL_PROMPT="0")
    code = nbtools.bootstrap_source() + "import utils; print(utils.__file__)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _assert_imported_from(result, dest: Path):
    assert result.returncode == 0, result.stderr
    printed = Path(result.stdout.strip().splitlines()[-1]).resolve()
    assert printed == (dest / "utils" / "__init__.py").resolve()


def _assert_reused(tmp_path: Path, dest: Path):
    marker = dest / "utils" / "marker.txt"
    marker.write_text("kept", encoding="utf-8")
    again = run_bootstrap(tmp_path, (tmp_path / "no-such-repo").as_uri(), dest)  # would fail if cloning
    _assert_imported_from(again, dest)
    assert marker.read_text(encoding="utf-8") == "kept"


requires_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@requires_git
def test_bootstrap_clones_this_repository(tmp_path):
    head = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{REF}^{{commit}}"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    if head.returncode != 0:
        pytest.skip(f"the repository has no commit on {REF!r} yet, so there is nothing to clone")
    dest = tmp_path / "clone"
    # Reusing the clone is checked by the next test, on a stand-in utils: a second `import utils` of the real one
    # would import TensorFlow again, 10-20 s on two cores, to check the same lines of the bootstrap.
    _assert_imported_from(run_bootstrap(tmp_path, REPO_ROOT.as_uri(), dest), dest)


@requires_git
def test_bootstrap_clones_a_copy_and_reuses_it(tmp_path):
    """The same, against a tiny repository made here, so it runs before the first commit."""
    source = tmp_path / "origin"
    (source / "utils").mkdir(parents=True)
    (source / "utils" / "__init__.py").write_text('"""Stand-in utils."""\n', encoding="utf-8")
    _git("init", "-q", "-b", REF, cwd=source)
    _git("add", ".", cwd=source)
    _git("commit", "-q", "-m", "stand-in", cwd=source)
    work = tmp_path / "work"
    work.mkdir()
    dest = tmp_path / "clone"
    _assert_imported_from(run_bootstrap(work, source.as_uri(), dest), dest)
    _assert_reused(work, dest)


@requires_git
def test_bootstrap_from_inside_a_checkout_uses_it(tmp_path):
    nested = tmp_path / "checkout" / "notebooks"
    nested.mkdir(parents=True)
    (tmp_path / "checkout" / "utils").mkdir()
    (tmp_path / "checkout" / "utils" / "__init__.py").write_text("", encoding="utf-8")
    result = run_bootstrap(nested, (tmp_path / "no-such-repo").as_uri(), tmp_path / "clone")
    _assert_imported_from(result, tmp_path / "checkout")
    assert not (tmp_path / "clone").exists()


@requires_git
def test_bootstrap_bad_url_fails_fast_and_says_why(tmp_path):
    start = time.monotonic()
    result = run_bootstrap(tmp_path, (tmp_path / "no-such-repo").as_uri(), tmp_path / "clone")
    assert time.monotonic() - start < 60
    assert result.returncode != 0
    assert "RuntimeError: Could not clone" in result.stderr
    assert "network connection or a local checkout" in result.stderr
    assert "CONVNET_REPO_URL" in result.stderr


NBVAL_MARKERS = {"NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_markers_are_exact_and_explained(path):
    # nbval honours a marker only when the comment is exactly "# NBVAL_...": a line like
    # "# NBVAL_IGNORE_OUTPUT: timings" would silently be compared. And an ignored cell
    # must say why on the next line, so a reader knows what is not checked.
    nb = nbtools.reads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if "NBVAL_" not in line:
                continue
            assert line.strip().lstrip("#").strip() in NBVAL_MARKERS, (
                f"{path.name} cell {index}: {line!r} is not an exact nbval marker comment")
            reason = lines[i + 1] if i + 1 < len(lines) else ""
            assert reason.startswith("# "), f"{path.name} cell {index}: say why on the line after {line!r}"
