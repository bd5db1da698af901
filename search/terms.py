"""What a shopper typed, widened so that "notebooks" finds "Notebook".

Wagtail's database search backend matches whole words and does not stem on SQLite (FTS5
with its default tokenizer) nor on PostgreSQL with the default "simple" configuration, so
a plural finds nothing. Each word is searched together with its English singular; the
search runs with ``operator="or"``, so either form matches. The rules are deliberately
few: a missed rare plural costs a result, a wrong "singular" only an extra term.
"""

_SIBILANT_ENDINGS = ("ses", "xes", "zes", "ches", "shes")
# Words ending in "s" that are not plurals: no variant, or "glass" would also search "glas".
_NOT_PLURAL_ENDINGS = ("ss", "us", "is")


def singulars(word: str) -> list[str]:
    """The forms ``word`` may have in the singular when it looks like an English plural.

    Both guesses where English is ambiguous: "boxes" -> "boxe", "box"; "cookies" -> "cookie",
    "cooky"; an impossible word only searches for nothing.
    """
    lower = word.lower()
    if len(lower) <= 3 or not lower.endswith("s") or lower.endswith(_NOT_PLURAL_ENDINGS):
        return []
    forms = [word[:-1]]
    if lower.endswith("ies") and len(lower) > 4:
        forms.append(word[:-3] + "y")
    elif lower.endswith(_SIBILANT_ENDINGS):
        forms.append(word[:-2])
    return forms


def search_terms(query: str) -> str:
    """``query`` with each plural word followed by its singulars: "mugs" -> "mugs mug"."""
    words: list[str] = []
    seen: set[str] = set()
    for word in query.split():
        for form in (word, *singulars(word)):
            if form.lower() not in seen:
                seen.add(form.lower())
                words.append(form)
    return " ".join(words)
