"""Rendered map text stays text: branca must never read it as a Jinja template.

branca (folium's HTML layer, 0.8) renders each element's ``header``/``html``/``script``
macro and wraps the result in ``branca.element.Element(text)``, which *compiles the text
as a new Jinja template* and renders it again when the page is written. Everything our
maps carry (an address from a field team's CSV, a resident's report, a ward's name from a
boundary layer) goes through that second pass: ``{{ 7*7 }}`` in an address came out as
``49``, an expression could reach Python's objects (Jinja's default environment is not a
sandbox: code ran on the server), and a lone ``{{`` made every map holding that incident
fail to render. HTML escaping does not help, since braces are not HTML.

:func:`install` replaces :meth:`branca.element.MacroElement.render` with one that adds the
rendered macros as :class:`TextElement` elements, whose ``render`` returns the text as it is.
The first pass (the element's own template, with its values) is unchanged, so every map
draws the same page; only the second, accidental one is gone. It also saves compiling each
rendered script as a template (0.3 s of a first page at 10M, most of it the ward layer).
Elements built from text elsewhere in geo use :class:`TextElement` directly.

One folium feature leans on the second pass: ``GeoJsonStyleMapper`` writes an element
given as a style value (a fill pattern) as ``{{'name'}}`` for it to resolve. Our maps style
with colours only; streamlit-folium, which renders each script once, resolves that case
itself. The app's st_folium calls render the whole page first (its default) and then send
each script rendered once, so what the browser got never held evaluated text, but the
evaluation ran on the server all the same.

``tests/test_map_text.py`` draws every map with template syntax in each kind of user text
and fails when the second pass returns (this module not installed, or branca changed).
"""

from __future__ import annotations

from typing import Any

from branca.element import Element, Figure, MacroElement

#: The macros a MacroElement template may define, and the part of the page each goes to.
_SECTIONS = ("header", "html", "script")


class TextElement(Element):
    """An element that renders as exactly ``text``: no template, no second reading."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "TextElement"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """The text as given: it was rendered already, or is trusted page text."""
        return self.text


def _render_once(self: MacroElement, **kwargs: Any) -> None:
    """:meth:`MacroElement.render`, with each rendered macro added as :class:`TextElement`."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError(f"You cannot render this Element if it is not in a Figure: {self!r}")
    macros = self._template.module.__dict__
    for section in _SECTIONS:
        macro = macros.get(section)
        if macro is not None:
            getattr(figure, section).add_child(TextElement(str(macro(self, kwargs))), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def install() -> None:
    """Make every MacroElement (folium's and ours) add its rendered macros as text.

    Idempotent; called when :mod:`geo._map_elements` is imported, which every map of the
    app and the CLI imports (through :mod:`geo.maps`) before it is drawn.
    """
    MacroElement.render = _render_once  # type: ignore[method-assign]


def installed() -> bool:
    """Whether :func:`install` is in effect (the tests check it before drawing)."""
    return MacroElement.render is _render_once


__all__ = ["TextElement", "install", "installed"]
