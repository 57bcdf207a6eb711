//! Command semantics.
//!
//! The command table is data ([`spec::CommandSpec`] rows, one table per
//! family module) and [`dispatch`] is the single path from an argument vector
//! to a reply. Handlers run in-process against the engine, so most tests
//! need no socket; the server crate only moves bytes.

pub mod acl;
pub mod bitfield;
pub mod bits;
pub mod blocking;
pub mod client;
pub mod clients;
pub mod cluster;
pub mod command_meta;
pub mod config;
pub mod config_cmd;
pub mod connection;
pub mod context;
pub mod debug;
pub mod dispatch;
pub mod dump;
pub mod error;
pub mod events;
pub mod evict;
pub mod expire;
pub mod hash_ttl;
pub mod hashes;
pub mod info;
pub mod introspection;
pub mod json;
pub mod keys;
pub mod lcs;
pub mod ldouble;
pub mod lists;
pub mod memory;
pub mod notify;
pub mod object;
pub mod persistence;
pub mod pubsub;
pub mod registry;
pub mod scripting;
pub mod search;
pub mod server;
pub mod sets;
pub mod slowlog;
pub mod sort;
pub mod spec;
pub mod state;
pub mod strings;
pub mod token;
pub mod tracking;
pub mod txn;
pub mod util;
pub mod watch;
pub mod zset_ops;
pub mod zsets;

pub use context::{Ctx, ReplyMode, Session};
pub use dispatch::execute;
pub use error::{CmdError, CmdResult};
pub use state::ServerState;
