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

use crate::writer::TextWriter as Writer;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

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

/// Display names of the users a page mentions, keyed by the id the
/// storage format carries (`ri:account-id`, `ri:userkey` or `ri:username`).
pub type UserNames = HashMap<String, String>;

/// Converts an HTML fragment or document to structured text.
pub fn html_to_text(html: &str) -> String {
    convert(html).text
}

/// Converts HTML or storage format, reporting what it flattened.
pub fn convert(html: &str) -> Converted {
    convert_with(html, &UserNames::new())
}

/// Converts storage format, rendering `ri:user` mentions with `users`.
pub fn convert_with(html: &str, users: &UserNames) -> Converted {
    let state = State {
        users: Some(users),
        ..State::default()
    };
    let tokenizer = Tokenizer::new(Sink(RefCell::new(state)), TokenizerOpts::default());
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
    Converted {
        text: state.out.finish(),
        title: state
            .title
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty()),
        warnings,
    }
}

/// A user a storage-format page mentions, by the attribute that names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserRef {
    /// `ri:account-id` (Cloud).
    AccountId(String),
    /// `ri:userkey` (Server/Data Center).
    UserKey(String),
    /// `ri:username` (older Server pages).
    Username(String),
}

impl UserRef {
    pub fn id(&self) -> &str {
        match self {
            UserRef::AccountId(s) | UserRef::UserKey(s) | UserRef::Username(s) => s,
        }
    }
}

/// The users a storage-format page mentions, each once, for resolving
/// display names before converting.
pub fn user_refs(html: &str) -> Vec<UserRef> {
    let mut refs = Vec::new();
    for attr in ["ri:account-id=\"", "ri:userkey=\"", "ri:username=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let Some(end) = rest.find('"') else { break };
            let id = decode_attr(&rest[..end]);
            rest = &rest[end..];
            if id.is_empty() {
                continue;
            }
            let r = match attr {
                "ri:account-id=\"" => UserRef::AccountId(id),
                "ri:userkey=\"" => UserRef::UserKey(id),
                _ => UserRef::Username(id),
            };
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
    }
    refs
}

fn decode_attr(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Elements without content or end tag.
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "keygen"
    )
}

/// Elements whose content is not text a reader sees.
fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "head"
            | "title"
            | "template"
            | "noscript"
            | "ac:placeholder"
            | "ac:adf-fallback"
            | "ac:adf-attribute"
            | "ac:task-id"
            | "ac:task-uuid"
            | "ac:emoticon"
            | "ri:user"
    ) || name.starts_with("ri:")
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "aside"
            | "header"
            | "footer"
            | "main"
            | "nav"
            | "blockquote"
            | "figure"
            | "figcaption"
            | "center"
            | "address"
            | "details"
            | "summary"
            | "dl"
            | "dt"
            | "dd"
            | "body"
            | "ac:rich-text-body"
            | "ac:layout"
            | "ac:layout-section"
            | "ac:layout-cell"
            | "ac:adf-node"
            | "ac:adf-content"
            | "ac:adf-extension"
    )
}

/// Macros generated from other content (tables of contents, child lists,
/// other pages' text): their output is not this page's text.
fn is_generated_macro(name: &str) -> bool {
    matches!(
        name,
        "toc"
            | "toc-zone"
            | "children"
            | "recently-updated"
            | "recently-updated-dashboard"
            | "pagetree"
            | "pagetreesearch"
            | "contentbylabel"
            | "content-by-label"
            | "attachments"
            | "livesearch"
            | "blog-posts"
            | "include"
            | "excerpt-include"
            | "anchor"
            | "create-from-template"
            | "profile"
            | "profile-picture"
            | "tasks-report-macro"
            | "content-report-table"
            | "page-index"
            | "listlabels"
            | "popular-labels"
            | "related-labels"
            | "spaces"
            | "space-details"
            | "viewfile"
            | "view-file"
            | "gallery"
            | "roadmap"
    )
}

