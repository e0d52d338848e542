//! Arrow schemas for records and chunks, and conversions to and from the
//! document model. The `records` schema is what the SQL transform sees.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, FixedSizeListBuilder, Float32Builder, ListBuilder,
    RecordBatch, StringBuilder, TimestampMicrosecondArray, TimestampMicrosecondBuilder,
    UInt32Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use chrono::{DateTime, TimeZone, Utc};

use crate::access::DocAccess;
use crate::model::{Chunk, DocKind, Document};

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn list_of_utf8() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn list_of_lists_of_utf8() -> DataType {
    DataType::List(Arc::new(Field::new("item", list_of_utf8(), true)))
}

/// Column names of the `records` table, in order.
pub const RECORD_COLUMNS: [&str; 17] = [
    "doc_id",
    "source",
    "external_id",
    "kind",
    "title",
    "body",
    "url",
    "author",
    "created_at",
    "updated_at",
    "parent_id",
    "thread_id",
    "breadcrumb",
    "labels",
    "metadata",
    "public",
    "acl",
];

/// Schema of the `records` table (one row per source record).
pub fn records_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("external_id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("body", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, true),
        Field::new("author", DataType::Utf8, true),
        Field::new("created_at", ts_type(), true),
        Field::new("updated_at", ts_type(), true),
        Field::new("parent_id", DataType::Utf8, true),
        Field::new("thread_id", DataType::Utf8, true),
        Field::new("breadcrumb", list_of_utf8(), true),
        Field::new("labels", list_of_utf8(), true),
        // Free-form metadata as a JSON object string: SQL can read it with
        // string functions, and extra output columns are folded back into it.
        Field::new("metadata", DataType::Utf8, true),
        // Access (see `access.rs`): `public` true only where the connector
        // or the source's `visibility: public` said so; otherwise `acl` is
        // the conjunction of principal sets. Both NULL means unknown, and
        // such a row is dead-lettered, never indexed as public.
        Field::new("public", DataType::Boolean, true),
        Field::new("acl", list_of_lists_of_utf8(), true),
    ]))
}

/// Schema of chunk batches (one row per chunk, with its embedding).
pub fn chunks_schema(dim: i32) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("ordinal", DataType::UInt32, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("token_count", DataType::UInt32, false),
        Field::new(
            "embedding",
            DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), dim),
            true,
        ),
    ]))
}

fn to_micros(t: &Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_micros())
}

