//! HTML (and Confluence storage format) → plain text that keeps structure:
//! headings become Markdown `#` lines (the chunker splits on them), lists
//! become `- ` items, table rows become `a | b`, code keeps its lines.
//!
//! The converter works on html5ever's tokenizer, not its tree builder, and
//! keeps its own stack of open elements: the work is linear in the input
//! and nothing recurses, so a hostile document (a page of 400,000 nested
//! `<div>`s) cannot overflow the stack or keep a core busy. Past
//! [`MAX_DEPTH`] open elements the structure is flattened (all text is kept)
//! and the result carries a warning. A tree builder would also apply HTML's
//! implied-end-tag and foster-parenting rules, which storage format (XHTML)
//! does not want: `<ri:user/>` is a self-closed element there, not an open
//! one that swallows the rest of the paragraph.

use std::cell::RefCell;
use std::collections::HashMap;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

/// Open elements kept as structure; deeper ones are flattened into their
/// ancestors. Real pages stay far below it (Confluence's own editor nests
/// a few dozen levels at most).
pub const MAX_DEPTH: usize = 256;

/// The text of a converted document, and what the conversion had to give
/// up on (for the dead-letter note and `sluice status`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converted {
    pub text: String,
    /// The first `<title>`'s text (whole HTML documents).
    pub title: Option<String>,
    pub warnings: Vec<String>,
}

/// Converts an HTML fragment or document to structured text.
pub fn html_to_text(html: &str) -> String {
    convert(html).text
}

/// Converts HTML or storage format, reporting what it flattened.
pub fn convert(html: &str) -> Converted {
    let tokenizer = Tokenizer::new(Sink(RefCell::new(State::default())), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks for a script pause, so one feed consumes it all.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let state = tokenizer.sink.0.into_inner();
    let mut warnings = Vec::new();
    if state.flattened > 0 {
        warnings.push(format!(
            "markup nested deeper than {MAX_DEPTH} levels: {} element(s) past that depth were flattened into their ancestors (all text kept)",
            state.flattened
        ));
    }
    Converted { text: state.out.finish(), title: state.title.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|t| !t.is_empty()), warnings }
}

/// Elements without content or end tag.
fn is_void(name: &str) -> bool {
    matches!(name, "area" | "base" | "br" | "col" | "embed" | "hr" | "img" | "input" | "link" | "meta" | "param" | "source" | "track" | "wbr" | "keygen")
}

/// Elements whose content is not text a reader sees.
fn is_skipped(name: &str) -> bool {
    matches!(name, "script" | "style" | "head" | "title" | "template" | "ac:parameter" | "ri:attachment" | "ri:page" | "ac:image" | "ri:user" | "ac:emoticon")
}

fn is_block(name: &str) -> bool {
    matches!(name, "p" | "div" | "section" | "article" | "blockquote" | "ac:rich-text-body" | "body" | "ul" | "ol" | "table")
}

fn attr<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| &*a.value)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Plain,
    Block,
    Heading,
    Item,
    Row,
    Pre,
    Macro,
    Skip,
    /// A macro's `title` parameter: its text is shown.
    MacroTitle,
}

struct Open {
    name: String,
    kind: Kind,
}

#[derive(Default)]
struct State {
    out: Writer,
    stack: Vec<Open>,
    /// How many open elements have each name: an end tag with nothing open
    /// of its name is ignored without a scan.
    open: HashMap<String, usize>,
    /// Cells seen in each open row, innermost last.
    rows: Vec<usize>,
    pre: usize,
    skip: usize,
    /// Elements open past [`MAX_DEPTH`]: whether each hides its text.
    deep: Vec<bool>,
    title: Option<String>,
    in_title: bool,
    flattened: u64,
}

