#!/usr/bin/env python
"""Format, stamp and run the series' notebooks, and make the learners' copies.

Usage, from the repository root::

    python tools/nbtools.py fmt [--check] [PATH ...]   # normalize + stamp (default: all)
    python tools/nbtools.py exercises [--check]        # write exercises/ from notebooks/
    python tools/nbtools.py run NOTEBOOK ... [--timeout SECONDS]

``--check`` changes nothing: it lists the files that would change and exits with 1.
``run`` stamps each notebook first (so that the stored outputs come from the stored
code), executes it in place with a ``python3`` kernel of this very interpreter, started
in the notebook's folder with ``CONVNET_MODE=quick`` unless that is set (per-cell
timeout 1200 s by default), writes it formatted, regenerates its exercises/ copy and
prints the wall time. ``--root DIR``, before the command, works on another checkout.
Mistakes in a notebook (a missing badges block or setup cell, a solution region
without its end marker, ...) stop the tool with a message naming the notebook and
the cell index, and exit status 2.

The conventions this tool keeps (tests/test_notebooks.py checks each of them):

Badges
    The first cell is markdown and holds a block between the lines ``<!-- badges -->``
    and ``<!-- /badges -->``. The tool rewrites what is between them: an "Open In
    Colab" and a "View on GitHub" badge pointing at the notebook's own path in the
    repository and ref named in utils/_meta.py, the one place that names them.

Setup cells
    Exactly one code cell is tagged ``setup``: the notebook's own first lines
    (``from utils import config, checks``, ``run = config.start(seed=0)``, ...), which
    the tool never touches. Right before it the tool keeps one code cell tagged
    ``bootstrap`` holding only the bootstrap block (see :func:`bootstrap_source`),
    between the lines ``# --- bootstrap: ...`` and ``# --- end bootstrap ---``, under a
    Colab ``#@title`` line. That cell is plumbing a learner need not read, so it is
    folded: Colab's form view (cell metadata ``cellView: form``) and JupyterLab's
    hidden input (``jupyter.source_hidden``) show only its title. The tool writes that
    cell whole; a setup cell that still begins with the block (the older layout) has
    it moved out into the bootstrap cell.

Exercises
    A code cell tagged ``exercise`` holds one or more regions between the lines
    ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (same indentation). The learner's
    copy replaces each region, markers included, by one line raising
    ``NotImplementedError`` at the markers' indentation. So that the learner's copy
    still runs from top to bottom, every region sits inside a function body: the
    exercise cell defines a function, and only calling it raises.

    The next code cell is tagged ``check``: a single expression such as
    ``checks.check_block_macs(block_macs)`` calling a checker of utils/checks.py,
    which reports (never raises) and returns a ``CheckResult``. The setup cell
    imports ``checks`` (``from utils import checks``).

    Exercise cells are self-contained: they import what they use (from utils, NumPy,
    Keras, ...) and use no variable of earlier cells, and the checker passes them
    whatever input they need. The tests rely on this: they run each exercise cell,
    then its check expression, in a fresh namespace holding only ``checks``, once
    with the solution (the check must pass) and once stubbed (it must fail, saying
    "not implemented").

Learners' copies
    exercises/NN_name.ipynb is notebooks/NN_name.ipynb with the solutions stubbed, the
    outputs and execution counts of the exercise and check cells cleared (nbval runs
    those without comparing), the other cells' outputs kept (so learners and nbval can
    compare against them), and the badges pointing at the exercises/ path. They are
    generated: edit the notebook instead.

Normalized JSON (as tensorflow/docs' nbfmt)
    nbformat 4.5; every cell has an id (valid unique ids are kept, others become
    ``cell-000``, ``cell-001``, ... by position); notebook metadata holds only the
    kernelspec, ``language_info.name`` and Colab's ``provenance``/``toc_visible``;
    cell metadata holds only non-empty ``tags`` (and the bootstrap cell's folding); sources lose trailing whitespace;
    the file is written as nbformat writes it (indent 1, sorted keys, UTF-8 text)
    and ends with a newline.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import runpy
import sys
import time
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import nbformat
from nbformat.v4.rwbase import rejoin_lines

REPO_ROOT = Path(__file__).resolve().parents[1]
META_PATH = REPO_ROOT / "utils" / "_meta.py"

BADGES_BEGIN = "<!-- badges -->"
BADGES_END = "<!-- /badges -->"
BOOTSTRAP_BEGIN = "# --- bootstrap: find or fetch the series' utils (stamped by tools/nbtools.py) ---"
BOOTSTRAP_END = "# --- end bootstrap ---"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
STUB_LINE = (
    'raise NotImplementedError("Exercise not implemented yet: replace this line with your code, '
    'then run the check cell below.")'
)
TAG_SETUP = "setup"
TAG_BOOTSTRAP = "bootstrap"
# The bootstrap cell's first line: what Colab's form view shows of the folded cell.
BOOTSTRAP_TITLE = "#@title Run this first: it makes the series' `utils` importable (fetching the series in Colab)"
# Folds the bootstrap cell: Colab's form view, and JupyterLab's hidden input.
BOOTSTRAP_CELL_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}
TAG_EXERCISE = "exercise"
TAG_CHECK = "check"

NOTEBOOKS_DIR = "notebooks"
EXERCISES_DIR = "exercises"

NOTEBOOK_METADATA = {
    "colab": {"provenance": [], "toc_visible": True},
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# The block every setup cell begins with. @URL@ and @REF@ are filled in from
# utils/_meta.py. It must stay plain Python that needs nothing but the standard
# library and git: it is what runs first on a fresh Colab machine. What need not come
# before `utils` is importable lives in utils (the quiet TensorFlow import in
# utils/__init__.py, the pydot install in config.start), so the block stays short.
_BOOTSTRAP_TEMPLATE = f"""\
{BOOTSTRAP_BEGIN}
# extra code: makes the series' `utils` importable, in a checkout or alone (e.g. on Colab).
import os, pathlib, subprocess, sys
_here = pathlib.Path.cwd().resolve()
_root = next((p for p in (_here, *_here.parents) if (p / "utils" / "__init__.py").is_file()), None)
if _root is None:  # not inside a checkout: clone the series once, then reuse that copy
    _root = pathlib.Path(os.environ.get("CONVNET_REPO_DIR", "~/convnet-classics")).expanduser()
    _url = os.environ.get("CONVNET_REPO_URL", @URL@)
    if not (_root / "utils" / "__init__.py").is_file():
        try:  # GIT_TERMINAL_PROMPT=0: fail at once rather than wait for a password
            subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", @REF@, _url, str(_root)],
                           check=True, capture_output=True, text=True, timeout=300,
                           env={{**os.environ, "GIT_TERMINAL_PROMPT": "0"}})
        except (OSError, subprocess.SubprocessError) as _e:
            raise RuntimeError(f"Could not clone {{_url}}: {{str(getattr(_e, 'stderr', '') or _e).strip()}}\\n"
                "This notebook needs a network connection or a local checkout: run it inside one, or "
                "set CONVNET_REPO_URL to a copy you can reach (e.g. file:///path/to/convnet-classics)."
            ) from None
