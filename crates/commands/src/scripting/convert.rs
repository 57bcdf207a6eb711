//! Redis's type-conversion rules between replies and Lua values, both ways.
//!
//! `redis.call` runs a command into a private reply buffer and parses the
//! bytes back (`calls::push_reply`): that keeps one reply path for every command
//! and makes RESP2/RESP3 (`redis.setresp`) a matter of which protocol the
//! buffer speaks. A script's return value goes the other way
//! ([`lua_to_reply`]) straight into the caller's buffer, which downgrades
//! RESP3 types for RESP2 clients.

use mlua::{Table, Value};
use quiver_resp::{Proto, ReplyBuf};

/// Deepest table nesting a script may return (a self-referencing table
/// would otherwise recurse forever).
const MAX_DEPTH: usize = 1000;

/// Lua number to reply integer the way C's `(long long)` cast behaves on
/// the platforms Redis runs on: truncation, and the minimum for NaN or
/// anything out of range.
pub fn lua_number_to_i64(n: f64) -> i64 {
    // 2^63: the first value past i64's range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// Writes a script's return value (or a nested element of it).
/// `script_resp3` is the protocol the script chose with `redis.setresp`:
/// booleans then map to RESP3 booleans rather than 1/nil.
pub fn lua_to_reply(value: &Value, reply: &mut ReplyBuf, script_resp3: bool) {
    write_value(value, reply, script_resp3, 0)
}

fn write_value(value: &Value, reply: &mut ReplyBuf, resp3: bool, depth: usize) {
    match value {
        Value::String(s) => reply.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if resp3 {
                reply.boolean(*b)
            } else if *b {
                reply.int(1)
            } else {
                reply.null()
            }
        }
        Value::Integer(i) => reply.int(*i),
        Value::Number(n) => reply.int(lua_number_to_i64(*n)),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                reply.error("ERR reached lua stack limit");
                return;
            }
            write_table(t, reply, resp3, depth)
        }
        _ => reply.null(),
    }
}

fn field_string(t: &Table, name: &str) -> Option<Vec<u8>> {
    match t.raw_get::<Value>(name).ok()? {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

/// Status and error texts cannot hold CR or LF: Redis turns them into spaces.
fn sanitize(s: &[u8]) -> String {
    String::from_utf8_lossy(s)
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

fn write_table(t: &Table, reply: &mut ReplyBuf, resp3: bool, depth: usize) {
    if let Some(e) = field_string(t, "err") {
        reply.error(&String::from_utf8_lossy(&e));
        return;
    }
    if let Some(s) = field_string(t, "ok") {
        reply.simple(&sanitize(&s));
        return;
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        reply.double(d);
        return;
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        reply.double(d as f64);
        return;
    }
    if let Some(s) = field_string(t, "big_number") {
        if reply.is_resp3() {
            reply.raw(b"(");
            reply.raw(sanitize(&s).as_bytes());
            reply.raw(b"\r\n");
        } else {
            reply.bulk(sanitize(&s).as_bytes());
        }
        return;
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let mark = reply.mark();
        let mut n = 0;
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            write_value(&k, reply, resp3, depth + 1);
            write_value(&v, reply, resp3, depth + 1);
            n += 1;
        }
        reply.insert_map_header(mark, n);
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let mark = reply.mark();
        let mut n = 0;
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            write_value(&k, reply, resp3, depth + 1);
            n += 1;
        }
        let mut hdr = ReplyBuf::new(reply.proto);
        hdr.set(n);
        reply.out.splice(mark..mark, hdr.out);
        return;
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        let fmt = field_string(&v, "format").unwrap_or_default();
        let text = field_string(&v, "string").unwrap_or_default();
        if reply.proto == Proto::Resp3 && fmt.len() == 3 {
            let mut body = fmt;
            body.push(b':');
            body.extend_from_slice(&text);
            reply.raw(format!("={}\r\n", body.len()).as_bytes());
            reply.raw(&body);
            reply.raw(b"\r\n");
        } else {
            reply.bulk(&text);
        }
        return;
    }
    // An array: elements 1, 2, … up to the first nil.
    let mark = reply.mark();
    let mut n = 0usize;
    loop {
        match t.raw_get::<Value>(n + 1) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => write_value(&v, reply, resp3, depth + 1),
        }
        n += 1;
    }
    reply.insert_array_header(mark, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_like_c() {
        assert_eq!(lua_number_to_i64(3.99), 3);
        assert_eq!(lua_number_to_i64(-3.7), -3);
        assert_eq!(lua_number_to_i64(1e20), i64::MIN);
        assert_eq!(lua_number_to_i64(f64::NAN), i64::MIN);
    }
}
