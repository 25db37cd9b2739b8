"""The incident filters shared by the commands that read the store (map, density, report).

Values are read the way an officer types them: a ward by code or by name (old names
too), a status or type in Vietnamese or English; anything not understood is refused
with a bilingual message naming the flag.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.admin_units import ward_code_from_text
from geo.boundaries import load_boundaries
from geo.cli._actor import add_actor_argument
from geo.errors import InvalidArgument, NotFound
from geo.services import active_wards
from geo.store import IncidentFilter
from geo.vocab import STATE_CODES, TYPE_CODES, status_code, type_code

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.store import Store


def add_filter_arguments(parser: argparse.ArgumentParser, *, street: bool = True) -> None:
    parser.add_argument("--ward", action="append", default=[], help="mã hoặc tên / code or name")
    parser.add_argument("--status", action="append", default=[], help=", ".join(STATE_CODES))
    parser.add_argument("--type", action="append", default=[], help=", ".join(TYPE_CODES))
    parser.add_argument("--from", dest="date_from", help="YYYY-MM-DD (Hà Nội day)")
    parser.add_argument("--to", dest="date_to", help="YYYY-MM-DD, inclusive")
    if street:
        parser.add_argument("--street", default="")
        parser.add_argument("--overdue", action="store_true", help="only overdue incidents")


def parse_date(text: str | None, flag: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgument(
            f"{flag} {text!r}: ngày phải có dạng YYYY-MM-DD.",
            f"{flag} {text!r}: the date must look like YYYY-MM-DD.",
        ) from exc


def ward_code(value: str, known: Iterable[str]) -> str:
    """A five-digit code, or a ward name resolved through :mod:`geo.admin_units`."""
    code = value.strip() if re.fullmatch(r"\d{5}", value.strip()) else ward_code_from_text(value)
    if code is None or code not in set(known):
        raise NotFound(
            f"--ward {value!r}: không có phường, xã này trong lớp ranh giới.",
            f"--ward {value!r}: no such ward in the boundary layer.",
        )
    return str(code)


def vocab_codes(
    values: Iterable[str], flag: str, convert: Callable[[str], Any], known: tuple[str, ...]
) -> tuple[str, ...]:
    out = []
    for value in values:
        code = value if value in known else convert(value)
        if code not in known:
            raise InvalidArgument(
                f"{flag} {value!r}: không hiểu; dùng một trong {', '.join(known)}.",
                f"{flag} {value!r}: not understood; use one of {', '.join(known)}.",
            )
        out.append(str(code))
    return tuple(out)


def incident_filter(
    args: argparse.Namespace, known_wards: Iterable[str], street_names: Iterable[str] = ()
) -> IncidentFilter:
    """The filter of :func:`add_filter_arguments`' flags: the one the map page builds
    from the same values (no flag: any; a typed ``--street`` looked up in ``street_names``).

    Parameters
    ----------
    args
        The parsed flags.
    known_wards
        Ward codes of the layer in use (a ``--ward`` outside it is refused).
    street_names
        The stored street names (only read when ``--street`` is given).

    Returns
    -------
    IncidentFilter
        The filter; a value not understood raises a bilingual error naming its flag.
    """
    known = list(known_wards)
    return IncidentFilter.from_choices(
        wards=[ward_code(w, known) for w in args.ward],
        types=vocab_codes(args.type, "--type", type_code, TYPE_CODES),
        statuses=vocab_codes(args.status, "--status", status_code, STATE_CODES),
        date_from=parse_date(args.date_from, "--from"),
        date_to=parse_date(args.date_to, "--to"),
        street=getattr(args, "street", "") or "",
        street_names=street_names,
        overdue=bool(getattr(args, "overdue", False)),
    )


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--boundaries``, ``--database`` and ``--user``: where the wards and incidents of a
    read-only command come from, and who reads them (the rights checked)."""
    parser.add_argument("--boundaries", type=Path, default=None)
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    add_actor_argument(parser)


def ward_layer(args: argparse.Namespace, store: Store) -> gpd.GeoDataFrame:
    """``--boundaries FILE`` when given, else the store's active layer (what the app shows)."""
    if getattr(args, "boundaries", None):
        return load_boundaries(args.boundaries)
    return active_wards(store)
