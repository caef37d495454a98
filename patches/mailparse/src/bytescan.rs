//! Byte scanning for the hot loops of the parser: line ends in header blocks,
//! the MIME boundary search (both built on `memchr::memchr`) and the whitespace
//! strip before base64 decoding (word at a time with the classic hasless bit
//! trick of Bit Twiddling Hacks, on usize words loaded with from_le_bytes).

const WORD: usize = core::mem::size_of::<usize>();
const LO: usize = usize::from_ne_bytes([0x01; WORD]);
const HI: usize = usize::from_ne_bytes([0x80; WORD]);

/// Sets the high bit of every byte of `x` below `n` (n <= 128). Only the
/// lowest mark is exact (the borrow can mark bytes above it), so callers
/// re-check the rest.
#[inline]
fn below_mask(x: usize, n: u8) -> usize {
    x.wrapping_sub(LO.wrapping_mul(n as usize)) & !x & HI
}

/// Load one word little-endian, so mask bit `p` means byte `p / 8`.
#[inline]
fn word(chunk: &[u8]) -> usize {
    let mut bytes = [0u8; WORD];
    bytes.copy_from_slice(chunk);
    usize::from_le_bytes(bytes)
}

/// Byte index of the lowest set bit of a non-zero mask.
#[inline]
fn first_hit(mask: usize) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Index of the first `needle` in `haystack` (the `memchr` crate: vectorised where the CPU
/// allows, word at a time otherwise).
#[inline]
pub(crate) fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    memchr::memchr(needle, haystack)
}

