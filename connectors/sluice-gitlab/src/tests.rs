//! Connector tests against the GitLab fixture server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use sluice_core::{DocKind, Document, Source, SourceError, SyncMode};
use sluice_fixtures::common::FIXTURE_TOKEN;
use sluice_fixtures::gitlab::{self, GitlabShared, GitlabWorld};
use sluice_fixtures::{FixtureServer, Shared};
use sluice_http::VirtualSleeper;

use super::*;
use sluice_fixtures::{access_sets, sets};

async fn fixture() -> (FixtureServer, GitlabShared) {
    let shared = Shared::new(GitlabWorld::generate(&[
        ("acme/platform/api", "private", 12),
        ("acme/handbook", "internal", 4),
    ]));
    (
        FixtureServer::start(gitlab::router(), shared.clone(), 0)
            .await
            .unwrap(),
        shared,
    )
}

fn source(server: &FixtureServer, extra: serde_json::Value) -> (GitlabSource, Arc<VirtualSleeper>) {
    let mut v = json!({ "base_url": server.url(), "groups": ["acme"], "projects": ["acme/platform/api"], "file_max_bytes": 4096, "page_size": 5,
                        "http": { "requests_per_second": 10000.0, "burst": 1000 } });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    let s = GitlabSettings::parse(&serde_json::from_value(v).unwrap())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let sleeper = Arc::new(VirtualSleeper::default());
    let sl = sleeper.clone();
    let creds = BTreeMap::from([("token".to_string(), FIXTURE_TOKEN.to_string())]);
    (
        GitlabSource::new("gl", s, &creds)
            .unwrap()
            .with_http(|h| h.with_sleeper(sl)),
        sleeper,
    )
}

#[derive(Default)]
struct Drained {
    docs: Vec<Document>,
    deleted: BTreeSet<String>,
    live: BTreeSet<String>,
    access: BTreeMap<String, sluice_core::DocAccess>,
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
            .unwrap_or_else(|| panic!("no {ext} in {:?}", self.ids()))
    }
}

async fn drain(
    src: &mut GitlabSource,
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
        out.access.extend(p.access);
        if p.cursor.is_some() {
            out.cursor = p.cursor;
        }
    }
    Ok(out)
}

fn pid(shared: &GitlabShared, path: &str) -> u64 {
    shared.world().project(path).unwrap().id
}

#[tokio::test]
async fn full_sync_covers_issues_mrs_notes_wiki_files_and_acls() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({}));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let api = pid(&shared, "acme/platform/api");
    let hb = pid(&shared, "acme/handbook");
    let count = |k: DocKind| d.docs.iter().filter(|x| x.kind == k).count();
    assert_eq!(count(DocKind::Issue), 16);
    assert_eq!(count(DocKind::MergeRequest), 16);
    assert_eq!(count(DocKind::WikiPage), 4);
    // README.md + 4 docs/*.md + docs/huge-log.md per project; src/main.rs is not matched.
    assert_eq!(count(DocKind::File), 12);
    assert!(!d.ids().contains(&format!("file:{api}:src/main.rs")));

    let i1 = d.get(&format!("issue:{api}:1"));
    // 30 + 0 notes, paged 20 at a time; the system note is skipped.
    assert_eq!(
        i1.body.matches("\n- bob: Comment").count(),
        30,
        "{}",
        i1.body
    );
    assert!(!i1.body.contains("changed the description"));
    assert_eq!(i1.metadata["reference"], "acme/platform/api#1");
    assert_eq!(
        access_sets(i1, "gitlab:gl:"),
        sets(&[&["user:alice", "user:bob", "user:guest-gina"]])
    );
    let mr = d.get(&format!("mr:{api}:2"));
    assert_eq!(mr.kind, DocKind::MergeRequest);
    assert_eq!(mr.metadata["state"], "merged");
    assert_eq!(mr.metadata["target_branch"], "main");
    // GitLab's own record of the issue it closes (not in its text) becomes a `closes` edge.
    let edges = sluice_links::extract(mr, &Default::default()).edges;
    assert!(
        edges.contains(&(
            sluice_links::EdgeKind::Closes,
            "gitlab:acme/platform/api#2".into()
        )),
        "{edges:?}"
    );
    assert!(!mr.body.contains("#2 "), "the link is not in the text");
    // Its commits (listed by GitLab, paged) become names, so a commit URL
    // anywhere resolves to the merge request.
    let listed: Vec<String> = shared
        .world()
        .merge_requests
        .values()
        .find(|m| m.project_id == api && m.iid == 2)
        .unwrap()
        .commits
        .clone();
    assert_eq!(listed.len(), 2);
    let names = sluice_links::extract(mr, &Default::default()).names;
    for sha in &listed {
        assert!(
            names.contains(&format!("gitlab-commit:acme/platform/api@{}", &sha[..7])),
            "{names:?}"
        );
    }
    // Issue 4 is confidential: who may read the project's issues AND
    // (Reporter+ members, the author or an assignee); never the guest.
    let conf = d.get(&format!("issue:{api}:4"));
    assert_eq!(
        access_sets(conf, "gitlab:gl:"),
        sets(&[
            &["user:alice", "user:bob", "user:guest-gina"],
            &["user:alice", "user:bob", "user:carol"]
        ])
    );
    assert_eq!(
        access_sets(d.get(&format!("issue:{hb}:1")), "gitlab:gl:"),
        sets(&[&["signed-in"]])
    );
    let readme = d.get(&format!("file:{api}:README.md"));
    assert!(readme.body.starts_with("# api"));
    assert!(
        readme
            .url
            .as_deref()
            .unwrap()
            .ends_with("/acme/platform/api/-/blob/main/README.md")
    );
    let huge = d.get(&format!("file:{api}:docs/huge-log.md"));
    assert_eq!(huge.body.len(), 4096);
    assert_eq!(huge.metadata["truncated"], true);
    let wiki = d.get(&format!("wiki:{api}:runbooks/on-call"));
    assert_eq!(wiki.title, "On-call");
}

