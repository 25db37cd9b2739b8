"""Labels of residents' reports (Open311): the moderation page and the public
lookup of a report or request.

Key prefixes: ``reports``, ``lookup``.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # residents' reports (app_pages/reports.py, app_pages/lookup.py)
    "reports.title": ("Phản ánh của người dân", "Residents' reports"),
    "reports.none": ("Không có phản ánh nào đang chờ xử lý.", "No report is waiting for moderation."),
    "reports.pick": ("Chọn phản ánh", "Choose a report"),
    "reports.waiting": ("{n} phản ánh đang chờ", "{n} report(s) waiting"),
    "reports.description": ("Nội dung", "Description"),
    "reports.address": ("Địa chỉ", "Address"),
    "reports.media": ("Liên kết ảnh (chưa mở)", "Photo link (not opened)"),
    "reports.received": ("Nhận lúc", "Received"),
    "reports.nearby": ("Sự việc đang mở cùng loại trong bán kính 30 m (có thể trùng)",
                       "Open incidents of the same type within 30 m (possible duplicates)"),
    "reports.no_nearby": ("Không có sự việc nào gần đó.", "No incident nearby."),
    "reports.accept": ("Tiếp nhận thành sự việc mới", "Accept as a new incident"),
    "reports.merge": ("Gộp vào sự việc", "Merge into incident"),
    "reports.merge_into": ("Số sự việc", "Incident number"),
    "reports.distance": ("Cách (m)", "Distance (m)"),
    "reports.reject": ("Từ chối", "Reject"),
    "reports.public_note": ("Ghi chú công khai (khi tiếp nhận hoặc gộp)",
                            "Public note (when accepting or merging)"),
    "reports.reason": ("Lý do (công khai)", "Reason (public)"),
    "reports.reason_other": ("Lý do khác", "Other reason"),
    "reports.reason_not_order": ("Không thuộc lĩnh vực trật tự đô thị", "Not an urban-order matter"),
    "reports.reason_outside": ("Ngoài địa bàn phường", "Outside the ward"),
    "reports.reason_spam": ("Thư rác, nội dung không phù hợp", "Spam or unsuitable content"),
    "reports.accepted": ("Đã tiếp nhận phản ánh {id:id}: sự việc số {incident:id}.",
                         "Report {id:id} accepted: incident {incident:id}."),
    "reports.merged": ("Đã gộp phản ánh {id:id} vào sự việc số {incident:id}.",
                       "Report {id:id} merged into incident {incident:id}."),
    "reports.rejected": ("Đã từ chối phản ánh {id:id}.", "Report {id:id} rejected."),
    "lookup.title": ("Tra cứu phản ánh", "Look up a report"),
    "lookup.input": ("Mã phản ánh (token) hoặc số yêu cầu", "Report token or request number"),
    "lookup.none": ("Không tìm thấy phản ánh hay yêu cầu này.", "No such report or request."),
    "lookup.status": ("Trạng thái", "Status"),
    "lookup.report_status": ("Xử lý phản ánh", "Moderation"),
    "lookup.notes": ("Ghi chú của phường", "Ward's notes"),
    "lookup.ward": ("Đơn vị phụ trách", "Responsible ward"),
    "lookup.request": ("Số yêu cầu", "Request number"),
    "lookup.requested": ("Tiếp nhận", "Received"),
    "lookup.updated": ("Cập nhật", "Updated"),
    "lookup.expected": ("Hạn xử lý", "Due"),
    "lookup.open": ("Đang xử lý", "Open"),
    "lookup.closed": ("Đã xử lý xong", "Closed"),
    "lookup.pending": ("Đang chờ phường xem xét", "Waiting for the ward"),
    "lookup.accepted": ("Đã tiếp nhận", "Accepted"),
    "lookup.merged": ("Đã gộp vào sự việc đang xử lý", "Merged into an incident"),
    "lookup.rejected": ("Không tiếp nhận", "Rejected"),
}
