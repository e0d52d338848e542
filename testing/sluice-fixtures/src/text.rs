//! Deterministic, realistic-looking content: an engineering wiki and issue
//! tracker. Each topic has distinctive words so tests can search for it.

use serde_json::{Value, json};

pub struct Topic {
    pub title: &'static str,
    pub sentences: [&'static str; 3],
    pub code: &'static str,
}

pub const TOPICS: [Topic; 12] = [
    Topic {
        title: "Deployment rollback procedure",
        sentences: [
            "Roll back a bad release by redeploying the previous container image tag with the deploy tool.",
            "The canary stage watches error budgets for fifteen minutes before promoting the build.",
            "If the database migration already ran, follow the backward-compatible migration checklist first.",
        ],
        code: "deploy rollback --service checkout --to-tag v2.41.3",
    },
    Topic {
        title: "On-call escalation policy",
        sentences: [
            "The primary on-call engineer acknowledges a page within five minutes or it escalates to the secondary.",
            "Severity one incidents open a bridge call and notify the incident commander rotation.",
            "Hand over the pager every Monday at ten with a written summary of open incidents.",
        ],
        code: "pager escalate --policy sev1 --after 5m",
    },
    Topic {
        title: "Kafka consumer lag alerts",
        sentences: [
            "Consumer lag above fifty thousand messages for ten minutes fires the lag alert.",
            "Scale the consumer group by adding replicas; partitions cap the useful parallelism.",
            "Check for poison messages in the dead letter topic before restarting consumers.",
        ],
        code: "kafka-consumer-groups --describe --group billing-indexer",
    },
    Topic {
        title: "Postgres vacuum tuning",
        sentences: [
            "Autovacuum falls behind on the orders table when bloat exceeds thirty percent.",
            "Raise autovacuum_vacuum_cost_limit and lower the scale factor for hot tables.",
            "Long-running transactions block vacuum from removing dead tuples.",
        ],
        code: "ALTER TABLE orders SET (autovacuum_vacuum_scale_factor = 0.02);",
    },
    Topic {
        title: "TLS certificate renewal",
        sentences: [
            "Certificates are issued by the internal ACME service and renewed thirty days before expiry.",
            "The expiry exporter alerts when any certificate has fewer than fourteen days left.",
            "Wildcard certificates require the DNS-01 challenge through the zone delegation.",
        ],
        code: "certctl renew --domain api.example.com --challenge dns-01",
    },
    Topic {
        title: "Onboarding checklist for new engineers",
        sentences: [
            "New engineers request laptop access, VPN enrolment and the engineering handbook on day one.",
            "Pair with a buddy for the first week and ship a small change to production.",
            "Join the architecture review and the weekly demo to meet the wider team.",
        ],
        code: "make bootstrap && ./scripts/dev-env check",
    },
    Topic {
        title: "Search relevance tuning",
        sentences: [
            "Hybrid retrieval fuses keyword and vector rankings with reciprocal rank fusion.",
            "Boost titles over bodies and evaluate changes with nDCG on the labelled query set.",
            "Synonyms for product names live in the analyzer configuration.",
        ],
        code: "eval --queries golden.tsv --metric ndcg@10",
    },
    Topic {
        title: "Payment gateway timeouts",
        sentences: [
            "The payment gateway times out when the acquirer takes longer than eight seconds.",
            "Retries use idempotency keys so a customer is never charged twice.",
            "Reconciliation compares settlement files with ledger entries every night.",
        ],
        code: "curl -H 'Idempotency-Key: $KEY' https://payments.internal/charge",
    },
    Topic {
        title: "Feature flag cleanup",
        sentences: [
            "Flags older than ninety days with one variant serving all traffic are removed.",
            "The flag service exports usage so stale flags show up in the weekly report.",
            "Remove the code path first, then archive the flag in the dashboard.",
        ],
        code: "flags list --stale --older-than 90d",
    },
    Topic {
        title: "Data retention and GDPR deletion",
        sentences: [
            "Personal data is deleted within thirty days of an erasure request.",
            "Backups expire after thirty five days so erased records age out of snapshots.",
            "The privacy team audits deletion jobs every quarter.",
        ],
        code: "privacy erase --subject-id $ID --dry-run",
    },
    Topic {
        title: "Mobile release train",
        sentences: [
            "The mobile apps ship every two weeks from the release branch cut on Tuesday.",
            "Store review usually takes one day; plan hotfixes with phased rollout.",
            "Crash-free sessions below ninety nine percent halt the rollout.",
        ],
        code: "fastlane release --track beta --rollout 0.1",
    },
    Topic {
        title: "Load balancer health checks",
        sentences: [
            "Health checks hit the readiness endpoint every five seconds with a two second timeout.",
            "Three consecutive failures remove the instance from the target group.",
            "Drain connections for thirty seconds before terminating an instance.",
        ],
        code: "lbctl target-group describe web-prod --health",
    },
];

pub fn topic(i: u64) -> &'static Topic {
    &TOPICS[(i % TOPICS.len() as u64) as usize]
}

