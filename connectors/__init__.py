"""Typed async clients for Exact Online and Visma eAccounting, and what they share (auth, errors, rate limits)."""
