//! Slack sources against the Slack fixture server and real export samples.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sluice_core::{DocKind, Document, Source, SourceError, SyncMode};
use sluice_fixtures::common::FIXTURE_TOKEN;
use sluice_fixtures::slack::{self, SlackShared, SlackWorld};
use sluice_fixtures::{FixtureServer, Shared};
use sluice_http::VirtualSleeper;

use super::*;
use sluice_fixtures::{access_sets, sets};

async fn fixture() -> (FixtureServer, SlackShared) {
    let shared = Shared::new(SlackWorld::generate(&[
        ("eng", false, 24),
        ("incidents", true, 9),
    ]));
    shared.world().add_channel("random", false, false, 5);
    (
        FixtureServer::start(slack::router(), shared.clone(), 0)
            .await
            .unwrap(),
        shared,
    )
}

fn source(server: &FixtureServer, extra: serde_json::Value) -> (SlackSource, Arc<VirtualSleeper>) {
    let mut v = json!({ "base_url": format!("{}/api", server.url()), "page_size": 7, "tier2_per_minute": 600000.0, "tier3_per_minute": 600000.0, "workspace_url": "https://acme.slack.com" });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    let s = SlackSettings::parse(&serde_json::from_value(v).unwrap())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let sleeper = Arc::new(VirtualSleeper::default());
    let sl = sleeper.clone();
    let creds = BTreeMap::from([("token".to_string(), FIXTURE_TOKEN.to_string())]);
    (
        SlackSource::new("slack", s, &creds)
            .unwrap()
            .with_http(move |h| h.with_sleeper(sl.clone())),
        sleeper,
    )
}

#[derive(Default)]
struct Drained {
    docs: Vec<Document>,
    deleted: BTreeSet<String>,
    live: BTreeSet<String>,
    dead: usize,
    cursor: Option<String>,
}

impl Drained {
    fn ids(&self) -> BTreeSet<String> {
        self.docs.iter().map(|d| d.external_id.clone()).collect()
    }
    fn get(&self, ext: &str) -> &Document {
        self.docs
            .iter()
            .find(|d| d.external_id == ext)
            .unwrap_or_else(|| panic!("no {ext}"))
    }
}

async fn drain(
    src: &mut dyn Source,
    mode: SyncMode,
    cursor: Option<&str>,
) -> Result<Drained, SourceError> {
    let mut out = Drained {
        cursor: cursor.map(String::from),
        ..Default::default()
    };
    src.open(mode, cursor).await?;
    while let Some(p) = src.next_page().await? {
        out.docs.extend(p.documents);
        out.deleted.extend(p.deleted);
        out.live.extend(p.live_ids);
        out.dead += p.dead_letters.len();
        if p.cursor.is_some() {
            out.cursor = p.cursor;
        }
    }
    Ok(out)
}

fn chan_id(shared: &SlackShared, name: &str) -> String {
    shared
        .world()
        .channels
        .iter()
        .find(|c| c.name == name)
        .unwrap()
        .id
        .clone()
}

