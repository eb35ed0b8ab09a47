"""Where a stacked step's time goes: fig1b's 6 mlp1x512 runs of seed 0 on digits, one stack of 6, 60 epochs, under
cProfile; writes nbs/bench_results/profile_stack_digits.txt (the stack's wall time, each member's train/eval seconds,
then the profile's cumulative times). Not a test.

    python tests/profile_stack.py            # a vmap stack (what bench_results/profile_stack_digits.txt holds)
    MODE=loop python tests/profile_stack.py  # a looped stack
"""
import cProfile, io, os, pstats, time
from pathlib import Path
import torch
from rethink_fastai.sweep import sweep_runs, trainer_args
from rethink_fastai.stack import stack_runs

OUT = Path(__file__).parent.parent/'nbs'/'bench_results'/'profile_stack_digits.txt'

if __name__=='__main__':
    torch.set_num_threads(1)
    runs = [dict(trainer_args(r), epochs=60) for r in sweep_runs('fig1b', spec_kwargs=dict(archs=('mlp1x512',)), train_kwargs=dict(dataset='digits'), seeds=(0,))]
    pr, t = cProfile.Profile(), time.perf_counter()
    mode = os.environ.get('MODE', 'vmap')
    pr.enable(); recs = dict(stack_runs(runs, mode=mode)); pr.disable()
    wall, s = time.perf_counter()-t, io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats('cumulative').print_stats(45)
    head = [f"# MODE={mode} python tests/profile_stack.py: {len(runs)} runs, one {mode} stack, 60 epochs; load {os.getloadavg()[0]:.2f}; wall {wall:.1f} s",
            *(f"# member {i}: {r['stack']['k_at_finish']} in the stack at its end, train {r['train_seconds']:.2f} s, eval {r['eval_seconds']:.2f} s, steps {r['steps']}"
              for i, r in sorted(recs.items()))]
    OUT.write_text('\n'.join(head) + '\n' + s.getvalue())
    print('\n'.join(head))
