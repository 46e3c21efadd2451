"""The evaluation harness (``make eval``): every task's labelled sets against the local engines or a running
stack, scored with the evaluations' rules, written as JSON and one self-contained HTML report."""
