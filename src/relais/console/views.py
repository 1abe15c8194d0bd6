"""The operator's console (/operateur/): figures, CSV export, the moderation queue.

Staff only: an anonymous visitor is sent to the admin's login, a logged-in user who is
not staff (a professional) is refused (403). Moderation also needs the admin's
permissions on routing decisions (view to read the queue, change to decide).
"""

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from relais.directory.models import Commune, Metier
from relais.routing.models import RoutingDecision

from . import charts, export, figures, moderation

VIEW_PERM = "routing.view_routingdecision"
CHANGE_PERM = "routing.change_routingdecision"


def staff_only(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapper


def _filter_choices():
    return {
        "periods": figures.PERIODS,
        "departements": sorted(set(Commune.objects.values_list("departement", flat=True)
                                   .distinct().order_by())),
        "metiers": list(Metier.objects.values_list("slug", "label").order_by("label")),
    }


def _charts(fig: figures.Figures) -> list[dict]:
    t = fig.totals
    return [
        {"id": "appels", "title": "Appels, répondus et messages par jour",
         "svg": charts.stacked_days("appels", "Appels par jour : répondus et non répondus",
                                    [{**d, "unanswered": d["calls"] - d["answered"]}
                                     for d in fig.days],
                                    [("answered", "répondus"),
                                     ("unanswered", "non répondus")]),
         "legend": ["répondus", "non répondus"]},
        {"id": "issues", "title": "Messages par jour, selon leur issue",
         "svg": charts.stacked_days("issues", "Messages par jour selon leur issue", fig.days,
                                    list(figures.OUTCOME_LABELS.items())),
         "legend": list(figures.OUTCOME_LABELS.values())},
        {"id": "raisons", "title": "Pourquoi des messages n'ont pas été partagés",
         "svg": charts.bars("raisons", "Raisons de non-partage (messages)",
                            [(label, n) for _, label, n in fig.why])},
        {"id": "pas-pour-moi", "title": "« Pas pour moi » par métier (taux)",
         "svg": charts.bars("pas-pour-moi", "Taux de « pas pour moi » par métier",
                            [(m["label"], round(100 * m["rate"], 1))
                             for m in fig.by_metier[:15]], unit=" %")},
        {"id": "confusions", "title": "Métiers confondus (prédit → suggéré)",
         "svg": charts.bars("confusions", "Paires de métiers confondues",
                            [(f"{c['predicted_label']} → {c['suggested_label']}", c["n"])
                             for c in fig.confusions])},
        {"id": "carte", "title": "Messages par commune",
         "svg": charts.commune_map("carte", "Carte des messages par commune", fig.communes)},
        {"id": "credits", "title": "Déblocages et crédits",
         "svg": charts.bars("credits", "Déblocages et crédits sur la période", [
             ("déblocages", t["unlocks"]), ("crédits dépensés", t["credits_spent"]),
             ("crédits rendus", t["credits_returned"])])},
    ]


@staff_only
@require_GET
def dashboard(request):
    filters = figures.parse_filters(request.GET)
    fig = figures.compute(filters)
    return render(request, "console/dashboard.html", {
        "fig": fig, "f": filters, "charts": _charts(fig), **_filter_choices(),
        "email": fig.latency("email"), "action": fig.latency("action"),
        "pending_moderation": RoutingDecision.objects.filter(
            moderation=RoutingDecision.Moderation.PENDING).count(),
        "query": request.GET.urlencode(),
    })


@staff_only
@require_GET
def export_csv(request):
    filters = figures.parse_filters(request.GET)
    body = export.figures_csv(figures.compute(filters))
    response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="relais-chiffres-{filters.first}-{filters.last}.csv"')
    return response


def _can(request, perm):
    if not request.user.has_perm(perm) and not request.user.has_perm(CHANGE_PERM):
        raise PermissionDenied


@staff_only
@require_GET
def moderation_queue(request):
    _can(request, VIEW_PERM)
    items = list(moderation.pending()[:200])
    return render(request, "console/moderation_queue.html", {
        "items": items, "total": moderation.pending().count(),
        "can_change": request.user.has_perm(CHANGE_PERM)})


@staff_only
@require_http_methods(["GET", "POST"])
def moderation_item(request, pk: int):
    _can(request, VIEW_PERM)
    if request.method == "POST":
        if not request.user.has_perm(CHANGE_PERM):
            raise PermissionDenied
        decision = get_object_or_404(RoutingDecision, pk=pk)
        action = request.POST.get("action", "")
        try:
            verdict = moderation.decide(decision, request.user, action,
                                        request.POST.get("metier", ""))
        except moderation.ModerationError as exc:
            messages.error(request, f"{decision.voicemail.reference} : {exc}")
            return redirect("console:moderation_item", pk=pk)
        messages.success(request, f"{decision.voicemail.reference} : "
                                  f"{verdict.get_action_display()}.")
        following = moderation.next_pending(pk)
        if following is None:
            return redirect("console:moderation")
        return redirect("console:moderation_item", pk=following)
    it = moderation.item(pk, request.user)
    if it is None:
        if RoutingDecision.objects.filter(pk=pk).exists():
            messages.info(request, "Ce message a déjà été modéré.")
            return redirect("console:moderation")
        raise Http404("no such moderation item")
    return render(request, "console/moderation_item.html", {
        "it": it, "vm": it.voicemail,
        "metiers": list(Metier.objects.values_list("slug", "label").order_by("label")),
        "can_change": request.user.has_perm(CHANGE_PERM),
        "can_listen": request.user.has_perm("voicemail.view_voicemail"),
    })
