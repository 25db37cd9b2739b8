"""Photos onto incidents through the services and the CLI, on SQLite and PostGIS (issue 13).

Real JPEG files with known EXIF (written by piexif) in tmp_path, a real store, the real
``python -m geo`` entry point. Expected flags and distances come from the issue's rules
(50 m in EPSG:32648; an after photo taken before the report; the same bytes on another
incident; nearly the same picture as the before photo).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from geo import evidence
from geo.auth import User
from geo.cli import main
from geo.errors import AccessDenied, InvalidArgument, NotFound
from geo.photos import MediaStore, PhotoSource
from geo.services import photos as photo_services
from geo.store import batches, queries
from geo.store import photos as stored_photos
from tests._photos import make_photo, point_at
from tests._store_data import NO_UPDATES, WEST, batch, incidents

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: The incident of ``tests._store_data.incidents`` in ward WEST, and its report time.
SPOT = (21.005, 105.805)
REPORTED = datetime(2025, 3, 3, 9, 0, tzinfo=HANOI)
ADMIN = User("boss", frozenset({"admin"}))


def exif_time(when: datetime) -> str:
    return when.strftime("%Y:%m:%d %H:%M:%S")


def scene(seed: int) -> Image.Image:
    """A picture of its own per seed: coarse random blocks (distinct perceptual hashes)."""
    blocks = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((320, 240), Image.Resampling.BILINEAR)


def jpeg(*, seed: int = 0, east_m: float | None = 0.0, taken: datetime | None = REPORTED,
         quality: int = 90, **more) -> bytes:  # fmt: skip
    tags = dict(more)
    if east_m is not None:
        tags["lat"], tags["lon"] = point_at(*SPOT, east_m=east_m)
    if taken is not None:
        tags["taken"], tags["offset"] = exif_time(taken), "+07:00"
    return make_photo("jpeg", image=scene(seed), quality=quality, **tags)


@pytest.fixture
def media(tmp_path, monkeypatch):
    root = tmp_path / "media"
    monkeypatch.setenv("GEO_MEDIA_DIR", str(root))
    return MediaStore(root)


def add_incident(store, kind: str = "sidewalk", **fields) -> int:
    n = len(queries.incidents(store, limit=None))
    row = {"type": kind, "source_id": str(n + 1), "fingerprint": f"f{n + 1}", **fields}
    batches.commit_batch(store, batch(), incidents([row]), NO_UPDATES, actor="field")
    with store.read() as conn:
        return int(conn.execute(text("SELECT max(id) FROM incidents")).scalar())


def source(name: str, data: bytes) -> PhotoSource:
    return PhotoSource.from_bytes(name, data)


# -- flags through the service ------------------------------------------------------------


def test_every_flag_from_real_files(store, media):
    first = add_incident(store)
    second = add_incident(store)
    before = jpeg(seed=1, east_m=10)
    results = photo_services.add_photos(store, ADMIN, first, [source("truoc.jpg", before)], role="before")
    assert [(r.accepted, r.flags) for r in results] == [(True, ())]
    assert results[0].distance_m == pytest.approx(10, abs=0.05)
    after = photo_services.add_photos(store, ADMIN, first, [
        source("far.jpg", jpeg(seed=2, east_m=51, taken=REPORTED + timedelta(days=1))),
        source("near.jpg", jpeg(seed=3, east_m=49, taken=REPORTED + timedelta(days=1))),
        source("early.jpg", jpeg(seed=4, taken=REPORTED - timedelta(hours=1))),
        source("bare.jpg", jpeg(seed=5, east_m=None, taken=None)),
        source("same.jpg", jpeg(seed=1, quality=60, taken=REPORTED + timedelta(days=1))),  # the before, re-encoded
        source("future.jpg", jpeg(seed=6, taken=datetime.now(HANOI) + timedelta(days=2))),
    ], role="after")  # fmt: skip
    flags = {r.name: r.flags for r in after}
    assert flags["far.jpg"] == ("photo_far",)
    assert flags["near.jpg"] == ()
    assert flags["early.jpg"] == ("photo_before_report",)
    assert flags["bare.jpg"] == ("photo_no_gps", "photo_no_time")
    assert flags["same.jpg"] == ("after_same_as_before",)
    assert flags["future.jpg"] == ("photo_future",)
    distances = {r.name: r.distance_m for r in after}
    assert distances["far.jpg"] == pytest.approx(51, abs=0.05) and distances["bare.jpg"] is None
    # the same bytes on another incident
    reused = photo_services.add_photos(store, ADMIN, second, [source("again.jpg", before)], role="before")
    assert reused[0].flags == ("photo_reused",)
    stored = stored_photos.photos_of(store, first)
    assert len(stored) == 7 and stored.loc[stored["file_name"] == "far.jpg", "flags"].item() == "photo_far"
    assert stored.loc[stored["file_name"] == "far.jpg", "distance_m"].item() == pytest.approx(51, abs=0.05)


def test_a_refused_file_is_named_and_stores_nothing(store, media):
    first = add_incident(store)
    results = photo_services.add_photos(store, ADMIN, first, [
        source("ok.jpg", jpeg()),
        source("note.jpg", b"<html><script>alert(1)</script></html>"),
        source("cut.jpg", jpeg(seed=9)[:400]),
    ], role="before")  # fmt: skip
    assert [r.accepted for r in results] == [True, False, False]
    for refused in results[1:]:
        assert refused.name in refused.reason_en and refused.name in refused.reason_vi
        assert refused.reason_vi != refused.reason_en
    assert stored_photos.photos_of(store, first)["file_name"].tolist() == ["ok.jpg"]
    assert len(list((media.root / "originals").rglob("*.jpg"))) == 1


def test_photos_of_a_missing_incident_are_refused(store, media):
    with pytest.raises(NotFound):
        photo_services.add_photos(store, ADMIN, 999, [source("a.jpg", jpeg())], role="before")
    with pytest.raises(InvalidArgument, match="before or after"):
        photo_services.add_photos(store, ADMIN, 1, [source("a.jpg", jpeg())], role="during")


def test_rights_follow_the_role_of_the_photo(store, media):
    incident = add_incident(store, ward_code=WEST)
    viewer = User("v", frozenset({"viewer"}))
    field = User("f", frozenset({"field"}))
    other_officer = User("o2", frozenset({"officer"}), wards=frozenset({"00002"}))
    officer = User("o1", frozenset({"officer"}), wards=frozenset({WEST}))
    with pytest.raises(AccessDenied):
        photo_services.add_photos(store, viewer, incident, [source("a.jpg", jpeg())], role="before")
    assert photo_services.add_photos(store, field, incident, [source("b.jpg", jpeg(seed=1))], role="before")[0].accepted
    for who in (field, other_officer):  # after photos back a clearance: change_status in the ward
        with pytest.raises(AccessDenied):
            photo_services.add_photos(store, who, incident, [source("c.jpg", jpeg(seed=2))], role="after")
    assert photo_services.add_photos(store, officer, incident, [source("d.jpg", jpeg(seed=3))], role="after")[0].accepted
    denied = queries.audit_log(store)
    assert (denied["action"] == "denied").sum() == 3
    # positions of the photos only for view_photo_originals
    assert photo_services.incident_photos(store, viewer, incident)["lat"].isna().all()
    assert photo_services.incident_photos(store, ADMIN, incident)["lat"].notna().all()


def test_files_served_without_metadata_unless_allowed(store, media):
    incident = add_incident(store)
    data = jpeg(description=b"secret note")
    (result,) = photo_services.add_photos(store, ADMIN, incident, [source("a.jpg", data)], role="before")
    viewer = User("v", frozenset({"viewer"}))
    thumb = photo_services.photo_file(store, viewer, result.sha256)
    full = photo_services.photo_file(store, viewer, result.sha256, size="full")
    original = photo_services.photo_file(store, ADMIN, result.sha256, size="full")
    assert original.read_bytes() == data
    for shown in (thumb, full):
        assert b"Exif" not in shown.read_bytes() and b"secret note" not in shown.read_bytes()
    with pytest.raises(NotFound):
        photo_services.photo_file(store, viewer, "../../etc/passwd")
    with pytest.raises(AccessDenied):
        photo_services.photo_file(store, None, result.sha256)


# -- the rule through the CLI ---------------------------------------------------------------


def test_cli_add_then_clear(store, store_url, media, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GEO_CLEAR_NEEDS_PHOTO")  # the rule as shipped
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    from tests._signin import ensure_account

    user = ensure_account(store_url, "admin")
    incident = add_incident(store, kind="awning")
    assert main(["status", str(incident), "--to", "cleared", "--user", user]) == 2
    err = capsys.readouterr().err
    assert f"Incident {incident} (type 'awning') cannot be cleared" in err and "Sự việc" in err
    good, bad = tmp_path / "sau.jpg", tmp_path / "fake.jpg"
    good.write_bytes(jpeg(seed=4, east_m=20, taken=REPORTED + timedelta(days=1)))
    bad.write_bytes(b"GIF89a not a photo")
    code = main(["photos", "add", str(incident), str(good), str(bad), "--role", "after", "--json", "--user", user])
    assert code == 1  # one file refused
    out = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["accepted"]) for r in out] == [("sau.jpg", True), ("fake.jpg", False)]
    assert out[0]["distance_m"] == pytest.approx(20, abs=0.05) and out[0]["flags"] == []
    assert "fake.jpg" in out[1]["reason_en"]
    assert main(["status", str(incident), "--to", "cleared", "--user", user]) == 0
    assert queries.incident(store, incident).incident["status"] == "cleared"
    assert main(["photos", "add", "7", str(tmp_path / "missing.jpg"), "--role", "after", "--user", user]) == 2


def test_imported_clearance_is_flagged_until_an_after_photo_comes(store, media, monkeypatch):
    monkeypatch.delenv("GEO_CLEAR_NEEDS_PHOTO")
    from geo.ingest import ingest

    csv = (
        "ma,loai,lat,lon,ngay_phat_hien,trang_thai\n"
        "1,lấn chiếm vỉa hè,21.0285,105.8542,2024-05-01 08:00,đã xử lý\n"
        "2,đỗ xe trái phép,21.0285,105.8542,2024-05-01 08:00,đã xử lý\n"
    ).encode()
    result = ingest(csv, store, actor="field")
    stored = queries.incidents(store, limit=None).set_index("source_id")
    assert result.preview.flag_counts()["cleared_unverified"] == 1
    assert stored.loc["1", "status"] == "cleared" and "cleared_unverified" in stored.loc["1", "flags"]
    assert "cleared_unverified" not in stored.loc["2", "flags"]  # parking needs no photo
    incident = int(stored.loc["1", "id"])
    photo_services.add_photos(store, ADMIN, incident, [source("b.jpg", jpeg())], role="before")
    assert "cleared_unverified" in queries.incident(store, incident).incident["flags"]
    photo_services.add_photos(store, ADMIN, incident, [source("a.jpg", jpeg(seed=8))], role="after")
    assert "cleared_unverified" not in queries.incident(store, incident).incident["flags"]


def test_public_photo_urls_only_with_a_base_url(store, media):
    incident = add_incident(store)
    (before,) = photo_services.add_photos(store, ADMIN, incident, [source("b.jpg", jpeg())], role="before")
    (after,) = photo_services.add_photos(store, ADMIN, incident, [source("a.jpg", jpeg(seed=5))], role="after")
    assert evidence.public_photo_urls(store, incident, None) == []
    urls = evidence.public_photo_urls(store, incident, "https://city.example/media/")
    assert urls == [f"https://city.example/media/thumbs/{after.sha256[:2]}/{after.sha256}.jpg"]
    assert evidence.public_photo_urls(store, incident, "https://x", role="before")[0].endswith(f"{before.sha256}.jpg")


def test_summary_feeds_counts(store, media):
    incident = add_incident(store)
    photo_services.add_photos(store, ADMIN, incident, [source("b.jpg", jpeg(east_m=80))], role="before")
    got = stored_photos.summary(store)
    assert got.to_dict("records") == [
        {"incident_id": incident, "n_photos": 1, "n_before": 1, "n_after": 0, "n_flagged": 1, "flags": "photo_far"}
    ]
