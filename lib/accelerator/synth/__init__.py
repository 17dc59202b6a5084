"""Synthetic partner feeds for the ten Greater Manchester authorities, with their truth.

``generate(out_dir, families_per_authority=..., seed=..., as_of=...)`` writes ``out_dir/landing``
(deliveries exactly as partners send them, messiness included) and ``out_dir/truth`` (what a
correct platform must make of them). See docs/generator.md.
"""

from accelerator.synth.generator import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
