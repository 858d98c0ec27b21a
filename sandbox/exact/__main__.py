"""`python -m sandbox.exact --host 127.0.0.1 --port 8101`: serve the simulator with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from sandbox.exact.app import create_exact_app
from sandbox.exact.config import ExactSimConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.exact", description="Exact Online API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--items", type=int, default=40, help="demo items to seed (SKU-0001…)")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--allow-http-callbacks", action="store_true", help="accept http:// webhook callbacks")
    parser.add_argument("--public-base-url", default=None, help="host used in __next links (default: this server)")
    parser.add_argument("--minutely-limit", type=int, default=60, help="API calls per division a minute (Exact: 60)")
    parser.add_argument("--daily-limit", type=int, default=5000, help="API calls per division a day (Exact: 5000)")
    parser.add_argument("--token-calls-per-day", type=int, default=200, help="token-endpoint calls a day; 0 = off")
    parser.add_argument(
        "--webhook-retry-seconds", type=float, default=60.0, help="a failed webhook is retried after this x 2^n s"
    )
    args = parser.parse_args(argv)
    base = args.public_base_url or f"http://{args.host}:{args.port}"
    config = ExactSimConfig(
        seed=not args.no_seed,
        seed_items=args.items,
        require_https_callbacks=not args.allow_http_callbacks,
        public_base_url=base,
        minutely_limit=args.minutely_limit,
        daily_limit=args.daily_limit,
        token_calls_per_day=args.token_calls_per_day or None,
        webhook_retry_base_seconds=args.webhook_retry_seconds,
    )
    uvicorn.run(create_exact_app(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
