//! File formats → JSON records (one per JSONL line / CSV row / Parquet row,
//! one per Markdown/HTML/text file), each with its location suffix.

use object_store::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::mapping::{Exprs, FieldMapping, TextFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Jsonl,
    Csv,
    Parquet,
    Markdown,
    Html,
    Text,
}

impl FileFormat {
    pub fn from_path(p: &str) -> Option<FileFormat> {
        let ext = p.rsplit('.').next()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "jsonl" | "ndjson" => FileFormat::Jsonl,
            "csv" => FileFormat::Csv,
            "parquet" => FileFormat::Parquet,
            "md" | "markdown" => FileFormat::Markdown,
            "html" | "htm" => FileFormat::Html,
            "txt" => FileFormat::Text,
            _ => return None,
        })
    }

    fn is_whole_file(self) -> bool {
        matches!(
            self,
            FileFormat::Markdown | FileFormat::Html | FileFormat::Text
        )
    }
}

type Records = Vec<(String, Result<Value, String>)>;

/// Parses one file. `Err` means the whole file is unreadable; per-record
/// problems are returned inline so the rest of the file still indexes.
pub fn parse(
    format: FileFormat,
    bytes: &[u8],
    relative: &str,
    meta: &ObjectMeta,
) -> Result<Records, String> {
    match format {
        FileFormat::Jsonl => Ok(parse_jsonl(bytes)),
        FileFormat::Csv => parse_csv(bytes),
        FileFormat::Parquet => parse_parquet(bytes),
        f if f.is_whole_file() => {
            let text =
                String::from_utf8(bytes.to_vec()).map_err(|e| format!("not UTF-8 text: {e}"))?;
            Ok(vec![(
                String::new(),
                Ok(whole_file_record(f, &text, relative, meta)),
            )])
        }
        _ => Err("unsupported format".into()),
    }
}

fn parse_jsonl(bytes: &[u8]) -> Records {
    let mut out = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let loc = format!(":{}", i + 1);
        let rec = match serde_json::from_slice::<Value>(line) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err("line is JSON but not an object".to_string()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        };
        out.push((loc, rec));
    }
    out
}

fn parse_csv(bytes: &[u8]) -> Result<Records, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read CSV header: {e}"))?
        .clone();
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let loc = format!(":{}", i + 2);
        let rec = row.map_err(|e| format!("invalid CSV row: {e}")).map(|r| {
            let mut m = Map::new();
            for (h, v) in headers.iter().zip(r.iter()) {
                m.insert(h.to_string(), Value::String(v.to_string()));
            }
            Value::Object(m)
        });
        out.push((loc, rec));
    }
    Ok(out)
}

fn parse_parquet(bytes: &[u8]) -> Result<Records, String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let data = bytes::Bytes::copy_from_slice(bytes);
    let reader = ParquetRecordBatchReaderBuilder::try_new(data)
        .and_then(|b| b.with_batch_size(1024).build())
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let mut out = Vec::new();
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| format!("corrupt Parquet data: {e}"))?;
        let mut writer = arrow::json::ArrayWriter::new(Vec::new());
        writer
            .write(&batch)
            .map_err(|e| format!("cannot convert Parquet rows: {e}"))?;
        writer.finish().map_err(|e| e.to_string())?;
        let rows: Vec<Value> =
            serde_json::from_slice(&writer.into_inner()).map_err(|e| e.to_string())?;
        for r in rows {
            row += 1;
            out.push((format!("#row{row}"), Ok(r)));
        }
    }
    Ok(out)
}

/// The record field carrying what converting a whole file gave up on.
pub const CONVERSION_WARNINGS: &str = "_conversion_warnings";

fn whole_file_record(format: FileFormat, text: &str, relative: &str, meta: &ObjectMeta) -> Value {
    let stem = relative.rsplit('/').next().unwrap_or(relative);
    let stem = stem
        .rsplit_once('.')
        .map_or(stem, |(s, _)| s)
        .replace(['-', '_'], " ");
    let mut warnings = Vec::new();
    let (title, body) = match format {
        FileFormat::Markdown => {
            let title = text
                .lines()
                .find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_string()))
                .unwrap_or_else(|| stem.clone());
            (title, text.to_string())
        }
        FileFormat::Html => {
            // One linear pass over the file (no DOM): title and body text.
            let c = sluice_text::html::convert(text);
            warnings = c.warnings;
            (c.title.unwrap_or_else(|| stem.clone()), c.text)
        }
        _ => (stem.clone(), text.to_string()),
    };
    serde_json::json!({
        "path": relative,
        "title": title,
        "text": body,
        "updated_at": meta.last_modified.to_rfc3339(),
        "size": meta.size,
        CONVERSION_WARNINGS: warnings,
    })
}

/// Mapping used for fields the pipeline does not map. Record formats look
/// for the usual column names (BEIR's `_id` included).
pub fn default_mapping(format: FileFormat) -> FieldMapping {
    let one = |s: &str| Some(Exprs::One(s.into()));
    let many = |v: &[&str]| Some(Exprs::Many(v.iter().map(|s| s.to_string()).collect()));
    if format.is_whole_file() {
        FieldMapping {
            id: one("path"),
            title: one("title"),
            text: one("text"),
            updated_at: one("updated_at"),
            ..Default::default()
        }
    } else {
        FieldMapping {
            id: many(&["id", "_id"]),
            title: one("title"),
            text: many(&["text", "body"]),
            url: one("url"),
            author: one("author"),
            created_at: one("created_at"),
            updated_at: one("updated_at"),
            labels: one("labels"),
            ..Default::default()
        }
    }
}

pub fn default_text_format(format: FileFormat, configured: TextFormat) -> TextFormat {
    match format {
        FileFormat::Markdown => TextFormat::Markdown,
        // Whole HTML files were converted when read.
        FileFormat::Html | FileFormat::Text => TextFormat::Plain,
        _ => configured,
    }
}
