"""The staff console's texts (/staff/), Vietnamese first, English on request.

Kept apart from the citizens' pages (gateway/i18n.py merges them into its one catalogue, where
``t()`` finds them) so that the console's wording can grow without touching theirs. Keys start
with ``staff_`` so that they never collide with a citizen page's key.
"""

from __future__ import annotations

CONSOLE = {
    "vi": {
        "staff_console": "Hệ thống quản lý tài khoản VssID – Cán bộ",
        "staff_login_title": "Đăng nhập cán bộ",
        "staff_username_label": "Tên đăng nhập",
        "staff_password_label": "Mật khẩu",
        "staff_totp_label": "Mã xác thực (6 chữ số, ứng dụng xác thực)",
        "staff_submit": "Đăng nhập",
        "staff_invalid_credentials": "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng.",
        "staff_locked": "Đăng nhập tạm khoá do nhập sai nhiều lần. Vui lòng thử lại sau "
                        "{minutes} phút.",
        "staff_idle_timeout": "Phiên làm việc đã kết thúc do không hoạt động. Vui lòng đăng "
                              "nhập lại.",
        "staff_expired": "Phiên làm việc đã quá thời hạn trong ngày. Vui lòng đăng nhập lại.",
        "staff_signed_out": "Bạn đã đăng xuất khỏi hệ thống.",
        "staff_sign_in_first": "Vui lòng đăng nhập.",
        "staff_forbidden": "Vai trò của bạn không được phép thực hiện thao tác này.",
        "staff_home_title": "Trang làm việc",
        "staff_signed_in_as": "Đăng nhập với tên",
        "staff_role": "Vai trò",
        "staff_office": "Đơn vị",
        "staff_no_office": "Toàn quốc",
        "staff_role_office_staff": "Cán bộ tiếp nhận",
        "staff_role_post_office_agent": "Nhân viên bưu điện",
        "staff_role_supervisor": "Giám sát viên",
        "staff_nav_home": "Trang chính",
        "staff_nav_applications": "Hồ sơ đăng ký",
        "staff_nav_accounts": "Tài khoản",
        "staff_nav_audit": "Nhật ký kiểm toán",
        "staff_sign_out": "Đăng xuất",
        "staff_session_limits": "Phiên tự kết thúc sau {idle} phút không hoạt động, và sau "
                                "{hours} giờ kể từ khi đăng nhập.",
    },
    "en": {
        "staff_console": "VssID account administration – Staff",
        "staff_login_title": "Staff sign-in",
        "staff_username_label": "Username",
        "staff_password_label": "Password",
        "staff_totp_label": "Authentication code (6 digits, authenticator app)",
        "staff_submit": "Sign in",
        "staff_invalid_credentials": "The username, password or authentication code is "
                                     "incorrect.",
        "staff_locked": "Sign-in is locked after too many wrong tries. Please try again in "
                        "{minutes} minute(s).",
        "staff_idle_timeout": "Your session ended after a period of inactivity. Please sign "
                              "in again.",
        "staff_expired": "Your session reached its daily limit. Please sign in again.",
        "staff_signed_out": "You are signed out.",
        "staff_sign_in_first": "Please sign in.",
        "staff_forbidden": "Your role is not allowed to do this.",
        "staff_home_title": "Workspace",
        "staff_signed_in_as": "Signed in as",
        "staff_role": "Role",
        "staff_office": "Office",
        "staff_no_office": "Nationwide",
        "staff_role_office_staff": "Office clerk",
        "staff_role_post_office_agent": "Post-office agent",
        "staff_role_supervisor": "Supervisor",
        "staff_nav_home": "Home",
        "staff_nav_applications": "Applications",
        "staff_nav_accounts": "Accounts",
        "staff_nav_audit": "Audit trail",
        "staff_sign_out": "Sign out",
        "staff_session_limits": "The session ends after {idle} minutes without activity, and "
                                "{hours} hours after sign-in.",
    },
}
