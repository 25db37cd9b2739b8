"""Every action and object type an audit entry can carry, declared once.

The audit log stores codes (``user_add``, ``denied``, ``incident``) so that its hash chain
and the readers that look for an action (the map's refresh, the places' file) never depend
on a wording; the administration page shows each code as a word in the page's language
(:mod:`geo.i18n`: ``admin.action.<code>``, ``admin.object.<code>``). A code written
without being declared here would reach the page as itself, so every audit row is checked
on its way into the chain (:func:`geo.store._chain.append` and ``append_columns``, the only
ways rows enter ``audit_log``): an undeclared code raises ``ValueError`` before anything is
written, and tests/test_audit_codes.py checks that every code declared here has a label in
both languages.

A new audited action or object type gets a line here and its two labels in
``geo/i18n/_admin.py``.

The keys of an entry's details (``{"file_name": …, "incidents": 12}``) are declared here
too (:data:`DETAIL_KEYS`), each with a label ``admin.detail.<key>``, so the page shows
"Tên tệp: a.csv; Vụ việc: 12" in the page's language, not the writer's English keys.
They are not checked on the way in (details also carry data keyed by what they count,
such as a ward layer's geometry kinds, shown as written); tests/test_audit_codes.py reads
the keys the writers pass from their source and fails on one not declared here.
"""

from __future__ import annotations

from collections.abc import Iterable

#: What was done (``audit_log.action``).
ACTIONS: frozenset[str] = frozenset(
    {
        # incidents and their files (store.workflow, store.batches, store.places, store.photos)
        "status", "recurrence", "ingest", "ingest_recheck", "reinspection",
        "public_note", "photo_add", "photo_fetch", "place_unplaced", "places_rebuild",
        # rights and sign-in (services._rights, services.accounts, store.logins, store.sessions)
        "denied", "login", "login_failed", "login_throttled", "login_locked", "login_unlock",
        "session_end", "setup_token_issued",
        # accounts (store.users)
        "user_add", "user_first_admin", "user_rehash", "user_disable", "user_enable",
        "user_passwd", "user_grant",
        # files out, the store itself, the ward layer
        "export", "backup", "backup_media", "guards_restored", "rekey_duplicates",
        "wards", "boundaries_replace",
        # residents' reports and Open311 keys (store.reports: ``report_<moderation status>``)
        "report_received", "report_accepted", "report_merged", "report_rejected",
        "report_erase_personal", "apikey_add", "apikey_revoke",
    }
)  # fmt: skip

#: What it was done to (``audit_log.object_type``), including what a refused attempt was
#: about (``object_type=`` of :func:`geo.services.check`) and the sign-in throttle's scopes.
OBJECT_TYPES: frozenset[str] = frozenset(
    {
        "incident", "incidents", "batch", "upload", "rejected_rows", "photo", "photo_links",
        "place", "places", "reinspect", "sustain",
        "user", "users", "account", "address", "admin_page", "api_key", "resident_report",
        "store", "audit_log", "audit_chain", "wards",
        "export", "map", "density", "league_table", "ward_report", "ward_stats",
        "ward_metrics", "street_stats", "week_counts", "progress", "figures", "public_view",
    }
)  # fmt: skip

#: Object types rows written by an older version carry and no writer may write again (not in
#: :data:`OBJECT_TYPES`, so :func:`require` refuses them): they keep their labels (stored rows are never rewritten: the log is hash-chained) and
#: :func:`meant` tells what each such row was about. ``report`` covered both a ward
#: report's export (now ``ward_report``) and a resident's report (now ``resident_report``).
RETIRED_OBJECT_TYPES: frozenset[str] = frozenset({"report"})


def meant(action: object, object_type: object, details: object) -> object:
    """The object type a stored row means, for showing it: a retired type read from the
    row's action (and, for a refusal, the right it needed); any other type as stored.

    Parameters
    ----------
    action, object_type, details
        The row's ``action``, ``object_type`` and ``details`` as stored.

    Returns
    -------
    object
        ``"ward_report"`` or ``"resident_report"`` for an old ``report`` row, else
        ``object_type`` unchanged.
    """
    if object_type != "report":
        return object_type
    right = details.get("action") if isinstance(details, dict) else None
    if action == "export" or (action == "denied" and right == "export"):
        return "ward_report"
    if str(action).startswith("report_") or right in ("moderate_reports", "erase_personal_data"):
        return "resident_report"
    return object_type


#: Keys of the details (``audit_log.details``) the writers record, including those of the
#: dicts nested in them: an export's ``filters`` (:class:`geo.store.IncidentFilter`'s fields
#: and ``limit``), a ward layer's check ``report`` (:mod:`geo._boundary_shape`) and an
#: ingest's ``counts`` (its outcomes; its ``flag_<flag>`` counts take the upload page's
#: flag labels). Keys written by an older version and since dropped show as themselves.
DETAIL_KEYS: frozenset[str] = frozenset(
    {
        # incidents, their files and status moves (store.batches, store.workflow, store._move_history)
        "file_name", "sha256", "source", "incidents", "status_updates", "counts", "from", "to",
        "at", "note", "batch_id", "recurrence_of", "public_note", "guards",
        # an ingest's counts (geo.ingest: outcomes and rows)
        "accepted", "duplicate", "rejected", "rows",
        # photos, places, re-inspections (store.photos, store.places, store.inspections)
        "photos", "photo_id", "recurrences", "places", "radius_m", "inspection", "result",
        "incident", "checks",
        # rights, sign-in and accounts (services._rights, services.accounts, store.logins,
        # store.sessions, store.users)
        "action", "ward_code", "reason", "reason_vi", "count", "address", "until", "locked", "failures",
        "locks", "disabled", "oidc", "roles", "wards", "password", "before", "sessions_ended",
        # files out and the store (services.downloads, services.incidents, services.places)
        "out", "ward", "on", "format", "points", "cell_m", "filters",
        "types", "statuses", "date_from", "date_to", "streets", "bbox", "overdue", "limit",
        # the ward layer (store.wards, services.boundaries) and its check report
        "added", "changed", "retired", "report", "invalid", "overlaps_m2", "gaps_m2",
        "gap_count", "codes_matched", "unmatched", "kinds",
        # residents' reports and API keys (store.reports, store.api_keys)
        "service_code", "incident_id", "name", "prefix",
    }
)  # fmt: skip


def require(actions: Iterable[object], object_types: Iterable[object]) -> None:
    """Refuse audit rows whose action or object type is not declared here.

    Parameters
    ----------
    actions, object_types
        The codes of the rows about to be written (repeats allowed).

    Returns
    -------
    None
        When every code is declared.

    Raises
    ------
    ValueError
        A code not in :data:`ACTIONS` / :data:`OBJECT_TYPES`: a programming error (the
        code would have no label), raised before the row is written.
    """
    unknown = sorted(
        {f"action {a!r}" for a in set(actions) if a not in ACTIONS}
        | {f"object type {o!r}" for o in set(object_types) if o not in OBJECT_TYPES}
    )
    if unknown:
        raise ValueError(
            f"undeclared audit code(s): {', '.join(unknown)}; declare them in geo.audit_codes "
            "and label them in geo/i18n/_admin.py"
        )
