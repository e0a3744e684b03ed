"""Discussions: threads per lesson and per course, live, moderated, with a staff queue."""
