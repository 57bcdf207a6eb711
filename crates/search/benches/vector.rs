//! Vector index micro-benchmarks: distance kernels, FLAT and HNSW KNN.
//!
//! `cargo bench -p quiver-search --bench vector`. Setup prints HNSW's
//! recall@10 against FLAT at each EF_RUNTIME measured, so speed numbers
//! come with the accuracy they buy.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use quiver_search::vector::convert::encode;
use quiver_search::vector::{new_index, ElemType, QueryOpts, VectorIndex, VectorParams};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const N: usize = 20_000;
const DIM: usize = 128;
const QUERIES: usize = 200;

/// Clustered data (200 random centres plus noise), closer to real
/// embeddings than uniform noise, where every point is almost equally far
/// from every other and no graph index reaches high recall cheaply.
fn blobs(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut centres_rng = SmallRng::seed_from_u64(7);
    let centres: Vec<Vec<f64>> = (0..200)
        .map(|_| (0..DIM).map(|_| centres_rng.gen_range(-1.0..1.0)).collect())
        .collect();
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let c = &centres[rng.gen_range(0..centres.len())];
            let v: Vec<f64> = c.iter().map(|x| x + rng.gen_range(-0.3..0.3)).collect();
            encode(ElemType::Float32, &v)
        })
        .collect()
}

fn params(algo: &str) -> VectorParams {
    let dim = DIM.to_string();
    let toks = ["TYPE", "FLOAT32", "DIM", &dim, "DISTANCE_METRIC", "COSINE"];
    let toks: Vec<&[u8]> = toks.iter().map(|t| t.as_bytes()).collect();
    VectorParams::parse(algo.as_bytes(), &toks).expect("valid params")
}

fn recall(h: &dyn VectorIndex, f: &dyn VectorIndex, qs: &[Vec<u8>], ef: usize) -> f64 {
    let opts = QueryOpts {
        ef_runtime: Some(ef),
        epsilon: None,
    };
    let mut hit = 0;
    for q in qs {
        let want = f.knn(q, 10, opts, None).expect("knn");
        let got = h.knn(q, 10, opts, None).expect("knn");
        hit += got
            .iter()
            .filter(|g| want.iter().any(|w| w.0 == g.0))
            .count();
    }
    hit as f64 / (10 * qs.len()) as f64
}

fn bench(c: &mut Criterion) {
    let data = blobs(N, 1);
    let qs = blobs(QUERIES, 2);
    let flat = new_index(&params("FLAT"));
    let hnsw = new_index(&params("HNSW"));
    let t = std::time::Instant::now();
    for (i, b) in data.iter().enumerate() {
        hnsw.insert(i as u32, b).expect("insert");
    }
    let accepted = t.elapsed();
    hnsw.wait_idle();
    eprintln!(
        "HNSW {N} x {DIM}: inserts accepted in {accepted:?}, graph built in {:?}",
        t.elapsed()
    );
    for (i, b) in data.iter().enumerate() {
        flat.insert(i as u32, b).expect("insert");
    }
    for ef in [10, 50, 100, 200] {
        eprintln!(
            "HNSW recall@10 at ef {ef}: {:.3}",
            recall(&*hnsw, &*flat, &qs, ef)
        );
    }

    let mut i = 0;
    c.bench_function("flat knn10 20k x 128", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            black_box(
                flat.knn(&qs[i], 10, QueryOpts::default(), None)
                    .expect("knn"),
            )
        })
    });
    for ef in [10, 100] {
        let opts = QueryOpts {
            ef_runtime: Some(ef),
            epsilon: None,
        };
        c.bench_function(&format!("hnsw knn10 ef{ef} 20k x 128"), |b| {
            b.iter(|| {
                i = (i + 1) % QUERIES;
                black_box(hnsw.knn(&qs[i], 10, opts, None).expect("knn"))
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
