//! The message model: a message as read from the server, decoded lazily with mailparse.
//!
//! Headers are decoded on first access of any header field, the MIME body on first access of
//! the text, HTML or attachments; both are cached. A message whose MIME cannot be decoded is
//! still returned: its raw source stays available and `body_error` says what went wrong.

use std::sync::OnceLock;

use mailparse::{MailHeader, MailHeaderMap, ParsedMail};

use super::pool::ReturnTo;

/// Flag bits of a message (the C API uses the same values).
pub mod flags {
    pub const SEEN: u32 = 1;
    pub const ANSWERED: u32 = 2;
    pub const FLAGGED: u32 = 4;
    pub const DELETED: u32 = 8;
    pub const DRAFT: u32 = 16;
}

/// A decoded address: display name (may be empty) and address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub address: String,
}

impl Address {
    /// "Name <addr>", or just the address when there is no name.
    pub fn display(&self) -> String {
        match (self.name.is_empty(), self.address.is_empty()) {
            (true, _) => self.address.clone(),
            (false, true) => self.name.clone(),
            (false, false) => format!("{} <{}>", self.name, self.address),
        }
    }
}

/// Which recipient list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    To,
    Cc,
    Bcc,
    ReplyTo,
}

/// An attachment (or inline part, or attached message), with its decoded bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    /// File name from RFC 2231 `filename*=`, `filename=` or the Content-Type `name=`; may be empty.
    pub name: String,
    /// Lower-case MIME type, e.g. "application/pdf".
    pub content_type: String,
    /// Content-ID without the angle brackets; empty when absent.
    pub content_id: String,
    /// Shown inside the body (Content-Disposition inline, or referenced by Content-ID).
    pub inline: bool,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// Decoded header fields.
#[derive(Debug, Default)]
pub struct HeaderInfo {
    pub subject: String,
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub date: String,
    pub timestamp: i64,
    pub message_id: String,
}

/// Decoded body.
#[derive(Debug, Default)]
pub struct BodyInfo {
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
    /// Set when the MIME structure could not be decoded; the rest is best effort.
    pub error: Option<String>,
}

/// One message as read from the server. Immutable once built; safe to share between threads.
#[derive(Debug)]
pub struct Message {
    uid: u32,
    flags: u32,
    keywords: Vec<String>,
    size: u64,
    headers_only: bool,
    /// The folder it was read from ("" when not read from a server).
    folder: String,
    /// The buffer holding the message's bytes, at `at` (the buffer the server's response was
    /// read into, when the message kept it rather than being copied out of it).
    buffer: Vec<u8>,
    at: std::ops::Range<usize>,
    header: OnceLock<HeaderInfo>,
    /// Every header field decoded, apart from `header`: most hosts never ask for other fields,
    /// and decoding every Received and DKIM line would cost them as much as the rest.
    fields: OnceLock<Vec<(String, String)>>,
    body: OnceLock<BodyInfo>,
    /// Where `buffer` goes when the message is freed (see [`crate::core::pool`]).
    return_to: ReturnTo,
}

impl Drop for Message {
    fn drop(&mut self) {
        self.return_to.give_back(std::mem::take(&mut self.buffer));
    }
}

impl Message {
    /// Builds a message from what the server sent. `raw` is the whole message, or only its
    /// header block when `headers_only`.
    pub fn new(
        uid: u32,
        flags: u32,
        keywords: Vec<String>,
        size: u64,
        raw: Vec<u8>,
        headers_only: bool,
    ) -> Message {
        Message {
            uid,
            flags,
            keywords,
            size,
            headers_only,
            folder: String::new(),
            at: 0..raw.len(),
            buffer: raw,
            header: OnceLock::new(),
            fields: OnceLock::new(),
            body: OnceLock::new(),
            return_to: ReturnTo::default(),
        }
    }

    /// The message with its bytes at `at` in `buffer` (which may hold more: the server's
    /// response they came in) instead of those given to [`Message::new`], giving `buffer` back
    /// to that pool when freed.
    pub fn stored_in(
        mut self,
        buffer: Vec<u8>,
        at: std::ops::Range<usize>,
        return_to: ReturnTo,
    ) -> Message {
        self.buffer = buffer;
        self.at = at;
        self.return_to = return_to;
        self
    }

