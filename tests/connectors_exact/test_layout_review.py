"""Review of `read_exact_layout`: whenever it reads a body, the full parse and `verify_signature` read the same
Content and come to the same verdict, for bodies built to tell them apart (escapes, a HashCode-like tail inside a
string, repeated members, unicode and lone surrogates, NUL bytes, whitespace, deep nesting)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from connectors.exact.webhooks import read_exact_layout, verify_signature

SECRET = "review-secret"


def _sign(content: bytes) -> bytes:
    return hmac.new(SECRET.encode(), content, hashlib.sha256).hexdigest().upper().encode()


def _body(content: bytes, hash_code: bytes | None = None) -> bytes:
    return b'{"Content":' + content + b',"HashCode":"' + (hash_code or _sign(content)) + b'"}'


def _full(body: bytes) -> Any:
    """What the route's long way reads: the parsed Content (None: refused before the signature) and the verdict."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    content = document.get("Content") if isinstance(document, dict) else None
    if not isinstance(content, dict) or not isinstance(document.get("HashCode"), str):
        return None
    return content, verify_signature(body, SECRET)


OTHER = b"A" * 64
TAIL = b'},"HashCode":"' + OTHER + b'"}'
BODIES = [
    _body(b'{"Topic":"Items","Key":"x"}'),
    _body(b'{"Topic":"Items"}', OTHER),
    _body(b'{"a":"\\"},\\"HashCode\\":\\"' + OTHER + b'\\"}"}'),  # the tail, escaped, inside a string
    _body(b'{"a":"' + TAIL.replace(b'"', b"\\u0022") + b'"}'),
    _body(b'{"Topic":"Items","Topic":"Accounts"}'),  # a repeated member: the last one, both ways
    _body(b'{"a":"\\\\"}'),  # a string ending in an escaped backslash
    _body('{"a":"é\u2028😀"}'.encode()),
    _body(b'{"a":"\xed\xa0\x80"}'),  # a lone surrogate, as UTF-8
    _body(b'{"a":"\xff"}'),  # not UTF-8
    _body(b"{\x00}"),
    _body(b'{ "a" : 1 }'),
    _body(b'{"a":NaN,"b":-Infinity}'),
    _body(b'{"a":1},"Content":{"b":2}'),  # a second Content, spliced in
    _body(b'{"a":1},"x":{"b":2}'),
    _body(b'{"a":' * 2000 + b"1" + b"}" * 2000),
    _body(b'{"a":[' + b"[" * 900 + b"]" * 900 + b"]}"),
    _body(b'{"a":' + b"9" * 5000 + b"}"),
    _body(b'{"a":1}') + b" ",
    b'{"Content":{"a":1}, "HashCode":"' + _sign(b'{"a":1}') + b'"}',
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_the_fast_read_agrees_with_the_full_parse(body: bytes) -> None:
    signed = read_exact_layout(body)
    if signed is None:
        return  # the route goes the long way: nothing to compare
    assert _full(body) == (signed.content, signed.signed_with(SECRET))
    assert body == b'{"Content":' + signed.content_text + b',"HashCode":"' + signed.hash_code.encode() + b'"}'
