//! Files source: JSONL, CSV, Parquet, Markdown, HTML and text files from a
//! local path or an `object_store` URL (file://, s3://), mapped to documents
//! through a field mapping. A BEIR `corpus.jsonl` (`_id`, `title`, `text`)
//! needs no mapping at all.

mod factory;
mod formats;
mod manifest;

pub mod mapping;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path as FsPath;
use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::arrow_conv::parse_time;
use sluice_core::{
    DeadLetter, DocKind, Document, ListingScope, SettingsError, Source, SourceError, SourcePage,
    SyncMode,
};

use manifest::Manifest;

/// Ids of unchanged files' records per page, so a page of a huge unchanged
/// tree stays a bounded unit of work.
const LIVE_IDS_PER_PAGE: usize = 10_000;

pub use factory::FilesSourceType;
pub use formats::FileFormat;
pub use mapping::{Exprs, FieldMapping, TextFormat};

/// `settings:` of a `type: files` source.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesSettings {
    /// A local file or directory, relative to the pipeline file.
    #[serde(default)]
    pub path: Option<String>,
    /// Or an object store URL: `file:///abs/dir`, `s3://bucket/prefix`
    /// (credentials from the usual AWS_* environment variables).
    #[serde(default)]
    pub url: Option<String>,
    /// File format; inferred from each file's extension when absent.
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Only files whose path (relative to `path`/`url`) matches, e.g. `**/*.md`.
    #[serde(default)]
    pub glob: Option<String>,
    /// Kind of every document unless `mapping.kind` says otherwise.
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub mapping: FieldMapping,
    /// Documents per page (one checkpointed unit of work).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Files larger than this are skipped with a dead letter.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
}

fn default_kind() -> String {
    "document".into()
}
fn default_page_size() -> usize {
    256
}
fn default_max_file_bytes() -> u64 {
    512 * 1024 * 1024
}

impl FilesSettings {
    /// Parses and checks `settings`, reporting every problem found.
    pub fn parse(settings: &BTreeMap<String, Value>) -> Result<FilesSettings, Vec<SettingsError>> {
        let parsed: FilesSettings = sluice_core::parse_settings(settings)?;
        let mut errs = Vec::new();
        match (&parsed.path, &parsed.url) {
            (None, None) => errs.push(SettingsError {
                path: String::new(),
                message: "a files source needs `path` or `url`".into(),
                hint: Some("e.g. `path: data/corpus.jsonl` or `url: s3://bucket/prefix/`".into()),
            }),
            (Some(_), Some(_)) => errs.push(SettingsError {
                path: "url".into(),
                message: "set either `path` or `url`, not both".into(),
                hint: None,
            }),
            _ => {}
        }
        if let Some(u) = &parsed.url {
            if let Err(e) = url::Url::parse(u) {
                errs.push(SettingsError {
                    path: "url".into(),
                    message: format!("invalid URL `{u}`: {e}"),
                    hint: Some("use file:///abs/path or s3://bucket/prefix".into()),
                });
            }
        }
        if let Some(g) = &parsed.glob {
            if let Err(e) = glob::Pattern::new(g) {
                errs.push(SettingsError {
                    path: "glob".into(),
                    message: format!("invalid glob `{g}`: {e}"),
                    hint: None,
                });
            }
        }
        if let Err(e) = parsed.kind.parse::<DocKind>() {
            errs.push(SettingsError {
                path: "kind".into(),
                message: e,
                hint: None,
            });
        }
        if parsed.page_size == 0 {
            errs.push(SettingsError {
                path: "page_size".into(),
                message: "page_size must be at least 1".into(),
                hint: None,
            });
        }
        let m = &parsed.mapping;
        let mut fields: Vec<(&str, &Exprs)> = Vec::new();
        for (name, e) in [
            ("id", &m.id),
            ("title", &m.title),
            ("text", &m.text),
            ("url", &m.url),
            ("author", &m.author),
            ("created_at", &m.created_at),
            ("updated_at", &m.updated_at),
            ("kind", &m.kind),
            ("parent_id", &m.parent_id),
            ("thread_id", &m.thread_id),
            ("breadcrumb", &m.breadcrumb),
            ("labels", &m.labels),
            ("acl", &m.acl),
        ] {
            if let Some(e) = e {
                fields.push((name, e));
            }
        }
        for (name, e) in &fields {
            if let Err(msg) = e.validate() {
                errs.push(SettingsError { path: format!("mapping.{name}"), message: msg, hint: Some("paths look like `fields.summary` or `comments[*].body`; templates like `https://x/{key}`".into()) });
            }
        }
        for (name, e) in &m.metadata {
            if let Err(msg) = e.validate() {
                errs.push(SettingsError {
                    path: format!("mapping.metadata.{name}"),
                    message: msg,
                    hint: None,
                });
            }
        }
        if errs.is_empty() {
            Ok(parsed)
        } else {
            Err(errs)
        }
    }
}

