//! Inline formatting marks of the lightweight markups (Slack mrkdwn, Jira
//! wiki markup): which `*`, `_`, `~`… are marks and which are text.

/// How far a closing mark is looked for: marks never span lines, and the
/// bound keeps a hostile line of opening marks linear.
const MARK_WINDOW: usize = 2_000;

/// Drops paired formatting marks that sit at word boundaries (an opening
/// mark after the start, a space or punctuation and before a non-space; a
/// closing one after a non-space and before the end, a space or
/// punctuation), so `snake_case_name`, `2*3*4` and `well-known` stay as
/// written. Code spans (`` ` ``) hide other marks. Shared by Slack mrkdwn and
/// Jira wiki markup.
pub fn strip_marks(chars: &[char], marks: &[char]) -> Vec<char> {
    let mut drop = vec![false; chars.len()];
    let boundary = |c: Option<&char>| {
        c.is_none_or(|c| {
            c.is_whitespace()
                || (c.is_ascii_punctuation() && !marks.contains(c))
                || "“”‘’«»".contains(*c)
        })
    };
    let mut i = 0;
    while i < chars.len() {
        let m = chars[i];
        if !drop[i]
            && marks.contains(&m)
            && boundary(if i == 0 { None } else { chars.get(i - 1) })
            && chars
                .get(i + 1)
                .is_some_and(|c| !c.is_whitespace() && *c != m)
        {
            let end = (i + 2 + MARK_WINDOW).min(chars.len());
            let mut close = None;
            for j in i + 2..end {
                if chars[j] == '\n' {
                    break;
                }
                if chars[j] == m && !chars[j - 1].is_whitespace() && boundary(chars.get(j + 1)) {
                    close = Some(j);
                    break;
                }
            }
            if let Some(j) = close {
                drop[i] = true;
                drop[j] = true;
                if m == '`' {
                    // Nothing inside a code span is a mark.
                    i = j + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    chars
        .iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(c, _)| *c)
        .collect()
}
