"""The demo phone's form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from relais.calls.models import TrackingNumber
from relais.core import phones

DEMO_AUDIO_MAX_BYTES = 10 * 1024 * 1024


class DemoCallForm(forms.Form):
    OUTCOMES = [("no-answer", _("Pas de réponse")), ("busy", _("Occupé")),
                ("answer", _("Le professionnel décroche"))]
    CONSENTS = [("share", _("1 — partager avec d'autres professionnels du métier")),
                ("private", _("2 — ce professionnel seulement")),
                ("none", _("aucune touche"))]

    listing_number = forms.ChoiceField(label=_("Fiche de démonstration"), required=False)
    to_number = forms.CharField(label=_("… ou numéro composé"), required=False, max_length=32)
    caller = forms.CharField(label=_("Votre numéro (appelant)"), max_length=32)
    audio = forms.FileField(label=_("Votre message (fichier audio)"), required=False)
    sample = forms.BooleanField(
        label=_("…ou laissez le message d'exemple (« une fuite d'eau sous l'évier, à "
                "Créteil »)"), required=False)
    outcome = forms.ChoiceField(label=_("Le professionnel"), choices=OUTCOMES,
                                widget=forms.RadioSelect, initial="no-answer")
    consent = forms.ChoiceField(label=_("Touche pressée après le message"), choices=CONSENTS,
                                widget=forms.RadioSelect, initial="share")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assigned = (
            TrackingNumber.objects.filter(listing__isnull=False, released_at__isnull=True)
            .select_related("listing__establishment").order_by("e164")[:500]
        )
        self.fields["listing_number"].choices = [("", "—")] + [
            (n.e164, f"{n.listing.establishment.name} — {phones.format_fr(n.e164)}")
            for n in assigned
        ]

    def clean_caller(self):
        try:
            return phones.to_e164(self.cleaned_data["caller"])
        except phones.NumberError as exc:
            raise forms.ValidationError(_("Ce numéro n'est pas valide.")) from exc

    def clean_to_number(self):
        value = self.cleaned_data["to_number"].strip()
        if not value:
            return ""
        try:
            return phones.to_e164(value)
        except phones.NumberError as exc:
            raise forms.ValidationError(_("Ce numéro n'est pas valide.")) from exc

    def clean_audio(self):
        audio = self.cleaned_data.get("audio")
        if audio and audio.size > DEMO_AUDIO_MAX_BYTES:
            raise forms.ValidationError(_("Fichier trop volumineux (10 Mo au plus)."))
        return audio

    def clean(self):
        data = super().clean()
        if not data.get("to_number") and not data.get("listing_number"):
            raise forms.ValidationError(_("Choisissez une fiche ou tapez un numéro."))
        if data.get("outcome") != "answer" and not data.get("audio") and not data.get("sample"):
            self.add_error("audio", _("Enregistrez ou choisissez un message."))
        return data
