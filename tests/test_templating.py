"""The shared Jinja environments: a sentence starts with a capital and keeps the codes written in capitals."""

from pathlib import Path

import joulo_pipelines
from joulo_pipelines.lib import templating

PACKAGE = Path(joulo_pipelines.__file__).parent


def test_a_sentence_upper_cases_its_first_letter_only_so_mid_ean_iban_and_postal_codes_stay_as_written(tmp_path):
    (tmp_path / "t.html.j2").write_text("{{ text | sentence }}")
    render = templating.environment(tmp_path).get_template("t.html.j2").render
    assert render(text="provide the MID certificate, the EAN, the IBAN and 1234 AB") == \
        "Provide the MID certificate, the EAN, the IBAN and 1234 AB"
    assert render(text="MID meter") == "MID meter"
    assert render(text="") == ""


def test_no_template_uses_jinjas_capitalize_which_lower_cases_the_rest():
    templates = [path for path in PACKAGE.rglob("*.j2") if "capitalize" in path.read_text(encoding="utf-8")]
    assert templates == []
