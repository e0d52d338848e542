//! BM25 keyword index (tantivy), with filter clauses evaluated inside the
//! index so filtered queries still return `n` hits. It holds two levels:
//! one entry per chunk (for the best passage and its snippet) and one per
//! document, its title and all its text (for ranking). Documents are ranked
//! as wholes: scoring isolated chunks split a document's terms across
//! entries: SciFact train keyword nDCG@10 went from 0.605 (chunks) to
//! 0.663 (documents plus their best passage; README, *Retrieval quality*).

use std::ops::Bound;
use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};
use uuid::Uuid;

use sluice_core::access::{MAX_ACL_SETS, acl_field};
use sluice_core::search::{Access, SearchFilters};
use sluice_core::search::ChunkPayload;

/// `level` of a chunk entry and of a document entry.
const CHUNK: &str = "chunk";
const DOCUMENT: &str = "doc";

#[derive(Clone, Copy)]
struct Fields {
    /// `chunk` or `doc`.
    level: Field,
    chunk_id: Field,
    doc_id: Field,
    title: Field,
    body: Field,
    /// A document entry's title and text, as one field of its own: BM25's
    /// statistics (document frequency, average length) are then the
    /// documents' and not mixed with the chunks'. On SciFact train, title
    /// in the text gave keyword nDCG@10 0.674, a title field alone 0.660.
    doc_text: Field,
    /// A document entry's title again, on its own, so a query that names
    /// a title finds that document first (boosted by [`DOC_TITLE_BOOST`]).
    doc_title: Field,
    source: Field,
    kind: Field,
    labels: Field,
    /// The access slots `acl_0 … acl_{K-1}` (see `sluice_core::access`).
    acl: [Field; MAX_ACL_SETS],
    updated_at: Field,
}

pub(crate) struct KeywordIndex {
    index: Index,
    reader: IndexReader,
    writer: Option<IndexWriter<TantivyDocument>>,
    f: Fields,
}

/// Weight of the document-entry title field beside the text (which holds
/// the title too).
const DOC_TITLE_BOOST: f32 = 0.5;

/// Weight of a document's best passage beside the whole document.
const PASSAGE_WEIGHT: f32 = 0.3;

/// English analysis for title and body: lowercase, drop stop words (so
/// "how do I …" does not match every question), stem ("retries" ~ "retry").
const ANALYZER: &str = "sluice_en";

fn analyzer() -> TextAnalyzer {
    let mut b = TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(64)).filter(LowerCaser).dynamic();
    if let Some(stop) = StopWordFilter::new(Language::English) {
        b = b.filter_dynamic(stop);
    }
    b.filter_dynamic(Stemmer::new(Language::English)).build()
}

fn text_options(stored: bool) -> TextOptions {
    let idx = TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let o = TextOptions::default().set_indexing_options(idx);
    if stored { o.set_stored() } else { o }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        level: b.add_text_field("level", STRING),
        chunk_id: b.add_text_field("chunk_id", STRING | STORED),
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        title: b.add_text_field("title", text_options(false)),
        body: b.add_text_field("body", text_options(true)),
        doc_text: b.add_text_field("doc_text", text_options(false)),
        doc_title: b.add_text_field("doc_title", text_options(false)),
        source: b.add_text_field("source", STRING),
        kind: b.add_text_field("kind", STRING),
        labels: b.add_text_field("labels", STRING),
        acl: std::array::from_fn(|i| b.add_text_field(&acl_field(i), STRING)),
        updated_at: b.add_i64_field("updated_at", tantivy::schema::INDEXED | tantivy::schema::FAST),
    };
    (b.build(), f)
}

type Result<T> = std::result::Result<T, String>;

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

impl KeywordIndex {
    /// True when `dir` holds an index written before the access slots
    /// (its documents carry a flat `acl`); it must be rebuilt.
    pub fn predates_access_slots(dir: &Path) -> bool {
        if !dir.join("meta.json").exists() {
            return false;
        }
        match Index::open_in_dir(dir) {
            Ok(index) => index.schema().get_field(&acl_field(0)).is_err(),
            Err(_) => false,
        }
    }

