"""The place layer's popup payload (issue 12): a place with more events than a popup
carries travels with its latest ones and the count of the rest; the wire format (days
since the event before, kind, notes by event number) decodes back to the events."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from geo.place_layer import POPUP_EVENTS, place_payload

KINDS = ("report", "recurrence", "clear", "check_clear", "check_violation")


def test_a_long_timeline_is_cut_to_the_latest_events_and_counts_the_rest():
    # place 7: a report, then (clear, recurrence) seven times, then a clear check with a note;
    # at 10:00 Hà Nội time (03:00 UTC), one event every 3 days from 2026-01-05
    kinds = ["report", *["clear", "recurrence"] * 7, "check_clear"]
    at = pd.Timestamp("2026-01-05 03:00", tz="UTC") + pd.to_timedelta([3 * i for i in range(len(kinds))], unit="D")
    notes = [None] * (len(kinds) - 1) + ["<b>x</b>" + "ạ" * 200]
    events = pd.DataFrame({"place_id": 7, "kind": kinds, "at": at, "note": notes,
                           "street": "Hàng Mã", "address": "số 1 & 2"})  # fmt: skip
    states = pd.DataFrame({"place_id": [7], "ward_code": ["00070"], "type": ["sidewalk"], "lon": [105.85],
                           "lat": [21.03], "state": ["clear"], "recurrences": [7], "incidents": [8],
                           "days_clear": [1.0], "chronic": [True]})  # fmt: skip
    script = place_payload(states, events)
    (point,) = json.loads(script.replace("<\\/", "</"))["p"]
    flat, earlier, address, packed_notes = point[5:]
    assert earlier == len(kinds) - POPUP_EVENTS == 4
    days = np.cumsum(flat[0::2]).tolist()
    first = (pd.Timestamp("2026-01-05") - pd.Timestamp("1970-01-01")).days
    assert days == [first + 3 * i for i in range(4, len(kinds))]  # the latest 12, by local day
    assert [KINDS[k] for k in flat[1::2]] == kinds[4:]
    assert address == "số 1 &amp; 2"
    ((number, note),) = packed_notes
    assert number == POPUP_EVENTS - 1  # the last event shown
    assert note.startswith("&lt;b&gt;x&lt;/b&gt;") and note.endswith("…")
    assert len(re.sub(r"&\w+;", "_", note)) == 120  # cut at 120 characters, escapes counted as one


def test_without_timelines_there_are_no_popups():
    states = pd.DataFrame({"place_id": [1], "ward_code": ["00070"], "type": ["sidewalk"], "lon": [105.85],
                           "lat": [21.03], "state": ["open"], "recurrences": [0], "incidents": [1],
                           "days_clear": [np.nan], "chronic": [False]})  # fmt: skip
    payload = json.loads(place_payload(states).replace("<\\/", "</"))
    assert len(payload["p"][0]) == 5 and "t" not in payload
