//! Slack workspace exports (`channels.json`, `groups.json`, `users.json`,
//! `<channel>/<YYYY-MM-DD>.json`), as a `.zip` or an unpacked directory,
//! into the same documents as the Web API source. An export is a snapshot:
//! every run lists it completely, so deletions are pruned.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::Value;
use sluice_core::{DeadLetter, Document, ListingScope, Source, SourceError, SourcePage, SyncMode};

use crate::model::{ChannelCtx, Msg};
use crate::settings::SlackExportSettings;

/// Documents per page.
const PAGE: usize = 200;

enum Archive {
    Dir(PathBuf),
    /// The zip and the folder inside it that holds `channels.json`.
    Zip(zip::ZipArchive<File>, String),
}

impl Archive {
    fn open(path: &Path) -> Result<Archive, String> {
        if path.is_dir() {
            return Ok(Archive::Dir(path.to_path_buf()));
        }
        let f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let z = zip::ZipArchive::new(f).map_err(|e| {
            format!(
                "{} is neither a directory nor a readable zip: {e}",
                path.display()
            )
        })?;
        let prefix = z
            .file_names()
            .filter(|n| n.ends_with("channels.json") || n.ends_with("users.json"))
            .map(|n| {
                n.rsplit_once('/')
                    .map(|(p, _)| format!("{p}/"))
                    .unwrap_or_default()
            })
            .min_by_key(|p| p.len())
            .ok_or_else(|| {
                format!(
                    "{} has no channels.json or users.json: not a Slack export",
                    path.display()
                )
            })?;
        Ok(Archive::Zip(z, prefix))
    }

    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            Archive::Dir(root) => {
                let p = root.join(name);
                if !p.exists() {
                    return Ok(None);
                }
                std::fs::read(&p)
                    .map(Some)
                    .map_err(|e| format!("{}: {e}", p.display()))
            }
            Archive::Zip(z, prefix) => {
                let full = format!("{prefix}{name}");
                let mut f = match z.by_name(&full) {
                    Ok(f) => f,
                    Err(zip::result::ZipError::FileNotFound) => return Ok(None),
                    Err(e) => return Err(format!("{full}: {e}")),
                };
                let mut buf = Vec::new();
                f.read_to_end(&mut buf)
                    .map_err(|e| format!("{full}: {e}"))?;
                Ok(Some(buf))
            }
        }
    }

    /// `<dir>/*.json` names, sorted (day order).
    fn day_files(&mut self, dir: &str) -> Vec<String> {
        let mut out: Vec<String> = match self {
            Archive::Dir(root) => std::fs::read_dir(root.join(dir))
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.ends_with(".json"))
                        .map(|n| format!("{dir}/{n}"))
                        .collect()
                })
                .unwrap_or_default(),
            Archive::Zip(z, prefix) => {
                let start = format!("{prefix}{dir}/");
                z.file_names()
                    .filter(|n| n.starts_with(&start) && n.ends_with(".json"))
                    .map(|n| n[prefix.len()..].to_string())
                    .collect()
            }
        };
        out.sort();
        out
    }
}

struct ExportChannel {
    id: String,
    name: String,
    acl: Vec<String>,
}

pub struct SlackExportSource {
    id: String,
    s: SlackExportSettings,
    path: PathBuf,
    archive: Option<Archive>,
    dir: crate::Directory,
    channels: VecDeque<ExportChannel>,
    ready: VecDeque<Document>,
    dead: Vec<DeadLetter>,
}

