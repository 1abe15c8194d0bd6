app_name = "voicemail"

urlpatterns: list = []