    /// True when `dir` holds an index written before document entries
    /// (chunks only); it is rebuilt from the vector store's payloads.
    pub fn predates_document_entries(dir: &Path) -> bool {
        if !dir.join("meta.json").exists() {
            return false;
        }
        match Index::open_in_dir(dir) {
            Ok(index) => index.schema().get_field("doc_title").is_err(),
            Err(_) => false,
        }
    }

    pub fn open(dir: &Path, writable: bool) -> Result<KeywordIndex> {
        std::fs::create_dir_all(dir).map_err(e)?;
        let (schema, f) = schema();
        let mmap = MmapDirectory::open(dir).map_err(e)?;
        let index = Index::open_or_create(mmap, schema).map_err(|err| {
            format!("{err}; the keyword index format changed — remove {} and re-run with --full", dir.display())
        })?;
        index.tokenizers().register(ANALYZER, analyzer());
        let writer = if writable {
            Some(index.writer::<TantivyDocument>(64 * 1024 * 1024).map_err(|err| {
                format!("{err}; is another `sluice run` writing to this data dir?")
            })?)
        } else {
            None
        };
        let reader = index
            .reader_builder()
            .reload_policy(if writable { ReloadPolicy::Manual } else { ReloadPolicy::OnCommitWithDelay })
            .try_into()
            .map_err(e)?;
        Ok(KeywordIndex { index, reader, writer, f })
    }

    fn writer(&mut self) -> Result<&mut IndexWriter<TantivyDocument>> {
        self.writer.as_mut().ok_or_else(|| "the index was opened read-only".to_string())
    }

    pub fn upsert(&mut self, p: &ChunkPayload) -> Result<()> {
        let f = self.f;
        let w = self.writer()?;
        w.delete_term(Term::from_field_text(f.chunk_id, &p.chunk_id.to_string()));
        let d = entry(f, CHUNK, p, &p.text);
        w.add_document(d).map_err(e)?;
        Ok(())
    }

    /// The document entry: `chunks` (all of one document, in order) as one
    /// text under the first chunk's title, filters and access. Written after
    /// the chunks, from the same payloads, so both levels always agree. The
    /// title line the chunker puts at the head of every chunk is counted
    /// once (in the title field), not once per chunk.
    pub fn upsert_document(&mut self, chunks: &[&ChunkPayload]) -> Result<()> {
        let Some(first) = chunks.first() else { return Ok(()) };
        let f = self.f;
        let title = first.title.trim();
        let text = chunks
            .iter()
            .map(|c| match c.text.strip_prefix(title).and_then(|rest| rest.strip_prefix('\n')) {
                Some(rest) if !title.is_empty() => rest,
                _ => c.text.as_str(),
            })
            .collect::<Vec<_>>()
            .join("\n\n");
        let d = entry(f, DOCUMENT, first, &format!("{title}\n{text}"));
        self.writer()?.add_document(d).map_err(e)?;
        Ok(())
    }
}

/// One index entry with the payload's filter and access fields.
fn entry(f: Fields, level: &str, p: &ChunkPayload, text: &str) -> TantivyDocument {
    {
        let mut d = doc!(
            f.level => level,
            f.chunk_id => if level == CHUNK { p.chunk_id.to_string() } else { String::new() },
            f.doc_id => p.doc_id.to_string(),
            f.source => p.source.clone(),
            f.kind => p.kind.clone(),
        );
        if level == CHUNK {
            d.add_text(f.title, &p.title);
            d.add_text(f.body, text);
        } else {
            d.add_text(f.doc_text, text);
            d.add_text(f.doc_title, &p.title);
        }
        for l in &p.labels {
            d.add_text(f.labels, l);
        }
        // A payload without slots (never produced by the engine) gets
        // none here either, and matches nobody.
        if p.acl.len() == MAX_ACL_SETS {
            for (field, slot) in f.acl.iter().zip(&p.acl) {
                for principal in slot {
                    d.add_text(*field, principal);
                }
            }
        }
        if let Some(t) = p.updated_at {
            d.add_i64(f.updated_at, t);
        }
        d
    }
}

