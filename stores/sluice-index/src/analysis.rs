//! Text analysis for the keyword index: how text and queries become terms.
//!
//! The chain (chosen on SciFact train by 5-fold cross-validation; README,
//! *Retrieval quality*): words, lower case, English stemming, no stop-word
//! removal. Identifiers (`WMS-4102`, `snake_case`) are kept whole as well,
//! in a field of their own ([`code_analyzer`]), so their extra terms do
//! not lengthen the text field or count a word twice there. Stop words are
//! dropped only from the query that picks snippet highlights, so "were" is
//! never marked.
//!
//! Written here rather than taken from a crate: tantivy's tokenizers split
//! `WMS-4102` and `snake_case` into parts only, and no tokenizer crate emits
//! both the whole identifier and its parts in tantivy's token model.

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};

/// Characters that join the parts of an identifier (`WMS-4102`,
/// `snake_case`, `v1.2.3`, `src/main.rs`) when they stand between two
/// letters or digits.
const JOINERS: [char; 4] = ['-', '_', '.', '/'];

/// Longest identifier kept whole, in bytes (longer ones: parts only).
const MAX_COMPOUND_BYTES: usize = 64;

/// Words are runs of letters and digits. A run of words joined by
/// [`JOINERS`] (`WMS-4102`) is an identifier: [`Emit::Identifiers`] yields
/// it whole, [`Emit::Both`] yields its parts and the whole (at its first
/// part's position), so a query for `WMS-4102` prefers the text that has it
/// whole over text that has "WMS" and "4102" apart, and a query for `4102`
/// still finds it. (The whole is stemmed like any word: `src/main.r`;
/// queries go through the same chain, so they match.)
#[derive(Clone)]
pub struct CodeAwareTokenizer {
    emit: Emit,
    tokens: Vec<Token>,
}

/// What a [`CodeAwareTokenizer`] yields.
#[derive(Clone, Copy, PartialEq)]
pub enum Emit {
    /// Words (an identifier's parts).
    Words,
    /// Identifiers whole, nothing else.
    Identifiers,
    /// Both: for queries, which search the word and the identifier fields.
    Both,
}

impl CodeAwareTokenizer {
    pub fn new(emit: Emit) -> CodeAwareTokenizer {
        CodeAwareTokenizer {
            emit,
            tokens: Vec::new(),
        }
    }
}

