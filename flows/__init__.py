"""Sync flows: plain async functions of (context, record)."""