sys.path.insert(0, str(_root))  # first, so that no other module named `utils` wins
import utils  # noqa: E402  (it also imports TensorFlow with its start-up log muted)
{BOOTSTRAP_END}
"""


# --------------------------------------------------------------------------- meta


def meta() -> tuple[str, str]:
    """Return ``(GITHUB_REPOSITORY, GITHUB_REF)`` as utils/_meta.py states them."""
    values = runpy.run_path(str(META_PATH))
    return values["GITHUB_REPOSITORY"], values["GITHUB_REF"]


def repo_url() -> str:
    """Return the URL the bootstrap block clones when ``CONVNET_REPO_URL`` is unset."""
    repository, _ = meta()
    return f"https://github.com/{repository}.git"


def bootstrap_source() -> str:
    """Return the bootstrap block, marker lines included, ending with a newline."""
    _, ref = meta()
    # json.dumps gives a double-quoted literal that is valid Python for these strings.
    return _BOOTSTRAP_TEMPLATE.replace("@URL@", json.dumps(repo_url())).replace("@REF@", json.dumps(ref))


def _repo_path(path: str | os.PathLike) -> str:
    """Return ``path`` relative to the repository, in POSIX form (what URLs need)."""
    path = Path(path)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(REPO_ROOT)
        except ValueError:
            raise ValueError(
                f"Expected a path inside the repository {REPO_ROOT} or relative to it. "
                f"Received: {path}"
            ) from None
    return PurePosixPath(*path.parts).as_posix()


# ------------------------------------------------------------------------ badges


def expected_badges(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Return the ``(kind, url)`` pairs the badges of the notebook at ``path`` link to."""
    repository, ref = meta()
    rel = _repo_path(path)
    return [
        ("colab", f"https://colab.research.google.com/github/{repository}/blob/{ref}/{rel}"),
        ("github", f"https://github.com/{repository}/blob/{ref}/{rel}"),
    ]


