//! FT.CREATE's `VECTOR <ALGO> <count> <key> <value> …` and FT.INFO's view
//! of it.
//!
//! Error messages are RediSearch's, word for word: clients (redis-py's
//! tests, RedisVL) match on substrings of them. RediSearch's argument cursor
//! words them as `Bad arguments for <what>: <reason>` where the reason is
//! one of a fixed set ([`BOUNDS`], [`NOARG`], [`PARSE`], [`UNKNOWN`]).

use super::{Algorithm, ElemType, Metric, VectorParams};

/// Reasons RediSearch's argument cursor gives for a bad argument.
const BOUNDS: &str = "Value is outside acceptable bounds";
const NOARG: &str = "Expected an argument, but none provided";
const PARSE: &str = "Could not convert argument to expected type";
const UNKNOWN: &str = "Unknown argument";

pub const DEFAULT_M: usize = 16;
pub const DEFAULT_EF_CONSTRUCTION: usize = 200;
pub const DEFAULT_EF_RUNTIME: usize = 10;
pub const DEFAULT_EPSILON: f64 = 0.01;

/// A value in FT.INFO's attribute list for a vector field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InfoValue {
    Str(&'static str),
    Int(i64),
}

/// Unsigned size as RediSearch reads it: an integer (a fraction is a
/// parse error), negative or (with `ge1`) zero is out of bounds.
fn get_size(tok: Option<&[u8]>, ge1: bool) -> Result<usize, &'static str> {
    let tok = tok.ok_or(NOARG)?;
    let s = std::str::from_utf8(tok).map_err(|_| PARSE)?;
    let v: i64 = s.parse().map_err(|_| PARSE)?;
    if v < 0 || (ge1 && v < 1) {
        return Err(BOUNDS);
    }
    usize::try_from(v).map_err(|_| BOUNDS)
}

/// A double (epsilon): must parse fully and be ≥ 0.
fn get_double_ge0(tok: Option<&[u8]>) -> Result<f64, &'static str> {
    let tok = tok.ok_or(NOARG)?;
    let s = std::str::from_utf8(tok).map_err(|_| PARSE)?;
    let v: f64 = s.parse().map_err(|_| PARSE)?;
    if v.is_nan() {
        return Err(PARSE);
    }
    if v < 0.0 {
        return Err(BOUNDS);
    }
    Ok(v)
}

fn get_type(tok: Option<&[u8]>) -> Result<ElemType, &'static str> {
    let tok = tok.ok_or(NOARG)?;
    [
        ElemType::Float32,
        ElemType::Float64,
        ElemType::Float16,
        ElemType::BFloat16,
    ]
    .into_iter()
    .find(|t| tok.eq_ignore_ascii_case(t.as_str().as_bytes()))
    .ok_or(UNKNOWN)
}

fn get_metric(tok: Option<&[u8]>) -> Result<Metric, &'static str> {
    let tok = tok.ok_or(NOARG)?;
    [Metric::L2, Metric::Ip, Metric::Cosine]
        .into_iter()
        .find(|m| tok.eq_ignore_ascii_case(m.as_str().as_bytes()))
        .ok_or(UNKNOWN)
}

impl VectorParams {
    /// Parses the algorithm token and the `count` attribute tokens that
    /// follow the count in `VECTOR <ALGO> <count> …` (the caller already
    /// split them off).
    pub fn parse(algo: &[u8], attrs: &[&[u8]]) -> Result<VectorParams, String> {
        let count = attrs.len().to_string();
        let mut args: Vec<&[u8]> = Vec::with_capacity(attrs.len() + 2);
        args.push(algo);
        args.push(count.as_bytes());
        args.extend_from_slice(attrs);
        Self::parse_from(&args).map(|(p, _)| p)
    }

