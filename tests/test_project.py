"""Project-wide consistency: the environment files pin the same packages, the Colab stack
names the pinned packages, README.md gives a learner the two commands and the Colab links,
CONTRIBUTING.md states what the scripts do, and benchmarks/README.md covers every benchmark."""

from __future__ import annotations

import re
from pathlib import Path

from tools import colab_stack, nbtools  # the repository root is on sys.path (pyproject.toml: pythonpath)

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
CONTRIBUTING = REPO_ROOT / "CONTRIBUTING.md"
BENCHMARKS_README = REPO_ROOT / "benchmarks" / "README.md"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;#]+)$")


def _canonical(name: str) -> str:
    """Package names compare as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str], where: str) -> dict[str, str]:
    pins, unpinned = {}, []
    for line in lines:
        match = _PIN.match(line)
        if match:
            pins[_canonical(match["name"])] = match["version"]
        else:
            unpinned.append(line)
    assert not unpinned, f"{where}: every package must be pinned as name==version. Received: {unpinned}"
    return pins


def requirements_pins() -> dict[str, str]:
    lines = []
    for raw in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return _pins(lines, "requirements.txt")


def environment_pip_pins() -> dict[str, str]:
    """The entries of the ``- pip:`` list in environment.yml (read without a YAML library)."""
    lines, pip_indent = [], None
    for raw in (REPO_ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        text = raw.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip())
        if pip_indent is None:
            if text.strip() == "- pip:":
                pip_indent = indent
            continue
        if indent <= pip_indent:  # the pip list has ended
            break
        assert text.strip().startswith("- "), f"environment.yml: unexpected line in the pip list: {raw!r}"
        lines.append(text.strip()[2:].strip())
    assert pip_indent is not None, "environment.yml has no '- pip:' list"
    return _pins(lines, "environment.yml (pip list)")


def test_requirements_and_environment_pin_the_same_packages():
    requirements, environment = requirements_pins(), environment_pip_pins()
    assert requirements, "requirements.txt pins nothing"
    only_req = sorted(f"{n}=={v}" for n, v in requirements.items() if environment.get(n) != v)
    only_env = sorted(f"{n}=={v}" for n, v in environment.items() if requirements.get(n) != v)
    assert not only_req and not only_env, (
        "requirements.txt and environment.yml disagree. "
        f"Only in requirements.txt: {only_req}; only in environment.yml: {only_env}"
    )


# ------------------------------------------------------- the two tested stacks

COLAB_FILE = REPO_ROOT / "requirements-colab.txt"
# What requirements-colab.txt must hold whatever Colab's list says: the packages the
# notebooks and utils/ import, and the tools the tests run with.
SERIES_PACKAGES = {"tensorflow", "keras", "tensorboard", "numpy", "h5py", "pandas", "matplotlib", "pillow",
                   "pydot", "psutil"}
TEST_TOOLS = {"ipykernel", "nbformat", "nbclient", "nbval", "pytest"}


def colab_lines() -> list[tuple[str, str]]:
    """``(requirement, comment)`` for each non-empty, non-comment line of requirements-colab.txt."""
    lines = []
    for raw in COLAB_FILE.read_text(encoding="utf-8").splitlines():
        requirement, _, comment = raw.partition("#")
        if requirement.strip():
            lines.append((requirement.strip(), comment.strip()))
    return lines


def colab_header(field: str) -> str:
    """The value of the header comment ``# FIELD: value`` of requirements-colab.txt."""
    found = re.findall(rf"^# {re.escape(field)}: *(.+?) *$", COLAB_FILE.read_text(encoding="utf-8"), re.M)
    assert len(found) == 1, f"requirements-colab.txt: expected one line '# {field}: ...'. Received: {found}"
    return found[0]


def colab_not_in_stack() -> set[str]:
    """The packages of requirements.txt that the '# Not in this stack:' line leaves out."""
    found = re.findall(r"^# Not in this stack: *(.+)$", COLAB_FILE.read_text(encoding="utf-8"), re.M)
    assert len(found) == 1, f"requirements-colab.txt: expected one '# Not in this stack:' line. Received: {found}"
    names = re.sub(r"\([^)]*\)", "", found[0])  # the reasons, in parentheses, are not names
    return {_canonical(n) for n in re.split(r"[,\s]+", names.strip(" .")) if n}


