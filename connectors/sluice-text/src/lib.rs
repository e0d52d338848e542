//! Text utilities every connector shares, so each markup is converted one
//! way: HTML and Confluence storage format (XHTML), Atlassian Document
//! Format and Jira wiki markup, GitLab Markdown → plain text that keeps
//! headings (as Markdown `#` lines, which the chunker splits on), lists,
//! tables and code readable (connectors/README.md, "What a reader sees").

pub mod adf;
pub mod html;
pub mod markdown;
pub mod marks;
pub mod writer;

pub use html::html_to_text;