impl KeywordIndex {
    /// Removes every entry of a document (its chunks and its document entry).
    pub fn delete_document(&mut self, id: &Uuid) -> Result<()> {
        let f = self.f;
        self.writer()?.delete_term(Term::from_field_text(f.doc_id, &id.to_string()));
        Ok(())
    }

    pub fn commit(&mut self) -> Result<()> {
        self.writer()?.commit().map_err(e)?;
        self.reader.reload().map_err(e)?;
        Ok(())
    }

    /// Chunk entries (document entries not counted).
    pub fn num_chunks(&self) -> u64 {
        let q = TermQuery::new(Term::from_field_text(self.f.level, CHUNK), IndexRecordOption::Basic);
        self.reader.searcher().search(&q, &tantivy::collector::Count).map(|n| n as u64).unwrap_or(0)
    }

    fn filter_clauses(&self, filters: &SearchFilters, access: &Access) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.f;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let any_of = |field: Field, values: &[String]| -> Box<dyn Query> {
            let subs: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|v| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(Term::from_field_text(field, v), IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            Box::new(BooleanQuery::new(subs))
        };
        if !filters.sources.is_empty() {
            clauses.push((Occur::Must, any_of(f.source, &filters.sources)));
        }
        if !filters.kinds.is_empty() {
            clauses.push((Occur::Must, any_of(f.kind, &filters.kinds)));
        }
        if !filters.labels.is_empty() {
            clauses.push((Occur::Must, any_of(f.labels, &filters.labels)));
        }
        if let Some(terms) = access.slot_terms() {
            for field in f.acl {
                clauses.push((Occur::Must, any_of(field, &terms)));
            }
        }
        if filters.updated_after.is_some() || filters.updated_before.is_some() {
            let lo = filters.updated_after.map_or(Bound::Unbounded, |t| Bound::Included(Term::from_field_i64(f.updated_at, t)));
            let hi = filters.updated_before.map_or(Bound::Unbounded, |t| Bound::Excluded(Term::from_field_i64(f.updated_at, t)));
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        clauses
    }

    /// Top `n` documents by BM25 over title (boosted) and all their text,
    /// each with its best chunk (the chunk entry scoring highest for the
    /// same query; the first chunk when no single chunk matches).
    pub fn search(&self, query: &str, n: usize, filters: &SearchFilters, access: &Access) -> Result<Vec<(f32, Uuid)>> {
        let (Some(doc_query), Some(text_query)) = (self.parse_for(query, &[(self.f.doc_text, 1.0), (self.f.doc_title, DOC_TITLE_BOOST)]), self.parse(query)) else { return Ok(Vec::new()) };
        let docs = self.top(doc_query, DOCUMENT, None, n, filters, access)?;
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = docs.iter().map(|(_, d, _)| *d).collect();
        let chunks = self.top(text_query, CHUNK, Some(&ids), n.max(1) * 8, filters, access)?;
        let mut best: std::collections::HashMap<Uuid, (f32, Uuid)> = std::collections::HashMap::new();
        for (score, doc, chunk) in &chunks {
            if let Some(c) = chunk {
                best.entry(*doc).or_insert((*score, *c));
            }
        }
        // The document's score plus its best passage's: the whole document
        // decides the ranking, and a passage (or title) that matches the
        // query closely still counts, whatever the document's length.
        let mut out: Vec<(f32, Uuid)> = docs
            .into_iter()
            .map(|(score, doc, _)| match best.get(&doc) {
                Some((passage, chunk)) => (score + PASSAGE_WEIGHT * passage, *chunk),
                None => (score, sluice_core::chunk_id(&doc, 0)),
            })
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(out)
    }

    /// The entries of one `level` best matching `text_query`, as (score,
    /// document, chunk); `within`: only these documents.
    fn top(&self, text_query: Box<dyn Query>, level: &str, within: Option<&[Uuid]>, n: usize, filters: &SearchFilters, access: &Access) -> Result<Vec<(f32, Uuid, Option<Uuid>)>> {
        let searcher = self.reader.searcher();
        let level_q: Box<dyn Query> = Box::new(TermQuery::new(Term::from_field_text(self.f.level, level), IndexRecordOption::Basic));
        let mut clauses = vec![(Occur::Must, text_query), (Occur::Must, level_q)];
        if let Some(docs) = within {
            let subs: Vec<(Occur, Box<dyn Query>)> = docs
                .iter()
                .map(|d| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(Term::from_field_text(self.f.doc_id, &d.to_string()), IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(subs))));
        }
        clauses.extend(self.filter_clauses(filters, access));
        let q = BooleanQuery::new(clauses);
        let top = searcher.search(&q, &TopDocs::with_limit(n.max(1)).order_by_score()).map_err(e)?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(e)?;
            let id = |field: Field| d.get_first(field).and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
            if let Some(doc) = id(self.f.doc_id) {
                out.push((score, doc, id(self.f.chunk_id)));
            }
        }
        Ok(out)
    }

    /// The query over the chunk entries (title boosted, for the best passage).
    fn parse(&self, query: &str) -> Option<Box<dyn Query>> {
        self.parse_for(query, &[(self.f.title, 2.0), (self.f.body, 1.0)])
    }

    fn parse_for(&self, query: &str, fields: &[(Field, f32)]) -> Option<Box<dyn Query>> {
        if query.trim().is_empty() {
            return None;
        }
        let text = text_only(query);
        if text.trim().is_empty() {
            return None;
        }
        let mut parser = QueryParser::for_index(&self.index, fields.iter().map(|(f, _)| *f).collect());
        for (f, boost) in fields {
            if *boost != 1.0 {
                parser.set_field_boost(*f, *boost);
            }
        }
        // Lenient: an unbalanced quote must never fail a search.
        let (q, _errors) = parser.parse_query_lenient(&text);
        Some(q)
    }

    /// Highlighted snippets (`<mark>…</mark>`) for chunk texts.
    pub fn snippets(&self, query: &str, texts: &[&str], max_chars: usize) -> Vec<String> {
        let searcher = self.reader.searcher();
        let q: Box<dyn Query> = self.parse(query).unwrap_or_else(|| Box::new(AllQuery));
        let mut generator = SnippetGenerator::create(&searcher, &*q, self.f.body).ok();
        if let Some(g) = generator.as_mut() {
            g.set_max_num_chars(max_chars);
        }
        texts
            .iter()
            .map(|t| {
                let html = generator.as_ref().map(|g| {
                    let mut s = g.snippet(t);
                    s.set_snippet_prefix_postfix("<mark>", "</mark>");
                    s.to_html()
                });
                match html {
                    Some(h) if !h.trim().is_empty() => h,
                    _ => escape_prefix(t, max_chars),
                }
            })
            .collect()
    }
}

/// A caller's query as plain words for the title and body fields: query
/// syntax (`field:value`, `+`/`-`, ranges, wildcards, boosts, `AND`/`OR`/
/// `NOT`) is turned into spaces or lower case, so nobody can search the
/// filter fields (`acl_0:…`, `source:…`) or steer the parser; filters come
/// from the request's typed filters only. Double quotes stay (phrases).
fn text_only(query: &str) -> String {
    query.chars().map(|c| if c.is_alphanumeric() || c.is_whitespace() || c == '"' { c } else { ' ' }).collect::<String>().to_lowercase()
}

/// The first `max_chars` characters, HTML-escaped (same escaping as snippets).
fn escape_prefix(text: &str, max_chars: usize) -> String {
    let mut s: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        s.push('…');
    }
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