impl State {
    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name = tag.name.to_string();
        let raw = match name.as_str() {
            "script" => Some(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => Some(RawKind::Rawtext),
            "title" | "textarea" => Some(RawKind::Rcdata),
            _ => None,
        };
        let result = match raw {
            Some(k) if !tag.self_closing => TokenSinkResult::RawData(k),
            _ => TokenSinkResult::Continue,
        };
        if name == "title" && !tag.self_closing {
            self.in_title = self.title.is_none();
        }
        if self.skip > 0 {
            // Inside skipped content only the nesting is tracked.
            if !is_void(&name) && !tag.self_closing {
                self.push(name, Kind::Skip);
            }
            return result;
        }
        let kind = match name.as_str() {
            "ri:user" => {
                let who = attr(tag, "ri:username").or(attr(tag, "ri:account-id")).or(attr(tag, "ri:userkey"));
                if let Some(w) = who {
                    self.out.text(&format!(" @{w} "), false);
                }
                Kind::Skip
            }
            "ac:emoticon" => {
                if let Some(n) = attr(tag, "ac:name") {
                    self.out.text(&format!(" :{n}: "), false);
                }
                Kind::Skip
            }
            "ac:parameter" if attr(tag, "ac:name") == Some("title") && self.stack.last().is_some_and(|o| o.name == "ac:structured-macro") => Kind::MacroTitle,
            n if is_skipped(n) => Kind::Skip,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name[1..].parse::<usize>().unwrap_or(2);
                self.out.blank_line();
                self.out.raw(&"#".repeat(level));
                self.out.raw(" ");
                Kind::Heading
            }
            n if is_block(n) => {
                self.out.blank_line();
                Kind::Block
            }
            "br" => {
                self.out.newline();
                Kind::Plain
            }
            "hr" => {
                self.out.blank_line();
                Kind::Plain
            }
            "li" => {
                self.out.newline();
                self.out.raw("- ");
                Kind::Item
            }
            "tr" => {
                self.out.newline();
                Kind::Row
            }
            "td" | "th" => {
                if let Some(cells) = self.rows.last_mut() {
                    if *cells > 0 {
                        self.out.raw(" | ");
                    }
                    *cells += 1;
                }
                Kind::Plain
            }
            "pre" | "ac:plain-text-body" => {
                self.out.blank_line();
                Kind::Pre
            }
            "ac:structured-macro" => {
                // Panels keep a label so their text reads as a callout; code
                // and expand macros just keep their body.
                let kind = attr(tag, "ac:name").unwrap_or("");
                if matches!(kind, "info" | "note" | "warning" | "tip" | "panel") {
                    self.out.blank_line();
                    self.out.raw(&format!("{}: ", capitalize(kind)));
                }
                Kind::Macro
            }
            _ => Kind::Plain,
        };
        if is_void(&name) || tag.self_closing {
            // Nothing opened: apply the end now.
            self.in_title = false;
            self.end_effect(kind);
        } else {
            self.push(name, kind);
        }
        result
    }

    fn push(&mut self, name: String, kind: Kind) {
        if self.stack.len() >= MAX_DEPTH || !self.deep.is_empty() {
            // Flattened: its effects at the start happened and its end is
            // ignored; only whether it hides its text is kept, so a script
            // past the limit stays hidden and the text after it does not.
            self.flattened += 1;
            if kind == Kind::Skip {
                self.skip += 1;
            }
            self.deep.push(kind == Kind::Skip);
            return;
        }
        match kind {
            Kind::Row => self.rows.push(0),
            Kind::Pre => self.pre += 1,
            Kind::Skip => self.skip += 1,
            _ => {}
        }
        *self.open.entry(name.clone()).or_default() += 1;
        self.stack.push(Open { name, kind });
    }

    fn end(&mut self, name: &str) {
        if let Some(skipped) = self.deep.pop() {
            // Past the limit end tags are matched by position, not name.
            if skipped {
                self.skip -= 1;
                self.in_title = false;
            }
            return;
        }
        if self.open.get(name).copied().unwrap_or(0) == 0 {
            return;
        }
        // Pops up to and including the innermost element of this name: the
        // elements left open inside it end here too (amortised by the push).
        while let Some(o) = self.stack.pop() {
            if let Some(n) = self.open.get_mut(&o.name) {
                *n -= 1;
            }
            match o.kind {
                Kind::Row => {
                    self.rows.pop();
                }
                Kind::Pre => self.pre -= 1,
                Kind::Skip => {
                    self.skip -= 1;
                    if o.name == "title" {
                        self.in_title = false;
                    }
                }
                _ => {}
            }
            if self.skip == 0 {
                self.end_effect(o.kind);
            }
            if o.name == name {
                break;
            }
        }
    }

    fn end_effect(&mut self, kind: Kind) {
        match kind {
            Kind::Heading | Kind::Block | Kind::Pre | Kind::Macro => self.out.blank_line(),
            Kind::Item | Kind::Row | Kind::MacroTitle => self.out.newline(),
            Kind::Plain | Kind::Skip => {}
        }
    }

    fn text(&mut self, t: &str) {
        if self.in_title {
            self.title.get_or_insert_with(String::new).push_str(t);
        }
        if self.skip > 0 {
            return;
        }
        self.out.text(t, self.pre > 0);
    }
}

