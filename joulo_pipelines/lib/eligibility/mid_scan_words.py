"""The MID scan's words, in Dutch and English, for a CPO's sales team: the four groups, the page's text and
every reason in plain words (the codes stay in the CSV and in data/reference/eligibility_reasons.csv). A
reason without words here (a new code) shows its rule from that catalogue rather than nothing."""

from __future__ import annotations

LANGUAGES = ("nl", "en")

PAGE = {
    "nl": {
        "title": "MID-scan", "for": "voor", "scanned": ("{n} laadpunten vergeleken met ons register van MID-meters, "
                                             "leverjaar {year}."),
        "as_sold": "komen in aanmerking zoals verkocht",
        "unit_check": "komen in aanmerking na een controle van de lader",
        "external_meter": "hebben een externe MID-meter nodig",
        "cannot_qualify": "komen niet in aanmerking met deze lader",
        "worth": "Wat het per jaar waard is", "group": "Groep", "kwh": "kWh per jaar", "ere": "ERE per jaar",
        "eur": "Euro per jaar (bruto)",
        "typical": "Er zijn geen laadsessies meegeleverd: per laadpunt rekenen we met een gangbaar jaar van {kwh} kWh.",
        "sessions": "kWh per jaar uit de meegeleverde laadsessies, omgerekend naar een heel jaar.",
        "factor": "ERE = kWh × {factor} (leverjaar {year}); euro tegen {price} per ERE, vóór kosten. Dit zijn "
                  "schattingen: de NEa stelt de officiële aantallen vast.",
        "onboarding": "De machtiging van de klant (één vinkje), de uitbetaalgegevens en het serienummer van de "
                      "meter komen bij de aansluiting; ze tellen in deze scan niet als gebrek.",
        "why": "Wat er nog nodig is", "reason": "Wat we zien", "count": "Laadpunten", "action": "Wat helpt",
        "none_needed": "Niets: elk laadpunt komt in aanmerking.",
        "unmatched": "Laders die we niet herkennen",
        "unmatched_note": "Deze merk- en typenamen staan niet in ons register; met een foto van het typeplaatje "
                          "van de meter of de conformiteitsverklaring kunnen ze alsnog meetellen.",
        "brand": "Merk", "model": "Type", "every": "Alle laadpunten", "charge_point": "Laadpunt",
        "charger": "Lader", "group_col": "Uitkomst", "meter_serial": "Serienummer meter",
        "at_onboarding": "controleren bij aansluiting", "kwh_year": "kWh / jaar",
        "by": "Een scan van {brand}.", "provider": "Inboeking door Joulo als inboekdienstverlener.",
    },
    "en": {
        "title": "MID scan", "for": "for", "scanned": ("{n} charge points checked against our MID meter register, "
                                            "delivery year {year}."),
        "as_sold": "qualify as sold",
        "unit_check": "qualify after a check of the charger",
        "external_meter": "need an external MID meter",
        "cannot_qualify": "cannot qualify with this charger",
        "worth": "What it is worth per year", "group": "Group", "kwh": "kWh per year", "ere": "ERE per year",
        "eur": "Euros per year (gross)",
        "typical": "No charging sessions were provided: each charge point is assumed to charge a typical {kwh} kWh "
                   "per year.",
        "sessions": "kWh per year from the charging sessions provided, scaled to a full year.",
        "factor": "ERE = kWh × {factor} (delivery year {year}); euros at {price} per ERE, before fees. These are "
                  "estimates: the NEa issues the official units.",
        "onboarding": "The customer's mandate (one checkbox), payout details and the meter's serial number come "
                      "with onboarding; this scan does not count them as gaps.",
        "why": "What is still needed", "reason": "What we see", "count": "Charge points", "action": "What helps",
        "none_needed": "Nothing: every charge point qualifies.",
        "unmatched": "Chargers we do not recognise",
        "unmatched_note": "These brand and model names are not in our register; with a photo of the meter's type "
                          "plate or its declaration of conformity they can still count.",
        "brand": "Brand", "model": "Model", "every": "Every charge point", "charge_point": "Charge point",
        "charger": "Charger", "group_col": "Outcome", "meter_serial": "Meter serial",
        "at_onboarding": "to check at onboarding", "kwh_year": "kWh / year",
        "by": "A scan by {brand}.", "provider": "Booked by Joulo as booking service provider.",
    },
}

# (what we see, what helps) per reason code.
REASONS = {
    "nl": {
        "mid_meter_absent": ("Dit model heeft geen MID-meter.", "Vervang de lader door een model met ingebouwde MID-meter."),
        "mid_evidence_missing": ("We kunnen voor dit model nog niet bevestigen dat er een MID-meter in zit.",
                                 "Stuur een foto van het typeplaatje van de meter of de conformiteitsverklaring."),
        "mid_unit_check_needed": ("Dit model bestaat met en zonder MID-meter.",
                                  ("Stuur een foto van het typeplaatje van de meter (M-markering) of de "
                                   "conformiteitsverklaring van deze lader.")),
        "mid_external_meter_needed": ("Dit model heeft geen ingebouwde MID-meter, maar telt mee met een MID-meter ernaast.",
                                      "Plaats een MID-meter naast de lader, of laat zien welke er al zit."),
        "meter_serial_missing": ("Het serienummer van de meter ontbreekt.", "Geef het serienummer van het typeplaatje door."),
        "meter_serial_mismatch": ("De lader meldt een ander serienummer van de meter dan is opgegeven.",
                                  "Controleer het serienummer op het typeplaatje van de meter."),
        "customer_unknown": ("De klant van dit laadpunt staat niet in het klantenbestand.", "Lever de klantgegevens aan."),
        "ean_invalid": ("De EAN-code van de aansluiting klopt niet.", "Neem de EAN over van de energierekening."),
        "postal_code_invalid": ("De postcode is geen Nederlandse postcode.", "Corrigeer het adres."),
        "ean_claimed_twice": ("Twee klanten in het bestand hebben dezelfde EAN.", "Houd één klant per EAN per jaar aan."),
    },
    "en": {
        "mid_meter_absent": ("This model has no MID meter.", "Replace the charger with a model that has a built-in MID meter."),
        "mid_evidence_missing": ("We cannot confirm yet that this model has a MID meter.",
                                 "Send a photo of the meter's type plate or its declaration of conformity."),
        "mid_unit_check_needed": ("This model is sold with and without a MID meter.",
                                  ("Send a photo of the meter's type plate (M-mark) or this charger's declaration "
                                   "of conformity.")),
        "mid_external_meter_needed": ("This model has no built-in MID meter, but counts with a MID meter fitted beside it.",
                                      "Fit a MID meter beside the charger, or show the one already there."),
        "meter_serial_missing": ("The meter's serial number is missing.", "Send the serial number from the type plate."),
        "meter_serial_mismatch": ("The charger reports another meter serial than the one given.",
                                  "Check the serial number on the meter's type plate."),
        "customer_unknown": ("This charge point's customer is not in the customers file.", "Send the customer's details."),
        "ean_invalid": ("The connection's EAN code is not valid.", "Copy the EAN from the energy bill."),
        "postal_code_invalid": ("The postal code is not a Dutch one.", "Correct the address."),
        "ean_claimed_twice": ("Two customers in the file share one EAN.", "Keep one customer per EAN per year."),
    },
}
