"""Output that pastes: CSV headers without rows, listings a page at a time
in every format, tables that fit the terminal, one document per format for
import, `audit verify --digest-file`, shell completion."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from commands.main import cli
from tests.conftest import ACTOR

DEMO = "DEMO-CONTOSO"
# Every listing, with arguments that give rows on the demo ledger.
LISTINGS = {
    "report entitlements": ("report", "entitlements", "--on", "2021-06-01"),
    "report expiring": ("report", "expiring", "--on", "2021-01-15", "--within", "400"),
    "report reassignable": ("report", "reassignable", "--on", "2021-06-01"),
    "report conflicts": ("report", "conflicts"),
    "audit history": ("audit", "history", DEMO),
    "projections status": ("projections", "status"),
}


@pytest.fixture
def demo(run):
    assert run("demo").exit_code == 0
    # A Bulk Credit seat and another offer, so that `report conflicts` has a row.
    for args in (
        ("benefit", "grant", DEMO, "ABC-2021", "--kind", "azure-bulk-credit",
         "--product", "Azure Bulk Credit", "--quantity", "2", "--on", "2021-02-01"),
        ("benefit", "activate", DEMO, "ABC-2021", "--on", "2021-02-01"),
        ("seat", "assign", DEMO, "ABC-2021", "dev@contoso.example", "--on",
         "2021-02-02"),
        ("user", "offer", DEMO, "dev@contoso.example", "azure-pass", "--on",
         "2021-02-03"),
        ("user", "add", DEMO, "qa@contoso.example", "--source", "aad", "--on",
         "2021-02-01"),
        ("seat", "assign", DEMO, "ABC-2021", "qa@contoso.example", "--on",
         "2021-02-02"),
        ("user", "offer", DEMO, "qa@contoso.example", "action-pack", "--on",
         "2021-02-03"),
    ):  # fmt: skip
        result = run(*args, actor="admin@contoso.example")
        assert result.exit_code == 0, result.stderr
    return run


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_every_listing_declares_the_columns_its_rows_have(demo, name):
    rows = demo.json(*LISTINGS[name])
    assert rows
    declared = csv_rows(demo(*LISTINGS[name], "--limit", "0", output="csv").stdout)
    whole = csv_rows(demo(*LISTINGS[name], output="csv").stdout)
    assert declared == [whole[0]]
    assert all(set(row) <= set(whole[0]) for row in rows)
    assert [c for c in whole[0] if c in rows[0]] == list(rows[0])


@pytest.mark.parametrize(
    ("args", "header"),
    [
        (("report", "entitlements"), "partner,benefit,kind,product,quantity,used,"
         "remaining,activated,activated_on,activate_by,status"),
        (("report", "expiring"), "partner,what,id,ends_on,days_left,remedy"),
        (("report", "reassignable"), "partner,seat,benefit,user,state,assigned_on,"
         "reassignable_on,eligible"),
        (("report", "conflicts"), "partner,user,seats,offers"),
        (("audit", "history", "P1", "--after", "1000"), "position,partner,version,"
         "recorded_at,effective_on,actor,login_role,event,request_id,data,voided_by,"
         "voids,reason"),
        (("projections", "status", "--offset", "100"), "name,position,head,lag,stuck"),
    ],
)  # fmt: skip
def test_csv_prints_the_header_row_even_with_no_rows(run, args, header):
    run.json("partner", "enroll", "P1", "--on", "2020-01-31")
    result = run(*args, output="csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [header]


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_limit_and_offset_page_every_listing_in_every_format(demo, name):
    args = LISTINGS[name]
    rows = demo.json(*args)
    assert len(rows) >= 2, "the demo should give a listing at least two rows"
    page = ("--limit", "1", "--offset", "1")
    assert demo.json(*args, *page) == rows[1:2]
    csv_page = csv_rows(demo(*args, *page, output="csv").stdout)
    full = csv_rows(demo(*args, output="csv").stdout)
    assert csv_page == [full[0], full[2]]
    table = demo(*args, *page, output="table")
    assert len(table.stdout.splitlines()) == 3  # header, rule, one row
    if len(rows) > 2:
        assert table.stderr == "(more rows: --offset 2)\n"
    assert demo.json(*args, "--offset", str(len(rows))) == []


def test_audit_history_pages_after_a_position(demo):
    rows = demo.json("audit", "history", DEMO)
    third = rows[2]["position"]
    page = demo.json("audit", "history", DEMO, "--after", str(third), "--limit", "2")
    assert page == rows[3:5]
    table = demo("audit", "history", DEMO, "--after", str(third), "--limit", "2",
                 output="table")  # fmt: skip
    assert table.stderr == f"(more rows: --after {rows[4]['position']})\n"


def test_a_negative_limit_is_bad_input(demo):
    result = demo("report", "entitlements", "--limit", "-1")
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["code"] == "bad-parameter"


def test_a_table_fits_the_terminal_width_and_json_is_never_cut(demo, monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    table = demo("audit", "history", DEMO, output="table")
    lines = table.stdout.splitlines()
    assert lines and all(len(line) <= 70 for line in lines)
    assert "…" in table.stdout
    assert "{" not in table.stdout  # nested data summarised as key=value
    data = demo.json("audit", "history", DEMO)[0]["data"]
    assert data["renewal_start_date"] == "2020-11-02"
    whole = demo("audit", "history", DEMO, output="csv").stdout
    assert '""renewal_start_date"":""2020-11-02""' in whole


def test_a_record_summarises_nested_values_in_a_table(demo, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = demo("user", "show", DEMO, "dev@contoso.example", "--on", "2021-06-01",
                  output="table")  # fmt: skip
    lines = dict(
        line.split(None, 1) for line in result.stdout.splitlines() if " " in line
    )
    assert lines["seats"] == "VS-2021#1, ABC-2021#1"
    assert lines["offers"] == "azure-pass"


def test_without_columns_or_a_terminal_a_table_is_not_cut(demo, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    table = demo("audit", "history", DEMO, output="table").stdout
    assert "…" not in table and "renewal_start_date=2020-11-02" in table


@pytest.fixture
def rejected_import(demo, tmp_path):
    path = tmp_path / "seats.csv"
    path.write_text(
        "partner,benefit,email,on\n"
        f"{DEMO},VS-2021,qa@contoso.example,2021-03-01\n"
        f"{DEMO},VS-2021,stranger@contoso.example,2021-03-01\n"
    )
    return demo, str(path)


def test_import_in_json_prints_one_object(rejected_import):
    run, path = rejected_import
    result = run("import", path, "--dry-run", "--keep-going", actor=ACTOR)
    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert (answer["lines"], answer["rejected"]) == (2, 1)
    assert [(e["line"], e["rule"]) for e in answer["errors"]] == [(3, "R12")]


def test_import_in_csv_prints_one_row_per_rejected_line(rejected_import):
    run, path = rejected_import
    result = run("import", path, "--dry-run", "--keep-going", output="csv",
                 actor="admin@contoso.example")  # fmt: skip
    assert result.exit_code == 1
    rows = csv_rows(result.stdout)
    assert rows[0] == ["line", "rule", "code", "message"]
    assert [r[:3] for r in rows[1:]] == [["3", "R12", "not-a-user"]]
    assert "stranger@contoso.example" in rows[1][3]
    assert "rejected         1" in result.stderr


def test_import_in_csv_with_nothing_rejected_prints_the_header(
    rejected_import, tmp_path
):
    run, _ = rejected_import
    path = tmp_path / "ok.csv"
    path.write_text(
        f"partner,benefit,email,on\n{DEMO},VS-2021,qa@contoso.example,2021-03-01\n"
    )
    result = run("import", str(path), "--dry-run", output="csv",
                 actor="admin@contoso.example")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["line,rule,code,message"]


def test_verify_reads_the_digest_file_that_digest_wrote(demo, tmp_path):
    saved = tmp_path / "digest.json"
    saved.write_text(demo("audit", "digest").stdout)
    answer = demo.json("audit", "verify", "--digest-file", str(saved))
    assert answer["ok"] and answer["digest_matches"]
    assert answer["verified_through"] == json.loads(saved.read_text())["position"]


def test_verify_accepts_the_last_line_of_an_export(demo, tmp_path):
    trail = demo("audit", "export").stdout.splitlines()
    saved = tmp_path / "last.json"
    saved.write_text(trail[-1])
    assert demo.json("audit", "verify", "--digest-file", str(saved))["ok"]


def test_verify_with_a_digest_file_that_does_not_match_exits_1(demo, tmp_path):
    digest = json.loads(demo("audit", "digest").stdout)
    saved = tmp_path / "digest.json"
    saved.write_text(json.dumps({**digest, "sha256": "0" * 64}))
    result = demo("audit", "verify", "--digest-file", str(saved))
    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert (answer["ok"], answer["digest_matches"]) == (False, False)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("not json", "is not JSON"),
        ('{"events": 3}', 'holds no digest: expected an object with "position" and'),
        ('{"position": -1, "sha256": "' + "a" * 64 + '"}', '"position" is -1'),
        ('{"position": 3, "sha256": "abc"}', "\"sha256\" is 'abc', not a sha256"),
    ],
)
def test_a_bad_digest_file_exits_2_naming_the_problem(tmp_path, content, problem):
    path = tmp_path / "digest.json"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(
        cli, ["-o", "json", "audit", "verify", "--digest-file", str(path)]
    )
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "bad-parameter"
    assert error["message"].startswith("Invalid value for '--digest-file'")
    assert problem in error["message"]


def test_a_digest_file_and_a_position_together_is_bad_input(tmp_path):
    path = tmp_path / "digest.json"
    path.write_text('{"position": 3, "sha256": "' + "a" * 64 + '"}')
    args = ["--digest-file", str(path), "--position", "3", "--sha256", "a" * 64]
    result = CliRunner().invoke(cli, ["audit", "verify", *args])
    assert result.exit_code == 2
    assert "either as --digest-file or as --position" in result.stderr


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F"), ("zsh", "#compdef ledger"),
     ("fish", "complete --no-files --command ledger")],
)  # fmt: skip
def test_completion_prints_the_script_for_each_shell(shell, marker):
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    assert marker in result.stdout and "_LEDGER_COMPLETE" in result.stdout


def test_completion_offers_the_global_options_after_a_subcommand():
    env = {
        "_LEDGER_COMPLETE": "bash_complete",
        "COMP_WORDS": "ledger partner show P1 --o",
        "COMP_CWORD": "4",
    }
    result = CliRunner().invoke(cli, [], env=env, prog_name="ledger")
    assert "plain,--output" in result.stdout.splitlines()
    env["COMP_WORDS"], env["COMP_CWORD"] = "ledger report ", "2"
    assert "plain,expiring" in CliRunner().invoke(cli, [], env=env).stdout.splitlines()


def test_an_unknown_shell_is_bad_input():
    result = CliRunner().invoke(cli, ["-o", "json", "completion", "tcsh"])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["code"] == "bad-parameter"


def test_a_terminal_too_narrow_for_every_column_leaves_the_last_ones_out(
    demo, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "30")
    result = demo("report", "entitlements", "--on", "2021-06-01", output="table")
    assert all(len(line) <= 30 for line in result.stdout.splitlines())
    assert result.stderr.startswith("(7 columns left out to fit 30 characters: ")
    assert result.stderr.endswith("; -o json or -o csv has them all)\n")


def test_replay_in_csv_is_one_table_with_a_section_column(demo):
    result = demo("audit", "replay", DEMO, "--as-of", "2021-06-01", output="csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["section"] == "partner" and rows[0]["partner"] == DEMO
    keys = [r["key"] for r in rows if r["section"] == "keys"]
    assert keys == ["KEY-0001"]


def test_audit_check_in_csv_prints_the_differences_and_the_summary_on_stderr(demo):
    result = demo("audit", "check", "--on", "2021-06-01", output="csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["view,partner,in,row"]
    assert result.stderr.startswith("ok ")


def test_demo_in_csv_is_one_row_per_step(run):
    result = run("demo", output="csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["step"].startswith("Enroll on 2020-01-31")
    assert json.loads(rows[0]["answer"])["renewal_date"] == "2021-01-31"
