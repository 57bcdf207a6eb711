//! LZF decompression, for strings Redis compressed in a dump
//! (`rdbcompression yes`, strings over 20 bytes).
//!
//! The stream is a sequence of runs. A control byte below 32 starts a
//! literal run of `ctrl + 1` bytes. Otherwise it is a back-reference: the
//! top three bits are the length minus 2 (7 means a further byte adds to
//! it), and the low five bits with the next byte are the distance minus 1
//! back into what was already produced; source and destination may
//! overlap, which repeats a pattern.

use super::RdbError;

const BAD: RdbError = RdbError::Malformed("LZF data");

/// Redis's largest string (`proto-max-bulk-len` cannot go beyond it for
/// values either); no decompressed string may be longer.
const MAX_STRING: usize = 512 << 20;

/// Decompresses `input` into exactly `len` bytes.
pub(super) fn decompress(input: &[u8], len: u64) -> Result<Vec<u8>, RdbError> {
    // A back-reference yields at most 264 bytes from 3 input bytes, so a
    // length beyond ~90× the input is a lie; refuse it before allocating.
    let len = usize::try_from(len).map_err(|_| BAD)?;
    if len > MAX_STRING || len > input.len().saturating_mul(90).saturating_add(32) {
        return Err(BAD);
    }
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = input.get(i..i + ctrl + 1).ok_or(BAD)?;
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += *input.get(i).ok_or(BAD)? as usize;
                i += 1;
            }
            let low = *input.get(i).ok_or(BAD)? as usize;
            i += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            let from = out.len().checked_sub(back).ok_or(BAD)?;
            for k in 0..n + 2 {
                let b = out[from + k];
                out.push(b);
            }
        }
        if out.len() > len {
            return Err(BAD);
        }
    }
    if out.len() != len {
        return Err(BAD);
    }
    Ok(out)
}
