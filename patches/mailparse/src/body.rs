use charset::{Charset, decode_ascii};

use crate::{MailParseError, ParsedContentType};

/// Represents the body of an email (or mail subpart)
pub enum Body<'a> {
    /// A body with 'base64' Content-Transfer-Encoding.
    Base64(EncodedBody<'a>),
    /// A body with 'quoted-printable' Content-Transfer-Encoding.
    QuotedPrintable(EncodedBody<'a>),
    /// A body with '7bit' Content-Transfer-Encoding.
    SevenBit(TextBody<'a>),
    /// A body with '8bit' Content-Transfer-Encoding.
    EightBit(TextBody<'a>),
    /// A body with 'binary' Content-Transfer-Encoding.
    Binary(BinaryBody<'a>),
}

impl<'a> Body<'a> {
    pub fn new(
        body: &'a [u8],
        ctype: &'a ParsedContentType,
        transfer_encoding: &Option<String>,
    ) -> Body<'a> {
        transfer_encoding
            .as_ref()
            .map(|encoding| match encoding.as_ref() {
                "base64" => Body::Base64(EncodedBody {
                    decoder: decode_base64,
                    body,
                    ctype,
                }),
                "quoted-printable" => Body::QuotedPrintable(EncodedBody {
                    decoder: decode_quoted_printable,
                    body,
                    ctype,
                }),
                "7bit" => Body::SevenBit(TextBody { body, ctype }),
                "8bit" => Body::EightBit(TextBody { body, ctype }),
                "binary" => Body::Binary(BinaryBody { body, ctype }),
                _ => Body::get_default(body, ctype),
            })
            .unwrap_or_else(|| Body::get_default(body, ctype))
    }

    fn get_default(body: &'a [u8], ctype: &'a ParsedContentType) -> Body<'a> {
        Body::SevenBit(TextBody { body, ctype })
    }
}

/// Struct that holds the encoded body representation of the message (or message subpart).
pub struct EncodedBody<'a> {
    decoder: fn(&[u8]) -> Result<Vec<u8>, MailParseError>,
    ctype: &'a ParsedContentType,
    body: &'a [u8],
}

impl<'a> EncodedBody<'a> {
    /// Get the body Content-Type
    pub fn get_content_type(&self) -> &'a ParsedContentType {
        self.ctype
    }

    /// Get the raw body of the message exactly as it is written in the message (or message subpart).
    pub fn get_raw(&self) -> &'a [u8] {
        self.body
    }

    /// Get the decoded body of the message (or message subpart).
    pub fn get_decoded(&self) -> Result<Vec<u8>, MailParseError> {
        (self.decoder)(self.body)
    }

    /// Get the body of the message as a Rust string.
    /// This function tries to decode the body and then converts
    /// the result into a Rust UTF-8 string using the charset in the Content-Type
    /// (or "us-ascii" if the charset was missing or not recognized).
    /// This operation returns a valid result only if the decoded body
    /// has a text format.
    pub fn get_decoded_as_string(&self) -> Result<String, MailParseError> {
        get_body_as_string(&self.get_decoded()?, self.ctype)
    }
}

/// Struct that holds the textual body representation of the message (or message subpart).
pub struct TextBody<'a> {
    ctype: &'a ParsedContentType,
    body: &'a [u8],
}

impl<'a> TextBody<'a> {
    /// Get the body Content-Type
    pub fn get_content_type(&self) -> &'a ParsedContentType {
        self.ctype
    }

    /// Get the raw body of the message exactly as it is written in the message (or message subpart).
    pub fn get_raw(&self) -> &'a [u8] {
        self.body
    }

    /// Get the body of the message as a Rust string.
    /// This function converts the body into a Rust UTF-8 string using the charset
    /// in the Content-Type
    /// (or "us-ascii" if the charset was missing or not recognized).
    pub fn get_as_string(&self) -> Result<String, MailParseError> {
        get_body_as_string(self.body, self.ctype)
    }
}

/// Struct that holds a binary body representation of the message (or message subpart).
pub struct BinaryBody<'a> {
    ctype: &'a ParsedContentType,
    body: &'a [u8],
}

impl<'a> BinaryBody<'a> {
    /// Get the body Content-Type
    pub fn get_content_type(&self) -> &'a ParsedContentType {
        self.ctype
    }

    /// Get the raw body of the message exactly as it is written in the message (or message subpart).
    pub fn get_raw(&self) -> &'a [u8] {
        self.body
    }

    /// Get the body of the message as a Rust string. This function attempts
    /// to convert the body into a Rust UTF-8 string using the charset in the
    /// Content-Type header (or "us-ascii" as default). However, this may not
    /// always work for "binary" data. The API is provided anyway for
    /// convenient handling of real-world emails that may provide textual data
    /// with a binary transfer encoding, but use this at your own risk!
    pub fn get_as_string(&self) -> Result<String, MailParseError> {
        get_body_as_string(self.body, self.ctype)
    }
}

