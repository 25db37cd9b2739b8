"""The committed sample's photos: made by the project's own generator, attached on first
start (issue 13: "a newcomer sees the feature on first start")."""

from __future__ import annotations

from geo import sample_photos
from geo.seed import SAMPLE_CSV, SAMPLE_SOURCE, ensure_seeded
from geo.store import open_store, queries
from geo.store import photos as stored_photos


def test_committed_photos_are_the_generators_output(tmp_path):
    manifest = sample_photos.write(SAMPLE_CSV, tmp_path)
    committed = sample_photos.SAMPLE_PHOTOS
    assert manifest.read_text(encoding="utf-8") == (committed / "photos.csv").read_text(encoding="utf-8")
    made = sorted(p.name for p in tmp_path.glob("*.jpg"))
    assert made == sorted(p.name for p in committed.glob("*.jpg")) and len(made) == 12
    for name in made:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
    assert sum(p.stat().st_size for p in committed.iterdir()) < 3 * 1024 * 1024


def test_first_start_attaches_the_sample_photos(tmp_path, monkeypatch, wards):
    monkeypatch.setenv("GEO_SEED_SAMPLE", "1")
    monkeypatch.delenv("GEO_CLEAR_NEEDS_PHOTO")  # as shipped
    monkeypatch.setenv("GEO_MEDIA_DIR", str(tmp_path / "media"))
    store = open_store(f"sqlite:///{tmp_path / 'first.sqlite'}")
    try:
        assert ensure_seeded(store, wards=wards)
        summary = stored_photos.summary(store)
        assert len(summary) == 6 and (summary["n_before"] == 1).all() and (summary["n_after"] == 1).all()
        assert summary["flags"].tolist().count("photo_far") == 1 and (summary["flags"] != "").sum() == 1
        stored = queries.incidents(store, limit=None).set_index("id")
        pictured = stored.loc[summary["incident_id"]]
        assert (pictured["source"] == SAMPLE_SOURCE).all() and (pictured["status"] == "cleared").all()
        # their after photos verified them; other imported clearances of these types stay flagged
        assert not pictured["flags"].str.contains("cleared_unverified").any()
        others = stored.drop(index=summary["incident_id"])
        needs = others[(others["status"] == "cleared") & others["type"].isin(["sidewalk", "awning"])]
        assert len(needs) > 0 and needs["flags"].str.contains("cleared_unverified").all()
    finally:
        store.close()
