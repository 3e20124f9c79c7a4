"""Project-wide consistency: the two environment files pin the same packages."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
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
