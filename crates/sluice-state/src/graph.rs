//! The link graph's storage: per document its node (kind, title, URL), the
//! names it answers to and the edges it makes (to names, not ids). Written
//! in the same transaction as the document's state, so the graph holds
//! exactly the acknowledged documents; read by joining edge targets with
//! names, so an edge to a document indexed later resolves once it is.

use rusqlite::{Transaction, params};
use uuid::Uuid;

use crate::{StateError, StateStore, parse_uuid};

/// One document's part of the graph, as the engine extracted it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocGraph {
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub names: Vec<String>,
    /// (edge type, target name).
    pub edges: Vec<(String, String)>,
}

/// A document linked to one that was asked about. `access` is the stored
/// access (`DocAccess` JSON; empty when unknown): the caller checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedDoc {
    /// The document asked about.
    pub from: Uuid,
    pub doc_id: Uuid,
    pub source: String,
    pub external_id: String,
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub edge: String,
    /// `true`: `from` refers to `doc_id`; `false`: `doc_id` refers to `from`.
    pub outgoing: bool,
    pub access: String,
}

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS graph_nodes (
    pipeline TEXT NOT NULL, doc_id TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, url TEXT,
    PRIMARY KEY (pipeline, doc_id));
CREATE TABLE IF NOT EXISTS graph_names (
    pipeline TEXT NOT NULL, name TEXT NOT NULL, doc_id TEXT NOT NULL,
    PRIMARY KEY (pipeline, name, doc_id));
CREATE INDEX IF NOT EXISTS graph_names_by_doc ON graph_names (pipeline, doc_id);
CREATE TABLE IF NOT EXISTS graph_edges (
    pipeline TEXT NOT NULL, from_doc TEXT NOT NULL, edge TEXT NOT NULL, target TEXT NOT NULL,
    PRIMARY KEY (pipeline, from_doc, edge, target));
CREATE INDEX IF NOT EXISTS graph_edges_by_target ON graph_edges (pipeline, target);
";

/// Links read per document and direction: a hub (an issue a thousand
/// threads mention) costs a bounded read.
pub const MAX_LINKS_READ: usize = 200;

pub(crate) fn remove(tx: &Transaction<'_>, pipeline: &str, id: &str) -> rusqlite::Result<()> {
    for table in ["graph_nodes", "graph_names"] {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE pipeline = ?1 AND doc_id = ?2"
        ))?
        .execute(params![pipeline, id])?;
    }
    tx.prepare_cached("DELETE FROM graph_edges WHERE pipeline = ?1 AND from_doc = ?2")?
        .execute(params![pipeline, id])?;
    Ok(())
}

