"""Live updates over WebSockets (Django Channels): consumers, routing, groups and publish()."""
