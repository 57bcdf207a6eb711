//! FT.CREATE and FT.ALTER: from arguments to an [`IndexDef`].
//!
//! Options before SCHEMA come in any order and keywords are
//! case-insensitive, as clients send them in different orders (redis-py
//! always adds `SCORE 1.0`). Every option is kept even when Quiver does
//! nothing special with it, because FT.INFO prints it back and RedisVL
//! compares what it reads with what it created.

use super::sync::{start_scan, SEARCH_DB};
use super::{search_err, text, unknown_index, SearchIndex};
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::util::eq_ic;
use quiver_resp::Args;
use quiver_search::schema::{Field, FieldKind, IndexDef, KeyType, TagOpts, TextOpts};
use quiver_search::vector::VectorParams;
use quiver_search::Index;
use std::sync::Arc;

/// Reads a count argument (`PREFIX n`, `STOPWORDS n`).
fn count_at(args: &Args<'_>, i: usize, what: &str) -> Result<usize, CmdError> {
    if i >= args.len() {
        return Err(search_err(format!(
            "Bad arguments for {what}: Expected an argument, but none provided"
        )));
    }
    std::str::from_utf8(args.get(i))
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or_else(|| search_err(format!("Bad arguments for {what}: Value is not an integer")))
}

fn f64_at(args: &Args<'_>, i: usize, what: &str) -> Result<f64, CmdError> {
    if i >= args.len() {
        return Err(search_err(format!(
            "Bad arguments for {what}: Expected an argument, but none provided"
        )));
    }
    std::str::from_utf8(args.get(i))
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| !v.is_nan())
        .ok_or_else(|| {
            search_err(format!(
                "Bad arguments for {what}: Could not convert argument to expected type"
            ))
        })
}

fn str_at(args: &Args<'_>, i: usize, what: &str) -> Result<String, CmdError> {
    if i >= args.len() {
        return Err(search_err(format!(
            "Bad arguments for {what}: Expected an argument, but none provided"
        )));
    }
    Ok(text(args.get(i)))
}

/// Parses the options between the index name and SCHEMA; returns the
/// position of the first field.
fn parse_options(args: &Args<'_>, def: &mut IndexDef) -> Result<usize, CmdError> {
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if eq_ic(a, "SCHEMA") {
            return Ok(i + 1);
        } else if eq_ic(a, "ON") {
            let t = args.try_get(i + 1).unwrap_or(b"");
            def.key_type = if eq_ic(t, "HASH") {
                KeyType::Hash
            } else if eq_ic(t, "JSON") {
                KeyType::Json
            } else {
                return Err(search_err("Invalid rule type: Expected HASH or JSON"));
            };
            i += 2;
        } else if eq_ic(a, "PREFIX") {
            let n = count_at(args, i + 1, "PREFIX")?;
            if i + 2 + n > args.len() {
                return Err(search_err(
                    "Bad arguments for PREFIX: Expected an argument, but none provided",
                ));
            }
            for j in 0..n {
                def.prefixes.push(args.get(i + 2 + j).to_vec());
            }
            i += 2 + n;
        } else if eq_ic(a, "FILTER") {
            def.filter = Some(str_at(args, i + 1, "FILTER")?);
            i += 2;
        } else if eq_ic(a, "LANGUAGE") {
            def.language = Some(str_at(args, i + 1, "LANGUAGE")?);
            i += 2;
        } else if eq_ic(a, "LANGUAGE_FIELD") {
            def.language_field = Some(str_at(args, i + 1, "LANGUAGE_FIELD")?);
            i += 2;
        } else if eq_ic(a, "SCORE") {
            let v = f64_at(args, i + 1, "SCORE")?;
            if !(0.0..=1.0).contains(&v) {
                return Err(search_err("Invalid score"));
            }
            def.score = v;
            i += 2;
        } else if eq_ic(a, "SCORE_FIELD") {
            def.score_field = Some(str_at(args, i + 1, "SCORE_FIELD")?);
            i += 2;
        } else if eq_ic(a, "PAYLOAD_FIELD") {
            def.payload_field = Some(str_at(args, i + 1, "PAYLOAD_FIELD")?);
            i += 2;
        } else if eq_ic(a, "TEMPORARY") {
            let secs = count_at(args, i + 1, "TEMPORARY")?;
            def.temporary = Some(secs as u64);
            i += 2;
        } else if eq_ic(a, "STOPWORDS") {
            let n = count_at(args, i + 1, "STOPWORDS")?;
            if i + 2 + n > args.len() {
                return Err(search_err(
                    "Bad arguments for STOPWORDS: Expected an argument, but none provided",
                ));
            }
            def.stopwords = Some(
                (0..n)
                    .map(|j| text(args.get(i + 2 + j)).to_lowercase())
                    .collect(),
            );
            i += 2 + n;
        } else {
            let flag = if eq_ic(a, "MAXTEXTFIELDS") {
                &mut def.max_text_fields
            } else if eq_ic(a, "NOOFFSETS") {
                &mut def.no_offsets
            } else if eq_ic(a, "NOHL") {
                &mut def.no_hl
            } else if eq_ic(a, "NOFIELDS") {
                &mut def.no_fields
            } else if eq_ic(a, "NOFREQS") {
                &mut def.no_freqs
            } else if eq_ic(a, "SKIPINITIALSCAN") {
                &mut def.skip_initial_scan
            } else {
                return Err(search_err(format!("Unknown argument `{}`", text(a))));
            };
            *flag = true;
            i += 1;
        }
    }
    Err(search_err("No schema found"))
}

