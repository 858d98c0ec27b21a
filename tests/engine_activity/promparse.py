"""A strict reader of the Prometheus text exposition format 0.0.4 (only what our /metrics emits), for assertions."""

from __future__ import annotations

import re

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}

Sample = tuple[str, dict[str, str], float]


def _labels(text: str, pos: int) -> tuple[dict[str, str], int]:
    """Parse `{a="x",b="y"}` starting at `pos` (the `{`); returns the labels and the index after `}`."""
    assert text[pos] == "{"
    pos += 1
    labels: dict[str, str] = {}
    while text[pos] != "}":
        m = _LABEL.match(text, pos)
        assert m, f"bad label name at {text[pos:]!r}"
        name = m.group()
        pos = m.end()
        assert text[pos : pos + 2] == '="', f'expected =" at {text[pos:]!r}'
        pos += 2
        value = []
        while text[pos] != '"':
            if text[pos] == "\\":
                assert text[pos + 1] in _ESCAPES, f"bad escape {text[pos : pos + 2]!r}"
                value.append(_ESCAPES[text[pos + 1]])
                pos += 2
            else:
                assert text[pos] != "\n"
                value.append(text[pos])
                pos += 1
        pos += 1
        assert name not in labels, f"duplicate label {name}"
        labels[name] = "".join(value)
        if text[pos] == ",":
            pos += 1
    return labels, pos + 1


def parse(text: str) -> tuple[list[Sample], dict[str, str], dict[str, str]]:
    """(samples, TYPE by family, HELP by family); asserts on anything malformed."""
    assert text.endswith("\n")
    samples: list[Sample] = []
    types: dict[str, str] = {}
    helps: dict[str, str] = {}
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert _NAME.fullmatch(name) and name not in helps
            helps[name] = doc
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in {"counter", "gauge", "summary", "histogram", "untyped"}
            assert name not in types, f"TYPE twice for {name}"
            types[name] = kind
        else:
            m = _NAME.match(line)
            assert m, f"bad sample line {line!r}"
            name, pos = m.group(), m.end()
            labels: dict[str, str] = {}
            if pos < len(line) and line[pos] == "{":
                labels, pos = _labels(line, pos)
            assert line[pos] == " ", f"expected space in {line!r}"
            value = float(line[pos + 1 :])
            family = re.sub(r"_(sum|count)$", "", name) if name not in types else name
            assert family in types, f"sample {name} before its TYPE"
            samples.append((name, labels, value))
    return samples, types, helps
