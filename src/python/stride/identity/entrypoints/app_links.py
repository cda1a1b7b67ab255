"""What lets the installed app open the account links Identity's emails carry instead of a
browser: Apple's apple-app-site-association (universal links) and Android's Digital Asset
Links statement (verified app links), served at the edge's /.well-known/. Without the app the
links open Identity's pages (verify_page, reset_page) in the browser."""

from __future__ import annotations

import json
from dataclasses import dataclass

# The paths of the links in Identity's emails (Notifications builds them on the public edge).
ACCOUNT_LINK_PATHS = ("/verify-email", "/password-reset", "/confirm-email-change")


@dataclass(frozen=True)
class AppLinks:
    apple_app_ids: tuple[str, ...] = ()  # `<Team ID>.<bundle id>`.
    android_package: str = ""
    android_fingerprints: tuple[str, ...] = ()  # SHA-256 of the app's signing certificates.

    def apple_app_site_association(self) -> bytes:
        details = [
            {
                "appIDs": list(self.apple_app_ids),
                "components": [{"/": path} for path in ACCOUNT_LINK_PATHS],
            }
        ]
        return json.dumps({"applinks": {"details": details if self.apple_app_ids else []}}).encode()

    def asset_links(self) -> bytes:
        statement = {
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": self.android_package,
                "sha256_cert_fingerprints": list(self.android_fingerprints),
            },
        }
        return json.dumps([statement] if self.android_package else []).encode()
