"""What an ingest decided: every row's outcome, before (preview) and after (result) storing.

Every row read ends as exactly one of ``accepted``, ``duplicate`` (naming the stored
incident or the earlier row it repeats) or ``rejected`` (a reason code and a bilingual
message naming the row and the field), so accepted + duplicate + rejected = rows read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo.ingest._columns import ColumnMapping

if TYPE_CHECKING:
    import geopandas as gpd

OUTCOMES = ("accepted", "duplicate", "rejected")
FLAGS = (
    "outside", "snapped", "swapped_lat_lon", "ward_mismatch", "no_street", "date_from_file",
    "cleared_unverified",
)  # fmt: skip


@dataclass
class IngestPreview:
    """What an ingest will do, row by row, before anything is stored."""

    file_name: str
    sha256: str
    size: int
    file_format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    source: str
    crs: str | None
    strict: bool
    mapping: ColumnMapping
    #: The file as read: original columns, all text, one row per data row.
    original: pd.DataFrame
    #: One row per data row: ``row``, ``outcome``, ``reason``, ``field``, messages,
    #: ``duplicate_of_incident``, ``duplicate_of_row``, ``flags`` and the parsed values.
    rows: pd.DataFrame
    store_checked: bool = False
    #: ``batches.change_marker()`` taken just before the store was consulted (None: never).
    store_marker: tuple[str, tuple[int, ...]] | None = field(default=None, repr=False)
    #: The ward layer the points were assigned to (a fresh store is given it on commit).
    wards: gpd.GeoDataFrame | None = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    # -- summaries ----------------------------------------------------------------------

    @property
    def columns(self) -> pd.DataFrame:
        """Each column of the file with the role it was recognised as.

        Returns
        -------
        pandas.DataFrame
            ``column``, ``role`` ("" when ignored) and ``how`` it was recognised.
        """
        return self.mapping.describe()

    def counts(self) -> dict[str, int]:
        """How many rows end in each outcome.

        Returns
        -------
        dict
            ``accepted``, ``duplicate``, ``rejected`` and ``rows`` (their sum).
        """
        outcome = self.rows["outcome"].value_counts()
        counts = {name: int(outcome.get(name, 0)) for name in OUTCOMES}
        counts["rows"] = len(self.rows)
        return counts

    def flag_counts(self) -> dict[str, int]:
        """How many accepted rows carry each flag.

        Returns
        -------
        dict
            Each of :data:`FLAGS` with its count (0 included).
        """
        accepted = self.rows.loc[self.rows["outcome"] == "accepted", "flags"].astype(str)
        return {flag: int(accepted.str.contains(flag, regex=False).sum()) for flag in FLAGS}

    def reason_counts(self) -> dict[str, int]:
        """How many rows are rejected for each reason.

        Returns
        -------
        dict
            Reason code → count, for the reasons that occur.
        """
        reasons = self.rows.loc[self.rows["outcome"] == "rejected", "reason"].value_counts()
        return {str(k): int(v) for k, v in reasons.items()}

    def formats(self, column: str) -> dict[str, int]:
        """How many rows were written in each format.

        Parameters
        ----------
        column : str
            ``"coord_format"`` or ``"date_format"``.

        Returns
        -------
        dict
            Format name → count, for the rows read in one.
        """
        values = self.rows[column].astype(str)
        counts = values[values != ""].value_counts()
        return {str(k): int(v) for k, v in counts.items()}

    @property
    def coordinate_formats(self) -> dict[str, int]:
        """:meth:`formats` of the coordinates ("decimal", "dms", "projected", …)."""
        return self.formats("coord_format")

    @property
    def date_formats(self) -> dict[str, int]:
        """:meth:`formats` of the reported dates ("dd/mm/yyyy", "iso", …)."""
        return self.formats("date_format")

    @property
    def n_status_updates(self) -> int:
        """How many rows move a stored incident to another status."""
        return int(self.rows["update_to"].notna().sum())

    def summary(self) -> dict[str, Any]:
        """The JSON summary the CLI prints.

        Returns
        -------
        dict
            The file (name, hash, format, encoding, sheet, source, CRS), the counts,
            flags, reasons, column roles and formats, and whether the store was checked.
        """
        counts = self.counts()
        return {
            "file": self.file_name,
            "sha256": self.sha256,
            "format": self.file_format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "source": self.source,
            "crs": self.crs,
            "strict": self.strict,
            "rows": counts["rows"],
            "accepted": counts["accepted"],
            "duplicate": counts["duplicate"],
            "rejected": counts["rejected"],
            "status_updates": self.n_status_updates,
            "flags": self.flag_counts(),
            "reasons": self.reason_counts(),
            "columns": {role: column for role, column in self.mapping.roles.items()},
            "coordinate_formats": self.coordinate_formats,
            "date_formats": self.date_formats,
            "checked_against_store": self.store_checked,
        }

    def first_rows(self, n: int = 10) -> pd.DataFrame:
        """The first rows as parsed, with their outcome, for the upload preview.

        Parameters
        ----------
        n : int
            How many rows.

        Returns
        -------
        pandas.DataFrame
            Row number, outcome, reason, parsed values, flags and messages.
        """
        shown = [
            "row", "outcome", "reason", "type", "status", "reported_at", "lat", "lon",
            "ward_code", "street", "flags", "message_vi", "message_en",
        ]  # fmt: skip
        return self.rows.loc[:, shown].head(n).copy()

    def rejects(self) -> pd.DataFrame:
        """Rejected rows with all their original columns, row number and reason.

        Returns
        -------
        pandas.DataFrame
            ``row``, ``reason``, ``field``, ``message_vi``, ``message_en``, then the
            file's columns as written (so the team can fix them and send them again).
        """
        mask = (self.rows["outcome"] == "rejected").to_numpy()
        out = self.original.loc[mask].copy()
        meta = self.rows.loc[mask, ["row", "reason", "field", "message_vi", "message_en"]]
        for column in reversed(meta.columns.tolist()):
            name = column if column not in out.columns else f"_{column}"
            out.insert(0, name, meta[column].to_numpy())
        return out.reset_index(drop=True)

    def rejects_csv(self) -> bytes:
        """:meth:`rejects` as UTF-8 CSV with a BOM (so Excel shows Vietnamese right), with
        formula-like cells neutralised: the file goes back to a field team's spreadsheet.

        Returns
        -------
        bytes
            The CSV file.
        """
        from geo.exports import csv_bytes

        return csv_bytes(self.rejects())

    def write_rejects(self, path: str | Path) -> Path:
        """Write :meth:`rejects_csv` to ``path`` (the CLI's ``--rejects``).

        Parameters
        ----------
        path : str or Path
            The file to write (replaced if it exists).

        Returns
        -------
        Path
            ``path``.
        """
        target = Path(path)
        target.write_bytes(self.rejects_csv())
        return target

    def incidents(self) -> pd.DataFrame:
        """The accepted rows in the store's incident columns.

        Returns
        -------
        pandas.DataFrame
            What :func:`geo.store.batches.commit_batch` stores, one row per new incident.
        """
        columns = [
            "source", "source_id", "fingerprint", "type", "type_text", "lat", "lon",
            "ward_code", "street", "address", "note", "status", "reported_at", "cleared_at",
            "flags", "row",
        ]  # fmt: skip
        mask = (self.rows["outcome"] == "accepted").to_numpy()
        frame = self.rows[columns] if mask.all() else self.rows.loc[mask, columns]
        frame = frame.rename(columns={"row": "row_number"})
        frame["row_number"] = frame["row_number"].astype("int64")
        return frame.reset_index(drop=True)

    def status_updates(self) -> pd.DataFrame:
        """Moves through the workflow, in the order they were decided (date order within
        the file): of stored incidents, and of incidents new in this file, whose later
        statuses are moves after they are stored in their first state.

        Returns
        -------
        pandas.DataFrame
            ``incident_id`` (a stored incident) or ``new_row`` (the row number of a new
            incident of this batch), ``to_status``, ``at`` (None: when stored) and ``note``.
        """
        rows = self.rows.loc[self.rows["update_to"].notna()]
        if "update_seq" in rows:
            rows = rows.sort_values("update_seq", kind="stable")
        note = "nhập từ / imported from " + self.file_name + ", dòng / row " + rows["row"].astype(
            str
        )
        return pd.DataFrame(
            {
                "incident_id": rows["update_incident"].astype("Int64").to_numpy(),
                "new_row": rows["update_row"].astype("Int64").to_numpy()
                if "update_row" in rows
                else pd.array([pd.NA] * len(rows), dtype="Int64"),
                "to_status": rows["update_to"].astype(object).to_numpy(),
                "at": rows["update_at"].to_numpy(),
                "note": note.to_numpy(),
            }
        )


@dataclass
class IngestResult:
    """A committed (or dry-run) ingest: the preview and the batch it became."""

    preview: IngestPreview
    batch_id: int | None
    dry_run: bool = False

    def summary(self) -> dict[str, Any]:
        """:meth:`IngestPreview.summary` with ``batch_id`` and ``dry_run``.

        Returns
        -------
        dict
            The JSON summary the CLI prints.
        """
        out = self.preview.summary()
        out["batch_id"] = self.batch_id
        out["dry_run"] = self.dry_run
        return out
