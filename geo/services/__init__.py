"""The rights-checked entry points: the app and the CLI read and change the store through these.

Each function takes the store and the acting :class:`geo.auth.User`, calls :func:`check`
(:func:`geo.auth.require`) before it reads or writes anything, calls the domain function
that does the work, and leaves an audit entry for what it changed (the store records
ingests and status moves itself, inside the same transaction; user and boundary changes
are recorded here or in :mod:`geo.store.users`). A refused attempt is recorded too
(``action = "denied"``), so an administrator can see who tried what. No SQL and no
domain rule lives here.

By topic:

- :mod:`~geo.services.incidents` — the map's reads, an incident's detail, status moves, exports;
- :mod:`~geo.services.figures` — aggregates, series, density points and reports for leaders;
- :mod:`~geo.services.downloads` — every file a page offers (export right; rejected rows: upload);
- :mod:`~geo.services.uploads` — preview and commit an upload;
- :mod:`~geo.services.boundaries` — the ward layer in use and its replacement;
- :mod:`~geo.services.accounts` — sign-in (throttled) and user management;
- :mod:`~geo.services.sessions` — sessions across reloads and tabs, the setup token;
- :mod:`~geo.services.maintenance` — backups, the audit log and its hash chains;
- :mod:`~geo.services.reports` — residents' reports (moderation, API keys, personal data;
  imported as ``from geo.services import reports``, not re-exported).
- :mod:`~geo.services.places` — places, re-inspections and the sustained-order measures.
"""

from __future__ import annotations

from geo.services._rights import ANONYMOUS, check, record_refusal
from geo.services.accounts import (
    add_user,
    authenticate,
    create_first_admin,
    disable_user,
    grant,
    list_users,
    load_user,
    needs_first_admin,
    revoke,
    set_password,
    sign_in_oidc,
    unlock,
)
from geo.services.boundaries import active_wards, replace_boundaries, ward_layer_version
from geo.services.downloads import (
    density_file,
    league_file,
    offered,
    rejected_rows_file,
    ward_report_file,
)
from geo.services.figures import (
    PUBLIC_COLUMNS,
    incident_points,
    progress,
    public_ward_stats,
    street_stats,
    ward_metrics,
    ward_report,
    ward_stats,
    week_counts,
)
from geo.services.incidents import (
    change_status,
    export,
    incident_detail,
    incident_snapshot,
    incidents,
    map_view,
    record_recurrence,
)
from geo.services.maintenance import audit_log, audit_verify, backup
from geo.services.places import (
    chronic_timelines,
    due_list,
    export_due_list,
    ingest_results,
    inspections,
    place_incidents,
    place_states,
    place_timelines,
    rebuild_places,
    record_check,
    recurrence_counts,
    survival_curves,
    sustain_measures,
    sustain_records,
)
from geo.services.sessions import (
    Resumed,
    end_session,
    issue_setup_token,
    resume_session,
    setup_token_valid,
    start_session,
)
from geo.services.uploads import commit_upload, ingest_file, preview_upload

__all__ = [
    "ANONYMOUS",
    "PUBLIC_COLUMNS",
    "Resumed",
    "active_wards",
    "add_user",
    "audit_log",
    "audit_verify",
    "authenticate",
    "backup",
    "change_status",
    "check",
    "chronic_timelines",
    "commit_upload",
    "create_first_admin",
    "density_file",
    "disable_user",
    "due_list",
    "end_session",
    "export",
    "export_due_list",
    "grant",
    "incident_detail",
    "incident_points",
    "incident_snapshot",
    "incidents",
    "ingest_file",
    "ingest_results",
    "inspections",
    "issue_setup_token",
    "league_file",
    "list_users",
    "load_user",
    "map_view",
    "needs_first_admin",
    "offered",
    "place_incidents",
    "place_states",
    "place_timelines",
    "preview_upload",
    "progress",
    "public_ward_stats",
    "rebuild_places",
    "record_check",
    "record_recurrence",
    "record_refusal",
    "recurrence_counts",
    "rejected_rows_file",
    "replace_boundaries",
    "resume_session",
    "revoke",
    "set_password",
    "setup_token_valid",
    "sign_in_oidc",
    "start_session",
    "street_stats",
    "survival_curves",
    "sustain_measures",
    "sustain_records",
    "unlock",
    "ward_layer_version",
    "ward_metrics",
    "ward_report",
    "ward_report_file",
    "ward_stats",
    "week_counts",
]
