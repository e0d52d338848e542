//! The `kafka` transport type for the registry: the producing side that
//! `sluice run` and the daemon publish to.

use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::{
    Document, PublishAck, PublishError, Publisher, TransportContext, TransportFactory,
};
use sluice_spec::secrets::expand_env_refs;
use sluice_spec::{LoadedPipeline, TransportSpec};
use uuid::Uuid;

use crate::{KafkaConfig, KafkaPublisher};

/// The Kafka settings of a pipeline with `transport: kafka`, with `${ENV}`
/// references resolved.
pub fn kafka_config(loaded: &LoadedPipeline) -> Result<KafkaConfig, String> {
    let TransportSpec::Kafka(k) = &loaded.spec.transport else {
        return Err(format!(
            "{}: transport: this pipeline does not use Kafka; set `transport: {{type: kafka, …}}`",
            loaded.file
        ));
    };
    config_of(k, &loaded.spec.name, &loaded.file)
}

fn config_of(
    k: &sluice_spec::KafkaTransportSpec,
    pipeline: &str,
    file: &str,
) -> Result<KafkaConfig, String> {
    let servers = expand_env_refs(&k.bootstrap_servers)
        .map_err(|e| format!("{file}: transport.bootstrap_servers: {e}"))?;
    let mut cfg = KafkaConfig::new(servers, k.topic(pipeline));
    for (key, value) in &k.properties {
        let v = expand_env_refs(value)
            .map_err(|e| format!("{file}: transport.properties.{key}: {e}"))?;
        cfg.properties.insert(key.clone(), v);
    }
    Ok(cfg)
}

pub struct KafkaTransportType;

#[async_trait]
impl TransportFactory for KafkaTransportType {
    fn type_name(&self) -> &'static str {
        "kafka"
    }

    async fn open_publisher(
        &self,
        ctx: &TransportContext<'_>,
    ) -> Result<Arc<dyn Publisher>, String> {
        let file = ctx.file;
        let k = match serde_json::from_value::<TransportSpec>(ctx.config.clone()) {
            Ok(TransportSpec::Kafka(k)) => k,
            Ok(_) => return Err(format!("{file}: transport: not a kafka transport")),
            Err(e) => return Err(format!("{file}: transport: {e}")),
        };
        let cfg = config_of(&k, ctx.pipeline, file)?;
        let publisher = KafkaPublisher::new(&cfg, ctx.pipeline)
            .map_err(|e| format!("{file}: transport: {e}"))?;
        publisher.ensure_topic(k.partitions, k.replication).await.map_err(|e| {
            format!("{file}: transport: Kafka at `{}`: {e}; check that the broker is up and `bootstrap_servers` is right", cfg.bootstrap_servers)
        })?;
        Ok(Arc::new(publisher))
    }
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn publish(
        &self,
        documents: &[Document],
        tombstones: &[(String, Uuid)],
    ) -> Result<PublishAck, PublishError> {
        KafkaPublisher::publish(self, documents, tombstones)
            .await
            .map_err(|e| PublishError {
                message: e.message,
                transient: e.transient,
            })
    }
}