struct Sink(RefCell<State>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut s = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return s.start(&tag),
                TagKind::EndTag => s.end(&tag.name),
            },
            Token::CharacterTokens(t) => s.text(&t),
            _ => {}
        }
        TokenSinkResult::Continue
    }

    /// Storage format is XHTML: `<![CDATA[…]]>` (code macro bodies) is
    /// text, not the bogus comment HTML would make of it.
    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        true
    }
}

#[derive(Default)]
struct Writer {
    out: String,
    pending_space: bool,
}

impl Writer {
    fn text(&mut self, t: &str, pre: bool) {
        if pre {
            self.out.push_str(t);
            self.pending_space = false;
            return;
        }
        for (i, word) in t.split_whitespace().enumerate() {
            let at_line_start = self.out.is_empty() || self.out.ends_with('\n');
            if (i > 0 || self.pending_space || t.starts_with(char::is_whitespace)) && !at_line_start && !self.out.ends_with(' ') {
                self.out.push(' ');
            }
            self.out.push_str(word);
            self.pending_space = false;
        }
        // Text arrives in pieces (an entity or a tag splits it), and a
        // piece of spaces between two inline elements is a word break.
        if t.ends_with(char::is_whitespace) {
            self.pending_space = true;
        }
    }

    fn newline(&mut self) {
        trim_trailing_spaces(&mut self.out);
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.pending_space = false;
    }

    fn blank_line(&mut self) {
        self.newline();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn finish(mut self) -> String {
        trim_trailing_spaces(&mut self.out);
        // Runs of blank lines collapse to one, in one pass.
        let mut s = String::with_capacity(self.out.len());
        let mut newlines = 0;
        for c in self.out.trim().chars() {
            if c == '\n' {
                newlines += 1;
                if newlines > 2 {
                    continue;
                }
            } else {
                newlines = 0;
            }
            s.push(c);
        }
        s
    }
}

fn trim_trailing_spaces(s: &mut String) {
    while s.ends_with(' ') || s.ends_with('\t') {
        s.pop();
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_structure() {
        let html = "<h2>Restart &amp; recover</h2><p>Run the   <b>restart</b> script.</p><ul><li>one</li><li>two</li></ul>\
                    <table><tr><th>Key</th><th>Value</th></tr><tr><td>pool</td><td>400</td></tr></table>";
        let t = html_to_text(html);
        assert_eq!(t, "## Restart & recover\n\nRun the restart script.\n\n- one\n- two\n\nKey | Value\npool | 400");
    }

    #[test]
    fn confluence_macros_and_cdata() {
        let html = r#"<p>Before</p><ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter><ac:plain-text-body><![CDATA[kubectl rollout restart deploy/api
echo "a < b"]]></ac:plain-text-body></ac:structured-macro><ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Never on Fridays.</p></ac:rich-text-body></ac:structured-macro>"#;
        let t = html_to_text(html);
        assert!(t.contains("kubectl rollout restart deploy/api\necho \"a < b\""), "{t}");
        assert!(t.contains("Warning:"), "{t}");
        assert!(t.contains("Never on Fridays."), "{t}");
        assert!(!t.contains("bash"), "macro parameters are not text: {t}");
    }

