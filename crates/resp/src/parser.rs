//! Request parsing: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
//! (`GET k\r\n`) commands, with the limits and error wording of Redis.
//!
//! The parser is restartable: it looks at the unconsumed part of the read
//! buffer and either reports a complete request (and how many bytes it took)
//! or says it needs more data. It never allocates based on a length the
//! client announced; argument storage grows only with bytes actually present.

use crate::args::ArgsBuf;
use memchr::memchr;
use thiserror::Error;

/// Longest inline request, or header line, accepted without a newline.
pub const INLINE_MAX: usize = 64 * 1024;
/// Largest multibulk count accepted (Redis rejects counts beyond `INT_MAX`).
const MULTIBULK_MAX: i64 = i32::MAX as i64;
/// Before authentication, Redis refuses large requests outright.
const UNAUTH_MULTIBULK_MAX: i64 = 10;
const UNAUTH_BULK_MAX: i64 = 16384;

/// Limits the parser enforces; `authenticated` relaxes the pre-auth ones.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub proto_max_bulk_len: i64,
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            proto_max_bulk_len: 512 * 1024 * 1024,
            authenticated: true,
        }
    }
}

/// A malformed request. The server replies with `-ERR Protocol error: …`
/// (the `Display` text, prefixed by `ERR `) and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: expected '$', got '{}'", *.0 as char)]
    ExpectedDollar(u8),
    #[error("Protocol error: too big mbulk count string")]
    TooBigMbulkCount,
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulk,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulk,
}

/// Parses one request from the front of `buf` into `out`.
///
/// Returns `Ok(Some(n))` when a request was consumed (`n` bytes; `out` may be
/// empty for blank lines and `*0`, which the caller skips), `Ok(None)` when
/// more bytes are needed, or the protocol error to report.
pub fn parse_request(
    buf: &[u8],
    out: &mut ArgsBuf,
    limits: &Limits,
) -> Result<Option<usize>, ProtocolError> {
    out.clear();
    match buf.first() {
        None => Ok(None),
        Some(b'*') => parse_multibulk(buf, out, limits),
        Some(_) => parse_inline(buf, out),
    }
}

/// Parses a header line's integer the way Redis's `string2ll` does: optional
/// `-`, no `+`, no leading zeros, no spaces, fits in an i64.
fn parse_header_int(digits: &[u8]) -> Option<i64> {
    let (neg, body) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if body.is_empty() || body.len() > 19 {
        return None;
    }
    if body.len() > 1 && body[0] == b'0' {
        return None;
    }
    let mut v: i64 = 0;
    for &b in body {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

/// Finds the `\r` of a header line starting at `from`; `None` if the line is
/// not complete yet.
#[inline]
fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    memchr(b'\r', &buf[from..]).map(|i| from + i)
}

fn parse_multibulk(
    buf: &[u8],
    out: &mut ArgsBuf,
    limits: &Limits,
) -> Result<Option<usize>, ProtocolError> {
    let Some(cr) = find_cr(buf, 1) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::TooBigMbulkCount);
        }
        return Ok(None);
    };
    if cr > INLINE_MAX {
        return Err(ProtocolError::TooBigMbulkCount);
    }
    // Redis requires the `\n` to have arrived too before it looks at the line.
    if cr + 1 >= buf.len() {
        return Ok(None);
    }
    let count = parse_header_int(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
    if count > MULTIBULK_MAX {
        return Err(ProtocolError::InvalidMultibulkLength);
    }
    if count > UNAUTH_MULTIBULK_MAX && !limits.authenticated {
        return Err(ProtocolError::UnauthenticatedMultibulk);
    }
    let mut pos = cr + 2;
    if count <= 0 {
        return Ok(Some(pos));
    }
    // Reserve for what is plausibly present, never for the announced count.
    out.ranges.reserve((count as usize).min(1024));
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(None);
        }
        if buf[pos] != b'$' {
            return Err(ProtocolError::ExpectedDollar(buf[pos]));
        }
        let Some(cr) = find_cr(buf, pos + 1) else {
            if buf.len() - pos > INLINE_MAX {
                return Err(ProtocolError::TooBigBulkCount);
            }
            return Ok(None);
        };
        if cr - pos > INLINE_MAX {
            return Err(ProtocolError::TooBigBulkCount);
        }
        if cr + 1 >= buf.len() {
            return Ok(None);
        }
        let len = parse_header_int(&buf[pos + 1..cr]).ok_or(ProtocolError::InvalidBulkLength)?;
        if len < 0 || len > limits.proto_max_bulk_len {
            return Err(ProtocolError::InvalidBulkLength);
        }
        if len > UNAUTH_BULK_MAX && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedBulk);
        }
        let start = cr + 2;
        let end = start + len as usize;
        // The payload is followed by CRLF, which Redis skips without checking.
        if end + 2 > buf.len() {
            return Ok(None);
        }
        out.ranges.push(start..end);
        pos = end + 2;
    }
    Ok(Some(pos))
}