#[tokio::test]
async fn full_sync_builds_threads_and_days_with_acls() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({}));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let eng = chan_id(&shared, "eng");
    let inc = chan_id(&shared, "incidents");
    let random = chan_id(&shared, "random");
    assert!(
        d.docs.iter().all(|x| !x.external_id.contains(&random)),
        "the bot is not in #random"
    );
    let threads: Vec<&Document> = d
        .docs
        .iter()
        .filter(|x| x.kind == DocKind::Thread && x.metadata["channel"] == "eng")
        .collect();
    // 24 messages 3 h apart, every 4th (k % 4 == 1) a thread: 6 threads; k = 1 and 9
    // get a reply 2 days later (k = 17 would be in the future) → a second part.
    assert_eq!(threads.iter().filter(|t| t.parent_id.is_none()).count(), 6);
    assert_eq!(threads.iter().filter(|t| t.parent_id.is_some()).count(), 2);
    let top: Vec<_> = shared.world().top_level("eng");
    let parent = top
        .iter()
        .find(|m| m.thread_ts.is_some())
        .unwrap()
        .ts
        .clone();
    let t0 = d.get(&thread_id(&eng, &parent, 0));
    assert!(
        t0.body.contains("@bob") && t0.body.contains("the runbook (https://wiki.example/x)"),
        "{}",
        t0.body
    );
    assert!(
        t0.body.contains("Comment 0:") && t0.body.contains("Comment 1:"),
        "{}",
        t0.body
    );
    assert!(
        !t0.body.contains("Comment 2:"),
        "the late reply is in part 2"
    );
    assert!(
        d.get(&thread_id(&eng, &parent, 1))
            .body
            .contains("Comment 2:")
    );
    assert_eq!(access_sets(t0, "slack:slack:"), sets(&[&["workspace"]]));
    assert_eq!(
        t0.url.as_deref(),
        Some(
            format!(
                "https://acme.slack.com/archives/{eng}/p{}",
                parent.replace('.', "")
            )
            .as_str()
        )
    );
    // Day groups hold the other messages, without the join notices.
    let days: Vec<&Document> = d
        .docs
        .iter()
        .filter(|x| x.kind == DocKind::Message && x.metadata["channel"] == "eng")
        .collect();
    let day_msgs: u64 = days
        .iter()
        .map(|x| x.metadata["messages"].as_u64().unwrap())
        .sum();
    assert_eq!(day_msgs, 18);
    assert!(days.iter().all(|x| !x.body.contains("has joined")));
    let private: Vec<&Document> = d
        .docs
        .iter()
        .filter(|x| x.metadata["channel_id"] == inc.as_str())
        .collect();
    assert!(
        !private.is_empty()
            && private
                .iter()
                .all(|x| access_sets(x, "slack:slack:")
                    == sets(&[&["user:U01ALICE", "user:U03CAROL"]]))
    );
}

#[tokio::test]
async fn a_channel_whose_privacy_is_not_stated_is_read_by_its_members_only() {
    let (server, shared) = fixture().await;
    // #eng is public, but the listing no longer says so.
    shared
        .world()
        .channels
        .iter_mut()
        .find(|c| c.name == "eng")
        .unwrap()
        .privacy_hidden = true;
    let (mut src, _) = source(&server, json!({}));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let eng = chan_id(&shared, "eng");
    let mut members: Vec<String> = shared
        .world()
        .channels
        .iter()
        .find(|c| c.name == "eng")
        .unwrap()
        .members
        .iter()
        .map(|m| format!("user:{m}"))
        .collect();
    members.sort();
    let docs: Vec<&Document> = d
        .docs
        .iter()
        .filter(|x| x.metadata["channel_id"] == eng.as_str())
        .collect();
    assert!(!docs.is_empty());
    for x in docs {
        assert_eq!(
            access_sets(x, "slack:slack:"),
            Some(vec![members.clone()]),
            "{}: unknown privacy must not be workspace-wide",
            x.external_id
        );
    }
}

#[tokio::test]
async fn the_permission_pass_lists_channel_access_without_reading_history() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({}));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let eng = chan_id(&shared, "eng");
    let inc = chan_id(&shared, "incidents");
    // Carol leaves #incidents.
    shared
        .world()
        .channel_mut("incidents")
        .unwrap()
        .members
        .retain(|m| m != "U03CAROL");
    shared.clear_requests();
    src.open(SyncMode::Permissions, full.cursor.as_deref())
        .await
        .unwrap();
    let mut listed = Vec::new();
    while let Some(p) = src.next_page().await.unwrap() {
        assert!(
            p.documents.is_empty() && p.access.is_empty() && p.live_ids.is_empty(),
            "no records, only containers"
        );
        listed.extend(p.prefix_access);
    }
    let requests = shared.requests();
    assert!(
        requests
            .iter()
            .all(|r| !r.contains("conversations.history") && !r.contains("conversations.replies")),
        "{requests:?}"
    );
    let only = |p: &str| {
        listed
            .iter()
            .find(|(x, _)| x == p)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("{p} not listed: {listed:?}"))
    };
    assert_eq!(
        only(&format!("day:{inc}:")),
        sluice_core::DocAccess::any_of(["slack:slack:user:U01ALICE"]),
        "the member who left no longer reads it"
    );
    assert_eq!(
        only(&format!("thread:{inc}:")),
        only(&format!("day:{inc}:"))
    );
    assert_eq!(
        only(&format!("thread:{eng}:")),
        sluice_core::DocAccess::any_of(["slack:slack:workspace"])
    );
    assert_eq!(
        listed.len(),
        4,
        "two prefixes for each of the two channels the bot reads: {listed:?}"
    );
    // Every indexed document sits under exactly one listed prefix.
    for d in &full.docs {
        assert_eq!(
            listed
                .iter()
                .filter(|(p, _)| d.external_id.starts_with(p.as_str()))
                .count(),
            1,
            "{}",
            d.external_id
        );
    }
}

