//! The Slack Web API source.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};
use serde_json::Value;
use sluice_core::{DeadLetter, ListingScope, Source, SourceError, SourcePage, SyncMode};
use sluice_http::{Auth, HttpClient, HttpSettings};

use crate::model::{ChannelCtx, Msg, day_id, thread_part_ids, time, ts_secs};
use crate::settings::SlackSettings;

struct Chan {
    id: String,
    name: String,
    acl: Vec<String>,
    /// Start of the re-read window (incremental runs), a day boundary.
    oldest: Option<f64>,
    /// The previous run's newest timestamp.
    mark: Option<f64>,
}

struct Listing {
    c: Chan,
    cursor: Option<String>,
    pending: Option<(String, Vec<Msg>)>,
    days_seen: BTreeSet<String>,
    newest: f64,
    done: bool,
}

enum CallError {
    Fatal(SourceError),
    /// The channel cannot be read (bot removed, channel deleted).
    Channel(String),
}

pub struct SlackSource {
    id: String,
    s: SlackSettings,
    tier2: HttpClient,
    tier3: HttpClient,
    mode: SyncMode,
    /// channel id → newest message/reply ts indexed.
    marks: BTreeMap<String, f64>,
    dir: crate::Directory,
    /// Bot id → name from `bots.info`, asked once per bot per run.
    bot_names: std::sync::Mutex<HashMap<String, Option<String>>>,
    queue: VecDeque<Chan>,
    current: Option<Listing>,
}

impl SlackSource {
    pub fn new(
        id: &str,
        s: SlackSettings,
        credentials: &BTreeMap<String, String>,
    ) -> Result<SlackSource, String> {
        let token = credentials
            .get("token")
            .cloned()
            .ok_or("missing credential `token` (credentials.token: ${SLACK_BOT_TOKEN})")?;
        let auth = Auth::Bearer(token);
        // Slack budgets requests per method tier, so each tier gets its own limiter.
        let tier = |per_minute: f64| HttpSettings {
            requests_per_second: per_minute / 60.0,
            burst: (per_minute / 10.0).ceil().max(1.0) as u32,
            ..s.http.clone()
        };
        let tier2 = HttpClient::new(&s.base_url, &auth, &tier(s.tier2_per_minute))?;
        let tier3 = HttpClient::new(&s.base_url, &auth, &tier(s.tier3_per_minute))?;
        Ok(SlackSource {
            id: id.into(),
            s,
            tier2,
            tier3,
            mode: SyncMode::Full,
            marks: BTreeMap::new(),
            dir: Default::default(),
            bot_names: Default::default(),
            queue: VecDeque::new(),
            current: None,
        })
    }

    pub fn with_http(mut self, f: impl Fn(HttpClient) -> HttpClient) -> Self {
        self.tier2 = f(self.tier2);
        self.tier3 = f(self.tier3);
        self
    }

    pub fn stats(&self) -> (u64, u64) {
        (
            self.tier2.stats().rate_limited() + self.tier3.stats().rate_limited(),
            self.tier2.stats().requests() + self.tier3.stats().requests(),
        )
    }