/// Confluence's emoticon names and what the page shows for them.
fn emoticon(name: &str) -> Option<&'static str> {
    Some(match name {
        "tick" => "✓",
        "cross" => "✗",
        "warning" => "⚠",
        "information" => "ℹ",
        "plus" => "➕",
        "minus" => "➖",
        "question" => "❓",
        "smile" => "🙂",
        "sad" => "🙁",
        "cheeky" => "😛",
        "laugh" => "😄",
        "wink" => "😉",
        "thumbs-up" => "👍",
        "thumbs-down" => "👎",
        "light-on" | "light-off" => "💡",
        "yellow-star" | "red-star" | "green-star" | "blue-star" => "⭐",
        "heart" => "❤",
        "broken-heart" => "💔",
        _ => return None,
    })
}

fn attr<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
        .filter(|v| !v.trim().is_empty())
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Plain,
    Block,
    Heading,
    List,
    Item,
    Table,
    Row,
    Cell,
    /// Verbatim text: `pre`, a code macro's body (fenced), an unknown
    /// macro's plain-text body (not fenced).
    Verbatim,
    Macro,
    /// A macro parameter: its text is read, not shown.
    Param,
    TaskStatus,
    Link,
    LinkBody,
    Image,
    Caption,
    Skip,
}

struct Open {
    name: String,
    kind: Kind,
}

struct MacroFrame {
    name: String,
    params: Vec<(String, String)>,
    inline: bool,
}

impl MacroFrame {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

struct ListFrame {
    ordered: bool,
    next: u64,
}

#[derive(Default)]
struct LinkFrame {
    fallback: Option<String>,
    shown: bool,
}

#[derive(Default)]
struct ImageFrame {
    name: Option<String>,
    shown: bool,
}

#[derive(Default)]
struct State<'u> {
    users: Option<&'u UserNames>,
    out: Writer,
    stack: Vec<Open>,
    /// How many open elements have each name: an end tag with nothing open
    /// of its name is ignored without a scan.
    open: HashMap<String, usize>,
    /// Cells seen in each open row, innermost last.
    rows: Vec<usize>,
    lists: Vec<ListFrame>,
    /// Continuation indent of each open list item.
    items: Vec<usize>,
    macros: Vec<MacroFrame>,
    links: Vec<LinkFrame>,
    images: Vec<ImageFrame>,
    /// Text read but not shown (a parameter, a task status).
    capture: Option<String>,
    /// A verbatim block being read: its text and its fence (`None`: not
    /// fenced).
    verbatim: Option<(String, Option<String>)>,
    skip: usize,
    /// Elements open past [`MAX_DEPTH`]: whether each hides its text.
    deep: Vec<bool>,
    title: Option<String>,
    in_title: bool,
    flattened: u64,
}

