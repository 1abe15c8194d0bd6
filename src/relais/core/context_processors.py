from django.conf import settings


def relais(request):
    return {"RELAIS_DEMO": settings.RELAIS_DEMO}
