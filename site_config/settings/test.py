from .base import *

DEBUG = False
SECRET_KEY = "test-only-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# The local gateway's page is exercised by the tests even though DEBUG is off.
LOCAL_GATEWAY_ENABLED = True
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="local")

# Fast hashing: password strength is not what these tests measure.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-memory mail so tests can read the outbox.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Each test process gets its own cache; no cross-test leakage through a shared server.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Uploaded media go to a throwaway folder, not the developer's media/.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "test-artifacts" / "media")
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
LOGGING["loggers"]["shop"]["level"] = "WARNING"
# Rate limits are exercised by their own tests with override_settings; concurrency tests
# post far more than a shopper would.
CHECKOUT_RATE_LIMIT = ""
LOGIN_RATE_LIMIT = ""
PASSWORD_RESET_RATE_LIMIT = ""
PASSWORD_RESET_EMAIL_RATE_LIMIT = ""
SIGNUP_RATE_LIMIT = ""
SIGNUP_EMAIL_RATE_LIMIT = ""