impl State<'_> {
    fn user(&self, tag: &Tag) -> Option<String> {
        if let Some(id) = attr(tag, "ri:account-id").or(attr(tag, "ri:userkey")) {
            return Some(
                self.users
                    .and_then(|m| m.get(id))
                    .map(|n| format!("@{n}"))
                    .unwrap_or_else(|| "@unknown user".into()),
            );
        }
        attr(tag, "ri:username").map(|u| {
            format!(
                "@{}",
                self.users
                    .and_then(|m| m.get(u))
                    .map(String::as_str)
                    .unwrap_or(u)
            )
        })
    }

    fn block_break(&mut self) {
        // Inside a list a block is a new line of the item, not a paragraph.
        self.out.brk(if self.lists.is_empty() { 2 } else { 1 });
    }

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
        let closes = !is_void(&name) && !tag.self_closing;
        if self.stack.len() >= MAX_DEPTH || !self.deep.is_empty() {
            // Flattened: a block still breaks the line and hidden content
            // stays hidden; nothing else of its structure is kept.
            if closes {
                self.flattened += 1;
                let hides = is_skipped(&name) || self.skip > 0;
                if hides {
                    self.skip += 1;
                } else if is_block(&name)
                    || matches!(name.as_str(), "li" | "tr" | "ul" | "ol" | "table")
                {
                    self.out.brk(1);
                }
                self.deep.push(hides);
            }
            return result;
        }
        if self.skip > 0 || self.capture.is_some() {
            // Inside hidden content only the nesting is tracked.
            if closes {
                self.push(name, Kind::Skip);
            }
            return result;
        }
        if let Some((buf, _)) = &mut self.verbatim {
            // Elements inside `pre` (spans of a highlighter) keep their text.
            if name == "br" {
                buf.push('\n');
            }
            if closes {
                // A script or style inside `pre` stays hidden.
                let kind = if is_skipped(&name) {
                    Kind::Skip
                } else {
                    Kind::Plain
                };
                self.push(name, kind);
            }
            return result;
        }
        let in_link = self.stack.last().is_some_and(|o| o.kind == Kind::Link);
        let in_image = self.stack.last().is_some_and(|o| o.kind == Kind::Image);
        let kind = match name.as_str() {
            "ri:user" if in_link => {
                let who = self.user(tag);
                if let Some(l) = self.links.last_mut() {
                    l.fallback = who;
                }
                Kind::Skip
            }
            n if n.starts_with("ri:") && (in_link || in_image) => {
                let value = match n {
                    "ri:page" | "ri:blog-post" | "ri:content-entity" => {
                        attr(tag, "ri:content-title")
                    }
                    "ri:attachment" => attr(tag, "ri:filename"),
                    "ri:url" => attr(tag, "ri:value"),
                    "ri:space" => attr(tag, "ri:space-key"),
                    _ => None,
                };
                if let Some(v) = value {
                    if in_link {
                        if let Some(l) = self.links.last_mut() {
                            // A page in another space names the page, not the space.
                            if l.fallback.is_none() || n != "ri:space" {
                                l.fallback = Some(v.to_string());
                            }
                        }
                    } else if let Some(i) = self.images.last_mut() {
                        i.name.get_or_insert_with(|| v.to_string());
                    }
                }
                Kind::Skip
            }
            "ac:emoticon" => {
                let fallback = attr(tag, "ac:emoji-fallback").filter(|f| !f.starts_with(':'));
                if let Some(sym) = fallback.or_else(|| attr(tag, "ac:name").and_then(emoticon)) {
                    self.out.text(sym);
                }
                Kind::Skip
            }
            "time" => match attr(tag, "datetime") {
                Some(d) => {
                    self.out.text(d);
                    Kind::Skip
                }
                None => Kind::Plain,
            },
            "ac:parameter"
                if !self.macros.is_empty()
                    && self.stack.last().is_some_and(|o| o.kind == Kind::Macro) =>
            {
                let pname = attr(tag, "ac:name").unwrap_or("").to_string();
                if let Some(m) = self.macros.last_mut() {
                    m.params.push((pname, String::new()));
                }
                self.capture = Some(String::new());
                Kind::Param
            }
            "ac:task-status" => {
                self.capture = Some(String::new());
                Kind::TaskStatus
            }
            n if is_skipped(n) => Kind::Skip,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.block_break();
                let level = name[1..].parse::<usize>().unwrap_or(2);
                self.out.heading(level);
                Kind::Heading
            }
            "ul" | "ol" | "ac:task-list" => {
                self.block_break();
                let start = attr(tag, "start")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                self.lists.push(ListFrame {
                    ordered: name == "ol",
                    next: start,
                });
                Kind::List
            }
            "li" | "ac:task" => {
                self.out.brk(1);
                let depth = self.lists.len().max(1);
                let marker = if name == "ac:task" {
                    "[ ] ".to_string()
                } else {
                    match self.lists.last_mut() {
                        Some(l) if l.ordered => {
                            l.next += 1;
                            format!("{}. ", l.next - 1)
                        }
                        _ => "- ".to_string(),
                    }
                };
                let indent = 2 * (depth - 1);
                self.items.push(indent + marker.chars().count());
                self.out.item(indent, marker);
                Kind::Item
            }
            "table" => {
                self.block_break();
                Kind::Table
            }
            "tr" => {
                self.out.brk(1);
                self.rows.push(0);
                Kind::Row
            }
            "td" | "th" => {
                let n = self.rows.last().copied().unwrap_or(0);
                self.out.cell(n > 0);
                if let Some(c) = self.rows.last_mut() {
                    *c += 1;
                }
                Kind::Cell
            }
            "br" => {
                self.out.brk(1);
                Kind::Plain
            }
            "hr" => {
                self.block_break();
                Kind::Plain
            }
            "pre" => {
                self.block_break();
                self.verbatim = Some((String::new(), Some(String::new())));
                Kind::Verbatim
            }
            "ac:plain-text-body" => {
                let fence = match self.macros.last() {
                    Some(m)
                        if matches!(
                            m.name.as_str(),
                            "code" | "noformat" | "code-block" | "sql" | "sql-query"
                        ) =>
                    {
                        Some(if m.name == "code" {
                            m.param("language").unwrap_or("").to_string()
                        } else {
                            String::new()
                        })
                    }
                    _ => None,
                };
                self.block_break();
                self.verbatim = Some((String::new(), fence));
                Kind::Verbatim
            }
            "ac:structured-macro" | "ac:macro" => {
                let mname = attr(tag, "ac:name").unwrap_or("").to_ascii_lowercase();
                if is_generated_macro(&mname) {
                    Kind::Skip
                } else {
                    let inline = matches!(mname.as_str(), "status" | "jira");
                    if !inline {
                        self.block_break();
                        let label = match mname.as_str() {
                            "info" => "Info: ",
                            "note" => "Note: ",
                            "warning" => "Warning: ",
                            "tip" => "Tip: ",
                            _ => "",
                        };
                        self.out.label(label);
                    }
                    self.macros.push(MacroFrame {
                        name: mname,
                        params: Vec::new(),
                        inline,
                    });
                    Kind::Macro
                }
            }
            "ac:link" => {
                self.links.push(LinkFrame {
                    fallback: attr(tag, "ac:anchor").map(String::from),
                    shown: false,
                });
                Kind::Link
            }
            "ac:link-body" | "ac:plain-text-link-body" => {
                if let Some(l) = self.links.last_mut() {
                    l.shown = true;
                }
                Kind::LinkBody
            }
            "ac:image" => {
                self.images.push(ImageFrame {
                    name: attr(tag, "ac:alt")
                        .or(attr(tag, "ac:title"))
                        .map(String::from),
                    shown: false,
                });
                Kind::Image
            }
            "img" => {
                if let Some(alt) = attr(tag, "alt") {
                    self.out.text(alt);
                }
                Kind::Plain
            }
            "ac:caption" => {
                self.show_image();
                self.out.space();
                // A caption reads as one line after the image's name.
                self.out.flat += 1;
                Kind::Caption
            }
            n if is_block(n) => {
                self.block_break();
                Kind::Block
            }
            _ => Kind::Plain,
        };
        if closes {
            self.push(name, kind);
        } else {
            // Nothing opened: apply the end now.
            self.in_title = false;
            self.end_effect(kind);
        }
        result
    }

    fn show_image(&mut self) {
        if let Some(i) = self.images.last_mut() {
            if !i.shown {
                i.shown = true;
                if let Some(n) = i.name.clone() {
                    self.out.text(&n);
                }
            }
        }
    }

    fn push(&mut self, name: String, kind: Kind) {
        if kind == Kind::Skip {
            self.skip += 1;
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
            if o.kind == Kind::Skip {
                self.skip -= 1;
                if o.name == "title" {
                    self.in_title = false;
                }
            } else if self.skip == 0 {
                self.end_effect(o.kind);
            }
            if o.name == name {
                break;
            }
        }
    }

    fn end_effect(&mut self, kind: Kind) {
        match kind {
            Kind::Heading => {
                // A heading with no text leaves no marks for the next block.
                self.out.label("");
                self.block_break();
            }
            Kind::Block | Kind::Table => self.block_break(),
            Kind::List => {
                self.lists.pop();
                self.block_break();
            }
            Kind::Item => {
                self.items.pop();
                self.out.end_item(self.items.last().copied().unwrap_or(0));
                self.out.brk(1);
            }
            Kind::Row => {
                self.rows.pop();
                self.out.brk(1);
            }
            Kind::Cell => self.out.end_cell(),
            Kind::Verbatim => {
                if let Some((text, fence)) = self.verbatim.take() {
                    self.out.verbatim(&text, fence.as_deref());
                }
                self.block_break();
            }
            Kind::Param => {
                let value = self.capture.take().unwrap_or_default();
                let Some(m) = self.macros.last_mut() else {
                    return;
                };
                if let Some(p) = m.params.last_mut() {
                    p.1 = value;
                }
                let (pname, inline) = (
                    m.params.last().map(|p| p.0.clone()).unwrap_or_default(),
                    m.inline,
                );
                if pname == "title" && !inline {
                    if let Some(t) = m.param("title").map(String::from) {
                        self.block_break();
                        self.out.title(&t);
                    }
                }
            }
            Kind::TaskStatus => {
                let status = self.capture.take().unwrap_or_default();
                if status.trim().eq_ignore_ascii_case("complete") {
                    self.out.check_pending_task();
                }
            }
            Kind::Macro => {
                let Some(m) = self.macros.pop() else { return };
                match m.name.as_str() {
                    "status" => {
                        if let Some(t) = m.param("title") {
                            self.out.text(t);
                        }
                    }
                    "jira" => {
                        if let Some(k) = m.param("key") {
                            self.out.text(k);
                        }
                    }
                    _ => {}
                }
                if !m.inline {
                    self.out.label("");
                    self.block_break();
                }
            }
            Kind::Link => {
                if let Some(l) = self.links.pop() {
                    if !l.shown {
                        if let Some(f) = l.fallback {
                            self.out.text(&f);
                        }
                    }
                }
            }
            Kind::Image => {
                self.show_image();
                self.images.pop();
            }
            Kind::Caption => {
                self.out.flat = self.out.flat.saturating_sub(1);
                self.out.space();
            }
            Kind::Plain | Kind::Skip | Kind::LinkBody => {}
        }
    }

    fn text(&mut self, t: &str) {
        if self.in_title {
            self.title.get_or_insert_with(String::new).push_str(t);
        }
        if self.skip > 0 {
            return;
        }
        if let Some(c) = &mut self.capture {
            c.push_str(t);
        } else if let Some((buf, _)) = &mut self.verbatim {
            buf.push_str(t);
        } else {
            self.out.text(t);
        }
    }
}

