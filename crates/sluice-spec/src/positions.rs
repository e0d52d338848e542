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

/// Bounds on a pipeline file, checked in one linear pass over its events
/// before anything else reads it: nesting past these made the YAML
/// libraries quadratic (100,000 levels took 59 s) and aliases can expand a
/// small file into a huge value (billion laughs). Real pipelines nest a
/// dozen levels and use a handful of aliases.
pub const MAX_DEPTH: usize = 64;
pub const MAX_ALIASES: usize = 100;
pub const MAX_BYTES: usize = 1 << 20;

/// Where and why a pipeline text is refused before parsing, if it is.
pub fn guard(yaml: &str) -> Result<(), (Option<Position>, String)> {
    if yaml.len() > MAX_BYTES {
        return Err((
            None,
            format!(
                "the file is {} bytes; a pipeline file is at most {MAX_BYTES}",
                yaml.len()
            ),
        ));
    }
    if yaml.trim().is_empty() {
        return Err((
            Some(Position { line: 1, column: 1 }),
            "the file is empty".into(),
        ));
    }
    let at = |m: &Marker| {
        Some(Position {
            line: m.line(),
            column: m.col() + 1,
        })
    };
    let mut parser = Parser::new_from_str(yaml);
    let (mut depth, mut aliases) = (0usize, 0usize);
    loop {
        match parser.next_token() {
            // The scanner's own bound on flow nesting (`[[[…`) says the same.
            Err(e) if e.info().contains("recursion limit") => {
                return Err((
                    at(e.marker()),
                    format!("nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            Err(e) => return Err((at(e.marker()), format!("invalid YAML: {}", e.info()))),
            Ok((Event::StreamEnd, _)) => return Ok(()),
            Ok((Event::MappingStart(..) | Event::SequenceStart(..), m)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err((at(&m), format!("nested deeper than {MAX_DEPTH} levels")));
                }
            }
            Ok((Event::MappingEnd | Event::SequenceEnd, _)) => depth = depth.saturating_sub(1),
            Ok((Event::Alias(_), m)) => {
                aliases += 1;
                if aliases > MAX_ALIASES {
                    return Err((at(&m), format!("more than {MAX_ALIASES} aliases (`*name`)")));
                }
            }
            Ok(_) => {}
        }
    }
}

impl PositionIndex {
    /// Indexes a YAML text. Syntax errors yield an empty index (the
    /// deserializer reports those with their own location).
    pub fn build(yaml: &str) -> PositionIndex {
        let mut indexer = Indexer::default();
        let mut parser = Parser::new_from_str(yaml);
        let _ = parser.load(&mut indexer, false);
        PositionIndex {
            positions: indexer.out,
        }
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
    Position {
        line: mark.line(),
        column: mark.col() + 1,
    }
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
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
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
                if let Some(Frame::Map {
                    path,
                    key: key @ None,
                }) = self.stack.last_mut()
                {
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
        let yaml =
            "name: demo\nsources:\n  - id: a\n    settings:\n      path: x.jsonl\n  - id: b\n";
        let idx = PositionIndex::build(yaml);
        assert_eq!(idx.locate("name"), Some(Position { line: 1, column: 1 }));
        assert_eq!(
            idx.locate("sources[0].settings.path"),
            Some(Position { line: 5, column: 7 })
        );
        assert_eq!(
            idx.locate("sources[1].id"),
            Some(Position { line: 6, column: 5 })
        );
        // Unknown leaf falls back to the nearest ancestor.
        assert_eq!(idx.locate("sources[1].nope"), idx.locate("sources[1]"));
        assert_eq!(idx.locate("sources[1]").unwrap().line, 6);
    }

    #[test]
    fn hostile_files_are_refused_with_their_place_in_linear_time() {
        let started = std::time::Instant::now();
        let deep = format!(
            "name: x\nsources: {}1{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let (pos, why) = guard(&deep).unwrap_err();
        assert!(why.contains("nested deeper than 64"), "{why}");
        assert_eq!(pos.map(|p| p.line), Some(2));
        let indented: String = (0..5_000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i % 100)))
            .collect();
        assert!(guard(&indented).unwrap_err().1.contains("nested deeper"));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        // Billion laughs: each level doubles; refused by the alias count.
        let mut bomb = String::from("a: &a [x, x]\n");
        for i in 1..30 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*{p}, *{p}, *{p}, *{p}]\n",
                p = if i == 1 {
                    "a".to_string()
                } else {
                    format!("a{}", i - 1)
                }
            ));
        }
        let (pos, why) = guard(&bomb).unwrap_err();
        assert!(why.contains("aliases"), "{why}");
        assert!(pos.is_some_and(|p| p.line > 1), "{pos:?}");
        assert_eq!(guard("  \n").unwrap_err().1, "the file is empty");
        assert!(
            guard("name: x\nsources: [a, *nope]\n")
                .unwrap_err()
                .1
                .contains("invalid YAML"),
            "an unknown alias is named"
        );
        assert!(guard("name: x\nsources:\n  - id: a\n").is_ok());
    }
}
