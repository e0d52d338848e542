//! Atlassian Document Format (Jira Cloud v3 bodies) and Jira wiki markup
//! (Server/DC v2 bodies) → structured plain text the chunker understands:
//! `#` headings, `- ` / `1. ` list items (indented when nested), tables as
//! `a | b` rows, fenced code. Unknown nodes keep their text; malformed
//! input is skipped, never a panic.

use std::collections::HashMap;

use crate::writer::TextWriter;
use serde_json::Value;

const MAX_DEPTH: usize = 64;

/// ADF → text, and a warning when the document nests past `MAX_DEPTH`
/// (the deeper nodes are left out). The rendering is the one every
/// connector shares (connectors/README.md, "What a reader sees").
pub fn adf_to_text(doc: &Value) -> (String, Option<String>) {
    let mut a = Adf {
        out: TextWriter::default(),
        lists: Vec::new(),
        items: Vec::new(),
        cut: false,
    };
    a.node(doc, 0);
    let warning = a.cut.then(|| {
        format!("document nested deeper than {MAX_DEPTH} levels: the deeper content is not indexed")
    });
    (a.out.finish(), warning)
}

struct Adf {
    out: TextWriter,
    /// Open lists: whether each is ordered, and its next number.
    lists: Vec<(bool, u64)>,
    /// Where the text of each open item starts (its continuation lines).
    items: Vec<usize>,
    cut: bool,
}

