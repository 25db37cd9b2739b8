"""``python -m geo backup`` includes the photos, and a restore brings every one back."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from geo.auth import User
from geo.cli import main
from geo.errors import StorageError
from geo.photos import MediaStore, PhotoSource
from geo.services import backup
from geo.services import photos as photo_services
from geo.services.maintenance import media_archive_path
from geo.store import batches, open_store
from geo.store import photos as stored_photos
from tests._photos import make_photo
from tests._signin import ensure_account
from tests._store_data import NO_UPDATES, batch, incidents

ADMIN = User("boss", frozenset({"admin"}))


def test_backup_then_restore_brings_every_photo_back(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    media = MediaStore(tmp_path / "media")
    monkeypatch.setenv("GEO_MEDIA_DIR", str(media.root))
    store = open_store(url)
    batches.commit_batch(store, batch(), incidents([{}, {}]), NO_UPDATES, actor="field")
    originals = {i: make_photo("jpeg", size=(80, 60), seed=i) for i in (1, 2)}
    for incident, data in originals.items():
        photo_services.add_photos(store, ADMIN, incident, [PhotoSource.from_bytes(f"{incident}.jpg", data)],
                                  role="before", media=media)  # fmt: skip
    media.public_copy(hashlib.sha256(originals[1]).hexdigest())  # a view made one: not backed up
    user = ensure_account(url, "admin")
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    out = tmp_path / "backup" / "copy.sqlite"
    assert main(["backup", str(out), "--user", user]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out), str(media_archive_path(out))]
    store.close()

    restored_store = open_store(f"sqlite:///{out}")
    restored = MediaStore(tmp_path / "restored")
    assert restored.restore(media_archive_path(out)) == 4  # two originals, two thumbnails
    for incident, data in originals.items():
        (sha,) = stored_photos.photos_of(restored_store, incident)["sha256"]
        assert restored.read_original(sha) == data  # checked against its hash as well
        assert restored.thumbnail_path(sha).is_file()
    assert not (restored.root / "public").exists()
    restored_store.close()


def test_backup_without_photos_writes_no_archive(store_url, tmp_path):
    store = open_store(store_url)
    try:
        out = tmp_path / "copy.backup"
        done = backup(store, ADMIN, out, media=MediaStore(tmp_path / "no-media"))
        assert done.exists() and not media_archive_path(done).exists()
    finally:
        store.close()


@pytest.mark.parametrize("name", ["../evil.jpg", "originals/ab/" + "a" * 64 + ".jpg", "thumbs/x.sh"])
def test_restore_refuses_foreign_members(tmp_path, name):
    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(StorageError, match="unexpected member"):
        MediaStore(tmp_path / "m").restore(archive)
    assert not (tmp_path / "m").exists()
