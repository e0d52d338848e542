//! Slack messages → documents, shared by the Web API and export sources so
//! both produce the same shapes and ids:
//! - a thread (parent + replies) is `thread:<channel>:<ts>`, split into
//!   `…:<n>` parts when replies come later than `thread_window_hours`
//!   after the part's first message;
//! - other top-level messages are grouped per channel and UTC day,
//!   `day:<channel>:<YYYY-MM-DD>`.

use chrono::{DateTime, Utc};

pub use crate::mrkdwn::Directory;
use serde_json::Value;
use sluice_core::{DocKind, Document};

/// Subtypes that are not conversation (joins, topic changes, tombstones).
const SKIPPED: [&str; 12] = [
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "group_join",
    "group_leave",
    "bot_add",
    "bot_remove",
    "tombstone",
];

#[derive(Debug, Clone, Default)]
pub struct Msg {
    pub ts: String,
    pub user: Option<String>,
    /// A bot message's bot, and the name the message gives it
    /// (`username`, else `bot_profile.name`).
    pub bot_id: Option<String>,
    pub bot_name: Option<String>,
    pub text: String,
    /// Block Kit blocks (`Null` when none).
    pub blocks: Value,
    pub attachments: Vec<Value>,
    pub thread_ts: Option<String>,
    pub reply_count: u64,
    pub latest_reply: Option<String>,
    pub edited: bool,
    pub files: Vec<Value>,
    pub subtype: Option<String>,
}

impl Msg {
    pub fn from_json(v: &Value) -> Option<Msg> {
        let ts = v["ts"].as_str()?.to_string();
        // A legacy file comment carries its author and text in `comment`.
        let comment = (v["subtype"] == "file_comment")
            .then(|| &v["comment"])
            .filter(|c| c.is_object());
        let nonempty = |x: &Value| {
            x.as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        Some(Msg {
            ts,
            user: comment
                .and_then(|c| c["user"].as_str())
                .or(v["user"].as_str())
                .map(String::from),
            bot_id: v["bot_id"].as_str().map(String::from),
            bot_name: nonempty(&v["username"]).or_else(|| nonempty(&v["bot_profile"]["name"])),
            text: comment
                .and_then(|c| c["comment"].as_str())
                .or(v["text"].as_str())
                .unwrap_or("")
                .to_string(),
            blocks: v["blocks"].clone(),
            attachments: v["attachments"].as_array().cloned().unwrap_or_default(),
            thread_ts: v["thread_ts"].as_str().map(String::from),
            reply_count: v["reply_count"].as_u64().unwrap_or(0),
            latest_reply: v["latest_reply"].as_str().map(String::from),
            edited: v["edited"].is_object(),
            files: v["files"].as_array().cloned().unwrap_or_default(),
            subtype: v["subtype"].as_str().map(String::from),
        })
    }

    /// Conversation content (the same rule for every pass).
    pub fn admitted(&self) -> bool {
        !self
            .subtype
            .as_deref()
            .is_some_and(|s| SKIPPED.contains(&s))
            && (!self.text.trim().is_empty()
                || !self.files.is_empty()
                || !self.attachments.is_empty()
                || self.blocks.as_array().is_some_and(|b| !b.is_empty()))
    }

    pub fn is_thread_parent(&self) -> bool {
        self.reply_count > 0 && self.thread_ts.as_deref() == Some(self.ts.as_str())
    }

    /// A reply (not shown in the channel history on its own).
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_deref().is_some_and(|t| t != self.ts)
    }

    pub fn secs(&self) -> f64 {
        ts_secs(&self.ts)
    }

    pub fn day(&self) -> String {
        time(&self.ts)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}

pub fn ts_secs(ts: &str) -> f64 {
    ts.parse().unwrap_or(0.0)
}

pub fn time(ts: &str) -> Option<DateTime<Utc>> {
    let secs = ts_secs(ts);
    DateTime::from_timestamp(secs.floor() as i64, ((secs.fract()) * 1e9) as u32)
}

/// This source's principal for `local`: `slack:<source id>:user:U…`,
/// `…:channel:C…` (a private channel whose members are unknown: nobody
/// until the identity map grants it), `…:workspace` (every member of the
/// workspace: public channels).
pub fn principal(source: &str, local: &str) -> String {
    sluice_core::access::qualify("slack", source, local)
}

/// Context every document of a channel shares.
pub struct ChannelCtx<'a> {
    pub source: &'a str,
    pub id: &'a str,
    pub name: &'a str,
    pub acl: &'a [String],
    pub dir: &'a Directory,
    /// `https://acme.slack.com`: permalinks when set.
    pub workspace_url: Option<&'a str>,
}

