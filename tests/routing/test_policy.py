"""The routing policy on plain data: no database, no HTTP."""

from dataclasses import replace

import pytest

from relais.routing import policy
from relais.routing.policy import Candidate, Facts, Rules
from tests.factories import NANTES, offset

RULES = Rules(radius_km=50, max_recipients=5, threshold=0.8)
LAT, LON = NANTES

SHARE = Facts(
    consent="share", consent_final=True, intent="quote_request", shareable=True,
    confidence=0.93, metier="plombier", metier_label="Plombier", metier_shareable=True,
    called_listing_id=1, called_professional_id=100, latitude=LAT, longitude=LON,
)


def cand(listing_id, north_km=0.0, east_km=0.0, **kw) -> Candidate:
    lat, lon = offset(LAT, LON, north_km, east_km)
    defaults = dict(professional_id=1000 + listing_id, latitude=lat, longitude=lon,
                    metiers=frozenset({"plombier"}), service_radius_km=80,
                    email=f"pro{listing_id}@example.fr")
    defaults.update(kw)
    return Candidate(listing_id=listing_id, **defaults)


def ids(decision):
    return [r.listing_id for r in decision.recipients]


# --- whether it is shared at all -----------------------------------------------------------


def test_share_ok_goes_to_nearby_professionals():
    d = policy.decide(SHARE, [cand(2, 10), cand(3, 5)], RULES)
    assert d.outcome == policy.SHARED
    assert d.codes == ["share_ok"]
    assert "confiance 0,93 ≥ 0,80" in d.reasons[0].text
    assert ids(d) == [3, 2]


@pytest.mark.parametrize(("change", "code"), [
    ({"consent": "private"}, "consent_private"),
    ({"consent_final": False}, "consent_not_final"),
    ({"shareable": False, "intent": "personal"}, "not_shareable"),
    ({"metier": None, "metier_label": ""}, "no_metier"),
    ({"metier": "infirmier", "metier_label": "Infirmier", "metier_shareable": False},
     "metier_not_shareable"),
    ({"latitude": None, "longitude": None}, "called_listing_unlocated"),
    ({"called_listing_id": None, "called_professional_id": None}, "no_called_listing"),
])
def test_each_condition_keeps_the_message_with_the_called_professional(change, code):
    d = policy.decide(replace(SHARE, **change), [cand(2, 1)], RULES)
    assert d.outcome == policy.OWN_ONLY
    assert d.codes == [code]
    assert d.recipients == ()
    assert d.reasons[0].text  # French text for people


def test_every_failing_condition_is_reported():
    facts = replace(SHARE, consent="private", shareable=False, metier=None)
    d = policy.decide(facts, [cand(2, 1)], RULES)
    assert d.codes == ["consent_private", "not_shareable", "no_metier"]


def test_a_health_request_is_never_shared_even_with_consent():
    facts = replace(SHARE, metier="kinesitherapeute", metier_label="Kinésithérapeute",
                    metier_shareable=False, confidence=1.0)
    d = policy.decide(facts, [cand(2, 1, metiers=frozenset({"kinesitherapeute"}))], RULES)
    assert d.outcome == policy.OWN_ONLY
    assert "jamais partagées" in d.reasons[0].text


def test_shareable_under_the_threshold_waits_for_moderation():
    d = policy.decide(replace(SHARE, confidence=0.79), [cand(2, 1)], RULES)
    assert d.outcome == policy.MODERATION
    assert d.codes == ["under_threshold"]
    assert d.recipients == ()
    # Exactly at the threshold is confident enough.
    assert policy.decide(replace(SHARE, confidence=0.8), [cand(2, 1)], RULES).outcome == "shared"
    # No confidence at all: moderation, never shared blindly.
    assert policy.decide(replace(SHARE, confidence=None), [], RULES).outcome == "moderation"


def test_not_shareable_under_the_threshold_is_own_only_not_moderation():
    d = policy.decide(replace(SHARE, confidence=0.3, shareable=False), [cand(2, 1)], RULES)
    assert d.outcome == policy.OWN_ONLY


def test_operator_approval_shares_with_the_same_recipient_rule():
    facts = replace(SHARE, confidence=0.5, moderation="approved")
    d = policy.decide(facts, [cand(2, 60), cand(3, 5), cand(4, 1, metiers=frozenset())], RULES)
    assert d.outcome == policy.SHARED
    assert d.codes == ["moderation_approved"]
    assert ids(d) == [3]
    # Approval never overrides consent or the métier rule.
    assert policy.decide(replace(facts, consent="private"), [cand(3, 5)], RULES).outcome == \
        policy.OWN_ONLY


