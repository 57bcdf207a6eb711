//! C's `%.{N}g` for doubles, without allocating.
//!
//! Replies print doubles the way Redis does (`%.17g` for scores, `%.12g`
//! for RediSearch distances), and some replies carry many of them (ten KNN
//! distances per FT.SEARCH, a score per ZRANGE WITHSCORES member). Going
//! through `format!` twice per number (once in exponent form to learn the
//! exponent, once more in fixed form) with a fresh `String` each time cost
//! more than the vector search itself for a 10-NN query. Here the number is
//! formatted once, in exponent form, into a stack buffer: `%g`'s fixed form
//! has exactly the same significant digits (C defines it as `%f` with
//! precision `N - 1 - X`, X being the exponent the `%e` form would print),
//! so it is rebuilt from those digits by moving the decimal point.

use std::fmt::Write;

/// Most significant digits [`FormattedG`] holds; larger precisions are
/// clamped (callers use 12, 14 and 17).
pub const MAX_PRECISION: usize = 30;

/// Room for a sign, [`MAX_PRECISION`] digits, a point, and `e-308`, or for
/// the fixed form's leading `0.000`.
const CAP: usize = 48;

/// A formatted number on the stack.
#[derive(Clone, Copy)]
pub struct FormattedG {
    buf: [u8; CAP],
    len: usize,
}

impl Default for FormattedG {
    fn default() -> Self {
        Self::new()
    }
}

impl FormattedG {
    /// An empty buffer, to `write!` into (up to 48 bytes; a longer write
    /// fails rather than truncating).
    pub fn new() -> Self {
        FormattedG {
            buf: [0; CAP],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        // Capacity is sized for the longest output; never silently truncate
        // past it in release builds either.
        if self.len < CAP {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    fn extend(&mut self, s: &[u8]) {
        for &b in s {
            self.push(b);
        }
    }

    /// Empties it, to `write!` something else into the same buffer.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl Write for FormattedG {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > CAP {
            return Err(std::fmt::Error);
        }
        self.extend(s.as_bytes());
        Ok(())
    }
}

/// `%.{prec}g` of `d` as glibc prints it: `prec` significant digits
/// (at least 1, at most [`MAX_PRECISION`]), trailing zeros dropped,
/// exponent form when the exponent is below -4 or at least `prec`,
/// `inf`/`-inf`/`nan` for non-finite values (any NaN prints `nan`, as
/// Redis spells it).
pub fn format_g_buf(d: f64, prec: usize) -> FormattedG {
    let mut out = FormattedG::new();
    if d.is_nan() {
        out.extend(b"nan");
        return out;
    }
    if d.is_infinite() {
        out.extend(if d > 0.0 { b"inf" } else { b"-inf" });
        return out;
    }
    if d == 0.0 {
        out.extend(if d.is_sign_negative() { b"-0" } else { b"0" });
        return out;
    }
    let prec = prec.clamp(1, MAX_PRECISION);
    let mut sci = FormattedG::new();
    if write!(sci, "{:.*e}", prec - 1, d.abs()).is_err() {
        return out;
    }
    // `sci` is `D[.DDD]e[-]X`.
    let text = sci.as_bytes();
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut digits = [0u8; MAX_PRECISION];
    let mut n = 0;
    for &b in &text[..e_at] {
        if b.is_ascii_digit() && n < MAX_PRECISION {
            digits[n] = b;
            n += 1;
        }
    }
    let exp: i32 = std::str::from_utf8(&text[(e_at + 1).min(text.len())..])
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    // Significant digits without trailing zeros (at least one).
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    if d.is_sign_negative() {
        out.push(b'-');
    }
    if exp < -4 || exp >= prec as i32 {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        // At most "e+308": always fits after at most 31 bytes of mantissa.
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        for i in 0..int_len {
            out.push(digits.get(i).copied().unwrap_or(b'0'));
        }
        if n > int_len {
            out.push(b'.');
            out.extend(&digits[int_len..]);
        }
    } else {
        out.extend(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend(digits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(d: f64, p: usize) -> String {
        format_g_buf(d, p).as_str().to_string()
    }

    #[test]
    fn matches_glibc_g() {
        // Expected values printed by C's printf("%.Ng").
        let cases: &[(f64, usize, &str)] = &[
            (1.1, 17, "1.1000000000000001"),
            (1.5, 17, "1.5"),
            (10.0, 17, "10"),
            (1e20, 17, "1e+20"),
            (0.0001, 17, "0.0001"),
            (0.00001, 17, "1.0000000000000001e-05"),
            (-2.5, 17, "-2.5"),
            (123456789012345680.0, 17, "1.2345678901234568e+17"),
            (0.123456789012345, 12, "0.123456789012"),
            (9.9999999999995, 12, "10"),
            (99999999999.99, 12, "100000000000"),
            (12345.678, 12, "12345.678"),
            (999999999999.9, 12, "1e+12"),
            (1e100, 12, "1e+100"),
            (1.5e-300, 17, "1.5000000000000001e-300"),
            (-0.000123, 12, "-0.000123"),
            (0.1, 14, "0.1"),
            (1.0 / 3.0, 14, "0.33333333333333"),
            (5e-324, 17, "4.9406564584124654e-324"),
            (f64::MAX, 17, "1.7976931348623157e+308"),
            (100.0, 1, "1e+02"),
            (0.5, 0, "0.5"),
        ];
        for &(d, p, want) in cases {
            assert_eq!(g(d, p), want, "%.{p}g of {d:e}");
        }
    }

    #[test]
    fn specials() {
        assert_eq!(g(0.0, 17), "0");
        assert_eq!(g(-0.0, 17), "-0");
        assert_eq!(g(f64::INFINITY, 12), "inf");
        assert_eq!(g(f64::NEG_INFINITY, 12), "-inf");
        assert_eq!(g(f64::NAN, 12), "nan");
    }

    /// The two-pass definition (exponent form to learn X, then fixed form
    /// with `prec - 1 - X` decimals), as the code used to do it.
    fn reference(d: f64, prec: usize) -> String {
        let sci = format!("{:.*e}", prec - 1, d);
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let trim = |s: &str| -> String {
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s.to_string()
            }
        };
        if exp < -4 || exp >= prec as i32 {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
        } else {
            let decimals = (prec as i32 - 1 - exp).max(0) as usize;
            trim(&format!("{:.*}", decimals, d))
        }
    }

    #[test]
    fn same_as_two_pass_definition() {
        // xorshift over raw bit patterns (all exponents) and over "nice"
        // decimal-ish values (where rounding carries happen).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = if i % 2 == 0 {
                f64::from_bits(x)
            } else {
                (x % 2_000_000) as f64 / 1000.0 - 999.9995
            };
            if !d.is_finite() || d == 0.0 {
                continue;
            }
            for prec in [1, 6, 12, 14, 17] {
                assert_eq!(g(d, prec), reference(d, prec), "%.{prec}g of {d:e}");
            }
        }
    }

    #[test]
    fn precision_is_clamped() {
        assert_eq!(g(1.0 / 3.0, 100).len(), 2 + MAX_PRECISION);
    }
}
