"""`python -m sandbox.eaccounting --host 127.0.0.1 --port 8102`: serve the simulator with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_eaccounting_app
from .config import EAccountingSimConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.eaccounting", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--no-seed", action="store_true", help="start with an empty company")
    parser.add_argument("--rate-limit", type=int, default=600, help="requests per minute per endpoint; 0 = off")
    parser.add_argument("--redirect-uri", default=None, help="registered redirect URI (default: accept any)")
    args = parser.parse_args(argv)
    config = EAccountingSimConfig(
        seed=not args.no_seed,
        rate_limit_per_minute=args.rate_limit or None,
        redirect_uri=args.redirect_uri,
    )
    uvicorn.run(create_eaccounting_app(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
