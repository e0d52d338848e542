//! BM25 keyword index (tantivy), with filter clauses evaluated inside the
//! index so filtered queries still return `n` hits. It holds two levels:
//! one entry per chunk (for the best passage and its snippet) and one per
//! document, its title and all its text (for ranking). Documents are ranked
//! as wholes: scoring isolated chunks split a document's terms across
//! entries: SciFact train keyword nDCG@10 went from 0.605 (chunks) to
//! 0.700 (documents, BM25 statistics of the documents only; README,
//! *Retrieval quality*). Both levels are searched through
//! [`crate::analysis`]: words stemmed, identifiers whole in a field of
//! their own, no query syntax.

use std::ops::Bound;
use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};
use uuid::Uuid;

use sluice_core::access::{MAX_ACL_SETS, acl_field};
use sluice_core::search::ChunkPayload;
use sluice_core::search::{Access, MIN_CANDIDATES, SearchFilters};

use crate::analysis::{self, QueryPart};

/// What the entries hold, beyond the schema: 2, document entries; 3, a
/// document entry's text without the chunks' overlap and repeated
/// headings. An index of an older format is rebuilt on open.
const FORMAT: u32 = 3;
const FORMAT_FILE: &str = "sluice-format";

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
    /// documents' and not mixed with the chunks'. The title is in the text
    /// once: a title field beside it (boost 0.25 or 0.5) or the best
    /// passage's score added (× 0.15 or 0.3) lowered SciFact train keyword
    /// nDCG@10 (README, *Retrieval quality*).
    doc_text: Field,
    /// Identifiers (`WMS-4102`) whole, of a chunk entry ([`CODE_ANALYZER`]).
    code: Field,
    /// Identifiers whole, of a document entry.
    doc_code: Field,
    /// The document id's high and low 64 bits and the chunk's ordinal, as
    /// fast fields: a search reads its hits' ids from these columns, not
    /// from the stored documents (a block decompressed per hit).
    doc_hi: Field,
    doc_lo: Field,
    ordinal: Field,
    source: Field,
    kind: Field,
    labels: Field,
    /// The access slots `acl_0 … acl_{K-1}` (see `sluice_core::access`).
    acl: [Field; MAX_ACL_SETS],
    updated_at: Field,
}

pub(crate) struct KeywordIndex {
    reader: IndexReader,
    writer: Option<IndexWriter<TantivyDocument>>,
    f: Fields,
    /// Built once (the highlight chain holds a stop-word set); each query
    /// clones them, which shares their tables.
    query_analyzer: TextAnalyzer,
    highlight_analyzer: TextAnalyzer,
}

/// Documents, from the top of the keyword ranking, whose best passage is
/// looked up (more when a request asks for more than `MIN_CANDIDATES`
/// hits). A hit further down shows its first chunk: to reach the fused top
/// it must rank higher in the vector leg, whose own chunk it then shows.
const PASSAGE_DOCS: usize = 20;

/// Name of the text analyzer ([`crate::analysis::analyzer`]) in the index.
const ANALYZER: &str = "sluice_en";
/// Name of the identifier analyzer ([`crate::analysis::code_analyzer`]).
const CODE_ANALYZER: &str = "sluice_code";

/// Weight of an identifier found whole beside its words. Not chosen on
/// SciFact, whose claims have no identifiers to find (there it costs 0.002
/// nDCG@10 at this weight; README, *Retrieval quality*): enough that
/// `WMS-4102` whole outranks "WMS" and "4102" apart.
const IDENTIFIER_WEIGHT: f32 = 0.25;

