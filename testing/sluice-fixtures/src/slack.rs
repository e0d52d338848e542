//! Slack Web API: `conversations.list`, `.history`, `.replies`, `.members`
//! and `users.list`, cursor-paginated through
//! `response_metadata.next_cursor` (empty on the last page); errors as
//! HTTP 200 with `{"ok": false, "error": …}` like Slack.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::common::{Clock, Shared, decode_cursor, encode_cursor, param, query_pairs};
use crate::text::{comment_text, topic};

pub type SlackShared = Arc<Shared<SlackWorld>>;

#[derive(Debug, Clone)]
pub struct Msg {
    pub ts: String,
    pub user: String,
    pub text: String,
    pub thread_ts: Option<String>,
    pub edited: bool,
    pub subtype: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub is_private: bool,
    pub is_member: bool,
    /// Listed without `is_private` (and `is_channel`/`is_group`), as some
    /// API versions and Enterprise Grid shared channels do.
    pub privacy_hidden: bool,
    pub members: Vec<String>,
    /// ts → message (top-level and replies).
    pub messages: BTreeMap<String, Msg>,
}

#[derive(Debug, Default)]
pub struct SlackWorld {
    pub clock: Clock,
    pub users: Vec<(String, String)>,
    pub channels: Vec<Channel>,
    seq: u64,
}

/// Seconds between generated top-level messages.
const STEP: i64 = 3 * 3600;

fn ts_of(secs: i64, seq: u64) -> String {
    format!("{secs}.{:06}", seq % 1_000_000)
}

impl SlackWorld {
    /// Channels with `n` top-level messages each, one per 3 hours, every
    /// 4th starting a thread; a private channel; a channel the bot is not in.
    pub fn generate(channels: &[(&str, bool, usize)]) -> SlackWorld {
        let mut w = SlackWorld {
            users: vec![
                ("U01ALICE".into(), "alice".into()),
                ("U02BOB".into(), "bob".into()),
                ("U03CAROL".into(), "carol".into()),
            ],
            ..Default::default()
        };
        for (name, private, n) in channels {
            w.add_channel(name, *private, true, *n);
        }
        w
    }

    pub fn add_channel(&mut self, name: &str, private: bool, member: bool, n: usize) -> String {
        let id = format!("C{:08}", self.channels.len() + 1);
        let members = if private {
            vec!["U01ALICE".to_string(), "U03CAROL".to_string()]
        } else {
            self.users.iter().map(|u| u.0.clone()).collect()
        };
        let mut messages = BTreeMap::new();
        let start = self.clock.now.timestamp() - STEP * (n as i64 + 2);
        for k in 0..n {
            self.seq += 1;
            let t = topic(self.seq + k as u64);
            let ts = ts_of(start + STEP * k as i64, self.seq);
            let user = self.users[k % 3].0.clone();
            let thread = k % 4 == 1;
            messages.insert(
                ts.clone(),
                Msg {
                    ts: ts.clone(),
                    user,
                    text: format!(
                        "{} <@U02BOB> see <https://wiki.example/x|the runbook>",
                        t.sentences[0]
                    ),
                    thread_ts: thread.then(|| ts.clone()),
                    edited: false,
                    subtype: None,
                },
            );
            if thread {
                // Replies: two quickly, and (for k % 8 == 1) one two days later.
                let base: i64 = ts
                    .split('.')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let mut offsets = vec![60i64, 120];
                // Never in the future of the virtual clock.
                if k % 8 == 1 && base + 2 * 86_400 < self.clock.now.timestamp() {
                    offsets.push(2 * 86_400);
                }
                for (j, off) in offsets.into_iter().enumerate() {
                    self.seq += 1;
                    let rts = ts_of(base + off, self.seq);
                    messages.insert(
                        rts.clone(),
                        Msg {
                            ts: rts,
                            user: self.users[(k + j + 1) % 3].0.clone(),
                            text: comment_text(j, t),
                            thread_ts: Some(ts.clone()),
                            edited: false,
                            subtype: None,
                        },
                    );
                }
            }
            if k % 10 == 7 {
                self.seq += 1;
                let jts = ts_of(start + STEP * k as i64 + 30, self.seq);
                messages.insert(
                    jts.clone(),
                    Msg {
                        ts: jts,
                        user: "U03CAROL".into(),
                        text: "<@U03CAROL> has joined the channel".into(),
                        thread_ts: None,
                        edited: false,
                        subtype: Some("channel_join".into()),
                    },
                );
            }
        }
        self.channels.push(Channel {
            id: id.clone(),
            name: name.into(),
            is_private: private,
            is_member: member,
            privacy_hidden: false,
            members,
            messages,
        });
        id
    }

