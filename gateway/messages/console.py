"""The staff console's texts (/staff/), Vietnamese first, English on request.

Kept apart from the citizens' pages (gateway/i18n.py merges them into its one catalogue, where
``t()`` finds them, and refuses a key defined twice) so that the console's wording can grow
without touching theirs. Page texts start with ``staff_``; the stable codes of the console's
refusals (``cccd_mismatch``, ``reason_required``, ...) are keys under their own names, as
the citizens' error codes are.
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
        "staff_accounts_title": "Tra cứu tài khoản",
        "staff_accounts_intro": "Nhập mã số BHXH của người đang ở quầy và lý do tra cứu. Mỗi "
                                "lần tra cứu được ghi vào nhật ký kiểm toán.",
        "staff_reason_label": "Lý do (bắt buộc, ghi vào nhật ký)",
        "staff_look_up": "Tra cứu",
        "staff_look_up_another": "Tra cứu tài khoản khác",
        "staff_account_not_found": "Không có tài khoản với mã số BHXH này.",
        "staff_look_up_first": "Vui lòng tra cứu tài khoản trước.",
        "staff_account_title": "Tài khoản",
        "staff_full_name": "Họ và tên",
        "staff_dob": "Ngày sinh",
        "staff_none": "Không có",
        "staff_level": "Mức định danh",
        "staff_status": "Trạng thái",
        "staff_must_change": "phải đổi mật khẩu khi đăng nhập",
        "staff_active_device": "Thiết bị đang dùng",
        "staff_last_seen": "hoạt động lần cuối",
        "staff_change_phone_title": "Đổi số điện thoại đăng ký",
        "staff_change_phone_intro": "Chỉ thực hiện khi người dân có mặt tại quầy với CCCD. Nhập "
                                    "số CCCD trên giấy tờ người dân xuất trình. Mã OTP sẽ gửi "
                                    "tới số mới; số cũ nhận tin báo; mọi phiên đăng nhập và "
                                    "thiết bị bị đăng xuất.",
        "staff_cccd_shown_label": "Số CCCD trên giấy tờ xuất trình (12 chữ số)",
        "staff_new_phone_label": "Số điện thoại di động mới",
        "staff_change_phone_submit": "Đổi số điện thoại",
        "staff_clear_device_title": "Gỡ thiết bị đang dùng",
        "staff_clear_device_intro": "Khi người dân mất điện thoại: thiết bị bị đăng xuất ngay; "
                                    "thiết bị đăng nhập tiếp theo được ghi nhận như thiết bị "
                                    "đầu tiên.",
        "staff_issue_password_title": "Cấp mật khẩu dùng một lần",
        "staff_issue_password_intro": "Mật khẩu được gửi bằng SMS tới số điện thoại đăng ký "
                                      "(cán bộ không nhìn thấy); người dân phải đổi khi đăng "
                                      "nhập. Mọi phiên đăng nhập kết thúc.",
        "staff_sign_out_title": "Đăng xuất khỏi mọi thiết bị",
        "staff_sign_out_intro": "Mọi phiên đăng nhập, thiết bị và mã làm mới của tài khoản "
                                "bị thu hồi ngay.",
        "staff_done_device_cleared": "Đã gỡ thiết bị đang dùng.",
        "staff_done_password_issued": "Đã gửi mật khẩu dùng một lần tới số điện thoại đăng ký.",
        "staff_done_signed_out": "Đã đăng xuất tài khoản khỏi mọi thiết bị.",
        "staff_done_phone_changed": "Đã đổi số điện thoại đăng ký. Số cũ đã được gửi tin báo.",
        "staff_verify_chain": "Kiểm tra chuỗi băm",
        "staff_chain_intact": "Chuỗi nhật ký toàn vẹn: đã kiểm tra {checked} bản ghi.",
        "staff_chain_broken": "Chuỗi nhật ký bị phá vỡ tại bản ghi số {seq} ({checked} bản ghi "
                              "trước đó toàn vẹn).",
        "staff_chain_problem_gap": "Có bản ghi bị xoá ngay trước bản ghi này.",
        "staff_chain_problem_link": "Liên kết tới bản ghi trước không khớp (bị xoá hoặc đảo "
                                    "thứ tự).",
        "staff_chain_problem_content": "Nội dung bản ghi đã bị sửa.",
        "staff_audit_actor": "Người thực hiện",
        "staff_audit_action": "Thao tác",
        "staff_audit_subject": "Đối tượng",
        "staff_audit_filter": "Lọc",
        "staff_audit_when": "Thời điểm",
        "staff_audit_changes": "Thay đổi",
        "staff_audit_empty": "Không có bản ghi nào.",
        "staff_audit_older": "Cũ hơn →",
        "staff_audit_newest": "← Mới nhất",
        "reason_required": "Vui lòng ghi lý do (ít nhất 5 ký tự).",
        "invalid_reason": "Lý do quá dài hoặc có ký tự không hợp lệ.",
        "no_active_device": "Tài khoản không có thiết bị đang dùng.",
        "no_cccd_on_record": "Tài khoản chưa có số CCCD để đối chiếu; không thể đổi số điện "
                             "thoại tại quầy.",
        "cccd_mismatch": "Số CCCD không khớp với tài khoản.",
        "cccd_tries_exceeded": "Đã nhập sai số CCCD quá nhiều lần cho tài khoản này. Vui lòng "
                               "thử lại sau 24 giờ hoặc báo giám sát viên.",
        "same_phone": "Số điện thoại mới trùng với số đang đăng ký.",
        "phone_changed_meanwhile": "Số điện thoại vừa được cán bộ khác thay đổi. Vui lòng xem "
                                   "lại tài khoản.",
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
        "staff_accounts_title": "Find an account",
        "staff_accounts_intro": "Enter the social insurance number of the person at the "
                                "counter and why you look it up. Every look-up is written to "
                                "the audit trail.",
        "staff_reason_label": "Reason (required, kept in the audit trail)",
        "staff_look_up": "Look up",
        "staff_look_up_another": "Look up another account",
        "staff_account_not_found": "No account has this social insurance number.",
        "staff_look_up_first": "Please look the account up first.",
        "staff_account_title": "Account",
        "staff_full_name": "Full name",
        "staff_dob": "Date of birth",
        "staff_none": "None",
        "staff_level": "Identity level",
        "staff_status": "Status",
        "staff_must_change": "must change the password at sign-in",
        "staff_active_device": "Active device",
        "staff_last_seen": "last seen",
        "staff_change_phone_title": "Change the registered phone number",
        "staff_change_phone_intro": "Only with the person and their CCCD at the counter. Type "
                                    "the CCCD number on the document they show. Codes go to "
                                    "the new number; the old one gets a notice; every session "
                                    "and device is signed out.",
        "staff_cccd_shown_label": "CCCD number on the document shown (12 digits)",
        "staff_new_phone_label": "New mobile number",
        "staff_change_phone_submit": "Change the phone number",
        "staff_clear_device_title": "Remove the active device",
        "staff_clear_device_intro": "When the person lost their phone: the device is signed "
                                    "out at once; the next device to sign in counts as a first "
                                    "device.",
        "staff_issue_password_title": "Issue a one-time password",
        "staff_issue_password_intro": "The password goes by SMS to the registered phone (you "
                                      "never see it); the person must change it at sign-in. "
                                      "Every session ends.",
        "staff_sign_out_title": "Sign out of every device",
        "staff_sign_out_intro": "Every session, device and refresh token of the account is "
                                "revoked at once.",
        "staff_done_device_cleared": "The active device was removed.",
        "staff_done_password_issued": "A one-time password was sent to the registered phone.",
        "staff_done_signed_out": "The account was signed out of every device.",
        "staff_done_phone_changed": "The registered phone number was changed. The old number "
                                    "was sent a notice.",
        "staff_verify_chain": "Verify the hash chain",
        "staff_chain_intact": "The audit chain holds: {checked} records checked.",
        "staff_chain_broken": "The audit chain is broken at record {seq} (the {checked} records "
                              "before it hold).",
        "staff_chain_problem_gap": "A record right before it was deleted.",
        "staff_chain_problem_link": "Its link to the record before does not hold (deleted or "
                                    "reordered).",
        "staff_chain_problem_content": "The record's content was edited.",
        "staff_audit_actor": "Actor",
        "staff_audit_action": "Action",
        "staff_audit_subject": "Subject",
        "staff_audit_filter": "Filter",
        "staff_audit_when": "When",
        "staff_audit_changes": "Changes",
        "staff_audit_empty": "No records.",
        "staff_audit_older": "Older →",
        "staff_audit_newest": "← Newest",
        "reason_required": "Please give a reason (at least 5 characters).",
        "invalid_reason": "The reason is too long or has characters that are not allowed.",
        "no_active_device": "The account has no active device.",
        "no_cccd_on_record": "The account has no CCCD number to compare with; its phone cannot "
                             "be changed at the counter.",
        "cccd_mismatch": "The CCCD number does not match the account.",
        "cccd_tries_exceeded": "Too many wrong CCCD numbers for this account. Try again in 24 "
                               "hours or call a supervisor.",
        "same_phone": "The new number is the one already registered.",
        "phone_changed_meanwhile": "Another clerk just changed this phone number. Please look "
                                   "at the account again.",
    },
}
