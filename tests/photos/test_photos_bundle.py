"""Field bundles: a ZIP of one table and its photos; photo columns, cells and links."""

from __future__ import annotations

import io
import os
import unicodedata
import zipfile
from pathlib import Path

import pytest

from geo._zipsafe import ZipLimits
from geo.errors import IngestError
from geo.photos import (
    MediaStore,
    PhotoColumn,
    ingest_photos,
    open_bundle,
    parse_photo_cell,
    photo_columns,
    photo_link,
)
from tests._photos import INCIDENT, make_photo, zip_bytes

CSV = b"ma,vi_do,kinh_do,anh\nA1,21.0285,105.8542,IMG_1.jpg IMG_2.jpg\n"


def bundle_file(tmp_path: Path, members: dict[str, bytes], **kwargs) -> Path:
    path = tmp_path / "field.zip"
    path.write_bytes(zip_bytes(members, **kwargs))
    return path


# -------------------------------------------------------------------- opening


def test_bundle_with_table_and_photos(tmp_path):
    members = {
        "data.csv": CSV,
        "photos/IMG_1.jpg": make_photo("jpeg", seed=1),
        "photos/IMG_2.jpg": make_photo("jpeg", seed=2),
        "__MACOSX/photos/._IMG_1.jpg": b"\0\5\26\7",
        "__MACOSX/IMG_9.jpg": b"\0",
        "photos/.DS_Store": b"\0",
    }
    with open_bundle(bundle_file(tmp_path, members)) as bundle:
        assert bundle.table_name == "data.csv"
        assert bundle.read_table() == CSV
        assert sorted(bundle.image_names) == ["photos/IMG_1.jpg", "photos/IMG_2.jpg"]
        assert not [n for n in bundle.member_names if "MACOSX" in n or "DS_Store" in n]


@pytest.mark.parametrize("tables", [[], ["a.csv", "b.xlsx"]])
def test_bundle_needs_exactly_one_table(tmp_path, tables):
    members = {name: b"x" for name in tables} | {"IMG_1.jpg": make_photo("jpeg")}
    with pytest.raises(IngestError, match=f"exactly one .csv or .xlsx table \\(it holds {len(tables)}\\)"):
        open_bundle(bundle_file(tmp_path, members))


def test_not_a_zip_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(IngestError, match=r"fake\.zip: corrupt zip"):
        open_bundle(path)


@pytest.mark.parametrize(
    "name", ["../evil.jpg", "photos/../../evil.jpg", "..\\..\\evil.jpg", "/etc/evil.jpg", "C:/evil.jpg", "a\x1b[2J.jpg"]
)
def test_traversal_names_are_refused(tmp_path, name):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", CSV)
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # zipfile would clean some of these on write; store them raw
        archive.writestr(info, make_photo("jpeg"))
    with pytest.raises(IngestError, match="unsafe path inside the zip") as caught:
        open_bundle(path)
    assert "evil.zip" in str(caught.value)
    assert not (tmp_path.parent / "evil.jpg").exists()