/// One listed file.
struct FileEntry {
    meta: ObjectMeta,
    relative: String,
    format: FileFormat,
}

pub struct FilesSource {
    id: String,
    settings: FilesSettings,
    store: Arc<dyn ObjectStore>,
    root: StorePath,
    /// Display form of the root for error messages.
    root_display: String,
    files: VecDeque<FileEntry>,
    /// Records parsed from the current file, not yet paged out.
    pending: VecDeque<(String, Result<Value, String>)>,
    current: Option<FileEntry>,
    default_kind: DocKind,
    /// Hash of the settings, stored in the manifest.
    fingerprint: String,
    /// What the last complete run read (incremental runs only).
    previous: Option<Manifest>,
    /// What this run has read so far; the cursor of its last page.
    next: Option<Manifest>,
    /// The manifest of the last listing (this run's, else the previous):
    /// which file holds a record, for `fetch`.
    last: Option<Manifest>,
    /// Only these files are listed (`fetch` of records the manifest places).
    only: Option<std::collections::HashSet<String>>,
    /// Files of this run skipped as unchanged / read and parsed.
    skipped_files: usize,
    parsed_files: usize,
}

impl FilesSource {
    /// `base_dir` resolves a relative `path` (the pipeline file's directory).
    pub fn new(
        id: &str,
        settings: FilesSettings,
        base_dir: &FsPath,
    ) -> Result<FilesSource, String> {
        let (url, display) = match (&settings.path, &settings.url) {
            (Some(p), _) => {
                let abs = if FsPath::new(p).is_absolute() {
                    FsPath::new(p).to_path_buf()
                } else {
                    base_dir.join(p)
                };
                // object_store paths reject `..`: resolve them (and links) first.
                let abs = std::fs::canonicalize(&abs)
                    .or_else(|_| std::path::absolute(&abs))
                    .map_err(|e| format!("cannot resolve path {}: {e}", abs.display()))?;
                let u = url::Url::from_file_path(&abs)
                    .map_err(|_| format!("cannot use path {}", abs.display()))?;
                (u, abs.display().to_string())
            }
            (None, Some(u)) => (
                url::Url::parse(u).map_err(|e| format!("invalid URL `{u}`: {e}"))?,
                u.clone(),
            ),
            (None, None) => return Err("a files source needs `path` or `url`".into()),
        };
        let (store, root) =
            object_store::parse_url(&url).map_err(|e| format!("cannot open {display}: {e}"))?;
        let default_kind = settings.kind.parse::<DocKind>()?;
        let fingerprint = manifest::fingerprint(&settings);
        Ok(FilesSource {
            id: id.to_string(),
            settings,
            store: Arc::from(store),
            root,
            root_display: display,
            files: VecDeque::new(),
            pending: VecDeque::new(),
            current: None,
            default_kind,
            fingerprint,
            previous: None,
            next: None,
            last: None,
            only: None,
            skipped_files: 0,
            parsed_files: 0,
        })
    }

    /// Files skipped as unchanged and files read, in this run so far.
    pub fn files_skipped_and_read(&self) -> (usize, usize) {
        (self.skipped_files, self.parsed_files)
    }

    /// Lists an unchanged file's records as live, without reading it, and
    /// carries its entry into the next manifest.
    fn keep_unchanged(
        &mut self,
        relative: &str,
        entry: manifest::FileEntry,
        page: &mut SourcePage,
    ) {
        page.live_ids.extend(entry.ids.iter().cloned());
        if let Some(next) = self.next.as_mut() {
            next.files.insert(relative.to_string(), entry);
        }
        self.skipped_files += 1;
    }

    fn err(&self, location: &str, message: impl Into<String>) -> SourceError {
        SourceError {
            source_id: self.id.clone(),
            location: location.to_string(),
            message: message.into(),
            transient: false,
        }
    }

