"""Labels of the map page and its details panel: the map itself, the ward summary,
an incident's fields, its photo evidence and the status-change form.

Key prefixes: ``map``, ``ward``, ``incident``, ``photos``, ``status``.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # map page
    "map.title": ("Bản đồ vi phạm trật tự đô thị", "Urban-order violations map"),
    "map.caption": (
        "{wards} phường, xã; {shown} vụ việc hiển thị trên {total}.",
        "{wards} wards and communes; {shown} of {total} incidents shown.",
    ),
    "map.density_note": (
        "Có {n} vụ việc trong khung nhìn: bản đồ hiển thị mật độ thay vì từng điểm "
        "(tối đa {cap}). Hãy lọc hoặc phóng to để xem từng vụ.",
        "{n} incidents in view: the map shows density instead of markers "
        "(at most {cap}). Filter or zoom in to see single incidents.",
    ),
    "map.tiles_offline": (
        "Bản đồ nền ngoại tuyến — chỉ hiển thị ranh giới và điểm.",
        "Basemap tiles offline — boundaries and points only.",
    ),
    "map.ward_layer": ("Ranh giới phường, xã", "Ward boundaries"),
    "map.incident_layer": ("Vụ việc", "Incidents"),
    "map.density_layer": ("Mật độ vụ việc", "Incident density"),
    "map.ward_tooltip_code": ("Mã", "Code"),
    "map.ward_tooltip_area": ("Diện tích (km²)", "Area (km²)"),
    "map.ward_tooltip_population": ("Dân số", "Population"),
    "map.selected_ward": ("Phường, xã đã chọn", "Selected ward"),
    "map.click_hint": (
        "Bấm vào một phường hoặc một điểm để xem chi tiết.",
        "Click a ward or a marker to see its details.",
    ),
    "map.no_store": (
        "Chưa có dữ liệu vụ việc; bản đồ chỉ hiển thị ranh giới.",
        "No incident store yet; the map shows boundaries only.",
    ),
    "map.legend": ("Chú giải trạng thái", "Status legend"),
    "map.share": ("Đường dẫn này lưu bộ lọc hiện tại.", "This page's link keeps the filters."),
    # ward summary
    "ward.code": ("Mã phường", "Ward code"),
    "ward.kind": ("Loại", "Kind"),
    "ward.kind.phuong": ("Phường", "Urban ward"),
    "ward.kind.xa": ("Xã", "Commune"),
    "ward.area": ("Diện tích", "Area"),
    "ward.population": ("Dân số", "Population"),
    "ward.unknown": ("không rõ", "unknown"),
    # photo evidence (details panel, upload bundles, ward report)
    "photos.title": ("Ảnh bằng chứng", "Photo evidence"),
    "photos.before": ("Trước xử lý", "Before"),
    "photos.after": ("Sau xử lý", "After"),
    "photos.none": ("Chưa có ảnh.", "No photo yet."),
    "photos.taken_at": ("Chụp lúc {when}", "Taken {when}"),
    "photos.no_time": ("không rõ giờ chụp", "time not known"),
    "photos.distance": ("cách vị trí vi phạm {m} m", "{m} m from the incident"),
    "photos.ok": ("không có cảnh báo", "no warnings"),
    "photos.add": ("Thêm ảnh", "Add photos"),
    "photos.role": ("Ảnh chụp khi", "Taken with"),
    "photos.role.before": ("phát hiện vi phạm (trước)", "the report (before)"),
    "photos.role.after": ("xử lý xong (sau)", "the clearance (after)"),
    "photos.files": ("Ảnh JPEG, PNG, WebP hoặc HEIC", "JPEG, PNG, WebP or HEIC photos"),
    "photos.submit": ("Lưu ảnh", "Save photos"),
    "photos.added": ("Đã lưu {n} ảnh.", "{n} photo(s) saved."),
    "photos.refused": ("Không lưu {name}: {reason}", "Not saved {name}: {reason}"),
    "photos.after_with_status": (
        "Ảnh sau xử lý (bắt buộc khi chuyển sang “Đã xử lý” với mái che, lấn chiếm vỉa hè)",
        "After photos (needed to clear awnings and sidewalk encroachment)",
    ),
    "photos.flag.photo_no_gps": ("ảnh không có vị trí GPS", "no GPS position in the photo"),
    "photos.flag.photo_no_time": ("ảnh không có giờ chụp", "no capture time in the photo"),
    "photos.flag.photo_far": ("chụp xa vị trí vi phạm", "taken far from the incident"),
    "photos.flag.photo_before_report": (
        "ảnh “sau” chụp trước khi vi phạm được báo", "after photo taken before the report"
    ),
    "photos.flag.photo_future": ("giờ chụp ở tương lai (đồng hồ máy sai)", "capture time in the future"),
    "photos.flag.photo_reused": ("ảnh đã dùng cho vụ việc khác", "the same photo is on another incident"),
    "photos.flag.after_same_as_before": (
        "ảnh “sau” gần như giống ảnh “trước”", "after photo nearly the same as the before photo"
    ),
    "photos.popup": ("{n} ảnh", "{n} photo(s)"),
    "photos.popup_flag": ("có cảnh báo về ảnh", "photo warning"),
    "photos.verified_share": ("Xử lý có ảnh xác thực", "Clearances with a verified photo"),
    "photos.verified_help": (
        "Tỷ lệ vụ việc đã xử lý có ít nhất một ảnh “sau” không có cảnh báo nào.",
        "Share of cleared incidents with at least one after photo that raised no warning.",
    ),
    # incidents (details panel)
    "incident.id": ("Mã vụ việc", "Incident id"),
    "incident.type": ("Loại", "Type"),
    "incident.status": ("Trạng thái", "Status"),
    "incident.address": ("Địa chỉ", "Address"),
    "incident.street": ("Đường", "Street"),
    "incident.note": ("Ghi chú", "Note"),
    "incident.reported_at": ("Ngày phát hiện", "Reported"),
    "incident.cleared_at": ("Ngày xử lý xong", "Cleared"),
    "incident.due_at": ("Hạn xử lý", "Due"),
    "incident.history": ("Lịch sử trạng thái", "Status history"),
    "incident.history_at": ("Thời điểm", "When"),
    # status-change form (map page details panel)
    "status.form_title": ("Đổi trạng thái", "Change the status"),
    "status.to": ("Trạng thái mới", "New status"),
    "status.note": ("Ghi chú nội bộ (không bắt buộc)", "Internal note (optional)"),
    "status.public_note": ("Ghi chú công khai", "Public note"),
    "status.public_note_help": (
        "Người dân thấy ghi chú này khi tra cứu phản ánh (Open311). Để trống: giữ ghi chú cũ.",
        "Residents see this note when they look their report up (Open311). Blank: the "
        "current one stays.",
    ),
    "status.submit": ("Lưu trạng thái", "Save the status"),
    "status.done": ("Đã chuyển vụ việc #{id:id} sang “{status}”.", "Incident #{id:id} moved to “{status}”."),
    "status.recurred": (
        "Đã ghi nhận tái phạm: vụ việc mới #{new:id} được mở.",
        "Recurrence recorded: new incident #{new:id} opened.",
    ),
    "status.final": (
        "Vụ việc ở trạng thái cuối; không còn bước tiếp theo.",
        "The incident is in a final state; there is no next step.",
    ),
}
