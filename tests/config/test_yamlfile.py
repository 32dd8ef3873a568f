"""Hand-edited YAML: libyaml and PyYAML's own parser read a file the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reseller_sync.config import yamlfile
from reseller_sync.config.yamlfile import YamlFileError, read_yaml

EVERY_KIND_OF_SCALAR = """\
manager_code: M0427
plain_null:
tilde: ~
written_null: null
quoted_null: "null"
single_quoted: '~'
leading_zeros: 004512
number: 12
flag: yes
folded: >
  two
  lines
literal: |
  kept
  as is
anchored: &code FNAC-RESEAU
alias: *code
products:
  - EVT-LUMEN
  - code: PASS-MAH-JOUR
    tariffs_offered: [FNAC_PUBLIC, 'FNAC_ADHERENT']
manager_code: M0428
"""


@pytest.fixture(params=["libyaml", "python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML was built without libyaml")
        monkeypatch.setattr(yamlfile, "_FAST_LOADER", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(yamlfile, "_FAST_LOADER", yaml.SafeLoader)
    return str(request.param)


def test_both_parsers_give_the_same_text_types_lines_and_duplicates(
    tmp_path: Path, loader: str
) -> None:
    path = tmp_path / "fnac.yaml"
    path.write_text(EVERY_KIND_OF_SCALAR, encoding="utf-8")

    document = read_yaml(path)

    text = document.text_data()
    assert text["plain_null"] is None
    assert text["tilde"] is None
    assert text["written_null"] is None
    assert text["quoted_null"] == "null"
    assert text["single_quoted"] == "~"
    assert text["leading_zeros"] == "004512"
    assert text["flag"] == "yes"
    assert text["folded"] == "two lines\n"
    assert text["literal"] == "kept\nas is\n"
    assert text["alias"] == "FNAC-RESEAU"
    assert text["products"][1]["tariffs_offered"] == ["FNAC_PUBLIC", "FNAC_ADHERENT"]
    typed = document.typed_data()
    assert typed["number"] == 12
    assert typed["flag"] is True
    assert typed["written_null"] is None
    assert document.lines[("products", 1)] == 20
    assert document.line_of(("products", 1, "tariffs_offered", 0)) == 21
    assert document.duplicates == ((("manager_code",), 22),)


@pytest.mark.parametrize(
    ("text", "line", "named"),
    [
        ("quota: [Q-FNAC\nchannel: FNAC\n", 2, "but got ':'"),
        ("channel: FNAC\n\t- FNAC\n", 2, "'\\t'"),
        ("channel: *undefined\n", 1, "'undefined'"),
    ],
)
def test_a_malformed_file_is_reported_with_pythons_message(
    tmp_path: Path, loader: str, text: str, line: int, named: str
) -> None:
    path = tmp_path / "fnac.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(YamlFileError) as caught:
        read_yaml(path)

    problem = caught.value.problem
    assert problem.reason.startswith("not valid YAML")
    assert named in problem.reason
    assert problem.line == line
    assert problem.file == str(path)
