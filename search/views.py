"""/search/?query=...: live products and pages, through Wagtail search, paginated.

Product results link to their card on the shop page (``#product-<pk>-name``), which the
shop page highlights; each shows the product's picture and price.
"""

from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from wagtail.models import Page

from search.terms import search_terms
from shop import selectors

RESULTS_PER_PAGE = 10
MAX_QUERY_LENGTH = 200


def _clean_query(raw: str) -> str:
    # Odd characters are harmless to the search backend but useless as terms.
    kept = "".join(ch if ch.isalnum() or ch in " -'" else " " for ch in raw[:MAX_QUERY_LENGTH])
    return " ".join(kept.split())


def search(request):
    raw_query = request.GET.get("query", "")
    query = _clean_query(raw_query)
    results: list = []
    if query:
        products = selectors.product_search_for_sale(query)
        pages = Page.objects.live().public().specific().search(search_terms(query), operator="or")
        results = [{"kind": "Product", "object": product} for product in products] + [
            {"kind": "Page", "object": page} for page in pages
        ]
    paginator = Paginator(results, RESULTS_PER_PAGE)
    results_page = paginator.get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "search/search.html",
        {
            "search_query": raw_query[:MAX_QUERY_LENGTH],
            "query": query,
            "results": results_page,
            "shop_page": selectors.shop_page_live(),
        },
    )