def test_operator_rejection_keeps_it_own_only():
    d = policy.decide(replace(SHARE, confidence=0.5, moderation="rejected"), [cand(2, 1)], RULES)
    assert (d.outcome, d.codes) == (policy.OWN_ONLY, ["moderation_rejected"])


def test_shared_with_nobody_around_says_so():
    d = policy.decide(SHARE, [cand(2, 70)], RULES)
    assert d.outcome == policy.SHARED
    assert d.codes == ["share_ok", "no_recipient"]
    assert d.recipients == ()


# --- who receives it -------------------------------------------------------------------------


def excluded_codes(decision):
    return {e.listing_id: e.code for e in decision.excluded}


def test_recipient_filters():
    candidates = [
        cand(1, 1),                                    # the called listing itself
        cand(2, 2, professional_id=100),               # another listing of the called pro
        cand(3, 3, claimed=False),                     # not approved
        cand(4, 4, active=False),                      # establishment closed
        cand(5, 5, metiers=frozenset({"electricien"})),  # another trade
        cand(6, 49.9),                                 # inside 50 km: kept
        cand(7, 50.2),                                 # beyond the 50 km of the called listing
        cand(8, 20, service_radius_km=15),             # beyond its own service radius
        cand(9, 6, shared_paused=True),                # paused shared requests
        cand(10, 7, reported_caller=True),             # reported this caller
        cand(11, 8),                                   # fine
        cand(12, 9, latitude=None, longitude=None),    # no position
        cand(13, 14.9, service_radius_km=15),          # just inside its own radius
    ]
    d = policy.decide(SHARE, candidates, RULES)
    assert ids(d) == [11, 13, 6]
    assert excluded_codes(d) == {
        1: "called_listing", 2: "same_professional", 3: "not_claimed", 4: "inactive",
        5: "metier_not_offered", 7: "beyond_radius", 8: "beyond_service_radius", 9: "paused",
        10: "reported_caller", 12: "unlocated",
    }


def test_recipients_without_a_valid_email_are_skipped_with_a_reason_and_free_their_place():
    candidates = [cand(2, 1, email=""), cand(3, 2, email="pas-une-adresse"), cand(4, 3),
                  cand(5, 4)]
    d = policy.decide(SHARE, candidates, replace(RULES, max_recipients=2))
    assert ids(d) == [4, 5]
    assert [(s.listing_id, s.code) for s in d.skipped] == [(2, "no_email"), (3, "no_email")]
    assert "e-mail" in d.skipped[0].text


def test_nearest_first_with_rank_distance_and_reason_then_capped():
    candidates = [cand(i, north_km=float(10 - i)) for i in range(1, 10)]  # 9 at 9…1 km
    d = policy.decide(SHARE, candidates, RULES)
    assert ids(d) == [9, 8, 7, 6, 5]  # the 5 nearest
    assert [r.rank for r in d.recipients] == [1, 2, 3, 4, 5]
    distances = [r.distance_km for r in d.recipients]
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(1.0, abs=0.01)
    first = d.recipients[0].reason()
    assert first["codes"] == ["metier", "distance", "rank"]
    assert first["metier"] == "plombier" and first["rank"] == 1
    assert "Plombier à 1,0 km" in first["text"] and "rang 1" in first["text"]


def test_ties_are_broken_by_listing_id():
    d = policy.decide(SHARE, [cand(7, 3), cand(5, 3), cand(6, 3)], replace(RULES, max_recipients=2))
    assert ids(d) == [5, 6]


def test_settings_change_the_radius_and_the_cap():
    candidates = [cand(i + 1, north_km=10.0 * i) for i in range(1, 8)]  # 10…70 km
    assert ids(policy.decide(SHARE, candidates, Rules(radius_km=25, max_recipients=5))) == [2, 3]
    assert ids(policy.decide(SHARE, candidates, Rules(radius_km=100, max_recipients=3))) == \
        [2, 3, 4]


def test_the_cap_zero_shares_with_nobody():
    d = policy.decide(SHARE, [cand(2, 1)], replace(RULES, max_recipients=0))
    assert d.recipients == ()


def test_an_unreliable_transcript_is_never_shared_without_an_operator():
    facts = replace(SHARE, confidence=0.99, transcript_reliable=False)
    d = policy.decide(facts, [cand(2, 1)], RULES)
    assert (d.outcome, d.codes, d.recipients) == (policy.MODERATION, ["transcript_unreliable"], ())
    assert policy.decide(replace(facts, moderation="approved"), [cand(2, 1)], RULES
                         ).outcome == policy.SHARED
    # a private message stays private: unreliable or not, nothing to moderate
    assert policy.decide(replace(facts, consent="private"), [cand(2, 1)], RULES
                         ).outcome == policy.OWN_ONLY
