//! Feeds arbitrary bytes to the request parser, the way a connection does:
//! parse every complete request, then stop at the first incomplete one or
//! error. The parser must never panic, loop, or report more bytes consumed
//! than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_resp::{parse_request, ArgsBuf, Limits};

fuzz_target!(|data: &[u8]| {
    let mut args = ArgsBuf::new();
    for authenticated in [true, false] {
        let limits = Limits { proto_max_bulk_len: 1 << 20, authenticated };
        let mut pos = 0;
        while pos < data.len() {
            match parse_request(&data[pos..], &mut args, &limits) {
                Ok(Some(n)) => {
                    assert!(n > 0 && pos + n <= data.len());
                    let view = args.view(&data[pos..]);
                    for a in view.iter() {
                        assert!(a.len() <= data.len());
                    }
                    pos += n;
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
});
