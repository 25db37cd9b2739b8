"""Every UI label, Vietnamese first, English available: one table, one lookup.

Officers read Vietnamese; maintainers and visitors may switch to English. Pages never
hard-code a label: they call :func:`t`. Violation types and workflow states keep their
labels in :mod:`geo.vocab` (they are stored codes); :func:`type_label` and
:func:`status_label` read them from there so the two tables cannot drift apart.
Add new keys here, grouped by page, as ``key: (vietnamese, english)``.
"""

from __future__ import annotations

from typing import Any

LANGS: tuple[str, ...] = ("vi", "en")
DEFAULT_LANG = "vi"

LABELS: dict[str, tuple[str, str]] = {
    # app shell
    "app.title": ("Giám sát trật tự đô thị Hà Nội", "Hanoi urban-order monitor"),
    "app.language": ("Ngôn ngữ", "Language"),
    "app.seeding": (
        "Đang mở kho dữ liệu (lần đầu: nạp dữ liệu mẫu giả lập)…",
        "Opening the store (first start: loading the synthetic sample)…",
    ),
    "lang.vi": ("Tiếng Việt", "Tiếng Việt"),
    "lang.en": ("English", "English"),
    "nav.map": ("Bản đồ", "Map"),
    "nav.upload": ("Tải lên", "Upload"),
    "nav.compare": ("So sánh phường", "Compare wards"),
    "nav.progress": ("Tiến độ", "Progress"),
    "nav.ward": ("Trang phường", "Ward page"),
    "nav.admin": ("Quản trị", "Administration"),
    "nav.reports": ("Phản ánh của người dân", "Residents' reports"),
    "nav.lookup": ("Tra cứu phản ánh", "Look up a report"),
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
    "reports.accepted": ("Đã tiếp nhận phản ánh {id}: sự việc số {incident}.",
                         "Report {id} accepted: incident {incident}."),
    "reports.merged": ("Đã gộp phản ánh {id} vào sự việc số {incident}.",
                       "Report {id} merged into incident {incident}."),
    "reports.rejected": ("Đã từ chối phản ánh {id}.", "Report {id} rejected."),
    "admin.tab_apikeys": ("Khóa API Open311", "Open311 API keys"),
    "admin.apikey_name": ("Tên ứng dụng, đối tác", "App or partner name"),
    "admin.apikey_add": ("Cấp khóa mới", "Issue a key"),
    "admin.apikey_made": ("Khóa mới cho {name}; chỉ hiện một lần, hãy lưu lại ngay:",
                          "New key for {name}; shown once, keep it now:"),
    "admin.apikey_revoke": ("Thu hồi khóa", "Revoke a key"),
    "admin.apikey_revoked": ("Đã thu hồi khóa {name}.", "Key {name} revoked."),
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
    "nav.reinspect": ("Tái kiểm tra", "Re-inspection"),
    # re-inspection page (app_pages/reinspect.py, issue 12)
    "reinspect.title": ("Tái kiểm tra", "Re-inspection"),
    "reinspect.ward": ("Phường, xã", "Ward"),
    "reinspect.on": ("Ngày đi kiểm tra", "Date of the round"),
    "reinspect.due": ("Điểm cần tái kiểm tra", "Places due"),
    "reinspect.none_due": ("Không có điểm nào cần tái kiểm tra vào ngày này.",
                           "No place is due for a check on this date."),
    "reinspect.no_wards": ("Chưa có phường, xã nào.", "There are no wards yet."),
    "reinspect.no_address": ("(không có địa chỉ)", "(no address)"),
    "reinspect.card": ("Điểm {place} · xử lý {cleared} · {days} ngày · kiểm tra mốc {check} ngày",
                       "Place {place} · cleared {cleared} · {days} days · {check}-day check"),
    "reinspect.clear": ("Còn thông thoáng", "Still clear"),
    "reinspect.violation": ("Tái vi phạm", "Violation again"),
    "reinspect.recorded_clear": ("Đã ghi: điểm {place} còn thông thoáng.",
                                 "Recorded: place {place} is still clear."),
    "reinspect.recorded_violation": ("Đã ghi: điểm {place} tái vi phạm (mở vụ việc mới).",
                                     "Recorded: place {place} is violated again (a new incident)."),
    "reinspect.downloads": ("Tải danh sách (lộ trình đi bộ)", "Download the list (walking round)"),
    # sign-in (app_pages/_auth.py) and roles (geo.auth)
    "auth.title": ("Đăng nhập", "Sign in"),
    "auth.username": ("Tên đăng nhập", "User name"),
    "auth.password": ("Mật khẩu", "Password"),
    "auth.password_repeat": ("Nhập lại mật khẩu", "Repeat the password"),
    "auth.submit": ("Đăng nhập", "Sign in"),
    "auth.oidc": ("Đăng nhập bằng tài khoản cơ quan", "Sign in with your organisation account"),
    "auth.first_title": ("Tạo tài khoản quản trị đầu tiên", "Create the first administrator"),
    "auth.first_caption": (
        "Chưa có tài khoản nào. Tài khoản này có toàn quyền; không có mật khẩu mặc định. "
        "Mật khẩu dài ít nhất {n} ký tự.",
        "There is no account yet. This one gets every right; there is no default password. "
        "The password needs at least {n} characters.",
    ),
    "auth.setup_needed": (
        "Để tạo tài khoản quản trị đầu tiên, hãy mở đường dẫn `…/?setup=…` sau dòng `Setup URL:` "
        "trong cửa sổ lệnh đang chạy `streamlit run`, hoặc chạy "
        "`python -m geo users add TÊN --role admin`.",
        "To create the first administrator, open the link `…/?setup=…` after `Setup URL:` in "
        "the console running `streamlit run`, or run `python -m geo users add NAME --role admin`.",
    ),
    "auth.setup_bad": (
        "Mã cài đặt trong đường dẫn không đúng hoặc đã được dùng; hãy mở đường dẫn mới nhất in "
        "trong cửa sổ lệnh.",
        "The setup token in the link is wrong or used already; open the newest link printed "
        "in the console.",
    ),
    "auth.first_submit": ("Tạo tài khoản quản trị", "Create the administrator"),
    "auth.mismatch": ("Hai lần nhập mật khẩu không khớp.", "The two passwords differ."),
    "auth.expired": (
        "Phiên làm việc đã hết hạn sau {minutes} phút không thao tác; hãy đăng nhập lại.",
        "Your session expired after {minutes} idle minutes; sign in again.",
    ),
    "auth.signed_in_as": ("Đã đăng nhập: {user} ({roles})", "Signed in: {user} ({roles})"),
    "auth.wards": ("Phường phụ trách: {wards}", "Wards: {wards}"),
    "auth.sign_out": ("Đăng xuất", "Sign out"),
    "auth.public_title": ("Số liệu công khai theo phường, xã", "Public figures by ward"),
    "auth.public_caption": (
        "Chỉ số tổng hợp; không có ghi chú, địa chỉ, tên người hay ảnh.",
        "Aggregates only: no notes, addresses, names or photos.",
    ),
    "role.viewer": ("Lãnh đạo (chỉ xem)", "Viewer (read only)"),
    "role.field": ("Tổ công tác (tải lên)", "Field team (upload)"),
    "role.officer": ("Cán bộ phường (đổi trạng thái)", "Ward officer (status changes)"),
    "role.admin": ("Quản trị", "Administrator"),
    # filters (sidebar)
    "filter.header": ("Bộ lọc", "Filters"),
    "filter.wards": ("Phường, xã", "Wards and communes"),
    "filter.types": ("Loại vi phạm", "Violation type"),
    "filter.statuses": ("Trạng thái", "Status"),
    "filter.date_from": ("Từ ngày", "From"),
    "filter.date_to": ("Đến ngày", "To"),
    "filter.street": ("Tên đường", "Street"),
    "filter.overdue": ("Chỉ vụ quá hạn", "Overdue only"),
    "filter.reset": ("Bỏ lọc", "Clear filters"),
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
        "Đã lưu đợt tải lên số {batch}: {accepted} vụ việc mới, {updates} cập nhật trạng thái.",
        "Stored as batch {batch}: {accepted} new incidents, {updates} status updates.",
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
        "Đã lưu đợt tải lên số {batch}: {accepted} vụ việc mới, {updates} cập nhật trạng thái, "
        "{photos} ảnh.",
        "Stored as batch {batch}: {accepted} new incidents, {updates} status updates, {photos} photos.",
    ),
    "upload.recheck_title": ("Kết quả tái kiểm tra", "Re-inspection results"),
    "upload.recheck_clear": ("Còn thông thoáng", "Still clear"),
    "upload.recheck_violation": ("Tái vi phạm", "Violation again"),
    "upload.recheck_committed": (
        "Đã lưu đợt tái kiểm tra số {batch}: {accepted} kết quả ({clear} còn thông thoáng, "
        "{violation} tái vi phạm).",
        "Stored as batch {batch}: {accepted} results ({clear} still clear, {violation} violations again).",
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
    # ward summary
    "ward.code": ("Mã phường", "Ward code"),
    "ward.kind": ("Loại", "Kind"),
    "ward.kind.phuong": ("Phường", "Urban ward"),
    "ward.kind.xa": ("Xã", "Commune"),
    "ward.area": ("Diện tích", "Area"),
    "ward.population": ("Dân số", "Population"),
    "ward.unknown": ("không rõ", "unknown"),
    # incidents
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
    "report.photos_title": ("Ảnh trước và sau xử lý", "Before and after photos"),
    "report.photos_note": (
        "Ảnh thu nhỏ từ kho ảnh (không kèm vị trí GPS); ưu tiên các cặp ảnh không có cảnh báo.",
        "Thumbnails from the photo store (no GPS position); pairs without warnings are shown first.",
    ),
    "report.photo_incident": ("Vụ việc số {id}", "Incident {id}"),
    "report.photo_cleared": ("Xử lý ngày {day}", "Cleared on {day}"),
    "photos.popup": ("{n} ảnh", "{n} photo(s)"),
    "photos.popup_flag": ("có cảnh báo về ảnh", "photo warning"),
    "photos.verified_share": ("Xử lý có ảnh xác thực", "Clearances with a verified photo"),
    "photos.verified_help": (
        "Tỷ lệ vụ việc đã xử lý có ít nhất một ảnh “sau” không có cảnh báo nào.",
        "Share of cleared incidents with at least one after photo that raised no warning.",
    ),
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
    "status.done": ("Đã chuyển vụ việc #{id} sang “{status}”.", "Incident #{id} moved to “{status}”."),
    "status.recurred": (
        "Đã ghi nhận tái phạm: vụ việc mới #{new} được mở.",
        "Recurrence recorded: new incident #{new} opened.",
    ),
    "status.final": (
        "Vụ việc ở trạng thái cuối; không còn bước tiếp theo.",
        "The incident is in a final state; there is no next step.",
    ),
    # metrics (compare, progress, ward pages and the ward report)
    "metric.open": ("Vụ chưa xử lý", "Open violations"),
    "metric.open_per_km2": ("Vụ chưa xử lý / km²", "Open per km²"),
    "metric.open_per_10k": ("Vụ chưa xử lý / 10.000 dân", "Open per 10,000 residents"),
    "metric.pct_cleared": ("% đã xử lý", "% cleared"),
    "metric.median_days": ("Số ngày xử lý (trung vị)", "Median days to clear"),
    "metric.overdue": ("Quá hạn", "Overdue"),
    "metric.new_week": ("Mới trong tuần", "New this week"),
    "metric.cleared": ("Đã xử lý", "Cleared"),
    "metric.volume": ("Tổng số vụ", "Total incidents"),
    "metric.rank": ("Hạng", "Rank"),
    "metric.ward": ("Phường, xã", "Ward"),
    "metric.code": ("Mã", "Code"),
    "metric.eligible": ("Được xếp hạng", "Ranked"),
    "metric.retention_30": ("Duy trì 30 ngày (tỷ lệ)", "Clear after 30 days (share)"),
    "metric.retention_90": ("Duy trì 90 ngày (tỷ lệ)", "Clear after 90 days (share)"),
    "metric.recurrence_rate": ("Tỷ lệ điểm tái phạm", "Recurrence rate"),
    "metric.campaign_flag": ("Kiểu chiến dịch (1 = có)", "Campaign-style (1 = yes)"),
    "metric.spells": ("Số lần xử lý", "Clearances"),
    "metric.rechecked_share": ("Tỷ lệ được tái kiểm tra", "Re-checked share"),
    "metric.densest_14d_share": ("Tỷ lệ xử lý trong 14 ngày dày nhất", "Share in the densest 14 days"),
    # compare page
    "compare.title": ("So sánh các phường, xã", "Compare wards"),
    "compare.metric": ("Chỉ số", "Metric"),
    "compare.choropleth": ("Bản đồ theo chỉ số", "Choropleth"),
    "compare.view": ("Xem", "View"),
    "compare.view.choropleth": ("Bản đồ theo chỉ số", "Choropleth"),
    "compare.view.league": ("Bảng xếp hạng", "League table"),
    "compare.view.matrix": ("Ma trận phường × tuần", "Ward × week matrix"),
    "compare.view.density": ("Mật độ vụ việc", "Incident density"),
    "compare.open_ward_page": ("Mở trang phường", "Open ward page"),
    "compare.click_ward": (
        "Bấm vào một phường, xã trên bản đồ để mở trang của phường, xã đó.",
        "Click a ward on the map to open its page.",
    ),
    "compare.no_data": ("Không có số liệu", "No data"),
    "compare.density": ("Bản đồ nhiệt mật độ vụ việc", "Incident density heatmap"),
    "compare.density_heatmap": (
        "{n} vụ việc vẽ bằng bản đồ nhiệt.",
        "{n} incidents drawn as a heatmap.",
    ),
    "compare.density_grid": (
        "{n} vụ việc: lưới mật độ ô {cell} m tính trên máy chủ.",
        "{n} incidents: a {cell} m density grid computed on the server.",
    ),
    "compare.geotiff": ("Tải lưới mật độ (GeoTIFF)", "Download density grid (GeoTIFF)"),
    "compare.cell": ("Kích thước ô lưới (m)", "Grid cell size (m)"),
    "compare.matrix": ("Ma trận phường × tuần", "Ward × week matrix"),
    "compare.matrix_value": ("Giá trị ô", "Cell value"),
    "compare.matrix_value.open_end": ("Vụ chưa xử lý cuối tuần", "Open at week end"),
    "compare.matrix_value.pct_cleared": ("% đã xử lý đến cuối tuần", "% cleared by week end"),
    "compare.matrix_week": ("Tuần", "Week"),
    "compare.league": ("Bảng xếp hạng", "League table"),
    "compare.sustain": ("Trật tự có bền vững không", "Does clearance last"),
    "compare.sustain_rule": (
        "Theo các lần xử lý trong khoảng ngày đã chọn. Phường có dưới {n} lần xử lý chỉ hiện số "
        "lượng. Tỷ lệ được tái kiểm tra cho biết độ tin cậy của tỷ lệ duy trì.",
        "Over the clearances in the chosen dates. Wards with fewer than {n} clearances show "
        "counts only. The re-checked share says how far the retention can be trusted.",
    ),
    "compare.sustain_empty": ("Chưa có lần xử lý nào trong khoảng này.", "No clearance in this window."),
    "sustain.ward_code": ("Mã", "Code"),
    "sustain.name": ("Phường, xã", "Ward"),
    "sustain.places": ("Điểm", "Places"),
    "sustain.spells": ("Lần xử lý", "Clearances"),
    "sustain.retention_30": ("Duy trì 30 ngày", "Clear after 30 days"),
    "sustain.retention_90": ("Duy trì 90 ngày", "Clear after 90 days"),
    "sustain.rechecked_share": ("Tỷ lệ được tái kiểm tra", "Re-checked share"),
    "sustain.recurrence_rate": ("Tỷ lệ tái phạm", "Recurrence rate"),
    "sustain.median_days_clear": ("Số ngày thông thoáng (trung vị)", "Median days clear"),
    "sustain.chronic_places": ("Điểm tái phạm kéo dài", "Chronic places"),
    "sustain.densest_14d_share": ("Tỷ lệ xử lý trong 14 ngày dày nhất", "Share in the densest 14 days"),
    "sustain.campaign_flag": ("Kiểu chiến dịch", "Campaign-style"),
    # sustained order on the leaders' pages (issue 12)
    "sustain.survival": ("Trật tự có được duy trì: đường sống còn", "Does clearance last: survival curve"),
    "sustain.survival_help": (
        "Tỷ lệ điểm đã xử lý còn thông thoáng sau N ngày (Kaplan–Meier), phường so với toàn thành phố.",
        "Share of cleared places still clear after N days (Kaplan–Meier), the ward against the city.",
    ),
    "sustain.survival_days": ("Số ngày sau khi xử lý", "Days since clearance"),
    "sustain.survival_share": ("Tỷ lệ còn thông thoáng", "Share still clear"),
    "sustain.scope": ("Phạm vi", "Scope"),
    "sustain.scope.ward": ("Phường, xã này", "This ward"),
    "sustain.scope.city": ("Toàn thành phố", "Whole city"),
    "sustain.survival_spells": ("Lần xử lý: phường {ward}, thành phố {city}.", "Clearances: ward {ward}, city {city}."),
    "sustain.no_spells": ("Chưa có lần xử lý nào của phường trong khoảng này.", "No clearance in the ward in this window."),
    "sustain.chronic": ("Điểm tái phạm nhiều lần: diễn biến", "Places that keep coming back: timelines"),
    "sustain.chronic_help": (
        "Các điểm tái phạm từ {n} lần trở lên: mỗi vụ việc với ngày phát hiện, ngày xử lý và ngày tái phạm.",
        "Places with {n} or more recurrences: each incident's report, clearance and recurrence dates.",
    ),
    "sustain.no_chronic": ("Không có điểm nào tái phạm từ {n} lần trở lên.", "No place has {n} or more recurrences."),
    "sustain.place": ("Điểm", "Place"),
    "sustain.recurrences": ("Số lần tái phạm", "Recurrences"),
    "sustain.episode": ("Đợt", "Episode"),
    "sustain.reported_at": ("Ngày phát hiện", "Reported"),
    "sustain.cleared_at": ("Ngày xử lý", "Cleared"),
    "sustain.recurred_at": ("Ngày tái phạm", "Recurred"),
    "sustain.event": ("Sự kiện", "Event"),
    "sustain.event.report": ("Phát hiện", "Report"),
    "sustain.event.recurrence": ("Tái phạm", "Recurrence"),
    "sustain.event.clear": ("Xử lý xong", "Cleared"),
    "sustain.event.check_clear": ("Tái kiểm tra: còn thông thoáng", "Check: still clear"),
    "sustain.event.check_violation": ("Tái kiểm tra: tái vi phạm", "Check: violation again"),
    "sustain.date": ("Ngày", "Date"),
    "sustain.timeline": ("Diễn biến", "Timeline"),
    "sustain.earlier_events": ("… và {n} sự kiện trước đó", "… and {n} earlier events"),
    "sustain.place_layer": ("Điểm vi phạm theo trạng thái", "Places by state"),
    "sustain.place_layer_help": (
        "Mỗi điểm một vòng tròn: đỏ đang vi phạm, tím tái phạm, xanh còn thông thoáng.",
        "One circle per place: red open, purple recurred, green clear.",
    ),
    "sustain.state.open": ("Đang vi phạm", "Open"),
    "sustain.state.recurred": ("Tái phạm", "Recurred"),
    "sustain.state.clear": ("Còn thông thoáng", "Clear"),
    "sustain.days_clear": ("Số ngày thông thoáng", "Days clear"),
    "sustain.chronic_mark": ("Tái phạm kéo dài", "Chronic"),
    "sustain.places_capped": (
        "Có {n} điểm: chỉ vẽ {cap} điểm cần chú ý nhất. Hãy chọn phường, xã để xem hết.",
        "{n} places: only the {cap} most urgent are drawn. Choose a ward to see them all.",
    ),
    "sustain.recurrences_line": ("Tái phạm trong kỳ", "Recurrences in period"),
    "compare.min_volume": ("Số vụ tối thiểu để được xếp hạng", "Minimum incidents to be ranked"),
    "compare.league_rule": (
        "Chỉ xếp hạng phường có ít nhất {n} vụ (chưa xử lý + đã xử lý); các phường khác "
        "đứng cuối bảng, không có hạng.",
        "Only wards with at least {n} incidents (open + cleared) are ranked; the others "
        "follow, unranked.",
    ),
    "compare.csv": ("Tải CSV", "Download CSV"),
    "compare.xlsx": ("Tải XLSX", "Download XLSX"),
    "compare.empty": ("Chưa có vụ việc nào trong kho dữ liệu.", "The store holds no incidents yet."),
    "compare.period": ("Kỳ thống kê", "Period"),
    # progress page
    "progress.title": ("Tiến độ xử lý", "Progress"),
    "progress.level": ("Phạm vi", "Scope"),
    "progress.level.city": ("Toàn thành phố", "Whole city"),
    "progress.level.ward": ("Một phường, xã", "One ward"),
    "progress.level.street": ("Một tuyến phố", "One street"),
    "progress.ward": ("Phường, xã", "Ward"),
    "progress.street": ("Tuyến phố", "Street"),
    "progress.freq": ("Chu kỳ", "Interval"),
    "progress.freq.D": ("Ngày", "Day"),
    "progress.freq.W": ("Tuần", "Week"),
    "progress.open_vs_cleared": ("Chưa xử lý và đã xử lý theo thời gian", "Open vs cleared over time"),
    "progress.open": ("Chưa xử lý (cuối kỳ)", "Open (at period end)"),
    "progress.cleared": ("Đã xử lý trong kỳ", "Cleared in period"),
    "progress.new": ("Mới trong kỳ", "New in period"),
    "progress.cumulative": ("Tổng số đã xử lý (cộng dồn)", "Cumulative cleared"),
    "progress.recurrences": ("Tái phạm", "Recurrences"),
    "progress.recurrences_total": ("{n} lần tái phạm trong kỳ.", "{n} recurrences in the period."),
    "progress.before_after": ("Trước / sau", "Before / after"),
    "progress.date_a": ("Ngày trước", "Before date"),
    "progress.date_b": ("Ngày sau", "After date"),
    "progress.open_before": ("Chưa xử lý ngày trước", "Open before"),
    "progress.open_after": ("Chưa xử lý ngày sau", "Open after"),
    "progress.new_between": ("Mới giữa hai ngày", "New in between"),
    "progress.cleared_between": ("Xử lý giữa hai ngày", "Cleared in between"),
    "progress.change_layer": ("Thay đổi số vụ chưa xử lý", "Change in open violations"),
    "progress.empty": ("Không có vụ việc nào trong phạm vi này.", "No incidents in this scope."),
    "progress.bad_dates": ("Ngày trước phải sớm hơn ngày sau.", "The before date must come first."),
    # ward page
    "wardpage.title": ("Trang phường, xã", "Ward page"),
    "wardpage.choose": ("Chọn phường, xã", "Choose a ward"),
    "wardpage.kpis": ("Chỉ số chính", "Key figures"),
    "wardpage.map": ("Bản đồ vụ việc", "Incident map"),
    "wardpage.streets": ("Các tuyến phố theo số vụ chưa xử lý", "Streets by open violations"),
    "wardpage.report": ("Báo cáo một trang", "One-page report"),
    "wardpage.pdf": ("Tải báo cáo PDF", "Download report (PDF)"),
    "wardpage.png": ("Tải báo cáo PNG", "Download report (PNG)"),
    "wardpage.capped": (
        "Phường có {n} vụ việc: bản đồ hiển thị mật độ.",
        "The ward has {n} incidents: the map shows density.",
    ),
    # ward report (PDF/PNG)
    "report.period": ("Kỳ", "Period"),
    "report.today": ("hôm nay", "today"),
    "report.map_title": ("Vụ việc trong phường", "Incidents in the ward"),
    "report.top_streets": ("Các tuyến phố nhiều vụ chưa xử lý nhất", "Streets with most open violations"),
    "report.recurred": ("Tái phạm", "Recurrences"),
    "report.generated": ("Lập lúc", "Generated"),
    # administration page (app_pages/admin.py)
    "admin.title": ("Quản trị", "Administration"),
    "admin.tab_users": ("Tài khoản", "Accounts"),
    "admin.tab_wards": ("Lớp ranh giới phường, xã", "Ward layer"),
    "admin.tab_audit": ("Nhật ký thao tác", "Audit log"),
    "admin.users": ("Danh sách tài khoản", "Accounts"),
    "admin.add": ("Thêm tài khoản", "Add an account"),
    "admin.username": ("Tên đăng nhập", "User name"),
    "admin.password": ("Mật khẩu (ít nhất {n} ký tự)", "Password (at least {n} characters)"),
    "admin.oidc_only": (
        "Chỉ đăng nhập bằng tài khoản cơ quan (OIDC), không mật khẩu",
        "Organisation sign-in (OIDC) only, no password",
    ),
    "admin.roles": ("Vai trò", "Roles"),
    "admin.col_disabled": ("Đã khoá", "Disabled"),
    "admin.col_password": ("Có mật khẩu", "Has a password"),
    "admin.col_created": ("Tạo lúc", "Created"),
    "admin.wards": ("Phường, xã phụ trách", "Wards"),
    "admin.add_submit": ("Thêm", "Add"),
    "admin.added": ("Đã thêm tài khoản {user}.", "Account {user} added."),
    "admin.account": ("Tài khoản", "Account"),
    "admin.disable": ("Khoá", "Disable"),
    "admin.enable": ("Mở khoá", "Enable"),
    "admin.disabled": ("Đã khoá {user}.", "{user} disabled."),
    "admin.enabled": ("Đã mở khoá {user}.", "{user} enabled."),
    "admin.grant": ("Cấp quyền", "Grant"),
    "admin.grant_replace": (
        "Thay toàn bộ vai trò và phường bằng lựa chọn này",
        "Replace all roles and wards with this choice",
    ),
    "admin.grant_submit": ("Cấp quyền", "Grant"),
    "admin.granted": ("Đã cập nhật quyền của {user}.", "Rights of {user} updated."),
    "admin.wards_current": (
        "Đang dùng {n} phường, xã; phiên bản từ {since}.",
        "{n} wards and communes in use; version from {since}.",
    ),
    "admin.layer_file": (
        "Lớp ranh giới chính thức (GeoJSON, GeoPackage, Shapefile nén .zip)",
        "Official boundary layer (GeoJSON, GeoPackage, zipped Shapefile)",
    ),
    "admin.layer_crs": (
        "Hệ toạ độ nếu tệp không ghi (ví dụ EPSG:5897)",
        "CRS if the file states none (e.g. EPSG:5897)",
    ),
    "admin.valid_from": ("Áp dụng từ ngày", "Valid from"),
    "admin.report": ("Kết quả kiểm tra", "Check report"),
    "admin.r_count": ("Số đơn vị", "Units"),
    "admin.r_invalid": ("Hình học lỗi", "Invalid geometries"),
    "admin.r_overlaps": ("Chồng lấn (m²)", "Overlaps (m²)"),
    "admin.r_gaps": ("Khe hở (m²)", "Gaps (m²)"),
    "admin.r_matched": ("Khớp mã chính thức", "Codes matched"),
    "admin.r_unmatched": ("Không khớp", "Unmatched"),
    "admin.confirm": ("Xác nhận thay lớp ranh giới", "Confirm: replace the ward layer"),
    "admin.replaced": (
        "Đã thay lớp ranh giới: thêm {added}, đổi {changed}, bỏ {retired}.",
        "Ward layer replaced: {added} added, {changed} changed, {retired} retired.",
    ),
    "admin.audit_caption": ("{n} thao tác gần nhất.", "The latest {n} actions."),
    "admin.chain": ("Chuỗi băm của nhật ký", "Hash chains of the history"),
    "admin.chain_help": (
        "Mỗi dòng nhật ký và lịch sử trạng thái mang mã băm của dòng trước nó: sửa hay xoá "
        "một dòng làm đứt chuỗi tại đó.",
        "Every row of the audit log and the status history carries the hash of the row "
        "before it: altering or removing a row breaks the chain there.",
    ),
    "admin.chain_checked": ("Kiểm tra lúc {at}.", "Checked at {at}."),
    "admin.chain_again": ("Kiểm tra lại", "Check again"),
    # errors and generic
    "error.generic": ("Đã xảy ra lỗi", "Something went wrong"),
    "common.none": ("(không có)", "(none)"),
    "common.all": ("Tất cả", "All"),
    "common.choose": ("Chọn…", "Choose…"),
}


