"""python -m benchmarks: argument combinations that could only waste a long run."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import parse_args


@pytest.mark.parametrize(
    "argv",
    [
        ["--sizes", "2000000", "--scale-postgis-only", "--postgis", ""],  # no server to fill
        ["--sizes", "2000000", "--scale-postgis-only", "--scale-sqlite-only", "--postgis", "postgresql://x/y"],
    ],
    ids=["without a server", "with --scale-sqlite-only"],
)
def test_a_postgis_only_curve_that_would_fill_no_store_is_refused(argv, capsys):
    """Such a run filled neither store, after measuring its baseline on a generated
    million-row file, and then wrote an empty SCALE_POSTGIS.md over the committed one."""
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv)
    assert stopped.value.code == 2
    assert "--scale-postgis-only" in capsys.readouterr().err


def test_a_postgis_only_curve_with_a_server_is_accepted():
    args = parse_args(["--sizes", "2000000", "--scale-postgis-only", "--postgis", "postgresql://x/y"])
    assert args.scale_postgis_only and args.postgis == "postgresql://x/y"
