//! Splits a document body into chunks of at most `max_tokens` model tokens,
//! breaking at headings and paragraphs first, then sentences, then words,
//! with a token overlap between consecutive chunks. Each chunk is prefixed
//! with the document title (and its section heading) so it embeds and
//! ranks with its context.

use sluice_spec::ChunkingSpec;

#[derive(Debug, Clone)]
pub struct Chunker {
    max_tokens: usize,
    overlap: usize,
    respect_headings: bool,
    max_chunks: usize,
}

/// A chunk's text and its token count (as counted by the model tokenizer).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkText {
    pub text: String,
    pub tokens: usize,
}

struct Piece {
    text: String,
    tokens: usize,
}

/// Longest run of characters kept as one "word" (base64 blobs, minified code).
const MAX_WORD_CHARS: usize = 200;

impl Chunker {
    pub fn new(spec: &ChunkingSpec) -> Chunker {
        Chunker {
            max_tokens: spec.max_tokens as usize,
            overlap: spec.overlap_tokens as usize,
            respect_headings: spec.respect_headings,
            max_chunks: spec.max_chunks_per_document.max(1),
        }
    }

    /// The chunks of a document, at most `max_chunks_per_document`; the
    /// second value says whether text past the cap was left out. Chunking
    /// stops at the cap, so a hostile document (100,000 headings) costs no
    /// more than a document of that many chunks.
    pub fn chunk(
        &self,
        title: &str,
        body: &str,
        count: &dyn Fn(&str) -> usize,
    ) -> (Vec<ChunkText>, bool) {
        let title = title.trim();
        let title_tokens = if title.is_empty() {
            0
        } else {
            count(title) + 1
        };
        let sections = self.sections(body);
        let mut out = Vec::new();
        for (heading, blocks) in sections {
            if out.len() >= self.max_chunks {
                return (out, true);
            }
            let heading_tokens = heading.as_ref().map_or(0, |h| count(h) + 1);
            // Keep room for the context prefix, but never less than a floor
            // that lets long titles still carry some body text.
            let budget = self
                .max_tokens
                .saturating_sub(title_tokens + heading_tokens)
                .max(self.max_tokens / 4)
                .max(8);
            let mut pieces = Vec::new();
            for b in blocks {
                self.split_to_budget(&b, budget, count, &mut pieces);
            }
            for body_text in pack(pieces, budget, self.overlap.min(budget / 2)) {
                let mut text = String::new();
                if !title.is_empty() {
                    text.push_str(title);
                    text.push('\n');
                }
                if let Some(h) = &heading {
                    text.push_str(h);
                    text.push('\n');
                }
                text.push_str(&body_text);
                if out.len() >= self.max_chunks {
                    return (out, true);
                }
                let tokens = count(&text);
                out.push(ChunkText { text, tokens });
            }
        }
        if out.is_empty() && !title.is_empty() {
            out.push(ChunkText {
                text: title.to_string(),
                tokens: count(title),
            });
        }
        (out, false)
    }

    /// (heading, paragraphs) in document order.
    fn sections(&self, body: &str) -> Vec<(Option<String>, Vec<String>)> {
        let mut sections: Vec<(Option<String>, Vec<String>)> = vec![(None, Vec::new())];
        let mut para = String::new();
        let mut in_code = false;
        let flush = |para: &mut String, sections: &mut Vec<(Option<String>, Vec<String>)>| {
            let p = para.trim();
            if !p.is_empty() {
                sections
                    .last_mut()
                    .expect("non-empty")
                    .1
                    .push(p.to_string());
            }
            para.clear();
        };
        for line in body.lines() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            let is_heading = !in_code && is_markdown_heading(line);
            if is_heading && self.respect_headings {
                flush(&mut para, &mut sections);
                sections.push((Some(line.trim().to_string()), Vec::new()));
                continue;
            }
            if line.trim().is_empty() && !in_code {
                flush(&mut para, &mut sections);
                continue;
            }
            if !para.is_empty() {
                para.push('\n');
            }
            para.push_str(line);
        }
        flush(&mut para, &mut sections);
        sections.retain(|(h, blocks)| h.is_some() || !blocks.is_empty());
        // A heading with no text still says something; keep it as a block.
        for (h, blocks) in sections.iter_mut() {
            if blocks.is_empty() {
                if let Some(h) = h.take() {
                    blocks.push(h);
                }
            }
        }
        sections
    }

    fn split_to_budget(
        &self,
        block: &str,
        budget: usize,
        count: &dyn Fn(&str) -> usize,
        out: &mut Vec<Piece>,
    ) {
        let tokens = count(block);
        if tokens <= budget {
            out.push(Piece {
                text: block.to_string(),
                tokens,
            });
            return;
        }
        let sentences = split_sentences(block);
        if sentences.len() > 1 {
            for s in sentences {
                self.split_to_budget(&s, budget, count, out);
            }
            return;
        }
        // One over-long sentence: windows of words sized from the observed
        // tokens-per-word ratio, each checked against the budget.
        let words: Vec<String> = block
            .split_whitespace()
            .flat_map(|w| {
                let chars: Vec<char> = w.chars().collect();
                chars
                    .chunks(MAX_WORD_CHARS)
                    .map(|c| c.iter().collect::<String>())
                    .collect::<Vec<_>>()
            })
            .collect();
        if words.is_empty() {
            return;
        }
        let per_word = (tokens as f64 / words.len() as f64).max(0.01);
        let mut size = ((budget as f64 / per_word) * 0.9).floor().max(1.0) as usize;
        let mut i = 0;
        while i < words.len() {
            let end = (i + size).min(words.len());
            let text = words[i..end].join(" ");
            let t = count(&text);
            if t > budget && end - i > 1 {
                size = ((end - i) * 3 / 4).max(1);
                continue;
            }
            out.push(Piece { text, tokens: t });
            i = end;
        }
    }
}

