//! JSON.* over the wire: the legacy-path vs JSONPath reply shapes, errors
//! worded as RedisJSON words them, and generic commands on JSON keys.

mod common;

use common::*;
use redis::Value;

fn s(con: &mut redis::Connection, args: &[&str]) -> Option<String> {
    redis::cmd(args[0]).arg(&args[1..]).query(con).unwrap()
}

fn i(con: &mut redis::Connection, args: &[&str]) -> i64 {
    redis::cmd(args[0]).arg(&args[1..]).query(con).unwrap()
}

#[test]
fn set_and_get_legacy_vs_jsonpath() {
    let srv = server();
    let mut con = client(&srv);
    let doc = r#"{"b":1,"a":{"x":[1,2.5,"s"]},"n":null}"#;
    assert_eq!(
        s(&mut con, &["JSON.SET", "d", "$", doc]).as_deref(),
        Some("OK")
    );
    // Member order is insertion order, numbers keep their kind.
    assert_eq!(s(&mut con, &["JSON.GET", "d"]).as_deref(), Some(doc));
    assert_eq!(s(&mut con, &["JSON.GET", "d", "."]).as_deref(), Some(doc));
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", "$"]),
        Some(format!("[{doc}]"))
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", ".a.x[1]"]).as_deref(),
        Some("2.5")
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", "$.a.x[-1]"]).as_deref(),
        Some(r#"["s"]"#)
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", "$.nope"]).as_deref(),
        Some("[]")
    );
    assert_eq!(
        err(&mut con, &["JSON.GET", "d", ".nope"]),
        "ERR Path '$.nope' does not exist"
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", ".b", ".n"]).as_deref(),
        Some(r#"{".b":1,".n":null}"#)
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", "$.b", ".n"]).as_deref(),
        Some(r#"{"$.b":[1],".n":[null]}"#)
    );
    assert_eq!(
        s(
            &mut con,
            &["JSON.GET", "d", "INDENT", "\t", "NEWLINE", "\n", "SPACE", " ", ".a"]
        )
        .as_deref(),
        Some("{\n\t\"x\": [\n\t\t1,\n\t\t2.5,\n\t\t\"s\"\n\t]\n}")
    );
    assert_eq!(s(&mut con, &["JSON.GET", "missing"]), None);
}

#[test]
fn set_conditions_and_creation_rules() {
    let srv = server();
    let mut con = client(&srv);
    assert_eq!(
        err(&mut con, &["JSON.SET", "d", ".a", "1"]),
        "ERR new objects must be created at the root"
    );
    assert_eq!(s(&mut con, &["JSON.SET", "d", "$", "{}", "XX"]), None);
    assert_eq!(
        s(&mut con, &["JSON.SET", "d", "$", r#"{"a":1}"#, "NX"]).as_deref(),
        Some("OK")
    );
    assert_eq!(s(&mut con, &["JSON.SET", "d", "$", "{}", "NX"]), None);
    assert_eq!(s(&mut con, &["JSON.SET", "d", "$.a", "2", "NX"]), None);
    assert_eq!(s(&mut con, &["JSON.SET", "d", "$.b", "2", "XX"]), None);
    assert_eq!(
        s(&mut con, &["JSON.SET", "d", "$.b", "[3]", "NX"]).as_deref(),
        Some("OK")
    );
    // A missing parent is not created.
    assert_eq!(s(&mut con, &["JSON.SET", "d", "$.x.y", "1"]), None);
    assert_eq!(
        err(&mut con, &["JSON.SET", "d", "$", "{}", "NX", "XX"]),
        "ERR syntax error"
    );
    assert!(err(&mut con, &["JSON.SET", "d", "$", "{bad"]).starts_with("ERR "));
    assert_eq!(
        s(&mut con, &["JSON.GET", "d"]).as_deref(),
        Some(r#"{"a":1,"b":[3]}"#)
    );
    cmd(&mut con, &["SET", "str", "v"]).unwrap();
    assert!(err(&mut con, &["JSON.GET", "str"]).starts_with("WRONGTYPE"));
    assert!(err(&mut con, &["JSON.SET", "str", "$", "1"]).starts_with("WRONGTYPE"));
}

#[test]
fn generic_commands_on_json_keys() {
    let srv = server();
    let mut con = client(&srv);
    s(&mut con, &["JSON.SET", "d", "$", r#"{"a":[1,2,3]}"#]);
    assert_eq!(s(&mut con, &["TYPE", "d"]).as_deref(), Some("ReJSON-RL"));
    assert_eq!(
        s(&mut con, &["OBJECT", "ENCODING", "d"]).as_deref(),
        Some("raw")
    );
    assert!(i(&mut con, &["MEMORY", "USAGE", "d"]) > 0);
    assert_eq!(i(&mut con, &["EXPIRE", "d", "100"]), 1);
    assert_eq!(i(&mut con, &["COPY", "d", "d2"]), 1);
    assert_eq!(s(&mut con, &["RENAME", "d2", "d3"]).as_deref(), Some("OK"));
    assert_eq!(
        s(&mut con, &["JSON.GET", "d3", "$.a[1]"]).as_deref(),
        Some("[2]")
    );
    let scan: (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("ReJSON-RL")
        .query(&mut con)
        .unwrap();
    let mut keys = scan.1;
    keys.sort();
    assert_eq!(keys, vec!["d", "d3"]);
    // Writing below the root keeps the TTL.
    s(&mut con, &["JSON.SET", "d", "$.a[0]", "9"]);
    assert!(i(&mut con, &["TTL", "d"]) > 0);
    assert_eq!(i(&mut con, &["DEL", "d", "d3"]), 2);
}

#[test]
fn delete_type_and_lengths() {
    let srv = server();
    let mut con = client(&srv);
    s(
        &mut con,
        &[
            "JSON.SET",
            "d",
            "$",
            r#"{"a":1,"nested":{"a":"xy","b":[1,2]},"o":{"k":1}}"#,
        ],
    );
    assert_eq!(
        s(&mut con, &["JSON.TYPE", "d", ".nested.b"]).as_deref(),
        Some("array")
    );
    let types: Vec<String> = redis::cmd("JSON.TYPE")
        .arg("d")
        .arg("$..a")
        .query(&mut con)
        .unwrap();
    assert_eq!(types, vec!["integer", "string"]);
    assert_eq!(i(&mut con, &["JSON.STRLEN", "d", ".nested.a"]), 2);
    let lens: Vec<Option<i64>> = redis::cmd("JSON.STRLEN")
        .arg("d")
        .arg("$..a")
        .query(&mut con)
        .unwrap();
    assert_eq!(lens, vec![None, Some(2)]);
    assert_eq!(i(&mut con, &["JSON.OBJLEN", "d"]), 3);
    assert_eq!(i(&mut con, &["JSON.ARRLEN", "d", ".nested.b"]), 2);
    assert_eq!(
        err(&mut con, &["JSON.ARRLEN", "d", ".a"]),
        "WRONGTYPE wrong type of path value - expected array but found integer"
    );
    let keys: Vec<String> = redis::cmd("JSON.OBJKEYS").arg("d").query(&mut con).unwrap();
    assert_eq!(keys, vec!["a", "nested", "o"]);
    assert_eq!(
        err(&mut con, &["JSON.STRLEN", "missing", "$"]),
        "ERR could not perform this operation on a key that doesn't exist"
    );
    assert_eq!(
        cmd(&mut con, &["JSON.STRLEN", "missing"]).unwrap(),
        Value::Nil
    );
    assert_eq!(i(&mut con, &["JSON.DEL", "d", "$..a"]), 2);
    assert_eq!(i(&mut con, &["JSON.DEL", "d", "$.nothing"]), 0);
    assert_eq!(
        s(&mut con, &["JSON.GET", "d"]).as_deref(),
        Some(r#"{"nested":{"b":[1,2]},"o":{"k":1}}"#)
    );
    assert_eq!(i(&mut con, &["JSON.FORGET", "d"]), 1);
    assert_eq!(i(&mut con, &["EXISTS", "d"]), 0);
    assert_eq!(i(&mut con, &["JSON.DEL", "d"]), 0);
}

#[test]
fn numbers_strings_booleans() {
    let srv = server();
    let mut con = client(&srv);
    s(
        &mut con,
        &[
            "JSON.SET",
            "d",
            "$",
            r#"{"a":"b","b":[{"a":2},{"a":5.0},{"a":"c"}],"t":false}"#,
        ],
    );
    assert_eq!(
        s(&mut con, &["JSON.NUMINCRBY", "d", "$..a", "2"]).as_deref(),
        Some("[null,4,7.0,null]")
    );
    assert_eq!(
        s(&mut con, &["JSON.NUMMULTBY", "d", ".b[0].a", "2.5"]).as_deref(),
        Some("10.0")
    );
    assert_eq!(
        err(&mut con, &["JSON.NUMINCRBY", "d", ".a", "1"]),
        "WRONGTYPE wrong type of path value - expected number but found string"
    );
    assert_eq!(
        err(&mut con, &["JSON.NUMINCRBY", "nokey", "$", "1"]),
        "ERR could not perform this operation on a key that doesn't exist"
    );
    assert_eq!(i(&mut con, &["JSON.STRAPPEND", "d", ".a", r#""cd""#]), 3);
    assert_eq!(
        s(&mut con, &["JSON.TOGGLE", "d", ".t"]).as_deref(),
        Some("true")
    );
    let t: Vec<Option<i64>> = redis::cmd("JSON.TOGGLE")
        .arg("d")
        .arg("$.t")
        .query(&mut con)
        .unwrap();
    assert_eq!(t, vec![Some(0)]);
    assert_eq!(i(&mut con, &["JSON.CLEAR", "d", "$.b[*].a"]), 2);
    assert_eq!(
        s(&mut con, &["JSON.GET", "d"]).as_deref(),
        Some(r#"{"a":"bcd","b":[{"a":0},{"a":0},{"a":"c"}],"t":false}"#)
    );
}

#[test]
fn arrays() {
    let srv = server();
    let mut con = client(&srv);
    s(
        &mut con,
        &["JSON.SET", "d", "$", r#"{"a":[0,4],"o":{"a":3}}"#],
    );
    assert_eq!(
        i(&mut con, &["JSON.ARRAPPEND", "d", ".a", "5", r#""x""#]),
        4
    );
    assert_eq!(
        i(&mut con, &["JSON.ARRINSERT", "d", ".a", "1", "1", "2", "3"]),
        7
    );
    assert_eq!(
        err(&mut con, &["JSON.ARRINSERT", "d", ".a", "99", "1"]),
        "ERR index out of bounds"
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", ".a"]).as_deref(),
        Some(r#"[0,1,2,3,4,5,"x"]"#)
    );
    assert_eq!(i(&mut con, &["JSON.ARRINDEX", "d", ".a", r#""x""#]), 6);
    assert_eq!(i(&mut con, &["JSON.ARRINDEX", "d", ".a", "3", "4"]), -1);
    let idx: Vec<Option<i64>> = redis::cmd("JSON.ARRINDEX")
        .arg("d")
        .arg("$..a")
        .arg("3")
        .query(&mut con)
        .unwrap();
    assert_eq!(idx, vec![Some(3), None]);
    assert_eq!(
        s(&mut con, &["JSON.ARRPOP", "d", ".a"]).as_deref(),
        Some(r#""x""#)
    );
    assert_eq!(
        s(&mut con, &["JSON.ARRPOP", "d", ".a", "0"]).as_deref(),
        Some("0")
    );
    assert_eq!(i(&mut con, &["JSON.ARRTRIM", "d", ".a", "1", "-2"]), 3);
    assert_eq!(
        s(&mut con, &["JSON.GET", "d", ".a"]).as_deref(),
        Some("[2,3,4]")
    );
    assert_eq!(i(&mut con, &["JSON.ARRTRIM", "d", ".a", "5", "9"]), 0);
    assert_eq!(s(&mut con, &["JSON.ARRPOP", "d", ".a"]), None);
}

#[test]
fn mget_mset_merge_and_filters() {
    let srv = server();
    let mut con = client(&srv);
    assert_eq!(
        s(
            &mut con,
            &[
                "JSON.MSET",
                "a",
                "$",
                r#"{"p":5,"t":"x"}"#,
                "b",
                "$",
                r#"{"p":15}"#
            ]
        )
        .as_deref(),
        Some("OK")
    );
    assert_eq!(
        err(&mut con, &["JSON.MSET", "a", "$.q", "1", "c", ".x", "1"]),
        "ERR new objects must be created at the root"
    );
    // Nothing was applied: the triplets are validated first.
    assert_eq!(
        s(&mut con, &["JSON.GET", "a", "$.q"]).as_deref(),
        Some("[]")
    );
    cmd(&mut con, &["SET", "str", "v"]).unwrap();
    let got: Vec<Option<String>> = redis::cmd("JSON.MGET")
        .arg(&["a", "b", "str", "none", "$.p"])
        .query(&mut con)
        .unwrap();
    assert_eq!(
        got,
        vec![Some("[5]".into()), Some("[15]".into()), None, None]
    );
    let got: Vec<Option<String>> = redis::cmd("JSON.MGET")
        .arg(&["a", "b", ".t"])
        .query(&mut con)
        .unwrap();
    assert_eq!(got, vec![Some(r#""x""#.into()), None]);
    assert_eq!(
        s(
            &mut con,
            &["JSON.MERGE", "a", "$", r#"{"t":null,"n":{"m":1}}"#]
        )
        .as_deref(),
        Some("OK")
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "a"]).as_deref(),
        Some(r#"{"p":5,"n":{"m":1}}"#)
    );
    s(
        &mut con,
        &[
            "JSON.SET",
            "s",
            "$",
            r#"{"books":[{"p":8.95,"t":"A"},{"p":12,"t":"B"},{"t":"C"}]}"#,
        ],
    );
    assert_eq!(
        s(
            &mut con,
            &["JSON.GET", "s", "$.books[?(@.p<10 || @.t=='C')].t"]
        )
        .as_deref(),
        Some(r#"["A","C"]"#)
    );
    assert_eq!(
        s(&mut con, &["JSON.GET", "s", "$.books[0:2].t"]).as_deref(),
        Some(r#"["A","B"]"#)
    );
}

#[test]
fn resp3_shapes_and_json_resp() {
    let srv = server();
    let mut con = client(&srv);
    cmd(&mut con, &["HELLO", "3"]).unwrap();
    s(
        &mut con,
        &[
            "JSON.SET",
            "d",
            "$",
            r#"{"f":1.5,"i":2,"b":true,"n":null,"l":["x"]}"#,
        ],
    );
    // RESP3 wraps JSON.TYPE and returns native numbers from NUMINCRBY.
    assert_eq!(
        cmd(&mut con, &["JSON.TYPE", "d", ".i"]).unwrap(),
        Value::Array(vec![Value::SimpleString("integer".into())])
    );
    assert_eq!(
        cmd(&mut con, &["JSON.NUMINCRBY", "d", "$.f", "1"]).unwrap(),
        Value::Array(vec![Value::Double(2.5)])
    );
    assert_eq!(
        cmd(&mut con, &["JSON.RESP", "d", "$.l"]).unwrap(),
        Value::Array(vec![Value::Array(vec![
            Value::SimpleString("[".into()),
            Value::BulkString(b"x".to_vec())
        ])])
    );
    let v = cmd(&mut con, &["JSON.RESP", "d"]).unwrap();
    let Value::Array(items) = v else {
        panic!("{v:?}")
    };
    assert_eq!(items[0], Value::SimpleString("{".into()));
    assert_eq!(items[2], Value::Double(2.5));
    assert_eq!(items[4], Value::Int(2));
    assert_eq!(items[6], Value::SimpleString("true".into()));
    assert_eq!(items[8], Value::Nil);
}
