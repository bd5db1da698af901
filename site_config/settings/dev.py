from .base import *

DEBUG = env.bool("DEBUG", default=True)
# A fixed key is fine here: dev settings never serve real shoppers.
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]
