"""URL map of the whole site."""

from django.contrib import admin
from django.urls import include, path, re_path

from accounts import views as accounts_views
from accounts.admin_login import admin_login
from headshots import views
from payments.webhooks import stripe_webhook
from training import api, dashboard
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
    path("payments/", include("payments.urls")),
    path("api/uploads", api.upload_create, name="api_uploads"),
    re_path(
        r"^api/uploads/(?P<user_id>[1-9][0-9]{0,17})/(?P<upload_id>[0-9a-f]{32})\.zip$",
        api.upload_put,
        name="api_upload_put",
    ),
    path("api/replicate/train-model", api.train_model, name="api_train_model"),
    path("api/models/<uuid:order_uuid>", api.model_detail, name="api_model"),
    path("api/openapi.json", api.openapi, name="api_openapi"),
    re_path(r"^api/", api.unknown),
    path("webhooks/replicate/", replicate_webhook, name="replicate_webhook"),
    path("webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
    path("admin/dashboard/", dashboard.dashboard, name="staff_dashboard"),
    path("admin/login/", admin_login),  # before the admin's own: limited per account and IP
    path("metrics", dashboard.metrics, name="metrics"),
    path("admin/", admin.site.urls),
]
