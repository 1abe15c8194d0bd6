"""Redaction: every form of phone number, email, IBAN, card, address and name; spans
point at the original characters (the audio is bleeped from them)."""

import pytest

from relais.voicemail.understanding import Span, redact, spans_to_word_indices, words_text


def redacted(text: str) -> list[tuple[str, str]]:
    """(original substring, kind) of each redaction span."""
    return [(text[s.start:s.end], s.kind) for s in redact(text).spans]


@pytest.mark.parametrize(
    "number",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "0612345678",
        "06-12-34-56-78",
        "06 / 12 / 34 / 56 / 78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit",
        "Zéro six douze trente quatre cinquante six soixante dix huit",
        "06 douze 34 cinquante-six 78",
        "zéro six euh douze trente-quatre cinquante-six soixante-dix-huit",
        "zéro un quarante-cinq soixante et onze quatre-vingt-dix-neuf zéro deux",
        "plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit",
        "01 45 67 89 10",
        "09 72 45 18 33",
    ],
)
def test_phone_numbers_in_every_french_form(number):
    text = f"Bonjour, rappelez-moi au {number} s'il vous plaît, merci."
    r = redact(text)
    assert [(s.kind, text[s.start:s.end]) for s in r.spans] == [("phone", number)]
    assert r.text == "Bonjour, rappelez-moi au [téléphone] s'il vous plaît, merci."


def test_international_numbers():
    assert redacted("Call me on +44 7700 900 412 thanks") == [("+44 7700 900 412", "phone")]


def test_numbers_that_are_not_phones_stay():
    text = ("Il me faut 1500 litres de fioul pour le 12 mars, environ 600 000 euros, "
            "maison de 120 m² au 75011 Paris, devis numéro 2024-118.")
    assert redact(text).text == text


@pytest.mark.parametrize(
    "email",
    [
        "jean.dupont@gmail.com",
        "contact@menuiserie-besnard.fr",
        "jean point dupont arobase gmail point com",
        "jean tiret dupont arobase orange point fr",
        "marie.lebihan at laposte point net",
        "jean dot smith at gmail dot com",
    ],
)
def test_emails_written_and_spoken(email):
    text = f"Vous pouvez m'écrire à {email} ou me rappeler."
    assert redacted(text) == [(email, "email")]
    assert redact(text).text == "Vous pouvez m'écrire à [email] ou me rappeler."


def test_iban_and_card():
    text = ("Mon IBAN c'est FR76 3000 6000 0112 3456 7890 189 et ma carte 4970 1012 3456 7890 "
            "expire en 09 27.")
    assert redacted(text) == [
        ("FR76 3000 6000 0112 3456 7890 189", "iban"),
        ("4970 1012 3456 7890", "card"),
    ]
    assert "[iban]" in redact(text).text and "[carte]" in redact(text).text


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("J'habite au 12 rue des Lilas à Nantes.", "12 rue des Lilas"),
        ("C'est au 3 bis avenue Jean Jaurès, à Pézenas.", "3 bis avenue Jean Jaurès"),
        ("Je suis 48 boulevard Victor Hugo à Nîmes.", "48 boulevard Victor Hugo"),
        ("au 5 chemin des Vignes 81600 Gaillac", "5 chemin des Vignes"),
        ("c'est impasse des Mésanges à Pontarlier", "impasse des Mésanges"),
        ("au 7 allée du Parc, merci", "7 allée du Parc"),
        ("au 2 place de la République à Lyon", "2 place de la République"),
        ("au douze rue de la gare à Vannes", "douze rue de la gare"),
        ("lieu-dit La Croix Blanche à Saint-Yrieix", "lieu-dit La Croix Blanche"),
    ],
)
def test_street_addresses_go_town_stays(text, address):
    r = redact(text)
    assert [(text[s.start:s.end], s.kind) for s in r.spans] == [(address, "address")]
    assert "[adresse]" in r.text
    for town in ("Nantes", "Pézenas", "Nîmes", "Gaillac", "Pontarlier", "Lyon", "Vannes"):
        if town in text:
            assert town in r.text  # the town is what routing needs


