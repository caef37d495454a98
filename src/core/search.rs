//! Search criteria, and the encoding of IMAP command arguments: quoted strings, literals, atoms
//! (flag keywords), folder names and dates.
//!
//! Everything a caller passes in is checked when it is added (CR, LF and NUL are refused, a
//! keyword must be an atom), so that a command is never half-built or sent with bad bytes.

use super::error::{Error, Result};
use super::message::flags;
use super::mutf7;
use super::options::check_text;

/// How non-ASCII strings can be sent to this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralMode {
    /// LITERAL+ (RFC 7888): non-synchronizing literals `{N+}` of any size.
    Plus,
    /// LITERAL- (RFC 7888): non-synchronizing literals of at most 4096 bytes.
    Minus,
    /// No non-synchronizing literals.
    None,
}

impl LiteralMode {
    /// The mode from the server's capabilities (upper-case names).
    pub fn from_capabilities(has: impl Fn(&str) -> bool) -> LiteralMode {
        if has("LITERAL+") {
            LiteralMode::Plus
        } else if has("LITERAL-") {
            LiteralMode::Minus
        } else {
            LiteralMode::None
        }
    }

    fn allows(self, len: usize) -> bool {
        match self {
            LiteralMode::Plus => true,
            LiteralMode::Minus => len <= 4096,
            LiteralMode::None => false,
        }
    }
}

/// A quoted string (RFC 3501 `quoted`): `"` and `\` are escaped with `\`. The caller has
/// checked that `s` holds no CR, LF or NUL.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A `string` argument: quoted when it is 7-bit, otherwise a non-synchronizing literal when the
/// server accepts one. Without LITERAL+/LITERAL- the 8-bit text is sent quoted, which many
/// servers accept (Dovecot, Exchange) but the grammar does not promise.
pub fn string_arg(s: &str, mode: LiteralMode) -> String {
    if s.is_ascii() || !mode.allows(s.len()) {
        quoted(s)
    } else {
        format!("{{{}+}}\r\n{}", s.len(), s)
    }
}

/// Checks a folder name given by the caller: not empty, no CR, LF or NUL.
pub fn check_folder(name: &str) -> Result<()> {
    check_text("folder name", name)?;
    if name.is_empty() {
        return Err(Error::Argument("folder name is empty".into()));
    }
    Ok(())
}

/// A folder name as a command argument: modified UTF-7 (so always 7-bit), quoted.
pub fn folder_arg(name: &str) -> String {
    quoted(&mutf7::encode(name))
}

/// The inside of a quoted folder name (for commands whose builder adds the quotes itself).
pub fn folder_arg_unquoted(name: &str) -> String {
    let q = folder_arg(name);
    q[1..q.len() - 1].to_string()
}

/// Checks a flag keyword (RFC 3501 `flag-keyword`, an atom): 1 or more printable ASCII
/// characters other than `( ) { % * " \ ]` and space. System flags (`\Seen`) are not keywords.
pub fn check_keyword(keyword: &str) -> Result<()> {
    check_text("keyword", keyword)?;
    if keyword.is_empty() {
        return Err(Error::Argument("keyword is empty".into()));
    }
    if let Some(c) = keyword.chars().find(|&c| !is_atom_char(c)) {
        return Err(Error::Argument(format!(
            "keyword {keyword:?} contains {c:?}: a keyword is an IMAP atom (printable ASCII without space and ( ) {{ % * \" \\ ])"
        )));
    }
    Ok(())
}

fn is_atom_char(c: char) -> bool {
    matches!(c, '!'..='~') && !matches!(c, '(' | ')' | '{' | '%' | '*' | '"' | '\\' | ']')
}

/// The IMAP flag names of `EMAIL_FLAG_*` bits, in bit order.
pub fn flag_names(bits: u32) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (bit, name) in [
        (flags::SEEN, "\\Seen"),
        (flags::ANSWERED, "\\Answered"),
        (flags::FLAGGED, "\\Flagged"),
        (flags::DELETED, "\\Deleted"),
        (flags::DRAFT, "\\Draft"),
    ] {
        if bits & bit != 0 {
            out.push(name);
        }
    }
    out
}

/// All flag bits known to imapmail.
pub const KNOWN_FLAGS: u32 =
    flags::SEEN | flags::ANSWERED | flags::FLAGGED | flags::DELETED | flags::DRAFT;

