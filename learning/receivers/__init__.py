"""Receivers of the learning core, connected on import by ``LearningConfig.ready``.

``pages``: Wagtail page events -> ``course_content_published``.
"""

from learning.receivers import pages  # noqa: F401
