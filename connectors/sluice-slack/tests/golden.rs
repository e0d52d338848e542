//! The golden corpus: realistic Slack messages (as `conversations.history`
//! returns them) and, beside each, the line a reader sees, written by hand
//! from the rendering rules in connectors/README.md.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use sluice_slack::{ChannelCtx, Directory, Msg};

fn map(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

#[test]
fn every_message_reads_as_written_by_hand() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/messages");
    let context: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("context.json")).unwrap()).unwrap();
    let names = Directory {
        users: map(&context["users"]),
        channels: map(&context["channels"]),
        usergroups: map(&context["usergroups"]),
        bots: map(&context["bots"]),
    };
    let ctx = ChannelCtx {
        source: "golden",
        id: "C012AB3CD",
        name: "incidents",
        acl: &[],
        dir: &names,
        workspace_url: None,
    };
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_name().is_some_and(|n| n != "context.json")
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "at least 20 messages: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let raw: Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
        let want = std::fs::read_to_string(case.with_extension("txt")).unwrap();
        let m = Msg::from_json(&raw).unwrap_or_else(|| panic!("{}: not a message", case.display()));
        assert!(m.admitted(), "{}", case.display());
        let got = ctx.message(&m);
        if got != want {
            failures.push(format!(
                "{}\n--- want\n{want}\n--- got\n{got}\n",
                case.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
