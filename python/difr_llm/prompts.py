"""Prompt sets like token-difr's construct_prompts, from a conversations file on disk.

token-difr downloads WildChat-1M from the Hugging Face hub; difr reads the same records from a local file
(WildChat or LMSYS-Chat JSONL, ShareGPT JSON or JSONL: docs/prompts.md) and filters them with difr's prompt-set
code, the same as ``difr prompts``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

from . import _difr
from .models import Model, load_model

__all__ = ["construct_prompts", "encode_thinking_response", "prompt_set_stats"]

Conversation = list[dict[str, str]]

# What the last construct_prompts call filtered out, as `difr prompts` reports it.
prompt_set_stats: dict[str, Any] = {}


def _chat_tokenizer(tokenizer: Any) -> Any:
    """A difr Model as it is, or a Hugging Face tokenizer as token-difr uses it (chat template rendered as text,
    then encoded without special tokens)."""
    if isinstance(tokenizer, Model):
        return tokenizer
    if hasattr(tokenizer, "apply_chat_template"):

        def ids(conversation: Conversation) -> list[int]:
            text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
            return list(tokenizer.encode(text, add_special_tokens=False))

        return ids
    if callable(tokenizer):
        return tokenizer
    raise TypeError(
        f"tokenizer: expected a difr_llm.Model, a Hugging Face tokenizer or a callable conversation -> ids, "
        f"got {type(tokenizer).__name__}"
    )


def construct_prompts(
    n_prompts: int = 100,
    max_ctx_len: int = 512,
    tokenizer: Any = None,
    model_name: str | None = None,
    custom_prompts: Sequence[Conversation] | None = None,
    system_prompt: str | None = "You are a helpful assistant.",
    *,
    dataset: str | os.PathLike[str] | None = None,
    english_only: bool = True,
) -> list[Conversation]:
    """token-difr's construct_prompts over a local conversations file.

    Records are taken in file order: English only (when a record says its language), trailing assistant turns
    dropped, conversations with an empty turn skipped, at most ``max_ctx_len`` tokens once rendered with the
    chat template, duplicates (same token ids) kept once; then ``system_prompt`` (unless None) is put first
    in each. The length check leaves the system prompt out, as token-difr's does.

    dataset: the conversations file (WildChat/LMSYS JSONL, ShareGPT); ``$DIFR_CONVERSATIONS`` when not given.
    tokenizer: a difr_llm.Model, a Hugging Face tokenizer, or a callable conversation -> token ids; else
        ``model_name`` is loaded (its vocabulary and chat template only) as verify_outputs would load it.
    custom_prompts: used instead of any file, cut to n_prompts, as in token-difr.
    """
    if custom_prompts is not None:
        chosen = [list(c) for c in custom_prompts[:n_prompts]]
        return _with_system(chosen, system_prompt)
    path = dataset if dataset is not None else os.environ.get("DIFR_CONVERSATIONS")
    if path is None:
        raise ValueError(
            "construct_prompts reads conversations from a local file: pass dataset='wildchat.jsonl' (WildChat or "
            "LMSYS-Chat JSONL, or ShareGPT) or set DIFR_CONVERSATIONS; token-difr downloads WildChat-1M instead"
        )
    if tokenizer is None:
        if model_name is None:
            raise ValueError("Either tokenizer or model_name must be provided")
        tokenizer = load_model(model_name, vocab_only=True)
    conversations, stats, description = _difr.prompt_set(
        os.fspath(path), n_prompts, max_ctx_len, "", english_only, None, _chat_tokenizer(tokenizer)
    )
    prompt_set_stats.clear()
    prompt_set_stats.update(stats, description=description)
    return _with_system(conversations, system_prompt)


def _with_system(conversations: list[Conversation], system_prompt: str | None) -> list[Conversation]:
    if system_prompt is None:
        return conversations
    return [[{"role": "system", "content": system_prompt}, *c] for c in conversations]


def encode_thinking_response(
    content: str, reasoning: str | None, tokenizer: Any, max_tokens: int | None = None
) -> list[int]:
    """An answer's token ids: "<think>reasoning</think>content" when the reasoning came separately, else the
    content, encoded without special tokens and cut to ``max_tokens`` (token-difr's rule; difr's audits do
    the same). ``tokenizer``: a difr_llm.Model or a Hugging Face tokenizer."""
    text = f"<think>{reasoning}</think>{content}" if reasoning else content
    ids = _encode(tokenizer, text)
    return ids if max_tokens is None else ids[:max_tokens]


def _encode(tokenizer: Any, text: str) -> list[int]:
    if isinstance(tokenizer, Model):
        return tokenizer.tokenize(text, add_special=False, parse_special=True)
    encode: Callable[..., Any] = tokenizer.encode
    return list(encode(text, add_special_tokens=False))