def test_zip_bomb_member_is_refused_before_inflating(tmp_path):
    members = {"data.csv": CSV, "IMG_1.jpg": b"\0" * (20 * 1024 * 1024)}
    path = bundle_file(tmp_path, members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    with pytest.raises(IngestError, match="zip bomb"):
        open_bundle(path)


def test_bomb_hidden_among_incompressible_photos_is_caught_per_member(tmp_path):
    photos = {f"IMG_{i}.jpg": os.urandom(2 * 1024 * 1024) for i in range(3)}  # do not compress
    members = {"data.csv": CSV, **photos, "IMG_bomb.jpg": b"\0" * (10 * 1024 * 1024)}
    path = bundle_file(tmp_path, members, compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        whole = sum(i.file_size for i in infos) / sum(i.compress_size for i in infos)
    assert whole < 200  # the whole archive's ratio alone would let it through
    with pytest.raises(IngestError, match=r"'IMG_bomb\.jpg' inside the zip compresses"):
        open_bundle(path)


def test_total_unpacked_size_limit(tmp_path):
    members = {"data.csv": CSV, "IMG_1.jpg": make_photo("jpeg", size=(200, 200))}
    path = bundle_file(tmp_path, members)
    with pytest.raises(IngestError, match="zip bomb"):
        open_bundle(path, limits=ZipLimits(max_unpacked=1000))


def test_duplicate_member_names_are_refused(tmp_path):
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", CSV)
        archive.writestr("IMG_1.jpg", make_photo("jpeg", seed=1))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("IMG_1.jpg", make_photo("jpeg", seed=2))
    with pytest.raises(IngestError, match="appears twice"):
        open_bundle(path)


def test_encrypted_member_is_refused(tmp_path):
    data = bytearray(zip_bytes({"data.csv": CSV, "IMG_1.jpg": b"\0" * 100}))
    # zipfile cannot write encrypted members: set the "encrypted" bit in both headers.
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.rindex(signature)
        data[at + flag_at] |= 0x1
    path = tmp_path / "locked.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(IngestError, match=r"'IMG_1\.jpg' inside the zip is encrypted"):
        open_bundle(path)


def test_too_many_members(tmp_path):
    members = {"data.csv": CSV} | {f"{i}.jpg": b"x" for i in range(20)}
    with pytest.raises(IngestError, match="21 entries"):
        open_bundle(bundle_file(tmp_path, members), limits=ZipLimits(max_unpacked=10**9, max_members=10))


# ------------------------------------------------------------------ resolving names


def test_cell_names_resolve_exact_case_insensitive_and_by_bare_name(tmp_path):
    members = {
        "form.xlsx": b"x",
        "photos/IMG_1.JPG": b"1",
        "attachments/form/uuid-1/1700000000.jpg": b"2",
        "Ảnh hiện trường.jpg": b"3",
    }
    with open_bundle(bundle_file(tmp_path, members)) as bundle:
        assert bundle.resolve("photos/IMG_1.JPG") == "photos/IMG_1.JPG"
        assert bundle.resolve("photos\\img_1.jpg") == "photos/IMG_1.JPG"
        assert bundle.resolve("1700000000.jpg") == "attachments/form/uuid-1/1700000000.jpg"
        # A name typed on macOS arrives decomposed (NFD).
        nfd = unicodedata.normalize("NFD", "Ảnh hiện trường.jpg")
        assert nfd != "Ảnh hiện trường.jpg"
        assert bundle.resolve(nfd) == "Ảnh hiện trường.jpg"
        with pytest.raises(IngestError, match=r"'missing\.jpg' is not in the zip"):
            bundle.resolve("missing.jpg")
        with pytest.raises(IngestError, match="not in the zip"):
            bundle.resolve("../../etc/passwd")


def test_ambiguous_bare_name_is_refused(tmp_path):
    members = {"data.csv": CSV, "a/IMG_1.jpg": b"1", "b/IMG_1.jpg": b"2"}
    with open_bundle(bundle_file(tmp_path, members)) as bundle, pytest.raises(IngestError, match="matches several"):
        bundle.resolve("IMG_1.jpg")


# ------------------------------------------------------------------- cells, columns


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("IMG_1.jpg IMG_2.jpg", ["IMG_1.jpg", "IMG_2.jpg"]),
        ("IMG_1.jpg;IMG_2.jpg", ["IMG_1.jpg", "IMG_2.jpg"]),
        ("IMG_1.jpg, IMG_2.jpg ,IMG_3.heic", ["IMG_1.jpg", "IMG_2.jpg", "IMG_3.heic"]),
        ("  IMG_1.jpg\n\tIMG_2.jpg ; ", ["IMG_1.jpg", "IMG_2.jpg"]),
        ("IMG_1.jpg IMG_1.jpg", ["IMG_1.jpg"]),
        ("", []),
        (None, []),
        (float("nan"), []),
    ],
)
def test_photo_cells_hold_several_names(cell, names):
    assert parse_photo_cell(cell) == names


def test_whole_cell_that_is_a_known_name_with_a_space():
    assert parse_photo_cell("IMG 001.jpg", known={"IMG 001.jpg"}) == ["IMG 001.jpg"]
    assert parse_photo_cell("IMG 001.jpg") == ["IMG", "001.jpg"]


