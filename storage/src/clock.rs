//! Time, read in one place (DESIGN: time is injected). Code that decides with time (retention,
//! internal dates, UIDVALIDITY) takes "now" from here or as an argument, so tests and the CLI
//! (`baedal pop3 expire --now`) can set it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch (0 if the system clock is before 1970).
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil_from_days.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), as the CLI prints times.
pub fn utc_timestamp(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_epoch_seconds() {
        assert_eq!(super::utc_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc_timestamp(1_795_000_000), "2026-11-18 11:06:40");
    }
}
