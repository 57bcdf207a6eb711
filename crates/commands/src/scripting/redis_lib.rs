//! The `redis` table scripts see, apart from `call`/`pcall` (per run, in
//! `lua_vm`): helpers, constants and the accepted-but-inert replication
//! controls of Redis 7.0 (scripts are always effect-replicated there).

use super::lua_vm::Vm;
use super::sha1::sha1_hex;
use mlua::{MultiValue, Table, Value};

const WRONG_ARGS: &str = "ERR wrong number or type of arguments";

pub fn install(vm: &Vm, redis: &Table) -> mlua::Result<()> {
    let lua = &vm.lua;
    redis.raw_set("REDIS_VERSION", crate::state::REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", redis_version_num())?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        redis.raw_set(name, v)?;
    }
    for (name, v) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, v)?;
    }

    redis.raw_set(
        "sha1hex",
        vm.checked(
            "sha1hex",
            lua.create_function(|lua, a: MultiValue| {
                if a.len() != 1 {
                    return Ok((Value::Nil, Some("ERR wrong number of arguments")));
                }
                let bytes = match a.front().cloned().map(|v| lua.coerce_string(v)) {
                    Some(Ok(Some(s))) => s.as_bytes().to_vec(),
                    _ => Vec::new(),
                };
                Ok((Value::String(lua.create_string(sha1_hex(&bytes))?), None))
            })?,
            false,
        )?,
    )?;

    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, a: MultiValue| {
            let t = lua.create_table()?;
            match (a.len(), a.front()) {
                (1, Some(Value::String(s))) => {
                    let b = s.as_bytes();
                    let b: &[u8] = if b.first() == Some(&b'-') {
                        &b[1..]
                    } else {
                        &b
                    };
                    t.raw_set("err", lua.create_string(b)?)?;
                }
                _ => t.raw_set("err", WRONG_ARGS)?,
            }
            Ok(t)
        })?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, a: MultiValue| {
            let t = lua.create_table()?;
            match (a.len(), a.front()) {
                (1, Some(Value::String(s))) => t.raw_set("ok", s.clone())?,
                _ => t.raw_set("err", WRONG_ARGS)?,
            }
            Ok(t)
        })?,
    )?;
    redis.raw_set(
        "log",
        vm.checked(
            "log",
            lua.create_function(|_, a: MultiValue| {
                if a.len() < 2 {
                    return Ok((
                        Value::Nil,
                        Some("ERR redis.log() requires two arguments or more."),
                    ));
                }
                let level = match a.front() {
                    Some(Value::Integer(i)) => *i as f64,
                    Some(Value::Number(n)) => *n,
                    _ => -1.0,
                };
                if !(0.0..=3.0).contains(&level) {
                    return Ok((Value::Nil, Some("ERR Invalid debug level.")));
                }
                Ok((Value::Nil, None))
            })?,
            false,
        )?,
    )?;
    redis.raw_set("set_repl", vm.checked("set_repl", lua.create_function(|_, a: MultiValue| {
        if a.len() != 1 {
            return Ok((Value::Nil, Some("ERR redis.set_repl() requires one argument.")));
        }
        let v = match a.front() {
            Some(Value::Integer(i)) => *i,
            Some(Value::Number(n)) => *n as i64,
            _ => -1,
        };
        if !(0..=3).contains(&v) {
            return Ok((Value::Nil, Some("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")));
        }
        Ok((Value::Nil, None))
    })?, false)?)?;
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(())
}

/// `REDIS_VERSION_NUM`: 0x00MMmmpp, as Redis encodes it.
fn redis_version_num() -> i64 {
    let mut parts = crate::state::REDIS_VERSION
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a << 16) | (b << 8) | c
}
