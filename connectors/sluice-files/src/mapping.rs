//! Field mapping: where each document field comes from in a source record.
//!
//! An expression is either a path (`fields.status.name`,
//! `comments[*].body`, `ancestors[0].title`) or a template with `{path}`
//! placeholders (`https://wiki/{space.key}/{id}`, `group:{groups[*]}`).
//! A placeholder over several values expands to several results.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One expression or a list of them (their results are concatenated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Exprs {
    One(String),
    Many(Vec<String>),
}

impl Exprs {
    fn list(&self) -> Vec<&str> {
        match self {
            Exprs::One(s) => vec![s.as_str()],
            Exprs::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }

    /// All values, in order, empty strings dropped.
    pub fn eval_all(&self, record: &Value) -> Vec<String> {
        self.eval_all_with(record, scalar)
    }

    /// All values, each placeholder's value turned into text by `render`
    /// (a body in ADF is a JSON object, converted before it joins a
    /// template such as `{author}: {body}`).
    pub fn eval_all_with(&self, record: &Value, render: fn(&Value) -> String) -> Vec<String> {
        self.list()
            .into_iter()
            .flat_map(|e| eval_with(e, record, render))
            .filter(|s| !s.trim().is_empty())
            .collect()
    }

    /// The first non-empty value.
    pub fn eval_first(&self, record: &Value) -> Option<String> {
        self.eval_all(record).into_iter().next()
    }

    pub fn validate(&self) -> Result<(), String> {
        for e in self.list() {
            parse_template(e)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    #[default]
    Plain,
    /// HTML or Confluence storage format, converted to text.
    Html,
    /// Markdown (GitLab-flavoured), read as rendered: headings, lists,
    /// task items and code kept, emphasis and link syntax dropped.
    Markdown,
    /// Atlassian Document Format (Jira Cloud bodies): a JSON object, or a
    /// string holding one.
    Adf,
    /// Jira Server/Data Center wiki markup.
    JiraWiki,
}

impl TextFormat {
    /// How one value of this format becomes text (per placeholder).
    pub fn render(self) -> fn(&Value) -> String {
        match self {
            TextFormat::Adf => |v| match v {
                Value::Object(_) => sluice_text::adf::adf_to_text(v).0,
                Value::String(s) => match serde_json::from_str::<Value>(s) {
                    Ok(doc @ Value::Object(_)) => sluice_text::adf::adf_to_text(&doc).0,
                    _ => s.clone(),
                },
                other => scalar(other),
            },
            TextFormat::JiraWiki => |v| match v {
                Value::String(s) => sluice_text::adf::wiki_to_text(s),
                other => scalar(other),
            },
            TextFormat::Markdown => |v| match v {
                Value::String(s) => sluice_text::markdown::markdown_to_text(s),
                other => scalar(other),
            },
            TextFormat::Plain | TextFormat::Html => scalar,
        }
    }
}

/// How record fields become document fields. Only `id` is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// External id (unique within the source).
    pub id: Option<Exprs>,
    pub title: Option<Exprs>,
    /// Body text; several expressions are joined by blank lines
    /// (e.g. a description followed by every comment).
    pub text: Option<Exprs>,
    #[serde(default)]
    pub text_format: TextFormat,
    pub url: Option<Exprs>,
    pub author: Option<Exprs>,
    pub created_at: Option<Exprs>,
    pub updated_at: Option<Exprs>,
    /// Document kind as a value from the record (page, issue, …).
    pub kind: Option<Exprs>,
    pub parent_id: Option<Exprs>,
    pub thread_id: Option<Exprs>,
    pub breadcrumb: Option<Exprs>,
    pub labels: Option<Exprs>,
    /// Who may read the record: principals, kept exactly as written, e.g.
    /// `group:{restrictions.read.groups[*]}`. A caller needs any one.
    pub acl: Option<Exprs>,
    /// Who may read a record for which `acl` gives no principal: `public`
    /// (everyone — say so only when it is true) or a list of principals.
    /// Without it such a record is not indexed (dead letter), never public.
    #[serde(default)]
    pub acl_fallback: Option<AclFallback>,
    /// Extra metadata fields: name → expression.
    #[serde(default)]
    pub metadata: BTreeMap<String, Exprs>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AclFallback {
    /// `public`
    Word(AclWord),
    Principals(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AclWord {
    Public,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Path(Vec<Step>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    /// Negative counts from the end: `[-1]` is the last element.
    Index(i64),
    All,
}

fn parse_path(p: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    if p.trim().is_empty() {
        return Err("empty path".into());
    }
    for seg in p.split('.') {
        let (key, mut rest) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        } else if rest.is_empty() {
            return Err(format!("empty segment in path `{p}`"));
        }
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .ok_or_else(|| format!("unclosed `[` in path `{p}`"))?;
            let inner = &rest[1..close];
            if inner == "*" {
                steps.push(Step::All);
            } else {
                let i = inner.parse::<i64>().map_err(|_| {
                    format!(
                        "bad index `[{inner}]` in path `{p}`; use a number, -1 for the last, or `*`"
                    )
                })?;
                steps.push(Step::Index(i));
            }
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("unexpected `{rest}` in path `{p}`"));
            }
        }
    }
    Ok(steps)
}

fn parse_template(e: &str) -> Result<Vec<Part>, String> {
    if !e.contains('{') {
        return Ok(vec![Part::Path(parse_path(e)?)]);
    }
    let mut parts = Vec::new();
    let mut rest = e;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Lit(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in `{e}`"))?
            + open;
        parts.push(Part::Path(parse_path(&rest[open + 1..close])?));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    Ok(parts)
}

/// `a[i]`, counting from the end when `i` is negative.
fn element(a: &[Value], i: i64) -> Option<&Value> {
    let idx = if i < 0 { a.len() as i64 + i } else { i };
    usize::try_from(idx).ok().and_then(|i| a.get(i))
}

/// Follows `steps`. With `flatten_leaf`, a path ending on an array yields
/// its (non-null) elements and a null leaf yields nothing; without it the
/// leaf values come back as they are.
fn walk<'a>(v: &'a Value, steps: &[Step], flatten_leaf: bool, out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = steps.split_first() else {
        match v {
            Value::Array(items) if flatten_leaf => {
                out.extend(items.iter().filter(|i| !i.is_null()))
            }
            Value::Null if flatten_leaf => {}
            other => out.push(other),
        }
        return;
    };
    match (first, v) {
        (Step::Key(k), Value::Object(m)) => {
            if let Some(child) = m.get(k) {
                walk(child, rest, flatten_leaf, out);
            }
        }
        (Step::Index(i), Value::Array(a)) => {
            if let Some(child) = element(a, *i) {
                walk(child, rest, flatten_leaf, out);
            }
        }
        (Step::All, Value::Array(a)) => {
            for child in a {
                walk(child, rest, flatten_leaf, out);
            }
        }
        _ => {}
    }
}

pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(_) | Value::Number(_) => v.to_string(),
        other => other.to_string(),
    }
}

