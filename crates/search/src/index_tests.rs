//! Tests of [`Index`]: documents, field indexes, the query language end to
//! end, KNN/range, ordering, expiry, and a property test of the evaluator
//! against a naive filter.

use super::*;
#[path = "index_tests_brute.rs"]
mod brute;
use crate::schema::{FieldKind, TagOpts, TextOpts};
use crate::vector::{Algorithm, ElemType, Metric, VectorParams};

fn vparams(algo: Algorithm, dim: usize) -> VectorParams {
    VectorParams {
        algorithm: algo,
        elem: ElemType::Float32,
        dim,
        metric: Metric::L2,
        initial_cap: None,
        block_size: None,
        m: 16,
        ef_construction: 200,
        ef_runtime: 10,
        epsilon: 0.01,
    }
}

fn schema() -> IndexDef {
    let mut def = IndexDef::new("idx");
    def.prefixes = vec![b"doc:".to_vec()];
    let mut title = Field::new("title", FieldKind::Text(TextOpts::default()));
    title.sortable = true;
    def.fields.push(title);
    def.fields.push(Field::new(
        "body",
        FieldKind::Text(TextOpts {
            weight: 0.5,
            ..TextOpts::default()
        }),
    ));
    def.fields
        .push(Field::new("tags", FieldKind::Tag(TagOpts::default())));
    let mut price = Field::new("price", FieldKind::Numeric);
    price.sortable = true;
    def.fields.push(price);
    def.fields.push(Field::new("loc", FieldKind::Geo));
    let mut miss = Field::new("opt", FieldKind::Tag(TagOpts::default()));
    miss.index_missing = true;
    def.fields.push(miss);
    def.fields.push(Field::new(
        "v",
        FieldKind::Vector(vparams(Algorithm::Flat, 2)),
    ));
    def.fields.push(Field::new(
        "h",
        FieldKind::Vector(vparams(Algorithm::Hnsw, 2)),
    ));
    def
}

fn vec2(a: f32, b: f32) -> Vec<u8> {
    let mut v = a.to_le_bytes().to_vec();
    v.extend_from_slice(&b.to_le_bytes());
    v
}

fn add(ix: &mut Index, key: &str, pairs: &[(&str, &[u8])]) {
    let fields: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_bytes(), *v)).collect();
    ix.upsert(key.as_bytes(), &fields, 0);
}

fn brute_factory(p: &VectorParams) -> Box<dyn VectorIndex> {
    Box::new(brute::BruteForce::new(p.clone()))
}

fn sample() -> Index {
    sample_with(crate::vector::new_index)
}

fn sample_with(factory: VectorFactory) -> Index {
    let mut ix = Index::with_vector_factory(schema(), factory);
    let v1 = vec2(0.0, 0.0);
    let v2 = vec2(1.0, 0.0);
    let v3 = vec2(3.0, 4.0);
    add(
        &mut ix,
        "doc:1",
        &[
            ("title", b"Hello world"),
            ("body", b"the quick brown fox is running"),
            ("tags", b"red, Blue"),
            ("price", b"10"),
            ("loc", b"-122.4194,37.7749"),
            ("v", &v1),
            ("h", &v1),
        ],
    );
    add(
        &mut ix,
        "doc:2",
        &[
            ("title", b"Goodbye world"),
            ("body", b"lazy dogs sleep"),
            ("tags", b"green"),
            ("price", b"20.5"),
            ("loc", b"-122.2711,37.8044"),
            ("opt", b"x"),
            ("v", &v2),
            ("h", &v2),
        ],
    );
    add(
        &mut ix,
        "doc:3",
        &[
            ("title", b"hello again"),
            ("body", b"runs and runners"),
            ("tags", b"red,apple pie"),
            ("price", b"30"),
            ("v", &v3),
        ],
    );
    ix
}

fn keys(ix: &Index, q: &str) -> Vec<String> {
    keys_req(
        ix,
        &SearchRequest {
            query: q,
            dialect: 2,
            ..SearchRequest::default()
        },
    )
}

fn keys_req(ix: &Index, req: &SearchRequest<'_>) -> Vec<String> {
    let out = ix
        .search(req)
        .unwrap_or_else(|e| panic!("{}: {e}", req.query));
    out.hits
        .iter()
        .map(|h| String::from_utf8_lossy(&h.key).into_owned())
        .collect()
}

