//! Distance kernels and the element types vectors are stored as.
//!
//! Two primitive kernels cover every metric: squared L2 and the dot
//! product (IP = 1 − dot; COSINE = 1 − dot of vectors normalised at insert
//! and query time, which is what RediSearch does, so cosine costs the same
//! as IP per comparison).
//!
//! Each kernel has a portable version (several independent accumulators so
//! the compiler can keep lanes busy without reassociating a single sum) and,
//! on x86_64, an AVX2+FMA version chosen once per index by runtime feature
//! detection. Both are checked against a plain scalar reference in tests.
//! FLOAT32/FLOAT16/BFLOAT16 vectors are stored and compared as `f32` (the
//! half types are widened on the way in, exactly); FLOAT64 as `f64`.

use super::{convert, ElemType, Metric};

/// A distance kernel over two equally long slices.
pub type Kernel<T> = fn(&[T], &[T]) -> T;

/// A stored element type (`f32` or `f64`) with its kernels.
pub trait Scalar: Copy + Default + Send + Sync + 'static + std::fmt::Debug {
    /// Widening to f64 is exact for both element types.
    fn to_f64(self) -> f64;
    /// The best squared-L2 kernel this CPU supports.
    fn l2_kernel() -> Kernel<Self>;
    /// The best dot-product kernel this CPU supports.
    fn dot_kernel() -> Kernel<Self>;
    /// `1 - v`, in the element type's own arithmetic (RediSearch computes
    /// IP/COSINE distances in float for FLOAT32).
    fn one_minus(v: Self) -> Self;
    /// Scales `v` to unit length; a zero vector is left as is (its cosine
    /// distance to anything is then 1, never NaN).
    fn normalize(v: &mut [Self]);
    /// Decodes a little-endian blob whose length was already validated.
    fn decode(elem: ElemType, blob: &[u8], out: &mut [Self]);
}