#[tokio::test]
async fn incremental_reads_changed_items_and_only_changed_files() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({ "overlap_minutes": 0, "wiki": false }));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let newest = full.docs.iter().filter_map(|d| d.updated_at).max().unwrap();
    let cursor = full.cursor.clone().unwrap();
    let api = pid(&shared, "acme/platform/api");

    // Nothing changed: the repository is not listed again.
    shared.clear_requests();
    let none = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    assert!(none.docs.iter().all(|d| {
        d.updated_at
            .is_some_and(|t| t >= newest - chrono::Duration::minutes(1))
    }));
    assert!(
        shared
            .requests()
            .iter()
            .all(|r| !r.contains("/repository/tree") && !r.contains("/blobs/")),
        "{:?}",
        shared.requests()
    );

    {
        let mut w = shared.world();
        w.edit_issue("acme/platform/api", 3, false, "Capybara cache stampede");
        w.close_issue("acme/platform/api", 5);
        w.commit(
            "acme/platform/api",
            &[
                (
                    "docs/new-guide.md",
                    Some("# New guide\n\nAxolotl onboarding."),
                ),
                ("README.md", None),
                ("src/lib.rs", Some("pub fn x() {}")),
            ],
        );
    }
    let inc = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    let changed: BTreeSet<String> = inc
        .docs
        .iter()
        .filter(|d| d.kind != DocKind::File && d.updated_at.unwrap() > newest)
        .map(|d| d.external_id.clone())
        .collect();
    assert_eq!(
        changed,
        BTreeSet::from([format!("issue:{api}:3"), format!("issue:{api}:5")])
    );
    assert_eq!(
        inc.get(&format!("issue:{api}:5")).metadata["state"],
        "closed",
        "closed is not deleted"
    );
    let files: BTreeSet<String> = inc
        .docs
        .iter()
        .filter(|d| d.kind == DocKind::File)
        .map(|d| d.external_id.clone())
        .collect();
    assert_eq!(
        files,
        BTreeSet::from([format!("file:{api}:docs/new-guide.md")]),
        "only the changed file is fetched"
    );
    assert_eq!(
        inc.deleted,
        BTreeSet::from([format!("file:{api}:README.md")])
    );
}

#[tokio::test]
async fn prune_admits_what_the_main_pass_admits() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({}));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    shared.clear_requests();
    let prune = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert_eq!(prune.live, full.ids());
    assert!(prune.docs.is_empty());
    assert!(
        shared.requests().iter().all(|r| !r.contains("/notes")
            && !r.contains("/blobs/")
            && !r.contains("with_content=1")),
        "ids only"
    );
    {
        let mut w = shared.world();
        w.delete_issue("acme/platform/api", 2, false);
        w.delete_wiki_page("acme/handbook", "home");
    }
    let after = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert_eq!(full.ids().difference(&after.live).count(), 2);
}

