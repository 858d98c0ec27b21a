"""A strict, in-memory simulator of the Exact Online REST API (OAuth, OData v2, sync/bulk, webhooks).

Built to `docs/exact-online-api.md`; see docs/exact-simulator.md for what it simulates and
where it is deliberately stricter than the real API.
"""

from sandbox.exact.app import create_exact_app, endpoint_template
from sandbox.exact.config import ExactSimConfig
from sandbox.exact.seed import seed_demo
from sandbox.exact.sim import ExactSim, Fault
from sandbox.exact.webhooks import sign

__all__ = ["ExactSim", "ExactSimConfig", "Fault", "create_exact_app", "endpoint_template", "seed_demo", "sign"]
