use super::*;
use crate::types::{Hash, Limits, List, Set, ZSet};
use crate::value::Value;

fn limits() -> Limits {
    Limits::default()
}

fn round_trip(v: &Value) -> Value {
    let payload = dump(v).expect("dumps");
    restore(&payload, &limits(), 0)
        .expect("restores")
        .expect("not empty")
}

fn string_of(v: &Value) -> Vec<u8> {
    let mut b = crate::value::itoa_buf::Buf::new();
    v.string_bytes(&mut b).expect("a string").to_vec()
}

fn list_items(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::List(l) => l.iter().map(|i| i.to_vec()).collect(),
        _ => panic!("not a list"),
    }
}

fn set_items(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|i| i.to_vec()).collect();
            m.sort();
            m
        }
        _ => panic!("not a set"),
    }
}

fn hash_items(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    match v {
        Value::Hash(h) => {
            let mut m: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            m.sort();
            m
        }
        _ => panic!("not a hash"),
    }
}

fn zset_items(v: &Value) -> Vec<(Vec<u8>, f64)> {
    match v {
        Value::ZSet(z) => {
            let mut m = Vec::new();
            z.for_each(|k, s| m.push((k.to_vec(), s)));
            m
        }
        _ => panic!("not a sorted set"),
    }
}

#[test]
fn strings_round_trip_in_every_form() {
    for s in [
        &b""[..],
        b"0",
        b"-1",
        b"127",
        b"-128",
        b"128",
        b"32767",
        b"-32769",
        b"2147483647",
        b"2147483648",
        b"-9223372036854775808",
        b"007",
        b"+5",
        b"hello",
        &[0xFFu8; 300][..],
    ] {
        let v = Value::from_bytes(s);
        assert_eq!(string_of(&round_trip(&v)), s, "{s:?}");
        let raw = Value::Raw(crate::value::Bytes16::from_slice(s));
        assert_eq!(string_of(&round_trip(&raw)), s, "{s:?}");
    }
}

#[test]
fn integers_take_the_compact_forms() {
    // Type 0, then 0xC0 and one byte: the whole payload is 2 + 10 bytes.
    assert_eq!(dump(&Value::Int(-7)).unwrap()[..3], [0, 0xC0, 0xF9]);
    assert_eq!(dump(&Value::Int(300)).unwrap()[..4], [0, 0xC1, 0x2C, 0x01]);
    assert_eq!(dump(&Value::from_bytes(b"70000")).unwrap()[1], 0xC2);
    // Beyond 32 bits: text.
    assert_eq!(dump(&Value::Int(1 << 40)).unwrap()[1], 13);
}

#[test]
fn collections_round_trip() {
    let l = limits();
    let mut list = List::new();
    for i in 0..1000 {
        list.push(
            crate::types::list::End::Tail,
            format!("e{i}").as_bytes(),
            l.list_size,
        );
    }
    list.push(crate::types::list::End::Tail, b"12", l.list_size);
    let v = Value::List(Box::new(list));
    assert_eq!(list_items(&round_trip(&v)), list_items(&v));

    for members in [
        vec!["1", "2", "-3"],
        vec!["a", "b", "7"],
        (0..600)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .iter()
            .map(|s| &**s)
            .collect(),
    ] {
        let mut set = Set::new();
        for m in &members {
            set.insert(m.as_bytes(), &l);
        }
        let v = Value::Set(Box::new(set));
        let back = round_trip(&v);
        assert_eq!(set_items(&back), set_items(&v));
        if let (Value::Set(a), Value::Set(b)) = (&v, &back) {
            assert_eq!(a.encoding(), b.encoding());
        }
    }

    for n in [3, 700] {
        let mut h = Hash::new();
        for i in 0..n {
            h.set(
                format!("f{i}").as_bytes(),
                format!("{i}").as_bytes(),
                &l,
                false,
            );
        }
        let v = Value::Hash(Box::new(h));
        let back = round_trip(&v);
        assert_eq!(hash_items(&back), hash_items(&v));
        if let (Value::Hash(a), Value::Hash(b)) = (&v, &back) {
            assert_eq!(a.encoding(), b.encoding());
        }
    }

    for n in [3, 300] {
        let mut z = ZSet::new();
        for i in 0..n {
            z.insert(format!("m{i}").as_bytes(), i as f64 * -0.25, &l);
        }
        z.insert(b"inf", f64::INFINITY, &l);
        let v = Value::ZSet(Box::new(z));
        let back = round_trip(&v);
        assert_eq!(zset_items(&back), zset_items(&v));
        if let (Value::ZSet(a), Value::ZSet(b)) = (&v, &back) {
            assert_eq!(a.encoding(), b.encoding());
        }
    }
}

#[test]
fn hash_field_ttls_round_trip_and_expired_ones_are_dropped() {
    let l = limits();
    let mut h = Hash::new();
    for f in ["a", "b", "c"] {
        h.set(f.as_bytes(), b"v", &l, false);
    }
    h.set_field_expire(b"a", 5_000);
    h.set_field_expire(b"b", 9_000);
    let v = Value::Hash(Box::new(h));
    let payload = dump(&v).unwrap();
    assert_eq!(payload[0], kind::HASH_METADATA);
    let version = u16::from_le_bytes([payload[payload.len() - 10], payload[payload.len() - 9]]);
    assert_eq!(version, VERSION_7_4);

    let Some(Value::Hash(back)) = restore(&payload, &l, 1_000).unwrap() else {
        panic!("a hash")
    };
    assert_eq!(
        back.field_ttl(b"a"),
        crate::types::hash::FieldTtl::At(5_000)
    );
    assert_eq!(
        back.field_ttl(b"b"),
        crate::types::hash::FieldTtl::At(9_000)
    );
    assert_eq!(
        back.field_ttl(b"c"),
        crate::types::hash::FieldTtl::Persistent
    );

    // At 6 s field a has expired in transit.
    let Some(Value::Hash(back)) = restore(&payload, &l, 6_000).unwrap() else {
        panic!("a hash")
    };
    assert_eq!(back.len(), 2);
    assert!(!back.contains(b"a"));

    // Nothing left without c: no value at all.
    let mut h = Hash::new();
    h.set(b"a", b"v", &l, false);
    h.set_field_expire(b"a", 5_000);
    let payload = dump(&Value::Hash(Box::new(h))).unwrap();
    assert!(restore(&payload, &l, 6_000).unwrap().is_none());
}

