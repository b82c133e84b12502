"""Record pages rendered once per version of their data and per viewer, then served from memory.

A lot's page and a dose unit's QA review show nothing but the lot's and its subject's records, every change of
which is audited under their scopes (core/audit.py); the last such audit event (its id and its chained hash, so
that a restored database never meets a page of another history) is the version of the page's data. A page
also depends on who reads it (roles, and their own part in the lot), so the viewer is part of the key, and on
anything else the caller names (a document being prepared). The form token of the session is never kept: the
page is rendered with a marker in its place, and each answer puts the reader's own token there.

The cache is an LRU of each worker process, bounded in bytes (PAGE_CACHE_BYTES; 0 turns it off); a new version
simply misses, and old versions age out. Every change made through the application shows at once; an entry is
also dropped after PAGE_CACHE_SECONDS, so that a change made behind the application's back (an insider editing
the database, which the append-only triggers and the audit chain are there to catch) shows on screen too, as
a broken signature, within that time.
"""

import secrets
import sys
import threading
from collections.abc import Callable

from cachetools import TTLCache
from flask import current_app, g
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from manufacturing.extensions import db

_MARKER = f"csrf-{secrets.token_hex(16)}"  # unguessable: typed text never becomes the reader's token
_caches: dict[int, tuple[tuple[int, int], TTLCache]] = {}
_lock = threading.Lock()


def _cache() -> TTLCache | None:
    config = current_app.config
    size, seconds = config.get("PAGE_CACHE_BYTES", 0), config.get("PAGE_CACHE_SECONDS", 0)
    if size <= 0 or seconds <= 0:
        return None
    with _lock:
        app = id(current_app._get_current_object())
        if app not in _caches or _caches[app][0] != (size, seconds):
            _caches[app] = ((size, seconds), TTLCache(maxsize=size, ttl=seconds, getsizeof=sys.getsizeof))
        return _caches[app][1]


def viewer(user) -> tuple:
    """What of the reader a record page depends on: who they are and the roles they hold now."""
    return user.id, tuple(sorted(role.name for role in user.role_set))


def _rendered_with_marker(render: Callable[[], str]) -> str:
    """Render from data read after the version was (PostgreSQL reads each statement's newest commits): never older."""
    db.session.expire_all()
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    had, before = field in g, g.get(field)
    setattr(g, field, _MARKER)
    try:
        return str(render())
    finally:
        if had:
            setattr(g, field, before)
        else:
            g.pop(field, None)


def cached_part(key: tuple, render: Callable[[], str]) -> Markup:
    """The part of a page for this key: from the cache, or rendered now (and kept); the session's token put in."""
    cache = _cache()
    if cache is None:
        return Markup(render())
    with _lock:
        html = cache.get(key)
    if html is None:
        html = _rendered_with_marker(render)
        if sys.getsizeof(html) <= cache.maxsize:
            with _lock:
                cache[key] = html
    if _MARKER in html:
        html = html.replace(_MARKER, generate_csrf())
    return Markup(html)


def clear() -> None:
    """Forget every kept page (tests that rebuild a database under the same ids)."""
    with _lock:
        for _, cache in _caches.values():
            cache.clear()
