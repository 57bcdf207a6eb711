//! What FT.CREATE declares: the index definition (which keys, how scored)
//! and its fields. Plain data, parsed by the command layer and read by the
//! indexes; FT.INFO prints it back, so every option a client can send is
//! kept even when it changes nothing here (RedisVL compares schemas it
//! reads back with the ones it created).

use crate::vector::VectorParams;

/// The kind of key an index follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Hash,
    Json,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Hash => "HASH",
            KeyType::Json => "JSON",
        }
    }
}

/// Options of a TEXT field.
#[derive(Debug, Clone, PartialEq)]
pub struct TextOpts {
    pub weight: f64,
    pub no_stem: bool,
    /// `PHONETIC dm:en` and friends, kept for FT.INFO.
    pub phonetic: Option<String>,
    pub with_suffix_trie: bool,
}

impl Default for TextOpts {
    fn default() -> Self {
        TextOpts {
            weight: 1.0,
            no_stem: false,
            phonetic: None,
            with_suffix_trie: false,
        }
    }
}

/// Options of a TAG field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagOpts {
    pub separator: u8,
    pub case_sensitive: bool,
    pub with_suffix_trie: bool,
}

impl Default for TagOpts {
    fn default() -> Self {
        TagOpts {
            separator: b',',
            case_sensitive: false,
            with_suffix_trie: false,
        }
    }
}

/// A field's type and type-specific options.
#[derive(Debug, Clone)]
pub enum FieldKind {
    Text(TextOpts),
    Tag(TagOpts),
    Numeric,
    /// `"lon,lat"` values.
    Geo,
    Vector(VectorParams),
}

impl FieldKind {
    /// The type name FT.INFO prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text(_) => "TEXT",
            FieldKind::Tag(_) => "TAG",
            FieldKind::Numeric => "NUMERIC",
            FieldKind::Geo => "GEO",
            FieldKind::Vector(_) => "VECTOR",
        }
    }
}

/// One schema field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Where the value comes from: the hash field name (or JSONPath).
    pub path: String,
    /// The name queries use (`AS` alias, else the path).
    pub name: String,
    pub kind: FieldKind,
    pub sortable: bool,
    /// `UNF`: sortable values kept un-normalised (NUMERIC SORTABLE implies it).
    pub unf: bool,
    /// `NOINDEX`: stored for sorting only, not searchable.
    pub no_index: bool,
    pub index_missing: bool,
    pub index_empty: bool,
}

impl Field {
    pub fn new(path: impl Into<String>, kind: FieldKind) -> Self {
        let path = path.into();
        Field {
            name: path.clone(),
            path,
            kind,
            sortable: false,
            unf: false,
            no_index: false,
            index_missing: false,
            index_empty: false,
        }
    }
}

/// Everything FT.CREATE says about an index.
#[derive(Debug, Clone)]
pub struct IndexDef {
    pub name: String,
    pub key_type: KeyType,
    /// Raw byte prefixes, OR'd; empty means every key of the type.
    pub prefixes: Vec<Vec<u8>>,
    /// `FILTER` expression, kept verbatim.
    pub filter: Option<String>,
    pub language: Option<String>,
    pub language_field: Option<String>,
    /// `SCORE`: the default document score.
    pub score: f64,
    pub score_field: Option<String>,
    pub payload_field: Option<String>,
    pub max_text_fields: bool,
    pub temporary: Option<u64>,
    pub no_offsets: bool,
    pub no_hl: bool,
    pub no_fields: bool,
    pub no_freqs: bool,
    pub skip_initial_scan: bool,
    /// `STOPWORDS n w…`: `None` means the default English list (and FT.INFO
    /// shows no `stopwords_list`).
    pub stopwords: Option<Vec<String>>,
    pub fields: Vec<Field>,
}

impl IndexDef {
    pub fn new(name: impl Into<String>) -> Self {
        IndexDef {
            name: name.into(),
            key_type: KeyType::Hash,
            prefixes: Vec::new(),
            filter: None,
            language: None,
            language_field: None,
            score: 1.0,
            score_field: None,
            payload_field: None,
            max_text_fields: false,
            temporary: None,
            no_offsets: false,
            no_hl: false,
            no_fields: false,
            no_freqs: false,
            skip_initial_scan: false,
            stopwords: None,
            fields: Vec::new(),
        }
    }

    /// Whether `key` falls under this index's prefixes (raw byte prefixes:
    /// `llmcache` matches `llmcache:1` and `llmcachefoo`).
    pub fn matches_key(&self, key: &[u8]) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| key.starts_with(p.as_slice()))
    }

    /// The field called `name` in queries (alias), if any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}
