"""Ward report (PDF or PNG) for a ward meeting: KPIs, a small map, top streets, and a
second page of before/after photo pairs of the period's clearances when there are any.

Drawn with matplotlib's Agg/PDF backends, so it needs no browser and no network. Every
string that came from a user or a file (ward and street names) is drawn with
``parse_math=False``: a "$" in a street name must print as "$", not start mathtext.
The map is drawn in EPSG:32648 so the ward keeps its true shape. Photos are the stored
thumbnails (≤ 480 px, made from pixels only: no EXIF, no GPS), chosen without flags
first (:func:`geo.store.clearances.clearance_pairs`); a pair that has flags says them in
plain words under it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.errors import MetricError, NotFound
from geo.i18n import number, status_label, t
from geo.maps import OTHER_COLOR, STATUS_COLORS
from geo.metrics import format_value, load_ward_metrics
from geo.photos import MediaStore
from geo.store import IncidentFilter, Store, clearances, queries

Format = Literal["pdf", "png"]
FORMATS: tuple[str, ...] = ("pdf", "png")
#: KPIs on the report, in order (codes of geo.metrics plus counts).
KPIS: tuple[str, ...] = (
    "open", "cleared", "pct_cleared", "median_days", "overdue", "new_week", "open_per_km2",
    "open_per_10k",
)
TOP_STREETS = 10
#: Points drawn on the small map at most (an even sample beyond that).
MAX_MAP_POINTS = 20_000
A4_PORTRAIT = (8.27, 11.69)
#: Before/after pairs on the photo page at most (issue 13: "up to six").
MAX_PHOTO_PAIRS = 6


@dataclass(frozen=True)
class PhotoPair:
    """One cleared incident's before and after thumbnails (JPEG bytes) and their flags."""

    incident_id: int
    place: str
    cleared_at: dt.datetime | None
    before: bytes = field(repr=False)
    after: bytes = field(repr=False)
    before_flags: tuple[str, ...] = ()
    after_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class WardReport:
    """Everything a ward report shows, already read from the store."""

    code: str
    name: str
    kpis: dict[str, Any]
    streets: pd.DataFrame
    points: pd.DataFrame  # lon, lat, status
    ward: gpd.GeoDataFrame  # one row, EPSG:4326
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    photo_pairs: tuple[PhotoPair, ...] = ()


def ward_report_data(
    store: Store,
    wards: gpd.GeoDataFrame,
    code: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    *,
    media: MediaStore | None = None,
) -> WardReport:
    """Read one ward's figures for its report.

    Parameters
    ----------
    store
        The store the figures are read from.
    wards
        The ward layer in use.
    code
        The ward's code.
    date_from, date_to
        The period (Hà Nội days, inclusive; None: open).
    media
        Where the photo thumbnails are (default ``GEO_MEDIA_DIR``).

    Returns
    -------
    WardReport
        KPIs, top streets, points, the ward's polygon and up to
        :data:`MAX_PHOTO_PAIRS` before/after pairs, for :func:`render`.

    Raises
    ------
    NotFound
        For a code not in ``wards``.
    """
    row = wards[wards["code"].astype(str) == str(code)]
    if row.empty:
        raise NotFound(
            f"Không có phường, xã mã {code!r} trong lớp ranh giới.",
            f"There is no ward with code {code!r} in the boundary layer.",
        )
    metrics = load_ward_metrics(store, wards, date_from, date_to)
    kpis = {str(k): v for k, v in metrics[metrics["code"] == str(code)].iloc[0].items()}
    kpis["recurred"] = int(
        queries.ward_stats(store, date_from, date_to).set_index("ward_code")["recurred"].get(str(code), 0)
    )
    streets = queries.street_stats(store, date_from, date_to, wards=[str(code)])
    incidents = queries.incidents(store, IncidentFilter(wards=(str(code),), date_from=date_from, date_to=date_to))
    points = pd.DataFrame(
        {
            "lon": incidents["lon"].to_numpy(float),
            "lat": incidents["lat"].to_numpy(float),
            "status": incidents["status"].astype(str).to_numpy(),
        }
    )
    return WardReport(
        code=str(code),
        name=str(row["name"].iloc[0]),
        kpis=kpis,
        streets=streets.head(TOP_STREETS).reset_index(drop=True),
        points=points,
        ward=row.to_crs(STORAGE_CRS),
        date_from=date_from,
        date_to=date_to,
        photo_pairs=_photo_pairs(store, str(code), date_from, date_to, media or MediaStore()),
    )


