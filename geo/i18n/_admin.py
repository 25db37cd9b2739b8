"""Labels of the administration page: accounts and rights, the ward layer,
the audit log and its hash chains, and the Open311 API keys.

Key prefix: ``admin``.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
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
    # audit log and API key tables (the store's columns, in the page's language)
    "admin.col_id": ("Số", "No."),
    "admin.col_at": ("Lúc", "When"),
    "admin.col_actor": ("Người thực hiện", "By"),
    "admin.col_action": ("Thao tác", "Action"),
    "admin.col_object_type": ("Loại đối tượng", "Object type"),
    "admin.col_object_id": ("Mã đối tượng", "Object id"),
    "admin.col_details": ("Chi tiết", "Details"),
    "admin.col_key_name": ("Tên", "Name"),
    "admin.col_prefix": ("Đầu khóa", "Key prefix"),
    "admin.col_created_by": ("Người cấp", "Issued by"),
    "admin.col_revoked": ("Thu hồi lúc", "Revoked"),
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
    # Open311 API keys tab (the apps that post residents' reports)
    "admin.tab_apikeys": ("Khóa API Open311", "Open311 API keys"),
    "admin.apikey_name": ("Tên ứng dụng, đối tác", "App or partner name"),
    "admin.apikey_add": ("Cấp khóa mới", "Issue a key"),
    "admin.apikey_made": ("Khóa mới cho {name}; chỉ hiện một lần, hãy lưu lại ngay:",
                          "New key for {name}; shown once, keep it now:"),
    "admin.apikey_revoke": ("Thu hồi khóa", "Revoke a key"),
    "admin.apikey_revoked": ("Đã thu hồi khóa {name}.", "Key {name} revoked."),
}
