//! GitLab-flavoured Markdown (issue and merge-request descriptions, notes,
//! wiki pages) → the shared structured text, through `pulldown-cmark`:
//! emphasis, link and image syntax go, their text stays; task items become
//! `[x]` / `[ ]`; code (suggestion blocks included) stays fenced; mentions
//! (`@alice`) and references (`#123`, `!45`, `group/project#7`) are text
//! already and pass through as written. Raw HTML tags are dropped (their
//! text is kept).

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::writer::TextWriter;

/// Nesting past this is flattened (`pulldown-cmark` itself is iterative).
const MAX_LISTS: usize = 32;

pub fn markdown_to_text(md: &str) -> String {
    let mut out = TextWriter::default();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut items: Vec<usize> = Vec::new();
    let mut cells = 0usize;
    let mut code: Option<(String, String)> = None;
    let block = |out: &mut TextWriter, lists: &Vec<Option<u64>>| {
        out.brk(if lists.is_empty() { 2 } else { 1 })
    };
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES;
    for event in Parser::new_ext(md, opts) {
        if let Some((_, text)) = &mut code {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (lang, text) = code.take().unwrap_or_default();
                    out.verbatim(&text, Some(&lang));
                    block(&mut out, &lists);
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph
                | Tag::BlockQuote(_)
                | Tag::HtmlBlock
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionList => block(&mut out, &lists),
                Tag::Heading { level, .. } => {
                    block(&mut out, &lists);
                    out.heading(level as usize);
                }
                Tag::CodeBlock(kind) => {
                    block(&mut out, &lists);
                    let lang = match kind {
                        // `suggestion:-0+0` → `suggestion`
                        CodeBlockKind::Fenced(info) => info
                            .split(|c: char| c.is_whitespace() || c == ':')
                            .next()
                            .unwrap_or("")
                            .to_string(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    code = Some((lang, String::new()));
                }
                Tag::List(start) => {
                    block(&mut out, &lists);
                    if lists.len() < MAX_LISTS {
                        lists.push(start);
                    }
                }
                Tag::Item => {
                    out.brk(1);
                    let depth = lists.len().max(1);
                    let marker = match lists.last_mut() {
                        Some(Some(n)) => {
                            *n += 1;
                            format!("{}. ", *n - 1)
                        }
                        _ => "- ".to_string(),
                    };
                    let indent = 2 * (depth - 1);
                    items.push(indent + marker.len());
                    out.item(indent, marker);
                }
                Tag::Table(_) => block(&mut out, &lists),
                Tag::TableHead | Tag::TableRow => {
                    out.brk(1);
                    cells = 0;
                }
                Tag::TableCell => {
                    out.cell(cells > 0);
                    cells += 1;
                }
                _ => {}
            },
            Event::End(end) => match end {
                TagEnd::Paragraph
                | TagEnd::BlockQuote(_)
                | TagEnd::HtmlBlock
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionList
                | TagEnd::Table => block(&mut out, &lists),
                TagEnd::Heading(_) => {
                    out.label("");
                    block(&mut out, &lists);
                }
                TagEnd::List(_) => {
                    lists.pop();
                    block(&mut out, &lists);
                }
                TagEnd::Item => {
                    items.pop();
                    out.end_item(items.last().copied().unwrap_or(0));
                    out.brk(1);
                }
                TagEnd::TableHead | TagEnd::TableRow => out.brk(1),
                TagEnd::TableCell => out.end_cell(),
                _ => {}
            },
            Event::TaskListMarker(done) => out.task_marker(done),
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                out.text(&t)
            }
            Event::FootnoteReference(t) => out.text(&format!("[{t}]")),
            Event::SoftBreak => out.space(),
            Event::HardBreak => out.brk(1),
            Event::Rule => block(&mut out, &lists),
            // Tags are not text; `<br>` is a line break.
            Event::Html(h) | Event::InlineHtml(h) => {
                if h.trim_start().to_ascii_lowercase().starts_with("<br") {
                    out.brk(1);
                }
            }
        }
    }
    if let Some((lang, text)) = code {
        out.verbatim(&text, Some(&lang));
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reader of the rendered GitLab page sees, written by hand.
    #[test]
    fn gitlab_markdown_reads_as_rendered() {
        let cases = [
            (
                "Fixes #123 and !45, see group/project#7. cc @alice",
                "Fixes #123 and !45, see group/project#7. cc @alice",
            ),
            (
                "**Bold** _em_ ~~gone~~ `code` [the docs](https://x.example/a_b) ![diagram](d.png)",
                "Bold em gone code the docs diagram",
            ),
            (
                "## Steps\n\n- [x] write the migration\n- [ ] run it on staging\n  1. snapshot\n  2. migrate",
                "## Steps\n\n[x] write the migration\n[ ] run it on staging\n  1. snapshot\n  2. migrate",
            ),
            (
                "Use this:\n\n```suggestion:-0+0\nlet retries = 3;\n```",
                "Use this:\n\n```suggestion\nlet retries = 3;\n```",
            ),
            (
                "| Env | Impact |\n|-----|--------|\n| prod | high |",
                "Env | Impact\nprod | high",
            ),
            (
                "<!-- template: bug -->\nLine one\nline two<br>three\n\n> quoted *text*",
                "Line one line two\nthree\n\nquoted text",
            ),
            ("1. one\n1. two\n\n---\n\nafter", "1. one\n2. two\n\nafter"),
        ];
        for (md, want) in cases {
            assert_eq!(markdown_to_text(md), want, "{md}");
        }
    }
}
