"""The `ledgerbridge` console script: api, worker, demo, check-worker, gen-key."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from app.settings import load_settings


def _cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    settings = load_settings()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None, proxy_headers=True)
    return 0


def _cmd_worker(_args: argparse.Namespace) -> int:
    from app.worker import build_worker

    settings = load_settings()
    worker = build_worker(settings)
    worker.run()
    return 0


def _cmd_check_worker(_args: argparse.Namespace) -> int:
    """Exit 0 when a worker heartbeat is recent (the Docker health check of the worker container)."""
    import redis

    from app.keys import Keys

    settings = load_settings()
    client = redis.Redis.from_url(settings.redis.url, socket_connect_timeout=2, socket_timeout=2)
    try:
        key = Keys(settings.redis.key_prefix).worker_heartbeat
        raw: bytes | None = client.get(key)  # type: ignore[assignment]
    except redis.RedisError as exc:
        sys.stderr.write(f"redis unreachable: {type(exc).__name__}\n")
        return 1
    finally:
        client.close()
    if raw is None or time.time() - float(raw) > settings.worker.heartbeat_max_age_seconds:
        sys.stderr.write("no recent worker heartbeat\n")
        return 1
    return 0


def _cmd_gen_key(_args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    sys.stdout.write(Fernet.generate_key().decode() + "\n")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    os.environ["DEMO"] = "true"
    return asyncio.run(run_demo(api_port=args.port, host=args.host))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ledgerbridge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container serves on all interfaces
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(handler=_cmd_api)
    sub.add_parser("worker", help="run the arq worker").set_defaults(handler=_cmd_worker)
    demo = sub.add_parser("demo", help="API + worker + simulators, nothing to configure")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(handler=_cmd_demo)
    sub.add_parser("check-worker", help="exit 0 if a worker heartbeat is recent").set_defaults(
        handler=_cmd_check_worker
    )
    sub.add_parser("gen-key", help="print a new Fernet key for TOKEN_ENCRYPTION_KEY").set_defaults(handler=_cmd_gen_key)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
