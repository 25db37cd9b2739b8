"""Numbers on the leaders' pages are written as the page's language writes them: 1.234,5
on a Vietnamese page, 1,234.5 on an English one, in chart axes and tooltips (Vega-Lite's
number locale), in tables (their display text; the values stay numbers) and in figures.
Through AppTest over the committed 5,000-row sample; the expected texts come from the rule
(Vietnamese: "." groups thousands, "," marks decimals), not from the page's helper."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tests._signin import open_page

#: Vega-Lite's number locale each language's charts must carry (d3-format's definition).
LOCALES = {"vi": {"decimal": ",", "thousands": "."}, "en": {"decimal": ".", "thousands": ","}}


def _written(value: float, decimals: int, lang: str) -> str:
    english = f"{value:,.{decimals}f}"
    return english if lang == "en" else english.replace(",", "_").replace(".", ",").replace("_", ".")


def _charts(at) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def _display(table) -> dict[str, list[str]]:
    """The text each cell shows (the Styler's display values Streamlit draws), by column."""
    shown = pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all().to_pandas()
    data = table.value
    return {column: shown.iloc[:, i + 1].tolist() for i, column in enumerate(data.columns)} if len(
        shown.columns) == len(data.columns) + 1 else {c: shown[c].tolist() for c in data.columns}  # fmt: skip


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_progress_charts_write_numbers_in_the_pages_language(sample_store_url, monkeypatch, lang):
    at = open_page("app_pages/progress.py", sample_store_url, monkeypatch, lang=lang)
    assert not at.exception, at.exception
    charts = _charts(at)
    assert len(charts) >= 2
    for spec in charts:
        number = spec["config"]["locale"]["number"]
        assert {k: number[k] for k in ("decimal", "thousands")} == LOCALES[lang]
        assert number["grouping"] == [3]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_compare_writes_figures_and_tables_in_the_pages_language(sample_store_url, monkeypatch, lang):
    at = open_page("app_pages/compare.py", sample_store_url, monkeypatch, lang=lang, view="density")
    assert not at.exception, at.exception
    count = _written(5000, 0, lang)
    assert any(f"{count} " in c.value for c in at.caption), [c.value for c in at.caption]
    at.segmented_control(key="c_view").set_value("league").run()
    at.sidebar.selectbox(key="c_metric").set_value("pct_cleared").run()
    assert not at.exception, at.exception
    table = next(df for df in at.dataframe if "rank" in df.value.columns)
    data, shown = table.value, _display(table)
    ranked = data["pct_cleared"].notna()
    assert ranked.sum() > 50
    assert shown["pct_cleared"] == [
        _written(v, 1, lang) if ok else "–" for v, ok in zip(data["pct_cleared"], ranked, strict=True)
    ]
    assert shown["volume"] == [_written(v, 0, lang) for v in data["volume"]]
    assert data["pct_cleared"].dtype.kind == "f"  # still numbers: the table sorts by value
    at.segmented_control(key="c_view").set_value("matrix").run()
    (spec,) = _charts(at)
    assert {k: spec["config"]["locale"]["number"][k] for k in ("decimal", "thousands")} == LOCALES[lang]
