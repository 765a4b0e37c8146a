//! The user search filter: the configured template with the login's values escaped.

use ldap3::ldap_escape;

/// Fills `{user}` (the local part) and `{email}` (the whole address) into `template`.
///
/// Every value is escaped as RFC 4515 §3 asks (`*`, `(`, `)`, `\` and NUL become `\2a`,
/// `\28`, `\29`, `\5c`, `\00`), so a login name can never widen or close the filter.
pub fn user_filter(template: &str, user: &str, email: &str) -> String {
    template
        .replace("{user}", &ldap_escape(user))
        .replace("{email}", &ldap_escape(email))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "(|(uid={user})(mail={email}))";

    #[test]
    fn fills_both_placeholders() {
        assert_eq!(
            user_filter(TEMPLATE, "alice", "alice@company.kr"),
            "(|(uid=alice)(mail=alice@company.kr))"
        );
    }

    #[test]
    fn injection_attempts_stay_literal_values() {
        assert_eq!(
            user_filter(TEMPLATE, "*", "*@company.kr"),
            "(|(uid=\\2a)(mail=\\2a@company.kr))"
        );
        assert_eq!(
            user_filter(TEMPLATE, ")(uid=*", ")(uid=*@company.kr"),
            "(|(uid=\\29\\28uid=\\2a)(mail=\\29\\28uid=\\2a@company.kr))"
        );
        assert_eq!(
            user_filter(TEMPLATE, "a\0b\\", "x"),
            "(|(uid=a\\00b\\5c)(mail=x))"
        );
    }
}
