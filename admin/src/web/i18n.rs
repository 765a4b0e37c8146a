//! The console's texts in English and Korean. `?lang=ko|en` picks one (kept in a cookie);
//! otherwise the browser's `Accept-Language`.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "en" => Some(Self::En),
            "ko" => Some(Self::Ko),
            _ => None,
        }
    }

    /// The cookie `baedal_lang`, then `Accept-Language` (the first of ko/en it names).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if let Some(lang) =
            super::session::cookie(headers, "baedal_lang").and_then(|v| Self::parse(&v))
        {
            return lang;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("ko") {
                return Self::Ko;
            }
            if tag.starts_with("en") {
                return Self::En;
            }
        }
        Self::En
    }

    /// The text for `key` (the English text is the key's meaning).
    pub fn t(self, key: &'static str) -> &'static str {
        if self == Self::En {
            return english(key);
        }
        match key {
            "title" => "Baedal 관리 콘솔",
            "login" => "로그인",
            "name" => "이름",
            "password" => "비밀번호",
            "current_password" => "현재 비밀번호",
            "new_password" => "새 비밀번호",
            "code" => "인증 코드",
            "totp_prompt" => "인증 앱의 6자리 코드(또는 복구 코드)를 입력하세요.",
            "enrol" => "2단계 인증 등록",
            "enrol_help" => {
                "인증 앱으로 QR 코드를 스캔하거나 비밀 키를 입력한 뒤 코드를 입력하세요."
            }
            "secret" => "비밀 키",
            "recovery_codes" => {
                "복구 코드 (각각 한 번만 사용할 수 있습니다. 안전한 곳에 보관하세요)"
            }
            "continue" => "계속",
            "dashboard" => "대시보드",
            "domains" => "도메인",
            "users" => "사용자",
            "aliases" => "별칭",
            "queue" => "발송 대기열",
            "dkim" => "DKIM",
            "audit" => "감사 로그",
            "logs" => "로그",
            "kind" => "종류",
            "result" => "결과",
            "address" => "주소",
            "message_id" => "메시지 ID",
            "detail" => "상세",
            "protocol" => "프로토콜",
            "account" => "내 계정",
            "logout" => "로그아웃",
            "logout_everywhere" => "모든 세션에서 로그아웃",
            "add" => "추가",
            "save" => "저장",
            "search" => "검색",
            "enable" => "활성화",
            "disable" => "비활성화",
            "delete" => "삭제",
            "retry" => "재시도",
            "active" => "활성",
            "yes" => "예",
            "no" => "아니오",
            "domain" => "도메인",
            "auth_type" => "인증 방식",
            "ldap_base_dn" => "LDAP 기본 DN",
            "email" => "이메일",
            "display_name" => "표시 이름",
            "department" => "부서",
            "quota" => "할당량",
            "usage" => "사용량",
            "near_full" => "거의 가득 참",
            "unlimited" => "무제한",
            "users_count" => "사용자 수",
            "aliases_count" => "별칭 수",
            "source" => "별칭 주소",
            "destination" => "받는 주소",
            "sender" => "보낸 사람",
            "recipients" => "받는 사람",
            "queued_at" => "대기 시작",
            "size" => "크기",
            "status" => "상태",
            "older_than_hours" => "경과 시간(시간) 이상",
            "sender_domain" => "보낸 도메인",
            "recipient_domain" => "받는 도메인",
            "retry_matching" => "조건에 맞는 메시지 재시도",
            "delete_matching" => "조건에 맞는 메시지 삭제",
            "when" => "시각",
            "actor" => "관리자",
            "role" => "역할",
            "source_ip" => "접속 IP",
            "via" => "경로",
            "action" => "작업",
            "object" => "대상",
            "change" => "변경 내용",
            "export_csv" => "CSV 내보내기",
            "api_keys" => "API 키",
            "new_api_key" => "새 API 키 만들기",
            "api_key_once" => "이 키는 지금 한 번만 표시됩니다:",
            "previous" => "이전",
            "next" => "다음",
            "page" => "페이지",
            "of" => "/",
            "messages_in" => "받은 메일",
            "messages_submitted" => "보낸 메일(제출)",
            "delivered" => "외부 전달",
            "auth_failures" => "인증 실패",
            "spam" => "스팸",
            "virus" => "바이러스",
            "storage_used" => "저장 사용량",
            "queue_waiting" => "대기 중인 수신자",
            "users_near_quota" => "할당량 임박 사용자",
            "last_hour" => "최근 1시간",
            "since_start" => "서버 시작 이후",
            "per_hour" => "시간별",
            "hour" => "시각",
            "done" => "완료했습니다.",
            "forbidden" => "이 작업을 할 권한이 없습니다.",
            "csrf" => "요청이 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도하세요.",
            "bad_login" => "이름 또는 비밀번호가 올바르지 않습니다.",
            "bad_code" => "코드가 올바르지 않거나 이미 사용되었습니다.",
            "throttled" => "실패한 시도가 너무 많습니다. 잠시 후 다시 시도하세요.",
            "expired" => "세션이 만료되었습니다. 다시 로그인하세요.",
            "not_found" => "찾을 수 없습니다.",
            "dns_record" => "DNS 레코드",
            "selector" => "셀렉터",
            "algorithm" => "알고리즘",
            "logged_in_as" => "로그인:",
            "no_entries" => "항목이 없습니다.",
            "since" => "부터",
            "until" => "까지",
            "ids_or_filter" => "메시지를 선택하거나 조건을 입력하세요.",
            "language" => "English",
            _ => english(key),
        }
    }
}

