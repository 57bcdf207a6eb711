//! Argument parsing shared by the command families, with Redis's rules for
//! what counts as an integer or a float.

use crate::error::CmdError;
use quiver_engine::value::parse_canonical_i64;

/// An integer argument (`string2ll` rules: no `+`, no spaces, no leading zeros).
#[inline]
pub fn parse_i64(arg: &[u8]) -> Result<i64, CmdError> {
    parse_canonical_i64(arg).ok_or(CmdError::NotInteger)
}

/// A non-negative integer argument.
pub fn parse_u64(arg: &[u8]) -> Result<u64, CmdError> {
    let v = parse_i64(arg)?;
    u64::try_from(v).map_err(|_| CmdError::NotInteger)
}

/// A float argument as `strtold` accepts it, without spaces or NaN.
pub fn parse_f64(arg: &[u8]) -> Result<f64, CmdError> {
    let s = std::str::from_utf8(arg).map_err(|_| CmdError::NotFloat)?;
    if s.is_empty()
        || s.starts_with(|c: char| c.is_whitespace())
        || s.ends_with(|c: char| c.is_whitespace())
    {
        return Err(CmdError::NotFloat);
    }
    let v: f64 = s.parse().map_err(|_| CmdError::NotFloat)?;
    if v.is_nan() {
        return Err(CmdError::NotFloat);
    }
    Ok(v)
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn eq_ic(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// Formats a float the way INCRBYFLOAT stores it: plain decimal notation,
/// the shortest digits that round-trip, no exponent, no trailing zeros.
pub fn format_incr_float(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let s = format!("{v}");
    if s.contains('e') || s.contains('E') {
        format!("{v:.17}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"-12"), Ok(-12));
        assert_eq!(parse_i64(b"+12"), Err(CmdError::NotInteger));
        assert_eq!(parse_i64(b"1.0"), Err(CmdError::NotInteger));
        assert_eq!(parse_u64(b"-1"), Err(CmdError::NotInteger));
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Ok(1.5));
        assert_eq!(parse_f64(b"1e3"), Ok(1000.0));
        assert!(parse_f64(b" 1").is_err());
        assert!(parse_f64(b"nan").is_err());
        assert_eq!(parse_f64(b"inf"), Ok(f64::INFINITY));
        assert_eq!(format_incr_float(10.6), "10.6");
        assert_eq!(format_incr_float(3.0), "3");
        assert_eq!(format_incr_float(-0.5), "-0.5");
    }
}