def _badge_lines(path: str | os.PathLike) -> list[str]:
    (_, colab), (_, github) = expected_badges(path)
    return [
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})",
        f"[![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-181717?logo=github)]({github})",
    ]


_BADGE_KINDS = {"Open In Colab": "colab", "View on GitHub": "github"}
_BADGE_LINK = re.compile(r"\[!\[(?P<alt>[^\]]*)\]\([^)]*\)\]\((?P<url>[^)\s]+)\)")


def _badges_span(source: str) -> tuple[int, int] | None:
    """Return the line indices of the badges block's two marker lines, or None."""
    lines = source.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip() == BADGES_BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == BADGES_END]
    if len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0]:
        return begins[0], ends[0]
    return None


def badge_urls(nb) -> list[tuple[str, str]]:
    """Return the ``(kind, url)`` of each badge in the first cell's badges block.

    ``kind`` is ``"colab"`` or ``"github"`` for the two badges this tool writes, else
    the badge's alt text. The list is empty if there is no badges block.
    """
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        return []
    source = nb.cells[0].source
    span = _badges_span(source)
    if span is None:
        return []
    block = "\n".join(source.split("\n")[span[0] + 1 : span[1]])
    return [(_BADGE_KINDS.get(m["alt"], m["alt"]), m["url"]) for m in _BADGE_LINK.finditer(block)]


# ------------------------------------------------------------------- bootstrap


def bootstrap_block(source: str) -> str | None:
    """Return the bootstrap block found in a cell's source (markers included), or None."""
    lines = source.split("\n")
    begin = next((i for i, line in enumerate(lines) if line.strip() == BOOTSTRAP_BEGIN), None)
    end = next((i for i, line in enumerate(lines) if line.strip() == BOOTSTRAP_END), None)
    if begin is None or end is None or end < begin:
        return None
    return "\n".join(lines[begin : end + 1]) + "\n"


def bootstrap_cell_source() -> str:
    """Return the source of the bootstrap cell: its Colab title, then the bootstrap block."""
    return BOOTSTRAP_TITLE + "\n" + bootstrap_source().rstrip("\n")


def _without_bootstrap(source: str, where: str) -> str:
    """Return ``source`` with its bootstrap block (if any) and leading blank lines removed."""
    lines = source.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip() == BOOTSTRAP_BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == BOOTSTRAP_END]
    if len(begins) > 1 or len(ends) > 1 or len(begins) != len(ends) or (begins and ends[0] < begins[0]):
        raise ValueError(
            f"{where}: expected at most one bootstrap block, between the lines "
            f"{BOOTSTRAP_BEGIN!r} and {BOOTSTRAP_END!r}. "
            f"Received: {len(begins)} begin and {len(ends)} end marker lines"
        )
    if begins:
        lines = lines[: begins[0]] + lines[ends[0] + 1 :]
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


