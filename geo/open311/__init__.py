"""Residents' reports through Open311 GeoReport v2 (issue 14).

- :mod:`~geo.open311.services` — one service per violation type, with attributes;
- :mod:`~geo.open311.intake` — a POST's form checked and assigned to its ward;
- :mod:`~geo.open311.requests` — ``GET requests``' filters and a request's fields;
- :mod:`~geo.open311.documents` and :mod:`~geo.open311.render` — the spec's documents in
  JSON and XML;
- :mod:`~geo.open311.limits` — rate limits per key and per address;
- :mod:`~geo.open311.endpoints` — the endpoints over the store, framework-free;
- :mod:`~geo.open311.app` — the FastAPI routes (``python -m geo serve``).

Moderation (accept, merge, reject) is :mod:`geo.services.reports`; the tables are
:mod:`geo.store.reports`.
"""
