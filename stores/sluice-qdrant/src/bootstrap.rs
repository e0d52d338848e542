//! Collection bootstrap: create the collection from config when missing,
//! otherwise check that it can hold this model's vectors; then make sure
//! every filter field has a payload index.

use qdrant_client::Qdrant;
use qdrant_client::qdrant::quantization_config::Quantization;
use qdrant_client::qdrant::vectors_config::Config;
use qdrant_client::qdrant::{
    BinaryQuantizationBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    Distance, FieldType, HnswConfigDiffBuilder, ScalarQuantizationBuilder, VectorParamsBuilder,
};
use sluice_spec::{QdrantDistance, QdrantQuantizationSpec, QdrantSinkSpec};

use crate::retry::with_retry;

/// Payload fields search and deletes filter on, with their index types.
pub const PAYLOAD_INDEXES: [(&str, FieldType); 12] = [
    ("doc_id", FieldType::Keyword),
    ("source", FieldType::Keyword),
    ("kind", FieldType::Keyword),
    ("labels", FieldType::Keyword),
    // sluice_core::access::MAX_ACL_SETS slots (checked in a test).
    ("acl_0", FieldType::Keyword),
    ("acl_1", FieldType::Keyword),
    ("acl_2", FieldType::Keyword),
    ("acl_3", FieldType::Keyword),
    ("updated_at", FieldType::Datetime),
    ("ordinal", FieldType::Integer),
    // The link graph on first chunks (`related`); `link_kinds` is only read.
    ("link_names", FieldType::Keyword),
    ("link_targets", FieldType::Keyword),
];

/// What bootstrap found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionCheck {
    Created,
    Existing { points: u64 },
}

pub(crate) fn distance(d: QdrantDistance) -> Distance {
    match d {
        QdrantDistance::Cosine => Distance::Cosine,
        QdrantDistance::Dot => Distance::Dot,
        QdrantDistance::Euclid => Distance::Euclid,
        QdrantDistance::Manhattan => Distance::Manhattan,
    }
}

fn distance_name(d: i32) -> String {
    Distance::try_from(d)
        .map(|d| d.as_str_name().to_ascii_lowercase())
        .unwrap_or_else(|_| format!("#{d}"))
}

pub(crate) async fn ensure_collection(
    client: &Qdrant,
    spec: &QdrantSinkSpec,
    collection: &str,
    dim: usize,
) -> Result<CollectionCheck, (String, bool)> {
    let attempts = spec.max_attempts;
    let fail = |what: &str| {
        let what = what.to_string();
        move |(e, transient): (qdrant_client::QdrantError, bool)| {
            (format!("{what} `{collection}`: {e}"), transient)
        }
    };
    let exists = with_retry("collection_exists", attempts, || {
        client.collection_exists(collection)
    })
    .await
    .map_err(fail("checking collection"))?;
    let check = if exists {
        let info = with_retry("collection_info", attempts, || {
            client.collection_info(collection)
        })
        .await
        .map_err(fail("reading collection"))?;
        let info = info.result.ok_or_else(|| {
            (
                format!("collection `{collection}`: the server sent no collection info"),
                false,
            )
        })?;
        let params = info
            .config
            .and_then(|c| c.params)
            .and_then(|p| p.vectors_config)
            .and_then(|v| v.config);
        match params {
            Some(Config::Params(p)) => {
                let want = distance(spec.distance) as i32;
                if p.size != dim as u64 || p.distance != want {
                    return Err((
                        format!(
                            "collection `{collection}` holds {}-dim vectors with {} distance, but this pipeline writes {dim}-dim vectors with {} distance; \
                             set `collection:` to a new name (Sluice creates it) or delete the collection and re-run with --full",
                            p.size,
                            distance_name(p.distance),
                            distance_name(want)
                        ),
                        false,
                    ));
                }
            }
            Some(Config::ParamsMap(_)) => {
                return Err((
                    format!(
                        "collection `{collection}` uses named vectors; Sluice writes one unnamed vector per point — give the sink its own collection"
                    ),
                    false,
                ));
            }
            None => {
                return Err((
                    format!("collection `{collection}` has no vector config"),
                    false,
                ));
            }
        }
        CollectionCheck::Existing {
            points: info.points_count.unwrap_or(0),
        }
    } else {
        let mut vectors =
            VectorParamsBuilder::new(dim as u64, distance(spec.distance)).on_disk(spec.on_disk);
        if let Some(h) = &spec.hnsw {
            let mut b = HnswConfigDiffBuilder::default();
            if let Some(m) = h.m {
                b = b.m(m);
            }
            if let Some(ef) = h.ef_construct {
                b = b.ef_construct(ef);
            }
            if let Some(t) = h.full_scan_threshold {
                b = b.full_scan_threshold(t);
            }
            if let Some(d) = h.on_disk {
                b = b.on_disk(d);
            }
            vectors = vectors.hnsw_config(b);
        }
        if let Some(q) = &spec.quantization {
            let q: Quantization = match q {
                QdrantQuantizationSpec::Scalar {
                    quantile,
                    always_ram,
                } => {
                    let mut b = ScalarQuantizationBuilder::default();
                    if let Some(x) = quantile {
                        b = b.quantile(*x);
                    }
                    if let Some(r) = always_ram {
                        b = b.always_ram(*r);
                    }
                    b.build().into()
                }
                QdrantQuantizationSpec::Binary { always_ram } => {
                    BinaryQuantizationBuilder::new(always_ram.unwrap_or(false))
                        .build()
                        .into()
                }
            };
            vectors = vectors.quantization_config(q);
        }
        let create = CreateCollectionBuilder::new(collection).vectors_config(vectors);
        match with_retry("create_collection", attempts, || {
            client.create_collection(create.clone())
        })
        .await
        {
            Ok(_) => CollectionCheck::Created,
            // Another writer created it meanwhile: check it like an existing one.
            Err((e, _)) if e.to_string().contains("already exists") => {
                return Box::pin(ensure_collection(client, spec, collection, dim)).await;
            }
            Err(e) => return Err(fail("creating collection")(e)),
        }
    };
    for (field, kind) in PAYLOAD_INDEXES {
        // Creating an existing index is a no-op in Qdrant.
        let req = CreateFieldIndexCollectionBuilder::new(collection, field, kind).wait(true);
        with_retry("create_field_index", attempts, || {
            client.create_field_index(req.clone())
        })
        .await
        .map_err(fail(&format!("creating the `{field}` payload index on")))?;
    }
    Ok(check)
}
