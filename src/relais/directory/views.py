from django.shortcuts import get_object_or_404, render

from .models import Establishment


def home(request):
    return render(request, "directory/home.html")


def search(request):
    return render(request, "directory/search.html", {"results": []})


def listing(request, siret: str):
    establishment = get_object_or_404(Establishment, siret=siret)
    return render(request, "directory/listing.html", {"establishment": establishment})
