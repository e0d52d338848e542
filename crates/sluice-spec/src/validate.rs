//! Loading pipeline files: every problem becomes a `Diagnostic` with the
//! file, line:column, the YAML path, and a hint on how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use crate::positions::{Position, PositionIndex};
use crate::types::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: String,
    pub position: Option<Position>,
    /// YAML path such as `sources[0].settings.path`; empty for the file.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}:{}: ", self.file, p.line, p.column)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// A parsed pipeline plus what later checks need to report positions.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    pub spec: PipelineSpec,
    pub file: String,
    /// Directory of the YAML file: relative paths in settings resolve here.
    pub base_dir: PathBuf,
    pub positions: PositionIndex,
}

impl LoadedPipeline {
    pub fn diagnostic(
        &self,
        path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            position: self.positions.locate(path),
            path: path.to_string(),
            message: message.into(),
            hint,
        }
    }

    pub fn resolve_path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

pub fn load_pipeline(path: &Path) -> Result<LoadedPipeline, Vec<Diagnostic>> {
    let (loaded, semantic) = load_pipeline_lenient(path)?;
    if semantic.is_empty() {
        Ok(loaded)
    } else {
        Err(semantic)
    }
}

/// Like `load_pipeline`, but a structurally valid file loads even when it
/// has semantic problems (returned beside it), so `validate` can go on to
/// report connector and SQL problems in the same pass.
pub fn load_pipeline_lenient(
    path: &Path,
) -> Result<(LoadedPipeline, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        vec![Diagnostic {
            file: file.clone(),
            position: None,
            path: String::new(),
            message: format!("cannot read pipeline file: {e}"),
            hint: Some("check the path; pipeline files are YAML, e.g. pipelines/demo.yaml".into()),
        }]
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        // The place of the first byte that is not UTF-8.
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        vec![Diagnostic {
            file: file.clone(),
            position: Some(Position { line, column }),
            path: String::new(),
            message: "the file is not UTF-8 text".into(),
            hint: Some("save it as UTF-8".into()),
        }]
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_str_lenient(&text, &file, &base)
}

const TOP_KEYS: [&str; 8] = [
    "name",
    "schedule",
    "sources",
    "transform",
    "chunking",
    "embedding",
    "sinks",
    "transport",
];

pub fn load_pipeline_str(
    text: &str,
    file: &str,
    base_dir: &Path,
) -> Result<LoadedPipeline, Vec<Diagnostic>> {
    let (loaded, semantic) = load_str_lenient(text, file, base_dir)?;
    if semantic.is_empty() {
        Ok(loaded)
    } else {
        Err(semantic)
    }
}

