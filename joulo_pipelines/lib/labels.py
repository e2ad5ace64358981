"""The words partners and customers read, in one place: the customer statuses on the partner report
(English, like the MID scan), and in the customer's language (nl by default, en) the quarterly statement's
labels and the payout email's. The adjustment reasons' words are the seed data/reference/cleaning_reasons.csv
(reports/queries.py::cleaning_reasons), beside the codes the warehouse writes."""

from __future__ import annotations

DEFAULT_LANGUAGE = "nl"


def language(code: str | None) -> str:
    """The customer's language if we write it, else Dutch."""
    return code if code in STATEMENT else DEFAULT_LANGUAGE


CUSTOMER_STATUS = {
    "eligible": "eligible",
    "action_needed": "action needed",
    "not_eligible": "not eligible",
}

# A customer's account entries (payouts/amounts.py), on the statement and in the payout email.
ACCOUNT_ENTRIES = {
    "nl": {"settlement": "Afrekening {quarter}", "clawback": "Terugvordering {quarter}",
           "advance": "Voorschot {quarter}", "advance_settled": "Verrekend voorschot {quarter}",
           "holdback": "Ingehouden tot de verificatie van {year} ({quarter})",
           "holdback_release": "Vrijgegeven na de verificatie van {year} ({quarter})"},
    "en": {"settlement": "Settlement {quarter}", "clawback": "Clawback {quarter}",
           "advance": "Advance {quarter}", "advance_settled": "Advance settled {quarter}",
           "holdback": "Held until the {year} verification ({quarter})",
           "holdback_release": "Released after the {year} verification ({quarter})"},
}

# Whom a customer asks, on the statement and under the payout email: the partner's brand and its sender_email.
CONTACT = {
    "nl": "Vragen, of iets om door te geven? Neem contact op met {brand}: {email}.",
    "en": "Questions, or something to send us? Contact {brand} at {email}.",
}

STATEMENT = {
    "nl": {
        "title": "Kwartaaloverzicht ERE", "customer": "Klantnummer", "ean": "Aansluiting (EAN)",
        "mandate": "Machtiging", "mandate_until": "t/m", "revoked": "ingetrokken op",
        "energy": "Energie", "kwh": "Geladen (kWh)", "eligible_kwh": "Telt mee voor ERE (kWh)",
        "ere": "ERE (schatting)", "sessions": "Laadsessies", "by_month": "Geladen kWh per maand",
        "booking": "Inboeking bij de NEa", "booking_draft": "voorbereid, nog niet ingediend",
        "booking_submitted": "ingediend", "booking_partly submitted": "deels ingediend",
        "booking_none": "niets ingeboekt dit kwartaal", "issued": "ERE uitgegeven door de NEa",
        "payout": "Uitbetaling", "gross": "Bruto opbrengst", "fee": "Servicekosten", "share": "Aandeel {brand}",
        "net": "Netto dit kwartaal", "adjustment": "Correcties eerdere kwartalen",
        "carried_in": "Overgedragen uit vorig kwartaal", "paid": "Uitbetaald", "carried_out": "Naar volgend kwartaal",
        "entries": ACCOUNT_ENTRIES["nl"],
        "payment_date": "Betaaldatum", "iban": "Rekening",
        "payout_proposal": "Voorstel: dit kwartaal is nog niet goedgekeurd; de bedragen kunnen nog wijzigen.",
        "payout_none": "Geen uitbetaling dit kwartaal.",
        "charge_points": "Laadpunten", "charge_point": "Laadpunt", "status": "Status",
        "counts": "telt mee", "does_not_count": "telt niet mee", "to_do": "Wat er nodig is",
        "note": "ERE is een schatting: de NEa stelt het aantal definitief vast. Alle bedragen in euro.",
        "as_of": "Stand per",
        "next_step": "Wat u nu kunt doen",
        "next_step_intro": "Uw laadpunt telt nog niet mee voor ERE. Als dit in orde is, telt het wel mee:",
        "contact": CONTACT["nl"],
    },
    "en": {
        "title": "Quarterly ERE statement", "customer": "Customer number", "ean": "Connection (EAN)",
        "mandate": "Mandate", "mandate_until": "to", "revoked": "revoked on",
        "energy": "Energy", "kwh": "Charged (kWh)", "eligible_kwh": "Counts for ERE (kWh)",
        "ere": "ERE (estimate)", "sessions": "Charging sessions", "by_month": "kWh charged per month",
        "booking": "Booking with the NEa", "booking_draft": "prepared, not submitted yet",
        "booking_submitted": "submitted", "booking_partly submitted": "partly submitted",
        "booking_none": "nothing booked this quarter", "issued": "ERE issued by the NEa",
        "payout": "Payout", "gross": "Gross revenue", "fee": "Service fee", "share": "{brand} share",
        "net": "Net this quarter", "adjustment": "Corrections to earlier quarters",
        "carried_in": "Carried over from last quarter", "paid": "Paid out", "carried_out": "Carried over to next quarter",
        "entries": ACCOUNT_ENTRIES["en"],
        "payment_date": "Payment date", "iban": "Account",
        "payout_proposal": "Proposal: this quarter is not approved yet; the amounts may still change.",
        "payout_none": "No payout this quarter.",
        "charge_points": "Charge points", "charge_point": "Charge point", "status": "Status",
        "counts": "counts", "does_not_count": "does not count", "to_do": "What is needed",
        "note": "ERE are an estimate: the NEa sets the number definitively. All amounts in euros.",
        "as_of": "As of",
        "next_step": "What to do next",
        "next_step_intro": "Your charge point does not count for ERE yet. Once this is sorted, it will:",
        "contact": CONTACT["en"],
    },
}

