"""The passkeys' texts (/account/passkeys, the login page's passkey sign-in and step-up),
Vietnamese first, English on request; gateway/i18n.py merges them into its one catalogue. The
error codes of gateway/services/passkeys.py and gateway/methods/webauthn.py are keys under
their own names."""

from __future__ import annotations

PASSKEYS = {
    "vi": {
        "passkeys_title": "Khóa truy cập (passkey)",
        "passkeys_intro": "Khóa truy cập cho phép bạn đăng nhập không cần mật khẩu, bằng vân "
                          "tay, khuôn mặt hoặc mã PIN của thiết bị. Khóa chỉ dùng được trên "
                          "trang của VssID nên kẻ gian không thể lừa lấy.",
        "passkeys_none": "Bạn chưa có khóa truy cập nào.",
        "passkey_name_label": "Tên khóa",
        "passkey_created_label": "Tạo lúc",
        "passkey_last_used_label": "Dùng lần cuối",
        "passkey_never_used": "Chưa dùng",
        "passkey_add": "Thêm khóa truy cập",
        "passkey_rename": "Đổi tên",
        "passkey_remove": "Gỡ bỏ",
        "passkey_remove_password": "Mật khẩu (bắt buộc khi gỡ khóa cuối cùng)",
        "passkey_added_done": "Đã thêm khóa truy cập. Một tin nhắn thông báo đã được gửi tới "
                              "số điện thoại của bạn.",
        "passkey_removed_done": "Đã gỡ khóa truy cập. Một tin nhắn thông báo đã được gửi tới "
                                "số điện thoại của bạn.",
        "passkey_renamed_done": "Đã đổi tên khóa truy cập.",
        "passkey_login": "Dùng khóa truy cập (passkey)",
        "passkey_step_up": "Dịch vụ này yêu cầu xác thực mạnh: hãy đăng nhập bằng khóa truy "
                           "cập (passkey) của bạn. Đăng nhập bằng mật khẩu sẽ không đủ.",
        "passkey_unsupported": "Trình duyệt này không hỗ trợ khóa truy cập.",
        "passkey_cancelled": "Bạn đã hủy hoặc thiết bị không có khóa truy cập phù hợp.",
        "passkey_refused": "Không đăng nhập được bằng khóa này. Hãy thử lại hoặc dùng mật khẩu.",
        "passkey_expired": "Yêu cầu đã hết hạn. Vui lòng thử lại.",
        "passkey_invalid": "Không thể đăng ký khóa này. Vui lòng thử lại.",
        "passkey_exists": "Khóa này đã được đăng ký.",
        "passkey_limit": "Tài khoản đã có số khóa truy cập tối đa. Hãy gỡ bớt một khóa.",
        "passkey_not_found": "Không tìm thấy khóa truy cập này.",
        "invalid_passkey_name": "Tên khóa tối đa 64 ký tự và không chứa ký tự điều khiển.",
        "password_required": "Đây là khóa truy cập cuối cùng: hãy nhập mật khẩu để gỡ.",
        "passkey_disabled_label": "Đã bị khóa vì có dấu hiệu bị sao chép: hãy gỡ khóa này.",
        "passkey_add_password": "Mật khẩu (bạn đã đăng nhập hơn 10 phút trước)",
        "reauth_required": "Bạn đã đăng nhập hơn 10 phút trước: hãy nhập mật khẩu để thêm "
                           "khóa truy cập.",
    },
    "en": {
        "passkeys_title": "Passkeys",
        "passkeys_intro": "A passkey lets you sign in without a password, with your device's "
                          "fingerprint, face or PIN. It works only on VssID's own pages, so it "
                          "cannot be phished.",
        "passkeys_none": "You have no passkey yet.",
        "passkey_name_label": "Name",
        "passkey_created_label": "Created",
        "passkey_last_used_label": "Last used",
        "passkey_never_used": "Never",
        "passkey_add": "Add a passkey",
        "passkey_rename": "Rename",
        "passkey_remove": "Remove",
        "passkey_remove_password": "Password (required to remove the last passkey)",
        "passkey_added_done": "The passkey was added. A notice was sent to your phone.",
        "passkey_removed_done": "The passkey was removed. A notice was sent to your phone.",
        "passkey_renamed_done": "The passkey was renamed.",
        "passkey_login": "Use a passkey",
        "passkey_step_up": "This service asks for strong authentication: sign in with your "
                           "passkey. A password sign-in will not be enough.",
        "passkey_unsupported": "This browser does not support passkeys.",
        "passkey_cancelled": "You cancelled, or this device has no matching passkey.",
        "passkey_refused": "This passkey could not sign you in. Try again or use your "
                           "password.",
        "passkey_expired": "The request expired. Please try again.",
        "passkey_invalid": "This passkey could not be registered. Please try again.",
        "passkey_exists": "This passkey is registered already.",
        "passkey_limit": "The account has the most passkeys allowed. Remove one first.",
        "passkey_not_found": "No such passkey.",
        "invalid_passkey_name": "A name is at most 64 characters, without control characters.",
        "password_required": "This is your last passkey: enter your password to remove it.",
        "passkey_disabled_label": "Disabled: it seems to have been copied. Remove it.",
        "passkey_add_password": "Password (you signed in more than 10 minutes ago)",
        "reauth_required": "You signed in more than 10 minutes ago: enter your password to add "
                           "a passkey.",
    },
}
