"""Webhooks: signed HTTP callbacks for Academy's domain events (a first-party plugin)."""
