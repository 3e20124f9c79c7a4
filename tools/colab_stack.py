#!/usr/bin/env python
"""Keep the Colab stack (requirements-colab.txt) in step with the runtime Colab publishes.

Usage, from the repository root::

    python tools/colab_stack.py update PIP_FREEZE --date YYYY-MM-DD [--python X.Y]
    python tools/colab_stack.py tested-on       # print README's "Tested on" line

``update`` reads a copy of Colab's ``pip-freeze.gpu.txt`` (github.com/googlecolab/backend-info;
its ``os-info-gpu.txt`` names the Python version) and rewrites requirements-colab.txt: every
package there takes the version Colab's list names, except those marked ``# pinned`` (test
tools that Colab does not ship), which take the version of requirements.txt. The
``# Colab list of:`` date and, with ``--python``, the ``# Python:`` line are rewritten too, and
then README.md's "Tested on" line. Nothing is added or dropped: a package that Colab's list
lacks stops the tool (exit status 2) with a message saying what to decide. Then run
``bash scripts/test.sh --stack colab``, which rebuilds .venv-colab from the new file.

``--root DIR``, before the command, works on another checkout.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
COLAB_REQUIREMENTS = "requirements-colab.txt"
PINNED_REQUIREMENTS = "requirements.txt"
PINNED_MARK = "# pinned"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;#]+)(?P<rest>\s*(#.*)?)$")
_FREEZE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;#]+)\s*$")
_DATE = re.compile(r"^# Colab list of: (?P<date>\S+)\s*$", re.M)
_PYTHON = re.compile(r"^# Python: (?P<python>\S+)\s*$", re.M)
_TESTED_ON = re.compile(r"^\*\*Tested on:\*\*.*$", re.M)


class Pin(NamedTuple):
    """One ``name==version`` line of a requirements file."""

    name: str
    version: str
    pinned: bool  # marked "# pinned": the version of requirements.txt, not Colab's


def canonical(name: str) -> str:
    """Return a package name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(text: str) -> dict[str, Pin]:
    """Return the pins of a requirements file's text, by canonical name."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pin = Pin(match["name"], match["version"], PINNED_MARK in match["rest"])
            pins[canonical(pin.name)] = pin
    return pins


def read_freeze(text: str) -> dict[str, str]:
    """Return ``{canonical name: version}`` for the ``name==version`` lines of a pip freeze."""
    return {canonical(m["name"]): m["version"] for m in map(_FREEZE.match, text.splitlines()) if m}


def colab_header(text: str) -> tuple[str, str]:
    """Return the ``(date, python)`` that requirements-colab.txt's header names.

    Raises:
        ValueError: If the ``# Colab list of:`` or ``# Python:`` line is missing.
    """
    date, python = _DATE.search(text), _PYTHON.search(text)
    if not date or not python:
        raise ValueError(
            f"{COLAB_REQUIREMENTS}: expected the header lines '# Colab list of: YYYY-MM-DD' and "
            f"'# Python: X.Y'. Received: date {date and date['date']!r}, Python {python and python['python']!r}"
        )
    return date["date"], python["python"]


def tested_on_line(root: Path = REPO_ROOT) -> str:
    """Return README.md's "Tested on" line, made from the two requirements files."""
    pinned = read_pins((root / PINNED_REQUIREMENTS).read_text(encoding="utf-8"))
    colab_text = (root / COLAB_REQUIREMENTS).read_text(encoding="utf-8")
    colab = read_pins(colab_text)
    date, colab_python = colab_header(colab_text)
    env = re.search(r"^\s*-\s*python=(\S+)\s*$", (root / "environment.yml").read_text(encoding="utf-8"), re.M)
    pinned_python = env[1] if env else "?"

    def stack(pins: dict[str, Pin], python: str) -> str:
        return f"Python {python}, " + ", ".join(
            f"{label} {pins[name].version}" for name, label in
            (("tensorflow", "TensorFlow"), ("keras", "Keras"), ("numpy", "NumPy"))
        )

    return (
        f"**Tested on:** the pinned stack ({stack(pinned, pinned_python)}; `{PINNED_REQUIREMENTS}`) "
        f"and Colab's runtime ({stack(colab, colab_python)}; `{COLAB_REQUIREMENTS}`, "
        f"from Colab's list of {date}). CI runs both."
    )


