"""The work directory re-runs a stage only when its key changes."""

from localize.workdir import WorkDir


def test_stage_runs_once_per_key(tmp_path):
    work = WorkDir(tmp_path)
    calls = []
    compute = lambda: calls.append(1) or {"n": len(calls)}
    assert work.run("stage", ("v1", "input-a"), compute)[0] == {"n": 1}
    assert work.run("stage", ("v1", "input-a"), compute)[0] == {"n": 1}
    assert work.run("stage", ("v2", "input-a"), compute)[0] == {"n": 2}
    assert [r.cached for r in work.records] == [False, True, False]


def test_missing_artifact_file_forces_rerun(tmp_path):
    work = WorkDir(tmp_path)
    def compute():
        work.path("out.wav").write_bytes(b"x")
        return {}
    work.run("stage", ("k",), compute, files=("out.wav",))
    work.path("out.wav").unlink()
    work.run("stage", ("k",), compute, files=("out.wav",))
    assert [r.cached for r in work.records] == [False, False]
