from django.apps import AppConfig
from django.contrib.auth.signals import user_login_failed

from .login_limits import on_login_failed


class CoreConfig(AppConfig):
    name = "relais.core"
    verbose_name = "Core"

    def ready(self):
        user_login_failed.connect(on_login_failed, dispatch_uid="relais.core.login_limits")
