//! In-process HNSW benchmark driven by `scripts/bench-vector`.
//!
//! The script writes the data set once (so Quiver and hnswlib see the same
//! vectors) and this binary measures what the index alone can do, without
//! the server: graph build throughput (inserts accepted, then
//! `wait_idle()` for the background builder), single-threaded KNN QPS and
//! recall@k at each requested EF_RUNTIME, and `memory_bytes()`.
//!
//! ```text
//! cargo run --release -p quiver-search --example vector_bench -- \
//!     DIR M EF_CONSTRUCTION EF[,EF…] [K]
//! ```
//! `DIR` holds `base.f32`, `queries.f32` (each: u32 count, u32 dim, then
//! little-endian f32 rows) and `gt.u32` (u32 count, u32 k, then the exact
//! top-k row indices per query, nearest first). Output: one JSON object per
//! line on stdout, so the script can parse it without a JSON dependency
//! here.

use std::time::Instant;

use quiver_search::vector::{new_index, QueryOpts, VectorParams};

/// A matrix file: (rows, dim, row-major values).
fn read_matrix(path: &str) -> Result<(usize, usize, Vec<u8>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if bytes.len() < 8 {
        return Err(format!("{path}: truncated header"));
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (n, d) = (word(0) as usize, word(4) as usize);
    let body = bytes[8..].to_vec();
    if body.len() != n * d * 4 {
        return Err(format!("{path}: expected {n}x{d} 4-byte values"));
    }
    Ok((n, d, body))
}

fn usage() -> ! {
    eprintln!("usage: vector_bench DIR M EF_CONSTRUCTION EF[,EF...] [K [PASSES]]");
    std::process::exit(2)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        usage();
    }
    let dir = &args[1];
    let m = &args[2];
    let efc = &args[3];
    let efs: Vec<usize> = args[4]
        .split(',')
        .map(|s| s.parse().map_err(|_| format!("bad EF {s:?}")))
        .collect::<Result<_, _>>()?;
    let k: usize = match args.get(5) {
        Some(s) => s.parse().map_err(|_| format!("bad K {s:?}"))?,
        None => 10,
    };
    // Timed passes over the query set per ef: QPS is their median (one
    // pass of 1,000 queries is ~0.2 s, short enough for this machine's
    // noise to move it by 10%), latencies are pooled.
    let passes: usize = match args.get(6) {
        Some(s) => s.parse().map_err(|_| format!("bad PASSES {s:?}"))?,
        None => 1,
    }
    .max(1);

    let (n, dim, base) = read_matrix(&format!("{dir}/base.f32"))?;
    let (nq, qdim, queries) = read_matrix(&format!("{dir}/queries.f32"))?;
    let (gq, gk, gt_bytes) = read_matrix(&format!("{dir}/gt.u32"))?;
    if qdim != dim || gq != nq || gk < k {
        return Err("queries/ground truth do not match the base vectors".into());
    }
    let gt: Vec<u32> = gt_bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();

    let dim_s = dim.to_string();
    let toks = [
        "TYPE",
        "FLOAT32",
        "DIM",
        &dim_s,
        "DISTANCE_METRIC",
        "COSINE",
        "M",
        m,
        "EF_CONSTRUCTION",
        efc,
    ];
    let toks: Vec<&[u8]> = toks.iter().map(|t| t.as_bytes()).collect();
    let params = VectorParams::parse(b"HNSW", &toks)?;
    let index = new_index(&params);

    let row = dim * 4;
    let t = Instant::now();
    for (i, blob) in base.chunks_exact(row).enumerate() {
        index.insert(i as u32, blob).map_err(|e| e.to_string())?;
    }
    let accepted = t.elapsed().as_secs_f64();
    index.wait_idle();
    let built = t.elapsed().as_secs_f64();
    println!(
        "{{\"event\":\"build\",\"n\":{n},\"dim\":{dim},\"accept_s\":{accepted:.4},\"build_s\":{built:.4},\"inserts_per_s\":{:.1},\"memory_bytes\":{}}}",
        n as f64 / built,
        index.memory_bytes()
    );

    for ef in efs {
        let opts = QueryOpts {
            ef_runtime: Some(ef),
            epsilon: None,
        };
        // One warm-up pass (page faults, scratch buffers), then the timed one.
        for q in queries.chunks_exact(row).take(100) {
            index.knn(q, k, opts, None).map_err(|e| e.to_string())?;
        }
        let mut hits = 0usize;
        let mut lat_us: Vec<f64> = Vec::with_capacity(nq * passes);
        let mut pass_qps: Vec<f64> = Vec::with_capacity(passes);
        for pass in 0..passes {
            let t = Instant::now();
            for (qi, q) in queries.chunks_exact(row).enumerate() {
                let t1 = Instant::now();
                let got = index.knn(q, k, opts, None).map_err(|e| e.to_string())?;
                lat_us.push(t1.elapsed().as_secs_f64() * 1e6);
                if pass == 0 {
                    let want = &gt[qi * gk..qi * gk + k];
                    hits += got.iter().filter(|(id, _)| want.contains(id)).count();
                }
            }
            pass_qps.push(nq as f64 / t.elapsed().as_secs_f64());
        }
        pass_qps.sort_by(f64::total_cmp);
        let qps = pass_qps[passes / 2];
        lat_us.sort_by(f64::total_cmp);
        let pct = |p: f64| lat_us[((lat_us.len() as f64 * p) as usize).min(lat_us.len() - 1)];
        println!(
            "{{\"event\":\"search\",\"ef\":{ef},\"k\":{k},\"qps\":{:.1},\"recall\":{:.4},\"p50_us\":{:.1},\"p99_us\":{:.1}}}",
            qps,
            hits as f64 / (nq * k) as f64,
            pct(0.5),
            pct(0.99)
        );
    }
    Ok(())
}
