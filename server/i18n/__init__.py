"""The center's door to the shared translations: everything here is core_ext.i18n (catalogues
under core_ext/i18n/locales/, shared with the edge, which never imports the server)."""
from core_ext.i18n import (
    DEFAULT_LOCALE,
    DOMAIN,
    LANGUAGE_TAGS,
    LOCALE_ENV,
    LOCALES,
    LOCALES_DIR,
    N_,
    cli_locale,
    gettext,
    negotiate,
    normalize,
    po_path,
    translations,
)

__all__ = ["DEFAULT_LOCALE", "DOMAIN", "LANGUAGE_TAGS", "LOCALE_ENV", "LOCALES", "LOCALES_DIR", "N_", "cli_locale",
           "gettext", "negotiate", "normalize", "po_path", "translations"]