# What a customer can do about a reason, in their words (the codes' rules and actions for the partner are in
# data/reference/eligibility_reasons.csv).
STATEMENT_REASONS = {
    "nl": {
        "customer_unknown": "klantgegevens ontbreken", "mid_meter_absent": "de lader heeft geen MID-meter",
        "mid_evidence_missing": "bewijs van de MID-meter ontbreekt",
        "mid_unit_check_needed": "nog na te gaan of uw lader de MID-uitvoering is",
        "mid_external_meter_needed": "een MID-meter naast de lader ontbreekt", "meter_serial_missing": "serienummer van de meter ontbreekt",
        "meter_serial_mismatch": "serienummer van de meter wijkt af van wat de lader meldt",
        "ean_invalid": "EAN-code klopt niet", "postal_code_invalid": "postcode klopt niet",
        "mandate_not_whole_years": "machtiging niet voor hele kalenderjaren", "mandate_not_started": "machtiging nog niet begonnen",
        "mandate_expired": "machtiging verlopen", "mandate_revoked": "machtiging ingetrokken",
        "mandate_not_signed": "machtiging nog niet getekend",
        "mandate_signing_record_missing": "bewijs van uw ondertekening ontbreekt",
        "mandate_consent_text_unknown": "de getekende machtigingstekst is onbekend",
        "mandate_renewed_tacitly": "machtiging verlengd zonder nieuwe ondertekening", "ean_claimed_by_another_mandate": "EAN is dit jaar al onder een andere machtiging aangemeld",
        "iban_invalid": "rekeningnummer ontbreekt of klopt niet",
        "customer_text_not_writable": "naam of adres bevat een ongeldig teken",
    },
    "en": {
        "customer_unknown": "customer details missing", "mid_meter_absent": "the charger has no MID meter",
        "mid_evidence_missing": "proof of the MID meter missing",
        "mid_unit_check_needed": "still to check that your charger is the MID version",
        "mid_external_meter_needed": "a MID meter beside the charger is missing", "meter_serial_missing": "meter serial number missing",
        "meter_serial_mismatch": "meter serial number differs from what the charger reports",
        "ean_invalid": "EAN code is not valid", "postal_code_invalid": "postal code is not valid",
        "mandate_not_whole_years": "mandate not for whole calendar years", "mandate_not_started": "mandate not started yet",
        "mandate_expired": "mandate expired", "mandate_revoked": "mandate revoked",
        "mandate_not_signed": "mandate not signed yet",
        "mandate_signing_record_missing": "proof of your signing missing",
        "mandate_consent_text_unknown": "the mandate text you signed is unknown",
        "mandate_renewed_tacitly": "mandate extended without signing again", "ean_claimed_by_another_mandate": "EAN already claimed under another mandate this year",
        "iban_invalid": "account number missing or not valid",
        "customer_text_not_writable": "name or address holds an invalid character",
    },
}