    async fn list(&self) -> Result<Vec<FileEntry>, SourceError> {
        // A single file: head succeeds on the root itself.
        let metas: Vec<ObjectMeta> = match self.store.head(&self.root).await {
            Ok(meta) => vec![meta],
            Err(_) => self
                .store
                .list(Some(&self.root))
                .try_collect()
                .await
                .map_err(|e| self.err(&self.root_display, format!("cannot list files: {e}")))?,
        };
        if metas.is_empty() {
            return Err(self.err(
                &self.root_display,
                "no such file or directory, or it is empty; check `path`/`url`",
            ));
        }
        let pattern = self
            .settings
            .glob
            .as_deref()
            .and_then(|g| glob::Pattern::new(g).ok());
        let root_str = self.root.as_ref();
        let mut out = Vec::new();
        for meta in metas {
            let full = meta.location.as_ref();
            let relative = full
                .strip_prefix(root_str)
                .map(|r| r.trim_start_matches('/'))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| full.rsplit('/').next().unwrap_or(full));
            let relative = relative.to_string();
            if relative.split('/').any(|seg| seg.starts_with('.')) {
                continue; // hidden files and directories
            }
            if let Some(p) = &pattern {
                if !p.matches(&relative) {
                    continue;
                }
            }
            let format = match self
                .settings
                .format
                .or_else(|| FileFormat::from_path(&relative))
            {
                Some(f) => f,
                None => continue, // not a format we read
            };
            out.push(FileEntry {
                meta,
                relative,
                format,
            });
        }
        out.sort_by(|a, b| a.relative.cmp(&b.relative));
        Ok(out)
    }

    fn to_document(
        &self,
        rec: &Value,
        file: &FileEntry,
    ) -> Result<Document, (Option<String>, String)> {
        let m = &self.settings.mapping;
        let defaults = formats::default_mapping(file.format);
        let pick = |own: &Option<Exprs>, def: &Option<Exprs>| own.clone().or_else(|| def.clone());
        let id_expr = pick(&m.id, &defaults.id).unwrap_or(Exprs::One("id".into()));
        let Some(id) = id_expr.eval_first(rec) else {
            return Err((
                None,
                format!("record has no value for the external id (`mapping.id` = {id_expr:?})"),
            ));
        };
        let fail = |msg: String| (Some(id.clone()), msg);
        let kind = match m.kind.as_ref().and_then(|k| k.eval_first(rec)) {
            Some(k) => k.parse::<DocKind>().map_err(fail)?,
            None => self.default_kind,
        };
        let mut d = Document::new(&self.id, id.clone(), kind);
        d.title = pick(&m.title, &defaults.title)
            .and_then(|e| e.eval_first(rec))
            .unwrap_or_default();
        let format = if m.text.is_some() {
            m.text_format
        } else {
            formats::default_text_format(file.format, m.text_format)
        };
        let parts = pick(&m.text, &defaults.text)
            .map(|e| e.eval_all_with(rec, format.render()))
            .unwrap_or_default();
        d.warnings = rec
            .get(formats::CONVERSION_WARNINGS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        d.body = parts
            .iter()
            .map(|p| match format {
                TextFormat::Html => {
                    let c = sluice_text::html::convert(p);
                    d.warnings.extend(c.warnings);
                    c.text
                }
                _ => p.trim().to_string(),
            })
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        // Link targets (hrefs, page links, Jira macros) from the markup as
        // written: converting to text keeps only their labels.
        if format != TextFormat::Plain {
            let raw = pick(&m.text, &defaults.text)
                .map(|e| e.eval_all_with(rec, raw_markup))
                .unwrap_or_default();
            for r in &raw {
                sluice_links::markup::add_targets(&mut d.metadata, r);
            }
        }
        d.url = pick(&m.url, &defaults.url).and_then(|e| e.eval_first(rec));
        d.author = pick(&m.author, &defaults.author).and_then(|e| e.eval_first(rec));
        let time = |e: Option<Exprs>, field: &str| -> Result<_, (Option<String>, String)> {
            match e.and_then(|e| e.eval_first(rec)) {
                None => Ok(None),
                Some(s) => parse_time(&s)
                    .map(Some)
                    .map_err(|err| fail(format!("mapping.{field}: {err}"))),
            }
        };
        d.created_at = time(pick(&m.created_at, &defaults.created_at), "created_at")?;
        d.updated_at = time(pick(&m.updated_at, &defaults.updated_at), "updated_at")?;
        d.parent_id = m.parent_id.as_ref().and_then(|e| e.eval_first(rec));
        d.thread_id = m.thread_id.as_ref().and_then(|e| e.eval_first(rec));
        d.breadcrumb = m
            .breadcrumb
            .as_ref()
            .map(|e| e.eval_all(rec))
            .unwrap_or_default();
        d.labels = pick(&m.labels, &defaults.labels)
            .map(|e| e.eval_all(rec))
            .unwrap_or_default();
        // Principals exactly as the pipeline author wrote them. A record
        // the template gives none is left without access: the engine
        // dead-letters it unless the source is `visibility: public`.
        let readers = m.acl.as_ref().map(|e| e.eval_all(rec)).unwrap_or_default();
        d.access = if !readers.is_empty() {
            Some(sluice_core::DocAccess::any_of(readers))
        } else {
            match &m.acl_fallback {
                Some(mapping::AclFallback::Word(mapping::AclWord::Public)) => {
                    Some(sluice_core::DocAccess::Public)
                }
                Some(mapping::AclFallback::Principals(p)) if !p.is_empty() => {
                    Some(sluice_core::DocAccess::any_of(p.iter().cloned()))
                }
                _ => None,
            }
        };
        for (name, e) in &m.metadata {
            let vals = e.eval_all(rec);
            match vals.len() {
                0 => {}
                1 => {
                    d.metadata.insert(
                        name.clone(),
                        Value::String(vals.into_iter().next().unwrap_or_default()),
                    );
                }
                _ => {
                    d.metadata.insert(name.clone(), Value::from(vals));
                }
            }
        }
        if d.title.is_empty() && d.body.is_empty() {
            return Err(fail(
                "record has neither title nor text; check `mapping.title` / `mapping.text`".into(),
            ));
        }
        Ok(d)
    }

    /// Loads the next file's records into `pending`. Returns false when no
    /// files are left. A file that cannot be read becomes one dead letter.
    async fn load_next_file(&mut self, page: &mut SourcePage) -> bool {
        let Some(file) = self.files.pop_front() else {
            return false;
        };
        let location = format!(
            "{}/{}",
            self.root_display.trim_end_matches('/'),
            file.relative
        );
        if file.meta.size > self.settings.max_file_bytes {
            page.dead_letters.push(DeadLetter {
                source: self.id.clone(),
                location,
                external_id: None,
                error: format!(
                    "file is {} bytes, over max_file_bytes {}; raise the limit or split the file",
                    file.meta.size, self.settings.max_file_bytes
                ),
            });
            return true;
        }
        // Unchanged since the last complete run: same size and time, or
        // (a touched file) the same bytes.
        let modified = file.meta.last_modified.to_rfc3339();
        let previous = match self
            .previous
            .as_ref()
            .and_then(|m| m.files.get(&file.relative))
            .cloned()
        {
            Some(prev) if prev.size == file.meta.size && prev.modified == modified => {
                self.keep_unchanged(&file.relative, prev, page);
                return true;
            }
            other => other,
        };
        let bytes = match self.store.get(&file.meta.location).await {
            Ok(r) => r.bytes().await,
            Err(e) => Err(e),
        };
        match bytes {
            Ok(b) => {
                let sha256 = manifest::sha256(&b);
                if let Some(prev) = previous.filter(|p| p.sha256 == sha256) {
                    let entry = manifest::FileEntry {
                        size: file.meta.size,
                        modified,
                        sha256,
                        ids: prev.ids,
                    };
                    self.keep_unchanged(&file.relative, entry, page);
                    return true;
                }
                self.parsed_files += 1;
                match formats::parse(file.format, &b, &file.relative, &file.meta) {
                    Ok(records) => {
                        self.pending = records
                            .into_iter()
                            .map(|(loc, r)| (format!("{location}{loc}"), r))
                            .collect();
                        // A file that fails as a whole stays out of the
                        // manifest, so the next run reads it again.
                        if let Some(next) = self.next.as_mut() {
                            next.files.insert(
                                file.relative.clone(),
                                manifest::FileEntry {
                                    size: file.meta.size,
                                    modified,
                                    sha256,
                                    ids: Vec::new(),
                                },
                            );
                        }
                    }
                    Err(e) => page.dead_letters.push(DeadLetter {
                        source: self.id.clone(),
                        location,
                        external_id: None,
                        error: e,
                    }),
                }
            }
            Err(e) => page.dead_letters.push(DeadLetter {
                source: self.id.clone(),
                location,
                external_id: None,
                error: format!("cannot read: {e}"),
            }),
        }
        self.current = Some(file);
        true
    }
}

