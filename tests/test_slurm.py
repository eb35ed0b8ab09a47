"Sweeps through submitit (the Slurm executor), run here with submitit's local executor: the same results as local; died or raised jobs."
import os, sqlite3
import pytest

pytest.importorskip('submitit')

def test_slurm_local_matches_local(tmp_path, monkeypatch):
    import torch
    from rethink_fastai.sweep import sweep, SweepFailed
    from rethink_fastai.store import Store
    monkeypatch.setenv('OMP_NUM_THREADS', '1')   # the jobs are processes of their own: one thread each
    marks = tmp_path/'marks'; marks.mkdir()
    def flaky(quiet=True, **run):
        "mlp1x512: the job dies (as if killed) the first time, then trains; mlp3x512: the run raises"
        if run['arch'] == 'mlp1x512' and not (marks/'died').exists(): (marks/'died').touch(); os._exit(1)
        if run['arch'] == 'mlp3x512': raise RuntimeError('boom')
        from rethink_fastai.learner import run_experiment
        return run_experiment(quiet=quiet, **run)
    spec = dict(dataset='digits', epochs=2, spec_kwargs=dict(archs=('mlp1x512', 'mlp3x512')), train_kwargs=dict(threads=1))   # fig2b: one run per arch
    ex = dict(cluster='local', folder=str(tmp_path/'jobs'), poll=0.5, max_retries=1)
    with pytest.raises(SweepFailed, match='1 run\\(s\\) failed'):
        sweep('fig2b', tmp_path/'slurm.sqlite', run_fn=flaky, executor='slurm', executor_kwargs=ex, **spec)
    with sqlite3.connect(tmp_path/'slurm.sqlite') as c:
        got = {a: (s, e) for a, s, e in c.execute("SELECT json_extract(config, '$.arch'), status, error FROM runs")}
    assert (marks/'died').exists() and got['mlp1x512'][0] == 'finished'   # the job that died was resubmitted and finished
    assert got['mlp3x512'][0] == 'failed' and 'boom' in got['mlp3x512'][1]   # the run that raised: failed, not lost
    # the finished runs are those of the local executor, result for result
    dl = sweep('fig2b', tmp_path/'local.sqlite', **spec)
    with Store(tmp_path/'slurm.sqlite') as a, Store(tmp_path/'local.sqlite') as b:
        fin = a.finished_keys()
        assert len(fin) == 1 and fin <= set(dl.key)
        for k in fin:
            ra, rb = a.record(k), b.record(k)
            for m in ('train_acc', 'test_acc', 'train_loss'): assert ra[m] == pytest.approx(rb[m], rel=1e-5), (k, m)
            ha, hb = [h['train_acc'] for h in ra['history']], [h['train_acc'] for h in rb['history']]
            assert [a is None for a in ha] == [b is None for b in hb] # the same epochs evaluated
            assert [a for a in ha if a is not None] == pytest.approx([b for b in hb if b is not None], rel=1e-5)