fn parse_inline(buf: &[u8], out: &mut ArgsBuf) -> Result<Option<usize>, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(None);
    };
    let mut line = &buf[..nl];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    out.inline = true;
    split_inline(line, out)?;
    Ok(Some(nl + 1))
}

/// C's `isspace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits a line into arguments with the quoting rules of inline commands
/// (and of redis.conf lines): used by the config-file reader too.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let mut out = ArgsBuf::new();
    out.inline = true;
    split_inline(line, &mut out)?;
    let view = out.view(&[]);
    Ok(view.iter().map(|a| a.to_vec()).collect())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline command line into arguments, honouring double quotes
/// (with `\n`, `\xHH`, … escapes) and single quotes (with `\'`), as
/// redis-cli users expect when they type into a raw socket.
fn split_inline(line: &[u8], out: &mut ArgsBuf) -> Result<(), ProtocolError> {
    // Redis splits the line as a C string: a NUL byte ends it.
    let line = match memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Ok(());
        }
        let start = out.scratch.len();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    let hi = hex_val(line[i + 2]).unwrap_or(0);
                    let lo = hex_val(line[i + 3]).unwrap_or(0);
                    out.scratch.push(hi * 16 + lo);
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    out.scratch.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.scratch.push(c);
                }
            } else if in_sq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    out.scratch.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.scratch.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.scratch.push(c),
                }
            }
            i += 1;
        }
        out.ranges.push(start..out.scratch.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut out = ArgsBuf::new();
        let mut pos = 0;
        let mut reqs = Vec::new();
        while let Some(n) = parse_request(&input[pos..], &mut out, &Limits::default())? {
            let view = out.view(&input[pos..]);
            reqs.push(view.iter().map(|a| a.to_vec()).collect());
            pos += n;
        }
        Ok(reqs)
    }

    #[test]
    fn multibulk_pipeline() {
        let reqs = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            reqs,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn incomplete_requests_wait() {
        let full = b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
        for cut in 0..full.len() {
            let mut out = ArgsBuf::new();
            assert_eq!(
                parse_request(&full[..cut], &mut out, &Limits::default()),
                Ok(None),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn inline_with_quotes() {
        let reqs = parse_all(b"SET \"a b\" 'c\\'d' \"\\x41\\n\"\r\nPING\n").unwrap();
        assert_eq!(
            reqs[0],
            vec![
                b"SET".to_vec(),
                b"a b".to_vec(),
                b"c'd".to_vec(),
                b"A\n".to_vec()
            ]
        );
        assert_eq!(reqs[1], vec![b"PING".to_vec()]);
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n+a\r\n"),
            Err(ProtocolError::ExpectedDollar(b'+'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-1\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"SET \"a\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            parse_all(b"SET \"a\"b\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            ProtocolError::ExpectedDollar(b'+').to_string(),
            "Protocol error: expected '$', got '+'"
        );
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(parse_all(&big), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn empty_requests_are_consumed() {
        let mut out = ArgsBuf::new();
        assert_eq!(
            parse_request(b"*0\r\n", &mut out, &Limits::default()),
            Ok(Some(4))
        );
        assert!(out.is_empty());
        assert_eq!(
            parse_request(b"\r\n", &mut out, &Limits::default()),
            Ok(Some(2))
        );
        assert!(out.is_empty());
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = Limits {
            authenticated: false,
            ..Limits::default()
        };
        let mut out = ArgsBuf::new();
        assert_eq!(
            parse_request(b"*11\r\n", &mut out, &limits),
            Err(ProtocolError::UnauthenticatedMultibulk)
        );
        assert_eq!(
            parse_request(b"*1\r\n$20000\r\n", &mut out, &limits),
            Err(ProtocolError::UnauthenticatedBulk)
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse_all(&data);
        }

        #[test]
        fn never_panics_on_multibulk_prefix(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut data = b"*3\r\n$3\r\nSET\r\n".to_vec();
            data.extend_from_slice(&tail);
            let _ = parse_all(&data);
        }

        #[test]
        fn roundtrip(args in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20), 1..6)) {
            let mut wire = format!("*{}\r\n", args.len()).into_bytes();
            for a in &args {
                wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                wire.extend_from_slice(a);
                wire.extend_from_slice(b"\r\n");
            }
            let reqs = parse_all(&wire).unwrap();
            proptest::prop_assert_eq!(reqs, vec![args]);
        }
    }
}