struct Sink<'u>(RefCell<State<'u>>);

impl TokenSink for Sink<'_> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_structure() {
        let html = "<h2>Restart &amp; recover</h2><p>Run the   <b>restart</b> script.</p><ul><li>one</li><li>two</li></ul>\
                    <table><tr><th>Key</th><th>Value</th></tr><tr><td>pool</td><td>400</td></tr></table>";
        let t = html_to_text(html);
        assert_eq!(
            t,
            "## Restart & recover\n\nRun the restart script.\n\n- one\n- two\n\nKey | Value\npool | 400"
        );
    }

    #[test]
    fn confluence_macros_and_cdata() {
        let html = r#"<p>Before</p><ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter><ac:plain-text-body><![CDATA[kubectl rollout restart deploy/api
echo "a < b"]]></ac:plain-text-body></ac:structured-macro><ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Never on Fridays.</p></ac:rich-text-body></ac:structured-macro>"#;
        assert_eq!(
            html_to_text(html),
            "Before\n\n```bash\nkubectl rollout restart deploy/api\necho \"a < b\"\n```\n\nWarning: Never on Fridays."
        );
    }

    #[test]
    fn mentions_resolve_to_display_names_never_raw_ids() {
        let users: UserNames = [(
            "5b10a2844c20165700ede21f".to_string(),
            "Ada Lovelace".to_string(),
        )]
        .into();
        let page = r#"<p>Ask <ac:link><ri:user ri:account-id="5b10a2844c20165700ede21f" /></ac:link>, <ac:link><ri:user ri:account-id="557058:abc"/></ac:link> or <ac:link><ri:user ri:username="jdoe"/></ac:link> first <ac:emoticon ac:name="tick" /></p>"#;
        assert_eq!(
            convert_with(page, &users).text,
            "Ask @Ada Lovelace, @unknown user or @jdoe first ✓"
        );
        assert_eq!(
            user_refs(page).iter().map(UserRef::id).collect::<Vec<_>>(),
            ["5b10a2844c20165700ede21f", "557058:abc", "jdoe"]
        );
        assert_eq!(user_refs(page)[2], UserRef::Username("jdoe".into()));
    }

    /// The issue's table, one minimal input per class.
    #[test]
    fn storage_format_classes_read_as_a_reader_sees_them() {
        let users: UserNames = [(
            "5b10a2844c20165700ede21f".to_string(),
            "Ada Lovelace".to_string(),
        )]
        .into();
        let cases = [
            (
                r#"<ac:task-list><ac:task><ac:task-id>10</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>Rotate the keys</ac:task-body></ac:task></ac:task-list>"#,
                "[x] Rotate the keys",
            ),
            (
                r#"<p><strong>Owner:</strong> <a href="https://x.example">Billing team</a></p>"#,
                "Owner: Billing team",
            ),
            (
                r#"<ac:link><ri:page ri:content-title="Release checklist"/><ac:plain-text-link-body><![CDATA[the checklist]]></ac:plain-text-link-body></ac:link>"#,
                "the checklist",
            ),
            (
                r#"<ac:link><ri:page ri:content-title="Release checklist"/></ac:link>"#,
                "Release checklist",
            ),
            (
                r#"<ac:link><ri:user ri:account-id="5b10a2844c20165700ede21f"/></ac:link>"#,
                "@Ada Lovelace",
            ),
            (
                r#"<p>Before <ac:emoticon ac:name="tick"/> after</p>"#,
                "Before ✓ after",
            ),
            (
                r#"<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">sql</ac:parameter><ac:plain-text-body><![CDATA[SELECT 1;]]></ac:plain-text-body></ac:structured-macro>"#,
                "```sql\nSELECT 1;\n```",
            ),
            (
                r#"<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>Open <time datetime="2024-03-05" /></ac:task-body></ac:task></ac:task-list>"#,
                "[ ] Open 2024-03-05",
            ),
            (
                r#"<ol start="3"><li>three<ul><li>inner</li></ul></li><li><p>four</p><p>more</p></li></ol><p>after</p>"#,
                "3. three\n  - inner\n4. four\n   more\n\nafter",
            ),
            (
                r#"<table><tbody><tr><th>Key</th><th>Value</th></tr><tr><td><p>a</p><p>b</p></td><td><ul><li>x</li><li>y</li></ul></td></tr></tbody></table>"#,
                "Key | Value\na b | x y",
            ),
            (
                r#"<p>See <ac:structured-macro ac:name="status"><ac:parameter ac:name="colour">Green</ac:parameter><ac:parameter ac:name="title">Done</ac:parameter></ac:structured-macro> and <ac:structured-macro ac:name="jira"><ac:parameter ac:name="key">OPS-7</ac:parameter></ac:structured-macro>.</p>"#,
                "See Done and OPS-7.",
            ),
            (
                r#"<ac:structured-macro ac:name="toc"><ac:parameter ac:name="maxLevel">2</ac:parameter></ac:structured-macro><h2>Only</h2>"#,
                "## Only",
            ),
            (
                r#"<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">Details</ac:parameter><ac:rich-text-body><p>Hidden body</p></ac:rich-text-body></ac:structured-macro>"#,
                "Details\nHidden body",
            ),
            (
                r#"<p><ac:image ac:alt="diagram"><ri:attachment ri:filename="a.png"/></ac:image> <ac:image><ri:attachment ri:filename="b.png"/><ac:caption><p>Flow</p></ac:caption></ac:image></p>"#,
                "diagram b.png Flow",
            ),
            (
                r#"<p>Go to <ac:link><ri:attachment ri:filename="plan.pdf"/></ac:link>, <ac:link><ri:space ri:space-key="OPS"/></ac:link> or <ac:link ac:anchor="Steps"><ac:link-body>the <strong>steps</strong></ac:link-body></ac:link>.</p>"#,
                "Go to plan.pdf, OPS or the steps.",
            ),
            (
                r#"<p>a<br/>b <ac:placeholder>Type here</ac:placeholder>c&nbsp;&amp;&nbsp;d</p>"#,
                "a\nb c & d",
            ),
        ];
        for (page, want) in cases {
            assert_eq!(convert_with(page, &users).text, want, "{page}");
        }
    }

    #[test]
    fn a_self_closed_storage_element_does_not_swallow_what_follows() {
        assert_eq!(
            html_to_text(r#"<p>Before <ac:emoticon ac:name="tick"/> after</p>"#),
            "Before ✓ after"
        );
        assert_eq!(
            html_to_text(r#"<p>Before <ac:unknown-thing ac:x="1"/> after</p>"#),
            "Before after"
        );
        assert_eq!(
            html_to_text(
                r#"<p><ac:image><ri:attachment ri:filename="a.png"/></ac:image> Caption</p>"#
            ),
            "a.png Caption"
        );
    }

    #[test]
    fn a_space_between_inline_elements_separates_words() {
        assert_eq!(
            html_to_text(
                "<p><strong>Owner:</strong> <a href=\"https://x.example\">Billing team</a></p>"
            ),
            "Owner: Billing team"
        );
    }

    #[test]
    fn malformed_html_does_not_panic() {
        let t = html_to_text("<p>unclosed <b>bold <li>item</table></div>&nbsp;&bogus; <![CDATA[x");
        assert!(t.contains("unclosed bold"), "{t}");
        assert!(t.contains("item"), "{t}");
    }

    #[test]
    fn script_and_style_bodies_are_not_text_even_with_markup_inside() {
        let t = html_to_text(
            "<p>a</p><script>if (x < 1) { document.write('<p>b</p>') }</script><style>p::after { content: '<c>' }</style><p>d</p>",
        );
        assert_eq!(t, "a\n\nd");
    }

    /// Found by the property test: a script inside `pre` leaked its text into the code block.
    #[test]
    fn a_script_inside_pre_stays_hidden() {
        assert_eq!(html_to_text("<p><pre><script>x<y</script></p>"), "");
        assert_eq!(
            html_to_text("<pre>a<style>p{}</style>b</pre>"),
            "```\nab\n```"
        );
    }

    #[test]
    fn a_whole_document_gives_its_title_and_body_only() {
        let c = convert(
            "<!doctype html><html><head><title> Incident\n 42 </title><style>x{}</style></head><body><h1>Summary</h1><p>Disk full.</p></body></html>",
        );
        assert_eq!(c.title.as_deref(), Some("Incident 42"));
        assert_eq!(c.text, "# Summary\n\nDisk full.");
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn hostile_nesting_is_flattened_in_linear_time_with_a_warning() {
        // 400,000 levels overflowed the recursive walker's stack at 5,000
        // (debug) and kept a core busy for minutes in the tree builder.
        let n = 400_000;
        let html = format!(
            "{}deep text{}<p>after</p>",
            "<div>".repeat(n),
            "</div>".repeat(n)
        );
        let started = std::time::Instant::now();
        let c = convert(&html);
        assert_eq!(c.text, "deep text\n\nafter");
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].contains("256") && c.warnings[0].contains(&(n - MAX_DEPTH).to_string()),
            "{:?}",
            c.warnings
        );
        // A generous bound (the work is linear): a regression to quadratic
        // work takes minutes here.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
        // Unclosed, and nested inline, lists and tables too.
        for open in [
            "<span>",
            "<li>",
            "<table><tr><td>",
            "<ac:structured-macro ac:name=\"info\"><ac:rich-text-body>",
            "<b><i>",
        ] {
            let c = convert(&format!("{}x", open.repeat(20_000)));
            assert!(
                c.text.ends_with('x'),
                "{open}: {}",
                &c.text[c.text.len().saturating_sub(40)..]
            );
            assert!(!c.warnings.is_empty(), "{open}");
        }
    }

    #[test]
    fn skipped_content_deeper_than_the_limit_does_not_hide_the_rest() {
        let html = format!(
            "{}<script>hidden</script>shown{}",
            "<div>".repeat(MAX_DEPTH + 5),
            "</div>".repeat(MAX_DEPTH + 5)
        );
        let t = html_to_text(&html);
        assert!(t.contains("shown") && !t.contains("hidden"), "{t}");
    }
}
