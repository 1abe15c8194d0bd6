from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from relais.credits import services as credits
from relais.routing.models import Delivery
from relais.routing.notifications import URGENCY_LABELS
from relais.routing.services import record_feedback, report_caller

from . import accounts, services, space
from .forms import (
    ClaimForm,
    FeedbackForm,
    ListingSettingsForm,
    LoginForm,
    ReportCallerForm,
    SignupForm,
)
from .models import Listing, Professional


def _professional(user) -> Professional:
    professional, _created = Professional.objects.get_or_create(user=user)
    return professional


class LoginView(auth_views.LoginView):
    template_name = "pros/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("pros:listings")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("pros:listings")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        professional = accounts.sign_up(form.cleaned_data["email"], form.cleaned_data["password1"])
        accounts.send_verification(professional)
        login(request, professional.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _(
            "Compte créé. Un lien de confirmation vient d'être envoyé à %(email)s."
        ) % {"email": professional.user.email})
        return redirect("pros:listings")
    return render(request, "pros/signup.html", {"form": form})


@require_http_methods(["GET"])
def verify(request, token: str):
    try:
        accounts.verify(token)
    except accounts.VerificationError as e:
        return render(request, "pros/verify_failed.html", {"error": str(e)}, status=400)
    messages.success(request, _("Adresse e-mail confirmée. Vous pouvez revendiquer votre fiche."))
    return redirect("pros:listings" if request.user.is_authenticated else "pros:login")


@login_required
@require_POST
def resend_verification(request):
    professional = _professional(request.user)
    if not professional.email_verified:
        accounts.send_verification(professional)
        messages.success(request, _("Nouveau lien envoyé à %(email)s.")
                         % {"email": request.user.email})
    return redirect("pros:listings")


@login_required
def listings(request):
    professional = _professional(request.user)
    return render(request, "pros/listings.html", {
        "professional": professional,
        "listings": professional.listings.select_related("establishment__commune")
        .prefetch_related("metiers").order_by("-created_at"),
        "form": ClaimForm(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def claim(request):
    professional = _professional(request.user)
    form = ClaimForm(request.POST or None, initial={"siret": request.GET.get("siret", "")[:20]})
    if request.method == "POST" and form.is_valid():
        try:
            listing = services.claim(professional, form.cleaned_data["siret"])
        except services.ClaimError as e:
            form.add_error("siret", str(e))
        else:
            messages.success(request, _(
                "Demande envoyée pour « %(name)s ». Un opérateur la vérifie avant de "
                "publier votre numéro."
            ) % {"name": listing.establishment.name})
            return redirect("pros:listing-settings", pk=listing.pk)
    return render(request, "pros/claim.html", {"form": form, "professional": professional})


@login_required
@require_http_methods(["GET", "POST"])
def listing_settings(request, pk: int):
    listing = get_object_or_404(
        Listing.objects.select_related("establishment__commune"),
        pk=pk, professional__user=request.user,
    )
    form = ListingSettingsForm(request.POST or None, instance=listing)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Réglages enregistrés."))
        return redirect("pros:listing-settings", pk=listing.pk)
    return render(request, "pros/listing_settings.html", {"listing": listing, "form": form})


# --- The professional's space: inbox, message page, credits --------------------------------

INBOX_PAGE_SIZE = 20


@login_required
def inbox(request):
    professional = space.professional_of(request.user)
    which = request.GET.get("filtre", "")
    if which not in space.FILTERS:
        which = ""
    deliveries = space.inbox(professional, which) if professional else Delivery.objects.none()
    page = Paginator(deliveries, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pros/inbox.html", {
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
    response = render(request, "pros/message.html", context)
    response["Cache-Control"] = "private, no-store, max-age=0"
    return response


def _back(delivery):
    return redirect("pros:message", delivery_id=delivery.pk)


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
    return render(request, "pros/credits.html", {**data, "page": page,
                                                 "professional": professional})
