"""The staff console's texts for the application queue and decisions (/staff/applications),
Vietnamese first, English on request; gateway/i18n.py merges them into its one catalogue.
Keys start with ``staff_app_``; ``staff_app_error_<code>`` says what a refused decision's code
means to the clerk (a code without its own text gets ``staff_app_error_details``)."""

from __future__ import annotations

APPLICATIONS = {
    "vi": {
        "staff_app_queue_title": "Hồ sơ đăng ký tài khoản",
        "staff_app_search_label": "Tìm theo mã hồ sơ, họ tên, mã số BHXH hoặc số CCCD",
        "staff_app_status_label": "Trạng thái",
        "staff_app_filter_submit": "Lọc",
        "staff_app_status_open": "Đang chờ xử lý",
        "staff_app_status_all": "Tất cả",
        "staff_app_status_submitted": "Chờ xác minh",
        "staff_app_status_field_verified": "Đã xác minh tại bưu điện",
        "staff_app_status_approved": "Đã duyệt",
        "staff_app_status_rejected": "Đã từ chối",
        "staff_app_reference": "Mã hồ sơ",
        "staff_app_name": "Họ và tên",
        "staff_app_bhxh": "Mã số BHXH",
        "staff_app_cccd": "Số CCCD",
        "staff_app_submitted_at": "Ngày nộp",
        "staff_app_office": "Cơ quan tiếp nhận",
        "staff_app_none": "Không có hồ sơ nào.",
        "staff_app_count": "{total} hồ sơ · trang {page}/{pages}",
        "staff_app_previous": "‹ Trang trước",
        "staff_app_next": "Trang sau ›",
        "staff_app_title": "Hồ sơ {reference}",
        "staff_app_back": "‹ Danh sách hồ sơ",
        "staff_app_dob": "Ngày sinh",
        "staff_app_sex": "Giới tính",
        "staff_app_sex_male": "Nam",
        "staff_app_sex_female": "Nữ",
        "staff_app_phone": "Số điện thoại",
        "staff_app_email": "Thư điện tử",
        "staff_app_no_email": "Không khai",
        "staff_app_status": "Trạng thái",
        "staff_app_previous_application": "Nộp lại sau hồ sơ bị từ chối",
        "staff_app_photos": "Ảnh đính kèm",
        "staff_app_photo_portrait": "Ảnh chân dung 3×4",
        "staff_app_photo_id_front": "CCCD mặt trước",
        "staff_app_photo_id_back": "CCCD mặt sau",
        "staff_app_compare": "Đối chiếu người và giấy tờ trước mặt với ảnh và thông tin khai "
                             "trước khi quyết định.",
        "staff_app_field_verified_by": "Đã xác minh tại bưu điện bởi {agent} lúc {at}.",
        "staff_app_agent_note": "Ghi chú của nhân viên bưu điện: {note}",
        "staff_app_field_verified_todo": "Hãy xác nhận (duyệt) hoặc bác bỏ (từ chối) kết quả "
                                         "xác minh này.",
        "staff_app_waiting_for_clerk": "Hồ sơ chờ cán bộ tiếp nhận xác nhận.",
        "staff_app_decided_by": "{status} bởi {staff} lúc {at}.",
        "staff_app_account_issued": "Tài khoản đã được cấp (số {account}); mật khẩu dùng một "
                                    "lần đã gửi qua SMS.",
        "staff_app_reason_shown": "Lý do: {reason}. Ghi chú: {words}",
        "staff_app_decision": "Quyết định",
        "staff_app_decision_approve": "Duyệt – cấp tài khoản",
        "staff_app_decision_confirm": "Xác nhận kết quả xác minh – cấp tài khoản",
        "staff_app_decision_reject": "Từ chối",
        "staff_app_decision_overturn": "Bác bỏ kết quả xác minh – từ chối",
        "staff_app_decision_field_verified": "Đã gặp người nộp và đối chiếu giấy tờ tại bưu "
                                             "điện",
        "staff_app_reason_code": "Lý do từ chối",
        "staff_app_reason_code_none": "— chọn khi từ chối —",
        "staff_app_reason": "Ghi chú (bắt buộc khi từ chối; người nộp sẽ đọc)",
        "staff_app_submit": "Ghi nhận quyết định",
        "staff_app_no_decision": "Vai trò của bạn không có quyết định nào cho hồ sơ này.",
        "staff_app_done_approved": "Đã duyệt hồ sơ và cấp tài khoản. Mật khẩu dùng một lần đã "
                                   "được gửi tới người nộp.",
        "staff_app_done_rejected": "Đã từ chối hồ sơ. Lý do đã được gửi tới người nộp.",
        "staff_app_done_field_verified": "Đã ghi nhận xác minh tại bưu điện. Cán bộ tiếp nhận "
                                         "sẽ xác nhận.",
        "staff_app_not_found": "Không tìm thấy hồ sơ này trong phạm vi bạn được xem.",
        "staff_app_error_reason_code_required": "Hãy chọn lý do từ chối.",
        "staff_app_error_invalid_reason_code": "Lý do từ chối không hợp lệ.",
        "staff_app_error_reason_required": "Hãy ghi rõ lý do (ít nhất 5 ký tự): người nộp sẽ "
                                           "đọc để sửa hồ sơ.",
        "staff_app_error_invalid_reason": "Ghi chú quá dài (tối đa 500 ký tự) hoặc có ký tự "
                                          "không hợp lệ.",
        "staff_app_error_unknown_decision": "Hãy chọn một quyết định.",
        "staff_app_error_application_closed": "Hồ sơ đã được quyết định trước đó.",
        "staff_app_error_decision_not_allowed": "Quyết định này không áp dụng cho hồ sơ ở trạng "
                                                "thái hiện tại.",
        "staff_app_error_role_not_allowed": "Vai trò của bạn không được đưa ra quyết định này.",
        "staff_app_error_application_changed": "Hồ sơ vừa được một cán bộ khác xử lý. Hãy xem "
                                               "lại trạng thái hiện tại.",
        "staff_app_error_account_exists": "Mã số BHXH này đã có tài khoản, nên không thể cấp "
                                          "thêm. Hãy từ chối hồ sơ với lý do “mã số BHXH này "
                                          "đã có tài khoản”.",
        "staff_app_error_details": "Thông tin trong hồ sơ không đủ điều kiện để cấp tài khoản "
                                   "(mã lỗi {code}). Hãy từ chối hồ sơ với lý do phù hợp.",
    },
    "en": {
        "staff_app_queue_title": "Account applications",
        "staff_app_search_label": "Search by reference, name, social insurance number or CCCD",
        "staff_app_status_label": "Status",
        "staff_app_filter_submit": "Filter",
        "staff_app_status_open": "Awaiting a decision",
        "staff_app_status_all": "All",
        "staff_app_status_submitted": "Awaiting verification",
        "staff_app_status_field_verified": "Verified at a post office",
        "staff_app_status_approved": "Approved",
        "staff_app_status_rejected": "Rejected",
        "staff_app_reference": "Reference",
        "staff_app_name": "Full name",
        "staff_app_bhxh": "Social insurance no.",
        "staff_app_cccd": "CCCD no.",
        "staff_app_submitted_at": "Submitted",
        "staff_app_office": "Receiving office",
        "staff_app_none": "No applications.",
        "staff_app_count": "{total} application(s) · page {page}/{pages}",
        "staff_app_previous": "‹ Previous page",
        "staff_app_next": "Next page ›",
        "staff_app_title": "Application {reference}",
        "staff_app_back": "‹ Applications",
        "staff_app_dob": "Date of birth",
        "staff_app_sex": "Sex",
        "staff_app_sex_male": "Male",
        "staff_app_sex_female": "Female",
        "staff_app_phone": "Phone",
        "staff_app_email": "E-mail",
        "staff_app_no_email": "None given",
        "staff_app_status": "Status",
        "staff_app_previous_application": "Resubmitted after a rejected application",
        "staff_app_photos": "Attached photos",
        "staff_app_photo_portrait": "3×4 portrait",
        "staff_app_photo_id_front": "CCCD, front",
        "staff_app_photo_id_back": "CCCD, back",
        "staff_app_compare": "Compare the person and the document in front of you with the "
                             "photos and the declared details before deciding.",
        "staff_app_field_verified_by": "Verified at a post office by {agent} at {at}.",
        "staff_app_agent_note": "The post-office agent's note: {note}",
        "staff_app_field_verified_todo": "Confirm (approve) or overturn (reject) this "
                                         "verification.",
        "staff_app_waiting_for_clerk": "Awaiting an office clerk's confirmation.",
        "staff_app_decided_by": "{status} by {staff} at {at}.",
        "staff_app_account_issued": "The account was issued (no. {account}); the one-time "
                                    "password was sent by SMS.",
        "staff_app_reason_shown": "Reason: {reason}. Note: {words}",
        "staff_app_decision": "Decision",
        "staff_app_decision_approve": "Approve – issue the account",
        "staff_app_decision_confirm": "Confirm the verification – issue the account",
        "staff_app_decision_reject": "Reject",
        "staff_app_decision_overturn": "Overturn the verification – reject",
        "staff_app_decision_field_verified": "Met the applicant and checked the document at "
                                             "the post office",
        "staff_app_reason_code": "Reason for rejection",
        "staff_app_reason_code_none": "— choose when rejecting —",
        "staff_app_reason": "Note (required when rejecting; the applicant reads it)",
        "staff_app_submit": "Record the decision",
        "staff_app_no_decision": "Your role has no decision to take on this application.",
        "staff_app_done_approved": "The application was approved and the account issued. The "
                                   "one-time password was sent to the applicant.",
        "staff_app_done_rejected": "The application was rejected. The reason was sent to the "
                                   "applicant.",
        "staff_app_done_field_verified": "The post-office verification was recorded. An office "
                                         "clerk will confirm it.",
        "staff_app_not_found": "No such application within what you may see.",
        "staff_app_error_reason_code_required": "Choose a reason for the rejection.",
        "staff_app_error_invalid_reason_code": "The reason for the rejection is not valid.",
        "staff_app_error_reason_required": "Say why in a note (5 characters or more): the "
                                           "applicant reads it to correct the application.",
        "staff_app_error_invalid_reason": "The note is too long (500 characters at most) or "
                                          "holds characters that are not allowed.",
        "staff_app_error_unknown_decision": "Choose a decision.",
        "staff_app_error_application_closed": "The application was already decided.",
        "staff_app_error_decision_not_allowed": "This decision does not apply to the "
                                                "application's current status.",
        "staff_app_error_role_not_allowed": "Your role may not take this decision.",
        "staff_app_error_application_changed": "Another officer has just decided this "
                                               "application. Check its current status.",
        "staff_app_error_account_exists": "This social insurance number already has an "
                                          "account, so no other can be issued. Reject the "
                                          "application with the reason “this number already "
                                          "has an account”.",
        "staff_app_error_details": "The application's details do not allow an account to be "
                                   "issued (error code {code}). Reject it with a fitting "
                                   "reason.",
    },
}