fn list_column<'a>(rows: impl Iterator<Item = &'a Vec<String>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for row in rows {
        for v in row {
            b.values().append_value(v);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// Documents → a `records` batch.
pub fn documents_to_batch(docs: &[Document]) -> Result<RecordBatch, ArrowError> {
    let utf8 = |f: &dyn Fn(&Document) -> Option<String>| -> ArrayRef {
        let mut b = StringBuilder::new();
        for d in docs {
            b.append_option(f(d));
        }
        Arc::new(b.finish())
    };
    let ts = |f: &dyn Fn(&Document) -> Option<i64>| -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        for d in docs {
            b.append_option(f(d));
        }
        Arc::new(b.finish())
    };
    let columns: Vec<ArrayRef> = vec![
        utf8(&|d| Some(d.doc_id().to_string())),
        utf8(&|d| Some(d.source.clone())),
        utf8(&|d| Some(d.external_id.clone())),
        utf8(&|d| Some(d.kind.as_str().to_string())),
        utf8(&|d| Some(d.title.clone())),
        utf8(&|d| Some(d.body.clone())),
        utf8(&|d| d.url.clone()),
        utf8(&|d| d.author.clone()),
        ts(&|d| to_micros(&d.created_at)),
        ts(&|d| to_micros(&d.updated_at)),
        utf8(&|d| d.parent_id.clone()),
        utf8(&|d| d.thread_id.clone()),
        list_column(docs.iter().map(|d| &d.breadcrumb)),
        list_column(docs.iter().map(|d| &d.labels)),
        utf8(&|d| {
            if d.metadata.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&d.metadata).unwrap_or_default())
            }
        }),
        {
            let mut b = BooleanBuilder::new();
            for d in docs {
                b.append_option(d.access.as_ref().map(|a| *a == DocAccess::Public));
            }
            Arc::new(b.finish())
        },
        {
            let mut b = ListBuilder::new(ListBuilder::new(StringBuilder::new()));
            for d in docs {
                match &d.access {
                    Some(DocAccess::AllOf(sets)) => {
                        for set in sets {
                            for p in set {
                                b.values().values().append_value(p);
                            }
                            b.values().append(true);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Arc::new(b.finish())
        },
    ];
    RecordBatch::try_new(records_schema(), columns)
}

/// Why a transformed row could not become a document.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub row: usize,
    pub external_id: Option<String>,
    pub message: String,
    /// The row's access could not be read: its indexed version must be
    /// removed, not kept (it may be broader).
    pub access: bool,
}

const ACCESS_ERROR: &str = "access: ";

/// A `records`-shaped batch (possibly reshaped by SQL) → documents.
///
/// Required columns: `source`, `external_id`. Missing optional columns take
/// defaults; columns outside the records schema are folded into `metadata`
/// so computed columns survive the trip. Returns per-row errors instead of
/// failing the batch.
pub fn batch_to_documents(batch: &RecordBatch) -> Result<(Vec<Document>, Vec<RowError>), String> {
    let schema = batch.schema();
    let col = |name: &str| schema.index_of(name).ok().map(|i| batch.column(i).clone());
    let source = col("source")
        .ok_or("the transform output has no `source` column; keep it in the SELECT list")?;
    let external = col("external_id")
        .ok_or("the transform output has no `external_id` column; keep it in the SELECT list")?;
    let get_str = |a: &Option<ArrayRef>, row: usize| -> Result<Option<String>, String> {
        match a {
            None => Ok(None),
            Some(a) => string_at(a, row),
        }
    };
    let kind = col("kind");
    let title = col("title");
    let body = col("body");
    let url = col("url");
    let author = col("author");
    let created = col("created_at");
    let updated = col("updated_at");
    let parent = col("parent_id");
    let thread = col("thread_id");
    let breadcrumb = col("breadcrumb");
    let labels = col("labels");
    let metadata = col("metadata");
    let public = col("public");
    let acl = col("acl");
    let extra: Vec<(String, ArrayRef)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !RECORD_COLUMNS.contains(&f.name().as_str()))
        .map(|(i, f)| (f.name().clone(), batch.column(i).clone()))
        .collect();

    let mut docs = Vec::with_capacity(batch.num_rows());
    let mut errors = Vec::new();
    for row in 0..batch.num_rows() {
        let ext = string_at(&external, row).ok().flatten();
        let result = (|| -> Result<Document, String> {
            let src = string_at(&source, row)?.ok_or("`source` is null")?;
            let ext = ext.clone().ok_or("`external_id` is null")?;
            if ext.is_empty() {
                return Err("`external_id` is empty".into());
            }
            let kind = match get_str(&kind, row)? {
                Some(k) => k.parse::<DocKind>()?,
                None => DocKind::Document,
            };
            let mut d = Document::new(src, ext, kind);
            d.title = get_str(&title, row)?.unwrap_or_default();
            d.body = get_str(&body, row)?.unwrap_or_default();
            d.url = get_str(&url, row)?;
            d.author = get_str(&author, row)?;
            d.created_at = time_at(&created, row)?;
            d.updated_at = time_at(&updated, row)?;
            d.parent_id = get_str(&parent, row)?;
            d.thread_id = get_str(&thread, row)?;
            d.breadcrumb = list_at(&breadcrumb, row)?;
            d.labels = list_at(&labels, row)?;
            d.access = access_at(&public, &acl, row).map_err(|e| format!("{ACCESS_ERROR}{e}"))?;
            if let Some(m) = get_str(&metadata, row)? {
                let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(&m)
                    .map_err(|e| format!("`metadata` is not a JSON object: {e}"))?;
                d.metadata = map;
            }
            for (name, arr) in &extra {
                if let Some(v) = json_at(arr, row)? {
                    d.metadata.insert(name.clone(), v);
                }
            }
            Ok(d)
        })();
        match result {
            Ok(d) => docs.push(d),
            Err(message) => errors.push(RowError {
                row,
                external_id: ext,
                access: message.starts_with(ACCESS_ERROR),
                message,
            }),
        }
    }
    Ok((docs, errors))
}

fn string_at(a: &ArrayRef, row: usize) -> Result<Option<String>, String> {
    if a.is_null(row) {
        return Ok(None);
    }
    match a.data_type() {
        DataType::Utf8 => Ok(Some(a.as_string::<i32>().value(row).to_string())),
        DataType::LargeUtf8 => Ok(Some(a.as_string::<i64>().value(row).to_string())),
        DataType::Utf8View => Ok(Some(a.as_string_view().value(row).to_string())),
        _ => {
            let v =
                arrow::util::display::array_value_to_string(a, row).map_err(|e| e.to_string())?;
            Ok(Some(v))
        }
    }
}

