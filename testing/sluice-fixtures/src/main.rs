//! `sluice-fixtures`: run the Confluence and Jira fixture servers in the
//! foreground, so a person can try the connectors without credentials.

use clap::Parser;
use sluice_fixtures::common::{FIXTURE_TOKEN, FIXTURE_USER};
use sluice_fixtures::confluence::{self, ConfluenceWorld};
use sluice_fixtures::gitlab::{self, GitlabWorld};
use sluice_fixtures::jira::{self, JiraWorld};
use sluice_fixtures::slack::{self, SlackWorld};
use sluice_fixtures::{FixtureServer, Shared};

#[derive(Parser)]
#[command(
    about = "Fixture Confluence, Jira, GitLab and Slack servers replaying realistic API responses"
)]
struct Args {
    /// Confluence port (Cloud v2 under /wiki, Server v1 at the root).
    #[arg(long, default_value_t = 8091)]
    confluence_port: u16,
    /// Jira port (Cloud v3 and Server v2).
    #[arg(long, default_value_t = 8092)]
    jira_port: u16,
    /// GitLab port (REST v4 under /api/v4).
    #[arg(long, default_value_t = 8093)]
    gitlab_port: u16,
    /// Slack port (Web API under /api).
    #[arg(long, default_value_t = 8094)]
    slack_port: u16,
    /// Pages per Confluence space (spaces ENG and OPS).
    #[arg(long, default_value_t = 60)]
    pages: usize,
    /// Issues per Jira project (projects ENG and OPS).
    #[arg(long, default_value_t = 60)]
    issues: usize,
    /// Answer every Nth request with 429 + Retry-After: 1 (0 = never).
    #[arg(long, default_value_t = 0)]
    rate_limit_every: u64,
    /// Added latency per request in milliseconds (a slow server).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    let cw = Shared::new(ConfluenceWorld::generate(&[
        ("ENG", a.pages),
        ("OPS", a.pages),
    ]));
    let jw = Shared::new(JiraWorld::generate(&[("ENG", a.issues), ("OPS", a.issues)]));
    let gw = Shared::new(GitlabWorld::generate(&[
        ("acme/platform/api", "private", a.issues / 2),
        ("acme/handbook", "internal", a.issues / 4),
    ]));
    let sw = Shared::new(SlackWorld::generate(&[
        ("eng", false, a.issues),
        ("incidents", true, a.issues / 3),
    ]));
    for f in [
        &mut *cw.faults(),
        &mut *jw.faults(),
        &mut *gw.faults(),
        &mut *sw.faults(),
    ] {
        f.rate_limit_every = a.rate_limit_every;
        f.retry_after_secs = 1;
        f.delay_ms = a.delay_ms;
    }
    let c = FixtureServer::start(confluence::router(), cw, a.confluence_port).await?;
    let j = FixtureServer::start(jira::router(), jw, a.jira_port).await?;
    let g = FixtureServer::start(gitlab::router(), gw, a.gitlab_port).await?;
    let s = FixtureServer::start(slack::router(), sw, a.slack_port).await?;
    println!(
        "Confluence fixture: {}/wiki (Cloud v2), {} (Server v1)",
        c.url(),
        c.url()
    );
    println!("Jira fixture:       {} (Cloud v3 and Server v2)", j.url());
    println!(
        "GitLab fixture:     {}/api/v4 (groups acme, acme/platform)",
        g.url()
    );
    println!(
        "Slack fixture:      {}/api (channels #eng, #incidents)",
        s.url()
    );
    println!("Credentials: e-mail {FIXTURE_USER}, token {FIXTURE_TOKEN} (every server)");
    println!(
        "  export ATLASSIAN_EMAIL={FIXTURE_USER} ATLASSIAN_TOKEN={FIXTURE_TOKEN} GITLAB_TOKEN={FIXTURE_TOKEN} SLACK_BOT_TOKEN={FIXTURE_TOKEN}"
    );
    println!("  sluice run pipelines/confluence-jira-fixtures.yaml");
    println!("  sluice run pipelines/gitlab-slack-fixtures.yaml");
    tokio::select! {
        _ = c.wait() => {}
        _ = j.wait() => {}
        _ = g.wait() => {}
        _ = s.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
