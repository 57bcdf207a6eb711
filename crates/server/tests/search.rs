//! FT.* over real sockets with redis-rs: index creation and scanning,
//! KNN/range queries and their reply shapes, keyspace-driven re-indexing
//! (HSET, DEL, RENAME, expiry, FLUSHALL), concurrency of writes and queries.

mod common;
use common::*;
use redis::Value;

fn f32s(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn create_l2(con: &mut redis::Connection, algo: &str) {
    let ok: String = redis::cmd("FT.CREATE")
        .arg("idx")
        .arg("ON")
        .arg("HASH")
        .arg("PREFIX")
        .arg(1)
        .arg("doc:")
        .arg("SCHEMA")
        .arg("tag")
        .arg("TAG")
        .arg("n")
        .arg("NUMERIC")
        .arg("SORTABLE")
        .arg("v")
        .arg("VECTOR")
        .arg(algo)
        .arg(6)
        .arg("TYPE")
        .arg("FLOAT32")
        .arg("DIM")
        .arg(2)
        .arg("DISTANCE_METRIC")
        .arg("L2")
        .query(con)
        .unwrap();
    assert_eq!(ok, "OK");
}

fn add(con: &mut redis::Connection, key: &str, tag: &str, n: i64, v: [f32; 2]) {
    let _: i64 = redis::cmd("HSET")
        .arg(key)
        .arg("tag")
        .arg(tag)
        .arg("n")
        .arg(n)
        .arg("v")
        .arg(f32s(&v))
        .query(con)
        .unwrap();
}

/// The keys of an FT.SEARCH RESP2 reply, in order.
fn keys_of(reply: &Value) -> Vec<String> {
    let Value::Array(items) = reply else {
        panic!("not an array: {reply:?}")
    };
    items
        .iter()
        .skip(1)
        .filter_map(|v| match v {
            Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect()
}

fn total_of(reply: &Value) -> i64 {
    match reply {
        Value::Array(items) => match items.first() {
            Some(Value::Int(n)) => *n,
            other => panic!("no total: {other:?}"),
        },
        other => panic!("not an array: {other:?}"),
    }
}

fn knn(con: &mut redis::Connection, query: &str, q: [f32; 2]) -> Value {
    redis::cmd("FT.SEARCH")
        .arg("idx")
        .arg(query)
        .arg("PARAMS")
        .arg(2)
        .arg("q")
        .arg(f32s(&q))
        .arg("SORTBY")
        .arg("d")
        .arg("DIALECT")
        .arg(2)
        .query(con)
        .unwrap()
}

#[test]
fn knn_reply_shape_and_order() {
    let srv = server();
    let mut con = client(&srv);
    create_l2(&mut con, "HNSW");
    add(&mut con, "doc:1", "a", 1, [0.0, 0.0]);
    add(&mut con, "doc:2", "b", 2, [3.0, 4.0]);
    add(&mut con, "doc:3", "a", 3, [1.0, 0.0]);
    let r = knn(&mut con, "*=>[KNN 2 @v $q AS d]", [0.0, 0.0]);
    assert_eq!(total_of(&r), 2);
    assert_eq!(keys_of(&r), ["doc:1", "doc:3"]);
    // Without RETURN the distance comes first, then every hash field.
    let Value::Array(items) = &r else {
        unreachable!()
    };
    let Value::Array(fields) = &items[2] else {
        panic!("fields: {:?}", items[2])
    };
    assert_eq!(fields[0], Value::BulkString(b"d".to_vec()));
    assert_eq!(fields[1], Value::BulkString(b"0".to_vec()));
    // L2 is squared: doc:2 is at 25.
    let r = knn(&mut con, "*=>[KNN 3 @v $q AS d]", [0.0, 0.0]);
    let Value::Array(items) = &r else {
        unreachable!()
    };
    let Value::Array(fields) = &items[6] else {
        panic!()
    };
    assert_eq!(fields[1], Value::BulkString(b"25".to_vec()));
}

#[test]
fn prefilter_and_keyspace_changes() {
    let srv = server();
    let mut con = client(&srv);
    // Documents written before FT.CREATE are found by the initial scan.
    add(&mut con, "doc:1", "a", 1, [0.0, 0.0]);
    add(&mut con, "doc:2", "b", 2, [1.0, 0.0]);
    add(&mut con, "other:1", "a", 1, [0.0, 0.0]);
    create_l2(&mut con, "FLAT");
    add(&mut con, "doc:3", "a", 3, [2.0, 0.0]);
    let r = knn(&mut con, "@tag:{a}=>[KNN 10 @v $q AS d]", [0.0, 0.0]);
    assert_eq!(keys_of(&r), ["doc:1", "doc:3"]);
    // RENAME moves the document; DEL removes it; a non-hash overwrite too.
    let _: () = redis::cmd("RENAME")
        .arg("doc:1")
        .arg("doc:9")
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("DEL").arg("doc:3").query(&mut con).unwrap();
    let r = knn(&mut con, "@tag:{a}=>[KNN 10 @v $q AS d]", [0.0, 0.0]);
    assert_eq!(keys_of(&r), ["doc:9"]);
    let _: () = redis::cmd("SET")
        .arg("doc:9")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let r = knn(&mut con, "*=>[KNN 10 @v $q AS d]", [0.0, 0.0]);
    assert_eq!(keys_of(&r), ["doc:2"]);
}

#[test]
fn expired_documents_are_never_returned() {
    let srv = server();
    let mut con = client(&srv);
    create_l2(&mut con, "HNSW");
    add(&mut con, "doc:1", "a", 1, [0.0, 0.0]);
    add(&mut con, "doc:2", "a", 2, [1.0, 0.0]);
    let _: i64 = redis::cmd("PEXPIRE")
        .arg("doc:1")
        .arg(30)
        .query(&mut con)
        .unwrap();
    // Stop the active cycle so only the index's own expiry check can hide it.
    let _: () = redis::cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg(0)
        .query(&mut con)
        .unwrap_or(());
    std::thread::sleep(std::time::Duration::from_millis(80));
    let r = knn(&mut con, "*=>[KNN 10 @v $q AS d]", [0.0, 0.0]);
    assert_eq!(keys_of(&r), ["doc:2"]);
    assert_eq!(total_of(&r), 1);
}

#[test]
fn numeric_sort_limit_and_nocontent() {
    let srv = server();
    let mut con = client(&srv);
    create_l2(&mut con, "FLAT");
    for i in 0..20 {
        add(&mut con, &format!("doc:{i}"), "t", i, [i as f32, 0.0]);
    }
    let r: Value = redis::cmd("FT.SEARCH")
        .arg("idx")
        .arg("@n:[(5 15]")
        .arg("NOCONTENT")
        .arg("SORTBY")
        .arg("n")
        .arg("DESC")
        .arg("LIMIT")
        .arg(0)
        .arg(3)
        .query(&mut con)
        .unwrap();
    assert_eq!(total_of(&r), 10);
    assert_eq!(keys_of(&r), ["doc:15", "doc:14", "doc:13"]);
}

#[test]
fn errors_are_redisearch_words() {
    let srv = server();
    let mut con = client(&srv);
    create_l2(&mut con, "HNSW");
    assert!(err(&mut con, &["FT.CREATE", "idx", "SCHEMA", "x", "TEXT"])
        .contains("Index already exists"));
    assert!(err(&mut con, &["FT.SEARCH", "nope", "*"]).contains("no such index"));
    assert!(err(&mut con, &["FT.INFO", "nope"]).contains("Unknown"));
    assert!(err(
        &mut con,
        &[
            "FT.CREATE",
            "v2",
            "SCHEMA",
            "v",
            "VECTOR",
            "HNSW",
            "3",
            "TYPE",
            "FLOAT32",
            "DIM"
        ]
    )
    .contains(
        "Bad number of arguments for vector similarity index: got 3 but expected even number"
    ));
    assert!(err(
        &mut con,
        &[
            "FT.CREATE",
            "v2",
            "SCHEMA",
            "v",
            "VECTOR",
            "FLAT",
            "6",
            "TYPE",
            "FLOAT32",
            "DIM",
            "2"
        ]
    )
    .contains("Expected 6 parameters but got 4"));
    let e = err(
        &mut con,
        &[
            "FT.SEARCH",
            "idx",
            "*=>[KNN 2 @v $q]",
            "PARAMS",
            "2",
            "q",
            "abc",
            "DIALECT",
            "2",
        ],
    );
    assert!(
        e.contains("query vector blob size (3) does not match index's expected size (8)"),
        "{e}"
    );
    // The connection survives every error.
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn writes_and_queries_from_many_clients() {
    let srv = server();
    let mut con = client(&srv);
    create_l2(&mut con, "HNSW");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut c = client(&srv);
            std::thread::spawn(move || {
                for i in 0..250 {
                    add(
                        &mut c,
                        &format!("doc:{w}:{i}"),
                        "t",
                        i,
                        [w as f32, i as f32],
                    );
                    if i % 50 == 0 {
                        let r = knn(&mut c, "*=>[KNN 5 @v $q AS d]", [w as f32, i as f32]);
                        // The vector just written is the nearest one.
                        assert_eq!(keys_of(&r)[0], format!("doc:{w}:{i}"));
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let info: Value = redis::cmd("FT.INFO").arg("idx").query(&mut con).unwrap();
    let Value::Array(items) = info else { panic!() };
    let pos = items
        .iter()
        .position(|v| *v == Value::BulkString(b"num_docs".to_vec()))
        .unwrap();
    assert_eq!(items[pos + 1], Value::Int(1000));
}

#[test]
fn flushall_drops_indexes() {
    let srv = server();
    let mut con = client(&srv);
    create_l2(&mut con, "FLAT");
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let list: Vec<String> = redis::cmd("FT._LIST").query(&mut con).unwrap();
    assert!(list.is_empty());
}

/// A KNN query whose RETURN names only its distance reads nothing from the
/// keyspace: the index alone must then hide expired, deleted and
/// overwritten documents.
#[test]
fn knn_returning_only_the_distance_hides_dead_documents() {
    let srv = server();
    let mut con = client(&srv);
    create_l2(&mut con, "HNSW");
    for (i, x) in [0.0f32, 1.0, 2.0, 3.0].iter().enumerate() {
        add(&mut con, &format!("doc:{i}"), "a", i as i64, [*x, 0.0]);
    }
    let _: () = redis::cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg(0)
        .query(&mut con)
        .unwrap_or(());
    let _: i64 = redis::cmd("PEXPIRE")
        .arg("doc:0")
        .arg(30)
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("DEL").arg("doc:1").query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("doc:2")
        .arg("no longer a hash")
        .query(&mut con)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(80));
    let r: Value = redis::cmd("FT.SEARCH")
        .arg("idx")
        .arg("*=>[KNN 10 @v $q AS d]")
        .arg("PARAMS")
        .arg(2)
        .arg("q")
        .arg(f32s(&[0.0, 0.0]))
        .arg("RETURN")
        .arg(1)
        .arg("d")
        .arg("DIALECT")
        .arg(2)
        .query(&mut con)
        .unwrap();
    assert_eq!(keys_of(&r), ["doc:3"]);
    assert_eq!(total_of(&r), 1);
    let Value::Array(items) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(
        items[2],
        Value::Array(vec![
            Value::BulkString(b"d".to_vec()),
            Value::BulkString(b"9".to_vec())
        ])
    );
}