    async fn call(
        &self,
        tier3: bool,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<Value, CallError> {
        let client = if tier3 { &self.tier3 } else { &self.tier2 };
        let mut url = client
            .url(method)
            .map_err(|e| CallError::Fatal(e.into_source_error(&self.id)))?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        let (v, _) = client
            .get_json::<Value>(&url)
            .await
            .map_err(|e| CallError::Fatal(e.into_source_error(&self.id)))?;
        if v["ok"].as_bool() == Some(true) {
            return Ok(v);
        }
        let error = v["error"].as_str().unwrap_or("unknown_error").to_string();
        let fatal = |message: String, transient: bool| {
            CallError::Fatal(SourceError {
                source_id: self.id.clone(),
                location: sluice_http::redact_url(&url),
                message,
                transient,
            })
        };
        Err(match error.as_str() {
            "not_in_channel" | "channel_not_found" | "is_archived" => CallError::Channel(error),
            "ratelimited" => fatal(
                "Slack said `ratelimited`; the next run resumes from the checkpoint".into(),
                true,
            ),
            "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked"
            | "token_expired" => fatal(
                format!(
                    "Slack rejected the token ({error}); check credentials.token (a bot token, xoxb-…)"
                ),
                false,
            ),
            "missing_scope" => fatal(
                format!(
                    "the token lacks the scope `{}`; add it to the Slack app and reinstall",
                    v["needed"].as_str().unwrap_or("?")
                ),
                false,
            ),
            _ => fatal(format!("Slack error `{error}`"), false),
        })
    }

    async fn paged(
        &self,
        tier3: bool,
        method: &str,
        params: &[(&str, String)],
        key: &str,
    ) -> Result<Vec<Value>, CallError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut p = params.to_vec();
            p.push(("limit", "200".into()));
            if !cursor.is_empty() {
                p.push(("cursor", cursor.clone()));
            }
            let v = self.call(tier3, method, &p).await?;
            out.extend(v[key].as_array().cloned().unwrap_or_default());
            cursor = v["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if cursor.is_empty() {
                return Ok(out);
            }
        }
    }

    fn fatal(&self, e: CallError, what: &str) -> SourceError {
        match e {
            CallError::Fatal(e) => e,
            CallError::Channel(code) => SourceError {
                source_id: self.id.clone(),
                location: what.into(),
                message: format!("Slack error `{code}`"),
                transient: false,
            },
        }
    }

    fn window_secs(&self) -> f64 {
        self.s.thread_window_hours as f64 * 3600.0
    }

    /// Every message of a thread, parent first.
    async fn thread(&self, channel: &str, ts: &str) -> Result<Vec<Msg>, CallError> {
        let msgs = self
            .paged(
                true,
                "conversations.replies",
                &[("channel", channel.to_string()), ("ts", ts.to_string())],
                "messages",
            )
            .await?;
        let mut msgs: Vec<Msg> = msgs
            .iter()
            .filter_map(Msg::from_json)
            .filter(Msg::admitted)
            .collect();
        for m in &mut msgs {
            self.name_bot(m).await;
        }
        Ok(msgs)
    }

    /// A bot message without `username` or `bot_profile` is named through
    /// `bots.info` (once per bot); a bot that cannot be named reads `bot`.
    async fn name_bot(&self, m: &mut Msg) {
        let Some(bot) = m.bot_id.clone().filter(|_| m.bot_name.is_none()) else {
            return;
        };
        let known = self
            .bot_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&bot)
            .cloned();
        let name = match known {
            Some(n) => n,
            None => {
                let n = match self.call(false, "bots.info", &[("bot", bot.clone())]).await {
                    Ok(v) => v["bot"]["name"]
                        .as_str()
                        .filter(|n| !n.trim().is_empty())
                        .map(String::from),
                    Err(_) => None,
                };
                self.bot_names
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(bot, n.clone());
                n
            }
        };
        m.bot_name = name;
    }

    fn ctx<'a>(&'a self, c: &'a Chan) -> ChannelCtx<'a> {
        ChannelCtx {
            source: &self.id,
            id: &c.id,
            name: &c.name,
            acl: &c.acl,
            dir: &self.dir,
            workspace_url: self.s.workspace_url.as_deref(),
        }
    }

    fn flush(&self, l: &mut Listing, page: &mut SourcePage) {
        if let Some((day, mut msgs)) = l.pending.take() {
            if self.mode == SyncMode::Prune {
                page.live_ids.push(day_id(&l.c.id, &day));
            } else {
                page.documents.push(self.ctx(&l.c).day_doc(&day, &mut msgs));
            }
            l.days_seen.insert(day);
        }
    }

    async fn history_page(
        &self,
        l: &mut Listing,
        page: &mut SourcePage,
    ) -> Result<(), SourceError> {
        let mut params = vec![
            ("channel", l.c.id.clone()),
            ("limit", self.s.page_size.to_string()),
            ("inclusive", "true".to_string()),
        ];
        if let Some(o) = l.c.oldest {
            params.push(("oldest", format!("{o:.6}")));
        }
        if let Some(c) = l.cursor.as_ref().filter(|c| !c.is_empty()) {
            params.push(("cursor", c.clone()));
        }
        let v = match self.call(true, "conversations.history", &params).await {
            Ok(v) => v,
            Err(CallError::Channel(code)) => {
                // Skip this channel; an unidentified failure also holds back
                // the prune, so its documents are not deleted by accident.
                page.dead_letters.push(DeadLetter {
                    source: self.id.clone(),
                    location: format!("#{} ({})", l.c.name, l.c.id),
                    external_id: None,
                    error: format!("cannot read the channel: Slack error `{code}`"),
                });
                l.done = true;
                l.pending = None;
                return Ok(());
            }
            Err(e) => return Err(self.fatal(e, "conversations.history")),
        };
        for raw in v["messages"].as_array().into_iter().flatten() {
            let Some(mut m) = Msg::from_json(raw) else {
                continue;
            };
            self.name_bot(&mut m).await;
            l.newest = l
                .newest
                .max(m.secs())
                .max(m.latest_reply.as_deref().map(ts_secs).unwrap_or(0.0));
            if !m.admitted() || m.is_reply() {
                continue;
            }
            if m.is_thread_parent() {
                let late = m.latest_reply.as_deref().map(ts_secs).unwrap_or(m.secs()) - m.secs()
                    > self.window_secs();
                if self.mode == SyncMode::Prune && !late {
                    page.live_ids
                        .push(crate::model::thread_id(&l.c.id, &m.ts, 0));
                    continue;
                }
                let msgs = match self.thread(&l.c.id, &m.ts).await {
                    Ok(x) => x,
                    Err(CallError::Channel(code)) => {
                        page.dead_letters.push(DeadLetter {
                            source: self.id.clone(),
                            location: format!("#{} thread {}", l.c.name, m.ts),
                            external_id: Some(crate::model::thread_id(&l.c.id, &m.ts, 0)),
                            error: format!("Slack error `{code}`"),
                        });
                        continue;
                    }
                    Err(e) => return Err(self.fatal(e, "conversations.replies")),
                };
                let parent = msgs
                    .iter()
                    .find(|x| x.ts == m.ts)
                    .cloned()
                    .unwrap_or(m.clone());
                let replies: Vec<Msg> = msgs.into_iter().filter(|x| x.ts != m.ts).collect();
                if self.mode == SyncMode::Prune {
                    let mut secs: Vec<f64> = std::iter::once(parent.secs())
                        .chain(replies.iter().map(Msg::secs))
                        .collect();
                    page.live_ids.extend(thread_part_ids(
                        &l.c.id,
                        &m.ts,
                        &mut secs,
                        self.window_secs(),
                    ));
                } else {
                    page.documents.extend(self.ctx(&l.c).thread_docs(
                        &parent,
                        &replies,
                        self.window_secs(),
                    ));
                }
                continue;
            }
            let day = m.day();
            if l.pending.as_ref().is_some_and(|(d, _)| *d != day) {
                // Newest first: an older day means the pending one is complete.
                self.flush(l, page);
            }
            match &mut l.pending {
                Some((_, msgs)) => msgs.push(m),
                None => l.pending = Some((day, vec![m])),
            }
        }
        l.cursor = v["response_metadata"]["next_cursor"]
            .as_str()
            .map(String::from);
        if l.cursor.as_deref().unwrap_or("").is_empty() {
            self.flush(l, page);
            l.done = true;
            if let (SyncMode::Incremental, Some(oldest)) = (self.mode, l.c.oldest) {
                // Days in the re-read window that no longer hold messages.
                let mut day = time(&format!("{oldest}"))
                    .map(|t| t.date_naive())
                    .unwrap_or_default();
                // Up to the newest day indexed before or seen now: a day whose
                // messages were all deleted since must go too.
                let newest = l.newest.max(l.c.mark.unwrap_or(0.0));
                let today = time(&format!("{newest}"))
                    .map(|t| t.date_naive())
                    .unwrap_or(day);
                let mut guard = 0;
                while day <= today && guard < 400 {
                    let d = day.format("%Y-%m-%d").to_string();
                    if !l.days_seen.contains(&d) {
                        page.deleted.push(day_id(&l.c.id, &d));
                    }
                    day += Duration::days(1);
                    guard += 1;
                }
            }
        }
        Ok(())
    }
}

