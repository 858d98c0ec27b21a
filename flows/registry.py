"""The flows this installation knows. Each flow module exposes `FLOWS: tuple[FlowDefinition, ...]`."""

from __future__ import annotations

import importlib

from flows.base import FlowDefinition

FLOW_MODULES: tuple[str, ...] = (
    "flows.orders",
    "flows.products",
    "flows.stock",
    "flows.customers",
    "flows.shipments",
)


def load_flows(modules: tuple[str, ...] = FLOW_MODULES) -> dict[str, FlowDefinition]:
    """Import the flow modules and index their definitions by name (a module not shipped is skipped)."""
    flows: dict[str, FlowDefinition] = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        for definition in getattr(module, "FLOWS", ()):
            if definition.name in flows:
                raise ValueError(f"flow {definition.name!r} is defined twice")
            flows[definition.name] = definition
    return flows
