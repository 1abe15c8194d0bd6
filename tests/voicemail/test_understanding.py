"""Understanding on hand-written voicemails (none of them is in the corpus).

They include the failures of the service Relais replaces: a banker's call about an
invoice, a question about a dinner dance, flea-market exhibitors, personal calls and a web
agency filed under "foires et salons" all went to every professional of a sector.
"""

import dataclasses

import pytest

from relais.voicemail.understanding import INTENTS, URGENCIES, Understanding, understand


def test_a_plain_request_is_shareable_with_its_trade():
    u = understand(
        "Bonjour, j'aurais besoin d'un plombier, mon chauffe-eau fuit dans le cellier et il y a "
        "de l'eau par terre. Je suis à Saint-Herblain. Merci de me rappeler au 06 11 22 33 44."
    )
    assert u.intent == "quote_request"
    assert u.metier == "plombier"
    assert u.shareable is True
    assert u.urgency == "urgent"
    assert 0.0 <= u.confidence <= 1.0
    assert any("plombier" in r for r in u.reasons)


def test_banker_calling_about_an_invoice_is_never_shared():
    u = understand(
        "Bonjour Monsieur Lemoine, c'est Anne, votre conseillère à la Caisse d'Épargne, une "
        "facture de votre fournisseur a été présentée sur votre compte professionnel et le "
        "solde ne suffit pas, merci de me rappeler avant midi."
    )
    assert u.intent == "billing_or_admin"
    assert u.shareable is False


def test_urssaf_and_taxes_are_the_professionals_own_affairs():
    for text in (
        "Bonjour, ici l'URSSAF, votre échéance de cotisations du mois n'a pas été réglée, "
        "merci de régulariser rapidement.",
        "Bonjour, service des impôts des entreprises de Niort, il manque un document pour votre "
        "déclaration de résultat, merci de nous rappeler.",
    ):
        u = understand(text)
        assert u.intent == "billing_or_admin", text
        assert not u.shareable


def test_dinner_dance_enquiry_is_not_a_service_request():
    u = understand(
        "Oui bonsoir, c'est pour le dîner dansant de samedi prochain, est-ce qu'il reste "
        "encore des places pour quatre personnes ? Merci.",
        called_metiers=["agence-evenementielle"],
    )
    assert u.intent != "quote_request"
    assert u.shareable is False


def test_flea_market_pitch_goes_to_flea_market_organisers_not_event_agencies():
    u = understand(
        "Bonjour, je cherche un vide-grenier où réserver un emplacement de quatre mètres pour "
        "vendre des jouets et des vêtements, le mois prochain, du côté de Rezé.",
        called_metiers=["agence-evenementielle"],
    )
    assert u.intent == "quote_request"
    assert u.metier == "organisateur-brocantes"


def test_web_agency_filed_under_trade_fairs_still_gets_a_website_request():
    u = understand(
        "Bonjour, je suis fleuriste à Chinon et je voudrais faire créer un site internet avec "
        "une petite boutique en ligne, pouvez-vous me faire un devis ?",
        called_metiers=["agence-evenementielle"],
    )
    assert u.metier == "creation-sites-web"
    assert u.shareable is True


def test_personal_calls_are_never_shared():
    for text in (
        "Coucou mon cœur, c'est moi, je rentre vers 19 heures, tu peux sortir le poulet du "
        "congélateur ? Bisous.",
        "Salut frérot, c'est Nico, on se voit toujours dimanche chez les parents ? Rappelle-moi.",
    ):
        u = understand(text)
        assert u.intent == "personal", text
        assert not u.shareable


def test_follow_ups_with_this_professional_are_not_shared():
    for text in (
        "Bonjour, je vous rappelle pour le devis de la terrasse que vous m'avez envoyé, c'est "
        "d'accord pour nous, quand pouvez-vous commencer ?",
        "Bonjour, suite à votre passage de mardi pour la chaudière, elle refait le même bruit, "
        "pouvez-vous revenir ?",
    ):
        u = understand(text)
        assert u.intent == "follow_up", text
        assert not u.shareable


def test_request_addressed_to_this_professional_is_not_shared():
    u = understand(
        "Salut c'est Jean-Pierre, tu pourrais passer jeter un œil à ma toiture, il manque des "
        "tuiles depuis le coup de vent ? Rappelle-moi."
    )
    assert u.shareable is False
    u = understand(
        "Bonjour, comme l'année dernière j'aurais besoin que vous veniez tailler la haie, "
        "c'est Madame Caron."
    )
    assert u.shareable is False


