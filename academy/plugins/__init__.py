"""The plugin machinery: discovery, metadata, activation per course and site, template slots,
URL / API / WebSocket mounting and the ``startplugin`` scaffold. Plugins reach all of it through
``academy.sdk`` (with the contract test kit, ``academy.sdk.testing``).

The contract for plugin authors is written down in docs/plugins.md.
"""
