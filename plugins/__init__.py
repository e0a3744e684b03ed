"""First-party optional features, each a pluggable Django app in ``plugins/<name>/``."""
