//! Text from Office Open XML attachments (DOCX, PPTX, XLSX): they are zip
//! files of XML parts; the text sits in `<w:t>` (Word), `<a:t>` (slides)
//! and `<t>` (Excel's shared strings). Paragraph ends become newlines.
//! Anything unreadable yields `None`, never a panic.

use std::io::{Cursor, Read};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Zip-bomb bounds: uncompressed XML read per part and in all, and entries
/// in the archive. A 100-slide deck of 1 MB slides compresses to a few KB;
/// without a total the per-part limit alone allowed 32 MB per slide.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub part_bytes: u64,
    pub total_bytes: u64,
    pub entries: usize,
}

pub const LIMITS: Limits = Limits {
    part_bytes: 32 * 1024 * 1024,
    total_bytes: 64 * 1024 * 1024,
    entries: 10_000,
};

pub fn is_office(media: &str, name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(media, DOCX | PPTX | XLSX)
        || n.ends_with(".docx")
        || n.ends_with(".pptx")
        || n.ends_with(".xlsx")
}

pub fn office_text(bytes: &[u8]) -> Option<String> {
    office_text_within(bytes, LIMITS)
}

/// The text, read up to the limits (what fits is kept); `None` when the
/// file is not an Office file or has more entries than allowed.
pub fn office_text_within(bytes: &[u8], limits: Limits) -> Option<String> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    if z.len() > limits.entries {
        tracing::warn!(
            entries = z.len(),
            limit = limits.entries,
            "Office file with too many entries; metadata only"
        );
        return None;
    }
    let mut parts: Vec<String> = z
        .file_names()
        .filter(|n| {
            *n == "word/document.xml"
                || (n.starts_with("ppt/slides/slide") && n.ends_with(".xml"))
                || *n == "xl/sharedStrings.xml"
        })
        .map(String::from)
        .collect();
    // Slides in order: slide2 before slide10.
    parts.sort_by_key(|n| (n.len(), n.clone()));
    if parts.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut budget = limits.total_bytes;
    for name in parts {
        if budget == 0 {
            tracing::warn!(
                limit = limits.total_bytes,
                "Office file past its uncompressed size limit; the rest is not read"
            );
            break;
        }
        let mut raw = Vec::new();
        z.by_name(&name)
            .ok()?
            .take(limits.part_bytes.min(budget))
            .read_to_end(&mut raw)
            .ok()?;
        budget -= raw.len() as u64;
        // A part cut at the limit may end inside a UTF-8 sequence.
        out.push_str(&xml_text(&String::from_utf8_lossy(&raw)));
        out.push('\n');
    }
    Some(out.trim().to_string())
}

/// Text of `<w:t>`, `<a:t>` and `<t>` elements; a newline at each paragraph
/// (`</w:p>`, `</a:p>`) or shared-string item (`</si>`) end.
fn xml_text(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    let mut in_text = false;
    while let Some(lt) = rest.find('<') {
        if in_text {
            out.push_str(&decode(&rest[..lt]));
        }
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        let closing = tag.starts_with('/');
        let self_closing = tag.ends_with('/');
        match name {
            "w:t" | "a:t" | "t" if !self_closing => in_text = !closing,
            "w:p" | "a:p" | "si" if closing => out.push('\n'),
            "w:tab" => out.push('\t'),
            "w:br" | "a:br" => out.push('\n'),
            _ => {}
        }
        rest = &rest[lt + gt + 1..];
    }
    out
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            for (name, body) in files {
                w.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                w.write_all(body.as_bytes()).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn docx_pptx_and_xlsx_text() {
        let docx = zip_of(&[(
            "word/document.xml",
            r#"<w:document><w:body><w:p><w:r><w:t>Rollback</w:t></w:r><w:r><w:t xml:space="preserve"> plan &amp; owners</w:t></w:r></w:p><w:p><w:r><w:t>Step</w:t><w:tab/><w:t>one</w:t></w:r></w:p></w:body></w:document>"#,
        )]);
        assert_eq!(
            office_text(&docx).unwrap(),
            "Rollback plan & owners\nStep\tone"
        );
        let pptx = zip_of(&[
            (
                "ppt/slides/slide10.xml",
                "<p:sld><a:p><a:r><a:t>Ten</a:t></a:r></a:p></p:sld>",
            ),
            (
                "ppt/slides/slide2.xml",
                "<p:sld><a:p><a:r><a:t>Two</a:t></a:r></a:p></p:sld>",
            ),
        ]);
        assert_eq!(office_text(&pptx).unwrap(), "Two\n\nTen");
        let xlsx = zip_of(&[(
            "xl/sharedStrings.xml",
            "<sst><si><t>Region</t></si><si><t>EMEA</t></si></sst>",
        )]);
        assert_eq!(office_text(&xlsx).unwrap(), "Region\nEMEA");
        assert!(office_text(b"not a zip").is_none());
        assert!(office_text(&zip_of(&[("other.xml", "<x/>")])).is_none());
        assert!(is_office("application/octet-stream", "Plan.DOCX"));
    }

    #[test]
    fn a_zip_bomb_is_read_up_to_its_total_limit() {
        let slide = format!(
            "<p:sld><a:p><a:r><a:t>{}</a:t></a:r></a:p></p:sld>",
            "boom ".repeat(20_000)
        );
        let names: Vec<String> = (1..=50)
            .map(|i| format!("ppt/slides/slide{i}.xml"))
            .collect();
        let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), slide.as_str())).collect();
        let bomb = zip_of(&files);
        assert!(bomb.len() < 200_000, "compresses well: {}", bomb.len());
        let limits = Limits {
            part_bytes: 1 << 20,
            total_bytes: 300_000,
            entries: 100,
        };
        let text = office_text_within(&bomb, limits).unwrap();
        assert!(
            text.len() <= 300_000 && text.len() > 200_000,
            "{} bytes: the total caps it, not 50 parts x 100 KB",
            text.len()
        );
        let few = Limits {
            entries: 10,
            ..limits
        };
        assert!(
            office_text_within(&bomb, few).is_none(),
            "more entries than allowed"
        );
    }
}
