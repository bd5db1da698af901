"""The shop's Wagtail admin pieces (viewsets, dashboard panel); registered in wagtail_hooks."""
