//! Keeping indexes in step with the keyspace.
//!
//! [`crate::events`] calls in here when a write command touched a key, when
//! the engine expired one, and when databases are flushed or swapped. Each
//! call re-reads the key and re-indexes the whole document (or removes it),
//! under the key's shard lock so that two writers of one key cannot leave
//! the index holding the older version.
//!
//! Indexes follow database 0 only, as RediSearch does (FT.CREATE refuses
//! other databases).
//!
//! The initial scan at FT.CREATE runs inline for small databases (so a
//! client that creates an index and queries at once sees every document)
//! and on the indexer thread for larger ones, visiting keys a slot at a
//! time so other clients keep being served; FT.INFO reports `indexing 1`
//! and `percent_indexed` meanwhile.

use super::SearchIndex;
use crate::state::ServerState;
use parking_lot::{Condvar, Mutex};
use quiver_engine::types::json::{self, JsonValue};
use quiver_engine::{now_ms, Value};
use quiver_search::schema::{Field, FieldKind, KeyType};
use quiver_search::vector::convert::encode;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Databases with at most this many keys are scanned inline at FT.CREATE.
const INLINE_SCAN_LIMIT: usize = 10_000;
/// Keys looked at per scan step.
const SCAN_STEP: usize = 256;

/// The database indexes follow.
pub const SEARCH_DB: usize = 0;

/// Background scans waiting for the indexer thread.
#[derive(Default)]
pub struct Jobs {
    queue: Mutex<VecDeque<Weak<SearchIndex>>>,
    ready: Condvar,
}

impl Jobs {
    fn push(&self, idx: &Arc<SearchIndex>) {
        self.queue.lock().push_back(Arc::downgrade(idx));
        self.ready.notify_one();
    }

    fn pop(&self, wait: Duration) -> Option<Weak<SearchIndex>> {
        let mut q = self.queue.lock();
        if q.is_empty() {
            self.ready.wait_for(&mut q, wait);
        }
        q.pop_front()
    }
}

/// The indexer thread's body: runs initial scans until the server is gone.
/// Holds only a weak reference so that dropping the server ends it.
pub fn run_indexer(server: Weak<ServerState>) {
    loop {
        let job = {
            let Some(s) = server.upgrade() else { return };
            if s.shutting_down.load(Ordering::Relaxed) {
                return;
            }
            s.search.jobs.pop(Duration::from_millis(500))
        };
        let Some(job) = job else { continue };
        let (Some(s), Some(idx)) = (server.upgrade(), job.upgrade()) else {
            continue;
        };
        scan(&s, &idx);
    }
}

/// Copies a hash's fields out (the index keeps its own copies of what it
/// needs). Fields whose TTL has passed are left out.
fn hash_fields(h: &quiver_engine::types::hash::Hash, now: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    use quiver_engine::listpack::Item;
    use quiver_engine::types::hash::FieldTtl;
    let mut out = Vec::with_capacity(h.len());
    let check_ttl = h.volatile_fields() > 0;
    for (f, v) in h.iter() {
        let field = match f {
            Item::Bytes(b) => b.to_vec(),
            Item::Int(i) => i.to_string().into_bytes(),
            Item::Float(x) => x.to_string().into_bytes(),
        };
        if check_ttl {
            if let FieldTtl::At(t) = h.field_ttl(&field) {
                if t < now {
                    continue;
                }
            }
        }
        let value = match v {
            Item::Bytes(b) => b.to_vec(),
            Item::Int(i) => i.to_string().into_bytes(),
            Item::Float(x) => x.to_string().into_bytes(),
        };
        out.push((field, value));
    }
    out
}

/// The text of the first value at JSONPath `path` in `doc`: strings as they
/// are, anything else as JSON text (RETURN of a JSON path).
pub(crate) fn json_value_text(doc: &JsonValue, path: &str) -> Option<Vec<u8>> {
    let p = json::Path::parse(path).ok()?;
    let (_, v) = json::select_values(doc, &p).into_iter().next()?;
    Some(match v {
        JsonValue::String(s) => s.clone().into_bytes(),
        other => json::to_vec(other),
    })
}

/// Turns a JSON document into the (path, value) pairs an index reads, one
/// per schema field, converted the way RediSearch reads JSON: text as is,
/// numbers as text, arrays of strings joined for TAG, arrays of numbers
/// encoded as the vector field's blob.
fn json_fields(doc: &JsonValue, fields: &[Field]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for f in fields {
        let Ok(path) = json::Path::parse(&f.path) else {
            continue;
        };
        let matches: Vec<&JsonValue> = json::select_values(doc, &path)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let Some(first) = matches.first() else {
            continue;
        };
        let value: Option<Vec<u8>> = match &f.kind {
            FieldKind::Vector(p) => match first {
                JsonValue::Array(items) => {
                    let nums: Option<Vec<f64>> = items.iter().map(|x| x.as_f64()).collect();
                    // A non-numeric element leaves an invalid blob, which
                    // the index counts as an indexing failure.
                    Some(nums.map(|n| encode(p.elem, &n)).unwrap_or_default())
                }
                _ => Some(Vec::new()),
            },
            FieldKind::Tag(t) => {
                let sep = (t.separator as char).to_string();
                let mut parts = Vec::new();
                for m in &matches {
                    match m {
                        JsonValue::Array(items) => {
                            parts.extend(items.iter().map(scalar_text));
                        }
                        other => parts.push(scalar_text(other)),
                    }
                }
                Some(parts.join(&sep).into_bytes())
            }
            FieldKind::Text(_) => {
                let parts: Vec<String> = matches
                    .iter()
                    .flat_map(|m| match m {
                        JsonValue::Array(items) => items.iter().map(scalar_text).collect(),
                        other => vec![scalar_text(other)],
                    })
                    .collect();
                Some(parts.join(" ").into_bytes())
            }
            FieldKind::Numeric | FieldKind::Geo => Some(scalar_text(first).into_bytes()),
        };
        if let Some(v) = value {
            out.push((f.path.as_bytes().to_vec(), v));
        }
    }
    out
}