#[tokio::test]
async fn retries_and_clear_errors() {
    let (server, shared) = fixture().await;
    {
        let mut f = shared.faults();
        f.rate_limit_every = 10;
        f.retry_after_secs = 7;
    }
    shared.fail_next("/api/v4/projects/", 500, 2);
    let (mut src, sleeper) = source(&server, json!({ "groups": [] }));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert_eq!(
        d.docs.iter().filter(|x| x.kind == DocKind::Issue).count(),
        12
    );
    assert!(sleeper.waits().contains(&StdDuration::from_secs(7)));
    shared.faults().rate_limit_every = 0;
    let (mut src, _) = source(&server, json!({ "groups": ["nope"] }));
    let e = drain(&mut src, SyncMode::Full, None).await.err().unwrap();
    assert!(
        e.message.contains("group `nope` not found") && !e.transient,
        "{e}"
    );
    let creds = BTreeMap::from([("token".to_string(), "glpat-wrong".to_string())]);
    let s = GitlabSettings::parse(
        &serde_json::from_value(json!({ "base_url": server.url(), "projects": ["acme/handbook"] }))
            .unwrap(),
    )
    .unwrap();
    let mut bad = GitlabSource::new("gl", s, &creds).unwrap();
    let e = bad.open(SyncMode::Full, None).await.unwrap_err();
    assert!(
        e.message.contains("401") && !e.message.contains("glpat-wrong"),
        "{e}"
    );
}

#[test]
fn settings_and_globs() {
    let parse = |v: serde_json::Value| GitlabSettings::parse(&serde_json::from_value(v).unwrap());
    let e = parse(json!({ "base_url": "https://gitlab.com/api/v4", "file_globs": ["[x"] }))
        .unwrap_err();
    let paths: Vec<&str> = e.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(paths, vec!["base_url", "", "file_globs"]);
    let s = parse(json!({ "projects": ["a/b"] })).unwrap();
    assert!(
        s.admits_file("README.md") && s.admits_file("docs/a/b.md") && !s.admits_file("src/main.rs")
    );
}

#[tokio::test]
async fn roles_and_feature_levels_decide_who_reads_what_and_internal_notes_stay_out() {
    let (server, shared) = fixture().await;
    let api = pid(&shared, "acme/platform/api");
    {
        let mut w = shared.world();
        let p = w.projects.iter_mut().find(|p| p.id == api).unwrap();
        p.features.insert("wiki".into(), "disabled".into());
        p.features.insert("issues".into(), "private".into());
        // An internal note on issue 1.
        let issue = w
            .issues
            .values_mut()
            .find(|i| i.project_id == api && i.iid == 1)
            .unwrap();
        let at = issue.updated;
        issue.notes.push(gitlab::Note {
            id: 999_001,
            body: "SECRET-internal-triage".into(),
            author: "alice".into(),
            system: false,
            internal: true,
            created: at,
        });
    }
    let (mut src, _) = source(&server, json!({}));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    // A disabled feature is not indexed at all.
    assert!(
        d.docs
            .iter()
            .all(|x| !x.external_id.starts_with(&format!("wiki:{api}:"))),
        "its wiki is disabled"
    );
    assert!(
        d.docs.iter().any(|x| x.kind == DocKind::WikiPage),
        "the other project's wiki is still there"
    );
    // Members-only issues: every member, the guest included.
    let i1 = d.get(&format!("issue:{api}:1"));
    assert_eq!(
        access_sets(i1, "gitlab:gl:"),
        sets(&[&["user:alice", "user:bob", "user:guest-gina"]])
    );
    // The internal note never joins the issue's document.
    assert!(!i1.body.contains("SECRET-internal-triage"), "{}", i1.body);
    assert_eq!(i1.metadata["internal_notes_omitted"], 1);
    // Merge requests and files of a private project: Reporter+ only, never the guest.
    let reporters = sets(&[&["user:alice", "user:bob"]]);
    assert_eq!(
        access_sets(d.get(&format!("mr:{api}:2")), "gitlab:gl:"),
        reporters
    );
    assert_eq!(
        access_sets(d.get(&format!("file:{api}:README.md")), "gitlab:gl:"),
        reporters
    );
}

