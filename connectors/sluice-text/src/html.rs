//! HTML (and Confluence storage format) → plain text that keeps structure:
//! headings become Markdown `#` lines (the chunker splits on them), lists
//! become `- ` items, table rows become `a | b`, code keeps its lines.

use scraper::{ElementRef, Html, Node};

/// Converts an HTML fragment or document to structured text.
pub fn html_to_text(html: &str) -> String {
    let prepared = unwrap_cdata(html);
    let doc = Html::parse_fragment(&prepared);
    let mut out = Writer::default();
    for child in doc.root_element().children() {
        walk(child, &mut out, false);
    }
    out.finish()
}

/// CDATA is not HTML: html5ever would turn it into a comment and drop the
/// code inside Confluence macros, so escape it into text first.
fn unwrap_cdata(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("<![CDATA[") {
        out.push_str(&rest[..start]);
        let body = &rest[start + 9..];
        let end = body.find("]]>").unwrap_or(body.len());
        out.push_str(&body[..end].replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"));
        rest = body.get(end + 3..).unwrap_or("");
    }
    out.push_str(rest);
    out
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
        if t.ends_with(char::is_whitespace) && !t.trim().is_empty() {
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
        let mut s = self.out.trim().to_string();
        while s.contains("\n\n\n") {
            s = s.replace("\n\n\n", "\n\n");
        }
        s
    }
}

fn trim_trailing_spaces(s: &mut String) {
    while s.ends_with(' ') || s.ends_with('\t') {
        s.pop();
    }
}

fn walk(node: ego_tree::NodeRef<'_, Node>, out: &mut Writer, pre: bool) {
    match node.value() {
        Node::Text(t) => out.text(t, pre),
        Node::Element(_) => {
            let Some(el) = ElementRef::wrap(node) else { return };
            element(el, out, pre);
        }
        _ => {}
    }
}

fn children(el: ElementRef<'_>, out: &mut Writer, pre: bool) {
    for c in el.children() {
        walk(c, out, pre);
    }
}

fn element(el: ElementRef<'_>, out: &mut Writer, pre: bool) {
    let name = el.value().name().to_ascii_lowercase();
    match name.as_str() {
        "script" | "style" | "head" | "ac:parameter" | "ri:attachment" | "ri:page" | "ac:image" => {}
        // A mention: keep who was mentioned, searchable as text.
        "ri:user" => {
            let who = el.value().attr("ri:username").or(el.value().attr("ri:account-id")).or(el.value().attr("ri:userkey"));
            if let Some(w) = who {
                out.text(&format!(" @{w} "), false);
            }
        }
        "ac:emoticon" => {
            if let Some(n) = el.value().attr("ac:name") {
                out.text(&format!(" :{n}: "), false);
            }
        }
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
            let level = name[1..].parse::<usize>().unwrap_or(2);
            out.blank_line();
            out.raw(&"#".repeat(level));
            out.raw(" ");
            children(el, out, false);
            out.blank_line();
        }
        "p" | "div" | "section" | "article" | "blockquote" | "ac:rich-text-body" | "body" | "ul" | "ol" | "table" => {
            out.blank_line();
            children(el, out, pre);
            out.blank_line();
        }
        "br" => out.newline(),
        "hr" => out.blank_line(),
        "li" => {
            out.newline();
            out.raw("- ");
            children(el, out, pre);
            out.newline();
        }
        "tr" => {
            out.newline();
            let mut first = true;
            for cell in el.children().filter_map(ElementRef::wrap) {
                if !first {
                    out.raw(" | ");
                }
                first = false;
                children(cell, out, false);
            }
            out.newline();
        }
        "pre" | "ac:plain-text-body" => {
            out.blank_line();
            children(el, out, true);
            out.blank_line();
        }
        "ac:structured-macro" => {
            // Panels (info/note/warning/tip) keep a label so their text reads
            // as a callout; code and expand macros just keep their body.
            let kind = el.value().attr("ac:name").unwrap_or("");
            if matches!(kind, "info" | "note" | "warning" | "tip" | "panel") {
                out.blank_line();
                out.raw(&format!("{}: ", capitalize(kind)));
            }
            let title = el
                .children()
                .filter_map(ElementRef::wrap)
                .find(|c| c.value().name() == "ac:parameter" && c.value().attr("ac:name") == Some("title"))
                .map(|c| c.text().collect::<String>());
            if let Some(t) = title {
                out.text(&t, false);
                out.newline();
            }
            children(el, out, pre);
            out.blank_line();
        }
        _ => children(el, out, pre),
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
    fn malformed_html_does_not_panic() {
        let t = html_to_text("<p>unclosed <b>bold <li>item</table></div>&nbsp;&bogus; <![CDATA[x");
        assert!(t.contains("unclosed bold"), "{t}");
    }
}