fn is_markdown_heading(line: &str) -> bool {
    let t = line.trim_start();
    let hashes = t.chars().take_while(|c| *c == '#').count();
    (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') && t[hashes..].trim().len() > 0
}

fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let boundary = match c {
            '\n' => true,
            '.' | '!' | '?' => chars.get(i + 1).is_some_and(|n| n.is_whitespace()),
            _ => false,
        };
        if boundary && !cur.trim().is_empty() {
            out.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Greedy packing with overlap: a new chunk starts with the trailing pieces
/// of the previous one that fit in `overlap` tokens.
fn pack(pieces: Vec<Piece>, budget: usize, overlap: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut cur: Vec<&Piece> = Vec::new();
    let mut cur_tokens = 0;
    let mut fresh = 0; // pieces in `cur` not carried over as overlap
    for p in &pieces {
        if !cur.is_empty() && cur_tokens + p.tokens > budget {
            chunks.push(join(&cur));
            let mut carried = Vec::new();
            let mut t = 0;
            for q in cur.iter().rev() {
                if t + q.tokens > overlap || t + q.tokens + p.tokens > budget {
                    break;
                }
                t += q.tokens;
                carried.push(*q);
            }
            carried.reverse();
            cur = carried;
            cur_tokens = t;
            fresh = 0;
        }
        cur.push(p);
        cur_tokens += p.tokens;
        fresh += 1;
    }
    if !cur.is_empty() && fresh > 0 {
        chunks.push(join(&cur));
    }
    chunks
}

fn join(pieces: &[&Piece]) -> String {
    pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token per whitespace-separated word: easy to reason about.
    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    fn chunker(max: u32, overlap: u32) -> Chunker {
        Chunker::new(&ChunkingSpec {
            max_tokens: max,
            overlap_tokens: overlap,
            respect_headings: true,
            max_document_chars: 1 << 20,
            max_chunks_per_document: 4096,
        })
    }

    #[test]
    fn short_document_is_one_chunk_with_title() {
        let c = chunker(50, 5).chunk("Title here", "Body text.", &words).0;
        assert_eq!(
            c,
            vec![ChunkText {
                text: "Title here\nBody text.".into(),
                tokens: 4
            }]
        );
    }

    #[test]
    fn headings_start_new_chunks_and_prefix_them() {
        let body = "Intro para.\n\n## Install\n\nRun the installer.\n\n## Configure\n\nSet the pool size to 400.";
        let c = chunker(50, 5).chunk("Guide", body, &words).0;
        let texts: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Guide\nIntro para.",
                "Guide\n## Install\nRun the installer.",
                "Guide\n## Configure\nSet the pool size to 400."
            ]
        );
    }

    #[test]
    fn every_chunk_fits_and_overlap_repeats_text() {
        let body: String = (0..40)
            .map(|i| format!("Sentence number {i} has six words."))
            .collect::<Vec<_>>()
            .join(" ");
        let c = chunker(40, 8).chunk("T", &body, &words).0;
        assert!(c.len() > 5, "{}", c.len());
        for ch in &c {
            assert!(ch.tokens <= 40, "{} tokens: {}", ch.tokens, ch.text);
        }
        // Consecutive chunks share their boundary sentence.
        let last_of_first = c[0].text.rsplit("\n\n").next().unwrap();
        assert!(c[1].text.contains(last_of_first), "{:?}", c);
        // Nothing is lost: every sentence appears somewhere.
        for i in 0..40 {
            assert!(
                c.iter().any(|ch| ch.text.contains(&format!("number {i} "))),
                "lost sentence {i}"
            );
        }
    }

    #[test]
    fn giant_sentence_and_giant_word_are_split() {
        let body = format!("{} {}", "word ".repeat(500), "x".repeat(5000));
        let c = chunker(64, 8).chunk("", &body, &words).0;
        assert!(c.iter().all(|ch| ch.tokens <= 64));
        let total_x: usize = c.iter().map(|ch| ch.text.matches('x').count()).sum();
        assert!(total_x >= 5000);
    }

    #[test]
    fn code_fences_are_not_headings() {
        let body = "```\n# not a heading\nrm -rf /tmp/x\n```\n\nAfter.";
        let c = chunker(50, 5).chunk("T", body, &words).0;
        assert_eq!(c.len(), 1);
        assert!(c[0].text.contains("# not a heading"));
    }

    #[test]
    fn empty_body_keeps_title() {
        assert_eq!(chunker(50, 5).chunk("Only title", "  ", &words).0.len(), 1);
        assert!(chunker(50, 5).chunk("", "", &words).0.is_empty());
    }

    #[test]
    fn a_document_of_many_headings_stops_at_the_chunk_cap() {
        let body: String = (0..100_000)
            .map(|i| format!("# H{i}\n\nline {i}\n\n"))
            .collect();
        let c = Chunker::new(&ChunkingSpec {
            max_tokens: 50,
            overlap_tokens: 5,
            respect_headings: true,
            max_document_chars: 1 << 24,
            max_chunks_per_document: 100,
        });
        let (chunks, capped) = c.chunk("T", &body, &words);
        assert_eq!(chunks.len(), 100);
        assert!(capped);
        assert!(chunks[99].text.contains("# H99\n"), "{}", chunks[99].text);
        let (few, capped) = c.chunk("T", "# A\n\none\n\n# B\n\ntwo", &words);
        assert_eq!((few.len(), capped), (2, false));
    }
}
