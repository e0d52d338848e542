//! The user's DataFusion SQL over the `records` table, run on each batch.

use arrow::array::RecordBatch;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{SessionConfig, SessionContext};
use sluice_core::arrow_conv::records_schema;

pub struct SqlTransform {
    sql: String,
    ctx: SessionContext,
}

/// A transform is one query over the batch: DDL (`CREATE EXTERNAL TABLE …
/// LOCATION '/etc/passwd'` reads any file the process can, and a FIFO
/// location hangs), DML and statements (`SET`, `COPY`) are refused at
/// planning, so neither `validate` nor a run executes them. File access is
/// only through configured sources.
fn select_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

impl SqlTransform {
    /// Plans the query against the `records` schema so mistakes surface
    /// before any data moves (unknown columns, syntax, dropped key columns).
    pub async fn new(sql: &str) -> Result<SqlTransform, String> {
        // One partition: batches are small and order should be stable.
        let config = SessionConfig::new().with_target_partitions(1);
        let ctx = SessionContext::new_with_config(config);
        let t = SqlTransform {
            sql: sql.to_string(),
            ctx,
        };
        let empty = RecordBatch::new_empty(records_schema());
        t.ctx
            .register_batch("records", empty)
            .map_err(|e| e.to_string())?;
        let df = t
            .ctx
            .sql_with_options(sql, select_only())
            .await
            .map_err(|e| format!("invalid SQL: {e}; a transform is one SELECT over `records`"))?;
        let schema = df.schema();
        for required in ["source", "external_id"] {
            if schema.field_with_unqualified_name(required).is_err() {
                return Err(format!(
                    "the query's output has no `{required}` column; keep `{required}` in the SELECT list (e.g. `SELECT *, … FROM records`)"
                ));
            }
        }
        t.ctx
            .deregister_table("records")
            .map_err(|e| e.to_string())?;
        Ok(t)
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub async fn apply(&self, batch: RecordBatch) -> Result<Vec<RecordBatch>, String> {
        self.ctx
            .deregister_table("records")
            .map_err(|e| e.to_string())?;
        self.ctx
            .register_batch("records", batch)
            .map_err(|e| e.to_string())?;
        let df = self
            .ctx
            .sql_with_options(&self.sql, select_only())
            .await
            .map_err(|e| format!("transform failed: {e}"))?;
        let out = df
            .collect()
            .await
            .map_err(|e| format!("transform failed: {e}"))?;
        self.ctx
            .deregister_table("records")
            .map_err(|e| e.to_string())?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use sluice_core::arrow_conv::{batch_to_documents, documents_to_batch};
    use sluice_core::{DocKind, Document};

    use super::*;

    fn docs() -> Vec<Document> {
        let mut a = Document::new("s", "1", DocKind::Issue);
        a.title = "Bug".into();
        a.body = "crash".into();
        a.labels = vec!["wontfix".into()];
        let mut b = Document::new("s", "2", DocKind::Issue);
        b.title = "Feature".into();
        b.body = "idea".into();
        vec![a, b]
    }

    #[tokio::test]
    async fn filters_projects_and_computes() {
        let t = SqlTransform::new(
            "SELECT source, external_id, kind, upper(title) AS title, body || ' (triaged)' AS body, \
             length(body) AS body_len FROM records WHERE NOT array_has(labels, 'wontfix')",
        )
        .await
        .unwrap();
        let out = t.apply(documents_to_batch(&docs()).unwrap()).await.unwrap();
        let mut all = Vec::new();
        for b in &out {
            let (d, errs) = batch_to_documents(b).unwrap();
            assert!(errs.is_empty(), "{errs:?}");
            all.extend(d);
        }
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].external_id, "2");
        assert_eq!(all[0].title, "FEATURE");
        assert_eq!(all[0].body, "idea (triaged)");
        assert_eq!(all[0].metadata["body_len"], serde_json::json!(4));
        // Reusable across batches.
        let again = t.apply(documents_to_batch(&docs()).unwrap()).await.unwrap();
        assert_eq!(again.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    }

    #[tokio::test]
    async fn bad_sql_is_reported_before_running() {
        let err = SqlTransform::new("SELECT nope FROM records")
            .await
            .err()
            .unwrap();
        assert!(err.contains("invalid SQL") && err.contains("nope"), "{err}");
        let err = SqlTransform::new("SELECT title FROM records")
            .await
            .err()
            .unwrap();
        assert!(err.contains("`source`"), "{err}");
        let err = SqlTransform::new("SELEC * FROM records")
            .await
            .err()
            .unwrap();
        assert!(err.contains("invalid SQL"), "{err}");
    }

    #[tokio::test]
    async fn statements_with_side_effects_are_refused_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret.csv");
        std::fs::write(&secret, "user,password\nroot,hunter2\n").unwrap();
        for sql in [
            format!(
                "CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '{}'",
                secret.display()
            ),
            "CREATE TABLE t AS SELECT * FROM records".to_string(),
            "CREATE VIEW v AS SELECT * FROM records".to_string(),
            "INSERT INTO records SELECT * FROM records".to_string(),
            format!(
                "COPY (SELECT * FROM records) TO '{}/out.csv'",
                dir.path().display()
            ),
            "SET datafusion.execution.batch_size = 1".to_string(),
            "DROP TABLE records".to_string(),
            format!("SELECT * FROM '{}'", secret.display()),
        ] {
            let err = SqlTransform::new(&sql)
                .await
                .err()
                .unwrap_or_else(|| panic!("accepted: {sql}"));
            assert!(err.contains("invalid SQL"), "{sql}: {err}");
            assert!(
                !err.contains("hunter2") && !err.contains("password"),
                "{sql}: the file's content or layout leaked: {err}"
            );
        }
        assert!(!dir.path().join("out.csv").exists(), "COPY ran");
    }
}
