"""The demo site's content, as plain data: instructors, courses, lessons, documents, pictures.

``manage.py seed_demo`` turns this into pages, snippets, images and documents. Lesson bodies
are lists of ``(block_type, value)`` in the StreamField's stored (JSON) shape, except that image
and document values name a picture or document of this module by key (``"image": "pyramid"``);
the command swaps in their database ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Block = tuple[str, Any]

# (username, password, role) of the demo logins seed_demo creates when DEBUG is on.
DEMO_ACCOUNTS: list[tuple[str, str, str]] = [
    ("admin", "admin", "superuser"),
    ("editor", "editor", "editor"),
    ("learner", "learner", "learner"),
    ("teacher", "teacher", "teacher"),
    ("assistant", "assistant", "assistant"),
]

#: The Wagtail hook through which apps above ``courses`` add to the demo site: each function is
#: called as ``fn(catalog=..., accounts=...)`` (``accounts``: the demo logins exist) inside
#: ``seed_demo``'s transaction and returns ``(kind, status)`` pairs for its summary
#: ("created", "updated" or "unchanged"). It must be safe to run twice.
SEED_DEMO_HOOK = "academy_seed_demo"

#: The demo course's cohorts: (name, days from the seeding day to its start, to its end or None).
#: "Spring" has started, "Autumn" starts later; self-enrollment goes to the default cohort.
DEMO_COHORTS: list[tuple[str, int, int | None]] = [
    ("Spring", -60, 30),
    ("Autumn", 90, 180),
]
#: The cohort whose demo assistant helps (the demo teacher teaches the whole course).
DEMO_ASSISTANT_COHORT = "Spring"


@dataclass(frozen=True)
class InstructorSpec:
    """An instructor snippet; ``name`` is its identity."""

    key: str
    name: str
    role: str
    bio: str
    colors: tuple[str, str]


@dataclass(frozen=True)
class DocumentSpec:
    """A small downloadable file made in code; ``title`` is its identity."""

    key: str
    title: str
    filename: str
    text: str


@dataclass(frozen=True)
class DiagramSpec:
    """A teaching picture drawn with Pillow; ``title`` is its identity."""

    key: str
    title: str
    kind: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class LessonSpec:
    """A lesson page, identified by its slug within its course."""

    slug: str
    title: str
    summary: str
    minutes: int
    body: list[Block]
    live: bool = True


@dataclass(frozen=True)
class CourseSpec:
    """A course page, identified by its slug within the catalog."""

    slug: str
    title: str
    initials: str
    colors: tuple[str, str]
    summary: str
    description: str
    level: str
    hours: int
    instructor: str
    tags: tuple[str, ...]
    lessons: list[LessonSpec]
    enrollment_mode: str = "open"
    price: Decimal | None = None
    currency: str = "USD"


HOME_TITLE = "Academy"
HOME_HEADLINE = "Learn practical software skills, one lesson at a time"
HOME_INTRO = (
    "<p>Short, hands-on courses written by working engineers. Read a lesson, try the code, "
    "mark it complete and watch your progress update live on every device.</p>"
)
CATALOG_TITLE = "Courses"
CATALOG_INTRO = (
    "<p>Every course is a handful of focused lessons with runnable examples. "
    "Search by topic or pick a tag to narrow the list.</p>"
)


def heading(text: str, level: str = "h2") -> Block:
    """A heading block value."""
    return ("heading", {"text": text, "level": level})


def paragraph(html: str) -> Block:
    """A rich text block value (Wagtail's stored HTML)."""
    return ("paragraph", html)


def code(language: str, source: str, caption: str = "") -> Block:
    """A code block value; the source loses its common leading newline only."""
    return ("code", {"language": language, "code": source.strip("\n"), "caption": caption})


def callout(kind: str, title: str, html: str) -> Block:
    """A note, tip or warning block value."""
    return ("callout", {"kind": kind, "title": title, "body": html})


def image(key: str, alt_text: str, caption: str = "") -> Block:
    """An image block value naming a :data:`DIAGRAMS` entry by key."""
    return ("image", {"image": key, "alt_text": alt_text, "caption": caption})


def download(key: str, title: str = "", description: str = "") -> Block:
    """A download block value naming a :data:`DOCUMENTS` entry by key."""
    return ("download", {"document": key, "title": title, "description": description})


INSTRUCTORS = [
    InstructorSpec(
        key="maya",
        name="Maya Okafor",
        role="Staff engineer, developer productivity",
        bio="Maya has spent ten years making test suites fast and trustworthy, and teaches teams to write tests they like to read.",
        colors=("#2454c5", "#7b3fe4"),
    ),
    InstructorSpec(
        key="daniel",
        name="Daniel Reyes",
        role="Database engineer",
        bio="Daniel tunes PostgreSQL for a living and believes every web developer should be able to read a query plan.",
        colors=("#0f766e", "#22c55e"),
    ),
    InstructorSpec(
        key="priya",
        name="Priya Natarajan",
        role="Site reliability engineer",
        bio="Priya runs Django in production for a living and writes the runbooks she wished she had on her first on-call shift.",
        colors=("#b45309", "#e11d48"),
    ),
]

DOCUMENTS = [
    DocumentSpec(
        key="pytest-cheatsheet",
        title="pytest cheat sheet",
        filename="pytest-cheat-sheet.md",
        text="""# pytest cheat sheet

## Running
    pytest                     # every test under the current directory
    pytest tests/test_cart.py  # one file
    pytest -k "total and not tax"   # tests whose name matches an expression
    pytest -x --lf             # stop at the first failure, rerun last failures first
    pytest -q -ra              # quiet, with a summary of skips and failures

## Writing
    def test_total_sums_line_prices():
        assert cart_total([2, 3]) == 5

    with pytest.raises(ValueError, match="negative"):
        cart_total([-1])

## Fixtures
    @pytest.fixture
    def cart():
        return Cart(owner="ada")

    def test_empty_cart_total_is_zero(cart):
        assert cart.total() == 0

Scopes: function (default), class, module, package, session.
Built-ins worth knowing: tmp_path, monkeypatch, capsys, caplog.

## Parametrize
    @pytest.mark.parametrize("items, expected", [([], 0), ([1], 1), ([1, 2], 3)])
    def test_total(items, expected):
        assert cart_total(items) == expected
""",
    ),
    DocumentSpec(
        key="sql-cheatsheet",
        title="SQL joins and indexes cheat sheet",
        filename="sql-cheat-sheet.md",
        text="""# SQL joins and indexes cheat sheet

## Joins
    -- only matching rows
    SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id;
    -- every customer, with NULLs when they have no order
    SELECT c.name, o.total FROM customers c LEFT JOIN orders o ON o.customer_id = c.id;

## Aggregates
    SELECT customer_id, count(*) AS orders, sum(total) AS spent
    FROM orders GROUP BY customer_id HAVING count(*) > 2;

## Indexes
    CREATE INDEX orders_customer_id_idx ON orders (customer_id);
    EXPLAIN ANALYZE SELECT * FROM orders WHERE customer_id = 42;

Read a plan from the inside out. "Seq Scan" on a big table inside a loop is the usual suspect.
An index helps when a query keeps a small fraction of the rows.
""",
    ),
    DocumentSpec(
        key="deploy-checklist",
        title="Django production checklist",
        filename="django-production-checklist.txt",
        text="""Django production checklist
===========================

[ ] DJANGO_SECRET_KEY set from the environment, never committed
[ ] DEBUG off; ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS list the real domains
[ ] python manage.py check --deploy prints no warnings
[ ] Database: connection pool sized for (web processes x threads) + workers
[ ] Static files collected and served with far-future cache headers
[ ] Migrations run once per deploy, before new code takes traffic
[ ] /healthz (liveness) and /readyz (database, cache, broker) wired to the orchestrator
[ ] Logs are structured, go to stdout, and carry a request id
[ ] Errors reach Sentry with the release name
[ ] Backups restored at least once, on purpose, to prove they work
""",
    ),
]

DIAGRAMS = [
    DiagramSpec(
        key="pyramid",
        title="Diagram: the test pyramid",
        kind="pyramid",
        labels=("End-to-end", "Integration", "Unit"),
    ),
    DiagramSpec(
        key="joins",
        title="Diagram: INNER JOIN and LEFT JOIN",
        kind="venn",
        labels=("customers", "orders", "INNER JOIN"),
    ),
    DiagramSpec(
        key="asgi-flow",
        title="Diagram: a request through an ASGI deployment",
        kind="flow",
        labels=("Browser", "Proxy", "uvicorn", "Django", "PostgreSQL"),
    ),
]

PYTEST_COURSE = CourseSpec(
    slug="python-testing-with-pytest",
    title="Python Testing with pytest",
    initials="Py",
    colors=("#2454c5", "#7b3fe4"),
    summary="Write fast, readable tests with pytest: plain asserts, fixtures and parametrized cases that catch real bugs.",
    description=(
        "<p>Tests are how you change code without fear. This course starts from a single "
        "<code>assert</code> and ends with a small, fast suite you would be happy to maintain.</p>"
        "<h2>What you will learn</h2>"
        "<ul><li>Why automated tests pay for themselves, and which tests to write first</li>"
        "<li>Writing and running tests with pytest's plain <code>assert</code></li>"
        "<li>Sharing setup with fixtures instead of copy and paste</li>"
        "<li>Covering edge cases with <code>@pytest.mark.parametrize</code></li></ul>"
        "<p>You need Python 3.11 or newer and about an hour per lesson.</p>"
    ),
    level="beginner",
    hours=3,
    instructor="maya",
    tags=("Python", "Testing"),
    lessons=[
        LessonSpec(
            slug="why-test",
            title="Why automated tests pay off",
            summary="What a test suite buys you, and how the test pyramid tells you which tests to write first.",
            minutes=10,
            body=[
                heading("Tests are a safety net, not a chore"),
                paragraph(
                    "<p>Every change to a program risks breaking something that used to work. "
                    "Checking by hand is slow and you will skip it when you are in a hurry. An "
                    "<b>automated test</b> is a small program that checks a behaviour for you, in "
                    "milliseconds, every time you ask.</p>"
                    "<p>A good suite lets you:</p>"
                    "<ul><li>refactor without fear, because a broken behaviour turns a test red;</li>"
                    "<li>document how the code is meant to be used, with examples that cannot go stale;</li>"
                    "<li>find bugs at your desk instead of in production.</li></ul>"
                ),
                heading("The test pyramid"),
                image(
                    "pyramid",
                    "A pyramid in three bands: many unit tests at the base, fewer integration tests in the middle, a few end-to-end tests at the top.",
                    "Many small, fast tests at the bottom; a few slow, broad ones at the top.",
                ),
                paragraph(
                    "<p><b>Unit tests</b> check one function or class in isolation and run in "
                    "microseconds. <b>Integration tests</b> check that parts work together, for example "
                    "your code and a real database. <b>End-to-end tests</b> drive the whole application "
                    "like a user would. Each level up is slower and harder to debug, so you want "
                    "many tests at the bottom and only a few at the top.</p>"
                ),
                callout(
                    "tip",
                    "Start where it hurts",
                    "<p>Do not try to test everything at once. Write your first tests around the code "
                    "that broke most recently, or the code you are about to change.</p>",
                ),
                heading("A test in one line"),
                code(
                    "python",
                    '''
def cart_total(prices: list[int]) -> int:
    """Sum the prices of a cart, in cents."""
    return sum(prices)


def test_cart_total_sums_prices():
    assert cart_total([250, 199, 1]) == 450
''',
                    "cart.py: a function and its first test",
                ),
                paragraph(
                    "<p>That is all a test is: call the code, compare the result with what you "
                    "expect. In the next lesson you will run it with pytest.</p>"
                ),
            ],
        ),
        LessonSpec(
            slug="first-pytest-test",
            title="Your first pytest test",
            summary="Install pytest, write tests with plain assert statements and read its failure reports.",
            minutes=15,
            body=[
                heading("Install and run"),
                paragraph(
                    "<p>pytest finds files named <code>test_*.py</code>, and inside them functions "
                    "named <code>test_*</code>. Install it into your project's virtual environment "
                    "and run it from the project root.</p>"
                ),
                code(
                    "bash",
                    """
python -m venv .venv
. .venv/bin/activate
python -m pip install pytest
pytest -q
""",
                ),
                heading("Plain assert, rich reports"),
                paragraph(
                    "<p>Unlike <code>unittest</code>, pytest needs no special assertion methods. It "
                    "rewrites <code>assert</code> statements so that a failure shows the values "
                    "involved.</p>"
                ),
                code(
                    "python",
                    '''
import pytest

from cart import cart_total


def test_cart_total_of_empty_cart_is_zero():
    assert cart_total([]) == 0


def test_cart_total_rejects_negative_prices():
    with pytest.raises(ValueError, match="negative"):
        cart_total([100, -5])
''',
                    "test_cart.py",
                ),
                callout(
                    "warning",
                    "Watch it fail first",
                    "<p>The second test fails: <code>cart_total</code> happily sums negative prices. "
                    "A test you have never seen fail might not test anything at all, so make it "
                    "fail, read the report, then fix the code.</p>",
                ),
                code(
                    "text",
                    """
FAILED test_cart.py::test_cart_total_rejects_negative_prices
    Failed: DID NOT RAISE <class 'ValueError'>
1 failed, 1 passed in 0.02s
""",
                    "What pytest prints",
                ),
                heading("Naming tests", "h3"),
                paragraph(
                    "<p>Name a test after the behaviour it checks and the condition: "
                    "<code>test_cart_total_rejects_negative_prices</code> tells you what broke without "
                    "opening the file. Keep one behaviour per test.</p>"
                ),
                download(
                    "pytest-cheatsheet",
                    "the pytest cheat sheet",
                    "Commands, fixtures and parametrize on one page (Markdown).",
                ),
            ],
        ),
        LessonSpec(
            slug="fixtures",
            title="Fixtures: setup without repetition",
            summary="Share setup code between tests with fixtures, and clean up after them reliably.",
            minutes=20,
            body=[
                heading("The problem with copy and paste"),
                paragraph(
                    "<p>As a suite grows, tests start with the same lines: create a user, fill a cart, "
                    "open a temporary file. Copying that setup makes tests long and every change "
                    "painful. A <b>fixture</b> is a function that prepares something a test needs; "
                    "a test asks for it by naming it as an argument.</p>"
                ),
                code(
                    "python",
                    '''
import pytest

from cart import Cart


@pytest.fixture
def cart() -> Cart:
    return Cart(owner="ada", items=[250, 199])


def test_cart_total(cart):
    assert cart.total() == 449


def test_cart_add_item(cart):
    cart.add(1)
    assert cart.total() == 450
''',
                ),
                paragraph(
                    "<p>Each test gets a <i>fresh</i> cart: fixtures run again for every test by "
                    "default, so tests cannot leak state into each other.</p>"
                ),
                heading("Cleaning up with yield"),
                code(
                    "python",
                    '''
@pytest.fixture
def orders_file(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("id,total\\n1,450\\n")
    yield path
    # Code after the yield runs when the test is done, even if it failed.
    print(f"removing {path}")
''',
                ),
                callout(
                    "note",
                    "Built-in fixtures",
                    "<p>pytest ships useful fixtures: <code>tmp_path</code> (a fresh directory), "
                    "<code>monkeypatch</code> (change environment variables or attributes for one "
                    "test), <code>capsys</code> (captured output) and <code>caplog</code> "
                    "(captured log records).</p>",
                ),
                heading("Where fixtures live", "h3"),
                paragraph(
                    "<p>Put fixtures used by many test files in a <code>conftest.py</code> next to "
                    "them; pytest finds it automatically, no import needed.</p>"
                ),
            ],
        ),
        LessonSpec(
            slug="mocking-at-the-boundaries",
            title="Mocking at the boundaries",
            summary="When to replace a dependency with a fake, and why most of your code should not need it.",
            minutes=15,
            live=False,
            body=[
                heading("Draft: coming soon"),
                paragraph(
                    "<p>This lesson is still being written. It will show how to fake only what is "
                    "outside your program (HTTP APIs, the clock) and keep everything else real.</p>"
                ),
            ],
        ),
    ],
)

SQL_COURSE = CourseSpec(
    slug="sql-for-web-developers",
    title="SQL for Web Developers",
    initials="SQL",
    colors=("#0f766e", "#22c55e"),
    summary="Go beyond the ORM: read and write SQL with joins, aggregates and indexes, and understand what your queries cost.",
    description=(
        "<p>Your ORM writes SQL for you, until a page gets slow and you need to know why. "
        "This course teaches the SQL behind everyday web pages, using PostgreSQL.</p>"
        "<h2>What you will learn</h2>"
        "<ul><li>Selecting, filtering and sorting rows</li>"
        "<li>Joining tables without losing or duplicating rows</li>"
        "<li>Reading a query plan and adding the right index</li></ul>"
    ),
    level="intermediate",
    hours=4,
    instructor="daniel",
    tags=("SQL", "Databases"),
    lessons=[
        LessonSpec(
            slug="select-basics",
            title="Tables, rows and SELECT",
            summary="The shape of relational data and the four clauses you will write every day.",
            minutes=15,
            body=[
                heading("Tables are sets of rows"),
                paragraph(
                    "<p>A table has named, typed columns and any number of rows. Rows have no "
                    "order of their own: if you need an order, you must ask for it with "
                    "<code>ORDER BY</code>.</p>"
                ),
                code(
                    "sql",
                    """
CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    country    char(2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
""",
                    "A customers table",
                ),
                heading("SELECT, WHERE, ORDER BY, LIMIT"),
                code(
                    "sql",
                    """
SELECT name, created_at
FROM customers
WHERE country = 'DE'
ORDER BY created_at DESC
LIMIT 10;
""",
                    "The ten newest customers in Germany",
                ),
                paragraph(
                    "<p>Read it in the order the database evaluates it: <b>FROM</b> picks the table, "
                    "<b>WHERE</b> keeps matching rows, <b>SELECT</b> picks the columns, "
                    "<b>ORDER BY</b> sorts and <b>LIMIT</b> cuts.</p>"
                ),
                callout(
                    "warning",
                    "Never build SQL with string formatting",
                    "<p>Pass values as query parameters (<code>%s</code> placeholders in psycopg, "
                    "or the ORM). Formatting user input into SQL text is how SQL injection happens.</p>",
                ),
                code(
                    "python",
                    """
with connection.cursor() as cursor:
    cursor.execute("SELECT name FROM customers WHERE country = %s", [country])
    names = [row[0] for row in cursor.fetchall()]
""",
                    "Parameters, not f-strings",
                ),
            ],
        ),
        LessonSpec(
            slug="joins",
            title="Joins without fear",
            summary="Combine tables with INNER and LEFT JOIN, and spot the join that duplicates your rows.",
            minutes=20,
            body=[
                heading("Two tables, one question"),
                paragraph(
                    "<p>Orders refer to customers through <code>orders.customer_id</code>. To list "
                    "orders with the customer's name you <b>join</b> the tables on that column.</p>"
                ),
                image(
                    "joins",
                    "Two overlapping circles labelled customers and orders; the overlap is the INNER JOIN.",
                    "INNER JOIN keeps the overlap. LEFT JOIN keeps every customer, matched or not.",
                ),
                code(
                    "sql",
                    """
-- Only customers who have orders:
SELECT c.name, o.id AS order_id, o.total
FROM customers AS c
JOIN orders AS o ON o.customer_id = c.id;

-- Every customer; order columns are NULL when there is none:
SELECT c.name, count(o.id) AS order_count
FROM customers AS c
LEFT JOIN orders AS o ON o.customer_id = c.id
GROUP BY c.name;
""",
                ),
                callout(
                    "tip",
                    "count(o.id), not count(*)",
                    "<p>With a LEFT JOIN, a customer without orders still produces one row, so "
                    "<code>count(*)</code> would say 1. <code>count(o.id)</code> skips NULLs and says 0.</p>",
                ),
                heading("The row-multiplying join", "h3"),
                paragraph(
                    "<p>Joining two one-to-many relations at once (customers to orders <i>and</i> "
                    "customers to addresses) multiplies rows: 3 orders and 2 addresses give 6 rows. "
                    "Aggregate in a subquery first, or use two queries. Django's "
                    "<code>prefetch_related</code> does the latter for you.</p>"
                ),
            ],
        ),
        LessonSpec(
            slug="indexes-and-plans",
            title="Indexes and query plans",
            summary="Use EXPLAIN ANALYZE to see what a query costs and add the index that fixes it.",
            minutes=25,
            body=[
                heading("Ask the database what it did"),
                paragraph(
                    "<p><code>EXPLAIN ANALYZE</code> runs a query and reports the plan the database "
                    "chose, with real row counts and timings. Read it from the most indented line "
                    "outwards.</p>"
                ),
                code(
                    "sql",
                    """
EXPLAIN ANALYZE
SELECT * FROM orders WHERE customer_id = 42;

-- Seq Scan on orders  (cost=0.00..18334.00 rows=9 width=40)
--                     (actual time=0.41..61.02 rows=12 loops=1)
--   Filter: (customer_id = 42)
--   Rows Removed by Filter: 999988
""",
                ),
                paragraph(
                    "<p>A <b>sequential scan</b> read a million rows to keep twelve. An index on "
                    "<code>customer_id</code> lets the database jump straight to them.</p>"
                ),
                code(
                    "sql",
                    """
CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);
-- Index Scan using orders_customer_id_idx on orders
--   (actual time=0.03..0.05 rows=12 loops=1)
""",
                ),
                callout(
                    "note",
                    "Indexes are not free",
                    "<p>Every index slows down writes and takes disk space. Add one for a query you "
                    "have measured, not for every column.</p>",
                ),
                heading("The same index in Django", "h3"),
                code(
                    "python",
                    """
class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)  # indexed automatically
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "-created_at"])]
""",
                ),
                download("sql-cheatsheet", "", "Joins, aggregates and EXPLAIN at a glance."),
            ],
        ),
    ],
)

DEPLOY_COURSE = CourseSpec(
    slug="production-django",
    title="Production Django: Deploy and Operate",
    initials="PD",
    colors=("#b45309", "#e11d48"),
    summary="Take a Django project to production: settings from the environment, an ASGI server, health checks, logs and metrics.",
    description=(
        "<p>A small-group course for developers who are about to put Django in front of real "
        "users. Each cohort is reviewed by the instructor, so enrollment needs approval.</p>"
        "<h2>What you will learn</h2>"
        "<ul><li>Twelve-factor settings and secrets</li>"
        "<li>Serving HTTP and WebSockets with an ASGI server behind a proxy</li>"
        "<li>Health checks, structured logs and metrics that make incidents short</li></ul>"
    ),
    level="advanced",
    hours=6,
    instructor="priya",
    tags=("Django", "Python", "Deployment"),
    enrollment_mode="approval",
    price=Decimal("149.00"),
    currency="USD",
    lessons=[
        LessonSpec(
            slug="settings-from-the-environment",
            title="Settings from the environment",
            summary="One settings module, configured by environment variables, that refuses to start when a secret is missing.",
            minutes=20,
            body=[
                heading("One codebase, many deploys"),
                paragraph(
                    "<p>The same code runs on your laptop, in CI and in production. What differs is "
                    "<i>configuration</i>: database URLs, secrets, hostnames. Keep it in environment "
                    "variables, not in files you commit.</p>"
                ),
                code(
                    "python",
                    '''
import os

from django.core.exceptions import ImproperlyConfigured

DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")
''',
                    "settings.py: fail fast instead of running insecurely",
                ),
                callout(
                    "warning",
                    "DEBUG leaks secrets",
                    "<p>With <code>DEBUG</code> on, an error page shows your settings and local "
                    "variables to anyone. Make production the default that needs no flag, and "
                    "development the mode you opt into.</p>",
                ),
                code(
                    "bash",
                    """
export DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
export DATABASE_URL=postgres://app@db:5432/app
python manage.py check --deploy
""",
                ),
                download("deploy-checklist", "", "Print it and tick it off before your first deploy."),
            ],
        ),
        LessonSpec(
            slug="serving-with-asgi",
            title="Serving with ASGI",
            summary="How a request travels from the browser to Django and back, and how to run an ASGI server behind a proxy.",
            minutes=25,
            body=[
                heading("The path of a request"),
                image(
                    "asgi-flow",
                    "Boxes joined by arrows: Browser, Proxy, uvicorn, Django, PostgreSQL.",
                    "A proxy terminates TLS; uvicorn speaks ASGI to Django; Django talks to the database.",
                ),
                paragraph(
                    "<p>The <b>proxy</b> (nginx, Caddy or a cloud load balancer) terminates HTTPS and "
                    "serves static files. The <b>ASGI server</b> turns HTTP and WebSocket traffic into "
                    "calls of your application. Django handles the request, usually talking to a "
                    "database, and the answer goes back the same way.</p>"
                ),
                code(
                    "bash",
                    """
uvicorn mysite.asgi:application \\
    --host 0.0.0.0 --port 8000 \\
    --workers 2 --proxy-headers --forwarded-allow-ips 10.0.0.1
""",
                    "Two worker processes behind a proxy at 10.0.0.1",
                ),
                callout(
                    "tip",
                    "Trust only your own proxy",
                    "<p><code>X-Forwarded-For</code> is just a header: anyone can send it. Tell the "
                    "server which proxy addresses may set it, or rate limits and logs will believe "
                    "whatever a client claims.</p>",
                ),
            ],
        ),
        LessonSpec(
            slug="health-logs-metrics",
            title="Watching it run: health checks, logs and metrics",
            summary="Liveness and readiness probes, logs you can search and the four metrics that catch most incidents.",
            minutes=20,
            body=[
                heading("Liveness and readiness"),
                paragraph(
                    "<p>A <b>liveness</b> probe answers “is the process alive?” and should not touch "
                    "the database. A <b>readiness</b> probe answers “can it serve traffic right now?” "
                    "and checks the database, cache and queue. Orchestrators restart on failed "
                    "liveness and stop routing on failed readiness.</p>"
                ),
                code(
                    "python",
                    '''
from django.db import connection
from django.http import JsonResponse


def readyz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"database": "ok"})
''',
                ),
                heading("Logs that answer questions"),
                code(
                    "json",
                    """
{"time": "2026-03-02T10:15:04Z", "level": "ERROR", "logger": "payments",
 "request_id": "7f3a", "user_id": 1841, "message": "card declined", "provider": "acme"}
""",
                    "One event per line, with the fields you will search for",
                ),
                callout(
                    "note",
                    "The four golden signals",
                    "<p>Latency, traffic, errors and saturation. Graph those four for every service "
                    "and most incidents announce themselves.</p>",
                ),
                code(
                    "yaml",
                    """
livenessProbe:
  httpGet: {path: /healthz, port: 8000}
  periodSeconds: 10
readinessProbe:
  httpGet: {path: /readyz, port: 8000}
  failureThreshold: 3
""",
                    "Kubernetes probes",
                ),
            ],
        ),
    ],
)

COURSES = [PYTEST_COURSE, SQL_COURSE, DEPLOY_COURSE]
