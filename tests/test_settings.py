"""geo/settings.py: every GEO_* variable, its default, its parsing, its errors and its docs.

Expected values come from the documented behaviour (README, docs/storage.md, the readers
that existed before settings.py), never from the module's own tables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from geo import settings
from geo.errors import AccessDenied, InvalidArgument, LimitExceeded, WorkflowError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(monkeypatch):
    """No GEO_* variable set (the suite's own, such as GEO_SEED_SAMPLE=0, included)."""
    for name in [n for n in os.environ if n.startswith("GEO_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean_env):
    assert settings.database_url() == f"sqlite:///{REPO / 'data' / 'hanoi_urban_order.sqlite'}"
    assert settings.boundaries() == REPO / "data" / "boundaries" / "hanoi_wards_2025.geojson"
    assert settings.streets() == REPO / "data" / "streets" / "hoan_kiem_streets_2019.geojson"
    assert settings.boundaries().is_file() and settings.streets().is_file()
    assert settings.vendor_dir() == REPO / "static" / "vendor"
    assert settings.overpass_url() is None
    assert settings.seed_sample() is True
    assert settings.public_view() is False
    assert settings.session_idle_minutes() == 30
    assert settings.ingest_max_bytes() == 512 * 1024 * 1024
    assert settings.ingest_max_rows() == 2_000_000
    assert settings.ingest_max_cell_chars() == 10_000
    assert settings.ingest_max_columns() == 500
    assert settings.sla_days() == {}
    assert settings.photo_max_m() == 50.0  # issue 13: "default 50 m"
    assert settings.photo_max_bytes() == 25 * 1024 * 1024
    assert settings.photo_max_pixels() == 80_000_000
    assert settings.media_dir() == REPO / "data" / "media"  # issue 13: "default data/media/"
    # issue 13: "default: awnings and sidewalk encroachment"
    assert set(settings.clear_needs_photo()) == {"awning", "sidewalk"}
    assert settings.photo_fetch_hosts() == ()  # nothing is fetched unless allowed
    assert settings.public_media_url() is None
    assert settings.place_radius_m() == 15.0
    assert settings.reinspect_schedule().days_for("awning") == (7, 30, 90)
    assert settings.reinspect_schedule().days_for("parking") == (7, 30, 90)
    assert settings.user() is None
    assert settings.postgis_test_url() is None
    assert settings.require_postgis() is False


@pytest.mark.parametrize(
    ("name", "raw", "read", "expected"),
    [
        ("GEO_DATABASE_URL", "postgresql://u@h/db", settings.database_url, "postgresql://u@h/db"),
        ("GEO_DATABASE_URL", "store.sqlite", settings.database_url, "store.sqlite"),
        ("GEO_BOUNDARIES", "/x/wards.gpkg", settings.boundaries, Path("/x/wards.gpkg")),
        ("GEO_STREETS", "/x/streets.geojson", settings.streets, Path("/x/streets.geojson")),
        ("GEO_VENDOR_DIR", "/srv/vendor", settings.vendor_dir, Path("/srv/vendor")),
        ("GEO_OVERPASS_URL", "http://127.0.0.1:9/api", settings.overpass_url, "http://127.0.0.1:9/api"),
        ("GEO_USER", "to_hk", settings.user, "to_hk"),
        ("GEO_TEST_POSTGIS_URL", "postgresql://p@h/t", settings.postgis_test_url, "postgresql://p@h/t"),
        # GEO_SEED_SAMPLE: off only for 0/false/no/off/empty, any case, spaces ignored
        ("GEO_SEED_SAMPLE", "0", settings.seed_sample, False),
        ("GEO_SEED_SAMPLE", " FALSE ", settings.seed_sample, False),
        ("GEO_SEED_SAMPLE", "no", settings.seed_sample, False),
        ("GEO_SEED_SAMPLE", "Off", settings.seed_sample, False),
        ("GEO_SEED_SAMPLE", "", settings.seed_sample, False),
        ("GEO_SEED_SAMPLE", "   ", settings.seed_sample, False),
        ("GEO_SEED_SAMPLE", "1", settings.seed_sample, True),
        ("GEO_SEED_SAMPLE", "không", settings.seed_sample, True),
        # GEO_PUBLIC_VIEW: on only for 1/true/yes/on/có, any case, spaces ignored
        ("GEO_PUBLIC_VIEW", "1", settings.public_view, True),
        ("GEO_PUBLIC_VIEW", " Yes ", settings.public_view, True),
        ("GEO_PUBLIC_VIEW", "TRUE", settings.public_view, True),
        ("GEO_PUBLIC_VIEW", "on", settings.public_view, True),
        ("GEO_PUBLIC_VIEW", "CÓ", settings.public_view, True),
        ("GEO_PUBLIC_VIEW", "2", settings.public_view, False),
        ("GEO_PUBLIC_VIEW", "", settings.public_view, False),
        # GEO_REQUIRE_POSTGIS: exactly "1"
        ("GEO_REQUIRE_POSTGIS", "1", settings.require_postgis, True),
        ("GEO_REQUIRE_POSTGIS", "true", settings.require_postgis, False),
        ("GEO_REQUIRE_POSTGIS", " 1", settings.require_postgis, False),
        # numbers: spaces stripped, "_" allowed
        ("GEO_SESSION_IDLE_MINUTES", "5", settings.session_idle_minutes, 5.0),
        ("GEO_SESSION_IDLE_MINUTES", " 0.5 ", settings.session_idle_minutes, 0.5),
        ("GEO_SESSION_IDLE_MINUTES", "1_0", settings.session_idle_minutes, 10.0),
        ("GEO_INGEST_MAX_BYTES", "100", settings.ingest_max_bytes, 100),
        ("GEO_INGEST_MAX_ROWS", " 1_000_000 ", settings.ingest_max_rows, 1_000_000),
        ("GEO_INGEST_MAX_CELL_CHARS", "200_000", settings.ingest_max_cell_chars, 200_000),
        ("GEO_INGEST_MAX_COLUMNS", " 2_000 ", settings.ingest_max_columns, 2_000),
        ("GEO_SLA_DAYS", "parking=0.5, signboard=30", settings.sla_days,
         {"parking": 0.5, "signboard": 30.0}),
        ("GEO_SLA_DAYS", " parking = 2 ,,parking=3,", settings.sla_days, {"parking": 3.0}),
        ("GEO_PHOTO_MAX_M", " 75.5 ", settings.photo_max_m, 75.5),
        ("GEO_PHOTO_MAX_M", "1_000", settings.photo_max_m, 1000.0),
        ("GEO_PHOTO_MAX_BYTES", "10_000_000", settings.photo_max_bytes, 10_000_000),
        ("GEO_PHOTO_MAX_PIXELS", " 1000000 ", settings.photo_max_pixels, 1_000_000),
        ("GEO_MEDIA_DIR", "/srv/media", settings.media_dir, Path("/srv/media")),
        ("GEO_CLEAR_NEEDS_PHOTO", " signboard , awning ", settings.clear_needs_photo, ("signboard", "awning")),
        ("GEO_CLEAR_NEEDS_PHOTO", "parking,parking", settings.clear_needs_photo, ("parking",)),
        ("GEO_CLEAR_NEEDS_PHOTO", "None", settings.clear_needs_photo, ()),
        ("GEO_PHOTO_FETCH_HOSTS", " KF.kobotoolbox.org, 127.0.0.1:8080 ", settings.photo_fetch_hosts,
         ("kf.kobotoolbox.org", "127.0.0.1:8080")),
        ("GEO_PUBLIC_MEDIA_URL", "https://city.example/media", settings.public_media_url,
         "https://city.example/media"),
        ("GEO_PLACE_RADIUS_M", " 20 ", settings.place_radius_m, 20.0),
        ("GEO_PLACE_RADIUS_M", "7.5", settings.place_radius_m, 7.5),
    ],
)  # fmt: skip
def test_a_set_variable_is_read_when_used(clean_env, name, raw, read, expected):
    clean_env.setenv(name, raw)
    assert read() == expected


#: Read without stripping spaces, as before settings.py.
_READ_AS_IS = {
    "GEO_DATABASE_URL", "GEO_BOUNDARIES", "GEO_STREETS", "GEO_VENDOR_DIR", "GEO_OVERPASS_URL",
    "GEO_USER", "GEO_TEST_POSTGIS_URL", "GEO_MEDIA_DIR", "GEO_PUBLIC_MEDIA_URL",
}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("GEO_DATABASE_URL", settings.database_url),
        ("GEO_BOUNDARIES", settings.boundaries),
        ("GEO_STREETS", settings.streets),
        ("GEO_VENDOR_DIR", settings.vendor_dir),
        ("GEO_OVERPASS_URL", settings.overpass_url),
        ("GEO_USER", settings.user),
        ("GEO_TEST_POSTGIS_URL", settings.postgis_test_url),
        ("GEO_SESSION_IDLE_MINUTES", settings.session_idle_minutes),
        ("GEO_INGEST_MAX_BYTES", settings.ingest_max_bytes),
        ("GEO_INGEST_MAX_ROWS", settings.ingest_max_rows),
        ("GEO_INGEST_MAX_CELL_CHARS", settings.ingest_max_cell_chars),
        ("GEO_INGEST_MAX_COLUMNS", settings.ingest_max_columns),
        ("GEO_SLA_DAYS", settings.sla_days),
        ("GEO_PHOTO_MAX_M", settings.photo_max_m),
        ("GEO_PHOTO_MAX_BYTES", settings.photo_max_bytes),
        ("GEO_PHOTO_MAX_PIXELS", settings.photo_max_pixels),
        ("GEO_MEDIA_DIR", settings.media_dir),
        ("GEO_CLEAR_NEEDS_PHOTO", settings.clear_needs_photo),
        ("GEO_PHOTO_FETCH_HOSTS", settings.photo_fetch_hosts),
        ("GEO_PUBLIC_MEDIA_URL", settings.public_media_url),
        ("GEO_PLACE_RADIUS_M", settings.place_radius_m),
        ("GEO_REINSPECT_DAYS", settings.reinspect_schedule),
    ],
)
def test_an_empty_value_counts_as_unset(clean_env, name, read):
    unset = read()
    clean_env.setenv(name, "")
    assert read() == unset
    if name not in _READ_AS_IS:  # the others strip spaces first
        clean_env.setenv(name, "  ")
        assert read() == unset


@pytest.mark.parametrize(
    ("name", "raw", "read", "error"),
    [
        ("GEO_SESSION_IDLE_MINUTES", "soon", settings.session_idle_minutes, AccessDenied),
        ("GEO_SESSION_IDLE_MINUTES", "0", settings.session_idle_minutes, AccessDenied),
        ("GEO_SESSION_IDLE_MINUTES", "-3", settings.session_idle_minutes, AccessDenied),
        ("GEO_SESSION_IDLE_MINUTES", "nan", settings.session_idle_minutes, AccessDenied),
        ("GEO_SESSION_IDLE_MINUTES", "inf", settings.session_idle_minutes, AccessDenied),
        ("GEO_INGEST_MAX_BYTES", "12MB", settings.ingest_max_bytes, LimitExceeded),
        ("GEO_INGEST_MAX_ROWS", "1.5", settings.ingest_max_rows, LimitExceeded),
        ("GEO_INGEST_MAX_CELL_CHARS", "many", settings.ingest_max_cell_chars, LimitExceeded),
        ("GEO_INGEST_MAX_COLUMNS", "all", settings.ingest_max_columns, LimitExceeded),
        ("GEO_SLA_DAYS", "parking=soon", settings.sla_days, WorkflowError),
        ("GEO_SLA_DAYS", "bus=1", settings.sla_days, WorkflowError),
        ("GEO_SLA_DAYS", "parking=0", settings.sla_days, WorkflowError),
        ("GEO_SLA_DAYS", "parking=nan", settings.sla_days, WorkflowError),
        ("GEO_SLA_DAYS", "signboard=inf", settings.sla_days, WorkflowError),
        ("GEO_SLA_DAYS", "sidewalk=2,parking", settings.sla_days, WorkflowError),
        ("GEO_PHOTO_MAX_M", "far", settings.photo_max_m, InvalidArgument),
        ("GEO_PHOTO_MAX_M", "0", settings.photo_max_m, InvalidArgument),
        ("GEO_PHOTO_MAX_M", "-5", settings.photo_max_m, InvalidArgument),
        ("GEO_PHOTO_MAX_M", "nan", settings.photo_max_m, InvalidArgument),
        ("GEO_PHOTO_MAX_M", "inf", settings.photo_max_m, InvalidArgument),
        ("GEO_PHOTO_MAX_BYTES", "25MB", settings.photo_max_bytes, LimitExceeded),
        ("GEO_PHOTO_MAX_BYTES", "0", settings.photo_max_bytes, LimitExceeded),
        ("GEO_PHOTO_MAX_BYTES", "-1", settings.photo_max_bytes, LimitExceeded),
        ("GEO_PHOTO_MAX_PIXELS", "1.5", settings.photo_max_pixels, LimitExceeded),
        ("GEO_PHOTO_MAX_PIXELS", "0", settings.photo_max_pixels, LimitExceeded),
        ("GEO_CLEAR_NEEDS_PHOTO", "awnings", settings.clear_needs_photo, WorkflowError),
        ("GEO_CLEAR_NEEDS_PHOTO", "awning,none", settings.clear_needs_photo, WorkflowError),
        ("GEO_PHOTO_FETCH_HOSTS", "https://kobo.example/", settings.photo_fetch_hosts, InvalidArgument),
        ("GEO_PHOTO_FETCH_HOSTS", "a.example,evil.example/x", settings.photo_fetch_hosts, InvalidArgument),
        ("GEO_PLACE_RADIUS_M", "wide", settings.place_radius_m, InvalidArgument),
        ("GEO_PLACE_RADIUS_M", "0", settings.place_radius_m, InvalidArgument),
        ("GEO_PLACE_RADIUS_M", "-5", settings.place_radius_m, InvalidArgument),
        ("GEO_PLACE_RADIUS_M", "inf", settings.place_radius_m, InvalidArgument),
        ("GEO_REINSPECT_DAYS", "kiosk:7,30", settings.reinspect_schedule, InvalidArgument),
        ("GEO_REINSPECT_DAYS", "awning:7,7", settings.reinspect_schedule, InvalidArgument),
        ("GEO_REINSPECT_DAYS", "awning:0", settings.reinspect_schedule, InvalidArgument),
    ],
)
def test_a_bad_value_gets_a_bilingual_error_naming_variable_and_value(
    clean_env, name, raw, read, error
):
    clean_env.setenv(name, raw)
    with pytest.raises(error) as caught:
        read()
    err = caught.value
    assert err.message_vi != err.message_en
    for message in (err.message_vi, err.message_en):
        assert name in message and repr(raw) in message
    assert "Biến môi trường" in err.message_vi and "Environment variable" in err.message_en


def test_the_reinspection_schedule_is_read_per_type(clean_env):
    """The documented form: type entries, and an entry without a type as the new default."""
    clean_env.setenv("GEO_REINSPECT_DAYS", " 5,20,60 ; sidewalk:14,3 ")
    schedule = settings.reinspect_schedule()
    assert schedule.days_for("sidewalk") == (3, 14)
    assert schedule.days_for("awning") == (5, 20, 60)


def test_the_callers_see_the_same_values(clean_env):
    """The modules that used to read the environment now read it through settings."""
    from geo import assets, auth, boundaries, seed, streets
    from geo.cli._actor import actor_name
    from geo.ingest._limits import IngestLimits
    from geo.store import default_url
    from geo.store.workflow import DEFAULT_SLA_DAYS, sla_days

    clean_env.setenv("GEO_DATABASE_URL", "postgresql://u@h/db")
    clean_env.setenv("GEO_BOUNDARIES", "/x/wards.gpkg")
    clean_env.setenv("GEO_STREETS", "/x/streets.geojson")
    clean_env.setenv("GEO_VENDOR_DIR", "/srv/vendor")
    clean_env.setenv("GEO_SEED_SAMPLE", "off")
    clean_env.setenv("GEO_PUBLIC_VIEW", "yes")
    clean_env.setenv("GEO_SESSION_IDLE_MINUTES", "5")
    clean_env.setenv("GEO_INGEST_MAX_ROWS", "7")
    clean_env.setenv("GEO_SLA_DAYS", "parking=0.5")
    clean_env.setenv("GEO_USER", "to_hk")
    assert default_url() == "postgresql://u@h/db"
    assert boundaries.boundaries_path() == Path("/x/wards.gpkg")
    assert streets.streets_path() == Path("/x/streets.geojson")
    assert assets.vendor_dir() == Path("/srv/vendor")
    assert seed.seeding_enabled() is False
    assert auth.public_view_enabled() is True
    assert auth.idle_timeout().total_seconds() == 5 * 60
    limits = IngestLimits.from_env()
    assert (limits.max_rows, limits.max_bytes) == (7, 512 * 1024 * 1024)
    assert IngestLimits.from_env(max_rows=9).max_rows == 9
    assert sla_days() == {**DEFAULT_SLA_DAYS, "parking": 0.5}

    class Args:
        actor = None

    assert actor_name(Args()) == "to_hk"


# -- documentation: docstring, README and SETTINGS agree ----------------------------------


def test_every_setting_is_documented_once_in_the_docstring():
    docs = settings.documented()
    assert list(docs) == [s.name for s in settings.SETTINGS]
    for setting in settings.SETTINGS:
        kind, text = docs[setting.name]
        assert kind == setting.type_name, setting.name
        shown = setting.default_text()
        ending = f"Default is ``{shown}``." if shown else "Default is unset."
        assert text.endswith(ending), (setting.name, ending, text[-80:])
        assert "Why:" in text, setting.name


def test_readme_configuration_table_is_the_generated_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table == settings.markdown_table(), (
        "README's configuration table is stale: paste the output of `python -m geo.settings`"
    )


def test_every_geo_variable_named_anywhere_is_a_setting():
    """A GEO_* name in the code, tests, docs or CI that settings.py does not know is a
    variable read (or documented) behind its back."""
    known = {s.name for s in settings.SETTINGS}
    files = [REPO / "README.md", REPO / "app.py", REPO / ".ci" / "run"]
    for folder in ("geo", "app_pages", "tests", "benchmarks", "docs"):
        files += sorted((REPO / folder).rglob("*.py")) + sorted((REPO / folder).rglob("*.md"))
    named = {
        (m, f.relative_to(REPO).as_posix())
        for f in files
        for m in re.findall(r"\bGEO_[A-Z][A-Z_]*[A-Z]\b", f.read_text(encoding="utf-8"))
    }
    assert {pair for pair in named if pair[0] not in known} == set()


def test_only_settings_reads_the_environment():
    """settings.py and the machinery it declares its variables with (Setting.__call__)."""
    pattern = re.compile(r"os\.environ|getenv")
    files = [REPO / "app.py", *(REPO / "geo").rglob("*.py"), *(REPO / "app_pages").rglob("*.py")]
    readers = {
        f.relative_to(REPO).as_posix() for f in files if pattern.search(f.read_text(encoding="utf-8"))
    }
    assert readers == {"geo/settings.py", "geo/_settings_parse.py"}
