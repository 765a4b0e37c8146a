//! POP3 responses (RFC 1939 §3), with RFC 2449 §8 / RFC 3206 response codes where they
//! tell the client what to do.

pub const GREETING_SUFFIX: &str = "Baedal POP3 ready";
pub const BYE: &str = "+OK Bye";
pub const OK: &str = "+OK";
pub const CAPA: &str = "+OK Capability list follows";
pub const BEGIN_TLS: &str = "+OK Begin TLS negotiation";
pub const LOGGED_IN: &str = "+OK Logged in";
pub const USER_OK: &str = "+OK Send PASS";
pub const SASL_CONTINUE: &str = "+ ";
/// LOGIN mechanism prompts: "Username:" and "Password:" in base64.
pub const LOGIN_USERNAME: &str = "+ VXNlcm5hbWU6";
pub const LOGIN_PASSWORD: &str = "+ UGFzc3dvcmQ6";

pub const UNKNOWN_COMMAND: &str = "-ERR Unknown command";
pub const WRONG_STATE: &str = "-ERR Command not valid in this state";
pub const LINE_TOO_LONG: &str = "-ERR Line too long";
pub const SYNTAX: &str = "-ERR Syntax error";
pub const NO_SUCH_MESSAGE: &str = "-ERR No such message";
pub const MESSAGE_DELETED: &str = "-ERR Message is deleted";
pub const USER_FIRST: &str = "-ERR Send USER first";
pub const TLS_ACTIVE: &str = "-ERR TLS already active";
pub const TLS_UNAVAILABLE: &str = "-ERR TLS not available";
pub const PLAINTEXT_DISALLOWED: &str =
    "-ERR [AUTH] Plaintext authentication disallowed without TLS: use STLS first";
pub const AUTH_FAILED: &str = "-ERR [AUTH] Authentication failed";
pub const AUTH_CANCELLED: &str = "-ERR Authentication cancelled";
pub const UNKNOWN_MECHANISM: &str = "-ERR Unsupported authentication mechanism";
pub const IN_USE: &str = "-ERR [IN-USE] Maildrop is locked by another POP3 session";
pub const SHUTTING_DOWN: &str = "-ERR [SYS/TEMP] Server shutting down, try again later";
pub const TEMPORARY: &str = "-ERR [SYS/TEMP] Temporary server problem, try again later";
pub const IDLE: &str = "-ERR Disconnected for inactivity";
