"""The dashboard's own words in Dutch (the default) and English; the report pages it shows keep theirs
(lib/labels.py, the report templates)."""

from __future__ import annotations

LANGUAGES = ("nl", "en")

TEXTS = {
    "nl": {
        "dashboard": "Dashboard", "sign_in": "Inloggen", "sign_out": "Uitloggen", "email": "E-mailadres",
        "password": "Wachtwoord", "sign_in_failed": "E-mailadres of wachtwoord onjuist, of het account is "
                                                   "tijdelijk geblokkeerd na te veel mislukte pogingen.",
        "overview": "Kwartaal", "year": "Jaar", "customers": "Klanten", "mid_scan": "MID-scan",
        "admin": "Beheer", "search": "Zoeken", "search_hint": "klantnummer, naam of EAN", "status": "Status",
        "reason": "Reden", "all": "alle", "apply": "Toepassen", "csv": "Download CSV", "page": "Pagina",
        "of": "van", "previous": "Vorige", "next": "Volgende", "matching": "klanten gevonden",
        "customer": "Klant", "name": "Naam", "ean": "EAN", "kwh": "kWh", "eligible_kwh": "kWh telt mee",
        "ere": "ERE", "printable": "Printbare versie", "no_snapshot": "Er is nog geen kwartaal gepubliceerd.",
        "quarter": "Kwartaal", "language": "English", "language_code": "en", "scan_title": "Naam van de scan",
        "price_per_ere": "Prijs per ERE (EUR)", "delivery_year": "Leveringsjaar", "scan": "Scannen",
        "api_keys": "API-sleutels", "shown_once": "Eenmalig getoond, bewaar het nu:", "revoked": "ingetrokken",
        "revoke": "Intrekken", "create_key": "Nieuwe sleutel", "delete": "Verwijderen", "add_webhook": "Toevoegen",
    },
    "en": {
        "dashboard": "Dashboard", "sign_in": "Sign in", "sign_out": "Sign out", "email": "Email",
        "password": "Password", "sign_in_failed": "Wrong email or password, or the account is locked for a while "
                                                   "after too many failed attempts.",
        "overview": "Quarter", "year": "Year", "customers": "Customers", "mid_scan": "MID scan",
        "admin": "Admin", "search": "Search", "search_hint": "customer number, name or EAN", "status": "Status",
        "reason": "Reason", "all": "all", "apply": "Apply", "csv": "Download CSV", "page": "Page",
        "of": "of", "previous": "Previous", "next": "Next", "matching": "customers found",
        "customer": "Customer", "name": "Name", "ean": "EAN", "kwh": "kWh", "eligible_kwh": "kWh eligible",
        "ere": "ERE", "printable": "Printable version", "no_snapshot": "No quarter has been published yet.",
        "quarter": "Quarter", "language": "Nederlands", "language_code": "nl", "scan_title": "Name of the scan",
        "price_per_ere": "Price per ERE (EUR)", "delivery_year": "Delivery year", "scan": "Scan",
        "api_keys": "API keys", "shown_once": "Shown this once, keep it now:", "revoked": "revoked",
        "revoke": "Revoke", "create_key": "New key", "delete": "Delete", "add_webhook": "Add",
    },
}
