from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.utils.translation import gettext_lazy as _

from relais.core.phones import format_fr
from relais.directory.models import Metier

from . import hours
from .models import Listing
from .services import normalise_forward_number

MAX_RADIUS_KM = 200


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("Adresse e-mail"), max_length=254)
    password1 = forms.CharField(label=_("Mot de passe"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Mot de passe (encore)"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        # Whether the address already has an account is never said here (nor anywhere
        # on the page): accounts.request_account emails its holder instead.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("Les deux mots de passe diffèrent."))
        elif p1 and data.get("email"):
            user = get_user_model()(username=data["email"], email=data["email"])
            try:
                password_validation.validate_password(p1, user)
            except forms.ValidationError as e:
                self.add_error("password1", e)
        return data


class LoginForm(AuthenticationForm):
    """Log in with the e-mail address (it is the username)."""

    username = forms.EmailField(label=_("Adresse e-mail"),
                                widget=forms.EmailInput(attrs={"autofocus": True}))

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class PasswordResetForm(DjangoPasswordResetForm):
    email = forms.EmailField(label=_("Adresse e-mail"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class ClaimForm(forms.Form):
    siret = forms.CharField(
        label=_("Numéro SIRET"), max_length=20,
        help_text=_("14 chiffres, sur vos factures ou l'avis de situation SIRENE."),
    )


class ListingSettingsForm(forms.ModelForm):
    forward_number = forms.CharField(
        label=_("Numéro de renvoi"), max_length=40, required=False,
        help_text=_("Le numéro où vous recevez les appels, par exemple 06 12 34 56 78."),
    )
    metiers = forms.ModelMultipleChoiceField(
        label=_("Métiers"), queryset=Metier.objects.order_by("label"), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Les demandes de ces métiers vous parviennent."),
    )
    service_radius_km = forms.IntegerField(label=_("Rayon d'intervention (km)"), min_value=1,
                                           max_value=MAX_RADIUS_KM)

    class Meta:
        model = Listing
        fields = ["forward_number", "metiers", "service_radius_km", "notification_email",
                  "notify", "shared_paused", "opening_hours", "urgent_sms"]
        labels = {
            "notification_email": _("E-mail de notification"),
            "notify": _("Notifications"),
            "shared_paused": _("Mettre en pause les demandes partagées par d'autres"),
            "opening_hours": _("Horaires d'ouverture"),
            "urgent_sms": _("Recevoir par SMS les demandes urgentes hors horaires"),
        }
        help_texts = {
            "opening_hours": _("Par exemple : lun-ven 08:00-12:00 14:00-18:00; sam 09:00-12:00. "
                               "En dehors, les appels vont directement à la messagerie, qui "
                               "annonce vos horaires. Vide : toujours joignable."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.forward_number and not self.is_bound:
            self.initial["forward_number"] = format_fr(self.instance.forward_number)

    def clean_forward_number(self):
        return clean_forward_number(self.cleaned_data.get("forward_number", ""))

    def clean_opening_hours(self):
        return clean_opening_hours(self.cleaned_data.get("opening_hours", ""))


def clean_opening_hours(value: str) -> str:
    """Opening hours as stored (relais.pros.hours.normalise); ValidationError otherwise."""
    try:
        return hours.normalise(value)
    except hours.HoursError as e:
        raise forms.ValidationError(str(e)) from None


def clean_forward_number(value: str) -> str:
    """A form's forward number: "" (none) or E.164; ValidationError (French) otherwise."""
    if not (value or "").strip():
        return ""
    try:
        return normalise_forward_number(value)
    except ValueError as e:
        raise forms.ValidationError(str(e)) from None


class ListingAdminForm(forms.ModelForm):
    """The operator's listing form: the forward number is checked as in the settings."""

    class Meta:
        model = Listing
        fields = ["forward_number", "opening_hours", "urgent_sms"]

    def clean_forward_number(self):
        return clean_forward_number(self.cleaned_data.get("forward_number", ""))

    def clean_opening_hours(self):
        return clean_opening_hours(self.cleaned_data.get("opening_hours", ""))
