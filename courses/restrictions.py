"""Wagtail view restrictions, read from one cached snapshot.

Every reader of "which pages are restricted, how" (the access policy's page rules and refused
paths, the catalog's public filter, the served page's own check) asks :func:`snapshot`: every
``PageViewRestriction`` of the site with its page's tree path and its groups, a short table. It
is read in one query, kept in the shared cache under a versioned key (a deploy that changes the
shape reads a fresh key, never an old pickle) with the generation it was loaded under, and, within
a request, read from there at most once (``academy.middleware.request_cached``): one cache round
trip reads both the current generation and the stored copy. A purge moves the generation on: a
reader that loaded the old table just before a change commits stores it with the old generation,
which no reader accepts, so a new restriction is never hidden by a stale copy. ``courses.receivers`` purges it when a restriction or its
groups change (save, delete, ``m2m_changed``) and when pages move or are deleted (paths change).
Which pages are live is not part of it: that still comes from the page query of each reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction

from academy.middleware import forget_request_cached, request_cached

# Bump the version when the snapshot's shape changes.
CACHE_KEY = "academy:view-restrictions:v1"
# The generation the readers store under; a purge moves it on.
GENERATION_KEY = f"{CACHE_KEY}:generation"
# Kept until purged; the timeout only bounds what a missed purge could leave behind.
CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Restriction:
    """One view restriction: on the page at ``path`` (and everything below it)."""

    id: int
    page_id: int
    path: str
    kind: str  # PageViewRestriction.restriction_type: "login", "groups", "password" (or "none")
    group_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RestrictionSnapshot:
    """Every view restriction of the site, in tree order."""

    restrictions: tuple[Restriction, ...] = ()
    by_path: dict[str, tuple[Restriction, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, restrictions: list[Restriction]) -> RestrictionSnapshot:
        """A snapshot of ``restrictions`` (sorted by path, then id)."""
        ordered = tuple(sorted(restrictions, key=lambda item: (item.path, item.id)))
        by_path: dict[str, list[Restriction]] = {}
        for restriction in ordered:
            by_path.setdefault(restriction.path, []).append(restriction)
        return cls(ordered, {path: tuple(items) for path, items in by_path.items()})

    def at(self, path: str) -> tuple[Restriction, ...]:
        """The restrictions set on the page at ``path`` itself."""
        return self.by_path.get(path, ())

    def covering(self, path: str) -> list[Restriction]:
        """The restrictions on the page at ``path`` or on any page above it, top-down."""
        return [restriction for restriction in self.restrictions if path.startswith(restriction.path)]

    def restricted_pages(self) -> tuple[tuple[int, str], ...]:
        """``(page id, path)`` of every restricted page, in tree order, each once."""
        seen: dict[int, str] = {}
        for restriction in self.restrictions:
            seen.setdefault(restriction.page_id, restriction.path)
        return tuple(seen.items())


def load_snapshot() -> RestrictionSnapshot:
    """Read every view restriction from the database (one query)."""
    from wagtail.models import PageViewRestriction

    rows = PageViewRestriction.objects.values_list("id", "page_id", "page__path", "restriction_type", "groups__id")
    found: dict[int, tuple[int, str, str, set[int]]] = {}
    for pk, page_id, path, kind, group_id in rows:
        _page, _path, _kind, group_ids = found.setdefault(pk, (page_id, path, kind, set()))
        if group_id is not None:
            group_ids.add(group_id)
    return RestrictionSnapshot.of([
        Restriction(pk, page_id, path, kind, frozenset(group_ids))
        for pk, (page_id, path, kind, group_ids) in found.items()
    ])


def snapshot() -> RestrictionSnapshot:
    """The snapshot as this request first read it (shared cache; the database on a miss)."""
    return request_cached(CACHE_KEY, _shared_snapshot)


def _shared_snapshot() -> RestrictionSnapshot:
    """The stored snapshot when it was stored under the current generation (both read in one
    cache round trip); else the table, stored with the generation read before it was loaded."""
    found = cache.get_many([GENERATION_KEY, CACHE_KEY])
    generation = found.get(GENERATION_KEY)
    if not isinstance(generation, int):
        cache.add(GENERATION_KEY, 0, None)
        generation = cache.get(GENERATION_KEY)
    stored = found.get(CACHE_KEY)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == generation \
            and isinstance(stored[1], RestrictionSnapshot):
        return stored[1]
    fresh = load_snapshot()
    cache.set(CACHE_KEY, (generation, fresh), CACHE_SECONDS)
    return fresh


def forget() -> None:
    """Drop the snapshot now (this transaction reads its own change) and again after commit (a
    reader that cached the old one meanwhile)."""
    _drop()
    transaction.on_commit(_drop, robust=True)


def _drop() -> None:
    cache.delete(CACHE_KEY)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no generation stored yet: nobody stored a snapshot under one either
        cache.add(GENERATION_KEY, 1, None)
    forget_request_cached(CACHE_KEY)