fn code_options() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(CODE_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

fn text_options(stored: bool) -> TextOptions {
    let idx = TextFieldIndexing::default()
        .set_tokenizer(ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
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
        code: b.add_text_field("code", code_options()),
        doc_code: b.add_text_field("doc_code", code_options()),
        doc_hi: b.add_u64_field("doc_hi", FAST),
        doc_lo: b.add_u64_field("doc_lo", FAST),
        ordinal: b.add_u64_field("ordinal", FAST),
        source: b.add_text_field("source", STRING),
        kind: b.add_text_field("kind", STRING),
        labels: b.add_text_field("labels", STRING),
        acl: std::array::from_fn(|i| b.add_text_field(&acl_field(i), STRING)),
        updated_at: b.add_i64_field(
            "updated_at",
            tantivy::schema::INDEXED | tantivy::schema::FAST,
        ),
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

    /// True when `dir` holds an index of another schema (written before
    /// document entries or identifier fields); it is rebuilt from the
    /// vector store's payloads.
    pub fn schema_outdated(dir: &Path) -> bool {
        if !dir.join("meta.json").exists() {
            return false;
        }
        match Index::open_in_dir(dir) {
            // Compared as written to meta.json: names, types and options.
            Ok(index) => {
                serde_json::to_value(index.schema()).ok() != serde_json::to_value(schema().0).ok()
            }
            Err(_) => false,
        }
    }

    /// True when `dir` holds an index whose entries were written by an
    /// older [`FORMAT`] (same schema, other text or analysis): it is
    /// rebuilt from the vector store's payloads by the next writer.
    pub fn outdated_format(dir: &Path) -> bool {
        dir.join("meta.json").exists()
            && std::fs::read_to_string(dir.join(FORMAT_FILE))
                .map_or(true, |v| v.trim() != FORMAT.to_string())
    }

    /// Records that this index's entries are of the current [`FORMAT`].
    pub fn mark_format(dir: &Path) -> Result<()> {
        std::fs::write(dir.join(FORMAT_FILE), format!("{FORMAT}\n")).map_err(e)
    }

    pub fn open(dir: &Path, writable: bool) -> Result<KeywordIndex> {
        std::fs::create_dir_all(dir).map_err(e)?;
        let (schema, f) = schema();
        let mmap = MmapDirectory::open(dir).map_err(e)?;
        let index = Index::open_or_create(mmap, schema).map_err(|err| {
            format!(
                "{err}; the keyword index format changed — remove {} and re-run with --full",
                dir.display()
            )
        })?;
        index.tokenizers().register(ANALYZER, analysis::analyzer());
        index
            .tokenizers()
            .register(CODE_ANALYZER, analysis::code_analyzer());
        let writer = if writable {
            let w = index
                .writer::<TantivyDocument>(64 * 1024 * 1024)
                .map_err(|err| {
                    format!("{err}; is another `sluice run` writing to this data dir?")
                })?;
            // A writer killed between writing a segment's delete file and
            // committing leaves that file behind, and tantivy only collects
            // garbage after a commit: the next run, replaying the same
            // operations, reaches the same file name and fails with
            // FileAlreadyExists (the crash test caught it). Files no commit
            // refers to go before anything is written.
            w.garbage_collect_files()
                .wait()
                .map_err(|err| format!("{err} (removing files a stopped writer left)"))?;
            Some(w)
        } else {
            None
        };
        let reader = index
            .reader_builder()
            .reload_policy(if writable {
                ReloadPolicy::Manual
            } else {
                ReloadPolicy::OnCommitWithDelay
            })
            .try_into()
            .map_err(e)?;
        Ok(KeywordIndex {
            reader,
            writer,
            f,
            query_analyzer: analysis::query_analyzer(),
            highlight_analyzer: analysis::highlight_analyzer(),
        })
    }

    fn writer(&mut self) -> Result<&mut IndexWriter<TantivyDocument>> {
        self.writer
            .as_mut()
            .ok_or_else(|| "the index was opened read-only".to_string())
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
        let Some(first) = chunks.first() else {
            return Ok(());
        };
        let f = self.f;
        let title = first.title.trim();
        let d = entry(
            f,
            DOCUMENT,
            first,
            &document_text(title, chunks.iter().map(|c| c.text.as_str())),
        );
        self.writer()?.add_document(d).map_err(e)?;
        Ok(())
    }
}

/// A document's text rebuilt from its chunks, in order: the title once,
/// then each chunk without the context lines the chunker repeats (the
/// title; a section heading already given by the chunk before) and without
/// the overlap it carries over from the chunk before. Text counted twice
/// would count its terms twice. (SciFact's abstracts barely overlap, their
/// sentences being longer than the 32-token overlap: there it moved keyword
/// nDCG@10 from 0.663 to 0.659, noise; on documents of short lines it
/// stops a chunk boundary from doubling a line's words.)
pub(crate) fn document_text<'a>(title: &str, chunks: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from(title);
    let mut prev_body: &str = "";
    let mut prev_heading: Option<&str> = None;
    for text in chunks {
        let mut rest = match text.strip_prefix(title).and_then(|r| r.strip_prefix('\n')) {
            Some(r) if !title.is_empty() => r,
            _ => text,
        };
        // A heading the chunk before also started with is the section's
        // context line, repeated: keep it once.
        let first_line = rest.split_once('\n').map(|(l, _)| l);
        if let (Some(line), Some(prev)) = (first_line, prev_heading) {
            if line == prev {
                rest = &rest[line.len() + 1..];
            }
        }
        prev_heading = first_line;
        let body = rest;
        let fresh = &body[carried_over(prev_body, body)..];
        if !fresh.trim().is_empty() {
            out.push_str("\n\n");
            out.push_str(fresh.trim_start_matches('\n'));
        }
        prev_body = body;
    }
    out
}

/// Length of the longest head of `next` that `prev` ends with, cut where
/// the chunker joins pieces (a blank line), so a chunk's overlap with the
/// one before is dropped and nothing else. (A paragraph a document really
/// repeats at a chunk boundary is counted once; only the document entry,
/// which ranks, sees this: the chunk entries keep every word.)
fn carried_over(prev: &str, next: &str) -> usize {
    if prev.is_empty() {
        return 0;
    }
    let cuts: Vec<usize> = next.match_indices("\n\n").map(|(i, _)| i).collect();
    for &cut in cuts.iter().rev() {
        let head = &next[..cut];
        if head.is_empty() {
            continue;
        }
        let ends = prev.len() == head.len() && prev == head
            || prev.ends_with(head) && prev[..prev.len() - head.len()].ends_with("\n\n");
        if ends {
            return cut;
        }
    }
    0
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
            f.doc_hi => (p.doc_id.as_u128() >> 64) as u64,
            f.doc_lo => p.doc_id.as_u128() as u64,
            f.ordinal => if level == CHUNK { u64::from(p.ordinal) } else { 0 },
        );
        if level == CHUNK {
            d.add_text(f.title, &p.title);
            d.add_text(f.body, text);
            d.add_text(f.code, text);
        } else {
            d.add_text(f.doc_text, text);
            d.add_text(f.doc_code, text);
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
        self.writer()?
            .delete_term(Term::from_field_text(f.doc_id, &id.to_string()));
        Ok(())
    }

    pub fn commit(&mut self) -> Result<()> {
        self.writer()?.commit().map_err(e)?;
        self.reader.reload().map_err(e)?;
        Ok(())
    }

    /// Chunk entries (document entries not counted).
    pub fn num_chunks(&self) -> u64 {
        let q = TermQuery::new(
            Term::from_field_text(self.f.level, CHUNK),
            IndexRecordOption::Basic,
        );
        self.reader
            .searcher()
            .search(&q, &tantivy::collector::Count)
            .map(|n| n as u64)
            .unwrap_or(0)
    }

    fn filter_clauses(
        &self,
        filters: &SearchFilters,
        access: &Access,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.f;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let any_of = |field: Field, values: &[String]| -> Box<dyn Query> {
            let subs: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|v| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(field, v),
                        IndexRecordOption::Basic,
                    ));
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
            let lo = filters.updated_after.map_or(Bound::Unbounded, |t| {
                Bound::Included(Term::from_field_i64(f.updated_at, t))
            });
            let hi = filters.updated_before.map_or(Bound::Unbounded, |t| {
                Bound::Excluded(Term::from_field_i64(f.updated_at, t))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        clauses
    }

    /// Top `n` documents by BM25 over their title and text (and their
    /// identifiers whole), each with its best chunk: the chunk entry that
    /// scores highest for the same query (the first chunk when none does,
    /// or below the first [`PASSAGE_DOCS`]).
    pub fn search(
        &self,
        query: &str,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<(f32, Uuid)>> {
        let (Some(doc_query), Some(text_query)) = (
            self.parse_for(
                query,
                &[(self.f.doc_text, 1.0), (self.f.doc_code, IDENTIFIER_WEIGHT)],
            ),
            self.parse(query),
        ) else {
            return Ok(Vec::new());
        };
        let docs = self.top(doc_query, DOCUMENT, None, n, filters, access)?;
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let shown: Vec<Uuid> = docs
            .iter()
            .take(PASSAGE_DOCS.max(n.saturating_sub(MIN_CANDIDATES)))
            .map(|(_, d, _)| *d)
            .collect();
        let chunks = self.top(
            text_query,
            CHUNK,
            Some(&shown),
            shown.len() * 8,
            filters,
            access,
        )?;
        let mut best: std::collections::HashMap<Uuid, Uuid> = std::collections::HashMap::new();
        for (_, doc, chunk) in &chunks {
            if let Some(c) = chunk {
                best.entry(*doc).or_insert(*c);
            }
        }
        Ok(docs
            .into_iter()
            .map(|(score, doc, _)| {
                (
                    score,
                    best.get(&doc)
                        .copied()
                        .unwrap_or_else(|| sluice_core::chunk_id(&doc, 0)),
                )
            })
            .collect())
    }

    /// The `n` chunk entries best matching `query` by themselves (the
    /// ranking before document entries): the benchmark's baseline.
    pub fn search_chunk_level(
        &self,
        query: &str,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<(f32, Uuid)>> {
        let Some(q) = self.parse(query) else {
            return Ok(Vec::new());
        };
        Ok(self
            .top(q, CHUNK, None, n, filters, access)?
            .into_iter()
            .filter_map(|(s, _, c)| c.map(|c| (s, c)))
            .collect())
    }

    /// The entries of one `level` best matching `text_query`, as (score,
    /// document, chunk); `within`: only these documents.
    fn top(
        &self,
        text_query: Box<dyn Query>,
        level: &str,
        within: Option<&[Uuid]>,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<(f32, Uuid, Option<Uuid>)>> {
        let searcher = self.reader.searcher();
        let level_q: Box<dyn Query> = Box::new(TermQuery::new(
            Term::from_field_text(self.f.level, level),
            IndexRecordOption::Basic,
        ));
        let mut clauses = vec![(Occur::Must, text_query), (Occur::Must, level_q)];
        if let Some(docs) = within {
            let subs: Vec<(Occur, Box<dyn Query>)> = docs
                .iter()
                .map(|d| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(self.f.doc_id, &d.to_string()),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(subs))));
        }
        clauses.extend(self.filter_clauses(filters, access));
        // Only the text query scores: the level, document and filter
        // clauses select. (Scored, an access term's weight varied with how
        // many principals an entry lists, and moved its rank.)
        let clauses: Vec<(Occur, Box<dyn Query>)> = clauses
            .into_iter()
            .enumerate()
            .map(|(i, (occur, q))| {
                if i == 0 {
                    (occur, q)
                } else {
                    (
                        occur,
                        Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>,
                    )
                }
            })
            .collect();
        let q = BooleanQuery::new(clauses);
        let stats = LevelStatistics {
            searcher: &searcher,
            level: Term::from_field_text(self.f.level, level),
        };
        let top = searcher
            .search_with_statistics_provider(
                &q,
                &TopDocs::with_limit(n.max(1)).order_by_score(),
                &stats,
            )
            .map_err(e)?;
        let mut out = Vec::with_capacity(top.len());
        let mut columns: std::collections::HashMap<u32, [tantivy::columnar::Column<u64>; 3]> =
            std::collections::HashMap::new();
        for (score, addr) in top {
            let cols = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let ff = searcher.segment_reader(addr.segment_ord).fast_fields();
                    v.insert([
                        ff.u64("doc_hi").map_err(e)?,
                        ff.u64("doc_lo").map_err(e)?,
                        ff.u64("ordinal").map_err(e)?,
                    ])
                }
            };
            let [hi, lo, ordinal] = [&cols[0], &cols[1], &cols[2]].map(|c| c.first(addr.doc_id));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                let doc = Uuid::from_u128((u128::from(hi) << 64) | u128::from(lo));
                let chunk = (level == CHUNK)
                    .then(|| sluice_core::chunk_id(&doc, ordinal.unwrap_or(0) as u32));
                out.push((score, doc, chunk));
            }
        }
        Ok(out)
    }

    /// The query over the chunk entries (title boosted, for the best passage).
    fn parse(&self, query: &str) -> Option<Box<dyn Query>> {
        self.parse_for(
            query,
            &[
                (self.f.title, 2.0),
                (self.f.body, 1.0),
                (self.f.code, IDENTIFIER_WEIGHT),
            ],
        )
    }

    fn parse_for(&self, query: &str, fields: &[(Field, f32)]) -> Option<Box<dyn Query>> {
        build_query(&mut self.query_analyzer.clone(), query, fields)
    }

    /// Highlighted snippets (`<mark>…</mark>`) for chunk texts.
    pub fn snippets(&self, query: &str, texts: &[&str], max_chars: usize) -> Vec<String> {
        let searcher = self.reader.searcher();
        // Highlights: the query's words less stop words ("were" is not marked).
        let fields = [(self.f.title, 1.0), (self.f.body, 1.0)];
        let q: Box<dyn Query> = build_query(&mut self.highlight_analyzer.clone(), query, &fields)
            .unwrap_or_else(|| Box::new(AllQuery));
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

/// BM25 statistics of one level's entries: a document entry's term weights
/// and length normalisation are computed over the documents, a chunk's over
/// the chunks. Tantivy's own count every entry in the index, so with both
/// levels in one index the average length came out at a third of the
/// documents' real one (every document looked 3.4 times "long") and every
/// rare term's weight was flattened. SciFact train keyword nDCG@10: 0.659
/// with tantivy's counts, 0.671 with these (and 0.699 without the title
/// and passage terms those counts had seemed to need).
struct LevelStatistics<'a> {
    searcher: &'a tantivy::Searcher,
    level: Term,
}