fn time_at(a: &Option<ArrayRef>, row: usize) -> Result<Option<DateTime<Utc>>, String> {
    let Some(a) = a else { return Ok(None) };
    if a.is_null(row) {
        return Ok(None);
    }
    match a.data_type() {
        DataType::Timestamp(_, _) => {
            let casted = arrow::compute::cast(a, &ts_type()).map_err(|e| e.to_string())?;
            let ts = casted
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .ok_or("timestamp cast failed")?;
            Ok(Utc.timestamp_micros(ts.value(row)).single())
        }
        _ => {
            let s = string_at(a, row)?.unwrap_or_default();
            parse_time(&s).map(Some)
        }
    }
}

/// Parses the timestamp shapes the source systems emit (RFC 3339, Jira's
/// `+0000` offsets, epoch seconds such as Slack's `ts`).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Ok(t.and_utc());
    }
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 && secs < 1e11 {
            let micros = (secs * 1e6).round() as i64;
            if let Some(t) = Utc.timestamp_micros(micros).single() {
                return Ok(t);
            }
        }
    }
    Err(format!(
        "`{s}` is not a timestamp (expected RFC 3339, e.g. 2025-01-31T12:00:00Z)"
    ))
}

fn list_at(a: &Option<ArrayRef>, row: usize) -> Result<Vec<String>, String> {
    let Some(a) = a else { return Ok(Vec::new()) };
    if a.is_null(row) {
        return Ok(Vec::new());
    }
    match a.data_type() {
        DataType::List(_) => {
            let values = a.as_list::<i32>().value(row);
            (0..values.len())
                .filter_map(|i| string_at(&values, i).transpose())
                .collect()
        }
        DataType::LargeList(_) => {
            let values = a.as_list::<i64>().value(row);
            (0..values.len())
                .filter_map(|i| string_at(&values, i).transpose())
                .collect()
        }
        _ => Ok(string_at(a, row)?
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect()),
    }
}

/// The row's access from the `public` and `acl` columns; `None` when
/// neither says (the engine dead-letters that).
fn access_at(
    public: &Option<ArrayRef>,
    acl: &Option<ArrayRef>,
    row: usize,
) -> Result<Option<DocAccess>, String> {
    if let Some(p) = public {
        if !p.is_null(row) {
            let value = match p.data_type() {
                DataType::Boolean => p.as_boolean().value(row),
                other => return Err(format!("`public` must be a boolean, not {other}")),
            };
            if value {
                return Ok(Some(DocAccess::Public));
            }
        }
    }
    let Some(a) = acl else { return Ok(None) };
    if a.is_null(row) {
        return Ok(None);
    }
    let outer = match a.data_type() {
        DataType::List(_) => a.as_list::<i32>().value(row),
        DataType::LargeList(_) => a.as_list::<i64>().value(row),
        other => {
            return Err(format!(
                "`acl` must be a list of principal lists (List<List<Utf8>>), not {other}"
            ));
        }
    };
    if !matches!(
        outer.data_type(),
        DataType::List(_) | DataType::LargeList(_)
    ) {
        return Err(format!(
            "`acl` must be a list of principal lists (List<List<Utf8>>), not a list of {}",
            outer.data_type()
        ));
    }
    let mut sets = Vec::with_capacity(outer.len());
    for i in 0..outer.len() {
        if outer.is_null(i) {
            return Err(format!("`acl` set {i} is NULL"));
        }
        sets.push(list_at(&Some(outer.clone()), i)?);
    }
    Ok(Some(DocAccess::AllOf(sets)))
}

fn json_at(a: &ArrayRef, row: usize) -> Result<Option<serde_json::Value>, String> {
    if a.is_null(row) {
        return Ok(None);
    }
    use arrow::datatypes::DataType as D;
    let v = match a.data_type() {
        D::Boolean => serde_json::Value::Bool(a.as_boolean().value(row)),
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => {
            let s =
                arrow::util::display::array_value_to_string(a, row).map_err(|e| e.to_string())?;
            s.parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or(serde_json::Value::String(s))
        }
        D::Float16 | D::Float32 | D::Float64 => {
            let s =
                arrow::util::display::array_value_to_string(a, row).map_err(|e| e.to_string())?;
            s.parse::<f64>()
                .map(serde_json::Value::from)
                .unwrap_or(serde_json::Value::String(s))
        }
        D::List(_) | D::LargeList(_) => serde_json::Value::from(list_at(&Some(a.clone()), row)?),
        _ => serde_json::Value::String(string_at(a, row)?.unwrap_or_default()),
    };
    Ok(Some(v))
}

