"""What tests, browser tests and benchmarks share: servers, fakes, builders, a shopper.

- ``servers``: the app under gunicorn, a throwaway PostgreSQL database, the servers' outbox;
- ``stripe_fake`` and ``stripe_settings``: a fake Stripe API, and the settings pointing at it;
- ``events``: Stripe-shaped objects and events, and signed webhook deliveries;
- ``smtp_fake`` and ``mail_backends``: a real SMTP server that can stall, failing backends;
- ``shop`` and ``orders``: the picture-less seeded shop, and orders in any state;
- ``shopper``: a shopper's browser on the test client, pages read as a shopper reads them;
- ``threads``: work released at one moment in real threads;
- ``compose``: compose.yaml and the Dockerfile as a container sees them.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
