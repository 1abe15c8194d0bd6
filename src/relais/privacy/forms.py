from django import forms
from django.utils.translation import gettext_lazy as _


class RequestForm(forms.Form):
    reference = forms.CharField(
        label=_("Référence du message"), max_length=20,
        help_text=_("Les 8 chiffres lus à la fin de votre appel."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    number = forms.CharField(
        label=_("Numéro depuis lequel vous avez appelé"), max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code reçu par SMS"), max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric",
                                      "autocomplete": "one-time-code"}))


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Je comprends que l'effacement est définitif."), required=True,
        error_messages={"required": _("Cochez la case pour confirmer l'effacement.")})