fn children(v: &Value) -> &[Value] {
    v.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn attr<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get("attrs")
        .and_then(|a| a.get(k))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Epoch milliseconds (a string or a number) → the UTC date.
fn iso_date(v: &Value) -> Option<String> {
    let ms = match v.get("attrs").and_then(|a| a.get("timestamp"))? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d").to_string())
}

impl Adf {
    fn block_break(&mut self) {
        self.out.brk(if self.lists.is_empty() { 2 } else { 1 });
    }

    fn kids(&mut self, v: &Value, depth: usize) {
        for c in children(v) {
            self.node(c, depth + 1);
        }
    }

    fn node(&mut self, v: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            self.cut = true;
            return;
        }
        if !v.is_object() {
            return;
        }
        match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => self
                .out
                .text(v.get("text").and_then(Value::as_str).unwrap_or("")),
            "hardBreak" => self.out.brk(1),
            "mention" => {
                let t = attr(v, "text").map(|t| {
                    if t.starts_with('@') {
                        t.to_string()
                    } else {
                        format!("@{t}")
                    }
                });
                self.out.text(&t.unwrap_or_else(|| "@unknown user".into()));
            }
            "emoji" => {
                let t = attr(v, "text").map(String::from).or_else(|| {
                    attr(v, "shortName").map(|s| {
                        if s.starts_with(':') {
                            s.to_string()
                        } else {
                            format!(":{s}:")
                        }
                    })
                });
                if let Some(t) = t {
                    self.out.text(&t);
                }
            }
            "inlineCard" | "blockCard" | "embedCard" => {
                let block = v["type"] != "inlineCard";
                if block {
                    self.block_break();
                }
                let name = v
                    .get("attrs")
                    .and_then(|a| a.get("data"))
                    .and_then(|d| d.get("name"))
                    .and_then(Value::as_str);
                if let Some(t) = attr(v, "url").or(name) {
                    self.out.text(t);
                }
                if block {
                    self.block_break();
                }
            }
            "status" => {
                if let Some(t) = attr(v, "text") {
                    self.out.text(t);
                }
            }
            "date" => {
                if let Some(d) = iso_date(v) {
                    self.out.text(&d);
                }
            }
            "placeholder" | "extension" | "inlineExtension" | "rule" => {
                if v["type"] == "rule" {
                    self.block_break();
                }
            }
            "heading" => {
                self.block_break();
                let level = v
                    .get("attrs")
                    .and_then(|a| a.get("level"))
                    .and_then(Value::as_u64)
                    .unwrap_or(2)
                    .clamp(1, 6) as usize;
                self.out.heading(level);
                self.kids(v, depth);
                self.out.label("");
                self.block_break();
            }
            "bulletList" | "orderedList" | "taskList" | "decisionList" => {
                self.block_break();
                let ordered = v["type"] == "orderedList";
                let start = v
                    .get("attrs")
                    .and_then(|a| a.get("order"))
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                self.lists.push((ordered, start));
                for item in children(v) {
                    if item
                        .get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.ends_with("List"))
                    {
                        // A task list nested in a task list sits beside its items.
                        self.node(item, depth + 1);
                        continue;
                    }
                    let marker = match item.get("type").and_then(Value::as_str).unwrap_or("") {
                        "taskItem" => {
                            if attr(item, "state") == Some("DONE") {
                                "[x] ".to_string()
                            } else {
                                "[ ] ".to_string()
                            }
                        }
                        "decisionItem" => "Decision: ".to_string(),
                        _ => match self.lists.last_mut() {
                            Some((true, n)) => {
                                *n += 1;
                                format!("{}. ", *n - 1)
                            }
                            _ => "- ".to_string(),
                        },
                    };
                    let indent = 2 * (self.lists.len() - 1);
                    self.out.brk(1);
                    self.items.push(indent + marker.chars().count());
                    self.out.item(indent, marker);
                    self.kids(item, depth + 1);
                    self.items.pop();
                    self.out.end_item(self.items.last().copied().unwrap_or(0));
                    self.out.brk(1);
                }
                self.lists.pop();
                self.block_break();
            }
            "codeBlock" => {
                self.block_break();
                let mut code = String::new();
                for c in children(v) {
                    code.push_str(c.get("text").and_then(Value::as_str).unwrap_or(""));
                }
                self.out
                    .verbatim(&code, Some(attr(v, "language").unwrap_or("")));
                self.block_break();
            }
            "panel" => {
                self.block_break();
                let label = match attr(v, "panelType").unwrap_or("info") {
                    "info" => "Info: ",
                    "note" => "Note: ",
                    "warning" => "Warning: ",
                    "success" => "Success: ",
                    "error" => "Error: ",
                    "tip" => "Tip: ",
                    _ => "",
                };
                self.out.label(label);
                self.kids(v, depth);
                self.out.label("");
                self.block_break();
            }
            "expand" | "nestedExpand" => {
                self.block_break();
                if let Some(t) = attr(v, "title") {
                    self.out.title(t);
                }
                self.kids(v, depth);
                self.block_break();
            }
            "table" => {
                self.block_break();
                for row in children(v) {
                    self.out.brk(1);
                    for (i, cell) in children(row).iter().enumerate() {
                        self.out.cell(i > 0);
                        self.kids(cell, depth + 2);
                        self.out.end_cell();
                    }
                    self.out.brk(1);
                }
                self.block_break();
            }
            "media" | "mediaInline" => {
                if let Some(alt) = attr(v, "alt") {
                    self.out.text(alt);
                    if v["type"] == "media" {
                        self.out.brk(1);
                    }
                }
            }
            "mediaSingle" | "mediaGroup" => {
                self.block_break();
                self.kids(v, depth);
                self.block_break();
            }
            "caption" => {
                self.out.brk(1);
                self.kids(v, depth);
            }
            "paragraph"
            | "blockquote"
            | "layoutSection"
            | "layoutColumn"
            | "bodiedExtension"
            | "multiBodiedExtension"
            | "extensionFrame"
            | "doc" => {
                self.block_break();
                self.kids(v, depth);
                self.block_break();
            }
            _ => {
                // Unknown nodes keep their text.
                let block = children(v).iter().any(|c| {
                    c.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t == "paragraph" || t.ends_with("List"))
                });
                if block {
                    self.block_break();
                }
                if let Some(t) = v.get("text").and_then(Value::as_str) {
                    self.out.text(t);
                }
                self.kids(v, depth);
                if block {
                    self.block_break();
                }
            }
        }
    }
}

/// Jira wiki markup (v2 descriptions and comments) → structured text.
pub fn wiki_to_text(s: &str) -> String {
    wiki_to_text_with(s, &HashMap::new())
}