fn decode_base64(body: &[u8]) -> Result<Vec<u8>, MailParseError> {
    #[cfg(feature = "simd-base64")]
    if let Ok(decoded) = base64_simd::STANDARD.decode_to_vec(crate::bytescan::join_lines(body)) {
        // The usual case: wrapped lines of canonical base64. Joining the lines is cheaper than
        // stripping every kind of whitespace, and when the joined text decodes it held no
        // other whitespace (the strict decoder refuses any), so the result is the same.
        return Ok(decoded);
    }
    let cleaned = crate::bytescan::strip_ascii_whitespace(body);
    #[cfg(feature = "simd-base64")]
    if let Ok(decoded) = base64_simd::STANDARD.decode_to_vec(&cleaned) {
        // Canonical, padded base64 (what mail carries): the vectorised decoder, about four
        // times as fast. Anything it refuses goes to data-encoding, whose answer (bytes or
        // error) stands, so the results are the same either way.
        return Ok(decoded);
    }
    Ok(data_encoding::BASE64_MIME_PERMISSIVE.decode(&cleaned)?)
}

fn decode_quoted_printable(body: &[u8]) -> Result<Vec<u8>, MailParseError> {
    // Robust, keeping 8-bit bytes: mail declared as quoted-printable often carries raw 8-bit
    // text, which must not lose its accented letters.
    Ok(quoted_printable::decode_with_options(
        body,
        quoted_printable::Options::default()
            .parse_mode(quoted_printable::ParseMode::Robust)
            .keep_invalid_bytes(true),
    )?)
}

fn get_body_as_string(body: &[u8], ctype: &ParsedContentType) -> Result<String, MailParseError> {
    let cow = if let Some(charset) = Charset::for_label(ctype.charset.as_bytes()) {
        let (cow, _, _) = charset.decode(body);
        cow
    } else {
        decode_ascii(body)
    };
    Ok(cow.into_owned())
}

#[cfg(all(test, feature = "simd-base64"))]
mod simd_base64_tests {
    use super::decode_base64;

    /// mailparse's decoding without the vectorised path.
    fn published(body: &[u8]) -> Result<Vec<u8>, String> {
        let cleaned = crate::bytescan::strip_ascii_whitespace(body);
        data_encoding::BASE64_MIME_PERMISSIVE
            .decode(&cleaned)
            .map_err(|e| crate::MailParseError::from(e).to_string())
    }

    /// xorshift64*: deterministic, no crate needed.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[test]
    fn same_results_as_data_encoding_alone() {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut simd_used = 0;
        for round in 0..200_000 {
            // Valid base64 of random bytes, wrapped like mail, then (in most rounds) damaged:
            // a byte changed to anything, padding moved or dropped, characters cut off.
            let len = (next(&mut state) % 200) as usize;
            let data: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
            let encoded = data_encoding::BASE64.encode(&data).into_bytes();
            let mut body = Vec::new();
            for line in encoded.chunks(76) {
                body.extend_from_slice(line);
                body.extend_from_slice(b"\r\n");
            }
            match round % 4 {
                0 => {}
                1 if !body.is_empty() => {
                    let at = (next(&mut state) as usize) % body.len();
                    body[at] = match next(&mut state) % 3 {
                        0 => b'=',
                        1 => ALPHABET[(next(&mut state) % 64) as usize],
                        _ => next(&mut state) as u8,
                    };
                }
                2 if !body.is_empty() => {
                    let cut = (next(&mut state) as usize) % body.len();
                    body.truncate(cut);
                }
                _ => {
                    let at = (next(&mut state) as usize) % (body.len() + 1);
                    body.insert(at, b"= \t\nA"[(next(&mut state) % 5) as usize]);
                }
            }
            let ours = decode_base64(&body).map_err(|e| e.to_string());
            assert_eq!(
                ours,
                published(&body),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
            if round % 4 == 0 {
                assert_eq!(ours.as_deref(), Ok(&data[..]));
            }
            let cleaned = crate::bytescan::strip_ascii_whitespace(&body);
            if base64_simd::STANDARD.decode_to_vec(&cleaned).is_ok() {
                simd_used += 1;
            }
        }
        // The fast path really runs (on every undamaged body at least).
        assert!(simd_used >= 50_000, "{simd_used}");
    }
}

#[cfg(test)]
mod quoted_printable_tests {
    #[test]
    fn raw_8bit_text_in_a_quoted_printable_part_is_kept() {
        let mail = "Content-Type: text/plain; charset=utf-8\r\n\
                    Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                    Caf\u{e9} cr=C3=A8me, na\u{ef}ve=\r\n text\r\n";
        let parsed = crate::parse_mail(mail.as_bytes()).unwrap();
        assert_eq!(
            parsed.get_body().unwrap(),
            "Caf\u{e9} cr\u{e8}me, na\u{ef}ve text\r\n"
        );
    }
}
