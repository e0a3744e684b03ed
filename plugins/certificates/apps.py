"""Plugin metadata of the certificates plugin."""

from __future__ import annotations

from academy.sdk import PluginConfig


class CertificatesConfig(PluginConfig):
    """PDF certificates on course completion, public verification, revocation."""

    name = "plugins.certificates"
    label = "certificates"
    verbose_name = "Certificates"
    plugin_name = "Certificates"
    version = "1.0.0"
    author = "Academy maintainers"
    description = (
        "Issues a PDF certificate with a QR code when a learner completes a course; "
        "anyone can verify it at /certificates/<code>/; staff revoke and reissue."
    )
    min_core_version = "0.2"
    default_active = True
    per_course = True
