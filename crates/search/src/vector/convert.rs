//! Vector blobs (little-endian, as clients send them in a hash field or a
//! query parameter) to the element type an index computes in.
//!
//! FLOAT16 and BFLOAT16 widen to `f32` exactly, so distances over them are
//! computed in f32 like FLOAT32's; FLOAT64 stays `f64`. Callers validate the
//! blob length first (`dim * elem size`); these functions only read as many
//! whole elements as both the blob and `out` hold.

use super::ElemType;
use half::{bf16, f16};

/// Decodes a FLOAT32/FLOAT16/BFLOAT16 blob into `out`. (FLOAT64 blobs are
/// narrowed, which no index does: FLOAT64 indexes store `f64`.)
pub fn decode_f32(elem: ElemType, blob: &[u8], out: &mut [f32]) {
    match elem {
        ElemType::Float32 => {
            for (o, c) in out.iter_mut().zip(blob.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        ElemType::Float16 => {
            for (o, c) in out.iter_mut().zip(blob.chunks_exact(2)) {
                *o = f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        ElemType::BFloat16 => {
            for (o, c) in out.iter_mut().zip(blob.chunks_exact(2)) {
                *o = bf16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        ElemType::Float64 => {
            for (o, c) in out.iter_mut().zip(blob.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                *o = f64::from_le_bytes(b) as f32;
            }
        }
    }
}

/// Decodes a FLOAT64 blob into `out`.
pub fn decode_f64(blob: &[u8], out: &mut [f64]) {
    for (o, c) in out.iter_mut().zip(blob.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        *o = f64::from_le_bytes(b);
    }
}

/// Encodes `values` as a blob of `elem` (tests, benchmarks, tooling).
pub fn encode(elem: ElemType, values: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * elem.size());
    for &v in values {
        match elem {
            ElemType::Float32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
            ElemType::Float64 => out.extend_from_slice(&v.to_le_bytes()),
            ElemType::Float16 => out.extend_from_slice(&f16::from_f64(v).to_le_bytes()),
            ElemType::BFloat16 => out.extend_from_slice(&bf16::from_f64(v).to_le_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_type_little_endian() {
        let mut out = [0f32; 2];
        decode_f32(
            ElemType::Float32,
            &[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0],
            &mut out,
        );
        assert_eq!(out, [1.0, -2.0]);
        // f16: 1.0 = 0x3c00, -2.0 = 0xc000.
        decode_f32(ElemType::Float16, &[0x00, 0x3c, 0x00, 0xc0], &mut out);
        assert_eq!(out, [1.0, -2.0]);
        // bf16: 1.0 = 0x3f80, 0.5 = 0x3f00.
        decode_f32(ElemType::BFloat16, &[0x80, 0x3f, 0x00, 0x3f], &mut out);
        assert_eq!(out, [1.0, 0.5]);
        let mut out64 = [0f64; 1];
        decode_f64(&0.1f64.to_le_bytes(), &mut out64);
        assert_eq!(out64, [0.1]);
    }

    #[test]
    fn encode_round_trips() {
        for elem in [ElemType::Float32, ElemType::Float16, ElemType::BFloat16] {
            let blob = encode(elem, &[1.5, -0.25, 3.0]);
            assert_eq!(blob.len(), 3 * elem.size());
            let mut out = [0f32; 3];
            decode_f32(elem, &blob, &mut out);
            assert_eq!(out, [1.5, -0.25, 3.0]);
        }
    }
}
