"""User text made safe to *show*: control and bidi-override characters neutralised.

Exports keep text exactly as stored (data fidelity; formulas are handled in
:mod:`geo.exports`). On screen — map tooltips, popups, tables rendered as HTML — a C0/C1
control character is invisible or breaks layout, and a right-to-left override (U+202E)
can make "hóa đơn\u202egpj.exe" read as "hóa đơnexe.jpg". Both become a visible U+FFFD.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

#: C0 and C1 control characters except TAB, LF and CR (and DEL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Bidirectional embeddings, overrides and isolates that can reorder the text after them.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
#: JavaScript line terminators that are legal inside JSON but confuse old parsers.
_LINE_SEPARATORS = re.compile(r"[\u2028\u2029]")
REPLACEMENT = "\ufffd"


def display_text(value: Any) -> str:
    """The text to show for ``value`` ("" for missing), with the dangerous characters replaced.

    Parameters
    ----------
    value : Any
        A cell or label (None, NA and NaN count as missing).

    Returns
    -------
    str
        The text, control and bidi-override characters replaced by :data:`REPLACEMENT`,
        line and paragraph separators by spaces.
    """
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    text = _CONTROL.sub(REPLACEMENT, str(value))
    text = _BIDI.sub(REPLACEMENT, text)
    return _LINE_SEPARATORS.sub(" ", text)


def html_text(value: Any) -> str:
    """:func:`display_text`, HTML-escaped (quotes too) for element content or attributes.

    Parameters
    ----------
    value : Any
        A cell or label.

    Returns
    -------
    str
        Safe to place in HTML content or a quoted attribute, and inside a JavaScript
        template literal (folium's tooltips are one: `` ` ``, ``$`` and ``\\`` are
        character references) or a template's text (braces too).
    """
    return html.escape(display_text(value), quote=True).translate(_SCRIPT_MARKS)


#: Characters that are plain in HTML but active where map tooltips are written: a
#: JavaScript template literal (folium's ``bindTooltip(`…`)``: a backtick ends it, ``${``
#: runs code, a backslash escapes the next character) and template text (braces). As
#: character references they show as themselves and do nothing.
_SCRIPT_MARKS = str.maketrans({c: f"&#{ord(c)};" for c in "`${}\\"})
