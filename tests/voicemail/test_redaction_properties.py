"""Properties of redaction and understanding on arbitrary text (hypothesis)."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relais.voicemail.understanding import INTENTS, TOKENS, URGENCIES, redact, understand

PHONE_LIKE = re.compile(r"0[1-9](?:[ .-]?[0-9]{2}){4}")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.sampled_from([
    "Bonjour", "je", "suis", "Sophie", "Martin", "au", "rue", "des", "Lilas", "12", "06", "zéro",
    "six", "douze", "trente-quatre", "euh", "arobase", "point", "com", "à", "Nantes", "plombier",
    "fuite", "Madame", "c'est", "+33", "0033", "-", ".", ",", "FR76", "4970", "et", "vingt",
])
phones = st.builds(
    lambda d, sep: "0" + str(d[0]) + "".join(sep + f"{x:02d}" for x in d[1:]),
    st.tuples(st.integers(1, 9), *[st.integers(0, 99)] * 4),
    st.sampled_from(["", " ", ".", "-"]),
)
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(words, phones, st.text(max_size=8)), max_size=40).map(" ".join),
    st.lists(st.one_of(words, phones), max_size=40).map("".join),
)


@FAST
@given(texts)
def test_redact_never_raises_and_spans_are_sound(text):
    r = redact(text)
    last_end = 0
    for s in r.spans:
        assert 0 <= s.start < s.end <= len(text)
        assert s.start >= last_end  # sorted, not overlapping
        assert s.kind in TOKENS
        last_end = s.end
    # the redacted text is the original with each span replaced by its token
    out, pos = [], 0
    for s in r.spans:
        out += [text[pos:s.start], TOKENS[s.kind]]
        pos = s.end
    assert "".join([*out, text[pos:]]) == r.text


@FAST
@given(texts, phones, texts)
def test_no_phone_number_survives(before, phone, after):
    for text in (f"{before} {phone} {after}", f"{before}{phone}{after}", phone):
        assert not PHONE_LIKE.search(redact(text).text), text


@FAST
@given(texts)
def test_no_phone_like_digits_ever_survive(text):
    assert not PHONE_LIKE.search(redact(text).text)


@FAST
@given(texts)
def test_understand_never_raises_and_is_valid(text):
    u = understand(text)
    assert u.intent in INTENTS
    assert u.urgency in URGENCIES
    assert 0.0 <= u.confidence <= 1.0
    if u.shareable:
        assert u.intent == "quote_request" and u.metier is not None
