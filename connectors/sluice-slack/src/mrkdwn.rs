//! Slack's markup → the text a reader sees: `mrkdwn` message text (links,
//! mentions, formatting marks, code blocks, quotes, entities), Block Kit
//! blocks and legacy attachments. Written by hand: no maintained crate
//! parses Slack's dialect (it is neither Markdown nor CommonMark), and the
//! rules are short. Everything is a linear scan; nothing recurses over
//! untrusted input deeper than Block Kit's fixed levels.

use std::collections::HashMap;

use serde_json::Value;

/// Names for the ids messages carry.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    /// User id → display name.
    pub users: HashMap<String, String>,
    /// Channel id → name (without `#`).
    pub channels: HashMap<String, String>,
    /// User group id → handle (without `@`).
    pub usergroups: HashMap<String, String>,
    /// Bot id → the bot's name (`bots.info`).
    pub bots: HashMap<String, String>,
}

impl Directory {
    pub fn user(&self, id: &str) -> String {
        self.users
            .get(id)
            .map(|n| format!("@{n}"))
            .unwrap_or_else(|| "@unknown user".into())
    }

    fn channel(&self, id: &str, label: &str) -> String {
        match self
            .channels
            .get(id)
            .map(String::as_str)
            .or(Some(label).filter(|l| !l.is_empty()))
        {
            Some(n) => format!("#{n}"),
            None => "#unknown channel".into(),
        }
    }

    fn usergroup(&self, id: &str, label: &str) -> String {
        match Some(label.trim_start_matches('@'))
            .filter(|l| !l.is_empty())
            .or(self.usergroups.get(id).map(String::as_str))
        {
            Some(n) => format!("@{n}"),
            None => "@unknown group".into(),
        }
    }

    /// `mrkdwn` → text: one line per line of the message, code blocks
    /// fenced, quotes unmarked, formatting marks dropped.
    pub fn mrkdwn(&self, text: &str) -> String {
        let mut lines: Vec<String> = Vec::new();
        let mut rest = text;
        // Code blocks first: nothing inside them is formatting.
        while let Some(open) = rest.find("```") {
            let Some(len) = rest[open + 3..].find("```") else {
                break;
            };
            let (before, code) = (&rest[..open], &rest[open + 3..open + 3 + len]);
            self.prose(before, &mut lines);
            lines.push("```".into());
            let code = code.strip_prefix('\n').unwrap_or(code);
            let code = code.strip_suffix('\n').unwrap_or(code);
            lines.extend(
                self.links(code, false)
                    .lines()
                    .map(|l| l.trim_end().to_string()),
            );
            lines.push("```".into());
            rest = &rest[open + 3 + len + 3..];
        }
        self.prose(rest, &mut lines);
        lines.join("\n")
    }

    fn prose(&self, text: &str, lines: &mut Vec<String>) {
        if text.trim().is_empty() {
            return;
        }
        let text = text.strip_prefix('\n').unwrap_or(text);
        let text = text.strip_suffix('\n').unwrap_or(text);
        for line in text.split('\n') {
            let line = line
                .strip_prefix("&gt; ")
                .or(line.strip_prefix("&gt;"))
                .or(line.strip_prefix("> "))
                .unwrap_or(line);
            let rendered = self.links(line, true);
            let l = rendered.trim_end();
            if !l.trim().is_empty() {
                lines.push(l.to_string());
            }
        }
    }

    /// Renders `<…>` tokens and entities; with `marks`, drops formatting
    /// marks outside the tokens (a URL's `_` is not emphasis).
    fn links(&self, text: &str, marks: bool) -> String {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('<') {
            let Some(end) = rest[start..].find('>') else {
                break;
            };
            pieces.push(Piece::Text(decode(&rest[..start])));
            pieces.push(Piece::Token(self.token(&rest[start + 1..start + end])));
            rest = &rest[start + end + 1..];
        }
        pieces.push(Piece::Text(decode(rest)));
        if !marks {
            return pieces.into_iter().map(Piece::into_string).collect();
        }
        // Tokens stand in as one private-use character each, so a mark
        // around a link (`*<url|x>*`) still pairs.
        let mut chars: Vec<char> = Vec::new();
        let mut tokens = Vec::new();
        for p in pieces {
            match p {
                Piece::Text(t) => chars.extend(t.chars()),
                Piece::Token(t) => {
                    chars.push(TOKEN);
                    tokens.push(t);
                }
            }
        }
        let kept = sluice_text::marks::strip_marks(&chars, &['*', '_', '~', '`']);
        let mut out = String::with_capacity(kept.len());
        let mut tokens = tokens.into_iter();
        for c in kept {
            if c == TOKEN {
                out.push_str(&tokens.next().unwrap_or_default());
            } else {
                out.push(c);
            }
        }
        out
    }