/// Wiki markup → text, `[~user]` mentions named from `users` (user name or
/// account id → display name).
pub fn wiki_to_text_with(s: &str, users: &HashMap<String, String>) -> String {
    let mut w = Wiki {
        users,
        out: Vec::new(),
        prev: Prev::None,
        counters: Vec::new(),
        open: Vec::new(),
        label: String::new(),
    };
    let mut code: Option<(String, &'static str, Vec<String>)> = None;
    for raw in s.lines() {
        if let Some((lang, end, mut body)) = code.take() {
            match raw.find(end) {
                Some(at) => {
                    body.push(raw[..at].to_string());
                    w.code(&lang, &body);
                    let rest = &raw[at + end.len()..];
                    if !rest.trim().is_empty() {
                        w.line(rest);
                    }
                }
                None => {
                    body.push(raw.to_string());
                    code = Some((lang, end, body));
                }
            }
            continue;
        }
        let t = raw.trim();
        if let Some((lang, end, rest)) = code_open(t) {
            w.blank();
            match rest.find(end) {
                Some(at) => {
                    w.code(&lang, &[rest[..at].to_string()]);
                    let after = &rest[at + end.len()..];
                    if !after.trim().is_empty() {
                        w.line(after);
                    }
                }
                None => {
                    code = Some((
                        lang,
                        end,
                        if rest.trim().is_empty() {
                            Vec::new()
                        } else {
                            vec![rest.to_string()]
                        },
                    ))
                }
            }
            continue;
        }
        w.line(raw);
    }
    if let Some((lang, _, body)) = code {
        // An unclosed code block keeps its text.
        w.code(&lang, &body);
    }
    let mut out = w.out;
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n").trim_start_matches('\n').to_string()
}

/// `{code…}` / `{noformat…}` at the start of a line: its language, its
/// closing tag and the text after the opening tag.
fn code_open(t: &str) -> Option<(String, &'static str, &str)> {
    let (end, rest) = if let Some(r) = t.strip_prefix("{code") {
        ("{code}", r)
    } else if let Some(r) = t.strip_prefix("{noformat") {
        ("{noformat}", r)
    } else {
        return None;
    };
    let close = rest.find('}')?;
    let params = rest[..close].trim_start_matches(':');
    let lang = if end == "{code}" {
        params.split('|').find_map(|p| match p.split_once('=') {
            Some(("language", l)) => Some(l.trim().to_string()),
            Some(_) => None,
            None => Some(p.trim().to_string()),
        })
    } else {
        None
    };
    Some((lang.unwrap_or_default(), end, &rest[close + 1..]))
}

#[derive(PartialEq, Clone, Copy)]
enum Prev {
    None,
    Para,
    List,
    Table,
}

struct Wiki<'u> {
    users: &'u HashMap<String, String>,
    out: Vec<String>,
    prev: Prev,
    /// Item numbers of the open ordered list levels.
    counters: Vec<u64>,
    /// Open block macros (`panel`, `info`, `quote`…).
    open: Vec<String>,
    /// A panel label for the next text line.
    label: String,
}

const BLOCK_MACROS: [&str; 6] = ["panel", "info", "note", "warning", "tip", "quote"];