# ----------------------------------------------------------------------- stamp


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def stamp(nb, path: str | os.PathLike):
    """Return a copy of ``nb`` with its badges and bootstrap block rewritten.

    Args:
        nb: The notebook (a ``NotebookNode``).
        path: The notebook's path in the repository, e.g. ``"notebooks/01_vgg16.ipynb"``
            (absolute paths inside the repository are accepted too). The badges
            link to it.

    Returns:
        The stamped copy; ``nb`` itself is not changed.

    Raises:
        ValueError: If the first cell has no badges block, or there is not exactly
            one code cell tagged ``setup``. The message names the notebook and cell.
    """
    rel = _repo_path(path)
    nb = copy.deepcopy(nb)
    first = nb.cells[0] if nb.cells else None
    span = _badges_span(first.source) if first is not None and first.cell_type == "markdown" else None
    if span is None:
        received = "no cells" if first is None else f"a {first.cell_type} cell without exactly one such block"
        raise ValueError(
            f"{rel}: cell 0: the first cell must be markdown holding one badges block "
            f"between the lines {BADGES_BEGIN!r} and {BADGES_END!r}. Received: {received}"
        )
    lines = first.source.split("\n")
    first.source = "\n".join(lines[: span[0] + 1] + _badge_lines(rel) + lines[span[1] :])

    setup = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and TAG_SETUP in _tags(c)]
    if len(setup) != 1:
        raise ValueError(
            f"{rel}: expected exactly one code cell tagged {TAG_SETUP!r} (the setup cell, "
            f"which follows the bootstrap cell). Received: cells {setup}"
        )
    index = setup[0]
    nb.cells[index].source = _without_bootstrap(nb.cells[index].source, f"{rel}: cell {index}")
    # One bootstrap cell, right before the setup cell, written whole (its id kept).
    old = [c for c in nb.cells if TAG_BOOTSTRAP in _tags(c)]
    cell_id = old[0].get("id") if old else None
    setup_cell = nb.cells[index]
    nb.cells = [c for c in nb.cells if TAG_BOOTSTRAP not in _tags(c)]
    index = next(i for i, c in enumerate(nb.cells) if c is setup_cell)
    bootstrap = nbformat.v4.new_code_cell(
        bootstrap_cell_source(), metadata={"tags": [TAG_BOOTSTRAP], **copy.deepcopy(BOOTSTRAP_CELL_METADATA)}
    )
    bootstrap.id = cell_id or "bootstrap"
    nb.cells.insert(index, bootstrap)
    return nb


# ------------------------------------------------------------------- normalize


def _source(cell) -> str:
    source = cell.get("source", "")
    if not isinstance(source, str):
        source = "".join(source)
    return source.replace("\r\n", "\n").rstrip()


def _cell_metadata(tags: list[str]) -> dict:
    """Return the metadata a normalized cell keeps: its tags, and the bootstrap cell's folding."""
    metadata = {"tags": tags} if tags else {}
    if TAG_BOOTSTRAP in tags:
        metadata.update(copy.deepcopy(BOOTSTRAP_CELL_METADATA))
    return metadata


