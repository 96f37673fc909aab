from django.urls import path

from training import views

app_name = "training"

urlpatterns = [
    path("", views.studio, name="studio"),
    path("new/", views.order_new, name="order_new"),
    path("models/", views.order_list, name="order_list"),
    path("models/<uuid:order_uuid>/", views.order_detail, name="order_detail"),
]
