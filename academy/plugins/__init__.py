"""The plugin machinery: discovery, metadata, activation per course and site, template slots,
URL / API / WebSocket mounting and the contract test kit (``plugins.testing``).

The contract for plugin authors is written down in docs/plugins.md.
"""