fn err(ix: &Index, q: &str, params: &[(&[u8], &[u8])]) -> String {
    match ix.search(&SearchRequest {
        query: q,
        params,
        dialect: 2,
        ..SearchRequest::default()
    }) {
        Ok(o) => panic!("{q}: expected an error, got {} hits", o.total),
        Err(e) => e.0,
    }
}

#[test]
fn wildcard_returns_all_in_id_order() {
    let ix = sample();
    assert_eq!(keys(&ix, "*"), ["doc:1", "doc:2", "doc:3"]);
    let st = ix.stats();
    assert_eq!(st.num_docs, 3);
    assert_eq!(st.max_doc_id, 3);
    assert!(st.num_terms > 5 && st.num_records > 5);
}

#[test]
fn text_terms_fields_stems_prefix_fuzzy() {
    let ix = sample();
    assert_eq!(keys(&ix, "hello"), ["doc:1", "doc:3"]);
    assert_eq!(keys(&ix, "world hello"), ["doc:1"]);
    assert_eq!(keys(&ix, "HELLO | goodbye").len(), 3);
    assert_eq!(keys(&ix, "@title:world"), ["doc:1", "doc:2"]);
    assert_eq!(keys(&ix, "@body:world"), Vec::<String>::new());
    assert_eq!(keys(&ix, "@title|body:lazy"), ["doc:2"]);
    // Stemming both ways: `run` finds `running` and `runs`.
    let mut r = keys(&ix, "run");
    r.sort();
    assert_eq!(r, ["doc:1", "doc:3"]);
    assert_eq!(keys(&ix, "dog"), ["doc:2"]);
    // VERBATIM disables expansion.
    let v = keys_req(
        &ix,
        &SearchRequest {
            query: "run",
            verbatim: true,
            ..SearchRequest::default()
        },
    );
    assert!(v.is_empty());
    assert_eq!(keys(&ix, "goodb*"), ["doc:2"]);
    assert_eq!(keys(&ix, "%helo%"), ["doc:1", "doc:3"]);
    assert_eq!(keys(&ix, "%%gdbye%%"), ["doc:2"]);
    assert_eq!(keys(&ix, "%gdbye%"), Vec::<String>::new());
    assert_eq!(keys(&ix, "\"hello world\""), ["doc:1"]);
    // A phrase needs its words adjacent and in order (stop words skipped,
    // stems allowed).
    assert!(keys(&ix, "\"world hello\"").is_empty());
    assert!(keys(&ix, "\"quick fox\"").is_empty());
    assert_eq!(keys(&ix, "\"brown fox runs\""), ["doc:1"]);
    assert_eq!(keys(&ix, "@body:\"fox is running\""), ["doc:1"]);
    assert!(keys(&ix, "@title:\"brown fox\"").is_empty());
    assert_eq!(keys(&ix, "@title:(hello -world)"), ["doc:3"]);
    // Stop words are ignored in queries and not indexed.
    assert_eq!(keys(&ix, "the fox"), ["doc:1"]);
    assert!(keys(&ix, "the").is_empty());
    // INFIELDS limits bare terms.
    let inf = ["body"];
    let r = keys_req(
        &ix,
        &SearchRequest {
            query: "hello",
            in_fields: Some(&inf),
            ..SearchRequest::default()
        },
    );
    assert!(r.is_empty());
}

#[test]
fn custom_and_empty_stopwords() {
    let mut def = schema();
    def.stopwords = Some(vec![]);
    let mut ix = Index::new(def);
    add(&mut ix, "doc:1", &[("title", b"the end")]);
    assert_eq!(keys(&ix, "the"), ["doc:1"]);
}

#[test]
fn tags() {
    let ix = sample();
    assert_eq!(keys(&ix, "@tags:{red}"), ["doc:1", "doc:3"]);
    assert_eq!(keys(&ix, "@tags:{BLUE}"), ["doc:1"]);
    assert_eq!(keys(&ix, "@tags:{blue | green}"), ["doc:1", "doc:2"]);
    assert_eq!(keys(&ix, "@tags:{apple pie}"), ["doc:3"]);
    assert_eq!(keys(&ix, r"@tags:{apple\ pie}"), ["doc:3"]);
    assert_eq!(keys(&ix, "@tags:{gr*}"), ["doc:2"]);
    assert_eq!(keys(&ix, "@tags:{*ee*}"), ["doc:2"]);
    assert_eq!(keys(&ix, "-@tags:{red}"), ["doc:2"]);
    assert_eq!(keys(&ix, "@tags:{red} -@tags:{blue}"), ["doc:3"]);
    let p: &[(&[u8], &[u8])] = &[(b"t", b"green")];
    let r = keys_req(
        &ix,
        &SearchRequest {
            query: "@tags:{$t}",
            params: p,
            ..SearchRequest::default()
        },
    );
    assert_eq!(r, ["doc:2"]);
    assert_eq!(
        ix.tag_values("tags").unwrap(),
        ["apple pie", "blue", "green", "red"]
    );
    assert!(ix.tag_values("price").is_err());
}