#[async_trait]
impl Source for FilesSource {
    fn id(&self) -> &str {
        &self.id
    }

    async fn open(
        &mut self,
        mode: SyncMode,
        cursor: Option<&str>,
    ) -> Result<ListingScope, SourceError> {
        // Files carry no reliable change feed across stores, so every run
        // lists everything. An incremental run skips the files the last
        // complete run's manifest (the cursor) says are unchanged; a full,
        // prune or permission run reads every file.
        let mut files = self.list().await?;
        if let Some(only) = &self.only {
            files.retain(|f| only.contains(&f.relative));
        }
        self.files = files.into();
        self.pending.clear();
        self.current = None;
        self.previous = match mode {
            SyncMode::Incremental => Manifest::from_cursor(cursor, &self.fingerprint),
            _ => None,
        };
        self.next = matches!(mode, SyncMode::Incremental | SyncMode::Full)
            .then(|| Manifest::new(self.fingerprint.clone()));
        (self.skipped_files, self.parsed_files) = (0, 0);
        Ok(ListingScope::Complete)
    }

    /// A file is read whole, so fetching records re-reads files: only the
    /// files the manifest says hold them when it places every one, else all.
    async fn fetch(&mut self, external_ids: &[String]) -> Result<Option<SourcePage>, SourceError> {
        self.only = self.last.as_ref().or(self.previous.as_ref()).and_then(|m| {
            let file_of: std::collections::HashMap<&str, &String> = m
                .files
                .iter()
                .flat_map(|(f, e)| e.ids.iter().map(move |id| (id.as_str(), f)))
                .collect();
            external_ids
                .iter()
                .map(|id| file_of.get(id.as_str()).map(|f| (*f).clone()))
                .collect()
        });
        let page = sluice_core::fetch_by_listing(self, external_ids).await;
        self.only = None;
        Ok(Some(page?))
    }