    /// Parses `VECTOR`'s arguments starting at the algorithm token, in the
    /// rest of FT.CREATE's argument list: `args[0]` is the algorithm,
    /// `args[1]` the count, then attribute pairs. Returns the parameters
    /// and how many tokens were consumed, so the caller continues with the
    /// next field (or field flags) at `args[used..]`.
    ///
    /// Like RediSearch, it reads at most `count` tokens but stops early at
    /// the end of the arguments (then `Expected <count> parameters but got
    /// <n>`), and an unknown key inside the count is reported as such
    /// (`Bad arguments for algorithm FLAT: <key>`).
    pub fn parse_from<A: AsRef<[u8]>>(args: &[A]) -> Result<(VectorParams, usize), String> {
        let tok = |i: usize| args.get(i).map(|a| a.as_ref());
        let algo_tok = tok(0)
            .ok_or_else(|| format!("Bad arguments for vector similarity algorithm: {NOARG}"))?;
        // RediSearch compares the algorithm with strncasecmp over the
        // token's length, so any prefix of the name (even "") selects it.
        let is_prefix_of = |name: &str| {
            algo_tok.len() <= name.len()
                && algo_tok.eq_ignore_ascii_case(&name.as_bytes()[..algo_tok.len()])
        };
        let algorithm = if is_prefix_of("FLAT") {
            Algorithm::Flat
        } else if is_prefix_of("HNSW") {
            Algorithm::Hnsw
        } else {
            return Err(format!(
                "Bad arguments for vector similarity algorithm: {UNKNOWN}"
            ));
        };
        let algo_name = match algorithm {
            Algorithm::Flat => "FLAT",
            Algorithm::Hnsw => "HNSW",
        };
        let count = get_size(tok(1), false).map_err(|e| {
            format!("Bad arguments for vector similarity number of parameters: {e}")
        })?;
        if count % 2 == 1 {
            // The two algorithms word this differently in RediSearch.
            return Err(match algorithm {
                Algorithm::Flat => format!(
                    "Bad number of arguments for vector similarity index: got {count} but expected even number as algorithm parameters (should be submitted as named arguments)"
                ),
                Algorithm::Hnsw => format!(
                    "Bad number of arguments for vector similarity index: got {count} but expected even number (as algorithm parameters should be submitted as named arguments)"
                ),
            });
        }
        let want_pairs = count / 2;

        let mut p = VectorParams {
            algorithm,
            elem: ElemType::Float32,
            dim: 0,
            metric: Metric::L2,
            initial_cap: None,
            block_size: None,
            m: DEFAULT_M,
            ef_construction: DEFAULT_EF_CONSTRUCTION,
            ef_runtime: DEFAULT_EF_RUNTIME,
            epsilon: DEFAULT_EPSILON,
        };
        let (mut has_type, mut has_dim, mut has_metric) = (false, false, false);
        let bad = |what: &str, e: &str| {
            format!("Bad arguments for vector similarity {algo_name} index {what}: {e}")
        };
        let mut pos = 2;
        let mut pairs = 0;
        while pairs < want_pairs {
            let Some(key) = tok(pos) else { break };
            let value = tok(pos + 1);
            let is = |name: &str| key.eq_ignore_ascii_case(name.as_bytes());
            if is("TYPE") {
                p.elem = get_type(value).map_err(|e| bad("type", e))?;
                has_type = true;
            } else if is("DIM") {
                p.dim = get_size(value, true).map_err(|e| bad("dim", e))?;
                has_dim = true;
            } else if is("DISTANCE_METRIC") {
                p.metric = get_metric(value).map_err(|e| bad("metric", e))?;
                has_metric = true;
            } else if is("INITIAL_CAP") {
                p.initial_cap = Some(get_size(value, false).map_err(|e| bad("initial cap", e))?);
            } else if algorithm == Algorithm::Flat && is("BLOCK_SIZE") {
                p.block_size = Some(get_size(value, true).map_err(|e| bad("blocksize", e))?);
            } else if algorithm == Algorithm::Hnsw && is("M") {
                p.m = get_size(value, true).map_err(|e| bad("m", e))?;
            } else if algorithm == Algorithm::Hnsw && is("EF_CONSTRUCTION") {
                p.ef_construction = get_size(value, true).map_err(|e| bad("efConstruction", e))?;
            } else if algorithm == Algorithm::Hnsw && is("EF_RUNTIME") {
                p.ef_runtime = get_size(value, true).map_err(|e| bad("efRuntime", e))?;
            } else if algorithm == Algorithm::Hnsw && is("EPSILON") {
                p.epsilon = get_double_ge0(value).map_err(|e| bad("epsilon", e))?;
            } else {
                return Err(format!(
                    "Bad arguments for algorithm {algo_name}: {}",
                    String::from_utf8_lossy(key)
                ));
            }
            pos += 2;
            pairs += 1;
        }
        if pairs < want_pairs {
            return Err(format!(
                "Expected {} parameters but got {}",
                want_pairs * 2,
                pairs * 2
            ));
        }
        for (present, name) in [
            (has_type, "TYPE"),
            (has_dim, "DIM"),
            (has_metric, "DISTANCE_METRIC"),
        ] {
            if !present {
                return Err(format!(
                    "Missing mandatory parameter: cannot create {algo_name} index without specifying {name} argument"
                ));
            }
        }
        Ok((p, pos))
    }

