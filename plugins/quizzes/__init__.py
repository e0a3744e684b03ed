"""Quizzes: a graded lesson kind whose passing attempt completes the lesson.

Built only on the plugin contract (``academy.plugins``): the page type ``QuizLessonPage``
subclasses ``courses.models.LessonPage`` and gates completion; learners start and submit
attempts through ``/p/quizzes/``; a passing attempt completes the lesson through
``learning.services.lesson_progress_record``. See docs/plugins.md and the README.
"""