#[tokio::test]
async fn a_public_project_is_public_and_a_project_without_members_is_nobodys() {
    let (server, shared) = fixture().await;
    let api = pid(&shared, "acme/platform/api");
    shared
        .world()
        .projects
        .iter_mut()
        .find(|p| p.id == api)
        .unwrap()
        .visibility = "public".into();
    let (mut src, _) = source(&server, json!({}));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert_eq!(
        access_sets(d.get(&format!("issue:{api}:1")), "gitlab:gl:"),
        None,
        "public project, enabled issues"
    );
    assert_eq!(
        access_sets(d.get(&format!("file:{api}:README.md")), "gitlab:gl:"),
        None
    );

    // Private again, and nobody listed as a member: a principal nobody holds.
    {
        let mut w = shared.world();
        let p = w.projects.iter_mut().find(|p| p.id == api).unwrap();
        p.visibility = "private".into();
        p.members.clear();
    }
    let (mut src, _) = source(&server, json!({}));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert_eq!(
        access_sets(d.get(&format!("file:{api}:README.md")), "gitlab:gl:"),
        sets(&[&["project:acme/platform/api"]])
    );
}

/// A default branch that suddenly answers 404 while its files are indexed
/// is a reshaped answer, not an emptied repository: the prune pass stops
/// with the reason instead of listing no files (which would delete them).
#[tokio::test]
async fn a_default_branch_that_answers_404_stops_the_prune() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({}));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert!(full.docs.iter().any(|d| d.kind == DocKind::File));
    let api = pid(&shared, "acme/platform/api");
    shared
        .world()
        .projects
        .iter_mut()
        .find(|p| p.id == api)
        .unwrap()
        .branch_missing = true;
    let err = drain(&mut src, SyncMode::Prune, full.cursor.as_deref())
        .await
        .err()
        .expect("the prune must stop");
    assert!(
        err.message.contains("answers 404") && err.message.contains("nothing is indexed or pruned"),
        "{err}"
    );
}

/// On a first sync too, a named branch that answers 404, or a tree that
/// comes back empty, is an error naming the project and the branch, never
/// an empty repository (which a later prune would act on).
#[tokio::test]
async fn a_missing_branch_or_an_empty_tree_is_an_error_naming_project_and_branch() {
    for case in ["404", "empty"] {
        let (server, shared) = fixture().await;
        let api = pid(&shared, "acme/platform/api");
        {
            let mut w = shared.world();
            let p = w.projects.iter_mut().find(|p| p.id == api).unwrap();
            if case == "404" {
                p.branch_missing = true;
            } else {
                p.tree_empty = true;
            }
        }
        let (mut src, _) = source(&server, json!({}));
        let err = drain(&mut src, SyncMode::Full, None)
            .await
            .err()
            .unwrap_or_else(|| panic!("{case}: the sync must stop"));
        assert!(
            err.message.contains("`main`") && err.message.contains("acme/platform/api"),
            "{case}: {err}"
        );
        assert!(
            err.message.contains(if case == "404" {
                "answers 404"
            } else {
                "came back empty"
            }),
            "{case}: {err}"
        );
    }
}

#[tokio::test]
async fn descriptions_notes_and_wiki_pages_read_as_rendered_markdown() {
    let (server, shared) = fixture().await;
    let (mut src, _) = source(&server, json!({}));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let _ = shared;
    let issues: Vec<&Document> = d.docs.iter().filter(|d| d.kind == DocKind::Issue).collect();
    assert!(!issues.is_empty());
    for i in &issues {
        assert!(
            i.body
                .contains("[x] Reproduced on staging (see #12, cc @alice)"),
            "{}",
            i.body
        );
    }
    for doc in d.docs.iter().filter(|d| d.kind != DocKind::File) {
        for syntax in ["**", "](http", "![", "- [x]", "- [ ]"] {
            assert!(
                !doc.body.contains(syntax),
                "{}: `{syntax}` left in\n{}",
                doc.external_id,
                doc.body
            );
        }
    }
}

/// The permission pass lists issues, merge requests, wiki slugs and tree
/// paths without notes, contents or blobs, with the access a full sync
/// computes.
#[tokio::test]
async fn the_permission_pass_lists_access_without_content() {
    let (server, _shared) = fixture().await;
    let (mut src, _) = source(&server, json!({}));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let perms = drain(&mut src, SyncMode::Permissions, None).await.unwrap();
    assert!(perms.docs.is_empty(), "no documents, access only");
    let want: BTreeMap<String, sluice_core::DocAccess> = full
        .docs
        .iter()
        .map(|d| (d.external_id.clone(), d.access.clone().unwrap()))
        .collect();
    assert_eq!(perms.access, want);
}
