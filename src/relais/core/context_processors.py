from django.apps import apps
from django.conf import settings


def relais(request):
    # Demo links (the demo phone, the outbox) only where the demo app serves them.
    return {"RELAIS_DEMO": settings.RELAIS_DEMO and apps.is_installed("relais.demo")}
