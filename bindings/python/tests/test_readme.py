"""The examples of the package's README.md compile and name only what the package has."""

from __future__ import annotations

import os
import re

import imapmail

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")


def _blocks() -> list:
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_examples_compile() -> None:
    blocks = _blocks()
    assert len(blocks) >= 6
    for block in blocks:
        compile(block, README, "exec")


def test_examples_use_existing_names() -> None:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    code = "\n".join(_blocks())
    for name in set(re.findall(r"\bimapmail\.(\w+)", code)):
        assert hasattr(imapmail, name), name
    for name in set(re.findall(r"\bsession\.(\w+)", code)):
        assert hasattr(imapmail.Session, name), name
    for name in set(re.findall(r"\b(?:message|m)\.(\w+)", code)):
        assert hasattr(imapmail.Message, name), name
    for name in set(re.findall(r"\b(?:attachment|a)\.(\w+)", code)):
        assert hasattr(imapmail.Attachment, name), name
    for name in set(re.findall(r"Search\(\)((?:\.\w+\([^()]*\))+)", code)):
        for method in re.findall(r"\.(\w+)\(", name):
            assert hasattr(imapmail.Search, method), method
    # The Message and Attachment fields the prose lists exist.
    fields = re.search(r"A `Message` has (.*?)\. Messages stay", text, flags=re.S)
    assert fields is not None
    for name in re.findall(r"`(\w+)(?:\(\w*\))?`", fields.group(1)):
        if name not in ("Recipient",):
            assert hasattr(imapmail.Message, name), name
    criteria = re.search(r"Criteria: (.*?)\. Dates", text, flags=re.S)
    assert criteria is not None
    for name in re.findall(r"`(\w+)", criteria.group(1)):
        assert hasattr(imapmail.Search, name), name
