"""The sleepsignal command line: contract file names, errors as one line, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sleepsignal.cli import main

CONTRACT = {
    "session.json",
    "sleep.json",
    "hypnogram.csv",
    "ocariot.json",
    "jawbone.json",
    "jawbone_snapshot.json",
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--hours", "0.25", "--seed", "3", "--out", str(out)]) == 0
    return out


def _session_json(folder: Path) -> Path:
    return next(p for p in folder.glob("*.json") if "truth" not in p.name)


def test_analyze_writes_the_contract_files(simulated: Path, tmp_path: Path, capsys) -> None:
    assert main(["analyze", str(_session_json(simulated)), "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert names >= CONTRACT and "impilo.json" not in names
    text = capsys.readouterr().out
    assert "impilo" in text.lower()  # the summary says why it was not written
    header = (tmp_path / "hypnogram.csv").read_text().splitlines()[0]
    assert header == "start,end,stage"
    # the notes printed are kept beside the files, one per line (a nightly job's log)
    notes = (tmp_path / "notes.txt").read_text().splitlines()
    assert any(n.startswith("impilo.json not written") for n in notes)
    assert all(f"note: {n}" in text for n in notes)


def test_analyze_with_impilo_identifier(simulated: Path, tmp_path: Path) -> None:
    assert (
        main(
            [
                "analyze",
                str(_session_json(simulated)),
                "--out",
                str(tmp_path),
                "--patient-id",
                "17",
            ]
        )
        == 0
    )
    body = json.loads((tmp_path / "impilo.json").read_text())
    assert body["patientId"] == 17


def test_list_of_sessions_gives_one_set_per_session(simulated: Path, tmp_path: Path) -> None:
    from sleepsignal.io import read_session, write_sessions

    s = read_session(_session_json(simulated))
    s2 = s.with_metadata(id=s.id + 1)
    write_sessions([s, s2], tmp_path / "in" / "list.json")
    assert main(["analyze", str(tmp_path / "in" / "list.json"), "--out", str(tmp_path / "o")]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [str(s.id), str(s.id + 1)]


def test_time_value_only_session(simulated: Path, tmp_path: Path) -> None:
    # analyse once, drop the sampled tracks (as an exported session), analyse again
    assert main(["analyze", str(_session_json(simulated)), "--out", str(tmp_path / "a")]) == 0
    obj = json.loads((tmp_path / "a" / "session.json").read_text())
    obj.pop("sampled_tracks")
    (tmp_path / "tv.json").write_text(json.dumps(obj))
    assert main(["analyze", str(tmp_path / "tv.json"), "--out", str(tmp_path / "b")]) == 0
    assert {p.name for p in (tmp_path / "b").iterdir()} >= CONTRACT


def test_errors_are_one_line_with_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.json").write_text("{")
    assert main(["analyze", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sleepsignal: error:") and "not valid JSON" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["analyze", str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2
    with pytest.raises(Exception, match="not valid JSON"):
        main(["--debug", "analyze", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")])
    assert main(["simulate", "--hours", "-1", "--seed", "1", "--out", str(tmp_path)]) == 2


def test_validate_exit_codes(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"type": "classic"}))
    assert main(["validate", "--format", "ocariot", str(tmp_path / "bad.json")]) == 1
    out = capsys.readouterr().out
    assert '"code": 400' in out


def test_demo_as_a_new_process(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "sleepsignal", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "demo:" in run.stdout and "wrote:" in run.stdout
    assert {p.name for p in tmp_path.iterdir()} >= CONTRACT


def test_non_numeric_impilo_id_is_a_one_line_error(simulated: Path, tmp_path: Path, capsys) -> None:
    args = ["analyze", str(_session_json(simulated)), "--out", str(tmp_path), "--patient-id", "p-1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("sleepsignal: error:") and "patientId" in err


def test_analyze_refuses_to_overwrite_its_input(simulated: Path, capsys) -> None:
    source = _session_json(simulated)
    before = source.read_bytes()
    assert main(["analyze", str(source), "--out", str(simulated)]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert source.read_bytes() == before


def test_empty_list_is_an_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty.json").write_text("[]")
    assert main(["analyze", str(tmp_path / "empty.json"), "--out", str(tmp_path / "o")]) == 2
    assert "holds no sessions" in capsys.readouterr().err


def test_vendor_tracks_are_kept(simulated: Path, tmp_path: Path) -> None:
    from sleepsignal.io import read_session, write_session
    from sleepsignal.pipeline import analyze
    from sleepsignal.session import TimeValueTrack

    s = read_session(_session_json(simulated))
    vendor = TimeValueTrack("heart_rate", [0.0, 30.0], [55.5, 56.0])
    s = s.with_tracks([vendor])
    result = analyze(s)
    assert result.session.time_value_tracks["heart_rate"].values.tolist() == [55.5, 56.0]
    assert any("kept the session's own heart_rate" in n for n in result.notes)
    replaced = analyze(s, replace_tracks=True)
    assert replaced.session.time_value_tracks["heart_rate"].values.tolist() != [55.5, 56.0]
    write_session(result.session, tmp_path / "s.json")


def test_batch_command(simulated: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["batch", str(simulated), "--out", str(out), "--workers", "1", "--parquet"]) == 0
    text = capsys.readouterr().out
    assert "done 1, failed 0" in text
    assert (out / "tracks" / "presence").is_dir()
    assert main(["batch", str(simulated), "--out", str(out), "--workers", "0"]) == 2


def test_validate_ocariot_list_is_a_multi_status_with_conflicts(tmp_path: Path, capsys) -> None:
    from sleepsignal.hypnogram import Hypnogram
    from sleepsignal.records import ocariot_record
    from sleepsignal.statistics import night_statistics

    h = Hypnogram(np.r_[[0] * 10, [1] * 600, [2] * 200, [3] * 100, [0] * 10], 1.7e9)
    rec = ocariot_record(h, night_statistics(h), child_id="5a62be07d6f33400146c9b61")
    (tmp_path / "list.json").write_text(json.dumps([rec, rec]))
    assert main(["validate", "--format", "ocariot", str(tmp_path / "list.json")]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["code"] == 207 and len(body["success"]) == 1
    assert body["error"][0]["code"] == 409
    (tmp_path / "one.json").write_text(json.dumps([rec]))
    assert main(["validate", "--format", "ocariot", str(tmp_path / "one.json")]) == 0


def test_analysis_imports_leave_the_collector_on_with_imports_frozen():
    """``analyze``/``demo`` pause the cyclic GC for the heavy imports only."""
    import gc

    from sleepsignal import cli

    try:
        cli._load_analysis()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert "sleepsignal.heartbeats" in sys.modules
    finally:
        gc.unfreeze()


def test_analyze_of_an_exported_session_imports_no_raw_signal_kernels(
    simulated: Path, tmp_path: Path
) -> None:
    """A session without raw BCG is staged from its own tracks: no heartbeats/scipy."""
    analysed = tmp_path / "analysed"
    assert main(["analyze", str(_session_json(simulated)), "--out", str(analysed)]) == 0
    doc = json.loads((analysed / "session.json").read_text())
    del doc["sampled_tracks"]
    exported = tmp_path / "export" / "session.json"
    exported.parent.mkdir()
    exported.write_text(json.dumps(doc))
    code = (
        "import sys; from sleepsignal.cli import main; "
        f"rc = main(['analyze', {str(exported)!r}, '--out', {str(tmp_path / 'out')!r}]); "
        "print(rc, sorted(m for m in ('sleepsignal.heartbeats', 'scipy.signal') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"
    assert (tmp_path / "out" / "sleep.json").is_file()


def test_write_analysis_keeps_every_note_on_its_own_line(simulated: Path, tmp_path: Path) -> None:
    import dataclasses

    from sleepsignal import analyze, read_session, write_analysis

    result = analyze(read_session(_session_json(simulated)))
    result = dataclasses.replace(
        result, notes=["first\nsecond part", "third", "a\r\nb", "c\rd", "e\u2028f", "g\x85h"]
    )
    written = write_analysis(result, tmp_path)
    assert tmp_path / "notes.txt" in written
    text = (tmp_path / "notes.txt").read_text(encoding="utf-8")
    assert text.splitlines() == ["first second part", "third", "a b", "c d", "e f", "g h"]
    write_analysis(dataclasses.replace(result, notes=[]), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == ""
