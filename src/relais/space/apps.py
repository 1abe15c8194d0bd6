from django.apps import AppConfig


class SpaceConfig(AppConfig):
    name = "relais.space"
    label = "space"
    verbose_name = "Espace professionnel"
