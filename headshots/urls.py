"""URL map of the whole site."""

from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from headshots import views
from training import dashboard
from training.webhooks import replicate_webhook

admin.site.site_header = "Headshots"
admin.site.site_title = "Headshots"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", accounts_views.switch_language, name="switch_language"),
    path("account/tokens/", accounts_views.api_tokens, name="api_tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        accounts_views.api_token_revoke,
        name="api_token_revoke",
    ),
    path("accounts/", include("allauth.urls")),
    path("studio/", include("training.urls")),
    path("webhooks/replicate/", replicate_webhook, name="replicate_webhook"),
    path("admin/dashboard/", dashboard.dashboard, name="staff_dashboard"),
    path("metrics", dashboard.metrics, name="metrics"),
    path("admin/", admin.site.urls),
]