fn day_start(secs: f64) -> f64 {
    let t = chrono::DateTime::from_timestamp(secs.floor() as i64, 0).unwrap_or_default();
    let d: NaiveDate = t.date_naive();
    d.and_hms_opt(0, 0, 0)
        .map(|x| x.and_utc().timestamp() as f64)
        .unwrap_or(0.0)
}

#[async_trait]
impl Source for SlackSource {
    fn id(&self) -> &str {
        &self.id
    }

    async fn open(
        &mut self,
        mode: SyncMode,
        cursor: Option<&str>,
    ) -> Result<ListingScope, SourceError> {
        self.mode = mode;
        self.current = None;
        self.queue.clear();
        self.marks = sluice_core::parse_cursor(&self.id, cursor)?;
        let users = self
            .paged(false, "users.list", &[], "members")
            .await
            .map_err(|e| self.fatal(e, "users.list"))?;
        self.dir.users = users
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
        let types = if self.s.include_private {
            "public_channel,private_channel"
        } else {
            "public_channel"
        };
        let channels = self
            .paged(
                false,
                "conversations.list",
                &[("types", types.into()), ("exclude_archived", "true".into())],
                "channels",
            )
            .await
            .map_err(|e| self.fatal(e, "conversations.list"))?;
        self.dir.channels = channels
            .iter()
            .filter_map(|c| {
                Some((
                    c["id"].as_str()?.to_string(),
                    c["name"].as_str()?.to_string(),
                ))
            })
            .collect();
        // Handles for `<!subteam^…>` mentions without a label; the scope
        // (`usergroups:read`) is optional, so an error leaves them unnamed.
        if let Ok(v) = self.call(false, "usergroups.list", &[]).await {
            self.dir.usergroups = v["usergroups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| {
                    Some((
                        g["id"].as_str()?.to_string(),
                        g["handle"].as_str()?.to_string(),
                    ))
                })
                .collect();
        }
        let wanted = |c: &Value| {
            self.s.channels.is_empty()
                || self.s.channels.iter().any(|w| {
                    Some(w.trim_start_matches('#')) == c["name"].as_str()
                        || Some(w.as_str()) == c["id"].as_str()
                })
        };
        let mut chosen = Vec::new();
        for c in channels.iter().filter(|c| wanted(c)) {
            let (Some(id), Some(name)) = (c["id"].as_str(), c["name"].as_str()) else {
                continue;
            };
            if c["is_member"].as_bool() != Some(true) {
                if !self.s.channels.is_empty() {
                    return Err(SourceError {
                        source_id: self.id.clone(),
                        location: format!("#{name}"),
                        message: format!(
                            "the bot is not a member of #{name}; invite it (`/invite @your-bot`) or remove the channel from settings.channels"
                        ),
                        transient: false,
                    });
                }
                continue;
            }
            // Fail closed: a channel whose privacy the API does not state is
            // treated as private (its members only), never as workspace-wide.
            chosen.push((
                id.to_string(),
                name.to_string(),
                c["is_private"].as_bool().unwrap_or(true),
            ));
        }
        let missing: Vec<&String> = self
            .s
            .channels
            .iter()
            .filter(|w| {
                !chosen
                    .iter()
                    .any(|(id, name, _)| name == w.trim_start_matches('#') || id == *w)
            })
            .collect();
        if !missing.is_empty() {
            return Err(SourceError {
                source_id: self.id.clone(),
                location: "conversations.list".into(),
                message: format!(
                    "channel(s) {} not found (private channels are listed only when the bot is a member)",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                transient: false,
            });
        }
        for (id, name, private) in chosen {
            let acl = if private {
                let members = self
                    .paged(
                        false,
                        "conversations.members",
                        &[("channel", id.clone())],
                        "members",
                    )
                    .await
                    .map_err(|e| self.fatal(e, "conversations.members"))?;
                let mut acl: Vec<String> = members
                    .iter()
                    .filter_map(|m| m.as_str())
                    .map(|m| crate::model::principal(&self.id, &format!("user:{m}")))
                    .collect();
                acl.sort();
                if acl.is_empty() {
                    vec![crate::model::principal(&self.id, &format!("channel:{id}"))]
                } else {
                    acl
                }
            } else {
                vec![crate::model::principal(&self.id, "workspace")]
            };
            let oldest = match (mode, self.marks.get(&id)) {
                (SyncMode::Incremental, Some(mark)) => {
                    Some(day_start(mark - self.s.lookback_hours as f64 * 3600.0))
                }
                _ => None,
            };
            let mark = self.marks.get(&id).copied();
            self.queue.push_back(Chan {
                id,
                name,
                acl,
                oldest,
                mark,
            });
        }
        let ids: Vec<String> = self.queue.iter().map(|c| c.id.clone()).collect();
        self.marks.retain(|k, _| ids.contains(k));
        Ok(match mode {
            SyncMode::Incremental => ListingScope::Changes,
            SyncMode::Full | SyncMode::Prune | SyncMode::Permissions => ListingScope::Complete,
        })
    }