def test_colab_requirements_name_the_pinned_packages():
    pinned = requirements_pins()
    colab = _pins([requirement for requirement, _ in colab_lines()], "requirements-colab.txt")
    left_out = colab_not_in_stack()
    assert left_out <= pinned.keys(), (
        f"requirements-colab.txt leaves out packages that requirements.txt does not have: {sorted(left_out - pinned.keys())}"
    )
    assert not left_out & (SERIES_PACKAGES | TEST_TOOLS), (
        f"requirements-colab.txt must not leave out what the series or its tests use. Received: {sorted(left_out)}"
    )
    expected = set(pinned) - left_out
    assert set(colab) == expected, (
        "requirements-colab.txt must name the packages of requirements.txt but those left out. "
        f"Missing: {sorted(expected - set(colab))}; not in requirements.txt: {sorted(set(colab) - expected)}"
    )
    assert SERIES_PACKAGES | TEST_TOOLS <= set(colab)


def test_colab_requirements_pinned_lines_agree_with_requirements():
    pinned = requirements_pins()
    marked = {}
    for requirement, comment in colab_lines():
        if comment.startswith("pinned"):
            marked.update(_pins([requirement], "requirements-colab.txt"))
    assert marked, "requirements-colab.txt: expected at least nbval marked '# pinned' (Colab does not ship it)"
    disagree = {n: (v, pinned.get(n)) for n, v in marked.items() if pinned.get(n) != v}
    assert not disagree, f"lines marked '# pinned' must have the version of requirements.txt. Received (colab, pinned): {disagree}"


def test_colab_requirements_name_their_source_date_and_python():
    text = COLAB_FILE.read_text(encoding="utf-8")
    assert "github.com/googlecolab/backend-info" in text and "pip-freeze.gpu.txt" in text
    date = colab_header("Colab list of")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), f"expected a date YYYY-MM-DD. Received: {date!r}"
    python = colab_header("Python")
    assert re.fullmatch(r"3\.\d+", python), f"expected a Python version X.Y. Received: {python!r}"


def _setup_value(name: str) -> str:
    found = re.findall(rf"^{name}=(\S+)$", (REPO_ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8"), re.M)
    assert len(found) == 1, f"scripts/setup.sh: expected one line {name}=... Received: {found}"
    return found[0]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_readme_contributing_and_setup_state_the_same_python_versions():
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    low, high = _setup_value("PINNED_PYTHON_MIN"), _setup_value("PINNED_PYTHON_MAX")
    assert re.fullmatch(r"3\.\d+", low) and re.fullmatch(r"3\.\d+", high), (low, high)
    for doc in (README, CONTRIBUTING):
        text = doc.read_text(encoding="utf-8")
        assert f"Python {low}–{high}" in text, f"{doc.name} must state the supported range 'Python {low}–{high}'"
        assert not re.search(r"Python 3\.\d+[–-]3\.\d+", text.replace(f"Python {low}–{high}", "")), (
            f"{doc.name} states another Python range than scripts/setup.sh"
        )
    # setup.sh's messages use the variables, so they say what it checks
    assert "Install Python $PINNED_PYTHON_MIN-$PINNED_PYTHON_MAX" in setup
    assert "expected Python $PINNED_PYTHON_MIN-$PINNED_PYTHON_MAX" in setup
    assert re.search(r"^requires-python = \">=" + re.escape(low) + '"$',
                     (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M), "pyproject.toml: requires-python"
    env_python = re.search(r"^\s*-\s*python=(3\.\d+)\s*$", (REPO_ROOT / "environment.yml").read_text(encoding="utf-8"), re.M)
    assert env_python, "environment.yml: expected a line '- python=3.X'"
    assert _version(low) <= _version(env_python[1]) <= _version(high), (
        f"environment.yml: expected python in {low}-{high}. Received: python={env_python[1]}"
    )
    # Colab's Python: setup.sh reads it from requirements-colab.txt; 3.13 is in the pinned range too
    assert '"$ROOT/requirements-colab.txt"' in setup.split("COLAB_PYTHON=", 1)[1].split("\n", 1)[0]
    colab_python = colab_header("Python")
    assert _version(low) <= _version(colab_python) <= _version(high), (
        f"Colab's Python {colab_python} should be in the pinned range {low}-{high} too"
    )


def test_readme_tested_on_line_names_both_stacks():
    readme = README.read_text(encoding="utf-8")
    line = colab_stack.tested_on_line()
    assert line in readme.splitlines(), (
        f"README.md's 'Tested on' line is out of date: run `python tools/colab_stack.py tested-on`. Expected: {line}"
    )
    assert colab_header("Colab list of") in line and f"Python {colab_header('Python')}" in line
    assert requirements_pins()["tensorflow"] in line


def test_readme_gives_the_two_commands_before_the_notebooks():
    readme = README.read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    top = readme.split("\n## The notebooks", 1)
    assert len(top) == 2, "README.md: expected a section '## The notebooks'"
    blocks = re.findall(r"^```bash\n(.*?)^```", top[0], re.M | re.S)
    commands = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    for command in ("bash scripts/lab.sh", "bash scripts/test.sh"):
        assert command in commands, (
            f"README.md must give `{command}` in a bash block before the notebook list. Received: {commands}")
    # CI runs README's test command, as it stands, without choosing a stack
    assert re.search(r"^bash scripts/test.sh </dev/null", ci, re.M), ".ci/run must run `bash scripts/test.sh`"


def test_readme_colab_badges_open_the_learner_copies_and_link_the_solved_notebooks():
    readme = README.read_text(encoding="utf-8")
    colab_links = set(re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)\s]+)\)", readme))
    badges = set(re.findall(r"\[!\[Open In Colab\]\([^)]*\)\]\((https://colab[^)\s]+)\)", readme))
    expected_badges, expected_solved = set(), set()
    for notebook in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        assert (REPO_ROOT / "exercises" / notebook.name).is_file(), f"exercises/{notebook.name} is missing"
        expected_badges.add(dict(nbtools.expected_badges(f"exercises/{notebook.name}"))["colab"])
        expected_solved.add(dict(nbtools.expected_badges(f"notebooks/{notebook.name}"))["colab"])
    assert badges == expected_badges, (
        "README.md's Colab badges must open the learner copies in exercises/, one per notebook. "
        f"Missing: {sorted(expected_badges - badges)}; unexpected: {sorted(badges - expected_badges)}")
    assert colab_links == expected_badges | expected_solved, (
        "README.md must link each solved notebook in Colab beside its badge, and no other Colab page. "
        f"Missing: {sorted(expected_solved - colab_links)}; "
        f"unexpected: {sorted(colab_links - expected_badges - expected_solved)}")


