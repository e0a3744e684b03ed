"""The REST API, version 1 (``/api/v1/``): a door above the learning core.

Views here parse and validate input, call ``learning.services`` (writes) or
``learning.selectors`` and ``learning.access`` (reads), and answer JSON. They hold no rules of
their own. ``urls.py`` is the v1 URLconf; docs/api.md is the contract and versioning policy.
"""