fn english(key: &'static str) -> &'static str {
    match key {
        "title" => "Baedal admin console",
        "login" => "Log in",
        "name" => "Name",
        "password" => "Password",
        "current_password" => "Current password",
        "new_password" => "New password",
        "code" => "Code",
        "totp_prompt" => "Enter the 6-digit code of your authenticator app (or a recovery code).",
        "enrol" => "Set up two-factor login",
        "enrol_help" => {
            "Scan the QR code with an authenticator app or type the secret, then enter the code it shows."
        }
        "secret" => "Secret",
        "recovery_codes" => "Recovery codes (each works once; keep them somewhere safe)",
        "continue" => "Continue",
        "dashboard" => "Dashboard",
        "domains" => "Domains",
        "users" => "Users",
        "aliases" => "Aliases",
        "queue" => "Queue",
        "dkim" => "DKIM",
        "audit" => "Audit log",
        "logs" => "Logs",
        "kind" => "Kind",
        "result" => "Result",
        "address" => "Address",
        "message_id" => "Message id",
        "detail" => "Detail",
        "protocol" => "Protocol",
        "account" => "My account",
        "logout" => "Log out",
        "logout_everywhere" => "Log out everywhere",
        "add" => "Add",
        "save" => "Save",
        "search" => "Search",
        "enable" => "Enable",
        "disable" => "Disable",
        "delete" => "Delete",
        "retry" => "Retry",
        "active" => "Active",
        "yes" => "yes",
        "no" => "no",
        "domain" => "Domain",
        "auth_type" => "Authentication",
        "ldap_base_dn" => "LDAP base DN",
        "email" => "Email",
        "display_name" => "Display name",
        "department" => "Department",
        "quota" => "Quota",
        "usage" => "Usage",
        "near_full" => "near full",
        "unlimited" => "unlimited",
        "users_count" => "Users",
        "aliases_count" => "Aliases",
        "source" => "Alias address",
        "destination" => "Delivers to",
        "sender" => "Sender",
        "recipients" => "Recipients",
        "queued_at" => "Queued",
        "size" => "Size",
        "status" => "Status",
        "older_than_hours" => "Older than (hours)",
        "sender_domain" => "Sender domain",
        "recipient_domain" => "Recipient domain",
        "retry_matching" => "Retry matching messages",
        "delete_matching" => "Delete matching messages",
        "when" => "When",
        "actor" => "Administrator",
        "role" => "Role",
        "source_ip" => "From",
        "via" => "Via",
        "action" => "Action",
        "object" => "Object",
        "change" => "Change",
        "export_csv" => "Export CSV",
        "api_keys" => "API keys",
        "new_api_key" => "Create an API key",
        "api_key_once" => "This key is shown once, now:",
        "previous" => "Previous",
        "next" => "Next",
        "page" => "Page",
        "of" => "of",
        "messages_in" => "Mail received",
        "messages_submitted" => "Mail submitted",
        "delivered" => "Delivered out",
        "auth_failures" => "Failed logins",
        "spam" => "Spam",
        "virus" => "Viruses",
        "storage_used" => "Storage used",
        "queue_waiting" => "Recipients queued",
        "users_near_quota" => "Users near quota",
        "last_hour" => "Last hour",
        "since_start" => "Since start",
        "per_hour" => "Per hour",
        "hour" => "Hour",
        "done" => "Done.",
        "forbidden" => "You may not do this.",
        "csrf" => "The form has expired: reload the page and try again.",
        "bad_login" => "Wrong name or password.",
        "bad_code" => "Wrong or already used code.",
        "throttled" => "Too many failed attempts: wait and try again.",
        "expired" => "Your session has ended: log in again.",
        "not_found" => "Not found.",
        "dns_record" => "DNS record",
        "selector" => "Selector",
        "algorithm" => "Algorithm",
        "logged_in_as" => "Logged in as",
        "no_entries" => "Nothing here.",
        "since" => "From",
        "until" => "Until",
        "ids_or_filter" => "Choose messages or give a filter.",
        "language" => "한국어",
        other => other,
    }
}
