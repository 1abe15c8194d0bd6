from django.apps import apps
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Relais · administration"
admin.site.site_title = "Relais"
admin.site.site_url = "/operateur/"  # the admin's "Voir le site": the operator's console

urlpatterns = [
    path("", include("relais.directory.urls")),
    path("pro/", include("relais.space.urls")),  # inbox, messages, credits, call log
    path("pro/", include("relais.pros.urls")),  # accounts, listings, claims
    path("telephony/", include("relais.calls.urls")),
    path("telephony/", include("relais.voicemail.webhook_urls")),  # record, gather
    path("telephony/", include("relais.callbacks.urls")),  # call-backs through Relais
    path("telephony/", include("relais.texts.urls")),  # inbound SMS
    path("messages/", include("relais.voicemail.urls")),
    path("r/", include("relais.routing.urls")),
    path("appelant/", include("relais.privacy.urls")),
    path("credits/", include("relais.credits.urls")),  # purchase, Stripe webhook
    path("operateur/", include("relais.console.urls")),  # the operator's console
    path("admin/", admin.site.urls),
]

if apps.is_installed("relais.demo"):  # demo sites only (RELAIS_DEMO)
    # /demo/telephone/, /demo/boite-d-envoi/, /telephony/local/recordings/RE…
    urlpatterns.append(path("", include("relais.demo.urls")))
