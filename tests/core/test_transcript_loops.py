"""A looping transcript ("merci de me rappeler" until the end of the audio) is shown up to
its first repetition, marked uncertain; normal text and emphasis are left alone."""

import pytest

from relais.core.text import find_loop, without_loop
from relais.routing import services as routing
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import NANTES

LOOPING = ("Bonjour, je voudrais un devis pour la salle de bain, merci de me rappeler, "
           + "merci de me rappeler, " * 6 + "merci de me")


def test_a_loop_is_cut_after_its_first_occurrence():
    assert without_loop(LOOPING) == ("Bonjour, je voudrais un devis pour la salle de bain, "
                                     "merci de me rappeler …")
    looped = "oui " * 12
    assert without_loop(looped) == "oui …"


@pytest.mark.parametrize("text", [
    "Bonjour, non non non, ce n'est pas urgent, rappelez-moi demain.",  # emphasis
    "C'est au 12 rue de la Paix, 12 rue de la Paix à Créteil.",  # said twice
    f.TRANSCRIPT, "",
])
def test_ordinary_text_is_left_alone(text):
    assert find_loop(text) is None and without_loop(text) == text


@pytest.mark.django_db
def test_the_professional_reads_the_cut_text_marked_uncertain(client):
    listing = f.listing(*NANTES, ["plombier"])
    vm = f.voicemail(listing, consent="private")
    vm.transcript = LOOPING
    vm.save(update_fields=["transcript"])
    routing.route_voicemail(vm)
    delivery = Delivery.objects.get(voicemail=vm, kind="own")
    client.force_login(listing.professional.user)
    html = client.get(f"/pro/messages/{delivery.pk}/").content.decode()
    assert "Transcription incertaine" in html
    assert html.count("merci de me rappeler") == 1
    assert "salle de bain, merci de me rappeler …</blockquote>" in html
