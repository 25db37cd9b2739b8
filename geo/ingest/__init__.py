"""Field-team incident files into the store: every row accounted for.

Two phases, used by both the CLI (``python -m geo ingest``) and the upload page::

    p = preview("bao_cao.csv", IngestOptions(sheet="Tháng 8"), store=store)  # nothing written
    p.summary(); p.columns; p.first_rows(); p.rejects()
    result = commit(p, store, actor="ward_officer")

See :mod:`geo.ingest.pipeline` for the stages, :mod:`geo.ingest._result` for the row
outcomes and flags.
"""

from geo.ingest._classify import classify, refresh
from geo.ingest._dates import parse_file_date
from geo.ingest._limits import IngestLimits
from geo.ingest._options import IngestOptions
from geo.ingest._reasons import REASONS
from geo.ingest._result import FLAGS, OUTCOMES, IngestPreview, IngestResult
from geo.ingest.pipeline import commit, ingest, preview, write_batch

__all__ = [
    "FLAGS",
    "OUTCOMES",
    "REASONS",
    "IngestLimits",
    "IngestOptions",
    "IngestPreview",
    "IngestResult",
    "classify",
    "commit",
    "ingest",
    "parse_file_date",
    "preview",
    "refresh",
    "write_batch",
]