    /// Bytes of the buffer that holds the message's bytes.
    #[cfg(test)]
    pub(crate) fn storage_capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// Builds a message from raw RFC 5322 bytes alone (no server data).
    pub fn from_raw(raw: Vec<u8>) -> Message {
        let size = raw.len() as u64;
        Message::new(0, 0, Vec::new(), size, raw, false)
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }
    /// The folder the message was read from.
    pub fn folder(&self) -> &str {
        &self.folder
    }
    /// Records the folder the message was read from.
    pub fn set_folder(&mut self, folder: &str) {
        self.folder = folder.to_string();
    }
    pub fn flags(&self) -> u32 {
        self.flags
    }
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }
    pub fn is_read(&self) -> bool {
        self.flags & flags::SEEN != 0
    }
    /// Size on the server (RFC822.SIZE), also when only the headers were fetched.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// True when only the header block was fetched.
    pub fn headers_only(&self) -> bool {
        self.headers_only
    }
    /// The bytes as received: the whole message, or the header block when headers only.
    pub fn source(&self) -> &[u8] {
        self.buffer.get(self.at.clone()).unwrap_or_default()
    }

    /// Decoded header fields (computed on first use).
    pub fn header(&self) -> &HeaderInfo {
        self.header.get_or_init(|| decode_header(self.source()))
    }

    /// Decoded body (computed on first use). Empty for a headers-only message.
    pub fn body(&self) -> &BodyInfo {
        self.body.get_or_init(|| {
            if self.headers_only {
                BodyInfo::default()
            } else {
                decode_body(self.source())
            }
        })
    }

    /// Every header field as (name, RFC 2047-decoded value), in order (computed on first use).
    pub fn header_fields(&self) -> &[(String, String)] {
        self.fields.get_or_init(|| {
            with_parsed_headers(self.source(), |headers| {
                headers
                    .iter()
                    .map(|h| (h.get_key(), h.get_value()))
                    .collect()
            })
        })
    }

    /// The first header of that name (case-insensitive), RFC 2047-decoded.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.header_fields()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn recipients(&self, kind: RecipientKind) -> &[Address] {
        let h = self.header();
        match kind {
            RecipientKind::To => &h.to,
            RecipientKind::Cc => &h.cc,
            RecipientKind::Bcc => &h.bcc,
            RecipientKind::ReplyTo => &h.reply_to,
        }
    }
}

fn decode_header(raw: &[u8]) -> HeaderInfo {
    with_parsed_headers(raw, header_info)
}

