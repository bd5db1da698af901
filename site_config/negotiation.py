"""Which kind of answer a client wants: the one rule every view with two answers asks."""

from django.http import HttpRequest


def wants_json(request: HttpRequest) -> bool:
    """Whether ``request`` sent JSON or accepts it: it then gets JSON errors, not a page."""
    return request.content_type == "application/json" or (
        "application/json" in request.headers.get("Accept", "")
    )
