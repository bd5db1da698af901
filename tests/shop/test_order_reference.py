"""The order reference format has one owner, beside new_reference, that every route asks."""

from shop.models.orders import REFERENCE_ALPHABET, new_reference, reference_normalise


def test_new_references_use_the_alphabet_and_read_back_as_themselves():
    for _ in range(200):
        reference = new_reference()
        assert reference_normalise(reference) == reference
        assert set(reference.replace("-", "", 1)) <= set(REFERENCE_ALPHABET)


def test_a_reference_typed_in_lower_case_reads_as_the_stored_one():
    assert reference_normalise(" abcd-efgh ") == "ABCD-EFGH"


def test_text_not_shaped_like_a_reference_reads_as_none():
    for raw in ["", "ABCD-EFG", "ABCDEFGH", "ABCD-EFGH-IJKL", "ABCD_EFGH", "ÀBCD-EFGH", None, 12]:
        assert reference_normalise(raw) is None
