//! The keyspace: databases, their shards, the values they hold, and expiry.
//!
//! This crate does no I/O and knows no protocol. Keys map to Redis Cluster's
//! 16384 hash slots (CRC16 with `{hash tags}`), and each slot is its own
//! small hash table; slots are grouped into lock shards. Keeping the slot as
//! the unit of storage gives SCAN a stable cursor (a slot number never
//! changes when tables grow) and makes slot-level cluster operations cheap
//! later. See `docs/ARCHITECTURE.md` for the reasoning.

pub mod clock;
pub mod db;
pub mod evict;
pub mod glob;
pub mod keyspace;
pub mod listpack;
pub mod node;
pub mod rdb;
pub mod slot;
pub mod types;
pub mod value;

pub use clock::now_ms;
pub use db::{Db, Entry, ScanOutcome, View};
pub use glob::glob_match;
pub use keyspace::{ExpiredLog, Keyspace, Stats};
pub use slot::key_slot;
pub use value::{Bytes16, Value};

/// Lock shards per database (a power of two).
pub const SHARDS: usize = 16;
/// Redis Cluster's hash slot count.
pub const SLOTS: usize = 16384;
/// Slots stored in each shard.
pub const SLOTS_PER_SHARD: usize = SLOTS / SHARDS;
