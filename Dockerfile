# Academy application image: the same image runs the web server and the task worker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ACADEMY_DATA_DIR=/app/var
WORKDIR /app

COPY pyproject.toml README.md ./
COPY academy academy
COPY siteconfig siteconfig
COPY courses courses
COPY learning learning
COPY realtime realtime
COPY plugins plugins
COPY templates templates
COPY static static
COPY manage.py ./
RUN pip install . \
 && DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
 && useradd --create-home --uid 1000 academy \
 && mkdir -p /app/var/media && chown -R academy /app/var
USER academy

EXPOSE 8000
# run_academy supervises uvicorn (and, without --no-worker, the task worker): SIGTERM drains
# requests, closes WebSockets with 1012 and stops tasks within ACADEMY_SHUTDOWN_GRACE seconds.
CMD ["python", "manage.py", "run_academy", "--no-worker", "--host", "0.0.0.0", "--port", "8000"]
