//! Bit-level helpers for the bitmap commands: reading and writing bit
//! fields at arbitrary bit offsets (most significant bit first, as Redis
//! numbers bits), population counts and searches over bit ranges, and the
//! overflow arithmetic of BITFIELD.
//!
//! Everything here is pure and operates on byte slices, so it is unit
//! tested directly; `bits.rs` deals with keys and replies.

/// Reads `bits` (1..=64) bits starting at bit `offset`; bits past the end of
/// `buf` read as zero.
pub fn get_unsigned(buf: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for k in 0..bits as u64 {
        let pos = offset + k;
        let byte = (pos >> 3) as usize;
        let bit = buf.get(byte).map_or(0, |b| (b >> (7 - (pos & 7))) & 1);
        v = v << 1 | bit as u64;
    }
    v
}

/// Reads a two's complement field of `bits` bits.
pub fn get_signed(buf: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned(buf, offset, bits);
    if bits < 64 && u >> (bits - 1) & 1 == 1 {
        (u | u64::MAX << bits) as i64
    } else {
        u as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`. The caller has
/// grown `buf` to hold them.
pub fn set_unsigned(buf: &mut [u8], offset: u64, bits: u32, value: u64) {
    for k in 0..bits as u64 {
        let pos = offset + k;
        let byte = (pos >> 3) as usize;
        let mask = 1u8 << (7 - (pos & 7));
        if value >> (bits as u64 - 1 - k) & 1 == 1 {
            buf[byte] |= mask;
        } else {
            buf[byte] &= !mask;
        }
    }
}

/// BITFIELD's OVERFLOW modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// What to store after `value + incr` on a signed field of `bits` bits:
/// `Ok(v)` when in range, otherwise `Err(Some(v))` with the wrapped or
/// saturated value, or `Err(None)` for FAIL.
///
/// The range tests reproduce Redis's exactly, including its one quirk: the
/// distance to the maximum is computed with 64-bit wrap-around, so a SET of
/// a value close to `i64::MIN` on a narrow field counts as overflowing
/// *upwards* (SAT stores the maximum).
pub fn signed_add(value: i64, incr: i64, bits: u32, mode: Overflow) -> Result<i64, Option<i64>> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let to_max = max.wrapping_sub(value);
    let to_min = min.wrapping_sub(value);
    let high =
        value > max || (bits != 64 && incr > to_max) || (value >= 0 && incr > 0 && incr > to_max);
    let low = !high
        && (value < min
            || (bits != 64 && incr < to_min)
            || (value < 0 && incr < 0 && incr < to_min));
    if !high && !low {
        return Ok(value.wrapping_add(incr));
    }
    Err(match mode {
        Overflow::Fail => None,
        Overflow::Sat => Some(if high { max } else { min }),
        Overflow::Wrap => {
            let sum = (value as u64).wrapping_add(incr as u64);
            Some(if bits == 64 {
                sum as i64
            } else if sum >> (bits - 1) & 1 == 1 {
                (sum | u64::MAX << bits) as i64
            } else {
                (sum & !(u64::MAX << bits)) as i64
            })
        }
    })
}

/// The unsigned counterpart of [`signed_add`] (fields of at most 63 bits).
/// A negative SET value arrives as its 64-bit two's complement, so it is
/// "too large" and overflows upwards, as in Redis.
pub fn unsigned_add(value: u64, incr: i64, bits: u32, mode: Overflow) -> Result<u64, Option<u64>> {
    let max: u64 = (1u64 << bits) - 1;
    let to_max = max.wrapping_sub(value) as i64;
    let to_min = (value as i64).wrapping_neg();
    let high = value > max || (incr > 0 && incr > to_max);
    let low = !high && incr < 0 && incr < to_min;
    if !high && !low {
        return Ok(value.wrapping_add(incr as u64));
    }
    Err(match mode {
        Overflow::Fail => None,
        Overflow::Sat => Some(if high { max } else { 0 }),
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
    })
}

/// Number of set bits in `buf`.
pub fn popcount(buf: &[u8]) -> u64 {
    let mut chunks = buf.chunks_exact(8);
    let mut n = 0u64;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Number of set bits in the inclusive bit range `first..=last`.
pub fn popcount_bits(buf: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let mut n = popcount(&buf[fb..=lb]);
    // Remove the bits of the edge bytes that lie outside the range.
    let head = buf[fb] & !(0xFFu8 >> (first & 7));
    let tail = buf[lb] & low_mask(last);
    n -= head.count_ones() as u64 + tail.count_ones() as u64;
    n
}

/// Bits of a byte after position `last & 7` (MSB-first numbering).
fn low_mask(last: u64) -> u8 {
    let keep = (last & 7) + 1; // bits 0..keep are inside the range
    if keep >= 8 {
        0
    } else {
        0xFFu8 >> keep
    }
}

/// Position of the first bit equal to `bit` in the inclusive bit range
/// `first..=last`, if any.
pub fn find_bit(buf: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    let mut pos = first;
    // Leading bits up to a byte boundary.
    while pos <= last && pos & 7 != 0 {
        if bit_at(buf, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    // Whole bytes: skip those that cannot contain the bit.
    let skip = if bit { 0x00 } else { 0xFF };
    while pos + 7 <= last {
        let b = buf[(pos >> 3) as usize];
        if b != skip {
            let lead = if bit {
                b.leading_zeros()
            } else {
                b.leading_ones()
            };
            return Some(pos + lead as u64);
        }
        pos += 8;
    }
    while pos <= last {
        if bit_at(buf, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

#[inline]
fn bit_at(buf: &[u8], pos: u64) -> bool {
    buf[(pos >> 3) as usize] >> (7 - (pos & 7)) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_at_odd_offsets() {
        let mut buf = vec![0u8; 16];
        for (off, bits, v) in [
            (0u64, 8u32, 0xABu64),
            (3, 5, 0b10110),
            (13, 64, u64::MAX - 5),
            (70, 1, 1),
        ] {
            set_unsigned(&mut buf, off, bits, v);
            assert_eq!(get_unsigned(&buf, off, bits), v, "off {off} bits {bits}");
        }
        let mut b = vec![0u8; 2];
        set_unsigned(&mut b, 4, 8, 0xFF);
        assert_eq!(b, vec![0x0F, 0xF0]);
        assert_eq!(get_signed(&b, 4, 8), -1);
        assert_eq!(get_signed(&b, 4, 4), -1);
        assert_eq!(get_signed(&b, 0, 8), 15);
        // Reads past the end are zero.
        assert_eq!(get_unsigned(&[0xFF], 4, 8), 0xF0);
    }

    #[test]
    fn signed_overflow_modes() {
        assert_eq!(signed_add(100, 27, 8, Overflow::Wrap), Ok(127));
        assert_eq!(signed_add(100, 28, 8, Overflow::Wrap), Err(Some(-128)));
        assert_eq!(signed_add(100, 28, 8, Overflow::Sat), Err(Some(127)));
        assert_eq!(signed_add(-100, -29, 8, Overflow::Sat), Err(Some(-128)));
        assert_eq!(signed_add(-100, -29, 8, Overflow::Wrap), Err(Some(127)));
        assert_eq!(signed_add(-100, -29, 8, Overflow::Fail), Err(None));
        assert_eq!(
            signed_add(i64::MAX, 1, 64, Overflow::Wrap),
            Err(Some(i64::MIN))
        );
        assert_eq!(
            signed_add(i64::MIN, -1, 64, Overflow::Sat),
            Err(Some(i64::MIN))
        );
        assert_eq!(signed_add(-5, 3, 64, Overflow::Fail), Ok(-2));
        // SET of out-of-range values (incr 0).
        assert_eq!(signed_add(300, 0, 8, Overflow::Wrap), Err(Some(44)));
        assert_eq!(signed_add(-300, 0, 8, Overflow::Sat), Err(Some(-128)));
        // Redis's quirk: values near i64::MIN saturate to the maximum.
        assert_eq!(signed_add(i64::MIN, 0, 8, Overflow::Sat), Err(Some(127)));
        assert_eq!(signed_add(i64::MIN, 0, 8, Overflow::Wrap), Err(Some(0)));
    }

    #[test]
    fn unsigned_overflow_modes() {
        assert_eq!(unsigned_add(250, 5, 8, Overflow::Fail), Ok(255));
        assert_eq!(unsigned_add(250, 6, 8, Overflow::Wrap), Err(Some(0)));
        assert_eq!(unsigned_add(250, 6, 8, Overflow::Sat), Err(Some(255)));
        assert_eq!(unsigned_add(5, -6, 8, Overflow::Sat), Err(Some(0)));
        assert_eq!(unsigned_add(5, -6, 8, Overflow::Wrap), Err(Some(255)));
        assert_eq!(
            unsigned_add(-1i64 as u64, 0, 8, Overflow::Sat),
            Err(Some(255))
        );
        assert_eq!(
            unsigned_add(0, i64::MAX, 63, Overflow::Fail),
            Ok(i64::MAX as u64)
        );
        assert_eq!(unsigned_add(1, i64::MAX, 63, Overflow::Wrap), Err(Some(0)));
    }

    #[test]
    fn counting_and_searching() {
        let buf = [0xFFu8, 0xF0, 0x00];
        assert_eq!(popcount(&buf), 12);
        assert_eq!(popcount(&[0xFF; 19]), 152);
        assert_eq!(popcount_bits(&buf, 0, 23), 12);
        assert_eq!(popcount_bits(&buf, 5, 10), 6);
        assert_eq!(popcount_bits(&buf, 9, 9), 1);
        assert_eq!(popcount_bits(&buf, 12, 23), 0);
        assert_eq!(find_bit(&buf, 0, 23, false), Some(12));
        assert_eq!(find_bit(&buf, 0, 23, true), Some(0));
        assert_eq!(find_bit(&buf, 13, 23, true), None);
        assert_eq!(find_bit(&buf, 3, 11, false), None);
        assert_eq!(find_bit(&[0, 0, 0, 0x01], 2, 31, true), Some(31));
    }
}