/// Payloads written by redis-server 7.0.15 (see fixtures/redis-7.0.txt):
/// compact encodings Quiver never writes, including LZF.
#[test]
fn payloads_from_redis_7_0_load() {
    let fixtures: std::collections::HashMap<&str, Vec<u8>> = include_str!("fixtures/redis-7.0.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, hex)| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (k, bytes)
        })
        .collect();
    let load = |k: &str| restore(&fixtures[k], &limits(), 0).unwrap().unwrap();
    let b = |s: &str| s.as_bytes().to_vec();

    assert_eq!(string_of(&load("int")), b"12345");
    assert_eq!(string_of(&load("neg")), b"-7");
    assert_eq!(string_of(&load("str")), b"hello");
    assert_eq!(
        string_of(&load("lzf")),
        b"abcabcabcabcabcabcabcabcabcabcabcabcabcabc-xyz"
    );
    assert_eq!(
        list_items(&load("list")),
        ["a", "b", "300", "-70000", "9999999999"].map(b)
    );
    assert_eq!(
        set_items(&load("intset")),
        ["-3", "1", "100000", "2"].map(b)
    );
    assert_eq!(set_items(&load("strset")), ["x", "y", "z"].map(b));
    assert_eq!(
        hash_items(&load("hsmall")),
        [(b("f1"), b("v1")), (b("n"), b("42"))]
    );
    assert_eq!(
        zset_items(&load("zsmall")),
        [(b("b"), -2.0), (b("a"), 1.5), (b("c"), 3.0)]
    );
    let hbig = hash_items(&load("hbig"));
    assert_eq!(hbig.len(), 200);
    assert!(hbig.contains(&(b("field199"), b("value199"))));
    let zbig = zset_items(&load("zbig"));
    assert_eq!(zbig.len(), 200);
    assert_eq!(zbig[199], (b("m199"), 99.5));
}

#[test]
fn footer_is_checked() {
    let mut payload = dump(&Value::from_bytes(b"hello")).unwrap();
    assert_eq!(
        restore(&payload[..9], &limits(), 0).err(),
        Some(RdbError::Footer)
    );
    let n = payload.len();
    payload[n - 1] ^= 1;
    assert_eq!(
        restore(&payload, &limits(), 0).err(),
        Some(RdbError::Footer)
    );
    payload[n - 1] ^= 1;
    // A version newer than 7.4's (re-sealed, so only the version is wrong).
    let body = payload[..n - 10].to_vec();
    assert_eq!(
        restore(&seal(body, 13), &limits(), 0).err(),
        Some(RdbError::Footer)
    );
}

#[test]
fn bad_bodies_are_refused_not_panicked_on() {
    let l = limits();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unknown type", vec![99]),
        ("empty body", vec![]),
        ("string longer than payload", vec![0, 0x3F, b'a']),
        (
            "list count beyond payload",
            vec![1, 0x80, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        ("empty list", vec![1, 0]),
        ("duplicate set member", vec![2, 2, 1, b'a', 1, b'a']),
        ("NaN score", {
            let mut v = vec![5, 1, 1, b'a'];
            v.extend_from_slice(&f64::NAN.to_le_bytes());
            v
        }),
        (
            "lzf length lie",
            vec![0, 0xC3, 2, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0, b'a'],
        ),
        (
            "lzf back-reference before start",
            vec![0, 0xC3, 2, 10, 0x20, 0x05],
        ),
        (
            "listpack size mismatch",
            vec![16, 7, 9, 0, 0, 0, 0, 0, 0xFF],
        ),
        ("intset width", vec![11, 8, 3, 0, 0, 0, 0, 0, 0, 0]),
        ("quicklist container", vec![18, 1, 9, 1, b'a']),
    ];
    for (what, body) in cases {
        let r = restore(&seal(body, VERSION_7_0), &l, 0);
        assert!(r.is_err(), "{what}: {:?}", r.map(|v| v.is_some()));
    }
}

#[test]
fn json_has_no_dump_form() {
    let v = Value::Json(Box::default());
    assert_eq!(dump(&v).err(), Some(RdbError::Json));
}

proptest::proptest! {
    /// Any sealed body — random, or a real payload with bytes flipped —
    /// is either a value or an error, never a panic or a runaway
    /// allocation.
    #[test]
    fn restore_never_panics(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..4),
        which in 0usize..11,
    ) {
        let _ = restore(&seal(body, VERSION_7_4), &limits(), 0);
        let fixture = include_str!("fixtures/redis-7.0.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .nth(which)
            .and_then(|l| l.split_once(' '))
            .map(|(_, hex)| hex)
            .unwrap_or("");
        let mut bytes: Vec<u8> = (0..fixture.len() / 2)
            .map(|i| u8::from_str_radix(&fixture[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        if bytes.len() > 10 {
            bytes.truncate(bytes.len() - 10);
            for (at, x) in flips {
                let n = bytes.len();
                bytes[at % n] ^= x;
            }
            let _ = restore(&seal(bytes, VERSION_7_0), &limits(), 0);
        }
    }
}
