"""E-mail texts: one template per kind of message, a subject and a plain-text body, in
Vietnamese and English.

Unlike SMS (gateway/messages/sms.py), e-mail keeps the Vietnamese diacritics: messages go out
as UTF-8 (providers/email.py), so nothing is gained by folding them. What a message may carry
follows the SMS rule: no more than its purpose needs, and never a link (a phishing mail cannot
look like ours by copying one). An approval carries the login name and the one-time password
(what the person asked for, as the SMS does); a rejection carries the coded reason and the
clerk's words in full.
"""

from __future__ import annotations

from gateway.messages.reasons import reason_text

LOCALES = ("vi", "en")

TEMPLATES = {
    "test": {
        "vi": ("VssID: Thư kiểm tra cấu hình gửi thư điện tử",
               "Đây là thư kiểm tra do quản trị viên cổng định danh VssID gửi để xác nhận "
               "cấu hình gửi thư điện tử hoạt động đúng.\n\n"
               "Bạn không cần làm gì thêm. Nếu bạn không mong đợi thư này, hãy bỏ qua nó."),
        "en": ("VssID: e-mail configuration test",
               "This is a test message sent by an administrator of the VssID identity "
               "gateway to check that sending e-mail works.\n\n"
               "There is nothing for you to do. If you did not expect it, ignore it."),
    },
    "account_issued": {
        "vi": ("VssID: Tài khoản của bạn đã được cấp",
               "Kính gửi {name},\n\n"
               "Hồ sơ đăng ký tài khoản VssID {reference} đã được duyệt và tài khoản của bạn "
               "đã được cấp (mức độ 2).\n\n"
               "Tên đăng nhập (mã số BHXH): {bhxh}\n"
               "Mật khẩu dùng một lần: {password}\n\n"
               "Hãy đăng nhập ứng dụng VssID và đổi mật khẩu ngay lần đăng nhập đầu tiên. Mật "
               "khẩu này hết hạn sau {days} ngày nếu chưa được đổi; khi đó hãy dùng “Quên mật "
               "khẩu” hoặc đến cơ quan BHXH.\n\n"
               "Không chia sẻ mật khẩu này với bất kỳ ai. BHXH không bao giờ hỏi mật khẩu "
               "của bạn."),
        "en": ("VssID: your account has been issued",
               "Dear {name},\n\n"
               "Your VssID account application {reference} was approved and your account has "
               "been issued (level 2).\n\n"
               "Username (social insurance number): {bhxh}\n"
               "One-time password: {password}\n\n"
               "Sign in to the VssID app and change the password at your first sign-in. It "
               "expires in {days} days if it is not changed; then use “Forgot your password?” "
               "or visit a BHXH office.\n\n"
               "Do not share this password with anyone. BHXH never asks for your password."),
    },
    "application_rejected": {
        "vi": ("VssID: Hồ sơ đăng ký tài khoản {reference} chưa được duyệt",
               "Kính gửi {name},\n\n"
               "Hồ sơ đăng ký tài khoản VssID {reference} đã bị từ chối.\n\n"
               "Lý do: {reason}.\n"
               "Ghi chú của cán bộ: {note}\n\n"
               "Bạn có thể sửa thông tin và nộp lại hồ sơ bằng mã hồ sơ trên, hoặc liên hệ "
               "cơ quan BHXH đã chọn."),
        "en": ("VssID: account application {reference} was not approved",
               "Dear {name},\n\n"
               "Your VssID account application {reference} was rejected.\n\n"
               "Reason: {reason}.\n"
               "Note from the officer: {note}\n\n"
               "You can correct the details and resubmit using the reference above, or "
               "contact the BHXH office you chose."),
    },
}

# Parameters each template needs (and the only ones it receives).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "test": (),
    "account_issued": ("name", "reference", "bhxh", "password", "days"),
    "application_rejected": ("name", "reference", "reason_code", "note"),
}


def render(template: str, params: dict, locale: str = "vi") -> tuple[str, str]:
    """``(subject, text)`` of one message; ValueError for an unknown template or missing
    parameters."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown e-mail template {template!r}")
    if locale not in LOCALES:
        locale = "vi"
    missing = [name for name in PARAMETERS[template] if name not in params]
    if missing:
        raise ValueError(f"e-mail template {template!r} needs {', '.join(missing)}")
    values = {name: str(params[name]) for name in PARAMETERS[template]}
    if "reason_code" in values:
        values["reason"] = reason_text(values.pop("reason_code"), locale)
    if "note" in values:
        values["note"] = " ".join(values["note"].split()) or "—"
    subject, text = TEMPLATES[template][locale]
    return subject.format(**values), text.format(**values)
