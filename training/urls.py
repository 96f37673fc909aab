from django.urls import path

from training import gallery_views, views

app_name = "training"

urlpatterns = [
    path("", views.studio, name="studio"),
    path("new/", views.order_new, name="order_new"),
    path("models/", views.order_list, name="order_list"),
    path("models/<uuid:order_uuid>/", views.order_detail, name="order_detail"),
    path("models/<uuid:order_uuid>/status/", views.order_status, name="order_status"),
    path("models/<uuid:order_uuid>/download/", gallery_views.order_download, name="order_download"),
    path("models/<uuid:order_uuid>/cancel/", views.order_cancel, name="order_cancel"),
    path("models/<uuid:order_uuid>/delete/", views.order_delete, name="order_delete"),
    path("models/<uuid:order_uuid>/rating/", gallery_views.order_rating, name="order_rating"),
    path(
        "models/<uuid:order_uuid>/headshots/<int:headshot_id>/favourite/",
        gallery_views.headshot_favourite,
        name="headshot_favourite",
    ),
    path(
        "models/<uuid:order_uuid>/headshots/<int:headshot_id>/<str:variant>/",
        gallery_views.headshot_file,
        name="headshot_file",
    ),
]
