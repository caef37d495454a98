#!/usr/bin/env python3
"""Test aid only: exits 0 when one of the given PEM certificates carries an ECDSA signature whose
r or s is shorter than the curve's size (a leading zero byte, about 1 signature in 128 for
P-256), 1 otherwise. Wine 8's crypt32 cannot verify such signatures and fails the chain with
TRUST_E_CERT_SIGNATURE (0x80096004); Windows verifies them. The Windows suite uses this to keep
its certificates clear of that Wine bug.

    short_ecdsa_signature.py CERT.pem [CERT.pem ...]     (prints "FILE: r=N s=N bytes")
"""
import base64
import re
import sys


def tlv(data, pos):
    """Returns (tag, content start, content length) of the DER element at pos."""
    tag, length, pos = data[pos], data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, pos, length


def signature_int_lengths(der):
    """Lengths in bytes of r and s (without sign padding) of an ECDSA-signed certificate."""
    _, pos, _ = tlv(der, 0)  # Certificate ::= SEQUENCE
    _, start, length = tlv(der, pos)  # tbsCertificate
    _, start, length = tlv(der, start + length)  # signatureAlgorithm
    tag, start, length = tlv(der, start + length)  # signatureValue BIT STRING
    if tag != 0x03:
        raise ValueError("no signature bit string")
    sig = der[start + 1:start + length]  # skip the unused-bits byte
    _, pos, _ = tlv(sig, 0)  # Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
    lengths = []
    for _ in range(2):
        tag, pos, length = tlv(sig, pos)
        if tag != 0x02:
            raise ValueError("not an ECDSA signature")
        lengths.append(len(sig[pos:pos + length].lstrip(b"\0")))
        pos += length
    return lengths


def main():
    short = False
    for path in sys.argv[1:]:
        text = open(path, encoding="ascii").read()
        for block in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S):
            r, s = signature_int_lengths(base64.b64decode("".join(block.split())))
            print("%s: r=%d s=%d bytes" % (path, r, s))
            short = short or r < 32 or s < 32
    sys.exit(0 if short else 1)


if __name__ == "__main__":
    main()