# What a customer does about a reason that can be fixed (can_be_fixed in data/reference/eligibility_reasons.csv),
# shown on the statement when their status is action_needed; whom to ask is CONTACT.
STATEMENT_NEXT_STEPS = {
    "nl": {
        "customer_unknown": "Controleer met ons uw aanmelding: uw klantgegevens, EAN-code en machtiging.",
        "mid_evidence_missing": "Stuur ons het MID-certificaat of de conformiteitsverklaring van de meter in uw lader.",
        "mid_unit_check_needed": "Stuur ons een foto van het typeplaatje van de meter in uw lader (met het M-teken), "
                                 "of de conformiteitsverklaring van de meter.",
        "mid_external_meter_needed": "Laat een MID-meter naast uw lader plaatsen, of stuur ons de "
                                     "conformiteitsverklaring van de meter die er al zit.",
        "meter_serial_missing": "Stuur ons het serienummer van de meter (op het typeplaatje).",
        "meter_serial_mismatch": "Controleer het serienummer op het typeplaatje van de meter en geef het ons door.",
        "ean_invalid": "Geef ons uw EAN-code door: 18 cijfers, te vinden op uw energierekening.",
        "postal_code_invalid": "Controleer uw adres en geef ons uw postcode (1234 AB) door.",
        "mandate_not_whole_years": "Teken een nieuwe machtiging voor hele kalenderjaren; u ontvangt die van ons.",
        "mandate_not_started": "Uw machtiging gaat later in: u hoeft niets te doen, of vraag ons om een machtiging "
                               "die eerder ingaat.",
        "mandate_expired": "Teken een nieuwe machtiging; u ontvangt die van ons.",
        "mandate_revoked": "Wilt u weer meedoen? Teken een nieuwe machtiging; u ontvangt die van ons.",
        "mandate_not_signed": "Teken de machtiging die u van ons ontving.",
        "mandate_signing_record_missing": "Teken de machtiging opnieuw, zodat uw ondertekening is vastgelegd.",
        "mandate_consent_text_unknown": "Teken de machtiging opnieuw, met de tekst die nu geldt.",
        "mandate_renewed_tacitly": "Teken een nieuwe machtiging voor de langere looptijd.",
        "ean_claimed_by_another_mandate": "Controleer met ons uw EAN-code: er is dit jaar al een andere machtiging "
                                          "voor aangemeld.",
        "iban_invalid": "Geef ons uw juiste rekeningnummer (IBAN) door.",
        "customer_text_not_writable": "Controleer met ons uw naam en adres zoals wij ze hebben.",
    },
    "en": {
        "customer_unknown": "Check your enrolment with us: your customer details, EAN code and mandate.",
        "mid_evidence_missing": "Send us the MID certificate or the declaration of conformity of the meter in your "
                                "charger.",
        "mid_unit_check_needed": "Send us a photo of the type plate of the meter in your charger (with the M mark), "
                                 "or the meter's declaration of conformity.",
        "mid_external_meter_needed": "Have a MID meter fitted beside your charger, or send us the declaration of "
                                     "conformity of the one already there.",
        "meter_serial_missing": "Send us the meter's serial number (on its type plate).",
        "meter_serial_mismatch": "Check the serial number on the meter's type plate and send it to us.",
        "ean_invalid": "Send us your EAN code: 18 digits, on your energy bill.",
        "postal_code_invalid": "Check your address and send us your postal code (1234 AB).",
        "mandate_not_whole_years": "Sign a new mandate for whole calendar years; we will send it to you.",
        "mandate_not_started": "Your mandate starts later: there is nothing to do, or ask us for a mandate that "
                               "starts earlier.",
        "mandate_expired": "Sign a new mandate; we will send it to you.",
        "mandate_revoked": "Want to take part again? Sign a new mandate; we will send it to you.",
        "mandate_not_signed": "Sign the mandate we sent you.",
        "mandate_signing_record_missing": "Sign the mandate again, so that your signing is recorded.",
        "mandate_consent_text_unknown": "Sign the mandate again, with the text that applies now.",
        "mandate_renewed_tacitly": "Sign a new mandate for the longer term.",
        "ean_claimed_by_another_mandate": "Check your EAN code with us: another mandate already claims it this year.",
        "iban_invalid": "Send us your correct account number (IBAN).",
        "customer_text_not_writable": "Check your name and address as we have them, with us.",
    },
}

