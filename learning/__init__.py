"""Enrollments, lesson progress and notifications: models, services, selectors and events."""
