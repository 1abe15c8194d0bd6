"""``relais credits``: the operator grants credits, or lists balances.

    relais credits --grant N --to EMAIL [--reason "geste commercial"]
    relais credits [--to EMAIL] [--json]

``--grant`` writes one ``grant`` entry in the append-only ledger (the balance is always
the sum of the entries). Without it, the balances are listed: every professional with a
ledger entry, or the one named by ``--to`` (its login or e-mail address).
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q, Sum

from relais.credits import services
from relais.credits.models import CreditEntry
from relais.pros.models import Professional


def professional_by_email(address: str) -> Professional:
    found = list(Professional.objects.filter(
        Q(user__email__iexact=address) | Q(user__username__iexact=address))
        .select_related("user")[:2])
    if not found:
        raise CommandError(f"no professional account with the address {address}")
    if len(found) > 1:
        raise CommandError(f"several professional accounts match {address}")
    return found[0]


class Command(BaseCommand):
    help = "Grant credits to a professional (--grant N --to EMAIL) or list balances."

    def add_arguments(self, parser):
        parser.add_argument("--grant", type=int, metavar="N", help="Credits to grant (> 0).")
        parser.add_argument("--to", metavar="EMAIL", help="The professional's address.")
        parser.add_argument("--reason", default="", help="Kept with the entry (≤ 255).")
        parser.add_argument("--json", action="store_true", help="JSON output.")

    def handle(self, *args, **o):
        if o["grant"] is not None:
            if not o["to"]:
                raise CommandError("--grant needs --to EMAIL")
            if o["grant"] <= 0:
                raise CommandError("--grant must be a positive number of credits")
            pro = professional_by_email(o["to"])
            entry = services.grant(pro, o["grant"], by=None,
                                   note=o["reason"] or "Crédits offerts par l'opérateur")
            out = {"granted": entry.amount, "to": pro.user.email or pro.user.username,
                   "balance": services.balance(pro), "entry": entry.pk}
            self.stdout.write(json.dumps(out, ensure_ascii=False) if o["json"] else
                              f"{entry.amount} crédit(s) offert(s) à {out['to']} : solde "
                              f"{out['balance']}.")
            return
        pros = (Professional.objects.filter(pk=professional_by_email(o["to"]).pk) if o["to"]
                else Professional.objects.filter(
                    pk__in=CreditEntry.objects.values("professional_id")))
        rows = [{"email": p.user.email or p.user.username, "balance": p.total or 0}
                for p in pros.select_related("user").annotate(total=Sum("credit_entries__amount"))
                .order_by("user__email", "pk")]
        if o["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            self.stdout.write(f"{row['balance']:>6}  {row['email']}")
        if not rows:
            self.stdout.write("Aucun professionnel n'a de crédits.")