fn load_str_lenient(
    text: &str,
    file: &str,
    base_dir: &Path,
) -> Result<(LoadedPipeline, Vec<Diagnostic>), Vec<Diagnostic>> {
    if let Err((position, message)) = crate::positions::guard(text) {
        return Err(vec![Diagnostic {
            file: file.to_string(),
            position,
            path: String::new(),
            message,
            hint: Some("a pipeline file is a small YAML mapping: `name:`, `sources:` …".into()),
        }]);
    }
    let positions = PositionIndex::build(text);
    let diag = |path: &str, message: String, hint: Option<String>| Diagnostic {
        file: file.to_string(),
        position: positions.locate(path),
        path: path.to_string(),
        message,
        hint,
    };
    let root: Value = match serde_yaml_ng::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let position = e.location().map(|l| Position {
                line: l.line(),
                column: l.column(),
            });
            return Err(vec![Diagnostic {
                file: file.to_string(),
                position,
                path: String::new(),
                message: format!("invalid YAML: {}", strip_location(&e.to_string())),
                hint: Some(
                    "check indentation (spaces, not tabs) and quoting around `:` and `#`".into(),
                ),
            }]);
        }
    };
    let Value::Mapping(map) = &root else {
        return Err(vec![diag(
            "",
            "a pipeline file must be a mapping".into(),
            Some("start with `name: my-pipeline`".into()),
        )]);
    };

    let mut diags = Vec::new();
    // Check each section on its own so one mistake does not hide the next.
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            diags.push(diag("", format!("non-string key {k:?}"), None));
            continue;
        };
        match key {
            "name" => check::<String>(v, "name", &mut diags, &diag),
            "schedule" => check::<ScheduleSpec>(v, "schedule", &mut diags, &diag),
            "transform" => check::<TransformSpec>(v, "transform", &mut diags, &diag),
            "chunking" => check::<ChunkingSpec>(v, "chunking", &mut diags, &diag),
            "embedding" => check::<EmbeddingSpec>(v, "embedding", &mut diags, &diag),
            "transport" => check::<TransportSpec>(v, "transport", &mut diags, &diag),
            "sources" | "sinks" => match v {
                Value::Sequence(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let p = format!("{key}[{i}]");
                        if key == "sources" {
                            check::<SourceSpec>(item, &p, &mut diags, &diag);
                        } else {
                            check::<SinkSpec>(item, &p, &mut diags, &diag);
                        }
                    }
                }
                _ => diags.push(diag(
                    key,
                    format!("`{key}` must be a list"),
                    Some(format!("write `{key}:` followed by `- ` items")),
                )),
            },
            other => diags.push(diag(
                other,
                format!("unknown key `{other}`"),
                Some(suggest(other, &TOP_KEYS)),
            )),
        }
    }
    for required in ["name", "sources"] {
        if !map.contains_key(required) {
            diags.push(diag(
                "",
                format!("missing required key `{required}`"),
                Some(format!("add a top-level `{required}:`")),
            ));
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let spec: PipelineSpec = match serde_path_to_error::deserialize(root) {
        Ok(s) => s,
        Err(e) => {
            let path = e.path().to_string();
            return Err(vec![diag(&path, e.inner().to_string(), None)]);
        }
    };
    let loaded = LoadedPipeline {
        spec,
        file: file.to_string(),
        base_dir: base_dir.to_path_buf(),
        positions,
    };
    let semantic = semantic_checks(&loaded);
    Ok((loaded, semantic))
}

fn check<T: DeserializeOwned>(
    v: &Value,
    prefix: &str,
    diags: &mut Vec<Diagnostic>,
    diag: &dyn Fn(&str, String, Option<String>) -> Diagnostic,
) {
    if let Err(e) = serde_path_to_error::deserialize::<_, T>(v.clone()) {
        let inner = strip_location(&e.inner().to_string());
        let sub = e.path().to_string();
        let mut path = if sub == "." || sub.is_empty() {
            prefix.to_string()
        } else if sub.starts_with('[') {
            format!("{prefix}{sub}")
        } else {
            format!("{prefix}.{sub}")
        };
        let hint = hint_for(&inner);
        if let Some(field) = backticked(&inner, "unknown field `") {
            if !path.ends_with(&field) {
                path = format!("{path}.{field}");
            }
        }
        diags.push(diag(&path, inner, hint));
    }
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn backticked(msg: &str, prefix: &str) -> Option<String> {
    let start = msg.find(prefix)? + prefix.len();
    let end = msg[start..].find('`')? + start;
    Some(msg[start..end].to_string())
}

fn hint_for(msg: &str) -> Option<String> {
    if let Some(field) = backticked(msg, "unknown field `") {
        let expected: Vec<String> = msg
            .split("expected ")
            .nth(1)
            .map(|rest| {
                rest.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let refs: Vec<&str> = expected.iter().map(String::as_str).collect();
        return Some(suggest(&field, &refs));
    }
    if let Some(field) = backticked(msg, "missing field `") {
        return Some(format!("add `{field}:` here"));
    }
    if let Some(v) = backticked(msg, "unknown variant `") {
        let _ = v;
        return Some("use one of the values listed above".into());
    }
    if msg.contains("invalid type") {
        return Some(
            "check the value's type (quote strings, use a list `- x` where a list is expected)"
                .into(),
        );
    }
    None
}

/// "did you mean" by edit distance, else the list of valid keys.
fn suggest(word: &str, candidates: &[&str]) -> String {
    let best = candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .min();
    match best {
        Some((d, c)) if d <= 2 || (d <= 3 && word.len() > 6) => format!("did you mean `{c}`?"),
        _ if candidates.is_empty() => "remove this key".into(),
        _ => format!("valid keys here: {}", candidates.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses a 5-field (minute) or 6/7-field (seconds) cron expression.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {expr}")
    } else {
        expr.to_string()
    };
    full.parse::<cron::Schedule>().map_err(|e| {
        // The cron crate's message repeats the input with a caret; keep its last line.
        let msg = e.to_string();
        let reason = msg.lines().last().unwrap_or("").trim().to_string();
        format!("invalid cron expression `{expr}`: {reason}")
    })
}

fn semantic_checks(p: &LoadedPipeline) -> Vec<Diagnostic> {
    let s = &p.spec;
    let mut d = Vec::new();
    let id_re = regex::Regex::new(r"^[a-z0-9][a-z0-9_.-]{0,63}$").expect("static regex");
    if !id_re.is_match(&s.name) {
        d.push(p.diagnostic(
            "name",
            format!("invalid pipeline name `{}`", s.name),
            Some("use lowercase letters, digits, `-`, `_`, `.` (max 64)".into()),
        ));
    }
    if let Some(sched) = &s.schedule {
        if let Err(e) = parse_cron(&sched.cron) {
            d.push(p.diagnostic("schedule.cron", e, Some("e.g. `*/15 * * * *` (every 15 minutes) or `0 0 2 * * *` (02:00 daily, with seconds)".into())));
        }
        if let Some(full) = &sched.full_sync_cron {
            if let Err(e) = parse_cron(full) {
                d.push(p.diagnostic(
                    "schedule.full_sync_cron",
                    e,
                    Some("e.g. `0 3 * * 0` (Sundays 03:00)".into()),
                ));
            }
        }
        if let Some(prune) = &sched.prune_cron {
            if let Err(e) = parse_cron(prune) {
                d.push(p.diagnostic(
                    "schedule.prune_cron",
                    e,
                    Some("e.g. `0 2 * * *` (02:00 daily)".into()),
                ));
            }
        }
        if let Some(perm) = &sched.permissions_cron {
            if let Err(e) = parse_cron(perm) {
                d.push(p.diagnostic(
                    "schedule.permissions_cron",
                    e,
                    Some("e.g. `*/10 * * * *` (every 10 minutes)".into()),
                ));
            }
        }
        if let Some(tz) = &sched.timezone {
            if tz.parse::<chrono_tz::Tz>().is_err() {
                d.push(p.diagnostic(
                    "schedule.timezone",
                    format!("unknown time zone `{tz}`"),
                    Some("an IANA name such as Europe/Berlin or America/New_York".into()),
                ));
            }
        }
        if sched.run_timeout_secs == 0 {
            d.push(p.diagnostic("schedule.run_timeout_secs", "must be at least 1", None));
        }
    }
    if s.sources.is_empty() {
        d.push(p.diagnostic(
            "sources",
            "no sources",
            Some("add at least one source".into()),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, src) in s.sources.iter().enumerate() {
        if !id_re.is_match(&src.id) {
            d.push(p.diagnostic(
                &format!("sources[{i}].id"),
                format!("invalid source id `{}`", src.id),
                Some("use lowercase letters, digits, `-`, `_`, `.` (max 64)".into()),
            ));
        }
        if !seen.insert(src.id.clone()) {
            d.push(p.diagnostic(
                &format!("sources[{i}].id"),
                format!("duplicate source id `{}`", src.id),
                Some("source ids must be unique within a pipeline".into()),
            ));
        }
    }
    if s.sinks.is_empty() {
        d.push(p.diagnostic(
            "sinks",
            "no sinks",
            Some("add `- type: embedded` or remove `sinks:` to use the embedded index".into()),
        ));
    }
    let (mut qdrant, mut elastic) = (0, 0);
    for (i, sink) in s.sinks.iter().enumerate() {
        let (url, timeout, attempts, batch, batch_name) = match sink {
            SinkSpec::Embedded(_) => continue,
            SinkSpec::Qdrant(q) => {
                qdrant += 1;
                (
                    &q.url,
                    q.timeout_secs,
                    q.max_attempts,
                    q.batch_points,
                    "batch_points",
                )
            }
            SinkSpec::Elasticsearch(e) => {
                elastic += 1;
                (
                    &e.url,
                    e.timeout_secs,
                    e.max_attempts,
                    e.bulk_actions,
                    "bulk_actions",
                )
            }
        };
        if let Err(e) = crate::secrets::check_env_refs(url) {
            d.push(p.diagnostic(&format!("sinks[{i}].url"), e, None));
        } else if !url.contains("${")
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            d.push(p.diagnostic(&format!("sinks[{i}].url"), format!("`{url}` is not an http(s) URL"), Some("e.g. http://localhost:6334 for Qdrant gRPC, http://localhost:9200 for Elasticsearch".into())));
        }
        if timeout == 0 {
            d.push(p.diagnostic(
                &format!("sinks[{i}].timeout_secs"),
                "must be at least 1",
                None,
            ));
        }
        if attempts == 0 {
            d.push(p.diagnostic(
                &format!("sinks[{i}].max_attempts"),
                "must be at least 1",
                None,
            ));
        }
        if batch == 0 {
            d.push(p.diagnostic(
                &format!("sinks[{i}].{batch_name}"),
                "must be at least 1",
                None,
            ));
        }
    }
    if qdrant > 1 || elastic > 1 {
        d.push(p.diagnostic("sinks", "at most one `qdrant` and one `elasticsearch` sink per pipeline", Some("search runs its vector leg on the Qdrant sink and its keyword leg on the Elasticsearch sink; use another pipeline for another store".into())));
    }
    let c = &s.chunking;
    if c.max_tokens < 16 || c.max_tokens > 8192 {
        d.push(p.diagnostic(
            "chunking.max_tokens",
            format!("max_tokens {} is out of range", c.max_tokens),
            Some("use 16..=8192; 200 suits all-MiniLM-L6-v2".into()),
        ));
    }
    if c.overlap_tokens >= c.max_tokens / 2 {
        d.push(p.diagnostic(
            "chunking.overlap_tokens",
            format!(
                "overlap_tokens {} must be below half of max_tokens {}",
                c.overlap_tokens, c.max_tokens
            ),
            Some("typical overlap is 10-20% of max_tokens".into()),
        ));
    }
    let e = &s.embedding;
    if e.batch_size == 0 || e.batch_size > 4096 {
        d.push(p.diagnostic(
            "embedding.batch_size",
            format!("batch_size {} is out of range", e.batch_size),
            Some("use 1..=4096; 32 is a good CPU default".into()),
        ));
    }
    if e.max_length < 8 || e.max_length > 512 {
        d.push(p.diagnostic(
            "embedding.max_length",
            format!("max_length {} is out of range", e.max_length),
            Some("use 8..=512 (all-MiniLM-L6-v2 was trained at 256)".into()),
        ));
    }
    if e.threads == Some(0) {
        d.push(p.diagnostic("embedding.threads", "threads must be at least 1", None));
    }
    if s.transport.batch_records() == 0 {
        d.push(p.diagnostic(
            "transport.batch_records",
            "batch_records must be at least 1",
            None,
        ));
    }
    if let TransportSpec::Kafka(k) = &s.transport {
        if k.bootstrap_servers.trim().is_empty() {
            d.push(p.diagnostic(
                "transport.bootstrap_servers",
                "no bootstrap servers",
                Some("e.g. `kafka-1:9092,kafka-2:9092`".into()),
            ));
        }
        let topic_re = regex::Regex::new(r"^[A-Za-z0-9._-]{1,249}$").expect("static regex");
        for (field, topic) in [
            ("topic", k.topic(&s.name)),
            ("dead_letter_topic", k.dead_letter_topic(&s.name)),
        ] {
            if !topic_re.is_match(&topic) {
                d.push(p.diagnostic(
                    &format!("transport.{field}"),
                    format!("`{topic}` is not a valid Kafka topic name"),
                    Some("use letters, digits, `.`, `_`, `-` (max 249)".into()),
                ));
            }
        }
        if k.topic(&s.name) == k.dead_letter_topic(&s.name) {
            d.push(p.diagnostic(
                "transport.dead_letter_topic",
                "the dead-letter topic is the pipeline's own topic",
                Some("poison records would loop; pick another topic".into()),
            ));
        }
        if !(1..=10_000).contains(&k.partitions) {
            d.push(p.diagnostic(
                "transport.partitions",
                format!("partitions {} is out of range", k.partitions),
                Some("use 1..=10000; at least the number of workers you plan to run".into()),
            ));
        }
        if k.replication < 1 {
            d.push(p.diagnostic(
                "transport.replication",
                "replication must be at least 1",
                None,
            ));
        }
        for (key, value) in &k.properties {
            if matches!(
                key.as_str(),
                "bootstrap.servers"
                    | "group.id"
                    | "enable.auto.commit"
                    | "enable.auto.offset.store"
                    | "enable.idempotence"
                    | "acks"
            ) {
                d.push(p.diagnostic(
                    &format!("transport.properties.{key}"),
                    format!("`{key}` is set by Sluice for its delivery guarantees"),
                    Some("remove it (use `bootstrap_servers` / `group` for those)".into()),
                ));
            }
            if let Err(e) = crate::secrets::check_env_refs(value) {
                d.push(p.diagnostic(&format!("transport.properties.{key}"), e, None));
            } else if crate::secrets::is_secret_property(key) {
                if let Err(e) = crate::secrets::SecretRef::parse(value) {
                    d.push(p.diagnostic(
                        &format!("transport.properties.{key}"),
                        format!("`{key}` holds a secret: {e}"),
                        Some(format!(
                            "`{key}: ${{KAFKA_{}}}`, exported before running",
                            key.to_ascii_uppercase().replace('.', "_")
                        )),
                    ));
                }
            }
        }
        if let Err(e) = crate::secrets::check_env_refs(&k.bootstrap_servers) {
            d.push(p.diagnostic("transport.bootstrap_servers", e, None));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LoadedPipeline, Vec<Diagnostic>> {
        load_pipeline_str(text, "p.yaml", Path::new("."))
    }

    const GOOD: &str = "name: demo\nschedule:\n  cron: \"*/15 * * * *\"\nsources:\n  - id: docs\n    type: files\n    settings:\n      path: data/x.jsonl\n    credentials:\n      token: ${DOCS_TOKEN}\ntransform:\n  sql: SELECT * FROM records\n";

    #[test]
    fn loads_a_good_pipeline_with_defaults() {
        let p = load(GOOD).unwrap();
        assert_eq!(p.spec.name, "demo");
        assert_eq!(p.spec.sources[0].source_type, "files");
        assert_eq!(p.spec.chunking.max_tokens, 200);
        assert_eq!(p.spec.embedding.batch_size, 32);
        assert!(matches!(p.spec.sinks[0], SinkSpec::Embedded(_)));
        assert_eq!(p.spec.sources[0].credentials["token"].var(), "DOCS_TOKEN");
        assert_eq!(p.resolve_path("data/x.jsonl"), Path::new("./data/x.jsonl"));
    }

    #[test]
    fn reports_every_section_error_with_positions() {
        let text = "name: demo\nsources:\n  - id: a\n    type: files\n    setings: {}\n  - id: b\n    type: files\nchunking:\n  max_tokns: 100\nembedding:\n  device: tpu\nsinkz: []\n";
        let errs = load(text).unwrap_err();
        let shown: Vec<String> = errs.iter().map(|d| d.to_string()).collect();
        assert_eq!(errs.len(), 4, "{shown:#?}");
        let unknown = errs
            .iter()
            .find(|d| d.message.contains("setings"))
            .expect("source error");
        assert_eq!(
            unknown.position,
            Some(Position { line: 5, column: 5 }),
            "{shown:#?}"
        );
        assert_eq!(unknown.hint.as_deref(), Some("did you mean `settings`?"));
        let chunk = errs
            .iter()
            .find(|d| d.message.contains("max_tokns"))
            .unwrap();
        assert_eq!(chunk.position.unwrap().line, 9);
        assert_eq!(chunk.hint.as_deref(), Some("did you mean `max_tokens`?"));
        let dev = errs.iter().find(|d| d.message.contains("tpu")).unwrap();
        assert_eq!(dev.position.unwrap().line, 11);
        let top = errs.iter().find(|d| d.message.contains("sinkz")).unwrap();
        assert_eq!(top.hint.as_deref(), Some("did you mean `sinks`?"));
        assert!(shown[0].starts_with("p.yaml:"));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let errs = load("name: demo\nsources:\n  - id: a\n   type: [files\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.starts_with("invalid YAML"), "{}", errs[0]);
        assert!(errs[0].position.is_some());
    }

    #[test]
    fn literal_secret_is_rejected_and_not_echoed() {
        let text = GOOD.replace("${DOCS_TOKEN}", "s3cr3t-value");
        let errs = load(&text).unwrap_err();
        let shown = errs
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            shown.contains("literal secrets are not accepted"),
            "{shown}"
        );
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert_eq!(errs[0].position.unwrap().line, 10);
    }

    #[test]
    fn secret_transport_properties_must_come_from_the_environment() {
        let base = "name: k\nsources:\n  - id: a\n    type: files\n    settings: {path: x.jsonl}\ntransport:\n  type: kafka\n  bootstrap_servers: ${KAFKA}\n  properties:\n";
        let errs = load(&format!("{base}    security.protocol: SASL_SSL\n    sasl.password: hunter2\n    ssl.key.password: ${{KEY_PW}}\n")).unwrap_err();
        let shown = errs
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(errs.len(), 1, "{shown}");
        assert!(
            shown.contains("transport.properties.sasl.password")
                && shown.contains("holds a secret"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "never echoed: {shown}");
        assert_eq!(errs[0].position.map(|p| p.line), Some(11), "{shown}");
        assert!(
            load(&format!(
                "{base}    sasl.password: ${{KAFKA_PW}}\n    sasl.mechanism: PLAIN\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn semantic_errors_are_collected() {
        let text = "name: Demo Pipeline\nschedule:\n  cron: every day\nsources:\n  - id: a\n    type: files\n  - id: a\n    type: files\nchunking:\n  max_tokens: 100\n  overlap_tokens: 80\n";
        let errs = load(text).unwrap_err();
        let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(errs.len(), 4, "{msgs:#?}");
        assert!(msgs.iter().any(|m| m.contains("invalid pipeline name")));
        assert!(msgs.iter().any(|m| m.contains("invalid cron")));
        assert!(msgs.iter().any(|m| m.contains("duplicate source id")));
        assert!(msgs.iter().any(|m| m.contains("overlap_tokens")));
        let dup = errs
            .iter()
            .find(|d| d.message.contains("duplicate"))
            .unwrap();
        assert_eq!(dup.position.unwrap().line, 7);
    }

    #[test]
    fn missing_required_keys() {
        let errs = load("schedule:\n  cron: '* * * * *'\n").unwrap_err();
        let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
        assert!(msgs.contains(&"missing required key `name`"));
        assert!(msgs.contains(&"missing required key `sources`"));
    }

    #[test]
    fn cron_accepts_five_and_six_fields() {
        assert!(parse_cron("*/5 * * * *").is_ok());
        assert!(parse_cron("0 */5 * * * *").is_ok());
        assert!(parse_cron("61 * * * *").is_err());
    }

    #[test]
    fn store_sinks_parse_with_defaults_and_refresh_as_bool_or_string() {
        let base = "name: kb\nsources:\n  - id: docs\n    type: files\n    settings:\n      path: x.jsonl\nsinks:\n";
        let p = load(&format!("{base}  - type: qdrant\n    url: http://localhost:6334\n  - type: elasticsearch\n    url: ${{ES_URL}}\n    refresh: false\n    auth:\n      type: basic\n      username: elastic\n      password: ${{ES_PASSWORD}}\n")).unwrap();
        let (SinkSpec::Qdrant(q), SinkSpec::Elasticsearch(e)) =
            (&p.spec.sinks[0], &p.spec.sinks[1])
        else {
            panic!("{:?}", p.spec.sinks)
        };
        assert_eq!(
            (q.collection("kb-prod.v2"), q.batch_points, q.distance),
            (
                "sluice_kb_prod_v2".to_string(),
                256,
                crate::QdrantDistance::Cosine
            )
        );
        assert_eq!(
            (e.index("KB"), e.refresh),
            ("sluice-kb".to_string(), crate::RefreshPolicy::False)
        );
        for (text, want) in [
            ("true", crate::RefreshPolicy::True),
            ("wait_for", crate::RefreshPolicy::WaitFor),
            ("\"false\"", crate::RefreshPolicy::False),
        ] {
            let p = load(&format!(
                "{base}  - type: elasticsearch\n    url: http://es:9200\n    refresh: {text}\n"
            ))
            .unwrap();
            let SinkSpec::Elasticsearch(e) = &p.spec.sinks[0] else {
                panic!()
            };
            assert_eq!(e.refresh, want, "{text}");
        }
        let d = load(&format!(
            "{base}  - type: elasticsearch\n    url: http://es:9200\n    refresh: sometimes\n"
        ))
        .unwrap_err();
        assert!(
            d[0].message.contains("use false, true or wait_for"),
            "{d:?}"
        );
    }

    #[test]
    fn store_sink_mistakes_are_reported_with_their_place() {
        let base = "name: kb\nsources:\n  - id: docs\n    type: files\n    settings:\n      path: x.jsonl\nsinks:\n";
        let d = load(&format!("{base}  - type: qdrant\n    url: localhost:6334\n    batch_points: 0\n  - type: qdrant\n    url: http://b:6334\n  - type: elasticsearch\n    url: http://es:9200\n    auth: {{ type: api_key, key: plaintext }}\n")).unwrap_err();
        let text = format!("{d:?}");
        assert!(
            text.contains("sinks[2]") && text.contains("environment references"),
            "literal secret refused: {text}"
        );
        let d = load(&format!("{base}  - type: qdrant\n    url: localhost:6334\n    batch_points: 0\n  - type: qdrant\n    url: http://b:6334\n")).unwrap_err();
        let paths: Vec<&str> = d.iter().map(|x| x.path.as_str()).collect();
        assert!(
            paths.contains(&"sinks[0].url")
                && paths.contains(&"sinks[0].batch_points")
                && paths.contains(&"sinks"),
            "{d:#?}"
        );
    }
}
