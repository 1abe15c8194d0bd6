"""The professional's space: inbox, message page and its actions, credits, call log.

Thin views over :mod:`relais.space.services` (and :mod:`relais.calls.access` for the
call log's rows); the accounts and listings pages are in :mod:`relais.pros.views`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from relais.callbacks import services as callbacks
from relais.calls import access as calls
from relais.credits import services as credits
from relais.routing.models import Delivery
from relais.routing.notifications import URGENCY_LABELS
from relais.routing.services import record_feedback, report_caller

from . import services as space
from .forms import FeedbackForm, ReportCallerForm

INBOX_PAGE_SIZE = 20


@login_required
def inbox(request):
    professional = space.professional_of(request.user)
    which = request.GET.get("filtre", "")
    if which not in space.FILTERS:
        which = ""
    deliveries = space.inbox(professional, which) if professional else Delivery.objects.none()
    page = Paginator(deliveries, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "space/inbox.html", {
        "professional": professional, "page": page, "which": which,
        "filters": space.FILTERS, "counts": space.counts(professional) if professional else {},
        "balance": credits.balance(professional) if professional else 0,
    })


def _delivery(request, delivery_id) -> Delivery:
    return space.delivery_of(space.professional_of(request.user), delivery_id)


@login_required
@require_GET
def message(request, delivery_id):
    delivery = _delivery(request, delivery_id)
    vm = delivery.voicemail
    context = {
        "delivery": delivery, "voicemail": vm, "listing": delivery.listing,
        "metier": vm.metier.label if vm.metier_id else "",
        "urgency": URGENCY_LABELS.get(vm.urgency, ""),
        "received_at": timezone.localtime(vm.created_at),
        "feedback_form": FeedbackForm(), "report_form": ReportCallerForm(),
        "feedback": list(delivery.feedback.all()),
        **space.read_message(delivery, request.user),
    }
    response = render(request, "space/message.html", context)
    response["Cache-Control"] = "private, no-store, max-age=0"
    return response


def _back(delivery):
    return redirect("space:message", delivery_id=delivery.pk)


@login_required
@require_POST
def mark(request, delivery_id):
    delivery = _delivery(request, delivery_id)
    handled = request.POST.get("handled") == "1"
    space.mark_handled(delivery, handled)
    messages.success(request, _("Message marqué comme traité.") if handled
                     else _("Message remis dans les nouveaux."))
    return _back(delivery)


@login_required
@require_POST
def unlock(request, delivery_id):
    delivery = _delivery(request, delivery_id)
    try:
        item = credits.unlock(delivery, request.user)
    except credits.AlreadyUnlocked as already:
        messages.info(request, already.message)
    except credits.UnlockRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Numéro débloqué : %(n)d crédit(s) débité(s).")
                         % {"n": item.cost})
    return _back(delivery)


@login_required
@require_POST
def callback(request, delivery_id):
    """"Rappeler via Relais": Relais calls the professional, then the caller."""
    delivery = _delivery(request, delivery_id)
    try:
        cb = callbacks.start(delivery, request.user)
    except callbacks.CallbackRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Rappel lancé : Relais appelle votre téléphone, puis "
                                    "la personne (état : %(s)s).") % {"s": cb.get_status_display()})
    return _back(delivery)


@login_required
@require_POST
def feedback(request, delivery_id):
    delivery = _delivery(request, delivery_id)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez pourquoi ce message n'était pas pour vous."))
        return _back(delivery)
    data = form.cleaned_data
    record_feedback(delivery, data["kind"], data["comment"], data["suggested_metier"])
    messages.success(request, _("Merci : votre retour aide à mieux distribuer les demandes."))
    return _back(delivery)


@login_required
@require_POST
def report(request, delivery_id):
    delivery = _delivery(request, delivery_id)
    form = ReportCallerForm(request.POST)
    form.is_valid()
    vm = delivery.voicemail
    if not vm.caller_e164:
        messages.error(request, _("Ce message n'a pas de numéro d'appelant à signaler."))
        return _back(delivery)
    # delivery_of() let only the professional this delivery was made for open it.
    report_caller(delivery.professional, vm.caller_e164,
                  form.cleaned_data.get("reason", ""), voicemail=vm)
    messages.success(request, _("Appelant signalé : vous ne recevrez plus ses demandes "
                                "partagées."))
    return _back(delivery)


@login_required
def credits_page(request):
    professional = space.professional_of(request.user)
    data = space.ledger_page_data(professional)
    if request.GET.get("paiement") == "ok":
        messages.success(request, _("Paiement reçu : vos crédits apparaissent dès que Stripe "
                                    "l'a confirmé (quelques secondes)."))
    page = Paginator(data["entries"], 50).get_page(request.GET.get("page"))
    return render(request, "space/credits.html", {**data, "page": page,
                                                  "professional": professional})


@login_required
def call_log(request):
    """The calls received on the professional's own listings, newest first."""
    professional = getattr(request.user, "professional", None)
    page = Paginator(calls.call_log(professional), 50).get_page(request.GET.get("page"))
    # The professional reads callers' numbers here: one audit row per number shown.
    rows = calls.call_log_rows(page, request.user)
    return render(request, "space/call_log.html", {"page": page, "rows": rows,
                                                   "has_account": professional is not None})
