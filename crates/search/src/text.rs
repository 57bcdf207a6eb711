//! Full-text building blocks: the tokeniser, the default stop-word list, a
//! Porter-style English stemmer and edit distance for fuzzy terms.
//!
//! RediSearch splits text on a fixed set of punctuation plus whitespace,
//! lower-cases every token and lets a backslash escape a separator (so
//! `hello\-world` is one token, `hello-world`). Stop words are dropped at
//! indexing time (and ignored in queries), and every token is also indexed
//! under its stem so `running` finds `runs`.

/// Characters that split tokens (besides whitespace), as RediSearch does.
pub const SEPARATORS: &[u8] = b",.<>{}[]\"':;!@#$%^&*()-+=~";

/// RediSearch's default English stop words.
pub const DEFAULT_STOPWORDS: &[&str] = &[
    "a", "is", "the", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
    "it", "no", "not", "of", "on", "or", "such", "that", "their", "then", "there", "these", "they",
    "this", "to", "was", "will", "with",
];

/// Whether `c` splits tokens.
#[inline]
pub fn is_separator(c: u8) -> bool {
    c.is_ascii_whitespace() || SEPARATORS.contains(&c)
}

/// Lower-cases a token: ASCII fast path, full Unicode folding otherwise.
pub fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Splits `text` into lower-cased tokens, calling `out(token)` for each in
/// order. A backslash makes the next byte part of the token, whatever it is.
pub fn tokenize(text: &[u8], mut out: impl FnMut(String)) {
    let mut cur: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c == b'\\' && i + 1 < text.len() {
            cur.push(text[i + 1]);
            i += 2;
            continue;
        }
        if is_separator(c) {
            if !cur.is_empty() {
                out(fold_case(&String::from_utf8_lossy(&cur)));
                cur.clear();
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        out(fold_case(&String::from_utf8_lossy(&cur)));
    }
}

/// The stop-word list of an index: the default English list unless
/// FT.CREATE gave `STOPWORDS n …` (`STOPWORDS 0` = none).
#[derive(Debug, Clone)]
pub struct StopWords {
    words: hashbrown::HashSet<String>,
}

impl StopWords {
    pub fn new(custom: Option<&[String]>) -> Self {
        let words = match custom {
            Some(list) => list.iter().map(|w| fold_case(w)).collect(),
            None => DEFAULT_STOPWORDS.iter().map(|w| w.to_string()).collect(),
        };
        StopWords { words }
    }

    #[inline]
    pub fn contains(&self, w: &str) -> bool {
        self.words.contains(w)
    }
}

/// Levenshtein distance between `a` and `b`, giving up (returning
/// `max + 1`) as soon as it must exceed `max` — fuzzy queries only ever ask
/// for distance 1..=3, so most comparisons stop early.
pub fn edit_distance_within(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            row_min = row_min.min(cur[j]);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------
// Porter stemmer (the classic 1980 algorithm, steps 1a–5b), on ASCII
// lower-case words. Words with other characters are left alone: stemming
// them would need language data this engine does not carry.
// ---------------------------------------------------------------------------

/// The stem of `word`, or `None` when stemming leaves it unchanged (or it is
/// not a plain ASCII word of at least 3 letters).
pub fn stem(word: &str) -> Option<String> {
    if word.len() < 3 || !word.bytes().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let mut w: Vec<u8> = word.as_bytes().to_vec();
    step1ab(&mut w);
    step1c(&mut w);
    step2(&mut w);
    step3(&mut w);
    step4(&mut w);
    step5(&mut w);
    let s = String::from_utf8(w).ok()?;
    (s != word).then_some(s)
}

/// Whether `w[i]` is a consonant in Porter's sense (`y` after a consonant
/// is a vowel).
fn is_cons(w: &[u8], i: usize) -> bool {
    match w[i] {
        b'a' | b'e' | b'i' | b'o' | b'u' => false,
        b'y' => i == 0 || !is_cons(w, i - 1),
        _ => true,
    }
}

/// Porter's measure m of `w[..len]`: the number of vowel-consonant runs.
fn measure(w: &[u8], len: usize) -> usize {
    let mut m = 0;
    let mut i = 0;
    while i < len && is_cons(w, i) {
        i += 1;
    }
    loop {
        while i < len && !is_cons(w, i) {
            i += 1;
        }
        if i >= len {
            return m;
        }
        while i < len && is_cons(w, i) {
            i += 1;
        }
        m += 1;
        if i >= len {
            return m;
        }
    }
}

fn has_vowel(w: &[u8], len: usize) -> bool {
    (0..len).any(|i| !is_cons(w, i))
}

fn ends_double_cons(w: &[u8]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1)
}

/// consonant-vowel-consonant at the end, the last not w, x or y.
fn ends_cvc(w: &[u8], len: usize) -> bool {
    len >= 3
        && is_cons(w, len - 3)
        && !is_cons(w, len - 2)
        && is_cons(w, len - 1)
        && !matches!(w[len - 1], b'w' | b'x' | b'y')
}

/// If `w` ends with `suf` and the measure of the rest exceeds `min_m`,
/// replaces the suffix with `rep`. Returns whether `w` ended with `suf`
/// (so rule lists stop at the first matching suffix, as Porter says).
fn replace_if(w: &mut Vec<u8>, suf: &str, rep: &str, min_m: usize) -> bool {
    if !w.ends_with(suf.as_bytes()) {
        return false;
    }
    let stem_len = w.len() - suf.len();
    if measure(w, stem_len) > min_m {
        w.truncate(stem_len);
        w.extend_from_slice(rep.as_bytes());
    }
    true
}

fn step1ab(w: &mut Vec<u8>) {
    if w.ends_with(b"sses") || w.ends_with(b"ies") {
        w.truncate(w.len() - 2);
    } else if w.ends_with(b"ss") {
    } else if w.ends_with(b"s") {
        w.pop();
    }
    if w.ends_with(b"eed") {
        if measure(w, w.len() - 3) > 0 {
            w.pop();
        }
        return;
    }
    let cut = if w.ends_with(b"ed") && has_vowel(w, w.len() - 2) {
        2
    } else if w.ends_with(b"ing") && has_vowel(w, w.len() - 3) {
        3
    } else {
        return;
    };
    w.truncate(w.len() - cut);
    if w.ends_with(b"at") || w.ends_with(b"bl") || w.ends_with(b"iz") {
        w.push(b'e');
    } else if ends_double_cons(w) && !matches!(w[w.len() - 1], b'l' | b's' | b'z') {
        w.pop();
    } else if measure(w, w.len()) == 1 && ends_cvc(w, w.len()) {
        w.push(b'e');
    }
}

fn step1c(w: &mut [u8]) {
    let n = w.len();
    if n > 2 && w[n - 1] == b'y' && has_vowel(w, n - 1) {
        w[n - 1] = b'i';
    }
}

fn step2(w: &mut Vec<u8>) {
    const RULES: &[(&str, &str)] = &[
        ("ational", "ate"),
        ("tional", "tion"),
        ("enci", "ence"),
        ("anci", "ance"),
        ("izer", "ize"),
        ("abli", "able"),
        ("alli", "al"),
        ("entli", "ent"),
        ("eli", "e"),
        ("ousli", "ous"),
        ("ization", "ize"),
        ("ation", "ate"),
        ("ator", "ate"),
        ("alism", "al"),
        ("iveness", "ive"),
        ("fulness", "ful"),
        ("ousness", "ous"),
        ("aliti", "al"),
        ("iviti", "ive"),
        ("biliti", "ble"),
    ];
    for (suf, rep) in RULES {
        if replace_if(w, suf, rep, 0) {
            return;
        }
    }
}

fn step3(w: &mut Vec<u8>) {
    const RULES: &[(&str, &str)] = &[
        ("icate", "ic"),
        ("ative", ""),
        ("alize", "al"),
        ("iciti", "ic"),
        ("ical", "ic"),
        ("ful", ""),
        ("ness", ""),
    ];
    for (suf, rep) in RULES {
        if replace_if(w, suf, rep, 0) {
            return;
        }
    }
}

fn step4(w: &mut Vec<u8>) {
    const SUFFIXES: &[&str] = &[
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion",
        "ou", "ism", "ate", "iti", "ous", "ive", "ize",
    ];
    // Longest match first, so `ement` wins over `ment` and `ent`.
    let mut best: Option<&str> = None;
    for s in SUFFIXES {
        if w.ends_with(s.as_bytes()) && best.is_none_or(|b| s.len() > b.len()) {
            best = Some(s);
        }
    }
    let Some(suf) = best else { return };
    let stem_len = w.len() - suf.len();
    if measure(w, stem_len) <= 1 {
        return;
    }
    if suf == "ion" && !(stem_len > 0 && matches!(w[stem_len - 1], b's' | b't')) {
        return;
    }
    w.truncate(stem_len);
}

fn step5(w: &mut Vec<u8>) {
    let n = w.len();
    if n > 1 && w[n - 1] == b'e' {
        let m = measure(w, n - 1);
        if m > 1 || (m == 1 && !ends_cvc(w, n - 1)) {
            w.pop();
        }
    }
    let n = w.len();
    if n > 1 && w[n - 1] == b'l' && ends_double_cons(w) && measure(w, n) > 1 {
        w.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        tokenize(s.as_bytes(), |t| v.push(t));
        v
    }

    #[test]
    fn tokenizer_splits_on_punctuation_and_lowercases() {
        assert_eq!(
            toks("Hello, World!  foo-bar"),
            ["hello", "world", "foo", "bar"]
        );
        assert_eq!(
            toks("a.b<c>d{e}f[g]h\"i'j:k;l"),
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]
        );
        assert_eq!(
            toks("x@y#z$w%v^u&t*s(r)q+p=o~n"),
            ["x", "y", "z", "w", "v", "u", "t", "s", "r", "q", "p", "o", "n"]
        );
        assert_eq!(toks("ÉCOLE Straße"), ["école", "straße"]);
        assert!(toks("  ,,, ").is_empty());
    }

    #[test]
    fn tokenizer_backslash_escapes() {
        assert_eq!(toks(r"hello\-world x\,y"), ["hello-world", "x,y"]);
        assert_eq!(toks(r"trailing\"), ["trailing\\"]);
    }

    #[test]
    fn stop_words() {
        let d = StopWords::new(None);
        assert!(d.contains("the") && d.contains("with") && !d.contains("hello"));
        let none = StopWords::new(Some(&[]));
        assert!(!none.contains("the"));
        let custom = StopWords::new(Some(&["Foo".to_string()]));
        assert!(custom.contains("foo") && !custom.contains("the"));
    }

    #[test]
    fn porter_stems() {
        let cases = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("hopping", "hop"),
            ("falling", "fall"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("running", "run"),
            ("runs", "run"),
            ("generalization", "gener"),
            ("adjustment", "adjust"),
            ("controlling", "control"),
            ("hello", "hello"),
        ];
        for (w, want) in cases {
            let got = stem(w).unwrap_or_else(|| w.to_string());
            assert_eq!(got, want, "stem({w})");
        }
        assert_eq!(stem("hello"), None);
        assert_eq!(stem("Ünïcode"), None);
    }

    #[test]
    fn edit_distance() {
        assert_eq!(edit_distance_within("hello", "hello", 1), 0);
        assert_eq!(edit_distance_within("hello", "hallo", 1), 1);
        assert_eq!(edit_distance_within("hello", "helo", 1), 1);
        assert_eq!(edit_distance_within("hello", "hxllx", 1), 2);
        assert_eq!(edit_distance_within("hello", "hxllx", 2), 2);
        assert_eq!(edit_distance_within("ab", "abcdef", 2), 3);
    }
}