    async fn next_page(&mut self) -> Result<Option<SourcePage>, SourceError> {
        if self.mode == SyncMode::Permissions {
            // A channel's documents share its access (its members, or the
            // workspace): the pass lists channels, not history. Channels the
            // bot can no longer read are not listed, so the engine hides
            // their documents.
            if self.queue.is_empty() {
                return Ok(None);
            }
            let mut page = SourcePage::default();
            for c in self.queue.drain(..) {
                let access = sluice_core::DocAccess::any_of(c.acl.iter().cloned());
                page.prefix_access
                    .push((crate::model::day_id(&c.id, ""), access.clone()));
                page.prefix_access
                    .push((crate::model::thread_id(&c.id, "", 0), access));
            }
            return Ok(Some(page));
        }
        if self.current.is_none() {
            let Some(c) = self.queue.pop_front() else {
                return Ok(None);
            };
            tracing::info!(source = %self.id, channel = %c.name, oldest = ?c.oldest, "listing");
            self.current = Some(Listing {
                c,
                cursor: None,
                pending: None,
                days_seen: BTreeSet::new(),
                newest: 0.0,
                done: false,
            });
        }
        let mut l = self.current.take().expect("set above");
        let mut page = SourcePage::default();
        let result = self.history_page(&mut l, &mut page).await;
        if let Err(e) = result {
            return Err(e);
        }
        if l.done {
            if self.mode != SyncMode::Prune
                && l.newest > 0.0
                && page.dead_letters.iter().all(|d| d.external_id.is_some())
            {
                let old = self.marks.get(&l.c.id).copied().unwrap_or(0.0);
                self.marks.insert(l.c.id.clone(), old.max(l.newest));
            }
        } else {
            self.current = Some(l);
        }
        if self.mode != SyncMode::Prune {
            page.cursor = serde_json::to_string(&self.marks).ok();
        }
        Ok(Some(page))
    }
}