/// First occurrence of `key` in `haystack`: scan for key[0], then compare the rest.
///
/// Not `memchr::memmem`: a MIME boundary (`------=_Part_...`) starts with a byte that never
/// occurs in base64 and rarely in text, while memmem's prefilter picks the needle's rarest
/// bytes by general text statistics (`=`, `_`), which quoted-printable bodies are full of.
/// Parsing the benchmark's 5,000 messages: 39-41 ms this way, 42-43 ms with memmem.
pub(crate) fn find(haystack: &[u8], key: &[u8]) -> Option<usize> {
    let first = *key.first()?;
    let mut at = 0;
    while let Some(i) = find_byte(&haystack[at..], first) {
        let candidate = at + i;
        if haystack[candidate..].starts_with(key) {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

/// `body` without ASCII whitespace (same set as u8::is_ascii_whitespace).
///
/// All whitespace bytes are below 0x21, so a word with no byte below 0x21 is
/// copied through untouched. Candidates are re-checked with is_ascii_whitespace
/// (so 0x0B etc. are kept, as before), and runs are copied in one piece.
pub(crate) fn strip_ascii_whitespace(body: &[u8]) -> Vec<u8> {
    let mut cleaned = Vec::with_capacity(body.len());
    let mut run_start = 0;
    let mut offset = 0;
    let mut words = body.chunks_exact(WORD);
    for chunk in &mut words {
        let mut mask = below_mask(word(chunk), 0x21);
        while mask != 0 {
            let i = offset + first_hit(mask);
            if body[i].is_ascii_whitespace() {
                cleaned.extend_from_slice(&body[run_start..i]);
                run_start = i + 1;
            }
            mask &= mask - 1;
        }
        offset += WORD;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b.is_ascii_whitespace() {
            cleaned.extend_from_slice(&body[run_start..offset + i]);
            run_start = offset + i + 1;
        }
    }
    cleaned.extend_from_slice(&body[run_start..]);
    cleaned
}

/// `body` with its line ends (CRLF or LF) removed, removing nothing else: what base64 in mail
/// becomes once unwrapped. Lines of one length (as encoders write them) are copied by stride
/// with two byte checks each (so a line end inside such a stride stays); from the first line
/// that breaks the pattern, line ends are searched for. Only whitespace is removed, so when
/// the result holds no whitespace it is `strip_ascii_whitespace(body)`; otherwise a caller
/// must strip (a strict base64 decoder refuses whitespace, which is that check).
#[cfg_attr(not(feature = "simd-base64"), allow(dead_code))]
pub(crate) fn join_lines(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let Some(first_end) = find_byte(body, b'\n') else {
        out.extend_from_slice(body);
        return out;
    };
    // The length of a line with its end, and of its end.
    let stride = first_end + 1;
    let end_len = if first_end > 0 && body[first_end - 1] == b'\r' {
        2
    } else {
        1
    };
    let mut at = 0;
    while at + stride <= body.len()
        && body[at + stride - 1] == b'\n'
        && (end_len == 1 || body[at + stride - 2] == b'\r')
    {
        out.extend_from_slice(&body[at..at + stride - end_len]);
        at += stride;
    }
    let mut rest = &body[at..];
    while let Some(i) = find_byte(rest, b'\n') {
        let line = &rest[..i];
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{find, find_byte, join_lines, strip_ascii_whitespace};

    /// What join_lines promises: only whitespace removed (the rest in order), and without
    /// whitespace left, the same as the full strip; lines of one length lose their ends.
    fn check_join_lines(body: &[u8]) {
        let joined = join_lines(body);
        let kept: Vec<u8> = body
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let joined_kept: Vec<u8> = joined
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        assert_eq!(joined_kept, kept, "{:?}", body);
        assert!(joined.len() <= body.len());
        if !joined.iter().any(u8::is_ascii_whitespace) {
            assert_eq!(joined, strip_ascii_whitespace(body), "{:?}", body);
        }
        let removed = body.len() - joined.len();
        let whitespace = body.iter().filter(|b| b.is_ascii_whitespace()).count();
        assert!(removed <= whitespace, "{:?}", body);
    }

    #[test]
    fn join_lines_removes_line_ends_only() {
        // Regular lines of base64: every line end goes.
        assert_eq!(join_lines(b"QUJD\r\nREVG\r\nR0g=\r\n"), b"QUJDREVGR0g=");
        assert_eq!(join_lines(b"QUJD\nREVG\nR0g="), b"QUJDREVGR0g=");
        assert_eq!(join_lines(b"QUJD\r\nRE\r\nR0g=\r\nQUJD"), b"QUJDRER0g=QUJD");
        let cases: &[&[u8]] = &[
            b"",
            b"abc",
            b"\n",
            b"\r\n",
            b"ab\r\ncd\r\nef",
            b"ab\r\ncd\r\nef\r\n",
            b"ab\ncd\nef\n",
            b"abcd\r\nabcd\r\nab\r\nabcd\r\n",
            b"ab\r\ncd\nef\r\ngh",
            b"a b\r\nc\td\r\n\r\n\r",
            b"\rx\r\n\ry\r\n",
            b"QUJD\r\nREVG\r\nR0g=\r\n",
        ];
        for &case in cases {
            check_join_lines(case);
        }
        // Generated: lines of one length with breaks in the pattern.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut body = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let stride = 1 + (state % 9) as usize;
            for _ in 0..(state >> 8) % 12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = if state % 5 == 0 {
                    (state >> 3) as usize % 12
                } else {
                    stride
                };
                body.extend((0..len).map(|k| b"AB \r\n="[(k + (state >> 16) as usize) % 6]));
                body.extend_from_slice(if state % 3 == 0 { b"\n" } else { b"\r\n" });
            }
            check_join_lines(&body);
        }
    }

    fn naive_find(haystack: &[u8], key: &[u8]) -> Option<usize> {
        if key.is_empty() || haystack.len() < key.len() {
            return None;
        }
        (0..=haystack.len() - key.len()).find(|&i| &haystack[i..i + key.len()] == key)
    }

    fn naive_strip(body: &[u8]) -> Vec<u8> {
        body.iter()
            .filter(|c| !c.is_ascii_whitespace())
            .cloned()
            .collect()
    }

    /// Small-alphabet pseudo-random inputs at every length, so needles hit at every alignment.
    fn corpus() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut state: u32 = 0x9E37_79B9;
        for len in 0..80 {
            for _ in 0..4 {
                let mut v = Vec::with_capacity(len);
                for _ in 0..len {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    const ALPHABET: &[u8; 12] = b"-\r\n \tab=\x0c\x0b\x00\xff";
                    v.push(ALPHABET[(state % 12) as usize]);
                }
                out.push(v);
            }
        }
        out
    }

    #[test]
    fn find_byte_matches_position() {
        for h in corpus() {
            for needle in [b'-', b'\n', b'a', 0x00, 0xff, b'z'] {
                assert_eq!(
                    find_byte(&h, needle),
                    h.iter().position(|&b| b == needle),
                    "{:?} / {:?}",
                    h,
                    needle
                );
            }
        }
    }

    #[test]
    fn find_matches_naive_search() {
        let keys: &[&[u8]] = &[
            b"-",
            b"--",
            b"--ab",
            b"\n",
            b"\r\n",
            b"ab=",
            b"zz",
            b"\x00\xff",
        ];
        for h in corpus() {
            for key in keys {
                assert_eq!(find(&h, key), naive_find(&h, key), "{:?} / {:?}", h, key);
            }
        }
        assert_eq!(find(b"abc", b""), None);
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(find(b"ab", b"abc"), None);
    }

    #[test]
    fn strip_matches_filter() {
        for h in corpus() {
            assert_eq!(strip_ascii_whitespace(&h), naive_strip(&h), "{:?}", h);
        }
        for b in 0u8..=255 {
            let single = [b];
            assert_eq!(
                strip_ascii_whitespace(&single),
                naive_strip(&single),
                "{:?}",
                b
            );
            let mixed = [
                b' ', b, b'\t', b, b'\r', b'\n', b, b, b, b, b, b, b, b, b, b, b'\x0c', b,
            ];
            assert_eq!(
                strip_ascii_whitespace(&mixed),
                naive_strip(&mixed),
                "{:?}",
                b
            );
        }
        // vertical tab is below 0x21 but is not ASCII whitespace: kept
        assert_eq!(
            strip_ascii_whitespace(b"a\x0bb\x0b\x0b\x0b\x0b\x0b\x0bc"),
            b"a\x0bb\x0b\x0b\x0b\x0b\x0b\x0bc"
        );
    }
}
