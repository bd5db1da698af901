"""What the payment provider accepts: Stripe's rules, kept beside the gateway that obeys them."""

import datetime as dt

# A Checkout Session may expire 30 minutes to 24 hours after it is created.
SHORTEST_SESSION_LIFETIME = dt.timedelta(minutes=30)
LONGEST_SESSION_LIFETIME = dt.timedelta(hours=24)
# The smallest charge accepted, in minor units, for each of the shop's currencies.
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "jpy": 50}
# The largest single charge, in minor units, for most currencies.
MAXIMUM_CHARGE = 99_999_999