/// Confluence storage format (XHTML with `ac:`/`ri:` macros), exercising
/// what the converter must handle: headings, nested lists, tables, code
/// macro with CDATA, info panel, emoticon, user mention, entities.
pub fn storage_body(id: u64, version: u32, t: &Topic) -> String {
    format!(
        concat!(
            "<h1>{title}</h1>",
            "<p>{s0} This page is revision {version} of document {id}.</p>",
            "<ac:structured-macro ac:name=\"info\"><ac:rich-text-body><p>{s1}</p></ac:rich-text-body></ac:structured-macro>",
            "<h2>Steps</h2>",
            "<ol><li>Read the runbook<ul><li>Check the dashboards &amp; alerts</li><li>Confirm with the owner <ac:link><ri:user ri:account-id=\"557058:owner-{owner}\" /></ac:link></li></ul></li>",
            "<li>Run the command below</li></ol>",
            "<ac:structured-macro ac:name=\"code\"><ac:parameter ac:name=\"language\">bash</ac:parameter><ac:plain-text-body><![CDATA[{code}]]></ac:plain-text-body></ac:structured-macro>",
            "<h2>Notes</h2>",
            "<table><tbody><tr><th>Owner</th><th>Status</th></tr><tr><td>team-{owner}</td><td>Reviewed &ndash; ok <ac:emoticon ac:name=\"tick\" /></td></tr></tbody></table>",
            "<p>{s2}</p>",
            "<ac:structured-macro ac:name=\"toc\" />"
        ),
        title = t.title,
        s0 = t.sentences[0],
        s1 = t.sentences[1],
        s2 = t.sentences[2],
        code = t.code,
        version = version,
        id = id,
        owner = id % 7,
    )
}

/// Atlassian Document Format (Jira Cloud v3 descriptions and comments):
/// headings, marks, nested lists, code block, table, panel, emoji, mention.
pub fn adf_description(key: &str, version: u32, t: &Topic) -> Value {
    let text = |s: &str| json!({"type": "text", "text": s});
    json!({
        "version": 1,
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [text(t.title)]},
            {"type": "paragraph", "content": [
                text(t.sentences[0]),
                {"type": "text", "text": " Revision ", "marks": [{"type": "strong"}]},
                text(&format!("{version} of {key}.")),
                {"type": "hardBreak"},
                {"type": "mention", "attrs": {"id": "557058:reporter", "text": "@Dana Reporter"}},
                text(" please review "),
                {"type": "emoji", "attrs": {"shortName": ":warning:", "text": "⚠️"}}
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [
                    {"type": "paragraph", "content": [text(t.sentences[1])]},
                    {"type": "orderedList", "content": [
                        {"type": "listItem", "content": [{"type": "paragraph", "content": [text("Reproduce on staging")]}]},
                        {"type": "listItem", "content": [{"type": "paragraph", "content": [text("Attach logs")]}]}
                    ]}
                ]}
            ]},
            {"type": "codeBlock", "attrs": {"language": "bash"}, "content": [text(t.code)]},
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [{"type": "paragraph", "content": [text(t.sentences[2])]}]},
            {"type": "table", "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "content": [{"type": "paragraph", "content": [text("Environment")]}]},
                    {"type": "tableHeader", "content": [{"type": "paragraph", "content": [text("Impact")]}]}
                ]},
                {"type": "tableRow", "content": [
                    {"type": "tableCell", "content": [{"type": "paragraph", "content": [text("production")]}]},
                    {"type": "tableCell", "content": [{"type": "paragraph", "content": [text("high")]}]}
                ]}
            ]},
            {"type": "paragraph", "content": [{"type": "inlineCard", "attrs": {"url": "https://status.example.com/incidents/42"}}]}
        ]
    })
}

/// Jira Server/DC wiki markup for the same content.
pub fn wiki_markup(key: &str, version: u32, t: &Topic) -> String {
    format!(
        "h2. {}\n{} *Revision* {version} of {key}, reported by [~{reporter}].\n* {}\n## Reproduce on staging\n{{code:bash}}\n{}\n{{code}}\n{{info}}{}{{info}}\n||Environment||Impact||\n|production|high|\n",
        t.title,
        t.sentences[0],
        t.sentences[1],
        t.code,
        t.sentences[2],
        reporter = ["jdoe", "asmith", "left.user"][key.bytes().map(usize::from).sum::<usize>() % 3],
    )
}

pub fn comment_text(n: usize, t: &Topic) -> String {
    format!(
        "Comment {n}: confirmed, {} Follow-up tracked.",
        t.sentences[(n % 3) as usize].to_lowercase()
    )
}
