//! FT.INFO: the index's definition and statistics, laid out exactly as
//! RediSearch 2.10 does. RedisVL rebuilds schemas from this reply *by
//! position* (`attributes[i][1]`, `[3]`, `[5]`, then pairs from 6;
//! `index_definition[1]` and `[3]`), so order matters as much as content.
//! RESP2 gets flat key/value arrays, RESP3 maps with the same keys.

use super::{text, unknown_index, SearchIndex};
use crate::context::Ctx;
use crate::error::CmdResult;
use quiver_resp::{format_g, Args, ReplyBuf};
use quiver_search::schema::{Field, FieldKind, IndexDef};
use quiver_search::vector::{InfoValue, VectorParams};
use std::sync::atomic::Ordering;

/// A bare value in an attribute description.
enum Val {
    Str(String),
    Int(i64),
}

fn val(reply: &mut ReplyBuf, v: &Val) {
    match v {
        Val::Str(s) => reply.bulk_str(s),
        Val::Int(i) => reply.int(*i),
    }
}

/// Writes a number the way RediSearch prints its double statistics: a
/// RESP3 double, or in RESP2 a bulk string in `%g` style.
fn stat(reply: &mut ReplyBuf, d: f64) {
    if reply.is_resp3() {
        reply.double(d);
    } else {
        reply.bulk_str(&format_g(d, 17));
    }
}

/// The type-specific pairs of a vector field, in RediSearch's order.
fn vector_pairs(p: &VectorParams) -> Vec<(&'static str, Val)> {
    p.info_pairs()
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                InfoValue::Str(s) => Val::Str(s.to_string()),
                InfoValue::Int(i) => Val::Int(i),
            };
            (k, v)
        })
        .collect()
}

