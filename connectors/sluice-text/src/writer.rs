//! The writer every structured-text converter shares (storage format,
//! HTML, ADF, wiki markup): HTML's whitespace collapsing, breaks that are
//! requested rather than written (so blocks are separated by exactly one
//! blank line and nothing trails), list markers and indentation, table
//! cells, labels and fenced code. See connectors/README.md, "What a reader
//! sees".

/// Writes words with HTML's whitespace collapsing. Breaks are requested,
/// not written: the strongest pending one is written before the next word,
/// so nothing trails and blocks are separated by exactly one blank line.
#[derive(Default)]
pub struct TextWriter {
    out: String,
    /// Whitespace seen since the last word (a word break when the next
    /// word is on the same line).
    pending_space: bool,
    /// 0: none, 1: a new line, 2: a blank line.
    brk: u8,
    /// A list marker with its indentation, written before the next word.
    marker: Option<String>,
    /// Heading hashes or a panel label, written before the next word.
    label: String,
    /// Where the lines of the current list item start.
    indent: usize,
    /// Open table cells (and captions): breaks become spaces, markers are dropped.
    pub flat: usize,
    /// A title was just written: the next block starts on the next line,
    /// not after a blank one.
    tight: bool,
}

impl TextWriter {
    pub fn brk(&mut self, level: u8) {
        if self.flat > 0 {
            self.pending_space = true;
        } else {
            self.brk = self.brk.max(if self.tight { level.min(1) } else { level });
        }
    }

    /// Writes `title` as a line of its own, with what follows on the next line.
    pub fn title(&mut self, title: &str) {
        self.text(title);
        self.brk(1);
        self.tight = self.flat == 0;
    }

    pub fn space(&mut self) {
        self.pending_space = true;
    }

    pub fn heading(&mut self, level: usize) {
        if self.flat == 0 {
            self.label = format!("{} {}", "#".repeat(level.clamp(1, 6)), self.label);
        }
    }

    pub fn label(&mut self, label: &str) {
        if self.flat == 0 {
            self.label = label.to_string();
        }
    }

    pub fn item(&mut self, indent: usize, marker: String) {
        if self.flat > 0 {
            self.pending_space = true;
            return;
        }
        self.marker = Some(format!("{}{marker}", " ".repeat(indent)));
        self.indent = indent + marker.chars().count();
    }

    pub fn end_item(&mut self, parent_indent: usize) {
        // An item with no text leaves no line.
        self.marker = None;
        self.indent = parent_indent;
    }

    /// A Markdown task item: its pending `- ` marker becomes `[x] ` or `[ ] `.
    pub fn task_marker(&mut self, done: bool) {
        if let Some(m) = &mut self.marker {
            if let Some(at) = m.rfind("- ") {
                m.replace_range(at..at + 2, if done { "[x] " } else { "[ ] " });
            }
        }
    }

    pub fn check_pending_task(&mut self) {
        if let Some(m) = &mut self.marker {
            if let Some(at) = m.rfind("[ ] ") {
                m.replace_range(at..at + 4, "[x] ");
            }
        }
    }

    pub fn cell(&mut self, separated: bool) {
        if self.flat == 0 {
            // The row's line starts here, even when the first cell is empty.
            self.flush();
        }
        if separated {
            trim_trailing_spaces(&mut self.out);
            self.out.push_str(" | ");
        }
        self.pending_space = false;
        self.flat += 1;
    }

    pub fn end_cell(&mut self) {
        self.flat = self.flat.saturating_sub(1);
        if self.flat > 0 {
            self.pending_space = true;
        }
    }

    /// Writes the pending break, the indentation or marker, and the label.
    pub fn flush(&mut self) {
        if self.flat > 0 {
            return;
        }
        self.tight = false;
        if self.brk > 0 {
            trim_trailing_spaces(&mut self.out);
            if !self.out.is_empty() {
                if !self.out.ends_with('\n') {
                    self.out.push('\n');
                }
                if self.brk == 2 && !self.out.ends_with("\n\n") {
                    self.out.push('\n');
                }
            }
            match self.marker.take() {
                Some(m) => self.out.push_str(&m),
                None => self.out.push_str(&" ".repeat(self.indent)),
            }
            self.brk = 0;
            self.pending_space = false;
        } else if let Some(m) = self.marker.take() {
            if !self.out.is_empty() && !self.out.ends_with('\n') {
                self.out.push('\n');
            }
            self.out.push_str(&m);
            self.pending_space = false;
        }
        if !self.label.is_empty() {
            let l = std::mem::take(&mut self.label);
            self.out.push_str(&l);
            self.pending_space = false;
        }
    }

    pub fn text(&mut self, t: &str) {
        if t.starts_with(char::is_whitespace) {
            self.pending_space = true;
        }
        for (i, word) in t.split_whitespace().enumerate() {
            if i > 0 {
                self.pending_space = true;
            }
            self.flush();
            if self.pending_space && !self.out.is_empty() && !self.out.ends_with(['\n', ' ']) {
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

    /// A verbatim block: fenced code, or the lines as written.
    pub fn verbatim(&mut self, text: &str, fence: Option<&str>) {
        let body = trim_blank_lines(text);
        if body.is_empty() {
            return;
        }
        if self.flat > 0 {
            self.text(body);
            return;
        }
        self.brk = self.brk.max(1);
        self.pending_space = false;
        let indent = " ".repeat(self.indent);
        let mut lines = Vec::new();
        if let Some(lang) = fence {
            lines.push(format!("```{lang}"));
        }
        lines.extend(body.lines().map(|l| l.trim_end().to_string()));
        if fence.is_some() {
            lines.push("```".into());
        }
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                let label = std::mem::take(&mut self.label);
                self.flush();
                if fence.is_none() {
                    self.out.push_str(&label);
                }
            } else {
                self.out.push('\n');
                if !line.is_empty() {
                    self.out.push_str(&indent);
                }
            }
            self.out.push_str(line);
        }
    }

    pub fn finish(self) -> String {
        let mut out = self.out;
        trim_trailing_spaces(&mut out);
        out.trim_matches('\n').to_string()
    }
}

pub fn trim_blank_lines(s: &str) -> &str {
    let s = s.trim_end();
    let start = s
        .char_indices()
        .take_while(|(_, c)| c.is_whitespace())
        .filter(|(_, c)| *c == '\n')
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0);
    &s[start..]
}

pub fn trim_trailing_spaces(s: &mut String) {
    while s.ends_with(' ') || s.ends_with('\t') {
        s.pop();
    }
}