def norm_lang(lang: str | None) -> str:
    """``"en"`` or ``"vi"``; anything else (None, "fr", "") falls back to Vietnamese.

    Parameters
    ----------
    lang : str or None
        The language asked for.

    Returns
    -------
    str
        One of :data:`LANGS`.
    """
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = DEFAULT_LANG, **fmt: Any) -> str:
    """The label for ``key`` in ``lang``, formatted with ``fmt``.

    A missing key raises ``KeyError``: a silently English (or blank) label in the
    Vietnamese UI is a bug the tests should catch.

    Parameters
    ----------
    key : str
        A key of :data:`LABELS`, e.g. ``"metric.volume"``.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).
    **fmt : Any
        Values for the label's ``{placeholders}``.

    Returns
    -------
    str
        The label text.

    Raises
    ------
    KeyError
        ``key`` is not in :data:`LABELS`.
    """
    vi, en = LABELS[key]
    text = en if norm_lang(lang) == "en" else vi
    return text.format(**fmt) if fmt else text


def type_label(code: str, lang: str | None = DEFAULT_LANG) -> str:
    """The label of an incident type, so pages show words, not codes.

    Parameters
    ----------
    code : str
        A type code of :data:`geo.vocab.TYPES`.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The label, or ``code`` itself when it is not a known type.
    """
    from geo.vocab import TYPES

    return _term_label(TYPES, code, lang)


def status_label(code: str, lang: str | None = DEFAULT_LANG) -> str:
    """The label of a workflow status, so pages show words, not codes.

    Parameters
    ----------
    code : str
        A status code of :data:`geo.vocab.STATES`.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The label, or ``code`` itself when it is not a known status.
    """
    from geo.vocab import STATES

    return _term_label(STATES, code, lang)


def _term_label(terms: Any, code: str, lang: str | None) -> str:
    for term in terms:
        if term.code == code:
            return str(term.label_en if norm_lang(lang) == "en" else term.label_vi)
    return code