#[tokio::test]
async fn incremental_sees_new_edited_deleted_and_late_replies_per_channel() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({ "lookback_hours": 12 }));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let cursor = full.cursor.clone().unwrap();
    let eng = chan_id(&shared, "eng");
    let top = shared.world().top_level("eng");
    let last_plain = top
        .iter()
        .rev()
        .find(|m| m.thread_ts.is_none() && m.subtype.is_none())
        .unwrap()
        .clone();
    let thread = top
        .iter()
        .rev()
        .find(|m| m.thread_ts.is_some())
        .unwrap()
        .ts
        .clone();
    {
        let mut w = shared.world();
        w.edit(
            "eng",
            &last_plain.ts,
            "Corrected: the okapi migration is on Thursday",
        );
        w.post("eng", "U02BOB", "A brand new pangolin question", None);
        w.post(
            "eng",
            "U01ALICE",
            "Late reply about the lemur",
            Some(&thread),
        );
    }
    let inc = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    let text: String = inc
        .docs
        .iter()
        .map(|d| d.body.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("okapi migration is on Thursday (edited)")
            && text.contains("pangolin")
            && text.contains("lemur"),
        "{thread} {:?} {cursor}\n{text}",
        inc.ids()
    );
    // Only the look-back window (from the start of the day 12 h before the
    // newest message) is re-read: not the first days of the channel.
    assert!(
        inc.docs.len() < full.docs.len(),
        "{} of {}",
        inc.docs.len(),
        full.docs.len()
    );
    assert!(
        !inc.ids()
            .iter()
            .any(|i| i.ends_with("2026-01-02") || i.ends_with("2026-01-03")),
        "{:?}",
        inc.ids()
    );

    // Deleting every message of a day removes that day's document.
    let day = inc
        .docs
        .iter()
        .find(|d| d.body.contains("pangolin"))
        .unwrap()
        .external_id
        .clone();
    let day_ts: Vec<String> = shared
        .world()
        .top_level("eng")
        .iter()
        .filter(|m| m.thread_ts.is_none() && day.ends_with(&sluice_slack_day(&m.ts)))
        .map(|m| m.ts.clone())
        .collect();
    for ts in &day_ts {
        shared.world().delete("eng", ts);
    }
    let after = drain(&mut src, SyncMode::Incremental, inc.cursor.as_deref())
        .await
        .unwrap();
    assert!(
        after.deleted.contains(&day),
        "{day} not in {:?}",
        after.deleted
    );

    // A channel the bot joins later backfills alone.
    let new_id = shared.world().add_channel("design", false, true, 6);
    let (mut src2, _) = source(&server, json!({ "lookback_hours": 12 }));
    let back = drain(&mut src2, SyncMode::Incremental, after.cursor.as_deref())
        .await
        .unwrap();
    let design = back
        .docs
        .iter()
        .filter(|d| d.metadata["channel_id"] == new_id.as_str())
        .count();
    assert!(design >= 2);
    assert!(
        !back
            .ids()
            .iter()
            .any(|i| i.starts_with(&format!("day:{eng}:2026-01-02"))),
        "eng stays incremental"
    );
}

