//! Maps YAML paths (`sources[0].settings.path`) to line:column, so every
//! diagnostic can point at the place to fix.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
}

#[derive(Debug, Default, Clone)]
pub struct PositionIndex {
    positions: HashMap<String, Position>,
}

impl PositionIndex {
    /// Indexes a YAML text. Syntax errors yield an empty index (the
    /// deserializer reports those with their own location).
    pub fn build(yaml: &str) -> PositionIndex {
        let mut indexer = Indexer::default();
        let mut parser = Parser::new_from_str(yaml);
        let _ = parser.load(&mut indexer, false);
        PositionIndex { positions: indexer.out }
    }

    /// Position of `path`, or of its closest indexed ancestor.
    pub fn locate(&self, path: &str) -> Option<Position> {
        let mut p = path.to_string();
        loop {
            if let Some(pos) = self.positions.get(&p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => p.clear(),
            }
        }
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Indexer {
    stack: Vec<Frame>,
    out: HashMap<String, Position>,
}

fn pos(mark: Marker) -> Position {
    Position { line: mark.line(), column: mark.col() + 1 }
}

impl Indexer {
    fn begin_value(&mut self, mark: Marker) -> String {
        let path = match self.stack.last() {
            None => String::new(),
            Some(Frame::Map { path, key }) => join(path, key.as_deref().unwrap_or("")),
            Some(Frame::Seq { path, index }) => format!("{path}[{index}]"),
        };
        self.out.entry(path.clone()).or_insert(pos(mark));
        path
    }

    fn end_value(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::MappingStart(..) => {
                let path = self.begin_value(mark);
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.begin_value(mark);
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.end_value();
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map { path, key: key @ None }) = self.stack.last_mut() {
                    // A key: point diagnostics about this entry at the key.
                    let full = join(path, &value);
                    *key = Some(value);
                    self.out.insert(full, pos(mark));
                } else {
                    self.begin_value(mark);
                    self.end_value();
                }
            }
            Event::Alias(_) => {
                self.begin_value(mark);
                self.end_value();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_and_items() {
        let yaml = "name: demo\nsources:\n  - id: a\n    settings:\n      path: x.jsonl\n  - id: b\n";
        let idx = PositionIndex::build(yaml);
        assert_eq!(idx.locate("name"), Some(Position { line: 1, column: 1 }));
        assert_eq!(idx.locate("sources[0].settings.path"), Some(Position { line: 5, column: 7 }));
        assert_eq!(idx.locate("sources[1].id"), Some(Position { line: 6, column: 5 }));
        // Unknown leaf falls back to the nearest ancestor.
        assert_eq!(idx.locate("sources[1].nope"), idx.locate("sources[1]"));
        assert_eq!(idx.locate("sources[1]").unwrap().line, 6);
    }
}