    fn token(&self, inner: &str) -> String {
        let (target, label) = inner.split_once('|').unwrap_or((inner, ""));
        let label = decode(label);
        if let Some(u) = target.strip_prefix('@') {
            self.user(u)
        } else if let Some(c) = target.strip_prefix('#') {
            self.channel(c, &label)
        } else if let Some(special) = target.strip_prefix('!') {
            if let Some(group) = special.strip_prefix("subteam^") {
                self.usergroup(group, &label)
            } else if special.starts_with("date^") {
                if label.is_empty() {
                    special.split('^').nth(1).unwrap_or("").to_string()
                } else {
                    label
                }
            } else {
                format!("@{}", special.split('^').next().unwrap_or(special))
            }
        } else {
            let target = decode(target);
            let shown = target.strip_prefix("mailto:").unwrap_or(&target);
            if label.is_empty() || label == shown || label == target {
                shown.to_string()
            } else {
                format!("{label} ({shown})")
            }
        }
    }

    /// Block Kit blocks → lines; `None` when they carry no text (the
    /// message's `text` is then what a reader sees).
    pub fn blocks(&self, blocks: &Value) -> Option<String> {
        let mut lines: Vec<String> = Vec::new();
        for b in blocks.as_array().into_iter().flatten() {
            match b["type"].as_str().unwrap_or("") {
                "rich_text" => {
                    for e in b["elements"].as_array().into_iter().flatten() {
                        self.rich_block(e, &mut lines);
                    }
                }
                "section" => {
                    if let Some(t) = self.text_object(&b["text"]) {
                        lines.extend(t.lines().map(String::from));
                    }
                    for f in b["fields"].as_array().into_iter().flatten() {
                        if let Some(t) = self.text_object(f) {
                            lines.extend(t.lines().map(String::from));
                        }
                    }
                }
                "header" => lines.extend(self.text_object(&b["text"])),
                "context" => {
                    let parts: Vec<String> = b["elements"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| {
                            if e["type"] == "image" {
                                e["alt_text"].as_str().map(String::from)
                            } else {
                                self.text_object(e)
                            }
                        })
                        .filter(|t| !t.is_empty())
                        .collect();
                    if !parts.is_empty() {
                        lines.push(parts.join(" "));
                    }
                }
                "image" => lines.extend(
                    b["alt_text"]
                        .as_str()
                        .or(b["title"]["text"].as_str())
                        .filter(|t| !t.trim().is_empty())
                        .map(String::from),
                ),
                _ => {}
            }
        }
        lines.retain(|l| !l.trim().is_empty());
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    fn text_object(&self, t: &Value) -> Option<String> {
        let text = t["text"].as_str()?;
        let out = if t["type"] == "mrkdwn" {
            self.mrkdwn(text)
        } else {
            text.to_string()
        };
        (!out.trim().is_empty()).then_some(out)
    }

    fn rich_block(&self, e: &Value, lines: &mut Vec<String>) {
        match e["type"].as_str().unwrap_or("") {
            "rich_text_list" => {
                let indent = "  ".repeat(e["indent"].as_u64().unwrap_or(0).min(8) as usize);
                let ordered = e["style"] == "ordered";
                let offset = e["offset"].as_u64().unwrap_or(0);
                for (i, item) in e["elements"].as_array().into_iter().flatten().enumerate() {
                    let marker = if ordered {
                        format!("{}. ", offset + i as u64 + 1)
                    } else {
                        "- ".into()
                    };
                    let text = self.rich_inline(item);
                    let mut first = true;
                    for l in text.lines() {
                        lines.push(if first {
                            format!("{indent}{marker}{l}")
                        } else {
                            format!("{indent}  {l}")
                        });
                        first = false;
                    }
                }
            }
            "rich_text_preformatted" => {
                lines.push("```".into());
                let text = self.rich_inline(e);
                lines.extend(
                    text.trim_matches('\n')
                        .lines()
                        .map(|l| l.trim_end().to_string()),
                );
                lines.push("```".into());
            }
            _ => {
                let text = self.rich_inline(e);
                lines.extend(
                    text.lines()
                        .map(|l| l.trim_end().to_string())
                        .filter(|l| !l.trim().is_empty()),
                );
            }
        }
    }

    fn rich_inline(&self, section: &Value) -> String {
        let mut out = String::new();
        for el in section["elements"].as_array().into_iter().flatten() {
            match el["type"].as_str().unwrap_or("") {
                "text" => out.push_str(el["text"].as_str().unwrap_or("")),
                "link" => {
                    let url = el["url"].as_str().unwrap_or("");
                    match el["text"].as_str().filter(|t| !t.is_empty() && *t != url) {
                        Some(t) => out.push_str(&format!("{t} ({url})")),
                        None => out.push_str(url),
                    }
                }
                "user" => out.push_str(&self.user(el["user_id"].as_str().unwrap_or(""))),
                "channel" => {
                    out.push_str(&self.channel(el["channel_id"].as_str().unwrap_or(""), ""))
                }
                "usergroup" => {
                    out.push_str(&self.usergroup(el["usergroup_id"].as_str().unwrap_or(""), ""))
                }
                "broadcast" => {
                    out.push_str(&format!("@{}", el["range"].as_str().unwrap_or("here")))
                }
                "emoji" => out.push_str(&format!(":{}:", el["name"].as_str().unwrap_or(""))),
                "date" => out.push_str(el["fallback"].as_str().unwrap_or("")),
                _ => {
                    if let Some(t) = el["text"].as_str() {
                        out.push_str(t);
                    }
                }
            }
        }
        out
    }

    /// Legacy attachments → lines: pretext, title, text, `Field: value`;
    /// the fallback when none of them is there.
    pub fn attachments(&self, attachments: &[Value]) -> Vec<String> {
        let mut lines = Vec::new();
        for a in attachments {
            let mut own = Vec::new();
            for key in ["pretext", "title", "text"] {
                if let Some(t) = a[key].as_str().filter(|t| !t.trim().is_empty()) {
                    own.extend(self.mrkdwn(t).lines().map(String::from));
                }
            }
            for f in a["fields"].as_array().into_iter().flatten() {
                let (title, value) = (
                    f["title"].as_str().unwrap_or(""),
                    self.mrkdwn(f["value"].as_str().unwrap_or("")),
                );
                match (title.is_empty(), value.is_empty()) {
                    (false, false) => own.push(format!("{title}: {value}")),
                    (false, true) => own.push(title.to_string()),
                    (true, false) => own.push(value),
                    (true, true) => {}
                }
            }
            if own.is_empty() {
                own.extend(
                    a["fallback"]
                        .as_str()
                        .filter(|t| !t.trim().is_empty())
                        .map(|t| self.mrkdwn(t)),
                );
            }
            lines.extend(own);
        }
        lines
    }
}

const TOKEN: char = '\u{E000}';

enum Piece {
    Text(String),
    Token(String),
}

impl Piece {
    fn into_string(self) -> String {
        match self {
            Piece::Text(s) | Piece::Token(s) => s,
        }
    }
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    fn strip(s: &str) -> String {
        sluice_text::marks::strip_marks(&s.chars().collect::<Vec<_>>(), &['*', '_', '~', '`'])
            .into_iter()
            .collect()
    }

    #[test]
    fn marks_at_word_boundaries_only() {
        assert_eq!(strip("*bold* _it_ ~gone~ `code`"), "bold it gone code");
        assert_eq!(
            strip("snake_case_name 2*3*4 a_b and c_d file_v2_final.txt"),
            "snake_case_name 2*3*4 a_b and c_d file_v2_final.txt"
        );
        assert_eq!(strip("(*not* blocking), _x_."), "(not blocking), x.");
        assert_eq!(strip("a * b * c"), "a * b * c");
        assert_eq!(strip("`a_b_` and *c*"), "a_b_ and c");
        assert_eq!(strip("*unclosed and _x"), "*unclosed and _x");
    }

    #[test]
    fn a_line_of_opening_marks_is_linear() {
        let hostile = "*a ".repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(strip(&hostile).len(), hostile.len());
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}
