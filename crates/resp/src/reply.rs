//! Reply writing for RESP2 and RESP3.
//!
//! Handlers describe replies by their meaning (a map, a double, a null) and
//! [`ReplyBuf`] encodes them for the protocol the connection negotiated with
//! `HELLO`: RESP2 clients get maps as flat arrays, doubles as bulk strings and
//! booleans as integers, exactly as Redis 7 downgrades them.

use std::io::Write;

/// The protocol version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

/// An output buffer plus the protocol used to encode into it.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    pub out: Vec<u8>,
    pub proto: Proto,
}

impl ReplyBuf {
    pub fn new(proto: Proto) -> Self {
        ReplyBuf {
            out: Vec::with_capacity(16 * 1024),
            proto,
        }
    }

    #[inline]
    pub fn is_resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: usize) {
        self.out.push(prefix);
        let mut b = itoa::Buffer::new();
        self.out.extend_from_slice(b.format(n).as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    #[inline]
    pub fn ok(&mut self) {
        self.out.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply. `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.out.push(b'+');
        self.out.extend_from_slice(s.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// An error reply; `msg` carries its own code (`ERR …`, `WRONGTYPE …`).
    /// Newlines would break the framing, so they become spaces as in Redis.
    pub fn error(&mut self, msg: &str) {
        self.out.push(b'-');
        for &b in msg.as_bytes() {
            self.out
                .push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.out.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, v: i64) {
        self.out.push(b':');
        let mut b = itoa::Buffer::new();
        self.out.extend_from_slice(b.format(v).as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len());
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\r\n");
    }

    /// An integer sent as a bulk string (what GET returns for an int-encoded value).
    pub fn bulk_int(&mut self, v: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v);
        self.bulk(s.as_bytes());
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.out.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => self.out.extend_from_slice(b"_\r\n"),
        }
    }

    /// A missing aggregate: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.out.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => self.out.extend_from_slice(b"_\r\n"),
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of `2n` in RESP2.
    pub fn map(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n * 2),
            Proto::Resp3 => self.header(b'%', n),
        }
    }

    /// A set: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n),
            Proto::Resp3 => self.header(b'~', n),
        }
    }

    /// An out-of-band push: `>n` in RESP3, an array in RESP2.
    pub fn push(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n),
            Proto::Resp3 => self.header(b'>', n),
        }
    }

    /// A double: `,d` in RESP3, a bulk string in RESP2, formatted like Redis 7.0.
    pub fn double(&mut self, d: f64) {
        let s = crate::float::format_g_buf(d, 17);
        match self.proto {
            Proto::Resp2 => self.bulk(s.as_bytes()),
            Proto::Resp3 => {
                self.out.push(b',');
                self.out.extend_from_slice(s.as_bytes());
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        match self.proto {
            Proto::Resp2 => self.int(v as i64),
            Proto::Resp3 => self
                .out
                .extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// Verbatim text (`=len\r\ntxt:…` in RESP3, a bulk string in RESP2), as
    /// INFO and CLIENT LIST send it.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.header(b'=', text.len() + 4);
                self.out.extend_from_slice(b"txt:");
                self.out.extend_from_slice(text);
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Appends pre-encoded protocol bytes.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Current length, to mark where an aggregate of unknown size begins.
    pub fn mark(&self) -> usize {
        self.out.len()
    }

    /// Inserts an array header of `n` elements at `mark` (for replies whose
    /// length is only known after the elements are written).
    pub fn insert_array_header(&mut self, mark: usize, n: usize) {
        let mut hdr = Vec::with_capacity(16);
        let _ = write!(hdr, "*{n}\r\n");
        self.out.splice(mark..mark, hdr);
    }

    /// Like [`insert_array_header`](Self::insert_array_header) for a map of `n` pairs.
    pub fn insert_map_header(&mut self, mark: usize, n: usize) {
        let mut hdr = Vec::with_capacity(16);
        let _ = match self.proto {
            Proto::Resp2 => write!(hdr, "*{}\r\n", n * 2),
            Proto::Resp3 => write!(hdr, "%{n}\r\n"),
        };
        self.out.splice(mark..mark, hdr);
    }

    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn clear(&mut self) {
        self.out.clear();
    }

    pub fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
    }
}

/// Formats a double as Redis 7.0 does in replies: `%.17g`, with `inf`,
/// `-inf` and `nan` spelled out.
pub fn format_double(d: f64) -> String {
    crate::float::format_g_buf(d, 17).as_str().to_string()
}

/// C's `%.{prec}g`: `prec` significant digits, trailing zeros removed, and
/// exponent notation when the exponent is below -4 or at least `prec`
/// (see [`crate::float::format_g_buf`], which does not allocate).
pub fn format_g(d: f64, prec: usize) -> String {
    crate::float::format_g_buf(d, prec).as_str().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_c() {
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(10.0), "10");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(
            format_double(123456789012345680.0),
            "1.2345678901234568e+17"
        );
    }

    #[test]
    fn resp2_downgrades() {
        let mut r = ReplyBuf::new(Proto::Resp2);
        r.map(2);
        r.null();
        r.boolean(true);
        r.double(1.5);
        assert_eq!(r.out, b"*4\r\n$-1\r\n:1\r\n$3\r\n1.5\r\n");
        let mut r = ReplyBuf::new(Proto::Resp3);
        r.map(2);
        r.null();
        r.boolean(true);
        r.double(1.5);
        assert_eq!(r.out, b"%2\r\n_\r\n#t\r\n,1.5\r\n");
    }

    #[test]
    fn deferred_headers() {
        let mut r = ReplyBuf::new(Proto::Resp2);
        r.int(1);
        let m = r.mark();
        r.bulk(b"a");
        r.insert_array_header(m, 1);
        assert_eq!(r.out, b":1\r\n*1\r\n$1\r\na\r\n");
    }
}
