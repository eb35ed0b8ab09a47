"""Issue 14's digits sweep (`tests/bench_stack.py sweep`) with the heap never kept (`keep_heap` a no-op), glibc's heap defaults in every run and
stack, one torch thread as that script's own entry point sets; written to nbs/bench_results/stack_glibc_heap.json, beside
stack.json's runs with the heap kept. Not a test.

    python tests/probe_stack_heap.py
"""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import torch
import rethink_fastai.callbacks as cb
cb.keep_heap = lambda keep=True: False # as outside glibc: `KeepHeap` and `fit_stack`'s `heap_kept` keep nothing
import bench_stack

if __name__=='__main__':
    torch.set_num_threads(1)
    bench_stack.OUT = Path(__file__).parent.parent/'nbs'/'bench_results'/'stack_glibc_heap.json'
    bench_stack.sweep_digits()