PAYOUT_EMAIL = {
    "nl": {
        "subject": "Uw ERE-uitbetaling over", "heading": "Uw ERE-uitbetaling over", "greeting": "Beste",
        "intro": "Met uw thuislader heeft u duurzame energie geleverd aan vervoer. Hiervoor zijn ERE's "
                 "(emissiereductie-eenheden) ingeboekt en verkocht. Dit is uw overzicht.",
        "kwh": "Geladen energie (kWh)", "units": "ERE", "price": "Prijs per ERE", "gross": "Bruto opbrengst",
        "fee": "Servicekosten", "share": "Aandeel {brand}", "net": "Netto voor u dit kwartaal",
        "carried_in": "Overgedragen uit vorig kwartaal",
        "entries": ACCOUNT_ENTRIES["nl"],
        "clawback_note": "Een eerder uitbetaald bedrag is teruggevorderd: een aansluiting (EAN) kwam achteraf niet in "
                         "aanmerking of de NEa gaf minder ERE uit. We verrekenen het met uw volgende uitbetalingen; "
                         "we schrijven nooit iets af van uw rekening.",
        "paid": "Uitbetaald", "carried_out": "Over naar volgend kwartaal", "iban": "Rekening",
        "date": "Betaaldatum", "headline_paid": "Wij maken {amount} over op {iban} op {date}.",
        "headline_partner": "{brand} betaalt u {amount} uit.",
        "headline_none": "Dit kwartaal wordt er niets uitbetaald; het saldo gaat mee naar het volgende kwartaal.",
        "rev_issued": "Het aantal ERE is zoals uitgegeven door de NEa (REV).",
        "estimate": "Het aantal ERE is onze berekening; de NEa stelt het definitief vast. Verschillen verrekenen "
                    "we in een volgend kwartaal.",
        "mixed": "Het aantal ERE is deels door de NEa uitgegeven en deels onze berekening.",
        "closing": "Met vriendelijke groet,", "provider": "Uitbetaling verzorgd door Joulo als inboekdienstverlener.",
        "contact": CONTACT["nl"],
        "why": "U ontvangt deze e-mail omdat u {brand} heeft gemachtigd om de ERE van uw thuislader in te boeken; "
               "bij elke uitbetaling sturen we u dit overzicht.",
        "reasons": {"carried_over": "Het bedrag ligt onder het minimum voor uitbetaling en gaat mee naar het "
                                    "volgende kwartaal.",
                    "held": "We konden niet uitbetalen omdat uw rekeningnummer ontbreekt of niet klopt. Geef het "
                            "juiste rekeningnummer door; het bedrag blijft voor u bewaard.",
                    "netted": "Een correctie is verrekend met uw opbrengst; het saldo verrekenen we met volgende "
                              "uitbetalingen."},
    },
    "en": {
        "subject": "Your ERE payout for", "heading": "Your ERE payout for", "greeting": "Dear",
        "intro": "Your home charger delivered renewable energy to transport. ERE credits (emission reduction "
                 "units) were booked and sold for it. Here is your statement.",
        "kwh": "Energy charged (kWh)", "units": "ERE", "price": "Price per ERE", "gross": "Gross revenue",
        "fee": "Service fee", "share": "{brand} share", "net": "Net for you this quarter",
        "carried_in": "Carried over from last quarter",
        "entries": ACCOUNT_ENTRIES["en"],
        "clawback_note": "An amount paid earlier was taken back: a connection (EAN) turned out not to be eligible, "
                         "or the NEa issued fewer ERE. We net it against your next payouts; we never debit your "
                         "account.",
        "paid": "Paid out", "carried_out": "Carried over to next quarter", "iban": "Account",
        "date": "Payment date", "headline_paid": "We transfer {amount} to {iban} on {date}.",
        "headline_partner": "{brand} pays you {amount}.",
        "headline_none": "Nothing is paid out this quarter; the balance carries over to the next quarter.",
        "rev_issued": "The ERE are as issued by the NEa (REV).",
        "estimate": "The ERE are our calculation; the NEa sets them definitively. Any difference is settled in a "
                    "later quarter.",
        "mixed": "The ERE are partly issued by the NEa and partly our calculation.",
        "closing": "Kind regards,", "provider": "Payout handled by Joulo as booking service provider.",
        "contact": CONTACT["en"],
        "why": "You receive this email because you gave {brand} a mandate to book the ERE of your home charger; "
               "we send you this statement with every payout.",
        "reasons": {"carried_over": "The amount is below the minimum payout and carries over to the next quarter.",
                    "held": "We could not pay because your account number is missing or incorrect. Please send "
                            "us the correct one; the amount is kept for you.",
                    "netted": "A correction was netted against your revenue; the balance is settled against "
                              "later payouts."},
    },
}

# Why a partner's customers have no next payout yet, in the partner API: said by the payouts stage
# (payouts/next_payouts.py) and, before that stage has run, by the API's snapshot itself.
PAYOUTS_NOT_CONFIGURED = "payouts are not configured yet"
