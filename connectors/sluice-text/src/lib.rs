//! Text utilities every connector shares, so each markup is converted one
//! way: HTML and Confluence storage format (XHTML) → plain text that keeps
//! headings (as Markdown `#` lines, which the chunker splits on), lists,
//! tables and code readable.

pub mod html;
pub mod marks;
pub mod markdown;
pub mod writer;

pub use html::html_to_text;