impl tantivy::query::Bm25StatisticsProvider for LevelStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        // Only entries of one level hold a given text field.
        tantivy::query::Bm25StatisticsProvider::total_num_tokens(self.searcher, field)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        // Counted like tantivy's total (deleted entries included until a
        // merge drops them), so it agrees with the token totals above.
        Ok(self.searcher.doc_freq(&self.level)?.max(1))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        // Never above the total: BM25's idf asserts it (a panic in a search).
        Ok(self.searcher.doc_freq(term)?.min(self.total_num_docs()?))
    }
}

/// The query for `query`'s words ([`analysis::query_parts`]: no syntax)
/// over `fields`, each with its weight; a document matches any word.
fn build_query(
    analyzer: &mut TextAnalyzer,
    query: &str,
    fields: &[(Field, f32)],
) -> Option<Box<dyn Query>> {
    let parts = analysis::query_parts(analyzer, query);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for part in &parts {
        for &(field, boost) in fields {
            let q: Box<dyn Query> = match part {
                QueryPart::Term(t) => Box::new(TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                )),
                QueryPart::Phrase(words) => Box::new(PhraseQuery::new(
                    words
                        .iter()
                        .map(|w| Term::from_field_text(field, w))
                        .collect(),
                )),
            };
            clauses.push((
                Occur::Should,
                if boost == 1.0 {
                    q
                } else {
                    Box::new(BoostQuery::new(q, boost))
                },
            ));
        }
    }
    if clauses.is_empty() {
        return None;
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

/// The first `max_chars` characters, HTML-escaped (same escaping as snippets).
fn escape_prefix(text: &str, max_chars: usize) -> String {
    let mut s: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        s.push('…');
    }
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(ext: &str, text: &str) -> ChunkPayload {
        let doc_id = sluice_core::doc_id("s", ext);
        ChunkPayload {
            chunk_id: sluice_core::chunk_id(&doc_id, 0),
            doc_id,
            ordinal: 0,
            source: "s".into(),
            external_id: ext.into(),
            kind: "page".into(),
            title: ext.into(),
            url: None,
            labels: vec![],
            acl: vec![vec!["public".into()]; MAX_ACL_SETS],
            updated_at: None,
            text: text.into(),
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }

    /// A writer killed after it wrote a segment's delete file (and listed
    /// it as managed) but before the meta file that makes it live: made
    /// here from the files before a delete's commit plus the delete file and
    /// managed list that commit wrote. Replaying the same delete reaches the
    /// same file name; it must not fail with FileAlreadyExists.
    #[test]
    fn a_writer_killed_before_its_commit_leaves_nothing_that_blocks_the_next() {
        let live = tempfile::tempdir().unwrap();
        let killed = tempfile::tempdir().unwrap();
        let (a, b) = (payload("a", "kafka consumer lag"), payload("b", "stays"));
        {
            let mut k = KeywordIndex::open(live.path(), true).unwrap();
            for p in [&a, &b] {
                k.upsert(p).unwrap();
                k.upsert_document(&[p]).unwrap();
            }
            k.commit().unwrap();
        }
        copy_dir(live.path(), killed.path());
        {
            let mut k = KeywordIndex::open(live.path(), true).unwrap();
            k.delete_document(&a.doc_id).unwrap();
            k.commit().unwrap();
        }
        let mut stale = 0;
        for e in std::fs::read_dir(live.path())
            .unwrap()
            .filter_map(|e| e.ok())
        {
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".del") || name == ".managed.json" {
                std::fs::copy(e.path(), killed.path().join(&name)).unwrap();
                stale += usize::from(name.ends_with(".del"));
            }
        }
        assert!(stale > 0, "the delete commit wrote a delete file");
        std::fs::remove_file(killed.path().join(".tantivy-writer.lock")).ok();
        let mut k = KeywordIndex::open(killed.path(), true).unwrap();
        assert_eq!(k.num_chunks(), 2, "the stale delete is not live");
        k.delete_document(&a.doc_id).unwrap();
        k.commit().unwrap();
        assert_eq!(k.num_chunks(), 1);
    }
}
