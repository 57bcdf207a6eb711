//! Sans-IO RESP: the wire format, and nothing else.
//!
//! This crate owns the two directions of the Redis protocol:
//! [`parser`] turns the bytes a client sent into argument vectors (without
//! copying the arguments out of the read buffer), and [`reply`] writes
//! replies in whichever protocol version (RESP2 or RESP3) a connection has
//! negotiated. It knows nothing about sockets, commands or the keyspace, so
//! it can be fuzzed and unit-tested on plain byte slices.

pub mod args;
pub mod float;
pub mod parser;
pub mod reply;

pub use args::{Args, ArgsBuf};
pub use float::{format_g_buf, FormattedG};
pub use parser::{parse_request, split_args, Limits, ProtocolError};
pub use reply::{format_double, format_g, Proto, ReplyBuf};