/// Parses `VECTOR <ALGO> <count> <k v>…` starting at the algorithm token
/// (the vector module owns RediSearch's exact messages); returns the
/// parameters and the position after them.
fn parse_vector(args: &Args<'_>, i: usize) -> Result<(VectorParams, usize), CmdError> {
    let rest: Vec<&[u8]> = args.iter().skip(i).collect();
    let (params, used) = VectorParams::parse_from(&rest).map_err(search_err)?;
    Ok((params, i + used))
}

/// Parses one field definition at `i`; returns it and the next position.
fn parse_field(args: &Args<'_>, mut i: usize) -> Result<(Field, usize), CmdError> {
    let path = text(args.get(i));
    i += 1;
    let mut alias = None;
    if args.try_get(i).is_some_and(|a| eq_ic(a, "AS")) {
        let Some(a) = args.try_get(i + 1) else {
            return Err(search_err(format!("Field `{path}` does not have a type")));
        };
        alias = Some(text(a));
        i += 2;
    }
    let Some(ty) = args.try_get(i) else {
        return Err(search_err(format!("Field `{path}` does not have a type")));
    };
    i += 1;
    let mut kind = if eq_ic(ty, "TEXT") {
        FieldKind::Text(TextOpts::default())
    } else if eq_ic(ty, "TAG") {
        FieldKind::Tag(TagOpts::default())
    } else if eq_ic(ty, "NUMERIC") {
        FieldKind::Numeric
    } else if eq_ic(ty, "GEO") {
        FieldKind::Geo
    } else if eq_ic(ty, "VECTOR") {
        let (params, next) = parse_vector(args, i)?;
        i = next;
        FieldKind::Vector(params)
    } else {
        return Err(search_err(format!("Invalid field type for field `{path}`")));
    };
    let mut field = Field::new(path.clone(), FieldKind::Numeric);
    if let Some(a) = alias {
        field.name = a;
    }
    // Type options and flags, in any order, until something that is neither
    // (the next field's name).
    while let Some(a) = args.try_get(i) {
        match &mut kind {
            FieldKind::Text(t) if eq_ic(a, "WEIGHT") => {
                t.weight = f64_at(args, i + 1, "WEIGHT")?;
                i += 2;
                continue;
            }
            FieldKind::Text(t) if eq_ic(a, "NOSTEM") => {
                t.no_stem = true;
                i += 1;
                continue;
            }
            FieldKind::Text(t) if eq_ic(a, "PHONETIC") => {
                t.phonetic = Some(str_at(args, i + 1, "PHONETIC")?);
                i += 2;
                continue;
            }
            FieldKind::Text(t) if eq_ic(a, "WITHSUFFIXTRIE") => {
                t.with_suffix_trie = true;
                i += 1;
                continue;
            }
            FieldKind::Tag(t) if eq_ic(a, "SEPARATOR") => {
                let sep = args.try_get(i + 1).ok_or_else(|| {
                    search_err(
                        "Bad arguments for SEPARATOR: Expected an argument, but none provided",
                    )
                })?;
                if sep.len() != 1 {
                    return Err(search_err(format!(
                        "Tag separator must be a single character. Got `{}`",
                        text(sep)
                    )));
                }
                t.separator = sep[0];
                i += 2;
                continue;
            }
            FieldKind::Tag(t) if eq_ic(a, "CASESENSITIVE") => {
                t.case_sensitive = true;
                i += 1;
                continue;
            }
            FieldKind::Tag(t) if eq_ic(a, "WITHSUFFIXTRIE") => {
                t.with_suffix_trie = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        let vector = matches!(kind, FieldKind::Vector(_));
        if eq_ic(a, "SORTABLE") && !vector {
            field.sortable = true;
        } else if eq_ic(a, "UNF") && !vector {
            field.unf = true;
        } else if eq_ic(a, "NOINDEX") && !vector {
            field.no_index = true;
        } else if eq_ic(a, "INDEXMISSING") {
            field.index_missing = true;
        } else if eq_ic(a, "INDEXEMPTY") && !vector {
            field.index_empty = true;
        } else {
            break;
        }
        i += 1;
    }
    // NUMERIC (and GEO) sortable values are never normalised.
    if field.sortable && matches!(kind, FieldKind::Numeric | FieldKind::Geo) {
        field.unf = true;
    }
    field.kind = kind;
    Ok((field, i))
}

/// Parses fields from `i` to the end.
fn parse_fields(args: &Args<'_>, mut i: usize, existing: &[Field]) -> Result<Vec<Field>, CmdError> {
    let mut fields: Vec<Field> = Vec::new();
    if i >= args.len() {
        return Err(search_err("Fields arguments are missing"));
    }
    while i < args.len() {
        let (field, next) = parse_field(args, i)?;
        if existing
            .iter()
            .chain(fields.iter())
            .any(|f| f.name == field.name)
        {
            return Err(search_err(format!(
                "Duplicate field in schema - {}",
                field.name
            )));
        }
        fields.push(field);
        i = next;
    }
    Ok(fields)
}

/// FT.CREATE index [options] SCHEMA field …
pub fn ft_create(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    let mut def = IndexDef::new(name.clone());
    let first = parse_options(&args, &mut def)?;
    def.fields = parse_fields(&args, first, &[])?;
    if ctx.session.db != SEARCH_DB {
        return Err(search_err("Cannot create index on db != 0"));
    }
    if ctx.server.search.get(&name).is_some()
        && ctx.server.search.resolve_name(&name).as_deref() == Some(&name)
    {
        return Err(search_err("Index already exists"));
    }
    let skip = def.skip_initial_scan;
    let idx = Arc::new(SearchIndex::new(Index::new(def)));
    if !ctx.server.search.insert(name, idx.clone()) {
        return Err(search_err("Index already exists"));
    }
    crate::events::update_listening(ctx.server);
    if !skip {
        start_scan(ctx.server, &idx);
    }
    ctx.reply.ok();
    Ok(())
}

/// FT.ALTER index [SKIPINITIALSCAN] SCHEMA ADD field …
pub fn ft_alter(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    let mut i = 2;
    let mut skip = false;
    if args.try_get(i).is_some_and(|a| eq_ic(a, "SKIPINITIALSCAN")) {
        skip = true;
        i += 1;
    }
    if !args.try_get(i).is_some_and(|a| eq_ic(a, "SCHEMA")) {
        return Err(search_err("Unknown action passed to ALTER SCHEMA"));
    }
    if !args.try_get(i + 1).is_some_and(|a| eq_ic(a, "ADD")) {
        return Err(search_err("Unknown action passed to ALTER SCHEMA"));
    }
    let Some(idx) = ctx.server.search.get(&name) else {
        return Err(unknown_index());
    };
    let existing = idx.index.read().def().fields.clone();
    let fields = parse_fields(&args, i + 2, &existing)?;
    {
        let mut index = idx.index.write();
        for f in fields {
            index.add_field(f);
        }
    }
    if !skip {
        start_scan(ctx.server, &idx);
    }
    ctx.reply.ok();
    Ok(())
}
