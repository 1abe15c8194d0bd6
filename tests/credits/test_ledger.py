"""The credits ledger: append-only, balance derived from the entries, grants, purchases."""

import pytest

from relais.core.models import AppendOnlyError
from relais.credits import services
from relais.credits.models import CreditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_balance_is_the_sum_of_the_entries(operator):
    pro, other = f.professional(), f.professional()
    assert services.balance(pro) == 0
    services.grant(pro, 5, by=operator, note="bienvenue")
    services.grant(pro, 2, by=operator)
    services.grant(other, 9, by=operator)
    CreditEntry.objects.create(professional=pro, amount=-3, kind=CreditEntry.Kind.UNLOCK)
    assert services.balance(pro) == 4
    assert services.balance(other) == 9
    assert [e.amount for e in services.history(pro)] == [-3, 2, 5]


def test_entries_cannot_be_changed_or_deleted(operator):
    pro = f.professional()
    entry = services.grant(pro, 5, by=operator)
    entry.amount = 500
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        CreditEntry.objects.filter(pk=entry.pk).update(amount=500)
    with pytest.raises(AppendOnlyError):
        CreditEntry.objects.all().delete()
    assert services.balance(pro) == 5


@pytest.mark.parametrize("amount", [0, -3, 1.5, "4", True])
def test_grant_refuses_what_is_not_a_positive_integer(operator, amount):
    pro = f.professional()
    with pytest.raises(ValueError, match="positive integer"):
        services.grant(pro, amount, by=operator)
    assert not CreditEntry.objects.exists()


def test_a_purchase_is_credited_once_per_external_id():
    pro = f.professional()
    first, created = services.purchase(pro, 10, external_id="evt_123", note="Stripe")
    again, created_again = services.purchase(pro, 10, external_id="evt_123", note="Stripe")
    assert first.pk == again.pk and created and not created_again
    assert services.balance(pro) == 10
    assert first.kind == CreditEntry.Kind.PURCHASE


def test_the_operator_grants_credits_in_the_admin(client, operator):
    pro = f.professional()
    client.force_login(operator)
    response = client.post("/admin/credits/creditentry/add/",
                           {"professional": pro.pk, "amount": "7", "note": "geste commercial"})
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = CreditEntry.objects.get()
    assert (entry.professional, entry.amount, entry.kind, entry.created_by, entry.note) == (
        pro, 7, "grant", operator, "geste commercial")
    assert services.balance(pro) == 7
    # A negative "grant" is refused by the form: nothing written.
    response = client.post("/admin/credits/creditentry/add/",
                           {"professional": pro.pk, "amount": "-7", "note": ""})
    assert response.status_code == 200
    assert CreditEntry.objects.count() == 1
    # The ledger is read-only: the change page shows no form, deletion is forbidden.
    page = client.get(f"/admin/credits/creditentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="amount"' not in page.content
    assert client.post(f"/admin/credits/creditentry/{entry.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert client.get("/admin/credits/creditentry/").status_code == 200
    assert client.get("/admin/credits/unlock/").status_code == 200
    listing = client.get("/admin/pros/professional/").content.decode()
    assert '<td class="field-credit_balance">7</td>' in listing