#[test]
fn case_sensitive_tags_and_separator() {
    let mut def = IndexDef::new("i");
    def.fields.push(Field::new(
        "t",
        FieldKind::Tag(TagOpts {
            separator: b';',
            case_sensitive: true,
            with_suffix_trie: false,
        }),
    ));
    let mut ix = Index::new(def);
    add(&mut ix, "a", &[("t", b"Foo; bar,baz")]);
    assert_eq!(keys(&ix, "@t:{Foo}"), ["a"]);
    assert!(keys(&ix, "@t:{foo}").is_empty());
    assert_eq!(keys(&ix, r"@t:{bar\,baz}"), ["a"]);
    assert_eq!(ix.tag_values("t").unwrap(), ["Foo", "bar,baz"]);
}

#[test]
fn numeric_ranges_and_params() {
    let ix = sample();
    assert_eq!(keys(&ix, "@price:[10 20.5]"), ["doc:1", "doc:2"]);
    assert_eq!(keys(&ix, "@price:[(10 +inf]"), ["doc:2", "doc:3"]);
    assert_eq!(keys(&ix, "@price:[-inf (20.5]"), ["doc:1"]);
    assert_eq!(keys(&ix, "@price:[inf inf]"), Vec::<String>::new());
    let p: &[(&[u8], &[u8])] = &[(b"lo", b"15"), (b"hi", b"30"), (b"unused", b"x")];
    let r = keys_req(
        &ix,
        &SearchRequest {
            query: "@price:[$lo $hi]",
            params: p,
            ..SearchRequest::default()
        },
    );
    assert_eq!(r, ["doc:2", "doc:3"]);
    assert_eq!(
        err(&ix, "@price:[$nope 3]", &[]),
        "No such parameter `nope`"
    );
}

#[test]
fn geo_radius() {
    let ix = sample();
    assert_eq!(keys(&ix, "@loc:[-122.4194 37.7749 5 km]"), ["doc:1"]);
    assert_eq!(
        keys(&ix, "@loc:[-122.4194 37.7749 20 mi]"),
        ["doc:1", "doc:2"]
    );
    assert_eq!(keys(&ix, "@loc:[-122.4194 37.7749 100 ft]"), ["doc:1"]);
}

#[test]
fn ismissing() {
    let ix = sample();
    assert_eq!(keys(&ix, "ismissing(@opt)"), ["doc:1", "doc:3"]);
    assert_eq!(keys(&ix, "-ismissing(@opt)"), ["doc:2"]);
    assert_eq!(
        err(&ix, "ismissing(@tags)", &[]),
        "'ismissing' requires field 'tags' to be defined with 'INDEXMISSING'"
    );
}

#[test]
fn parse_errors() {
    let ix = sample();
    assert_eq!(
        err(&ix, "@nope:foo", &[]),
        "Unknown field at offset 0 near nope"
    );
    assert_eq!(
        err(&ix, "hi @nope:foo", &[]),
        "Unknown field at offset 3 near nope"
    );
    assert_eq!(
        err(&ix, "@tags:{x} @price:af-forge", &[]),
        "Syntax error at offset 17 near af"
    );
    assert_eq!(err(&ix, "hello )", &[]), "Syntax error at offset 6 near )");
    assert_eq!(
        err(&ix, "@price:[1 x]", &[]),
        "Syntax error at offset 10 near x"
    );
    assert_eq!(
        err(&ix, "@tags:red", &[]),
        "Syntax error at offset 6 near red"
    );
    assert_eq!(err(&ix, "(hello", &[]), "Syntax error at offset 6 near ");
    assert!(err(&ix, "hello | ", &[]).starts_with("Syntax error at offset"));
    assert_eq!(
        err(&ix, "@tags:{red", &[]),
        "Syntax error at offset 6 near {"
    );
    assert_eq!(err(&ix, "$x", &[]), "No such parameter `x`");
}

