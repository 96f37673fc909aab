# The one image for web, worker and cron (docker-compose.yml picks the command).
FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN python manage.py compile_translations && python manage.py collectstatic --noinput --verbosity 0
RUN useradd --system --uid 1000 headshots && mkdir -p /app/media && chown headshots /app/media
USER headshots
EXPOSE 8000
# Threads, timeouts and the redacted access log: deploy/gunicorn.conf.py (compose's web runs it too).
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