@pytest.mark.parametrize(
    "text",
    [
        "Je cherche une place en crèche pour septembre.",
        "Il faudrait des cours de maths pour ma fille.",
        "Il faudrait refaire l'allée du jardin en pavés.",
        "Le chantier de la route est terminé.",
    ],
)
def test_words_that_only_look_like_addresses_stay(text):
    assert redact(text).text == text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Bonjour, je m'appelle Sophie Martin, je voudrais un devis.", ["Sophie Martin"]),
        ("Bonjour c'est Madame Lefèvre pour un devis.", ["Lefèvre"]),
        ("Bonjour, M. Dubois à l'appareil.", ["Dubois"]),
        ("oui bonjour monsieur benard c'est pour un devis", ["benard"]),
        ("Salut c'est Jean-Pierre, rappelle-moi.", ["Jean-Pierre"]),
        ("Bonjour, ici Yann Le Goff de Quimper.", ["Yann Le Goff"]),
        ("c'est pascale la maman de julien", ["pascale", "julien"]),
        ("Merci de me rappeler, Nathalie.", ["Nathalie"]),
        ("Hi, my name is Mark Thompson, please call back.", ["Mark Thompson"]),
        ("Bonjour, c'est Madame de Vasselot.", ["de Vasselot"]),
    ],
)
def test_names(text, names):
    found = [t for t, kind in redacted(text) if kind == "name"]
    assert found == names
    for n in names:
        assert n not in redact(text).text


def test_request_words_and_towns_survive_redaction():
    text = ("Bonjour, je suis Claire Fontaine, j'ai une fuite d'eau sous l'évier à Saint-Nazaire, "
            "il me faudrait un plombier rapidement, merci de me rappeler au 06 12 34 56 78.")
    r = redact(text)
    assert r.text == ("Bonjour, je suis [nom], j'ai une fuite d'eau sous l'évier à Saint-Nazaire, "
                      "il me faudrait un plombier rapidement, merci de me rappeler au [téléphone].")


def test_a_town_that_is_also_a_first_name_stays():
    text = "Bonjour, je cherche un électricien à Nancy pour refaire un tableau."
    assert redact(text).text == text


def test_spans_are_offsets_into_the_original_text():
    text = "Bonjour, c'est Karim Haddad, 06 62 18 40 73, karim@exemple.fr, au 4 rue Paul Bert."
    r = redact(text)
    assert [text[s.start:s.end] for s in r.spans] == [
        "Karim Haddad", "06 62 18 40 73", "karim@exemple.fr", "4 rue Paul Bert"]
    assert [s.kind for s in r.spans] == ["name", "phone", "email", "address"]
    assert all(isinstance(s, Span) for s in r.spans)
    # rebuilding the redacted text from the spans gives the redacted text
    out, pos = [], 0
    for s in r.spans:
        out += [text[pos:s.start], {"name": "[nom]", "phone": "[téléphone]", "email": "[email]",
                                    "address": "[adresse]"}[s.kind]]
        pos = s.end
    assert "".join([*out, text[pos:]]) == r.text


def test_words_to_bleep():
    words = [
        {"start": 0.0, "end": 0.4, "word": " Bonjour,"},
        {"start": 0.5, "end": 0.7, "word": " c'est"},
        {"start": 0.7, "end": 1.1, "word": " Sophie"},
        {"start": 1.1, "end": 1.5, "word": " Martin,"},
        {"start": 1.6, "end": 1.9, "word": " j'ai"},
        {"start": 1.9, "end": 2.0, "word": " une"},
        {"start": 2.0, "end": 2.4, "word": " fuite,"},
        {"start": 2.5, "end": 2.7, "word": " au"},
        {"start": 2.7, "end": 2.9, "word": " 06"},
        {"start": 2.9, "end": 3.1, "word": " 12"},
        {"start": 3.1, "end": 3.3, "word": " 34"},
        {"start": 3.3, "end": 3.5, "word": " 56"},
        {"start": 3.5, "end": 3.8, "word": " 78."},
        {"start": 3.9, "end": 4.2, "word": " Merci."},
    ]
    text = words_text(words)
    r = redact(text)
    assert spans_to_word_indices(words, r.spans) == {2, 3, 8, 9, 10, 11, 12}
    # plain (start, end) pairs work too; a span touching part of a word bleeps the word
    assert spans_to_word_indices(words, [(text.index("Mar"), text.index("Mar") + 2)]) == {3}
    assert spans_to_word_indices(words, []) == set()
    assert spans_to_word_indices([], [(0, 5)]) == set()
