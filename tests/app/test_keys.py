"""One key builder: no module but `connectors/keys.py` formats a Redis key or reads the prefix setting.

A key built by hand elsewhere is how one administration's data ends up under another's name (or outside the
prefix), so the check reads the source of every production module: an f-string, `%`/`.format()` or `+` that puts a
value named like a prefix or a key next to a `:` is a key being formatted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from connectors.keys import Keys

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "connectors", "flows")
THE_BUILDER = Path("connectors/keys.py")
# Where a value is called a prefix or a key but is no Redis key (a docstring example, a URL, an OData filter).
KEYISH = ("prefix", "_key", "key_")


def _modules() -> list[Path]:
    return sorted(p.relative_to(ROOT) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _keyish(node: ast.AST) -> bool:
    """A name or attribute whose last part says it holds a prefix or a key (`prefix`, `self._key`, `key_prefix`)."""
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    else:
        return False
    lowered = name.lower()
    return lowered in ("prefix", "key") or any(part in lowered for part in KEYISH)


def _has_colon(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and ":" in n.value for n in ast.walk(node))


def _offences(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and _has_colon(node):
            values = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
            if any(_keyish(sub) for v in values for sub in ast.walk(v)):
                found.append((node.lineno, "f-string"))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod) and _has_colon(node):
            if any(_keyish(sub) for sub in ast.walk(node)):
                found.append((node.lineno, "concatenation"))
        elif isinstance(node, ast.Attribute) and node.attr == "key_prefix":
            found.append((node.lineno, "reads REDIS__KEY_PREFIX"))
    return found


@pytest.mark.parametrize("module", _modules(), ids=str)
def test_no_module_but_the_key_builder_formats_a_redis_key(module: Path) -> None:
    if module == THE_BUILDER:
        return
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"), filename=str(module))
    assert _offences(tree) == [], f"{module} builds Redis keys itself; use connectors.keys.Keys"


def test_the_check_catches_a_hand_made_key() -> None:
    samples = [
        'k = f"{prefix}:xref:{kind}"',
        'k = f"{self._key}:lock"',
        "k = settings.redis.key_prefix",
        'k = self.prefix + ":dead:" + flow',
    ]
    for sample in samples:
        assert _offences(ast.parse(sample)), sample
    assert not _offences(ast.parse('url = f"{base}/api/v1/{division}"'))


def _link_keys(keys: Keys) -> list[str]:
    return [
        keys.generation("f", "r"),
        keys.attempts("f", "r"),
        keys.lock("f", "r"),
        keys.stash("f", "r"),
        keys.cursor("f"),
        keys.last_poll("f"),
        keys.poll_lock("f"),
        keys.queued("f"),
        keys.xref("k", "s2t"),
        keys.xref_lock("k", "r"),
        keys.flow_config("f"),
        keys.flow_state("stock", "rows"),
        keys.log_entry("e"),
        keys.log_index("all"),
        keys.dead("f"),
        keys.dead_flows,
        keys.alerts("gate"),
        keys.metrics("jobs"),
        keys.record_job("f", "r"),
        keys.poll_job("f"),
        keys.setup,
    ]


def test_every_key_is_under_the_prefix_and_a_links_keys_under_its_own_namespace() -> None:
    keys = Keys("lbx")
    installation = [
        keys.links,
        keys.schema,
        keys.worker_heartbeat,
        keys.token("exact"),
        keys.token_lock("exact"),
        keys.oauth_state("s"),
        keys.ratelimit("exact", "1"),
        keys.ratelimit_windows("eaccounting", "c"),
        keys.webhook_seen("d"),
        keys.default_queue,
        keys.arq("arq:job:x"),
    ]
    a, b = _link_keys(keys.for_link("a")), _link_keys(keys.for_link("b"))
    assert all(key.startswith("lbx:") for key in installation)
    assert all(key.startswith("lbx:l:a:") for key in a) and all(key.startswith("lbx:l:b:") for key in b)
    assert len(set(installation + a + b)) == len(installation) + len(a) + len(b)
    # No per-link key can be mistaken for an installation key (the upgrade tells them apart by the first segment).
    assert not any(Keys.legacy_link_key("lbx", key) for key in installation + a + b)


def test_per_link_keys_need_a_link() -> None:
    with pytest.raises(ValueError, match="for_link"):
        Keys("lbx").cursor("orders")


def test_the_single_link_layout_is_adopted_by_a_link() -> None:
    assert Keys.legacy_link_key("lb", "lb:xref:ea:order>exact:salesorder:s2t")
    assert Keys.legacy_link_key("lb", "lb:stock:rows") and Keys.legacy_link_key("lb", "lb:log:e:1-a")
    assert not Keys.legacy_link_key("lb", "lb:oauth:exact:default:token")
    assert not Keys.legacy_link_key("lb", "lbx:cursor:orders") and not Keys.legacy_link_key("lb", "lb")
    assert Keys("lb", "default").adopt("lb:cursor:orders") == "lb:l:default:cursor:orders"