/// Checks flag bits: unknown bits are an argument error.
pub fn check_flags(bits: u32) -> Result<()> {
    if bits & !KNOWN_FLAGS != 0 {
        return Err(Error::Argument(format!(
            "unknown flag bits 0x{:x}",
            bits & !KNOWN_FLAGS
        )));
    }
    Ok(())
}

/// A calendar date (UTC) of a Unix time, for SINCE/BEFORE/ON: (year, month 1-12, day 1-31).
pub fn utc_date(unix: i64) -> Result<(i64, u32, u32)> {
    // 0001-01-01 .. 9999-12-31: the years IMAP's 4-digit date-year can hold.
    const MIN: i64 = -62_135_596_800;
    const MAX: i64 = 253_402_300_799;
    if !(MIN..=MAX).contains(&unix) {
        return Err(Error::Argument(format!(
            "time {unix} is outside the years 1 to 9999"
        )));
    }
    // Howard Hinnant's civil_from_days.
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Ok((year, month, day))
}

/// An IMAP `date` (`d-Mon-yyyy`) of a Unix time's UTC calendar day.
pub fn imap_date(unix: i64) -> Result<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = utc_date(unix)?;
    Ok(format!("{d}-{}-{y:04}", MONTHS[(m - 1) as usize]))
}

/// Which text a text criterion looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    From,
    To,
    Cc,
    Bcc,
    Subject,
    /// The body only.
    Body,
    /// Headers and body.
    Text,
}

impl TextField {
    fn key(self) -> &'static str {
        match self {
            TextField::From => "FROM",
            TextField::To => "TO",
            TextField::Cc => "CC",
            TextField::Bcc => "BCC",
            TextField::Subject => "SUBJECT",
            TextField::Body => "BODY",
            TextField::Text => "TEXT",
        }
    }
}

/// Which date a date criterion compares, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateKey {
    /// Internal date (arrival) on or after the day.
    Since,
    /// Internal date before the day.
    Before,
    /// Internal date on the day.
    On,
    /// Date: header on or after the day.
    SentSince,
    /// Date: header before the day.
    SentBefore,
    /// Date: header on the day.
    SentOn,
}

impl DateKey {
    fn key(self) -> &'static str {
        match self {
            DateKey::Since => "SINCE",
            DateKey::Before => "BEFORE",
            DateKey::On => "ON",
            DateKey::SentSince => "SENTSINCE",
            DateKey::SentBefore => "SENTBEFORE",
            DateKey::SentOn => "SENTON",
        }
    }
}

/// One search criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Criterion {
    /// Messages with (`set`) or without every one of these `EMAIL_FLAG_*` bits.
    Flags { bits: u32, set: bool },
    /// Messages with or without a keyword.
    Keyword { keyword: String, set: bool },
    /// A substring of a header or of the text (case-insensitive on most servers).
    Text { field: TextField, value: String },
    /// A substring of a named header field.
    Header { name: String, value: String },
    /// A date comparison, by UTC calendar day.
    Date { key: DateKey, date: String },
    /// RFC822.SIZE larger than.
    Larger(u32),
    /// RFC822.SIZE smaller than.
    Smaller(u32),
    /// UIDs from `first` to `last` (None: up to the newest).
    Uids { first: u32, last: Option<u32> },
    /// Both sub-queries' criteria (a parenthesized group).
    And(SearchQuery),
    /// Either sub-query.
    Or(SearchQuery, SearchQuery),
    /// Not the sub-query.
    Not(SearchQuery),
}

/// Search criteria, all of which must hold (an empty query matches every message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    items: Vec<Criterion>,
}

impl SearchQuery {
    pub fn new() -> SearchQuery {
        SearchQuery::default()
    }

    /// True when there is no criterion (every message matches).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The criteria, in the order added.
    pub fn criteria(&self) -> &[Criterion] {
        &self.items
    }