def test_robocall_job_application_and_wrong_number():
    assert understand(
        "Ceci est un message automatique. Votre fiche Google va être désactivée, pour parler à "
        "un conseiller appuyez sur la touche 1."
    ).intent == "commercial_solicitation"
    assert understand(
        "Bonjour, je m'appelle Kevin, j'ai un CAP de maçon et je cherche un emploi, est-ce que "
        "vous recrutez ? Je peux vous envoyer mon CV."
    ).intent == "job_application"
    assert understand(
        "Allô Martine ? Ah non pardon, je me suis trompé de numéro, excusez-moi."
    ).intent == "wrong_number"


def test_supplier_message():
    u = understand(
        "Bonjour, c'est le magasin Cedeo, votre commande de robinetterie est arrivée, vous "
        "pouvez passer la récupérer au comptoir dès demain."
    )
    assert u.intent == "supplier_or_delivery"
    assert not u.shareable


@pytest.mark.parametrize("text", ["", "   ", "...", "Merci, au revoir.", "euh... allô ?"])
def test_empty_and_noise(text):
    u = understand(text)
    assert u.intent == "empty"
    assert u.shareable is False
    assert u.metier is None


def test_health_trades_are_never_shared_even_when_asked_for():
    u = understand(
        "Bonjour, je cherche une infirmière pour des pansements à domicile tous les deux jours "
        "après mon opération, je suis à Laval."
    )
    assert u.intent == "quote_request"
    assert u.metier == "infirmier"
    assert u.shareable is False


def test_called_listing_is_a_prior_only_when_the_text_is_ambiguous():
    ambiguous = "Bonjour, j'ai une fuite, rappelez-moi vite."
    assert understand(ambiguous, called_metiers=["plombier"]).metier == "plombier"
    assert understand(ambiguous, called_metiers=["couvreur"]).metier == "couvreur"
    # the symptom still decides when the caller spells out a phone number around it
    spoken = "j'ai une fuite, rappelez-moi au zéro six douze trente-quatre cinquante-six"
    assert understand(spoken, called_metiers=["plombier"]).metier == "plombier"
    assert understand(spoken, called_metiers=["couvreur"]).metier == "couvreur"
    # no word of the called trade at all: no guess
    assert understand("J'ai un problème, rappelez-moi.", called_metiers=["plombier"]).metier is None
    clear = "Bonjour, mon volet roulant est bloqué, le moteur ne répond plus, merci de rappeler."
    assert understand(clear, called_metiers=["plombier"]).metier == "storiste"


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("Bonjour, la porte a claqué et mes clés sont dedans, venez vite s'il vous plaît.",
         "urgent"),
        ("Bonjour, nous n'avons plus de chauffage depuis ce matin, la chaudière est en panne.",
         "urgent"),
        ("Bonjour, je voudrais faire entretenir ma chaudière, si possible cette semaine.", "soon"),
        ("Bonjour, je voudrais un devis pour repeindre ma cuisine, rien d'urgent.", "normal"),
    ],
)
def test_urgency(text, urgency):
    assert understand(text).urgency == urgency


def test_english_request():
    u = understand(
        "Hello, we've got a blocked toilet in our holiday cottage near Sarlat and water is "
        "coming up, could a plumber come today? Thanks."
    )
    assert u.intent == "quote_request"
    assert u.metier == "plombier"
    assert u.language == "en"


def test_other_languages_are_not_shared():
    u = understand("Hola, necesito un fontanero para mi casa, tengo una fuga de agua, gracias.")
    assert u.shareable is False
    assert u.language == "other"


def test_understanding_is_frozen_and_well_formed():
    u = understand("Bonjour, pouvez-vous me faire un devis pour un ravalement de façade ?")
    assert isinstance(u, Understanding)
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.intent = "other"  # type: ignore[misc]
    assert u.intent in INTENTS and u.urgency in URGENCIES
    assert u.as_dict()["reasons"] == list(u.reasons)


def test_town_named_like_a_trade_is_not_a_trade():
    # Mâcon (the town) folds to "macon" like maçon (the trade)
    u = understand("Bonjour, je voudrais savoir si vous faites le dépannage de chaudière à Mâcon.")
    assert u.metier == "chauffagiste"
