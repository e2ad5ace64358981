import pytest

from joulo_pipelines.lib.partners import NoContractInForce, PartnerRegistryError, load_registry
from joulo_pipelines.lib.quarters import Quarter

VALID = """
partners:
  - id: voltnet
    name: VoltNet B.V.
    brand: {display_name: VoltNet, sender_email: uitbetaling@voltnet.example}
    payout_model: partner_account
    partner_iban: NL91 ABNA 0417 1643 00
    service_fee_pct: 15
    partner_share_pct: 5
    source: {type: ocpi, url: "https://cpms.example/ocpi/2.2.1/cdrs", token_env: VOLTNET_OCPI_TOKEN}
"""


def write(tmp_path, text):
    path = tmp_path / "partners.yaml"
    path.write_text(text)
    return path


def test_a_valid_registry_loads_with_normalised_iban(tmp_path):
    registry = load_registry(write(tmp_path, VALID))
    partner = registry.get("voltnet")
    assert partner.contracts[0].partner_iban == "NL91ABNA0417164300"
    assert partner.source.token_env == "VOLTNET_OCPI_TOKEN"
    assert registry.ids == ["voltnet"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("NL91 ABNA 0417 1643 00", "NL91 ABNA 0417 1643 01"), "partner 'voltnet': partner_iban"),
        (("service_fee_pct: 15", "service_fee_pct: 96"), "exceeds 100"),
        (("id: voltnet", "id: Volt Net"), "partner 'Volt Net': id"),
        (("payout_model: partner_account", "payout_model: cheque"), "payout_model"),
        (("token_env: VOLTNET_OCPI_TOKEN", "token: abc123"), "source.token"),
        (("service_fee_pct: 15", "service_fee_pct: 15\n    payouts: {four_eyes: nee}"), "payouts.four_eyes"),
        (("service_fee_pct: 15", "service_fee_pct: 15\n    payouts: {fouer_eyes: false}"), "payouts.fouer_eyes"),
    ],
)
def test_an_invalid_registry_names_the_partner_and_the_field(tmp_path, change, expected):
    with pytest.raises(PartnerRegistryError) as error:
        load_registry(write(tmp_path, VALID.replace(*change)))
    assert expected in str(error.value)


def test_partner_ids_must_be_unique(tmp_path):
    twice = VALID + VALID.split("partners:\n", 1)[1]
    with pytest.raises(PartnerRegistryError, match="repeated: voltnet"):
        load_registry(write(tmp_path, twice))


def test_a_missing_registry_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(PartnerRegistryError, match="partners.yaml: partner registry not found"):
        load_registry(tmp_path / "partners.yaml")


def test_four_eyes_on_payouts_holds_unless_the_registry_relaxes_it(tmp_path):
    assert load_registry(write(tmp_path, VALID)).get("voltnet").payouts.four_eyes is True
    trial = VALID.replace("service_fee_pct: 15", "service_fee_pct: 15\n    payouts: {four_eyes: false}")
    assert load_registry(write(tmp_path, trial)).get("voltnet").payouts.four_eyes is False


CONTRACTS = """
partners:
  - id: voltnet
    name: VoltNet B.V.
    brand: {display_name: VoltNet, sender_email: uitbetaling@voltnet.example}
    contracts:
      - {valid_from: 2026-07-01, payout_model: direct, service_fee_pct: 12, partner_share_pct: 3}
      - {valid_from: 2026-01-01, payout_model: direct, service_fee_pct: 15, partner_share_pct: 5}
      - {valid_from: 2026-04-01, payout_model: partner_account, partner_iban: NL91 ABNA 0417 1643 00,
         service_fee_pct: 10}
"""


def test_the_contract_in_force_in_a_quarter_is_the_latest_valid_from_its_first_day_or_before(tmp_path):
    partner = load_registry(write(tmp_path, CONTRACTS)).get("voltnet")
    terms = {q: partner.contract_in_force(Quarter(2026, q)) for q in (1, 2, 3, 4)}
    assert [(t.payout_model, t.service_fee_pct, t.partner_share_pct) for t in terms.values()] == [
        ("direct", 15, 5), ("partner_account", 10, 0), ("direct", 12, 3), ("direct", 12, 3)]
    assert terms[2].partner_iban == "NL91ABNA0417164300"
    with pytest.raises(NoContractInForce, match="'voltnet' has no contract in force in 2025-Q4: its first "
                                                "contract is valid from 2026-01-01"):
        partner.contract_in_force(Quarter(2025, 4))
    # An enrolment from 2026-Q2 on is paid by Q2's contract and Q3's (the API asks for an IBAN if either is direct).
    assert partner.contracts_from(Quarter(2026, 2)) == [terms[2], terms[3]]
    assert partner.contracts_from(Quarter(2027, 1)) == [terms[3]]
    # The flat form is one contract, in force from the beginning.
    flat = load_registry(write(tmp_path, VALID)).get("voltnet")
    assert flat.contract_in_force(Quarter(2020, 1)) == flat.contract_in_force(Quarter(2030, 4)) == flat.contracts[0]
    assert flat.contract_in_force(Quarter(2026, 1)).payout_model == "partner_account"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("valid_from: 2026-04-01", "valid_from: 2026-05-01"),
         "partner 'voltnet': contract #3.valid_from: Value error, 2026-05-01 is not the first day of a quarter; "
         "accepted: YYYY-01-01, YYYY-04-01, YYYY-07-01 or YYYY-10-01"),
        (("valid_from: 2026-07-01", "valid_from: 2026-04-01"),
         "partner 'voltnet': contracts: Value error, two contracts valid from 2026-04-01; accepted: one contract "
         "per valid_from"),
        (("partner_iban: NL91 ABNA 0417 1643 00,", ""),
         "partner 'voltnet': contract #3: Value error, payout_model partner_account needs partner_iban"),
        (("service_fee_pct: 10}", "service_fee_pct: 10, partner_share_pct: 95}"),
         "partner 'voltnet': contract #3: Value error, service_fee_pct + partner_share_pct exceeds 100"),
        (("valid_from: 2026-07-01, payout_model: direct", "valid_from: 2026-07-01, payout_model: cash"),
         "partner 'voltnet': contract #1.payout_model"),
        (("    contracts:", "    service_fee_pct: 15\n    contracts:"),
         "give the money terms either flat (payout_model, partner_iban, service_fee_pct, partner_share_pct) or "
         "as a list under `contracts`, not both"),
    ],
)
def test_an_invalid_contract_names_the_partner_the_contract_the_field_the_value_and_what_is_accepted(
        tmp_path, change, expected):
    assert change[0] in CONTRACTS
    with pytest.raises(PartnerRegistryError) as error:
        load_registry(write(tmp_path, CONTRACTS.replace(*change, 1)))
    assert expected in str(error.value)


def test_an_unknown_partner_is_refused_in_the_same_sentence_by_every_command(data_dir, tmp_path):
    from decimal import Decimal

    from joulo_pipelines.lib.eligibility.mid_scan import scan_files
    from joulo_pipelines.lib.payouts.service import run_quarter

    said = "partner 'nobody' is not in config/partners.yaml; known: alpha, beta"
    with pytest.raises(ValueError) as payouts:
        run_quarter(data_dir, Quarter(2026, 1), "nobody")
    with pytest.raises(ValueError) as scan:
        scan_files(data_dir, tmp_path / "prospect.csv", None, None, Decimal("10"), tmp_path / "out", 2026,
                   partner_id="nobody")
    assert str(payouts.value) == str(scan.value) == said
