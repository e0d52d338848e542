//! Atlassian Document Format (Jira Cloud v3 bodies) and Jira wiki markup
//! (Server/DC v2 bodies) → structured plain text the chunker understands:
//! `#` headings, `- ` / `1. ` list items (indented when nested), tables as
//! `a | b` rows, fenced code. Unknown nodes keep their text; malformed
//! input is skipped, never a panic.

use serde_json::Value;

const MAX_DEPTH: usize = 64;

/// ADF → text, and a warning when the document nests past `MAX_DEPTH`
/// (the deeper nodes are left out).
pub fn adf_to_text(doc: &Value) -> (String, Option<String>) {
    let mut out = String::new();
    let mut cut = false;
    block(doc, &mut out, 0, 0, &mut cut);
    let warning = cut.then(|| format!("document nested deeper than {MAX_DEPTH} levels: the deeper content is not indexed"));
    (tidy(&out), warning)
}

fn tidy(s: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in s.lines() {
        let l = line.trim_end();
        if l.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        out.push_str(l);
        blank = 0;
    }
    out
}

fn children(v: &Value) -> &[Value] {
    v.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn attr<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get("attrs").and_then(|a| a.get(k)).and_then(Value::as_str)
}

fn inline(v: &Value, out: &mut String, depth: usize, cut: &mut bool) {
    if depth > MAX_DEPTH {
        *cut = true;
        return;
    }
    match v.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => out.push_str(v.get("text").and_then(Value::as_str).unwrap_or("")),
        "hardBreak" => out.push('\n'),
        "mention" => out.push_str(attr(v, "text").unwrap_or("@someone")),
        "emoji" => out.push_str(attr(v, "text").or(attr(v, "shortName")).unwrap_or("")),
        "inlineCard" | "blockCard" | "embedCard" => out.push_str(attr(v, "url").unwrap_or("")),
        "status" => out.push_str(attr(v, "text").unwrap_or("")),
        "date" => out.push_str(attr(v, "timestamp").unwrap_or("")),
        _ => {
            for c in children(v) {
                inline(c, out, depth + 1, cut);
            }
        }
    }
}

fn block(v: &Value, out: &mut String, depth: usize, indent: usize, cut: &mut bool) {
    if depth > MAX_DEPTH {
        *cut = true;
        return;
    }
    if !v.is_object() {
        return;
    }
    let pad = "  ".repeat(indent);
    match v.get("type").and_then(Value::as_str).unwrap_or("") {
        "doc" | "panel" | "blockquote" | "expand" | "nestedExpand" | "layoutSection" | "layoutColumn" | "bodiedExtension" => {
            if let Some(t) = attr(v, "title") {
                out.push_str(&format!("\n{t}\n"));
            }
            for c in children(v) {
                block(c, out, depth + 1, indent, cut);
            }
        }
        "heading" => {
            let level = v.get("attrs").and_then(|a| a.get("level")).and_then(Value::as_u64).unwrap_or(2).clamp(1, 6) as usize;
            let mut t = String::new();
            inline(v, &mut t, depth + 1, cut);
            out.push_str(&format!("\n\n{} {}\n\n", "#".repeat(level), t.trim()));
        }
        "paragraph" => {
            let mut t = String::new();
            inline(v, &mut t, depth + 1, cut);
            out.push_str(&format!("\n{pad}{}\n", t.trim()));
        }
        "bulletList" | "orderedList" => {
            let ordered = v["type"] == "orderedList";
            for (i, item) in children(v).iter().enumerate() {
                let marker = if ordered { format!("{}. ", i + 1) } else { "- ".to_string() };
                let mut first = true;
                for c in children(item) {
                    if matches!(c.get("type").and_then(Value::as_str), Some("bulletList" | "orderedList")) {
                        block(c, out, depth + 1, indent + 1, cut);
                    } else {
                        let mut t = String::new();
                        inline(c, &mut t, depth + 1, cut);
                        let lead = if first { marker.clone() } else { "  ".into() };
                        out.push_str(&format!("\n{pad}{lead}{}", t.trim()));
                        first = false;
                    }
                }
            }
            out.push('\n');
        }
        "codeBlock" => {
            let mut t = String::new();
            inline(v, &mut t, depth + 1, cut);
            out.push_str(&format!("\n```{}\n{}\n```\n", attr(v, "language").unwrap_or(""), t));
        }
        "rule" => out.push_str("\n---\n"),
        "table" => {
            out.push('\n');
            for row in children(v) {
                let cells: Vec<String> = children(row)
                    .iter()
                    .map(|cell| {
                        let mut t = String::new();
                        for c in children(cell) {
                            inline(c, &mut t, depth + 2, cut);
                            t.push(' ');
                        }
                        t.split_whitespace().collect::<Vec<_>>().join(" ")
                    })
                    .collect();
                out.push_str(&format!("\n{}", cells.join(" | ")));
            }
            out.push('\n');
        }
        "mediaSingle" | "mediaGroup" | "media" => {}
        _ => {
            let mut t = String::new();
            inline(v, &mut t, depth + 1, cut);
            if !t.trim().is_empty() {
                out.push_str(&format!("\n{pad}{}\n", t.trim()));
            }
        }
    }
}

