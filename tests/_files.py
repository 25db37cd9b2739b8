"""The three Hoàn Kiếm incidents every file-format test starts from, and a CSV writer
that quotes like the spreadsheets field teams use (shared by the ingest and store tests)."""

from __future__ import annotations

import unicodedata

#: The combining tone marks Windows-1258 writes after a base letter.
TONES = "\u0300\u0301\u0303\u0309\u0323"

#: Three incidents in Phường Hoàn Kiếm (code 00070), on and near Hàng Mã.
ROWS = [
    ("HK-1", 21.0365, 105.8490, "Lấn chiếm vỉa hè", "chưa xử lý", "05/07/2025",
     "12 Hàng Mã", "Phường Hoàn Kiếm", "Bày hàng ra vỉa hè"),
    ("HK-2", 21.0368, 105.8493, "Mái che, mái vảy", "đang xử lý", "06/07/2025",
     "30 Hàng Mã", "Phường Hàng Mã, Quận Hoàn Kiếm", "Mái vảy tôn"),
    ("HK-3", 21.0371, 105.8487, "Biển quảng cáo", "đã xử lý", "07/07/2025",
     "5 Hàng Lược", "Hoàn Kiếm", "Biển quá khổ"),
]  # fmt: skip
HEADER = ["Mã", "Vĩ độ", "Kinh độ", "Loại vi phạm", "Trạng thái", "Ngày phát hiện",
          "Địa chỉ", "Phường", "Ghi chú"]  # fmt: skip


def csv_text(rows=ROWS, header=HEADER, sep=",", fmt=lambda v: v) -> str:
    def cell(value) -> str:
        value = str(fmt(value))
        if sep in value or '"' in value or "\n" in value or "," in value:
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [sep.join(cell(h) for h in header)]
    lines += [sep.join(cell(v) for v in row) for row in rows]
    return "\r\n".join(lines) + "\r\n"


def to_cp1258(text: str) -> bytes:
    """What Vietnamese Windows writes: base letters precomposed, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            ch.encode("cp1258")
            out.append(ch)
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
            out.append(base + "".join(c for c in parts if c in TONES))
    return "".join(out).encode("cp1258")