/// Runs `f` over the header fields of `raw` (none when even a cleaned copy will not parse).
fn with_parsed_headers<T>(raw: &[u8], f: impl Fn(&[MailHeader<'_>]) -> T) -> T {
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
        mailparse::dateparse(&info.date)
            .ok()
            .or_else(|| lenient_date(&info.date))
            .unwrap_or(0)
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

/// The header block of `raw` made acceptable to mailparse: lines before the first field that
/// start with blanks are dropped, a lone CR becomes a space, lines are joined with CRLF and the
/// block ends with an empty line. The body (if any) is not included.
fn sanitize_header_block(raw: &[u8]) -> Vec<u8> {
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

/// Dates that are not RFC 5322 but common: `2024-03-04 10:15:00`, `2024-03-04T10:15:00Z`,
/// `2024-03-04 10:15:00 +0100`, and asctime `Mon Mar  4 10:15:00 2024`. UTC when no zone.
fn lenient_date(text: &str) -> Option<i64> {
    let t = text.trim();
    iso_date(t).or_else(|| asctime_date(t))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn valid_ymd_hms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> bool {
    (1..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..=60).contains(&s)
}

/// Seconds east of UTC for `Z`, `UTC`, `GMT`, `+HHMM`, `+HH:MM`, `-HH` (None: not a zone).
fn zone_offset(z: &str) -> Option<i64> {
    let z = z.trim();
    if z.is_empty()
        || z.eq_ignore_ascii_case("z")
        || z.eq_ignore_ascii_case("utc")
        || z.eq_ignore_ascii_case("gmt")
    {
        return Some(0);
    }
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// `HH:MM[:SS[.fff]]` → (h, m, s).
fn clock(t: &str) -> Option<(i64, i64, i64)> {
    let mut it = t.split(':');
    let h = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let s = match it.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if it.next().is_some() {
        return None;
    }
    Some((h, m, s))
}

fn iso_date(t: &str) -> Option<i64> {
    let (date, rest) = (t.get(..10)?, t.get(10..)?);
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let mo: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix(' '))
        .unwrap_or(rest)
        .trim_start();
    let (time, zone) = if rest.is_empty() {
        ("00:00:00", "")
    } else {
        let cut = rest.find(['+', '-', 'Z', 'z', ' ']).unwrap_or(rest.len());
        (&rest[..cut], &rest[cut..])
    };
    let (h, mi, s) = clock(time)?;
    let offset = zone_offset(zone)?;
    valid_ymd_hms(y, mo, d, h, mi, s)
        .then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

fn asctime_date(t: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let words: Vec<&str> = t.split_whitespace().collect();
    // [weekday] month day time year [zone]
    let w = if words
        .first()
        .and_then(|w| w.get(..3))
        .is_some_and(|p| MONTHS.contains(&p.to_ascii_lowercase().as_str()))
    {
        &words[..]
    } else {
        words.get(1..)?
    };
    let mo = MONTHS.iter().position(|m| {
        w.first()
            .and_then(|x| x.get(..3))
            .is_some_and(|p| p.eq_ignore_ascii_case(m))
    })? as i64
        + 1;
    let d: i64 = w.get(1)?.parse().ok()?;
    let (h, mi, s) = clock(w.get(2)?)?;
    let y: i64 = w.get(3)?.parse().ok()?;
    let offset = zone_offset(w.get(4).copied().unwrap_or(""))?;
    valid_ymd_hms(y, mo, d, h, mi, s)
        .then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
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
            // Unparseable address header: keep the decoded text rather than losing it.
            let text = header.get_value().trim().to_string();
            if !text.is_empty() {
                let address = text
                    .rsplit_once('<')
                    .and_then(|(_, a)| a.split_once('>'))
                    .map(|(a, _)| a.trim().to_string())
                    .unwrap_or_else(|| text.clone());
                out.push(Address {
                    name: String::new(),
                    address,
                });
            }
        }
    }
    out
}

fn single(s: &mailparse::SingleInfo) -> Address {
    Address {
        name: s
            .display_name
            .clone()
            .unwrap_or_default()
            .trim()
            .to_string(),
        address: s.addr.trim().to_string(),
    }
}

fn decode_body(raw: &[u8]) -> BodyInfo {
    let first = match mailparse::parse_mail(raw) {
        Ok(mail) => {
            let mut body = BodyInfo::default();
            walk(&mail, &mut body, false);
            return body;
        }
        Err(e) => e,
    };
    // A header block mailparse refuses: decode the message with a cleaned header block.
    let mut cleaned = sanitize_header_block(raw);
    cleaned.extend_from_slice(&raw[find_body_start(raw)..]);
    if let Ok(mail) = mailparse::parse_mail(&cleaned) {
        let mut body = BodyInfo::default();
        walk(&mail, &mut body, false);
        return body;
    }
    // Too deep or otherwise undecodable: keep the bytes after the header block as text.
    let start = find_body_start(raw);
    BodyInfo {
        text: decode_text_bytes(&raw[start..]),
        error: Some(format!("MIME structure could not be decoded: {first}")),
        ..BodyInfo::default()
    }
}

/// Bytes of unknown charset as text: UTF-8 when they are valid UTF-8, else Windows-1252 (the
/// superset of Latin-1 that mislabelled Western mail almost always is).
fn decode_text_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => windows_1252(bytes),
    }
}

fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}',
        '\u{017D}', '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}',
        '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}',
        '\u{9D}', '\u{017E}', '\u{0178}',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// Base64 decoded as far as it goes: characters outside the alphabet are skipped, padding is
/// optional, a trailing incomplete group gives the bytes it holds.
fn lenient_base64(encoded: &[u8]) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(encoded.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in encoded.iter().filter_map(|&c| value(c)) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The decoded bytes of a part: mailparse's, or when its transfer decoding fails (base64 with
/// garbage), a lenient decoding of the raw bytes.
fn part_bytes(part: &ParsedMail<'_>) -> Vec<u8> {
    part_bytes_checked(part).0
}

/// As [`part_bytes`], with whether mailparse's transfer decoding succeeded.
fn part_bytes_checked(part: &ParsedMail<'_>) -> (Vec<u8>, bool) {
    match part.get_body_raw() {
        Ok(b) => (b, true),
        Err(_) => match part.get_body_encoded() {
            mailparse::body::Body::Base64(b) => (lenient_base64(b.get_raw()), false),
            other => (raw_of(&other).to_vec(), false),
        },
    }
}

/// Transfer-decoded bytes as text in the part's charset, exactly as mailparse's `get_body`
/// does (the same `charset` crate, ASCII for an unknown label), without decoding the
/// transfer encoding a second time.
fn charset_decode(bytes: &[u8], label: &str) -> String {
    match charset::Charset::for_label(label.as_bytes()) {
        Some(cs) => cs.decode(bytes).0.into_owned(),
        None => charset::decode_ascii(bytes).into_owned(),
    }
}

fn raw_of<'a>(body: &'a mailparse::body::Body<'a>) -> &'a [u8] {
    match body {
        mailparse::body::Body::Base64(b) | mailparse::body::Body::QuotedPrintable(b) => b.get_raw(),
        mailparse::body::Body::SevenBit(b) | mailparse::body::Body::EightBit(b) => b.get_raw(),
        mailparse::body::Body::Binary(b) => b.get_raw(),
    }
}

/// True when mailparse knows the charset label (its table is the WHATWG one: `utf8`,
/// `latin1`, `cp1252`, ... but not `latin-1` or `x-unknown`). Probed by decoding two bytes that
/// every single- and double-byte charset maps to characters; an unknown label decodes them as
/// ASCII, to U+FFFD (as does UTF-8, whose invalid bytes get the same fallback).
fn charset_known(label: &str) -> bool {
    let ctype = mailparse::parse_content_type(&format!(
        "text/plain; charset=\"{}\"",
        label.replace(['"', '\\'], "")
    ));
    match mailparse::body::Body::new(b"\xe9\xa1", &ctype, &Some("8bit".to_string())) {
        mailparse::body::Body::EightBit(t) => {
            t.get_as_string().is_ok_and(|s| !s.contains('\u{FFFD}'))
        }
        _ => false,
    }
}

/// The text of a text part. mailparse decodes the charsets it knows. Where it gives U+FFFD
/// because it does not know the label (`latin-1`, `x-unknown`) or the bytes are not in the
/// declared charset (Latin-1 text labelled UTF-8), the bytes are taken as UTF-8 when valid,
/// else as Windows-1252. Undeclared (US-ASCII) text with 8-bit bytes is taken the same way
/// (raw UTF-8 is far more common there than Windows-1252).
fn part_text(part: &ParsedMail<'_>) -> String {
    let (bytes, transfer_decoded) = part_bytes_checked(part);
    let label = part.ctype.charset.trim().to_ascii_lowercase();
    // ASCII bytes go through the charset too: 7-bit charsets (ISO-2022-JP, UTF-7) need decoding.
    let undeclared = label == "us-ascii" || label == "ascii" || label.is_empty();
    if (undeclared && !bytes.is_ascii()) || !transfer_decoded {
        return decode_text_bytes(&bytes);
    }
    let text = charset_decode(&bytes, &part.ctype.charset);
    if text.contains('\u{FFFD}') && !charset_known(&label) {
        let fallback = decode_text_bytes(&bytes);
        if !fallback.contains('\u{FFFD}') {
            return fallback;
        }
    }
    text
}

fn find_body_start(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => raw.len(),
    }
}

fn walk(part: &ParsedMail<'_>, body: &mut BodyInfo, in_alternative: bool) {
    let mime = part.ctype.mimetype.as_str();
    if mime.starts_with("multipart/") {
        let alt = mime == "multipart/alternative";
        if part.subparts.is_empty() {
            // A multipart without parts (e.g. no boundary found): treat its body as text.
            if body.text.is_empty() {
                body.text = part_text(part);
            }
            return;
        }
        for sub in &part.subparts {
            walk(sub, body, alt || in_alternative);
        }
        return;
    }
    let disposition = part.get_content_disposition();
    let filename = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .cloned()
        .unwrap_or_default();
    let is_attachment_disposition =
        disposition.disposition == mailparse::DispositionType::Attachment;
    let content_id = part
        .headers
        .get_first_value("Content-ID")
        .map(|v| {
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .unwrap_or_default();
    let is_text = mime == "text/plain" || mime == "text/html";
    if is_text && !is_attachment_disposition && filename.is_empty() {
        let text = part_text(part);
        let target = if mime == "text/html" {
            &mut body.html
        } else {
            &mut body.text
        };
        if target.is_empty() {
            *target = text;
            return;
        }
        if !in_alternative {
            // Further inline text parts of a mixed message belong to the body too.
            target.push('\n');
            target.push_str(&text);
            return;
        }
    }
    let data = part_bytes(part);
    let name = if filename.is_empty() && mime == "message/rfc822" {
        attached_message_name(&data)
    } else {
        filename
    };
    // mailparse reports "inline" when there is no Content-Disposition at all: then a part is
    // inline only when the body refers to it by Content-ID.
    let has_disposition = part
        .headers
        .get_first_header("Content-Disposition")
        .is_some();
    let inline = match disposition.disposition {
        mailparse::DispositionType::Inline if has_disposition => true,
        mailparse::DispositionType::Attachment => false,
        _ => !content_id.is_empty(),
    };
    body.attachments.push(Attachment {
        name,
        content_type: mime.to_string(),
        content_id,
        inline,
        data,
    });
}

/// The name shown for an attached message: its subject plus ".eml".
fn attached_message_name(data: &[u8]) -> String {
    let subject = mailparse::parse_headers(data)
        .ok()
        .and_then(|(h, _)| h.get_first_value("Subject"))
        .unwrap_or_default();
    let subject = subject.trim();
    if subject.is_empty() {
        "message.eml".to_string()
    } else {
        format!("{subject}.eml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `part_text` as it was before it decoded the transfer encoding once: through mailparse's
    /// `get_body` (transfer decoding and charset in one).
    fn part_text_through_get_body(part: &ParsedMail<'_>) -> String {
        let bytes = part_bytes(part);
        let label = part.ctype.charset.trim().to_ascii_lowercase();
        let undeclared = label == "us-ascii" || label == "ascii" || label.is_empty();
        if undeclared && !bytes.is_ascii() {
            return decode_text_bytes(&bytes);
        }
        let text = match part.get_body() {
            Ok(t) => t,
            Err(_) => return decode_text_bytes(&bytes),
        };
        if text.contains('\u{FFFD}') && !charset_known(&label) {
            let fallback = decode_text_bytes(&bytes);
            if !fallback.contains('\u{FFFD}') {
                return fallback;
            }
        }
        text
    }

    fn every_part<'a>(part: &'a ParsedMail<'a>, out: &mut Vec<&'a ParsedMail<'a>>) {
        out.push(part);
        for sub in &part.subparts {
            every_part(sub, out);
        }
    }

    #[test]
    fn text_decoded_once_is_what_get_body_gave() {
        // Every part of the corpus and broken-mail messages, also under charsets and transfer
        // encodings they were not written in.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut compared = 0;
        for dir in ["corpus", "broken"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                    continue;
                }
                let raw = std::fs::read(&path).unwrap();
                let Some(start) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let body = &raw[start + 4..];
                let mut variants = vec![raw.clone()];
                for charset in [
                    "utf-8",
                    "iso-8859-1",
                    "latin-1",
                    "x-unknown",
                    "koi8-r",
                    "utf-7",
                ] {
                    for cte in ["quoted-printable", "base64", "8bit"] {
                        let mut v = format!(
                            "Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
                        )
                        .into_bytes();
                        v.extend_from_slice(body);
                        variants.push(v);
                    }
                }
                for v in &variants {
                    let Ok(mail) = mailparse::parse_mail(v) else {
                        continue;
                    };
                    let mut parts = Vec::new();
                    every_part(&mail, &mut parts);
                    for part in parts {
                        assert_eq!(
                            part_text(part),
                            part_text_through_get_body(part),
                            "{}",
                            path.display()
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 500, "{compared}");
    }

    #[test]
    fn decodes_headers_and_alternative() {
        let raw = b"From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.com>\r\nTo: a@x.org, \"B\" <b@y.org>\r\nSubject: =?ISO-8859-1?Q?Caf=E9?=\r\nDate: Tue, 1 Nov 2022 10:00:00 +0100\r\nMessage-ID: <id@x>\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>hello</p>\r\n--b--\r\n".to_vec();
        let m = Message::from_raw(raw);
        assert_eq!(m.header().subject, "Café");
        assert_eq!(m.header().from.display(), "Renée <renee@example.com>");
        assert_eq!(m.recipients(RecipientKind::To).len(), 2);
        assert_eq!(m.recipients(RecipientKind::To)[1].name, "B");
        assert_eq!(m.header().timestamp, 1667293200);
        assert_eq!(m.body().text, "hello");
        assert_eq!(m.body().html, "<p>hello</p>");
        assert!(m.body().attachments.is_empty());
        assert_eq!(m.header_value("message-id"), Some("<id@x>"));
        assert_eq!(m.header().message_id, "id@x");
    }

    #[test]
    fn raw_8bit_text_declared_quoted_printable_keeps_its_letters() {
        // Mailers do send 8-bit text labelled quoted-printable; the published quoted_printable
        // crate dropped those bytes ("Caf cr\u{e8}me"). Latin-1 too: the bytes reach the
        // charset decoder as they are.
        let raw = "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
                   Content-Type: text/plain; charset=utf-8\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Caf\u{e9} cr=C3=A8me\r\n--b\r\n\
                   Content-Type: text/html; charset=iso-8859-1\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n";
        let mut raw = raw.as_bytes().to_vec();
        raw.extend_from_slice(b"<p>na\xEFve =E9t=E9</p>\r\n--b--\r\n");
        let m = Message::from_raw(raw);
        assert_eq!(m.body().text, "Caf\u{e9} cr\u{e8}me");
        assert_eq!(m.body().html, "<p>na\u{ef}ve \u{e9}t\u{e9}</p>");
    }

    #[test]
    fn too_deep_mime_still_returns_the_message() {
        let mut raw = String::from("Subject: deep\r\n");
        for i in 0..150 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}z\r\n\r\n--b{i}z\r\n"
            ));
        }
        raw.push_str("\r\nbottom\r\n");
        let m = Message::from_raw(raw.into_bytes());
        assert_eq!(m.header().subject, "deep");
        assert!(m.body().error.is_some());
        assert!(m.body().text.contains("bottom"));
    }

    #[test]
    fn lenient_dates() {
        assert_eq!(lenient_date("2024-03-04 10:09:00"), Some(1_709_546_940));
        assert_eq!(lenient_date("2024-03-04T10:09:00Z"), Some(1_709_546_940));
        assert_eq!(
            lenient_date("2024-03-04T11:09:00+01:00"),
            Some(1_709_546_940)
        );
        assert_eq!(
            lenient_date("2024-03-04 11:09:00 +0100"),
            Some(1_709_546_940)
        );
        assert_eq!(
            lenient_date("Mon Mar  4 10:09:00 2024"),
            Some(1_709_546_940)
        );
        assert_eq!(lenient_date("Mar 4 10:09:00 2024 GMT"), Some(1_709_546_940));
        assert_eq!(lenient_date("2024-03-04"), Some(1_709_510_400));
        for bad in [
            "",
            "yesterday",
            "2024-13-04 10:00:00",
            "2024-03-04 25:00:00",
            "Foo Bar 4 10:09:00 2024",
            "2024-03-04 10:09:00 +99",
        ] {
            assert_eq!(lenient_date(bad), None, "{bad}");
        }
        let m = Message::from_raw(b"Subject: d\r\nDate: 2024-03-04 10:09:00\r\n\r\nx".to_vec());
        assert_eq!(m.header().timestamp, 1_709_546_940);
    }

    #[test]
    fn lenient_base64_and_windows_1252() {
        assert_eq!(lenient_base64(b"SGVsbG8gd29ybGQ="), b"Hello world");
        assert_eq!(lenient_base64(b"SGVs!!bG8\r\ngd2\x009y"), b"Hello wor");
        assert_eq!(lenient_base64(b""), b"");
        assert_eq!(windows_1252(b"Gr\xfc\xdfe \x80 \x93ok\x94"), "Grüße € “ok”");
        assert_eq!(decode_text_bytes("déjà".as_bytes()), "déjà");
        assert_eq!(decode_text_bytes(b"d\xe9j\xe0"), "déjà");
    }

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
    fn unknown_or_misspelled_charset_is_not_replacement_characters() {
        let raw = b"Content-Type: text/plain; charset=latin-1\r\n\r\nK\xf6ln".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
        let raw = b"Content-Type: text/plain; charset=x-unknown\r\n\r\nK\xc3\xb6ln".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
        let raw = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nK\xf6ln".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
        // 7-bit bytes of a stateful charset are decoded, not taken as ASCII.
        let raw =
            b"Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x1b$BF|K\\\x1b(B".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "日本");
        // Raw UTF-8 in a part without a charset.
        let raw = "Subject: x\r\n\r\nK\u{f6}ln".as_bytes().to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
    }
}
