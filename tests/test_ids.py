"""The one ID rule (clvmodel.ids): spaces around an ID and, for a unique match, case."""

import pandas as pd

from clvmodel import ids

KNOWN = pd.Index(["C001463", "C1", "ab", "AB"])


def test_trimmed_and_case_insensitive_when_unique():
    typed = ["c001463", " C001463 ", "\tc1", "", None, "nobody"]
    assert ids.match_ids(typed, KNOWN).tolist() == ["C001463", "C001463", "C1", "", "", "nobody"]


def test_ids_differing_only_in_case_are_found_only_exactly():
    assert ids.match_ids(["ab", "AB", "Ab"], KNOWN).tolist() == ["ab", "AB", "Ab"]
    assert ids.by_case(KNOWN) == {"c001463": "C001463", "c1": "C1"}


def test_the_folded_table_is_made_only_when_an_id_is_not_found_as_typed():
    calls = []

    def folded():
        calls.append(1)
        return ids.by_case(KNOWN)

    assert ids.match_ids(["C1", " C001463"], KNOWN, folded=folded).tolist() == ["C1", "C001463"]
    assert calls == []
    assert ids.match_ids(["c1"], KNOWN, folded=folded).tolist() == ["C1"]
    assert calls == [1]


def test_duplicates_are_the_same_customer_however_typed():
    matched = ids.match_ids(["c1", "C1 ", "C001463", "", "", "x"], KNOWN)
    assert ids.duplicated_ids(matched).tolist() == [True, True, False, False, False, False]
