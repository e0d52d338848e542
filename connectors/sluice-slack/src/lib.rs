//! Slack sources: the Web API (`type: slack`) and workspace exports
//! (`type: slack_export`), producing the same documents: one per thread
//! (split into parts by time window) and one per channel-day for messages
//! outside threads. Private channels carry their members as the ACL;
//! public channels are readable by `group:slack-workspace`.

mod api;
mod export;
mod factory;
mod model;
mod mrkdwn;
mod settings;

pub use api::SlackSource;
pub use export::SlackExportSource;
pub use factory::{SlackExportSourceType, SlackSourceType};
pub use model::principal;
pub use model::{ChannelCtx, Msg, day_id, thread_id};
pub use mrkdwn::Directory;
pub use settings::{SlackExportSettings, SlackSettings};

#[cfg(test)]
mod tests;
