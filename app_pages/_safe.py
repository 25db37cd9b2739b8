"""User text inside Streamlit elements that always render markdown (``st.error``, …).

A bilingual error message names the file, the sheet or the user name, which come from
users: "![x](http://host/x.png).csv" would otherwise load a foreign image, "$…$" render
as maths. Every ASCII punctuation mark that markdown could read is backslash-escaped
(CommonMark shows it as itself), after :func:`geo.safe_text.display_text` has replaced
control and bidi-override characters.
"""

from __future__ import annotations

import re
from typing import Any

from geo.safe_text import display_text

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'^%@/?;,])")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def md_plain(value: Any) -> str:
    """``value`` as markdown source that renders as exactly its text."""
    return _MARKDOWN.sub(r"\\\1", display_text(value))


def md_unescape(markdown: str) -> str:
    """The text :func:`md_plain` escaped (tests read elements' markdown source with it)."""
    return _ESCAPED.sub(r"\1", markdown)
