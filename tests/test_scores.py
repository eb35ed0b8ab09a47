"Per-example scores and generalization measures through a run, a store and back (digits, a few epochs)"
import json
import numpy as np
from rethink_fastai.scores import scores_df, SCORE_BYTES, SCORES
from rethink_fastai.measures import GeneralizationMeasures, measures_df, MEASURES
from rethink_fastai.learner import run_experiment
from rethink_fastai.store import Store
from rethink_fastai.sweep import full_config, data_identity

def test_scores_and_measures_round_trip(tmp_path):
    run = dict(dataset='digits', randomization='partial_labels', corruption=0.4, arch='mlp1x512', epochs=4, seed=0)
    r = run_experiment(scores=True, cbs=[GeneralizationMeasures(sharpness=True, iters=3, n_sharp=64)], out=tmp_path/'run', quiet=True, **run)
    assert set(SCORES) <= set(r['detection']) and set(r['measures']) >= {'log_prod_spec', 'sharpness', 'dist_init'}
    assert json.loads((tmp_path/'run'/'result.json').read_text())['detection'] == r['detection'] # the saved record has them
    with Store(tmp_path/'runs.sqlite') as st:
        cfg = full_config(run, data_identity('digits'))
        st.start(cfg); st.finish(cfg, r)
        back = st.record(cfg)
        df = scores_df(back)
        assert len(df)==1437 and df.corrupted.sum()==r['memorization']['corrupted']['n']
        assert len(json.dumps(back['scores'])) <= SCORE_BYTES*len(df)
        runs = st.runs()
        assert 'detection.aum.auroc' in runs and 'measures.sharpness' in runs   # scalars flattened, per-example lists left out
        assert not any(c.startswith('scores.forgetting') and c!='scores.forgetting_mean' for c in runs.columns)
        m = measures_df(st)
        assert len(m)==1 and np.isclose(m.gap[0], r['train_acc']-r['test_acc']) and set(MEASURES) <= set(m.columns)

def test_run_settings_switch_the_plugins_on():
    "`scores`, `measures` and `sharpness` as run settings (the flags `--scores --measures --sharpness`) add their fields to the record"
    r = run_experiment(dataset='digits', randomization='partial_labels', corruption=0.4, arch='mlp1x64', epochs=2, quiet=True,
                       scores=True, measures=True, sharpness=True)
    assert {'scores', 'detection', 'measures'} <= set(r) and np.isfinite(r['measures']['sharpness'])
    assert r['config']['scores'] and r['config']['sharpness']
