//! Header fields: the header block parsed (cleaned first when mailparse refuses it), the
//! fields the API exposes decoded, addresses.

use mailparse::{MailHeader, MailHeaderMap};

use super::dates::{message_date, without_comments};
use super::{Address, HeaderInfo};

pub(super) fn decode_header(raw: &[u8]) -> HeaderInfo {
    with_parsed_headers(raw, header_info)
}

/// Runs `f` over the header fields of `raw` (none when even a cleaned copy will not parse).
pub(super) fn with_parsed_headers<T>(raw: &[u8], f: impl Fn(&[MailHeader<'_>]) -> T) -> T {
    if let Ok((headers, _)) = mailparse::parse_headers(raw) {
        return f(&headers);
    }
    // A header block mailparse refuses (starting with a continuation line, a lone CR): decode
    // a cleaned copy rather than lose every field.
    let clean = sanitize_header_block(raw);
    match mailparse::parse_headers(&clean) {
        Ok((headers, _)) => f(&headers),
        Err(_) => f(&[]),
    }
}

fn header_info(headers: &[MailHeader<'_>]) -> HeaderInfo {
    let mut info = HeaderInfo {
        subject: one_line(&headers.get_first_value("Subject").unwrap_or_default()),
        ..HeaderInfo::default()
    };
    info.from = addresses(headers, "From")
        .into_iter()
        .next()
        .unwrap_or_default();
    if info.from.address.is_empty() && info.from.name.is_empty() {
        info.from = addresses(headers, "Sender")
            .into_iter()
            .next()
            .unwrap_or_default();
    }
    info.to = addresses(headers, "To");
    info.cc = addresses(headers, "Cc");
    info.bcc = addresses(headers, "Bcc");
    info.reply_to = addresses(headers, "Reply-To");
    info.date = headers
        .get_first_value("Date")
        .map(|d| one_line(d.trim()))
        .unwrap_or_default();
    info.timestamp = if info.date.is_empty() {
        0
    } else {
        message_date(&info.date)
    };
    info.message_id = headers
        .get_first_value("Message-ID")
        .map(|v| {
            one_line(
                v.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim(),
            )
        })
        .unwrap_or_default();
    info
}

/// A header value on one line: CR, LF and other control characters (a lone CR inside a field,
/// a NUL) become spaces; tabs stay.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

/// Where the body starts: after the first empty line (CRLF or LF), else the end.
pub(super) fn find_body_start(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => raw.len(),
    }
}

/// The header block of `raw` made acceptable to mailparse: lines before the first field that
/// start with blanks are dropped, a lone CR becomes a space, lines are joined with CRLF and the
/// block ends with an empty line. The body (if any) is not included.
pub(super) fn sanitize_header_block(raw: &[u8]) -> Vec<u8> {
    let end = find_body_start(raw);
    let block = &raw[..end];
    let mut out = Vec::with_capacity(block.len() + 16);
    let mut seen_field = false;
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let continuation = line[0] == b' ' || line[0] == b'\t';
        if continuation && !seen_field {
            continue;
        }
        if !continuation && !line.contains(&b':') {
            // Not a field and not a continuation: drop it rather than break the block.
            continue;
        }
        seen_field = true;
        out.extend(line.iter().map(|&b| if b == b'\r' { b' ' } else { b }));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn addresses(headers: &[MailHeader<'_>], name: &str) -> Vec<Address> {
    let Some(header) = headers.get_first_header(name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match mailparse::addrparse_header(header) {
        Ok(list) => {
            for addr in list.iter() {
                match addr {
                    mailparse::MailAddr::Single(s) => out.push(single(s)),
                    mailparse::MailAddr::Group(g) => out.extend(g.addrs.iter().map(single)),
                }
            }
        }
        Err(_) => {
            // Unparseable address header (unqualified local addresses, obsolete syntax):
            // each comma-separated item as written, rather than losing the header.
            let text = header.get_value();
            out.extend(split_top_level_commas(&text).filter_map(loose_address));
        }
    }
    // An empty group written with comments (`Hidden recipients:(nobody);`) is no address.
    out.retain(|a| !(a.address.ends_with(":;") || a.address.is_empty() && a.name.is_empty()));
    out
}

/// The items of an address list, split at commas outside quotes, comments and `<...>`.
fn split_top_level_commas(text: &str) -> impl Iterator<Item = &str> {
    let (mut depth, mut quoted, mut angle, mut escaped) = (0usize, false, false, false);
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            '<' if !quoted && depth == 0 => angle = true,
            '>' if !quoted && depth == 0 => angle = false,
            ',' if !quoted && depth == 0 && !angle => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items.into_iter()
}

/// One address written loosely: `Name <addr>`, or `addr (Name)`, or a bare local part.
fn loose_address(item: &str) -> Option<Address> {
    let item = item.trim();
    if item.is_empty() {
        return None;
    }
    if let Some((name, rest)) = item.rsplit_once('<') {
        let address = rest.split_once('>').map_or(rest, |(a, _)| a).trim();
        return Some(Address {
            name: name.trim().trim_matches('"').trim().to_string(),
            address: address.to_string(),
        });
    }
    Some(without_comment(item, String::new()))
}

/// `addr (Name)`: the address without its comments; the comment as the name when there is
/// no other.
fn without_comment(address: &str, name: String) -> Address {
    if !address.contains('(') {
        return Address {
            name,
            address: address.trim().to_string(),
        };
    }
    let name = if name.is_empty() {
        address
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(c, _)| c.trim().to_string())
            .unwrap_or_default()
    } else {
        name
    };
    Address {
        name,
        address: without_comments(address).split_whitespace().collect(),
    }
}

fn single(s: &mailparse::SingleInfo) -> Address {
    let name = s
        .display_name
        .clone()
        .unwrap_or_default()
        .trim()
        .to_string();
    without_comment(&s.addr, name)
}

#[cfg(test)]
mod tests {
    use crate::core::message::{Message, RecipientKind};

    #[test]
    fn header_block_that_mailparse_refuses_is_cleaned() {
        let raw = b" stray\r\nSubject: still here\r\nFrom: a@b.c\r\nnot a field\r\nTo: x@y.z\r\n\r\nbody\r\n".to_vec();
        let m = Message::from_raw(raw.clone());
        assert_eq!(m.header().subject, "still here");
        assert_eq!(m.header().from.address, "a@b.c");
        assert_eq!(m.recipients(RecipientKind::To)[0].address, "x@y.z");
        assert_eq!(m.body().text, "body\r\n");
        assert!(m.body().error.is_none());
        assert_eq!(m.source(), &raw[..]);
        let m = Message::from_raw(b"Subject: a\rb\r\n\r\nx".to_vec());
        assert_eq!(m.header().subject, "a b");
    }

    #[test]
    fn header_block_without_blank_line_ends_at_the_first_non_field_line() {
        let m = Message::from_raw(
            b"Subject: no blank line\r\nFrom: a@b.c\r\nHello Bob,\r\nsee you: tomorrow\r\n"
                .to_vec(),
        );
        assert_eq!(m.header().subject, "no blank line");
        assert_eq!(m.body().text, "Hello Bob,\r\nsee you: tomorrow\r\n");
        assert_eq!(m.header_fields().len(), 2);
        // Inside a part too.
        let m = Message::from_raw(
            b"Subject: p\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
              Content-Type: text/plain; charset=utf-8\r\nthe text\r\n--b--\r\n"
                .to_vec(),
        );
        assert_eq!(m.body().text, "the text");
        // A stray line followed by fields up to the blank line stays in the header block.
        let m =
            Message::from_raw(b"From: a@b.c\r\nnot a header\r\nSubject: kept\r\n\r\nbody".to_vec());
        assert_eq!(m.header().subject, "kept");
        assert_eq!(m.body().text, "body");
    }

    #[test]
    fn addresses_with_comments_and_unqualified_lists() {
        let m = Message::from_raw(
            b"From: nsb (Nathaniel Borenstein)\r\nTo: abel, bianchi, stornett@flash, \"B, C\" <bc@x.y>\r\nCc: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\nBcc: (Empty list)(start)Hidden recipients  :(nobody(that I know))  ;\r\n\r\nx".to_vec(),
        );
        assert_eq!(m.header().from.address, "nsb");
        assert_eq!(m.header().from.name, "Nathaniel Borenstein");
        let to: Vec<&str> = m
            .recipients(RecipientKind::To)
            .iter()
            .map(|a| a.address.as_str())
            .collect();
        assert_eq!(to, ["abel", "bianchi", "stornett@flash", "bc@x.y"]);
        assert_eq!(m.recipients(RecipientKind::To)[3].name, "B, C");
        assert_eq!(
            m.recipients(RecipientKind::Cc)[0].address,
            "pete@silly.test"
        );
    }
}