fn scalar_text(v: &JsonValue) -> String {
    match v {
        JsonValue::String(s) => s.clone(),
        JsonValue::Null => String::new(),
        other => String::from_utf8_lossy(&json::to_vec(other)).into_owned(),
    }
}

/// Re-reads `key` and updates every index in `targets` (all of which must
/// cover the key): upsert if it is a document of the index's key type
/// (hash or JSON), removal otherwise.
fn reindex(server: &ServerState, key: &[u8], targets: &[Arc<SearchIndex>]) {
    let start = Instant::now();
    let now = now_ms();
    let mut view = server.keyspace.lock_key(SEARCH_DB, key, now);
    match view.peek(key) {
        Some(e) => {
            let expire = e.expire().unwrap_or(0);
            match &e.value {
                Value::Hash(h) => {
                    let fields = hash_fields(h, now);
                    let refs: Vec<(&[u8], &[u8])> = fields
                        .iter()
                        .map(|(f, v)| (f.as_slice(), v.as_slice()))
                        .collect();
                    for t in targets {
                        let mut ix = t.index.write();
                        if ix.def().key_type == KeyType::Hash {
                            ix.upsert(key, &refs, expire);
                        } else {
                            ix.remove(key);
                        }
                    }
                }
                Value::Json(doc) => {
                    for t in targets {
                        let mut ix = t.index.write();
                        if ix.def().key_type == KeyType::Json {
                            let fields = json_fields(doc, &ix.def().fields);
                            let refs: Vec<(&[u8], &[u8])> = fields
                                .iter()
                                .map(|(f, v)| (f.as_slice(), v.as_slice()))
                                .collect();
                            ix.upsert(key, &refs, expire);
                        } else {
                            ix.remove(key);
                        }
                    }
                }
                _ => {
                    for t in targets {
                        t.index.write().remove(key);
                    }
                }
            }
        }
        None => {
            for t in targets {
                t.index.write().remove(key);
            }
        }
    }
    drop(view);
    let us = start.elapsed().as_micros() as u64;
    for t in targets {
        t.indexing_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// The indexes whose prefixes cover `key`.
fn covering(server: &ServerState, key: &[u8]) -> Vec<Arc<SearchIndex>> {
    server
        .search
        .all()
        .into_iter()
        .filter(|i| i.covers(key))
        .collect()
}

/// A write command touched `key` in `db`.
pub fn key_written(server: &ServerState, db: usize, key: &[u8]) {
    if db != SEARCH_DB || !server.search.active() {
        return;
    }
    let targets = covering(server, key);
    if !targets.is_empty() {
        reindex(server, key, &targets);
    }
}

/// `key` expired or was evicted: it leaves every index at once.
pub fn key_removed(server: &ServerState, db: usize, key: &[u8]) {
    if db != SEARCH_DB || !server.search.active() {
        return;
    }
    for t in covering(server, key) {
        t.index.write().remove(key);
    }
}

/// FLUSHDB / FLUSHALL: RediSearch drops every index definition.
pub fn flushed(server: &ServerState, db: Option<usize>) {
    if db.is_none_or(|d| d == SEARCH_DB) {
        server.search.clear();
    }
}

/// SWAPDB: if database 0 changed wholesale, rebuild every index from it.
pub fn swapped(server: &ServerState, a: usize, b: usize) {
    if a != SEARCH_DB && b != SEARCH_DB {
        return;
    }
    for idx in server.search.all() {
        idx.index.write().clear();
        start_scan(server, &idx);
    }
}

/// Indexes the keys already in the database (FT.CREATE without
/// SKIPINITIALSCAN, FT.ALTER): inline when the database is small, else on
/// the indexer thread.
pub fn start_scan(server: &ServerState, idx: &Arc<SearchIndex>) {
    let total = server.keyspace.db(SEARCH_DB).len();
    idx.scan_total.store(total as u64, Ordering::Relaxed);
    idx.scan_done.store(0, Ordering::Relaxed);
    idx.scanning.store(true, Ordering::Release);
    if total <= INLINE_SCAN_LIMIT {
        scan(server, idx);
    } else {
        server.search.jobs.push(idx);
    }
}

/// Walks database 0 slot by slot, indexing every covered hash.
fn scan(server: &ServerState, idx: &Arc<SearchIndex>) {
    let db = server.keyspace.db(SEARCH_DB);
    let mut cursor = 0;
    let targets = [idx.clone()];
    loop {
        if idx.dropped.load(Ordering::Acquire) {
            break;
        }
        let step = db.scan(cursor, SCAN_STEP, now_ms(), |k, v| {
            matches!(v, Value::Hash(_) | Value::Json(_)) && idx.covers(k)
        });
        for key in &step.keys {
            reindex(server, &key[..], &targets);
        }
        idx.scan_done
            .fetch_add(step.keys.len() as u64, Ordering::Relaxed);
        if step.cursor == 0 {
            break;
        }
        cursor = step.cursor;
    }
    idx.scanning.store(false, Ordering::Release);
}