    /// FT.INFO's key/value pairs for this field after `identifier … type
    /// VECTOR`, in RediSearch's order. FLAT gives 8 elements and HNSW 12:
    /// RedisVL drops a vector field whose entry has ≤ 6.
    pub fn info_pairs(&self) -> Vec<(&'static str, InfoValue)> {
        let mut out = vec![
            (
                "algorithm",
                InfoValue::Str(match self.algorithm {
                    Algorithm::Flat => "FLAT",
                    Algorithm::Hnsw => "HNSW",
                }),
            ),
            ("data_type", InfoValue::Str(self.elem.as_str())),
            ("dim", InfoValue::Int(self.dim as i64)),
            ("distance_metric", InfoValue::Str(self.metric.as_str())),
        ];
        if self.algorithm == Algorithm::Hnsw {
            out.push(("M", InfoValue::Int(self.m as i64)));
            out.push((
                "ef_construction",
                InfoValue::Int(self.ef_construction as i64),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(VectorParams, usize), String> {
        let toks: Vec<&str> = s.split_whitespace().collect();
        VectorParams::parse_from(&toks)
    }

    #[test]
    fn parses_flat_and_hnsw_with_defaults() {
        let (p, used) = parse("FLAT 6 TYPE FLOAT32 DIM 3 DISTANCE_METRIC COSINE tag TAG").unwrap();
        assert_eq!(used, 8);
        assert_eq!(
            (p.algorithm, p.elem, p.dim, p.metric),
            (Algorithm::Flat, ElemType::Float32, 3, Metric::Cosine)
        );
        assert_eq!(p.blob_len(), 12);
        let (p, used) = parse(
            "hnsw 14 type float16 dim 768 distance_metric ip M 8 EF_CONSTRUCTION 100 EF_RUNTIME 20 EPSILON 0.5",
        )
        .unwrap();
        assert_eq!(used, 16);
        assert_eq!(
            (p.algorithm, p.elem, p.metric),
            (Algorithm::Hnsw, ElemType::Float16, Metric::Ip)
        );
        assert_eq!(
            (p.m, p.ef_construction, p.ef_runtime, p.epsilon),
            (8, 100, 20, 0.5)
        );
        let (p, _) = parse("HNSW 6 TYPE BFLOAT16 DIM 2 DISTANCE_METRIC L2").unwrap();
        assert_eq!(
            (p.m, p.ef_construction, p.ef_runtime, p.epsilon),
            (16, 200, 10, 0.01)
        );
        let p = VectorParams::parse(
            b"FLAT",
            &[
                b"TYPE",
                b"FLOAT64",
                b"DIM",
                b"4",
                b"DISTANCE_METRIC",
                b"L2",
                b"INITIAL_CAP",
                b"10",
                b"BLOCK_SIZE",
                b"5",
            ],
        )
        .unwrap();
        assert_eq!(
            (p.elem, p.initial_cap, p.block_size, p.blob_len()),
            (ElemType::Float64, Some(10), Some(5), 32)
        );
    }

    #[test]
    fn errors_match_redisearch() {
        let err = |s: &str| parse(s).unwrap_err();
        assert_eq!(
            err("IVF 6 TYPE FLOAT32"),
            "Bad arguments for vector similarity algorithm: Unknown argument"
        );
        assert_eq!(err(""), "Bad arguments for vector similarity algorithm: Expected an argument, but none provided");
        assert_eq!(err("FLAT"), "Bad arguments for vector similarity number of parameters: Expected an argument, but none provided");
        assert_eq!(err("FLAT x"), "Bad arguments for vector similarity number of parameters: Could not convert argument to expected type");
        assert_eq!(err("FLAT 6"), "Expected 6 parameters but got 0");
        assert_eq!(
            err("HNSW 8 TYPE FLOAT32 DIM 2"),
            "Expected 8 parameters but got 4"
        );
        assert_eq!(
            err("FLAT 1 TYPE"),
            "Bad number of arguments for vector similarity index: got 1 but expected even number as algorithm parameters (should be submitted as named arguments)"
        );
        assert_eq!(
            err("HNSW 3 TYPE"),
            "Bad number of arguments for vector similarity index: got 3 but expected even number (as algorithm parameters should be submitted as named arguments)"
        );
        assert_eq!(
            err("FLAT 6 TYPE FLOAT32 SIZE 2 DISTANCE_METRIC L2"),
            "Bad arguments for algorithm FLAT: SIZE"
        );
        assert_eq!(err("FLAT 2 M 16"), "Bad arguments for algorithm FLAT: M");
        assert_eq!(
            err("HNSW 2 BLOCK_SIZE 16"),
            "Bad arguments for algorithm HNSW: BLOCK_SIZE"
        );
        assert_eq!(
            err("HNSW 2 TYPE INT7"),
            "Bad arguments for vector similarity HNSW index type: Unknown argument"
        );
        assert_eq!(err("FLAT 2 DIM 0"), "Bad arguments for vector similarity FLAT index dim: Value is outside acceptable bounds");
        assert_eq!(err("FLAT 2 DIM 1.5"), "Bad arguments for vector similarity FLAT index dim: Could not convert argument to expected type");
        assert_eq!(
            err("FLAT 2 DISTANCE_METRIC HAMMING"),
            "Bad arguments for vector similarity FLAT index metric: Unknown argument"
        );
        assert_eq!(err("FLAT 2 INITIAL_CAP -1"), "Bad arguments for vector similarity FLAT index initial cap: Value is outside acceptable bounds");
        assert_eq!(err("FLAT 2 BLOCK_SIZE x"), "Bad arguments for vector similarity FLAT index blocksize: Could not convert argument to expected type");
        assert_eq!(err("HNSW 2 M str"), "Bad arguments for vector similarity HNSW index m: Could not convert argument to expected type");
        assert_eq!(err("HNSW 2 EF_CONSTRUCTION 0"), "Bad arguments for vector similarity HNSW index efConstruction: Value is outside acceptable bounds");
        assert_eq!(err("HNSW 2 EF_RUNTIME 14.3"), "Bad arguments for vector similarity HNSW index efRuntime: Could not convert argument to expected type");
        assert_eq!(err("HNSW 2 EPSILON -1"), "Bad arguments for vector similarity HNSW index epsilon: Value is outside acceptable bounds");
        assert_eq!(err("HNSW 2 DIM"), "Bad arguments for vector similarity HNSW index dim: Expected an argument, but none provided");
        assert_eq!(
            err("FLAT 4 TYPE FLOAT32 DISTANCE_METRIC L2"),
            "Missing mandatory parameter: cannot create FLAT index without specifying DIM argument"
        );
        assert_eq!(err("HNSW 4 DIM 2 DISTANCE_METRIC L2"), "Missing mandatory parameter: cannot create HNSW index without specifying TYPE argument");
        assert_eq!(err("FLAT 4 DIM 2 TYPE FLOAT32"), "Missing mandatory parameter: cannot create FLAT index without specifying DISTANCE_METRIC argument");
        // The count bounds what is read: a field after it is not a pair.
        assert_eq!(
            err("FLAT 8 TYPE FLOAT32 DIM 2 DISTANCE_METRIC L2 t TAG"),
            "Bad arguments for algorithm FLAT: t"
        );
    }

    #[test]
    fn info_pairs_in_redisearch_order() {
        let (p, _) = parse("FLAT 6 TYPE FLOAT32 DIM 3 DISTANCE_METRIC COSINE").unwrap();
        assert_eq!(
            p.info_pairs(),
            vec![
                ("algorithm", InfoValue::Str("FLAT")),
                ("data_type", InfoValue::Str("FLOAT32")),
                ("dim", InfoValue::Int(3)),
                ("distance_metric", InfoValue::Str("COSINE")),
            ]
        );
        let (p, _) = parse("HNSW 6 TYPE FLOAT64 DIM 2 DISTANCE_METRIC L2").unwrap();
        let pairs = p.info_pairs();
        assert_eq!(pairs.len(), 6);
        assert_eq!(pairs[4], ("M", InfoValue::Int(16)));
        assert_eq!(pairs[5], ("ef_construction", InfoValue::Int(200)));
    }
}
