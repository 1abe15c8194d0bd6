"""The forms of a message page: "pas pour moi" and reporting a caller."""

from django import forms
from django.utils.translation import gettext_lazy as _

from relais.directory.models import Metier


class FeedbackForm(forms.Form):
    """"Pas pour moi": why a message was not for this professional."""

    KINDS = [("wrong_metier", _("Ce n'est pas mon métier")),
             ("not_a_request", _("Ce n'est pas une demande de travaux ou de service"))]

    kind = forms.ChoiceField(label=_("Pourquoi ?"), choices=KINDS, widget=forms.RadioSelect)
    suggested_metier = forms.ModelChoiceField(
        label=_("Le bon métier serait (facultatif)"), queryset=Metier.objects.order_by("label"),
        required=False, empty_label="—",
    )
    comment = forms.CharField(label=_("Commentaire (facultatif)"), required=False,
                              max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("kind") == "not_a_request":
            data["suggested_metier"] = None
        return data


class ReportCallerForm(forms.Form):
    reason = forms.CharField(label=_("Motif (facultatif)"), required=False, max_length=255)
