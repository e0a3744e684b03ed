"""Course content as Wagtail pages: the catalog, courses, lessons and their StreamField blocks."""
