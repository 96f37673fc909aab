"""URL map of the whole site."""

from django.contrib import admin
from django.urls import include, path, re_path

from accounts import views as accounts_views
from accounts.admin_login import admin_login
from headshots import views
from payments.webhooks import stripe_webhook
from privacy import account_views as privacy_account_views
from privacy import views as privacy_views
from training import api, dashboard
from training.webhooks import replicate_webhook

admin.site.site_header = "Headshots"
admin.site.site_title = "Headshots"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", accounts_views.switch_language, name="switch_language"),
    path("privacidad/", privacy_views.privacy_page, {"language": "es"}, name="privacy"),
    path("privacy/", privacy_views.privacy_page, {"language": "en"}, name="privacy_en"),
    path("account/privacy/", privacy_account_views.privacy_account, name="privacy_account"),
    path(
        "account/privacy/export/",
        privacy_account_views.export_create,
        name="privacy_export_create",
    ),
    path(
        "account/privacy/export/<uuid:export_uuid>/",
        privacy_account_views.export_download,
        name="privacy_export_download",
    ),
    path(
        "account/privacy/delete/",
        privacy_account_views.account_delete,
        name="privacy_account_delete",
    ),
    path(
        "account/orders/<uuid:order_uuid>/keep/",
        privacy_account_views.headshots_keep,
        name="headshots_keep",
    ),
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