def test_photo_columns_are_recognised():
    headers = [
        "Mã", "Vĩ độ", "Ảnh", "Hình ảnh trước", "photo_after", "IMAGES", "Ảnh hưởng",
        "ghi_chu", "grp/anh_vi_pham", "grp/anh_vi_pham_URL", "chup_hien_truong",
        "chup_hien_truong_URL", "photo_URL",
    ]  # fmt: skip
    assert photo_columns(headers) == [
        PhotoColumn("Ảnh"),
        PhotoColumn("Hình ảnh trước", role_hint="before"),
        PhotoColumn("photo_after", role_hint="after"),
        PhotoColumn("IMAGES"),
        PhotoColumn("grp/anh_vi_pham", "grp/anh_vi_pham_URL", role_hint="before"),
        PhotoColumn("chup_hien_truong", "chup_hien_truong_URL"),
    ]


def test_after_words_in_vietnamese():
    assert photo_columns(["Ảnh sau khắc phục"]) == [PhotoColumn("Ảnh sau khắc phục", role_hint="after")]
    assert photo_columns(["hinh_anh"]) == [PhotoColumn("hinh_anh")]


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://kc.kobotoolbox.org/media/original?media_file=a%2Fb.jpg", True),
        ("http://example.org/a.jpg", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html;base64,PHNjcmlwdD4=", False),
        ("https://", False),
        ("ftp://example.org/a.jpg", False),
        ("https://example.org/a b.jpg", False),
        ("https://example.org/\u202egpj.exe", False),
        ("", False),
        (None, False),
    ],
)
def test_kobo_url_is_kept_only_as_a_plain_http_link(value, kept):
    assert photo_link(value) == (value if kept else None)


# ------------------------------------------------------------------- end to end


def test_bundle_photos_stream_into_the_media_store(tmp_path):
    lat, lon = INCIDENT
    good = {f"photos/IMG_{i}.jpg": make_photo("jpeg", seed=i, lat=lat, lon=lon) for i in range(5)}
    html = make_photo("jpeg", seed=9) + b"<script>alert(1)</script>"
    members = {"data.csv": CSV, **good, "photos/evil.jpg": html, "photos/dup.jpg": good["photos/IMG_0.jpg"]}
    media = MediaStore(tmp_path / "media")
    with open_bundle(bundle_file(tmp_path, members), label="field.zip") as bundle:
        names = [bundle.resolve(n) for n in ("IMG_0.jpg", "IMG_1.jpg", "evil.jpg", "IMG_2.jpg", "dup.jpg", "IMG_3.jpg", "IMG_4.jpg")]
        outcomes = list(ingest_photos(bundle.sources(names), media, workers=2))
    assert [o.name.split("/")[-1] for o in outcomes] == [n.split("/")[-1] for n in names]
    refused = [o for o in outcomes if not o.ok]
    assert [o.name for o in refused] == ["field.zip/photos/evil.jpg"]
    assert "HTML" in str(refused[0].error)
    stored = [o for o in outcomes if o.ok]
    assert all(o.info.meta.has_gps for o in stored)
    assert [o.media.created for o in stored] == [True, True, True, False, True, True]  # dup.jpg
    originals = list((tmp_path / "media" / "originals").rglob("*.jpg"))
    assert len(originals) == 5  # evil.jpg stored nothing, dup.jpg nothing new
    assert not list((tmp_path / "media").rglob("*.part"))


def test_oversized_member_is_refused_from_its_declared_size(tmp_path):
    members = {"data.csv": CSV, "big.jpg": make_photo("jpeg", size=(400, 300))}
    with open_bundle(bundle_file(tmp_path, members)) as bundle:
        (outcome,) = ingest_photos(bundle.sources(["big.jpg"]), MediaStore(tmp_path / "m"), max_bytes=1000)
    assert not outcome.ok and "exceed the limit of 1,000" in str(outcome.error)
    assert not (tmp_path / "m").exists()


def test_bundle_from_a_file_object():
    data = zip_bytes({"data.csv": CSV, "IMG_1.jpg": make_photo("jpeg")})
    with open_bundle(io.BytesIO(data), label="upload.zip") as bundle:
        assert bundle.label == "upload.zip" and bundle.resolve("img_1.JPG") == "IMG_1.jpg"
