"""Labels of the upload page (field teams): file checks, column roles, row flags,
ZIP bundles with photos and re-inspection results files.

Key prefix: ``upload``.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # upload page (field teams)
    "upload.title": ("Tải lên tệp vụ việc", "Upload an incident file"),
    "upload.caption": (
        "Tệp CSV hoặc XLSX của tổ công tác, tệp ZIP gồm bảng và ảnh, hoặc tệp kết quả tái "
        "kiểm tra. Kết quả kiểm tra hiện ra trước; chưa có gì được lưu cho đến khi bấm nút lưu.",
        "A field team's CSV or XLSX file, a ZIP of a table and its photos, or a re-inspection "
        "results file. The checks are shown first; nothing is stored until you press the store "
        "button.",
    ),
    "upload.file": (
        "Chọn tệp CSV, XLSX, hoặc ZIP (một bảng kèm ảnh)",
        "Choose a CSV or XLSX file, or a ZIP (one table with its photos)",
    ),
    "upload.sheet": ("Trang tính", "Sheet"),
    "upload.no_right": (
        "Tài khoản của bạn không có quyền tải lên (cần vai trò tổ công tác, cán bộ phường "
        "hoặc quản trị).",
        "Your account may not upload files (it needs the field, officer or admin role).",
    ),
    "upload.file_info": (
        "{name}: {format}, mã hoá {encoding}, {rows} dòng dữ liệu.",
        "{name}: {format}, encoding {encoding}, {rows} data rows.",
    ),
    "upload.preview": ("Xem trước", "Preview"),
    "upload.columns": ("Các cột nhận ra", "Columns recognised"),
    "upload.col.column": ("Cột trong tệp", "Column in the file"),
    "upload.col.role": ("Dùng làm", "Used as"),
    "upload.col.how": ("Cách nhận", "Matched by"),
    "upload.role.": ("(bỏ qua)", "(ignored)"),
    "upload.role.id": ("Mã vụ việc", "Incident id"),
    "upload.role.lat": ("Vĩ độ", "Latitude"),
    "upload.role.lon": ("Kinh độ", "Longitude"),
    "upload.role.latlon": ("Toạ độ (vĩ độ, kinh độ)", "Coordinates (lat, lon)"),
    "upload.role.type": ("Loại vi phạm", "Violation type"),
    "upload.role.status": ("Trạng thái", "Status"),
    "upload.role.reported_at": ("Ngày phát hiện", "Reported date"),
    "upload.role.cleared_at": ("Ngày xử lý xong", "Cleared date"),
    "upload.role.address": ("Địa chỉ", "Address"),
    "upload.role.ward": ("Phường, xã", "Ward"),
    "upload.role.note": ("Ghi chú", "Note"),
    # how a column was recognised (geo.ingest._columns: ColumnMapping.how)
    "upload.how.exact": ("tên cột trùng khớp", "exact header"),
    "upload.how.prefix": ("tên cột bắt đầu bằng tên quen", "header starts with a known name"),
    "upload.how.geometry": ("hình học của tệp", "the file's geometry"),
    "upload.how.kobo": ("trường Kobo/ODK", "Kobo/ODK field"),
    "upload.how.kobo_geopoint": ("điểm GPS Kobo/ODK", "Kobo/ODK geopoint"),
    "upload.how.content": ("theo nội dung cột", "by the column's content"),
    "upload.how.ignored": ("bỏ qua", "ignored"),
    # how coordinates were written (geo.ingest._coords, _locate: the coord_format column)
    "upload.coordfmt.decimal": ("số thập phân", "decimal degrees"),
    "upload.coordfmt.decimal_comma": ("số thập phân, dấu phẩy", "decimal degrees, decimal comma"),
    "upload.coordfmt.dms": ("độ, phút, giây", "degrees, minutes, seconds"),
    "upload.coordfmt.combined": ("vĩ độ và kinh độ chung một cột", "latitude and longitude in one column"),
    "upload.coordfmt.combined_comma": (
        "vĩ độ và kinh độ chung một cột, dấu phẩy thập phân",
        "latitude and longitude in one column, decimal comma",
    ),
    "upload.coordfmt.projected": ("toạ độ phẳng (hệ chiếu)", "projected x/y"),
    "upload.coordfmt.geojson": ("hình học GeoJSON", "GeoJSON geometry"),
    # how dates were written (geo.ingest._dates: the date_format column)
    "upload.datefmt.dmy": ("ngày/tháng/năm", "day/month/year"),
    "upload.datefmt.iso": ("ISO 8601 (năm-tháng-ngày)", "ISO 8601 (year-month-day)"),
    "upload.datefmt.iso_zoned": ("ISO 8601 có múi giờ", "ISO 8601 with a time zone"),
    "upload.datefmt.excel_serial": ("số ngày của Excel", "Excel day number"),
    "upload.datefmt.file_date": ("ngày của tệp (nhập tay)", "the file's date (entered)"),
    "upload.coord_formats": ("Định dạng toạ độ", "Coordinate formats"),
    "upload.date_formats": ("Định dạng ngày", "Date formats"),
    "upload.format": ("Định dạng", "Format"),
    "upload.rows": ("Số dòng", "Rows"),
    "upload.first_rows": ("Các dòng đầu", "First rows"),
    "upload.raw_rows": ("Các dòng đầu, đúng như trong tệp", "First rows, exactly as in the file"),
    "upload.summary": ("Kết quả kiểm tra", "Validation summary"),
    "upload.accepted": ("Hợp lệ", "Accepted"),
    "upload.duplicate": ("Trùng", "Duplicate"),
    "upload.rejected": ("Bị loại", "Rejected"),
    "upload.updates": ("Cập nhật trạng thái", "Status updates"),
    "upload.outcome": ("Kết quả", "Outcome"),
    "upload.row": ("Dòng", "Row"),
    "upload.reasons": ("Lý do loại", "Reasons for rejection"),
    "upload.reason": ("Lý do", "Reason"),
    "upload.message": ("Chi tiết", "Details"),
    "upload.flags": ("Cờ cảnh báo của các dòng hợp lệ", "Flags on the accepted rows"),
    "upload.flag": ("Cờ", "Flag"),
    "upload.no_flags": ("Không dòng hợp lệ nào có cờ cảnh báo.", "No accepted row carries a flag."),
    "upload.flag.outside": ("ngoài mọi phường, xã", "outside every ward"),
    "upload.flag.snapped": (
        "sát ranh giới, gán vào phường gần nhất",
        "just outside a boundary, given to the nearest ward",
    ),
    "upload.flag.swapped_lat_lon": (
        "vĩ độ và kinh độ bị ghi đảo, đã đổi lại",
        "latitude and longitude were swapped; put right",
    ),
    "upload.flag.ward_mismatch": (
        "phường ghi trong tệp khác phường theo toạ độ",
        "the ward written in the file differs from the ward at the point",
    ),
    "upload.flag.no_street": ("không có tuyến phố gần điểm", "no street near the point"),
    "upload.flag.date_from_file": (
        "ngày phát hiện lấy theo ngày của cả tệp",
        "the reported date is the whole file's date",
    ),
    "upload.flag.cleared_unverified": (
        "nhập ở trạng thái đã xử lý nhưng chưa có ảnh sau xử lý",
        "imported as cleared without the after photo its type needs",
    ),
    "upload.file_date": ("Ngày phát hiện cho cả tệp", "Report date for the whole file"),
    "upload.file_date_help": (
        "Tệp không có cột ngày phát hiện: mọi dòng lấy ngày này (theo giờ Hà Nội).",
        "The file has no reported-date column: every row takes this date (Hà Nội time).",
    ),
    "upload.duplicate_rows": ("Các dòng trùng", "Duplicate rows"),
    "upload.dup_incident": ("Trùng vụ việc đã lưu số", "Repeats stored incident"),
    "upload.dup_row": ("Trùng dòng", "Repeats row"),
    "upload.rejected_rows": ("Các dòng bị loại", "Rejected rows"),
    "upload.map": ("Các điểm hợp lệ", "Accepted points"),
    "upload.map_caption": (
        "Số “#” trong chú thích của mỗi điểm là số dòng trong tệp.",
        "The “#” number in a point's tooltip is its row in the file.",
    ),
    "upload.download_rejects": ("Tải các dòng bị loại (CSV)", "Download the rejected rows (CSV)"),
    "upload.commit": ("Lưu vào kho dữ liệu", "Store in the database"),
    "upload.committed": (
        "Đã lưu đợt tải lên số {batch:id}: {accepted} vụ việc mới, {updates} cập nhật trạng thái.",
        "Stored as batch {batch:id}: {accepted} new incidents, {updates} status updates.",
    ),
    "upload.empty": ("Tệp không có dòng dữ liệu nào.", "The file holds no data rows."),
    # upload page: ZIP bundles with photos, re-inspection results files (issues 12, 13)
    "upload.kind": ("Loại tệp", "File kind"),
    "upload.kind.auto": ("Tự nhận biết", "Detect"),
    "upload.kind.incidents": ("Vụ việc", "Incidents"),
    "upload.kind.recheck": ("Kết quả tái kiểm tra", "Re-inspection results"),
    "upload.photos": ("Ảnh trong tệp ZIP", "Photos in the ZIP"),
    "upload.photos_count": (
        "{total} ảnh: {accepted} nhận, {link} giữ liên kết KoboToolbox, {refused} bị loại.",
        "{total} photos: {accepted} accepted, {link} KoboToolbox links kept, {refused} refused.",
    ),
    "upload.photos_planned": (
        "{total} ảnh: {accepted} sẽ được kiểm tra và lưu, {link} giữ liên kết KoboToolbox, "
        "{refused} bị loại ngay.",
        "{total} photos: {accepted} to be checked and stored, {link} KoboToolbox links to "
        "keep, {refused} refused already.",
    ),
    "upload.photo.accepted": ("nhận", "accepted"),
    "upload.photo.planned": ("sẽ kiểm tra và lưu", "to check and store"),
    "upload.photo.link": ("giữ liên kết KoboToolbox", "KoboToolbox link kept"),
    "upload.photo.refused": ("bị loại", "refused"),
    "upload.photo.name": ("Ảnh", "Photo"),
    "upload.photo.column": ("Cột", "Column"),
    "upload.photo.incident": ("Vụ việc", "Incident"),
    "upload.photo.role": ("Vai trò", "Role"),
    "upload.photo.flags": ("Cảnh báo", "Warnings"),
    "upload.bundle_committed": (
        "Đã lưu đợt tải lên số {batch:id}: {accepted} vụ việc mới, {updates} cập nhật trạng thái, "
        "{photos} ảnh.",
        "Stored as batch {batch:id}: {accepted} new incidents, {updates} status updates, {photos} photos.",
    ),
    "upload.recheck_title": ("Kết quả tái kiểm tra", "Re-inspection results"),
    "upload.recheck_clear": ("Còn thông thoáng", "Still clear"),
    "upload.recheck_violation": ("Tái vi phạm", "Violation again"),
    "upload.recheck_committed": (
        "Đã lưu đợt tái kiểm tra số {batch:id}: {accepted} kết quả ({clear} còn thông thoáng, "
        "{violation} tái vi phạm).",
        "Stored as batch {batch:id}: {accepted} results ({clear} still clear, {violation} violations again).",
    ),
    "upload.recheck.no_place": (
        "không có điểm với mã này, hoặc không có điểm nào trong bán kính của vị trí",
        "no place with that id, or none within the radius of the position",
    ),
    "upload.recheck.not_cleared": (
        "điểm còn vi phạm chưa xử lý vào ngày kiểm tra",
        "the place had an open violation on the check's date",
    ),
    "upload.recheck.check_before_clear": (
        "ngày kiểm tra trước ngày điểm được xử lý lần đầu",
        "the check is dated before the place was first cleared",
    ),
    "upload.recheck.bad_result": ("kết quả không đọc được", "a result word it does not know"),
    "upload.recheck.future_date": ("ngày kiểm tra ở tương lai", "the check is dated in the future"),
    "upload.recheck.missing_date": ("thiếu ngày kiểm tra", "no readable check date"),
}
