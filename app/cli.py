"""The `ledgerbridge` console script: api, worker, demo, setup, doctor, check-worker, gen-key, reconcile.

Exit codes: 0 fine; 1 something needs action (`doctor`, `check-worker`) or a crash (with its traceback); 2 the
configuration or the surroundings cannot start the command. Exit 2 always comes with one readable message that
names each setting at fault and what to do, and no traceback: tracebacks are for real crashes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import date

from app.settings import Settings, SettingsError, load_settings

EXIT_NEEDS_ACTION = 1
EXIT_CANNOT_START = 2


class StartupError(Exception):
    """The command cannot start for a reason outside the code (Redis unreachable, simulators not installed); the
    message says what to do."""


def _redis_url_shown(settings: Settings) -> str:
    from app.routes.config import mask_url_password

    return mask_url_password(settings.redis.url)


def _require_redis(settings: Settings) -> None:
    """Fail start-up with a plain message when Redis does not answer (arq would retry, then print a traceback)."""
    import redis

    client = redis.Redis.from_url(settings.redis.url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise StartupError(
            f"Redis at {_redis_url_shown(settings)} (REDIS__URL) does not answer ({type(exc).__name__}: {exc}). "
            "Start Redis, or point REDIS__URL at a running one."
        ) from None
    finally:
        client.close()


def _cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    settings = load_settings()
    uvicorn.run(
        create_app(settings, freeze_gc=True), host=args.host, port=args.port, log_config=None, proxy_headers=True
    )
    return 0


def _cmd_worker(_args: argparse.Namespace) -> int:
    from app.worker import build_worker

    settings = load_settings()
    _require_redis(settings)
    worker = build_worker(settings)
    worker.run()
    return 0


def _cmd_check_worker(_args: argparse.Namespace) -> int:
    """Exit 0 when a worker heartbeat is recent (the Docker health check of the worker container)."""
    import redis

    from connectors.keys import Keys

    settings = load_settings()
    client = redis.Redis.from_url(settings.redis.url, socket_connect_timeout=2, socket_timeout=2)
    try:
        key = Keys.of(settings).worker_heartbeat
        raw: bytes | None = client.get(key)  # type: ignore[assignment]
    except redis.RedisError as exc:
        sys.stderr.write(f"redis unreachable: {type(exc).__name__}\n")
        return EXIT_NEEDS_ACTION
    finally:
        client.close()
    if raw is None or time.time() - float(raw) > settings.worker.heartbeat_max_age_seconds:
        sys.stderr.write("no recent worker heartbeat\n")
        return EXIT_NEEDS_ACTION
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    settings = load_settings()
    from app.doctor import render_text, run_doctor_cli

    report = asyncio.run(run_doctor_cli(settings))
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_text(report, color=sys.stdout.isatty()))
    return EXIT_NEEDS_ACTION if report.status == "fail" else 0


def _cmd_gen_key(_args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    sys.stdout.write(Fernet.generate_key().decode() + "\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        from app.demo import run_demo
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in ("sandbox", "jsonschema"):
            raise
        raise StartupError(
            "the demo needs the bundled simulators (the `sandbox` package and the `demo` extra), which the "
            "production image leaves out. Run `make run` in a checkout, or build the image's demo target: "
            "`docker build --target demo -t ledgerbridge:demo .`"
        ) from None

    os.environ["DEMO"] = "true"
    log_file = None if args.log_file == "-" else args.log_file
    return asyncio.run(run_demo(api_port=args.port, host=args.host, log_file=log_file, fresh=args.fresh))


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from app.reconcile_cli import run

    settings = load_settings()
    return asyncio.run(run(settings, args.start, args.end, args.format, sys.stdout, sys.stderr, link=args.link))


def _cmd_setup(args: argparse.Namespace) -> int:
    from app.setup_cli import run

    settings = load_settings()
    _require_redis(settings)

    def say(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    return asyncio.run(run(settings, input, say, link=args.link))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledgerbridge", description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container serves on all interfaces
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(handler=_cmd_api)
    sub.add_parser("worker", help="run the arq worker").set_defaults(handler=_cmd_worker)
    demo = sub.add_parser("demo", help="API + worker + simulators, nothing to configure")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--log-file",
        default=os.environ.get("LEDGERBRIDGE_DEMO_LOG", "ledgerbridge-demo.log"),
        help="where the demo's logs go ('-' = the terminal; default: ledgerbridge-demo.log, or $LEDGERBRIDGE_DEMO_LOG)",
    )
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="a new installation: the simulators run, nothing is connected or configured (the setup wizard's start)",
    )
    demo.set_defaults(handler=_cmd_demo)
    doctor = sub.add_parser(
        "doctor", help="check everything an operator asks first; exit 1 when something needs action"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(handler=_cmd_doctor)
    sub.add_parser("check-worker", help="exit 0 if a worker heartbeat is recent").set_defaults(
        handler=_cmd_check_worker
    )
    sub.add_parser("gen-key", help="print a new Fernet key for TOKEN_ENCRYPTION_KEY").set_defaults(handler=_cmd_gen_key)
    setup = sub.add_parser("setup", help="the setup wizard in the terminal (connect, flows, tables, dry run, enable)")
    setup.add_argument("--link", default="default", help="the link (administration) to set up")
    setup.set_defaults(handler=_cmd_setup)
    reconcile = sub.add_parser("reconcile", help="the orders flow's documents of a period against Exact (report)")
    reconcile.add_argument("--from", dest="start", required=True, type=date.fromisoformat, help="first day, ISO")
    reconcile.add_argument("--to", dest="end", required=True, type=date.fromisoformat, help="last day, included")
    reconcile.add_argument("--format", choices=("csv", "json"), default="csv", help="csv: one line per finding")
    reconcile.add_argument("--link", default="default", help="the link (administration) to report on")
    reconcile.set_defaults(handler=_cmd_reconcile)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CANNOT_START
    except StartupError as exc:
        sys.stderr.write(f"ledgerbridge {args.command}: {exc}\n")
        return EXIT_CANNOT_START
    return code


if __name__ == "__main__":
    raise SystemExit(main())
