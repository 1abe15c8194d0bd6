from django.urls import path

from . import views

app_name = "directory"

urlpatterns = [
    path("", views.home, name="home"),
    path("recherche/", views.search, name="search"),
    path("etablissement/<str:siret>/", views.listing, name="listing"),
    path("api/v1/establishments/<path:siret>", views.api_establishment,
         name="api-establishment"),
    path("api/v1/search", views.api_search, name="api-search"),
    path("api/v1/openapi.json", views.openapi, name="api-openapi"),
]