impl Wiki<'_> {
    fn blank(&mut self) {
        if self.out.last().is_some_and(|l| !l.is_empty()) {
            self.out.push(String::new());
        }
        self.prev = Prev::None;
    }

    fn push(&mut self, text: &str) {
        for l in text.split('\n') {
            let l = l.trim_end();
            if !l.is_empty() {
                self.out.push(l.to_string());
            }
        }
    }

    fn code(&mut self, lang: &str, body: &[String]) {
        self.blank();
        let text = body.join("\n");
        let text = crate::writer::trim_blank_lines(&text);
        self.out.push(format!("```{lang}"));
        self.out
            .extend(text.lines().map(|l| l.trim_end().to_string()));
        self.out.push("```".into());
        self.blank();
    }

    fn line(&mut self, raw: &str) {
        // Block macros may open and close anywhere on a line.
        let mut rest = raw;
        while let Some((before, name, params, after)) = next_block_macro(rest) {
            if !before.trim().is_empty() {
                self.text_line(before);
            }
            if self.open.last().is_some_and(|o| o == name) && params.is_none() {
                self.open.pop();
                self.label.clear();
                self.blank();
            } else {
                self.blank();
                self.open.push(name.to_string());
                let label = match name {
                    "info" => "Info: ",
                    "note" => "Note: ",
                    "warning" => "Warning: ",
                    "tip" => "Tip: ",
                    _ => "",
                };
                let title = params
                    .and_then(|p| p.split('|').find_map(|kv| kv.strip_prefix("title=")))
                    .map(str::trim)
                    .filter(|t| !t.is_empty());
                match title {
                    Some(t) => {
                        let line = format!("{label}{}", self.inline(t));
                        self.out.push(line);
                        // The body follows on the next line.
                        self.prev = Prev::Para;
                    }
                    None => self.label = label.to_string(),
                }
            }
            rest = after;
        }
        if !rest.trim().is_empty() || raw.trim().is_empty() {
            self.text_line(rest);
        }
    }

    fn text_line(&mut self, raw: &str) {
        let t = raw.trim();
        if t.is_empty() {
            self.blank();
            return;
        }
        if t.chars().all(|c| c == '-') && t.len() >= 4 {
            self.blank();
            return;
        }
        if let Some((h, rest)) = t.split_once(". ") {
            if h.len() == 2
                && h.starts_with('h')
                && h[1..].parse::<usize>().is_ok_and(|n| (1..=6).contains(&n))
            {
                self.blank();
                let line = format!(
                    "{} {}",
                    "#".repeat(h[1..].parse().unwrap_or(2)),
                    self.inline(rest)
                );
                self.out.push(line);
                self.blank();
                return;
            }
            if h == "bq" {
                self.blank();
                let line = self.inline(rest);
                self.push(&line);
                self.blank();
                return;
            }
        }
        let markers: String = t.chars().take_while(|c| matches!(c, '*' | '#')).collect();
        let dash = t.starts_with("- ");
        if (!markers.is_empty() && t[markers.len()..].starts_with(' ')) || dash {
            let depth = if dash { 1 } else { markers.len() };
            if self.prev != Prev::List {
                self.blank();
                self.counters.clear();
            }
            self.counters.resize(depth, 0);
            self.counters.truncate(depth);
            let ordered = markers.ends_with('#');
            let marker = if ordered {
                self.counters[depth - 1] += 1;
                format!("{}. ", self.counters[depth - 1])
            } else {
                "- ".to_string()
            };
            let body = if dash {
                &t[2..]
            } else {
                &t[markers.len() + 1..]
            };
            let line = format!("{}{marker}{}", "  ".repeat(depth - 1), self.inline(body));
            self.push(&line);
            self.prev = Prev::List;
            return;
        }
        if t.starts_with('|') {
            if self.prev != Prev::Table {
                self.blank();
            }
            let cells: Vec<String> = split_cells(t).into_iter().map(|c| self.inline(c)).collect();
            self.out.push(cells.join(" | "));
            self.prev = Prev::Table;
            return;
        }
        if matches!(self.prev, Prev::List | Prev::Table) {
            self.blank();
        }
        let label = std::mem::take(&mut self.label);
        let line = format!("{label}{}", self.inline(t));
        self.push(&line);
        self.prev = Prev::Para;
    }

    /// Inline markup → text: links, mentions, images, marks, escapes.
    fn inline(&self, s: &str) -> String {
        let mut chars: Vec<char> = Vec::new();
        let mut tokens: Vec<String> = Vec::new();
        let token = |chars: &mut Vec<char>, tokens: &mut Vec<String>, t: String| {
            chars.push(TOKEN);
            tokens.push(t);
        };
        let src: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < src.len() {
            let c = src[i];
            let next = src.get(i + 1).copied();
            if c == '\\' && next == Some('\\') {
                token(&mut chars, &mut tokens, "\n".into());
                i += 2;
                continue;
            }
            if c == '\\' && i + 1 < src.len() {
                token(&mut chars, &mut tokens, src[i + 1].to_string());
                i += 2;
                continue;
            }
            if c == '{' && next == Some('{') {
                if let Some(end) = find(&src, i + 2, "}}") {
                    token(&mut chars, &mut tokens, src[i + 2..end].iter().collect());
                    i = end + 2;
                    continue;
                }
            }
            if c == '{' {
                // Inline macros (`{color:red}`, `{anchor:x}`) are not text.
                if let Some(end) = find(&src, i, "}") {
                    let name: String = src[i + 1..end]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    if !name.is_empty()
                        && src[i + 1..end].iter().all(|c| *c != ' ' || name.is_empty())
                    {
                        i = end + 1;
                        continue;
                    }
                }
            }
            if c == '[' {
                if let Some(end) = find(&src, i, "]") {
                    let inner: String = src[i + 1..end].iter().collect();
                    if !inner.trim().is_empty() {
                        match self.link(&inner) {
                            Link::Text(t) => chars.extend(t.chars()),
                            Link::Literal(t) => token(&mut chars, &mut tokens, t),
                        }
                        i = end + 1;
                        continue;
                    }
                }
            }
            if c == '!'
                && (i == 0 || !src[i - 1].is_alphanumeric())
                && src.get(i + 1).is_some_and(|n| !n.is_whitespace())
            {
                if let Some(end) = find(&src, i + 1, "!") {
                    let inner: String = src[i + 1..end].iter().collect();
                    let name = inner.split('|').next().unwrap_or("");
                    if !name.contains(char::is_whitespace)
                        && (name.contains('.') || name.starts_with("http"))
                    {
                        token(
                            &mut chars,
                            &mut tokens,
                            name.rsplit('/').next().unwrap_or(name).to_string(),
                        );
                        i = end + 1;
                        continue;
                    }
                }
            }
            if c == '?' && next == Some('?') {
                if let Some(end) = find(&src, i + 2, "??") {
                    chars.extend(src[i + 2..end].iter());
                    i = end + 2;
                    continue;
                }
            }
            chars.push(c);
            i += 1;
        }
        let kept = crate::marks::strip_marks(&chars, &['*', '_', '-', '+', '^', '~']);
        let mut out = String::new();
        let mut tokens = tokens.into_iter();
        let mut space = false;
        for c in kept {
            if c == TOKEN {
                let t = tokens.next().unwrap_or_default();
                if t == "\n" {
                    while out.ends_with(' ') {
                        out.pop();
                    }
                    out.push('\n');
                    space = false;
                    continue;
                }
                if space && !out.is_empty() && !out.ends_with('\n') {
                    out.push(' ');
                }
                space = false;
                out.push_str(&t);
            } else if c.is_whitespace() {
                space = true;
            } else {
                if space && !out.is_empty() && !out.ends_with('\n') {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
        out
    }

    fn link(&self, inner: &str) -> Link {
        if let Some(user) = inner.strip_prefix('~') {
            let (id, unknown) = match user.strip_prefix("accountid:") {
                Some(a) => (a, "@unknown user".to_string()),
                None => (user, format!("@{user}")),
            };
            return Link::Literal(
                self.users
                    .get(id.trim())
                    .map(|n| format!("@{n}"))
                    .unwrap_or(unknown),
            );
        }
        match inner.split_once('|') {
            Some((text, _)) if !text.trim().is_empty() => Link::Text(text.trim().to_string()),
            Some((_, target)) => Link::Literal(target.trim().to_string()),
            None => Link::Literal(inner.trim().trim_start_matches(['^', '#']).to_string()),
        }
    }
}

enum Link {
    /// Visible text: its marks are read.
    Text(String),
    /// A URL, file or name: shown as written.
    Literal(String),
}

const TOKEN: char = '\u{E000}';

/// How far a closing `}`, `]`, `!`, `}}` or `??` is looked for: a link,
/// image or macro longer than this is text. The bound keeps a hostile line
/// of openers (100,000 `[`) linear.
const SCAN: usize = 2_000;

/// The first `pat` at or after `from`, within [`SCAN`] characters.
fn find(src: &[char], from: usize, pat: &str) -> Option<usize> {
    let p: Vec<char> = pat.chars().collect();
    let end = src
        .len()
        .min(from.saturating_add(SCAN))
        .saturating_sub(p.len() - 1);
    (from..end).find(|&j| src[j..j + p.len()] == p[..])
}

/// The next `{panel…}`, `{info}`… tag on a line: text before it, its name,
/// its parameters (`None` for a bare tag) and the text after it.
fn next_block_macro(s: &str) -> Option<(&str, &'static str, Option<&str>, &str)> {
    let mut from = 0;
    while let Some(at) = s[from..].find('{').map(|p| p + from) {
        let rest = &s[at + 1..];
        for name in BLOCK_MACROS {
            if let Some(after) = rest.strip_prefix(name) {
                if let Some(r) = after.strip_prefix('}') {
                    return Some((&s[..at], name, None, r));
                }
                if let Some(p) = after.strip_prefix(':') {
                    if let Some(close) = p.find('}') {
                        return Some((&s[..at], name, Some(&p[..close]), &p[close + 1..]));
                    }
                }
            }
        }
        from = at + 1;
    }
    None
}

/// A table row's cells; pipes inside `[…]` and `{…}` are not separators.
fn split_cells(t: &str) -> Vec<&str> {
    let mut cells = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in t.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = (depth - 1).max(0),
            '|' if depth == 0 => {
                cells.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    cells.push(&t[start..]);
    cells
        .into_iter()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adf_structure_survives() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Rollback"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Ask "}, {"type": "mention", "attrs": {"id": "x", "text": "@Dana"}},
                {"type": "text", "text": " now "}, {"type": "emoji", "attrs": {"shortName": ":warning:", "text": "⚠️"}}]},
            {"type": "bulletList", "content": [{"type": "listItem", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "outer"}]},
                {"type": "orderedList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "inner"}]}]}]}]}]},
            {"type": "codeBlock", "attrs": {"language": "bash"}, "content": [{"type": "text", "text": "deploy rollback\n--now"}]},
            {"type": "table", "content": [
                {"type": "tableRow", "content": [{"type": "tableHeader", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Env"}]}]}, {"type": "tableHeader", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Impact"}]}]}]},
                {"type": "tableRow", "content": [{"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "prod"}]}]}, {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "high"}]}]}]}]},
            {"type": "paragraph", "content": [{"type": "inlineCard", "attrs": {"url": "https://status.example.com/1"}}]}
        ]});
        let (t, warning) = adf_to_text(&doc);
        assert_eq!(warning, None);
        assert_eq!(
            t,
            "## Rollback\n\nAsk @Dana now ⚠️\n\n- outer\n  1. inner\n\n```bash\ndeploy rollback\n--now\n```\n\nEnv | Impact\nprod | high\n\nhttps://status.example.com/1"
        );
    }

    #[test]
    fn malformed_adf_is_skipped_not_a_panic() {
        assert_eq!(adf_to_text(&json!("plain string")), (String::new(), None));
        assert_eq!(
            adf_to_text(
                &json!({"type": "doc", "content": [42, null, {"type": "paragraph", "content": "oops"}]})
            ),
            (String::new(), None)
        );
        let mut deep = json!({"type": "text", "text": "bottom"});
        for _ in 0..500 {
            deep = json!({"type": "blockquote", "content": [deep]});
        }
        let (text, warning) = adf_to_text(&deep);
        assert!(!text.contains("bottom"), "past the depth limit");
        assert!(
            warning.is_some_and(|w| w.contains("64")),
            "said, not silent"
        );
    }

    #[test]
    fn a_line_of_unclosed_wiki_openers_is_linear() {
        for opener in ["[", "{", "!x", "{{", "??", "*a "] {
            let line = opener.repeat(50_000);
            let started = std::time::Instant::now();
            let _ = wiki_to_text(&line);
            // Quadratic work on 50,000 openers takes minutes; linear work well under a second (release).
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "{opener}: {:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    fn wiki_markup_to_text() {
        let t = wiki_to_text(
            "h2. Steps\nDo it *now*.\n* one\n** nested\n# first\n{code:bash}\nls -la\n{code}\n||A||B||\n|1|2|\n{info}Careful{info}",
        );
        assert_eq!(
            t,
            "## Steps\n\nDo it now.\n\n- one\n  - nested\n1. first\n\n```bash\nls -la\n```\n\nA | B\n1 | 2\n\nInfo: Careful"
        );
    }
}
