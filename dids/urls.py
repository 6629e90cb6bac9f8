app_name = "dids"

urlpatterns: list = []
