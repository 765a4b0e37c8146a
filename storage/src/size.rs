//! Byte sizes as administrators write them: `1073741824`, `500M`, `1G`, `2GiB`.
//! Units are binary (K = 1024), as in Dovecot and Postfix quota settings.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid size '{0}': use a number of bytes or a number with K, M, G or T (like 500M or 1G)"
)]
pub struct SizeError(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = SizeError;

    fn from_str(input: &str) -> Result<Self, SizeError> {
        let err = || SizeError(input.to_string());
        let s = input.trim();
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(digits_end);
        let number: u64 = number.parse().map_err(|_| err())?;
        let shift = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 0,
            "K" | "KB" | "KIB" => 10,
            "M" | "MB" | "MIB" => 20,
            "G" | "GB" | "GIB" => 30,
            "T" | "TB" | "TIB" => 40,
            _ => return Err(err()),
        };
        number
            .checked_mul(1u64 << shift)
            .map(ByteSize)
            .ok_or_else(err)
    }
}

impl fmt::Display for ByteSize {
    /// The shortest exact form: `1G`, `1536M`, `1000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
            let step = 1u64 << shift;
            if self.0 >= step && self.0.is_multiple_of(step) {
                return write!(f, "{}{unit}", self.0 / step);
            }
        }
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_refuses_unknown_ones() {
        assert_eq!("1G".parse::<ByteSize>(), Ok(ByteSize(1_073_741_824)));
        assert_eq!("500M".parse::<ByteSize>(), Ok(ByteSize(500 * 1024 * 1024)));
        assert_eq!(
            "1073741824".parse::<ByteSize>(),
            Ok(ByteSize(1_073_741_824))
        );
        assert_eq!("2gib".parse::<ByteSize>(), Ok(ByteSize(2 << 30)));
        assert_eq!("0".parse::<ByteSize>(), Ok(ByteSize(0)));
        for bad in ["1X", "", "G", "-1G", "1.5G", "99999999999T"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn displays_the_shortest_exact_unit() {
        assert_eq!(ByteSize(1_073_741_824).to_string(), "1G");
        assert_eq!(ByteSize(1536 << 20).to_string(), "1536M");
        assert_eq!(ByteSize(1000).to_string(), "1000");
    }
}
