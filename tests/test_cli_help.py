"""``python -m geo --help`` is the first thing a new user reads: every command is named in
Vietnamese first, then English, and the list ends with how to begin."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

#: Letters only Vietnamese writes (and ASCII never holds): a half without one is not Vietnamese.
_VIETNAMESE = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")


def _help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "geo", "--help"], cwd=REPO, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def _command_lines(text: str) -> dict[str, str]:
    """Command name → its one-line help, from argparse's listing (continuations joined)."""
    lines: dict[str, str] = {}
    name = None
    listing = text.split("positional arguments:", 1)[1].split("options:", 1)[0]
    for line in listing.splitlines()[2:]:
        if line.startswith("    ") and not line.startswith("     "):
            name, _, rest = line.strip().partition(" ")
            lines[name] = rest.strip()
        elif name and line.strip():
            lines[name] += " " + line.strip()
    return lines


def test_every_command_is_described_in_vietnamese_then_english():
    lines = _command_lines(_help())
    assert {"ingest", "users", "stats", "serve", "places", "assign", "streets", "sample"} <= set(lines)
    for name, text in lines.items():
        vietnamese, sep, english = text.partition(" / ")
        assert sep, f"{name}: {text!r} has no Vietnamese / English halves"
        assert _VIETNAMESE & set(vietnamese.lower()), f"{name}: {vietnamese!r} is not Vietnamese"
        assert english.isascii(), f"{name}: {english!r} is not English"
        assert "issue" not in text.lower(), f"{name}: {text!r} names a developers' issue"


def test_the_help_ends_with_the_first_steps():
    text = _help()
    assert "users add" in text and "--role admin" in text
    assert "streamlit run app.py" in text
