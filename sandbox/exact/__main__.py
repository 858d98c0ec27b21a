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
    args = parser.parse_args(argv)
    base = args.public_base_url or f"http://{args.host}:{args.port}"
    config = ExactSimConfig(
        seed=not args.no_seed,
        seed_items=args.items,
        require_https_callbacks=not args.allow_http_callbacks,
        public_base_url=base,
    )
    uvicorn.run(create_exact_app(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
