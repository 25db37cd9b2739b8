"""One table of incident filters, fed to every implementation of the filter.

The store's SQL (SQLite and PostGIS), the snapshot's numpy mask, the density point read,
the command-line flags (``map``/``density`` and ``export``) and the map page's URL and
widgets must all select exactly the incidents that :func:`selects` — a plain-Python
reading of the documented rule, written without the project's code — selects.

The rule (geo/store/filters.py): ``None`` is no condition and an empty list selects
nothing; bare dates are Hà Nội days, both ends inclusive (a timestamp is an instant, up
to it exclusive); a street typed in a form matches stored names containing it, with
diacritics when typed with them and regardless of them when typed without; ``overdue``
is open and past the deadline; the bbox includes its edges. In a form or as flags,
nothing picked means "any".
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from app_pages._common import filter_from_state, filter_state_from_url
from geo.cli import build_parser
from geo.cli import main as cli_main
from geo.cli._filters import incident_filter
from geo.density import incident_points
from geo.snapshot import load_snapshot
from geo.store import IncidentFilter, batches, open_store, queries
from geo.store import wards as stored_wards
from tests._signin import ensure_account, sign_in_apptest
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, two_wards

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NOW_LOCAL = dt.datetime.now(HANOI).replace(microsecond=0)

#: The stored incidents: name -> (ward, type, status, street, reported (Hà Nội), lon, lat).
ROWS: dict[str, tuple[Any, ...]] = {
    "a": (WEST, "sidewalk", "reported", "Hàng Mã", dt.datetime(2025, 3, 1, 0, 0, 0), 105.801, 21.001),
    "b": (WEST, "awning", "cleared", "Hàng Mả", dt.datetime(2025, 2, 28, 23, 59, 59), 105.802, 21.002),
    "c": (EAST, "parking", "in_progress", "Phố Huế", dt.datetime(2025, 3, 31, 23, 59, 59), 105.815, 21.005),
    "d": (EAST, "signboard", "verified", "Lý Thái Tổ", dt.datetime(2025, 4, 1, 0, 0, 0), 105.816, 21.006),
    "e": (None, "other", "reported", None, dt.datetime(2025, 3, 15, 12, 0), 105.900, 21.100),
    "f": (WEST, "sidewalk", "reported", None, (NOW_LOCAL - dt.timedelta(hours=1)).replace(tzinfo=None),
          105.805, 21.003),
    "g": (EAST, "materials", "cleared", "Hàng Mã", dt.datetime(2025, 3, 10, 8, 0), 105.817, 21.007),
    "h": (WEST, "parking", "reported", "Ngõ Hàng Mã", dt.datetime(2025, 3, 20, 7, 0), 105.8051, 21.004),
}
OPEN = {"reported", "verified", "in_progress"}
#: Every deadline falls within this many days of the report (the longest service level is a
#: week): an open incident reported longer ago is overdue, one reported an hour ago is not.
SLA_BOUND = dt.timedelta(days=30)


# -- the rule, in plain Python -----------------------------------------------------------


def _one_or_many(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def _typed_street_matches(typed: str, stored: str | None) -> bool:
    query = typed.strip()
    if not stored:
        return False
    if _fold(query) == query.casefold():  # typed without diacritics
        return _fold(query) in _fold(stored)
    nfc = unicodedata.normalize
    return nfc("NFC", query).casefold() in nfc("NFC", stored).casefold()


def _day(value: Any) -> dt.date | None:
    if isinstance(value, str):
        return dt.date.fromisoformat(value) if len(value) == 10 else None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return None


def _local(value: Any) -> dt.datetime:
    stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=HANOI)


def selects(row: tuple[Any, ...], rule: dict[str, Any]) -> bool:
    """Does ``rule`` (IncidentFilter's keywords, or ``street`` as typed) select ``row``?"""
    ward, type_, status, street, reported, lon, lat = row
    reported = reported.replace(tzinfo=HANOI)
    for field, value in (("wards", ward), ("types", type_), ("statuses", status), ("streets", street)):
        wanted = _one_or_many(rule.get(field))
        if wanted is not None and value not in wanted:
            return False
    if (start := rule.get("date_from")) is not None:
        day = _day(start)
        if (reported.date() < day) if day else (reported < _local(start)):
            return False
    if (stop := rule.get("date_to")) is not None:
        day = _day(stop)
        if (reported.date() > day) if day else (reported >= _local(stop)):
            return False
    if (typed := rule.get("street", "")).strip() and not _typed_street_matches(typed, street):
        return False
    if (box := rule.get("bbox")) is not None and not (box[0] <= lon <= box[2] and box[1] <= lat <= box[3]):
        return False
    return not (rule.get("overdue") and not (status in OPEN and reported < NOW_LOCAL - SLA_BOUND))


def expected(rule: dict[str, Any]) -> list[str]:
    return sorted(name for name, row in ROWS.items() if selects(row, rule))


# -- the table ---------------------------------------------------------------------------

#: IncidentFilter's own keywords: what the store's reads are given.
FILTERS: dict[str, dict[str, Any]] = {
    "all": {},
    "no ward": {"wards": ()},
    "no type": {"types": ()},
    "no status": {"statuses": ()},
    "no street": {"streets": ()},
    "one ward": {"wards": (WEST,)},
    "one ward as text": {"wards": WEST},
    "both wards (not the unassigned)": {"wards": (WEST, EAST)},
    "unknown ward": {"wards": ("99999",)},
    "two types": {"types": ("parking", "awning")},
    "unknown type": {"types": ("no_such_type",)},
    "cleared": {"statuses": ("cleared",)},
    "from 1 March (00:00 in, 23:59:59 before out)": {"date_from": dt.date(2025, 3, 1)},
    "to 28 February": {"date_to": dt.date(2025, 2, 28)},
    "31 March only": {"date_from": dt.date(2025, 3, 31), "date_to": dt.date(2025, 3, 31)},
    "to 31 March (1 April 00:00 out)": {"date_to": dt.date(2025, 3, 31)},
    "from 1 April": {"date_from": dt.date(2025, 4, 1)},
    "dates as text": {"date_from": "2025-03-01", "date_to": "2025-03-31"},
    "from an instant (inclusive)": {"date_from": dt.datetime(2025, 3, 31, 23, 59, 59)},
    "to an instant (exclusive)": {"date_to": dt.datetime(2025, 3, 31, 23, 59, 59)},
    "a stored street, exactly": {"streets": ("Hàng Mã",)},
    "an unknown stored street": {"streets": ("Không Có Phố",)},
    "overdue": {"overdue": True},
    "overdue in the east": {"overdue": True, "wards": (EAST,)},
    "bbox with its edge": {"bbox": (105.80, 21.00, 105.805, 21.01)},
    "west, reported, March": {
        "wards": (WEST,), "statuses": ("reported",), "date_from": dt.date(2025, 3, 1),
        "date_to": dt.date(2025, 3, 31),
    },
}

#: What someone picks in the map's form or types as flags (nothing picked: any).
CHOICES: dict[str, dict[str, Any]] = {
    "nothing picked": {},
    "one ward picked": {"wards": [WEST]},
    "types and statuses": {"types": ["parking", "sidewalk"], "statuses": ["reported", "in_progress"]},
    "1 March to 31 March": {"date_from": dt.date(2025, 3, 1), "date_to": dt.date(2025, 3, 31)},
    "to 28 February": {"date_to": dt.date(2025, 2, 28)},
    "street typed without diacritics": {"street": "hang ma"},
    "street typed with diacritics": {"street": "Hàng Mã"},
    "street typed in capitals": {"street": "PHỐ HUẾ"},
    "street that matches nothing": {"street": "Không Có Phố"},
    "blank street": {"street": "   "},
    "overdue ticked": {"overdue": True},
    "street and ward": {"street": "hang ma", "wards": [EAST]},
}


def _choice_rule(choices: dict[str, Any]) -> dict[str, Any]:
    """A form's picks as the rule reads them: an empty list is no condition."""
    return {k: (tuple(v) or None) if isinstance(v, list) else v for k, v in choices.items()}


def _choice_filter(choices: dict[str, Any], names: Any) -> IncidentFilter:
    return IncidentFilter.from_choices(**{k: tuple(v) if isinstance(v, list) else v for k, v in choices.items()},
                                       street_names=names)


def test_the_table_selects_something_and_leaves_something():
    """The cases discriminate: most select some rows but not all, and every empty-list
    case is in the table."""
    results = [expected(rule) for rule in FILTERS.values()] + [
        expected(_choice_rule(c)) for c in CHOICES.values()
    ]
    assert sum(0 < len(r) < len(ROWS) for r in results) >= len(results) - 11
    empty_lists = {field for rule in FILTERS.values() for field, value in rule.items() if value == ()}
    assert empty_lists == {"wards", "types", "statuses", "streets"}
    march = expected({"date_from": dt.date(2025, 3, 1)})
    assert "a" in march and "b" not in march  # 00:00 is in, 23:59:59 the day before is not


# -- the store ---------------------------------------------------------------------------


@pytest.fixture
def table_store(store, monkeypatch):
    return _filled(store, monkeypatch)


@pytest.fixture
def sqlite_table_store(tmp_path, monkeypatch):
    """The table's store as a SQLite file (what the page test opens through the app)."""
    opened = open_store(f"sqlite:///{tmp_path / 'table.sqlite'}")
    yield _filled(opened, monkeypatch)
    opened.close()


def _filled(store, monkeypatch):
    monkeypatch.delenv("GEO_SLA_DAYS", raising=False)  # the default service levels
    stored_wards.ensure(store, two_wards())
    frame = incidents([
        {
            "ward_code": ward, "type": type_, "status": status, "street": street,
            "reported_at": pd.Timestamp(reported, tz=HANOI).tz_convert("UTC"),
            "cleared_at": pd.Timestamp(reported, tz=HANOI).tz_convert("UTC") + pd.Timedelta(days=1)
            if status == "cleared" else pd.NaT,
            "lon": lon, "lat": lat, "source_id": name,
        }
        for name, (ward, type_, status, street, reported, lon, lat) in ROWS.items()
    ])
    batches.commit_batch(store, batch(), frame, NO_UPDATES, actor="test")
    return store


def _names(store, ids) -> list[str]:
    stored = queries.incidents(store)
    by_id = dict(zip(stored["id"].astype(int), stored["source_id"], strict=True))
    return sorted(by_id[int(i)] for i in ids)


def _check(got: dict[str, list[str]], want: dict[str, list[str]]) -> None:
    wrong = {case: (got[case], want[case]) for case in want if got[case] != want[case]}
    assert not wrong, "case: (got, expected) " + repr(wrong)


def _all_cases(store, names: Any) -> dict[str, tuple[IncidentFilter, list[str]]]:
    cases = {k: (IncidentFilter(**rule), expected(rule)) for k, rule in FILTERS.items()}
    cases.update({k: (_choice_filter(c, names), expected(_choice_rule(c))) for k, c in CHOICES.items()})
    return cases


def test_store_sql(table_store):
    cases = _all_cases(table_store, queries.street_names(table_store))
    got = {k: sorted(queries.incidents(table_store, flt)["source_id"]) for k, (flt, _) in cases.items()}
    _check(got, {k: want for k, (_, want) in cases.items()})


def test_snapshot_mask(table_store):
    snapshot = load_snapshot(table_store)
    cases = _all_cases(table_store, snapshot.labels["street"])  # the names the map page looks in
    got = {k: _names(table_store, snapshot.ids[flt.mask(snapshot)]) for k, (flt, _) in cases.items()}
    _check(got, {k: want for k, (_, want) in cases.items()})


def test_density_point_read(table_store):
    at = {(row[5], row[6]): name for name, row in ROWS.items()}
    cases = _all_cases(table_store, queries.street_names(table_store))
    got = {}
    for k, (flt, _) in cases.items():
        lon, lat = incident_points(table_store, flt)
        got[k] = sorted(at[(x, y)] for x, y in zip(lon.tolist(), lat.tolist(), strict=True))
    _check(got, {k: want for k, (_, want) in cases.items()})


# -- the conversions ---------------------------------------------------------------------


def _argv(choices: dict[str, Any]) -> list[str]:
    flags = {"wards": "--ward", "types": "--type", "statuses": "--status"}
    argv = [part for key, flag in flags.items() for code in choices.get(key, []) for part in (flag, code)]
    for key, flag in (("date_from", "--from"), ("date_to", "--to")):
        if key in choices:
            argv += [flag, choices[key].isoformat()]
    if "street" in choices:
        argv += ["--street", choices["street"]]
    return argv + (["--overdue"] if choices.get("overdue") else [])


def test_map_command_flags(table_store):
    """``python -m geo map`` flags, parsed by the real parser, through the CLI's conversion."""
    parser = build_parser()
    names = queries.street_names(table_store)
    got, want = {}, {}
    for k, choices in CHOICES.items():
        args = parser.parse_args(["map", "--out", "x.html", *_argv(choices)])
        flt = incident_filter(args, [WEST, EAST], names)
        got[k] = sorted(queries.incidents(table_store, flt)["source_id"])
        want[k] = expected(_choice_rule(choices))
    _check(got, want)


def test_export_command_flags(table_store, tmp_path):
    """``python -m geo export`` end to end: its flags are the store's own codes and names."""
    user = ensure_account(table_store.url, "viewer")
    got, want = {}, {}
    for i, (k, rule) in enumerate(FILTERS.items()):
        if any(v == () or isinstance(v, dt.datetime) for v in rule.values()):
            continue  # an empty list or an instant cannot be typed as these flags
        argv = []
        for key, flag in (("wards", "--ward"), ("types", "--type"), ("statuses", "--status"),
                          ("streets", "--street")):
            argv += [part for code in _one_or_many(rule.get(key)) or () for part in (flag, code)]
        for key, flag in (("date_from", "--from"), ("date_to", "--to")):
            if key in rule:
                argv += [flag, str(rule[key])]
        if "bbox" in rule:
            argv += ["--bbox", *map(str, rule["bbox"])]
        argv += ["--overdue"] if rule.get("overdue") else []
        out = tmp_path / f"e{i}.csv"
        assert cli_main(["export", "--format", "csv", "--out", str(out), "--database", table_store.url,
                         "--user", user, *argv]) == 0
        got[k] = sorted(pd.read_csv(out, dtype=str, encoding="utf-8-sig")["source_id"])
        want[k] = expected(rule)
    assert len(got) >= 15
    _check(got, want)


def _url(choices: dict[str, Any]) -> dict[str, list[str]]:
    params = {"ward": "wards", "type": "types", "status": "statuses"}
    url = {param: list(choices[key]) for param, key in params.items() if key in choices}
    for param, key in (("from", "date_from"), ("to", "date_to")):
        if key in choices:
            url[param] = [choices[key].isoformat()]
    if "street" in choices:
        url["street"] = [choices["street"]]
    if choices.get("overdue"):
        url["overdue"] = ["1"]
    return url


def test_map_page_url_and_widgets(table_store):
    """A shared link's parameters → the widgets' values → the page's filter, on the mask."""
    from geo.vocab import STATE_CODES, TYPE_CODES

    valid = {"f_wards": {WEST, EAST}, "f_types": set(TYPE_CODES), "f_statuses": set(STATE_CODES)}
    snapshot = load_snapshot(table_store)
    got, want = {}, {}
    for k, choices in CHOICES.items():
        state = filter_state_from_url(_url(choices), valid)
        flt = filter_from_state(state, snapshot.labels["street"])
        got[k] = _names(table_store, snapshot.ids[flt.mask(snapshot)])
        want[k] = expected(_choice_rule(choices))
    _check(got, want)


@pytest.mark.parametrize("case", ["nothing picked", "one ward picked", "1 March to 31 March",
                                  "street typed without diacritics", "street that matches nothing"])
def test_map_page_end_to_end(sqlite_table_store, monkeypatch, case):
    """The real map page (AppTest) opened on a shared link shows the rule's count (on
    SQLite: the page's conversion and mask do not depend on the backend)."""
    from streamlit.testing.v1 import AppTest

    table_store = sqlite_table_store
    monkeypatch.setenv("GEO_DATABASE_URL", table_store.url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=120)
    sign_in_apptest(at, table_store.url, "viewer")
    for param, values in _url(CHOICES[case]).items():
        at.query_params[param] = values
    at.run()
    assert not at.exception, at.exception
    shown = len(expected(_choice_rule(CHOICES[case])))
    captions = "\n".join(c.value for c in at.caption)
    assert f"{shown} vụ việc hiển thị trên {len(ROWS)}" in captions, captions