    #[test]
    fn mentions_and_emoticons_become_text() {
        let t = html_to_text(r#"<p>Ask <ac:link><ri:user ri:account-id="557058:abc" /></ac:link> first <ac:emoticon ac:name="tick" /></p>"#);
        assert_eq!(t, "Ask @557058:abc first :tick:");
    }

    #[test]
    fn a_self_closed_storage_element_does_not_swallow_what_follows() {
        assert_eq!(html_to_text(r#"<p>Before <ac:emoticon ac:name="tick"/> after</p>"#), "Before :tick: after");
        assert_eq!(html_to_text(r#"<p><ac:image><ri:attachment ri:filename="a.png"/></ac:image> Caption</p>"#), "Caption");
    }

    #[test]
    fn a_space_between_inline_elements_separates_words() {
        assert_eq!(html_to_text("<p><strong>Owner:</strong> <a href=\"https://x.example\">Billing team</a></p>"), "Owner: Billing team");
    }

    #[test]
    fn malformed_html_does_not_panic() {
        let t = html_to_text("<p>unclosed <b>bold <li>item</table></div>&nbsp;&bogus; <![CDATA[x");
        assert!(t.contains("unclosed bold"), "{t}");
        assert!(t.contains("item"), "{t}");
    }

    #[test]
    fn script_and_style_bodies_are_not_text_even_with_markup_inside() {
        let t = html_to_text("<p>a</p><script>if (x < 1) { document.write('<p>b</p>') }</script><style>p::after { content: '<c>' }</style><p>d</p>");
        assert_eq!(t, "a\n\nd");
    }

    #[test]
    fn a_whole_document_gives_its_title_and_body_only() {
        let c = convert("<!doctype html><html><head><title> Incident\n 42 </title><style>x{}</style></head><body><h1>Summary</h1><p>Disk full.</p></body></html>");
        assert_eq!(c.title.as_deref(), Some("Incident 42"));
        assert_eq!(c.text, "# Summary\n\nDisk full.");
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn hostile_nesting_is_flattened_in_linear_time_with_a_warning() {
        // 400,000 levels overflowed the recursive walker's stack at 5,000
        // (debug) and kept a core busy for minutes in the tree builder.
        let n = 400_000;
        let html = format!("{}deep text{}<p>after</p>", "<div>".repeat(n), "</div>".repeat(n));
        let started = std::time::Instant::now();
        let c = convert(&html);
        assert_eq!(c.text, "deep text\n\nafter");
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("256") && c.warnings[0].contains(&(n - MAX_DEPTH).to_string()), "{:?}", c.warnings);
        // A generous bound (the work is linear): a regression to quadratic
        // work takes minutes here.
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());
        // Unclosed, and nested inline, lists and tables too.
        for open in ["<span>", "<li>", "<table><tr><td>", "<ac:structured-macro ac:name=\"info\"><ac:rich-text-body>", "<b><i>"] {
            let c = convert(&format!("{}x", open.repeat(20_000)));
            assert!(c.text.ends_with('x'), "{open}: {}", &c.text[c.text.len().saturating_sub(40)..]);
            assert!(!c.warnings.is_empty(), "{open}");
        }
    }

    #[test]
    fn skipped_content_deeper_than_the_limit_does_not_hide_the_rest() {
        let html = format!("{}<script>hidden</script>shown{}", "<div>".repeat(MAX_DEPTH + 5), "</div>".repeat(MAX_DEPTH + 5));
        let t = html_to_text(&html);
        assert!(t.contains("shown") && !t.contains("hidden"), "{t}");
    }
}