/// Evaluates one expression; an invalid expression yields nothing (they
/// are validated when the source is built).
pub fn eval(expr: &str, record: &Value) -> Vec<String> {
    eval_with(expr, record, scalar)
}

fn eval_with(expr: &str, record: &Value, render: fn(&Value) -> String) -> Vec<String> {
    let Ok(parts) = parse_template(expr) else {
        return Vec::new();
    };
    // `{a[*].x}: {a[*].y}` walks `a` once, pairing x and y of each element,
    // instead of forming every combination.
    if let Some(prefix_len) = shared_wildcard_prefix(&parts) {
        let Some(Part::Path(first)) = parts.iter().find(|p| matches!(p, Part::Path(_))) else {
            return Vec::new();
        };
        let mut elements = Vec::new();
        // The prefix ends in `[*]`: this yields the array's elements.
        walk(record, &first[..prefix_len], false, &mut elements);
        let inner: Vec<Part> = parts
            .iter()
            .map(|p| match p {
                Part::Path(steps) => Part::Path(steps[prefix_len..].to_vec()),
                lit => lit.clone(),
            })
            .collect();
        return elements
            .into_iter()
            .flat_map(|el| eval_parts(&inner, el, render))
            .collect();
    }
    eval_parts(&parts, record, render)
}