    /// Adds a criterion after checking its values.
    pub fn push(&mut self, c: Criterion) -> Result<()> {
        match &c {
            Criterion::Flags { bits, .. } => {
                check_flags(*bits)?;
                if *bits == 0 {
                    return Err(Error::Argument("no flag given".into()));
                }
            }
            Criterion::Keyword { keyword, .. } => check_keyword(keyword)?,
            Criterion::Text { value, .. } => check_text("search value", value)?,
            Criterion::Header { name, value } => {
                check_text("header name", name)?;
                check_text("search value", value)?;
                if name.is_empty() {
                    return Err(Error::Argument("header name is empty".into()));
                }
            }
            Criterion::Date { .. } | Criterion::Larger(_) | Criterion::Smaller(_) => {}
            Criterion::Uids { first, last } => {
                if *first == 0 {
                    return Err(Error::Argument("UIDs start at 1".into()));
                }
                if let Some(l) = last {
                    if l < first {
                        return Err(Error::Argument(format!(
                            "UID range {first}:{l} is reversed"
                        )));
                    }
                }
            }
            Criterion::And(_) | Criterion::Or(..) | Criterion::Not(_) => {}
        }
        self.items.push(c);
        Ok(())
    }

    /// True when a value is not 7-bit (the search then needs `CHARSET UTF-8`).
    pub fn needs_utf8(&self) -> bool {
        self.items.iter().any(|c| match c {
            Criterion::Text { value, .. } => !value.is_ascii(),
            Criterion::Header { name, value } => !name.is_ascii() || !value.is_ascii(),
            Criterion::And(q) | Criterion::Not(q) => q.needs_utf8(),
            Criterion::Or(a, b) => a.needs_utf8() || b.needs_utf8(),
            _ => false,
        })
    }

    /// The arguments of `UID SEARCH`: `[CHARSET UTF-8 ]criteria` (`ALL` for an empty query).
    pub fn to_command_args(&self, mode: LiteralMode) -> String {
        let keys = self.render_list(mode);
        if self.needs_utf8() {
            format!("CHARSET UTF-8 {keys}")
        } else {
            keys
        }
    }

