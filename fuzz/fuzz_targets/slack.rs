//! Slack mrkdwn → text (sluice-slack).
#![no_main]
use std::collections::HashMap;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let dir = sluice_slack::Directory { users: HashMap::from([("U1".to_string(), "ada".to_string())]), ..Default::default() };
    let acl = vec!["slack:s:workspace".to_string()];
    let ctx = sluice_slack::ChannelCtx { source: "s", id: "C1", name: "eng", acl: &acl, dir: &dir, workspace_url: None };
    let out = ctx.render(&input);
    assert!(out.len() <= input.len() * 4 + 64);
});
