"""Offline token counting for the context-window check."""

from __future__ import annotations

import pytest

from llmops.providers.tokens import count_text, encoding_for, prompt_fits


@pytest.mark.parametrize(
    ("model", "encoding", "exact"),
    [
        ("gpt-4o-mini", "o200k_base", True),
        ("gpt-4.1-nano", "o200k_base", True),
        ("o3-mini", "o200k_base", True),
        ("gpt-3.5-turbo", "cl100k_base", True),
        ("text-embedding-3-small", "cl100k_base", True),
        ("qwen-plus", "qwen3", True),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3", True),
        ("claude-sonnet-4-0", "o200k_base", False),
        ("gemma3-270m", "o200k_base", False),
    ],
)
def test_each_model_family_is_counted_with_its_own_vocabulary_when_one_is_bundled(
    model: str, encoding: str, exact: bool
) -> None:
    assert encoding_for(model) == (encoding, exact)


def test_counting_needs_no_download_and_matches_tiktoken_ids() -> None:
    assert count_text("hello world", model="gpt-4o") == 2


def test_a_short_prompt_is_accepted_without_tokenizing() -> None:
    assert prompt_fits(["hi"] * 3, model="gpt-4o", context_window=100, reserved_output=0) == (True, 0)


def test_an_exact_count_refuses_just_over_the_window() -> None:
    fits, tokens = prompt_fits(["word " * 200], model="gpt-4o", context_window=150, reserved_output=0)
    assert not fits and tokens > 150


def test_an_estimate_leaves_borderline_prompts_to_the_provider() -> None:
    # ~560 o200k tokens of Chinese that Gemma reads as ~520: fits a 580-token window, must not be refused.
    text = "大型语言模型是在大量文本上训练的，可以适应许多任务。今天天气很好，我们去公园散步吧。" * 20
    assert prompt_fits([text], model="gemma3-270m", context_window=580, reserved_output=0)[0]
    assert not prompt_fits([text], model="gemma3-270m", context_window=300, reserved_output=0)[0]