impl ChannelCtx<'_> {
    /// Who wrote `m`: a bot by the name its message gives, its `bots.info`
    /// name, or `bot`; a person by display name. Never a raw id.
    pub fn author(&self, m: &Msg) -> String {
        if let Some(bot) = &m.bot_id {
            if let Some(n) = m
                .bot_name
                .clone()
                .or_else(|| self.dir.bots.get(bot).cloned())
                .or_else(|| m.user.as_ref().and_then(|u| self.dir.users.get(u).cloned()))
            {
                return n;
            }
            return "bot".into();
        }
        match &m.user {
            Some(u) => self
                .dir
                .users
                .get(u)
                .cloned()
                .unwrap_or_else(|| "unknown user".into()),
            None => "unknown user".into(),
        }
    }

    /// Slack markup → text (see `mrkdwn`).
    pub fn render(&self, text: &str) -> String {
        self.dir.mrkdwn(text)
    }

    /// What a reader sees of `m`: its blocks when they carry text (`text`
    /// is then a notification fallback), else its text; then its legacy
    /// attachments.
    pub fn message_text(&self, m: &Msg) -> String {
        let mut lines = vec![
            self.dir
                .blocks(&m.blocks)
                .unwrap_or_else(|| self.render(&m.text)),
        ];
        lines.extend(self.dir.attachments(&m.attachments));
        lines.retain(|l| !l.is_empty());
        lines.join("\n")
    }

    /// `Author: text (edited) [file: name]`, the line without its time.
    pub fn message(&self, m: &Msg) -> String {
        let mut s = format!("{}: {}", self.author(m), self.message_text(m));
        if m.edited {
            s.push_str(" (edited)");
        }
        for f in &m.files {
            s.push_str(&format!(
                " [file: {}]",
                f["name"]
                    .as_str()
                    .or(f["title"].as_str())
                    .unwrap_or("attachment")
            ));
        }
        s
    }

    fn line(&self, m: &Msg) -> String {
        let when = time(&m.ts)
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default();
        format!("[{when}] {}", self.message(m))
    }

    fn permalink(&self, ts: &str) -> Option<String> {
        self.workspace_url.map(|w| {
            format!(
                "{}/archives/{}/p{}",
                w.trim_end_matches('/'),
                self.id,
                ts.replace('.', "")
            )
        })
    }

    fn base(&self, ext: String, kind: DocKind, msgs: &[Msg]) -> Document {
        let mut d = Document::new(self.source, ext, kind);
        d.body = msgs
            .iter()
            .map(|m| self.line(m))
            .collect::<Vec<_>>()
            .join("\n");
        d.created_at = msgs.first().and_then(|m| time(&m.ts));
        d.updated_at = msgs.iter().filter_map(|m| time(&m.ts)).max();
        d.author = msgs.first().map(|m| self.author(m));
        d.breadcrumb = vec![format!("#{}", self.name)];
        d.access = Some(sluice_core::DocAccess::any_of(self.acl.iter().cloned()));
        d.metadata.insert("channel".into(), self.name.into());
        d.metadata.insert("channel_id".into(), self.id.into());
        d.metadata.insert("messages".into(), msgs.len().into());
        let files: Vec<Value> = msgs.iter().flat_map(|m| m.files.iter()).map(|f| serde_json::json!({ "name": f["name"], "mimetype": f["mimetype"], "size": f["size"] })).collect();
        if !files.is_empty() {
            d.metadata.insert("files".into(), Value::Array(files));
        }
        // `<url|label>` keeps only its label in the text: the targets are
        // read from the mrkdwn as written (and from Block Kit links).
        for m in msgs {
            sluice_links::markup::add_targets(&mut d.metadata, &m.text);
            if !m.blocks.is_null() {
                sluice_links::markup::add_targets(&mut d.metadata, &m.blocks.to_string());
            }
        }
        d
    }

    pub fn day_doc(&self, day: &str, msgs: &mut [Msg]) -> Document {
        msgs.sort_by(|a, b| a.secs().total_cmp(&b.secs()));
        let mut d = self.base(day_id(self.id, day), DocKind::Message, msgs);
        d.title = format!("#{} on {day}", self.name);
        d.url = msgs.first().and_then(|m| self.permalink(&m.ts));
        d
    }

    /// A thread's documents: one per time-window part.
    pub fn thread_docs(&self, parent: &Msg, replies: &[Msg], window_secs: f64) -> Vec<Document> {
        let mut all: Vec<Msg> = std::iter::once(parent.clone())
            .chain(replies.iter().filter(|r| r.ts != parent.ts).cloned())
            .collect();
        all.sort_by(|a, b| a.secs().total_cmp(&b.secs()));
        let parts = split_parts(
            &all.iter().map(|m| m.secs()).collect::<Vec<_>>(),
            window_secs,
        );
        let first_line: String = self
            .message_text(parent)
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with("```"))
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        let n_parts = parts.len();
        parts
            .into_iter()
            .enumerate()
            .map(|(i, range)| {
                let msgs = &all[range];
                let mut d = self.base(thread_id(self.id, &parent.ts, i), DocKind::Thread, msgs);
                d.title = if n_parts > 1 {
                    format!("#{}: {first_line} (part {} of {n_parts})", self.name, i + 1)
                } else {
                    format!("#{}: {first_line}", self.name)
                };
                d.thread_id = Some(parent.ts.clone());
                if i > 0 {
                    d.parent_id = Some(thread_id(self.id, &parent.ts, 0));
                    // Later parts lead with the question they answer.
                    d.body = format!("(reply to) {}\n{}", self.line(parent), d.body);
                }
                d.url = self.permalink(&parent.ts);
                d
            })
            .collect()
    }
}