def normalize(nb):
    """Return a normalized copy of ``nb`` (see "Normalized JSON" in the module docstring).

    Cell ids that are valid and unique are kept; the others become ``cell-NNN`` from
    the cell's position, so that normalizing twice gives the same notebook.
    """
    if nb.get("nbformat") != 4:
        raise ValueError(f"Expected an nbformat 4 notebook. Received: nbformat={nb.get('nbformat')!r}")
    cells = nb.get("cells", [])
    ids: list[str | None] = []
    seen: set[str] = set()
    for cell in cells:
        cell_id = cell.get("id")
        valid = isinstance(cell_id, str) and _CELL_ID.match(cell_id) and cell_id not in seen
        ids.append(cell_id if valid else None)
        if valid:
            seen.add(cell_id)
    for i, cell_id in enumerate(ids):
        if cell_id is None:
            candidate, n = f"cell-{i:03d}", 0
            while candidate in seen:
                n += 1
                candidate = f"cell-{i:03d}-{n}"
            ids[i] = candidate
            seen.add(candidate)

    new_cells = []
    for cell, cell_id in zip(cells, ids):
        tags = list(dict.fromkeys(_tags(cell)))
        new = {
            "cell_type": cell["cell_type"],
            "id": cell_id,
            "metadata": _cell_metadata(tags),
            "source": _source(cell),
        }
        if cell["cell_type"] == "code":
            new["execution_count"] = cell.get("execution_count")
            new["outputs"] = copy.deepcopy(cell.get("outputs", []))
        elif cell.get("attachments"):
            new["attachments"] = copy.deepcopy(cell["attachments"])
        new_cells.append(new)

    return nbformat.from_dict(
        {
            "cells": new_cells,
            "metadata": copy.deepcopy(NOTEBOOK_METADATA),
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


# ------------------------------------------------------------------- exercises


class Region(NamedTuple):
    """A solution region: the 0-based line indices of its two markers, and their indent."""

    begin: int
    end: int
    indent: str


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def solution_regions(source: str) -> list[Region]:
    """Return the solution regions of a cell's source, in order.

    Raises:
        ValueError: On a begin marker without its end marker (or the reverse), nested
            regions, markers of different indentation, or a line that looks like a
            marker but is not exactly one. The message gives the line number.
    """
    lines = source.split("\n")
    regions: list[Region] = []
    opened: int | None = None
    for n, line in enumerate(lines):
        text = line.strip()
        if text == BEGIN_SOLUTION:
            if opened is not None:
                raise ValueError(
                    f"line {n + 1}: {BEGIN_SOLUTION!r} inside the region opened on line "
                    f"{opened + 1}; close it with {END_SOLUTION!r} first (regions do not nest)"
                )
            opened = n
        elif text == END_SOLUTION:
            if opened is None:
                raise ValueError(f"line {n + 1}: {END_SOLUTION!r} without a {BEGIN_SOLUTION!r} before it")
            if _indent(line) != _indent(lines[opened]):
                raise ValueError(
                    f"lines {opened + 1} and {n + 1}: the two markers of a solution region must have "
                    f"the same indentation. Received: {_indent(lines[opened])!r} and {_indent(line)!r}"
                )
            regions.append(Region(opened, n, _indent(line)))
            opened = None
        elif "BEGIN SOLUTION" in text or "END SOLUTION" in text:
            raise ValueError(
                f"line {n + 1}: a marker line must be exactly {BEGIN_SOLUTION!r} or {END_SOLUTION!r} "
                f"(indentation aside). Received: {text!r}"
            )
    if opened is not None:
        raise ValueError(f"line {opened + 1}: {BEGIN_SOLUTION!r} has no {END_SOLUTION!r} after it")
    return regions


def stub_source(source: str) -> str:
    """Return ``source`` with each solution region replaced by the ``NotImplementedError`` line."""
    lines = source.split("\n")
    for region in reversed(solution_regions(source)):
        lines[region.begin : region.end + 1] = [region.indent + STUB_LINE]
    return "\n".join(lines)


def exercise_path(path: str | os.PathLike) -> str:
    """Map ``notebooks/NN_name.ipynb`` to its learner's copy ``exercises/NN_name.ipynb``."""
    parts = PurePosixPath(_repo_path(path)).parts
    if len(parts) < 2 or parts[0] not in (NOTEBOOKS_DIR, EXERCISES_DIR):
        raise ValueError(
            f"Expected a notebook under {NOTEBOOKS_DIR}/. Received: {PurePosixPath(*parts).as_posix()}"
        )
    return PurePosixPath(EXERCISES_DIR, *parts[1:]).as_posix()


def exercise_cells(nb, path: str | os.PathLike = "notebook") -> list[tuple[int, int]]:
    """Check the exercise conventions and return ``(exercise_cell, check_cell)`` index pairs.

    Raises:
        ValueError: If an exercise cell has no solution region (or a malformed one), a
            region is not inside a function body, an exercise cell is not followed by a
            code cell tagged ``check`` holding one expression, or a cell not tagged
            ``exercise`` has solution markers. The message names notebook and cell.
    """
    where = str(path)
    pairs = []
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for k, i in enumerate(code):
        cell = nb.cells[i]
        try:
            regions = solution_regions(_source(cell))
        except ValueError as error:
            raise ValueError(f"{where}: cell {i}: {error}") from None
        if TAG_EXERCISE not in _tags(cell):
            if regions:
                raise ValueError(
                    f"{where}: cell {i}: has solution markers but is not tagged {TAG_EXERCISE!r}, "
                    "so its solution would stay in the learner's copy"
                )
            continue
        if not regions:
            raise ValueError(
                f"{where}: cell {i}: tagged {TAG_EXERCISE!r} but has no region between "
                f"{BEGIN_SOLUTION!r} and {END_SOLUTION!r}"
            )
        for region in regions:
            if not region.indent:
                raise ValueError(
                    f"{where}: cell {i}: line {region.begin + 1}: a solution region must be inside a "
                    "function body (indented), so that the learner's copy runs and only calling the "
                    "function raises NotImplementedError"
                )
        j = code[k + 1] if k + 1 < len(code) else None
        if j is None or TAG_CHECK not in _tags(nb.cells[j]):
            raise ValueError(
                f"{where}: cell {i}: an exercise cell must be followed by a code cell tagged "
                f"{TAG_CHECK!r}. Received: {'no code cell' if j is None else f'cell {j} without that tag'}"
            )
        try:
            compile(_source(nb.cells[j]), f"{where}: cell {j}", "eval")
        except SyntaxError:
            raise ValueError(
                f"{where}: cell {j}: a check cell must be a single expression calling a checker "
                "of utils/checks.py, e.g. checks.check_block_macs(block_macs)"
            ) from None
        pairs.append((i, j))
    return pairs


def make_exercise(nb, path: str | os.PathLike):
    """Return the learner's copy of a notebook.

    Args:
        nb: The notebook with its solutions.
        path: The notebook's path in the repository (``notebooks/NN_name.ipynb``); the
            copy's badges point at ``exercises/NN_name.ipynb``.

    Returns:
        A normalized notebook with every solution region stubbed and the outputs and
        execution counts of the exercise and check cells cleared; the other cells keep
        the notebook's outputs.

    Raises:
        ValueError: If the notebook breaks a convention (see :func:`exercise_cells`
            and :func:`stamp`).
    """
    rel = _repo_path(path)
    nb = copy.deepcopy(nb)
    pairs = exercise_cells(nb, rel)
    exercises = {i for i, _ in pairs}
    # Only the exercise and check cells lose their outputs (they would give the answer
    # away); every other cell keeps the outputs of the real run, so that a learner can
    # compare what they get with what they should get, and nbval compares them too.
    cleared = exercises | {j for _, j in pairs}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or i not in cleared:
            continue
        if i in exercises:
            cell.source = stub_source(_source(cell))
        cell.outputs = []
        cell.execution_count = None
    return normalize(stamp(nb, exercise_path(rel)))


# ------------------------------------------------------------------ reading, writing


def reads(text: str, where: str = "notebook"):
    """Parse a notebook's JSON text; a ValueError names ``where`` if it is not one.

    Unlike ``nbformat.reads``, this gives cells without an id no random one, so that
    :func:`normalize` can give them ids that are the same on every run.
    """
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("cells", []), list):
            raise ValueError("the JSON is not a notebook object")
        nb = nbformat.from_dict(data)
        if nb.get("nbformat", 0) < 4:  # converting makes up random ids: drop them
            nb = nbformat.convert(nb, 4)
            for cell in nb.cells:
                cell.pop("id", None)
        elif nb.get("nbformat") != 4:
            raise ValueError(f"nbformat {nb.get('nbformat')} is not supported")
        else:  # sources and outputs are stored as lists of lines; join them as nbformat does
            nb = rejoin_lines(nb)
    except Exception as error:  # json and nbformat raise several types for broken files
        raise ValueError(f"{where}: not a readable notebook: {error}") from None
    return nb


def writes(nb) -> str:
    """Return the notebook's normalized JSON text, ending with a newline."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def formatted(nb, path: str | os.PathLike):
    """Return ``nb`` stamped and normalized, validated against the nbformat schema."""
    rel = _repo_path(path)
    nb = normalize(stamp(nb, rel))
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        raise ValueError(f"{rel}: invalid notebook after formatting: {error.message}") from None
    return nb


def format_text(text: str, path: str | os.PathLike) -> str:
    """Return the formatted JSON text of the notebook text ``text`` stored at ``path``."""
    return writes(formatted(reads(text, _repo_path(path)), path))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


# ------------------------------------------------------------------------- CLI


def _rel_to(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise ValueError(f"Expected a notebook inside {root}. Received: {path}") from None


def cmd_fmt(args) -> int:
    root = args.root
    paths = args.paths or sorted((root / NOTEBOOKS_DIR).glob("*.ipynb")) + sorted(
        (root / EXERCISES_DIR).glob("*.ipynb")
    )
    changed = []
    for path in paths:
        rel = _rel_to(path, root)
        text = path.read_text(encoding="utf-8")
        new = format_text(text, rel)
        if new != text:
            changed.append(rel)
            if not args.check:
                _write(path, new)
    verb = "would reformat" if args.check else "reformatted"
    for rel in changed:
        print(f"{verb} {rel}")
    print(f"{len(changed)} of {len(paths)} notebooks {verb}.")
    return 1 if args.check and changed else 0


def cmd_exercises(args) -> int:
    root = args.root
    sources = sorted((root / NOTEBOOKS_DIR).glob("*.ipynb"))
    stale = [
        path.relative_to(root).as_posix()
        for path in sorted((root / EXERCISES_DIR).glob("*.ipynb"))
        if not (root / NOTEBOOKS_DIR / path.name).exists()
    ]
    problems = []
    for source in sources:
        rel = source.relative_to(root).as_posix()
        target_rel = exercise_path(rel)
        target = root / target_rel
        text = writes(make_exercise(reads(source.read_text(encoding="utf-8"), rel), rel))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if args.check:
            problems.append(f"{'missing' if current is None else 'out of date'}: {target_rel}")
        else:
            _write(target, text)
            print(f"wrote {target_rel}")
    for rel in stale:
        problems.append(f"stale (no {NOTEBOOKS_DIR}/ notebook; delete it): {rel}")
    for line in problems:
        print(line)
    print(f"{len(sources)} notebooks, {len(problems)} problems.")
    return 1 if args.check and problems else 0


def _kernel_manager():
    """Return a manager for the ``python3`` kernel, run by this very interpreter."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    argv = km.kernel_spec.argv
    # A python3 kernelspec installed elsewhere may name another interpreter; the
    # notebooks must run in the environment this tool runs in.
    if argv[1:3] == ["-m", "ipykernel_launcher"]:
        argv[0] = sys.executable
    return km


def run_notebook(path: Path, root: Path, timeout: int = 1200) -> float:
    """Execute a notebook in place, then format it and regenerate its learner's copy.

    The kernel starts in the notebook's folder with ``CONVNET_MODE=quick`` unless that
    variable is set. On an error in a cell nothing is written.

    Returns:
        The wall time of the execution, in seconds.
    """
    from nbclient import NotebookClient

    rel = _rel_to(path, root)
    if PurePosixPath(rel).parts[0] == EXERCISES_DIR:
        raise ValueError(f"{rel} is a generated learner's copy, stored without outputs: run its notebook instead")
    nb = formatted(reads(path.read_text(encoding="utf-8"), rel), rel)  # run what gets stored
    if PurePosixPath(rel).parts[0] == NOTEBOOKS_DIR:
        exercise_cells(nb, rel)  # a broken exercise stops us before a long run, not after
    km = _kernel_manager()
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        resources={"metadata": {"path": str(path.resolve().parent)}},
        record_timing=False,
    )
    env = {**os.environ, "CONVNET_MODE": os.environ.get("CONVNET_MODE") or "quick"}
    start = time.perf_counter()
    try:
        client.execute(env=env)
    finally:  # nbclient leaves a kernel it did not start running
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    seconds = time.perf_counter() - start
    nb = formatted(nb, rel)
    _write(path, writes(nb))
    if PurePosixPath(rel).parts[0] == NOTEBOOKS_DIR:
        _write(root / exercise_path(rel), writes(make_exercise(nb, rel)))
    return seconds


