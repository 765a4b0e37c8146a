//! WHERE clauses built from search fields: every value is a bound parameter; only the
//! placeholders' numbers are formatted into the SQL.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::{QueryAs, QueryScalar};

pub(crate) enum BindValue {
    Text(String),
    Int(i64),
}

#[derive(Default)]
pub(crate) struct Filter {
    conditions: Vec<String>,
    binds: Vec<BindValue>,
}

impl Filter {
    /// `condition` with one `?` for `value`.
    pub fn push(&mut self, condition: &str, value: BindValue) {
        self.binds.push(value);
        let n = self.binds.len();
        self.conditions
            .push(condition.replace('?', &format!("${n}")));
    }

    /// `column` contains `text`, ignoring case, wildcards taken literally.
    pub fn contains(&mut self, column: &str, text: &str) {
        let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
        self.push(
            &format!("LOWER({column}) LIKE ? ESCAPE '\\'"),
            BindValue::Text(pattern),
        );
    }

    /// `column`, lowercased, is LIKE one of `patterns` (escaped with [`like_escape`]; none:
    /// nothing matches).
    pub fn like_any(&mut self, column: &str, patterns: &[String]) {
        let mut alternatives = Vec::new();
        for pattern in patterns {
            self.binds.push(BindValue::Text(pattern.clone()));
            alternatives.push(format!(
                "LOWER({column}) LIKE ${} ESCAPE '\\'",
                self.binds.len()
            ));
        }
        if alternatives.is_empty() {
            self.conditions.push("1 = 0".into());
        } else {
            self.conditions
                .push(format!("({})", alternatives.join(" OR ")));
        }
    }

    /// `column` is one of `values` (none: nothing matches).
    pub fn one_of(&mut self, column: &str, values: &[String]) {
        let mut placeholders = Vec::new();
        for v in values {
            self.binds.push(BindValue::Text(v.clone()));
            placeholders.push(format!("${}", self.binds.len()));
        }
        if placeholders.is_empty() {
            self.conditions.push("1 = 0".into());
        } else {
            self.conditions
                .push(format!("{column} IN ({})", placeholders.join(", ")));
        }
    }

    /// ` WHERE ...`, or nothing.
    pub fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    pub fn bind_scalar<'q>(
        &self,
        mut q: QueryScalar<'q, Any, i64, AnyArguments<'q>>,
    ) -> QueryScalar<'q, Any, i64, AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                BindValue::Text(t) => q.bind(t.clone()),
                BindValue::Int(i) => q.bind(*i),
            };
        }
        q
    }

    pub fn bind_rows<'q, O>(
        &self,
        mut q: QueryAs<'q, Any, O, AnyArguments<'q>>,
    ) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                BindValue::Text(t) => q.bind(t.clone()),
                BindValue::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// `text` with LIKE's wildcards taken literally.
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
