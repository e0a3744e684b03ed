"""Certificates: a PDF certificate per learner and completed course, with a public verify page.

On ``course_completed`` a Django-Q2 task issues one certificate per learner and course (a row
with an unguessable code, then its PDF with a QR code of the verify URL); staff revoke and
reissue from the Wagtail admin; ``/certificates/<code>/`` verifies publicly. Built only through
the plugin contract (``academy.plugins``); see ``services.py`` for the guarantees.
"""