    pub fn channel_mut(&mut self, name: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.name == name)
    }

    /// Posts a message now (a reply when `thread_ts` is set); returns its ts.
    pub fn post(
        &mut self,
        channel: &str,
        user: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> String {
        let now = self.clock.tick().timestamp();
        self.seq += 1;
        let ts = ts_of(now, self.seq);
        if let Some(c) = self.channel_mut(channel) {
            c.messages.insert(
                ts.clone(),
                Msg {
                    ts: ts.clone(),
                    user: user.into(),
                    text: text.into(),
                    thread_ts: thread_ts.map(String::from),
                    edited: false,
                    subtype: None,
                },
            );
        }
        ts
    }

    pub fn edit(&mut self, channel: &str, ts: &str, text: &str) {
        self.clock.tick();
        if let Some(m) = self
            .channel_mut(channel)
            .and_then(|c| c.messages.get_mut(ts))
        {
            m.text = text.into();
            m.edited = true;
        }
    }

    pub fn delete(&mut self, channel: &str, ts: &str) {
        self.clock.tick();
        if let Some(c) = self.channel_mut(channel) {
            c.messages.remove(ts);
            c.messages
                .retain(|_, m| m.thread_ts.as_deref() != Some(ts) || m.ts == ts);
        }
    }

    pub fn top_level(&self, channel: &str) -> Vec<Msg> {
        self.channels
            .iter()
            .find(|c| c.name == channel)
            .map(|c| {
                c.messages
                    .values()
                    .filter(|m| m.thread_ts.as_deref().is_none_or(|t| t == m.ts))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn ok(mut v: Value, next: Option<String>) -> Response {
    v["ok"] = json!(true);
    v["response_metadata"] = json!({ "next_cursor": next.unwrap_or_default() });
    axum::Json(v).into_response()
}

fn fail(error: &str) -> Response {
    axum::Json(json!({ "ok": false, "error": error })).into_response()
}

fn page<T: Clone>(items: &[T], q: &[(String, String)], default: usize) -> (Vec<T>, Option<String>) {
    let limit = param(q, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
        .clamp(1, 1000);
    let offset = param(q, "cursor")
        .filter(|c| !c.is_empty())
        .and_then(decode_cursor)
        .unwrap_or(0);
    let end = (offset + limit).min(items.len());
    (
        items
            .get(offset.min(end)..end)
            .map(|s| s.to_vec())
            .unwrap_or_default(),
        (end < items.len()).then(|| encode_cursor(end)),
    )
}

fn msg_json(c: &Channel, m: &Msg) -> Value {
    let mut v = json!({ "type": "message", "user": m.user, "text": m.text, "ts": m.ts });
    if let Some(s) = &m.subtype {
        v["subtype"] = json!(s);
    }
    if m.edited {
        v["edited"] = json!({ "user": m.user, "ts": m.ts });
    }
    if let Some(t) = &m.thread_ts {
        v["thread_ts"] = json!(t);
        if *t == m.ts {
            let replies: Vec<&Msg> = c
                .messages
                .values()
                .filter(|r| r.thread_ts.as_deref() == Some(&m.ts) && r.ts != m.ts)
                .collect();
            v["reply_count"] = json!(replies.len());
            v["latest_reply"] = json!(replies.last().map(|r| r.ts.clone()));
        } else {
            v["parent_user_id"] = json!(c.messages.get(t).map(|p| p.user.clone()));
        }
    }
    v
}

async fn users_list(State(s): State<SlackShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let all: Vec<Value> = w.users.iter().map(|(id, name)| json!({ "id": id, "name": name, "deleted": false, "is_bot": false, "real_name": format!("{}{}", name[..1].to_uppercase(), &name[1..]), "profile": { "display_name": name, "real_name": name } })).collect();
    let (members, next) = page(&all, &q, 2);
    ok(json!({ "members": members, "cache_ts": 0 }), next)
}

async fn conversations_list(State(s): State<SlackShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let types = param(&q, "types").unwrap_or("public_channel").to_string();
    let w = s.world();
    let all: Vec<Value> = w
        .channels
        .iter()
        .filter(|c| types.contains(if c.is_private { "private_channel" } else { "public_channel" }))
        // Private channels are listed only to members, as in Slack.
        .filter(|c| !c.is_private || c.is_member)
        .map(|c| {
            let mut v = json!({ "id": c.id, "name": c.name, "is_channel": !c.is_private, "is_group": c.is_private, "is_private": c.is_private, "is_archived": false, "is_member": c.is_member, "num_members": c.members.len(), "created": 1_700_000_000 });
            if c.privacy_hidden {
                for k in ["is_private", "is_channel", "is_group"] {
                    v.as_object_mut().map(|o| o.remove(k));
                }
            }
            v
        })
        .collect();
    let (channels, next) = page(&all, &q, 2);
    ok(json!({ "channels": channels }), next)
}

fn channel<'a>(w: &'a SlackWorld, q: &[(String, String)]) -> Result<&'a Channel, Response> {
    let id = param(q, "channel").unwrap_or("");
    match w.channels.iter().find(|c| c.id == id) {
        None => Err(fail("channel_not_found")),
        Some(c) if !c.is_member => Err(fail("not_in_channel")),
        Some(c) => Ok(c),
    }
}

fn secs(ts: &str) -> f64 {
    ts.parse().unwrap_or(0.0)
}

async fn history(State(s): State<SlackShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let c = match channel(&w, &q) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let oldest = param(&q, "oldest").map(secs).unwrap_or(0.0);
    let latest = param(&q, "latest").map(secs).unwrap_or(f64::MAX);
    // Newest first; replies are not in the history unless broadcast.
    let msgs: Vec<Value> = c
        .messages
        .values()
        .rev()
        .filter(|m| m.thread_ts.as_deref().is_none_or(|t| t == m.ts))
        .filter(|m| secs(&m.ts) >= oldest && secs(&m.ts) <= latest)
        .map(|m| msg_json(c, m))
        .collect();
    let (messages, next) = page(&msgs, &q, 100);
    let more = next.is_some();
    ok(
        json!({ "messages": messages, "has_more": more, "pin_count": 0 }),
        next,
    )
}

async fn replies(State(s): State<SlackShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let c = match channel(&w, &q) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let ts = param(&q, "ts").unwrap_or("");
    if !c.messages.contains_key(ts) {
        return fail("thread_not_found");
    }
    let msgs: Vec<Value> = c
        .messages
        .values()
        .filter(|m| m.ts == ts || m.thread_ts.as_deref() == Some(ts))
        .map(|m| msg_json(c, m))
        .collect();
    let (messages, next) = page(&msgs, &q, 2);
    let more = next.is_some();
    ok(json!({ "messages": messages, "has_more": more }), next)
}

async fn members(State(s): State<SlackShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let c = match channel(&w, &q) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (members, next) = page(&c.members, &q, 1);
    ok(json!({ "members": members }), next)
}

pub fn router() -> Router<SlackShared> {
    Router::new()
        .route("/api/users.list", get(users_list))
        .route("/api/conversations.list", get(conversations_list))
        .route("/api/conversations.history", get(history))
        .route("/api/conversations.replies", get(replies))
        .route("/api/conversations.members", get(members))
}
