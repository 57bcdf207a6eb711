//! Scripts against a real server: atomicity, -BUSY past the threshold,
//! SCRIPT KILL / FUNCTION KILL, UNKILLABLE after a write, and that a slow
//! script does not stop other clients from being told so.

mod common;

use common::*;
use std::thread;
use std::time::{Duration, Instant};

const SPIN: &str = "local i = 0 while true do i = i + 1 end";

/// Waits until the server reports the script as running (a BUSY reply):
/// a PING sent before the script starts still gets PONG.
fn wait_busy(con: &mut redis::Connection) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Err(e) = cmd(con, &["PING"]) {
            let text = format!(
                "{} {}",
                e.code().unwrap_or_default(),
                e.detail().unwrap_or_default()
            );
            if text.starts_with("BUSY") {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the script never made the server busy"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn busy_reply_and_script_kill() {
    let srv = server_with(&[("busy-reply-threshold", "100")]);
    let mut runner = client(&srv);
    let slow = thread::spawn(move || err(&mut runner, &["EVAL", SPIN, "0"]));
    let mut other = client(&srv);
    assert_eq!(
        wait_busy(&mut other),
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    // FUNCTION KILL names the command that would work.
    assert!(err(&mut other, &["FUNCTION", "KILL"]).contains("You can only call SCRIPT KILL"));
    let ok: String = redis::cmd("SCRIPT").arg("KILL").query(&mut other).unwrap();
    assert_eq!(ok, "OK");
    let msg = slow.join().unwrap();
    assert!(
        msg.starts_with("ERR Script killed by user with SCRIPT KILL... script: "),
        "{msg}"
    );
    let pong: String = redis::cmd("PING").query(&mut other).unwrap();
    assert_eq!(pong, "PONG");
    assert_eq!(
        err(&mut other, &["SCRIPT", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    );
}

#[test]
fn script_that_wrote_is_unkillable() {
    let srv = server_with(&[("busy-reply-threshold", "100")]);
    let mut runner = client(&srv);
    // Writes, then spins until the deadline key it reads says stop.
    let body = "redis.call('set','w','1') local t = redis.call('time') \
                local stop = tonumber(t[1]) + 1 \
                while tonumber(redis.call('time')[1]) <= stop do end return 'done'";
    let slow = thread::spawn(move || {
        let r: String = redis::cmd("EVAL")
            .arg(body)
            .arg(0)
            .query(&mut runner)
            .unwrap();
        r
    });
    let mut other = client(&srv);
    wait_busy(&mut other);
    let e = err(&mut other, &["SCRIPT", "KILL"]);
    assert!(
        e.starts_with("UNKILLABLE Sorry the script already executed write commands"),
        "{e}"
    );
    assert_eq!(slow.join().unwrap(), "done");
}

#[test]
fn function_kill() {
    let srv = server_with(&[("busy-reply-threshold", "100")]);
    let mut con = client(&srv);
    let lib = format!("#!lua name=spin\nredis.register_function('spin', function() {SPIN} end)");
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut con)
        .unwrap();
    let slow = thread::spawn(move || err(&mut con, &["FCALL", "spin", "0"]));
    let mut other = client(&srv);
    assert!(wait_busy(&mut other).contains("You can only call FUNCTION KILL"));
    let ok: String = redis::cmd("FUNCTION")
        .arg("KILL")
        .query(&mut other)
        .unwrap();
    assert_eq!(ok, "OK");
    let msg = slow.join().unwrap();
    assert!(
        msg.starts_with("ERR Script killed by user with FUNCTION KILL..."),
        "{msg}"
    );
}

#[test]
fn scripts_are_atomic_against_other_clients() {
    let srv = server();
    let mut runner = client(&srv);
    // Sets a key, spins ~300 ms, then reads it back: another client's SET
    // sent meanwhile must wait for the script (below the BUSY threshold).
    let body = "redis.call('set','k','script') local t0 = redis.call('time') \
                local deadline = tonumber(t0[1]) * 1000000 + tonumber(t0[2]) + 300000 \
                while true do local t = redis.call('time') \
                if tonumber(t[1]) * 1000000 + tonumber(t[2]) > deadline then break end end \
                return redis.call('get','k')";
    let slow = thread::spawn(move || {
        let r: String = redis::cmd("EVAL")
            .arg(body)
            .arg(0)
            .query(&mut runner)
            .unwrap();
        r
    });
    thread::sleep(Duration::from_millis(100));
    let mut other = client(&srv);
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("other")
        .query(&mut other)
        .unwrap();
    assert_eq!(slow.join().unwrap(), "script");
    let now: String = redis::cmd("GET").arg("k").query(&mut other).unwrap();
    assert_eq!(now, "other");
}

#[test]
fn eval_inside_multi_and_select_isolation() {
    let srv = server();
    let mut con = client(&srv);
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("EVAL")
        .arg("return redis.call('incr','n')")
        .arg(0)
        .cmd("EVAL")
        .arg("return redis.call('incr','n')")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (1, 2));
    // SELECT inside a script does not move the caller.
    let _: () = redis::cmd("EVAL")
        .arg("redis.call('select', 3) redis.call('set','in3','x')")
        .arg(0)
        .query(&mut con)
        .unwrap();
    let here: i64 = redis::cmd("EXISTS").arg("in3").query(&mut con).unwrap();
    assert_eq!(here, 0);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let there: i64 = redis::cmd("EXISTS").arg("in3").query(&mut con).unwrap();
    assert_eq!(there, 1);
}

/// A script that swallows errors with `pcall` (or `xpcall`) must still
/// stop on SCRIPT KILL: the kill error is re-raised by the protected call
/// instead of being handed to the script as an ordinary failure.
#[test]
fn script_kill_gets_through_pcall_loops() {
    let loops = [
        // The kill lands inside the inner spin, under pcall.
        "while true do pcall(function() local i = 0 while true do i = i + 1 end end) end",
        // Errors swallowed in a tight loop.
        "while true do pcall(error, 'x') end",
        "while true do xpcall(function() local i = 0 while true do i = i + 1 end end, function(e) return e end) end",
    ];
    let srv = server_with(&[("busy-reply-threshold", "50")]);
    for body in loops {
        let mut runner = client(&srv);
        let body_owned = body.to_string();
        let slow = thread::spawn(move || err(&mut runner, &["EVAL", &body_owned, "0"]));
        let mut other = client(&srv);
        wait_busy(&mut other);
        let asked = Instant::now();
        let ok: String = redis::cmd("SCRIPT").arg("KILL").query(&mut other).unwrap();
        assert_eq!(ok, "OK");
        let msg = slow.join().unwrap();
        assert!(
            msg.starts_with("ERR Script killed by user with SCRIPT KILL... script: "),
            "{body}: {msg}"
        );
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{body}: the kill took {:?}",
            asked.elapsed()
        );
        let pong: String = redis::cmd("PING").query(&mut other).unwrap();
        assert_eq!(pong, "PONG");
    }
}

/// What `pcall` hands a script for a failed `redis.call`: the error
/// string (Redis 7.0), and the script line stays in uncaught errors even
/// for `return redis.call(...)` tail calls.
#[test]
fn pcall_of_redis_call_returns_the_error_string() {
    let srv = server_with(&[]);
    let mut con = client(&srv);
    let _: () = redis::cmd("SET")
        .arg("s")
        .arg("abc")
        .query(&mut con)
        .unwrap();
    let got: Vec<String> = redis::cmd("EVAL")
        .arg("local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), type(e), e}")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(
        got,
        [
            "false",
            "string",
            "ERR value is not an integer or out of range"
        ]
    );
    let e = err(
        &mut con,
        &["EVAL", "\n\nreturn redis.call('incr', 's')", "0"],
    );
    assert!(
        e.starts_with("ERR value is not an integer or out of range script: ")
            && e.ends_with(", on @user_script:3."),
        "{e}"
    );
}

/// Loops forever when ARGV[1] is "spin", returns at once otherwise: the
/// first calls mark it fast (so later calls run inline on the connection's
/// thread), then a spinning call must still be movable to the script
/// thread, where -BUSY and SCRIPT KILL reach it.
const MAYBE_SPIN: &str =
    "if ARGV[1] == 'spin' then local i = 0 while true do i = i + 1 end end return 'quick'";

#[test]
fn script_that_was_fast_before_can_still_be_killed() {
    let srv = server_with(&[("busy-reply-threshold", "100")]);
    let mut runner = client(&srv);
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(MAYBE_SPIN)
        .query(&mut runner)
        .unwrap();
    for _ in 0..3 {
        let r: String = redis::cmd("EVALSHA")
            .arg(&sha)
            .arg(0)
            .arg("x")
            .query(&mut runner)
            .unwrap();
        assert_eq!(r, "quick");
    }
    let sha2 = sha.clone();
    let slow = thread::spawn(move || err(&mut runner, &["EVALSHA", &sha2, "0", "spin"]));
    let mut other = client(&srv);
    assert!(wait_busy(&mut other).contains("You can only call SCRIPT KILL"));
    let ok: String = redis::cmd("SCRIPT").arg("KILL").query(&mut other).unwrap();
    assert_eq!(ok, "OK");
    let msg = slow.join().unwrap();
    assert!(
        msg.starts_with(&format!(
            "ERR Script killed by user with SCRIPT KILL... script: {sha}"
        )),
        "{msg}"
    );
    // Killed runs count as slow: the next quick call still works.
    let r: String = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(0)
        .arg("x")
        .query(&mut other)
        .unwrap();
    assert_eq!(r, "quick");
}

#[test]
fn function_that_was_fast_before_can_still_be_killed() {
    let srv = server_with(&[("busy-reply-threshold", "100")]);
    let mut con = client(&srv);
    let lib = format!(
        "#!lua name=maybe\nredis.register_function('maybe', function(keys, args) \
         {} end)",
        MAYBE_SPIN.replace("ARGV", "args")
    );
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut con)
        .unwrap();
    for _ in 0..3 {
        let r: String = redis::cmd("FCALL")
            .arg("maybe")
            .arg(0)
            .arg("x")
            .query(&mut con)
            .unwrap();
        assert_eq!(r, "quick");
    }
    let slow = thread::spawn(move || err(&mut con, &["FCALL", "maybe", "0", "spin"]));
    let mut other = client(&srv);
    assert!(wait_busy(&mut other).contains("You can only call FUNCTION KILL"));
    let ok: String = redis::cmd("FUNCTION")
        .arg("KILL")
        .query(&mut other)
        .unwrap();
    assert_eq!(ok, "OK");
    let msg = slow.join().unwrap();
    assert!(
        msg.starts_with("ERR Script killed by user with FUNCTION KILL..."),
        "{msg}"
    );
}

/// A run restarted on the script thread (it outgrew the inline budget)
/// draws the same `math.random` numbers as one that ran there directly:
/// the restart is invisible.
#[test]
fn restarted_run_repeats_its_random_numbers() {
    // Spins ~a few ms (well past the inline budget) but ends by itself.
    let body = "local r = math.random(1000000000) \
                if ARGV[1] == 'spin' then local i = 0 while i < 3000000 do i = i + 1 end end \
                return r";
    let draws = |args: &[&str]| -> Vec<i64> {
        let srv = server();
        let mut con = client(&srv);
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(body)
            .query(&mut con)
            .unwrap();
        args.iter()
            .map(|a| {
                redis::cmd("EVALSHA")
                    .arg(&sha)
                    .arg(0)
                    .arg(*a)
                    .query(&mut con)
                    .unwrap()
            })
            .collect()
    };
    // Fresh servers start from the same rand48 state: "x x spin" moves
    // the third run (fast twice, then inline and too slow); "x x x" never
    // spins. The numbers drawn must be the same.
    let moved = draws(&["x", "x", "spin", "x"]);
    let plain = draws(&["x", "x", "x", "x"]);
    assert_eq!(moved, plain);
    assert_ne!(moved[0], moved[1]);
}