/// Chunks (+ optional embeddings, in the same order) → a chunk batch.
pub fn chunks_to_batch(
    chunks: &[Chunk],
    vectors: Option<&[Vec<f32>]>,
    dim: i32,
) -> Result<RecordBatch, ArrowError> {
    let mut chunk_id = StringBuilder::new();
    let mut doc_id = StringBuilder::new();
    let mut ordinal = UInt32Builder::new();
    let mut text = StringBuilder::new();
    let mut hash = StringBuilder::new();
    let mut tokens = UInt32Builder::new();
    let mut emb = FixedSizeListBuilder::new(Float32Builder::new(), dim);
    for (i, c) in chunks.iter().enumerate() {
        chunk_id.append_value(c.chunk_id.to_string());
        doc_id.append_value(c.doc_id.to_string());
        ordinal.append_value(c.ordinal);
        text.append_value(&c.text);
        hash.append_value(&c.content_hash);
        tokens.append_value(c.token_count);
        match vectors.and_then(|v| v.get(i)) {
            Some(v) if v.len() == dim as usize => {
                emb.values().append_slice(v);
                emb.append(true);
            }
            Some(v) => {
                return Err(ArrowError::InvalidArgumentError(format!(
                    "embedding of chunk {} has {} dims, expected {dim}",
                    c.chunk_id,
                    v.len()
                )));
            }
            None => {
                emb.values().append_nulls(dim as usize);
                emb.append(false);
            }
        }
    }
    RecordBatch::try_new(
        chunks_schema(dim),
        vec![
            Arc::new(chunk_id.finish()),
            Arc::new(doc_id.finish()),
            Arc::new(ordinal.finish()),
            Arc::new(text.finish()),
            Arc::new(hash.finish()),
            Arc::new(tokens.finish()),
            Arc::new(emb.finish()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        let mut d = Document::new("conf", "42", DocKind::Page);
        d.title = "Runbook".into();
        d.body = "Restart the pods.".into();
        d.url = Some("https://x/42".into());
        d.updated_at = Some(parse_time("2025-09-14T10:22:31.000Z").unwrap());
        d.breadcrumb = vec!["Eng".into(), "SRE".into()];
        d.labels = vec!["runbook".into()];
        d.access = Some(
            DocAccess::any_of(["conf:wiki:group:sre"])
                .and(["conf:wiki:user:ann", "conf:wiki:user:bob"]),
        );
        d.metadata.insert("space".into(), serde_json::json!("ENG"));
        d
    }

    #[test]
    fn round_trip_preserves_every_field() {
        let mut public = Document::new("conf", "44", DocKind::Page);
        public.access = Some(DocAccess::Public);
        let docs = vec![
            sample(),
            Document::new("conf", "43", DocKind::Comment),
            public,
        ];
        let batch = documents_to_batch(&docs).unwrap();
        assert_eq!(batch.schema(), records_schema());
        assert_eq!(batch.num_rows(), 3);
        let (back, errors) = batch_to_documents(&batch).unwrap();
        assert!(errors.is_empty());
        assert_eq!(back, docs);
    }

    #[test]
    fn missing_required_column_is_a_clear_error() {
        let batch = documents_to_batch(&[sample()]).unwrap();
        let idx = batch.schema().index_of("external_id").unwrap();
        let projected = batch
            .project(
                &(0..batch.num_columns())
                    .filter(|i| *i != idx)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let err = batch_to_documents(&projected).unwrap_err();
        assert!(err.contains("external_id"), "{err}");
    }

    #[test]
    fn bad_kind_is_a_row_error_not_a_batch_error() {
        let batch = documents_to_batch(&[sample(), sample()]).unwrap();
        let mut cols = batch.columns().to_vec();
        let mut b = StringBuilder::new();
        b.append_value("page");
        b.append_value("spaceship");
        cols[3] = Arc::new(b.finish());
        let batch = RecordBatch::try_new(batch.schema(), cols).unwrap();
        let (docs, errors) = batch_to_documents(&batch).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, 1);
        assert!(errors[0].message.contains("spaceship"));
    }

    #[test]
    fn parses_source_time_formats() {
        let a = parse_time("2025-08-01T09:12:44.000+0000").unwrap();
        let b = parse_time("2025-08-01T09:12:44Z").unwrap();
        assert_eq!(a, b);
        let slack = parse_time("1726152331.004519").unwrap();
        assert_eq!(slack.timestamp(), 1726152331);
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn chunk_batch_has_embeddings() {
        let id = crate::ids::doc_id("s", "1");
        let chunks = vec![
            Chunk::new(id, 0, "a".into(), 1),
            Chunk::new(id, 1, "b".into(), 1),
        ];
        let b = chunks_to_batch(&chunks, Some(&[vec![0.0; 4], vec![1.0; 4]]), 4).unwrap();
        assert_eq!(b.num_rows(), 2);
        assert!(chunks_to_batch(&chunks, Some(&[vec![0.0; 3], vec![1.0; 4]]), 4).is_err());
    }
}