def _photo_pairs(
    store: Store, code: str, date_from: dt.date | None, date_to: dt.date | None, media: MediaStore
) -> tuple[PhotoPair, ...]:
    """The ward's pairs whose two thumbnails are in the media folder (a copy of the
    store without its media folder gives a report without photos, not an error)."""
    found = []
    pairs = clearances.clearance_pairs(store, code, date_from, date_to, limit=MAX_PHOTO_PAIRS)
    for row in pairs.to_dict("records"):
        before, after = media.thumbnail_path(str(row["before_sha256"])), media.thumbnail_path(str(row["after_sha256"]))
        if not (before.is_file() and after.is_file()):
            continue
        cleared = None if pd.isna(row["cleared_at"]) else pd.Timestamp(row["cleared_at"]).to_pydatetime()
        place = next((str(row[k]) for k in ("street", "address") if isinstance(row[k], str) and row[k]), "")
        found.append(PhotoPair(
            int(row["incident_id"]), place, cleared, before.read_bytes(), after.read_bytes(),
            _codes(row["before_flags"]), _codes(row["after_flags"]),
        ))  # fmt: skip
    return tuple(found)


def _codes(flags: Any) -> tuple[str, ...]:
    return tuple(f for f in str(flags or "").split(",") if f)


def _period(report: WardReport, lang: str) -> str:
    start = report.date_from.strftime("%d/%m/%Y") if report.date_from else "…"
    end = report.date_to.strftime("%d/%m/%Y") if report.date_to else t("report.today", lang)
    return f"{t('report.period', lang)}: {start} – {end}"


def _kpi_text(report: WardReport, code: str, lang: str) -> str:
    value = report.kpis.get(code)
    return format_value(value, code, lang)


def _draw_map(ax: Any, report: WardReport, lang: str) -> None:
    ward_m = report.ward.to_crs(METRIC_CRS)
    ward_m.boundary.plot(ax=ax, color="#08306b", linewidth=1.2)
    ward_m.plot(ax=ax, color="#deebf7", alpha=0.5)
    pts = report.points
    if len(pts) > MAX_MAP_POINTS:
        pts = pts.iloc[np.linspace(0, len(pts) - 1, MAX_MAP_POINTS).astype(int)]
    if len(pts):
        geo = gpd.GeoSeries(gpd.points_from_xy(pts["lon"], pts["lat"]), crs=STORAGE_CRS).to_crs(METRIC_CRS)
        # cleared first, open on top: the open ones are what the meeting is about
        order = {"cleared": 0, "recurred": 1}
        rank = pts["status"].map(order).fillna(2).to_numpy()
        idx = np.argsort(rank, kind="stable")
        colours = [STATUS_COLORS.get(s, OTHER_COLOR) for s in pts["status"].to_numpy()[idx]]
        ax.scatter(geo.x.to_numpy()[idx], geo.y.to_numpy()[idx], s=8, c=colours, linewidths=0.2, edgecolors="#333333")
    minx, miny, maxx, maxy = ward_m.total_bounds
    pad = max(maxx - minx, maxy - miny) * 0.05 + 50
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(t("report.map_title", lang), fontsize=10, loc="left")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=status_label(code, lang), markersize=5)
        for code, colour in STATUS_COLORS.items()
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85)
    # 1 km scale bar (the axes are metres)
    x0, y0 = maxx + pad * 0.5 - 1000, miny - pad * 0.6
    ax.plot([x0, x0 + 1000], [y0, y0], color="black", linewidth=2)
    ax.text(x0 + 500, y0 + pad * 0.15, "1 km", ha="center", fontsize=7)


