"""The command dispatcher ``python -m reseller_sync <group> <command>``."""

from __future__ import annotations

import pytest

from reseller_sync.cli import COMMAND_GROUPS, build_parser, main


def test_every_group_registers() -> None:
    parser = build_parser()

    for group in COMMAND_GROUPS:
        with pytest.raises(SystemExit) as raised:
            parser.parse_args([group, "--help"])
        assert raised.value.code == 0


def test_only_the_group_asked_for_is_registered() -> None:
    parser = build_parser(["fnac"])

    with pytest.raises(SystemExit):
        parser.parse_args(["db", "upgrade"])


def test_missing_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["fnac"])

    assert raised.value.code == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_every_developer_tool_group_registers() -> None:
    from devtools.cli import DEV_COMMAND_GROUPS
    from devtools.cli import main as devtools_main

    for group in DEV_COMMAND_GROUPS:
        with pytest.raises(SystemExit) as raised:
            devtools_main([group, "--help"])
        assert raised.value.code == 0


def test_developer_tools_are_not_operator_commands() -> None:
    """The sandboxes and the mail sink left the library that workers import."""
    parser = build_parser()

    for group in ("sandbox", "fnac-sandbox", "mailsink"):
        with pytest.raises(SystemExit) as raised:
            parser.parse_args([group, "serve"])
        assert raised.value.code == 2