#[test]
fn unknown_scorer_is_an_error() {
    let ix = sample();
    let r = ix.search(&SearchRequest {
        query: "hello",
        scorer: Some("NOPE"),
        ..SearchRequest::default()
    });
    assert!(r.is_err());
}

#[test]
fn knn_with_and_without_prefilter() {
    knn_checks(sample());
    knn_checks(sample_with(brute_factory));
}

fn knn_checks(ix: Index) {
    let q = vec2(0.9, 0.0);
    let p: &[(&[u8], &[u8])] = &[(b"b", &q), (b"K", b"2")];
    let run = |query: &str| {
        ix.search(&SearchRequest {
            query,
            params: p,
            dialect: 2,
            ..SearchRequest::default()
        })
    };
    let out = run("*=>[KNN 2 @v $b]").unwrap();
    assert_eq!(out.total, 2);
    assert_eq!(out.yielded, ["__v_score"]);
    let ks: Vec<_> = out.hits.iter().map(|h| h.key.clone()).collect();
    assert_eq!(ks, [b"doc:2".to_vec(), b"doc:1".to_vec()]);
    assert!((out.hits[0].yielded[0] - 0.01).abs() < 1e-6);
    assert!((out.hits[1].yielded[0] - 0.81).abs() < 1e-6);

    let out = run("@tags:{red}=>[KNN $K @v $b AS dist]").unwrap();
    assert_eq!(out.yielded, ["dist"]);
    let ks: Vec<_> = out.hits.iter().map(|h| h.key.clone()).collect();
    assert_eq!(ks, [b"doc:1".to_vec(), b"doc:3".to_vec()]);

    // K larger than the matches, K = 0, keywords in any case.
    assert_eq!(
        run("(@price:[25 40])=>[knn 10 @v $b as d]").unwrap().total,
        1
    );
    assert_eq!(run("*=>[KNN 0 @v $b]").unwrap().total, 0);
    // HNSW field: doc 3 has no `h` vector.
    assert_eq!(run("*=>[KNN 10 @h $b EF_RUNTIME 20]").unwrap().total, 2);
    // KNN on a non-vector field: no results.
    assert_eq!(run("*=>[KNN 10 @price $b]").unwrap().total, 0);

    assert_eq!(
        run("*=>[KNN 2 @v $b EF_RUNTIME 10]").unwrap_err().0,
        "Error parsing vector similarity parameters: Invalid option"
    );
    assert_eq!(
        run("*=>[KNN 2 @v $b AS price]").unwrap_err().0,
        "Property `price` already exists in schema"
    );
    assert_eq!(
        run("*=>[KNN 2 @v $nope]").unwrap_err().0,
        "No such parameter `nope`"
    );
    let short: &[(&[u8], &[u8])] = &[(b"b", b"1234567")];
    let e = ix
        .search(&SearchRequest {
            query: "*=>[KNN 2 @v $b]",
            params: short,
            ..SearchRequest::default()
        })
        .unwrap_err();
    assert_eq!(
        e.0,
        "Error parsing vector similarity query: query vector blob size (7) does not match index's expected size (8)."
    );
    // SORTBY the distance alias, descending.
    let out = ix
        .search(&SearchRequest {
            query: "*=>[KNN 3 @v $b AS d]",
            params: p,
            sort_by: Some(("d", false)),
            ..SearchRequest::default()
        })
        .unwrap();
    let ks: Vec<_> = out.hits.iter().map(|h| h.key.clone()).collect();
    assert_eq!(
        ks,
        [b"doc:3".to_vec(), b"doc:1".to_vec(), b"doc:2".to_vec()]
    );
}

#[test]
fn vector_range_with_filters() {
    range_checks(sample());
    range_checks(sample_with(brute_factory));
}

