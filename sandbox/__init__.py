"""Simulators of the Exact Online and Visma eAccounting APIs, used by tests, the demo and the benchmarks."""