impl Scalar for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn l2_kernel() -> Kernel<f32> {
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx2_fma() {
            return x86::l2_f32;
        }
        l2_f32_portable
    }
    fn dot_kernel() -> Kernel<f32> {
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx2_fma() {
            return x86::dot_f32;
        }
        dot_f32_portable
    }
    fn one_minus(v: f32) -> f32 {
        1.0 - v
    }
    fn normalize(v: &mut [f32]) {
        let norm = (Self::dot_kernel())(v, v).sqrt();
        if norm > 0.0 && norm.is_finite() {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    fn decode(elem: ElemType, blob: &[u8], out: &mut [f32]) {
        convert::decode_f32(elem, blob, out);
    }
}

impl Scalar for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn l2_kernel() -> Kernel<f64> {
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx2_fma() {
            return x86::l2_f64;
        }
        l2_f64_portable
    }
    fn dot_kernel() -> Kernel<f64> {
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx2_fma() {
            return x86::dot_f64;
        }
        dot_f64_portable
    }
    fn one_minus(v: f64) -> f64 {
        1.0 - v
    }
    fn normalize(v: &mut [f64]) {
        let norm = (Self::dot_kernel())(v, v).sqrt();
        if norm > 0.0 && norm.is_finite() {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    fn decode(_elem: ElemType, blob: &[u8], out: &mut [f64]) {
        convert::decode_f64(blob, out);
    }
}

/// A metric bound to the kernels selected for this CPU: what an index
/// calls for every comparison.
#[derive(Clone, Copy)]
pub struct Distance<T: Scalar> {
    metric: Metric,
    l2: Kernel<T>,
    dot: Kernel<T>,
}

impl<T: Scalar> Distance<T> {
    pub fn new(metric: Metric) -> Self {
        Distance {
            metric,
            l2: T::l2_kernel(),
            dot: T::dot_kernel(),
        }
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Brings a freshly decoded vector (stored or query) into the form the
    /// metric compares: unit length for COSINE, untouched otherwise.
    #[inline]
    pub fn prepare(&self, v: &mut [T]) {
        if self.metric == Metric::Cosine {
            T::normalize(v);
        }
    }

    /// The distance in RediSearch's convention, computed in `T` and
    /// widened to f64.
    #[inline]
    pub fn eval(&self, a: &[T], b: &[T]) -> f64 {
        match self.metric {
            Metric::L2 => (self.l2)(a, b).to_f64(),
            Metric::Ip | Metric::Cosine => T::one_minus((self.dot)(a, b)).to_f64(),
        }
    }
}

/// Decodes and prepares a vector blob (length already validated).
pub fn decode_prepared<T: Scalar>(dist: &Distance<T>, elem: ElemType, blob: &[u8]) -> Vec<T> {
    let dim = blob.len() / elem.size();
    let mut v = vec![T::default(); dim];
    T::decode(elem, blob, &mut v);
    dist.prepare(&mut v);
    v
}

/// Lanes of independent accumulators in the portable kernels: enough to
/// hide FP add latency and to let LLVM map them onto SIMD registers.
const LANES: usize = 8;

macro_rules! portable_kernels {
    ($t:ty, $l2:ident, $dot:ident) => {
        /// Portable squared-L2 kernel.
        pub fn $l2(a: &[$t], b: &[$t]) -> $t {
            let n = a.len().min(b.len());
            let (a, b) = (&a[..n], &b[..n]);
            let mut acc = [0.0 as $t; LANES];
            let mut ca = a.chunks_exact(LANES);
            let mut cb = b.chunks_exact(LANES);
            for (x, y) in (&mut ca).zip(&mut cb) {
                for i in 0..LANES {
                    let d = x[i] - y[i];
                    acc[i] += d * d;
                }
            }
            let mut sum: $t = acc.iter().sum();
            for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
                let d = x - y;
                sum += d * d;
            }
            sum
        }

        /// Portable dot-product kernel.
        pub fn $dot(a: &[$t], b: &[$t]) -> $t {
            let n = a.len().min(b.len());
            let (a, b) = (&a[..n], &b[..n]);
            let mut acc = [0.0 as $t; LANES];
            let mut ca = a.chunks_exact(LANES);
            let mut cb = b.chunks_exact(LANES);
            for (x, y) in (&mut ca).zip(&mut cb) {
                for i in 0..LANES {
                    acc[i] += x[i] * y[i];
                }
            }
            let mut sum: $t = acc.iter().sum();
            for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
                sum += x * y;
            }
            sum
        }
    };
}

portable_kernels!(f32, l2_f32_portable, dot_f32_portable);
portable_kernels!(f64, l2_f64_portable, dot_f64_portable);

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    //! AVX2 + FMA kernels. The `pub` entry points are safe wrappers that
    //! are only ever handed out (by `Scalar::*_kernel`) after
    //! [`has_avx2_fma`] returned true.
    use std::arch::x86_64::*;

    pub fn has_avx2_fma() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// Sum of the 8 lanes of `v`.
    #[target_feature(enable = "avx2,fma")]
    fn hsum_ps(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_hadd_ps(s, s);
        let s = _mm_hadd_ps(s, s);
        _mm_cvtss_f32(s)
    }

    /// Sum of the 4 lanes of `v`.
    #[target_feature(enable = "avx2,fma")]
    fn hsum_pd(v: __m256d) -> f64 {
        let lo = _mm256_castpd256_pd128(v);
        let hi = _mm256_extractf128_pd(v, 1);
        let s = _mm_add_pd(lo, hi);
        let s = _mm_hadd_pd(s, s);
        _mm_cvtsd_f64(s)
    }

    #[target_feature(enable = "avx2,fma")]
    fn l2_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // Four independent chains, as in `dot_f32_avx2`.
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (k, slot) in acc.iter_mut().enumerate() {
                // SAFETY: i + 32 <= n <= len of both slices, so every
                // 8-lane unaligned load at i + 8k (k < 4) stays in bounds.
                let (x, y) = unsafe {
                    (
                        _mm256_loadu_ps(pa.add(i + 8 * k)),
                        _mm256_loadu_ps(pb.add(i + 8 * k)),
                    )
                };
                let d = _mm256_sub_ps(x, y);
                *slot = _mm256_fmadd_ps(d, d, *slot);
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, in bounds of both slices.
            let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
            let d = _mm256_sub_ps(x, y);
            acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
            i += 8;
        }
        let mut sum = hsum_ps(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        for j in i..n {
            let d = a[j] - b[j];
            sum += d * d;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    fn dot_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // Four independent accumulators: an FMA's latency is four cycles,
        // so two chains left the FMA units half idle on long vectors.
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (k, slot) in acc.iter_mut().enumerate() {
                // SAFETY: i + 32 <= n <= len of both slices, so every
                // 8-lane unaligned load at i + 8k (k < 4) stays in bounds.
                let (x, y) = unsafe {
                    (
                        _mm256_loadu_ps(pa.add(i + 8 * k)),
                        _mm256_loadu_ps(pb.add(i + 8 * k)),
                    )
                };
                *slot = _mm256_fmadd_ps(x, y, *slot);
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, in bounds of both slices.
            let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
            acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
            i += 8;
        }
        let mut sum = hsum_ps(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ));
        for j in i..n {
            sum += a[j] * b[j];
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    fn l2_f64_avx2(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_pd();
        let mut acc1 = _mm256_setzero_pd();
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= len of both slices: two 4-lane loads.
            let (x0, y0, x1, y1) = unsafe {
                (
                    _mm256_loadu_pd(pa.add(i)),
                    _mm256_loadu_pd(pb.add(i)),
                    _mm256_loadu_pd(pa.add(i + 4)),
                    _mm256_loadu_pd(pb.add(i + 4)),
                )
            };
            let d0 = _mm256_sub_pd(x0, y0);
            let d1 = _mm256_sub_pd(x1, y1);
            acc0 = _mm256_fmadd_pd(d0, d0, acc0);
            acc1 = _mm256_fmadd_pd(d1, d1, acc1);
            i += 8;
        }
        if i + 4 <= n {
            // SAFETY: i + 4 <= n, in bounds of both slices.
            let (x, y) = unsafe { (_mm256_loadu_pd(pa.add(i)), _mm256_loadu_pd(pb.add(i))) };
            let d = _mm256_sub_pd(x, y);
            acc0 = _mm256_fmadd_pd(d, d, acc0);
            i += 4;
        }
        let mut sum = hsum_pd(_mm256_add_pd(acc0, acc1));
        for j in i..n {
            let d = a[j] - b[j];
            sum += d * d;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    fn dot_f64_avx2(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_pd();
        let mut acc1 = _mm256_setzero_pd();
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= len of both slices.
            let (x0, y0, x1, y1) = unsafe {
                (
                    _mm256_loadu_pd(pa.add(i)),
                    _mm256_loadu_pd(pb.add(i)),
                    _mm256_loadu_pd(pa.add(i + 4)),
                    _mm256_loadu_pd(pb.add(i + 4)),
                )
            };
            acc0 = _mm256_fmadd_pd(x0, y0, acc0);
            acc1 = _mm256_fmadd_pd(x1, y1, acc1);
            i += 8;
        }
        if i + 4 <= n {
            // SAFETY: i + 4 <= n, in bounds of both slices.
            let (x, y) = unsafe { (_mm256_loadu_pd(pa.add(i)), _mm256_loadu_pd(pb.add(i))) };
            acc0 = _mm256_fmadd_pd(x, y, acc0);
            i += 4;
        }
        let mut sum = hsum_pd(_mm256_add_pd(acc0, acc1));
        for j in i..n {
            sum += a[j] * b[j];
        }
        sum
    }

    // The safe entry points. SAFETY (all four): they are reachable only
    // through `Scalar::l2_kernel`/`dot_kernel` after `has_avx2_fma()`
    // returned true, or from tests that check it first, so the
    // target-feature functions run on a CPU that has AVX2 and FMA.
    pub fn l2_f32(a: &[f32], b: &[f32]) -> f32 {
        debug_assert!(has_avx2_fma());
        // SAFETY: see above.
        unsafe { l2_f32_avx2(a, b) }
    }
    pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        debug_assert!(has_avx2_fma());
        // SAFETY: see above.
        unsafe { dot_f32_avx2(a, b) }
    }
    pub fn l2_f64(a: &[f64], b: &[f64]) -> f64 {
        debug_assert!(has_avx2_fma());
        // SAFETY: see above.
        unsafe { l2_f64_avx2(a, b) }
    }
    pub fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
        debug_assert!(has_avx2_fma());
        // SAFETY: see above.
        unsafe { dot_f64_avx2(a, b) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn l2_ref(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }
    fn dot_ref(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }
    /// Tolerance for a sum of `n` products of magnitude ≤ `scale`, in the
    /// precision with unit roundoff `eps`.
    fn tol(n: usize, scale: f64, eps: f64) -> f64 {
        (n as f64 + 1.0) * scale * eps * 4.0 + 1e-30
    }

    fn pairs() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        (0usize..300).prop_flat_map(|n| {
            (
                proptest::collection::vec(-100.0f32..100.0, n),
                proptest::collection::vec(-100.0f32..100.0, n),
            )
        })
    }

    proptest! {
        #[test]
        fn f32_kernels_match_scalar_reference((a, b) in pairs()) {
            let a64: Vec<f64> = a.iter().map(|&x| x as f64).collect();
            let b64: Vec<f64> = b.iter().map(|&x| x as f64).collect();
            let (l2, dot) = (l2_ref(&a64, &b64), dot_ref(&a64, &b64));
            let mut kernels: Vec<(Kernel<f32>, Kernel<f32>)> =
                vec![(l2_f32_portable, dot_f32_portable)];
            #[cfg(target_arch = "x86_64")]
            if x86::has_avx2_fma() {
                kernels.push((x86::l2_f32, x86::dot_f32));
            }
            let eps = f32::EPSILON as f64;
            for (kl2, kdot) in kernels {
                prop_assert!((kl2(&a, &b) as f64 - l2).abs() <= tol(a.len(), 40000.0, eps));
                prop_assert!((kdot(&a, &b) as f64 - dot).abs() <= tol(a.len(), 10000.0, eps));
            }
        }

        #[test]
        fn f64_kernels_match_scalar_reference((a, b) in pairs()) {
            let a: Vec<f64> = a.iter().map(|&x| x as f64 * 1.000_000_1).collect();
            let b: Vec<f64> = b.iter().map(|&x| x as f64).collect();
            let (l2, dot) = (l2_ref(&a, &b), dot_ref(&a, &b));
            let mut kernels: Vec<(Kernel<f64>, Kernel<f64>)> =
                vec![(l2_f64_portable, dot_f64_portable)];
            #[cfg(target_arch = "x86_64")]
            if x86::has_avx2_fma() {
                kernels.push((x86::l2_f64, x86::dot_f64));
            }
            for (kl2, kdot) in kernels {
                prop_assert!((kl2(&a, &b) - l2).abs() <= tol(a.len(), 40000.0, f64::EPSILON));
                prop_assert!((kdot(&a, &b) - dot).abs() <= tol(a.len(), 10000.0, f64::EPSILON));
            }
        }
    }

    #[test]
    fn metrics_follow_redisearch_conventions() {
        let l2 = Distance::<f32>::new(Metric::L2);
        assert_eq!(l2.eval(&[0.0, 0.0], &[3.0, 4.0]), 25.0);
        let ip = Distance::<f32>::new(Metric::Ip);
        assert_eq!(ip.eval(&[1.0, 2.0], &[3.0, 4.0]), -10.0);
        let cos = Distance::<f32>::new(Metric::Cosine);
        let mut a = vec![2.0f32, 0.0];
        let mut b = vec![0.0f32, 5.0];
        cos.prepare(&mut a);
        cos.prepare(&mut b);
        assert_eq!(cos.eval(&a, &b), 1.0);
        assert_eq!(cos.eval(&a, &a), 0.0);
        // A zero vector stays zero: distance 1 to everything, never NaN.
        let mut z = vec![0.0f32; 2];
        cos.prepare(&mut z);
        assert_eq!(z, vec![0.0, 0.0]);
        assert_eq!(cos.eval(&z, &a), 1.0);
        let cos64 = Distance::<f64>::new(Metric::Cosine);
        let mut c = vec![1.0f64, 1.0];
        cos64.prepare(&mut c);
        assert!(cos64.eval(&c, &c).abs() < 1e-15);
    }
}