fn range_checks(ix: Index) {
    let q = vec2(0.0, 0.0);
    let p: &[(&[u8], &[u8])] = &[(b"b", &q), (b"r", b"1.5"), (b"neg", b"-1")];
    let run = |query: &str| {
        ix.search(&SearchRequest {
            query,
            params: p,
            dialect: 2,
            ..SearchRequest::default()
        })
    };
    let out = run("@v:[VECTOR_RANGE $r $b]=>{$YIELD_DISTANCE_AS: dist}").unwrap();
    assert_eq!(out.total, 2);
    assert_eq!(out.yielded, ["dist"]);
    assert_eq!(out.hits[0].key, b"doc:1");
    assert_eq!(out.hits[0].yielded, [0.0]);
    assert_eq!(out.hits[1].yielded, [1.0]);
    let out = run("(@v:[VECTOR_RANGE 100 $b]=>{$yield_distance_as: d} @tags:{red})").unwrap();
    let ks: Vec<_> = out.hits.iter().map(|h| h.key.clone()).collect();
    assert_eq!(ks, [b"doc:1".to_vec(), b"doc:3".to_vec()]);
    assert_eq!(out.hits[1].yielded, [25.0]);
    assert_eq!(
        run("@v:[VECTOR_RANGE $neg $b]").unwrap_err().0,
        "Error parsing vector similarity query: negative radius (-1) given in a range query"
    );
}

#[test]
fn sorting() {
    let ix = sample();
    let by = |f: &'static str, asc: bool| {
        keys_req(
            &ix,
            &SearchRequest {
                query: "*",
                sort_by: Some((f, asc)),
                ..SearchRequest::default()
            },
        )
    };
    assert_eq!(by("price", false), ["doc:3", "doc:2", "doc:1"]);
    assert_eq!(by("price", true), ["doc:1", "doc:2", "doc:3"]);
    // Text compares case-folded: "goodbye" < "hello again" < "hello world".
    assert_eq!(by("title", true), ["doc:2", "doc:3", "doc:1"]);
    // Missing values last in both directions.
    assert_eq!(by("opt", true), ["doc:2", "doc:1", "doc:3"]);
    assert_eq!(by("opt", false), ["doc:2", "doc:1", "doc:3"]);
    let e = ix.search(&SearchRequest {
        query: "*",
        sort_by: Some(("nope", true)),
        ..SearchRequest::default()
    });
    assert_eq!(e.unwrap_err().0, "Property `nope` not loaded nor in schema");
}