pub fn day_id(channel: &str, day: &str) -> String {
    format!("day:{channel}:{day}")
}

pub fn thread_id(channel: &str, ts: &str, part: usize) -> String {
    if part == 0 {
        format!("thread:{channel}:{ts}")
    } else {
        format!("thread:{channel}:{ts}:{part}")
    }
}

/// Index ranges of sorted timestamps, a new part whenever a message comes
/// more than `window` after the current part's first message.
pub fn split_parts(secs: &[f64], window: f64) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..secs.len() {
        if secs[i] - secs[start] > window {
            parts.push(start..i);
            start = i;
        }
    }
    if !secs.is_empty() {
        parts.push(start..secs.len());
    }
    parts
}

/// Thread part ids from timestamps alone (the prune pass).
pub fn thread_part_ids(
    channel: &str,
    parent_ts: &str,
    all_secs: &mut Vec<f64>,
    window: f64,
) -> Vec<String> {
    all_secs.sort_by(f64::total_cmp);
    (0..split_parts(all_secs, window).len())
        .map(|i| thread_id(channel, parent_ts, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn renders_mentions_links_and_entities() {
        let dir = Directory {
            users: HashMap::from([("U1".to_string(), "alice".to_string())]),
            ..Default::default()
        };
        let ctx = ChannelCtx {
            source: "s",
            id: "C1",
            name: "eng",
            acl: &[],
            dir: &dir,
            workspace_url: Some("https://acme.slack.com"),
        };
        assert_eq!(
            ctx.render(
                "hi <@U1> in <#C9|ops>: <https://x.io|docs> &amp; <!here> <https://y.io> a &lt; b"
            ),
            "hi @alice in #ops: docs (https://x.io) & @here https://y.io a < b"
        );
        assert_eq!(ctx.render("broken <@U1"), "broken <@U1");
    }

    #[test]
    fn threads_split_by_time_window() {
        assert_eq!(
            split_parts(&[0.0, 10.0, 100.0, 200.0, 250.0], 100.0),
            vec![0..3, 3..5]
        );
        assert_eq!(split_parts(&[5.0], 1.0), vec![0..1]);
        let dir = Directory::default();
        let ctx = ChannelCtx {
            source: "s",
            id: "C1",
            name: "eng",
            acl: &[],
            dir: &dir,
            workspace_url: Some("https://acme.slack.com"),
        };
        let m = |ts: &str, text: &str| Msg {
            ts: ts.into(),
            user: Some("U1".into()),
            text: text.into(),
            thread_ts: Some("1000.000001".into()),
            ..Default::default()
        };
        let parent = Msg {
            reply_count: 2,
            ..m("1000.000001", "Why is the build red?")
        };
        let docs = ctx.thread_docs(
            &parent,
            &[
                m("1060.000002", "flaky test"),
                m("200000.000003", "fixed for good"),
            ],
            86_400.0,
        );
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].external_id, "thread:C1:1000.000001");
        assert_eq!(docs[1].external_id, "thread:C1:1000.000001:1");
        assert!(
            docs[1].body.starts_with("(reply to) [") && docs[1].body.contains("fixed for good")
        );
        assert_eq!(
            docs[0].url.as_deref(),
            Some("https://acme.slack.com/archives/C1/p1000000001")
        );
        assert_eq!(
            thread_part_ids(
                "C1",
                "1000.000001",
                &mut vec![200000.0, 1000.0, 1060.0],
                86_400.0
            ),
            vec!["thread:C1:1000.000001", "thread:C1:1000.000001:1"]
        );
    }
}