def figure(report: WardReport, lang: str = "vi") -> Any:
    """The report as a matplotlib Figure (A4 portrait).

    Parameters
    ----------
    report : WardReport
        The ward's figures (:func:`ward_report_data`).
    lang : str
        Label language, ``"vi"`` or ``"en"``.

    Returns
    -------
    matplotlib.figure.Figure
        The page (KPI tiles, ward map, top streets, generation time in UTC+7).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_PORTRAIT)
    fig.text(0.06, 0.955, report.name, fontsize=18, weight="bold", parse_math=False)
    fig.text(
        0.06, 0.93, f"{t('ward.code', lang)}: {report.code} · {_period(report, lang)}",
        fontsize=9, color="#444444", parse_math=False,
    )
    # KPI tiles: two rows of four
    for i, code in enumerate(KPIS):
        col, row = i % 4, i // 4
        x, y = 0.06 + col * 0.225, 0.865 - row * 0.07
        fig.text(x, y + 0.022, _kpi_text(report, code, lang), fontsize=15, weight="bold", color="#08306b")
        fig.text(x, y, t(f"metric.{code}", lang), fontsize=7.5, color="#444444", wrap=True)
    fig.text(
        0.06, 0.735,
        f"{t('report.recurred', lang)}: {number(int(report.kpis.get('recurred', 0)), lang)} · "
        f"{t('metric.volume', lang)}: {number(int(report.kpis.get('volume', 0)), lang)}",
        fontsize=9, color="#444444",
    )
    ax_map = fig.add_axes((0.06, 0.33, 0.88, 0.37))
    _draw_map(ax_map, report, lang)

    fig.text(0.06, 0.295, t("report.top_streets", lang), fontsize=11, weight="bold")
    header = [t("incident.street", lang), t("metric.open", lang), t("metric.cleared", lang), t("metric.overdue", lang)]
    xs = (0.06, 0.50, 0.67, 0.84)
    y = 0.27
    for x, text in zip(xs, header, strict=True):
        fig.text(x, y, text, fontsize=8, weight="bold", color="#444444")
    if report.streets.empty:
        fig.text(0.06, y - 0.022, t("common.none", lang), fontsize=9)
    for _, street in report.streets.iterrows():
        y -= 0.021
        cells = [str(street["street"]), str(int(street["open"])), str(int(street["cleared"])), str(int(street["overdue"]))]
        for x, text in zip(xs, cells, strict=True):
            fig.text(x, y, text[:60], fontsize=9, parse_math=False)
    stamp = report.generated.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%d/%m/%Y %H:%M")
    fig.text(0.06, 0.02, f"{t('report.generated', lang)} {stamp} (UTC+7) · {t('app.title', lang)}", fontsize=7, color="#777777")
    return fig


def photo_page(report: WardReport, lang: str = "vi") -> Any:
    """The report's photo page: before and after side by side for each pair, or None
    when the period has no pair.

    Parameters
    ----------
    report : WardReport
        The ward's figures (:func:`ward_report_data`).
    lang : str
        Label language, ``"vi"`` or ``"en"``.

    Returns
    -------
    matplotlib.figure.Figure or None
        An A4 portrait page, or None.
    """
    if not report.photo_pairs:
        return None
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=A4_PORTRAIT)
    fig.text(0.06, 0.955, f"{report.name} · {t('report.photos_title', lang)}", fontsize=14, weight="bold",
             parse_math=False)  # fmt: skip
    fig.text(0.06, 0.935, _period(report, lang), fontsize=9, color="#444444", parse_math=False)
    fig.text(0.06, 0.915, t("report.photos_note", lang), fontsize=7.5, color="#444444")
    height = 0.86 / MAX_PHOTO_PAIRS
    for i, pair in enumerate(report.photo_pairs):
        top = 0.90 - i * height
        for column, (data, role) in enumerate(((pair.before, "before"), (pair.after, "after"))):
            ax = fig.add_axes((0.06 + column * 0.30, top - height + 0.035, 0.28, height - 0.045))
            ax.imshow(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
            ax.set_axis_off()
            ax.set_title(t(f"photos.{role}", lang), fontsize=8, loc="left")
        x = 0.68
        day = pair.cleared_at.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%d/%m/%Y") if pair.cleared_at else "…"
        fig.text(x, top - 0.02, t("report.photo_incident", lang, id=pair.incident_id), fontsize=9, weight="bold")
        fig.text(x, top - 0.04, pair.place[:40], fontsize=8, parse_math=False)
        fig.text(x, top - 0.058, t("report.photo_cleared", lang, day=day), fontsize=8)
        for row, (role, flags) in enumerate((("before", pair.before_flags), ("after", pair.after_flags))):
            fig.text(x, top - 0.08 - row * 0.018, f"{t(f'photos.{role}', lang)}: {_flag_words(flags, lang)}",
                     fontsize=7.5, color="#b30000" if flags else "#2b6e2b", wrap=True)  # fmt: skip
    return fig


def _flag_words(flags: tuple[str, ...], lang: str) -> str:
    """A photo's flags in plain words (or "no warnings")."""
    return "; ".join(t(f"photos.flag.{f}", lang) for f in flags) if flags else t("photos.ok", lang)