impl SlackExportSource {
    pub fn new(id: &str, s: SlackExportSettings, base_dir: &Path) -> SlackExportSource {
        let p = Path::new(&s.path);
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            base_dir.join(p)
        };
        SlackExportSource {
            id: id.into(),
            s,
            path,
            archive: None,
            dir: Default::default(),
            channels: VecDeque::new(),
            ready: VecDeque::new(),
            dead: Vec::new(),
        }
    }

    fn err(&self, location: String, message: String) -> SourceError {
        SourceError {
            source_id: self.id.clone(),
            location,
            message,
            transient: false,
        }
    }

    fn json_list(&mut self, name: &str) -> Result<Vec<Value>, SourceError> {
        let loc = format!("{}:{name}", self.path.display());
        let bytes = self
            .archive
            .as_mut()
            .expect("opened")
            .read(name)
            .map_err(|e| self.err(loc.clone(), e))?;
        match bytes {
            None => Ok(Vec::new()),
            Some(b) => serde_json::from_slice::<Vec<Value>>(&b)
                .map_err(|e| self.err(loc, format!("not a JSON array ({e})"))),
        }
    }

    /// All documents of one channel: threads (possibly spanning days) and
    /// day groups, with edits and deletions in the export applied.
    fn channel_docs(&mut self, c: &ExportChannel) -> Vec<Document> {
        let files = self.archive.as_mut().expect("opened").day_files(&c.name);
        let mut by_ts: BTreeMap<String, Msg> = BTreeMap::new();
        for f in files {
            let loc = format!("{}:{f}", self.path.display());
            let parsed = self
                .archive
                .as_mut()
                .expect("opened")
                .read(&f)
                .and_then(|b| {
                    serde_json::from_slice::<Vec<Value>>(&b.unwrap_or_default())
                        .map_err(|e| e.to_string())
                });
            let msgs = match parsed {
                Ok(m) => m,
                Err(e) => {
                    // The day is lost, nothing else; no id, so no prune this run.
                    self.dead.push(DeadLetter {
                        source: self.id.clone(),
                        location: loc,
                        external_id: None,
                        error: format!("unreadable day file: {e}"),
                    });
                    continue;
                }
            };
            for raw in msgs {
                match raw["subtype"].as_str() {
                    Some("message_changed") => {
                        if let Some(m) = Msg::from_json(&raw["message"]) {
                            let mut m = m;
                            m.edited = true;
                            by_ts.insert(m.ts.clone(), m);
                        }
                    }
                    Some("message_deleted") => {
                        if let Some(ts) = raw["deleted_ts"].as_str() {
                            by_ts.remove(ts);
                        }
                    }
                    _ => {
                        if let Some(m) = Msg::from_json(&raw) {
                            by_ts.insert(m.ts.clone(), m);
                        }
                    }
                }
            }
        }
        let msgs: Vec<Msg> = by_ts.into_values().filter(Msg::admitted).collect();
        let mut replies: HashMap<String, Vec<Msg>> = HashMap::new();
        for m in msgs.iter().filter(|m| m.is_reply()) {
            replies
                .entry(m.thread_ts.clone().unwrap_or_default())
                .or_default()
                .push(m.clone());
        }
        let ctx = ChannelCtx {
            source: &self.id,
            id: &c.id,
            name: &c.name,
            acl: &c.acl,
            dir: &self.dir,
            workspace_url: self.s.workspace_url.as_deref(),
        };
        let window = self.s.thread_window_hours as f64 * 3600.0;
        let mut docs = Vec::new();
        let mut days: BTreeMap<String, Vec<Msg>> = BTreeMap::new();
        for m in msgs.iter().filter(|m| !m.is_reply()) {
            match replies.get(&m.ts) {
                Some(r) => docs.extend(ctx.thread_docs(m, r, window)),
                None => days.entry(m.day()).or_default().push(m.clone()),
            }
        }
        for (day, mut ms) in days {
            docs.push(ctx.day_doc(&day, &mut ms));
        }
        docs
    }
}

#[async_trait]
impl Source for SlackExportSource {
    fn id(&self) -> &str {
        &self.id
    }

    async fn open(
        &mut self,
        _mode: SyncMode,
        _cursor: Option<&str>,
    ) -> Result<ListingScope, SourceError> {
        self.archive = Some(
            Archive::open(&self.path).map_err(|e| self.err(self.path.display().to_string(), e))?,
        );
        self.ready.clear();
        self.dead.clear();
        self.dir.users = self
            .json_list("users.json")?
            .iter()
            .filter_map(|u| {
                let id = u["id"].as_str()?;
                let name = u["profile"]["display_name"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .or(u["name"].as_str())
                    .unwrap_or(id);
                Some((id.to_string(), name.to_string()))
            })
            .collect();
        let mut chans = Vec::new();
        for (file, private) in [("channels.json", false), ("groups.json", true)] {
            if private && !self.s.include_private {
                continue;
            }
            for c in self.json_list(file)? {
                let (Some(id), Some(name)) = (c["id"].as_str(), c["name"].as_str()) else {
                    continue;
                };
                self.dir.channels.insert(id.to_string(), name.to_string());
                if !self.s.channels.is_empty()
                    && !self
                        .s
                        .channels
                        .iter()
                        .any(|w| w.trim_start_matches('#') == name || w == id)
                {
                    continue;
                }
                let acl = if private {
                    let m: Vec<String> = c["members"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m.as_str())
                        .map(|m| crate::model::principal(&self.id, &format!("user:{m}")))
                        .collect();
                    if m.is_empty() {
                        vec![crate::model::principal(&self.id, &format!("channel:{id}"))]
                    } else {
                        m
                    }
                } else {
                    vec![crate::model::principal(&self.id, "workspace")]
                };
                chans.push(ExportChannel {
                    id: id.into(),
                    name: name.into(),
                    acl,
                });
            }
        }
        if chans.is_empty() && self.s.channels.is_empty() {
            return Err(self.err(
                self.path.display().to_string(),
                "the export lists no channels (channels.json / groups.json)".into(),
            ));
        }
        self.channels = chans.into();
        Ok(ListingScope::Complete)
    }

    async fn next_page(&mut self) -> Result<Option<SourcePage>, SourceError> {
        if self.archive.is_none() {
            return Err(self.err(
                self.path.display().to_string(),
                "next_page before open".into(),
            ));
        }
        while self.ready.len() < PAGE {
            let Some(c) = self.channels.pop_front() else {
                break;
            };
            let docs = self.channel_docs(&c);
            self.ready.extend(docs);
        }
        if self.ready.is_empty() && self.dead.is_empty() {
            return Ok(None);
        }
        let n = self.ready.len().min(PAGE);
        Ok(Some(SourcePage {
            documents: self.ready.drain(..n).collect(),
            dead_letters: std::mem::take(&mut self.dead),
            ..Default::default()
        }))
    }
}