fn sluice_slack_day(ts: &str) -> String {
    crate::model::time(ts)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn prune_lists_the_same_ids_and_rate_limits_are_honoured() {
    let (server, shared) = fixture().await;
    {
        let mut f = shared.faults();
        f.rate_limit_every = 8;
        f.retry_after_secs = 30;
    }
    let (mut src, sleeper) = source(&server, json!({}));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert!(
        sleeper
            .waits()
            .iter()
            .filter(|w| **w == Duration::from_secs(30))
            .count()
            >= 2
    );
    shared.faults().rate_limit_every = 0;
    shared.clear_requests();
    let prune = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert_eq!(prune.live, full.ids());
    // Replies are fetched only for threads long enough to be split.
    let replies = shared
        .requests()
        .iter()
        .filter(|r| r.contains("conversations.replies"))
        .count();
    assert!(replies <= 8, "{replies} replies requests");
}

#[tokio::test]
async fn slack_errors_are_named() {
    let (server, _shared) = fixture().await;
    let (mut src, _) = source(&server, json!({ "channels": ["random"] }));
    let e = drain(&mut src, SyncMode::Full, None).await.err().unwrap();
    assert!(e.message.contains("/invite"), "{e}");
    let (mut src, _) = source(&server, json!({ "channels": ["nope"] }));
    let e = drain(&mut src, SyncMode::Full, None).await.err().unwrap();
    assert!(e.message.contains("nope"), "{e}");
    let s = SlackSettings::parse(
        &serde_json::from_value(json!({ "base_url": format!("{}/api", server.url()) })).unwrap(),
    )
    .unwrap();
    let mut bad = SlackSource::new(
        "slack",
        s,
        &BTreeMap::from([("token".to_string(), "xoxb-wrong".to_string())]),
    )
    .unwrap();
    let e = bad.open(SyncMode::Full, None).await.unwrap_err();
    assert!(
        e.message.contains("401") && !e.message.contains("xoxb-wrong"),
        "{e}"
    );
}

fn shared_export(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("../../../shared/data/api-fixtures/slack")
        .join(rel)
}

#[tokio::test]
async fn export_directory_and_zip_give_the_same_documents() {
    let dir = shared_export("export-slackdump/source_export_dir");
    let zip = shared_export("export-slackdump/source_export.zip");
    if !dir.exists() {
        // The shared samples sit beside the repository on the dev machine;
        // the synthetic export test below always runs.
        eprintln!("skipping: {} not present", dir.display());
        return;
    }
    let settings = |p: &std::path::Path| {
        SlackExportSettings::parse(
            &serde_json::from_value(json!({ "path": p.to_str().unwrap() })).unwrap(),
        )
        .unwrap()
    };
    let mut a = SlackExportSource::new("exp", settings(&dir), std::path::Path::new("/"));
    let mut b = SlackExportSource::new("exp", settings(&zip), std::path::Path::new("/"));
    let da = drain(&mut a, SyncMode::Full, None).await.unwrap();
    let db = drain(&mut b, SyncMode::Full, None).await.unwrap();
    assert!(!da.docs.is_empty());
    // The zip holds more days than the unpacked sample directory.
    assert!(
        da.ids().is_subset(&db.ids()),
        "{:?} vs {:?}",
        da.ids(),
        db.ids()
    );
    let thread = da
        .docs
        .iter()
        .find(|d| d.kind == DocKind::Thread)
        .expect("the sample has a thread");
    assert_eq!(thread.external_id, "thread:CO69735E8A:1736478630.905399");
    assert!(thread.metadata["messages"].as_u64().unwrap() >= 1);
    // The classic (2016) export layout of slack-export-viewer.
    let classic = shared_export("export-slack-export-viewer/testarchive.zip");
    let mut c = SlackExportSource::new("exp", settings(&classic), std::path::Path::new("/"));
    let dc = drain(&mut c, SyncMode::Full, None).await.unwrap();
    assert!(dc.docs.len() >= 2, "{:?}", dc.ids());
    assert!(
        dc.docs
            .iter()
            .any(|d| d.metadata["channel"] == "traveling-sailor"
                || d.metadata["channel"] == "enrique"),
        "{:?}",
        dc.ids()
    );
}

#[tokio::test]
async fn export_applies_edits_deletes_threads_across_days_and_survives_a_bad_day() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("users.json"), r#"[{"id":"U1","name":"alice","profile":{"display_name":"Alice"}},{"id":"U2","name":"bob"}]"#).unwrap();
    std::fs::write(
        root.join("channels.json"),
        r#"[{"id":"C1","name":"general","members":["U1","U2"]}]"#,
    )
    .unwrap();
    std::fs::write(
        root.join("groups.json"),
        r#"[{"id":"G1","name":"secret","members":["U1"]}]"#,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("general")).unwrap();
    std::fs::create_dir_all(root.join("secret")).unwrap();
    // 2025-01-10: a thread parent, a message later edited, one later deleted.
    std::fs::write(root.join("general/2025-01-10.json"), r#"[
        {"type":"message","user":"U1","text":"Why is the <#C1|general> build red?","ts":"1736503200.000100","thread_ts":"1736503200.000100","reply_count":2},
        {"type":"message","user":"U2","text":"first draft","ts":"1736503300.000200"},
        {"type":"message","user":"U2","text":"oops wrong channel","ts":"1736503400.000300"},
        {"type":"message","subtype":"channel_join","user":"U2","text":"<@U2> has joined the channel","ts":"1736503500.000400"},
        {"type":"message","user":"U2","text":"flaky test in <@U1>'s module","ts":"1736503600.000500","thread_ts":"1736503200.000100","parent_user_id":"U1"}
    ]"#).unwrap();
    // 2025-01-11: the thread continues, the edit and the deletion arrive.
    std::fs::write(root.join("general/2025-01-11.json"), r#"[
        {"type":"message","user":"U1","text":"fixed in the retry patch","ts":"1736589700.000600","thread_ts":"1736503200.000100","parent_user_id":"U1"},
        {"type":"message","subtype":"message_changed","ts":"1736589800.000700","message":{"type":"message","user":"U2","text":"final text","ts":"1736503300.000200","edited":{"user":"U2","ts":"1736589800.000700"}}},
        {"type":"message","subtype":"message_deleted","ts":"1736589900.000800","deleted_ts":"1736503400.000300"}
    ]"#).unwrap();
    std::fs::write(root.join("general/2025-01-12.json"), "[{ broken").unwrap();
    std::fs::write(
        root.join("secret/2025-01-10.json"),
        r#"[{"type":"message","user":"U1","text":"salary bands","ts":"1736503200.000900"}]"#,
    )
    .unwrap();
    let s = SlackExportSettings::parse(
        &serde_json::from_value(json!({ "path": "." , "thread_window_hours": 48 })).unwrap(),
    )
    .unwrap();
    let mut src = SlackExportSource::new("exp", s, root);
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let thread = d.get("thread:C1:1736503200.000100");
    assert!(
        thread
            .body
            .contains("Alice: Why is the #general build red?")
            && thread.body.contains("flaky test in @Alice's module")
            && thread.body.contains("fixed in the retry patch"),
        "{}",
        thread.body
    );
    let day = d.get("day:C1:2025-01-10");
    assert!(
        day.body.contains("bob: final text (edited)"),
        "{}",
        day.body
    );
    assert!(
        !day.body.contains("oops") && !day.body.contains("has joined"),
        "{}",
        day.body
    );
    assert_eq!(access_sets(day, "slack:exp:"), sets(&[&["workspace"]]));
    assert_eq!(
        access_sets(d.get("day:G1:2025-01-10"), "slack:exp:"),
        sets(&[&["user:U1"]])
    );
    assert_eq!(d.dead, 1, "the broken day file is a dead letter");
    assert_eq!(d.docs.len(), 3);

    // The same export zipped under a top folder gives the same documents.
    let zip_path = dir.path().join("export.zip");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for rel in [
            "users.json",
            "channels.json",
            "groups.json",
            "general/2025-01-10.json",
            "general/2025-01-11.json",
            "general/2025-01-12.json",
            "secret/2025-01-10.json",
        ] {
            w.start_file(format!("acme-export/{rel}"), opts).unwrap();
            std::io::Write::write_all(&mut w, &std::fs::read(root.join(rel)).unwrap()).unwrap();
        }
        w.finish().unwrap();
    }
    let s = SlackExportSettings::parse(
        &serde_json::from_value(json!({ "path": "export.zip", "thread_window_hours": 48 }))
            .unwrap(),
    )
    .unwrap();
    let mut zipped = SlackExportSource::new("exp", s, root);
    let z = drain(&mut zipped, SyncMode::Full, None).await.unwrap();
    assert_eq!(z.ids(), d.ids());
    assert_eq!(z.get("day:C1:2025-01-10").body, day.body);
}
