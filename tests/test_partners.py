import pytest

from joulo_pipelines.lib.partners import PartnerRegistryError, load_registry

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
