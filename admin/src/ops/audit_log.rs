//! Reading the audit log: search and CSV export. Appending is [`super::audit`]; nothing
//! deletes an entry but the retention job (`[admin] audit_retention_days`).

use baedal_storage::admins::audit::{AuditEntry, AuditQuery};

use super::{Actor, Permission};
use crate::{AdminContext, AdminError};

pub async fn search(
    ctx: &AdminContext,
    actor: &Actor,
    mut query: AuditQuery,
) -> Result<(i64, Vec<AuditEntry>), AdminError> {
    query.domains = actor.domain_scope(Permission::ViewAudit)?;
    if query.limit <= 0 {
        query.limit = 100;
    }
    Ok(ctx.admins.search_audit(&query).await?)
}

/// `secs` as `YYYY-MM-DD HH:MM:SS` in the zone `offset_secs` east of UTC (with the offset
/// appended unless it is UTC).
pub fn timestamp(secs: i64, offset_secs: i64) -> String {
    let text = baedal_storage::clock::utc_timestamp(secs + offset_secs);
    if offset_secs == 0 {
        return text;
    }
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let abs = offset_secs.abs();
    format!("{text} {sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
}

/// The entries as CSV (RFC 4180: quoted fields, doubled quotes, CRLF).
pub fn to_csv(entries: &[AuditEntry], offset_secs: i64) -> String {
    let mut out = String::from("id,at,actor,role,source_ip,via,action,object,before,after\r\n");
    for e in entries {
        let json =
            |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
        let fields = [
            e.id.to_string(),
            timestamp(e.at, offset_secs),
            e.actor.clone(),
            e.role.clone(),
            e.source_ip.clone(),
            e.via.clone(),
            e.action.clone(),
            e.object.clone(),
            json(&e.before),
            json(&e.after),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV field, quoted; a leading `=`, `+`, `-` or `@` gets a `'` so that a spreadsheet
/// does not run it as a formula.
pub fn csv_field(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_site_zone() {
        assert_eq!(timestamp(0, 0), "1970-01-01 00:00:00");
        assert_eq!(timestamp(0, 9 * 3600), "1970-01-01 09:00:00 +09:00");
        assert_eq!(timestamp(0, -5 * 3600 - 1800), "1969-12-31 18:30:00 -05:30");
    }

    #[test]
    fn csv_fields_are_quoted_and_inert() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=cmd()"), "\"'=cmd()\"");
        assert_eq!(csv_field("x,y\r\nz"), "\"x,y\r\nz\"");
    }
}
