//! The FT.* command family: Quiver's built-in RediSearch-compatible search.
//!
//! The engine itself (schema, field and vector indexes, the query language)
//! is the `quiver-search` crate, which knows nothing about the keyspace.
//! This module is the glue: it parses FT.* commands, keeps the registry of
//! indexes, feeds them documents as hashes change ([`sync`]), and formats
//! replies the way RediSearch 2.10 does for RESP2 and RESP3 clients.
//!
//! Locking: a keyspace shard lock may be held while an index's lock is
//! taken (indexing reads the hash and updates the index atomically with
//! respect to other writers of that key), never the other way round:
//! queries release the index lock before loading documents from the
//! keyspace.

pub mod admin;
pub mod aggregate;
pub mod create;
pub mod expr;
pub mod info;
pub mod query;
pub mod sync;

use crate::error::CmdError;
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock};
use quiver_search::Index;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The version reported for the `search` module (MODULE LIST, INFO, HELLO):
/// RediSearch 2.10.5, which clients gate features on (see SEARCH.md §0).
pub const MODULE_VERSION: i64 = 21005;

/// One index and what the command layer tracks about it.
pub struct SearchIndex {
    pub index: RwLock<Index>,
    /// The definition's key prefixes, copied out so the write path can
    /// tell whether a key concerns this index without locking it.
    prefixes: Vec<Vec<u8>>,
    /// The initial scan of existing keys is still running.
    pub scanning: AtomicBool,
    /// Keys the initial scan has visited / keys in the database when it
    /// started (FT.INFO `percent_indexed`).
    pub scan_done: AtomicU64,
    pub scan_total: AtomicU64,
    /// Queries served (FT.INFO `number_of_uses`).
    pub uses: AtomicU64,
    /// Microseconds spent indexing (FT.INFO `total_indexing_time`, in ms).
    pub indexing_us: AtomicU64,
    /// Set by FT.DROPINDEX so a running scan stops.
    pub dropped: AtomicBool,
}

impl SearchIndex {
    fn new(index: Index) -> Self {
        SearchIndex {
            prefixes: index.def().prefixes.clone(),
            index: RwLock::new(index),
            scanning: AtomicBool::new(false),
            scan_done: AtomicU64::new(0),
            scan_total: AtomicU64::new(0),
            uses: AtomicU64::new(0),
            indexing_us: AtomicU64::new(0),
            dropped: AtomicBool::new(false),
        }
    }

    /// Whether `key` falls under this index's prefixes (raw byte prefixes;
    /// none means every key).
    pub fn covers(&self, key: &[u8]) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| key.starts_with(p))
    }
}

/// Every index of the server, their aliases and open aggregate cursors.
#[derive(Default)]
pub struct SearchState {
    indexes: RwLock<BTreeMap<String, Arc<SearchIndex>>>,
    aliases: RwLock<HashMap<String, String>>,
    /// Number of indexes: the write path checks it with one atomic load.
    count: AtomicUsize,
    pub cursors: Mutex<aggregate::Cursors>,
    /// FT.CONFIG values that were SET (others read their defaults).
    pub config: Mutex<BTreeMap<String, String>>,
    /// Background initial scans waiting for the indexer thread.
    pub jobs: sync::Jobs,
}

impl SearchState {
    /// Whether any index exists.
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Acquire) != 0
    }

    /// The index called `name`, directly or through an alias.
    pub fn get(&self, name: &str) -> Option<Arc<SearchIndex>> {
        let idx = self.indexes.read();
        if let Some(i) = idx.get(name) {
            return Some(i.clone());
        }
        let target = self.aliases.read().get(name).cloned()?;
        idx.get(&target).cloned()
    }

    /// Every index, in name order.
    pub fn all(&self) -> Vec<Arc<SearchIndex>> {
        self.indexes.read().values().cloned().collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.indexes.read().keys().cloned().collect()
    }

    /// Registers a new index; false if the name is taken.
    fn insert(&self, name: String, index: Arc<SearchIndex>) -> bool {
        let mut idx = self.indexes.write();
        if idx.contains_key(&name) {
            return false;
        }
        idx.insert(name, index);
        self.count.store(idx.len(), Ordering::Release);
        true
    }

    /// Unregisters `name` (not an alias) and its aliases.
    fn remove(&self, name: &str) -> Option<Arc<SearchIndex>> {
        let mut idx = self.indexes.write();
        let removed = idx.remove(name)?;
        self.count.store(idx.len(), Ordering::Release);
        removed.dropped.store(true, Ordering::Release);
        self.aliases.write().retain(|_, target| target != name);
        Some(removed)
    }

    /// Drops every index (FLUSHALL, FLUSHDB of db 0).
    fn clear(&self) {
        let mut idx = self.indexes.write();
        for i in idx.values() {
            i.dropped.store(true, Ordering::Release);
        }
        idx.clear();
        self.count.store(0, Ordering::Release);
        self.aliases.write().clear();
        self.cursors.lock().clear();
    }

    /// Resolves an alias to its index name (or returns `name` itself).
    pub fn resolve_name(&self, name: &str) -> Option<String> {
        if self.indexes.read().contains_key(name) {
            return Some(name.to_string());
        }
        self.aliases.read().get(name).cloned()
    }
}

