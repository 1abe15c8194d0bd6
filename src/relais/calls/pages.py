"""Page: the demo phone (the call log is in :mod:`relais.space`)."""

import secrets

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from . import numbers
from .models import TrackingNumber
from .phone import InProcess, LocalPhone, PhoneError

DEMO_AUDIO_MAX_BYTES = 10 * 1024 * 1024


def _demo_caller() -> str:
    return numbers.format_fr(f"{numbers.DEMO_CALLER_PREFIX}{secrets.randbelow(10_000):04d}")


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
            (n.e164, f"{n.listing.establishment.name} — {numbers.format_fr(n.e164)}")
            for n in assigned
        ]

    def clean_caller(self):
        try:
            return numbers.to_e164(self.cleaned_data["caller"])
        except numbers.NumberError as exc:
            raise forms.ValidationError(_("Ce numéro n'est pas valide.")) from exc

    def clean_to_number(self):
        value = self.cleaned_data["to_number"].strip()
        if not value:
            return ""
        try:
            return numbers.to_e164(value)
        except numbers.NumberError as exc:
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
        if data.get("outcome") != "answer" and not data.get("audio"):
            self.add_error("audio", _("Enregistrez ou choisissez un message."))
        return data


def demo_phone(request):
    """Place a call from the browser through the very same webhooks (demo sites only)."""
    if not settings.RELAIS_DEMO:
        raise Http404
    result = None
    error = None
    if request.method == "POST":
        form = DemoCallForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            audio = data.get("audio")
            try:
                result = LocalPhone(InProcess()).call(
                    data["to_number"] or data["listing_number"], data["caller"],
                    audio.read() if audio else None,
                    audio.content_type if audio else "audio/wav",
                    audio.name if audio else "message.wav",
                    answer=data["outcome"], consent=data["consent"],
                )
            except PhoneError as exc:
                error = str(exc)
    else:
        form = DemoCallForm(initial={"caller": _demo_caller()})
    return render(request, "calls/demo_phone.html",
                  {"form": form, "result": result, "error": error})