#[test]
fn scoring_orders_by_relevance() {
    let mut def = IndexDef::new("s");
    def.fields
        .push(Field::new("t", FieldKind::Text(TextOpts::default())));
    def.fields.push(Field::new(
        "heavy",
        FieldKind::Text(TextOpts {
            weight: 10.0,
            ..TextOpts::default()
        }),
    ));
    def.score_field = Some("s".into());
    let mut ix = Index::new(def);
    add(&mut ix, "a", &[("t", b"apple banana cherry")]);
    add(&mut ix, "b", &[("t", b"apple apple apple")]);
    add(&mut ix, "c", &[("heavy", b"apple kiwi")]);
    add(&mut ix, "d", &[("t", b"kiwi")]);
    for scorer in [None, Some("BM25"), Some("BM25STD")] {
        let out = ix
            .search(&SearchRequest {
                query: "apple",
                scorer,
                ..SearchRequest::default()
            })
            .unwrap();
        assert_eq!(out.total, 3);
        assert_eq!(out.hits[0].key, b"c", "{scorer:?}: field weight wins");
        assert!(out.hits.iter().all(|h| h.score > 0.0));
    }
    // Document score multiplies.
    add(&mut ix, "e", &[("t", b"kiwi"), ("s", b"5")]);
    let out = ix
        .search(&SearchRequest {
            query: "kiwi",
            scorer: Some("BM25"),
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(out.hits[0].key, b"e");
    // $weight on a term changes the order of an OR.
    let out = ix
        .search(&SearchRequest {
            query: "kiwi | (banana)=>{$weight: 100}",
            scorer: Some("BM25"),
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(out.hits[0].key, b"a");
}

#[test]
fn overwrite_gets_new_id_and_old_terms_go() {
    let mut ix = sample();
    let before = ix.doc_id(b"doc:1").unwrap();
    add(
        &mut ix,
        "doc:1",
        &[("title", b"brand new"), ("price", b"99")],
    );
    let after = ix.doc_id(b"doc:1").unwrap();
    assert!(after > before);
    assert_eq!(ix.stats().num_docs, 3);
    assert_eq!(ix.stats().max_doc_id, 4);
    assert_eq!(keys(&ix, "hello"), ["doc:3"]);
    assert_eq!(keys(&ix, "brand"), ["doc:1"]);
    assert_eq!(keys(&ix, "@tags:{blue}"), Vec::<String>::new());
    assert_eq!(keys(&ix, "@price:[99 99]"), ["doc:1"]);
    assert_eq!(ix.doc_value(after, "price"), Some(&b"99"[..]));
    assert_eq!(ix.doc_value(after, "tags"), None);
    // Wildcard order follows ids, so the rewritten doc is last.
    assert_eq!(keys(&ix, "*"), ["doc:2", "doc:3", "doc:1"]);
    assert!(ix.remove(b"doc:1"));
    assert!(!ix.remove(b"doc:1"));
    assert_eq!(ix.stats().num_docs, 2);
    assert!(keys(&ix, "brand").is_empty());
}

#[test]
fn removal_reclaims_everything() {
    let mut ix = sample();
    for k in ["doc:1", "doc:2", "doc:3"] {
        assert!(ix.remove(k.as_bytes()));
    }
    let st = ix.stats();
    assert_eq!((st.num_docs, st.num_terms, st.num_records), (0, 0, 0));
    assert!(ix.text.terms.is_empty());
    assert!(ix.fields.iter().all(|f| match f {
        FieldIndex::Tag(t) => t.values.is_empty(),
        FieldIndex::Numeric(n) => n.entries.is_empty(),
        FieldIndex::Geo(g) => g.points.is_empty(),
        FieldIndex::Vector(v) => v.is_empty(),
        _ => true,
    }));
    assert_eq!(ix.doc_bytes, 0);
    assert_eq!(ix.total_text_len, 0);
}

#[test]
fn indexing_failures() {
    let mut ix = sample();
    add(&mut ix, "doc:2", &[("title", b"x"), ("v", b"abcd")]);
    let st = ix.stats();
    assert_eq!(st.hash_indexing_failures, 1);
    assert_eq!(
        st.last_error,
        Some((
            "Could not add vector with blob size 4 (expected size 8)".to_string(),
            b"doc:2".to_vec()
        ))
    );
    // The old version is gone, and nothing half-added remains.
    assert_eq!(st.num_docs, 2);
    assert!(keys(&ix, "goodbye").is_empty());
    assert!(keys(&ix, "@title:x").is_empty());
    add(&mut ix, "doc:9", &[("price", b"cheap")]);
    let st = ix.stats();
    assert_eq!(st.hash_indexing_failures, 2);
    assert_eq!(st.last_error.unwrap().1, b"doc:9");
    add(&mut ix, "doc:9", &[("loc", b"1000,1000")]);
    assert_eq!(ix.stats().hash_indexing_failures, 3);
    assert_eq!(ix.stats().num_docs, 2);
}

#[test]
fn expiry_purge() {
    let mut ix = Index::new(schema());
    ix.upsert(b"a", &[(b"title", b"one")], 1000);
    ix.upsert(b"b", &[(b"title", b"two")], 500);
    ix.upsert(b"c", &[(b"title", b"three")], 0);
    assert_eq!(ix.next_expiry(), Some(500));
    assert_eq!(ix.purge_expired(500), 0, "not expired at exactly its time");
    assert_eq!(ix.purge_expired(501), 1);
    assert_eq!(ix.next_expiry(), Some(1000));
    // Re-upserting with a new TTL replaces the old expiry.
    ix.upsert(b"a", &[(b"title", b"one")], 5000);
    assert_eq!(ix.next_expiry(), Some(5000));
    assert_eq!(ix.purge_expired(2000), 0);
    assert_eq!(ix.purge_expired(6000), 1);
    assert_eq!(ix.next_expiry(), None);
    assert_eq!(keys(&ix, "*"), ["c"]);
    ix.clear();
    assert_eq!(ix.stats().num_docs, 0);
}

#[test]
fn score_field_and_inkeys() {
    let ix = sample();
    let ks: [&[u8]; 2] = [b"doc:3", b"doc:nope"];
    let r = keys_req(
        &ix,
        &SearchRequest {
            query: "hello",
            in_keys: Some(&ks),
            ..SearchRequest::default()
        },
    );
    assert_eq!(r, ["doc:3"]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let ix = sample();
    let q = format!("{}hello{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(err(&ix, &q, &[]).starts_with("Syntax error at offset"));
    let q = "-".repeat(100_000) + "hello";
    assert!(err(&ix, &q, &[]).starts_with("Syntax error at offset"));
    let q = format!("{}hello{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(keys(&ix, &q), ["doc:1", "doc:3"]);
}

#[test]
fn explain_is_readable() {
    let ix = sample();
    let e = ix
        .explain("@title:hello @price:[1 2] | @tags:{a|b}", &[])
        .unwrap();
    assert!(
        e.starts_with("UNION {\n  INTERSECT {\n    @title:hello\n"),
        "{e}"
    );
    assert!(
        e.contains("NUMERIC {1.000000 <= @price <= 2.000000}"),
        "{e}"
    );
    assert!(e.contains("TAG:@tags {\n"), "{e}");
    let p: &[(&[u8], &[u8])] = &[(b"b", b"12345678")];
    let e = ix.explain("*=>[KNN 3 @v $b]", p).unwrap();
    assert!(e.starts_with("VECTOR {K=3 nearest vectors to `$b`"), "{e}");
    assert!(ix.explain("(", &[]).is_err());
}

#[test]
fn noindex_fields_are_stored_not_searchable() {
    let mut def = IndexDef::new("n");
    let mut f = Field::new("t", FieldKind::Text(TextOpts::default()));
    f.sortable = true;
    f.no_index = true;
    def.fields.push(f);
    let mut ix = Index::new(def);
    add(&mut ix, "a", &[("t", b"zebra")]);
    add(&mut ix, "b", &[("t", b"ant")]);
    assert!(keys(&ix, "zebra").is_empty());
    // A constraint on a NOINDEX field matches nothing, even inside an AND.
    assert!(keys(&ix, "@t:zebra *").is_empty());
    let r = keys_req(
        &ix,
        &SearchRequest {
            query: "*",
            sort_by: Some(("t", true)),
            ..SearchRequest::default()
        },
    );
    assert_eq!(r, ["b", "a"]);
}

#[test]
fn index_empty_tags() {
    let mut def = IndexDef::new("e");
    let mut f = Field::new("t", FieldKind::Tag(TagOpts::default()));
    f.index_empty = true;
    def.fields.push(f);
    def.fields
        .push(Field::new("u", FieldKind::Tag(TagOpts::default())));
    let mut ix = Index::new(def);
    add(&mut ix, "a", &[("t", b""), ("u", b"")]);
    add(&mut ix, "b", &[("t", b"x")]);
    assert_eq!(keys(&ix, "@t:{\"\"}"), ["a"]);
    assert!(keys(&ix, "@u:{\"\"}").is_empty());
}

#[test]
fn alter_add_field_then_reindex() {
    let mut def = IndexDef::new("a");
    def.fields
        .push(Field::new("t", FieldKind::Text(TextOpts::default())));
    let mut ix = Index::new(def);
    add(&mut ix, "a", &[("t", b"one"), ("n", b"5")]);
    let mut f = Field::new("n", FieldKind::Numeric);
    f.index_missing = true;
    f.sortable = true;
    ix.add_field(f);
    // Before the re-scan the old document has no slot for `n`: no panic.
    assert_eq!(keys(&ix, "ismissing(@n)"), ["a"]);
    let r = keys_req(
        &ix,
        &SearchRequest {
            query: "*",
            sort_by: Some(("n", true)),
            ..SearchRequest::default()
        },
    );
    assert_eq!(r, ["a"]);
    add(&mut ix, "a", &[("t", b"one"), ("n", b"5")]);
    assert_eq!(keys(&ix, "@n:[5 5]"), ["a"]);
    assert!(keys(&ix, "ismissing(@n)").is_empty());
}

// ---------------------------------------------------------------------------
// Property test: the evaluator against a naive filter over the documents.
// ---------------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    const TAGS: &[&str] = &["a", "b", "c", "d"];

    #[derive(Debug, Clone)]
    enum Q {
        Tag(Vec<usize>),
        Num(i32, bool, i32, bool),
        And(Box<Q>, Box<Q>),
        Or(Box<Q>, Box<Q>),
        Not(Box<Q>),
    }

    fn q_strategy() -> impl Strategy<Value = Q> {
        let leaf = prop_oneof![
            prop::collection::vec(0..TAGS.len(), 1..3).prop_map(Q::Tag),
            (-2i32..8, any::<bool>(), -2i32..8, any::<bool>())
                .prop_map(|(a, ae, b, be)| Q::Num(a, ae, b, be)),
        ];
        leaf.prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Q::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Q::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Q::Not(Box::new(a))),
            ]
        })
    }

    fn render(q: &Q) -> String {
        match q {
            Q::Tag(v) => format!(
                "@t:{{{}}}",
                v.iter().map(|&i| TAGS[i]).collect::<Vec<_>>().join("|")
            ),
            Q::Num(a, ae, b, be) => format!(
                "@n:[{}{} {}{}]",
                if *ae { "(" } else { "" },
                a,
                if *be { "(" } else { "" },
                b
            ),
            Q::And(a, b) => format!("({} {})", render(a), render(b)),
            Q::Or(a, b) => format!("({} | {})", render(a), render(b)),
            Q::Not(a) => format!("-{}", render(a)),
        }
    }

    /// (tags, number) of one document; `None` = field absent.
    type D = (Vec<usize>, Option<i32>);

    fn naive(q: &Q, d: &D) -> bool {
        match q {
            Q::Tag(v) => v.iter().any(|t| d.0.contains(t)),
            Q::Num(a, ae, b, be) => d.1.is_some_and(|x| {
                (if *ae { x > *a } else { x >= *a }) && (if *be { x < *b } else { x <= *b })
            }),
            Q::And(a, b) => naive(a, d) && naive(b, d),
            Q::Or(a, b) => naive(a, d) || naive(b, d),
            Q::Not(a) => !naive(a, d),
        }
    }

    proptest! {
        /// Whatever a client sends, parsing answers Ok or Err, never panics.
        #[test]
        fn parser_never_panics(q in "[-a-z0-9 @:{}\\[\\]()|*%$=>~\"\\\\;.,]{0,40}") {
            let ix = sample();
            let p: &[(&[u8], &[u8])] = &[(b"b", b"12345678"), (b"x", b"1")];
            let _ = ix.search(&SearchRequest { query: &q, params: p, ..SearchRequest::default() });
            let _ = ix.explain(&q, p);
        }

        #[test]
        fn evaluator_matches_naive_filter(
            docs in prop::collection::vec(
                (prop::collection::vec(0..TAGS.len(), 0..3), prop::option::of(-1i32..7)),
                0..12,
            ),
            q in q_strategy(),
        ) {
            let mut def = IndexDef::new("p");
            def.fields.push(Field::new("t", FieldKind::Tag(TagOpts::default())));
            def.fields.push(Field::new("n", FieldKind::Numeric));
            let mut ix = Index::new(def);
            for (i, (tags, num)) in docs.iter().enumerate() {
                let tv = tags.iter().map(|&t| TAGS[t].to_uppercase()).collect::<Vec<_>>().join(" , ");
                let nv = num.map(|n| n.to_string());
                let mut pairs: Vec<(&[u8], &[u8])> = Vec::new();
                if !tags.is_empty() {
                    pairs.push((b"t", tv.as_bytes()));
                }
                if let Some(n) = &nv {
                    pairs.push((b"n", n.as_bytes()));
                }
                ix.upsert(format!("k{i}").as_bytes(), &pairs, 0);
            }
            let query = render(&q);
            let mut got = keys(&ix, &query);
            got.sort();
            let mut want: Vec<String> = docs
                .iter()
                .enumerate()
                .filter(|(_, d)| naive(&q, d))
                .map(|(i, _)| format!("k{i}"))
                .collect();
            want.sort();
            prop_assert_eq!(got, want, "query {}", query);
        }
    }
}

#[test]
fn unchanged_content_only_moves_the_expiry() {
    let mut ix = Index::with_vector_factory(schema(), crate::vector::new_index);
    let v = vec2(1.0, 2.0);
    let pairs: [(&[u8], &[u8]); 2] = [(b"title", b"same text"), (b"v", &v)];
    ix.upsert(b"k", &pairs, 0);
    let id = ix.doc_id(b"k").expect("indexed");
    // The same fields again with a TTL (EXPIRE): same document, new expiry.
    ix.upsert(b"k", &pairs, 5_000);
    assert_eq!(ix.doc_id(b"k"), Some(id));
    assert_eq!(ix.next_expiry(), Some(5_000));
    // A changed value re-indexes under a new id, keeping the expiry given.
    let changed: [(&[u8], &[u8]); 2] = [(b"title", b"other text"), (b"v", &v)];
    ix.upsert(b"k", &changed, 5_000);
    assert_ne!(ix.doc_id(b"k"), Some(id));
    assert_eq!(ix.purge_expired(5_001), 1);
    assert_eq!(ix.doc_id(b"k"), None);
}