def render(report: WardReport, fmt: str = "pdf", lang: str = "vi", *, dpi: int = 110) -> bytes:
    """The report as PDF or PNG bytes.

    Parameters
    ----------
    report : WardReport
        The ward's figures.
    fmt : str
        ``"pdf"`` or ``"png"`` (case and a leading dot ignored).
    lang : str
        Label language, ``"vi"`` or ``"en"``.
    dpi : int
        Resolution of the rendering, dots per inch.

    Returns
    -------
    bytes
        The file's bytes.

    Raises
    ------
    geo.errors.MetricError
        ``fmt`` is not one of :data:`FORMATS`.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise MetricError(
            f"Không có định dạng báo cáo {fmt!r} (pdf, png).",
            f"There is no report format {fmt!r} (pdf or png).",
        )
    pages = [figure(report, lang)]
    photos = photo_page(report, lang)
    if photos is not None:
        pages.append(photos)
    buffer = io.BytesIO()
    if fmt == "pdf":
        from matplotlib.backends.backend_pdf import PdfPages

        with PdfPages(buffer, metadata=_metadata(report, fmt)) as pdf:
            for page in pages:
                pdf.savefig(page, dpi=dpi)
        return buffer.getvalue()
    if len(pages) == 1:
        pages[0].savefig(buffer, format=fmt, dpi=dpi, metadata=_metadata(report, fmt))
        return buffer.getvalue()
    return _stacked_png(pages, dpi, _metadata(report, fmt))


def _stacked_png(pages: list[Any], dpi: int, metadata: dict[str, Any]) -> bytes:
    """The pages one under the other as one PNG (a PNG has no pages)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    images = []
    for page in pages:
        one = io.BytesIO()
        page.savefig(one, format="png", dpi=dpi)
        images.append(Image.open(io.BytesIO(one.getvalue())).convert("RGB"))
    sheet = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)), "white")
    top = 0
    for image in images:
        sheet.paste(image, (0, top))
        top += image.height
    info = PngInfo()
    for key, value in metadata.items():
        info.add_text(key, str(value))
    out = io.BytesIO()
    sheet.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _metadata(report: WardReport, fmt: str) -> dict[str, Any]:
    title = f"{report.name} ({report.code})"
    if fmt == "pdf":
        return {"Title": title, "Creator": "hanoi-urban-order"}
    return {"Title": title}


def write_report(report: WardReport, out: str | Path, lang: str = "vi") -> Path:
    """Write PDF or PNG, chosen by the file's suffix.

    Parameters
    ----------
    report : WardReport
        The ward's figures.
    out : str or pathlib.Path
        The file to write; its suffix (``.pdf`` or ``.png``) picks the format.
    lang : str
        Label language, ``"vi"`` or ``"en"``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    geo.errors.MetricError
        The suffix is neither ``.pdf`` nor ``.png``.
    """
    path = Path(out)
    path.write_bytes(render(report, path.suffix, lang))
    return path
