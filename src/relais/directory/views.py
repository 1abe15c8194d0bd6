import json
import secrets
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from relais.core import ratelimit
from relais.core.network import client_network

from . import pool, search_cache
from . import search as directory_search
from .models import Establishment
from .reference import metier_entries
from .services import facts, payload, payloads, reading_order

SEARCH_FIELDS = ("quoi", "ou", "lat", "lon", "radius_km", "page")
OPENAPI = Path(__file__).resolve().parent / "data" / "openapi.json"


def _form_context(params) -> dict:
    return {
        "quoi": (params.get("quoi") or "")[:200],
        "ou": (params.get("ou") or "")[:200],
        "metiers": metier_entries(),
    }


@require_GET
def home(request):
    return render(request, "directory/home.html", _form_context({}))


def _page_url(base: str, params, page: int) -> str:
    query = {k: params[k] for k in SEARCH_FIELDS if params.get(k) and k != "page"}
    query["page"] = page
    return f"{base}?{urlencode(query)}"


@require_GET
def search(request):
    params = request.GET
    context = _form_context(params)
    if not any(params.get(k) for k in SEARCH_FIELDS):
        return render(request, "directory/search.html", context)
    try:
        query = directory_search.parse(params)
    except directory_search.SearchError as e:
        context["error"] = e.message
        return render(request, "directory/search.html", context, status=400)
    result = directory_search.search(query)
    context.update(
        result=result,
        hits=reading_order([(hit, facts(hit.establishment)) for hit in result.hits]),
        next_url=_page_url(request.path, params, query.page + 1) if result.has_next else "",
        previous_url=_page_url(request.path, params, query.page - 1)
        if result.has_previous else "",
    )
    return render(request, "directory/search.html", context)


@require_http_methods(["GET", "POST"])
def listing(request, siret: str):
    """The listing's page; POST ("Afficher le numéro") shows a number of the pool bound
    to this listing and this visitor (relais.directory.pool)."""
    establishment = get_object_or_404(
        Establishment.objects.select_related("commune"), siret=siret
    )
    f = facts(establishment)
    context = {"establishment": establishment, "facts": f, "nearby": _reachable_nearby(f)}
    token = None
    if request.method == "POST" and establishment.active and not context["facts"].tracking_number:
        token = request.COOKIES.get(pool.COOKIE) or ""
        if not (16 <= len(token) <= 64 and token.isalnum()):
            token = secrets.token_hex(16)
        if ratelimit.hit("pool-binding", client_network(request),
                         settings.RELAIS_POOL_BINDINGS_PER_NETWORK_HOUR):
            context["pool_number"] = pool.bind(siret, pool.visitor_key(token))
        context["pool_asked"] = True
    response = render(request, "directory/listing.html", context)
    if token:
        response.set_cookie(pool.COOKIE, token, max_age=settings.RELAIS_POOL_BINDING_SECONDS,
                            secure=request.is_secure(), httponly=True, samesite="Lax")
    return response


def _reachable_nearby(f, limit: int = 3) -> dict | None:
    """For a listing nobody can be called on: reachable professionals of its trade near
    it (the first page of that search), and the search itself."""
    e = f.establishment
    if f.reachable or not f.metiers or e.latitude is None or not e.commune_id:
        return None
    metier = f.metiers[0]
    params = {"quoi": metier["label"], "ou": e.commune.name}
    try:
        query = directory_search.parse({**params, "lat": str(e.latitude), "lon": str(e.longitude)})
        hits = directory_search.search(query).hits
    except directory_search.SearchError:
        hits = []
    reachable = [(h, hf) for h, hf in ((h, facts(h.establishment)) for h in hits
                                       if h.establishment.siret != e.siret) if hf.reachable]
    return {"metier": metier, "commune": e.commune.name, "hits": reachable[:limit],
            "search_url": f"{reverse('directory:search')}?{urlencode(params)}"}


# --- JSON API v1 ----------------------------------------------------------------------------


def _json(data, status=200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _error(code: str, message: str, status: int, field: str = "") -> JsonResponse:
    data = {"error": code, "message": message}
    if field:
        data["field"] = field
    return _json(data, status)


# The API is read-only: other methods get 405 from require_GET, not a CSRF 403.
@csrf_exempt
@require_GET
def api_establishment(request, siret: str):
    if len(siret) != 14 or not (siret.isascii() and siret.isdigit()):
        return _error("invalid_siret", _("Un numéro SIRET a 14 chiffres."), 400, "siret")
    establishment = (
        Establishment.objects.select_related("commune", "listing", "listing__tracking_number")
        .prefetch_related("listing__metiers").filter(siret=siret).first()
    )
    if establishment is None:
        return _error("not_found", _("Aucun établissement n'a ce numéro SIRET."), 404)
    return _json(payload(establishment))


API_NUMBERS = ("lat", "lon", "radius_km", "page")


@csrf_exempt
@require_GET
def api_search(request):
    params = request.GET
    # The HTML form sends its empty fields; the API's numbers, when given, are numbers.
    for name in API_NUMBERS:
        if name in params and not params[name].strip():
            return _error("invalid_query", _("« %(field)s » doit être un nombre.")
                          % {"field": name}, 400, name)

    def build() -> tuple[bytes, int]:
        response = _api_search(request)
        return response.content, response.status_code

    body, status = search_cache.cached("api", params, SEARCH_FIELDS, build)
    return HttpResponse(body, status=status, content_type="application/json")


def _api_search(request):
    params = request.GET
    try:
        query = directory_search.parse(params)
    except directory_search.SearchError as e:
        if e.invalid:
            return _error("invalid_query", e.message, 400, e.field)
        return _json({  # well-formed, but nothing to show: an empty page that says why
            "page": 1, "page_size": directory_search.PAGE_SIZE, "has_next": False,
            "has_previous": False, "next": None, "previous": None,
            "radius_km": directory_search.DEFAULT_RADIUS_KM, "place": None, "metier": None,
            "message": e.message, "field": e.field, "results": [],
        })
    result = directory_search.search(query, load=False)
    results = payloads(result.ranked)
    return _json({
        "page": query.page,
        "page_size": directory_search.PAGE_SIZE,
        "has_next": result.has_next,
        "has_previous": result.has_previous,
        "next": _page_url(request.path, params, query.page + 1) if result.has_next else None,
        "previous": _page_url(request.path, params, query.page - 1)
        if result.has_previous else None,
        "radius_km": query.radius_km,
        "place": {
            "label": query.place.label,
            "latitude": query.place.latitude,
            "longitude": query.place.longitude,
        },
        "metier": result.metier["slug"] if result.metier else None,
        "message": None if results or query.page > 1 else _("Aucun résultat."),
        "field": None,
        "results": results,
    })


@cache
def _openapi() -> bytes:
    return json.dumps(json.loads(OPENAPI.read_text(encoding="utf-8")),
                      ensure_ascii=False).encode()


@csrf_exempt
@require_GET
def openapi(request):
    return HttpResponse(_openapi(), content_type="application/json")