def update(root: Path, freeze_text: str, date: str, python: str | None = None) -> list[str]:
    """Rewrite requirements-colab.txt from Colab's pip freeze, then README's "Tested on" line.

    Args:
        root: The checkout.
        freeze_text: The text of Colab's ``pip-freeze.gpu.txt``.
        date: The date of that list, ``YYYY-MM-DD``.
        python: The Python version ``X.Y`` of that runtime; ``None`` keeps the current one.

    Returns:
        The changes, one ``"name: old -> new"`` line each.

    Raises:
        ValueError: On a malformed date or Python version, or a package of
            requirements-colab.txt (not marked ``# pinned``) that Colab's list lacks.
    """
    try:
        datetime.date.fromisoformat(date)
    except ValueError:
        raise ValueError(f"Expected --date as YYYY-MM-DD. Received: {date!r}") from None
    if python is not None and not re.fullmatch(r"3\.\d+", python):
        raise ValueError(f"Expected --python as X.Y, e.g. 3.13. Received: {python!r}")
    freeze = read_freeze(freeze_text)
    pinned = read_pins((root / PINNED_REQUIREMENTS).read_text(encoding="utf-8"))
    path = root / COLAB_REQUIREMENTS
    text = path.read_text(encoding="utf-8")
    old_date, old_python = colab_header(text)
    missing = [p.name for p in read_pins(text).values() if not p.pinned and canonical(p.name) not in freeze]
    if missing:
        raise ValueError(
            f"Expected every package of {COLAB_REQUIREMENTS} in Colab's list. Received: a list without "
            f"{', '.join(missing)}. If Colab no longer ships it, mark its line '{PINNED_MARK}' (pinned "
            "version) or remove it from the series."
        )
    changes, lines = [], []
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            name, pin = canonical(match["name"]), PINNED_MARK in match["rest"]
            if pin and name not in pinned:
                raise ValueError(
                    f"{COLAB_REQUIREMENTS}: {match['name']} is marked '{PINNED_MARK}', so expected it in "
                    f"{PINNED_REQUIREMENTS}. Received: no such package there"
                )
            new = pinned[name].version if pin else freeze[name]
            if new != match["version"]:
                changes.append(f"{match['name']}: {match['version']} -> {new}")
            line = f"{match['name']}=={new}{match['rest']}"
        lines.append(line)
    text = "\n".join(lines) + "\n"
    text = _DATE.sub(f"# Colab list of: {date}", text)
    if date != old_date:
        changes.append(f"Colab list of: {old_date} -> {date}")
    if python is not None:
        text = _PYTHON.sub(f"# Python: {python}", text)
        if python != old_python:
            changes.append(f"Python: {old_python} -> {python}")
    path.write_text(text, encoding="utf-8")
    write_tested_on(root)
    return changes


def write_tested_on(root: Path) -> None:
    """Rewrite README.md's "Tested on" line from the requirements files.

    Raises:
        ValueError: If README.md has not exactly one line beginning with ``**Tested on:**``.
    """
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    found = len(_TESTED_ON.findall(text))
    if found != 1:
        raise ValueError(f"README.md: expected one line beginning with '**Tested on:**'. Received: {found}")
    readme.write_text(_TESTED_ON.sub(lambda _: tested_on_line(root), text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 error)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="the checkout (default: this one)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("update", help="rewrite requirements-colab.txt and README from Colab's pip freeze")
    up.add_argument("freeze", type=Path, help="a copy of Colab's pip-freeze.gpu.txt")
    up.add_argument("--date", required=True, help="the date of that list, YYYY-MM-DD")
    up.add_argument("--python", help="the runtime's Python X.Y (os-info-gpu.txt); default: unchanged")
    sub.add_parser("tested-on", help="print README's 'Tested on' line")
    args = parser.parse_args(argv)
    try:
        if args.command == "tested-on":
            print(tested_on_line(args.root))
            return 0
        changes = update(args.root, args.freeze.read_text(encoding="utf-8"), args.date, args.python)
    except (ValueError, OSError) as error:
        print(f"colab_stack: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(changes) if changes else "requirements-colab.txt: no version changed")
    print("Now run: bash scripts/test.sh --stack colab")
    return 0


if __name__ == "__main__":
    sys.exit(main())