/// The type-specific pairs and the flags of one field.
fn field_parts(f: &Field) -> (Vec<(&'static str, Val)>, Vec<&'static str>) {
    let mut pairs = Vec::new();
    let mut flags = Vec::new();
    match &f.kind {
        FieldKind::Text(t) => {
            pairs.push(("WEIGHT", Val::Str(format_g(t.weight, 17))));
            if let Some(p) = &t.phonetic {
                pairs.push(("PHONETIC", Val::Str(p.clone())));
            }
        }
        FieldKind::Tag(t) => {
            pairs.push((
                "SEPARATOR",
                Val::Str(String::from_utf8_lossy(&[t.separator]).into_owned()),
            ));
            if t.case_sensitive {
                flags.push("CASESENSITIVE");
            }
        }
        FieldKind::Vector(p) => pairs = vector_pairs(p),
        FieldKind::Numeric | FieldKind::Geo => {}
    }
    if f.sortable {
        flags.push("SORTABLE");
    }
    if f.unf && f.sortable {
        flags.push("UNF");
    }
    if let FieldKind::Text(t) = &f.kind {
        if t.no_stem {
            flags.push("NOSTEM");
        }
    }
    if f.no_index {
        flags.push("NOINDEX");
    }
    let suffix = match &f.kind {
        FieldKind::Text(t) => t.with_suffix_trie,
        FieldKind::Tag(t) => t.with_suffix_trie,
        _ => false,
    };
    if suffix {
        flags.push("WITHSUFFIXTRIE");
    }
    if f.index_empty {
        flags.push("INDEXEMPTY");
    }
    if f.index_missing {
        flags.push("INDEXMISSING");
    }
    (pairs, flags)
}

/// One attribute: the same pairs in both protocols; the flags are bare
/// trailing elements in RESP2 and a `flags` array in RESP3's map.
fn write_attribute(reply: &mut ReplyBuf, f: &Field) {
    let (pairs, flags) = field_parts(f);
    let resp3 = reply.is_resp3();
    if resp3 {
        reply.map(3 + pairs.len() + 1);
    } else {
        reply.array(6 + 2 * pairs.len() + flags.len());
    }
    for (k, v) in [
        ("identifier", f.path.as_str()),
        ("attribute", f.name.as_str()),
        ("type", f.kind.type_name()),
    ] {
        reply.bulk_str(k);
        reply.bulk_str(v);
    }
    for (k, v) in &pairs {
        reply.bulk_str(k);
        val(reply, v);
    }
    if resp3 {
        reply.bulk_str("flags");
        reply.array(flags.len());
    }
    for fl in flags {
        reply.bulk_str(fl);
    }
}

fn write_definition(reply: &mut ReplyBuf, def: &IndexDef) {
    let mut n = 4;
    if def.filter.is_some() {
        n += 1;
    }
    reply.map(n);
    reply.bulk_str("key_type");
    reply.bulk_str(def.key_type.as_str());
    reply.bulk_str("prefixes");
    if def.prefixes.is_empty() {
        reply.array(1);
        reply.bulk(b"");
    } else {
        reply.array(def.prefixes.len());
        for p in &def.prefixes {
            reply.bulk(p);
        }
    }
    if let Some(f) = &def.filter {
        reply.bulk_str("filter");
        reply.bulk_str(f);
    }
    reply.bulk_str("default_score");
    reply.bulk_str(&format_g(def.score, 17));
    reply.bulk_str("indexes_all");
    reply.bulk_str("false");
}

fn write_errors(reply: &mut ReplyBuf, failures: u64, last: Option<&(String, Vec<u8>)>) {
    reply.map(3);
    reply.bulk_str("indexing failures");
    reply.int(failures as i64);
    reply.bulk_str("last indexing error");
    match last {
        Some((e, _)) => reply.bulk_str(e),
        None => reply.bulk_str("N/A"),
    }
    reply.bulk_str("last indexing error key");
    match last {
        Some((_, k)) => reply.bulk(k),
        None => reply.bulk_str("N/A"),
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// FT.INFO index
pub fn ft_info(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    let Some(idx) = ctx.server.search.get(&name) else {
        return Err(unknown_index());
    };
    write_info(ctx.reply, &idx);
    Ok(())
}

fn write_info(reply: &mut ReplyBuf, idx: &SearchIndex) {
    let index = idx.index.read();
    let def = index.def();
    let st = index.stats();
    let has_stopwords = def.stopwords.is_some();
    let scanning = idx.scanning.load(Ordering::Acquire);
    let percent = if scanning {
        let total = idx.scan_total.load(Ordering::Relaxed).max(1) as f64;
        (idx.scan_done.load(Ordering::Relaxed) as f64 / total).min(0.99)
    } else {
        1.0
    };
    let records = st.num_records as f64;
    let docs = st.num_docs.max(1) as f64;
    let total_mb = mb(st.inverted_bytes + st.vector_bytes + st.doc_table_bytes);

    reply.map(35 + has_stopwords as usize);
    reply.bulk_str("index_name");
    reply.bulk_str(&def.name);
    reply.bulk_str("index_options");
    let opts: Vec<&str> = [
        (def.no_freqs, "NOFREQS"),
        (def.no_fields, "NOFIELDS"),
        (def.no_offsets, "NOOFFSETS"),
        (def.no_hl, "NOHL"),
        (def.max_text_fields, "MAXTEXTFIELDS"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    reply.array(opts.len());
    for o in opts {
        reply.bulk_str(o);
    }
    reply.bulk_str("index_definition");
    write_definition(reply, def);
    reply.bulk_str("attributes");
    reply.array(def.fields.len());
    for f in &def.fields {
        write_attribute(reply, f);
    }
    reply.bulk_str("num_docs");
    reply.int(st.num_docs as i64);
    reply.bulk_str("max_doc_id");
    reply.int(st.max_doc_id as i64);
    reply.bulk_str("num_terms");
    reply.int(st.num_terms as i64);
    reply.bulk_str("num_records");
    reply.int(st.num_records as i64);
    let doubles: [(&str, f64); 15] = [
        ("inverted_sz_mb", mb(st.inverted_bytes)),
        ("vector_index_sz_mb", mb(st.vector_bytes)),
        ("total_inverted_index_blocks", 0.0),
        ("offset_vectors_sz_mb", 0.0),
        ("doc_table_size_mb", mb(st.doc_table_bytes)),
        ("sortable_values_size_mb", 0.0),
        ("key_table_size_mb", 0.0),
        ("tag_overhead_sz_mb", 0.0),
        ("text_overhead_sz_mb", 0.0),
        ("total_index_memory_sz_mb", total_mb),
        ("geoshapes_sz_mb", 0.0),
        ("records_per_doc_avg", records / docs),
        (
            "bytes_per_record_avg",
            if records > 0.0 {
                st.inverted_bytes as f64 / records
            } else {
                0.0
            },
        ),
        ("offsets_per_term_avg", 0.0),
        ("offset_bits_per_record_avg", 0.0),
    ];
    for (k, v) in doubles {
        reply.bulk_str(k);
        stat(reply, v);
    }
    reply.bulk_str("hash_indexing_failures");
    reply.int(st.hash_indexing_failures as i64);
    reply.bulk_str("total_indexing_time");
    stat(
        reply,
        idx.indexing_us.load(Ordering::Relaxed) as f64 / 1000.0,
    );
    reply.bulk_str("indexing");
    reply.int(scanning as i64);
    reply.bulk_str("percent_indexed");
    stat(reply, percent);
    reply.bulk_str("number_of_uses");
    reply.int(idx.uses.load(Ordering::Relaxed) as i64);
    reply.bulk_str("cleaning");
    reply.int(0);
    reply.bulk_str("gc_stats");
    reply.map(7);
    for k in [
        "bytes_collected",
        "total_ms_run",
        "total_cycles",
        "average_cycle_time_ms",
        "last_run_time_ms",
        "gc_numeric_trees_missed",
        "gc_blocks_denied",
    ] {
        reply.bulk_str(k);
        reply.int(0);
    }
    reply.bulk_str("cursor_stats");
    reply.map(4);
    for k in [
        "global_idle",
        "global_total",
        "index_capacity",
        "index_total",
    ] {
        reply.bulk_str(k);
        reply.int(if k == "index_capacity" { 128 } else { 0 });
    }
    if let Some(words) = &def.stopwords {
        reply.bulk_str("stopwords_list");
        reply.array(words.len());
        for w in words {
            reply.bulk_str(w);
        }
    }
    reply.bulk_str("dialect_stats");
    reply.map(4);
    for d in 1..=4 {
        reply.bulk_str(&format!("dialect_{d}"));
        reply.int(0);
    }
    reply.bulk_str("Index Errors");
    write_errors(reply, st.hash_indexing_failures, st.last_error.as_ref());
    reply.bulk_str("field statistics");
    reply.array(def.fields.len());
    for f in &def.fields {
        reply.map(3);
        reply.bulk_str("identifier");
        reply.bulk_str(&f.path);
        reply.bulk_str("attribute");
        reply.bulk_str(&f.name);
        reply.bulk_str("Index Errors");
        write_errors(reply, 0, None);
    }
    // Quiver's own addition, last so positional readers are unaffected:
    // vector writes not yet in the HNSW graph (already searchable; 0 once
    // the background builder has caught up). `scripts/bench-vector` polls it.
    reply.bulk_str("vector_index_backlog");
    reply.int(st.vector_backlog as i64);
}
