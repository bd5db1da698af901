"""A password hasher for tests that counts how many passwords were checked, across threads."""

import threading

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingMD5Hasher(MD5PasswordHasher):
    checks = 0
    _lock = threading.Lock()

    def verify(self, password, encoded):
        with self._lock:
            type(self).checks += 1
        return super().verify(password, encoded)