    async fn next_page(&mut self) -> Result<Option<SourcePage>, SourceError> {
        let mut page = SourcePage::default();
        loop {
            while page.documents.len() < self.settings.page_size {
                let Some((loc, rec)) = self.pending.pop_front() else {
                    break;
                };
                let Some(file) = self.current.as_ref() else {
                    break;
                };
                let outcome = rec
                    .map_err(|e| (None, e))
                    .and_then(|r| self.to_document(&r, file));
                match outcome {
                    Ok(d) => {
                        if let Some(entry) = self
                            .next
                            .as_mut()
                            .and_then(|m| m.files.get_mut(&file.relative))
                        {
                            entry.ids.push(d.external_id.clone());
                        }
                        page.documents.push(d)
                    }
                    Err((external_id, error)) => {
                        // A file with a bad record is read again next run
                        // (it stays out of the manifest), so the record is
                        // retried as before, and fixed at the source it lands.
                        if let Some(next) = self.next.as_mut() {
                            next.files.remove(&file.relative);
                        }
                        page.dead_letters.push(DeadLetter {
                            source: self.id.clone(),
                            location: loc,
                            external_id,
                            error,
                        })
                    }
                }
            }
            if page.documents.len() >= self.settings.page_size
                || page.live_ids.len() >= LIVE_IDS_PER_PAGE
            {
                break;
            }
            if self.pending.is_empty() && !self.load_next_file(&mut page).await {
                break;
            }
        }
        let finished = self.pending.is_empty() && self.files.is_empty();
        if finished {
            // The manifest rides on the last page: committed only once
            // every record it names is.
            if let Some(next) = self.next.take() {
                page.cursor = Some(next.to_cursor());
                self.last = Some(next);
            }
        }
        if finished
            && page.documents.is_empty()
            && page.dead_letters.is_empty()
            && page.live_ids.is_empty()
            && page.cursor.is_none()
        {
            return Ok(None);
        }
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests;

/// A text value as written (an ADF body as its JSON), for reading link targets.
fn raw_markup(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