/// Jira wiki markup (v2 descriptions and comments) → plain structured text.
pub fn wiki_to_text(s: &str) -> String {
    let mut out = Vec::new();
    for line in s.lines() {
        let l = line.trim_end();
        let t = l.trim_start();
        if t.starts_with("{code") || t.starts_with("{noformat") || t == "{quote}" || t.starts_with("{panel") {
            continue;
        }
        let t = t.replace("{info}", "").replace("{note}", "").replace("{warning}", "").replace("{tip}", "").replace("{code}", "").replace("{quote}", "");
        if let Some((h, rest)) = t.split_once(". ") {
            if h.len() == 2 && h.starts_with('h') && h[1..].parse::<usize>().is_ok_and(|n| (1..=6).contains(&n)) {
                out.push(String::new());
                out.push(format!("{} {rest}", "#".repeat(h[1..].parse().unwrap_or(2))));
                out.push(String::new());
                continue;
            }
        }
        if t.starts_with("||") || (t.starts_with('|') && t.ends_with('|')) {
            let cells: Vec<&str> = t.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
            out.push(cells.join(" | "));
            continue;
        }
        let stars = t.chars().take_while(|c| *c == '*' || *c == '#').count();
        if stars > 0 && t[stars..].starts_with(' ') {
            let numbered = t.starts_with('#');
            out.push(format!("{}{}{}", "  ".repeat(stars - 1), if numbered { "1. " } else { "- " }, t[stars + 1..].trim()));
            continue;
        }
        out.push(t.to_string());
    }
    tidy(&out.join("\n"))
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
        assert_eq!(adf_to_text(&json!({"type": "doc", "content": [42, null, {"type": "paragraph", "content": "oops"}]})), (String::new(), None));
        let mut deep = json!({"type": "text", "text": "bottom"});
        for _ in 0..500 {
            deep = json!({"type": "blockquote", "content": [deep]});
        }
        let (text, warning) = adf_to_text(&deep);
        assert!(!text.contains("bottom"), "past the depth limit");
        assert!(warning.is_some_and(|w| w.contains("64")), "said, not silent");
    }

    #[test]
    fn wiki_markup_to_text() {
        let t = wiki_to_text("h2. Steps\nDo it *now*.\n* one\n** nested\n# first\n{code:bash}\nls -la\n{code}\n||A||B||\n|1|2|\n{info}Careful{info}");
        assert_eq!(t, "## Steps\n\nDo it *now*.\n- one\n  - nested\n1. first\nls -la\nA | B\n1 | 2\nCareful");
    }
}
