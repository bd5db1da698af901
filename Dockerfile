# The shop in a container: gunicorn with production settings, behind compose.yaml's nginx
# proxy (deploy/nginx.conf). See README "Deploying".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=site_config.settings.production \
    PORT=8000

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic needs settings that import cleanly; these placeholders exist only for this step.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    PAYMENT_GATEWAY=local python manage.py collectstatic --noinput

RUN useradd --create-home shop && mkdir -p /app/media && chown shop /app/media
USER shop

EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "site_config.wsgi"]