/// Length of the path prefix (through its first `[*]`) shared by every
/// placeholder, when a template has two or more placeholders.
fn shared_wildcard_prefix(parts: &[Part]) -> Option<usize> {
    let paths: Vec<&Vec<Step>> = parts
        .iter()
        .filter_map(|p| if let Part::Path(s) = p { Some(s) } else { None })
        .collect();
    if paths.len() < 2 {
        return None;
    }
    let first = paths[0];
    let star = first.iter().position(|s| *s == Step::All)?;
    let prefix = &first[..=star];
    paths
        .iter()
        .all(|p| p.len() > star + 1 && p[..=star] == *prefix)
        .then_some(star + 1)
}

fn eval_parts(parts: &[Part], record: &Value, render: fn(&Value) -> String) -> Vec<String> {
    let parts = parts.to_vec();
    let mut results = vec![String::new()];
    for part in parts {
        match part {
            Part::Lit(l) => results.iter_mut().for_each(|r| r.push_str(&l)),
            Part::Path(steps) => {
                let mut vals = Vec::new();
                walk(record, &steps, true, &mut vals);
                if vals.is_empty() {
                    return Vec::new();
                }
                let strs: Vec<String> = vals.iter().map(|v| render(v)).collect();
                results = results
                    .iter()
                    .flat_map(|r| strs.iter().map(move |s| format!("{r}{s}")))
                    .take(10_000)
                    .collect();
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec() -> Value {
        json!({
            "id": 42, "key": "OPS-1",
            "fields": {"summary": "Lag", "labels": ["a", "b"], "comment": {"comments": [{"body": "c1"}, {"body": "c2"}]}, "assignee": null},
            "restrictions": {"read": {"groups": ["sre", "hr"], "users": []}},
            "ancestors": [{"title": "Eng"}, {"title": "SRE"}]
        })
    }

    #[test]
    fn paths_and_wildcards() {
        let r = rec();
        assert_eq!(eval("id", &r), vec!["42"]);
        assert_eq!(eval("fields.summary", &r), vec!["Lag"]);
        assert_eq!(eval("fields.labels", &r), vec!["a", "b"]);
        assert_eq!(
            eval("fields.comment.comments[*].body", &r),
            vec!["c1", "c2"]
        );
        assert_eq!(eval("ancestors[1].title", &r), vec!["SRE"]);
        assert!(eval("fields.assignee.displayName", &r).is_empty());
        assert!(eval("missing", &r).is_empty());
    }

    #[test]
    fn templates_expand_over_lists() {
        let r = rec();
        assert_eq!(
            eval("https://x/browse/{key}", &r),
            vec!["https://x/browse/OPS-1"]
        );
        assert_eq!(
            eval("group:{restrictions.read.groups[*]}", &r),
            vec!["group:sre", "group:hr"]
        );
        // A template over an empty list yields nothing (not "user:").
        assert!(eval("user:{restrictions.read.users[*]}", &r).is_empty());
    }

    #[test]
    fn lockstep_templates_and_negative_index() {
        let r = json!({"messages": [{"user": "ann", "text": "hi", "ts": "1"}, {"user": "bob", "text": "yo", "ts": "2"}]});
        assert_eq!(
            eval("{messages[*].user}: {messages[*].text}", &r),
            vec!["ann: hi", "bob: yo"]
        );
        assert_eq!(eval("messages[-1].ts", &r), vec!["2"]);
        assert!(eval("messages[-3].ts", &r).is_empty());
        // Different arrays still combine.
        let r = json!({"a": ["x", "y"], "b": ["1"]});
        assert_eq!(eval("{a[*]}-{b[*]}", &r), vec!["x-1", "y-1"]);
    }

    #[test]
    fn exprs_concatenate_and_validate() {
        let r = rec();
        let e = Exprs::Many(vec![
            "fields.summary".into(),
            "fields.comment.comments[*].body".into(),
        ]);
        assert_eq!(e.eval_all(&r), vec!["Lag", "c1", "c2"]);
        assert_eq!(e.eval_first(&r).as_deref(), Some("Lag"));
        assert!(
            Exprs::One("a[x]".into())
                .validate()
                .unwrap_err()
                .contains("bad index")
        );
        assert!(
            Exprs::One("{a".into())
                .validate()
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(Exprs::One("a..b".into()).validate().is_err());
    }
}