/// `<idx>: no such index` (FT.SEARCH, FT.AGGREGATE, FT.EXPLAIN).
pub(crate) fn no_such_index(name: &str) -> CmdError {
    CmdError::Raw(format!("{name}: no such index"))
}

/// `Unknown Index name` (FT.INFO, FT.DROPINDEX, FT.ALTER, FT.TAGVALS).
pub(crate) fn unknown_index() -> CmdError {
    CmdError::Raw("Unknown Index name".to_string())
}

/// RediSearch errors carry no `ERR` prefix.
pub(crate) fn search_err(msg: impl Into<String>) -> CmdError {
    CmdError::Raw(msg.into())
}

/// Text of an argument (index and field names are text to RediSearch).
pub(crate) fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

const SEARCH_ACL: u64 = acl::SLOW;
const READ: u32 = flag::READONLY;
const WRITE: u32 = flag::WRITE | flag::DENYOOM;

macro_rules! ft {
    ($name:literal, $arity:expr, $flags:expr, $summary:literal, $handler:path) => {
        CommandSpec {
            summary: $summary,
            since: "1.0.0",
            ..CommandSpec::new(
                $name, $arity, $flags, NO_KEYS, SEARCH_ACL, "search", $handler,
            )
        }
    };
}

pub static COMMANDS: &[CommandSpec] = &[
    ft!(
        "ft.create",
        -2,
        WRITE,
        "Creates an index with the given spec",
        create::ft_create
    ),
    ft!(
        "ft.alter",
        -3,
        WRITE,
        "Adds a new field to the index",
        create::ft_alter
    ),
    ft!(
        "ft.info",
        2,
        READ,
        "Returns information and statistics on the index",
        info::ft_info
    ),
    ft!(
        "ft.search",
        -3,
        READ,
        "Searches the index with a textual query",
        query::ft_search
    ),
    ft!(
        "ft.get",
        3,
        READ,
        "Returns the fields of a document",
        query::ft_get
    ),
    ft!(
        "ft.mget",
        -3,
        READ,
        "Returns the fields of several documents",
        query::ft_mget
    ),
    ft!(
        "ft.aggregate",
        -3,
        READ,
        "Run a search query on an index and perform aggregate transformations",
        aggregate::ft_aggregate
    ),
    ft!(
        "ft.cursor",
        -3,
        READ,
        "Reads or deletes an aggregate cursor",
        aggregate::ft_cursor
    ),
    ft!(
        "ft._list",
        1,
        READ,
        "Returns a list of all existing indexes",
        admin::ft_list
    ),
    ft!(
        "ft.dropindex",
        -2,
        WRITE,
        "Deletes the index",
        admin::ft_dropindex
    ),
    ft!(
        "ft.aliasadd",
        3,
        WRITE,
        "Adds an alias to the index",
        admin::ft_aliasadd
    ),
    ft!(
        "ft.aliasupdate",
        3,
        WRITE,
        "Adds or updates an alias to the index",
        admin::ft_aliasupdate
    ),
    ft!(
        "ft.aliasdel",
        2,
        WRITE,
        "Deletes an alias from the index",
        admin::ft_aliasdel
    ),
    ft!(
        "ft.tagvals",
        3,
        READ,
        "Returns the distinct tags indexed in a Tag field",
        admin::ft_tagvals
    ),
    ft!(
        "ft.explain",
        -3,
        READ,
        "Returns the execution plan for a complex query",
        admin::ft_explain
    ),
    ft!(
        "ft.explaincli",
        -3,
        READ,
        "Returns the execution plan for a complex query",
        admin::ft_explaincli
    ),
    ft!(
        "ft.config",
        -2,
        flag::ADMIN,
        "Configures or reads search options",
        admin::ft_config
    ),
    CommandSpec {
        summary: "Manages modules",
        since: "4.0.0",
        ..CommandSpec::new(
            "module",
            -2,
            flag::ADMIN | flag::NOSCRIPT,
            NO_KEYS,
            acl::ADMIN | acl::DANGEROUS | acl::SLOW,
            "server",
            admin::module,
        )
    },
];
