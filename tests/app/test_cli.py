"""The console script as an operator meets it: a configuration or start-up problem is one readable message naming
each setting at fault and what to do, exit code 2, and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.devredis import free_port

ROOT = Path(__file__).resolve().parents[2]
VALID = {
    "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ADMIN__TOKEN": "an-admin-token-for-tests",
    "EXACT__CLIENT_ID": "00000000-0000-4000-8000-000000000001",
    "EXACT__CLIENT_SECRET": "exact-secret-for-tests",
    "EXACT__WEBHOOK_SECRET": "exact-webhook-secret-for-tests",
    "EACCOUNTING__CLIENT_ID": "ea-client",
    "EACCOUNTING__CLIENT_SECRET": "ea-secret-for-tests",
}


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`ledgerbridge ARGS` in an empty directory (no .env) with only the given settings."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", [["api"], ["worker"], ["doctor"], ["check-worker"]])
def test_missing_secrets_exit_2_naming_each_without_traceback(tmp_path: Path, command: list[str]) -> None:
    result = _run(tmp_path, *command, EXACT__CLIENT_ID="cid")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("ledgerbridge cannot start: 6 settings")
    for name in ("TOKEN_ENCRYPTION_KEY", "ADMIN__TOKEN", "EXACT__CLIENT_SECRET", "EACCOUNTING__CLIENT_SECRET"):
        assert f"  {name}: is required outside demo mode" in result.stderr
    assert "  EXACT__CLIENT_ID:" not in result.stderr


def test_a_malformed_fernet_key_is_named_not_a_bare_cryptography_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "worker", **{**VALID, "TOKEN_ENCRYPTION_KEY": "short-and-wrong"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "TOKEN_ENCRYPTION_KEY: is not a Fernet key" in result.stderr
    assert "short-and-wrong" not in result.stderr


def test_invalid_numbers_are_named_with_the_value(tmp_path: Path) -> None:
    result = _run(tmp_path, "api", **{**VALID, "WORKER__MAX_JOBS": "lots", "ENGINE__BACKOFF_SECONDS": "-1"})
    assert result.returncode == 2
    assert "WORKER__MAX_JOBS: must be a whole number (it is 'lots')" in result.stderr
    assert "ENGINE__BACKOFF_SECONDS: must be greater than 0 (it is '-1')" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_reports_bad_settings_the_same_way(tmp_path: Path) -> None:
    result = _run(tmp_path, "demo", "--log-file", "-", WORKER__MAX_JOBS="lots")
    assert result.returncode == 2
    assert "WORKER__MAX_JOBS: must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_worker_without_redis_says_which_url_and_what_to_do(tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    result = _run(tmp_path, "worker", **VALID, REDIS__URL=url)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("ledgerbridge worker: Redis at redis://:**********@127.0.0.1:")
    assert "(REDIS__URL) does not answer" in result.stderr
    assert "hunter2" not in result.stderr


def test_unknown_options_still_exit_2_from_argparse(tmp_path: Path) -> None:
    result = _run(tmp_path, "worker", "--nope")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
