from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import accounts, services
from .forms import ClaimForm, ListingSettingsForm, LoginForm, PasswordResetForm, SignupForm
from .models import Listing, Professional


def _professional(user) -> Professional:
    professional, _created = Professional.objects.get_or_create(user=user)
    return professional


class LoginView(auth_views.LoginView):
    template_name = "pros/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("pros:listings")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset (the same answer whether or not the address has an account)."""

    form_class = PasswordResetForm
    template_name = "pros/password_reset_form.html"
    email_template_name = "pros/email/password_reset.txt"
    subject_template_name = "pros/email/password_reset_subject.txt"
    success_url = reverse_lazy("pros:password-reset-done")

    def form_valid(self, form):
        # The link is built on RELAIS_PUBLIC_URL, never on the request's Host header.
        self.extra_email_context = accounts.password_reset_email_context()
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "pros/password_reset_confirm.html"
    success_url = reverse_lazy("pros:password-reset-complete")


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("pros:listings")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        # The same answer whether or not the address already has an account.
        accounts.request_account(email, form.cleaned_data["password1"])
        messages.success(request, _(
            "Un e-mail vient d'être envoyé à %(email)s : suivez ses instructions pour "
            "confirmer votre adresse, puis connectez-vous."
        ) % {"email": email})
        return redirect("pros:login")
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
