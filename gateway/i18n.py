"""The message catalogue: Vietnamese first, English on request (?lang=en, remembered in a
cookie). Programs read codes; people read these texts. Every key exists in both languages
(tests/unit/gateway/test_i18n.py checks)."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from gateway.messages.console import CONSOLE
from gateway.messages.console_applications import APPLICATIONS
from gateway.messages.console_links import LINKS
from gateway.messages.health_card import HEALTH_CARD
from gateway.messages.passkeys import PASSKEYS
from gateway.messages.phone_change import PHONE_CHANGE
from gateway.messages.reasons import REASON_TEXTS

LANGUAGES = ("vi", "en")
LANG_COOKIE = "vssid_lang"

MESSAGES = {
    "vi": {
        "app_name": "VssID – Bảo hiểm xã hội số",
        "login_title": "Đăng nhập",
        "username_label": "Mã số BHXH",
        "username_hint": "10 chữ số",
        "password_label": "Mật khẩu",
        "submit": "Đăng nhập",
        "switch_language": "English",
        "invalid_credentials": "Mã số BHXH hoặc mật khẩu không đúng.",
        "issued_password_expired": "Mật khẩu dùng một lần do BHXH cấp đã hết hạn vì chưa được "
                                   "đổi kịp thời. Hãy chọn “Quên mật khẩu” để đặt mật khẩu mới "
                                   "qua mã OTP, hoặc đến cơ quan BHXH để được cấp lại.",
        "csrf_failed": "Phiên làm việc đã hết hạn. Vui lòng thử lại.",
        "account_locked": "Đăng nhập tạm khoá do nhập sai nhiều lần. Vui lòng thử lại sau "
                          "{minutes} phút.",
        "too_many_attempts": "Quá nhiều lần thử từ địa chỉ này. Vui lòng thử lại sau.",
        "flow_expired": "Yêu cầu đăng nhập đã hết hạn. Vui lòng quay lại dịch vụ và thử lại.",
        "error_title": "Không thể tiếp tục",
        "invalid_request": "Yêu cầu không hợp lệ.",
        "server_error": "Hệ thống VssID gặp lỗi khi xử lý yêu cầu. Vui lòng thử lại sau; nếu lỗi "
                        "lặp lại, hãy báo mã yêu cầu bên dưới cho BHXH.",
        "invalid_client": "Ứng dụng không được đăng ký với cổng định danh.",
        "invalid_redirect_uri": "Địa chỉ quay lại không được đăng ký cho ứng dụng này.",
        "temporarily_unavailable": "VssID đang tạm thời gián đoạn trong giây lát. Yêu cầu của "
                                   "bạn chưa được thực hiện.",
        "unavailable_title": "Dịch vụ tạm thời gián đoạn",
        "unavailable_retry_later": "Vui lòng thử lại sau ít phút.",
        "try_again": "Thử lại",
        "not_found": "Không tìm thấy trang.",
        "logout_title": "Đăng xuất",
        "logout_confirm": "Bạn có muốn đăng xuất khỏi VssID trên trình duyệt này?",
        "logout_hint_mismatch": "Yêu cầu đăng xuất này không khớp với phiên đăng nhập trên "
                                "trình duyệt này. Chỉ đăng xuất nếu chính bạn vừa yêu cầu.",
        "logout_submit": "Đăng xuất",
        "logged_out": "Bạn đã đăng xuất.",
        "demo_title": "Dịch vụ thử nghiệm",
        "demo_intro": "Trang này đăng nhập qua cổng định danh bằng luồng mã + PKCE.",
        "demo_login": "Đăng nhập bằng VssID",
        "demo_logout": "Đăng xuất",
        "demo_id_token": "Thông tin trong ID token",
        "demo_userinfo": "Thông tin người dùng (userinfo)",
        "request_id": "Mã yêu cầu",
        "change_title": "Đổi mật khẩu",
        "change_must_change": "Mật khẩu của bạn do hệ thống cấp. Vui lòng đặt mật khẩu mới "
                              "trước khi tiếp tục.",
        "change_expired": "Mật khẩu đã quá 6 tháng. Vui lòng đặt mật khẩu mới để tiếp tục.",
        "current_password_label": "Mật khẩu hiện tại",
        "new_password_label": "Mật khẩu mới (ít nhất 8 ký tự)",
        "confirm_password_label": "Nhập lại mật khẩu mới",
        "change_submit": "Đổi mật khẩu",
        "invalid_current_password": "Mật khẩu hiện tại không đúng.",
        "password_mismatch": "Hai lần nhập mật khẩu mới không khớp.",
        "too_short": "Mật khẩu mới phải có ít nhất 8 ký tự.",
        "too_long": "Mật khẩu mới quá dài (tối đa 128 ký tự).",
        "common_password": "Mật khẩu này quá phổ biến, dễ bị đoán.",
        "contains_personal_data": "Mật khẩu không được chứa mã số BHXH, số CCCD, số điện thoại, "
                                  "ngày sinh hay họ tên.",
        "reused_password": "Không được dùng lại một trong các mật khẩu gần đây.",
        "too_similar": "Mật khẩu mới quá giống mật khẩu hiện tại.",
        "forgot_password": "Quên mật khẩu?",
        "recover_title": "Quên mật khẩu",
        "recover_intro": "Nhập mã số BHXH và số điện thoại đã đăng ký. Nếu thông tin khớp, "
                         "chúng tôi gửi mã OTP qua tin nhắn.",
        "phone_label": "Số điện thoại đã đăng ký",
        "recover_submit": "Gửi mã OTP",
        "otp_sent_if_match": "Nếu thông tin khớp với tài khoản, mã OTP đã được gửi tới {phone}.",
        "otp_label": "Mã OTP (6 chữ số)",
        "otp_invalid": "Mã OTP không đúng.",
        "otp_expired": "Mã OTP đã hết hạn hoặc đã được dùng. Vui lòng yêu cầu mã mới.",
        "otp_attempts_exceeded": "Nhập sai mã OTP quá nhiều lần. Vui lòng yêu cầu mã mới.",
        "otp_budget_exhausted": "Nhập sai OTP quá nhiều lần trong 24 giờ. Vui lòng thử lại sau.",
        "otp_rate_limited": "Vui lòng chờ một phút trước khi yêu cầu mã mới.",
        "otp_daily_cap": "Đã gửi quá nhiều mã OTP hôm nay. Vui lòng thử lại vào ngày mai.",
        "invalid_bhxh": "Mã số BHXH gồm 10 chữ số.",
        "invalid_phone": "Số điện thoại di động không hợp lệ.",
        "phone_not_mobile": "Vui lòng nhập số điện thoại di động.",
        "password_reset_done": "Đã đặt lại mật khẩu. Mọi thiết bị đã được đăng xuất; hãy đăng "
                               "nhập lại bằng mật khẩu mới.",
        "password_changed_done": "Đã đổi mật khẩu. Các thiết bị khác đã được đăng xuất.",
        "sign_in_first": "Vui lòng đăng nhập trước.",
        "sign_out_everywhere_title": "Đăng xuất khỏi mọi thiết bị",
        "sign_out_everywhere_intro": "Dùng khi mất điện thoại: mọi phiên đăng nhập và thiết bị "
                                     "sẽ bị đăng xuất ngay.",
        "signed_out_everywhere": "Đã đăng xuất khỏi mọi thiết bị.",
        # --- VNeID sign-in (gateway/views/vneid.py) ---
        "or": "hoặc",
        "vneid_login": "Đăng nhập bằng VNeID",
        "vneid_title": "Đăng nhập bằng VNeID",
        "vneid_unavailable": "Không kết nối được với VNeID lúc này. Tài khoản của bạn không có "
                             "thay đổi nào; vui lòng thử lại sau ít phút.",
        "vneid_cancelled": "Bạn đã huỷ đăng nhập bằng VNeID. Tài khoản của bạn không có thay "
                           "đổi nào.",
        "vneid_refused": "VNeID không chấp nhận yêu cầu đăng nhập. Tài khoản của bạn không có "
                         "thay đổi nào; vui lòng thử lại.",
        "vneid_invalid": "Không xác minh được phản hồi của VNeID nên chúng tôi dừng lại. Tài "
                         "khoản của bạn không có thay đổi nào; vui lòng thử lại.",
        "vneid_account_inactive": "Tài khoản VssID gắn với VNeID này đang bị khoá. Vui lòng "
                                  "liên hệ cơ quan BHXH.",
        "vneid_flow_expired": "Lượt đăng nhập bằng VNeID này đã hết hạn hoặc đã được dùng. "
                              "Vui lòng quay lại dịch vụ và đăng nhập lại.",
        "vneid_back_to_login": "Quay lại trang đăng nhập",
        "vneid_back_to_app": "Quay lại ứng dụng",
        "vneid_declare_title": "Chưa có tài khoản VssID",
        "vneid_declare": "Chúng tôi chưa tìm thấy bạn trong cơ sở dữ liệu của BHXH nên chưa "
                         "thể tạo tài khoản VssID từ VNeID. Bạn có thể kê khai đăng ký tài "
                         "khoản trực tuyến, hoặc đến cơ quan BHXH gần nhất để được hỗ trợ.",
        "vneid_declare_incomplete": "VNeID chưa cung cấp đủ thông tin (số định danh, họ tên, "
                                    "ngày sinh, số điện thoại di động) để tạo tài khoản VssID. "
                                    "Bạn có thể kê khai đăng ký tài khoản trực tuyến, hoặc "
                                    "đến cơ quan BHXH gần nhất để được hỗ trợ.",
        "vneid_declare_online": "Kê khai đăng ký tài khoản trực tuyến",
        "vneid_review_title": "Đang chờ cán bộ BHXH xem xét",
        "vneid_review": "Thông tin từ VNeID chưa khớp hoàn toàn với tài khoản VssID hiện có, "
                        "nên chúng tôi chưa liên kết hai tài khoản. Cán bộ BHXH sẽ xem xét và "
                        "liên hệ với bạn. Trong lúc chờ, bạn vẫn đăng nhập được bằng mã số BHXH "
                        "và mật khẩu.",
        "vneid_refuse_title": "Tài khoản tổ chức",
        "vneid_refuse": "Đây là tài khoản VNeID của một tổ chức. VssID chỉ dành cho cá nhân: "
                        "vui lòng đăng nhập bằng tài khoản định danh điện tử cá nhân.",
        "vneid_prove_title": "Xác nhận tài khoản VssID",
        "vneid_prove_intro": "Tài khoản VssID mã số BHXH {bhxh} có cùng số định danh với tài "
                             "khoản VNeID của bạn. Để liên kết, hãy nhập mật khẩu VssID của tài "
                             "khoản này; sau đó chúng tôi gửi mã OTP tới số điện thoại đã đăng "
                             "ký của nó.",
        "vneid_prove_submit": "Tiếp tục",
        "invalid_password": "Mật khẩu không đúng.",
        "vneid_otp_title": "Nhập mã OTP",
        "vneid_otp_sent": "Mã OTP đã được gửi tới {phone}.",
        "vneid_otp_submit": "Xác nhận",
        "vneid_otp_resend": "Gửi lại mã",
        "vneid_device_title": "Tài khoản đang dùng trên thiết bị khác",
        "vneid_device_warning": "Tài khoản của bạn đang đăng nhập trên thiết bị “{device}” (lần "
                                "cuối: {last_seen}). Mỗi tài khoản chỉ dùng trên một thiết bị: "
                                "nếu tiếp tục, thiết bị kia sẽ bị đăng xuất. Chúng tôi sẽ gửi "
                                "mã OTP tới số điện thoại đã đăng ký để xác nhận.",
        "vneid_device_continue": "Tiếp tục trên thiết bị này",
        "device_changed": "Tài khoản vừa được đăng nhập trên một thiết bị khác. Vui lòng bắt "
                          "đầu lại.",
        # the online declaration (/register) and its status look-up (/register/status)
        "register_link": "Đăng ký tài khoản",
        "decl_title": "Đăng ký tài khoản",
        "decl_intro": "Khai báo trực tuyến để được cấp tài khoản VssID. Sau khi gửi, hãy mang "
                      "CCCD đến cơ quan BHXH đã chọn để được xác minh.",
        "bhxh_number_label": "Mã số BHXH (10 chữ số)",
        "full_name_label": "Họ và tên",
        "date_of_birth_label": "Ngày sinh",
        "sex_label": "Giới tính",
        "sex_male": "Nam",
        "sex_female": "Nữ",
        "id_number_label": "Số CCCD (12 chữ số)",
        "decl_phone_label": "Số điện thoại di động (nhận tin nhắn và mã OTP)",
        "email_label": "Thư điện tử (không bắt buộc)",
        "office_label": "Cơ quan BHXH tiếp nhận hồ sơ",
        "office_choose": "— Chọn cơ quan BHXH —",
        "portrait_label": "Ảnh chân dung 3×4",
        "id_front_label": "Ảnh mặt trước CCCD",
        "id_back_label": "Ảnh mặt sau CCCD",
        "photos_hint": "Ảnh JPEG hoặc PNG, tối đa {mb} MB mỗi ảnh.",
        "decl_submit": "Gửi hồ sơ",
        "decl_fix_errors": "Vui lòng sửa các mục được đánh dấu và chọn lại cả ba ảnh.",
        "decl_done_title": "Đã gửi hồ sơ",
        "decl_done": "Mã hồ sơ của bạn là {reference}. Kết quả sẽ được gửi bằng tin nhắn tới số "
                     "điện thoại bạn đã khai. Hãy mang CCCD đến cơ quan BHXH đã chọn để được xác "
                     "minh.",
        "required": "Vui lòng điền mục này.",
        "repeated": "Mục này được gửi nhiều lần.",
        "value_too_long": "Nội dung quá dài.",
        "invalid_name": "Họ và tên chỉ gồm chữ cái, dấu cách và các dấu ' - .",
        "name_too_long": "Họ và tên quá dài (tối đa 100 ký tự).",
        "invalid_dob": "Ngày sinh không hợp lệ (năm-tháng-ngày).",
        "dob_in_future": "Ngày sinh không được sau ngày hôm nay.",
        "dob_too_early": "Ngày sinh không hợp lệ (quá 120 tuổi).",
        "invalid_sex": "Vui lòng chọn giới tính.",
        "invalid_cccd": "Số CCCD gồm 12 chữ số.",
        "unknown_cccd_province": "Ba chữ số đầu của số CCCD không phải mã tỉnh hợp lệ.",
        "cccd_dob_mismatch": "Số CCCD không khớp với năm sinh.",
        "cccd_sex_mismatch": "Số CCCD không khớp với giới tính.",
        "invalid_email": "Địa chỉ thư điện tử không hợp lệ.",
        "unknown_office": "Vui lòng chọn một cơ quan BHXH trong danh sách.",
        "file_too_large": "Ảnh quá lớn.",
        "unsupported_image": "Tệp không phải ảnh JPEG hoặc PNG.",
        "image_unreadable": "Không đọc được ảnh (tệp bị hỏng hoặc không đầy đủ).",
        "image_too_large": "Ảnh có quá nhiều điểm ảnh.",
        "image_too_small": "Ảnh quá nhỏ để đối chiếu (tối thiểu 200 điểm ảnh mỗi cạnh).",
        "request_too_large": "Dữ liệu gửi lên quá lớn. Vui lòng chọn ảnh nhỏ hơn.",
        "status_link": "Tra cứu hồ sơ đăng ký",
        "status_title": "Tra cứu hồ sơ đăng ký",
        "status_intro": "Nhập mã hồ sơ (DK-XXXX-XXXX). Nếu mã đúng, chúng tôi gửi mã OTP tới số "
                        "điện thoại đã khai trong hồ sơ.",
        "reference_label": "Mã hồ sơ",
        "status_send_code": "Gửi mã OTP",
        "status_otp_sent": "Nếu mã hồ sơ {reference} đúng, mã OTP đã được gửi tới số điện thoại "
                           "đã khai trong hồ sơ.",
        "status_show": "Xem trạng thái",
        "invalid_reference": "Mã hồ sơ có dạng DK-XXXX-XXXX.",
        "status_expired": "Phiên tra cứu đã hết hạn. Vui lòng tra cứu lại.",
        "status_heading": "Trạng thái hồ sơ",
        "status_label": "Trạng thái",
        "submitted_at_label": "Ngày gửi",
        "status_submitted": "Đã tiếp nhận, chờ xác minh tại cơ quan BHXH.",
        "status_field_verified": "Nhân viên bưu điện đã xác minh, chờ cơ quan BHXH xác nhận.",
        "status_approved": "Đã duyệt: tài khoản đã được cấp, thông tin đăng nhập đã gửi bằng tin "
                           "nhắn.",
        "status_rejected": "Bị từ chối.",
        "reason_label": "Lý do",
        "reason_note_label": "Ghi chú của cán bộ",
        "rejection_identity_mismatch": "Người đến xác minh không khớp với ảnh trong hồ sơ.",
        "rejection_document_invalid": "Giấy tờ tùy thân không hợp lệ (hết hạn, hư hỏng hoặc không "
                                      "phải bản gốc).",
        "rejection_photo_unusable": "Ảnh chân dung hoặc ảnh giấy tờ không dùng được để đối chiếu.",
        "rejection_data_mismatch": "Thông tin khai báo không khớp với giấy tờ.",
        "rejection_account_exists": "Mã số BHXH này đã có tài khoản.",
        "rejection_not_presented": "Bạn chưa đến cơ quan BHXH trong thời hạn.",
        "rejection_other": "Lý do khác.",
        "resubmit_link": "Sửa và gửi lại hồ sơ",
        "resubmit_title": "Sửa hồ sơ bị từ chối",
        "corrected_by": "Hồ sơ đã được sửa và gửi lại với mã {reference}.",
        "resubmission_not_allowed": "Hồ sơ này không thể gửi lại: chưa bị từ chối, hoặc đã được "
                                    "sửa và gửi lại.",
    },
    "en": {
        "app_name": "VssID – Digital Social Insurance",
        "login_title": "Sign in",
        "username_label": "Social insurance number",
        "username_hint": "10 digits",
        "password_label": "Password",
        "submit": "Sign in",
        "switch_language": "Tiếng Việt",
        "invalid_credentials": "The social insurance number or password is incorrect.",
        "issued_password_expired": "The one-time password BHXH issued has expired because it "
                                   "was not changed in time. Choose “Forgot your password?” to "
                                   "set a new one with a code by SMS, or visit a BHXH office.",
        "csrf_failed": "Your session expired. Please try again.",
        "account_locked": "Sign-in is locked after too many wrong tries. Please try again in "
                          "{minutes} minute(s).",
        "too_many_attempts": "Too many attempts from this address. Please try again later.",
        "flow_expired": "The sign-in request expired. Please go back to the service and retry.",
        "error_title": "Cannot continue",
        "invalid_request": "The request is not valid.",
        "server_error": "VssID hit an error while handling your request. Please try again "
                        "later; if it happens again, give BHXH the request id below.",
        "invalid_client": "The application is not registered with the identity gateway.",
        "invalid_redirect_uri": "The return address is not registered for this application.",
        "temporarily_unavailable": "VssID is briefly unavailable. Your request was not carried "
                                   "out.",
        "unavailable_title": "Service briefly unavailable",
        "unavailable_retry_later": "Please try again in a minute or two.",
        "try_again": "Try again",
        "not_found": "Page not found.",
        "logout_title": "Sign out",
        "logout_confirm": "Do you want to sign out of VssID in this browser?",
        "logout_hint_mismatch": "This sign-out request does not match the session signed in "
                                "on this browser. Sign out only if you asked to.",
        "logout_submit": "Sign out",
        "logged_out": "You are signed out.",
        "demo_title": "Demo relying service",
        "demo_intro": "This page signs in through the identity gateway with code + PKCE.",
        "demo_login": "Sign in with VssID",
        "demo_logout": "Sign out",
        "demo_id_token": "ID token claims",
        "demo_userinfo": "User info",
        "request_id": "Request id",
        "change_title": "Change password",
        "change_must_change": "Your password was issued by the system. Please set a new one "
                              "to continue.",
        "change_expired": "Your password is older than 6 months. Please set a new one to "
                          "continue.",
        "current_password_label": "Current password",
        "new_password_label": "New password (at least 8 characters)",
        "confirm_password_label": "Repeat the new password",
        "change_submit": "Change password",
        "invalid_current_password": "The current password is incorrect.",
        "password_mismatch": "The two new passwords do not match.",
        "too_short": "The new password needs at least 8 characters.",
        "too_long": "The new password is too long (at most 128 characters).",
        "common_password": "This password is too common and easy to guess.",
        "contains_personal_data": "The password must not contain your social insurance number, "
                                  "CCCD, phone number, birth date or name.",
        "reused_password": "You cannot reuse one of your recent passwords.",
        "too_similar": "The new password is too similar to the current one.",
        "forgot_password": "Forgot your password?",
        "recover_title": "Forgot password",
        "recover_intro": "Enter your social insurance number and registered phone number. If "
                         "they match, we send a one-time code by SMS.",
        "phone_label": "Registered phone number",
        "recover_submit": "Send the code",
        "otp_sent_if_match": "If the details match an account, a code was sent to {phone}.",
        "otp_label": "One-time code (6 digits)",
        "otp_invalid": "The code is incorrect.",
        "otp_expired": "The code expired or was already used. Please ask for a new one.",
        "otp_attempts_exceeded": "Too many wrong codes. Please ask for a new one.",
        "otp_budget_exhausted": "Too many wrong codes in 24 hours. Please try again later.",
        "otp_rate_limited": "Please wait a minute before asking for a new code.",
        "otp_daily_cap": "Too many codes sent today. Please try again tomorrow.",
        "invalid_bhxh": "The social insurance number has 10 digits.",
        "invalid_phone": "The mobile number is not valid.",
        "phone_not_mobile": "Please enter a mobile number.",
        "password_reset_done": "Your password was reset. Every device was signed out; sign in "
                               "again with the new password.",
        "password_changed_done": "Your password was changed. Other devices were signed out.",
        "sign_in_first": "Please sign in first.",
        "sign_out_everywhere_title": "Sign out of every device",
        "sign_out_everywhere_intro": "Use this if you lost your phone: every session and device "
                                     "is signed out at once.",
        "signed_out_everywhere": "Signed out of every device.",
        # --- VNeID sign-in (gateway/views/vneid.py) ---
        "or": "or",
        "vneid_login": "Sign in with VNeID",
        "vneid_title": "Sign in with VNeID",
        "vneid_unavailable": "VNeID cannot be reached right now. Nothing changed on your "
                             "account; please try again in a few minutes.",
        "vneid_cancelled": "You cancelled signing in with VNeID. Nothing changed on your "
                           "account.",
        "vneid_refused": "VNeID did not accept the sign-in request. Nothing changed on your "
                         "account; please try again.",
        "vneid_invalid": "VNeID's answer could not be verified, so we stopped. Nothing changed "
                         "on your account; please try again.",
        "vneid_account_inactive": "The VssID account linked to this VNeID is locked. Please "
                                  "contact Vietnam Social Security (BHXH).",
        "vneid_flow_expired": "This VNeID sign-in expired or was already used. Please go back "
                              "to the service and sign in again.",
        "vneid_back_to_login": "Back to the sign-in page",
        "vneid_back_to_app": "Back to the app",
        "vneid_declare_title": "No VssID account yet",
        "vneid_declare": "We could not find you in Vietnam Social Security's records, so no "
                         "VssID account can be made from your VNeID yet. You can declare for an "
                         "account online, or visit the nearest BHXH office for help.",
        "vneid_declare_incomplete": "VNeID did not give enough details (identity number, name, "
                                    "birth date, mobile number) to make a VssID account. You "
                                    "can declare for an account online, or visit the nearest "
                                    "BHXH office for help.",
        "vneid_declare_online": "Declare for an account online",
        "vneid_review_title": "Waiting for BHXH staff",
        "vneid_review": "The details from VNeID do not fully match the existing VssID account, "
                        "so we did not link them. BHXH staff will look into it and contact "
                        "you. Meanwhile you can still sign in with your social insurance number "
                        "and password.",
        "vneid_refuse_title": "An organisation's account",
        "vneid_refuse": "This is an organisation's VNeID account. VssID is for individuals: "
                        "please sign in with a personal electronic identity account.",
        "vneid_prove_title": "Confirm your VssID account",
        "vneid_prove_intro": "The VssID account with social insurance number {bhxh} has the same "
                             "identity number as your VNeID account. To link them, enter this "
                             "account's VssID password; we then send a one-time code to its "
                             "registered phone.",
        "vneid_prove_submit": "Continue",
        "invalid_password": "The password is incorrect.",
        "vneid_otp_title": "Enter the one-time code",
        "vneid_otp_sent": "A one-time code was sent to {phone}.",
        "vneid_otp_submit": "Confirm",
        "vneid_otp_resend": "Send a new code",
        "vneid_device_title": "Your account is in use on another device",
        "vneid_device_warning": "Your account is signed in on “{device}” (last seen: "
                                "{last_seen}). One account works on one device: if you "
                                "continue, that device is signed out. We will send a one-time "
                                "code to your registered phone to confirm.",
        "vneid_device_continue": "Continue on this device",
        "device_changed": "The account was just signed in on another device. Please start "
                          "again.",
        # the online declaration (/register) and its status look-up (/register/status)
        "register_link": "Register for an account",
        "decl_title": "Register for an account",
        "decl_intro": "Declare online to be issued a VssID account. Then bring your CCCD to the "
                      "BHXH office you chose to be verified.",
        "bhxh_number_label": "Social insurance number (10 digits)",
        "full_name_label": "Full name",
        "date_of_birth_label": "Date of birth",
        "sex_label": "Sex",
        "sex_male": "Male",
        "sex_female": "Female",
        "id_number_label": "CCCD number (12 digits)",
        "decl_phone_label": "Mobile number (for messages and one-time codes)",
        "email_label": "E-mail (optional)",
        "office_label": "BHXH office to receive the application",
        "office_choose": "— Choose a BHXH office —",
        "portrait_label": "Portrait photo 3×4",
        "id_front_label": "Photo of the CCCD front",
        "id_back_label": "Photo of the CCCD back",
        "photos_hint": "JPEG or PNG, at most {mb} MB each.",
        "decl_submit": "Send the application",
        "decl_fix_errors": "Please correct the marked fields and choose all three photos again.",
        "decl_done_title": "Application sent",
        "decl_done": "Your application reference is {reference}. The outcome is sent by SMS to "
                     "the mobile number you declared. Bring your CCCD to the BHXH office you "
                     "chose to be verified.",
        "required": "Please fill in this field.",
        "repeated": "This field was sent more than once.",
        "value_too_long": "Too long.",
        "invalid_name": "A full name has only letters, spaces and ' - .",
        "name_too_long": "The name is too long (at most 100 characters).",
        "invalid_dob": "The date of birth is not valid (year-month-day).",
        "dob_in_future": "The date of birth cannot be after today.",
        "dob_too_early": "The date of birth is not valid (over 120 years).",
        "invalid_sex": "Please choose the sex.",
        "invalid_cccd": "A CCCD number has 12 digits.",
        "unknown_cccd_province": "The first three digits of the CCCD are not a province code.",
        "cccd_dob_mismatch": "The CCCD number does not match the year of birth.",
        "cccd_sex_mismatch": "The CCCD number does not match the sex.",
        "invalid_email": "The e-mail address is not valid.",
        "unknown_office": "Please choose a BHXH office from the list.",
        "file_too_large": "The photo is too large.",
        "unsupported_image": "The file is not a JPEG or PNG photo.",
        "image_unreadable": "The photo cannot be read (the file is damaged or incomplete).",
        "image_too_large": "The photo has too many pixels.",
        "image_too_small": "The photo is too small to compare (at least 200 pixels a side).",
        "request_too_large": "What was sent is too large. Please choose smaller photos.",
        "status_link": "Check an application",
        "status_title": "Check an application",
        "status_intro": "Enter the application reference (DK-XXXX-XXXX). If it is right, we send "
                        "a one-time code to the mobile number declared in it.",
        "reference_label": "Application reference",
        "status_send_code": "Send the code",
        "status_otp_sent": "If the reference {reference} is right, a code was sent to the mobile "
                           "number declared in the application.",
        "status_show": "Show the status",
        "invalid_reference": "A reference looks like DK-XXXX-XXXX.",
        "status_expired": "This look-up expired. Please start again.",
        "status_heading": "Your application",
        "status_label": "Status",
        "submitted_at_label": "Sent on",
        "status_submitted": "Received, waiting for verification at the BHXH office.",
        "status_field_verified": "Verified by a post-office agent, waiting for BHXH to confirm.",
        "status_approved": "Approved: the account was issued and its sign-in details sent by SMS.",
        "status_rejected": "Rejected.",
        "reason_label": "Reason",
        "reason_note_label": "The clerk's note",
        "rejection_identity_mismatch": "The person verified did not match the photos.",
        "rejection_document_invalid": "The identity document was not valid (expired, damaged or "
                                      "not an original).",
        "rejection_photo_unusable": "A portrait or document photo could not be compared.",
        "rejection_data_mismatch": "The declared details differ from the document.",
        "rejection_account_exists": "This social insurance number already has an account.",
        "rejection_not_presented": "You did not come to the BHXH office in time.",
        "rejection_other": "Another reason.",
        "resubmit_link": "Correct and send again",
        "resubmit_title": "Correct a rejected application",
        "corrected_by": "The application was corrected and sent again as {reference}.",
        "resubmission_not_allowed": "This application cannot be sent again: it is not rejected, "
                                    "or its correction was already sent.",
    },
}


def _merge(catalogue: dict) -> None:
    """Another part's texts (the staff console's) into the one catalogue; a key defined twice
    is a mistake that would silently change a page, so it stops the import."""
    for lang in LANGUAGES:
        clash = MESSAGES[lang].keys() & catalogue[lang].keys()
        if clash:
            raise RuntimeError(f"message keys defined twice: {sorted(clash)}")
        MESSAGES[lang].update(catalogue[lang])


_merge(CONSOLE)
_merge(APPLICATIONS)
_merge(LINKS)
_merge(PHONE_CHANGE)
_merge(HEALTH_CARD)
_merge(PASSKEYS)
# The rejection reasons, one phrase per code, as the applicant's SMS and e-mail say them.
_merge({lang: {f"reason_{code}": texts[lang] for code, texts in REASON_TEXTS.items()}
        for lang in LANGUAGES})


def current_language() -> str:
    if "lang" in g:
        return g.lang
    wanted = request.args.get("lang") or _form_lang() or request.cookies.get(LANG_COOKIE)
    if wanted not in LANGUAGES:
        ui = (request.args.get("ui_locales") or "").split()
        wanted = next((x for x in ui if x in LANGUAGES), None) or current_app.config[
            "DEFAULT_LOCALE"
        ]
    g.lang = wanted
    return wanted


def _form_lang() -> str | None:
    """The body may be unreadable (over MAX_CONTENT_LENGTH): the page saying so must render."""
    try:
        return request.form.get("lang")
    except HTTPException:
        return None


def t(key: str) -> str:
    lang = current_language()
    return MESSAGES[lang].get(key) or MESSAGES["vi"].get(key) or key


def remember_language(response):
    """Keep an explicit ?lang= choice for the following pages."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        response.set_cookie(LANG_COOKIE, wanted, max_age=365 * 86400, samesite="Lax",
                            httponly=True)
    return response