#: What belongs in CONTRIBUTING.md or benchmarks/README.md, not in the learners' README (as words, so that
#: "airplane" is no lane).
MAINTAINER_TERMS = ("lanes?", "intra-op", "TF_NUM_INTRAOP_THREADS", "nbval", "AMD", "Intel", "Xeon", "autotun\\w*")
README_MAX_WORDS = 1200


def test_readme_stays_a_page_for_learners():
    readme = README.read_text(encoding="utf-8")
    words = len(readme.split())
    assert words <= README_MAX_WORDS, (
        f"README.md is for learners and teachers: expected at most {README_MAX_WORDS} words (move maintainers' "
        f"matters to CONTRIBUTING.md, figures to benchmarks/README.md). Received: {words} words")
    found = [m[0] for term in MAINTAINER_TERMS if (m := re.search(rf"\b{term}\b", readme, re.I))]
    assert not found, f"README.md: expected no maintainers' matters (they belong in CONTRIBUTING.md). Received: {found}"
    assert "(CONTRIBUTING.md)" in readme, "README.md must point to CONTRIBUTING.md"


def test_contributing_documents_the_stacks_and_the_tools():
    contributing = CONTRIBUTING.read_text(encoding="utf-8")
    test_sh = (REPO_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    for command in ("bash scripts/test.sh", "bash scripts/test.sh --stack pinned", "bash scripts/test.sh --stack colab",
                    "python tools/colab_stack.py update", "python tools/nbtools.py run",
                    "python tools/nbtools.py fmt", "python tools/nbtools.py exercises"):
        assert f"{command} " in contributing or f"{command}`" in contributing, (
            f"CONTRIBUTING.md must document `{command}`")
    for stack in ("both", "pinned", "colab"):
        assert re.search(rf"^\s*{stack}\)", test_sh, re.M), f"scripts/test.sh has no case for --stack {stack}"
    assert re.search(r"^stack=both$", test_sh, re.M), "scripts/test.sh must test both stacks by default"
    # The settings the two-lane run makes, each documented with its reason
    for setting in ("TF_NUM_INTRAOP_THREADS=1", "TF_ENABLE_ONEDNN_OPTS=1", "without_autotune"):
        assert setting in contributing, f"CONTRIBUTING.md must explain `{setting}`"
    assert 'TF_NUM_INTRAOP_THREADS="${TF_NUM_INTRAOP_THREADS:-1}"' in test_sh
    assert ".venv-colab/" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_benchmarks_readme_covers_every_benchmark():
    text = BENCHMARKS_README.read_text(encoding="utf-8")
    headings = re.findall(r"^## (\S+\.py)\b", text, re.M)
    scripts = sorted(p.name for p in (REPO_ROOT / "benchmarks").glob("*.py"))
    assert sorted(headings) == scripts, (
        f"benchmarks/README.md must have one '## <script>' section per benchmark. Expected: {scripts}. "
        f"Received: {sorted(headings)}")
    for script in scripts:
        assert f"python benchmarks/{script}" in text, f"benchmarks/README.md must give the command of {script}"


def _test_sh_array(name: str) -> list[str]:
    text = (REPO_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    match = re.search(rf"^{name}=\(([^)]*)\)$", text, re.M)
    assert match, f"scripts/test.sh: expected a line {name}=(...)"
    return match[1].split()


def _notebooks_in(targets: list[str]) -> list[str]:
    """The notebooks that nbval compares for these pytest targets (a folder means all of it)."""
    found = []
    for target in targets:
        path = REPO_ROOT / target
        assert path.exists(), f"scripts/test.sh names {target}, which does not exist"
        if path.is_dir():
            found += sorted(p.name for p in path.glob("*.ipynb"))
        elif path.suffix == ".ipynb":
            found.append(path.name)
    return found


def test_every_notebook_is_compared_once_by_the_default_test_run_and_unit_tests_run_on_both_stacks():
    notebooks = sorted(p.name for p in (REPO_ROOT / "notebooks").glob("*.ipynb"))
    compared = _notebooks_in(_test_sh_array("BOTH_LANE1_PINNED") + _test_sh_array("BOTH_LANE2_PINNED")
                             + _test_sh_array("COLAB_TARGETS"))
    assert sorted(compared) == notebooks, (
        f"--stack both must compare each notebook (or its exercise copy) exactly once. Expected: {notebooks}. "
        f"Received: {sorted(compared)}"
    )
    assert "tests" in _test_sh_array("COLAB_TARGETS")
    # The pinned stack's unit tests are split between the two lanes: lane 1 runs the test files it
    # names, lane 2 the whole folder with --ignore for each of those, so every file runs once
    lane1_tests = [t for t in _test_sh_array("BOTH_LANE1_PINNED") if t.startswith("tests")]
    lane2 = _test_sh_array("BOTH_LANE2_PINNED")
    assert "tests" in lane2 and not [t for t in lane2 if t.startswith("tests/")], (
        f"lane 2 must run the whole tests folder. Received: BOTH_LANE2_PINNED={lane2}")
    assert all(t.startswith("tests/test_") and (REPO_ROOT / t).is_file() for t in lane1_tests), (
        f"lane 1 must name existing test files. Received: {lane1_tests}")
    # A test lane 1 deselects still runs on Colab's stack (which runs the whole folder), and exists
    for item in _test_sh_array("BOTH_LANE1_DESELECT"):
        path, _, name = item.partition("::")
        assert path in lane1_tests and f"def {name}(" in (REPO_ROOT / path).read_text(encoding="utf-8"), (
            f"BOTH_LANE1_DESELECT must name tests of lane 1's files. Received: {item}")
    test_sh = (REPO_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert 'ignore+=("--ignore=$t")' in test_sh and '"${ignore[@]}"' in test_sh, (
        "scripts/test.sh must pass lane 2 --ignore for each test file that lane 1 runs")
    assert 'deselect+=("--deselect=$t")' in test_sh and '"${deselect[@]}"' in test_sh, (
        "scripts/test.sh must pass lane 1 --deselect for each test of BOTH_LANE1_DESELECT")
    # Alone, the pinned stack compares every notebook; Colab's runs the unit tests
    assert _notebooks_in(_test_sh_array("PINNED_TARGETS")) == notebooks
    assert "tests" in _test_sh_array("PINNED_TARGETS")
