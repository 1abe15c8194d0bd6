"""Pages: the professional's call log and the demo phone."""

import secrets

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from relais.privacy import audit

from . import access, numbers
from .models import TrackingNumber
from .phone import InProcess, LocalPhone, PhoneError

DEMO_AUDIO_MAX_BYTES = 10 * 1024 * 1024


@login_required
def call_log(request):
    """The calls the professional may see (relais.calls.access), newest first."""
    professional = getattr(request.user, "professional", None)
    calls = (access.readable_calls(professional)
             .select_related("listing__establishment", "voicemail").order_by("-started_at"))
    page = Paginator(calls, 50).get_page(request.GET.get("page"))
    rows = [
        {
            "call": call,
            "caller": numbers.format_fr(call.caller_e164) if call.caller_e164 else None,
            "voicemail": getattr(call, "voicemail", None),
        }
        for call in page
    ]
    # The professional reads callers' numbers here: one audit row per number shown.
    for row in rows:
        if row["caller"]:
            call = row["call"]
            audit.record(actor=audit.Actor.professional(request.user, call.listing),
                         action=audit.READ_CALLER_NUMBER, voicemail=row["voicemail"],
                         detail={"via": "call_log", "call": call.pk})
    return render(request, "calls/call_log.html", {"page": page, "rows": rows,
                                                   "has_account": professional is not None})


# --- The demo phone ---------------------------------------------------------------------

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