    /// The criteria as a space-separated list (`ALL` when empty).
    fn render_list(&self, mode: LiteralMode) -> String {
        if self.items.is_empty() {
            return "ALL".into();
        }
        self.items
            .iter()
            .map(|c| c.render(mode))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The query as one search-key: a single criterion as is, several in parentheses.
    fn render_key(&self, mode: LiteralMode) -> String {
        match self.items.len() {
            0 => "ALL".into(),
            1 => self.items[0].render(mode),
            _ => format!("({})", self.render_list(mode)),
        }
    }
}

impl Criterion {
    fn render(&self, mode: LiteralMode) -> String {
        match self {
            Criterion::Flags { bits, set } => {
                let mut keys = Vec::new();
                for (bit, yes, no) in [
                    (flags::SEEN, "SEEN", "UNSEEN"),
                    (flags::ANSWERED, "ANSWERED", "UNANSWERED"),
                    (flags::FLAGGED, "FLAGGED", "UNFLAGGED"),
                    (flags::DELETED, "DELETED", "UNDELETED"),
                    (flags::DRAFT, "DRAFT", "UNDRAFT"),
                ] {
                    if bits & bit != 0 {
                        keys.push(if *set { yes } else { no });
                    }
                }
                keys.join(" ")
            }
            Criterion::Keyword { keyword, set } => {
                format!("{} {keyword}", if *set { "KEYWORD" } else { "UNKEYWORD" })
            }
            Criterion::Text { field, value } => {
                format!("{} {}", field.key(), string_arg(value, mode))
            }
            Criterion::Header { name, value } => {
                format!(
                    "HEADER {} {}",
                    string_arg(name, mode),
                    string_arg(value, mode)
                )
            }
            Criterion::Date { key, date } => format!("{} {date}", key.key()),
            Criterion::Larger(n) => format!("LARGER {n}"),
            Criterion::Smaller(n) => format!("SMALLER {n}"),
            Criterion::Uids { first, last } => match last {
                Some(l) if l == first => format!("UID {first}"),
                Some(l) => format!("UID {first}:{l}"),
                None => format!("UID {first}:*"),
            },
            Criterion::And(q) => q.render_key(mode),
            Criterion::Or(a, b) => format!("OR {} {}", a.render_key(mode), b.render_key(mode)),
            Criterion::Not(q) => format!("NOT {}", q.render_key(mode)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(items: Vec<Criterion>) -> SearchQuery {
        let mut q = SearchQuery::new();
        for c in items {
            q.push(c).unwrap();
        }
        q
    }

    fn text(field: TextField, value: &str) -> Criterion {
        Criterion::Text {
            field,
            value: value.into(),
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        assert_eq!(quoted("a\\b"), "\"a\\\\b\"");
        assert_eq!(quoted("{5}"), "\"{5}\"");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(string_arg("é", LiteralMode::Plus), "{2+}\r\né");
        assert_eq!(string_arg("é", LiteralMode::None), "\"é\"");
        assert_eq!(
            string_arg(&"é".repeat(2049), LiteralMode::Minus),
            quoted(&"é".repeat(2049))
        );
        assert_eq!(
            string_arg(&"é".repeat(2048), LiteralMode::Minus),
            format!("{{4096+}}\r\n{}", "é".repeat(2048))
        );
        assert_eq!(folder_arg("Entrée"), "\"Entr&AOk-e\"");
        assert_eq!(folder_arg("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(folder_arg_unquoted("a\"b"), "a\\\"b");
    }

    #[test]
    fn keywords_must_be_atoms() {
        check_keyword("$Forwarded").unwrap();
        check_keyword("Work_2024").unwrap();
        for bad in [
            "", "a b", "a\"b", "\\Seen", "x{5}", "a%", "a*", "é", "a)", "a]", "a\rb", "a\0",
        ] {
            assert!(
                matches!(check_keyword(bad), Err(Error::Argument(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn dates() {
        assert_eq!(imap_date(0).unwrap(), "1-Jan-1970");
        assert_eq!(imap_date(951_782_400).unwrap(), "29-Feb-2000");
        assert_eq!(imap_date(1_700_000_000).unwrap(), "14-Nov-2023");
        assert_eq!(imap_date(-1).unwrap(), "31-Dec-1969");
        assert_eq!(imap_date(-62_135_596_800).unwrap(), "1-Jan-0001");
        assert!(imap_date(253_402_300_800).is_err());
    }

    #[test]
    fn renders_criteria() {
        assert_eq!(SearchQuery::new().to_command_args(LiteralMode::Plus), "ALL");
        let query = q(vec![
            Criterion::Flags {
                bits: flags::SEEN | flags::FLAGGED,
                set: false,
            },
            text(TextField::From, "bob"),
            Criterion::Date {
                key: DateKey::Since,
                date: imap_date(1_700_000_000).unwrap(),
            },
            Criterion::Larger(10),
            Criterion::Uids {
                first: 5,
                last: None,
            },
            Criterion::Keyword {
                keyword: "$Work".into(),
                set: true,
            },
        ]);
        assert_eq!(
            query.to_command_args(LiteralMode::Plus),
            "UNSEEN UNFLAGGED FROM \"bob\" SINCE 14-Nov-2023 LARGER 10 UID 5:* KEYWORD $Work"
        );
        let a = q(vec![
            text(TextField::Subject, "a\"b"),
            text(TextField::To, "x"),
        ]);
        let b = q(vec![text(TextField::Subject, "Entrée")]);
        let query = q(vec![
            Criterion::Or(a.clone(), b),
            Criterion::Not(q(vec![Criterion::Uids {
                first: 3,
                last: Some(3),
            }])),
            Criterion::And(a),
            Criterion::Not(SearchQuery::new()),
        ]);
        assert_eq!(
            query.to_command_args(LiteralMode::Plus),
            "CHARSET UTF-8 OR (SUBJECT \"a\\\"b\" TO \"x\") SUBJECT {7+}\r\nEntrée NOT UID 3 (SUBJECT \"a\\\"b\" TO \"x\") NOT ALL"
        );
        let h = q(vec![Criterion::Header {
            name: "X-Prio".into(),
            value: "1".into(),
        }]);
        assert_eq!(
            h.to_command_args(LiteralMode::None),
            "HEADER \"X-Prio\" \"1\""
        );
    }

    #[test]
    fn rejects_bad_values_when_added() {
        let mut query = SearchQuery::new();
        for bad in [
            text(TextField::From, "a\r\nb"),
            text(TextField::Body, "a\0"),
            Criterion::Header {
                name: "".into(),
                value: "x".into(),
            },
            Criterion::Header {
                name: "X\n".into(),
                value: "x".into(),
            },
            Criterion::Flags {
                bits: 0x100,
                set: true,
            },
            Criterion::Flags { bits: 0, set: true },
            Criterion::Uids {
                first: 0,
                last: None,
            },
            Criterion::Uids {
                first: 5,
                last: Some(4),
            },
            Criterion::Keyword {
                keyword: "a b".into(),
                set: true,
            },
        ] {
            assert!(
                matches!(query.push(bad.clone()), Err(Error::Argument(_))),
                "{bad:?}"
            );
        }
        assert!(query.is_empty());
    }
}