def cmd_run(args) -> int:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    failed = 0
    for path in args.notebooks:
        rel = _rel_to(path, args.root)
        print(f"running {rel} ...", flush=True)
        try:
            seconds = run_notebook(path, args.root, args.timeout)
        except (CellExecutionError, CellTimeoutError) as error:
            failed += 1
            print(f"{rel}: FAILED, nothing written:\n{error}", file=sys.stderr, flush=True)
            continue
        minutes, rest = divmod(seconds, 60)
        print(f"{rel}: ran in {int(minutes)} min {rest:.1f} s (wall time)", flush=True)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbtools.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--root", type=lambda p: Path(p).resolve(), default=REPO_ROOT,
        help="repository root holding notebooks/ and exercises/ (default: the one of this tool)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = sub.add_parser("fmt", help="normalize notebooks and stamp badges and bootstrap block")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 listing what would change")
    fmt.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/ and exercises/)")
    fmt.set_defaults(func=cmd_fmt)
    exercises = sub.add_parser("exercises", help="write exercises/ copies of notebooks/")
    exercises.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a copy is missing, out of date or stale"
    )
    exercises.set_defaults(func=cmd_exercises)
    run = sub.add_parser("run", help="execute notebooks in place, then fmt them and write their exercise copies")
    run.add_argument("notebooks", nargs="+", type=Path)
    run.add_argument("--timeout", type=int, default=1200, help="per-cell timeout in seconds (default: 1200)")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 --check found changes or a run failed, 2 error)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as error:
        print(f"nbtools: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
