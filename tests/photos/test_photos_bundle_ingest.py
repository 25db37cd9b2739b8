"""A ZIP of a CSV/XLSX and its photos through ``python -m geo ingest`` (issue 13).

Every photo is accounted for: accepted onto its row's incident, kept as a Kobo link, or
refused with a bilingual reason naming the file. A later bundle that clears a stored
incident with its after photo passes the clear-needs-photo rule.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from geo.auth import User
from geo.cli import main
from geo.field_bundles import is_bundle
from geo.services import photos as photo_services
from geo.store import photos as stored_photos
from geo.store import queries
from tests._photos import make_photo, zip_bytes
from tests._signin import ensure_account

ADMIN = User("boss", frozenset({"admin"}))
HEADER = "ma,loai,lat,lon,ngay_phat_hien,trang_thai,anh,anh_sau,hinh_URL,hinh\n"


def photo(seed: int) -> bytes:
    return make_photo("jpeg", size=(96, 64), seed=seed, lat=21.0285, lon=105.8542, taken="2025:03:03 10:00:00")


@pytest.fixture
def env(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    monkeypatch.setenv("GEO_MEDIA_DIR", str(tmp_path / "media"))
    return ensure_account(store_url, "admin")


def run_ingest(path, user, capsys) -> dict:
    code = main(["ingest", str(path), "--json", "--user", user, "--source", "field"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_every_photo_of_a_bundle_is_accounted_for(store, env, tmp_path, capsys):
    rows = (
        HEADER
        + "1,lấn chiếm vỉa hè,21.0285,105.8542,2025-03-03 09:00,mới,a.jpg; b.jpg,,,\n"
        + "2,đỗ xe,21.0286,105.8543,2025-03-03 09:00,mới,photos/C.JPG,,https://kf.kobotoolbox.org/m/k.jpg,k.jpg\n"
        + "3,đỗ xe,not-a-lat,105.8543,2025-03-03 09:00,mới,d.jpg,,,\n"
        + "4,đỗ xe,21.0287,105.8544,2025-03-03 09:00,mới,missing.jpg,e.jpg,,\n"
    )
    bundle = tmp_path / "field.zip"
    bundle.write_bytes(zip_bytes({
        "field/data.csv": rows.encode(), "field/a.jpg": photo(1), "field/b.jpg": photo(2),
        "photos/c.jpg": photo(3), "d.jpg": photo(4), "e.jpg": photo(5), "stray.jpg": photo(6),
        "bad.jpg": b"<html><script>x</script></html>",
    }))  # fmt: skip
    summary = run_ingest(bundle, env, capsys)
    assert (summary["accepted"], summary["rejected"]) == (3, 1)
    results = {p["name"]: p for p in summary["photo_results"]}
    assert {n: p["outcome"] for n, p in results.items()} == {
        "a.jpg": "accepted", "b.jpg": "accepted", "photos/C.JPG": "accepted",
        "k.jpg": "link",
        "d.jpg": "refused", "missing.jpg": "refused", "e.jpg": "accepted",
        "stray.jpg": "refused", "bad.jpg": "refused",
    }  # fmt: skip
    assert summary["photos"] == {"accepted": 4, "link": 1, "refused": 4}
    assert results["d.jpg"]["reason_en"] == "d.jpg: row 3 was rejected, so its photo was not stored."
    assert results["d.jpg"]["reason_vi"] == "d.jpg: dòng 3 bị loại nên ảnh không được lưu."
    assert "bad.jpg" in results["bad.jpg"]["reason_en"]
    assert "missing.jpg" in results["missing.jpg"]["reason_en"] and "missing.jpg" in results["missing.jpg"]["reason_vi"]
    assert "stray.jpg" in results["stray.jpg"]["reason_en"] and "no row names" in results["stray.jpg"]["reason_en"]
    assert results["e.jpg"]["role"] == "after" and results["a.jpg"]["role"] == "before"
    stored = queries.incidents(store, limit=None).set_index("source_id")
    first = stored_photos.photos_of(store, int(stored.loc["1", "id"]))
    assert first["file_name"].tolist() == ["field.zip/field/a.jpg", "field.zip/field/b.jpg"]
    second = stored_photos.photos_of(store, int(stored.loc["2", "id"]))
    assert second["link"].tolist().count("https://kf.kobotoolbox.org/m/k.jpg") == 1 and len(second) == 2
    assert int(first["batch_id"].iloc[0]) == summary["batch_id"]


def test_a_later_bundle_clears_a_stored_incident_with_its_after_photo(store, env, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GEO_CLEAR_NEEDS_PHOTO")  # the rule as shipped
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "1,mái che,21.0285,105.8542,2025-03-03 09:00,mới,,,,\n", encoding="utf-8")
    run_ingest(first, env, capsys)
    incident = int(queries.incidents(store, limit=None)["id"].iloc[0])
    # a later plain file cannot clear it: no after photo
    later = tmp_path / "later.csv"
    later.write_text(HEADER + "1,mái che,21.0285,105.8542,2025-03-03 09:00,đã xử lý,,,,\n", encoding="utf-8")
    assert main(["ingest", str(later), "--user", env, "--source", "field"]) == 2
    assert "cannot be cleared" in capsys.readouterr().err
    assert queries.incident(store, incident).incident["status"] == "reported"
    # the same row with its photo, in a bundle: the after photo goes on first
    bundle = tmp_path / "later.zip"
    table = HEADER + "1,mái che,21.0285,105.8542,2025-03-03 09:00,đã xử lý,sau.jpg,,,\n"
    bundle.write_bytes(zip_bytes({"later.csv": table.encode(), "sau.jpg": photo(7)}))
    summary = run_ingest(bundle, env, capsys)
    assert summary["status_updates"] == 1 and summary["photos"]["accepted"] == 1
    assert summary["photo_results"][0]["role"] == "after"
    assert queries.incident(store, incident).incident["status"] == "cleared"


def test_xlsx_bundle_through_the_service(store, tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_MEDIA_DIR", str(tmp_path / "media"))
    frame = pd.DataFrame({"ma": ["9"], "loai": ["lấn chiếm vỉa hè"], "lat": [21.0285], "lon": [105.8542],
                          "ngay_phat_hien": ["2025-03-03 09:00"], "hình ảnh": ["x.jpg"]})  # fmt: skip
    sheet = io.BytesIO()
    frame.to_excel(sheet, index=False)
    data = zip_bytes({"bao_cao.xlsx": sheet.getvalue(), "x.jpg": photo(8)})
    result = photo_services.ingest_bundle(store, ADMIN, data, None)
    assert result.counts() == {"accepted": 1, "link": 0, "refused": 0}
    assert result.ingest.batch_id is not None
    assert is_bundle("a.ZIP") and not is_bundle("a.xlsx")


def test_a_traversal_name_refuses_the_whole_bundle(store, tmp_path, monkeypatch):
    from geo.errors import IngestError

    monkeypatch.setenv("GEO_MEDIA_DIR", str(tmp_path / "media"))
    data = zip_bytes({"t.csv": (HEADER + "1,đỗ xe,21.0285,105.8542,2025-03-03 09:00,mới,x.jpg,,,\n").encode(),
                      "../x.jpg": photo(1)})  # fmt: skip
    counts = store.row_counts()
    with pytest.raises(IngestError, match=r"unsafe|không an toàn"):
        photo_services.ingest_bundle(store, ADMIN, data, None)
    assert store.row_counts() == counts and not (tmp_path / "media").exists()


def test_a_refused_batch_leaves_no_photo_of_a_stored_incident(store, env, tmp_path, capsys, monkeypatch):
    """The photos of stored incidents are written in the batch's transaction: when a
    later row's clearance is refused, the batch goes and so do they."""
    monkeypatch.delenv("GEO_CLEAR_NEEDS_PHOTO")  # the rule as shipped: awnings need an after photo
    first = tmp_path / "first.csv"
    first.write_text(
        HEADER
        + "1,đỗ xe,21.0285,105.8542,2025-03-03 09:00,mới,,,,\n"
        + "2,mái che,21.0286,105.8543,2025-03-03 09:00,mới,,,,\n",
        encoding="utf-8",
    )
    run_ingest(first, env, capsys)
    ids = queries.incidents(store, limit=None).set_index("source_id")["id"].astype(int)
    counts = store.row_counts()
    # row 1 adds a before photo to stored incident 1; row 2 clears the awning without one
    table = (
        HEADER
        + "1,đỗ xe,21.0285,105.8542,2025-03-03 09:00,mới,truoc.jpg,,,\n"
        + "2,mái che,21.0286,105.8543,2025-03-03 09:00,đã xử lý,,,,\n"
    )
    bundle = tmp_path / "refused.zip"
    bundle.write_bytes(zip_bytes({"t.csv": table.encode(), "truoc.jpg": photo(11)}))
    assert main(["ingest", str(bundle), "--user", env, "--source", "field"]) == 2
    assert "cannot be cleared" in capsys.readouterr().err
    assert stored_photos.photos_of(store, int(ids["1"])).empty
    assert store.row_counts() == counts
    assert queries.incident(store, int(ids["2"])).incident["status"] == "reported"
