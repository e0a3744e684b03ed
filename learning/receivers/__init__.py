"""Receivers of the learning core, connected on import by ``LearningConfig.ready``.

``pages``: Wagtail page events -> ``course_content_published``.
``background``: domain events -> Django-Q2 tasks (email, progress cache, course-update fan-out).
``notifications``: domain events -> the learner's notifications (through ``learning.services``).
``learning.sessions``: logins, logouts and credential changes -> login-session records and
``sessions_ended``.
"""

from learning import sessions  # noqa: F401
from learning.receivers import background, notifications, pages  # noqa: F401
