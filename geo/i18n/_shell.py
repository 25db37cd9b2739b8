"""Labels of the app shell: title, language switch, page navigation, sign-in and
roles, the sidebar filters, and the few generic words and error texts.

Key prefixes: ``app``, ``lang``, ``nav``, ``auth``, ``role``, ``filter``, ``common``,
``error``.
"""

from __future__ import annotations

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
    "nav.reinspect": ("Tái kiểm tra", "Re-inspection"),
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
    # errors and generic
    "error.generic": ("Đã xảy ra lỗi", "Something went wrong"),
    "common.none": ("(không có)", "(none)"),
    "common.all": ("Tất cả", "All"),
    "common.choose": ("Chọn…", "Choose…"),
    "common.upload_limit": ("Tối đa {mb} MB mỗi tệp · {types}", "Up to {mb} MB per file · {types}"),
}
