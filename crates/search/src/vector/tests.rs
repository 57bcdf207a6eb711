//! Factory-level checks: every algorithm × element type through the
//! `VectorIndex` trait object the rest of the crate uses.

use super::convert::encode;
use super::*;

#[test]
fn every_algorithm_and_type_round_trips() {
    for algo in ["FLAT", "HNSW"] {
        for ty in ["FLOAT32", "FLOAT64", "FLOAT16", "BFLOAT16"] {
            for metric in ["L2", "IP", "COSINE"] {
                let toks = ["TYPE", ty, "DIM", "3", "DISTANCE_METRIC", metric];
                let toks: Vec<&[u8]> = toks.iter().map(|t| t.as_bytes()).collect();
                let p = VectorParams::parse(algo.as_bytes(), &toks).unwrap();
                let idx = new_index(&p);
                let e = |v: &[f64]| encode(p.elem, v);
                idx.insert(1, &e(&[1.0, 0.0, 0.0])).unwrap();
                idx.insert(2, &e(&[0.0, 2.0, 0.0])).unwrap();
                idx.insert(3, &e(&[0.5, 0.5, 0.0])).unwrap();
                assert_eq!(idx.len(), 3);
                let got = idx
                    .knn(&e(&[1.0, 0.0, 0.0]), 3, QueryOpts::default(), None)
                    .unwrap();
                let want: Vec<(DocId, f64)> = match metric {
                    "L2" => vec![(1, 0.0), (3, 0.5), (2, 5.0)],
                    "IP" => vec![(1, 0.0), (3, 0.5), (2, 1.0)],
                    _ => {
                        let c = 1.0 - (0.5f32 / (0.5f32 * 0.5 + 0.5 * 0.5).sqrt()) as f64;
                        vec![(1, 0.0), (3, c), (2, 1.0)]
                    }
                };
                assert_eq!(got.len(), 3, "{algo} {ty} {metric}");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g.0, w.0, "{algo} {ty} {metric}: {got:?}");
                    assert!((g.1 - w.1).abs() < 1e-3, "{algo} {ty} {metric}: {got:?}");
                }
                idx.remove(1);
                idx.remove(1);
                assert_eq!(idx.len(), 2);
                idx.wait_idle();
                assert_eq!(idx.backlog(), 0);
                let got = idx
                    .knn(&e(&[1.0, 0.0, 0.0]), 1, QueryOpts::default(), None)
                    .unwrap();
                assert_eq!(got[0].0, 3, "{algo} {ty} {metric}");
                let wrong = vec![0u8; p.blob_len() + 1];
                assert_eq!(
                    idx.insert(9, &wrong),
                    Err(VectorError::BlobSize {
                        got: p.blob_len() + 1,
                        want: p.blob_len()
                    })
                );
                assert!(idx.memory_bytes() > 0);
            }
        }
    }
}

#[test]
fn error_texts() {
    assert_eq!(
        VectorError::BlobSize { got: 4, want: 8 }.to_string(),
        "Could not add vector with blob size 4 (expected size 8)"
    );
    assert_eq!(
        VectorError::QueryBlobSize { got: 7, want: 8 }.to_string(),
        "Error parsing vector similarity query: query vector blob size (7) does not match index's expected size (8)."
    );
    assert_eq!(fmt_radius(-1.0), "-1");
    assert_eq!(fmt_radius(-0.25), "-0.25");
}