impl Tokenizer for CodeAwareTokenizer {
    type TokenStream<'a> = OwnedStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> OwnedStream<'a> {
        self.tokens.clear();
        tokenize(text, self.emit, &mut self.tokens);
        OwnedStream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

/// The token stream: the tokenizer's buffer, handed out one token at a time.
pub struct OwnedStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl TokenStream for OwnedStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

fn tokenize(text: &str, emit: Emit, out: &mut Vec<Token>) {
    let mut position = 0usize;
    let mut chars = text.char_indices().peekable();
    // Parts of the identifier being read: (from, to) byte offsets.
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let flush = |parts: &mut Vec<(usize, usize)>, position: &mut usize, out: &mut Vec<Token>| {
        if parts.is_empty() {
            return;
        }
        let (from, to) = (parts[0].0, parts[parts.len() - 1].1);
        let whole = parts.len() > 1 && to - from <= MAX_COMPOUND_BYTES && emit != Emit::Words;
        for (i, &(a, b)) in parts.iter().enumerate() {
            if emit != Emit::Identifiers {
                out.push(Token {
                    offset_from: a,
                    offset_to: b,
                    position: *position,
                    text: text[a..b].to_string(),
                    position_length: 1,
                });
            }
            if i == 0 && whole {
                out.push(Token {
                    offset_from: from,
                    offset_to: to,
                    position: *position,
                    text: text[from..to].to_string(),
                    position_length: parts.len(),
                });
            }
            *position += 1;
        }
        parts.clear();
    };
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !d.is_alphanumeric() {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            parts.push((i, end));
            // A joiner followed by a letter or digit continues the identifier.
            if let Some(&(_, j)) = chars.peek() {
                if JOINERS.contains(&j) {
                    let mut ahead = chars.clone();
                    ahead.next();
                    if ahead.peek().is_some_and(|&(_, d)| d.is_alphanumeric()) {
                        chars.next();
                        continue;
                    }
                }
            }
            flush(&mut parts, &mut position, out);
        }
    }
    flush(&mut parts, &mut position, out);
}

fn chain(emit: Emit) -> TextAnalyzer {
    TextAnalyzer::builder(CodeAwareTokenizer::new(emit))
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The analyzer of the title and text fields: words.
pub fn analyzer() -> TextAnalyzer {
    chain(Emit::Words)
}

/// The analyzer of the identifier fields: identifiers whole, nothing else.
pub fn code_analyzer() -> TextAnalyzer {
    chain(Emit::Identifiers)
}

/// The analyzer of queries: words and identifiers, each searched in every
/// field (a word finds nothing in an identifier field, and the reverse).
pub fn query_analyzer() -> TextAnalyzer {
    chain(Emit::Both)
}

/// The same chain with English stop words removed (NLTK's list, which has
/// "were"; tantivy's own has 33 words): for the query that chooses which
/// words a snippet highlights.
pub fn highlight_analyzer() -> TextAnalyzer {
    let stop = StopWordFilter::remove(
        stop_words::lookup("en")
            .unwrap_or_default()
            .iter()
            .map(|w| w.to_string()),
    );
    TextAnalyzer::builder(CodeAwareTokenizer::new(Emit::Words))
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(stop)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// What a query asks for: single terms, and quoted phrases (terms in order).
#[derive(Debug, PartialEq)]
pub enum QueryPart {
    Term(String),
    Phrase(Vec<String>),
}

/// A caller's query as terms through `analyzer`. There is no query syntax:
/// `field:value`, `+`/`-`, `AND`/`OR`/`NOT`, ranges and wildcards are
/// words or nothing, so nobody can search the filter fields (`acl_0:…`) or
/// steer the search; filters come from the request's typed filters only.
/// Double quotes make a phrase (its parts in order; an identifier's whole
/// form is left out there, as it shares its first part's position).
pub fn query_parts(analyzer: &mut TextAnalyzer, query: &str) -> Vec<QueryPart> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, segment) in query.split('"').enumerate() {
        let quoted = i % 2 == 1;
        let mut stream = analyzer.token_stream(segment);
        let mut terms: Vec<(usize, String)> = Vec::new();
        while let Some(t) = stream.next() {
            terms.push((t.position, t.text.clone()));
        }
        if quoted {
            let mut phrase: Vec<String> = Vec::new();
            let mut last = None;
            for (pos, text) in terms {
                if last != Some(pos) {
                    phrase.push(text);
                    last = Some(pos);
                }
            }
            match phrase.len() {
                0 => {}
                1 => out.push(QueryPart::Term(phrase.remove(0))),
                _ => out.push(QueryPart::Phrase(phrase)),
            }
        } else {
            for (_, t) in terms {
                // A word counts once however often the query repeats it
                // ("British female … British male"): repeats doubled its
                // weight, SciFact train keyword nDCG@10 0.7015 → 0.6961.
                if seen.insert(t.clone()) {
                    out.push(QueryPart::Term(t));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(usize, String)> {
        tokens_of(&mut query_analyzer(), text)
    }

    fn tokens_of(a: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = s.next() {
            out.push((t.position, t.text.clone()));
        }
        out
    }

    fn at(list: &[(usize, &str)]) -> Vec<(usize, String)> {
        list.iter().map(|(p, t)| (*p, t.to_string())).collect()
    }

    #[test]
    fn identifiers_are_kept_whole_and_split() {
        assert_eq!(
            tokens("See WMS-4102 now"),
            at(&[
                (0, "see"),
                (1, "wms"),
                (1, "wms-4102"),
                (2, "4102"),
                (3, "now")
            ])
        );
        assert_eq!(
            tokens("retry_count"),
            at(&[(0, "retri"), (0, "retry_count"), (1, "count")])
        );
        assert_eq!(
            tokens("src/main.rs"),
            at(&[(0, "src"), (0, "src/main.r"), (1, "main"), (2, "rs")])
        );
    }

    #[test]
    fn the_fields_get_words_or_identifiers() {
        assert_eq!(
            tokens_of(&mut analyzer(), "See WMS-4102 now"),
            at(&[(0, "see"), (1, "wms"), (2, "4102"), (3, "now")])
        );
        assert_eq!(
            tokens_of(&mut code_analyzer(), "See WMS-4102 now, retry_count"),
            at(&[(1, "wms-4102"), (4, "retry_count")])
        );
    }

    #[test]
    fn joiners_outside_identifiers_split_words() {
        // Sentence ends, leading and trailing joiners, doubled joiners.
        assert_eq!(
            tokens("ends. Next -flag trailing- a--b"),
            at(&[
                (0, "end"),
                (1, "next"),
                (2, "flag"),
                (3, "trail"),
                (4, "a"),
                (5, "b")
            ])
        );
        assert_eq!(tokens(""), at(&[]));
        assert_eq!(tokens("..."), at(&[]));
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let mut a = query_analyzer();
        let text = "Ünïcode IL-10 fine";
        let mut s = a.token_stream(text);
        let mut spans = Vec::new();
        while let Some(t) = s.next() {
            spans.push(&text[t.offset_from..t.offset_to]);
        }
        assert_eq!(spans, ["Ünïcode", "IL", "IL-10", "10", "fine"]);
    }

    #[test]
    fn long_identifiers_keep_only_their_parts() {
        let long = vec!["part"; 20].join("-");
        let t = tokens(&long);
        assert_eq!(t.len(), 20);
        assert!(t.iter().all(|(_, w)| w == "part"));
    }

    #[test]
    fn queries_have_no_syntax() {
        let mut a = query_analyzer();
        let parts = query_parts(&mut a, "acl_0:alice +NOT title:x*");
        let words: Vec<&str> = parts
            .iter()
            .map(|p| match p {
                QueryPart::Term(t) => t.as_str(),
                QueryPart::Phrase(_) => "?",
            })
            .collect();
        assert_eq!(words, ["acl", "acl_0", "0", "alic", "not", "titl", "x"]);
    }

    #[test]
    fn quotes_make_phrases_of_parts() {
        let mut a = query_analyzer();
        assert_eq!(
            query_parts(&mut a, r#"open "WMS-4102 backlog" "one" ""#),
            vec![
                QueryPart::Term("open".into()),
                QueryPart::Phrase(vec!["wms".into(), "4102".into(), "backlog".into()]),
                QueryPart::Term("one".into())
            ]
        );
        // An unbalanced quote: the rest is a phrase, never an error.
        assert_eq!(
            query_parts(&mut a, r#"a "b c"#),
            vec![
                QueryPart::Term("a".into()),
                QueryPart::Phrase(vec!["b".into(), "c".into()])
            ]
        );
    }

    #[test]
    fn a_repeated_word_counts_once() {
        let mut a = query_analyzer();
        assert_eq!(
            query_parts(&mut a, "male students and female students"),
            ["male", "student", "and", "femal"].map(|t| QueryPart::Term(t.into()))
        );
    }

    /// A hostile query (the CLI does not cap it): 200,000 words, half of
    /// them repeats, and one identifier chain of 100,000 joiners, in linear time.
    #[test]
    fn a_huge_query_is_analysed_in_linear_time() {
        let words: String = (0..200_000).map(|i| format!("w{} ", i % 100_000)).collect();
        let chain = vec!["x"; 100_000].join("-");
        let started = std::time::Instant::now();
        let parts = query_parts(&mut query_analyzer(), &format!("{words}{chain}"));
        assert_eq!(
            parts.len(),
            100_001,
            "each distinct word once, the chain's part once (too long to keep whole)"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn highlights_skip_stop_words() {
        let mut a = highlight_analyzer();
        let parts = query_parts(&mut a, "were the results retried");
        assert_eq!(
            parts,
            vec![
                QueryPart::Term("result".into()),
                QueryPart::Term("retri".into())
            ]
        );
    }
}