pub(crate) fn write(
    tx: &Transaction<'_>,
    pipeline: &str,
    id: &str,
    g: &DocGraph,
) -> rusqlite::Result<()> {
    remove(tx, pipeline, id)?;
    tx.prepare_cached(
        "INSERT INTO graph_nodes (pipeline, doc_id, kind, title, url) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![pipeline, id, g.kind, g.title, g.url])?;
    let mut name = tx.prepare_cached(
        "INSERT OR IGNORE INTO graph_names (pipeline, name, doc_id) VALUES (?1, ?2, ?3)",
    )?;
    for n in &g.names {
        name.execute(params![pipeline, n, id])?;
    }
    let mut edge = tx.prepare_cached(
        "INSERT OR IGNORE INTO graph_edges (pipeline, from_doc, edge, target) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (e, target) in &g.edges {
        edge.execute(params![pipeline, id, e, target])?;
    }
    Ok(())
}

// CROSS JOIN fixes the join order (SQLite keeps it as written): from the
// asked-about document's rows through the indexes, never a scan of a whole
// pipeline's names or edges, which the planner picks without statistics.
const LINKED_COLUMNS: &str = "d.doc_id, d.source, d.external_id, d.access, g.kind, g.title, g.url";

impl StateStore {
    /// Every indexed document linked to one of `ids`, either way, at most
    /// [`MAX_LINKS_READ`] per document and direction. Not access-checked.
    pub fn linked(&self, pipeline: &str, ids: &[Uuid]) -> Result<Vec<LinkedDoc>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.linked(pipeline, ids).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let outgoing = c.prepare_cached(&format!(
                "SELECT e.edge, {LINKED_COLUMNS} FROM graph_edges e
                 CROSS JOIN graph_names n CROSS JOIN documents d CROSS JOIN graph_nodes g
                 WHERE e.pipeline = ?1 AND e.from_doc = ?2
                   AND n.pipeline = e.pipeline AND n.name = e.target AND n.doc_id != ?2
                   AND d.pipeline = n.pipeline AND d.doc_id = n.doc_id
                   AND g.pipeline = d.pipeline AND g.doc_id = d.doc_id LIMIT {MAX_LINKS_READ}"
            ));
            let mut outgoing = outgoing?;
            let mut incoming = c.prepare_cached(&format!(
                "SELECT e.edge, {LINKED_COLUMNS} FROM graph_names n INDEXED BY graph_names_by_doc
                 CROSS JOIN graph_edges e INDEXED BY graph_edges_by_target
                 CROSS JOIN documents d CROSS JOIN graph_nodes g
                 WHERE n.pipeline = ?1 AND n.doc_id = ?2
                   AND e.pipeline = n.pipeline AND e.target = n.name AND e.from_doc != ?2
                   AND d.pipeline = e.pipeline AND d.doc_id = e.from_doc
                   AND g.pipeline = d.pipeline AND g.doc_id = d.doc_id LIMIT {MAX_LINKS_READ}"
            ))?;
            let mut out = Vec::new();
            for id in ids {
                let key = id.to_string();
                for (stmt, dir) in [(&mut outgoing, true), (&mut incoming, false)] {
                    let rows = stmt.query_map(params![pipeline, key], |r| {
                        Ok(LinkedDoc {
                            from: *id,
                            edge: r.get(0)?,
                            doc_id: parse_uuid(&r.get::<_, String>(1)?)?,
                            source: r.get(2)?,
                            external_id: r.get(3)?,
                            access: r.get(4)?,
                            kind: r.get(5)?,
                            title: r.get(6)?,
                            url: r.get(7)?,
                            outgoing: dir,
                        })
                    })?;
                    for row in rows {
                        out.push(row?);
                    }
                }
            }
            Ok(out)
        })
    }

    /// The pipelines that have a link graph here.
    pub fn pipelines(&self) -> Result<Vec<String>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.pipelines().map_err(|e| self.err(e));
        }
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT DISTINCT pipeline FROM graph_nodes ORDER BY pipeline")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Edges that resolve to an indexed document (one per edge and target
    /// document), for `sluice status`.
    pub fn resolved_edges(&self, pipeline: &str) -> Result<u64, StateError> {
        if let Some(pg) = &self.pg {
            return pg.resolved_edges(pipeline).map_err(|e| self.err(e));
        }
        self.with(|c| {
            c.query_row(
                "SELECT count(*) FROM graph_edges e CROSS JOIN graph_names n
                 WHERE e.pipeline = ?1 AND n.pipeline = e.pipeline AND n.name = e.target AND n.doc_id != e.from_doc",
                [pipeline],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
    }

    /// Edges stored (resolved or not) and names, for `sluice status` and tests.
    pub fn graph_size(&self, pipeline: &str) -> Result<(u64, u64), StateError> {
        if let Some(pg) = &self.pg {
            return pg.graph_size(pipeline).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let edges: i64 = c.query_row(
                "SELECT count(*) FROM graph_edges WHERE pipeline = ?1",
                [pipeline],
                |r| r.get(0),
            )?;
            let names: i64 = c.query_row(
                "SELECT count(*) FROM graph_names WHERE pipeline = ?1",
                [pipeline],
                |r| r.get(0),
            )?;
            Ok((edges as u64, names as u64))
        })
    }
}
