"""The portable statement that reads the state of the stored places a batch joins (see
:func:`geo.store._place_plan.stored_states`): whether an incident there is open, and
the latest clearance (latest ``cleared_at``, then the larger id).

A backend chooses the statement (:meth:`geo.store._backend.Backend.place_states_sql`):
PostgreSQL runs this one; SQLite its own form without the window's sort
(:func:`geo.store._sqlite.states_sql`). Kept apart from the plan so that a backend can
use it without importing the plan.
"""

from __future__ import annotations

#: Reads the place ids from the temporary table ``geo_place_ids`` and returns
#: ``place_id, is_open, id, status, cleared_at`` (the columns every backend's form begins
#: with). ``(cleared_at IS NULL)`` sorts clearances first on both databases, whose NULL orders
#: differ. Every earlier incident of the places, sorted per place by two window functions.
STATES_WINDOW_SQL = """
SELECT place_id, is_open, id, status, cleared_at FROM (
  SELECT ip.place_id, i.id, i.status, i.cleared_at,
         MAX(CASE WHEN i.cleared_at IS NULL THEN 1 ELSE 0 END)
             OVER (PARTITION BY ip.place_id) AS is_open,
         ROW_NUMBER() OVER (PARTITION BY ip.place_id
                            ORDER BY (i.cleared_at IS NULL), i.cleared_at DESC, i.id DESC) AS k
  FROM geo_place_ids g
  JOIN incident_places ip ON ip.place_id = g.id
  JOIN incidents i ON i.id = ip.incident_id
) s WHERE k = 1
"""
